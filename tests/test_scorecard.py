"""The referrer scorecard and dormancy by rhythm, on a small practice worked out by hand.

Seen on 2026-11-30 unless a test says otherwise. The windows count whole days back from the end,
the end itself being day 0:
  last 30 days  11-01 .. 11-30 (days 0-29)      last 90   09-02 .. 11-30 (days 0-89)
  last 365      2025-12-01 .. 2026-11-30        the 90 days before the last 30 (the average):
  08-03 .. 10-31 (days 30-119). Enough history: a first referral on or before 08-02 (day 120).

PW, the windows' edges: referrals on 11-30 (day 0), 11-01 (29), 10-31 (30), 09-02 (89),
  09-01 (90), 08-03 (119), 08-02 (120), 2025-12-01 (364), 2025-11-30 (365).
  Last 30: 11-30, 11-01 = 2. Last 90: those and 10-31, 09-02 = 4. Last 365: all but
  2025-11-30 = 8. The 90 days before: 10-31, 09-02, 09-01, 08-03 = 4, an average of 1.3 a
  month; 3 x 2 = 6 >= 4: green.
PA, the light across three ends: referrals 08-02, 08-03, 08-20, 09-10, 09-30, 10-15, 10-31,
  11-01, 11-30.
  Seen 11-30: last 30 = 11-01, 11-30 = 2; before (08-03 .. 10-31) = 08-03, 08-20, 09-10, 09-30,
    10-15, 10-31 = 6, average 2.0: 2 is the average exactly -> green. First referral 08-02 is
    day 120: history enough.
  Seen 12-01: last 30 (11-02 .. 12-01) = 11-30 = 1; before (08-04 .. 11-01) = 08-20, 09-10,
    09-30, 10-15, 10-31, 11-01 = 6: 1 is half the average exactly -> amber.
  Seen 11-29: 08-02 is day 119: too little history; last 30 (10-31 .. 11-29) = 2 -> green.
PF, the other figures: referrals F1 11-10 (C1, first visit 11-14: 4 days), F2 06-01 (C2,
  06-11: 10 days), F3 2025-11-20 (C3, 2025-11-25; before the 365 days), F4 10-01 (C4, none),
  F5 11-25 (C5, 12-02: after the end, not reached).
  Last 30: F1, F5 = 2; last 90: F1, F4, F5 = 3; last 365: F1, F2, F4, F5 = 4. Conversion: F1, F2
  reached = 2 / 4 = 50%; median days (4, 10) = 7.0.
  Visits dated in the 365 days under PF's referrals: F3 2025-12-01 paid 50 (2025-11-25 is
  before), F2 06-11 paid 90, F2 06-18 unpaid, F1 11-14 paid 100 (F5's 12-02 is after the end):
  4 visits, revenue 240.00.
  Sent to PF: 2025-11-30 (day 365: out), 2026-03-01, 2026-11-30 = 2: 2 / 4 = 0.5 sent per
  referral. Contacts 10-10 and 12-05 (after the end): last contact 10-10.
  Gaps 2025-11-20 -> 06-01 -> 10-01 -> 11-10 -> 11-25: 193, 122, 40, 15; usual gap
  (40 + 122) / 2 = 81.0. The 90 days before: F4 = 1; 3 x 2 >= 1: green.
PQ, quiet: referrals 01-10, 03-10, 07-15. None in the last 120 days: red. Gaps 59, 127: usual
  93.0, active by rhythm (allowed 3 x 93 = 279 days, 138 since), dormant by days (138 > 90).
PN, new: one referral, 10-20 (day 41): too little history and none in the last 30 days: amber;
  too few referrals for a rhythm.
PR, the rhythm's edge: referrals 09-01, 09-11, 09-21, 10-01: usual gap 10, dormant after more
  than 3 x 10 = 30 days: seen 10-31 (30 days) active, 11-01 (31 days) dormant; by days (90)
  active on both.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from refdesk.book import Book
from refdesk.config import load_config
from refdesk.errors import ConfigError
from refdesk.merge.data import Data
from refdesk.rhythm import allowed_days, usual_gap
from refdesk.sources.excel import ExcelSource
from refdesk.stats import compute
from refdesk.stats.scorecard import light_of
from refdesk.todo import Rules, going_dormant
from tests.conftest import run
from tests.helpers import headers, make_xlsx, minimal_sheets, row

D = dt.datetime
END = dt.date(2026, 11, 30)

REFERRALS = {
    "PW": [D(2026, 11, 30), D(2026, 11, 1), D(2026, 10, 31), D(2026, 9, 2), D(2026, 9, 1),
           D(2026, 8, 3), D(2026, 8, 2), D(2025, 12, 1), D(2025, 11, 30)],
    "PA": [D(2026, 8, 2), D(2026, 8, 3), D(2026, 8, 20), D(2026, 9, 10), D(2026, 9, 30),
           D(2026, 10, 15), D(2026, 10, 31), D(2026, 11, 1), D(2026, 11, 30)],
    "PQ": [D(2026, 1, 10), D(2026, 3, 10), D(2026, 7, 15)],
    "PN": [D(2026, 10, 20)],
    "PR": [D(2026, 9, 1), D(2026, 9, 11), D(2026, 9, 21), D(2026, 10, 1)],
}


def scorecard_sheets() -> dict[str, list[list]]:
    s = minimal_sheets()
    s["Providers"] += [row("Providers", provider_id=pid, name=f"Dr {pid}", stage="referring")
                       for pid in [*REFERRALS, "PF"]]
    refs = [row("Referrals", referral_id=f"{pid}-{i}", received_on=day, provider_id=pid,
                client_id="C0", status="completed")
            for pid, days in REFERRALS.items() for i, day in enumerate(days)]
    pf = [("F1", D(2026, 11, 10), "C1", D(2026, 11, 14)), ("F2", D(2026, 6, 1), "C2",
                                                          D(2026, 6, 11)),
          ("F3", D(2025, 11, 20), "C3", D(2025, 11, 25)), ("F4", D(2026, 10, 1), "C4", None),
          ("F5", D(2026, 11, 25), "C5", D(2026, 12, 2))]
    refs += [row("Referrals", referral_id=rid, received_on=day, provider_id="PF", client_id=cid,
                 first_visit=first, status="in care") for rid, day, cid, first in pf]
    s["Referrals"] += refs
    visits = [("F3", "C3", D(2025, 11, 25), 50), ("F3", "C3", D(2025, 12, 1), 50),
              ("F2", "C2", D(2026, 6, 11), 90), ("F2", "C2", D(2026, 6, 18), None),
              ("F1", "C1", D(2026, 11, 14), 100), ("F5", "C5", D(2026, 12, 2), 100)]
    s["Visits"] = [headers("Visits")] + [
        row("Visits", visit_id=f"V{i}", referral_id=rid, client_id=cid, date=day, fee=90,
            paid=paid) for i, (rid, cid, day, paid) in enumerate(visits)]
    s["Sent"] = [headers("Sent")] + [row("Sent", sent_on=day, client_id="C9", provider_id="PF")
                                     for day in (D(2025, 11, 30), D(2026, 3, 1),
                                                 D(2026, 11, 30))]
    s["Contacts"] = [headers("Contacts"),
                     row("Contacts", date=D(2026, 10, 10), provider_id="PF", channel="phone"),
                     row("Contacts", date=D(2026, 12, 5), provider_id="PF", channel="phone")]
    return s


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Book:
    path = make_xlsx(tmp_path_factory.mktemp("scorecard") / "scorecard.xlsx",
                     scorecard_sheets())
    return ExcelSource(path).read()


def card(book: Book, end: dt.date = END, **kw) -> dict[str, dict]:
    stats = compute(book, end=end, **kw)
    return {r["provider_id"]: r for r in stats.tables["scorecard"].rows}


def test_the_windows_hold_their_first_and_last_day(book: Book) -> None:
    pw = card(book)["PW"]
    assert (pw["last_30"], pw["last_90"], pw["last_365"]) == (2, 4, 8)
    assert pw["light"] == "green"
    assert pw["light_reason"] == ("2 referrals in the last 30 days, at or above their average "
                                  "of 1.3 a month (4 in the 90 days before)")


def test_the_light_at_the_average_and_at_half_of_it(book: Book) -> None:
    assert (card(book)["PA"]["light"], card(book)["PA"]["light_reason"]) == (
        "green", "2 referrals in the last 30 days, at or above their average of 2.0 a month "
                 "(6 in the 90 days before)")
    later = card(book, dt.date(2026, 12, 1))["PA"]
    assert (later["last_30"], later["light"], later["light_reason"]) == (
        1, "amber", "1 referral in the last 30 days, below their average of 2.0 a month "
                    "(6 in the 90 days before) but at least half of it")
    earlier = card(book, dt.date(2026, 11, 29))["PA"]
    assert (earlier["last_30"], earlier["light"], earlier["light_reason"]) == (
        2, "green", "2 referrals in the last 30 days; too little history for an average "
                    "(first referral 2026-08-02, under 120 days ago)")


@pytest.mark.parametrize(("last_30", "light"), [
    # an average of 4 a month (12 in the 90 days): green from 4, amber from 2, red under 2
    (5, "green"), (4, "green"), (3, "amber"), (2, "amber"), (1, "red"), (0, "red")])
def test_the_thresholds_one_either_side(last_30: int, light: str) -> None:
    assert light_of(last_30, 12, 120, dt.date(2026, 1, 1), dt.date(2026, 11, 1))[0] == light


def test_an_average_that_is_not_a_whole_number() -> None:
    # 7 in 90 days: 2.33 a month. 3 x 3 = 9 >= 7 green; 3 x 2 = 6 < 7 and 6 x 2 = 12 >= 7
    # amber; 6 x 1 = 6 < 7 red.
    assert [light_of(n, 7, 200, None, None)[0] for n in (3, 2, 1)] == ["green", "amber", "red"]
    assert light_of(1, 7, 200, None, None)[1] == (
        "1 referral in the last 30 days, under half their average of 2.3 a month (7 in the 90 "
        "days before)")


def test_history_of_119_days_is_too_little_and_120_enough() -> None:
    first = dt.date(2026, 8, 3)
    assert light_of(0, 3, 119, first, first) == (
        "amber", "no referral in the last 30 days; too little history for an average (first "
                 "referral 2026-08-03, under 120 days ago)")
    assert light_of(0, 3, 120, first, first)[0] == "red"
    assert light_of(1, 0, 119, first, first)[0] == "green"


def test_quiet_new_and_figures(book: Book) -> None:
    rows = card(book)
    pq, pn, pf = rows["PQ"], rows["PN"], rows["PF"]
    assert (pq["light"], pq["light_reason"]) == (
        "red", "no referral in the last 120 days; latest 2026-07-15")
    assert (pq["usual_gap"], pq["by_days"], pq["by_rhythm"]) == (93.0, "dormant", "active")
    assert (pn["light"], pn["by_rhythm"], pn["usual_gap"]) == (
        "amber", "too few referrals (1)", None)
    assert pf == {
        "provider_id": "PF", "provider": "Dr PF", "practice": None, "specialty": None,
        "last_30": 2, "last_90": 3, "last_365": 4, "conversion": 0.5, "median_days": 7.0,
        "visits": 4, "revenue": 240.0, "sent": 2, "reciprocity": 0.5,
        "latest_referral": dt.date(2026, 11, 25), "last_contact": dt.date(2026, 10, 10),
        "usual_gap": 81.0, "by_days": "active", "by_rhythm": "active", "light": "green",
        "light_reason": "2 referrals in the last 30 days, at or above their average of 0.3 a "
                        "month (1 in the 90 days before)"}


def test_one_row_per_referring_provider_reds_first(book: Book) -> None:
    stats = compute(book, end=END)
    table = stats.tables["scorecard"]
    assert sorted(r["provider_id"] for r in table.rows) == ["PA", "PF", "PN", "PQ", "PR", "PW"]
    lights = [r["light"] for r in table.rows]
    assert lights == sorted(lights, key=["red", "amber", "green"].index)
    assert {c.key for c in table.columns} >= {"light", "light_reason", "last_30", "revenue"}
    assert all(c.help for c in table.columns if c.kind != "text" or c.key.startswith("light"))


def test_dormant_by_rhythm_at_its_edge(book: Book) -> None:
    on_edge = card(book, dt.date(2026, 10, 31))["PR"]
    past = card(book, dt.date(2026, 11, 1))["PR"]
    assert (on_edge["usual_gap"], on_edge["by_rhythm"], on_edge["by_days"]) == (
        10.0, "active", "active")
    assert (past["by_rhythm"], past["by_days"]) == ("dormant", "active")


def test_the_activity_table_follows_the_chosen_rule(book: Book) -> None:
    def activity(end: dt.date, **kw) -> dict[str, str]:
        stats = compute(book, end=end, **kw)
        return {r["provider_id"]: r["activity"] for r in stats.tables["activity"].rows}

    nov1 = dt.date(2026, 11, 1)
    assert activity(nov1)["PR"] == "active"
    assert activity(nov1, dormant_by="rhythm")["PR"] == "dormant"
    assert activity(dt.date(2026, 10, 31), dormant_by="rhythm")["PR"] == "active"
    # under 3 referrals the fixed rule decides; PQ's rhythm keeps it active
    by_rhythm = activity(END, dormant_by="rhythm")
    assert (by_rhythm["PN"], by_rhythm["PQ"]) == ("active", "active")
    assert activity(END)["PQ"] == "dormant"
    providers = {r["provider_id"]: r["activity"] for r in compute(
        book, end=nov1, dormant_by="rhythm").tables["providers"].rows}
    assert providers["PR"] == "dormant"


def test_todo_warns_of_a_rhythm_running_out(book: Book) -> None:
    on = dt.date(2026, 10, 20)
    data = Data.of(book, on)
    by_rhythm = {a.record: a for a in going_dormant(data, Rules(dormant_by="rhythm"), on)}
    assert by_rhythm["PR"].due == dt.date(2026, 10, 31)  # 10-01 + 30 days
    assert by_rhythm["PR"].detail == ("last referral October 1, 2026, usually every 10 days; "
                                      "dormant from October 31, 2026")
    assert "PR" not in {a.record for a in going_dormant(data, Rules(), on)}  # 12-30 by days


def test_usual_gap_and_allowed_days() -> None:
    days = [dt.date(2026, 1, 1), dt.date(2026, 1, 6), dt.date(2026, 1, 12)]
    assert usual_gap(days) == 5.5
    assert usual_gap(days[:2]) is None
    assert allowed_days(5.5, "rhythm", 3, 90) == 16  # 16.5 whole days: dormant on the 17th
    assert allowed_days(None, "rhythm", 3, 90) == 90
    assert allowed_days(5.5, "days", 3, 90) == 90
    assert allowed_days(0.0, "rhythm", 3, 90) == 3  # same-day referrals: a day at least


def _config(folder: Path, book: Path, program: str) -> Path:
    config = folder / "config.toml"
    config.write_text(f'[practice]\nname = "P"\ntherapist = "T"\n[source]\nexcel = '
                      f'"{book.as_posix()}"\n[program]\n{program}\n', encoding="utf-8")
    return config


def test_todo_and_stats_read_the_rule_from_config(tmp_path: Path) -> None:
    book = make_xlsx(tmp_path / "book.xlsx", scorecard_sheets())
    rhythm = _config(tmp_path, book, 'dormant_by = "rhythm"\nrhythm_times = 3')
    actions = json.loads(run("--quiet", "todo", "--config", rhythm, "--on", "2026-10-20",
                             "--json").stdout)
    quiet = [a for a in actions if a["kind"] == "going-dormant" and a["record"] == "PR"]
    assert [a["due"] for a in quiet] == ["2026-10-31"]
    stats = json.loads(run("--quiet", "stats", "--config", rhythm, "--to", "2026-11-01",
                           "--json").stdout)
    activity = {r["provider_id"]: r["activity"] for r in stats["tables"]["activity"]["rows"]}
    assert activity["PR"] == "dormant"
    days = _config(tmp_path, book, "dormant_after_days = 90")
    stats = json.loads(run("--quiet", "stats", "--config", days, "--to", "2026-11-01",
                           "--json").stdout)
    activity = {r["provider_id"]: r["activity"] for r in stats["tables"]["activity"]["rows"]}
    assert activity["PR"] == "active"


@pytest.mark.parametrize(("line", "fix"), [
    ('dormant_by = "weeks"', "program.dormant_by is 'weeks'; use one of: days, rhythm."),
    ("rhythm_times = 0", "program.rhythm_times is 0; use a whole number of gaps from 1 to "
                         "100, e.g. rhythm_times = 3."),
    ("rhythm_times = 2.5", "program.rhythm_times must be a whole number, not float 2.5."),
])
def test_a_wrong_rhythm_setting_is_refused(tmp_path: Path, line: str, fix: str) -> None:
    config = _config(tmp_path, tmp_path / "book.xlsx", line)
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert info.value.message == f"config.toml line 7: {fix}"
