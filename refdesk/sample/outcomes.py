"""Measured outcomes of the sample practice: each referral's measure and goal, and for its
visits the pain before and after, the score on the measure and a SOAP note.

Scores start from a plausible baseline and move toward the goal over the plan at the pace of
the client's response, with a little noise; some clients reach the goal, some do not. Pain
falls over the plan too, and each session lowers it by a point or three.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from refdesk.sample.care import OUTCOME_COLUMNS, Referral
from refdesk.sample.data import FOCUS_CODES
from refdesk.sample.paperwork import Paperwork
from refdesk.sample.people import AS_OF, Client, workday
from refdesk.sample.soap import soap_note

HEADACHE_DAYS = "headache days per week"
NDI = "Neck Disability Index %"
ODI = "Oswestry Disability Index %"
PSFS = "Patient-Specific Functional Scale"
#: ICD-10-CM code prefixes and the measure a plan for them tracks; the first code of a
#: referral's diagnosis that has one decides (Z33.1, pregnancy, has none).
MEASURE_BY_CODE: tuple[tuple[tuple[str, ...], str], ...] = (
    (("G43", "G44", "R51"), HEADACHE_DAYS),
    (("M54.2", "S13.4", "M53.0", "M54.12", "M43.6", "S16.1", "M99.01"), NDI),
    (("M54.5",), ODI),
)
#: Share of referrals whose plan names a goal.
GOAL_SHARE = 0.86
#: Share of a referral's visits with a score, with a pain rating, and with a SOAP note.
SCORED, RATED, NOTED = 0.8, 0.92, 0.82


def measure_for(diagnosis: str) -> str:
    """The measure fitting a referral's diagnosis codes (see MEASURE_BY_CODE); the
    Patient-Specific Functional Scale for jaw, shoulder and everything else."""
    for code in (c.strip() for c in diagnosis.split(";")):
        for prefixes, measure in MEASURE_BY_CODE:
            if code.startswith(prefixes):
                return measure
    return PSFS


def goal_for(rng: random.Random, measure: str) -> float:
    if measure == HEADACHE_DAYS:
        return rng.choice((1, 2))
    if measure == NDI:
        return 10
    if measure == ODI:
        return rng.choice((10, 12, 14, 16, 18, 20))
    return rng.choice((7, 7, 8))


def baseline_for(rng: random.Random, measure: str, focus: str) -> float:
    """A score at intake: several headache days, a moderate disability, a low function."""
    if measure == HEADACHE_DAYS:
        return min(7, rng.randint(3, 5) + ("chronic" in focus))
    if measure in (NDI, ODI):
        return 2 * rng.randint(13, 25)
    return rng.randint(20, 45) / 10


def plan_measures(rng: random.Random, referrals: list[Referral]) -> None:
    """Every referral names a measure fitting its diagnosis; most name a goal."""
    for r in referrals:
        r.measure = measure_for(r.diagnosis)
        r.goal = goal_for(rng, r.measure) if rng.random() < GOAL_SHARE else None


@dataclass
class Course:
    """One referral's course of care: where scores and pain start, and how fast they move."""

    base: float
    target: float
    pain: int
    pain_target: int
    pace: float
    rotation: int


def _course(rng: random.Random, r: Referral) -> Course:
    base = baseline_for(rng, r.measure, r.client.focus)
    target = r.goal if r.goal is not None else goal_for(rng, r.measure)
    pain = rng.randint(5, 8)
    # pace 1 reaches the goal on the last authorized visit; slower clients fall short
    return Course(base, target, pain, max(0, pain - rng.randint(3, 6)),
                  rng.uniform(0.55, 1.25), rng.randint(48, 62))


def _score(rng: random.Random, measure: str, course: Course, done: float, *,
           intake: bool = False) -> float:
    """The score `done` of the way from the baseline to the target, with a little noise
    (none at intake, which is the baseline)."""
    value = course.base + (course.target - course.base) * done
    if measure == HEADACHE_DAYS:
        noise = 0 if intake else rng.choices((-1, 0, 1), (0.15, 0.7, 0.15))[0]
        return max(0, min(7, round(value) + noise))
    if measure in (NDI, ODI):
        noise = 0 if intake else rng.uniform(-3, 3)
        return max(0, min(100, 2 * round((value + noise) / 2)))
    noise = 0 if intake else rng.uniform(-0.3, 0.3)
    return max(0.0, min(10.0, round(value + noise, 1)))


def _pain(rng: random.Random, course: Course, done: float) -> tuple[int, int]:
    before = round(course.pain + (course.pain_target - course.pain) * done
                   + rng.choice((-1, 0, 0, 0, 1)))
    before = max(1, min(10, before))
    drop = rng.choices((0, 1, 2, 3), (0.05, 0.35, 0.4, 0.2))[0]
    return before, max(0, before - drop)


def fill_visits(rng: random.Random, referrals: list[Referral],
                visits: list[dict[str, Any]]) -> None:
    """Pain, scores and SOAP notes on the visits of every referral, in date order."""
    by_referral: dict[str, list[dict[str, Any]]] = {}
    for row in visits:
        if row["referral_id"]:
            by_referral.setdefault(row["referral_id"], []).append(row)
    for r in referrals:
        rows = sorted(by_referral.get(r.id, []), key=lambda v: v["date"])
        if not rows:
            continue
        course = _course(rng, r)
        first_score: float | None = None
        for n, row in enumerate(rows):
            done = min(1.0, n / max(1, r.authorized - 1) * course.pace)
            pain = _pain(rng, course, done) if n == 0 or rng.random() < RATED else None
            if pain:
                row.update(pain_before=pain[0], pain_after=pain[1])
            score = None
            if n == 0 or rng.random() < SCORED:
                score = _score(rng, r.measure, course, done, intake=n == 0)
                first_score = score if first_score is None else first_score
                row["measure_score"] = score
            if n == 0 or rng.random() < NOTED:
                row.update(soap_note(rng, r, course.rotation, done, n, pain, score,
                                     first_score))


def in_notes(row: dict[str, Any]) -> bool:
    """A visit the progress report can draw on: a SOAP field or a score."""
    return any(row.get(c) not in (None, "") for c in OUTCOME_COLUMNS[2:])


def clear_notes(row: dict[str, Any]) -> None:
    row.update({c: None for c in OUTCOME_COLUMNS[2:]})


#: The demo's day (`--today 2026-11-23`): a client card is asked for within 30 days of a first
#: visit, and the super bills of that day are for the month before.
DEMO_DAY = dt.date(2026, 11, 23)
CARD_WINDOW = dt.timedelta(days=30)


def own_diagnoses(rng: random.Random, self_pay: dict[Client, list[dt.date]]) -> list[Client]:
    """Clients with visits outside a referral get a diagnosis fitting their focus, for their
    super bills; two whose visits fall in the demo's billing month are left without one, so
    that the super-bill job shows what it skips. Returns those two."""
    month = (DEMO_DAY.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    for client in self_pay:
        client.diagnosis = FOCUS_CODES[client.focus]
    billed = sorted((c for c, dates in self_pay.items()
                     if any(d.replace(day=1) == month for d in dates)), key=lambda c: c.id)
    left = rng.sample(billed, 2)
    for client in left:
        client.diagnosis = ""
    return left


def client_cards(rng: random.Random, clients: list[Client]) -> None:
    """Doctor-referred clients asked to write their doctor a thank-you card. Those first seen
    within 30 days of the demo day agreed and wait for their card to go out (the sample's
    records end on AS_OF, so only its last days fall in that window); of the earlier clients
    asked, most wrote one, which went out, and some declined; most were never asked."""
    referred = [c for c in clients if c.source == "doctor" and c.first_visit]
    recent = [c for c in referred if c.first_visit >= DEMO_DAY - CARD_WINDOW]
    if len(recent) < 2:
        raise AssertionError("sample: too few recent doctor-referred clients for the cards")
    for client in referred:
        if client in recent:
            client.client_card = "yes"
            continue
        if rng.random() < 0.7:
            continue
        client.client_card = rng.choice(("yes", "yes", "no"))
        if client.client_card == "yes":
            client.card_sent = min(AS_OF, workday(client.first_visit
                                                   + dt.timedelta(days=rng.randint(7, 21))))


#: How soon the progress-report job may report on a referral again (config.toml).
REPORT_AGAIN_AFTER = dt.timedelta(days=28)


def quiet_since_report(referrals: list[Referral], visits: list[dict[str, Any]],
                       paper: Paperwork) -> Referral:
    """One referral the demo's progress-report job would report on, but whose visits since
    its last report carry no notes or scores: the job skips it and says why. One already
    reported on is preferred, then the one with the fewest such visits. Returns it."""
    recent = DEMO_DAY - REPORT_AGAIN_AFTER
    due = [r for r in referrals
           if r.status == "in care" and "progress reports" in r.provider.wants
           and paper.release_for(r.client, r.provider, DEMO_DAY, "progress")
           and (r.last_report_sent is None or r.last_report_sent < recent)]
    since = {r.id: [v for v in visits if v["referral_id"] == r.id
                    and (r.last_report_sent is None or v["date"] > r.last_report_sent)]
             for r in due}
    # one already reported on, so the skip names the day of its last report
    quiet = min(due, key=lambda r: (r.last_report_sent is None, len(since[r.id]), r.id))
    for row in since[quiet.id]:
        clear_notes(row)
    return quiet
