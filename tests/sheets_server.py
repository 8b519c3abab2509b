"""A small but real Google Sheets API v4 server on loopback, for tests.

Google cannot be reached from the machines the tests run on, yet refdesk talks to Google Sheets
through unmodified gspread. `SheetsServer` runs a `ThreadingHTTPServer` on 127.0.0.1 in a
background thread and answers the Sheets v4 endpoints gspread uses (and the few Drive v3 ones
behind `Client.open`, `create` and `del_spreadsheet`) from real in-memory state, over real
HTTP/1.1. `server.client()` is a genuine `gspread.Client` whose requests for
https://sheets.googleapis.com and https://www.googleapis.com go to that socket instead.

    with SheetsServer() as server:
        book = server.create_spreadsheet("Referrals", {"Clients": [["Name"], ["Ada"]]})
        sheet = server.client().open_by_key(book.id).sheet1
        assert sheet.get_all_values() == [["Name"], ["Ada"]]
        assert book.tab("Clients").cell("A2").kind == "string"

In pytest, the `sheets_server` fixture below gives a running server per test. Import it into
the test module: `from tests.sheets_server import sheets_server_fixture  # noqa: F401` (pytest
registers it as "sheets_server" whatever name it is imported under, and the alias keeps ruff
from reading the tests' `sheets_server` parameters as redefinitions, F811).
`from tests.sheets_server import sheets_server` works too, at the price of that F811.
`tests` is a package and pytest's `pythonpath = ["."]` puts the repository root on sys.path,
so the module imports as `tests.sheets_server`.

The responses are modelled on real recorded ones (the vcrpy cassettes of gspread's own test
suite in /work/shared/corpus/sheets-api); tests/test_sheets_server.py replays those cassettes
against this server and compares shapes. Where the recordings are silent the behaviour is a
guess, marked "Guess:" where it is made. The choices a test author should know:

* `spreadsheets.get` honours the whole partial-response `fields` syntax (`a.b`, `a/b`,
  `a(b,c)`, `*`), returns grid data when `includeGridData=true` or when `fields` selects
  `sheets.data`, and with `ranges=` returns only the sheets those ranges name (Guess), one
  `data` entry per range. Grid data carries userEnteredValue, effectiveValue, formattedValue,
  userEnteredFormat, note and dataValidation, but no effectiveFormat.
* A USER_ENTERED string starting with "=" is stored as a formula. Plain arithmetic (numbers,
  strings, TRUE/FALSE, + - * / ^ &, parentheses) is evaluated, as Google does for "=4/2" in the
  recordings; anything else (cell references, functions) is not evaluated and renders as the
  error "#NAME?" under FORMATTED_VALUE and UNFORMATTED_VALUE, as its text under FORMULA.
* USER_ENTERED parses, for the en_US locale: numbers ("0123" becomes 123), "1,234.5" (format
  "#,##0.00"), "12%" (PERCENT), "$5" (CURRENCY), TRUE/FALSE, ISO dates ("2026-11-23", format
  "yyyy-mm-dd"), ISO date-times and US dates ("11/23/2026", format "M/d/yyyy"); a leading
  apostrophe forces text. Google's parser accepts more (times, other date spellings); those
  stay text here.
* Writing "" clears a cell's value; null leaves the cell alone (both as in the recordings).
* Ranges Google returns name the sheet bare when it is a plain identifier ("Sheet1!A1:Z1000")
  and quoted otherwise ("'My Sheet'!A1", "'D3'!A1"), as recorded. A write past the grid fails
  with "Range (Sheet1!A1001) exceeds grid limits. Max rows: 1000, max columns: 26", naming the
  part outside the grid (as in reports of the error); a write past an explicit range fails
  with "Requested writing within range [...], but tried writing to row [N]" (Guess: wording).
  `:append` grows the grid, rows and columns (Guess: columns too).
* Requests Google knows but this server does not implement (sortRange, copyPaste, Drive
  export ...) answer 501 UNIMPLEMENTED, so a test never mistakes them for success; unknown
  request kinds get Google's 400 "Invalid JSON payload received. Unknown name ...".
* Every mutating request is atomic: it runs on a copy of the spreadsheet that replaces the
  original only on success, so a request that fails, or is faulted, changes nothing (except
  `delay_next(..., then_apply=True)`, which models a write landing after the client gave up).
* Google's limits, none of them in the recordings (Guess: each as documented or reported):
  10,000,000 cells per spreadsheet (`backend.cell_limit`), every tab's whole grid counted; a
  request that would pass it (addSheet, appendDimension, insertDimension, a larger rowCount,
  an :append that grows the grid) fails with 400 "Invalid requests[0].appendDimension: This
  action would increase the number of cells in the workbook above the limit of 10000000
  cells." and changes nothing. A body over 10,485,760 bytes (`server.body_limit`) gets 400
  "Request payload size exceeds the limit: 10485760 bytes.". Per-minute quotas are off
  unless a test turns them on: `clock = server.set_quota(read=60, write=60)` answers 429
  RESOURCE_EXHAUSTED past that many requests a minute per user, on a clock the test moves
  (`clock.advance(60)`).
* Answers are compact JSON (Google indents; the content is the same and big sheets are
  quicker), and every request and answer is in `server.requests()`.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import random
import re
import socket
import string
import struct
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from time import monotonic
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

import google.auth.credentials
import gspread
import pytest
import requests
from requests.adapters import HTTPAdapter

SHEETS_HOST = "sheets.googleapis.com"
DRIVE_HOST = "www.googleapis.com"
SHEETS_MIME = "application/vnd.google-apps.spreadsheet"
DEFAULT_OWNER = "refdesk-test@refdesk-test.iam.gserviceaccount.com"

# A new spreadsheet's properties besides title, as Google returns them (copied from the corpus).
_ACCENTS = [
    ("TEXT", {}), ("BACKGROUND", {"red": 1, "green": 1, "blue": 1}),
    ("ACCENT1", {"red": 0.25882354, "green": 0.52156866, "blue": 0.95686275}),
    ("ACCENT2", {"red": 0.91764706, "green": 0.2627451, "blue": 0.20784314}),
    ("ACCENT3", {"red": 0.9843137, "green": 0.7372549, "blue": 0.015686275}),
    ("ACCENT4", {"red": 0.20392157, "green": 0.65882355, "blue": 0.3254902}),
    ("ACCENT5", {"red": 1, "green": 0.42745098, "blue": 0.003921569}),
    ("ACCENT6", {"red": 0.27450982, "green": 0.7411765, "blue": 0.7764706}),
    ("LINK", {"red": 0.06666667, "green": 0.33333334, "blue": 0.8}),
]
_DEFAULT_BOOK_PROPERTIES: dict[str, Any] = {
    "locale": "en_US",
    "autoRecalc": "ON_CHANGE",
    "timeZone": "Etc/GMT",
    "defaultFormat": {
        "backgroundColor": {"red": 1, "green": 1, "blue": 1},
        "padding": {"top": 2, "right": 3, "bottom": 2, "left": 3},
        "verticalAlignment": "BOTTOM",
        "wrapStrategy": "OVERFLOW_CELL",
        "textFormat": {
            "foregroundColor": {}, "fontFamily": "arial,sans,sans-serif", "fontSize": 10,
            "bold": False, "italic": False, "strikethrough": False, "underline": False,
            "foregroundColorStyle": {"rgbColor": {}},
        },
        "backgroundColorStyle": {"rgbColor": {"red": 1, "green": 1, "blue": 1}},
    },
    "spreadsheetTheme": {
        "primaryFontFamily": "Arial",
        "themeColors": [{"colorType": t, "color": {"rgbColor": c}} for t, c in _ACCENTS],
    },
}
DEFAULT_ROWS, DEFAULT_COLUMNS = 1000, 26
#: Google's limits: cells per spreadsheet (all tabs' grids, empty cells too) and the bytes of
#: one request's body. Neither is in the recordings; both are as Google documents and as
#: reported (see SheetsBackend.check_cells and SheetsServer._refuse).
CELL_LIMIT = 10_000_000
BODY_LIMIT = 10_485_760
ROW_PIXELS, COLUMN_PIXELS = 21, 100

# Every request kind of spreadsheets.batchUpdate that Google knows. Those this server does not
# implement answer 501 UNIMPLEMENTED (an honest "not here"), unknown names the 400 Google gives.
_GOOGLE_REQUEST_KINDS = frozenset("""
    updateSpreadsheetProperties updateSheetProperties updateDimensionProperties updateNamedRange
    repeatCell addNamedRange deleteNamedRange addSheet deleteSheet autoFill cutPaste copyPaste
    mergeCells unmergeCells updateBorders updateCells addFilterView appendCells clearBasicFilter
    deleteDimension deleteEmbeddedObject deleteFilterView duplicateFilterView duplicateSheet
    findReplace insertDimension insertRange moveDimension updateEmbeddedObjectPosition pasteData
    textToColumns updateFilterView deleteRange appendDimension addConditionalFormatRule
    updateConditionalFormatRule deleteConditionalFormatRule sortRange setDataValidation
    setBasicFilter addProtectedRange updateProtectedRange deleteProtectedRange
    autoResizeDimensions addChart updateChartSpec updateBanding addBanding deleteBanding
    createDeveloperMetadata updateDeveloperMetadata deleteDeveloperMetadata randomizeRange
    addDimensionGroup deleteDimensionGroup updateDimensionGroup trimWhitespace deleteDuplicates
    updateEmbeddedObjectBorder addSlicer updateSlicerSpec addDataSource updateDataSource
    deleteDataSource refreshDataSource cancelDataSourceRefresh addTable updateTable deleteTable
""".split())

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
    409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 501: "UNIMPLEMENTED",
    502: "UNAVAILABLE", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
}
# The messages Google sends with injected failures (429/500/503 as seen in the wild).
_FAULT_MESSAGES = {
    403: "The caller does not have permission",
    429: ("Quota exceeded for quota metric '{kind} requests' and limit '{kind} requests per "
          "minute per user' of service 'sheets.googleapis.com' for consumer "
          "'project_number:000000000000'."),
    500: "Internal error encountered.",
    502: "Bad Gateway",
    503: "The service is currently unavailable.",
    504: "The request timed out. Please try again.",
}


class ApiError(Exception):
    """A Google-shaped error answer: {"error": {"code", "message", "status", ...}}."""

    def __init__(self, code: int, message: str, *, details: list[dict] | None = None,
                 errors: list[dict] | None = None, status: str | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.code, self.message = code, message
        self.status = status or _STATUS_NAMES.get(code, "UNKNOWN")
        self.details, self.errors, self.headers = details, errors, dict(headers or {})

    def body(self, *, drive: bool = False) -> dict[str, Any]:
        """Sheets errors carry `status` (and sometimes `details`); Drive v3 errors carry the
        older `errors` list instead of `status`."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if drive:
            error["errors"] = self.errors or [
                {"message": self.message, "domain": "global", "reason": _drive_reason(self.code)}
            ]
        else:
            error["status"] = self.status
            if self.details:
                error["details"] = self.details
            if self.errors:
                error["errors"] = self.errors
        return {"error": error}


def _drive_reason(code: int) -> str:
    return {400: "invalid", 401: "required", 403: "forbidden", 404: "notFound",
            429: "rateLimitExceeded", 500: "backendError", 503: "backendError"}.get(code, "error")


def _bad_request(message: str) -> ApiError:
    return ApiError(400, message)


def _invalid_field(field_path: str, value: Any) -> ApiError:
    """The error Google's JSON decoding gives for a value of the wrong type (as recorded)."""
    shown = json.dumps(value, ensure_ascii=False) if isinstance(value, str) else str(value)
    message = (f"Invalid value at '{field_path}' (type.googleapis.com/google.protobuf.ListValue), "
               f"{shown}")
    return ApiError(400, message, details=[{
        "@type": "type.googleapis.com/google.rpc.BadRequest",
        "fieldViolations": [{"field": field_path, "description": message}],
    }])


def _unknown_name(name: str, where: str) -> ApiError:
    message = (f"Invalid JSON payload received. Unknown name \"{name}\" at '{where}': "
               "Cannot find field.")
    return ApiError(400, message, details=[{
        "@type": "type.googleapis.com/google.rpc.BadRequest",
        "fieldViolations": [{"field": where, "description": message}],
    }])


NOT_FOUND_MESSAGE = "Requested entity was not found."
PERMISSION_MESSAGE = "The caller does not have permission"
UNAUTHENTICATED_MESSAGE = (
    "Request is missing required authentication credential. Expected OAuth 2 access token, "
    "login cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project.")


# ----------------------------------------------------------------------------------------------
# A1 notation


def column_letters(index: int) -> str:
    """0 -> "A", 25 -> "Z", 26 -> "AA"."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def column_index(letters: str) -> int:
    """"A" -> 0, "AA" -> 26 (case-insensitive)."""
    index = 0
    for ch in letters.upper():
        index = index * 26 + ord(ch) - 64
    return index - 1


def a1_cell(row: int, col: int) -> str:
    """0-based (row, col) -> "B3"."""
    return f"{column_letters(col)}{row + 1}"


def a1_span(r0: int, r1: int, c0: int, c1: int) -> str:
    """A half-open 0-based rectangle in A1 notation; one cell is written without a colon."""
    if r1 - r0 == 1 and c1 - c0 == 1:
        return a1_cell(r0, c0)
    return f"{a1_cell(r0, c0)}:{a1_cell(r1 - 1, c1 - 1)}"


def sheet_ref(title: str) -> str:
    """A sheet name as Google writes it in ranges it returns: bare when it is a plain
    identifier ("Sheet1"), quoted when it has other characters ("'My Sheet'") or could be read
    as a cell ("'D3'", as recorded). Guess: R1C1-looking names are quoted too."""
    plain = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", title)
    cell_like = re.fullmatch(r"[A-Za-z]{1,3}[0-9]+", title) or re.fullmatch(
        r"[Rr][0-9]*[Cc][0-9]*", title)
    if plain and not cell_like:
        return title
    return "'" + title.replace("'", "''") + "'"


_ENDPOINT_RE = re.compile(r"\$?([A-Za-z]{1,3})?\$?([0-9]+)?")


def _parse_endpoint(text: str) -> tuple[int | None, int | None] | None:
    """"B3" -> (1, 2); "B" -> (1, None); "3" -> (None, 2); anything else -> None."""
    m = _ENDPOINT_RE.fullmatch(text.strip())
    if not m or (m.group(1) is None and m.group(2) is None):
        return None
    col = column_index(m.group(1)) if m.group(1) else None
    row = int(m.group(2)) - 1 if m.group(2) else None
    if row is not None and row < 0:
        return None
    return col, row


def _bounds(a: int | None, b: int | None) -> tuple[int, int | None]:
    """Half-open bounds from two optional inclusive endpoints; None end means "to the grid's
    end"."""
    if a is not None and b is not None:
        return min(a, b), max(a, b) + 1
    if a is not None:
        return a, None
    if b is not None:
        return 0, b + 1
    return 0, None


@dataclass
class Target:
    """A resolved range: a tab and a rectangle whose open ends (None) reach the grid's edge.
    `anchor` marks a range that only gives a start (one cell, or a whole sheet): writes may
    extend from it up to the grid's edge."""

    tab: _Tab
    r0: int
    r1: int | None
    c0: int
    c1: int | None
    anchor: bool = False

    @property
    def rows(self) -> tuple[int, int]:
        return self.r0, min(self.r1 if self.r1 is not None else self.tab.rows, self.tab.rows)

    @property
    def cols(self) -> tuple[int, int]:
        return self.c0, min(self.c1 if self.c1 is not None else self.tab.cols, self.tab.cols)

    def display(self) -> str:
        """The range as Google echoes it: clamped to the grid, sheet name quoted if needed."""
        (r0, r1), (c0, c1) = self.rows, self.cols
        return f"{sheet_ref(self.tab.title)}!{a1_span(r0, max(r1, r0 + 1), c0, max(c1, c0 + 1))}"


def _split_sheet(text: str) -> tuple[str | None, str | None]:
    """"'My ''x'''!A1" -> ("My 'x'", "A1"); "Sheet1" -> (None, "Sheet1") (resolved later)."""
    if text.startswith("'"):
        i, name = 1, []
        while i < len(text):
            if text[i] == "'":
                if text[i + 1:i + 2] == "'":
                    name.append("'")
                    i += 2
                    continue
                rest = text[i + 1:]
                if rest == "":
                    return "".join(name), ""
                if rest.startswith("!"):
                    return "".join(name), rest[1:]
                raise ValueError(text)
            name.append(text[i])
            i += 1
        raise ValueError(text)
    if "!" in text:
        sheet, _, cells = text.rpartition("!")
        return sheet, cells
    return None, text


def _parse_cells(text: str) -> tuple[int, int | None, int, int | None, bool] | None:
    """"A1:C5", "A:Z", "2:5", "A2:2", "A1:A", "B3" -> (r0, r1, c0, c1, anchor) or None."""
    parts = text.split(":")
    if len(parts) == 1:
        end = _parse_endpoint(parts[0])
        if end is None or end[0] is None or end[1] is None:
            return None  # Guess: a lone column ("A") or row ("3") is not a range for Google
        col, row = end
        return row, row + 1, col, col + 1, True
    if len(parts) != 2:
        return None
    a, b = _parse_endpoint(parts[0]), _parse_endpoint(parts[1])
    if a is None or b is None:
        return None
    c0, c1 = _bounds(a[0], b[0])
    r0, r1 = _bounds(a[1], b[1])
    return r0, r1, c0, c1, False


# ----------------------------------------------------------------------------------------------
# Field masks (partial responses, and the `fields` of update requests)


_FIELD_PATH_RE = re.compile(r"\s*([A-Za-z0-9_@*]+(?:[./][A-Za-z0-9_@*]+)*)\s*")

FieldTree = dict[str, Any]  # name -> None (the whole value) or a FieldTree (some of it)


def parse_fields(mask: str) -> FieldTree:
    """"sheets.properties,namedRanges" / "sheets/data/rowData" / "files(id,name)" -> a tree
    {"sheets": {"properties": None}, "namedRanges": None}, None selecting a whole value."""
    pos = 0

    def parse_list(closing: str | None) -> FieldTree:
        nonlocal pos
        tree: FieldTree = {}
        while True:
            m = _FIELD_PATH_RE.match(mask, pos)
            if not m:
                raise _bad_request(f"Invalid field selection {mask}")
            pos = m.end()
            sub = None
            if mask.startswith("(", pos):
                pos += 1
                sub = parse_list(")")
            _add_field(tree, re.split(r"[./]", m.group(1)), sub)
            if mask.startswith(",", pos):
                pos += 1
            elif closing and mask.startswith(closing, pos):
                pos += 1
                return tree
            elif closing is None and pos == len(mask):
                return tree
            else:
                raise _bad_request(f"Invalid field selection {mask}")

    return parse_list(None)


def _add_field(tree: FieldTree, path: list[str], sub: FieldTree | None) -> None:
    """Add one path to a tree; selecting a whole value wins over selecting parts of it."""
    name, rest = path[0], path[1:]
    if name in tree and tree[name] is None:
        return
    if not rest and sub is None:
        tree[name] = None
        return
    child = tree.setdefault(name, {})
    if rest:
        _add_field(child, rest, sub)
    else:
        for key, value in (sub or {}).items():
            _add_field(child, [key], value)


def select_fields(value: Any, tree: FieldTree | None) -> Any:
    """Keep only the selected fields, as Google's partial responses do: selected-but-absent
    fields are left out, their parents stay (possibly as {})."""
    if tree is None or "*" in tree:
        return value
    if isinstance(value, list):
        return [select_fields(v, tree) for v in value]
    if isinstance(value, dict):
        return {k: select_fields(value[k], sub) for k, sub in tree.items() if k in value}
    return value


def merge_fields(target: dict[str, Any], source: Mapping[str, Any], tree: FieldTree) -> None:
    """Copy the masked fields of `source` into `target`; a masked field absent from `source`
    is cleared, which is how Google's update requests reset a field."""
    for key, sub in tree.items():
        if key == "*":
            target.clear()
            target.update(copy.deepcopy(dict(source)))
        elif sub is None:
            value = _colours(copy.deepcopy(source.get(key)))
            if value is None or (isinstance(value, dict) and value
                                 and all(v is None for v in value.values())):
                target.pop(key, None)  # {"rgbColor": null}: a cleared ColorStyle is unset
            else:
                target[key] = value
        else:
            child = target.get(key)
            child = child if isinstance(child, dict) else {}
            merge_fields(child, source.get(key) or {}, sub)
            if child:
                target[key] = child
            else:
                target.pop(key, None)


def _needs_fields(kind: str, body: Mapping[str, Any], index: int) -> FieldTree:
    mask = body.get("fields")
    if not mask:
        raise _bad_request(f"Invalid requests[{index}].{kind}: At least one field must be "
                           "specified in 'fields'.")  # Guess: the wording
    return parse_fields(mask)


# ----------------------------------------------------------------------------------------------
# Cell values: entering (RAW / USER_ENTERED) and rendering (FORMATTED / UNFORMATTED / FORMULA)

EPOCH = datetime(1899, 12, 30)  # serial number 0, as in Sheets and Excel
_DATE_TYPES = {"DATE", "TIME", "DATE_TIME"}
_DEFAULT_PATTERNS = {  # en_US defaults when a numberFormat has a type but no pattern
    "DATE": "M/d/yyyy", "TIME": "h:mm:ss am/pm", "DATE_TIME": "M/d/yyyy H:mm:ss",
    "NUMBER": "#,##0.00", "PERCENT": "0.00%", "CURRENCY": '"$"#,##0.00',
    "SCIENTIFIC": "0.00E+00",
}


def serial_from(value: date | datetime) -> float:
    """A date or datetime as a spreadsheet serial number (days since 1899-12-30)."""
    moment = value if isinstance(value, datetime) else datetime.combine(value, time())
    delta = moment.replace(tzinfo=None) - EPOCH
    serial = delta.days + delta.seconds / 86400 + delta.microseconds / 86_400_000_000
    return int(serial) if serial == int(serial) else serial


def datetime_from(serial: float) -> datetime:
    return EPOCH + timedelta(seconds=round(serial * 86400))


def _number(value: float) -> int | float:
    """Integral floats as ints, so JSON shows 2 rather than 2.0 (as Google does)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


_NUMBER_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_GROUPED_RE = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")
_ISO_DATE_RE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_ISO_DATETIME_RE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?")
_US_DATE_RE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


def user_entered(text: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Parse a string as if typed into the Sheets UI (en_US): an ExtendedValue and the
    numberFormat Google attaches to it, if any."""
    stripped = text.strip()
    if text.startswith("'"):
        return {"stringValue": text[1:]}, None
    if text.startswith("=") and len(text) > 1:
        return {"formulaValue": text}, None
    if stripped.upper() in ("TRUE", "FALSE"):
        return {"boolValue": stripped.upper() == "TRUE"}, None
    if _NUMBER_RE.fullmatch(stripped):
        return {"numberValue": _number(float(stripped))}, None
    if _GROUPED_RE.fullmatch(stripped):
        # Guess: the pattern keeps two decimals when decimals were typed ("2,000,000.01" is
        # recorded to come back as "2,000,000.01").
        pattern = "#,##0.00" if "." in stripped else "#,##0"
        return ({"numberValue": _number(float(stripped.replace(",", "")))},
                {"type": "NUMBER", "pattern": pattern})
    if stripped.endswith("%") and _NUMBER_RE.fullmatch(stripped[:-1].strip()):
        number = float(stripped[:-1]) / 100
        pattern = "0.00%" if "." in stripped else "0%"
        return {"numberValue": _number(number)}, {"type": "PERCENT", "pattern": pattern}
    money = re.fullmatch(r"([+-]?)\$(\d+(?:,\d{3})*(?:\.\d+)?|\d*\.\d+)", stripped)
    if money:
        number = float(money.group(2).replace(",", "")) * (-1 if money.group(1) == "-" else 1)
        return ({"numberValue": _number(number)},
                {"type": "CURRENCY", "pattern": '"$"#,##0.00'})
    parsed = _parse_date(stripped)
    if parsed is not None:
        moment, number_format = parsed
        return {"numberValue": serial_from(moment)}, number_format
    return {"stringValue": text}, None


def _parse_date(text: str) -> tuple[datetime, dict[str, str]] | None:
    """ISO dates and date-times and US dates, with the pattern Google then shows them in."""
    try:
        if m := _ISO_DATE_RE.fullmatch(text):
            y, mo, d = map(int, m.groups())
            return datetime(y, mo, d), {"type": "DATE", "pattern": "yyyy-mm-dd"}
        if m := _ISO_DATETIME_RE.fullmatch(text):
            y, mo, d, h, mi = map(int, m.groups()[:5])
            s = int(m.group(6) or 0)
            return (datetime(y, mo, d, h, mi, s),
                    {"type": "DATE_TIME", "pattern": "yyyy-mm-dd h:mm:ss"})  # Guess: pattern
        if m := _US_DATE_RE.fullmatch(text):
            mo, d, y = map(int, m.groups())
            return datetime(y, mo, d), {"type": "DATE", "pattern": "M/d/yyyy"}
    except ValueError:  # 2026-02-30 is text, as in the UI
        return None
    return None


def raw_value(value: Any) -> dict[str, Any] | None:
    """A JSON value entered RAW: strings stay strings exactly, numbers numbers, booleans
    booleans; "" clears (None) and null is handled by the caller (skip)."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int | float):
        return {"numberValue": _number(value)}
    if isinstance(value, str):
        return {"stringValue": value} if value != "" else None
    raise TypeError(value)


@dataclass(frozen=True)
class FormulaError:
    """A spreadsheet error value such as #NAME? (the result of a formula)."""

    code: str

    @property
    def type(self) -> str:
        return {"#NAME?": "NAME", "#DIV/0!": "DIVIDE_BY_ZERO", "#VALUE!": "VALUE",
                "#ERROR!": "ERROR", "#NUM!": "NUM"}[self.code]


_FORMULA_TOKEN = re.compile(r"""\s*(?:
    (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<str>"(?:[^"]|"")*")
  | (?P<op>[-+*/^&()])
  | (?P<name>[A-Za-z_$][A-Za-z0-9_.$!:']*)
  | (?P<other>\S))""", re.X)


def evaluate(formula: str) -> float | str | bool | FormulaError:
    """Evaluate the arithmetic subset of a formula (see the module docstring); the rest is
    #NAME? (names: references, functions) or #ERROR! (syntax)."""
    tokens: list[tuple[str, str]] = []
    pos = 1  # after "="
    while pos < len(formula):
        m = _FORMULA_TOKEN.match(formula, pos)
        if not m or m.end() == pos:
            break
        pos = m.end()
        kind = m.lastgroup or "other"
        text = m.group(kind)
        if kind == "name" and text.upper() in ("TRUE", "FALSE"):
            kind = "bool"
        elif kind == "name":
            return FormulaError("#NAME?")
        elif kind == "other":
            return FormulaError("#ERROR!")
        tokens.append((kind, text))
    stream = iter(tokens)
    current = next(stream, ("end", ""))

    def advance() -> tuple[str, str]:
        nonlocal current
        token, current = current, next(stream, ("end", ""))
        return token

    def num(v: Any) -> float:
        if isinstance(v, FormulaError):
            raise _Bail(v)
        if isinstance(v, bool):
            return float(v)
        if isinstance(v, str):
            try:
                return float(v)
            except ValueError:
                raise _Bail(FormulaError("#VALUE!")) from None
        return v

    def text_of(v: Any) -> str:
        if isinstance(v, FormulaError):
            raise _Bail(v)
        if isinstance(v, bool):
            return "TRUE" if v else "FALSE"
        return format_automatic(v) if isinstance(v, int | float) else v

    def concat() -> Any:
        value = additive()
        while current == ("op", "&"):
            advance()
            value = text_of(value) + text_of(additive())
        return value

    def additive() -> Any:
        value = term()
        while current[0] == "op" and current[1] in "+-":
            op = advance()[1]
            right = term()
            value = num(value) + num(right) if op == "+" else num(value) - num(right)
        return value

    def term() -> Any:
        value = power()
        while current[0] == "op" and current[1] in "*/":
            op = advance()[1]
            right = num(power())
            if op == "/" and right == 0:
                raise _Bail(FormulaError("#DIV/0!"))
            value = num(value) * right if op == "*" else num(value) / right
        return value

    def power() -> Any:
        value = unary()
        while current == ("op", "^"):
            advance()
            try:
                value = num(value) ** num(unary())
            except (OverflowError, ZeroDivisionError):
                raise _Bail(FormulaError("#NUM!")) from None
            if isinstance(value, complex):  # (-8) ^ (1/3)
                raise _Bail(FormulaError("#NUM!"))
        return value

    def unary() -> Any:
        if current[0] == "op" and current[1] in "+-":
            op = advance()[1]
            value = num(unary())
            return -value if op == "-" else value
        return primary()

    def primary() -> Any:
        kind, text = advance()
        if kind == "num":
            return float(text)
        if kind == "str":
            return text[1:-1].replace('""', '"')
        if kind == "bool":
            return text.upper() == "TRUE"
        if (kind, text) == ("op", "("):
            value = concat()
            if advance() != ("op", ")"):
                raise _Bail(FormulaError("#ERROR!"))
            return value
        raise _Bail(FormulaError("#ERROR!"))

    try:
        result = concat()
        if current[0] != "end":
            return FormulaError("#ERROR!")
    except _Bail as bail:
        return bail.error
    return _number(result) if isinstance(result, float) else result


class _Bail(Exception):
    def __init__(self, error: FormulaError) -> None:
        super().__init__(error.code)
        self.error = error


def format_automatic(number: float) -> str:
    """A number under Sheets' "Automatic" format. Guess: up to 10 decimals and 15 significant
    digits, scientific from 1E+15 up (the recordings show "0.0009765625", "1.45", "53")."""
    if type(number) is int and abs(number) < 10**15:
        return str(number)
    if isinstance(number, bool):
        return "TRUE" if number else "FALSE"
    if number == int(number) and abs(number) < 1e15:
        return str(int(number))
    if abs(number) >= 1e15 or abs(number) < 1e-10:
        mantissa, _, exponent = f"{number:.2E}".partition("E")
        return f"{mantissa}E{exponent[0]}{int(exponent[1:]):02d}"
    value = Decimal(f"{number:.15g}")
    if int(value.as_tuple().exponent) < -10:
        value = value.quantize(Decimal("1e-10"), rounding=ROUND_HALF_EVEN)
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


_NUMBER_CORE_RE = re.compile(r"[0#?][0#?,]*(?:\.[0#?]*)?(?:[eE][+-][0#]+)?|\.[0#?]+")


def _literal(part: str) -> str:
    """The literal text of a number pattern's prefix or suffix ("$", "\\ kg", '"USD "')."""
    part = re.sub(r'"([^"]*)"', r"\1", part)
    part = re.sub(r"\\(.)", r"\1", part)
    return re.sub(r"[_*].", "", part)


def format_number_pattern(number: float, pattern: str) -> str:
    """A number under a NUMBER/PERCENT/CURRENCY/SCIENTIFIC pattern: the common subset of the
    syntax (sections `;`, digits 0 # ?, grouping `,`, decimals, %, E+00, literal text)."""
    sections = pattern.split(";")
    sign = ""
    if number < 0 and len(sections) > 1:
        section, number = sections[1], -number
    elif number == 0 and len(sections) > 2:
        section = sections[2]
    else:
        section = sections[0]
        sign = "-" if number < 0 else ""
        number = abs(number)
    m = _NUMBER_CORE_RE.search(section)
    if not m:
        return sign + _literal(section)
    prefix, core, suffix = section[:m.start()], m.group(), section[m.end():]
    if "%" in prefix + suffix:
        number *= 100
    exponent = re.search(r"[eE]", core) is not None
    whole, _, fraction = re.split(r"[eE]", core, maxsplit=1)[0].partition(".")
    min_decimals, max_decimals = fraction.count("0"), len(fraction)
    if exponent:
        text = f"{number:.{max_decimals}E}"
        mantissa, _, power = text.partition("E")
        body = f"{mantissa}E{power[0]}{int(power[1:]):02d}"
    else:
        rounded = Decimal(repr(float(number))).quantize(Decimal(1).scaleb(-max_decimals),
                                                         rounding=ROUND_HALF_UP)
        text = f"{rounded:f}"
        integer, _, decimals = text.partition(".")
        while len(decimals) > min_decimals and decimals.endswith("0"):
            decimals = decimals[:-1]
        min_integer = whole.replace(",", "").count("0")
        if integer == "0" and min_integer == 0:
            integer = ""
        integer = integer.rjust(min_integer, "0")
        if "," in whole and integer:
            integer = f"{int(integer):,}"
        body = integer + ("." + decimals if decimals else "")
    return sign + _literal(prefix) + body + _literal(suffix)


_DATE_TOKEN_RE = re.compile(
    r'"[^"]*"|\\.|yyyy|yy|mmmmm|mmmm|mmm|mm|m|dddd|ddd|dd|d|hh|h|ss|s|am/pm|a/p|\.0+|.',
    re.IGNORECASE)


def format_datetime_pattern(serial: float, pattern: str) -> str:
    """A serial number under a DATE/TIME/DATE_TIME pattern (yyyy, mm, mmm, d, h, mm (minutes
    after h or before s), ss, am/pm; h is 12-hour only with an am/pm marker)."""
    moment = datetime_from(serial)
    tokens = _DATE_TOKEN_RE.findall(pattern)
    twelve = any(t.lower() in ("am/pm", "a/p") for t in tokens)
    kinds = [t.lower() for t in tokens]
    out = []
    for i, (token, low) in enumerate(zip(tokens, kinds, strict=True)):
        if low in ("m", "mm"):
            before = next((k for k in reversed(kinds[:i]) if k[0] in "hsdym"), "")
            after = next((k for k in kinds[i + 1:] if k[0] in "hsdym"), "")
            if before.startswith("h") or after.startswith("s"):
                out.append(f"{moment.minute:0{len(low)}d}")
            else:
                out.append(f"{moment.month:0{len(low)}d}")
        elif low == "yyyy":
            out.append(f"{moment.year:04d}")
        elif low == "yy":
            out.append(f"{moment.year % 100:02d}")
        elif low in ("mmm", "mmmm", "mmmmm"):
            name = moment.strftime("%B")
            out.append({"mmm": name[:3], "mmmm": name, "mmmmm": name[:1]}[low])
        elif low in ("d", "dd"):
            out.append(f"{moment.day:0{len(low)}d}")
        elif low in ("ddd", "dddd"):
            name = moment.strftime("%A")
            out.append(name[:3] if low == "ddd" else name)
        elif low in ("h", "hh"):
            hour = moment.hour % 12 or 12 if twelve else moment.hour
            out.append(f"{hour:0{len(low)}d}")
        elif low in ("s", "ss"):
            out.append(f"{moment.second:0{len(low)}d}")
        elif low in ("am/pm", "a/p"):
            marker = "AM" if moment.hour < 12 else "PM"
            out.append(marker if low == "am/pm" else marker[0])
        elif low.startswith(".0"):
            out.append("." + "0" * (len(low) - 1))
        elif token.startswith('"'):
            out.append(token[1:-1])
        elif token.startswith("\\"):
            out.append(token[1:])
        else:
            out.append(token)
    return "".join(out)


def format_number(number: float, number_format: Mapping[str, Any] | None) -> str:
    """FORMATTED_VALUE of a number, under the cell's numberFormat (or Automatic)."""
    if not number_format:
        return format_automatic(number)
    kind = number_format.get("type")
    pattern = number_format.get("pattern") or _DEFAULT_PATTERNS.get(kind or "", "")
    if kind in _DATE_TYPES:
        return format_datetime_pattern(number, pattern)
    if not pattern or kind == "TEXT":
        return format_automatic(number)
    return format_number_pattern(number, pattern)


VALUE_RENDER_OPTIONS = ("FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA")
DATETIME_RENDER_OPTIONS = ("SERIAL_NUMBER", "FORMATTED_STRING")


def effective_value(cell: Mapping[str, Any] | None) -> Any:
    """The value a cell shows, before formatting: number, str, bool, FormulaError or None."""
    entered = (cell or {}).get("userEnteredValue")
    if not entered:
        return None
    if "formulaValue" in entered:
        return evaluate(entered["formulaValue"])
    if "errorValue" in entered:
        return FormulaError("#ERROR!")
    for key in ("numberValue", "stringValue", "boolValue"):
        if key in entered:
            return entered[key]
    return None


def render(cell: Mapping[str, Any] | None, value_render: str = "FORMATTED_VALUE",
           datetime_render: str = "SERIAL_NUMBER") -> Any:
    """One cell as spreadsheets.values returns it; None for an empty cell."""
    entered = (cell or {}).get("userEnteredValue")
    if not entered:
        return None
    if value_render == "FORMULA" and "formulaValue" in entered:
        return entered["formulaValue"]
    value = effective_value(cell)
    number_format = ((cell or {}).get("userEnteredFormat") or {}).get("numberFormat")
    if isinstance(value, FormulaError):
        return value.code
    if isinstance(value, bool):
        return ("TRUE" if value else "FALSE") if value_render == "FORMATTED_VALUE" else value
    if isinstance(value, int | float):
        if value_render == "FORMATTED_VALUE":
            return format_number(value, number_format)
        is_date = bool(number_format) and number_format.get("type") in _DATE_TYPES
        if is_date and datetime_render == "FORMATTED_STRING":
            return format_number(value, number_format)
        return _number(float(value))
    return value


_COLOUR_KEYS = {"red", "green", "blue", "alpha"}


def _colours(value: Any) -> Any:
    """Colours as Google stores them: float32 components, zeros left out (proto3 defaults),
    so {"red": 1, "green": 0, "blue": 0.498} comes back {"red": 1, "blue": 0.49803922}."""
    if isinstance(value, dict):
        if value and set(value) <= _COLOUR_KEYS and all(
                isinstance(v, int | float) for v in value.values()):
            return {k: _float32(v) for k, v in value.items() if v}
        return {k: _colours(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_colours(v) for v in value]
    return value


def _float32(number: float) -> int | float:
    return _number(float(f"{struct.unpack('f', struct.pack('f', number))[0]:.8g}"))


def _normalise_format(fmt: dict[str, Any]) -> dict[str, Any]:
    """Google mirrors plain colours into their *Style twins (backgroundColorStyle ...)."""
    if "backgroundColor" in fmt and "backgroundColorStyle" not in fmt:
        fmt["backgroundColorStyle"] = {"rgbColor": copy.deepcopy(fmt["backgroundColor"])}
    text = fmt.get("textFormat")
    if isinstance(text, dict) and "foregroundColor" in text and "foregroundColorStyle" not in text:
        text["foregroundColorStyle"] = {"rgbColor": copy.deepcopy(text["foregroundColor"])}
    return fmt


def _proto_clean(value: Any) -> Any:
    """Drop nulls and false booleans, which Google's JSON output leaves out."""
    if isinstance(value, dict):
        return {k: _proto_clean(v) for k, v in value.items() if v is not None and v is not False}
    if isinstance(value, list):
        return [_proto_clean(v) for v in value]
    return value


# ----------------------------------------------------------------------------------------------
# State


Cell = dict[str, Any]  # CellData-shaped: userEnteredValue, userEnteredFormat, note, ...
Row = dict[int, Cell]  # column index -> cell


@dataclass
class _Tab:
    """One sheet (tab): Google's SheetProperties plus sparse cells, row -> column -> a
    CellData-shaped dict (userEnteredValue, userEnteredFormat, note, dataValidation).

    Rows are keyed by row so that reading a few rows of a 100,000-row sheet stays cheap, and
    a transaction can fork a tab by copying only the outer dict: `_owned` then lists the rows
    (and cells) this fork has copied already, so that it never changes one it shares with the
    original."""

    props: dict[str, Any]
    cells: dict[int, Row] = field(default_factory=dict)
    merges: list[dict[str, Any]] = field(default_factory=list)
    protected: list[dict[str, Any]] = field(default_factory=list)
    basic_filter: dict[str, Any] | None = None
    dimensions: dict[str, dict[int, dict[str, Any]]] = field(
        default_factory=lambda: {"ROWS": {}, "COLUMNS": {}})
    _owned: set[Any] | None = None  # None: owns everything (not a fork)

    def fork(self) -> _Tab:
        """A copy to change in a transaction, sharing rows and cells until they change."""
        return _Tab(props=copy.deepcopy(self.props), cells=dict(self.cells),
                    merges=copy.deepcopy(self.merges), protected=copy.deepcopy(self.protected),
                    basic_filter=copy.deepcopy(self.basic_filter),
                    dimensions=copy.deepcopy(self.dimensions), _owned=set())

    @property
    def sheet_id(self) -> int:
        return self.props["sheetId"]

    @property
    def title(self) -> str:
        return self.props["title"]

    @property
    def grid(self) -> dict[str, Any]:
        return self.props.setdefault("gridProperties", {})

    @property
    def rows(self) -> int:
        return self.grid.get("rowCount", 0)

    @property
    def cols(self) -> int:
        return self.grid.get("columnCount", 0)

    def count(self, dimension: str) -> int:
        return self.rows if dimension == "ROWS" else self.cols

    def set_count(self, dimension: str, value: int) -> None:
        self.grid["rowCount" if dimension == "ROWS" else "columnCount"] = value

    def get(self, row: int, col: int) -> Cell | None:
        line = self.cells.get(row)
        return line.get(col) if line else None

    def lines(self, r0: int, r1: int) -> Iterator[tuple[int, Row]]:
        """The non-empty rows in [r0, r1), in order."""
        if r1 - r0 <= len(self.cells):
            return ((r, self.cells[r]) for r in range(r0, r1) if r in self.cells)
        return ((r, self.cells[r]) for r in sorted(self.cells) if r0 <= r < r1)

    def region(self, r0: int, r1: int, c0: int, c1: int) -> Iterator[tuple[int, int, Cell]]:
        """The cells in a rectangle, as (row, col, cell), in reading order."""
        for r, line in self.lines(r0, r1):
            for c in sorted(line):
                if c0 <= c < c1:
                    yield r, c, line[c]

    def all_cells(self) -> Iterator[tuple[int, int, Cell]]:
        return self.region(0, max(self.cells, default=-1) + 1, 0, 1 << 30)

    def _writable_row(self, row: int) -> Row:
        line = self.cells.get(row)
        if line is None:
            line = self.cells[row] = {}
            if self._owned is not None:
                self._owned.add(row)
        elif self._owned is not None and row not in self._owned:
            line = self.cells[row] = dict(line)
            self._owned.add(row)
        return line

    def cell_update(self, row: int, col: int, change: Callable[[Cell], None]) -> None:
        """Apply `change` to a cell's dict (a private copy, in a fork), dropping the cell
        when nothing is left in it."""
        line = self._writable_row(row)
        cell = line.get(col)
        if cell is None:
            cell = {}
        elif self._owned is not None and (row, col) not in self._owned:
            cell = copy.deepcopy(cell)
        if self._owned is not None:
            self._owned.add((row, col))
        change(cell)
        if any(v not in (None, {}, "") for v in cell.values()):
            line[col] = cell
        else:
            line.pop(col, None)
            if not line:
                del self.cells[row]

    def set_value(self, row: int, col: int, entered: dict[str, Any] | None,
                  number_format: dict[str, Any] | None = None) -> None:
        """Set (or clear, with None) a cell's value; an automatic numberFormat only lands on
        a cell without one, as typing a date into a formatted cell keeps its format."""
        line = self.cells.get(row)
        if entered is not None and (line is None or col not in line) and (
                self._owned is None or row in self._owned or line is None):
            cell: Cell = {"userEnteredValue": entered}  # the fast path: a new cell
            if number_format:
                cell["userEnteredFormat"] = {"numberFormat": number_format}
            self._writable_row(row)[col] = cell
            if self._owned is not None:
                self._owned.add((row, col))
            return

        def change(cell: Cell) -> None:
            if entered is None:
                cell.pop("userEnteredValue", None)
            else:
                cell["userEnteredValue"] = entered
            if number_format:
                fmt = cell.setdefault("userEnteredFormat", {})
                fmt.setdefault("numberFormat", number_format)
        if entered is not None or (line and col in line):
            self.cell_update(row, col, change)

    def shift(self, dimension: str, moved: Callable[[int], int | None]) -> None:
        """Renumber rows or columns: `moved` gives an index's new place, None to drop it."""
        if dimension == "ROWS":
            self.cells = {new: line for r, line in self.cells.items()
                          if (new := moved(r)) is not None}
        else:
            shifted: dict[int, Row] = {}
            for r, line in self.cells.items():
                new_line = {new: cell for c, cell in line.items()
                            if (new := moved(c)) is not None}
                if new_line:
                    shifted[r] = new_line
            self.cells = shifted
        if self._owned is not None:  # carry over what this fork owns, renumbered
            owned: set[Any] = set()
            for key in self._owned:
                if isinstance(key, tuple):
                    r, c = key
                    r, c = (moved(r), c) if dimension == "ROWS" else (r, moved(c))
                    if r is not None and c is not None:
                        owned.add((r, c))
                elif dimension == "ROWS" and (r := moved(key)) is not None:
                    owned.add(r)
            if dimension == "COLUMNS":
                owned.update(self.cells)  # every row dict was rebuilt
            self._owned = owned
        self.dimensions[dimension] = {new: v for i, v in self.dimensions[dimension].items()
                                      if (new := moved(i)) is not None}


@dataclass
class _Book:
    """A spreadsheet: its properties, tabs, named ranges, and Drive metadata."""

    id: str
    props: dict[str, Any]
    tabs: list[_Tab]
    named_ranges: list[dict[str, Any]] = field(default_factory=list)
    private: bool = False
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    modified: datetime = field(default_factory=lambda: datetime.now(UTC))
    parents: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return self.props["title"]

    def reindex(self) -> None:
        for i, tab in enumerate(self.tabs):
            tab.props["index"] = i

    def tab_by_id(self, sheet_id: int, where: str = "") -> _Tab:
        for tab in self.tabs:
            if tab.sheet_id == sheet_id:
                return tab
        raise _bad_request(f"{where}No grid with id: {sheet_id}")

    def tab_by_title(self, title: str) -> _Tab | None:
        for tab in self.tabs:  # sheet names are unique regardless of case
            if tab.title.lower() == title.lower():
                return tab
        return None


def _drive_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# ----------------------------------------------------------------------------------------------
# The API: one method per endpoint, on state guarded by a lock. No HTTP here.


@dataclass
class Reply:
    status: int
    body: Any = None  # JSON-able, or None for an empty body (204)
    headers: dict[str, str] = field(default_factory=dict)
    html_404: bool = False  # Google's HTML page for a URL no API serves


class SheetsBackend:
    """Sheets v4 and Drive v3 semantics on in-memory spreadsheets."""

    def __init__(self, *, owner: str = DEFAULT_OWNER, seed: int = 0) -> None:
        self.lock = threading.RLock()
        self.books: dict[str, _Book] = {}
        self.owner = owner
        self.rng = random.Random(seed)
        #: The most cells a spreadsheet may have (tests may lower it).
        self.cell_limit = CELL_LIMIT

    # --- ids -----------------------------------------------------------------------------

    def new_book_id(self) -> str:
        alphabet = string.ascii_letters + string.digits + "-_"
        while True:
            book_id = "1" + "".join(self.rng.choice(alphabet) for _ in range(43))
            if book_id not in self.books:
                return book_id

    def new_sheet_id(self, book: _Book) -> int:
        taken = {tab.sheet_id for tab in book.tabs}
        while True:
            sheet_id = self.rng.randrange(1, 2**31 - 1)
            if sheet_id not in taken:
                return sheet_id

    # --- building state ------------------------------------------------------------------

    def new_book(self, title: str, *, book_id: str | None = None,
                 properties: Mapping[str, Any] | None = None) -> _Book:
        props = copy.deepcopy(_DEFAULT_BOOK_PROPERTIES)
        props.update({k: copy.deepcopy(v) for k, v in (properties or {}).items()})
        props["title"] = title
        props = {"title": props.pop("title"), **props}
        book = _Book(id=book_id or self.new_book_id(), props=props, tabs=[])
        self.books[book.id] = book
        return book

    def new_tab(self, book: _Book, props: Mapping[str, Any] | None = None, *,
                where: str = "", index: int | None = None) -> _Tab:
        """Add a tab with Google's defaults (Sheet<n>, 1000 x 26, GRID)."""
        props = copy.deepcopy(dict(props or {}))
        sheet_id = props.get("sheetId")
        if sheet_id is None:
            sheet_id = 0 if not book.tabs else self.new_sheet_id(book)
        elif any(t.sheet_id == sheet_id for t in book.tabs):
            raise _bad_request(f"{where}A sheet with id {sheet_id} already exists.")  # Guess
        title = props.get("title")
        if not title:
            n = len(book.tabs) + 1
            while book.tab_by_title(f"Sheet{n}"):
                n += 1
            title = f"Sheet{n}"
        if book.tab_by_title(title):
            raise _bad_request(f'{where}A sheet with the name "{title}" already exists. '
                               "Please enter another name.")
        grid = dict(props.get("gridProperties") or {})
        grid.setdefault("rowCount", DEFAULT_ROWS)
        grid.setdefault("columnCount", DEFAULT_COLUMNS)
        props.pop("index", None)
        clean = {"sheetId": sheet_id, "title": title, "index": 0,
                 "sheetType": props.pop("sheetType", None) or "GRID",
                 "gridProperties": {"rowCount": grid.pop("rowCount"),
                                    "columnCount": grid.pop("columnCount"), **grid}}
        for key, value in props.items():
            if key not in ("sheetId", "title", "gridProperties"):
                clean[key] = value
        tab = _Tab(props=clean)
        position = len(book.tabs) if index is None else max(0, min(index, len(book.tabs)))
        book.tabs.insert(position, tab)
        book.reindex()
        return tab

    # --- lookups -------------------------------------------------------------------------

    def check_cells(self, book: _Book, before: int, where: str = "") -> None:
        """Google's 400 for a request that would take the spreadsheet past `cell_limit` cells
        (checked after the request is applied, as Google does: a rowCount that passes the
        limit fails even when the same batch would shrink another tab later).

        Guess: the wording is as reported ("Invalid requests[0].updateSheetProperties: This
        action would increase the number of cells in the workbook above the limit of ...
        cells."), not recorded; a request that leaves an over-limit book no bigger passes."""
        after = _cells(book)
        if after > self.cell_limit and after > before:
            raise _bad_request(f"{where}This action would increase the number of cells in the "
                               f"workbook above the limit of {self.cell_limit} cells.")

    def book(self, book_id: str) -> _Book:
        """The spreadsheet, or Google's 404 / 403 (a private spreadsheet)."""
        book = self.books.get(book_id)
        if book is None:
            raise ApiError(404, NOT_FOUND_MESSAGE)
        if book.private:
            raise ApiError(403, PERMISSION_MESSAGE)
        return book

    def resolve(self, book: _Book, text: str) -> Target:
        """An A1 range, a sheet name or a named range -> Target, or "Unable to parse range"."""
        unable = _bad_request(f"Unable to parse range: {text}")
        try:
            sheet, cells = _split_sheet(text)
        except ValueError:
            raise unable from None
        if sheet is None:
            tab = book.tab_by_title(text)
            if tab is not None:
                return Target(tab, 0, None, 0, None, anchor=True)
            if not book.tabs:
                raise unable
            sheet_tab: _Tab | None = None
        else:
            sheet_tab = book.tab_by_title(sheet)
            if sheet_tab is None:
                raise unable
            if cells == "":
                return Target(sheet_tab, 0, None, 0, None, anchor=True)
        assert cells is not None
        parsed = _parse_cells(cells)
        if parsed is not None:
            tab = sheet_tab or next(t for t in book.tabs if not t.props.get("hidden"))
            r0, r1, c0, c1, anchor = parsed
            return Target(tab, r0, r1, c0, c1, anchor=anchor)
        for named in book.named_ranges:  # gspread even sends "'Sheet1'!MyRange"
            if named["name"].lower() == cells.lower():
                grid = named["range"]
                tab = book.tab_by_id(grid.get("sheetId", 0))
                return Target(tab, grid.get("startRowIndex", 0), grid.get("endRowIndex"),
                              grid.get("startColumnIndex", 0), grid.get("endColumnIndex"))
        raise unable

    def check_inside(self, target: Target, given: str) -> None:
        """Reading a range that starts past the grid fails as Google does, naming the range
        as given ("Range (Mass!151154:151354) exceeds grid limits", as reported); one that
        only ends past the grid is clamped."""
        tab = target.tab
        if target.r0 >= tab.rows or target.c0 >= tab.cols:
            cells = _split_sheet(given)[1] or given
            raise _bad_request(f"Range ({sheet_ref(tab.title)}!{cells}) exceeds grid limits. "
                               f"Max rows: {tab.rows}, max columns: {tab.cols}")

    # --- spreadsheets --------------------------------------------------------------------

    def sheet_json(self, book: _Book, tab: _Tab, data: list[dict] | None) -> dict[str, Any]:
        """A Sheet resource, keys in Google's order."""
        props = _proto_clean(copy.deepcopy(tab.props))
        grid = props.get("gridProperties", {})
        for key in ("frozenRowCount", "frozenColumnCount"):
            if grid.get(key) == 0:
                grid.pop(key)
        out: dict[str, Any] = {"properties": props}
        if data is not None:
            out["data"] = data
        if tab.merges:
            out["merges"] = [_range_out(m) for m in tab.merges]
        if tab.protected:
            out["protectedRanges"] = [self.protected_json(p, listing=True) for p in tab.protected]
        if tab.basic_filter:
            out["basicFilter"] = {**tab.basic_filter, "range": _range_out(
                tab.basic_filter["range"])}
        return out

    def protected_json(self, protected: Mapping[str, Any], *, listing: bool) -> dict[str, Any]:
        """A ProtectedRange. When listed, Google names the owner among the editors; in the
        addProtectedRange reply it does not (both as recorded)."""
        out = {k: copy.deepcopy(v) for k, v in protected.items() if k != "editors"}
        if "range" in out:
            out["range"] = _range_out(out["range"])
        out["requestingUserCanEdit"] = True
        editors = copy.deepcopy(protected.get("editors") or {})
        if listing:
            editors["users"] = [self.owner] + [u for u in editors.get("users", [])
                                               if u != self.owner]
        out["editors"] = {k: v for k, v in editors.items() if v}
        return out

    def book_json(self, book: _Book, *, grid: bool = False,
                  ranges: Sequence[str] = ()) -> dict[str, Any]:
        """The Spreadsheet resource; grid data for all sheets or the given ranges."""
        if ranges:
            targets = [self.resolve(book, r) for r in ranges]
            for target, text in zip(targets, ranges, strict=True):
                self.check_inside(target, text)
            tabs = [t for t in book.tabs if any(x.tab is t for x in targets)]
        else:
            targets, tabs = [], list(book.tabs)
        sheets = []
        for tab in tabs:
            data = None
            if grid:
                mine = [t for t in targets if t.tab is tab] or [Target(tab, 0, None, 0, None)]
                data = [_grid_data(t) for t in mine]
            sheets.append(self.sheet_json(book, tab, data))
        out: dict[str, Any] = {"spreadsheetId": book.id,
                               "properties": copy.deepcopy(book.props),
                               "sheets": sheets}
        if book.named_ranges:
            out["namedRanges"] = [
                {**n, "range": _range_out(n["range"])} for n in book.named_ranges]
        out["spreadsheetUrl"] = f"https://docs.google.com/spreadsheets/d/{book.id}/edit"
        return out

    def spreadsheets_create(self, body: Mapping[str, Any]) -> Reply:
        props = dict(body.get("properties") or {})
        book = self.new_book(props.pop("title", None) or "Untitled spreadsheet",
                             properties=props)
        try:
            for i, sheet in enumerate(body.get("sheets") or [{}]):
                tab = self.new_tab(book, sheet.get("properties"), where=f"sheets[{i}]: ")
                for data in sheet.get("data") or []:
                    self._write_rows(tab, data.get("startRow", 0), data.get("startColumn", 0),
                                     [row.get("values") or [] for row in data.get("rowData")
                                      or []], parse_fields("*"))
            self.check_cells(book, 0)  # Guess: create is held to the limit too
        except ApiError:
            del self.books[book.id]
            raise
        return Reply(200, self.book_json(book))

    def spreadsheets_get(self, book_id: str, query: Mapping[str, list[str]]) -> Reply:
        book = self.book(book_id)
        mask = _one(query, "fields")
        tree = parse_fields(mask) if mask else None
        if tree is not None:  # a mask decides, includeGridData is then ignored (as documented)
            grid = "*" in tree or ("sheets" in tree and (
                tree["sheets"] is None or "data" in tree["sheets"] or "*" in tree["sheets"]))
        else:
            grid = _flag(query, "includeGridData")
        out = self.book_json(book, grid=grid, ranges=query.get("ranges", []))
        return Reply(200, select_fields(out, tree) if tree is not None else out)

    # --- values: reading -----------------------------------------------------------------

    def read(self, target: Target, major: str, value_render: str,
             datetime_render: str) -> list[list[Any]]:
        """The values of a range, trimmed as Google does: trailing empty cells and rows go,
        inner empty cells are "", inner empty rows []."""
        (r0, r1), (c0, c1) = target.rows, target.cols
        # Unformatted with serial dates, a stored number is its own rendering (stored numbers
        # are normalised on entry): the quick path for 100,000-row sheets.
        plain_numbers = value_render != "FORMATTED_VALUE" and datetime_render == "SERIAL_NUMBER"
        formatted = value_render == "FORMATTED_VALUE"
        lines: list[list[Any]] = []  # one per row from r0, [] for empty rows
        for r, row in target.tab.lines(r0, r1):
            line = [""] * (min(max(row) + 1, c1) - c0) if row else []
            for c, cell in row.items():
                if c < c0 or c >= c1:
                    continue
                entered = cell.get("userEnteredValue")
                if not entered:
                    continue
                value = entered.get("stringValue")  # the common cases, quickly
                if value is None:
                    number = entered.get("numberValue")
                    if number is not None and plain_numbers:
                        value = number
                    elif type(number) is int and "userEnteredFormat" not in cell:
                        value = format_automatic(number) if formatted else number
                    else:
                        value = render(cell, value_render, datetime_render)
                if value is not None:
                    line[c - c0] = value
            while line and line[-1] == "":
                line.pop()
            if line:
                lines.extend([] for _ in range(r - r0 - len(lines)))
                lines.append(line)
        if major == "COLUMNS" and lines:
            columns: list[list[Any]] = [[] for _ in range(max(len(line) for line in lines))]
            for i, line in enumerate(lines):
                for j, value in enumerate(line):
                    if value != "":
                        column = columns[j]
                        column.extend([""] * (i - len(column)))
                        column.append(value)
            lines = columns
        return lines

    def value_range(self, target: Target, major: str, value_render: str,
                    datetime_render: str) -> dict[str, Any]:
        out: dict[str, Any] = {"range": target.display(), "majorDimension": major}
        values = self.read(target, major, value_render, datetime_render)
        if values:
            out["values"] = values
        return out

    def values_get(self, book_id: str, text: str, query: Mapping[str, list[str]]) -> Reply:
        book = self.book(book_id)
        major, value_render, datetime_render = _read_options(query)
        target = self.resolve(book, text)
        self.check_inside(target, text)
        return Reply(200, self.value_range(target, major, value_render, datetime_render))

    def values_batch_get(self, book_id: str, query: Mapping[str, list[str]]) -> Reply:
        book = self.book(book_id)
        major, value_render, datetime_render = _read_options(query)
        ranges = []
        for text in query.get("ranges", []):
            target = self.resolve(book, text)
            self.check_inside(target, text)
            ranges.append(self.value_range(target, major, value_render, datetime_render))
        out: dict[str, Any] = {"spreadsheetId": book.id}
        if ranges:
            out["valueRanges"] = ranges
        return Reply(200, out)

    # --- values: writing -----------------------------------------------------------------

    def write(self, book: _Book, text: str, data: Mapping[str, Any], input_option: str,
              where: str) -> dict[str, Any]:
        """values.update semantics for one ValueRange; returns the UpdateValuesResponse.
        The body is checked before the range, as Google decodes JSON first (recorded)."""
        grid = _value_grid(data, where)
        target = self.resolve(book, text)
        n_rows = max((r for r, _ in grid), default=-1) + 1
        n_cols = max((c for _, c in grid), default=-1) + 1
        n_rows, n_cols = max(n_rows, _extent(data, "rows")), max(n_cols, _extent(data, "cols"))
        if not target.anchor:
            if target.r1 is not None and target.r0 + n_rows > target.r1:
                raise _bad_request(f"Requested writing within range [{text}], but tried "
                                   f"writing to row [{target.r1 + 1}]")
            if target.c1 is not None and target.c0 + n_cols > target.c1:
                raise _bad_request(f"Requested writing within range [{text}], but tried "
                                   f"writing to column [{column_letters(target.c1)}]")
        tab = target.tab
        end_row, end_col = target.r0 + max(n_rows, 1), target.c0 + max(n_cols, 1)
        if end_row > tab.rows or end_col > tab.cols:
            raise _grid_error(tab, target.r0, end_row, target.c0, end_col)
        rows_hit, cols_hit = set(), set()
        for (r, c), value in grid.items():
            _enter(tab, target.r0 + r, target.c0 + c, value, input_option, where)
            rows_hit.add(r)
            cols_hit.add(c)
        out: dict[str, Any] = {
            "spreadsheetId": book.id,
            "updatedRange": f"{sheet_ref(tab.title)}!"
                            f"{a1_span(target.r0, end_row, target.c0, end_col)}",
            "updatedRows": len(rows_hit), "updatedColumns": len(cols_hit),
            "updatedCells": len(grid),
        }
        out = {k: v for k, v in out.items() if v != 0}
        # Which (sheet, row) and (sheet, column) were written, for batchUpdate's totals;
        # with_values() takes it out before the answer leaves.
        out["_hits"] = ({(tab.sheet_id, target.r0 + r) for r in rows_hit},
                        {(tab.sheet_id, target.c0 + c) for c in cols_hit})
        return out

    def with_values(self, book: _Book, out: dict[str, Any], include: bool, value_render: str,
                    datetime_render: str) -> dict[str, Any]:
        """Add `updatedData` when includeValuesInResponse asks for it."""
        out.pop("_hits", None)
        if include:
            target = self.resolve(book, out["updatedRange"])
            out["updatedData"] = self.value_range(target, "ROWS", value_render, datetime_render)
        return out

    def values_update(self, book_id: str, text: str, query: Mapping[str, list[str]],
                      body: Any) -> Reply:
        book = self.book(book_id)
        input_option = _input_option(_one(query, "valueInputOption"))
        value_render = _one(query, "responseValueRenderOption") or "FORMATTED_VALUE"
        datetime_render = _one(query, "responseDateTimeRenderOption") or "SERIAL_NUMBER"
        with self.transaction(book) as work:
            out = self.write(work, text, _body(body), input_option, "data")
            out = self.with_values(work, out, _flag(query, "includeValuesInResponse"),
                                   value_render, datetime_render)
        return Reply(200, out)

    def values_batch_update(self, book_id: str, body: Any) -> Reply:
        book = self.book(book_id)
        body = _body(body)
        input_option = _input_option(body.get("valueInputOption"))
        value_render = body.get("responseValueRenderOption") or "FORMATTED_VALUE"
        datetime_render = body.get("responseDateTimeRenderOption") or "SERIAL_NUMBER"
        responses, rows, cols, cells, sheets = [], set(), set(), 0, set()
        with self.transaction(book) as work:
            for i, data in enumerate(body.get("data") or []):
                if not isinstance(data, dict) or not data.get("range"):
                    raise _bad_request(f"Invalid data[{i}]: Range is required.")  # Guess
                out = self.write(work, data["range"], data, input_option, f"data[{i}]")
                row_hits, col_hits = out["_hits"]
                rows |= row_hits
                cols |= col_hits
                sheets |= {s for s, _ in row_hits}
                cells += out.get("updatedCells", 0)
                responses.append(self.with_values(
                    work, out, bool(body.get("includeValuesInResponse")), value_render,
                    datetime_render))
        reply: dict[str, Any] = {
            "spreadsheetId": book.id, "totalUpdatedRows": len(rows),
            "totalUpdatedColumns": len(cols), "totalUpdatedCells": cells,
            "totalUpdatedSheets": len(sheets), "responses": responses,
        }
        return Reply(200, {k: v for k, v in reply.items() if v not in (0, [])})

    def values_append(self, book_id: str, text: str, query: Mapping[str, list[str]],
                      body: Any) -> Reply:
        """values.append: find the "table" in the range, write after its last row starting at
        its first column, growing the grid as needed.

        Guess: the table is the connected block of non-empty cells (8-neighbourhood) lowest in
        the range, the rightmost among equals; this reproduces every recorded case, including
        a row "v1", "", "v3" whose table Google reports as C1, not A1:C1."""
        book = self.book(book_id)
        input_option = _input_option(_one(query, "valueInputOption"))
        insert = (_one(query, "insertDataOption") or "OVERWRITE").upper()
        if insert not in ("OVERWRITE", "INSERT_ROWS"):
            raise _bad_request(f"Invalid value at 'insert_data_option' "
                               f"(type.googleapis.com/google.apps.sheets.v4."
                               f"ValuesResource.AppendRequest.InsertDataOption), \"{insert}\"")
        value_render = _one(query, "responseValueRenderOption") or "FORMATTED_VALUE"
        datetime_render = _one(query, "responseDateTimeRenderOption") or "SERIAL_NUMBER"
        with self.transaction(book) as work:
            target = self.resolve(work, text)
            self.check_inside(target, text)
            data = _body(body)
            grid = _value_grid(data, "data")
            n_rows = max(max((r for r, _ in grid), default=-1) + 1, _extent(data, "rows"))
            n_cols = max(max((c for _, c in grid), default=-1) + 1, _extent(data, "cols"))
            tab = target.tab
            table = _find_table(tab, target)
            if table is None:
                start_row, start_col = target.r0, target.c0
            else:
                start_row, start_col = table[1], table[2]
            if insert == "INSERT_ROWS":
                _insert_dimension(tab, "ROWS", start_row, max(n_rows, 1))
                _shift_named(work, tab, "ROWS", start_row, max(n_rows, 1))
            before = _cells(work)
            tab.grid["rowCount"] = max(tab.rows, start_row + max(n_rows, 1))
            tab.grid["columnCount"] = max(tab.cols, start_col + max(n_cols, 1))
            self.check_cells(work, before)  # Guess: append's wording has no prefix
            anchor = f"{sheet_ref(tab.title)}!{a1_cell(start_row, start_col)}"
            out = self.write(work, anchor, data, input_option, "data")
            out = self.with_values(work, out, _flag(query, "includeValuesInResponse"),
                                   value_render, datetime_render)
        reply: dict[str, Any] = {"spreadsheetId": book.id}
        if table is not None:
            reply["tableRange"] = f"{sheet_ref(tab.title)}!{a1_span(*table[0])}"
        reply["updates"] = out
        return Reply(200, reply)

    def clear(self, book: _Book, text: str) -> str:
        """values.clear on one range: values go, formats and validation stay."""
        target = self.resolve(book, text)
        self.check_inside(target, text)
        (r0, r1), (c0, c1) = target.rows, target.cols
        for r, c, _ in list(target.tab.region(r0, r1, c0, c1)):
            target.tab.set_value(r, c, None)
        return target.display()

    def values_clear(self, book_id: str, text: str) -> Reply:
        book = self.book(book_id)
        with self.transaction(book) as work:
            cleared = self.clear(work, text)
        return Reply(200, {"spreadsheetId": book.id, "clearedRange": cleared})

    def values_batch_clear(self, book_id: str, body: Any) -> Reply:
        book = self.book(book_id)
        with self.transaction(book) as work:
            cleared = [self.clear(work, text) for text in _body(body).get("ranges") or []]
        out: dict[str, Any] = {"spreadsheetId": book.id}
        if cleared:
            out["clearedRanges"] = cleared
        return Reply(200, out)

    # --- spreadsheets.batchUpdate --------------------------------------------------------

    def batch_update(self, book_id: str, body: Any) -> Reply:
        book = self.book(book_id)
        body = _body(body)
        for key in body:
            if key not in ("requests", "includeSpreadsheetInResponse", "responseRanges",
                           "responseIncludeGridData"):
                raise _unknown_name(key, "")
        replies = []
        with self.transaction(book) as work:
            for i, request in enumerate(body.get("requests") or []):
                if not isinstance(request, dict) or len(request) != 1:
                    raise _bad_request(f"Invalid requests[{i}]: No request set.")  # Guess
                (kind, spec), = request.items()
                handler = getattr(self, f"_req_{kind}", None)
                if handler is None:
                    if kind in _GOOGLE_REQUEST_KINDS:
                        raise ApiError(501, f"requests[{i}].{kind} is not implemented by the "
                                            "loopback test server (tests/sheets_server.py).")
                    raise _unknown_name(kind, f"requests[{i}]")
                before = _cells(work)
                where = f"Invalid requests[{i}].{kind}: "
                reply = handler(work, spec or {}, i, where)
                self.check_cells(work, before, where)
                replies.append({kind: reply} if reply is not None else {})
            out: dict[str, Any] = {"spreadsheetId": book.id, "replies": replies}
            if body.get("includeSpreadsheetInResponse"):
                out["updatedSpreadsheet"] = self.book_json(
                    work, grid=bool(body.get("responseIncludeGridData")),
                    ranges=body.get("responseRanges") or ())
        return Reply(200, out)

    def _grid_range(self, book: _Book, rng: Mapping[str, Any] | None, where: str
                    ) -> tuple[_Tab, int, int, int, int]:
        """A GridRange -> (tab, r0, r1, c0, c1); open bounds reach the grid's edge, bounds
        past it fail as writes past the grid do (Guess: Google's wording for requests)."""
        rng = rng or {}
        tab = book.tab_by_id(rng.get("sheetId", 0), where)
        r0, r1 = rng.get("startRowIndex", 0), rng.get("endRowIndex", tab.rows)
        c0, c1 = rng.get("startColumnIndex", 0), rng.get("endColumnIndex", tab.cols)
        if r0 > r1 or c0 > c1 or min(r0, c0) < 0:
            raise _bad_request(f"{where}Invalid range: start index is after end index.")
        if r1 > tab.rows or c1 > tab.cols:
            raise _grid_error(tab, r0, r1, c0, c1, prefix=where)
        return tab, r0, r1, c0, c1

    def _dimension_range(self, book: _Book, rng: Mapping[str, Any], where: str
                         ) -> tuple[_Tab, str, int, int]:
        tab = book.tab_by_id(rng.get("sheetId", 0), where)
        dimension = rng.get("dimension")
        if dimension not in ("ROWS", "COLUMNS"):
            raise _bad_request(f"{where}range.dimension must be ROWS or COLUMNS.")  # Guess
        start = rng.get("startIndex", 0)
        end = rng.get("endIndex", tab.count(dimension))
        if start < 0 or end < start:
            raise _bad_request(f"{where}Invalid dimension range [{start}, {end}).")  # Guess
        return tab, dimension, start, end

    def _req_addSheet(self, book: _Book, spec: Mapping[str, Any], i: int, where: str) -> Any:
        props = spec.get("properties") or {}
        tab = self.new_tab(book, props, where=where, index=props.get("index"))
        return {"properties": self.sheet_json(book, tab, None)["properties"]}

    def _req_deleteSheet(self, book: _Book, spec: Mapping[str, Any], i: int, where: str) -> Any:
        tab = book.tab_by_id(spec.get("sheetId", 0), where)
        if len(book.tabs) == 1:
            raise _bad_request(f"{where}You can't remove all the sheets in a document.")
        book.tabs.remove(tab)
        book.reindex()
        book.named_ranges = [n for n in book.named_ranges
                             if n["range"].get("sheetId", 0) != tab.sheet_id]
        return None

    def _req_duplicateSheet(self, book: _Book, spec: Mapping[str, Any], i: int,
                            where: str) -> Any:
        source = book.tab_by_id(spec.get("sourceSheetId", 0), where)
        title = spec.get("newSheetName") or f"Copy of {source.title}"
        props = {**copy.deepcopy(source.props), "title": title,
                 "sheetId": spec.get("newSheetId") or self.new_sheet_id(book)}
        tab = self.new_tab(book, props, where=where, index=spec.get("insertSheetIndex"))
        for attr in ("cells", "merges", "dimensions", "basic_filter"):
            setattr(tab, attr, copy.deepcopy(getattr(source, attr)))
        for grid in tab.merges + ([tab.basic_filter["range"]] if tab.basic_filter else []):
            grid["sheetId"] = tab.sheet_id
        return {"properties": self.sheet_json(book, tab, None)["properties"]}

    def _req_updateSheetProperties(self, book: _Book, spec: Mapping[str, Any], i: int,
                                   where: str) -> Any:
        tree = _needs_fields("updateSheetProperties", spec, i)
        props = spec.get("properties") or {}
        tab = book.tab_by_id(props.get("sheetId", 0), where)
        before_rows, before_cols, position = tab.rows, tab.cols, book.tabs.index(tab)
        updated = copy.deepcopy(tab.props)
        merge_fields(updated, props, tree)
        updated["sheetId"] = tab.sheet_id
        title = updated.get("title")
        if not title:
            raise _bad_request(f"{where}Sheet title must not be empty.")  # Guess
        clash = book.tab_by_title(title)
        if clash is not None and clash is not tab:
            raise _bad_request(f'{where}A sheet with the name "{title}" already exists. '
                               "Please enter another name.")
        grid = updated.setdefault("gridProperties", {})
        if grid.get("rowCount", 0) < 1 or grid.get("columnCount", 0) < 1:
            raise _bad_request(f"{where}You can't delete all the rows on the sheet.")  # Guess
        if updated.get("hidden") and all(t.props.get("hidden") for t in book.tabs
                                         if t is not tab):
            raise _bad_request(f"{where}You can't hide all the sheets in a document.")
        tab.props = updated
        for dimension, before in (("ROWS", before_rows), ("COLUMNS", before_cols)):
            if tab.count(dimension) < before:  # shrinking the grid drops what falls off it
                _delete_dimension(tab, dimension, tab.count(dimension), before, resize=False)
        new_index = updated.get("index", position)
        book.tabs.remove(tab)
        book.tabs.insert(max(0, min(new_index, len(book.tabs))), tab)
        book.reindex()
        return None

    def _req_updateSpreadsheetProperties(self, book: _Book, spec: Mapping[str, Any], i: int,
                                         where: str) -> Any:
        tree = _needs_fields("updateSpreadsheetProperties", spec, i)
        merge_fields(book.props, spec.get("properties") or {}, tree)
        if not book.props.get("title"):
            raise _bad_request(f"{where}Spreadsheet title must not be empty.")  # Guess
        return None

    def _req_appendDimension(self, book: _Book, spec: Mapping[str, Any], i: int,
                             where: str) -> Any:
        tab = book.tab_by_id(spec.get("sheetId", 0), where)
        dimension, length = spec.get("dimension"), spec.get("length", 0)
        if dimension not in ("ROWS", "COLUMNS") or length < 1:
            raise _bad_request(f"{where}length must be positive and dimension ROWS or "
                               "COLUMNS.")  # Guess
        tab.set_count(dimension, tab.count(dimension) + length)
        return None

    def _req_insertDimension(self, book: _Book, spec: Mapping[str, Any], i: int,
                             where: str) -> Any:
        tab, dimension, start, end = self._dimension_range(book, spec.get("range") or {}, where)
        if start > tab.count(dimension):
            raise _bad_request(f"{where}range.startIndex ({start}) must be <= the number of "
                               f"{dimension.lower()} ({tab.count(dimension)}).")  # Guess
        if spec.get("inheritFromBefore") and start == 0:
            raise _bad_request(f"{where}Cannot inherit from before the first "
                               f"{dimension.lower()[:-1]}.")  # Guess
        _insert_dimension(tab, dimension, start, end - start)
        _shift_named(book, tab, dimension, start, end - start)
        return None

    def _req_deleteDimension(self, book: _Book, spec: Mapping[str, Any], i: int,
                             where: str) -> Any:
        tab, dimension, start, end = self._dimension_range(book, spec.get("range") or {}, where)
        end = min(end, tab.count(dimension))
        if start == 0 and end >= tab.count(dimension):
            raise _bad_request(f"{where}You can't delete all the {dimension.lower()} on the "
                               "sheet.")
        _delete_dimension(tab, dimension, start, end)
        _shift_named(book, tab, dimension, start, -(end - start))
        return None

    def _req_updateDimensionProperties(self, book: _Book, spec: Mapping[str, Any], i: int,
                                       where: str) -> Any:
        tree = _needs_fields("updateDimensionProperties", spec, i)
        tab, dimension, start, end = self._dimension_range(book, spec.get("range") or {}, where)
        for index in range(start, min(end, tab.count(dimension))):
            props = tab.dimensions[dimension].setdefault(index, {})
            merge_fields(props, spec.get("properties") or {}, tree)
        return None

    def _req_autoResizeDimensions(self, book: _Book, spec: Mapping[str, Any], i: int,
                                  where: str) -> Any:
        self._dimension_range(book, spec.get("dimensions") or {}, where)  # accepted, checked
        return None

    def _req_setDataValidation(self, book: _Book, spec: Mapping[str, Any], i: int,
                               where: str) -> Any:
        tab, r0, r1, c0, c1 = self._grid_range(book, spec.get("range"), where)
        rule = spec.get("rule")
        rule = _proto_clean(copy.deepcopy(rule)) if rule else None

        def change(cell: dict[str, Any]) -> None:
            if rule:
                cell["dataValidation"] = copy.deepcopy(rule)
            else:
                cell.pop("dataValidation", None)
        for r, c in itertools.product(range(r0, r1), range(c0, c1)):
            tab.cell_update(r, c, change)
        return None

    def _req_addProtectedRange(self, book: _Book, spec: Mapping[str, Any], i: int,
                               where: str) -> Any:
        wanted = _proto_clean(copy.deepcopy(spec.get("protectedRange") or {}))
        if "namedRangeId" in wanted:
            named = next((n for n in book.named_ranges
                          if n["namedRangeId"] == wanted["namedRangeId"]), None)
            if named is None:
                raise _bad_request(f"{where}No named range with id: {wanted['namedRangeId']}")
            grid = named["range"]
        else:
            grid = wanted.get("range") or {}
        tab = self._grid_range(book, grid, where)[0]
        protected: dict[str, Any] = {"protectedRangeId": self.rng.randrange(1, 2**31 - 1)}
        protected.update({k: v for k, v in wanted.items()
                          if k not in ("protectedRangeId", "requestingUserCanEdit")})
        if "range" in protected:
            protected["range"].setdefault("sheetId", tab.sheet_id)
        tab.protected.append(protected)
        return {"protectedRange": self.protected_json(protected, listing=False)}

    def _req_deleteProtectedRange(self, book: _Book, spec: Mapping[str, Any], i: int,
                                  where: str) -> Any:
        wanted = spec.get("protectedRangeId")
        for tab in book.tabs:
            for protected in tab.protected:
                if protected["protectedRangeId"] == wanted:
                    tab.protected.remove(protected)
                    return None
        raise _bad_request(f"{where}No protected range with id: {wanted}")  # Guess: wording

    def _req_setBasicFilter(self, book: _Book, spec: Mapping[str, Any], i: int,
                            where: str) -> Any:
        wanted = _proto_clean(copy.deepcopy(spec.get("filter") or {}))
        tab, r0, r1, c0, c1 = self._grid_range(book, wanted.get("range"), where)
        wanted["range"] = {"sheetId": tab.sheet_id, "startRowIndex": r0, "endRowIndex": r1,
                           "startColumnIndex": c0, "endColumnIndex": c1}
        tab.basic_filter = {"range": wanted.pop("range"), **wanted}
        return None

    def _req_clearBasicFilter(self, book: _Book, spec: Mapping[str, Any], i: int,
                              where: str) -> Any:
        book.tab_by_id(spec.get("sheetId", 0), where).basic_filter = None
        return None

    def _req_mergeCells(self, book: _Book, spec: Mapping[str, Any], i: int, where: str) -> Any:
        tab, r0, r1, c0, c1 = self._grid_range(book, spec.get("range"), where)
        kind = spec.get("mergeType") or "MERGE_ALL"
        if kind == "MERGE_ROWS":
            blocks = [(r, r + 1, c0, c1) for r in range(r0, r1)]
        elif kind == "MERGE_COLUMNS":
            blocks = [(r0, r1, c, c + 1) for c in range(c0, c1)]
        else:
            blocks = [(r0, r1, c0, c1)]
        tab.merges = [m for m in tab.merges if not _overlaps(m, r0, r1, c0, c1)]
        for b0, b1, d0, d1 in blocks:
            tab.merges.append({"sheetId": tab.sheet_id, "startRowIndex": b0, "endRowIndex": b1,
                               "startColumnIndex": d0, "endColumnIndex": d1})
            for r, c in itertools.product(range(b0, b1), range(d0, d1)):
                if (r, c) != (b0, d0):  # a merge keeps only its top-left value
                    tab.set_value(r, c, None)
        return None

    def _req_unmergeCells(self, book: _Book, spec: Mapping[str, Any], i: int,
                          where: str) -> Any:
        tab, r0, r1, c0, c1 = self._grid_range(book, spec.get("range"), where)
        tab.merges = [m for m in tab.merges if not _overlaps(m, r0, r1, c0, c1)]
        return None

    def _req_addNamedRange(self, book: _Book, spec: Mapping[str, Any], i: int,
                           where: str) -> Any:
        named = _proto_clean(copy.deepcopy(spec.get("namedRange") or {}))
        name = named.get("name", "")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", name) or _parse_cells(name):
            raise _bad_request(f"{where}Invalid name: {name}")  # Guess: wording
        if any(n["name"].lower() == name.lower() for n in book.named_ranges):
            raise _bad_request(f"{where}Named range with name {name} already exists.")
        self._grid_range(book, named.get("range"), where)
        named.setdefault("range", {}).setdefault("sheetId", 0)
        named = {"namedRangeId": named.get("namedRangeId") or str(self.rng.randrange(10**8,
                                                                                   10**10)),
                 "name": name, "range": named["range"]}
        book.named_ranges.append(named)
        return {"namedRange": {**named, "range": _range_out(named["range"])}}

    def _req_deleteNamedRange(self, book: _Book, spec: Mapping[str, Any], i: int,
                              where: str) -> Any:
        wanted = spec.get("namedRangeId")
        kept = [n for n in book.named_ranges if n["namedRangeId"] != wanted]
        if len(kept) == len(book.named_ranges):
            raise _bad_request(f"{where}No named range with id: {wanted}")  # Guess: wording
        book.named_ranges = kept
        return None

    def _req_updateNamedRange(self, book: _Book, spec: Mapping[str, Any], i: int,
                              where: str) -> Any:
        tree = _needs_fields("updateNamedRange", spec, i)
        wanted = spec.get("namedRange") or {}
        for named in book.named_ranges:
            if named["namedRangeId"] == wanted.get("namedRangeId"):
                merge_fields(named, wanted, tree)
                named["namedRangeId"] = wanted["namedRangeId"]
                named.setdefault("range", {}).setdefault("sheetId", 0)
                return None
        raise _bad_request(f"{where}No named range with id: {wanted.get('namedRangeId')}")

    def _req_repeatCell(self, book: _Book, spec: Mapping[str, Any], i: int, where: str) -> Any:
        tree = _needs_fields("repeatCell", spec, i)
        tab, r0, r1, c0, c1 = self._grid_range(book, spec.get("range"), where)
        source = _cell_input(spec.get("cell") or {})
        for r, c in itertools.product(range(r0, r1), range(c0, c1)):
            tab.cell_update(r, c, lambda cell: _merge_cell(cell, source, tree))
        return None

    def _req_updateCells(self, book: _Book, spec: Mapping[str, Any], i: int, where: str) -> Any:
        tree = _needs_fields("updateCells", spec, i)
        rows = [row.get("values") or [] for row in spec.get("rows") or []]
        if "start" in spec:
            start = spec["start"] or {}
            tab = book.tab_by_id(start.get("sheetId", 0), where)
            r0, c0 = start.get("rowIndex", 0), start.get("columnIndex", 0)
            end_row = r0 + len(rows)
            end_col = c0 + max((len(r) for r in rows), default=0)
            if end_row > tab.rows or end_col > tab.cols:
                raise _grid_error(tab, r0, end_row, c0, end_col, prefix=where)
            self._write_rows(tab, r0, c0, rows, tree)
        elif "range" in spec:
            tab, r0, r1, c0, c1 = self._grid_range(book, spec["range"], where)
            for r, c in itertools.product(range(r0, r1), range(c0, c1)):
                given = rows[r - r0][c - c0] if r - r0 < len(rows) and c - c0 < len(
                    rows[r - r0]) else {}
                source = _cell_input(given or {})
                tab.cell_update(r, c, lambda cell, s=source: _merge_cell(cell, s, tree))
        else:
            raise _bad_request(f"{where}One of start or range must be set.")  # Guess
        return None

    def _req_appendCells(self, book: _Book, spec: Mapping[str, Any], i: int, where: str) -> Any:
        tree = _needs_fields("appendCells", spec, i)
        tab = book.tab_by_id(spec.get("sheetId", 0), where)
        rows = [row.get("values") or [] for row in spec.get("rows") or []]
        start = max((r for r, line in tab.cells.items()
                     if any("userEnteredValue" in cell for cell in line.values())),
                    default=-1) + 1  # after the last row with values (formats are no data)
        width = max((len(r) for r in rows), default=0)
        if width > tab.cols:
            raise _grid_error(tab, start, start + max(len(rows), 1), 0, width, prefix=where)
        tab.grid["rowCount"] = max(tab.rows, start + len(rows))
        self._write_rows(tab, start, 0, rows, tree)
        return None

    def _write_rows(self, tab: _Tab, r0: int, c0: int, rows: Sequence[Sequence[Any]],
                    tree: FieldTree) -> None:
        for r, row in enumerate(rows):
            for c, given in enumerate(row):
                source = _cell_input(given or {})
                tab.cell_update(r0 + r, c0 + c, lambda cell, s=source: _merge_cell(cell, s, tree))

    # --- transactions --------------------------------------------------------------------

    def transaction(self, book: _Book) -> _Transaction:
        return _Transaction(self, book)

    # --- Drive v3 ------------------------------------------------------------------------

    def drive_file(self, book: _Book) -> dict[str, Any]:
        return {"kind": "drive#file", "id": book.id, "name": book.title,
                "mimeType": SHEETS_MIME, "createdTime": _drive_time(book.created),
                "modifiedTime": _drive_time(book.modified), "parents": list(book.parents),
                "trashed": False}

    def drive_book(self, file_id: str) -> _Book:
        book = self.books.get(file_id)
        if book is None or book.private:
            message = f"File not found: {file_id}."
            raise ApiError(404, message, errors=[{
                "message": message, "domain": "global", "reason": "notFound",
                "location": "fileId", "locationType": "parameter"}])
        return book

    def drive_create(self, query: Mapping[str, list[str]], body: Any) -> Reply:
        body = _body(body)
        mime = body.get("mimeType")
        if mime != SHEETS_MIME:
            raise ApiError(501, f"Only {SHEETS_MIME} files can be created on the loopback "
                                "test server.")
        book = self.new_book(body.get("name") or "Untitled spreadsheet")
        book.parents = list(body.get("parents") or [])
        self.new_tab(book)
        return Reply(200, _drive_fields(self.drive_file(book), query,
                                        "kind,id,name,mimeType"))

    def drive_get(self, file_id: str, query: Mapping[str, list[str]]) -> Reply:
        file = self.drive_file(self.drive_book(file_id))
        return Reply(200, _drive_fields(file, query, "kind,id,name,mimeType"))

    def drive_delete(self, file_id: str) -> Reply:
        book = self.drive_book(file_id)
        del self.books[book.id]
        return Reply(204)

    def drive_list(self, query: Mapping[str, list[str]]) -> Reply:
        match = _drive_query(_one(query, "q") or "")
        files = [self.drive_file(b) for b in self.books.values() if not b.private]
        files = [f for f in files if match(f)]
        files.sort(key=lambda f: f["modifiedTime"], reverse=True)  # Drive's default order
        out = {"kind": "drive#fileList", "incompleteSearch": False, "files": files}
        return Reply(200, _drive_fields(out, query,
                                        "kind,incompleteSearch,files(kind,id,name,mimeType)"))


class _Transaction:
    """Run a mutation on a copy of a spreadsheet (tabs forked copy-on-write); the copy
    replaces the original only when the block ends without an exception, so failed requests
    change nothing."""

    def __init__(self, backend: SheetsBackend, book: _Book) -> None:
        self.backend, self.book = backend, book

    def __enter__(self) -> _Book:
        book = self.book
        self.work = _Book(id=book.id, props=copy.deepcopy(book.props),
                          tabs=[tab.fork() for tab in book.tabs],
                          named_ranges=copy.deepcopy(book.named_ranges), private=book.private,
                          created=book.created, modified=book.modified,
                          parents=list(book.parents))
        return self.work

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if kind is None:
            self.work.modified = datetime.now(UTC)
            self.backend.books[self.book.id] = self.work


# --- helpers of the API ----------------------------------------------------------------------


def _cells(book: _Book) -> int:
    """The cells a spreadsheet counts against its limit: every tab's whole grid."""
    return sum(tab.rows * tab.cols for tab in book.tabs)


def _one(query: Mapping[str, list[str]], key: str) -> str | None:
    values = query.get(key)
    return values[-1] if values else None


def _flag(query: Mapping[str, list[str]], key: str) -> bool:
    return (_one(query, key) or "").lower() == "true"


def _body(body: Any) -> dict[str, Any]:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise _bad_request("Invalid JSON payload received. Expected an object.")  # Guess
    return body


def _input_option(value: str | None) -> str:
    if not value:
        raise _bad_request("'valueInputOption' is required but not specified")
    if value not in ("RAW", "USER_ENTERED"):
        raise _bad_request(f"Invalid value at 'value_input_option' "
                           f"(type.googleapis.com/google.apps.sheets.v4.ValueInputOption), "
                           f"\"{value}\"")
    return value


def _read_options(query: Mapping[str, list[str]]) -> tuple[str, str, str]:
    major = _one(query, "majorDimension") or "ROWS"
    value_render = _one(query, "valueRenderOption") or "FORMATTED_VALUE"
    datetime_render = _one(query, "dateTimeRenderOption") or "SERIAL_NUMBER"
    for name, value, allowed in (("major_dimension", major, ("ROWS", "COLUMNS")),
                                 ("value_render_option", value_render, VALUE_RENDER_OPTIONS),
                                 ("date_time_render_option", datetime_render,
                                  DATETIME_RENDER_OPTIONS)):
        if value not in allowed:
            raise _bad_request(f"Invalid value at '{name}', \"{value}\"")  # Guess: wording
    return major, value_render, datetime_render


def _value_grid(data: Mapping[str, Any], where: str) -> dict[tuple[int, int], Any]:
    """A ValueRange's values as {(row, col): value}, nulls (= leave alone) left out."""
    values = data.get("values")
    if values is None:
        return {}
    if not isinstance(values, list):
        raise _invalid_field(f"{where}.values", values)
    grid: dict[tuple[int, int], Any] = {}
    columns = (data.get("majorDimension") or "ROWS") == "COLUMNS"
    for i, line in enumerate(values):
        if not isinstance(line, list):
            raise _invalid_field(f"{where}.values[{i}]", line)
        for j, value in enumerate(line):
            if isinstance(value, dict | list):
                raise _bad_request(f"Invalid values[{i}][{j}]: "
                                   f"{'struct' if isinstance(value, dict) else 'list'}_value "
                                   f"{json.dumps(value)}")  # Guess: wording
            if value is not None:
                grid[(j, i) if columns else (i, j)] = value
    return grid


def _extent(data: Mapping[str, Any], axis: str) -> int:
    """The size of a ValueRange's values along rows or cols, nulls included."""
    values = data.get("values") or []
    lines = len(values)
    width = max((len(line) for line in values if isinstance(line, list)), default=0)
    columns = (data.get("majorDimension") or "ROWS") == "COLUMNS"
    if axis == "rows":
        return width if columns else lines
    return lines if columns else width


def _enter(tab: _Tab, row: int, col: int, value: Any, input_option: str, where: str) -> None:
    """Store one incoming value the way RAW or USER_ENTERED does."""
    if input_option == "USER_ENTERED" and isinstance(value, str):
        if value == "":
            tab.set_value(row, col, None)
            return
        entered, number_format = user_entered(value)
        tab.set_value(row, col, entered, number_format)
        return
    tab.set_value(row, col, raw_value(value))


def _grid_error(tab: _Tab, r0: int, r1: int, c0: int, c1: int, prefix: str = "") -> ApiError:
    """"Range (Sheet1!A1001) exceeds grid limits. Max rows: 1000, max columns: 26": Google
    names the part of the range that lies outside the grid (as in reports of the error)."""
    if r1 > tab.rows:
        outside = a1_span(max(r0, tab.rows), r1, c0, max(c1, c0 + 1))
    else:
        outside = a1_span(r0, max(r1, r0 + 1), max(c0, tab.cols), c1)
    return _bad_request(f"{prefix}Range ({sheet_ref(tab.title)}!{outside}) exceeds grid limits. "
                        f"Max rows: {tab.rows}, max columns: {tab.cols}")


def _range_out(grid: Mapping[str, Any]) -> dict[str, Any]:
    """A GridRange as Google prints it: sheetId 0 left out (proto3 default), order kept."""
    out = {k: v for k, v in grid.items() if k != "sheetId"}
    if grid.get("sheetId"):
        out = {"sheetId": grid["sheetId"], **out}
    return out


def _overlaps(grid: Mapping[str, Any], r0: int, r1: int, c0: int, c1: int) -> bool:
    return (grid["startRowIndex"] < r1 and r0 < grid["endRowIndex"]
            and grid["startColumnIndex"] < c1 and c0 < grid["endColumnIndex"])


def _find_table(tab: _Tab, target: Target) -> tuple[tuple[int, int, int, int], int, int] | None:
    """values.append's table: ((r0, r1, c0, c1), next row, first column) or None; see
    SheetsBackend.values_append. Built from runs of filled cells per row, joined when they
    touch a run of the row above (diagonals included), so 100,000 rows stay quick."""
    (r0, r1), (c0, c1) = target.rows, target.cols
    boxes: list[list[int]] = []  # per run: [top, bottom + 1, left, right + 1] of its table
    parent: list[int] = []

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    above: list[tuple[int, int, int]] = []  # (left, right + 1, run) of the row above
    above_row = -2
    for r, line in tab.lines(r0, r1):
        cols = sorted(c for c, cell in line.items() if c0 <= c < c1 and "userEnteredValue" in cell)
        if not cols:
            continue
        if above_row != r - 1:
            above = []
        here = []
        start = prev = cols[0]
        for c in [*cols[1:], -2]:
            if c == prev + 1:
                prev = c
                continue
            run = len(boxes)
            boxes.append([r, r + 1, start, prev + 1])
            parent.append(run)
            here.append((start, prev + 1, run))
            for left, right, other in above:
                if left <= prev + 1 and start <= right:
                    a, b = root(run), root(other)
                    if a != b:
                        parent[a] = b
                        box, mine = boxes[b], boxes[a]
                        box[0], box[1] = min(box[0], mine[0]), max(box[1], mine[1])
                        box[2], box[3] = min(box[2], mine[2]), max(box[3], mine[3])
            start = prev = c
        above, above_row = here, r
    if not boxes:
        return None
    best = max((boxes[i] for i in range(len(boxes)) if parent[i] == i),
               key=lambda b: (b[1], b[3]))
    return (best[0], best[1], best[2], best[3]), best[1], best[2]


def _shift_range(grid: dict[str, Any], dimension: str, at: int, delta: int) -> bool:
    """Move a GridRange for `delta` rows/columns inserted (> 0) or deleted (< 0) at `at`;
    False when a deletion swallowed it whole. Inserting inside a range widens it."""
    lo, hi = (("startRowIndex", "endRowIndex") if dimension == "ROWS"
              else ("startColumnIndex", "endColumnIndex"))

    def moved(index: int, is_end: bool) -> int:
        if delta > 0:
            return index + delta if index > at or (index == at and not is_end) else index
        if index >= at - delta:
            return index + delta
        return min(index, at)

    for key, is_end in ((lo, False), (hi, True)):
        if key in grid:
            grid[key] = moved(grid[key], is_end)
    return not (lo in grid and hi in grid and grid[lo] >= grid[hi])


def _insert_dimension(tab: _Tab, dimension: str, at: int, count: int) -> None:
    """Insert `count` empty rows/columns before index `at`, moving everything after it."""
    tab.shift(dimension, lambda i: i + count if i >= at else i)
    for grid in _tab_ranges(tab):
        _shift_range(grid, dimension, at, count)
    tab.set_count(dimension, tab.count(dimension) + count)


def _delete_dimension(tab: _Tab, dimension: str, start: int, end: int, *,
                      resize: bool = True) -> None:
    """Delete rows/columns [start, end), moving everything after them back."""
    count = end - start
    tab.shift(dimension, lambda i: None if start <= i < end else i - count if i >= end else i)
    tab.merges = [m for m in tab.merges if _shift_range(m, dimension, start, -count)]
    tab.protected = [p for p in tab.protected
                     if "range" not in p or _shift_range(p["range"], dimension, start, -count)]
    if tab.basic_filter and not _shift_range(tab.basic_filter["range"], dimension, start,
                                             -count):
        tab.basic_filter = None
    if resize:
        tab.set_count(dimension, tab.count(dimension) - count)


def _shift_named(book: _Book, tab: _Tab, dimension: str, at: int, delta: int) -> None:
    """Move the named ranges on a tab for rows/columns inserted or deleted."""
    book.named_ranges = [n for n in book.named_ranges
                         if n["range"].get("sheetId", 0) != tab.sheet_id
                         or _shift_range(n["range"], dimension, at, delta)]


def _tab_ranges(tab: _Tab) -> list[dict[str, Any]]:
    ranges = list(tab.merges) + [p["range"] for p in tab.protected if "range" in p]
    if tab.basic_filter:
        ranges.append(tab.basic_filter["range"])
    return ranges


def _cell_input(given: Mapping[str, Any]) -> dict[str, Any]:
    """An incoming CellData, normalised as Google stores it."""
    cell = _colours(_proto_clean(copy.deepcopy(dict(given))))
    entered = cell.get("userEnteredValue")
    if isinstance(entered, dict) and isinstance(entered.get("numberValue"), float):
        entered["numberValue"] = _number(entered["numberValue"])
    if isinstance(cell.get("userEnteredFormat"), dict):
        _normalise_format(cell["userEnteredFormat"])
    if isinstance(cell.get("userEnteredValue"), dict) and not cell["userEnteredValue"]:
        cell.pop("userEnteredValue")
    return cell


def _merge_cell(cell: dict[str, Any], source: Mapping[str, Any], tree: FieldTree) -> None:
    merge_fields(cell, source, tree)
    if isinstance(cell.get("userEnteredFormat"), dict):
        _normalise_format(cell["userEnteredFormat"])


def _cell_data(cell: Mapping[str, Any] | None) -> dict[str, Any]:
    """A CellData for grid data output."""
    if not cell:
        return {}
    out: dict[str, Any] = {}
    entered = cell.get("userEnteredValue")
    if entered:
        out["userEnteredValue"] = copy.deepcopy(entered)
        value = effective_value(cell)
        if isinstance(value, FormulaError):
            out["effectiveValue"] = {"errorValue": {"type": value.type, "message":
                                                    f"Loopback server: {value.code}"}}
        elif isinstance(value, bool):
            out["effectiveValue"] = {"boolValue": value}
        elif isinstance(value, int | float):
            out["effectiveValue"] = {"numberValue": _number(float(value))}
        else:
            out["effectiveValue"] = {"stringValue": value}
        out["formattedValue"] = str(render(cell))
    for key in ("userEnteredFormat", "note", "dataValidation"):
        if cell.get(key):
            out[key] = copy.deepcopy(cell[key])
    return out


def _grid_data(target: Target) -> dict[str, Any]:
    """A GridData for one range: rowData trimmed like values, plus row/column metadata."""
    tab = target.tab
    (r0, r1), (c0, c1) = target.rows, target.cols
    found: dict[int, dict[int, dict[str, Any]]] = {}
    for r, c, cell in tab.region(r0, r1, c0, c1):
        data = _cell_data(cell)
        if data:
            found.setdefault(r, {})[c] = data
    out: dict[str, Any] = {}
    if r0:
        out["startRow"] = r0
    if c0:
        out["startColumn"] = c0
    if found:
        rows: list[dict[str, Any]] = []
        for r in range(r0, max(found) + 1):
            line = found.get(r)
            rows.append({"values": [line.get(c, {}) for c in range(c0, max(line) + 1)]}
                        if line else {})
        out["rowData"] = rows
    out["rowMetadata"] = [{"pixelSize": ROW_PIXELS, **tab.dimensions["ROWS"].get(r, {})}
                          for r in range(r0, r1)]
    out["columnMetadata"] = [{"pixelSize": COLUMN_PIXELS, **tab.dimensions["COLUMNS"].get(c, {})}
                             for c in range(c0, c1)]
    return out


def _drive_fields(resource: dict[str, Any], query: Mapping[str, list[str]],
                  default: str) -> dict[str, Any]:
    return select_fields(resource, parse_fields(_one(query, "fields") or default))


_DRIVE_CLAUSE_RE = re.compile(
    r"""\s*(?:(?P<field>name|mimeType|fullText)\s*(?P<op>=|!=|contains)\s*
        (?P<q>['"])(?P<value>(?:\\.|(?!(?P=q)).)*)(?P=q)
      | (?P<pq>['"])(?P<parent>(?:\\.|(?!(?P=pq)).)*)(?P=pq)\s+in\s+parents
      | trashed\s*=\s*(?P<trashed>true|false))\s*""", re.X | re.I)


def _drive_query(q: str) -> Callable[[Mapping[str, Any]], bool]:
    """The subset of Drive's `q` gspread sends: name/mimeType (=, !=, contains), "x" in
    parents, trashed = false, joined by `and`. Other clauses: 400 Invalid Value."""
    tests: list[Callable[[Mapping[str, Any]], bool]] = []
    for clause in re.split(r"\s+and\s+", q.strip(), flags=re.I) if q.strip() else []:
        m = _DRIVE_CLAUSE_RE.fullmatch(clause)
        if not m:
            raise ApiError(400, "Invalid Value", errors=[{
                "message": "Invalid Value", "domain": "global", "reason": "invalid",
                "location": "q", "locationType": "parameter"}])
        if m.group("trashed"):
            wanted = m.group("trashed").lower() == "true"
            tests.append(lambda f, w=wanted: f["trashed"] == w)
        elif m.group("parent") is not None:
            parent = m.group("parent")
            tests.append(lambda f, p=parent: p in f["parents"])
        else:
            key = "name" if m.group("field") == "fullText" else m.group("field")
            value, op = re.sub(r"\\(.)", r"\1", m.group("value")), m.group("op")
            if op == "contains":
                tests.append(lambda f, k=key, v=value: v.lower() in f[k].lower())
            else:
                tests.append(lambda f, k=key, v=value, o=op: (f[k] == v) == (o == "="))
    return lambda f: all(t(f) for t in tests)


# ----------------------------------------------------------------------------------------------
# HTTP: routing, request log, faults


@dataclass
class LoggedRequest:
    """One request the server received, for tests to count and inspect."""

    method: str
    host: str
    path: str  # percent-decoded, e.g. "/v4/spreadsheets/1ab/values/'Sheet1'!A1:append"
    query: dict[str, list[str]]
    body: Any  # parsed JSON, raw text when not JSON, None when empty
    endpoint: str  # Google's method name, e.g. "spreadsheets.values.get", "drive.files.list"
    status: int | None = None  # None: the connection was dropped without an answer
    fault: str | None = None  # "fail" / "delay" / "drop" when injected, "quota" on a 429
    size: int = 0  # bytes of the request body as received

    @property
    def request_kinds(self) -> list[str]:
        """For spreadsheets.batchUpdate: the kinds of its requests, e.g. ["addSheet"]."""
        if self.endpoint != "spreadsheets.batchUpdate" or not isinstance(self.body, dict):
            return []
        return [next(iter(r)) for r in self.body.get("requests") or [] if isinstance(r, dict)]


@dataclass
class _Fault:
    kind: str  # "fail" | "delay" | "drop"
    match: str | None
    remaining: int
    status: int = 503
    seconds: float = 0.0
    then_apply: bool = False
    message: str | None = None

    def matches(self, method: str, path: str, endpoint: str) -> bool:
        return self.match is None or self.match in f"{method} {path}" or self.match == endpoint


def _route(method: str, raw_path: str) -> tuple[str, dict[str, str]]:
    """Google's method name for a request and its path parameters ("" when unknown)."""
    parts = raw_path.split("/")
    if raw_path.startswith("/v4/spreadsheets"):
        rest = parts[3:]
        if not rest or rest == [""]:
            return ("spreadsheets.create" if method == "POST" else ""), {}
        head, _, action = rest[0].partition(":")
        params = {"id": unquote(head)}
        if len(rest) == 1:
            if action == "batchUpdate" and method == "POST":
                return "spreadsheets.batchUpdate", params
            return ("spreadsheets.get" if method == "GET" and not action else ""), params
        if rest[1].startswith("values:") and len(rest) == 2:
            name = {"batchGet": "GET", "batchUpdate": "POST", "batchClear": "POST"}
            action = rest[1].partition(":")[2]
            return (f"spreadsheets.values.{action}" if name.get(action) == method else ""), params
        if rest[1] == "values" and len(rest) >= 3:
            raw_range = "/".join(rest[2:])
            range_part, sep, suffix = raw_range.rpartition(":")
            if sep and suffix in ("append", "clear") and method == "POST":
                params["range"] = unquote(range_part)
                return f"spreadsheets.values.{suffix}", params
            params["range"] = unquote(raw_range)
            return {"GET": "spreadsheets.values.get",
                    "PUT": "spreadsheets.values.update"}.get(method, ""), params
        return "", params
    if raw_path.startswith("/drive/v3/files"):
        rest = parts[4:]
        if not rest or rest == [""]:
            return {"GET": "drive.files.list", "POST": "drive.files.create"}.get(method, ""), {}
        if len(rest) == 1:
            return ({"GET": "drive.files.get", "DELETE": "drive.files.delete"}.get(method, ""),
                    {"id": unquote(rest[0])})
    return "", {}


class _Handler(BaseHTTPRequestHandler):
    """Hands every request to the owning SheetsServer; keeps HTTP/1.1 connections alive."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stall
    server: _LoopbackHTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.connections.discard(self.connection)

    def _any_method(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        self.server.owner.serve(self, raw)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _any_method

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is the record."""

    def respond(self, status: int, body: bytes, content_type: str,
                headers: Mapping[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Vary", "Origin, X-Origin, Referer")
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
        except OSError:  # the client gave up (a timeout); nothing to tell it
            self.close_connection = True

    def drop(self) -> None:
        """Close the connection without answering."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class _LoopbackHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, owner: SheetsServer) -> None:
        self.owner = owner
        self.connections: set[socket.socket] = set()
        super().__init__(("127.0.0.1", 0), _Handler)


# ----------------------------------------------------------------------------------------------
# Client wiring: credentials and an adapter that sends Google's URLs to the loopback socket


class LoopbackCredentials(google.auth.credentials.Credentials):
    """Credentials that always hold the bearer token "test" and never need refreshing: they
    give gspread's HTTP client its `Authorization: Bearer test` header and nothing else."""

    def __init__(self, token: str = "test") -> None:
        super().__init__()
        self.token = token

    def refresh(self, request: Any) -> None:
        """Nothing to refresh: the loopback server accepts any bearer token."""


class LoopbackAdapter(HTTPAdapter):
    """A requests adapter that sends https://<google host>/path to http://127.0.0.1:PORT/path
    over a real socket, keeping the Google host in the Host header."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self.port = port

    def send(self, request: requests.PreparedRequest, *args: Any,
             **kwargs: Any) -> requests.Response:
        parts = urlsplit(request.url or "")
        request.url = urlunsplit(("http", f"127.0.0.1:{self.port}", parts.path, parts.query, ""))
        request.headers["Host"] = parts.netloc
        kwargs["proxies"] = {}  # never via an HTTP(S)_PROXY from the environment
        return super().send(request, *args, **kwargs)


GOOGLE_PREFIXES = ("https://sheets.googleapis.com/", "https://www.googleapis.com/",
                   "https://oauth2.googleapis.com/")


def route_to_loopback(session: requests.Session, port: int) -> requests.Session:
    """Mount the loopback adapter on a session for every Google API prefix."""
    adapter = LoopbackAdapter(port)
    for prefix in GOOGLE_PREFIXES:
        session.mount(prefix, adapter)
    return session


# ----------------------------------------------------------------------------------------------
# Test-facing state views: live handles that look the state up on each call


@dataclass(frozen=True)
class CellView:
    """What a test wants to know about a cell. `kind` is "string", "number", "bool",
    "formula" (or None when the cell has no value); `value` is the user-entered value (the
    formula's text for a formula); `formatted` is its FORMATTED_VALUE."""

    kind: str | None
    value: Any
    number_format: dict[str, Any] | None
    formatted: Any
    note: str | None
    validation: dict[str, Any] | None
    format: dict[str, Any]


_KINDS = {"stringValue": "string", "numberValue": "number", "boolValue": "bool",
          "formulaValue": "formula", "errorValue": "error"}


class TabState:
    """A live view of one tab of a spreadsheet held by the server."""

    def __init__(self, backend: SheetsBackend, book_id: str, sheet_id: int) -> None:
        self._backend, self._book_id, self.sheet_id = backend, book_id, sheet_id

    def _tab(self) -> _Tab:
        return self._backend.books[self._book_id].tab_by_id(self.sheet_id)

    def __repr__(self) -> str:
        return f"TabState({self.title!r}, sheet_id={self.sheet_id})"

    @property
    def title(self) -> str:
        return self._tab().title

    @property
    def properties(self) -> dict[str, Any]:
        with self._backend.lock:
            return copy.deepcopy(self._tab().props)

    @property
    def index(self) -> int:
        return self._tab().props["index"]

    @property
    def row_count(self) -> int:
        return self._tab().rows

    @property
    def column_count(self) -> int:
        return self._tab().cols

    @property
    def frozen_row_count(self) -> int:
        return self._tab().grid.get("frozenRowCount", 0)

    @property
    def frozen_column_count(self) -> int:
        return self._tab().grid.get("frozenColumnCount", 0)

    @property
    def hidden(self) -> bool:
        return bool(self._tab().props.get("hidden"))

    def cell(self, a1: str) -> CellView:
        """The cell at "B3" (always a CellView; kind None when it holds no value)."""
        parsed = _parse_cells(a1)
        if parsed is None or not parsed[4]:
            raise ValueError(f"not a single cell: {a1!r}")
        with self._backend.lock:
            raw = copy.deepcopy(self._tab().get(parsed[0], parsed[2]) or {})
        entered = raw.get("userEnteredValue") or {}
        key = next(iter(entered), None)
        fmt = raw.get("userEnteredFormat") or {}
        return CellView(kind=_KINDS.get(key or ""), value=entered.get(key) if key else None,
                        number_format=fmt.get("numberFormat"), formatted=render(raw),
                        note=raw.get("note"), validation=raw.get("dataValidation"), format=fmt)

    def values(self, a1: str | None = None, *, value_render: str = "FORMATTED_VALUE",
               datetime_render: str = "SERIAL_NUMBER", major: str = "ROWS") -> list[list[Any]]:
        """The values of the tab (or of an A1 range within it), exactly as values.get would
        return them (trimmed; [] when empty)."""
        with self._backend.lock:
            tab = self._tab()
            target = Target(tab, 0, None, 0, None)
            if a1:
                parsed = _parse_cells(a1)
                if parsed is None:
                    raise ValueError(f"not an A1 range: {a1!r}")
                target = Target(tab, parsed[0], parsed[1], parsed[2], parsed[3])
            return self._backend.read(target, major, value_render, datetime_render)

    def kinds(self) -> dict[str, str]:
        """{"A1": "string", "B1": "formula", ...} for every cell holding a value."""
        with self._backend.lock:
            cells = list(self._tab().all_cells())
        return {a1_cell(r, c): _KINDS[next(iter(cell["userEnteredValue"]))]
                for r, c, cell in cells if cell.get("userEnteredValue")}

    def validation(self, a1: str) -> dict[str, Any] | None:
        """The data validation rule of one cell."""
        return self.cell(a1).validation

    def validations(self) -> list[tuple[str, dict[str, Any]]]:
        """The data validation rules as (A1 range, rule): cells with the same rule grouped
        into column runs ("E2:E1000"), then neighbouring equal runs into blocks ("B2:C9")."""
        with self._backend.lock:
            cells = {(r, c): cell["dataValidation"] for r, c, cell in self._tab().all_cells()
                     if cell.get("dataValidation")}
        runs: list[list[Any]] = []  # [r0, r1, c0, c1, rule]
        for r, c in sorted(cells, key=lambda k: (k[1], k[0])):
            last = runs[-1] if runs else None
            if last and last[2] == c and last[1] == r and last[4] == cells[(r, c)]:
                last[1] = r + 1
            else:
                runs.append([r, r + 1, c, c + 1, cells[(r, c)]])
        blocks: list[list[Any]] = []
        for run in sorted(runs, key=lambda x: (x[0], x[1], x[2])):
            last = blocks[-1] if blocks else None
            if last and last[:2] == run[:2] and last[3] == run[2] and last[4] == run[4]:
                last[3] = run[3]
            else:
                blocks.append(run)
        blocks.sort(key=lambda x: (x[2], x[0]))
        return [(a1_span(r0, r1, c0, c1), copy.deepcopy(rule)) for r0, r1, c0, c1, rule in blocks]

    @property
    def protected_ranges(self) -> list[dict[str, Any]]:
        with self._backend.lock:
            return [self._backend.protected_json(p, listing=True) for p in self._tab().protected]

    @property
    def basic_filter(self) -> dict[str, Any] | None:
        with self._backend.lock:
            return copy.deepcopy(self._tab().basic_filter)

    @property
    def merges(self) -> list[dict[str, Any]]:
        with self._backend.lock:
            return copy.deepcopy(self._tab().merges)

    def set_values(self, anchor: str, rows: Sequence[Sequence[Any]], *,
                   value_input: str = "RAW") -> None:
        """Write rows from a cell on ("A1"), as values.update would, growing the grid if
        needed. Besides JSON values, dates and datetimes become DATE / DATE_TIME numbers."""
        parsed = _parse_cells(anchor)
        if parsed is None or not parsed[4]:
            raise ValueError(f"not a single cell: {anchor!r}")
        r0, c0 = parsed[0], parsed[2]
        with self._backend.lock:
            tab = self._tab()
            tab.grid["rowCount"] = max(tab.rows, r0 + len(rows))
            tab.grid["columnCount"] = max(tab.cols, c0 + max((len(r) for r in rows), default=0))
            raw = value_input == "RAW"
            for r, row in enumerate(rows, start=r0):
                if r in tab.cells:  # cells to change: the careful path
                    for c, value in enumerate(row, start=c0):
                        if value is not None:
                            tab.set_value(r, c, *_python_entry(value, value_input))
                    continue
                fresh: Row = {}  # a new row: the bulk path
                for c, value in enumerate(row, start=c0):
                    if value is None or value == "":
                        continue
                    if raw and type(value) is str:
                        fresh[c] = {"userEnteredValue": {"stringValue": value}}
                    else:
                        fresh[c] = _fresh_cell(*_python_entry(value, value_input))
                if fresh:
                    tab.cells[r] = fresh


def _python_entry(value: Any, value_input: str) -> tuple[dict[str, Any] | None,
                                                         dict[str, Any] | None]:
    """A Python value as (ExtendedValue or None to clear, numberFormat): JSON values as RAW
    or USER_ENTERED enter them, dates and datetimes as DATE / DATE_TIME serial numbers."""
    if type(value) is str and (value_input == "RAW" or value == ""):
        return ({"stringValue": value} if value else None), None
    if isinstance(value, datetime):
        return ({"numberValue": serial_from(value)},
                {"type": "DATE_TIME", "pattern": "yyyy-mm-dd h:mm:ss"})
    if isinstance(value, date):
        return {"numberValue": serial_from(value)}, {"type": "DATE", "pattern": "yyyy-mm-dd"}
    if isinstance(value, str):
        return user_entered(value)
    return raw_value(value), None


def _fresh_cell(entered: dict[str, Any] | None, number_format: dict[str, Any] | None) -> Cell:
    assert entered is not None
    cell: Cell = {"userEnteredValue": entered}
    if number_format:
        cell["userEnteredFormat"] = {"numberFormat": number_format}
    return cell


class SpreadsheetState:
    """A live view of one spreadsheet held by the server."""

    def __init__(self, backend: SheetsBackend, book_id: str) -> None:
        self._backend, self.id = backend, book_id

    def _book(self) -> _Book:
        return self._backend.books[self.id]

    def __repr__(self) -> str:
        return f"SpreadsheetState({self.id!r}, title={self.title!r})"

    @property
    def exists(self) -> bool:
        return self.id in self._backend.books

    @property
    def title(self) -> str:
        return self._book().title

    @property
    def properties(self) -> dict[str, Any]:
        with self._backend.lock:
            return copy.deepcopy(self._book().props)

    @property
    def private(self) -> bool:
        return self._book().private

    @private.setter
    def private(self, value: bool) -> None:
        self._book().private = value

    @property
    def tabs(self) -> list[TabState]:
        with self._backend.lock:
            return [TabState(self._backend, self.id, t.sheet_id) for t in self._book().tabs]

    def tab(self, title: str) -> TabState:
        with self._backend.lock:
            tab = self._book().tab_by_title(title)
            if tab is None:
                raise KeyError(title)
            return TabState(self._backend, self.id, tab.sheet_id)

    @property
    def named_ranges(self) -> list[dict[str, Any]]:
        with self._backend.lock:
            return copy.deepcopy(self._book().named_ranges)

    def add_tab(self, title: str, rows: Sequence[Sequence[Any]] = (), *,
                row_count: int = DEFAULT_ROWS, column_count: int = DEFAULT_COLUMNS,
                value_input: str = "RAW") -> TabState:
        """Add a tab holding `rows` from A1 (the grid grows to fit them)."""
        with self._backend.lock:
            width = max((len(r) for r in rows), default=0)
            tab = self._backend.new_tab(self._book(), {
                "title": title, "gridProperties": {"rowCount": max(row_count, len(rows)),
                                                   "columnCount": max(column_count, width)}})
            view = TabState(self._backend, self.id, tab.sheet_id)
            view.set_values("A1", rows, value_input=value_input)
            return view


# ----------------------------------------------------------------------------------------------
# The server


class ManualClock:
    """A clock the test moves by hand, in seconds: quotas never wait on real time."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class _Quota:
    read: int | None
    write: int | None
    clock: Callable[[], float] = monotonic
    used: dict[tuple[str, str], deque[float]] = field(default_factory=dict)

    def take(self, user: str, kind: str) -> int | None:
        """Count one request of `kind` ("Read"/"Write"); the limit it would pass (and is
        refused by), or None when it fits in the last minute's quota."""
        limit = self.read if kind == "Read" else self.write
        if limit is None:
            return None
        now = self.clock()
        times = self.used.setdefault((user, kind), deque())
        while times and times[0] <= now - 60:
            times.popleft()
        if len(times) >= limit:
            return limit
        times.append(now)
        return None


class SheetsServer:
    """The loopback Sheets API server, its request log, fault injection and state helpers.

    Use as a context manager (or call start() / stop()); `client()` gives gspread clients
    wired to it, `create_spreadsheet()` and `state()` set up and inspect spreadsheets, and
    `fail_next()` / `delay_next()` / `drop_next()` inject faults into the next requests.
    """

    def __init__(self, *, owner: str = DEFAULT_OWNER, seed: int = 0) -> None:
        self.backend = SheetsBackend(owner=owner, seed=seed)
        self.log: list[LoggedRequest] = []
        self._faults: list[_Fault] = []
        #: The largest request body answered (bytes); a bigger one gets Google's 400.
        self.body_limit = BODY_LIMIT
        self._quota: _Quota | None = None
        self._log_lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _LoopbackHTTPServer | None = None
        self._thread: threading.Thread | None = None
        #: A test's gate: called with each request's handler, it gives a context manager
        #: held around the whole answer (e.g. to let clients through one request at a time).
        self.gate: Callable[[_Handler], contextlib.AbstractContextManager[Any]] | None = None

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> SheetsServer:
        self._stopping.clear()
        self._httpd = _LoopbackHTTPServer(self)
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="loopback-sheets-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stopping.set()  # wakes delayed requests
        self._httpd.shutdown()
        for connection in list(self._httpd.connections):
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> SheetsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the server is not running")
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- clients -------------------------------------------------------------------------

    def client(self, http_client: type[gspread.HTTPClient] = gspread.HTTPClient
               ) -> gspread.Client:
        """A real gspread.Client (or one with http_client=gspread.BackOffHTTPClient) whose
        Google requests go to this server."""
        gc = gspread.Client(auth=LoopbackCredentials(), http_client=http_client)
        route_to_loopback(gc.http_client.session, self.port)
        return gc

    def session(self, token: str | None = "test") -> requests.Session:
        """A plain requests session for hand-made calls to https://sheets.googleapis.com/...
        (with `Authorization: Bearer <token>`; token None sends no Authorization)."""
        session = route_to_loopback(requests.Session(), self.port)
        if token is not None:
            session.headers["Authorization"] = f"Bearer {token}"
        return session

    # --- state ---------------------------------------------------------------------------

    def create_spreadsheet(self, title: str = "Untitled spreadsheet",
                           tabs: Mapping[str, Sequence[Sequence[Any]]] | None = None, *,
                           spreadsheet_id: str | None = None, private: bool = False,
                           row_count: int = DEFAULT_ROWS, column_count: int = DEFAULT_COLUMNS,
                           value_input: str = "RAW") -> SpreadsheetState:
        """A spreadsheet with the given tabs (title -> rows from A1; default one empty
        "Sheet1"), written RAW by default. The grid is at least row_count x column_count and
        grows to fit the rows."""
        with self.backend.lock:
            if spreadsheet_id in self.backend.books:
                raise ValueError(f"spreadsheet {spreadsheet_id} exists")
            book = self.backend.new_book(title, book_id=spreadsheet_id)
            book.private = private
            state = SpreadsheetState(self.backend, book.id)
            for name, rows in (tabs or {"Sheet1": []}).items():
                state.add_tab(name, rows, row_count=row_count, column_count=column_count,
                              value_input=value_input)
            return state

    def state(self, spreadsheet_id: str) -> SpreadsheetState:
        """The live state of a spreadsheet (KeyError when there is none)."""
        if spreadsheet_id not in self.backend.books:
            raise KeyError(spreadsheet_id)
        return SpreadsheetState(self.backend, spreadsheet_id)

    def spreadsheets(self) -> list[SpreadsheetState]:
        with self.backend.lock:
            return [SpreadsheetState(self.backend, i) for i in self.backend.books]

    def set_private(self, spreadsheet_id: str, private: bool = True) -> None:
        """A private spreadsheet answers 403 PERMISSION_DENIED (and is invisible to Drive)."""
        self.state(spreadsheet_id).private = private

    # --- faults --------------------------------------------------------------------------

    def fail_next(self, status: int = 503, count: int = 1, match: str | None = None, *,
                  message: str | None = None) -> None:
        """Answer the next `count` matching requests with `status` and Google's error body
        for it (no Retry-After), without touching the state. `match` is a substring of
        "METHOD /decoded/path" (e.g. "PUT ", ":append") or an endpoint name
        ("spreadsheets.values.get"); None matches every request."""
        self._add_fault(_Fault("fail", match, count, status=status, message=message))

    def delay_next(self, seconds: float, count: int = 1, match: str | None = None, *,
                   then_apply: bool = False) -> None:
        """Hold the next `count` matching requests for `seconds` (to make a client time out).
        Then, by default, close the connection unanswered and unapplied; with then_apply the
        request is carried out and answered late (a write that lands after the client gave
        up, as it can with Google)."""
        self._add_fault(_Fault("delay", match, count, seconds=seconds, then_apply=then_apply))

    def drop_next(self, count: int = 1, match: str | None = None) -> None:
        """Close the connection of the next `count` matching requests without answering."""
        self._add_fault(_Fault("drop", match, count))

    def clear_faults(self) -> None:
        with self._log_lock:
            self._faults.clear()

    def set_quota(self, *, read: int | None = None, write: int | None = None,
                  clock: Callable[[], float] | None = None) -> Callable[[], float]:
        """Per-minute quotas, per user (bearer token), as Google's "Read requests per minute
        per user" and "Write requests per minute per user": past them a request gets 429
        RESOURCE_EXHAUSTED. None leaves that kind unlimited; both None turns quotas off (the
        default). The minute runs on `clock` (seconds), by default a ManualClock the test
        moves with advance(): returned, so a fake sleep can move it too."""
        if read is None and write is None:
            self._quota = None
            return clock or ManualClock()
        clock = clock or ManualClock()
        self._quota = _Quota(read, write, clock)
        return clock

    def _add_fault(self, fault: _Fault) -> None:
        if fault.remaining < 1:
            raise ValueError("count must be at least 1")
        with self._log_lock:
            self._faults.append(fault)

    def _take_fault(self, method: str, path: str, endpoint: str) -> _Fault | None:
        with self._log_lock:
            for fault in self._faults:
                if fault.matches(method, path, endpoint):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    # --- request log ---------------------------------------------------------------------

    def requests(self, endpoint: str | None = None, *, method: str | None = None,
                 path_contains: str | None = None) -> list[LoggedRequest]:
        """The logged requests, optionally only one endpoint / method / path substring."""
        with self._log_lock:
            entries = list(self.log)
        return [e for e in entries
                if (endpoint is None or e.endpoint == endpoint)
                and (method is None or e.method == method.upper())
                and (path_contains is None or path_contains in e.path)]

    def count(self, endpoint: str | None = None, **filters: Any) -> int:
        return len(self.requests(endpoint, **filters))

    def clear_log(self) -> None:
        with self._log_lock:
            self.log.clear()

    # --- serving -------------------------------------------------------------------------

    def serve(self, handler: _Handler, raw_body: bytes) -> None:
        """Answer one HTTP request (called on the connection's thread), through the gate."""
        with self.gate(handler) if self.gate is not None else contextlib.nullcontext():
            self._serve(handler, raw_body)

    def _serve(self, handler: _Handler, raw_body: bytes) -> None:
        parts = urlsplit(handler.path)
        path = unquote(parts.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        method = handler.command
        endpoint, params = _route(method, parts.path)
        body: Any = None
        if raw_body:
            text = raw_body.decode("utf-8", "replace")
            try:
                body = json.loads(text)
            except ValueError:
                body = text
        entry = LoggedRequest(method, handler.headers.get("Host", ""), path, query, body,
                              endpoint or "unknown", size=len(raw_body))
        with self._log_lock:
            self.log.append(entry)
        drive = parts.path.startswith(("/drive/", "/upload/drive/"))

        fault = self._take_fault(method, path, entry.endpoint)
        if fault is not None:
            entry.fault = fault.kind
            if fault.kind == "drop":
                handler.drop()
                return
            if fault.kind == "fail":
                error = _fault_error(fault, method)
                entry.status = error.code
                self._send(handler, Reply(error.code, error.body(drive=drive)))
                return
            self._stopping.wait(fault.seconds)
            if not fault.then_apply or self._stopping.is_set():
                handler.drop()
                return

        refused = self._refuse(handler, entry, raw_body)
        if refused is not None:
            entry.status = refused.code
            self._send(handler, Reply(refused.code, refused.body(drive=drive), refused.headers))
            return
        reply = self._dispatch(handler, endpoint, params, query, body, raw_body, drive)
        entry.status = reply.status
        self._send(handler, reply)

    def _refuse(self, handler: _Handler, entry: LoggedRequest, raw_body: bytes
                ) -> ApiError | None:
        """Google's answer for a body over `body_limit` or a used-up per-minute quota; None
        when the request may go on.

        Guess: the body limit's answer is as reported for the v4 API (400 INVALID_ARGUMENT,
        "Request payload size exceeds the limit: 10485760 bytes.", a "badRequest" error),
        checked before authorization; the 413 page Google's front end gives for far bigger
        bodies is not modelled. Quotas count Sheets requests that carry a token (Drive has
        its own, not modelled), a GET as a read and any other method as a write, per token,
        in a sliding minute of the quota's clock; a refused request does not count."""
        if len(raw_body) > self.body_limit:
            message = f"Request payload size exceeds the limit: {self.body_limit} bytes."
            return ApiError(400, message, errors=[{"message": message, "domain": "global",
                                                   "reason": "badRequest"}])
        user = handler.headers.get("Authorization")
        quota = self._quota
        if quota is None or not user or entry.host != SHEETS_HOST or entry.endpoint == "unknown":
            return None
        kind = "Read" if entry.method == "GET" else "Write"
        with self._log_lock:
            limit = quota.take(user, kind)
        if limit is None:
            return None
        entry.fault = "quota"
        return _quota_error(kind, limit)

    def _dispatch(self, handler: _Handler, endpoint: str, params: Mapping[str, str],
                  query: Mapping[str, list[str]], body: Any, raw_body: bytes,
                  drive: bool) -> Reply:
        if not endpoint:
            return Reply(404, html_404=True)
        if not handler.headers.get("Authorization"):
            error = ApiError(401, UNAUTHENTICATED_MESSAGE, details=[{
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "CREDENTIALS_MISSING", "domain": "googleapis.com",
                "metadata": {"service": DRIVE_HOST if drive else SHEETS_HOST}}],
                headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'})
            return Reply(401, error.body(drive=drive), error.headers)
        if isinstance(body, str):
            return Reply(400, _bad_request(f"Invalid JSON payload received. Unexpected token."
                                           f"\n{body[:40]}").body(drive=drive))
        api = self.backend
        calls: dict[str, Callable[[], Reply]] = {
            "spreadsheets.create": lambda: api.spreadsheets_create(_body(body)),
            "spreadsheets.get": lambda: api.spreadsheets_get(params["id"], query),
            "spreadsheets.batchUpdate": lambda: api.batch_update(params["id"], body),
            "spreadsheets.values.get": lambda: api.values_get(params["id"], params["range"],
                                                              query),
            "spreadsheets.values.update": lambda: api.values_update(
                params["id"], params["range"], query, body),
            "spreadsheets.values.append": lambda: api.values_append(
                params["id"], params["range"], query, body),
            "spreadsheets.values.clear": lambda: api.values_clear(params["id"],
                                                                  params["range"]),
            "spreadsheets.values.batchGet": lambda: api.values_batch_get(params["id"], query),
            "spreadsheets.values.batchUpdate": lambda: api.values_batch_update(params["id"],
                                                                               body),
            "spreadsheets.values.batchClear": lambda: api.values_batch_clear(params["id"],
                                                                             body),
            "drive.files.create": lambda: api.drive_create(query, body),
            "drive.files.list": lambda: api.drive_list(query),
            "drive.files.get": lambda: api.drive_get(params["id"], query),
            "drive.files.delete": lambda: api.drive_delete(params["id"]),
        }
        try:
            with api.lock:
                return calls[endpoint]()
        except ApiError as error:
            return Reply(error.code, error.body(drive=drive), error.headers)

    @staticmethod
    def _send(handler: _Handler, reply: Reply) -> None:
        headers = dict(reply.headers)
        if reply.html_404:
            page = (b"<!DOCTYPE html><html lang=en><title>Error 404 (Not Found)</title>"
                    b"<p><b>404.</b> The requested URL was not found on this server.</p>")
            handler.respond(404, page, "text/html; charset=UTF-8", headers)
            return
        if reply.body is None:
            handler.respond(reply.status, b"", "text/html", headers)
            return
        # Compact, where Google indents: the same JSON, five times quicker for big sheets.
        data = json.dumps(reply.body, separators=(",", ":"), ensure_ascii=False).encode()
        handler.respond(reply.status, data, "application/json; charset=UTF-8", headers)


def _fault_error(fault: _Fault, method: str) -> ApiError:
    """Google's error for an injected status: 429 RESOURCE_EXHAUSTED with its quota message
    and ErrorInfo, 500 INTERNAL, 503 UNAVAILABLE, ..."""
    kind = "Read" if method == "GET" else "Write"
    if fault.status == 429:
        return _quota_error(kind, 60, fault.message)
    message = fault.message or _FAULT_MESSAGES.get(fault.status, "Injected failure.")
    return ApiError(fault.status, message.format(kind=kind))


def _quota_error(kind: str, limit: int, message: str | None = None) -> ApiError:
    """Google's 429 RESOURCE_EXHAUSTED for a per-minute, per-user quota ("Read" or "Write")
    used up, with its ErrorInfo and Help details."""
    message = (message or _FAULT_MESSAGES[429]).format(kind=kind)
    details = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "RATE_LIMIT_EXCEEDED", "domain": "googleapis.com",
                "metadata": {"service": SHEETS_HOST, "quota_metric":
                             f"sheets.googleapis.com/{kind.lower()}_requests",
                             "quota_limit": f"{kind}RequestsPerMinutePerUser",
                             "quota_limit_value": str(limit), "consumer":
                             "projects/000000000000", "quota_location": "global"}},
               {"@type": "type.googleapis.com/google.rpc.Help", "links": [
                   {"description": "Request a higher quota limit.", "url":
                    "https://cloud.google.com/docs/quotas/help/request_increase"}]}]
    return ApiError(429, message, details=details)


@pytest.fixture(name="sheets_server")
def sheets_server() -> Iterator[SheetsServer]:
    """A running loopback Sheets API server, stopped after the test."""
    with SheetsServer() as server:
        yield server


# The same fixture under a name that does not clash with the tests' `sheets_server` parameter:
# pytest registers it as "sheets_server" whatever it is imported as.
sheets_server_fixture = sheets_server
