"""Create a new refdesk workbook: `refdesk init`, the sample practice and the benchmark files.

Everything about the layout comes from the schema: the sheets, their headers, an Excel table
each, frozen header rows, widths, number formats, a drop-down for every list and a short input
hint for every column, and a "Read me" sheet that explains the sheets.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from refdesk.errors import InitError, OutputError
from refdesk.fileio import write_file
from refdesk.schema import LIST_SEPARATOR, PAIN_RANGE, SHEETS, Column, Kind, Sheet

README_SHEET = "Read me"
EXCEL_MAX_ROW = 1_048_575  # last 0-based row index
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
MONEY_FORMAT = "#,##0.00"
#: A decimal shown as typed (7, 7.5): Excel's General, a number format rather than text.
NUMBER_FORMAT = "General"
TABLE_STYLE = "Table Style Medium 2"
#: A fixed creation time keeps generated files byte-for-byte reproducible.
FIXED_CREATED = dt.datetime(2026, 1, 1)

Row = Mapping[str, Any]
#: Columns that take a whole number in a fixed range: Excel refuses anything else as typed.
WHOLE_RANGES: dict[str, tuple[int, int]] = {"pain_before": PAIN_RANGE, "pain_after": PAIN_RANGE}


def _number_format(column: Column) -> str:
    return {Kind.DATE: DATE_FORMAT, Kind.DATETIME: DATETIME_FORMAT, Kind.INT: "0",
            Kind.NUMBER: NUMBER_FORMAT, Kind.MONEY: MONEY_FORMAT}.get(column.kind, "@")


def _input_message(column: Column) -> str:
    parts = [column.hint]
    if column.required:
        parts.append("Required.")
    if column.multi and (column.choices or column.suggestions):
        parts.append(f"Several allowed, separated by {LIST_SEPARATOR}")
    if column.name in WHOLE_RANGES:
        low, high = WHOLE_RANGES[column.name]
        parts.append(f"A whole number from {low} to {high}.")
    elif column.suggestions and not column.multi:
        parts.append("Pick one or type your own.")
    return " ".join(p for p in parts if p)[:255]


def _add_validation(ws: Worksheet, index: int, column: Column) -> None:
    """A drop-down for lists (closed ones refuse other values), whole numbers within their
    range for a rating, an input hint for the rest."""
    message = _input_message(column)
    options: dict[str, Any] = {"input_title": column.name[:32], "input_message": message}
    values = column.choices or column.suggestions
    whole = WHOLE_RANGES.get(column.name)
    if whole:
        low, high = whole
        options.update(validate="integer", criteria="between", minimum=low, maximum=high,
                       error_title="Not a rating", error_message=(
                           f"Type a whole number from {low} (no pain) to {high} (the worst "
                           "imaginable)."))
    elif values:
        options.update(validate="list", source=list(values))
        if column.choices and not column.multi:
            options.update(error_title="Not in the list",
                           error_message=f"Pick one of: {', '.join(values)}"[:255])
        else:
            # Several values in a cell, or an open list: offer the drop-down, accept typing.
            options.update(show_error=False)
    else:
        options.update(validate="any")
    ws.data_validation(1, index, EXCEL_MAX_ROW, index, options)


class _Formats:
    def __init__(self, wb: xlsxwriter.Workbook) -> None:
        self._wb = wb
        self._cache: dict[str, Any] = {}
        self.title = wb.add_format({"bold": True, "font_size": 16})
        self.heading = wb.add_format({"bold": True, "font_size": 12, "bottom": 1})
        self.bold = wb.add_format({"bold": True, "valign": "top"})
        self.wrap = wb.add_format({"text_wrap": True, "valign": "top"})
        self.top = wb.add_format({"valign": "top"})
        self.link = wb.add_format({"valign": "top", "font_color": "blue", "underline": 1})

    def number(self, fmt: str) -> Any:
        if fmt not in self._cache:
            self._cache[fmt] = self._wb.add_format({"num_format": fmt})
        return self._cache[fmt]


README_TEXT_WIDTH = 90
LINE_HEIGHT = 15


def _print_setup(ws: Worksheet) -> None:
    """Printed, a sheet is landscape with its header row repeated on every page."""
    ws.set_landscape()
    ws.repeat_rows(0)


def _wrapped(ws: Worksheet, row: int, col: int, text: str, fmt: Any) -> None:
    """Wrapped text with a row tall enough for it: not every program sizes rows itself."""
    # A column of width N holds about N digits, and somewhat more proportional letters.
    lines = max(1, -(-len(text) // (README_TEXT_WIDTH + 10)))
    if lines > 1:
        ws.set_row(row, LINE_HEIGHT * lines)
    ws.write_string(row, col, text, fmt)


def _write_readme(ws: Worksheet, f: _Formats) -> None:
    _print_setup(ws)
    ws.fit_to_pages(1, 0)
    ws.hide_gridlines(2)
    ws.set_column(0, 0, 22)
    ws.set_column(1, 1, 16)
    ws.set_column(2, 2, README_TEXT_WIDTH)
    ws.write_string(0, 0, "Your referral workbook", f.title)
    lines = [
        "Each sheet holds one kind of record: one record a row, the column names in row 1.",
        "Click a cell to see what goes in it; columns with a small arrow offer a drop-down.",
        f"Where a cell holds several values, separate them with '{LIST_SEPARATOR}'.",
        "Ids (provider_id, client_id...) are short codes you choose, kept as text.",
        "You may add your own columns anywhere; refdesk keeps them and leaves them alone.",
        "refdesk reads this workbook; it writes only the Letters sheet and the dates and "
        "stages a job is asked to fill in, after a backup.",
    ]
    for i, line in enumerate(lines, start=2):
        ws.write_string(i, 0, line)
    row = len(lines) + 3
    ws.write_string(row, 0, "Sheet", f.heading)
    ws.write_string(row, 1, "", f.heading)
    ws.write_string(row, 2, "What it holds", f.heading)
    for s in SHEETS:
        row += 1
        ws.write_url(row, 0, f"internal:'{s.name}'!A1", f.link, string=s.name)
        _wrapped(ws, row, 2, s.description, f.wrap)
    for s in SHEETS:
        row += 2
        ws.write_string(row, 0, s.name, f.heading)
        ws.write_string(row, 1, "kind", f.heading)
        ws.write_string(row, 2, "what goes in it", f.heading)
        for c in s.columns:
            row += 1
            ws.write_string(row, 0, c.name + (" *" if c.required else ""), f.bold)
            ws.write_string(row, 1, c.kind.value, f.top)
            text = c.hint
            if c.choices:
                text += f" Allowed: {', '.join(c.choices)}."
            if c.ref:
                text += f" Must match a row of {c.ref}."
            _wrapped(ws, row, 2, text, f.wrap)
    ws.write_string(row + 2, 0, "* required")


def _writer_for(ws: Worksheet, column: Column, f: _Formats) -> Callable[[int, int, Any], None]:
    fmt = f.number(_number_format(column))

    def write(row: int, col: int, value: Any) -> None:
        if value is None or value == "":
            return
        if isinstance(value, dt.datetime | dt.date) and not isinstance(value, str):
            if not isinstance(value, dt.datetime):
                value = dt.datetime(value.year, value.month, value.day)
            ws.write_datetime(row, col, value, fmt)
        elif isinstance(value, bool):
            ws.write_string(row, col, "yes" if value else "no", fmt)
        elif isinstance(value, int | float):
            ws.write_number(row, col, value, fmt)
        else:
            # Always a string: text that looks like a formula or a number stays text.
            ws.write_string(row, col, str(value), fmt)

    return write


def _write_sheet(wb: xlsxwriter.Workbook, sheet: Sheet, rows: Iterable[Row], f: _Formats,
                 n_rows: int, constant_memory: bool) -> None:
    ws = wb.add_worksheet(sheet.name)
    ncols = len(sheet.columns)
    ws.freeze_panes(1, 0)
    _print_setup(ws)
    for i, column in enumerate(sheet.columns):
        ws.set_column(i, i, column.width, f.number(_number_format(column)))
    if constant_memory:
        # xlsxwriter has no tables in constant-memory mode (used for the benchmark's huge
        # files): the header is written as plain cells.
        for i, column in enumerate(sheet.columns):
            ws.write_string(0, i, column.name)
    else:
        ws.add_table(0, 0, max(n_rows, 1), ncols - 1, {
            "name": sheet.name,
            "style": TABLE_STYLE,
            "columns": [{"header": c.name} for c in sheet.columns],
        })
    writers = [_writer_for(ws, c, f) for c in sheet.columns]
    written = 0
    for r, record in enumerate(rows, start=1):
        for i, column in enumerate(sheet.columns):
            writers[i](r, i, record.get(column.name))
        written = r
    if written != n_rows:
        raise ValueError(f"{sheet.name}: told {n_rows} rows, got {written}")
    for i, column in enumerate(sheet.columns):
        _add_validation(ws, i, column)


def write_workbook(path: Path | str, rows: Mapping[str, Iterable[Row]] | None = None, *,
                   counts: Mapping[str, int] | None = None, constant_memory: bool = False,
                   extra_sheets: Callable[[xlsxwriter.Workbook], None] | None = None) -> Path:
    """Write a new workbook at `path`, refusing to replace an existing file.

    `rows` maps a sheet name to its records (dicts by column name); lists need no `counts`,
    generators do (the table range is declared before the rows are written).
    """
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise InitError(f"{path}: a new workbook must end in .xlsx.")
    if path.exists():
        raise InitError(f"{path}: already exists; refdesk init never overwrites a file. Choose "
                        "another name or move the old file away first.")
    if not path.parent.is_dir():
        raise InitError(f"{path.parent}: no such folder. Create it first.")
    rows = rows or {}
    def make(tmp: Path) -> None:
        wb = xlsxwriter.Workbook(tmp, {
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "constant_memory": constant_memory,
        })
        wb.set_properties({"title": "Referral workbook", "created": FIXED_CREATED})
        f = _Formats(wb)
        _write_readme(wb.add_worksheet(README_SHEET), f)
        for sheet in SHEETS:
            records = rows.get(sheet.name, [])
            n = (counts or {}).get(sheet.name)
            if n is None:
                records = list(records)
                n = len(records)
            _write_sheet(wb, sheet, records, f, n, constant_memory)
        if extra_sheets:
            extra_sheets(wb)
        wb.close()

    try:
        write_file(path, make, replace=False)
    except OutputError as exc:
        raise InitError(exc.message) from None
    return path
