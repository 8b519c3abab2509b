"""The desk's Setup and Ledger pages, and the shared reading of the workbook, on a copy of
the sample practice."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from refdesk.desk import context
from refdesk.sources.excel import ExcelSource
from tests.desk_helpers import csrf, desk_client


class _Table(HTMLParser):
    """The body rows of a page's first table.desk-table, as lists of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._in_body = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.rows.append([])
        elif tag == "td" and self._in_body:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._in_body = False
        elif tag == "td" and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def rows(html: str) -> list[list[str]]:
    parser = _Table()
    parser.feed(html)
    return parser.rows


def letters(practice: Path) -> list[dict[str, object]]:
    book = ExcelSource(practice.parent / "workbooks" / "referrals.xlsx").read()
    return book["Letters"].df.to_dict("records")


LEDGER_COLUMNS = ["when", "job", "record", "provider", "client", "delivery", "status",
                  "detail", "letter"]


def ledger(client: object, query: str = "") -> list[dict[str, str]]:
    page = client.get(f"/ledger{query}")  # type: ignore[attr-defined]
    assert page.status_code == 200
    return [dict(zip(LEDGER_COLUMNS, r, strict=True)) for r in rows(page.text)]


# -- Setup -----------------------------------------------------------------------------------
def test_setup_shows_doctors_checks_with_status(practice: Path) -> None:
    client = desk_client(practice)
    page = client.get("/setup")
    assert page.status_code == 200
    found = {r[0]: r for r in rows(page.text)}
    assert {"Python", "LibreOffice", "Config", "Fonts", "Workbook"} <= set(found)
    assert found["Python"][1] == "ok"
    assert found["Config"][1] == "ok" and str(practice.resolve()) in found["Config"][2]
    assert found["Workbook"][1] == "ok" and "referrals.xlsx" in found["Workbook"][2]
    assert all(r[1] in {"ok", "warning", "problem"} for r in found.values())
    assert "Cedar Lane Massage Therapy" in page.text  # the practice's name in the frame


def test_setup_shows_a_problem_with_its_fix(practice: Path) -> None:
    shutil.rmtree(practice.parent / "templates")
    client = desk_client(practice)
    found = {r[0]: r for r in rows(client.get("/setup").text)}
    assert found["Templates"][1] == "problem"
    assert "is not a folder" in found["Templates"][2]
    assert "refdesk new" in found["Templates"][3]  # the fix, in its own column


def test_setup_shows_the_desks_own_workbook(practice: Path, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere.xlsx"
    other.write_bytes((practice.parent / "workbooks" / "referrals.xlsx").read_bytes())
    client = desk_client(practice, workbook=other)
    found = {r[0]: r for r in rows(client.get("/setup").text)}
    assert found["Workbook"][1] == "ok" and "elsewhere.xlsx" in found["Workbook"][2]


def test_setup_asks_for_the_outside_checks_with_a_post(practice: Path) -> None:
    client = desk_client(practice)
    assert client.post("/setup", data={"google": "1"}).status_code == 403  # no CSRF token
    page = client.post("/setup", data={"csrf": csrf(client), "google": "1"})
    assert page.status_code == 200
    google = [r for r in rows(page.text) if r[0] == "Google Sheet"]
    assert google and google[0][1] == "problem"  # the sample has no Google Sheet


# -- Ledger ----------------------------------------------------------------------------------
def test_ledger_lists_every_letter_newest_first(practice: Path) -> None:
    client = desk_client(practice)
    shown = ledger(client)
    expected = letters(practice)
    assert len(shown) == len(expected) == 17
    whens = [r["when"] for r in shown]
    assert whens == sorted(whens, reverse=True)
    assert shown[0]["letter"].startswith("L017") and "Letters!A18" in shown[0]["letter"]
    assert shown[-1]["letter"].startswith("L001")
    assert shown[-1]["provider"] == "Jenna Whitaker (P009)"
    assert shown[-1]["client"] == "Derek Warren (C274)"


@pytest.mark.parametrize(("query", "column", "key"), [
    ("?job=thank-you", "job", "job"),
    ("?job=progress-report", "job", "job"),
    ("?provider=P009", "provider", "provider_id"),
    ("?provider=P007", "provider", "provider_id"),
    ("?client=C274", "client", "client_id"),
])
def test_ledger_filters(practice: Path, query: str, column: str, key: str) -> None:
    value = query.split("=", 1)[1]
    expected = [r for r in letters(practice) if r[key] == value]
    shown = ledger(desk_client(practice), query)
    assert expected and len(shown) == len(expected)
    assert {r["letter"].split()[0] for r in shown} == {str(r["letter_id"]) for r in expected}
    assert all(value in r[column] for r in shown)


def test_ledger_filters_together(practice: Path) -> None:
    expected = [r for r in letters(practice)
                if r["job"] == "thank-you" and r["provider_id"] == "P009"]
    shown = ledger(desk_client(practice), "?job=thank-you&provider=P009")
    assert len(shown) == len(expected) == 2
    assert all(r["job"] == "thank-you" and "(P009)" in r["provider"] for r in shown)
    page = desk_client(practice).get("/ledger?job=thank-you&provider=P009").text
    assert re.search(r'<option value="P009" selected>', page)
    assert re.search(r'<option value="thank-you" selected>', page)


def test_ledger_ignores_a_value_that_is_not_a_choice(practice: Path) -> None:
    """Only ids and job names filter: a name (or anything else) in the address is dropped."""
    client = desk_client(practice)
    for query in ("?client=Derek+Warren", "?provider=Jenna", "?job=../../etc", "?page=x"):
        assert len(ledger(client, query)) == 17, query


def test_ledger_without_letters_says_so(practice: Path) -> None:
    client = desk_client(practice)
    page = client.get("/ledger?job=super-bill").text  # a job that made nothing yet
    assert "No letter matches these choices." in page


def test_ledger_pages_by_100(practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from refdesk.desk.pages import ledger as ledger_page

    monkeypatch.setattr(ledger_page, "PER_PAGE", 5)
    client = desk_client(practice)
    first = client.get("/ledger?job=thank-you").text
    assert len(rows(first)) == 5 and 'href="/ledger?job=thank-you&amp;page=2"' in first
    second = ledger(client, "?job=thank-you&page=2")
    assert [r["letter"].split()[0] for r in second] == ["L011", "L007", "L006", "L004"]
    assert ledger(client, "?job=thank-you&page=99") == second  # past the end: the last page
    assert 'href="/ledger?job=thank-you&amp;page=1"' in client.get(
        "/ledger?job=thank-you&page=2").text  # back to the newer ones


# -- the shared reading ------------------------------------------------------------------------
def test_the_book_is_read_once_and_again_when_the_file_changes(
        practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[Path] = []
    real = ExcelSource.read

    def counted(self: ExcelSource):  # type: ignore[no-untyped-def]
        reads.append(self.path)
        return real(self)

    monkeypatch.setattr(ExcelSource, "read", counted)
    client = desk_client(practice)
    for _ in range(3):
        client.get("/ledger")
    assert len(reads) == 1
    workbook = practice.parent / "workbooks" / "referrals.xlsx"
    st = workbook.stat()
    os.utime(workbook, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    client.get("/ledger")
    client.get("/ledger")
    assert len(reads) == 2
    # "Read it again now" reads it whatever the file says.
    client.post("/refresh", data={"csrf": csrf(client), "back": "/ledger"})
    assert len(reads) == 3


def test_a_workbook_that_cannot_be_read_is_a_page_with_the_message(practice: Path) -> None:
    client = desk_client(practice)
    workbook = practice.parent / "workbooks" / "referrals.xlsx"
    workbook.write_bytes(b"not a workbook at all")
    page = client.get("/ledger")
    assert page.status_code == 200
    assert "referrals.xlsx" in page.text and "Excel" in page.text
    assert "Traceback" not in page.text and "Ledger" in page.text  # the nav is still there


def test_an_unforeseen_error_is_a_short_page(practice: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from refdesk.desk.pages import ledger as ledger_page

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("client Derek Warren")

    monkeypatch.setattr(ledger_page, "ledger", broken)
    page = desk_client(practice).get("/ledger")
    assert page.status_code == 500
    assert "unexpected ZeroDivisionError" in page.text
    assert "Derek" not in page.text and "Traceback" not in page.text


def test_locked_holds_the_workbook_like_a_command(practice: Path) -> None:

    workbook = practice.parent / "workbooks" / "referrals.xlsx"
    # Another process (a command in a terminal) trying the lock once, without waiting.
    probe = ("import sys; from refdesk.sources.excel import ExcelSource\n"
             "from refdesk.errors import WorkbookBusyError\n"
             "try:\n"
             "    with ExcelSource(sys.argv[1]).locked('refdesk merge', wait=0): print('free')\n"
             "except WorkbookBusyError as exc: print(exc.message)\n")

    def other_command() -> str:
        done = subprocess.run([sys.executable, "-c", probe, str(workbook)],
                              capture_output=True, text=True, timeout=60, check=True)
        return done.stdout

    client = desk_client(practice)
    assert client.get("/ledger").status_code == 200
    assert other_command().strip() == "free"  # the desk holds nothing while idle
    with context.locked(client.app, "refdesk desk") as loaded:  # type: ignore[arg-type]
        assert len(loaded.book["Letters"]) == 17
        said = other_command()
        assert "is being written by another refdesk process" in said
        assert "refdesk desk" in said
    assert other_command().strip() == "free"


def test_unknown_page_is_404_in_the_frame(practice: Path) -> None:
    page = desk_client(practice).get("/nowhere")
    assert page.status_code == 404 and "No such page" in page.text


def test_a_google_sheet_is_read_again_after_a_minute(practice: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A source without a file (a Google Sheet) has no mtime: it is shown for GOOGLE_FRESH
    seconds, then read again; the clock is the module's, set by the test."""
    book = ExcelSource(practice.parent / "workbooks" / "referrals.xlsx").read()
    reads: list[int] = []

    class Sheet:
        path = None

        def read(self) -> object:
            reads.append(1)
            return book

    monkeypatch.setattr(context, "resolve_source", lambda settings: (None, Sheet()))
    now = [1000.0]
    monkeypatch.setattr(context, "_clock", lambda: now[0])
    client = desk_client(None, workbook=None)
    assert client.get("/ledger").status_code == 200
    now[0] += context.GOOGLE_FRESH - 1
    client.get("/ledger")
    assert len(reads) == 1
    now[0] += 2
    client.get("/ledger")
    assert len(reads) == 2
    client.post("/refresh", data={"csrf": csrf(client)})
    assert len(reads) == 3
