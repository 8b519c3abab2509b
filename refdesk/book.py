"""The Book: every sheet of a workbook as a typed pandas table whose rows know their cells.

A Source (Excel file, Google Sheet) hands over each sheet as a Grid of text cells; this module
checks its header row against the schema and turns the cells into typed columns. It knows
nothing about where the grid came from.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from refdesk.dates import read_date
from refdesk.errors import HeaderError
from refdesk.schema import LIST_SEPARATOR, SHEETS, Kind, Sheet

#: How far down a misplaced header row is looked for, to say where it is.
HEADER_SEARCH_ROWS = 20

#: Excel's day zero for serial dates (the 1900 system, with its 1900-02-29 bug folded in).
EXCEL_EPOCH = pd.Timestamp("1899-12-30")
#: Text columns are Arrow-backed: string operations on a million cells stay vectorised.
TEXT_DTYPE = pd.StringDtype("pyarrow")
# Arrow's memory comes from the C library's allocator, as fastexcel's does: what one sheet's
# typing frees is then reused by the next sheet's read, instead of being kept by a second
# allocator (reading six sheets of a million rows: 230 MiB less at the peak, as fast).
pa.set_memory_pool(pa.system_memory_pool())
MAX_SERIAL = 109574  # 2199-12-31: later dates are typing mistakes


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def normalize_header(text: str) -> str:
    """`Provider ID ` and `provider-id` both mean provider_id."""
    return re.sub(r"[\s\-]+", "_", text.strip().lower())


@dataclass
class Grid:
    """One sheet as a source read it: text cells, absolute positions.

    `cells` has one column per sheet column (named by its letter) and one row per sheet row,
    indexed by the 1-based row number; cell text is a string or missing.
    """

    name: str
    cells: pd.DataFrame


@dataclass(frozen=True)
class BadValue:
    """A cell whose text could not be read as its column's kind (left empty in the table)."""

    sheet: str
    row: int
    column: str
    letter: str
    value: str
    kind: Kind
    #: Why, when there is more to say than "not a date": ambiguous, or a year out of range.
    #: Worded to follow the quoted value ("could be 1 March 2026 or 3 January 2026; ...").
    reason: str = ""

    @property
    def cell(self) -> str:
        return f"{self.sheet}!{self.letter}{self.row}"


@dataclass(frozen=True)
class Respelled:
    """A closed-list value typed with other case or spaces, read as its canonical spelling."""

    sheet: str
    row: int
    column: str
    letter: str
    typed: str
    canonical: str

    @property
    def cell(self) -> str:
        return f"{self.sheet}!{self.letter}{self.row}"


@dataclass
class Table:
    """One sheet of the schema, read. `df.index` holds the row numbers of the sheet."""

    schema: Sheet
    name: str
    df: pd.DataFrame
    letters: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    extra_columns: list[str] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)
    bad_values: list[BadValue] = field(default_factory=list)
    respelled: list[Respelled] = field(default_factory=list)
    present: bool = True

    def __len__(self) -> int:
        return len(self.df)

    def cell(self, row: int, column: str) -> str:
        """`Referrals!C7` for the referrals table, row 7, the column holding `column`."""
        return f"{self.name}!{self.letters.get(column, '?')}{row}"


class SheetsOnDemand(Mapping[str, Table]):
    """Every sheet of the schema, each read and typed the first time it is asked for: a
    command that needs three sheets of a workbook at Excel's limits reads those three. A
    sheet's header problems are raised when it is read (`load_all` reads every sheet and
    raises the problems of all of them together)."""

    def __init__(self, source: str, loaders: dict[str, Callable[[], Table]]) -> None:
        self.source = source
        self._loaders = loaders
        self._loaded: dict[str, Table] = {}

    def __getitem__(self, name: str) -> Table:
        found = self._loaded.get(name)
        if found is None:
            load = self._loaders[name]  # KeyError for a sheet the schema does not have
            try:
                found = self._loaded[name] = load()
            except HeaderError as exc:
                raise header_problems(self.source, exc.lines()) from None
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaders)

    def __len__(self) -> int:
        return len(self._loaders)

    def loaded(self, name: str) -> bool:
        return name in self._loaded

    def load_all(self, problems: Iterable[str] = ()) -> None:
        """Read every sheet not read yet; raise the header problems of all of them together,
        after `problems` found before (a missing sheet)."""
        problems = list(problems)
        for name, load in self._loaders.items():
            if name not in self._loaded:
                try:
                    self._loaded[name] = load()
                except HeaderError as exc:
                    problems.extend(exc.lines())
        if problems:
            raise header_problems(self.source, problems)


def header_problems(source: str, problems: list[str]) -> HeaderError:
    """One error for the header problems of a workbook's sheets, so the user fixes them in
    one go."""
    first, *rest = problems
    return HeaderError(f"{source}: {first}" if not rest else
                       f"{source}: the workbook's sheets do not match what refdesk needs:",
                       details=problems if rest else [])


def missing_sheets(present: Iterable[str], found: list[str]) -> str | None:
    """The problem with a workbook whose sheets (`present`: the schema's names of those it
    has; `found`: as named in it) lack a required one, or None."""
    have = set(present)
    missing = [s.name for s in SHEETS if s.required and s.name not in have]
    if not missing:
        return None
    return (f"missing sheet{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(refdesk's sheets found: {', '.join(found) or 'none'}). Add them, or create a "
            "fresh workbook with `refdesk init` and copy your rows into it.")


@dataclass
class Book:
    """Every sheet of the schema, read once from one source."""

    source: str
    tables: Mapping[str, Table]

    def __getitem__(self, name: str) -> Table:
        return self.tables[name]

    def __iter__(self) -> Iterator[Table]:
        return iter(self.tables.values())


def build_book(source: str, grids: dict[str, Grid], country: str = "US") -> Book:
    """Check every sheet's header, then type every column. Header problems of all sheets are
    raised together, so the user fixes them in one go. `country` (config.toml's [practice]
    country) settles the order of day and month in dates typed as numbers."""
    problems: list[str] = []
    missing = missing_sheets(grids, [g.name for g in grids.values()])
    if missing:
        problems.append(missing)
    tables: dict[str, Table] = {}
    for schema in SHEETS:
        grid = grids.get(schema.name)
        if grid is None:
            tables[schema.name] = empty_table(schema)
            continue
        try:
            tables[schema.name] = build_table(schema, grid, country)
        except HeaderError as exc:
            problems.extend(exc.lines())
    if problems:
        raise header_problems(source, problems)
    return Book(source, tables)


def empty_table(schema: Sheet) -> Table:
    df = pd.DataFrame({c.name: _empty_series(c.kind) for c in schema.columns})
    df.index.name = "row"
    letters = {c.name: column_letter(i) for i, c in enumerate(schema.columns)}
    return Table(schema, schema.name, df, letters=letters, present=False)


def _empty_series(kind: Kind) -> pd.Series:
    dtype = {Kind.DATE: "datetime64[ns]", Kind.DATETIME: "datetime64[ns]", Kind.INT: "Int64",
             Kind.NUMBER: "Float64", Kind.MONEY: "Float64"}.get(kind, TEXT_DTYPE)
    return pd.Series([], dtype=dtype)


def _row_values(cells: pd.DataFrame, position: int) -> dict[str, str]:
    row = cells.iloc[position]
    return {letter: str(v).strip() for letter, v in row.items()
            if isinstance(v, str) and v.strip()}


def _find_header_row(schema: Sheet, cells: pd.DataFrame) -> int | None:
    wanted = set(schema.column_names)
    for position in range(1, min(HEADER_SEARCH_ROWS, len(cells))):
        found = {normalize_header(v) for v in _row_values(cells, position).values()}
        if len(found & wanted) >= 2:
            return int(cells.index[position])
    return None


def build_table(schema: Sheet, grid: Grid, country: str = "US") -> Table:
    cells = grid.cells
    name = grid.name
    header = _row_values(cells, 0) if len(cells) else {}
    known = {normalize_header(v) for v in header.values()} & set(schema.column_names)
    if not known:
        moved = _find_header_row(schema, cells)
        if moved:
            raise HeaderError(f"sheet {name}: the header row is row {moved}, but it must be "
                              f"row 1. Delete the rows above it.")
        if not header:
            raise HeaderError(f"sheet {name}: row 1 is empty; it must hold the column names "
                              f"({', '.join(schema.required_columns)} at least).")

    letters: dict[str, str] = {}
    headers: dict[str, str] = {}
    extra: list[str] = []
    problems: list[str] = []
    for letter, text in header.items():
        key = normalize_header(text)
        if key in schema:
            if key in letters:
                problems.append(
                    f"sheet {name}: the column '{key}' appears twice ({letters[key]}1 and "
                    f"{letter}1). Rename or delete one of them."
                )
                continue
            letters[key] = letter
            headers[key] = text
        else:
            extra.append(letter)
    missing_required = [c for c in schema.required_columns if c not in letters]
    if missing_required:
        problems.append(
            f"sheet {name}: missing required column"
            f"{'s' if len(missing_required) > 1 else ''} {', '.join(missing_required)}. Add "
            f"{'them' if len(missing_required) > 1 else 'it'} to row 1 (spelled as here)."
        )
    if problems:
        raise HeaderError(problems[0], details=problems[1:])

    body = cells.iloc[1:]
    data: dict[str, pd.Series] = {}
    bad: list[BadValue] = []
    respelled: list[Respelled] = []
    for column in schema.columns:
        letter = letters.get(column.name)
        raw = body[letter] if letter else pd.Series(pd.NA, index=body.index, dtype=TEXT_DTYPE)
        if column.closed:
            data[column.name], changes = canonical_choices(raw, column.choices,
                                                           multi=column.multi)
            respelled.extend(Respelled(name, int(row), column.name, letter or "?", typed, fixed)
                             for row, typed, fixed in changes)
            continue
        data[column.name], problems_found = convert(raw, column.kind, country)
        reasons = ({value: read_date(value, country).problem for _, value in problems_found}
                   if column.kind in (Kind.DATE, Kind.DATETIME) else {})
        bad.extend(BadValue(name, int(row), column.name, letter or "?", value, column.kind,
                            reasons.get(value, "")) for row, value in problems_found)
    for letter in extra:
        data[f"{header[letter]} ({letter})" if header[letter] in data else header[letter]] = (
            _clean_text(body[letter]))
    df = pd.DataFrame(data, index=body.index)
    df.index.name = "row"
    keep = df.notna().any(axis=1)
    if bad:  # a row whose only entry could not be read is still a row to report
        keep |= df.index.isin([b.row for b in bad])
    df = df[keep]
    present_rows = set(df.index) if bad or respelled else set()
    bad = [b for b in bad if b.row in present_rows]
    missing = [c for c in schema.column_names if c not in letters]
    return Table(schema, name, df, letters=_letters_with_missing(schema, letters), headers=headers,
                 extra_columns=[header[x] for x in extra], missing_columns=missing, bad_values=bad,
                 respelled=[r for r in respelled if r.row in present_rows])


def _letters_with_missing(schema: Sheet, letters: dict[str, str]) -> dict[str, str]:
    return {c.name: letters.get(c.name, "?") for c in schema.columns}


#: What is trimmed from the ends of a cell: Unicode's spaces and line ends, but not the
#: separators U+001C-U+001F, which Python and Arrow count as spaces too: a character no
#: document can hold must reach the merge's check, never be dropped silently.
SPACES = (" \t\n\r\x0b\x0c\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
          "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")


def _clean_text(raw: pd.Series) -> pd.Series:
    s = raw.astype(TEXT_DTYPE).str.strip(SPACES)
    return s.mask(s == "")


def canonical_choices(raw: pd.Series, choices: tuple[str, ...], *, multi: bool
                      ) -> tuple[pd.Series, list[tuple[int, str, str]]]:
    """Closed-list cells in their canonical spelling (`Referring ` reads as `referring`).

    Returns the column and the (row, typed, canonical) cells whose case or surrounding spaces
    differed. Values not in the list stay as typed, trimmed, for `check` to report."""
    by_lower = {c.lower(): c for c in choices}

    def fix(typed: str) -> tuple[str, bool]:
        items = [i.strip() for i in typed.split(LIST_SEPARATOR)] if multi else [typed.strip()]
        fixed = [by_lower.get(i.lower(), i) for i in items if i]
        respelled = typed != typed.strip() or any(
            i != f for i, f in zip([i for i in items if i], fixed, strict=True))
        return f"{LIST_SEPARATOR} ".join(fixed), respelled

    # Few distinct values even in a million rows: fix each once, then map (vectorised).
    fixes = {typed: fix(typed) for typed in raw.dropna().unique()}
    column = raw.map({typed: fixed for typed, (fixed, _) in fixes.items()}).astype(TEXT_DTYPE)
    column = column.mask(column == "")
    flagged = [typed for typed, (_, respelled) in fixes.items() if respelled]
    rows = raw[raw.isin(flagged)] if flagged else raw.iloc[:0]
    changes = [(int(row), typed, fixes[typed][0]) for row, typed in rows.items()]
    return column, changes


def convert(raw: pd.Series, kind: Kind, country: str = "US"
            ) -> tuple[pd.Series, list[tuple[int, str]]]:
    """Text cells to the column's type. Returns the typed column and the (row, text) pairs that
    did not convert (left missing)."""
    text = _clean_text(raw)
    if kind in (Kind.DATE, Kind.DATETIME):
        typed = parse_dates(text, keep_time=kind is Kind.DATETIME, country=country)
    elif kind is Kind.INT:
        number = to_number(text)
        whole = number.notna() & np.isclose(number.fillna(0) % 1, 0)
        typed = number.where(whole).round().astype("Int64")
    elif kind is Kind.NUMBER:
        typed = to_number(text)
    elif kind is Kind.MONEY:
        typed = to_number(text.str.replace(r"^\$|,", "", regex=True))
    else:
        return text, []
    failed = text.notna() & typed.isna()
    return typed, list(zip(text.index[failed].tolist(), text[failed].tolist(), strict=True))


#: How fastexcel writes a date cell as text.
CELL_DATETIME = "%Y-%m-%d %H:%M:%S"
NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"


def to_number(text: pd.Series) -> pd.Series:
    """Numbers written as text (as every cell arrives) to Float64; anything else missing.
    Arrow's regex and cast: several times faster than pd.to_numeric on a million cells."""
    text = text.astype(TEXT_DTYPE)
    ok = text.str.fullmatch(NUMBER, na=False)
    return text.where(ok).astype("float64[pyarrow]").astype("Float64")


def parse_dates(text: pd.Series, *, keep_time: bool = False, country: str = "US"
                ) -> pd.Series:
    """ISO text or real date cells (`2025-03-01`, `2025-03-01 09:30:00`), Excel serial
    numbers (`45717`) and dates as people type them (`March 1, 2025`, `3/1/25`, `01.03.2025`:
    refdesk.dates, the order of day and month from `country`). Anything else, an ambiguous
    date, or a year outside 1800-2199, is left missing for the caller to report."""
    # Real date cells arrive as "2025-03-01 00:00:00": Arrow parses those in one fast pass;
    # only the cells it could not read take the slower general path below.
    cells = pa.array(text.astype(TEXT_DTYPE).array)
    fast = pc.strptime(cells, format=CELL_DATETIME, unit="s", error_is_null=True)
    parsed = _in_range(pd.Series(fast.to_numpy(zero_copy_only=False), index=text.index))
    todo = parsed.isna() & text.notna()
    if not todo.any():
        return parsed if keep_time else parsed.dt.normalize()
    iso = todo & text.str.match(r"^\d{4}-\d{1,2}-\d{1,2}").fillna(False).astype(bool)
    if iso.any():
        # A sheet's dates are wall-clock dates: an offset such as Z or +02:00 is dropped, not
        # applied (mixed offsets would otherwise stop the whole column from parsing).
        local = text[iso]
        offset = r"(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(?:Z|[+-]\d{2}:?\d{2})$"
        # No \s or \S here: pandas would leave Arrow's regex engine for a slow Python loop.
        zoned = local.str.contains(r"\d{2}:\d{2}[^ ]* *(?:Z|[+-]\d{2}:?\d{2})$", na=False)
        if zoned.any():  # rare, and the back-reference makes this replace slow
            local = local.copy()
            local[zoned] = local[zoned].str.replace(offset, r"\1", regex=True)
        try:
            values = pd.to_datetime(local, format="ISO8601", errors="coerce")
        except (ValueError, OverflowError):
            values = local.map(_parse_one)
        parsed.loc[iso] = _in_range(values)
    rest = todo & ~iso
    if rest.any():
        serial = to_number(text[rest])
        serial = serial[(serial >= 1) & (serial <= MAX_SERIAL)]
        if len(serial):
            parsed.loc[serial.index] = EXCEL_EPOCH + pd.to_timedelta(serial, unit="D")
        rest = rest & parsed.isna()
        if rest.any():
            # What is left is typed by hand: few distinct texts even in a million rows, so
            # each is read once and the readings mapped back.
            left = text[rest]
            readings = {value: read_date(value, country).day for value in left.unique()}
            found = {value: pd.Timestamp(day) for value, day in readings.items()
                     if day is not None}
            if found:
                parsed.loc[rest] = pd.to_datetime(left.map(found).astype(object))
    if not keep_time:
        parsed = parsed.dt.normalize()
    return parsed


def _in_range(values: pd.Series) -> pd.Series:
    values = pd.to_datetime(values, errors="coerce")
    return values.where((values.dt.year >= 1800) & (values.dt.year < 2200)).astype(
        "datetime64[ns]")


def _parse_one(value: object) -> pd.Timestamp | None:
    if not isinstance(value, str):
        return None
    try:
        return pd.Timestamp(value).tz_localize(None)
    except (ValueError, OverflowError, TypeError):
        return None
