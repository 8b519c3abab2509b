"""Setting up a Google Sheet for refdesk, and moving a practice between Excel and Google.

`init_sheet` adds refdesk's tabs to a spreadsheet: headers, a frozen header row, a drop-down
for every closed list, date and text formats, and a protected header row (a warning before
anyone edits it), in three requests whatever the number of tabs. `export_sheet` writes a
Google Sheet's records into a new Excel workbook; `import_workbook` copies an Excel workbook's
records into a Google Sheet whose refdesk tabs are empty.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from refdesk.book import Book, Table, column_letter
from refdesk.errors import SourceError, WriteError
from refdesk.gsheets import GoogleSource, Tab, quote, raw_value
from refdesk.newbook import WHOLE_RANGES
from refdesk.schema import SHEETS, Column, Kind, Sheet

#: Rows per values:batchUpdate when a whole workbook is imported (Google advises requests
#: of at most a few megabytes).
IMPORT_CHUNK = 20_000
FIRST_SHEET_ID = 7_000
HEADER_BACKGROUND = {"red": 0.87, "green": 0.92, "blue": 0.95}


@dataclass
class SetupResult:
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    requests: int = 0


def _number_format(column: Column) -> dict[str, str] | None:
    if column.kind is Kind.DATE:
        return {"type": "DATE", "pattern": "yyyy-mm-dd"}
    if column.kind is Kind.DATETIME:
        return {"type": "DATE_TIME", "pattern": "yyyy-mm-dd hh:mm"}
    if column.kind in (Kind.ID, Kind.ZIP, Kind.NPI, Kind.PHONE, Kind.CPT):
        return {"type": "TEXT", "pattern": "@"}  # ids keep their leading zeros
    if column.kind is Kind.MONEY:
        return {"type": "CURRENCY", "pattern": "$#,##0.00"}
    # A score (Kind.NUMBER) keeps Sheets' automatic format: 7.5 typed is the number 7.5 and 3
    # shows as 3 (a "0.##" pattern would show "3.", a fixed one "3.00").
    return None


def _tab_requests(sheet: Sheet, sheet_id: int, rows: int) -> list[dict[str, Any]]:
    """addSheet and everything that makes the new tab ready to fill in."""
    ncols = len(sheet.columns)
    requests: list[dict[str, Any]] = [{"addSheet": {"properties": {
        "sheetId": sheet_id, "title": sheet.name,
        "gridProperties": {"rowCount": rows, "columnCount": ncols, "frozenRowCount": 1}}}}]
    requests.append({"repeatCell": {
        "range": {"sheetId": sheet_id, "startRowIndex": 0, "endRowIndex": 1,
                  "startColumnIndex": 0, "endColumnIndex": ncols},
        "cell": {"userEnteredFormat": {"textFormat": {"bold": True},
                                       "backgroundColor": HEADER_BACKGROUND}},
        "fields": "userEnteredFormat(textFormat,backgroundColor)"}})
    for i, column in enumerate(sheet.columns):
        body = {"range": {"sheetId": sheet_id, "startRowIndex": 1, "endRowIndex": rows,
                          "startColumnIndex": i, "endColumnIndex": i + 1}}
        fmt = _number_format(column)
        if fmt:
            requests.append({"repeatCell": {**body, "cell": {"userEnteredFormat": {
                "numberFormat": fmt}}, "fields": "userEnteredFormat.numberFormat"}})
        if column.name in WHOLE_RANGES:
            # A rating: numbers outside its range are refused as typed (a fraction is left
            # to `refdesk check`, which Sheets' NUMBER_BETWEEN cannot refuse).
            low, high = WHOLE_RANGES[column.name]
            requests.append({"setDataValidation": {**body, "rule": {
                "condition": {"type": "NUMBER_BETWEEN", "values": [
                    {"userEnteredValue": str(low)}, {"userEnteredValue": str(high)}]},
                "inputMessage": f"{column.hint} A whole number from {low} to {high}.",
                "strict": True}}})
        elif column.closed and not column.multi:
            # A drop-down; other values are shown with a warning (strict would reject a
            # pasted row), and `refdesk check` reports them.
            requests.append({"setDataValidation": {**body, "rule": {
                "condition": {"type": "ONE_OF_LIST",
                              "values": [{"userEnteredValue": c} for c in column.choices]},
                "inputMessage": column.hint, "strict": False, "showCustomUi": True}}})
    requests.append({"addProtectedRange": {"protectedRange": {
        "range": {"sheetId": sheet_id, "startRowIndex": 0, "endRowIndex": 1},
        "description": "refdesk reads these column names: rename or move them with care.",
        "warningOnly": True}}})
    return requests


def init_sheet(source: GoogleSource, *, rows: dict[str, int] | None = None,
               tabs: dict[str, Tab] | None = None) -> SetupResult:
    """Add every missing refdesk tab, ready to fill in. Existing tabs are left as they are.
    `tabs` are the spreadsheet's tabs when the caller has just asked for them."""
    result = SetupResult()
    if tabs is None:
        tabs = source.metadata()
        result.requests += 1
    by_lower = {t.strip().lower(): t for t in tabs}
    used = {t.sheet_id for t in tabs.values()}
    requests: list[dict[str, Any]] = []
    headers: list[dict[str, Any]] = []
    next_id = FIRST_SHEET_ID
    for sheet in SHEETS:
        if sheet.name.lower() in by_lower:
            result.existing.append(by_lower[sheet.name.lower()])
            continue
        while next_id in used:
            next_id += 1
        used.add(next_id)
        size = max(1000, (rows or {}).get(sheet.name, 0) + 1)
        requests.extend(_tab_requests(sheet, next_id, size))
        headers.append({"range": f"{quote(sheet.name)}!A1", "majorDimension": "ROWS",
                        "values": [list(sheet.column_names)]})
        source.tabs[sheet.name] = Tab(sheet.name, next_id, size, len(sheet.columns),
                                      list(sheet.column_names))
        result.created.append(sheet.name)
    if requests:
        wanted = {name: source.tabs[name].sheet_id for name in result.created}
        source._call("the creation of the tabs", _idempotent(source, requests, wanted))
        source._call("the writing of the headers", lambda: source.http.values_batch_update(
            source.key, {"valueInputOption": "RAW", "data": headers}))
        result.requests += 2
    return result


def _idempotent(source: GoogleSource, requests: list[dict[str, Any]],
                wanted: dict[str, int]) -> Any:
    """The tab-creating request, safe to repeat: when an attempt whose answer was lost did
    create the tabs, the retry is refused ("A sheet with id ... already exists"); then the tabs
    are looked up, and if every one is there with its id, the first attempt is the answer."""
    attempts = 0

    def create() -> Any:
        from gspread.exceptions import APIError

        nonlocal attempts
        attempts += 1
        try:
            return source.http.batch_update(source.key, {"requests": requests})
        except APIError as exc:
            if attempts == 1 or "already exists" not in str(exc):
                raise
            found = source.http.fetch_sheet_metadata(source.key,
                                                     params={"includeGridData": "false"})
            ids = {s["properties"]["title"]: s["properties"]["sheetId"]
                   for s in found.get("sheets", [])}
            if all(ids.get(name) == sheet_id for name, sheet_id in wanted.items()):
                return found
            raise

    return create


def _records(table: Table) -> Iterator[tuple[int, dict[str, Any]]]:
    """A table's rows (with their row numbers) as values by column. A cell that could not be
    typed, or whose spelling refdesk would correct, keeps the text as it was typed: an export
    or import never loses or changes what someone wrote, and `check` finds the same."""
    raw = {(b.row, b.column): b.value for b in table.bad_values}
    raw.update({(r.row, r.column): r.typed for r in table.respelled})
    columns = [c.name for c in table.schema.columns]
    frame = table.df[columns]
    for row, values in zip(frame.index, frame.itertuples(index=False, name=None), strict=True):
        record = {}
        for name, value in zip(columns, values, strict=True):
            if (row, name) in raw:
                value = raw[(row, name)]
            record[name] = _plain(value)
        yield int(row), record


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date() if value == value.normalize() else value.to_pydatetime()
    if hasattr(value, "item"):
        return value.item()
    return value


def export_sheet(source: GoogleSource, path: Path) -> dict[str, int]:
    """The Google Sheet's records into a new Excel workbook made like `refdesk init` makes
    one. Columns refdesk does not know are not carried over (the README says so)."""
    from refdesk.newbook import write_workbook

    book = source.read()
    rows = {t.name: [r for _, r in _records(t)] for t in book}
    write_workbook(path, rows)
    return {name: len(r) for name, r in rows.items()}


def import_workbook(book: Book, source: GoogleSource) -> SetupResult:
    """An Excel workbook's records into the Google Sheet: missing tabs are created; the
    refdesk tabs must hold no records yet, so nothing there is overwritten."""
    current = source.read_grids()
    busy = [name for name, grid in current.items()
            if grid.cells.iloc[1:].notna().any(axis=None)]
    if busy:
        raise WriteError(f"{source}: the tabs {', '.join(busy)} already hold records; import "
                         "only into a new or empty sheet, so nothing there is overwritten. "
                         "Make a new Google Sheet and import into it.")
    counts = {t.name: len(t) for t in book}
    result = init_sheet(source, rows=counts, tabs=source.all_tabs)
    result.requests += 2  # the read above, whose list of tabs init_sheet reuses
    data: list[dict[str, Any]] = []
    grow: dict[str, int] = {}
    for table in book:
        tab = source.tabs.get(table.name)
        if tab is None:
            raise SourceError(f"{source}: tab {table.name} is missing after setup.")
        header = [h.strip().lower() for h in tab.header]
        columns = [c.name for c in table.schema.columns]
        missing = [c for c in columns if c not in header]
        if missing and tab.header:
            raise WriteError(f"{source}: tab {table.name} lacks the columns {', '.join(missing)} "
                             "in row 1; add them, or import into a new sheet.")
        order = [c for c in header if c in columns] if tab.header else columns
        # Each record goes to the row it had in the workbook, so that every cell keeps its
        # address (Referrals!F12 stays F12) and `check` names the same places.
        by_row = dict(_records(table))
        last = max(by_row, default=1)
        if tab.rows < last:
            grow[table.name] = last
        blank: dict[str, Any] = {}
        for start in range(2, last + 1, IMPORT_CHUNK):
            end = min(last, start + IMPORT_CHUNK - 1)
            values = [[raw_value(by_row.get(r, blank).get(c))[0] for c in order]
                      for r in range(start, end + 1)]
            data.append({"range": f"{quote(tab.title)}!A{start}:"
                                  f"{column_letter(len(order) - 1)}{end}",
                         "majorDimension": "ROWS", "values": values})
        result.rows[table.name] = len(by_row)
    if grow:
        requests = source._grow_requests(grow)
        source._call("the growth of the tabs", lambda: source.http.batch_update(
            source.key, {"requests": requests}))
        result.requests += 1
    batches: list[list[dict[str, Any]]] = [[]]
    size = 0
    for block in data:  # each block holds at most IMPORT_CHUNK rows
        if size + len(block["values"]) > IMPORT_CHUNK and batches[-1]:
            batches.append([])
            size = 0
        batches[-1].append(block)
        size += len(block["values"])
    for batch in batches:
        if batch:
            source._call("the import of the rows", lambda b=batch: source.http.
                         values_batch_update(source.key, {"valueInputOption": "RAW", "data": b}))
            result.requests += 1
    return result
