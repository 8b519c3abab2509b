"""Writing a command's changes to a Google Sheet that other people edit at the same time.

A write is one `values:batchGet` (the header rows, id columns and the columns to set as they
are now, so rows sorted or inserted by someone else meanwhile do not receive another record's
update), at most one `:batchUpdate` (grid growth for appended rows, date formats) and one
`values:batchUpdate` with every value sent RAW: text is never parsed into a formula, a number
or a date. A Google Sheet has no lock a write could hold against someone typing, so the write
plans from what the sheet holds right before it, never from what the command read a while
ago:

- each cell a change sets is compared with the text refdesk read there; a cell someone changed
  meanwhile keeps their value and is reported (`Kept`), the rest of the write goes ahead;
- rows are appended after the last row with data now, and an appended row whose id someone
  else took meanwhile gets the next free id (the write's `renamed` says which);
- a tab is grown by the rows it lacks (appendDimension, relative: never a row count read
  earlier), and after a failed write only the rows refdesk added are removed again, and only
  while they are still empty;
- when the answer to the values' write is lost, the sheet is read back to find out whether it
  landed, and the message says what is in the sheet.

The pieces of the plan (what was seen, sent and kept) are in refdesk.sources.google.plan.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from refdesk.book import column_letter, normalize_header
from refdesk.errors import SourceError, WorkbookBusyError, WriteError
from refdesk.schema import SHEETS_BY_NAME
from refdesk.sources.google.client import SheetsClient, quote
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
from refdesk.sources.google.read import READ_PARAMS, Tab, cell_text, raw_value
from refdesk.xlsxpatch import AppendRows, Change, SetCell, SetField


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


class Writer:
    """One command's writes to the tabs a read found (see the module's docstring)."""

    def __init__(self, api: SheetsClient, tabs: dict[str, Tab], seen: Seen,
                 metadata: Callable[[], dict[str, Tab]]) -> None:
        self.api = api
        #: The refdesk tabs by schema name; a write keeps their row counts up to date.
        self.tabs = tabs
        #: What refdesk last knew each cell held; a write adds what it wrote.
        self.seen = seen
        #: Every tab of the sheet as it is now (one request), to undo a growth.
        self.metadata = metadata

    def __str__(self) -> str:
        return str(self.api)

    def write(self, changes: Iterable[Change]) -> SheetWrite:
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
        answer = self.api.call("the check of the rows before writing", lambda: self.api.http.
                               values_batch_get(self.api.key, ranges, params=dict(READ_PARAMS)))
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
                reply = self.api.call("the growth of the tabs", lambda: self.api.http.
                                      batch_update(self.api.key, body))
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
                self.api.call("the write of the changes", lambda: self.api.http.
                              values_batch_update(self.api.key, values))
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
                ranges = [f"{quote(self.tabs[n].title)}!{mine[n][1] - mine[n][0] + 1}"
                          f":{mine[n][1]}" for n in names]
                answer = self.api.call("the check of the rows refdesk added", lambda: self.api.
                                       http.values_batch_get(self.api.key, ranges,
                                                             params=dict(READ_PARAMS)))
                blocks = answer.get("valueRanges", [])
                empty = [n for n, b in zip(names, blocks, strict=False)
                         if not any(cell_text(v) for r in b.get("values", []) for v in r)]
                undo = [{"deleteDimension": {"range": {
                    "sheetId": self.tabs[n].sheet_id, "dimension": "ROWS",
                    "startIndex": mine[n][1] - mine[n][0], "endIndex": mine[n][1]}}}
                    for n in empty]
                if undo:
                    self.api.call("the undo of the tabs' growth", lambda: self.api.http.
                                  batch_update(self.api.key, {"requests": undo}))
                    for n in empty:
                        self.tabs[n].rows = mine[n][1] - mine[n][0]
                        left.discard(n)
        return sorted(left)

    def _read_back(self, sent: list[Sent]) -> list[list[str | None]]:
        """The cells a write meant to set, as they are now."""
        ranges = [f"{quote(self.tabs[s.sheet].title)}!{column_letter(s.col)}{s.row}:"
                  f"{column_letter(s.col + len(s.texts) - 1)}{s.row}" for s in sent]
        answer = self.api.call("the read-back of the changes", lambda: self.api.http.
                               values_batch_get(self.api.key, ranges, params=dict(READ_PARAMS)))
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

