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


def practice(tmp_path):
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
