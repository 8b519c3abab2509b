"""The Google Sheets source: a practice's records in a Google Sheet, read and written through
gspread with a fixed, small number of API requests.

Reading is one metadata request (the tabs and their sizes) and one `values:batchGet` of every
refdesk tab, unformatted, with dates as serial numbers: the count does not grow with rows or
tabs. The cells become the same text Grid an Excel file gives, so everything after the read
is shared with Excel.

Writing a command's changes is one `values:batchGet` (the header rows, id columns and the
columns to set as they are now, so rows sorted or inserted by someone else meanwhile do not
receive another record's update, and cells changed since the read are kept: see
refdesk.sources.google.plan), at most one `:batchUpdate` (grid growth for appended rows, date
formats) and one `values:batchUpdate` with every value sent RAW: text is never parsed into a
formula, a number or a date. Every request but the growth is idempotent (a repeated growth
adds empty rows, harmless), so each is retried on 429, 5xx, timeouts and dropped connections,
with exponential backoff and jitter, within a bounded total wait.
"""

from __future__ import annotations

import contextlib
import datetime as dt
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
from refdesk.schema import SHEETS, SHEETS_BY_NAME
from refdesk.sources.google.auth import CREDENTIALS_ENV as CREDENTIALS_ENV  # where tests look
from refdesk.sources.google.auth import connect, service_account_email, sign_in_error, unauthorized
from refdesk.sources.google.plan import (
    UNKNOWN,
    Kept,
    Plan,
    Seen,
    Sent,
    WriteInDoubt,
    is_health,
    landed_state,
    next_free,
    rows_text,
    shown,
    where_sent,
)
from refdesk.xlsxpatch import AppendRows, Change, SetCell, SetField

T = TypeVar("T")

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
    #: The longest wait after a 429 (a per-minute quota used up): Google's advice is
    #: exponential backoff up to 32-64 seconds, and the quota refills within a minute.
    quota_cap: float = 32.0


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


# -- retries ---------------------------------------------------------------------------------

def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def _retryable(exc: BaseException) -> bool:
    import requests
    from google.auth.exceptions import RefreshError, TransportError
    from gspread.exceptions import APIError

    if isinstance(exc, APIError):
        return _status(exc) in RETRY_STATUS
    if isinstance(exc, RefreshError):  # Google's sign-in service had a passing failure
        return bool(getattr(exc, "retryable", False))
    # TransportError: the sign-in request (a token refresh) lost its connection.
    return isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout
                      | requests.exceptions.ChunkedEncodingError | TransportError)


def _backoff(exc: BaseException, policy: Retry, attempt: int) -> float:
    """The wait before the next attempt. A 429 means a per-minute quota is used up: the waits
    grow surely (half of each is fixed) up to `quota_cap`, so the retries reach past the
    minute; a Retry-After from Google is honoured. Other failures: full jitter."""
    if _status(exc) != 429:
        return random.uniform(0, min(policy.cap, policy.base * 2 ** attempt))
    step = min(policy.quota_cap, policy.base * 2 ** attempt)
    wait = random.uniform(step / 2, step)
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    with contextlib.suppress(KeyError, TypeError, ValueError):
        wait = max(wait, min(policy.quota_cap, float(headers["Retry-After"])))
    return wait


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
            wait = _backoff(exc, policy, attempt)
            if spent + wait > policy.max_wait:
                left = policy.max_wait - spent
                # A quota refills at a known time: one last attempt at the deadline, rather
                # than giving up with seconds to spare.
                if _status(exc) != 429 or left < policy.base:
                    raise GoogleUnavailable(what, exc, attempt + 1, spent) from None
                wait = left
            _sleep(wait)
            spent += wait
            attempt += 1


class GoogleUnavailable(SourceError):
    def __init__(self, what: str, exc: BaseException, attempts: int,
                 spent: float = 0.0) -> None:
        status = _status(exc)
        reason = f"HTTP {status}" if status else type(exc).__name__
        #: The failure alone, for a caller that knows better than "nothing was changed".
        self.answer = f"Google Sheets did not answer {what} after {attempts} attempts ({reason})"
        advice = "Try again in a few minutes."
        if status == 429:
            self.answer = (f"Google Sheets refused {what}: the per-minute request quota stayed "
                           f"used up for {spent:.0f} seconds ({attempts} attempts, HTTP 429)")
            advice = ("Another program using the same Google account (another refdesk, an "
                      "add-on, a script) may be using the quota. Wait a minute and run again; "
                      "if it keeps happening, ask for a higher Sheets API quota (Google Cloud "
                      "console > IAM & Admin > Quotas).")
        super().__init__(f"{self.answer}; nothing was changed. {advice}")


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
    #: Cells someone else changed since the read: left as they are, to report.
    kept: list[Kept] = field(default_factory=list)
    #: sheet -> {id asked for: id given}, for appended rows whose id someone else took meanwhile.
    renamed: dict[str, dict[str, str]] = field(default_factory=dict)
    #: The answer to the values' write was lost, and reading the cells back showed it landed.
    recovered: bool = False

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
        #: What refdesk last knew each cell held, for the write to compare with.
        self.seen = Seen()

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
        from google.auth.exceptions import RefreshError
        from gspread.exceptions import APIError

        if self.lease is not None:
            self.lease.tick()  # a long command renews its writing lease between requests
        try:
            return with_retries(call, self.retry, what)
        except APIError as exc:
            raise self._api_error(exc, what) from None
        except RefreshError as exc:  # signing in (a token refresh) was refused
            raise sign_in_error(exc, self.credentials, self.auth) from None

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
            return unauthorized(self.credentials, self.auth)
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
        self.seen = Seen(grids)
        return grids

    def check_writable(self) -> None:
        """Nothing to check ahead: the write itself finds every row again by its id."""

    #: The writing lease this command holds now (refdesk.sources.google.lease), and how
    #: leases are held (None: the defaults; tests give a clock and a sleep of their own).
    lease: Any = None
    lease_settings: Any = None

    def locked(self, command: str = "refdesk", wait: float = 10.0
               ) -> contextlib.AbstractContextManager[None]:
        """Hold the sheet's writing lease (refdesk.sources.google.lease) for the whole
        command: another refdesk writing the sheet, on any machine, is waited for up to `wait`
        seconds."""
        from refdesk.sources.google.lease import hold

        return hold(self, command, wait)

    def keep_alive(self) -> None:
        """Renew the writing lease while a command sends email (no Sheets request renews it
        then). A lease found lost is not raised here, in the middle of a batch of messages:
        the next request of the command raises it, before anything is written."""
        from refdesk.sources.google.lease import LeaseLost

        if self.lease is not None:
            with contextlib.suppress(LeaseLost):
                self.lease.tick()

    # -- writing -----------------------------------------------------------------------------
    def write(self, changes: Iterable[Change], *, backup: bool = True,
              command: str = "refdesk") -> SheetWrite:
        """Apply the changes in three requests at most, planned from the sheet as it is right
        before: see the module's docstring and refdesk.sources.google.plan."""
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
        result.requests += 1
        blocks = answer.get("valueRanges", [])
        fresh = {key: blocks[i].get("values", []) for i, key in enumerate(layout)}
        plan = self._plan(changes, fresh, result)
        requests = [*self._grow_requests(plan.grow), *self._format_requests(plan.formats)]
        grown: dict[str, tuple[int, int]] = {}
        if requests:
            body: dict[str, Any] = {"requests": requests}
            if plan.grow:  # the row counts after the growth, to undo exactly that
                body["includeSpreadsheetInResponse"] = True
            try:
                reply = self._call("the growth of the tabs", lambda: self.http.batch_update(
                    self.key, body))
            except SourceError as exc:
                failed = getattr(exc, "answer", "") or exc.message.rstrip(".")
                maybe = (" (the tabs may have gained empty rows at their end, which do no harm)"
                         if plan.grow and getattr(exc, "answer", "") else "")
                raise WriteError(f"{failed}. The sheet's values were not changed{maybe}. Run the "
                                 "command again once this is fixed.") from None
            grown = self._grown(plan.grow, reply)
            result.requests += 1
        if plan.data:
            values = {"valueInputOption": "RAW", "data": plan.data}
            try:
                self._call("the write of the changes", lambda: self.http.values_batch_update(
                    self.key, values))
            except SourceError as exc:
                self._after_failure(exc, plan, grown)  # raises unless the write landed
                result.recovered = True
            result.requests += 1
        for name, (first, count) in result.appended.items():
            tab = self.tabs[name]
            tab.rows = max(tab.rows, first + count - 1)
        self.seen.written.update(plan.learned)
        return result

    def _fresh_ranges(self, changes: list[Change]) -> tuple[list[str], list[tuple[str, str]]]:
        """The ranges to fetch right before writing: each changed tab's header row; for a
        change by id, the id column and the column it sets (to compare with what was read);
        a cell's own address; the whole of tabs that get rows appended (their last row and
        the ids taken)."""
        ranges: list[str] = []
        layout: list[tuple[str, str]] = []

        def add(name: str, what: str, a1: str) -> None:
            if (name, what) not in layout:
                layout.append((name, what))
                ranges.append(a1)

        def column(name: str, index: int) -> None:
            letter = column_letter(index)
            add(name, f"col:{index}", f"{quote(self.tabs[name].title)}!{letter}:{letter}")

        for c in changes:
            title = quote(self.tabs[c.sheet].title)
            add(c.sheet, "header", f"{title}!1:1")
            if isinstance(c, SetField):
                column(c.sheet, self._column(c.sheet, c.id_column))
                column(c.sheet, self._column(c.sheet, c.column))
            elif isinstance(c, SetCell) and re.fullmatch(r"[A-Z]+[0-9]+", c.cell.upper()):
                add(c.sheet, f"cell:{c.cell.upper()}", f"{title}!{c.cell.upper()}")
            elif isinstance(c, AppendRows):
                add(c.sheet, "all", title)
        return ranges, layout

    def _plan(self, changes: list[Change], fresh: dict[tuple[str, str], list[list[Any]]],
              result: SheetWrite) -> Plan:
        """The values to send, from the sheet as it is now: cells changed since the read are
        kept (result.kept), appended rows go after the last row and get free ids."""
        plan = Plan()
        for name in {c.sheet for c in changes}:
            now = [cell_text(v) or "" for v in (fresh[(name, "header")] or [[]])[0]]
            if [normalize_header(h) for h in now] != [normalize_header(h) for h in
                                                       self.tabs[name].header]:
                raise WorkbookBusyError(
                    f"{self}: the columns of tab {name} changed since refdesk read it (row 1 is "
                    "different now); nothing was written. Run the command again.")

        def put(sheet: str, row: int, col: int, values: Sequence[Any],
                before: list[str | None], appended: bool = False) -> list[str | None]:
            sent, kinds = [], []
            for v in values:
                raw, kind = raw_value(v)
                sent.append(raw)
                kinds.append(kind)
            title = quote(self.tabs[sheet].title)
            data_range = f"{title}!{column_letter(col)}{row}"
            if len(sent) > 1:
                data_range += f":{column_letter(col + len(sent) - 1)}{row}"
            plan.data.append({"range": data_range, "majorDimension": "ROWS",
                              "values": [sent]})
            texts = [cell_text(v) for v in sent]
            plan.sent.append(Sent(sheet, row, col, texts, before, appended))
            for i, kind in enumerate(kinds):
                if kind:
                    plan.formats.append((sheet, kind, row, col + i))
            return texts

        def cell(sheet: str, row: int, col: int, value: Any, now: str | None, read: Any,
                 key: tuple[Any, ...]) -> None:
            new = cell_text(raw_value(value)[0])
            if now == new:  # already so: nothing to write, nobody to overrule
                plan.learned[(sheet, key)] = new
                return
            if read is not UNKNOWN and read != now:
                name = self.tabs[sheet].header[col] if col < len(self.tabs[sheet].header) else ""
                result.kept.append(Kept(f"{self.tabs[sheet].title}!{column_letter(col)}{row}",
                                        shown(sheet, normalize_header(name), now),
                                        is_health(sheet, normalize_header(name))))
                return
            put(sheet, row, col, [value], [now])
            result.cells += 1
            plan.learned[(sheet, key)] = new

        def text_at(block: list[list[Any]], row: int, col: int = 0) -> str | None:
            line = block[row - 1] if row - 1 < len(block) else []
            return cell_text(line[col]) if col < len(line) else None

        missing: list[str] = []
        taken: dict[str, set[str]] = {}
        for c in changes:
            if isinstance(c, SetField):
                id_col = self._column(c.sheet, c.id_column)
                col = self._column(c.sheet, c.column)
                ids = fresh[(c.sheet, f"col:{id_col}")]
                rows = [i + 1 for i in range(1, len(ids)) if text_at(ids, i + 1) == str(c.id)]
                if not rows:
                    missing.append(f"{c.sheet}: no row with {c.id_column} {c.id}")
                    continue
                if len(rows) > 1:
                    raise WriteError(f"{self}: {c.id_column} {c.id} is in rows "
                                     f"{rows[0]} and {rows[1]} of tab {c.sheet}; make it unique, "
                                     "then run again. Nothing was written.")
                now = text_at(fresh[(c.sheet, f"col:{col}")], rows[0])
                read = self.seen.by_id(c.sheet, id_col, str(c.id), col)
                cell(c.sheet, rows[0], col, c.value, now, read, ("id", id_col, str(c.id), col))
            elif isinstance(c, SetCell):
                match = re.fullmatch(r"([A-Z]+)([0-9]+)", c.cell.upper())
                if not match:
                    raise WriteError(f"{c.sheet}!{c.cell} is not a cell address.")
                col, row = _column_index(match.group(1)), int(match.group(2))
                now = text_at(fresh[(c.sheet, f"cell:{c.cell.upper()}")], 1)
                cell(c.sheet, row, col, c.value, now, self.seen.at(c.sheet, row, col),
                     ("cell", row, col))
            elif isinstance(c, AppendRows):
                self._plan_append(c, fresh[(c.sheet, "all")], taken, plan, result, put)
        if missing:
            raise WriteError(f"{self}: some rows are gone since refdesk read the sheet (deleted, "
                             "or their id changed); nothing was written. Run the command again.",
                             details=missing)
        return plan

    def _plan_append(self, change: AppendRows, existing: list[list[Any]],
                     taken: dict[str, set[str]], plan: Plan, result: SheetWrite,
                     put: Callable[..., list[str | None]]) -> None:
        """Rows after the last row with data now; an id someone else took meanwhile (or that
        this write already gave) is replaced by the next free one."""
        sheet = change.sheet
        header = [normalize_header(h) for h in self.tabs[sheet].header]
        schema = SHEETS_BY_NAME.get(sheet)
        key = header.index(schema.key) if schema and schema.key in header else None
        if sheet not in taken:
            taken[sheet] = set() if key is None else {
                t for r in existing[1:] if len(r) > key and (t := cell_text(r[key]))}
        previous = result.appended.get(sheet)
        start = max(len(existing), 1) + 1 + (previous[1] if previous else 0)
        # The grid has at least the rows that hold data now, whatever the read found.
        self.tabs[sheet].rows = max(self.tabs[sheet].rows, len(existing))
        for offset, record in enumerate(change.rows):
            values = self._row_values(sheet, header, record)
            ident = None
            if key is not None and key < len(values):
                ident = cell_text(raw_value(values[key])[0])
                if ident and ident in taken[sheet]:
                    fresh_id = next_free(taken[sheet], ident)
                    result.renamed.setdefault(sheet, {})[ident] = fresh_id
                    values[key] = ident = fresh_id
                if ident:
                    taken[sheet].add(ident)
            texts = put(sheet, start + offset, 0, values, [None] * len(values), True)
            if ident and key is not None:
                plan.learned.update({(sheet, ("id", key, ident, i)): t
                                     for i, t in enumerate(texts)})
        result.appended[sheet] = (previous[0] if previous else start,
                                  (previous[1] if previous else 0) + len(change.rows))
        last = start + len(change.rows) - 1
        if last > self.tabs[sheet].rows:
            plan.grow[sheet] = max(plan.grow.get(sheet, 0), last)

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
        """Rows appended to each tab that has fewer than `grow` says (the last row needed):
        relative to the count read, so rows someone else added meanwhile are never cut."""
        return [{"appendDimension": {"sheetId": self.tabs[name].sheet_id, "dimension": "ROWS",
                                     "length": rows - self.tabs[name].rows}}
                for name, rows in sorted(grow.items()) if rows > self.tabs[name].rows]

    def _grown(self, grow: dict[str, int], reply: Any) -> dict[str, tuple[int, int]]:
        """The rows each tab got, and its row count after: (added, count)."""
        counts: dict[int, int] = {}
        with contextlib.suppress(AttributeError, TypeError):
            for sheet in reply.get("updatedSpreadsheet", {}).get("sheets", []):
                p = sheet.get("properties", {})
                counts[p.get("sheetId")] = p.get("gridProperties", {}).get("rowCount", 0)
        grown = {}
        for name, rows in grow.items():
            tab = self.tabs[name]
            added = rows - tab.rows
            if added > 0:
                tab.rows = counts.get(tab.sheet_id) or rows
                grown[name] = (added, tab.rows)
        return grown

    def _undo_growth(self, grown: dict[str, tuple[int, int]]) -> list[str]:
        """Remove the rows refdesk added, where they still are the tab's last rows and still
        empty (someone may have typed into them or added rows after them); returns the tabs
        whose added rows stay. If Google does not answer, they stay: empty rows do no harm."""
        if not grown:
            return []
        left = set(grown)
        with contextlib.suppress(SourceError):
            now = {t.sheet_id: t.rows for t in self.metadata().values()}
            mine = {n: g for n, g in grown.items() if now.get(self.tabs[n].sheet_id) == g[1]}
            names = sorted(mine)
            if names:
                answer = self._call("the check of the rows refdesk added", lambda: self.http.
                                    values_batch_get(self.key, [
                                        f"{quote(self.tabs[n].title)}!{mine[n][1] - mine[n][0] + 1}"
                                        f":{mine[n][1]}" for n in names],
                                        params=dict(READ_PARAMS)))
                blocks = answer.get("valueRanges", [])
                empty = [n for n, b in zip(names, blocks, strict=False)
                         if not any(cell_text(v) for r in b.get("values", []) for v in r)]
                undo = [{"deleteDimension": {"range": {
                    "sheetId": self.tabs[n].sheet_id, "dimension": "ROWS",
                    "startIndex": mine[n][1] - mine[n][0], "endIndex": mine[n][1]}}}
                    for n in empty]
                if undo:
                    self._call("the undo of the tabs' growth", lambda: self.http.batch_update(
                        self.key, {"requests": undo}))
                    for n in empty:
                        self.tabs[n].rows = mine[n][1] - mine[n][0]
                        left.discard(n)
        return sorted(left)

    def _read_back(self, sent: list[Sent]) -> list[list[str | None]]:
        """The cells a write meant to set, as they are now."""
        ranges = [f"{quote(self.tabs[s.sheet].title)}!{column_letter(s.col)}{s.row}:"
                  f"{column_letter(s.col + len(s.texts) - 1)}{s.row}" for s in sent]
        answer = self._call("the read-back of the changes", lambda: self.http.values_batch_get(
            self.key, ranges, params=dict(READ_PARAMS)))
        blocks = answer.get("valueRanges", [])
        now = []
        for s, block in zip(sent, blocks, strict=True):
            line = (block.get("values") or [[]])[0]
            now.append([cell_text(line[i]) if i < len(line) else None
                        for i in range(len(s.texts))])
        return now

    def _after_failure(self, exc: SourceError, plan: Plan,
                       grown: dict[str, tuple[int, int]]) -> None:
        """The values' write failed, or its answer was lost: read the cells back to find out
        whether it landed. Returns when it did; otherwise raises, saying what is in the
        sheet (and removing the rows refdesk added only when they hold nothing)."""
        failed = getattr(exc, "answer", "") or exc.message.rstrip(".")
        titles = {n: t.title for n, t in self.tabs.items()}
        try:
            now = self._read_back(plan.sent)
        except (SourceError, ValueError):
            places = where_sent(plan.sent, titles)
            raise WriteInDoubt(
                f"{failed}, and the sheet could not be read back, so refdesk cannot tell whether "
                f"its changes are in it. Look at {', '.join(places[:8])}"
                f"{' ...' if len(places) > 8 else ''} in the sheet: they hold either refdesk's "
                "values or what was there before, nothing in between. Once Google answers, run "
                "the same command again: it finds what is done and does the rest.") from None
        state = landed_state(plan.sent, now)
        if state == "all":
            return  # the answer was lost, the write was not
        if state == "none":
            left = self._undo_growth(grown)
            extra = "".join(
                f" Tab {titles[n]} keeps the {grown[n][0]} row(s) refdesk added at its end ("
                f"{rows_text(grown[n][1] - grown[n][0] + 1, grown[n][0])}): someone typed there "
                "or added rows after them meanwhile, or Google did not answer; empty rows do no "
                "harm." for n in left)
            raise WriteError(f"{failed}. The sheet's values were not changed.{extra}")
        done = ", ".join(where_sent([s for s, n in zip(plan.sent, now, strict=True)
                                     if s.texts == n], titles))
        undone = ", ".join(where_sent([s for s, n in zip(plan.sent, now, strict=True)
                                       if s.texts != n], titles))
        raise WriteError(
            f"{failed}. Part of the write is in the sheet and part is not (someone may have "
            f"edited those cells at the same moment): written {done}; not written {undone}. "
            "Check those places, then run the same command again: it finds what is done and "
            "does the rest.")

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
