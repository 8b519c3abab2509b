"""`init --sheet` and `import` on the loopback Sheets server, with answers lost and requests
failing at every step: init always ends with every tab headed and validated; an import sends
requests of at most 2 MB, refuses a spreadsheet that would pass 10 million cells, says what
went in when it stops, and `--resume` gives every record exactly once.

A lost answer is made on the client side: the request reaches the server and is applied, then
the HTTP client raises as if the connection dropped (no waiting on a clock).
"""

from __future__ import annotations

import json
import re

import gspread
import pytest
import requests

from refdesk.book import build_book, column_letter
from refdesk.errors import WriteError
from refdesk.schema import SHEETS, SHEETS_BY_NAME, Kind
from refdesk.sources.google import GoogleSource, GoogleUnavailable, Retry
from refdesk.sources.google import client as google_client
from refdesk.sources.google import importer as gsheets_import
from refdesk.sources.google.importer import ImportStopped, import_workbook
from refdesk.sources.google.read import grid_of
from refdesk.sources.google.setup import init_sheet
from tests import sheets_server as fake
from tests.conftest import ROOT, run
from tests.test_gsheets import _practice

SAMPLE = ROOT / "workbooks" / "referrals.xlsx"
FAST = Retry(max_wait=120.0, base=0.0, cap=0.0, timeout=120.0)
#: No second attempt: the first lost answer stops the command.
ONCE = Retry(max_wait=0.0, base=0.0, cap=0.0, timeout=120.0)
NOTE = "n" * 200


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setattr(google_client, "_sleep", lambda s: None)
    with fake.SheetsServer() as running:
        yield running


def _kind(url: str) -> str:
    for suffix, name in (("values:batchUpdate", "values.batchUpdate"),
                         ("values:batchGet", "values.batchGet"), (":batchUpdate", "batchUpdate")):
        if suffix in url:
            return name
    return "get"


class Faults:
    """Counts the requests a source sends and, at chosen ones, loses the answer (after the
    server applied the request) or has the server refuse it (400)."""

    def __init__(self, server: fake.SheetsServer, *, lose: int | None = None,
                 refuse: int | None = None, only: str | None = None) -> None:
        self.server, self.lose, self.refuse, self.only = server, lose, refuse, only
        self.seen = 0
        self.kinds: list[str] = []

    def __call__(self, method: str, url: str, send):
        kind = _kind(url)
        if self.only and kind != self.only:
            return send()
        self.seen += 1
        self.kinds.append(kind)
        if self.seen == self.refuse:
            self.server.fail_next(status=400, match="spreadsheets.values.batchUpdate",
                                  message="Invalid data[0]: refused for the test.")
        response = send()
        if self.seen == self.lose:
            raise requests.exceptions.ConnectionError("the answer was lost")
        return response

    def client(self) -> gspread.Client:
        faults = self

        class Client(gspread.HTTPClient):
            def request(self, method, endpoint, *args, **kwargs):
                return faults(method, endpoint,
                              lambda: gspread.HTTPClient.request(self, method, endpoint, *args,
                                                                 **kwargs))

        return self.server.client(http_client=Client)


def source(server, key, faults: Faults | None = None, retry: Retry = FAST) -> GoogleSource:
    client = faults.client() if faults else server.client()
    return GoogleSource(key, client=client, retry=retry)


# -- init ---------------------------------------------------------------------------------------

def assert_ready(server, key) -> None:
    """Every refdesk tab headed, frozen, protected once, with its formats and drop-downs."""
    state = server.state(key)
    for sheet in SHEETS:
        tab = state.tab(sheet.name)
        assert tab.values("1:1")[0] == sheet.column_names, sheet.name
        assert tab.frozen_row_count == 1, sheet.name
        assert len(tab.protected_ranges) == 1, sheet.name
        for i, column in enumerate(sheet.columns):
            a1 = f"{column_letter(i)}2"
            if column.closed and not column.multi:
                assert tab.validation(a1)["condition"]["type"] == "ONE_OF_LIST", (sheet, column)
            if column.kind is Kind.DATE:
                assert tab.cell(a1).number_format["type"] == "DATE", (sheet.name, column)


def half_done(server) -> str:
    """A sheet an earlier init left half done: its tabs made, three of them without a header
    (the answer lost before the headers were written, as a version that wrote them apart
    could leave them)."""
    key = server.create_spreadsheet("Practice").id
    init_sheet(source(server, key))
    state = server.state(key)
    for name in HALF:
        state.tab(name).set_values("A1", [[""] * len(SHEETS_BY_NAME[name].columns)])
    return key


HALF = ("Referrals", "Visits", "Letters")


#: init's requests: the tabs, then one :batchUpdate on a new sheet; the tabs, their header
#: rows, then one :batchUpdate on a sheet left half done.
REQUESTS = {"new": 2, "half done": 3}


def _make(server, start: str) -> str:
    return server.create_spreadsheet("Practice").id if start == "new" else half_done(server)


@pytest.mark.parametrize("start", REQUESTS)
def test_init_sends_what_is_missing_in_one_request(server, start):
    faults = Faults(server)
    init_sheet(source(server, _make(server, start), faults))
    assert faults.seen == REQUESTS[start] and faults.kinds[-1] == "batchUpdate"


@pytest.mark.parametrize(("start", "at"), [(s, at) for s, n in REQUESTS.items()
                                           for at in range(1, n + 1)])
def test_init_finishes_after_a_lost_answer_at_any_request(server, start, at):
    # Retried at once: the retry of the tab-creating request is refused "already exists",
    # which counts as done after a look.
    key = _make(server, start)
    init_sheet(source(server, key, Faults(server, lose=at)))
    assert_ready(server, key)
    # No retries: the command stops; run again, it finishes what was left.
    key = _make(server, start)
    with pytest.raises(GoogleUnavailable):
        init_sheet(source(server, key, Faults(server, lose=at), ONCE))
    again = init_sheet(source(server, key))
    assert_ready(server, key)
    if at == REQUESTS[start]:  # the first run's request landed: nothing was left to do
        assert not again.created and not again.completed
    else:
        assert again.created or again.completed


def test_a_tab_added_meanwhile_counts_as_done(server):
    """Someone adds Referrals (no header) between init's look and its request: the request
    is refused "already exists"; init looks again and completes that tab."""
    key = server.create_spreadsheet("Practice").id
    state = server.state(key)

    class Meanwhile(Faults):
        def __call__(self, method, url, send):
            if _kind(url) == "batchUpdate" and not self.kinds.count("batchUpdate"):
                state.add_tab("Referrals")
            return super().__call__(method, url, send)

    done = init_sheet(source(server, key, Meanwhile(server)))
    assert_ready(server, key)
    assert "Referrals" in done.completed and "Providers" in done.created


def test_a_narrow_tab_made_by_hand_is_completed(server):
    key = server.create_spreadsheet("Practice").id
    server.state(key).add_tab("Providers", column_count=5)
    done = init_sheet(source(server, key))
    assert done.completed == ["Providers"]
    assert server.state(key).tab("Providers").column_count == len(
        SHEETS_BY_NAME["Providers"].columns)
    assert_ready(server, key)


def test_init_again_completes_and_summary_works(server, monkeypatch):
    monkeypatch.setattr(google_client, "connect", lambda *a, **k: server.client())
    key = half_done(server)
    done = run("-q", "init", "--sheet", key)
    assert done.exit_code == 0, done.stderr
    assert f"Completed the tabs {', '.join(HALF)}" in done.stdout
    assert "Left as they were: Providers, Clients, Releases, Sent, Contacts, Testimonials." \
        in done.stdout
    assert_ready(server, key)
    assert run("-q", "summary", "--sheet", key).exit_code == 0
    done = run("-q", "init", "--sheet", key)
    assert "Left as they were: Providers" in done.stdout and "Completed" not in done.stdout


# -- import -------------------------------------------------------------------------------------

def book_of(referrals: int, note: str = NOTE, contacts: int = 0):
    """A practice built in memory: `referrals` referrals with long notes, and `contacts`
    contacts of which every other one has no id (matched by position on --resume)."""
    tabs = _practice(referrals)
    for row in tabs["Referrals"][1:]:
        row[-1] = f"{row[0]} {note}"
    header = SHEETS_BY_NAME["Contacts"].column_names
    tabs["Contacts"] = [header] + [
        [f"K{i:04d}" if i % 2 else None, 46300 + i, f"P{i % 20 + 1:03d}", "phone", "front desk",
         f"call {i} {note[:40]}"] for i in range(1, contacts + 1)]
    return build_book("workbook", {name: grid_of(name, rows) for name, rows in tabs.items()})


def sheet_rows(server, key) -> dict[str, list[list]]:
    state = server.state(key)
    return {t.title: t.values(value_render="UNFORMATTED_VALUE") for t in state.tabs
            if t.title in SHEETS_BY_NAME}


def test_import_of_100000_referrals_sends_at_most_2mb_a_request(server):
    book = book_of(100_000)
    key = server.create_spreadsheet("Practice").id
    # Referrals made by hand, with its header and room for the rows: the loopback server
    # would spend most of the test formatting 100,000 rows, which is not what is measured.
    server.state(key).add_tab("Referrals", [SHEETS_BY_NAME["Referrals"].column_names],
                              row_count=100_001)
    server.clear_log()
    done = import_workbook(book, source(server, key))
    sent = server.requests("spreadsheets.values.batchUpdate")
    sizes = [r.size for r in sent]
    assert max(sizes) <= 2_000_000 and len(sizes) >= 15, sizes
    assert done.sizes == sizes  # measured exactly as serialized
    assert done.rows["Referrals"] == 100_000
    rows = server.state(key).tab("Referrals").values("A:A", value_render="UNFORMATTED_VALUE")
    assert len(rows) == 100_001 and rows[-1] == ["R0100000"]
    print(f"\n100,000 referrals: {len(server.requests())} requests, {len(sizes)} of values, "
          f"largest {max(sizes):,} bytes, total {sum(sizes):,} bytes")


def test_a_row_larger_than_a_request_is_sent_in_pieces(server, monkeypatch):
    monkeypatch.setattr(gsheets_import, "MAX_BYTES", 1_500)
    book = book_of(3, note="x" * 1_000)
    key = server.create_spreadsheet("Practice").id
    server.clear_log()
    import_workbook(book, source(server, key))
    assert max(r.size for r in server.requests("spreadsheets.values.batchUpdate")) <= 1_500
    assert server.state(key).tab("Referrals").values("P2", value_render="UNFORMATTED_VALUE") \
        == [[f"R0000001 {'x' * 1_000}"]]


def test_request_sizes_are_counted_as_the_body_is_sent():
    """Accents, emoji and quotes (escaped by JSON as sent), split rows and gaps between rows:
    each body's counted size is its serialized length, and none passes the limit."""
    units = []
    for row in (*range(2, 40), *range(45, 60)):
        values = [f"R{row}", 'é"ü\\🙂' * (row % 20), None, 46300 + row, 7.25, True]
        units.extend(gsheets_import._units("Referrals", "Referrals", row, values, 1000))
    big = ["x" * 300] * 5  # a row over the limit goes in pieces
    units.extend(gsheets_import._units("Notes's", "Notes's", 70, big, 1000))
    sent = list(gsheets_import.chunks(units, 1000))
    for chunk in sent:
        body = {"valueInputOption": "RAW", "data": chunk.data}
        assert chunk.size == len(json.dumps(body).encode()) <= 1000
    assert len(sent) > 10 and sum(len(c.rows.get("Referrals", [])) for c in sent) == 53


#: Small requests, so that a small practice makes a dozen chunks, each failed in turn.
SMALL = 6_000


def set_up(server) -> str:
    """A sheet with refdesk's tabs and their headers (made directly: formatting every tab on
    the loopback server would take most of a sweep's time, and is init's test)."""
    key = server.create_spreadsheet("Practice").id
    for sheet in SHEETS:
        server.state(key).add_tab(sheet.name, [sheet.column_names])
    return key


def _reference(server, book) -> dict[str, list[list]]:
    key = set_up(server)
    import_workbook(book, source(server, key))
    return sheet_rows(server, key)


@pytest.mark.parametrize("how", ["refused", "lost"])
@pytest.mark.parametrize("rows", ["whole", "in pieces"])
def test_a_failure_at_any_chunk_then_resume_gives_every_record_once(server, monkeypatch, how,
                                                                    rows):
    if rows == "whole":
        monkeypatch.setattr(gsheets_import, "MAX_BYTES", SMALL)
        book = book_of(60, contacts=12)
    else:  # each referral takes two requests: a failure can fall between its pieces
        monkeypatch.setattr(gsheets_import, "MAX_BYTES", 1_500)
        book = book_of(4, note="x" * 1_300)
    expected = _reference(server, book)
    counting = Faults(server, only="values.batchUpdate")
    import_workbook(book, source(server, set_up(server), counting))
    chunks = counting.seen
    assert chunks >= 8
    for at in range(1, chunks + 1):
        key = set_up(server)
        faults = (Faults(server, refuse=at, only="values.batchUpdate") if how == "refused"
                  else Faults(server, lose=at, only="values.batchUpdate"))
        with pytest.raises(ImportStopped) as stopped:
            import_workbook(book, source(server, key, faults, ONCE), again="refdesk import X "
                            "--resume")
        message = " ".join(stopped.value.lines())
        assert "refdesk import X --resume" in message
        assert ("did not go in" if how == "refused" else "may have gone in") in message
        held = sheet_rows(server, key)
        if rows == "whole":  # a record in pieces counts once its last piece is in
            _check_the_account(message, held, book, exact=how == "refused")
        if any(_present(r) for r in held.values()):  # a plain import again is refused
            with pytest.raises(WriteError, match="--resume"):
                import_workbook(book, source(server, key))
        again = import_workbook(book, source(server, key), resume=True)
        assert sheet_rows(server, key) == expected, at
        assert sum(again.rows.values()) + sum(again.already.values()) == sum(
            len(t) for t in book)


def _present(rows: list[list]) -> int:
    return sum(1 for r in rows[1:] if any(v not in (None, "") for v in r))


def _check_the_account(message: str, rows: dict[str, list[list]], book, exact: bool) -> None:
    """What the message says went in is what the sheet holds."""
    assert "nothing was changed" not in message
    named = []
    whole = re.search(r"In full: (.+?)\.", message)
    for name, total in re.findall(r"(\w+) \(([\d,]+)\)", whole.group(1) if whole else ""):
        assert _present(rows[name]) == len(book[name]) == int(total), (name, message)
        named.append(name)
    part = re.search(r"In part: (.+?)\.", message)
    for name, done, total in re.findall(r"(\w+) ([\d,]+) of ([\d,]+)",
                                        part.group(1) if part else ""):
        held = _present(rows[name])
        assert int(total) == len(book[name])
        named.append(name)
        assert held == int(done) if exact else held >= int(done), message
    started = re.search(r"Not yet: (.+?)\.", message)
    for name, _ in re.findall(r"(\w+) \(([\d,]+)\)", started.group(1) if started else ""):
        assert _present(rows.get(name, [[]])) == 0 or not exact, (name, message)
        named.append(name)
    assert sorted(named) == sorted(t.name for t in book if len(t)), message  # each once


def test_resume_refuses_a_row_that_holds_something_else(server, monkeypatch):
    monkeypatch.setattr(gsheets_import, "MAX_BYTES", SMALL)
    book = book_of(60)
    key = server.create_spreadsheet("Practice").id
    with pytest.raises(ImportStopped):
        import_workbook(book, source(server, key, Faults(server, refuse=3,
                                                         only="values.batchUpdate")))
    server.state(key).tab("Referrals").set_values("A61", [["R9999999", 1]])
    server.clear_log()
    with pytest.raises(WriteError) as refused:
        import_workbook(book, source(server, key), resume=True)
    assert "Referrals!61" in refused.value.details
    assert server.count("spreadsheets.values.batchUpdate") == 0


def test_resume_finds_a_record_moved_meanwhile(server, monkeypatch):
    monkeypatch.setattr(gsheets_import, "MAX_BYTES", SMALL)
    book = book_of(60)
    counting = Faults(server, only="values.batchUpdate")
    import_workbook(book, source(server, server.create_spreadsheet("P").id, counting))
    key = server.create_spreadsheet("Practice").id
    with pytest.raises(ImportStopped):  # the last request, of Referrals, fails
        import_workbook(book, source(server, key, Faults(server, refuse=counting.seen,
                                                         only="values.batchUpdate")))
    tab = server.state(key).tab("Referrals")
    row2 = tab.values("A2:P2", value_render="UNFORMATTED_VALUE")[0]
    tab.set_values("A2", [[""] * 16])
    tab.set_values("A200", [row2])  # someone moved R0000001 down
    import_workbook(book, source(server, key), resume=True)
    ids = [r[0] for r in tab.values("A:A", value_render="UNFORMATTED_VALUE")[1:] if r]
    assert sorted(ids) == [f"R{i:07d}" for i in range(1, 61)]


def test_import_refuses_before_passing_10_million_cells(server):
    key = server.create_spreadsheet("Practice").id
    server.state(key).add_tab("Archive", row_count=380_000, column_count=26)  # 9,880,000
    server.clear_log()
    with pytest.raises(WriteError) as refused:
        import_workbook(book_of(20_000), source(server, key))
    message = refused.value.message
    assert "over Google's limit of 10,000,000 cells" in message and "nothing was sent" in \
        message and "new Google Sheet" in message
    assert re.search(r"would have [\d,]+ cells \(it has 9,906,000 now", message), message
    assert {r.endpoint for r in server.requests()} == {"spreadsheets.get"}


def test_the_import_command_stops_and_resumes(server, monkeypatch):
    monkeypatch.setattr(gsheets_import, "MAX_BYTES", 50_000)
    faults = Faults(server, refuse=2, only="values.batchUpdate")
    monkeypatch.setattr(google_client, "connect", lambda *a, **k: faults.client())
    monkeypatch.setattr(google_client, "DEFAULT_RETRY", FAST)
    key = server.create_spreadsheet("Practice").id
    done = run("-q", "import", SAMPLE, "--sheet", key)
    assert done.exit_code == 2 and "Traceback" not in done.stderr
    assert "stopped part way" in done.stderr and "In full: Providers (40)" in \
        done.stderr and f"refdesk import {SAMPLE} --sheet {key} --resume" in done.stderr
    done = run("-q", "import", SAMPLE, "--sheet", key, "--resume")
    assert done.exit_code == 0, done.stderr
    assert "Already there, left as they were: 40 Providers" in done.stdout
    exported = run("-q", "summary", "--json", "--sheet", key)
    assert exported.exit_code in (0, 1), exported.stderr
