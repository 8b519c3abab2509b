"""`refdesk todo` on a small practice whose every action is worked out by hand below, and on
the sample workbook."""

from __future__ import annotations

import datetime as dt
import json

from refdesk.config import load_config
from refdesk.sources.excel import ExcelSource
from refdesk.todo import Rules, todo
from tests.conftest import ROOT, run
from tests.helpers import headers, make_xlsx, minimal_sheets, row

D = dt.datetime
ON = dt.date(2026, 11, 23)
VISITS = [D(2026, 10, 5), D(2026, 10, 12), D(2026, 10, 19), D(2026, 10, 26), D(2026, 11, 2),
          D(2026, 11, 16)]


def practice(tmp_path, change=None):
    """The small practice; `change(sheets)` edits its rows before the workbook is written."""
    s = minimal_sheets()
    s["Providers"] += [
        row("Providers", provider_id="P1", name="Ann Ames", practice="Ames Clinic",
            stage="referring", next_follow_up=D(2026, 11, 20), staff_contact="Front desk: Mia",
            wants="progress reports", phone="(503) 555-0101"),
        row("Providers", provider_id="P2", name="Bo Burke", stage="prospect",
            phone="(503) 555-0102"),
        row("Providers", provider_id="P3", name="Cy Cole", stage="referring"),
        row("Providers", provider_id="P4", name="Di Dunn", stage="contacted"),
        row("Providers", provider_id="P5", name="Ed Eng", stage="referring"),
    ]
    s["Clients"] += [row("Clients", client_id=f"C{i}", first_name=name, last_name="Lee")
                     for i, name in enumerate(("Al", "Bea", "Cal", "Dee"), start=1)]
    s["Referrals"] += [
        row("Referrals", referral_id="R1", received_on=D(2026, 10, 1), provider_id="P1",
            client_id="C1", status="in care", first_visit=D(2026, 10, 5),
            thank_you_sent=D(2026, 10, 6), visits_authorized=12),
        row("Referrals", referral_id="R2", received_on=D(2026, 11, 1), provider_id="P1",
            client_id="C2", status="in care", first_visit=D(2026, 11, 10)),
        row("Referrals", referral_id="R3", received_on=D(2026, 8, 30), provider_id="P3",
            client_id="C3", status="received"),
        row("Referrals", referral_id="R4", received_on=D(2026, 6, 1), provider_id="P5",
            client_id="C4", status="completed", first_visit=D(2026, 6, 3),
            thank_you_sent=D(2026, 6, 4)),
        row("Referrals", referral_id="R5", received_on=D(2026, 7, 1), provider_id="P1",
            client_id="C4", status="completed", first_visit=D(2026, 7, 2)),
    ]
    s["Visits"] = [headers("Visits")] + [
        row("Visits", visit_id=f"V{i}", client_id="C1", date=day, referral_id="R1", cpt="97124")
        for i, day in enumerate(VISITS, start=1)]
    s["Contacts"] = [
        headers("Contacts"),
        row("Contacts", contact_id="CT1", date=D(2026, 11, 1), provider_id="P2",
            channel="phone", summary="Left a voicemail", follow_up_on=D(2026, 11, 15)),
        row("Contacts", contact_id="CT2", date=D(2026, 10, 1), provider_id="P4",
            channel="phone", summary="Met the office manager", follow_up_on=D(2026, 10, 15)),
        row("Contacts", contact_id="CT3", date=D(2026, 10, 20), provider_id="P4",
            channel="visit", summary="Dropped off brochures"),
    ]
    s["Releases"] = [
        headers("Releases"),
        row("Releases", release_id="RL1", client_id="C1", provider_id="P1",
            signed_on=D(2025, 12, 1), expires_on=D(2026, 12, 10), scope="progress"),
        row("Releases", release_id="RL2", client_id="C2", provider_id="P1",
            signed_on=D(2026, 11, 10), scope="progress"),
        row("Releases", release_id="RL3", client_id="C3", provider_id="P3",
            signed_on=D(2025, 12, 1), expires_on=D(2026, 12, 1), scope="progress"),
        row("Releases", release_id="RL4", client_id="C3", provider_id="P3",
            signed_on=D(2026, 11, 1), expires_on=D(2027, 11, 1), scope="progress"),
    ]
    s["Letters"] = [headers("Letters"),
                    row("Letters", letter_id="L1", when=D(2026, 10, 2, 9), job="intro-packet",
                        record="P4", provider_id="P4", status="produced")]
    if change is not None:
        change(s)
    return make_xlsx(tmp_path / "practice.xlsx", s)


def test_every_action_worked_out_by_hand(tmp_path):
    actions = todo(ExcelSource(practice(tmp_path)).read(), None, ON)
    got = [(a.kind, a.due, a.record, a.job) for a in actions]
    assert got == [
        ("follow-up", dt.date(2026, 11, 15), "P2", ""),       # CT1's follow-up, still the last
        ("follow-up", dt.date(2026, 11, 20), "P1", ""),       # Providers.next_follow_up
        ("thank-you", dt.date(2026, 11, 10), "R2", "thank-you"),  # R5's visit is too old
        ("progress-report", dt.date(2026, 11, 16), "R1", "progress-report"),  # 6th visit
        ("intro-packet", ON, "P2", "intro-packet"),           # P4 has had its packet
        ("unscheduled", dt.date(2026, 9, 6), "R3", ""),       # 7 days after August 30
        ("release-expiring", dt.date(2026, 12, 10), "C1", "release-form"),  # RL3 is renewed
        ("going-dormant", dt.date(2026, 8, 30), "P5", ""),    # 90 days after June 1
        ("going-dormant", dt.date(2026, 11, 28), "P3", ""),   # 90 days after August 30
    ]
    by = {(a.kind, a.record): a for a in actions}
    assert by[("follow-up", "P1")].detail == "ask for Front desk: Mia"
    assert by[("follow-up", "P1")].next_step == "call (503) 555-0101"
    assert by[("follow-up", "P2")].detail == "last contact November 1, 2026: Left a voicemail"
    assert by[("progress-report", "R1")].detail == "referral R1: 6 visit(s) since the start"
    assert by[("unscheduled", "R3")].who == "Cal Lee (C3)"
    assert "stage still says referring" in by[("going-dormant", "P5")].detail
    assert "dormant from November 28, 2026" in by[("going-dormant", "P3")].detail


def test_thresholds_come_from_the_program_section(tmp_path):
    book = ExcelSource(practice(tmp_path)).read()
    rules = Rules(report_every_visits=10, report_every_weeks=8, unscheduled_after_days=100,
                  release_warning_days=10)

    class Config:
        program = {k: getattr(rules, k) for k in ("report_every_visits", "report_every_weeks",
                                                  "unscheduled_after_days",
                                                  "release_warning_days")}

    kinds = [a.kind for a in todo(book, Config(), ON)]  # type: ignore[arg-type]
    # 6 visits < 10; 8 weeks from October 5 is November 30; 100 days; December 10 > 10 days
    assert "unscheduled" not in kinds and "release-expiring" not in kinds
    assert "progress-report" not in kinds


def test_the_sample_workbook(monkeypatch):
    config = load_config(ROOT / "config.toml")
    actions = todo(ExcelSource(config.excel).read(), config, ON)
    kinds = {a.kind for a in actions}
    assert kinds == {"follow-up", "thank-you", "progress-report", "intro-packet",
                     "unscheduled", "release-expiring", "going-dormant"}
    jobs = set(config.jobs)
    assert {a.job for a in actions if a.job} <= jobs
    assert all(a.next_step for a in actions)
    monkeypatch.chdir(ROOT)
    done = run("--quiet", "todo", "--on", "2026-11-23", "--json")
    assert done.exit_code == 0
    assert len(json.loads(done.stdout)) == len(actions)
    table = run("--quiet", "todo", "--on", "2026-11-23")
    assert table.exit_code == 0 and "Thank-you owed" in table.stdout


def test_a_release_whose_date_does_not_read_is_an_action_not_a_silence(tmp_path):
    """An expires_on that reads `next spring` is not "never expires": the release counts for
    nothing (as in merge) and todo asks for the date to be corrected."""
    s = minimal_sheets()
    s["Providers"] += [row("Providers", provider_id="P1", name="Ann Ames", stage="referring")]
    s["Clients"] += [row("Clients", client_id="C1", first_name="Al", last_name="Lee")]
    s["Releases"] = [headers("Releases"),
                     row("Releases", release_id="RL1", client_id="C1", provider_id="P1",
                         signed_on=D(2026, 1, 5), expires_on="next spring", scope="progress")]
    book = ExcelSource(make_xlsx(tmp_path / "book.xlsx", s)).read()

    class Config:
        program: dict = {}

    actions = [a for a in todo(book, Config(), ON)  # type: ignore[arg-type]
               if a.kind.startswith("release")]
    assert [(a.kind, a.due, a.record) for a in actions] == [("release-in-doubt", ON, "C1")]
    assert "Releases!E2 (expires_on) reads 'next spring'" in actions[0].detail


# -- as of the day: what was made after --on did not exist yet ---------------------------------

def _listed(actions, kind):
    return [(a.due, a.record) for a in actions if a.kind == kind]


def test_on_before_a_later_contact_lists_the_follow_up(tmp_path, monkeypatch):
    """CT2 (October 1) asked for a follow-up on October 15; CT3 (October 20) settled it. On
    October 16 the follow-up was due: CT3 did not exist yet."""
    path = practice(tmp_path)
    book = ExcelSource(path).read()
    before = [a for a in todo(book, None, dt.date(2026, 10, 16)) if a.kind == "follow-up"]
    assert [(a.due, a.record) for a in before] == [(dt.date(2026, 10, 15), "P4")]
    assert before[0].detail == "last contact October 1, 2026: Met the office manager"
    assert ("follow-up", "P4") not in {(a.kind, a.record) for a in todo(book, None, ON)}
    # The same through the command, with the day given as --on
    done = run("-q", "todo", "-w", path, "--on", "2026-10-16", "--json")
    assert done.exit_code == 0, done.stderr
    assert {"kind": "follow-up", "record": "P4", "due": "2026-10-15"}.items() <= \
        next(r for r in json.loads(done.stdout) if r["record"] == "P4").items()


def test_on_before_a_thank_you_was_sent_lists_it(tmp_path):
    """R1's first visit was October 5 and its thank-you went October 6."""
    book = ExcelSource(practice(tmp_path)).read()
    assert ("thank-you", dt.date(2026, 10, 5), "R1") in {
        (a.kind, a.due, a.record) for a in todo(book, None, dt.date(2026, 10, 5))}
    assert "R1" not in {a.record for a in todo(book, None, dt.date(2026, 10, 6))
                        if a.kind == "thank-you"}


def test_on_before_the_last_report_counts_the_report_before_it(tmp_path):
    """R1's last_report_sent says November 20; Letters holds that report and one of October
    20. On November 18 the last report was October 20's: three visits since (October 26,
    November 2 and 16), and four weeks since it passed on November 17."""
    def change(s):
        referral = s["Referrals"][1]
        referral[headers("Referrals").index("last_report_sent")] = D(2026, 11, 20)
        s["Letters"] += [
            row("Letters", letter_id="L2", when=D(2026, 10, 20, 9), job="progress-report",
                record="R1", provider_id="P1", client_id="C1", status="produced"),
            row("Letters", letter_id="L3", when=D(2026, 11, 20, 9), job="progress-report",
                record="R1", provider_id="P1", client_id="C1", status="produced")]

    book = ExcelSource(practice(tmp_path, change)).read()
    reports = [a for a in todo(book, None, dt.date(2026, 11, 18)) if a.kind == "progress-report"]
    assert [(a.due, a.record) for a in reports] == [(dt.date(2026, 11, 17), "R1")]
    assert reports[0].detail == "referral R1: 3 visit(s) since the report of October 20, 2026"
    assert _listed(todo(book, None, ON), "progress-report") == []


def test_on_before_a_packet_went_lists_the_packet(tmp_path):
    """P4 had its packet on October 2; P6 on November 5, and the job moved it to
    "packet sent"."""
    def change(s):
        s["Providers"].append(row("Providers", provider_id="P6", name="Flo Fay",
                                  stage="packet sent"))
        s["Letters"].append(row("Letters", letter_id="L2", when=D(2026, 11, 5, 9),
                                job="intro-packet", record="P6", provider_id="P6",
                                status="emailed"))

    book = ExcelSource(practice(tmp_path, change)).read()
    assert {r for _, r in _listed(todo(book, None, dt.date(2026, 10, 1)), "intro-packet")} == \
        {"P2", "P4", "P6"}
    assert {r for _, r in _listed(todo(book, None, dt.date(2026, 11, 1)), "intro-packet")} == \
        {"P2", "P6"}
    assert {r for _, r in _listed(todo(book, None, ON), "intro-packet")} == {"P2"}


def test_a_revocation_after_the_day_had_not_happened_yet(tmp_path):
    """RL1 (C1 and P1, ending December 10) was revoked on November 20. On November 15 it was
    live and ending within 30 days; from November 20 it counts for nothing. A revocation
    dated after the real today stays a date in doubt, whatever the day asked."""
    def revoke(day):
        def change(s):
            s["Releases"][1][headers("Releases").index("revoked_on")] = day
        return change

    book = ExcelSource(practice(tmp_path, revoke(D(2026, 11, 20)))).read()
    earlier = todo(book, None, dt.date(2026, 11, 15), today=ON)
    assert _listed(earlier, "release-expiring") == [(dt.date(2026, 12, 10), "C1")]
    assert _listed(earlier, "release-in-doubt") == []
    assert _listed(todo(book, None, ON, today=ON), "release-expiring") == []

    (tmp_path / "ahead").mkdir()
    ahead = ExcelSource(practice(tmp_path / "ahead", revoke(D(2026, 12, 1)))).read()
    doubt = todo(ahead, None, dt.date(2026, 11, 15), today=ON)
    assert _listed(doubt, "release-in-doubt") == [(dt.date(2026, 11, 15), "C1")]
    assert _listed(doubt, "release-expiring") == []


def test_a_release_signed_after_the_day_does_not_cover_the_pair(tmp_path):
    """RL3 (C3 and P3) ends December 1; RL4, signed November 1, renews it."""
    class Config:
        program = {"release_warning_days": 60}

    book = ExcelSource(practice(tmp_path)).read()
    config = Config()
    before = _listed(todo(book, config, dt.date(2026, 10, 31)), "release-expiring")  # type: ignore[arg-type]
    assert (dt.date(2026, 12, 1), "C3") in before
    assert "C3" not in {r for _, r in _listed(todo(book, config, ON), "release-expiring")}  # type: ignore[arg-type]


def test_a_referral_after_the_day_does_not_wake_a_quiet_referrer(tmp_path):
    """P3's referral of August 30 makes it dormant from November 28; a referral of November 21
    came after November 20."""
    def change(s):
        s["Referrals"].append(row("Referrals", referral_id="R6", received_on=D(2026, 11, 21),
                                  provider_id="P3", client_id="C3", status="scheduled"))

    book = ExcelSource(practice(tmp_path, change)).read()
    assert (dt.date(2026, 11, 28), "P3") in _listed(todo(book, None, dt.date(2026, 11, 20)),
                                                    "going-dormant")
    assert "P3" not in {r for _, r in _listed(todo(book, None, ON), "going-dormant")}


def test_unscheduled_counts_referrals_received_by_the_day(tmp_path):
    """R3 arrived August 30: with no wait at all it is listed from that day, not before."""
    class Config:
        program = {"unscheduled_after_days": -3}

    book = ExcelSource(practice(tmp_path)).read()

    def listed(day):
        return {r for _, r in _listed(todo(book, Config(), day), "unscheduled")}  # type: ignore[arg-type]

    assert "R3" not in listed(dt.date(2026, 8, 28))
    assert "R3" in listed(dt.date(2026, 8, 30))


def test_empty_csv_is_the_header_row_only(tmp_path):
    """Nothing due: the header, no blank line; JSON an empty list."""
    s = minimal_sheets()
    s["Providers"] += [row("Providers", provider_id="P1", name="Ann Ames", stage="referring")]
    path = make_xlsx(tmp_path / "quiet.xlsx", s)
    done = run("-q", "todo", "-w", path, "--on", "2020-01-01", "--csv")
    assert done.exit_code == 0, done.stderr
    assert done.stdout == "kind,due,who,detail,next_step,job,record,what\n"
    listed = run("-q", "todo", "-w", path, "--on", "2020-01-01", "--json")
    assert json.loads(listed.stdout) == []
