"""A sheet's rows as mappings that read their cells when asked.

A workbook at Excel's limits holds millions of rows, and a job looks at a few columns of most of
them and at every column of a few. A dictionary per row would hold every cell of every row as a
Python object (gigabytes at a million rows); a `Row` holds its sheet and its position, and a
column becomes Python values a block of rows at a time, when a row of the block first asks for
it, or whole when an index needs every value (refdesk.merge.data's `clean` of every cell,
worked out for the block at once). A `Row` is a mutable mapping like the
dictionary it stands for: it lists every column of its sheet and `_row` (the row number on the
sheet), a value set on it is kept on that row object, and the same row is the same object
wherever the data holds it, so a change made through one place is seen through every other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any

import numpy as np
import pandas as pd

#: A value deleted from a row: the row no longer lists its column.
_GONE = object()


#: A cell not yet converted: its block of rows is converted when a row first reads it.
_UNSET = object()
#: Rows converted together when a row reads a cell of a column not converted whole.
BLOCK = 8192


class _Columns(dict[str, list[Any]]):
    """A sheet's columns as lists of Python values. A column is converted a block of rows at a
    time, the block a row reads first, or whole when every value is asked for: a command that
    reads a column of the rows of last month converts those rows, not the sheet."""

    def __init__(self, df: pd.DataFrame, convert: Callable[[pd.Series], list[Any]]) -> None:
        super().__init__()
        self.df = df
        self.convert = convert
        self.whole: set[str] = set()

    def __missing__(self, name: str) -> list[Any]:
        if name == "_row":
            values = [int(n) for n in self.df.index]
            self.whole.add(name)
        elif name in self.df.columns:
            values = [_UNSET] * len(self.df)
        else:
            raise KeyError(name)
        self[name] = values
        return values

    def cell(self, name: str, i: int) -> Any:
        """The value at position `i` of a column, converting its block."""
        values = self[name]
        start = i - i % BLOCK
        end = min(start + BLOCK, len(values))
        values[start:end] = self.convert(self.df[name].iloc[start:end])
        return values[i]

    def full(self, name: str) -> list[Any]:
        """Every value of a column (KeyError for a column the sheet does not have)."""
        values = self[name]
        if name not in self.whole:
            values[:] = self.convert(self.df[name])
            self.whole.add(name)
        return values


class Rows:
    """One sheet's rows, each made on first use and the same object every time after."""

    def __init__(self, df: pd.DataFrame, convert: Callable[[pd.Series], list[Any]]) -> None:
        self.columns = _Columns(df, convert)
        self.names: tuple[str, ...] = (*df.columns, "_row")
        self.known = frozenset(self.names)
        self._made: list[Row | None] = [None] * len(df)

    def __len__(self) -> int:
        return len(self._made)

    def row(self, i: int) -> Row:
        """The row at position `i` (0 for the first data row)."""
        found = self._made[i]
        if found is None:
            found = self._made[i] = Row(self, i)
        return found

    def position(self, sheet_row: int) -> int | None:
        """The position of the row numbered `sheet_row` on the sheet (None: no such row)."""
        index = self.columns.df.index
        if sheet_row not in index:
            return None
        at = index.get_loc(sheet_row)
        return at if isinstance(at, int) else None

    def all(self) -> list[Row]:
        return [self.row(i) for i in range(len(self._made))]

    def values(self, column: str) -> list[Any]:
        """Every value of a column, in sheet order (none when the sheet has no such column)."""
        return self.columns.full(column) if column in self.known else []

    def where_set(self, column: str) -> list[Row]:
        """The rows whose `column` holds a value (none when the sheet has no such column)."""
        if column not in self.known:
            return []
        return [self.row(i) for i, v in enumerate(self.columns.full(column)) if v]


class Row(MutableMapping[str, Any]):
    """One row of a sheet as a mapping of column name to value (see the module's text)."""

    __slots__ = ("_rows", "_i", "_own")

    def __init__(self, rows: Rows, i: int, own: dict[str, Any] | None = None) -> None:
        self._rows = rows
        self._i = i
        self._own = own

    def __getitem__(self, key: str) -> Any:
        own = self._own
        if own is not None and key in own:
            value = own[key]
            if value is _GONE:
                raise KeyError(key)
            return value
        value = self._rows.columns[key][self._i]
        return self._rows.columns.cell(key, self._i) if value is _UNSET else value

    def get(self, key: str, default: Any = None) -> Any:
        own = self._own
        if own is not None and key in own:
            value = own[key]
            return default if value is _GONE else value
        try:
            value = self._rows.columns[key][self._i]
        except KeyError:
            return default
        return self._rows.columns.cell(key, self._i) if value is _UNSET else value

    def __contains__(self, key: object) -> bool:
        own = self._own
        if own is not None and key in own:
            return own[key] is not _GONE
        return key in self._rows.known

    def __setitem__(self, key: str, value: Any) -> None:
        if self._own is None:
            self._own = {}
        self._own[key] = value

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        self[key] = _GONE

    def __iter__(self) -> Iterator[str]:
        own = self._own or {}
        for name in self._rows.names:
            if own.get(name) is not _GONE:
                yield name
        for name, value in own.items():
            if name not in self._rows.known and value is not _GONE:
                yield name

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __bool__(self) -> bool:
        return True  # a row always has its _row: no need to count its columns to say so

    def with_values(self, **values: Any) -> Row:
        """A copy of this row (a change to either is not seen by the other) with `values`
        added: what `dict(row) | values` would be, without reading every cell."""
        return Row(self._rows, self._i, {**(self._own or {}), **values})

    def __repr__(self) -> str:
        # Never the cells: a row may hold a client's health information, and reprs reach logs.
        return f"<row {self.get('_row')} of {len(self._rows.names) - 1} columns>"


class Groups(Mapping[Any, list[Row]]):
    """Some rows of a sheet grouped by a column's value, as a mapping of value to its rows in
    the order given; a value's list of rows is made the first time it is asked for. Grouping a
    million rows this way takes a few array operations, not a million dictionary appends, and
    a command that looks at a few groups makes the rows of those only. Rows whose value is
    empty belong to no group."""

    def __init__(self, rows: Rows, column: str, positions: np.ndarray) -> None:
        self._rows = rows
        values = rows.values(column) or [None] * len(rows)
        keys = np.empty(len(values), dtype=object)
        keys[:] = values
        codes, uniques = pd.factorize(keys[positions], use_na_sentinel=True)
        # A value that is not there (None) or says nothing (0, "") is in no group, as before.
        empty = [i for i, u in enumerate(uniques) if not u]
        if empty:
            codes = np.where(np.isin(codes, empty), -1, codes)
        kept = codes >= 0
        order = np.argsort(codes[kept], kind="stable")  # stable: each group in the given order
        self._positions = positions[kept][order]
        sizes = np.bincount(codes[kept], minlength=len(uniques))
        ends = np.cumsum(sizes)
        self._spans = {key: (int(end - size), int(end))
                       for key, size, end in zip(uniques.tolist(), sizes, ends, strict=True)
                       if size}
        self._made: dict[Any, list[Row]] = {}

    def __getitem__(self, key: Any) -> list[Row]:
        found = self._made.get(key)
        if found is None:
            start, end = self._spans[key]  # KeyError for a value with no rows
            row = self._rows.row
            found = self._made[key] = [row(i) for i in self._positions[start:end].tolist()]
        return found

    def __contains__(self, key: object) -> bool:
        return key in self._spans

    def __iter__(self) -> Iterator[Any]:
        return iter(self._spans)

    def __len__(self) -> int:
        return len(self._spans)

    def size(self, key: Any) -> int:
        """How many rows `key` has (0 for none), without making them."""
        start, end = self._spans.get(key, (0, 0))
        return end - start

    def distinct(self, values: np.ndarray) -> Iterator[tuple[Any, list[int]]]:
        """Each group with the distinct `values` (integers, one per position on the sheet) of
        its rows, smallest first: worked out for all groups at once."""
        keys = list(self._spans)
        sizes = np.array([end - start for start, end in self._spans.values()], dtype=np.int64)
        group = np.repeat(np.arange(len(keys)), sizes)  # the group of each sorted position
        mine = values[self._positions]
        order = np.lexsort((mine, group))
        group, mine = group[order], mine[order]
        first = np.ones(len(mine), dtype=bool)
        first[1:] = (group[1:] != group[:-1]) | (mine[1:] != mine[:-1])
        group, mine = group[first], mine[first]
        ends = np.cumsum(np.bincount(group, minlength=len(keys))).tolist()
        flat = mine.tolist()
        start = 0
        for key, end in zip(keys, ends, strict=True):
            yield key, flat[start:end]
            start = end

    def positions(self, key: Any) -> np.ndarray:
        """The positions of `key`'s rows on the sheet (empty for none)."""
        start, end = self._spans.get(key, (0, 0))
        return self._positions[start:end]


class Keyed(Mapping[Any, Row]):
    """A sheet's rows by a column's value, rows whose value is empty left out, each row made
    the first time it is asked for. A value on several rows keeps its first place in the
    order and its last row, as a dictionary filled row by row would."""

    def __init__(self, rows: Rows, column: str) -> None:
        self._rows = rows
        values = rows.values(column)
        self._at = {v: i for i, v in enumerate(values) if v}

    def __getitem__(self, key: Any) -> Row:
        return self._rows.row(self._at[key])

    def get(self, key: Any, default: Any = None) -> Any:
        i = self._at.get(key)
        return default if i is None else self._rows.row(i)

    def __contains__(self, key: object) -> bool:
        return key in self._at

    def __iter__(self) -> Iterator[Any]:
        return iter(self._at)

    def __len__(self) -> int:
        return len(self._at)
