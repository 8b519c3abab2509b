"""The desk's This week, Problems and Report pages on a copy of the sample (today 2026-11-23),
against the library functions the commands call: todo(), check, stats."""

from __future__ import annotations

import hashlib
import html
import io
import re
from pathlib import Path
from types import SimpleNamespace

import openpyxl
import pytest

from refdesk import opener
from refdesk.check import Context, check_book
from refdesk.check.problem import HIDDEN
from refdesk.config import load_config
from refdesk.desk.pages.problems import sheet_link
from refdesk.desk.pages.report import REPORT_CSP
from refdesk.desk.pages.week import group_actions
from refdesk.sources.excel import ExcelSource
from refdesk.todo import KINDS, todo
from tests.conftest import copy_practice
from tests.desk_helpers import SAMPLE_TODAY, csrf, desk_client

PLANTED = ["Providers!F9", "Providers!O14", "Providers!U27", "Providers!B41", "Clients!E151",
           "Referrals!M110", "Referrals!E142", "Referrals!C251", "Visits!D1425", "Letters!H9",
           "Visits!K1601", "Visits!M1968"]


@pytest.fixture(scope="module")
def practice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_practice(tmp_path_factory.mktemp("desk-week") / "practice")


@pytest.fixture(scope="module")
def workbook(practice: Path) -> Path:
    return practice.parent / "workbooks" / "referrals.xlsx"


@pytest.fixture(scope="module")
def book(workbook: Path):
    return ExcelSource(workbook).read()


@pytest.fixture(scope="module")
def client(practice: Path, workbook: Path):
    before = hashlib.sha256(workbook.read_bytes()).hexdigest()
    with desk_client(practice) as browser:
        yield browser
    # Nothing on these pages writes to the workbook.
    assert hashlib.sha256(workbook.read_bytes()).hexdigest() == before
    assert not list(workbook.parent.glob("*.lock"))


def text_of(page: str) -> str:
    """The page's text with tags dropped and entities read, spaces squeezed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


# -- This week -----------------------------------------------------------------------------------

def test_week_lists_todos_actions_for_the_day(client, book, practice):
    actions = todo(book, load_config(practice), SAMPLE_TODAY, today=SAMPLE_TODAY)
    answer = client.get("/week")
    assert answer.status_code == 200
    page = answer.text
    assert page.count('<li class="wk-action') == len(actions) == 69
    overdue = [a for a in actions if a.due < SAMPLE_TODAY]
    assert page.count("wk-action wk-overdue") == len(overdue) == 44
    text = text_of(page)
    assert f"{len(actions)} actions {len(overdue)} overdue" in text
    assert "What is due by Monday 23 November 2026" in text
    for kind, title in KINDS.items():
        count = sum(a.kind == kind for a in actions)
        if count:
            assert f"{title} {count}" in text, title
    # A few actions whole: who, why and the next step, as todo words them.
    for action in (actions[0], actions[30], actions[-1]):
        assert action.who in text
        assert action.detail in text
        assert action.next_step in text
    # Groups in todo's order of kinds, and within a group in todo's order.
    headings = re.findall(r'<h2 id="h-([a-z-]+)">', page)
    assert headings == list(dict.fromkeys(a.kind for a in actions))


def test_week_offers_a_preview_where_a_job_does_the_action(client, book, practice):
    actions = todo(book, load_config(practice), SAMPLE_TODAY, today=SAMPLE_TODAY)
    page = client.get("/week").text
    forms = re.findall(r'<form class="wk-preview" method="post" action="/letters/preview">'
                       r'.*?name="csrf" value="([^"]+)".*?name="job" value="([^"]+)"'
                       r'.*?name="record" value="([^"]+)"', page, re.S)
    with_job = [(a.job, a.record) for a in actions if a.job]
    assert [(job, record) for _, job, record in forms] == with_job
    assert {token for token, _, _ in forms} == {csrf(client)}
    assert {job for job, _ in with_job} >= {"thank-you", "progress-report", "intro-packet"}


def test_week_groups_count_overdue():
    import datetime as dt

    from refdesk.todo import Action

    day = dt.date(2026, 11, 23)
    actions = [Action("thank-you", day - dt.timedelta(days=3), "A", "", "send"),
               Action("follow-up", day, "B", "", "call"),
               Action("thank-you", day, "C", "", "send")]
    groups = group_actions(actions, day)
    assert [(g.kind, len(g.actions), g.overdue) for g in groups] == [
        ("follow-up", 1, 0), ("thank-you", 2, 1)]


# -- Problems ------------------------------------------------------------------------------------

def test_problems_lists_every_problem_check_finds(client, book):
    found = check_book(book, Context(SAMPLE_TODAY, "US"))
    assert sorted(p.cell for p in found) == sorted(PLANTED)
    answer = client.get("/problems")
    assert answer.status_code == 200
    page, text = answer.text, text_of(answer.text)
    for p in found:
        assert f'title="{p.cell}">{p.cell.split("!")[1]}</strong>' in page, p.cell
        assert p.message in text, p.cell
    assert "10 errors 2 warnings" in text
    assert "10 errors, 2 warnings in 12 rows." in text
    sections = re.findall(r'<h2 id="h-sheet-\d+">([^<]+)</h2>', page)
    assert sections == ["Providers: 2 errors, 2 warnings", "Clients: 1 error, 0 warnings",
                        "Referrals: 3 errors, 0 warnings", "Visits: 3 errors, 0 warnings",
                        "Letters: 1 error, 0 warnings"]
    # Errors first within a sheet: Providers' two errors (F9, U27) before its warnings.
    providers = page.split('id="h-sheet-1"')[1].split('id="h-sheet-2"')[0]
    assert re.findall(r">([A-Z]+\d+)</strong>", providers) == ["F9", "U27", "O14", "B41"]


def test_problems_never_show_a_health_value(client, book):
    page = client.get("/problems").text
    visits, referrals = book["Visits"].df, book["Referrals"].df
    for cell, raw in (("Visits!K1601", visits.loc[1601, "pain_before"]),
                      ("Visits!M1968", visits.loc[1968, "measure_score"]),
                      ("Referrals!E142", referrals.loc[142, "diagnosis"])):
        row = re.search(rf'<tr class="wk-error">(?:(?!</tr>).)*title="{cell}"(?:(?!</tr>).)*'
                        r"</tr>", page, re.S)
        assert row is not None, cell
        values = re.findall(r'data-label="Value">([^<]*)<', row.group(0))
        assert values == [html.escape(HIDDEN)], cell
        shown = str(int(raw)) if isinstance(raw, float) and raw.is_integer() else str(raw)
        assert shown not in text_of(row.group(0)).replace(cell, ""), cell
    assert str(referrals.loc[142, "diagnosis"]) not in page


def test_open_button_calls_the_opener_and_needs_csrf(client, workbook, monkeypatch):
    opened: list[Path] = []

    def fake_open(path: Path) -> str:
        opened.append(Path(path))
        return f"Opened {Path(path).name} in the program your system uses for it."

    monkeypatch.setattr(opener, "open_file", fake_open)
    refused = client.post("/problems/open", data={})
    assert refused.status_code == 403
    refused = client.post("/problems/open", data={"csrf": "not-the-token"})
    assert refused.status_code == 403
    assert opened == []
    answer = client.post("/problems/open", data={"csrf": csrf(client)})
    assert answer.status_code == 200
    assert [p.resolve() for p in opened] == [workbook.resolve()]
    assert "Opened referrals.xlsx in the program your system uses for it." in answer.text
    assert 'action="/problems/open"' in answer.text


def test_a_google_sheet_gets_a_link_not_a_button():
    sheet = SimpleNamespace(path=None, ref="https://docs.google.com/spreadsheets/d/"
                                           "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdEFG/edit")
    assert sheet_link(sheet) == ("https://docs.google.com/spreadsheets/d/"
                                 "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdEFG/edit")
    assert sheet_link(SimpleNamespace(path=Path("referrals.xlsx"))) is None


# -- the opener ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("platform", "program"), [("linux", "xdg-open"), ("darwin", "open")])
def test_opener_starts_the_systems_program(tmp_path, monkeypatch, platform, program):
    target = tmp_path / "referrals.xlsx"
    target.write_bytes(b"x")
    started: list[list[str]] = []
    monkeypatch.setattr(opener.sys, "platform", platform)
    monkeypatch.setattr(opener.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(opener.subprocess, "Popen",
                        lambda args, **_: started.append(args) or SimpleNamespace())
    assert opener.open_file(target) == ("Opened referrals.xlsx in the program your system "
                                        "uses for it.")
    assert started == [[f"/usr/bin/{program}", str(target)]]


def test_opener_on_windows_uses_startfile(tmp_path, monkeypatch):
    target = tmp_path / "referrals.xlsx"
    target.write_bytes(b"x")
    started: list[Path] = []
    monkeypatch.setattr(opener.sys, "platform", "win32")
    monkeypatch.setattr(opener.os, "startfile", started.append, raising=False)
    assert opener.open_file(target).startswith("Opened referrals.xlsx")
    assert started == [target]


def test_opener_says_what_went_wrong(tmp_path, monkeypatch):
    missing = tmp_path / "gone.xlsx"
    assert opener.open_file(missing) == (f"{missing}: no such file. Check [source] excel in "
                                         "config.toml.")
    missing.write_bytes(b"x")
    monkeypatch.setattr(opener.sys, "platform", "linux")
    monkeypatch.setattr(opener.shutil, "which", lambda name: None)
    assert "this system has no `xdg-open`" in opener.open_file(missing)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(opener.shutil, "which", lambda name: "/usr/bin/xdg-open")
    monkeypatch.setattr(opener.subprocess, "Popen", refuse)
    assert opener.open_file(missing) == (f"Could not open {missing}: Permission denied. Open "
                                         "the file from your file manager.")


# -- Report --------------------------------------------------------------------------------------

def _frame_src(page: str) -> str:
    found = re.search(r'<iframe id="report-frame"[^>]* src="([^"]+)"', page)
    assert found is not None, "no report frame"
    return html.unescape(found.group(1))


def test_report_defaults_like_the_stats_command(client):
    page = client.get("/report").text
    assert 'name="from" value="2025-12-01"' in page
    assert 'name="to" value="2026-11-23"' in page
    assert '<option value="month" selected>' in page
    src = _frame_src(page)
    assert src == "/report/page?to=2026-11-23&by=month"
    framed = client.get(src)
    assert framed.status_code == 200
    assert "1 December 2025 to 23 November 2026, by month" in framed.text
    assert "Made on 23 November 2026 from referrals.xlsx" in framed.text
    assert framed.headers["content-security-policy"] == REPORT_CSP
    assert "frame-ancestors 'self'" in REPORT_CSP


def test_report_with_another_range_shows_that_range(client):
    page = client.get("/report", params={"from": "2024-01-01", "to": "2025-06-30",
                                         "by": "quarter"}).text
    assert 'name="from" value="2024-01-01"' in page
    assert '<option value="quarter" selected>' in page
    src = _frame_src(page)
    assert src == "/report/page?from=2024-01-01&to=2025-06-30&by=quarter"
    framed = client.get(src).text
    assert "1 January 2024 to 30 June 2025, by quarter" in framed
    for link in ("/report/file?from=2024-01-01&amp;to=2025-06-30&amp;by=quarter",
                 "/report/xlsx?from=2024-01-01&amp;to=2025-06-30&amp;by=quarter"):
        assert f'href="{link}"' in page


def test_report_downloads_the_file_and_the_workbook(client):
    query = {"from": "2025-01-01", "to": "2025-12-31", "by": "quarter"}
    report = client.get("/report/file", params=query)
    assert report.status_code == 200
    assert report.headers["content-disposition"] == (
        'attachment; filename="referral-report-2025-01-01-to-2025-12-31.html"')
    assert "1 January 2025 to 31 December 2025, by quarter" in report.text
    book = client.get("/report/xlsx", params=query)
    assert book.status_code == 200
    assert book.headers["content-disposition"] == (
        'attachment; filename="referral-stats-2025-01-01-to-2025-12-31.xlsx"')
    sheets = openpyxl.load_workbook(io.BytesIO(book.content), read_only=True).sheetnames
    assert len(sheets) > 5


@pytest.mark.parametrize(("query", "message"), [
    ({"from": "2026-13-01"}, "From '2026-13-01' is not a date; give it as YYYY-MM-DD"),
    ({"to": "last week"}, "To 'last week' is not a date; give it as YYYY-MM-DD"),
    ({"from": "2026-06-01", "to": "2026-01-31"}, "From 2026-06-01 is after To 2026-01-31"),
    ({"by": "week"}, "period 'week' is not one of month, quarter, year"),
])
def test_report_bad_range_says_so(client, query, message):
    answer = client.get("/report", params=query)
    assert answer.status_code == 200
    assert message in text_of(answer.text)
    assert "<iframe" not in answer.text
    # The form keeps what was typed, to be corrected.
    for key, value in query.items():
        if key != "by":
            assert f'name="{key}" value="{html.escape(value)}"' in answer.text
    for path in ("/report/page", "/report/file", "/report/xlsx"):
        framed = client.get(path, params=query)
        assert framed.status_code == 400
        assert message in text_of(framed.text)


def test_week_without_the_letters_preview_links_to_the_job(client, monkeypatch):
    from refdesk.desk.pages import week

    monkeypatch.setattr(week, "preview_route", lambda request: None)
    page = client.get("/week").text
    assert 'action="/letters/preview"' not in page
    assert page.count('href="/letters?job=thank-you">Preview letter</a>') == 3


def test_week_names_a_job_config_does_not_have(tmp_path):
    config = copy_practice(tmp_path / "practice")
    text = config.read_text(encoding="utf-8")
    start = text.index("[jobs.thank-you]")
    end = text.index("[jobs.", start + 1)
    config.write_text(text[:start] + text[end:], encoding="utf-8")
    with desk_client(config) as browser:
        page = browser.get("/week").text
    assert page.count("config.toml has no [jobs.thank-you]: add it to make this letter.") == 3
    assert 'name="job" value="thank-you"' not in page
    assert 'name="job" value="progress-report"' in page


def test_report_by_year_covers_everything_by_default(client):
    page = client.get("/report", params={"by": "year"}).text
    assert 'name="from" value=""' in page
    assert "From left empty: everything the workbook holds." in page
    assert _frame_src(page) == "/report/page?to=2026-11-23&by=year"
    framed = client.get(_frame_src(page)).text
    assert re.search(r"\d{1,2} \w+ 20\d\d to 23 November 2026, by year", framed)
