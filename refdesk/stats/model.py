"""What `refdesk stats` produces: named tables of figures, and a few headline numbers.

Every output (the terminal, JSON, CSV, the HTML report, the stats workbook) is drawn from one
`Stats`, so they always agree. A table's rows are plain dictionaries of Python values (text,
int, float, date or None), keyed by its columns.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

#: How a column's values read: the kinds the outputs format.
KINDS = ("text", "int", "number", "money", "pct", "days", "date", "delta")


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"
    #: What the figure means, for the report's footnotes and the workbook's header comments.
    help: str = ""


@dataclass
class StatTable:
    key: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    #: The all-periods or all-rows line, shown last; None when a total makes no sense.
    total: dict[str, Any] | None = None
    note: str = ""

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)

    def records(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.rows]

    def as_dict(self) -> dict[str, Any]:
        return {"title": self.title, "note": self.note,
                "columns": [{"key": c.key, "label": c.label, "kind": c.kind}
                            for c in self.columns],
                "rows": [_jsonable(r) for r in self.rows],
                "total": _jsonable(self.total) if self.total is not None else None}


@dataclass
class Stats:
    start: dt.date
    end: dt.date
    by: str
    periods: list[str]
    with_names: bool
    dormant_after_days: int
    source: str
    headline: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, StatTable] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat(), "by": self.by,
                "periods": self.periods, "with_names": self.with_names,
                "dormant_after_days": self.dormant_after_days,
                "headline": _jsonable(self.headline),
                "tables": {k: t.as_dict() for k, t in self.tables.items()}}


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in row.items()}


def cell_text(value: Any, kind: str) -> str:
    """A value as the terminal and the report print it."""
    if value is None:
        return ""
    if kind == "pct":  # half up, as Excel shows it: 0.125 is 13%
        return f"{Decimal(str(value)).scaleb(2).quantize(Decimal(1), ROUND_HALF_UP)}%"
    if kind == "delta":
        return f"+{value}" if value > 0 else ("0" if value == 0 else f"\u2212{-value}")
    if kind == "money":  # dollars and cents; a cost or revenue figure
        return f"\u2212${-value:,.2f}" if value < 0 else f"${value:,.2f}"
    if kind == "number":
        return f"{value:,.1f}"
    if kind in ("int", "days"):
        return f"{value:,}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
