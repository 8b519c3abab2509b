"""`todo` works out releases and progress reports with array operations; the rules are the
row-by-row ones below. Both read many random, messy sheets (missing ids, dates that do not
read, revocations, releases without an end, visits out of order) and must give the same
actions in the same order."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from refdesk.dates import as_date
from refdesk.merge.data import Data, items
from refdesk.sources.excel import ExcelSource
from refdesk.todo import (
    KINDS,
    Action,
    Rules,
    _client_label,
    _letters_by_record,
    _provider_label,
    _shift,
    consent_as_of,
    progress_reports,
    releases_expiring,
)
from tests.helpers import headers, make_xlsx, minimal_sheets, row

ON = dt.date(2026, 11, 23)
D = dt.datetime


def _day(rng: random.Random) -> object:
    pick = rng.random()
    if pick < 0.08:
        return None
    if pick < 0.12:
        return rng.choice(["soon", "31/31/2026", "next year"])
    return D(2025, 6, 1) + dt.timedelta(days=rng.randrange(0, 700))


def _sheets(seed: int) -> dict[str, list[list[object]]]:
    rng = random.Random(seed)
    s = minimal_sheets()
    s["Providers"] += [row("Providers", provider_id=f"P{i}", name=f"Doc {i}", stage="referring",
                           wants=rng.choice(["progress reports", "SOAP notes", ""]))
                       for i in range(1, 5)]
    s["Clients"] += [row("Clients", client_id=f"C{i}", first_name=f"Name{i}", last_name="Lee")
                     for i in range(1, 8)]
    s["Releases"] = [headers("Releases")] + [
        row("Releases", release_id=rng.choice([f"REL{i}", f"REL{i}", None, "REL1"]),
            client_id=rng.choice([f"C{rng.randrange(1, 8)}"] * 9 + [None]),
            provider_id=rng.choice([f"P{rng.randrange(1, 5)}"] * 9 + [None]),
            signed_on=_day(rng), expires_on=rng.choice([None, _day(rng), _day(rng),
                                                        D(2026, 12, rng.randrange(1, 28))]),
            revoked_on=rng.choice([None] * 6 + [_day(rng)]),
            scope=rng.choice(["all", "diagnosis; treatment plan", "progress notes"]))
        for i in range(rng.randrange(5, 60))]
    s["Referrals"] += [
        row("Referrals", referral_id=f"R{i}", received_on=D(2026, 5, 1),
            provider_id=f"P{i % 4 + 1}", client_id=f"C{i % 7 + 1}",
            status=rng.choice(["in care", "in care", "completed"]),
            first_visit=rng.choice([None, D(2026, 5, 3)]),
            last_report_sent=rng.choice([None, D(2026, 9, 1), D(2026, 12, 1), "lost"]))
        for i in range(1, 12)]
    s["Visits"] = [headers("Visits")] + [
        row("Visits", visit_id=f"V{i}", client_id=f"C{rng.randrange(1, 8)}",
            referral_id=rng.choice([f"R{rng.randrange(1, 12)}"] * 5 + [None]),
            date=rng.choice([None, D(2026, 5, 1) + dt.timedelta(days=rng.randrange(0, 240))]))
        for i in range(rng.randrange(0, 150))]
    return s


def releases_by_rows(data: Data, rules: Rules, on: dt.date, today: dt.date) -> list[Action]:
    """The release rules one pair and one row at a time."""
    out = []
    horizon = _shift(on, rules.release_warning_days)
    consent = consent_as_of(data, on, max(on, today))
    for (cid, pid), rows in data.releases.items():
        for r in rows:
            fault = consent.faults.get(r["_row"])
            if fault:
                out.append(Action("release-in-doubt", on, _client_label(data, cid),
                                  f"release {r.get('release_id') or 'on row ' + str(r['_row'])} "
                                  f"for {_provider_label(data, pid)}: {fault}",
                                  "correct the date in the workbook; until then nothing about "
                                  "the client goes to the provider", "", cid,
                                  (cid, pid, str(r.get("release_id") or r["_row"]))))
        live = [r for r in rows if consent.counts(r["_row"])]
        if not live:
            continue
        ends = [as_date(r.get("expires_on")) for r in live]
        if any(e is None for e in ends):
            continue
        last = max(ends)
        if on <= last <= horizon:
            release = live[ends.index(last)]
            out.append(Action("release-expiring", last, _client_label(data, cid),
                              f"release {release.get('release_id')} for "
                              f"{_provider_label(data, pid)} ends {last:%B} {last.day}, "
                              f"{last.year}", "have the client sign a new release",
                              "release-form", cid, (cid, pid)))
    return out


def reports_by_rows(data: Data, rules: Rules, on: dt.date) -> list[Action]:
    """The progress-report rule one visit at a time."""
    out = []
    sent = _letters_by_record(data, "progress-report", on)
    for r in data.referrals:
        if str(r.get("status") or "") != "in care":
            continue
        provider = data.providers.get(r.get("provider_id") or "") or {}
        if "progress reports" not in {w.lower() for w in items(provider.get("wants"))}:
            continue
        last = as_date(r.get("last_report_sent"))
        if last is not None and last > on:
            last = sent.get(r["referral_id"])
        visits = [v for v in data.visits_by_referral.get(r["referral_id"], [])
                  if as_date(v["date"]) <= on and (last is None or as_date(v["date"]) > last)]
        if not visits:
            continue
        since = last or as_date(r.get("first_visit")) or as_date(visits[0]["date"])
        weeks_due = _shift(since, weeks=rules.report_every_weeks)
        every = max(1, rules.report_every_visits)
        if len(visits) >= every:
            due = as_date(visits[every - 1]["date"])
        elif weeks_due <= on:
            due = weeks_due
        else:
            continue
        out.append((r["referral_id"], due, len(visits)))
    return out


def _listed(actions: list[Action]) -> list[Action]:
    order = {kind: n for n, kind in enumerate(KINDS)}
    return sorted(actions, key=lambda a: (order[a.kind], a.due, a.who))


@pytest.mark.parametrize("seed", range(12))
def test_the_array_rules_give_what_the_row_rules_give(tmp_path, seed):
    path = tmp_path / "book.xlsx"
    make_xlsx(path, _sheets(seed))
    book = ExcelSource(path).read()
    rules = Rules(report_every_visits=3)
    for on in (ON, dt.date(2026, 9, 15), dt.date(2026, 12, 10)):
        data = Data.of(book, on)
        # As the list shows them: by kind, day and who (a stable sort: ties keep their order).
        assert _listed(releases_expiring(data, rules, on, ON)) == \
            _listed(releases_by_rows(data, rules, on, ON))
        found = [(a.record, a.due, int(a.detail.split(": ")[1].split()[0]))
                 for a in progress_reports(data, rules, on)]
        assert found == reports_by_rows(data, rules, on)


@pytest.mark.parametrize("seed", range(12))
def test_consent_without_reasons_answers_as_with_them(tmp_path, seed):
    """`allowing` (yes or no, asked of every client by the release-form job) gives the row
    `allow` gives, for every pair and scope, on messy sheets."""
    path = tmp_path / "book.xlsx"
    make_xlsx(path, _sheets(seed))
    book = ExcelSource(path).read()
    scopes = [(), ("diagnosis",), ("progress notes",), ("diagnosis", "treatment plan"),
              ("not a scope",)]
    for on in (ON, dt.date(2026, 9, 15)):
        consent = Data.of(book, on).consent
        asked = 0
        for client in [f"C{i}" for i in range(0, 9)]:
            for provider in [f"P{i}" for i in range(0, 6)]:
                for scope in scopes:
                    row, _why = consent.allow(client, provider, scope)
                    assert consent.allowing(client, provider, scope) == row
                    asked += row is not None
        assert asked  # the sheet has releases that allow something on the day
