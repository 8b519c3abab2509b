"""The Google Sheets source: a practice's records in a Google Sheet, read and written through
gspread with a fixed, small number of API requests.

Reading is one metadata request (the tabs and their sizes) and one `values:batchGet` of every
refdesk tab, unformatted, with dates as serial numbers: the count does not grow with rows or
tabs. The cells become the same text Grid an Excel file gives, so everything after the read
is shared with Excel.

Writing a command's changes is one `values:batchGet` (the header rows and id columns as they
are now, so rows sorted or inserted by someone else meanwhile do not receive another record's
update), at most one `:batchUpdate` (grid growth for appended rows, date formats) and one
`values:batchUpdate` with every value sent RAW: text is never parsed into a formula, a number
or a date. Every request is idempotent, so each is retried on 429, 5xx, timeouts and dropped
connections, with exponential backoff and jitter, within a bounded total wait.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from refdesk.book import Book, Grid, build_book, column_letter, normalize_header
from refdesk.errors import SourceError, WorkbookBusyError, WriteError
from refdesk.schema import SHEETS
from refdesk.xlsxpatch import AppendRows, Change, SetCell, SetField

T = TypeVar("T")

#: Where the credentials file is looked for when config.toml names none.
CREDENTIALS_ENV = "REFDESK_GOOGLE_CREDENTIALS"
SCOPES = ("https://www.googleapis.com/auth/spreadsheets",
          "https://www.googleapis.com/auth/drive.file")
EPOCH = dt.datetime(1899, 12, 30)
KEY = re.compile(r"^[A-Za-z0-9_-]{20,}$")
URL_KEY = re.compile(r"/spreadsheets/d/([A-Za-z0-9_-]+)")
RETRY_STATUS = {408, 429, 500, 502, 503, 504}
READ_PARAMS = {"valueRenderOption": "UNFORMATTED_VALUE",
               "dateTimeRenderOption": "SERIAL_NUMBER", "majorDimension": "ROWS"}


@dataclass(frozen=True)
class Retry:
    """Exponential backoff with full jitter: waits of up to base, 2*base, 4*base ... (each at
    most `cap`), until the attempts and the waits would pass `max_wait` seconds in all."""

    max_wait: float = 90.0
    base: float = 0.5
    cap: float = 16.0
    #: Seconds to wait for each response.
    timeout: float = 30.0


DEFAULT_RETRY = Retry()
_sleep = time.sleep


def spreadsheet_key(text: str) -> str:
    """The key of a spreadsheet from its URL (as the browser shows it) or the key itself."""
    text = (text or "").strip()
    found = URL_KEY.search(text)
    if found:
        return found.group(1)
    if KEY.match(text):
        return text
    raise SourceError(f"'{text}' is not a Google Sheets address. Copy the address from the "
                      "browser while the sheet is open (https://docs.google.com/spreadsheets/d"
                      "/.../edit) into [source] google in config.toml, or give it with --sheet.")


def quote(title: str) -> str:
    """A tab name as A1 notation wants it: 'My tab' with inner quotes doubled."""
    return "'" + title.replace("'", "''") + "'"


# -- credentials and the client -------------------------------------------------------------

def credentials_path(configured: Path | None) -> Path:
    found = configured or (Path(os.environ[CREDENTIALS_ENV]) if os.environ.get(CREDENTIALS_ENV)
                           else None)
    if found is None:
        raise SourceError(
            "no Google credentials: refdesk needs a service-account key (a .json file) or an "
            "OAuth client file to open the sheet. Set [source] credentials = \"PATH\" in "
            f"config.toml or the environment variable {CREDENTIALS_ENV}; the README's Google "
            "Sheets section shows how to make one.")
    if not found.is_file():
        raise SourceError(f"{found}: the Google credentials file does not exist. Check "
                          f"[source] credentials in config.toml or {CREDENTIALS_ENV}.")
    return found


def connect(credentials: Path | None, auth: str = "service_account") -> Any:
    """A gspread client, authenticated as config.toml says: a service account's key file, or
    the user's own Google account through gspread's OAuth flow (a browser opens once; the
    token is kept beside the client file)."""
    import gspread

    path = credentials_path(credentials)
    try:
        if auth == "oauth":
            return gspread.oauth(scopes=list(SCOPES), credentials_filename=str(path),
                                 authorized_user_filename=str(path.with_name(
                                     path.stem + "-token.json")))
        info = json.loads(path.read_text(encoding="utf-8"))
        return gspread.service_account_from_dict(info, scopes=list(SCOPES))
    except (ValueError, KeyError) as exc:
        raise SourceError(f"{path}: not a Google service-account key file ({exc}). Download "
                          "the key again (Google Cloud console > IAM > Service accounts > "
                          "Keys > Add key > JSON).") from None
    except OSError as exc:
        raise SourceError(f"{path}: cannot be read ({exc.strerror}).") from None


def service_account_email(credentials: Path | None) -> str | None:
    try:
        info = json.loads(credentials_path(credentials).read_text(encoding="utf-8"))
        return info.get("client_email")
    except (OSError, ValueError, SourceError, AttributeError):
        return None


# -- retries ---------------------------------------------------------------------------------

def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def _retryable(exc: BaseException) -> bool:
    import requests
    from gspread.exceptions import APIError

    if isinstance(exc, APIError):
        return _status(exc) in RETRY_STATUS
    return isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout
                      | requests.exceptions.ChunkedEncodingError)


def with_retries(call: Callable[[], T], policy: Retry, what: str) -> T:
    """Run `call`, retrying what may pass (rate limits, server errors, timeouts, dropped
    connections). Other errors, and the last one once `max_wait` seconds (the waits between
    attempts and the attempts themselves) are used up, are raised."""
    spent = 0.0
    attempt = 0
    while True:
        started = time.monotonic()
        try:
            return call()
        except Exception as exc:
            spent += time.monotonic() - started
            if not _retryable(exc):
                raise
            wait = random.uniform(0, min(policy.cap, policy.base * 2 ** attempt))
            if spent + wait > policy.max_wait:
                raise GoogleUnavailable(what, exc, attempt + 1) from None
            _sleep(wait)
            spent += wait
            attempt += 1


class GoogleUnavailable(SourceError):
    def __init__(self, what: str, exc: BaseException, attempts: int) -> None:
        status = _status(exc)
        reason = f"HTTP {status}" if status else type(exc).__name__
        super().__init__(f"Google Sheets did not answer {what} after {attempts} attempts "
                         f"({reason}); nothing was changed. Try again in a few minutes.")


# -- values ----------------------------------------------------------------------------------

def cell_text(value: Any) -> str | None:
    """A value as Google returns it unformatted, as the text the Book types."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else format(value, ".15g")
    return str(value)


def raw_value(value: Any) -> tuple[Any, str | None]:
    """A Python value as sent RAW, and the number format it needs (dates are serial numbers
    shown as dates). Text stays text whatever it looks like."""
    if value is None:
        return "", None
    if isinstance(value, bool):
        return value, None
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            raise WriteError("a date with a time zone cannot be written to the sheet.")
        return (value - EPOCH).total_seconds() / 86400, "DATE_TIME"
    if isinstance(value, dt.date):
        return (value - EPOCH.date()).days, "DATE"
    if isinstance(value, int | float):
        return value, None
    return str(value), None


# -- the source ------------------------------------------------------------------------------

@dataclass
class Tab:
    title: str
    sheet_id: int
    rows: int
    columns: int
    header: list[str] = field(default_factory=list)


@dataclass
class SheetWrite:
    """What a write did: the counterpart of the Excel path's PatchResult."""

    cells: int = 0
    appended: dict[str, tuple[int, int]] = field(default_factory=dict)
    requests: int = 0
    backup: Path | None = None

    @property
    def written(self) -> bool:
        return bool(self.cells or self.appended)


class GoogleSource:
    """A Google Sheet, by its URL or key."""

    path: Path | None = None

    def __init__(self, ref: str, *, credentials: Path | None = None,
                 auth: str = "service_account", client: Any = None,
                 retry: Retry | None = None, country: str = "US") -> None:
        self.ref = ref
        #: [practice] country: the order of day and month in dates typed as numbers.
        self.country = country
        self.key = spreadsheet_key(ref)
        self.credentials = credentials
        self.auth = auth
        self._client = client
        self.retry = retry or DEFAULT_RETRY
        self.title: str | None = None
        #: The refdesk tabs by schema name, as the last read found them.
        self.tabs: dict[str, Tab] = {}
        #: Every tab by its title, as the last metadata request found them.
        self.all_tabs: dict[str, Tab] = {}

    def __str__(self) -> str:
        return f"Google Sheet '{self.title}'" if self.title else f"Google Sheet {self.key}"

    # -- requests ----------------------------------------------------------------------------
    @property
    def http(self) -> Any:
        if self._client is None:
            self._client = connect(self.credentials, self.auth)
        client = self._client
        client.http_client.set_timeout(self.retry.timeout)
        return client.http_client

    def _call(self, what: str, call: Callable[[], T]) -> T:
        from gspread.exceptions import APIError

        try:
            return with_retries(call, self.retry, what)
        except APIError as exc:
            raise self._api_error(exc, what) from None

    def _api_error(self, exc: Any, what: str) -> SourceError:
        status = _status(exc)
        if status == 404:
            return SourceError(f"no Google Sheet with the key {self.key}: check the address in "
                               "[source] google (or --sheet); the sheet may have been deleted.")
        if status == 403:
            email = service_account_email(self.credentials)
            who = f"the service account {email}" if email else "the account refdesk signs in as"
            return SourceError(f"{self}: permission denied. Share the sheet with {who} as an "
                               "Editor (Share button in Google Sheets), then run again.")
        if status == 401:
            return SourceError("Google refused the credentials (HTTP 401). Download a new key "
                               "file for the service account, or sign in again.")
        message = ""
        with contextlib.suppress(ValueError, KeyError, TypeError, AttributeError):
            message = exc.response.json()["error"]["message"]
        return SourceError(f"Google Sheets refused {what} (HTTP {status}): {message}")

    def metadata(self) -> dict[str, Tab]:
        meta = self._call("the request for the sheet's tabs", lambda: self.http.
                          fetch_sheet_metadata(self.key, params={"includeGridData": "false"}))
        self.title = meta.get("properties", {}).get("title")
        tabs = {}
        for sheet in meta.get("sheets", []):
            p = sheet.get("properties", {})
            grid = p.get("gridProperties", {})
            tabs[p.get("title", "")] = Tab(p.get("title", ""), p.get("sheetId", 0),
                                           grid.get("rowCount", 0), grid.get("columnCount", 0))
        self.all_tabs = tabs
        return tabs

    # -- reading -----------------------------------------------------------------------------
    def read(self) -> Book:
        grids = self.read_grids()  # first: it learns the sheet's title
        return build_book(str(self), grids, self.country)

    def read_grids(self) -> dict[str, Grid]:
        """Every refdesk tab the sheet has, as text cells: two requests in all."""
        tabs = self.metadata()
        by_lower = {t.strip().lower(): t for t in tabs}
        chosen = {s.name: by_lower[s.name.lower()] for s in SHEETS if s.name.lower() in by_lower}
        ranges = [quote(title) for title in chosen.values()]
        answer = self._call("the read of the sheet's rows", lambda: self.http.values_batch_get(
            self.key, ranges, params=dict(READ_PARAMS))) if ranges else {"valueRanges": []}
        grids: dict[str, Grid] = {}
        self.tabs = {}
        for (name, title), block in zip(chosen.items(), answer.get("valueRanges", []),
                                        strict=False):
            rows = block.get("values", [])
            tab = tabs[title]
            tab.header = [cell_text(v) or "" for v in (rows[0] if rows else [])]
            self.tabs[name] = tab
            grids[name] = grid_of(title, rows)
        return grids

    def check_writable(self) -> None:
        """Nothing to check ahead: the write itself finds every row again by its id."""

    def locked(self, command: str = "refdesk", wait: float = 10.0
               ) -> contextlib.AbstractContextManager[None]:
        """A no-op: a Google Sheet offers no lock refdesk could hold (each write still finds
        its rows again by id)."""
        return contextlib.nullcontext()

    # -- writing -----------------------------------------------------------------------------
    def write(self, changes: Iterable[Change], *, backup: bool = True,
              command: str = "refdesk") -> SheetWrite:
        """Apply the changes in three requests at most; see the module's docstring."""
        changes = list(changes)
        result = SheetWrite()
        if not changes:
            return result
        if not self.tabs:
            raise WriteError(f"{self}: read the sheet before writing to it.")
        sheets = sorted({c.sheet for c in changes})
        for name in sheets:
            if name not in self.tabs:
                raise WriteError(f"{self}: there is no tab {name} to write to. Add it (refdesk "
                                 "init --sheet creates missing tabs), then run again.")
        ranges, layout = self._fresh_ranges(changes)
        answer = self._call("the check of the rows before writing", lambda: self.http.
                            values_batch_get(self.key, ranges, params=dict(READ_PARAMS)))
        blocks = answer.get("valueRanges", [])
        fresh = {key: blocks[i].get("values", []) for i, key in enumerate(layout)}
        data, formats, grow = self._plan(changes, fresh, result)
        requests = [*self._grow_requests(grow), *self._format_requests(formats)]
        grown = False
        if requests:
            self._call("the growth of the tabs", lambda: self.http.batch_update(
                self.key, {"requests": requests}))
            grown = bool(grow)
            result.requests += 1
        body = {"valueInputOption": "RAW", "data": data}
        try:
            self._call("the write of the changes", lambda: self.http.values_batch_update(
                self.key, body))
        except SourceError as exc:
            if grown:
                self._undo_growth(grow)
            raise WriteError(f"{exc.message} The sheet's values were not changed.") from None
        result.requests += 2
        for name, (first, count) in result.appended.items():
            tab = self.tabs[name]
            tab.rows = max(tab.rows, first + count - 1)
        return result

    def _fresh_ranges(self, changes: list[Change]) -> tuple[list[str], list[tuple[str, str]]]:
        """The ranges to fetch right before writing: each changed tab's header row; the id
        column of tabs changed by id; the whole of tabs that get rows appended (to find their
        last row)."""
        ranges: list[str] = []
        layout: list[tuple[str, str]] = []

        def add(name: str, what: str, a1: str) -> None:
            if (name, what) not in layout:
                layout.append((name, what))
                ranges.append(a1)

        for c in changes:
            title = quote(self.tabs[c.sheet].title)
            add(c.sheet, "header", f"{title}!1:1")
            if isinstance(c, SetField):
                letter = column_letter(self._column(c.sheet, c.id_column))
                add(c.sheet, f"id:{c.id_column}", f"{title}!{letter}:{letter}")
            elif isinstance(c, AppendRows):
                add(c.sheet, "all", title)
        return ranges, layout

    def _plan(self, changes: list[Change], fresh: dict[tuple[str, str], list[list[Any]]],
              result: SheetWrite) -> tuple[list[dict[str, Any]], list[tuple[str, str, int, int]],
                                           dict[str, int]]:
        data: list[dict[str, Any]] = []
        formats: list[tuple[str, str, int, int]] = []  # sheet, kind, row, column
        grow: dict[str, int] = {}
        for name in {c.sheet for c in changes}:
            now = [cell_text(v) or "" for v in (fresh[(name, "header")] or [[]])[0]]
            if [normalize_header(h) for h in now] != [normalize_header(h) for h in
                                                       self.tabs[name].header]:
                raise WorkbookBusyError(
                    f"{self}: the columns of tab {name} changed since refdesk read it (row 1 is "
                    "different now); nothing was written. Run the command again.")

        def put(sheet: str, row: int, col: int, values: Sequence[Any]) -> None:
            sent, kinds = [], []
            for v in values:
                raw, kind = raw_value(v)
                sent.append(raw)
                kinds.append(kind)
            title = quote(self.tabs[sheet].title)
            data.append({"range": f"{title}!{column_letter(col)}{row}",
                         "majorDimension": "ROWS", "values": [sent]})
            for i, kind in enumerate(kinds):
                if kind:
                    formats.append((sheet, kind, row, col + i))

        missing: list[str] = []
        for c in changes:
            if isinstance(c, SetField):
                ids = [cell_text(r[0]) if r else None for r in fresh[(c.sheet,
                                                                      f"id:{c.id_column}")]]
                rows = [i + 1 for i, v in enumerate(ids) if i > 0 and v == str(c.id)]
                if not rows:
                    missing.append(f"{c.sheet}: no row with {c.id_column} {c.id}")
                    continue
                if len(rows) > 1:
                    raise WriteError(f"{self}: {c.id_column} {c.id} is in rows "
                                     f"{rows[0]} and {rows[1]} of tab {c.sheet}; make it unique, "
                                     "then run again. Nothing was written.")
                put(c.sheet, rows[0], self._column(c.sheet, c.column), [c.value])
                result.cells += 1
            elif isinstance(c, SetCell):
                match = re.fullmatch(r"([A-Z]+)([0-9]+)", c.cell.upper())
                if not match:
                    raise WriteError(f"{c.sheet}!{c.cell} is not a cell address.")
                col = _column_index(match.group(1))
                put(c.sheet, int(match.group(2)), col, [c.value])
                result.cells += 1
            elif isinstance(c, AppendRows):
                existing = fresh[(c.sheet, "all")]
                first = max(len(existing), 1) + 1
                start = first + sum(n for s, (_, n) in result.appended.items() if s == c.sheet)
                header = [normalize_header(h) for h in self.tabs[c.sheet].header]
                for offset, record in enumerate(c.rows):
                    put(c.sheet, start + offset, 0, self._row_values(c.sheet, header, record))
                previous = result.appended.get(c.sheet)
                result.appended[c.sheet] = (previous[0] if previous else start,
                                            (previous[1] if previous else 0) + len(c.rows))
                last = start + len(c.rows) - 1
                if last > self.tabs[c.sheet].rows:
                    grow[c.sheet] = max(grow.get(c.sheet, 0), last)
        if missing:
            raise WriteError(f"{self}: some rows are gone since refdesk read the sheet (deleted, "
                             "or their id changed); nothing was written. Run the command again.",
                             details=missing)
        return data, formats, grow

    def _column(self, sheet: str, column: str) -> int:
        header = [normalize_header(h) for h in self.tabs[sheet].header]
        if column not in header:
            raise WriteError(f"{self}: tab {sheet} has no column '{column}' in row 1. Add it, "
                             "then run again; nothing was written.")
        return header.index(column)

    def _row_values(self, sheet: str, header: list[str],
                    record: Mapping[str, object] | Sequence[object]) -> list[Any]:
        if not isinstance(record, Mapping):
            return list(record)
        unknown = [k for k in record if normalize_header(k) not in header]
        if unknown:
            raise WriteError(f"{self}: tab {sheet} has no column {', '.join(unknown)} in row 1. "
                             "Add it, then run again; nothing was written.")
        values = {normalize_header(k): v for k, v in record.items()}
        width = max((header.index(k) for k in values), default=-1) + 1
        return [values.get(header[i]) for i in range(width)]

    def _grow_requests(self, grow: dict[str, int]) -> list[dict[str, Any]]:
        """Set each tab's row count (absolute, so a retried request does the same thing)."""
        return [{"updateSheetProperties": {
            "properties": {"sheetId": self.tabs[name].sheet_id,
                           "gridProperties": {"rowCount": rows}},
            "fields": "gridProperties.rowCount"}} for name, rows in sorted(grow.items())]

    def _undo_growth(self, grow: dict[str, int]) -> None:
        undo = [{"updateSheetProperties": {
            "properties": {"sheetId": self.tabs[name].sheet_id,
                           "gridProperties": {"rowCount": self.tabs[name].rows}},
            "fields": "gridProperties.rowCount"}} for name in sorted(grow)]
        # The added rows are empty: if even this fails, they are harmless.
        with contextlib.suppress(SourceError):
            self._call("the undo of the tabs' growth", lambda: self.http.batch_update(
                self.key, {"requests": undo}))

    def _format_requests(self, formats: list[tuple[str, str, int, int]]
                         ) -> list[dict[str, Any]]:
        """Date cells get a date format, so the serial number written reads as a date."""
        patterns = {"DATE": "yyyy-mm-dd", "DATE_TIME": "yyyy-mm-dd hh:mm"}
        merged: dict[tuple[str, str, int], list[int]] = {}
        for sheet, kind, row, col in formats:
            merged.setdefault((sheet, kind, col), []).append(row)
        requests = []
        for (sheet, kind, col), rows in sorted(merged.items()):
            for start, end in _runs(sorted(set(rows))):
                requests.append({"repeatCell": {
                    "range": {"sheetId": self.tabs[sheet].sheet_id, "startRowIndex": start - 1,
                              "endRowIndex": end, "startColumnIndex": col,
                              "endColumnIndex": col + 1},
                    "cell": {"userEnteredFormat": {"numberFormat": {
                        "type": kind, "pattern": patterns[kind]}}},
                    "fields": "userEnteredFormat.numberFormat"}})
        return requests


def _runs(rows: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for r in rows:
        if runs and runs[-1][1] == r - 1:
            runs[-1] = (runs[-1][0], r)
        else:
            runs.append((r, r))
    return runs


def _column_index(letters: str) -> int:
    index = 0
    for ch in letters:
        index = index * 26 + (ord(ch) - 64)
    return index - 1


def grid_of(title: str, rows: list[list[Any]]) -> Grid:
    """Google's rows (ragged: trailing empty cells are left out) as a Grid of text cells."""
    width = max((len(r) for r in rows), default=0)
    cells = pd.DataFrame([[cell_text(v) for v in r] + [None] * (width - len(r)) for r in rows],
                         columns=[column_letter(i) for i in range(width)], dtype=object)
    cells.index = pd.RangeIndex(1, len(cells) + 1, name="row")
    return Grid(title, cells)
