"""`refdesk stats` on a small practice whose every figure is worked out by hand below, and on
the sample workbook.

The small practice, seen on 2026-11-30, by month from 2026-09-01 (September, October,
November):

Referrals (received, provider, first visit, days to it):
  R1  09-02 P1  09-09  7      R5  10-10 P2  10-12  2
  R2  09-20 P1  09-23  3      R6  11-01 P2  11-05  4
  R3  10-05 P1  10-15 10      R7  11-10 P2  declined, no visit
  R4  11-03 P1  none          R11 11-20 P2  12-02 (after the end: not reached)
  R8  06-01 P3 and R9 08-15 P3 are before the range; R10 12-05 P1 is after it.
In the range: 8 referrals. September: R1, R2 (2 reached; days 7, 3: median 5).
October: R3, R5 (2 reached; days 10, 2: median 6). November: R4, R6, R7, R11 (1 reached, R6;
median 4; 1 declined). All: 5 of 8 reached (62.5%), days 7, 3, 10, 2, 4: median 4.

Visits (up to the end): R1 3, R2 2, R3 2, R5 2, R6 1 (a second R6 visit on 12-03 is after the
end), R8 4 (its referral is out of the range). September 5 visits (2.5 a referral), October 4
(2.0), November 1 (0.25); all 10 (1.25).
"""

from __future__ import annotations

import csv
import datetime as dt
import json

import pytest

from refdesk.sources.excel import ExcelSource
from refdesk.stats import compute
from refdesk.stats.compute import default_start
from refdesk.stats.output import table_csv
from tests.conftest import ROOT, run
from tests.helpers import headers, make_xlsx, minimal_sheets, row

D = dt.datetime
END = dt.date(2026, 11, 30)
START = dt.date(2026, 9, 1)


def practice_sheets() -> dict[str, list[list]]:
    s = minimal_sheets()
    s["Providers"] += [
        row("Providers", provider_id="P1", name="Ann Ames", practice="Ames Clinic",
            specialty="neurology", stage="referring"),
        row("Providers", provider_id="P2", name="Bo Burke", practice="Burke Chiropractic",
            specialty="chiropractic", stage="referring"),
        row("Providers", provider_id="P3", name="Cy Cole", specialty="neurology",
            stage="referring"),
        row("Providers", provider_id="P4", name="Di Dunn", stage="contacted"),
        row("Providers", provider_id="P5", name="Ed Eng", stage="prospect"),
        row("Providers", provider_id="P6", name="Fay Fox", stage="packet sent"),
    ]
    clients = [
        # id, first name, source, detail, referred by client, first visit
        ("C1", "Al", "doctor", None, None, D(2026, 9, 9)),
        ("C2", "Bea", "doctor", None, None, D(2026, 9, 23)),
        ("C3", "Cal", "doctor", None, None, D(2026, 10, 15)),
        ("C4", "Dee", "doctor", None, None, None),
        ("C5", "Eve", "doctor", None, None, D(2026, 10, 12)),
        ("C6", "Flo", "doctor", None, None, D(2026, 11, 5)),
        ("C7", "Gus", "doctor", None, None, None),
        ("C8", "Hal", "doctor", None, None, D(2026, 6, 5)),
        ("C9", "Ida", "doctor", None, None, D(2026, 8, 20)),
        ("C10", "Jo", "doctor", None, None, D(2026, 12, 2)),
        ("C11", "Kim", "client", "my friend Al Lee", "C1", D(2026, 10, 20)),
        ("C12", "Lou", "client", None, "C1", D(2026, 11, 12)),
        ("C13", "Max", "client", None, "C2", D(2026, 11, 14)),
        ("C14", "Ned", "other", "Google", None, D(2026, 9, 30)),
        ("C15", "Oz", "other", "Google", None, D(2026, 11, 2)),
        ("C16", "Pam", "other", "walked by", None, D(2026, 10, 1)),
        ("C17", "Quin", None, None, None, D(2026, 11, 20)),
    ]
    s["Clients"] += [row("Clients", client_id=cid, first_name=first, last_name="Lee",
                         source=source, source_detail=detail, referred_by_client=by,
                         first_visit=visit)
                     for cid, first, source, detail, by, visit in clients]
    referrals = [
        ("R1", D(2026, 9, 2), "P1", "C1", D(2026, 9, 9), "in care", "G43.909"),
        ("R2", D(2026, 9, 20), "P1", "C2", D(2026, 9, 23), "completed", "G43.909; M54.2"),
        ("R3", D(2026, 10, 5), "P1", "C3", D(2026, 10, 15), "in care", "M54.2"),
        ("R4", D(2026, 11, 3), "P1", "C4", None, "received", None),
        ("R5", D(2026, 10, 10), "P2", "C5", D(2026, 10, 12), "in care", "G44.209"),
        ("R6", D(2026, 11, 1), "P2", "C6", D(2026, 11, 5), "in care", None),
        ("R7", D(2026, 11, 10), "P2", "C7", None, "declined", None),
        ("R8", D(2026, 6, 1), "P3", "C8", D(2026, 6, 5), "completed", None),
        ("R9", D(2026, 8, 15), "P3", "C9", D(2026, 8, 20), "completed", None),
        ("R10", D(2026, 12, 5), "P1", "C10", None, "received", None),
        ("R11", D(2026, 11, 20), "P2", "C10", D(2026, 12, 2), "scheduled", None),
    ]
    s["Referrals"] += [row("Referrals", referral_id=rid, received_on=received, provider_id=pid,
                           client_id=cid, first_visit=first, status=status, diagnosis=dx)
                       for rid, received, pid, cid, first, status, dx in referrals]
    visits = [("R1", "C1", D(2026, 9, 9)), ("R1", "C1", D(2026, 9, 16)),
              ("R1", "C1", D(2026, 9, 23)), ("R2", "C2", D(2026, 9, 23)),
              ("R2", "C2", D(2026, 9, 30)), ("R3", "C3", D(2026, 10, 15)),
              ("R3", "C3", D(2026, 10, 22)), ("R5", "C5", D(2026, 10, 12)),
              ("R5", "C5", D(2026, 10, 19)), ("R6", "C6", D(2026, 11, 5)),
              ("R6", "C6", D(2026, 12, 3)), *[("R8", "C8", D(2026, 6, d)) for d in (5, 12, 19, 26)]]
    s["Visits"] = [headers("Visits")] + [
        row("Visits", visit_id=f"V{i}", referral_id=rid, client_id=cid, date=day, cpt="97124")
        for i, (rid, cid, day) in enumerate(visits, start=1)]
    s["Sent"] = [headers("Sent"),
                 row("Sent", sent_on=D(2026, 10, 1), client_id="C5", provider_id="P2"),
                 row("Sent", sent_on=D(2026, 11, 15), client_id="C6", provider_id="P2"),
                 row("Sent", sent_on=D(2026, 9, 10), client_id="C1", provider_id="P4"),
                 row("Sent", sent_on=D(2026, 8, 1), client_id="C8", provider_id="P1")]
    s["Contacts"] = [headers("Contacts"),
                     row("Contacts", date=D(2026, 9, 1), provider_id="P4", channel="phone"),
                     row("Contacts", date=D(2026, 10, 15), provider_id="P4", channel="visit"),
                     row("Contacts", date=D(2026, 11, 1), provider_id="P1", channel="phone"),
                     row("Contacts", date=D(2026, 12, 10), provider_id="P4", channel="phone"),
                     row("Contacts", date=D(2026, 10, 20), provider_id="P6", channel="visit")]
    s["Letters"] = [headers("Letters"),
                    row("Letters", letter_id="L1", when=D(2026, 11, 2, 10, 0), job="intro-packet",
                        record="P6", provider_id="P6", status="produced")]
    return s


@pytest.fixture
def book(tmp_path):
    return ExcelSource(make_xlsx(tmp_path / "practice.xlsx", practice_sheets())).read()


@pytest.fixture
def stats(book):
    return compute(book, start=START, end=END, by="month")


def by(rows, key):
    return {r[key]: r for r in rows}


def test_referrals_per_period(stats):
    table = stats.tables["referrals"]
    assert stats.periods == ["2026-09", "2026-10", "2026-11"]
    assert table.rows == [
        {"period": "2026-09", "received": 2, "reached": 2, "conversion": 1.0,
         "median_days": 5.0, "declined": 0, "visits": 5, "visits_per_referral": 2.5},
        {"period": "2026-10", "received": 2, "reached": 2, "conversion": 1.0,
         "median_days": 6.0, "declined": 0, "visits": 4, "visits_per_referral": 2.0},
        {"period": "2026-11", "received": 4, "reached": 1, "conversion": 0.25,
         "median_days": 4.0, "declined": 1, "visits": 1, "visits_per_referral": 0.25}]
    assert table.total == {"period": "All", "received": 8, "reached": 5, "conversion": 0.625,
                           "median_days": 4.0, "declined": 1, "visits": 10,
                           "visits_per_referral": 1.25}


def test_new_clients_by_source(stats):
    """Sept: C1, C2 (doctor), C14 (other). Oct: C3, C5 (doctor), C11 (client), C16 (other).
    Nov: C6 (doctor), C12, C13 (client), C15 (other), C17 (no source). C4 and C7 have no
    first visit, C8 and C9 came before the range, C10 after it."""
    rows = by(stats.tables["sources"].rows, "period")
    assert rows["2026-09"] == {"period": "2026-09", "doctor": 2, "client": 0, "other": 1,
                               "not recorded": 0, "total": 3, "doctor_share": 0.6667,
                               "client_share": 0.0, "other_share": 0.3333}
    assert rows["2026-10"] == {"period": "2026-10", "doctor": 2, "client": 1, "other": 1,
                               "not recorded": 0, "total": 4, "doctor_share": 0.5,
                               "client_share": 0.25, "other_share": 0.25}
    assert rows["2026-11"] == {"period": "2026-11", "doctor": 1, "client": 2, "other": 1,
                               "not recorded": 1, "total": 5, "doctor_share": 0.2,
                               "client_share": 0.4, "other_share": 0.2}
    assert stats.tables["sources"].total == {
        "period": "All", "doctor": 5, "client": 3, "other": 3, "not recorded": 1, "total": 12,
        "doctor_share": 0.4167, "client_share": 0.25, "other_share": 0.25}


def test_source_details_hide_what_a_client_wrote_unless_with_names(book, stats):
    assert [(r["source"], r["detail"], r["clients"], r["share"])
            for r in stats.tables["source_details"].rows] == [
        ("doctor", "", 5, 0.4167), ("client", "(hidden: may name a client)", 3, 0.25),
        ("other", "Google", 2, 0.1667), ("other", "walked by", 1, 0.0833),
        ("not recorded", "", 1, 0.0833)]
    named = compute(book, start=START, end=END, with_names=True)
    assert [(r["source"], r["detail"], r["clients"])
            for r in named.tables["source_details"].rows if r["source"] == "client"] == [
        ("client", "", 2), ("client", "my friend Al Lee", 1)]


def test_referring_providers(stats):
    """P1: R1-R4, 3 reached (days 7, 3, 10), 7 visits; November 1 (R4), October 1 (R3).
    P2: R5, R6, R7, R11, 2 reached (days 2, 4), 3 visits; November 3, October 1."""
    rows = stats.tables["providers"].rows
    assert [r["provider"] for r in rows] == ["Ann Ames", "Bo Burke"]  # 4 each, then by name
    assert rows[0] == {"provider_id": "P1", "provider": "Ann Ames", "practice": "Ames Clinic",
                       "specialty": "neurology", "referrals": 4,
                       "first_referral": dt.date(2026, 9, 2),
                       "latest_referral": dt.date(2026, 11, 3), "this_period": 1,
                       "last_period": 1, "trend": 0, "reached": 3, "conversion": 0.75,
                       "median_days": 7.0, "visits": 7, "visits_per_referral": 1.75,
                       "activity": "active"}
    assert rows[1] == {"provider_id": "P2", "provider": "Bo Burke",
                       "practice": "Burke Chiropractic", "specialty": "chiropractic",
                       "referrals": 4, "first_referral": dt.date(2026, 10, 10),
                       "latest_referral": dt.date(2026, 11, 20), "this_period": 3,
                       "last_period": 1, "trend": 2, "reached": 2, "conversion": 0.5,
                       "median_days": 3.0, "visits": 3, "visits_per_referral": 0.75,
                       "activity": "active"}


def test_specialties(stats):
    assert stats.tables["specialties"].rows == [
        {"specialty": "chiropractic", "providers": 1, "referrals": 4, "reached": 2,
         "conversion": 0.5, "median_days": 3.0, "visits_per_referral": 0.75},
        {"specialty": "neurology", "providers": 1, "referrals": 4, "reached": 3,
         "conversion": 0.75, "median_days": 7.0, "visits_per_referral": 1.75}]


def test_active_and_dormant(stats):
    """P3's latest referral, 2026-08-15, is 107 days before the end: dormant (more than 90),
    although the sheet still says referring. P1 (27 days) and P2 (10) are active."""
    rows = stats.tables["activity"].rows
    assert [(r["provider_id"], r["referrals"], r["latest_referral"], r["days_since"],
             r["activity"], r["note"]) for r in rows] == [
        ("P3", 2, dt.date(2026, 8, 15), 107, "dormant", "stage still says referring"),
        ("P1", 4, dt.date(2026, 11, 3), 27, "active", ""),
        ("P2", 4, dt.date(2026, 11, 20), 10, "active", "")]
    assert stats.tables["activity"].total == {"provider": "2 active, 1 dormant",
                                              "referrals": 10}


def test_dormant_after_days_comes_from_the_caller(book):
    rows = compute(book, start=START, end=END, dormant_after_days=20).tables["activity"].rows
    assert {r["provider_id"]: r["activity"] for r in rows} == {
        "P3": "dormant", "P1": "dormant", "P2": "active"}


def test_reciprocity(stats):
    """Sent in the range: two clients to P2, one to P4 (the one to P1 is in August)."""
    table = stats.tables["reciprocity"]
    assert [(r["provider_id"], r["received"], r["sent"], r["balance"]) for r in table.rows] == [
        ("P2", 4, 2, 2), ("P1", 4, 0, 4), ("P4", 0, 1, -1)]
    assert table.total == {"provider": "All", "received": 8, "sent": 3, "balance": 5}


def test_pipeline(stats):
    """Days in the stage on 2026-11-30: P1 referring since its first referral 09-02 (89),
    P2 since 10-10 (51), P3 since 06-01 (182); P4 contacted since its first contact 09-01
    (90; the contact of 12-10 is after the end); P6 packet sent since its packet of 11-02
    (28); P5, a prospect, has no date."""
    detail = by(stats.tables["pipeline_providers"].rows, "provider_id")
    assert {pid: (r["stage"], r["in_stage_since"], r["days_in_stage"], r["contacts"],
                  r["last_contact"], r["days_since_contact"]) for pid, r in detail.items()} == {
        "P1": ("referring", dt.date(2026, 9, 2), 89, 1, dt.date(2026, 11, 1), 29),
        "P2": ("referring", dt.date(2026, 10, 10), 51, 0, None, None),
        "P3": ("referring", dt.date(2026, 6, 1), 182, 0, None, None),
        "P4": ("contacted", dt.date(2026, 9, 1), 90, 2, dt.date(2026, 10, 15), 46),
        "P5": ("prospect", None, None, 0, None, None),
        "P6": ("packet sent", dt.date(2026, 11, 2), 28, 1, dt.date(2026, 10, 20), 41)}
    assert [r["provider_id"] for r in stats.tables["pipeline_providers"].rows] == [
        "P5", "P4", "P6", "P3", "P1", "P2"]  # stage order, then longest in the stage
    stages = {r["stage"]: r for r in stats.tables["pipeline"].rows}
    assert list(stages) == ["prospect", "contacted", "packet sent", "referring", "dormant",
                            "declined"]
    assert stages["prospect"] == {"stage": "prospect", "providers": 1, "share": 0.1667,
                                  "median_days_in_stage": None, "longest_days_in_stage": None,
                                  "contacts": 0}
    assert stages["contacted"]["median_days_in_stage"] == 90.0
    assert stages["referring"] == {"stage": "referring", "providers": 3, "share": 0.5,
                                   "median_days_in_stage": 89.0, "longest_days_in_stage": 182,
                                   "contacts": 1}
    assert stages["dormant"]["providers"] == 0
    assert stats.tables["pipeline"].total["providers"] == 6
    assert stats.tables["pipeline"].total["contacts"] == 4


def test_clients_who_referred_clients(book, stats):
    """C1 sent C11 (first visit 10-20) and C12 (11-12); C2 sent C13 (11-14)."""
    table = stats.tables["client_referrers"]
    assert table.rows == [
        {"client_id": "C1", "their_source": "doctor", "clients_referred": 2,
         "first": dt.date(2026, 10, 20), "latest": dt.date(2026, 11, 12)},
        {"client_id": "C2", "their_source": "doctor", "clients_referred": 1,
         "first": dt.date(2026, 11, 14), "latest": dt.date(2026, 11, 14)}]
    named = compute(book, start=START, end=END, with_names=True).tables["client_referrers"]
    assert [r["client"] for r in named.rows] == ["Al Lee", "Bea Lee"]


def test_headline(stats):
    assert stats.headline == {"new_clients": 12, "referrals": 8, "reached": 5,
                              "conversion": 0.625, "median_days": 4.0,
                              "visits_per_referral": 1.25, "doctor_share": 0.4167,
                              "referring_providers": 2, "active_referrers": 2,
                              "dormant_referrers": 1, "providers": 6}


def test_diagnoses_only_with_names(book, stats):
    assert "diagnoses" not in stats.tables
    named = compute(book, start=START, end=END, with_names=True)
    assert [(r["code"], r["referrals"], r["share"]) for r in named.tables["diagnoses"].rows] \
        == [("G43.909", 2, 0.25), ("M54.2", 2, 0.25), ("G44.209", 1, 0.125)]
    assert "migraine" in named.tables["diagnoses"].rows[0]["description"].lower()


def test_by_quarter(book):
    """July to November 2026 by quarter: Q3 holds R1, R2 and R9 (P3, 08-15); Q4 the other
    five in range up to 11-30. P2 had none in Q3 and 4 in Q4: trend +4."""
    stats = compute(book, start=dt.date(2026, 7, 1), end=END, by="quarter")
    assert stats.periods == ["2026 Q3", "2026 Q4"]
    assert [(r["period"], r["received"]) for r in stats.tables["referrals"].rows] == [
        ("2026 Q3", 3), ("2026 Q4", 6)]
    p2 = by(stats.tables["providers"].rows, "provider_id")["P2"]
    assert (p2["this_period"], p2["last_period"], p2["trend"]) == (4, 0, 4)
    assert by(stats.tables["providers"].rows, "provider_id")["P3"]["referrals"] == 1


def test_default_ranges():
    assert default_start(END, "month") == dt.date(2025, 12, 1)
    assert default_start(END, "quarter") == dt.date(2025, 1, 1)
    assert default_start(END, "year") is None


def test_an_empty_workbook_gives_empty_tables(tmp_path):
    book = ExcelSource(make_xlsx(tmp_path / "empty.xlsx", minimal_sheets())).read()
    stats = compute(book, end=END)
    assert stats.headline["referrals"] == 0 and stats.headline["conversion"] is None
    assert stats.tables["providers"].rows == []
    assert len(stats.tables["referrals"].rows) == 12


# -- the command ---------------------------------------------------------------------------------

NAMES = ("Al Lee", "Bea Lee", "Kim", "my friend", "G43.909", "M54.2", "migraine")


def test_command_outputs_never_carry_client_names_or_diagnoses(tmp_path):
    path = make_xlsx(tmp_path / "practice.xlsx", practice_sheets())
    common = ("stats", "--workbook", path, "--from", "2026-09-01", "--to", "2026-11-30")
    shown = run("-q", *common)
    assert shown.exit_code == 0, shown.stderr
    assert "Ann Ames" in shown.stdout and "63%" in shown.stdout  # 5 of 8, half up
    as_json = run("-q", *common, "--json")
    data = json.loads(as_json.stdout)
    assert data["tables"]["referrals"]["total"]["received"] == 8
    assert data["tables"]["providers"]["rows"][0]["first_referral"] == "2026-09-02"
    folder = tmp_path / "csv"
    html, xlsx = tmp_path / "report.html", tmp_path / "stats.xlsx"
    made = run("-q", *common, "--csv", folder, "--html", html, "--xlsx", xlsx)
    assert made.exit_code == 0, made.stderr
    files = sorted(p.name for p in folder.iterdir())
    assert files == sorted(f"{k}.csv" for k in data["tables"])
    for text in (shown.stdout, as_json.stdout, html.read_text(),
                 *(p.read_text() for p in folder.iterdir())):
        for name in NAMES:
            assert name not in text
    named = run("-q", *common, "--json", "--with-names")
    assert "Al Lee" in named.stdout and "G43.909" in named.stdout


def test_csv_files_hold_every_row_and_the_total(stats, tmp_path):
    rows = list(csv.DictReader(table_csv(stats.tables["referrals"]).splitlines()))
    assert [r["period"] for r in rows] == ["2026-09", "2026-10", "2026-11", "All"]
    assert rows[-1]["conversion"] == "0.625"


def test_csv_text_never_becomes_a_formula(tmp_path):
    sheets = practice_sheets()
    sheets["Providers"][1][1] = "@SUM(1+1) Ames"  # text that a spreadsheet would run
    path = make_xlsx(tmp_path / "practice.xlsx", sheets)
    folder = tmp_path / "csv"
    done = run("-q", "stats", "--workbook", path, "--from", "2026-09-01", "--to", "2026-11-30",
               "--csv", folder)
    assert done.exit_code == 0, done.stderr
    text = (folder / "providers.csv").read_text()
    assert ",'@SUM(1+1) Ames," in text and ",@SUM" not in text


def test_stats_are_never_written_into_the_workbook(tmp_path):
    path = make_xlsx(tmp_path / "practice.xlsx", practice_sheets())
    before = path.read_bytes()
    done = run("-q", "stats", "--workbook", path, "--xlsx", path)
    assert done.exit_code == 2
    assert "practice's workbook" in done.stderr and "Traceback" not in done.stderr
    other = tmp_path / "copy.xlsx"
    other.write_bytes(before)
    done = run("-q", "stats", "--workbook", path, "--xlsx", other)
    assert done.exit_code == 2 and "refdesk's sheets" in done.stderr
    assert path.read_bytes() == before and other.read_bytes() == before


def test_bad_options_are_clear(tmp_path):
    path = make_xlsx(tmp_path / "practice.xlsx", practice_sheets())
    done = run("stats", "--workbook", path, "--from", "2026-12-01", "--to", "2026-11-30")
    assert done.exit_code == 2 and "after --to" in done.stderr
    done = run("stats", "--workbook", path, "--table", "diagnoses")
    assert done.exit_code == 2 and "--with-names" in done.stderr
    done = run("stats", "--workbook", path, "--from", "11/30/2026")
    assert done.exit_code == 2 and "11/30/2026" in done.stderr


def test_private_files_with_names(tmp_path):
    path = make_xlsx(tmp_path / "practice.xlsx", practice_sheets())
    html = tmp_path / "named.html"
    done = run("-q", "stats", "--workbook", path, "--html", html, "--with-names")
    assert done.exit_code == 0, done.stderr
    assert html.stat().st_mode & 0o077 == 0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".named.html")]


# -- the sample workbook -------------------------------------------------------------------------

def test_the_sample_workbook(tmp_path):
    """The sample's figures, computed here from its rows another way (plain Python over
    openpyxl's reading), agree with stats."""
    import openpyxl

    sample = ROOT / "workbooks" / "referrals.xlsx"
    end = dt.date(2026, 11, 23)
    stats = compute(ExcelSource(sample).read(), start=dt.date(2025, 1, 1), end=end)
    wb = openpyxl.load_workbook(sample, read_only=True)

    def sheet(name):
        rows = wb[name].iter_rows(values_only=True)
        head = next(rows)
        return [dict(zip(head, r, strict=False)) for r in rows if any(v is not None for v in r)]

    def day(value):
        return value.date() if isinstance(value, dt.datetime) else value

    referrals = [r for r in sheet("Referrals") if r["received_on"]
                 and dt.date(2025, 1, 1) <= day(r["received_on"]) <= end]
    reached = [r for r in referrals if r["first_visit"] and day(r["first_visit"]) <= end]
    assert stats.headline["referrals"] == len(referrals)
    assert stats.headline["reached"] == len(reached)
    clients = [c for c in sheet("Clients") if c["first_visit"]
               and dt.date(2025, 1, 1) <= day(c["first_visit"]) <= end]
    assert stats.headline["new_clients"] == len(clients)
    assert stats.tables["sources"].total["doctor"] == sum(c["source"] == "doctor"
                                                          for c in clients)
    per_provider: dict[str, int] = {}
    for r in referrals:
        per_provider[r["provider_id"]] = per_provider.get(r["provider_id"], 0) + 1
    assert {r["provider_id"]: r["referrals"] for r in stats.tables["providers"].rows} == \
        per_provider
    latest: dict[str, dt.date] = {}
    for r in sheet("Referrals"):
        if r["received_on"] and day(r["received_on"]) <= end:
            pid = r["provider_id"]
            latest[pid] = max(day(r["received_on"]), latest.get(pid, dt.date.min))
    dormant = {p for p, d in latest.items() if (end - d).days > 90}
    assert {r["provider_id"] for r in stats.tables["activity"].rows
            if r["activity"] == "dormant"} == dormant
    stages: dict[str, int] = {}
    for p in sheet("Providers"):
        stage = p["stage"].strip().lower()  # the sample types one "Referring " on purpose
        stages[stage] = stages.get(stage, 0) + 1
    assert {r["stage"]: r["providers"] for r in stats.tables["pipeline"].rows
            if r["providers"]} == stages
    sent = [s for s in sheet("Sent") if s["sent_on"]
            and dt.date(2025, 1, 1) <= day(s["sent_on"]) <= end]
    assert stats.tables["reciprocity"].total["sent"] == len(sent)
