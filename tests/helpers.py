"""Small builders for workbooks made inside a test."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import openpyxl

from refdesk.schema import SHEETS_BY_NAME

Rows = Sequence[Sequence[Any]]


def headers(sheet: str) -> list[str]:
    return SHEETS_BY_NAME[sheet].column_names


def minimal_sheets() -> dict[str, Rows]:
    """The three required sheets, header only."""
    return {name: [headers(name)] for name in ("Providers", "Clients", "Referrals")}


def make_xlsx(path: Path, sheets: Mapping[str, Rows], *,
              origin: tuple[int, int] = (1, 1)) -> Path:
    """A workbook with the given rows per sheet (first row: headers), written by openpyxl so
    that tests control exactly which cells exist. `origin` is the (row, column) of the first
    cell, for sheets that do not start at A1."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is not None:
                    ws.cell(row=origin[0] + r, column=origin[1] + c, value=value)
    wb.save(path)
    return path


TODAY = __import__("datetime").date(2026, 11, 23)


def row(sheet: str, **values: Any) -> list[Any]:
    """A row of `sheet` in schema column order, with the given values and blanks elsewhere."""
    return [values.get(c) for c in headers(sheet)]


def check_sheets(path: Path, sheets: Mapping[str, Rows], families: Sequence[Any] | None = None
                 ) -> list[Any]:
    """Build the workbook, read it and return what `check` finds (optionally only some rule
    families, as (cell, severity, rule, message) tuples)."""
    from refdesk.check import Context, check_book, sort_problems
    from refdesk.sources.excel import ExcelSource

    book = ExcelSource(make_xlsx(path, sheets)).read()
    ctx = Context(today=TODAY)
    if families is None:
        problems = check_book(book, ctx)
    else:
        problems = sort_problems(book, [p for f in families for p in f.rules(book, ctx)])
    return [(p.cell, p.severity.value, p.rule, p.message) for p in problems]
