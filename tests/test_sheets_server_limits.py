"""The loopback Sheets server's limits (tests/sheets_server.py): 10 million cells per
spreadsheet, the request size limit and per-minute quotas answered with 429, and refdesk's
retries against those quotas, on a clock the test moves (no test waits on real time).
"""

from __future__ import annotations

import gspread
import pytest

from refdesk.errors import SourceError
from refdesk.sources.google import GoogleSource, Retry
from refdesk.sources.google import client as google_client
from tests import sheets_server as fake
from tests.conftest import run
from tests.sheets_server import sheets_server_fixture  # noqa: F401 - fixture

LIMIT = "This action would increase the number of cells in the workbook above the limit of " \
        "10000000 cells."
SHEETS = "https://sheets.googleapis.com/v4/spreadsheets"


def refused(call) -> dict:
    with pytest.raises(gspread.exceptions.APIError) as caught:
        call()
    return {"code": caught.value.code, **caught.value.error}


def rows_for(cells: int, columns: int = 26) -> int:
    return cells // columns


# -- 10 million cells ----------------------------------------------------------------------

def test_growth_past_ten_million_cells_is_refused_and_changes_nothing(sheets_server):
    # One tab of 26 columns: 384,615 rows is 9,999,990 cells, 10 short of the limit.
    book = sheets_server.create_spreadsheet("Practice", {"Referrals": [["id"], ["R1"]]},
                                            row_count=rows_for(10_000_000))
    sheet = sheets_server.client().open_by_key(book.id)
    tab = book.tab("Referrals")
    sheet_id = tab.properties["sheetId"]
    assert tab.row_count * tab.column_count == 9_999_990

    def grow(request: dict):
        return lambda: sheet.batch_update({"requests": [request]})

    answer = refused(grow({"appendDimension": {"sheetId": sheet_id, "dimension": "ROWS",
                                               "length": 1}}))
    assert answer == {"code": 400, "message": f"Invalid requests[0].appendDimension: {LIMIT}",
                      "status": "INVALID_ARGUMENT"}
    answer = refused(grow({"updateSheetProperties": {
        "properties": {"sheetId": sheet_id, "gridProperties": {"rowCount": 400_000}},
        "fields": "gridProperties.rowCount"}}))
    assert answer["message"] == f"Invalid requests[0].updateSheetProperties: {LIMIT}"
    answer = refused(grow({"addSheet": {"properties": {"title": "Letters"}}}))
    assert answer["message"] == f"Invalid requests[0].addSheet: {LIMIT}"
    answer = refused(grow({"insertDimension": {"range": {
        "sheetId": sheet_id, "dimension": "COLUMNS", "startIndex": 1, "endIndex": 2}}}))
    assert answer["message"] == f"Invalid requests[0].insertDimension: {LIMIT}"
    # values.append grows the grid to fit: past the limit it is refused the same way (Guess).
    answer = refused(lambda: sheet.worksheet("Referrals").append_rows(
        [["R2", *["x"] * 26]], table_range="A1"))  # 27 columns: one more than the grid
    assert answer == {"code": 400, "message": LIMIT, "status": "INVALID_ARGUMENT"}
    assert [t.title for t in book.tabs] == ["Referrals"]
    assert (tab.row_count, tab.column_count) == (384_615, 26)
    assert tab.values() == [["id"], ["R1"]]
    # Up to the limit exactly is allowed; values written inside the grid need no room.
    sheet.batch_update({"requests": [{"updateSheetProperties": {
        "properties": {"sheetId": sheet_id, "gridProperties": {"rowCount": 400_000,
                                                               "columnCount": 25}},
        "fields": "gridProperties.rowCount,gridProperties.columnCount"}}]})
    assert tab.row_count * tab.column_count == 10_000_000
    sheet.worksheet("Referrals").update([["R399999"]], "A399999")
    assert tab.cell("A399999").value == "R399999"


def test_the_limit_is_checked_after_each_request_of_a_batch(sheets_server):
    """As Google does: a request that passes the limit fails the whole batch, even when a
    later request in it would shrink another tab; shrinking first then growing passes."""
    book = sheets_server.create_spreadsheet("Practice", {"A": [], "B": []},
                                            row_count=rows_for(5_000_000))
    sheet = sheets_server.client().open_by_key(book.id)
    a, b = (book.tab(t).properties["sheetId"] for t in ("A", "B"))

    def rows(sheet_id: int, count: int) -> dict:
        return {"updateSheetProperties": {
            "properties": {"sheetId": sheet_id, "gridProperties": {"rowCount": count}},
            "fields": "gridProperties.rowCount"}}

    answer = refused(lambda: sheet.batch_update({"requests": [rows(a, 200_000),
                                                              rows(b, 1000)]}))
    assert answer["message"] == f"Invalid requests[0].updateSheetProperties: {LIMIT}"
    assert book.tab("B").row_count == rows_for(5_000_000)
    sheet.batch_update({"requests": [rows(b, 1000), rows(a, 200_000)]})
    assert (book.tab("A").row_count, book.tab("B").row_count) == (200_000, 1000)


def test_a_spreadsheet_is_not_created_past_the_limit(sheets_server):
    answer = sheets_server.session().post(SHEETS, json={"sheets": [{"properties": {
        "title": "Huge", "gridProperties": {"rowCount": 1_000_000, "columnCount": 11}}}]})
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == LIMIT
    assert sheets_server.spreadsheets() == []


# -- the request size limit ----------------------------------------------------------------

def test_a_body_over_the_limit_is_refused_unread(sheets_server):
    book = sheets_server.create_spreadsheet("Practice", {"Notes": []})
    sheet = sheets_server.client().open_by_key(book.id)
    note = "x" * 49_000  # within Google's 50,000 characters a cell
    rows = [[note]] * 215  # 215 x 49,000 = 10,535,000 bytes and the JSON around them
    answer = refused(lambda: sheet.values_batch_update(
        {"valueInputOption": "RAW", "data": [{"range": "Notes!A1", "values": rows}]}))
    assert answer == {"code": 400, "status": "INVALID_ARGUMENT",
                      "message": "Request payload size exceeds the limit: 10485760 bytes.",
                      "errors": [{"message": "Request payload size exceeds the limit: "
                                             "10485760 bytes.", "domain": "global",
                                  "reason": "badRequest"}]}
    assert book.tab("Notes").values() == []
    sheet.values_batch_update({"valueInputOption": "RAW",
                               "data": [{"range": "Notes!A1", "values": rows[:200]}]})
    assert len(book.tab("Notes").values()) == 200
    logged = sheets_server.requests("spreadsheets.values.batchUpdate")
    assert [r.status for r in logged] == [400, 200]


def test_the_body_limit_can_be_lowered(sheets_server):
    book = sheets_server.create_spreadsheet("Practice")
    sheets_server.body_limit = 100
    update = f"{SHEETS}/{book.id}/values/A1?valueInputOption=RAW"
    small = sheets_server.session().put(update, json={"values": [["x"]]})
    big = sheets_server.session().put(update, json={"values": [["x" * 100]]})
    assert (small.status_code, big.status_code) == (200, 400)
    assert big.json()["error"]["message"] == \
        "Request payload size exceeds the limit: 100 bytes."


# -- per-minute quotas ---------------------------------------------------------------------

def test_quotas_are_off_unless_a_test_sets_them(sheets_server):
    book = sheets_server.create_spreadsheet("Practice")
    session = sheets_server.session()
    assert {session.get(f"{SHEETS}/{book.id}").status_code for _ in range(100)} == {200}


def test_reads_and_writes_per_minute_per_user(sheets_server):
    book = sheets_server.create_spreadsheet("Practice")
    clock = sheets_server.set_quota(read=2, write=1)
    maya, desk = sheets_server.session("maya"), sheets_server.session("front-desk")
    read = f"{SHEETS}/{book.id}/values/A1"
    write = f"{SHEETS}/{book.id}/values/A1?valueInputOption=RAW"
    assert [maya.get(read).status_code for _ in range(3)] == [200, 200, 429]
    assert maya.put(write, json={"values": [["a"]]}).status_code == 200  # its own quota
    third = maya.put(write, json={"values": [["b"]]})
    assert third.status_code == 429
    error = third.json()["error"]
    assert error["status"] == "RESOURCE_EXHAUSTED"
    assert error["message"].startswith("Quota exceeded for quota metric 'Write requests'")
    assert error["details"][0]["metadata"]["quota_limit"] == "WriteRequestsPerMinutePerUser"
    assert error["details"][0]["metadata"]["quota_limit_value"] == "1"
    assert book.tab("Sheet1").cell("A1").value == "a"  # the refused write changed nothing
    assert desk.get(read).status_code == 200  # another user has a quota of their own
    # Drive is not held to the Sheets quota.
    assert maya.get(f"https://www.googleapis.com/drive/v3/files/{book.id}").status_code == 200
    clock.advance(59.5)
    assert maya.get(read).status_code == 429  # the minute is not over
    clock.advance(0.5)
    # Refused requests did not count: a whole new quota.
    assert [maya.get(read).status_code for _ in range(3)] == [200, 200, 429]
    assert [r.fault for r in sheets_server.requests() if r.status == 429] == ["quota"] * 4
    sheets_server.set_quota()
    assert maya.get(read).status_code == 200


# -- refdesk against the quota -------------------------------------------------------------

@pytest.fixture
def quota_clock(sheets_server, monkeypatch):
    """A read quota of one request a minute; refdesk's waits move the quota's clock."""
    clock = sheets_server.set_quota(read=1)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds)

    monkeypatch.setattr(google_client, "_sleep", sleep)
    return waits


def _practice(server) -> str:
    return server.create_spreadsheet("Practice", {"Providers": [["provider_id", "name"],
                                                                ["P1", "Dr. Okafor"]]}).id


def test_refdesk_backs_off_until_the_quota_refills(sheets_server, quota_clock):
    key = _practice(sheets_server)
    src = GoogleSource(key, client=sheets_server.client(), retry=Retry())
    src.read_grids()  # the metadata takes the minute's one read; the values wait
    waits = quota_clock
    assert 60 <= sum(waits) <= Retry().max_wait
    assert max(waits) <= Retry().quota_cap
    batch_gets = sheets_server.requests("spreadsheets.values.batchGet")
    assert [r.status for r in batch_gets] == [429] * (len(waits)) + [200]
    assert src.tabs["Providers"].header == ["provider_id", "name"]


def test_a_quota_that_stays_used_up_fails_clearly(sheets_server, monkeypatch):
    key = _practice(sheets_server)
    sheets_server.set_quota(read=1)  # and the clock never moves: the minute never ends
    waits: list[float] = []
    monkeypatch.setattr(google_client, "_sleep", waits.append)
    src = GoogleSource(key, client=sheets_server.client(), retry=Retry())
    with pytest.raises(SourceError) as caught:
        src.read_grids()
    message = caught.value.message
    assert message.startswith("Google Sheets refused the read of the sheet's rows: the "
                              "per-minute request quota stayed used up for 90 seconds")
    assert "HTTP 429" in message and "Wait a minute and run again" in message
    assert sum(waits) == pytest.approx(Retry().max_wait, abs=1)

    monkeypatch.setattr(google_client, "connect", lambda *a, **k: sheets_server.client())
    done = run("-q", "summary", "--sheet", key)
    assert done.exit_code == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("Error: Google Sheets refused") and "quota" in done.stderr


def test_a_retry_after_from_google_is_honoured(sheets_server, quota_clock, monkeypatch):
    """Google's front end may send Retry-After with a 429: refdesk waits at least that."""
    key = _practice(sheets_server)
    real = fake._quota_error

    def with_retry_after(kind, limit, message=None):
        error = real(kind, limit, message)
        error.headers["Retry-After"] = "7"
        return error

    monkeypatch.setattr(fake, "_quota_error", with_retry_after)
    GoogleSource(key, client=sheets_server.client(), retry=Retry()).read_grids()
    waits = quota_clock
    assert waits and all(wait >= 7 for wait in waits[:-1]) and sum(waits) >= 60
