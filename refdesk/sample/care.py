"""Referrals received over 18 months and the sessions that followed them."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from refdesk.sample.data import DIAGNOSES
from refdesk.sample.people import AS_OF, START, Client, People, days, weekday_on_or_after, workday
from refdesk.sample.providers import Provider

N_REFERRALS = 250
N_CLIENTS = 300
N_RENEWALS = 47
#: Referrals for clients who first came on their own, once their doctor met the practice.
N_OWN_DOCTOR = 35
#: Referrals at the start of the period that must bring new clients (nobody to renew yet).
N_FIRST_NEW = 40
RATE = {"97124": 30.0, "97140": 32.5, "97112": 34.0}


@dataclass(eq=False)
class Referral:
    received_on: dt.date
    provider: Provider
    client: Client
    diagnosis: str
    services: str
    per_week: int
    weeks: int
    kind: str
    status: str = "received"
    visits: list[dt.date] = field(default_factory=list)
    thank_you_sent: dt.date | None = None
    last_report_sent: dt.date | None = None
    notes: str = ""
    id: str = ""
    #: The functional measure the plan tracks, and the score it aims for (refdesk.sample.outcomes).
    measure: str = ""
    goal: float | None = None

    @property
    def authorized(self) -> int:
        return self.per_week * self.weeks

    @property
    def first_visit(self) -> dt.date | None:
        return self.visits[0] if self.visits else None


def referral_dates(rng: random.Random) -> list[dt.date]:
    """Weekdays across the 18 months, denser as word of the program spread."""
    span = (AS_OF - START).days
    # The first and the last referral of the period, so that it spans the full 18 months.
    found = [dt.date(2025, 5, 2), dt.date(2026, 10, 29)]
    for _ in range(N_REFERRALS - 2):
        found.append(workday(START + days(int(span * rng.random() ** 0.75))))
    return sorted(found)


def _kinds(rng: random.Random) -> list[str]:
    later = (["new"] * (N_REFERRALS - N_RENEWALS - N_OWN_DOCTOR - N_FIRST_NEW)
             + ["renewal"] * N_RENEWALS + ["own doctor"] * N_OWN_DOCTOR)
    rng.shuffle(later)
    return ["new"] * N_FIRST_NEW + later


def build_referrals(rng: random.Random, people: People, providers: list[Provider]
                    ) -> list[Referral]:
    referrers = [p for p in providers if p.weight]
    new_clients = N_REFERRALS - N_RENEWALS - N_OWN_DOCTOR
    walk_ins = people.walk_in_clients(N_CLIENTS - new_clients)
    dates, kinds = referral_dates(rng), _kinds(rng)
    # Every referrer, however small, has sent at least two: a dormant one was once active.
    reserved: dict[int, Provider] = {}
    for p in referrers:
        free = [i for i, d in enumerate(dates) if p.active(d) and kinds[i] == "new"
                and i not in reserved]
        reserved.update({i: p for i in rng.sample(free, 2)})
    referrals: list[Referral] = []
    for i, (day, kind) in enumerate(zip(dates, kinds, strict=True)):
        active = [p for p in referrers if p.active(day)]
        provider = reserved.get(i) or rng.choices(active, [p.weight for p in active])[0]
        if kind == "new":
            r = _new_client_referral(rng, people, provider, day)
        elif kind == "renewal":
            r = _renewal(rng, referrals, active, day)
        else:
            r = _own_doctor_referral(rng, walk_ins, provider, day)
        _simulate(r, rng)
        r.client.referrals.append(r)
        if kind == "new":
            r.client.first_visit = r.first_visit
        referrals.append(r)
    for i, r in enumerate(referrals, start=1):
        r.id = f"R{i:03d}"
    return referrals


def _prescription(rng: random.Random) -> tuple[int, int]:
    per_week = rng.choices((1, 2), (0.45, 0.55))[0]
    return per_week, rng.choice((4, 6, 8) if per_week == 1 else (3, 4, 6))


def _new_client_referral(rng: random.Random, people: People, provider: Provider,
                         day: dt.date) -> Referral:
    codes, focus, services = rng.choice(DIAGNOSES[provider.group])
    client = people.new_client("doctor", focus, prenatal=provider.group == "OB/GYN")
    client.intake = day
    client.referred_by_provider = provider.id
    client.source_detail = rng.choice(("Referred by", "Sent by")) + f" {provider.salutation}"
    client.declines_release = rng.random() < 0.05
    people.insure(client, injury=codes.startswith("S1"), chance=0.35)
    note = rng.choice(("", "", "", "Faxed referral form", "Referral pad form",
                       "Prefers late-afternoon appointments", "Emailed referral"))
    return Referral(day, provider, client, codes, services, *_prescription(rng), kind="new",
                    notes=note)


def _renewal(rng: random.Random, referrals: list[Referral], active: list[Provider],
             day: dt.date) -> Referral:
    latest: dict[Client, Referral] = {r.client: r for r in referrals if r.status != "declined"}
    done = [r for r in latest.values()
            if r.kind != "own doctor" and r.status == "completed" and len(r.client.referrals) < 3
            and day - days(240) <= r.visits[-1] <= day - days(7)]
    if not done:
        raise RuntimeError(f"sample: no referral to renew on {day}; change the seed or counts")
    old = rng.choice(done)
    # A dormant referrer's patient comes back with a referral from whoever sees them now.
    provider = old.provider if old.provider.active(day) else rng.choices(
        active, [p.weight for p in active])[0]
    codes = old.diagnosis.replace("XXA", "XXD")
    return Referral(day, provider, old.client, codes, old.services, *_prescription(rng),
                    kind="renewal", notes=rng.choice(("Renewal after re-evaluation",
                                                      "Renewed for another round", "")))


def _own_doctor_referral(rng: random.Random, walk_ins: list[Client], provider: Provider,
                         day: dt.date) -> Referral:
    waiting = [c for c in walk_ins if not c.referrals and c.first_visit
               and day - days(600) <= c.first_visit <= day - days(21)]
    if not waiting:
        raise RuntimeError(f"sample: no client for an own-doctor referral on {day}")
    client = rng.choice(waiting)
    options = DIAGNOSES[provider.group]
    matching = [o for o in options if o[1] == client.focus] or list(options)
    codes, _, services = rng.choice(matching)
    return Referral(day, provider, client, codes, services, *_prescription(rng),
                    kind="own doctor", notes="Client's own doctor; release on file")


def _simulate(r: Referral, rng: random.Random) -> None:
    """Status and session dates as of AS_OF."""
    if r.kind == "new" and rng.random() < 0.05:
        r.status = "declined"
        r.notes = rng.choice(("Client did not book", "Chose a clinic closer to work",
                              "Out of network; client declined"))
        return
    first = weekday_on_or_after(r.received_on + days(rng.choice((2, 3, 4, 5, 7, 8, 10, 14))))
    if first > AS_OF:
        r.status = "received" if (AS_OF - r.received_on).days <= 4 else "scheduled"
        return
    planned = r.authorized
    if rng.random() < 0.2:
        planned = max(2, planned - rng.randint(1, max(1, planned // 3)))
    day = first
    while len(r.visits) < planned and day <= AS_OF:
        r.visits.append(day)
        gap = 7 + rng.choice((0, 0, 0, 1, -1)) if r.per_week == 1 else 3 + len(r.visits) % 2
        day = weekday_on_or_after(day + days(gap))
    r.status = "completed" if len(r.visits) == planned else "in care"


def self_pay_visits(rng: random.Random, clients: list[Client]) -> dict[Client, list[dt.date]]:
    """Sessions outside any referral: walk-in clients, and referred clients who stayed on."""
    found: dict[Client, list[dt.date]] = {}
    for c in clients:
        dates: list[dt.date] = []
        if c.source != "doctor" and c.first_visit:
            returning = c.first_visit < START
            style = rng.choices(("regular", "occasional", "lapsed"),
                                (0.4, 0.35, 0.25) if returning else (0.35, 0.65, 0))[0]
            day = START + days(rng.randrange(0, 40)) if returning else c.first_visit
            count = 40 if style == "regular" else rng.randint(1, 5) if style == "occasional" else 0
            low, high = (14, 35) if style == "regular" else (14, 60)
            dates = _series(rng, day, count, low, high)
        elif c.referrals and c.referrals[-1].status == "completed" and rng.random() < 0.3:
            start = c.referrals[-1].visits[-1] + days(rng.randrange(14, 31))
            dates = _series(rng, start, rng.randint(2, 6), 21, 40)
        dates = [d for d in dates if not _in_referral(c, d)]
        if dates:
            found[c] = dates
    return found


def _series(rng: random.Random, start: dt.date, count: int, low: int, high: int
            ) -> list[dt.date]:
    dates = []
    day = weekday_on_or_after(start)
    while len(dates) < count and day <= AS_OF:
        dates.append(day)
        day = weekday_on_or_after(day + days(rng.randint(low, high)))
    return dates


def _in_referral(c: Client, day: dt.date) -> bool:
    for r in c.referrals:
        if r.visits and r.visits[0] - days(3) <= day <= r.visits[-1] + days(3):
            return True
        if r.status in ("received", "scheduled") and day >= r.received_on:
            return True
    return False


#: Remarks beside the SOAP note (refdesk.sample.outcomes writes the note itself).
_PROGRESS_NOTES = {
    "jaw": ("Asked about a night-guard check with the dentist", "Ran ten minutes over"),
    "neck": ("Rescheduled from Tuesday", "Asked for an earlier time next week"),
    "head": ("Came in during a migraine; shorter session, lights dimmed",
             "Rescheduled from Monday", "No music, at the client's request"),
}
#: Visits' columns of pain, score and SOAP note, filled by refdesk.sample.outcomes.
OUTCOME_COLUMNS = ("pain_before", "pain_after", "measure_score", "subjective", "objective",
                   "assessment", "plan")


def _note(rng: random.Random, focus: str) -> str | None:
    if rng.random() > 0.35:
        return None
    key = "jaw" if "TMJ" in focus else "head" if "head" in focus or "migraine" in focus else (
        "neck")
    return rng.choice(_PROGRESS_NOTES[key])


def visit_rows(rng: random.Random, referrals: list[Referral],
               self_pay: dict[Client, list[dt.date]]) -> list[dict[str, Any]]:
    sessions: list[tuple[dt.date, Client, Referral | None]] = [
        (day, r.client, r) for r in referrals for day in r.visits]
    sessions += [(day, c, None) for c, dates in self_pay.items() for day in dates]
    sessions.sort(key=lambda s: (s[0], s[1].id))
    # Ids are given once the planted rows have joined, in date order.
    return [session_row(rng, day, client, r) for day, client, r in sessions]


def session_row(rng: random.Random, day: dt.date, client: Client, r: Referral | None
                ) -> dict[str, Any]:
    if r is None:
        cpt = "97124"
        minutes = rng.choices((60, 90, 45), (0.6, 0.25, 0.15))[0]
    else:
        hands_on = r.provider.group in ("physical therapy", "chiropractic", "sports medicine")
        cpt = rng.choices(("97140", "97124", "97112"),
                          (0.4, 0.3, 0.3) if hands_on else (0.45, 0.45, 0.1))[0]
        minutes = rng.choices((60, 45, 30, 90), (0.6, 0.25, 0.05, 0.1))[0]
    units = minutes // 15
    fee = units * RATE[cpt]
    if r is not None and client.insurance:
        method = "insurance"
        paid = fee if day <= AS_OF - days(30) else None
    else:
        method = rng.choices(("card", "HSA/FSA", "cash", "check"), (0.5, 0.3, 0.12, 0.08))[0]
        paid = fee
    return {"visit_id": None, "client_id": client.id, "date": day,
            "referral_id": r.id if r else None, "cpt": cpt, "units": units, "minutes": minutes,
            "fee": fee, "paid": paid, "payment_method": method,
            **dict.fromkeys(OUTCOME_COLUMNS), "notes": _note(rng, client.focus) if r else None}


def referral_row(r: Referral) -> dict[str, Any]:
    return {
        "referral_id": r.id, "received_on": r.received_on, "provider_id": r.provider.id,
        "client_id": r.client.id, "diagnosis": r.diagnosis, "services": r.services,
        "per_week": r.per_week, "weeks": r.weeks, "visits_authorized": r.authorized,
        "measure": r.measure or None, "goal": r.goal, "status": r.status,
        "first_visit": r.first_visit, "thank_you_sent": r.thank_you_sent,
        "last_report_sent": r.last_report_sent, "notes": r.notes or None,
    }
