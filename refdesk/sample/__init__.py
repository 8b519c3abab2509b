"""The sample practice: Maya Lindqvist, LMT, of Cedar Lane Massage Therapy in Portland, OR.

`sample_rows()` returns every sheet's rows for `workbooks/referrals.xlsx`: some 40 providers,
300 clients, 250 referrals over 18 months, and the releases, contacts, sessions (with pain
ratings, scores on each plan's measure and SOAP notes), clients sent out, testimonials and
letters that go with them. The same rows every time: one fixed seed,
fixed dates, nothing read from the clock.

Everything is clean except the handful of mistakes a real practice makes, listed in
`PLANTED_MISTAKES`, so that `check` has something true to find.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from refdesk.sample.care import (
    build_referrals,
    referral_row,
    self_pay_visits,
    session_row,
    visit_rows,
)
from refdesk.sample.outcomes import (
    client_cards,
    fill_visits,
    own_diagnoses,
    plan_measures,
    quiet_since_report,
)
from refdesk.sample.paperwork import Paperwork, letter_row, letters, testimonials
from refdesk.sample.people import AS_OF, START, People, PhoneBook, client_row
from refdesk.sample.providers import build_contacts, build_providers, provider_rows

SEED = 20250501
#: The practice's own phone and fax (config.toml); no provider or client may have them.
PRACTICE_NUMBERS = ("(503) 555-0147", "(503) 555-0148")

Rows = dict[str, list[dict[str, Any]]]
#: The generator's objects behind the rows, for planting mistakes that need them.
World = dict[str, Any]

__all__ = ["AS_OF", "PLANTED_MISTAKES", "START", "PlantedMistake", "sample_rows"]


@dataclass(frozen=True)
class PlantedMistake:
    """One deliberate mistake: where it is, what was typed, which rule it breaks."""

    sheet: str
    id: str
    column: str
    value: Any
    rule: str
    description: str


def _clean_rows() -> tuple[Rows, World]:
    def rng(part: str) -> random.Random:
        # One stream per part: a change to one sheet's generator leaves the others as they were.
        return random.Random(f"{SEED}:{part}")

    phones = PhoneBook(rng("phones"), reserved=PRACTICE_NUMBERS)
    providers = build_providers(rng("providers"), phones)
    people = People(rng("people"), phones)
    referrals = build_referrals(rng("referrals"), people, providers)
    people.link_word_of_mouth()
    people.number()
    paper = Paperwork(rng("releases"))
    paper.for_referrals(referrals)
    paper.own_doctors(people.clients, providers)
    paper.revoke_some(referrals)
    sent = paper.sent(people.clients, providers)
    paper.number()
    contacts = build_contacts(rng("contacts"), providers)
    plan_measures(rng("measures"), referrals)
    self_pay = self_pay_visits(rng("self-pay"), people.clients)
    own_diagnoses(rng("diagnoses"), self_pay)
    client_cards(rng("cards"), people.clients)
    visits = visit_rows(rng("visits"), referrals, self_pay)
    fill_visits(rng("outcomes"), referrals, visits)
    quiet_since_report(referrals, visits, paper)
    rows: Rows = {
        "Providers": provider_rows(providers),
        "Clients": [client_row(c) for c in people.clients],
        "Releases": paper.rows(),
        "Referrals": [referral_row(r) for r in referrals],
        "Sent": sent,
        "Contacts": contacts,
        "Visits": visits,
        "Testimonials": testimonials(rng("testimonials"), people.clients, self_pay),
        "Letters": letters(rng("letters"), paper, referrals, providers),
    }
    world = {"providers": providers, "clients": people.clients, "referrals": referrals,
             "paper": paper}
    return rows, world


PLANTED_MISTAKES: tuple[PlantedMistake, ...] = (
    PlantedMistake("Providers", "P008", "npi", "1354863093", "npi",
                   "Two digits of Dr. Chen's NPI swapped while typing (real: 1358463093); "
                   "the check digit no longer matches."),
    PlantedMistake("Providers", "P013", "stage", "Referring ", "spelling",
                   "Stage typed by hand with a capital letter and a trailing space instead "
                   "of picked from the list."),
    PlantedMistake("Providers", "P026", "next_follow_up", "next Tuesday", "type",
                   "A reminder typed as words in a date column."),
    PlantedMistake("Providers", "P040", "name", "Priya Ramen", "near-duplicate",
                   "Dr. Priya Raman (P004) added a second time from a client's intake form, "
                   "her name misspelled."),
    PlantedMistake("Clients", "C150", "phone", "(971) 555-017", "phone",
                   "A digit missing from the client's phone number."),
    PlantedMistake("Referrals", "R109", "first_visit", dt.date(2026, 2, 23),
                   "visit-before-referral",
                   "First visit typed a month early (real: 2026-03-23); it now falls before "
                   "the referral arrived on 2026-03-13."),
    PlantedMistake("Referrals", "R141", "diagnosis", "G44.290", "icd10",
                   "G44.209 (tension-type headache) typed with two digits swapped: G44.290 is "
                   "not an ICD-10-CM code."),
    PlantedMistake("Referrals", "R250", "provider_id", "P041", "unknown-reference",
                   "A referral from a new doctor entered before the doctor was added to "
                   "Providers: P041 does not exist."),
    PlantedMistake("Visits", "V1424", "referral_id", "R114", "over-authorized",
                   "A 13th session billed to referral R114, which authorized 12."),
    PlantedMistake("Visits", "V1600", "pain_before", 54, "pain-range",
                   "Pain before and after typed into one cell: 54 for 5 before (the 4 after "
                   "is in pain_after too)."),
    PlantedMistake("Visits", "V1967", "measure_score", 14, "score-range",
                   "Headache days counted over the two weeks since the last visit instead of "
                   "per week: 14 on a scale of 0-7."),
    PlantedMistake("Letters", "L008", "release_id", None, "no-release",
                   "A progress report about client C276 faxed to Dr. Marquez (P001): C276 "
                   "never signed a release naming her."),
)

#: Details of the planted rows that are added rather than edited.
_DUPLICATE_OF = "P004"
_EXTRA_VISIT_ON = dt.date(2026, 5, 4)
_UNRELEASED_REPORT = ("C276", "P001", dt.date(2026, 10, 23))


def sample_rows() -> Rows:
    """Every sheet's rows of the sample workbook, planted mistakes included."""
    rows, world = _clean_rows()
    rng = random.Random(f"{SEED}:planted")
    for mistake in PLANTED_MISTAKES:
        if mistake.rule not in _AFTER_NUMBERING:
            _PLANTERS.get(mistake.rule, _overwrite)(rows, world, mistake, rng)
    _number(rows["Visits"], "visit_id", "V{:04d}", lambda r: (r["date"], r["client_id"]))
    _number(rows["Letters"], "letter_id", "L{:03d}", lambda r: r["when"])
    for mistake in PLANTED_MISTAKES:  # visits are found by the ids just given
        if mistake.rule in _AFTER_NUMBERING:
            _PLANTERS[mistake.rule](rows, world, mistake, rng)
    for mistake in PLANTED_MISTAKES:
        row = _row(rows, mistake.sheet, mistake.id)
        if row[mistake.column] != mistake.value:
            raise AssertionError(f"sample: planted {mistake.rule} is not at {mistake.sheet} "
                                 f"{mistake.id}; update PLANTED_MISTAKES")
    return rows


def _row(rows: Rows, sheet: str, row_id: str) -> dict[str, Any]:
    key = next(iter(rows[sheet][0]))
    found = [r for r in rows[sheet] if r[key] == row_id]
    if len(found) != 1:
        raise AssertionError(f"sample: {sheet} has {len(found)} rows with id {row_id}")
    return found[0]


def _number(rows: list[dict[str, Any]], key: str, pattern: str, order: Any) -> None:
    rows.sort(key=order)
    for i, row in enumerate(rows, start=1):
        row[key] = pattern.format(i)


def _overwrite(rows: Rows, world: World, m: PlantedMistake, rng: random.Random) -> None:
    row = _row(rows, m.sheet, m.id)
    if m.rule == "icd10":
        if "G44.209" not in row["diagnosis"]:
            raise AssertionError(f"sample: {m.id} has no G44.209 to mistype")
        row["diagnosis"] = row["diagnosis"].replace("G44.209", m.value)
        return
    if row[m.column] in (None, m.value):
        raise AssertionError(f"sample: {m.sheet} {m.id} {m.column} has nothing to mistype")
    row[m.column] = m.value


def _duplicate(rows: Rows, world: World, m: PlantedMistake, rng: random.Random) -> None:
    first = dict(_row(rows, "Providers", _DUPLICATE_OF))
    first.update(provider_id=m.id, name=m.value, npi=None, stage="prospect", delivery=None,
                 wants=None, accepting_patients="unknown", refers_out="unknown",
                 how_we_know="client's doctor", next_follow_up=dt.date(2026, 11, 9),
                 notes="From a new client's intake form")
    rows["Providers"].append(first)


def _extra_visit(rows: Rows, world: World, m: PlantedMistake, rng: random.Random) -> None:
    referral = next(r for r in world["referrals"] if r.id == m.value)
    if len(referral.visits) != referral.authorized or referral.visits[-1] >= _EXTRA_VISIT_ON:
        raise AssertionError(f"sample: {m.value} cannot take the planted extra visit")
    rows["Visits"].append(session_row(rng, _EXTRA_VISIT_ON, referral.client, referral))


def _unreleased_letter(rows: Rows, world: World, m: PlantedMistake, rng: random.Random) -> None:
    client_id, provider_id, day = _UNRELEASED_REPORT
    client = next(c for c in world["clients"] if c.id == client_id)
    provider = next(p for p in world["providers"] if p.id == provider_id)
    if any(r.client is client and r.provider is provider for r in world["paper"].releases):
        raise AssertionError(f"sample: {client_id} has a release for {provider_id}")
    record = next((r.id for r in world["referrals"] if r.client is client
                   and r.provider is provider), client.id)
    rows["Letters"].append(letter_row(rng, day, "progress-report", record, provider, client,
                                      None))


def _out_of_range(rows: Rows, world: World, m: PlantedMistake, rng: random.Random) -> None:
    """A pain rating or score typed outside its scale, over one that was recorded."""
    row = _row(rows, m.sheet, m.id)
    if row[m.column] is None:
        raise AssertionError(f"sample: {m.id} has no {m.column} to mistype")
    if m.rule == "score-range":
        referral = _row(rows, "Referrals", row["referral_id"])
        if referral["measure"] != "headache days per week":
            raise AssertionError(f"sample: {m.id} is not a visit scored in headache days")
    row[m.column] = m.value


_PLANTERS = {"near-duplicate": _duplicate, "over-authorized": _extra_visit,
             "no-release": _unreleased_letter, "pain-range": _out_of_range,
             "score-range": _out_of_range}
#: Mistakes planted on visits by their id, which is given once the planted rows have joined.
_AFTER_NUMBERING = {"pain-range", "score-range"}
