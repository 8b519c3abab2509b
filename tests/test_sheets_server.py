"""The loopback Sheets API server (tests/sheets_server.py): that it answers like Google, and
that unmodified gspread works against it.

Conformance: gspread's own recorded sessions with the real API (vcrpy cassettes in the shared
corpus) are replayed request by request against the server, each in a fresh server, ids mapped
from the recorded answers to ours; every answer must have the recorded status and shape (the
same keys at every level, the same value types, lists by the shapes of their elements), every
A1 range it names must be the recorded one, and read values must equal the recorded values. A
cassette is replayed up to its first request the server does not implement (export, copy,
sortRange, ...), since the state would differ from there on.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import gspread
import gspread.http_client
import pytest
import requests

from tests import sheets_server as fake
from tests.conftest import need
from tests.sheets_server import SheetsServer, sheets_server_fixture  # noqa: F401 - fixture

CASSETTES = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "sheets-api"


# -- replaying the recorded cassettes ------------------------------------------------------------

# What a replay must cover, with how many compared answers at least.
REQUIRED = {
    "spreadsheets.get": 50, "spreadsheets.values.get": 50, "spreadsheets.values.batchGet": 2,
    "spreadsheets.values.update": 50, "spreadsheets.values.batchUpdate": 1,
    "spreadsheets.values.append": 10, "spreadsheets.values.clear": 50,
    "spreadsheets.values.batchClear": 1,
    "spreadsheets.batchUpdate:addSheet": 5, "spreadsheets.batchUpdate:updateSheetProperties": 20,
    "spreadsheets.batchUpdate:deleteSheet": 3, "spreadsheets.batchUpdate:setDataValidation": 1,
    "spreadsheets.batchUpdate:addProtectedRange": 2,
    "spreadsheets.batchUpdate:insertDimension": 2,
    "drive.files.create": 50, "drive.files.delete": 50, "drive.files.list": 2,
    "drive.files.get": 20,
    "spreadsheets.get 404": 1, "spreadsheets.get 403": 1, "spreadsheets.values.update 400": 2,
    "spreadsheets.batchUpdate 400": 1,
}
RANGE_KEYS = {"range", "updatedRange", "tableRange", "clearedRange", "clearedRanges"}
ID_KEYS = {"sheetId", "protectedRangeId", "namedRangeId", "spreadsheetId", "id",
           "sourceSheetId"}


@dataclass
class Replay:
    """What replaying one cassette compared, and what differed."""

    compared: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    stopped_at: str | None = None  # the first request the server does not implement


def shape(value: Any) -> Any:
    """A JSON value's shape: dict keys kept, scalars as their JSON type, a list as the sorted
    set of its elements' shapes."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return ["list", sorted({json.dumps(shape(v), sort_keys=True) for v in value})]
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "null" if value is None else "string"


def shape_difference(recorded: Any, ours: Any, where: str = "") -> str | None:
    """Where two JSON values first differ in shape, or None."""
    if isinstance(recorded, dict) and isinstance(ours, dict):
        if set(recorded) != set(ours):
            return (f"{where or '.'}: keys {sorted(set(recorded) - set(ours))} missing, "
                    f"{sorted(set(ours) - set(recorded))} extra")
        for key in recorded:
            found = shape_difference(recorded[key], ours[key], f"{where}.{key}")
            if found:
                return found
        return None
    if shape(recorded) != shape(ours):
        return f"{where or '.'}: {json.dumps(shape(recorded))} != {json.dumps(shape(ours))}"
    return None


def label(method: str, uri: str, body: Any, status: int) -> str | None:
    """The endpoint an interaction exercises ("spreadsheets.batchUpdate:addSheet"; with the
    status when it is an error), or None when the server does not implement it."""
    parts = urlsplit(uri)
    endpoint, _ = fake._route(method, parts.path)
    if not endpoint:
        return None
    if endpoint == "spreadsheets.batchUpdate" and status < 400:
        kinds = [next(iter(r)) for r in body["requests"]]
        if not all(hasattr(fake.SheetsBackend, f"_req_{k}") for k in kinds):
            return None
        return f"{endpoint}:{kinds[0]}" if len(set(kinds)) == 1 else endpoint
    return endpoint if status < 400 else f"{endpoint} {status}"


def learn_ids(recorded: Any, ours: Any, ids: dict[Any, Any]) -> None:
    """Map the ids in a recorded answer to those in ours (walking both in parallel)."""
    if isinstance(recorded, dict) and isinstance(ours, dict):
        if recorded.get("name") != ours.get("name"):  # Drive files listed in another order
            return
        for key, value in recorded.items():
            if key in ID_KEYS and key in ours and value != ours[key]:
                ids[value] = ours[key]
            elif key in ours:
                learn_ids(value, ours[key], ids)
    elif isinstance(recorded, list) and isinstance(ours, list):
        for r, o in zip(recorded, ours, strict=False):
            learn_ids(r, o, ids)


def rewrite(value: Any, ids: dict[Any, Any]) -> Any:
    """A recorded request body with the recorded ids replaced by ours."""
    if isinstance(value, dict):
        return {k: (ids.get(v, v) if k in ID_KEYS and not isinstance(v, dict | list)
                    else rewrite(v, ids)) for k, v in value.items()}
    if isinstance(value, list):
        return [rewrite(v, ids) for v in value]
    return value


def rewrite_uri(uri: str, ids: dict[Any, Any]) -> str:
    for recorded, ours in ids.items():
        if isinstance(recorded, str) and len(recorded) > 20:
            uri = uri.replace(recorded, ours)
    return uri


def range_difference(recorded: Any, ours: Any, where: str = "") -> str | None:
    """The first A1 range (range, updatedRange, ...) or read values that differ."""
    if isinstance(recorded, dict) and isinstance(ours, dict):
        for key, value in recorded.items():
            if key not in ours:
                continue
            if key in RANGE_KEYS or (key == "values" and "majorDimension" in recorded):
                if value != ours[key]:
                    return f"{where}.{key}: recorded {value!r}, got {ours[key]!r}"
            else:
                found = range_difference(value, ours[key], f"{where}.{key}")
                if found:
                    return found
    elif isinstance(recorded, list) and isinstance(ours, list):
        for i, (r, o) in enumerate(zip(recorded, ours, strict=False)):
            found = range_difference(r, o, f"{where}[{i}]")
            if found:
                return found
    return None


@functools.cache
def replay(name: str) -> Replay:
    """Replay one cassette against a fresh server (cached: several tests look at it)."""
    result = Replay()
    interactions = json.loads((CASSETTES / name).read_text())["interactions"]
    ids: dict[Any, Any] = {}
    with SheetsServer() as server:
        session = server.session()
        for i, interaction in enumerate(interactions):
            request, response = interaction["request"], interaction["response"]
            status = response["status"]["code"]
            body = request["body"]
            try:
                body = json.loads(body) if body else None
            except ValueError:
                result.stopped_at = f"#{i} {request['method']} {request['uri'][:80]} (not JSON)"
                break
            name_ = label(request["method"], request["uri"], body, status)
            if name_ is None:
                result.stopped_at = f"#{i} {request['method']} {request['uri'][:100]}"
                break
            uri = rewrite_uri(request["uri"], ids)
            if status == 403:  # the matching state: a spreadsheet shared with someone else
                key = urlsplit(uri).path.split("/")[3]
                if key not in server.backend.books:
                    server.create_spreadsheet(spreadsheet_id=key, private=True)
            if name_ == "drive.files.list":  # ... and files the account held already
                for file in json.loads(response["body"]["string"])["files"]:
                    if file["id"] not in ids and file["id"] not in server.backend.books:
                        existing(server, file)
            sent = json.dumps(rewrite(body, ids)).encode() if body is not None else None
            answer = session.request(request["method"], uri, data=sent,
                                     headers={"Content-Type": "application/json"} if sent
                                     else {})
            where = f"{name} #{i} {request['method']} {urlsplit(request['uri']).path[-60:]}"
            if answer.status_code != status:
                result.problems.append(f"{where}: status {answer.status_code}, recorded "
                                       f"{status}: {answer.text[:300]}")
                break
            result.compared[name_] += 1
            recorded_text = response["body"]["string"]
            if not recorded_text:
                continue
            recorded, ours = json.loads(recorded_text), answer.json()
            problem = shape_difference(recorded, ours) or range_difference(recorded, ours)
            if problem:
                result.problems.append(f"{where}: {problem}")
            learn_ids(recorded, ours, ids)
    return result


def existing(server: SheetsServer, file: dict[str, Any]) -> None:
    """A spreadsheet the recorded account held before the test, with its recorded times."""
    server.create_spreadsheet(file["name"], spreadsheet_id=file["id"])
    book = server.backend.books[file["id"]]
    for attr, key in (("created", "createdTime"), ("modified", "modifiedTime")):
        if key in file:
            setattr(book, attr, datetime.fromisoformat(file[key].replace("Z", "+00:00")))


def cassette_names() -> list[str]:
    return sorted(p.name for p in CASSETTES.glob("*.json")) if CASSETTES.is_dir() else []


def need_corpus() -> None:
    need(CASSETTES.is_dir(), f"the recorded Sheets API corpus is not at {CASSETTES}")


@pytest.mark.parametrize("cassette", cassette_names())
def test_recorded_answers_are_reproduced(cassette):
    result = replay(cassette)
    assert not result.problems, "\n".join(result.problems)


def test_the_replay_covers_every_implemented_endpoint():
    need_corpus()
    total: Counter[str] = Counter()
    for name in cassette_names():
        total.update(replay(name).compared)
    missing = {k: (total[k], n) for k, n in REQUIRED.items() if total[k] < n}
    assert not missing, f"compared too few (got, wanted): {missing}; all: {dict(total)}"


def test_shape_comparison_notices_differences():
    assert shape_difference({"a": [1, "x"]}, {"a": ["y", 2.5]}) is None
    assert "missing" in shape_difference({"a": 1, "b": 2}, {"a": 1})
    assert shape_difference({"v": [["a"], []]}, {"v": [["a"]]}) is not None
    assert shape_difference({"n": 1}, {"n": "1"}) is not None


# -- gspread against the server ------------------------------------------------------------------

ROWS = [["Name", "Born", "Visits"], ["Ada", "1990-01-02", 3], ["Grace", "", 1]]


def test_open_by_key_worksheets_and_values(sheets_server):
    book = sheets_server.create_spreadsheet("Practice", {"Clients": ROWS, "My Notes": []})
    gc = sheets_server.client()
    sheet = gc.open_by_key(book.id)
    assert sheet.title == "Practice" and sheet.locale == "en_US"
    assert [w.title for w in sheet.worksheets()] == ["Clients", "My Notes"]
    clients = sheet.worksheet("Clients")
    assert clients.row_count == 1000 and clients.col_count == 26
    assert clients.get_all_values() == [["Name", "Born", "Visits"], ["Ada", "1990-01-02", "3"],
                                        ["Grace", "", "1"]]
    assert clients.get("A2:C3", value_render_option="UNFORMATTED_VALUE") == [
        ["Ada", "1990-01-02", 3], ["Grace", "", 1]]
    assert sheet.worksheet("My Notes").get_all_values() == [[]]  # gspread's empty


def test_batch_get_ranges_and_major_dimension(sheets_server):
    book = sheets_server.create_spreadsheet("Practice", {"Clients": ROWS})
    clients = sheets_server.client().open_by_key(book.id).worksheet("Clients")
    got = clients.batch_get(["A1:B2", "C:C", "2:3", "Z9"], major_dimension="COLUMNS")
    assert [r.range for r in got] == ["Clients!A1:B2", "Clients!C1:C1000", "Clients!A2:Z3",
                                      "Clients!Z9"]
    assert got[0] == [["Name", "Ada"], ["Born", "1990-01-02"]]
    assert got[1] == [["Visits", "3", "1"]]
    assert got[2] == [["Ada", "Grace"], ["1990-01-02"], ["3", "1"]]
    assert got[3] == []


def test_raw_keeps_text_and_user_entered_parses(sheets_server):
    book = sheets_server.create_spreadsheet("Practice")
    sheet1 = sheets_server.client().open_by_key(book.id).sheet1
    typed = [["=1+1", "0123", "2026-11-23", "TRUE", "'=2+2"]]
    sheet1.batch_update([{"range": "A1", "values": typed}], raw=True)
    sheet1.batch_update([{"range": "A2", "values": typed}], raw=False)
    tab = book.tab("Sheet1")
    assert tab.kinds() == {"A1": "string", "B1": "string", "C1": "string", "D1": "string",
                           "E1": "string", "A2": "formula", "B2": "number", "C2": "number",
                           "D2": "bool", "E2": "string"}
    assert tab.cell("A1").value == "=1+1" and tab.cell("A2").value == "=1+1"
    assert tab.cell("E2").value == "=2+2"
    assert tab.cell("C2").number_format == {"type": "DATE", "pattern": "yyyy-mm-dd"}
    assert sheet1.get("A2:D2") == [["2", "123", "2026-11-23", "TRUE"]]
    assert sheet1.get("A2:D2", value_render_option="UNFORMATTED_VALUE") == [
        [2, 123, 46349, True]]
    assert sheet1.get("A2:C2", value_render_option="UNFORMATTED_VALUE",
                      date_time_render_option="FORMATTED_STRING") == [[2, 123, "2026-11-23"]]
    assert sheet1.get("A2:C2", value_render_option="FORMULA") == [["=1+1", 123, 46349]]
    assert sheet1.get("A1:C1", value_render_option="UNFORMATTED_VALUE") == [
        ["=1+1", "0123", "2026-11-23"]]


def test_formulas_beyond_arithmetic_render_as_name_errors(sheets_server):
    book = sheets_server.create_spreadsheet("Practice")
    sheet1 = sheets_server.client().open_by_key(book.id).sheet1
    sheet1.update([["=SUM(B1:B3)", '="a"&"b"', "=1/0", "=2^10"]], "A1", raw=False)
    assert sheet1.get("A1:D1") == [["#NAME?", "ab", "#DIV/0!", "1024"]]
    assert book.tab("Sheet1").cell("A1").kind == "formula"


def test_append_rows_finds_the_table_and_grows_the_grid(sheets_server):
    book = sheets_server.create_spreadsheet("Practice", {"Clients": ROWS}, row_count=3)
    clients = sheets_server.client().open_by_key(book.id).worksheet("Clients")
    answer = clients.append_rows([["Linus", "1969-12-28", 2], ["Ken", "", 5]])
    assert answer["tableRange"] == "Clients!A1:C3"
    assert answer["updates"]["updatedRange"] == "Clients!A4:C5"
    assert book.tab("Clients").row_count == 5
    assert book.tab("Clients").values("A4:A5") == [["Linus"], ["Ken"]]


def test_add_worksheet_frozen_rows_validation_protection_filter(sheets_server):
    book = sheets_server.create_spreadsheet("Practice", {"Clients": ROWS})
    sheet = sheets_server.client().open_by_key(book.id)
    letters = sheet.add_worksheet("Letters", rows=50, cols=4)
    assert letters.id != 0 and [w.title for w in sheet.worksheets()] == ["Clients", "Letters"]
    letters.freeze(rows=1)
    clients = sheet.worksheet("Clients")
    clients.add_validation("B2:B9", gspread.utils.ValidationConditionType.one_of_list,
                           ["open", "closed"], showCustomUi=True)
    clients.add_protected_range("A1:C1", warning_only=True)
    clients.set_basic_filter("A1:C3")
    answer = sheet.batch_update({"requests": [
        {"repeatCell": {"range": {"sheetId": letters.id, "startColumnIndex": 1,
                                  "endColumnIndex": 2},
                        "cell": {"userEnteredFormat": {"numberFormat": {"type": "DATE",
                                                                        "pattern": "M/d/yyyy"}}},
                        "fields": "userEnteredFormat.numberFormat"}},
        {"appendCells": {"sheetId": letters.id, "fields": "userEnteredValue",
                         "rows": [{"values": [{"userEnteredValue": {"stringValue": "L1"}},
                                              {"userEnteredValue": {"numberValue": 46349}}]}]}},
        {"autoResizeDimensions": {"dimensions": {"sheetId": letters.id,
                                                 "dimension": "COLUMNS"}}},
    ]})
    assert answer["replies"] == [{}, {}, {}]
    state = sheets_server.state(book.id)
    assert state.tab("Letters").frozen_row_count == 1
    assert state.tab("Letters").values() == [["L1", "11/23/2026"]]
    assert state.tab("Clients").validations() == [
        ("B2:B9", {"condition": {"type": "ONE_OF_LIST", "values": [
            {"userEnteredValue": "open"}, {"userEnteredValue": "closed"}]},
         "showCustomUi": True})]
    protected = state.tab("Clients").protected_ranges[0]
    assert protected["warningOnly"] and protected["range"]["endColumnIndex"] == 3
    assert state.tab("Clients").basic_filter["range"]["endRowIndex"] == 3
    meta = sheet.fetch_sheet_metadata()
    clients_meta = meta["sheets"][0]
    assert set(clients_meta) == {"properties", "protectedRanges", "basicFilter"}
    assert meta["sheets"][1]["properties"]["gridProperties"]["frozenRowCount"] == 1
    only = sheet.fetch_sheet_metadata({"fields": "sheets.properties.title"})
    assert only == {"sheets": [{"properties": {"title": "Clients"}},
                               {"properties": {"title": "Letters"}}]}
    grid = sheet.fetch_sheet_metadata({"ranges": "Clients!B2",
                                       "fields": "sheets.data.rowData.values.dataValidation"})
    rule = grid["sheets"][0]["data"][0]["rowData"][0]["values"][0]["dataValidation"]
    assert rule["condition"]["type"] == "ONE_OF_LIST"


def test_delete_and_insert_rows_move_the_cells(sheets_server):
    book = sheets_server.create_spreadsheet("Practice", {"Clients": ROWS})
    clients = sheets_server.client().open_by_key(book.id).worksheet("Clients")
    clients.insert_row(["Zed", "", 9], index=2)
    assert book.tab("Clients").values("A1:A4") == [["Name"], ["Zed"], ["Ada"], ["Grace"]]
    clients.delete_rows(2, 3)
    assert book.tab("Clients").values("A1:A4") == [["Name"], ["Grace"]]
    assert book.tab("Clients").row_count == 999
    clients.delete_columns(1)
    assert book.tab("Clients").values("A1:B1") == [["Born", "Visits"]]


def test_drive_create_open_by_title_and_delete(sheets_server):
    gc = sheets_server.client()
    made = gc.create("Referrals 2026")
    assert gc.open("Referrals 2026").id == made.id
    assert [f["name"] for f in gc.list_spreadsheet_files()] == ["Referrals 2026"]
    gc.del_spreadsheet(made.id)
    with pytest.raises(gspread.SpreadsheetNotFound):
        gc.open("Referrals 2026")
    assert sheets_server.spreadsheets() == []


# -- errors as Google gives them -----------------------------------------------------------------

def test_unknown_and_private_spreadsheets(sheets_server):
    gc = sheets_server.client()
    with pytest.raises(gspread.SpreadsheetNotFound):
        gc.open_by_key("1" * 44)
    book = sheets_server.create_spreadsheet("Someone else's")
    sheets_server.set_private(book.id)
    with pytest.raises(PermissionError):
        gc.open_by_key(book.id)
    answer = sheets_server.session().get(
        f"https://sheets.googleapis.com/v4/spreadsheets/{book.id}/values/A1")
    assert answer.status_code == 403 and answer.json() == {"error": {
        "code": 403, "message": "The caller does not have permission",
        "status": "PERMISSION_DENIED"}}


def test_bad_ranges_and_grid_limits(sheets_server):
    book = sheets_server.create_spreadsheet("Practice", {"Clients": ROWS, "My Sheet": []})
    sheet = sheets_server.client().open_by_key(book.id)
    with pytest.raises(gspread.exceptions.APIError) as caught:
        sheet.values_get("Nowhere!A1")
    assert caught.value.code == 400
    assert caught.value.error["message"] == "Unable to parse range: Nowhere!A1"
    assert caught.value.error["status"] == "INVALID_ARGUMENT"
    with pytest.raises(gspread.exceptions.APIError) as caught:
        sheet.worksheet("Clients").update([["x"], ["y"]], "A1000")
    assert caught.value.error["message"] == (
        "Range (Clients!A1001) exceeds grid limits. Max rows: 1000, max columns: 26")
    with pytest.raises(gspread.exceptions.APIError) as caught:
        sheet.worksheet("My Sheet").update([["x"] * 27], "A1")
    assert caught.value.error["message"] == (
        "Range ('My Sheet'!AA1) exceeds grid limits. Max rows: 1000, max columns: 26")
    with pytest.raises(gspread.exceptions.APIError) as caught:
        sheet.worksheet("Clients").update([["a", "b", "c"]], "A1:B1")
    assert "tried writing to column [C]" in caught.value.error["message"]
    assert book.tab("Clients").values() == [["Name", "Born", "Visits"], ["Ada", "1990-01-02", "3"],
                                            ["Grace", "", "1"]]


def test_unknown_request_kinds_and_atomic_batch_updates(sheets_server):
    book = sheets_server.create_spreadsheet("Practice")
    sheet = sheets_server.client().open_by_key(book.id)
    with pytest.raises(gspread.exceptions.APIError) as caught:
        sheet.batch_update({"requests": [{"addSheet": {"properties": {"title": "New"}}},
                                         {"frobnicate": {}}]})
    assert caught.value.error["message"] == ('Invalid JSON payload received. Unknown name '
                                             '"frobnicate" at \'requests[1]\': Cannot find field.')
    with pytest.raises(gspread.exceptions.APIError) as caught:
        sheet.batch_update({"requests": [{"addSheet": {"properties": {"title": "New"}}},
                                         {"deleteSheet": {"sheetId": 12345}}]})
    assert caught.value.error["message"] == ("Invalid requests[1].deleteSheet: "
                                             "No grid with id: 12345")
    assert [t.title for t in book.tabs] == ["Sheet1"]


def test_a_request_without_authorization_is_refused(sheets_server):
    book = sheets_server.create_spreadsheet("Practice")
    answer = sheets_server.session(token=None).get(
        f"https://sheets.googleapis.com/v4/spreadsheets/{book.id}")
    assert answer.status_code == 401
    assert answer.json()["error"]["status"] == "UNAUTHENTICATED"


# -- fault injection and the request log ---------------------------------------------------------

@pytest.fixture
def no_backoff_sleep(monkeypatch):
    """BackOffHTTPClient sleeps 2, 4, 8 ... seconds between tries; record them instead."""
    waits: list[float] = []
    monkeypatch.setattr(gspread.http_client, "time", SimpleNamespace(sleep=waits.append))
    return waits


def test_a_503_then_success_with_backoff(sheets_server, no_backoff_sleep):
    book = sheets_server.create_spreadsheet("Practice", {"Clients": ROWS})
    gc = sheets_server.client(http_client=gspread.BackOffHTTPClient)
    clients = gc.open_by_key(book.id).worksheet("Clients")
    sheets_server.fail_next(503, match="PUT ")
    clients.update([["Ada L."]], "A2")
    assert book.tab("Clients").cell("A2").value == "Ada L."
    puts = sheets_server.requests("spreadsheets.values.update")
    assert [(r.status, r.fault) for r in puts] == [(503, "fail"), (200, None)]
    assert no_backoff_sleep == [2]


def test_faulted_requests_change_nothing(sheets_server):
    book = sheets_server.create_spreadsheet("Practice", {"Clients": ROWS})
    clients = sheets_server.client().open_by_key(book.id).worksheet("Clients")
    before = book.tab("Clients").values()
    for status in (429, 500, 503):
        sheets_server.fail_next(status, match="spreadsheets.values.append")
        with pytest.raises(gspread.exceptions.APIError) as caught:
            clients.append_rows([["Nobody"]])
        assert caught.value.code == status
        assert "Retry-After" not in caught.value.response.headers
    assert caught.value.error["status"] == "UNAVAILABLE"
    assert book.tab("Clients").values() == before
    sheets_server.fail_next(429)
    quota = sheets_server.session().get(
        f"https://sheets.googleapis.com/v4/spreadsheets/{book.id}").json()["error"]
    assert quota["status"] == "RESOURCE_EXHAUSTED" and "Read requests" in quota["message"]


def test_dropped_and_delayed_requests(sheets_server):
    book = sheets_server.create_spreadsheet("Practice", {"Clients": ROWS})
    gc = sheets_server.client()
    clients = gc.open_by_key(book.id).worksheet("Clients")
    sheets_server.drop_next(match="PUT ")
    with pytest.raises(requests.exceptions.ConnectionError):
        clients.update([["dropped"]], "A2")
    gc.set_timeout(0.3)
    sheets_server.delay_next(1.0, match="PUT ")
    with pytest.raises(requests.exceptions.Timeout):
        clients.update([["late"]], "A2")
    assert book.tab("Clients").cell("A2").value == "Ada"
    sheets_server.delay_next(0.6, match="PUT ", then_apply=True)
    with pytest.raises(requests.exceptions.Timeout):
        clients.update([["landed anyway"]], "A2")
    deadline = time.monotonic() + 5
    while book.tab("Clients").cell("A2").value == "Ada" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert book.tab("Clients").cell("A2").value == "landed anyway"
    gc.set_timeout(None)
    assert clients.acell("A2").value == "landed anyway"  # the connection pool recovered
    faults = [(r.fault, r.status) for r in sheets_server.requests(method="PUT")]
    assert faults == [("drop", None), ("delay", None), ("delay", 200)]


def test_faults_are_taken_in_order_and_matched(sheets_server):
    book = sheets_server.create_spreadsheet("Practice")
    session = sheets_server.session()
    url = f"https://sheets.googleapis.com/v4/spreadsheets/{book.id}"
    sheets_server.fail_next(500, count=2, match="/values/")
    sheets_server.fail_next(503)
    assert session.get(url).status_code == 503  # the first fault does not match
    assert session.get(url + "/values/A1").status_code == 500
    assert session.get(url + "/values/A1").status_code == 500
    assert session.get(url + "/values/A1").status_code == 200


def test_the_request_log_counts_requests_per_endpoint(sheets_server):
    book = sheets_server.create_spreadsheet("Practice", {"Clients": ROWS})
    sheet = sheets_server.client().open_by_key(book.id)
    sheets_server.clear_log()
    sheet.worksheet("Clients").get_all_values()
    sheet.worksheet("Clients").freeze(rows=1)
    assert [r.endpoint for r in sheets_server.requests()] == [
        "spreadsheets.get", "spreadsheets.values.get", "spreadsheets.get",
        "spreadsheets.batchUpdate"]
    update = sheets_server.requests("spreadsheets.batchUpdate")[0]
    assert update.request_kinds == ["updateSheetProperties"] and update.status == 200
    assert update.body["requests"][0]["updateSheetProperties"]["fields"] == \
        "gridProperties/frozenRowCount"
    read = sheets_server.requests("spreadsheets.values.get")[0]
    assert read.path.endswith("/values/'Clients'") and read.host == "sheets.googleapis.com"
    assert sheets_server.count(method="GET") == 3


def test_concurrent_clients(sheets_server):
    book = sheets_server.create_spreadsheet("Practice", {"Log": []})
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            tab = sheets_server.client().open_by_key(book.id).worksheet("Log")
            for i in range(5):
                tab.append_rows([[f"w{n}", i]])
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(book.tab("Log").values()) == 20


# -- the pieces ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("Sheet1", ("Sheet1", 0, 1000, 0, 26)),
    ("'My Sheet'!A1:C5", ("My Sheet", 0, 5, 0, 3)),
    ("Sheet1!A:Z", ("Sheet1", 0, 1000, 0, 26)),
    ("Sheet1!2:5", ("Sheet1", 1, 5, 0, 26)),
    ("Sheet1!D4:A1", ("Sheet1", 0, 4, 0, 4)),
    ("B2:B", ("Sheet1", 1, 1000, 1, 2)),
    ("'It''s'!$A$1", ("It's", 0, 1, 0, 1)),
])
def test_a1_ranges(text, expected):
    backend = fake.SheetsBackend()
    book = backend.new_book("t")
    for title in ("Sheet1", "My Sheet", "It's"):
        backend.new_tab(book, {"title": title})
    target = backend.resolve(book, text)
    assert (target.tab.title, *target.rows, *target.cols) == expected


@pytest.mark.parametrize("text", ["Nope!A1", "Sheet1!A1:B2:C3", "Sheet1!1A", "'Sheet1", "A"])
def test_unparsable_ranges(text):
    backend = fake.SheetsBackend()
    book = backend.new_book("t")
    backend.new_tab(book)
    with pytest.raises(fake.ApiError, match="Unable to parse range"):
        backend.resolve(book, text)


@pytest.mark.parametrize(("typed", "entered", "formatted"), [
    ("42", {"numberValue": 42}, "42"),
    ("0123", {"numberValue": 123}, "123"),
    ("-1.50", {"numberValue": -1.5}, "-1.5"),
    ("2,000,000.01", {"numberValue": 2000000.01}, "2,000,000.01"),
    ("12.5%", {"numberValue": 0.125}, "12.50%"),
    ("$5", {"numberValue": 5}, "$5.00"),
    ("2026-11-23", {"numberValue": 46349}, "2026-11-23"),
    ("11/23/2026", {"numberValue": 46349}, "11/23/2026"),
    ("2026-11-23 14:05", {"numberValue": 46349 + (14 * 60 + 5) / 1440}, "2026-11-23 14:05:00"),
    ("true", {"boolValue": True}, "TRUE"),
    ("=1+1", {"formulaValue": "=1+1"}, "2"),
    ("'0123", {"stringValue": "0123"}, "0123"),
    ("2026-02-30", {"stringValue": "2026-02-30"}, "2026-02-30"),
    ("F32.9", {"stringValue": "F32.9"}, "F32.9"),
])
def test_user_entered_values(typed, entered, formatted):
    got, number_format = fake.user_entered(typed)
    assert got == pytest.approx(entered) if "numberValue" in entered else got == entered
    cell = {"userEnteredValue": got}
    if number_format:
        cell["userEnteredFormat"] = {"numberFormat": number_format}
    assert fake.render(cell) == formatted


def test_field_masks():
    tree = fake.parse_fields("sheets(properties/title,data.rowData),namedRanges")
    value = {"sheets": [{"properties": {"title": "A", "index": 0}, "merges": []}],
             "spreadsheetId": "x"}
    assert fake.select_fields(value, tree) == {"sheets": [{"properties": {"title": "A"}}]}
    target = {"gridProperties": {"rowCount": 5, "frozenRowCount": 2}, "title": "A"}
    fake.merge_fields(target, {"gridProperties": {"rowCount": 9}},
                      fake.parse_fields("gridProperties.rowCount,gridProperties.frozenRowCount"))
    assert target == {"gridProperties": {"rowCount": 9}, "title": "A"}


def test_state_helpers(sheets_server):
    import datetime as dt

    book = sheets_server.create_spreadsheet("Practice", {"Referrals": [
        ["id", "received"], ["R1", dt.date(2026, 11, 23)], ["R2", "=HYPERLINK(\"x\")"]]})
    tab = book.tab("Referrals")
    assert tab.cell("B2").number_format == {"type": "DATE", "pattern": "yyyy-mm-dd"}
    assert tab.cell("B2").formatted == "2026-11-23"
    assert tab.cell("B3").kind == "string"  # RAW by default
    book.tab("Referrals").set_values("B3", [["=1+2"]], value_input="USER_ENTERED")
    assert tab.cell("B3").kind == "formula" and tab.cell("B3").formatted == "3"
    assert tab.cell("Z99").kind is None
    assert [t.title for t in book.tabs] == ["Referrals"]
    with pytest.raises(KeyError):
        sheets_server.state("no such id")
