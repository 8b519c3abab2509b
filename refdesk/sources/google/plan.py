"""The pieces of a write's plan (refdesk.sources.google.write): what refdesk last knew each
cell held (`Seen`), the ranges it sends with what they held before (`Sent`), the cells someone
changed meanwhile that it keeps (`Kept`), and how a message names them. Nothing here sends a
request.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from refdesk.book import Grid, column_letter
from refdesk.errors import WriteError
from refdesk.schema import SHEETS_BY_NAME, Kind

#: What refdesk knows a cell held when it has no record of it (a row it never read).
UNKNOWN: Any = object()
_ID = re.compile(r"^(.*?)(\d+)$")


class WriteInDoubt(WriteError):
    """The values' write got no answer and the sheet could not be read back: refdesk cannot
    tell whether the changes are in the sheet."""

    in_doubt = True


@dataclass(frozen=True)
class Kept:
    """A cell someone else changed between refdesk's read and its write: left as it is."""

    where: str
    now: str | None
    health: bool = False

    @property
    def line(self) -> str:
        said = "" if self.health else f" (now {repr(self.now) if self.now else 'empty'})"
        return (f"{self.where} was changed by someone else since refdesk read it{said}; left "
                "as it is")

    def __str__(self) -> str:
        return self.line


@dataclass
class Sent:
    """One range of the values' write, with what its cells held before (for the read-back)."""

    sheet: str
    row: int
    col: int
    texts: list[str | None]
    before: list[str | None]
    appended: bool = False


@dataclass
class Plan:
    data: list[dict[str, Any]] = field(default_factory=list)
    formats: list[tuple[str, str, int, int]] = field(default_factory=list)
    #: sheet -> the last row the write needs.
    grow: dict[str, int] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)
    #: What refdesk will know the cells hold once the write is in: (sheet, key) -> text.
    learned: dict[tuple[str, Any], str | None] = field(default_factory=dict)


class Seen:
    """What refdesk last knew each cell held: the grids of its read, and what it wrote since
    (a later write of the same command, e.g. a delivery's confirmation, compares with that)."""

    def __init__(self, grids: Mapping[str, Grid] | None = None) -> None:
        self.grids = dict(grids or {})
        self._index: dict[tuple[str, int], dict[str, int]] = {}
        self.written: dict[tuple[str, Any], str | None] = {}

    def by_id(self, sheet: str, id_col: int, ident: str, col: int) -> Any:
        """The text refdesk knows in column `col` of the row whose id is `ident`."""
        key = (sheet, ("id", id_col, ident, col))
        if key in self.written:
            return self.written[key]
        grid = self.grids.get(sheet)
        if grid is None:
            return UNKNOWN
        index = self._index.get((sheet, id_col))
        if index is None:
            letter = column_letter(id_col)
            column = grid.cells.get(letter)
            index = {} if column is None else {
                str(v): int(r) for r, v in column.items() if int(r) > 1 and isinstance(v, str)}
            self._index[(sheet, id_col)] = index
        row = index.get(ident)
        return UNKNOWN if row is None else self.at(sheet, row, col, written=False)

    def at(self, sheet: str, row: int, col: int, *, written: bool = True) -> Any:
        """The text refdesk knows at a cell address."""
        key = (sheet, ("cell", row, col))
        if written and key in self.written:
            return self.written[key]
        grid = self.grids.get(sheet)
        if grid is None:
            return UNKNOWN
        letter = column_letter(col)
        if row not in grid.cells.index:
            return None if row > 1 else UNKNOWN  # a row past the data read was empty
        if letter not in grid.cells:
            return None
        value = grid.cells.at[row, letter]
        return value if isinstance(value, str) else None


def _column(sheet: str, name: str) -> Any:
    schema = SHEETS_BY_NAME.get(sheet)
    return schema.column(name) if schema is not None and name in schema else None


def shown(sheet: str, name: str, text: str | None) -> str | None:
    """A cell's text as a person would type it: dates as dates, not serial numbers."""
    column = _column(sheet, name)
    if text is None or column is None or column.kind not in (Kind.DATE, Kind.DATETIME):
        return text
    try:
        moment = dt.datetime(1899, 12, 30) + dt.timedelta(days=float(text))
    except (ValueError, OverflowError):
        return text
    if column.kind is Kind.DATE or moment.time() == dt.time():
        return moment.date().isoformat()
    return moment.isoformat(sep=" ", timespec="minutes")


def is_health(sheet: str, name: str) -> bool:
    """A column that holds client health information (never printed); a column refdesk does
    not know might hold anything, so it counts as health information too."""
    column = _column(sheet, name)
    return True if column is None else bool(column.health)


def next_free(taken: set[str], ident: str) -> str:
    """The id after the highest of `taken` with `ident`'s prefix (L021 after L020), as wide as
    `ident`; `ident` with a suffix when it has no number."""
    found = _ID.match(ident)
    if not found:
        n = 2
        while f"{ident}-{n}" in taken:
            n += 1
        return f"{ident}-{n}"
    prefix, digits = found.group(1), found.group(2)
    numbers = [int(m.group(2)) for t in taken
               if (m := _ID.match(t)) and m.group(1) == prefix]
    return f"{prefix}{max(numbers, default=0) + 1:0{len(digits)}d}"


def rows_text(first: int, count: int) -> str:
    return f"row {first}" if count == 1 else f"rows {first}-{first + count - 1}"


def landed_state(sent: Sequence[Sent], now: Sequence[list[str | None]]) -> str:
    """"all" when every range holds what was sent; "none" when none does (each holds what it
    held before, or what someone else typed there meanwhile); else "some"."""
    ours = [s.texts == n for s, n in zip(sent, now, strict=True)]
    if all(ours):
        return "all"
    if not any(o and s.texts != s.before for o, s in zip(ours, sent, strict=True)):
        return "none"
    return "some"


def where_sent(sent: Sequence[Sent], titles: Mapping[str, str]) -> list[str]:
    """The places a write meant to change, for a message: appended rows as row spans, cells by
    address."""
    places: list[str] = []
    spans: dict[str, list[int]] = {}
    for s in sent:
        if s.appended:
            spans.setdefault(s.sheet, []).append(s.row)
        else:
            places.append(f"{titles.get(s.sheet, s.sheet)}!{column_letter(s.col)}{s.row}")
    for sheet, rows in spans.items():
        places.insert(0, f"{titles.get(sheet, sheet)} {rows_text(min(rows), len(rows))}")
    return places
