"""Setting up a Google Sheet for refdesk, and moving a practice between Excel and Google.

`init_sheet` adds refdesk's tabs to a spreadsheet: headers, a frozen header row, a drop-down
for every closed list, date and text formats, and a protected header row (a warning before
anyone edits it). It looks first (the tabs, then their header rows) and sends what is missing
as one `:batchUpdate`, which Google applies whole or not at all: a tab is never left without
its header by refdesk. A tab that exists without a header (left by an earlier run whose answer
was lost, or made by hand) gets its header, formats and drop-downs. When the request is
refused because a tab it asked for "already exists" (an earlier attempt landed, its answer
lost), it looks again and sends what is still missing, so running it again, or its retry,
finishes what was left half done. `export_sheet` writes a Google Sheet's records into a new
Excel workbook; `refdesk.sources.google.importer` copies a workbook into a Google Sheet.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from refdesk.book import Grid, Table
from refdesk.errors import SourceError
from refdesk.newbook import WHOLE_RANGES
from refdesk.schema import SHEETS, Column, Kind, Sheet
from refdesk.sources.google.client import quote
from refdesk.sources.google.read import READ_PARAMS, Tab, cell_text, grid_of
from refdesk.sources.google.source import GoogleSource

FIRST_SHEET_ID = 7_000
HEADER_BACKGROUND = {"red": 0.87, "green": 0.92, "blue": 0.95}
#: Rounds of look-then-send before init gives up (each round after the first follows an
#: "already exists" refusal: something landed meanwhile).
ROUNDS = 4
PROTECTION_NOTE = "refdesk reads these column names: rename or move them with care."


@dataclass
class SetupResult:
    #: Tabs added, tabs that existed without a header and were completed, tabs left alone.
    created: list[str] = field(default_factory=list)
    completed: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    #: Records sent by an import, and records found already there by `import --resume`.
    rows: dict[str, int] = field(default_factory=dict)
    already: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    #: The JSON body size in bytes of each `values:batchUpdate` an import sent.
    sizes: list[int] = field(default_factory=list)


@dataclass
class Seen:
    """What the spreadsheet holds, as one look found it."""

    #: Every tab by title, with whether its row 1 carries a protection.
    tabs: dict[str, Tab]
    protected: set[int]
    #: refdesk's tabs by schema name: row 1 only, or every row when asked.
    grids: dict[str, Grid]
    requests: int = 0

    def title(self, sheet: Sheet) -> str | None:
        by_lower = {t.strip().lower(): t for t in self.tabs}
        return by_lower.get(sheet.name.lower())

    def headed(self, name: str) -> bool:
        grid = self.grids.get(name)
        return grid is not None and len(grid.cells) > 0 and grid.cells.iloc[0].notna().any()

    @property
    def cells(self) -> int:
        return sum(t.rows * t.columns for t in self.tabs.values())


def look(source: GoogleSource, *, whole: bool = False) -> Seen:
    """The tabs (sizes, protections) and refdesk's tabs' header rows, or all their rows when
    `whole`: two requests, one when no refdesk tab exists yet."""
    api = source.api
    meta = api.call("the request for the sheet's tabs", lambda: api.http.
                    fetch_sheet_metadata(api.key, params={"includeGridData": "false"}))
    api.title = meta.get("properties", {}).get("title")
    tabs: dict[str, Tab] = {}
    protected: set[int] = set()
    for sheet in meta.get("sheets", []):
        p = sheet.get("properties", {})
        grid = p.get("gridProperties", {})
        tab = Tab(p.get("title", ""), p.get("sheetId", 0), grid.get("rowCount", 0),
                  grid.get("columnCount", 0))
        tabs[tab.title] = tab
        for rng in sheet.get("protectedRanges", []):
            if rng.get("range", {}).get("startRowIndex", 0) == 0:
                protected.add(tab.sheet_id)
    source.all_tabs = tabs
    seen = Seen(tabs, protected, {}, requests=1)
    chosen = {s.name: t for s in SHEETS if (t := seen.title(s)) is not None}
    if chosen:
        ranges = [quote(t) if whole else f"{quote(t)}!1:1" for t in chosen.values()]
        answer = api.call("the read of the sheet's rows", lambda: api.http.
                          values_batch_get(api.key, ranges, params=dict(READ_PARAMS)))
        seen.requests += 1
        blocks = answer.get("valueRanges", [])
        source.tabs = {}
        for (name, title), block in zip(chosen.items(), blocks, strict=False):
            rows = block.get("values", [])
            tab = tabs[title]
            tab.header = [cell_text(v) or "" for v in
                          (rows[0] if rows else [])]
            source.tabs[name] = tab
            seen.grids[name] = grid_of(title, rows)
    return seen


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


def _dress(sheet: Sheet, sheet_id: int, rows: int, *, protect: bool) -> list[dict[str, Any]]:
    """The header row, its look, every column's format and drop-down, and the protection of
    row 1: everything that makes a tab ready to fill in, once it has the grid."""
    ncols = len(sheet.columns)
    requests: list[dict[str, Any]] = [{"updateCells": {
        "start": {"sheetId": sheet_id, "rowIndex": 0, "columnIndex": 0},
        "rows": [{"values": [{"userEnteredValue": {"stringValue": name}}
                             for name in sheet.column_names]}],
        "fields": "userEnteredValue"}}]
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
    if protect:  # a second protection of the same row would only repeat the warning
        requests.append({"addProtectedRange": {"protectedRange": {
            "range": {"sheetId": sheet_id, "startRowIndex": 0, "endRowIndex": 1},
            "description": PROTECTION_NOTE, "warningOnly": True}}})
    return requests


@dataclass
class _Plan:
    requests: list[dict[str, Any]] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    completed: list[str] = field(default_factory=list)
    #: Where each refdesk tab will be: title, id, rows, columns.
    tabs: dict[str, Tab] = field(default_factory=dict)


def _plan(seen: Seen, rows: dict[str, int]) -> _Plan:
    """What to send so that every refdesk tab exists, has its header and holds `rows` records
    (an import's counts; a tab is never made smaller)."""
    plan = _Plan()
    used = {t.sheet_id for t in seen.tabs.values()}
    next_id = FIRST_SHEET_ID
    for sheet in SHEETS:
        ncols = len(sheet.columns)
        size = rows.get(sheet.name, 0) + 1
        title = seen.title(sheet)
        if title is None:
            while next_id in used:
                next_id += 1
            used.add(next_id)
            size = max(1000, size)
            plan.requests.append({"addSheet": {"properties": {
                "sheetId": next_id, "title": sheet.name, "gridProperties": {
                    "rowCount": size, "columnCount": ncols, "frozenRowCount": 1}}}})
            plan.requests.extend(_dress(sheet, next_id, size, protect=True))
            plan.created.append(sheet.name)
            plan.tabs[sheet.name] = Tab(sheet.name, next_id, size, ncols,
                                        list(sheet.column_names))
            continue
        tab = seen.tabs[title]
        headed = seen.headed(sheet.name)
        grid: dict[str, int] = {}
        fields = []
        if tab.rows < size:
            grid["rowCount"] = size
            fields.append("gridProperties.rowCount")
        if not headed and tab.columns < ncols:
            grid["columnCount"] = ncols
            fields.append("gridProperties.columnCount")
        if not headed:
            grid["frozenRowCount"] = 1
            fields.append("gridProperties.frozenRowCount")
        if grid:
            plan.requests.append({"updateSheetProperties": {
                "properties": {"sheetId": tab.sheet_id, "gridProperties": grid},
                "fields": ",".join(fields)}})
        final = Tab(title, tab.sheet_id, max(tab.rows, size), max(tab.columns, ncols),
                    tab.header if headed else list(sheet.column_names))
        if not headed:
            plan.requests.extend(_dress(sheet, tab.sheet_id, final.rows,
                                        protect=tab.sheet_id not in seen.protected))
            plan.completed.append(sheet.name)
        plan.tabs[sheet.name] = final
    return plan


def init_sheet(source: GoogleSource, *, rows: dict[str, int] | None = None,
               seen: Seen | None = None) -> SetupResult:
    """Make every refdesk tab ready to fill in: add the missing ones, complete those without a
    header, grow them to hold `rows` records. Tabs with a header are left as they are. `seen`
    is what the caller has just looked at; see the module's docstring for the repeats."""
    result = SetupResult()
    done: dict[str, str] = {}  # schema name -> "created" / "completed", as applied
    refused: dict[str, int | None] = {}  # asked for in a refused request: the id it asked
    for _ in range(ROUNDS):
        if seen is None:
            seen = look(source)
            result.requests += seen.requests
        plan = _plan(seen, rows or {})
        if not plan.requests:
            break
        try:
            source.api.call("the setup of the tabs", lambda p=plan: source.api.http.
                            batch_update(source.api.key, {"requests": p.requests}))
        except SourceError as exc:
            # "A sheet with id ... already exists" / "... with the name ... already exists":
            # an attempt whose answer was lost landed, or someone added the tab meanwhile.
            # Look again and send what is still missing.
            if "already exists" not in exc.message:
                raise
            refused.update({n: plan.tabs[n].sheet_id for n in plan.created})
            refused.update({n: None for n in plan.completed if n not in refused})
            result.requests += 1
            seen = None
            continue
        result.requests += 1
        done.update({n: "created" for n in plan.created})
        done.update({n: "completed" for n in plan.completed})
        break
    else:
        raise SourceError(f"{source}: refdesk's tabs could not be set up: the sheet kept "
                          "changing meanwhile. Run `refdesk init --sheet` again.")
    for name, asked in refused.items():
        # A refused request's tab that is now there and ready was made by the attempt whose
        # answer was lost (its id is the one asked for), not by someone else.
        if name not in done and plan.tabs[name].sheet_id == asked:
            done[name] = "created"
        elif name not in done and asked is None:
            done[name] = "completed"
    source.tabs = plan.tabs
    for sheet in SHEETS:
        kind = done.get(sheet.name)
        (result.created if kind == "created" else result.completed if kind == "completed"
         else result.existing).append(plan.tabs[sheet.name].title)
    return result


def records(table: Table) -> Iterator[tuple[int, dict[str, Any]]]:
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
    rows = {t.name: [r for _, r in records(t)] for t in book}
    write_workbook(path, rows)
    return {name: len(r) for name, r in rows.items()}
