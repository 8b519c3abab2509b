"""A problem found by `check`: a small record, not a string.

Values of health-information columns are never kept in a Problem: its `value` says
"(hidden)" and its message does not quote the cell.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

import pandas as pd

from refdesk.book import Table

HIDDEN = "(hidden: health information)"


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    severity: Severity
    sheet: str
    row: int
    cell: str
    column: str
    value: str
    rule: str
    message: str

    def record(self) -> dict[str, Any]:
        out = asdict(self)
        out["severity"] = self.severity.value
        return out


@dataclass(frozen=True)
class Context:
    """What rules need beyond the book: today's date and the practice's phone region."""

    today: dt.date
    region: str = "US"


def shown(value: Any) -> str:
    """A cell value as a message quotes it."""
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d") if value == value.normalize() else str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def problem(table: Table, row: int, column: str, rule: str, message: str, *,
            severity: Severity = Severity.ERROR, value: Any = None) -> Problem:
    health = column in table.schema and table.schema.column(column).health
    return Problem(severity, table.name, int(row), table.cell(row, column), column,
                   HIDDEN if health else shown(value), rule, message)


def emit(table: Table, mask: pd.Series, column: str, rule: str,
         message: Callable[[Any, pd.Series], str], *,
         severity: Severity = Severity.ERROR) -> Iterator[Problem]:
    """One problem per row where `mask` holds; `message(value, row)` words it. The mask is
    computed over whole columns; only the (few) rows that fail are visited here."""
    mask = mask.fillna(False).astype(bool) if mask.dtype != bool else mask
    if not mask.any():
        return
    for row_number, record in table.df[mask].iterrows():
        value = record.get(column)
        yield problem(table, row_number, column, rule, message(value, record),
                      severity=severity, value=value)


def count_rows(problems: Iterable[Problem]) -> int:
    return len({(p.sheet, p.row) for p in problems})
