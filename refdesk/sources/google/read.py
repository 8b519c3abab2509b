"""Reading a Google Sheet: its tabs, and every refdesk tab's cells as text.

Reading is one metadata request (the tabs and their sizes) and one `values:batchGet` of every
refdesk tab, unformatted, with dates as serial numbers: the count does not grow with rows or
tabs. The cells become the same text Grid an Excel file gives, so everything after the read
is shared with Excel. `cell_text` and `raw_value` are the two directions of that translation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from refdesk.book import Grid, column_letter
from refdesk.errors import WriteError
from refdesk.schema import SHEETS
from refdesk.sources.google.client import SheetsClient, quote

EPOCH = dt.datetime(1899, 12, 30)
READ_PARAMS = {"valueRenderOption": "UNFORMATTED_VALUE",
               "dateTimeRenderOption": "SERIAL_NUMBER", "majorDimension": "ROWS"}


@dataclass
class Tab:
    title: str
    sheet_id: int
    rows: int
    columns: int
    header: list[str] = field(default_factory=list)


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


def grid_of(title: str, rows: list[list[Any]]) -> Grid:
    """Google's rows (ragged: trailing empty cells are left out) as a Grid of text cells."""
    width = max((len(r) for r in rows), default=0)
    cells = pd.DataFrame([[cell_text(v) for v in r] + [None] * (width - len(r)) for r in rows],
                         columns=[column_letter(i) for i in range(width)], dtype=object)
    cells.index = pd.RangeIndex(1, len(cells) + 1, name="row")
    return Grid(title, cells)


def metadata(client: SheetsClient) -> dict[str, Tab]:
    """Every tab of the spreadsheet by its title, in one request; the client learns the
    sheet's title."""
    meta = client.call("the request for the sheet's tabs", lambda: client.http.
                       fetch_sheet_metadata(client.key, params={"includeGridData": "false"}))
    client.title = meta.get("properties", {}).get("title")
    tabs = {}
    for sheet in meta.get("sheets", []):
        p = sheet.get("properties", {})
        grid = p.get("gridProperties", {})
        tabs[p.get("title", "")] = Tab(p.get("title", ""), p.get("sheetId", 0),
                                       grid.get("rowCount", 0), grid.get("columnCount", 0))
    return tabs


def read_tabs(client: SheetsClient, tabs: dict[str, Tab]
              ) -> tuple[dict[str, Tab], dict[str, Grid]]:
    """The refdesk tabs among `tabs` (by schema name, their header learned) and their cells,
    in one request (none when the sheet has no refdesk tab)."""
    by_lower = {t.strip().lower(): t for t in tabs}
    chosen = {s.name: by_lower[s.name.lower()] for s in SHEETS if s.name.lower() in by_lower}
    ranges = [quote(title) for title in chosen.values()]
    answer = client.call("the read of the sheet's rows", lambda: client.http.values_batch_get(
        client.key, ranges, params=dict(READ_PARAMS))) if ranges else {"valueRanges": []}
    grids: dict[str, Grid] = {}
    found: dict[str, Tab] = {}
    for (name, title), block in zip(chosen.items(), answer.get("valueRanges", []),
                                    strict=False):
        rows = block.get("values", [])
        tab = tabs[title]
        tab.header = [cell_text(v) or "" for v in (rows[0] if rows else [])]
        found[name] = tab
        grids[name] = grid_of(title, rows)
    return found, grids
