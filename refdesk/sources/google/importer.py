"""Copying an Excel workbook's records into a Google Sheet, in requests sized by bytes.

Each record goes to the row it has in the workbook, so every cell keeps its address
(Referrals!F12 stays F12) and `check` names the same places. The rows are sent RAW in
`values:batchUpdate` requests of at most `MAX_BYTES` of JSON, measured on the body as it is
sent; Google applies each request whole or not at all. Before anything is written the
spreadsheet's size after the import is checked against Google's limit of 10 million cells.

When a request fails, the message says which tabs went in complete and how many rows of which
tab, and `refdesk import --resume` sends the rest: it reads what the sheet holds and decides
for each workbook record, by the row it belongs in:

- a record with an id is in when its row in the sheet holds that id, or when the id is
  elsewhere in the tab (someone moved the row) and is unique in the workbook and the tab;
- a record without an id is in when its row in the sheet holds the same values;
- otherwise it is sent to its row when that row is empty or holds part of it (a record too
  big for one request goes in pieces, its first column last); a row holding something else
  stops the import before anything is sent, naming the row.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from refdesk.book import Book, Grid, column_letter, normalize_header
from refdesk.errors import RefdeskError, SourceError, WriteError
from refdesk.sources.google.client import GoogleUnavailable, quote
from refdesk.sources.google.read import cell_text, raw_value
from refdesk.sources.google.setup import Seen, SetupResult, init_sheet, look, records
from refdesk.sources.google.source import GoogleSource

#: The JSON body of one `values:batchUpdate`: Google recommends at most 2 MB a request (and
#: refuses 10 MB).
MAX_BYTES = 2_000_000
#: Cells a spreadsheet may hold, all tabs together, empty cells of the grid included.
MAX_CELLS = 10_000_000
_BODY = '{"valueInputOption": "RAW", "data": []}'


class ImportStopped(RefdeskError):
    """An import stopped part way: the message says what went in and how to finish."""


@dataclass
class _Unit:
    """Cells of one row to send: a whole record, or a piece of one too big for a request."""

    tab: str  # schema name
    title: str
    row: int
    column: int
    values: list[Any]
    text: str  # the values as JSON, as they are sent


@dataclass
class _Chunk:
    data: list[dict[str, Any]] = field(default_factory=list)
    size: int = len(_BODY)
    #: Rows by schema name, for the message after a failure; the records that are whole once
    #: this chunk is in (a record sent in pieces is whole with its first column, sent last).
    rows: dict[str, list[int]] = field(default_factory=dict)
    records: dict[str, int] = field(default_factory=dict)


def _json(value: Any) -> str:
    # The same serialization the HTTP client uses (requests' json=), so sizes are exact.
    return json.dumps(value)


def _range_text(title: str, row: int, column: int, width: int, last: int) -> str:
    return (f"{quote(title)}!{column_letter(column)}{row}:"
            f"{column_letter(column + width - 1)}{last}")


def _value_range(rng: str, rows: list[str]) -> str:
    return f'{{"range": {_json(rng)}, "majorDimension": "ROWS", "values": [{", ".join(rows)}]}}'


def chunks(units: list[_Unit], limit: int = MAX_BYTES) -> Iterator[_Chunk]:
    """The units packed into request bodies of at most `limit` bytes; consecutive whole rows
    of one tab share one range. Sizes are counted exactly as the body is serialized."""
    chunk = _Chunk()
    run: list[_Unit] = []

    def run_size(items: list[_Unit]) -> int:
        first = items[0]
        rng = _range_text(first.title, first.row, first.column, len(first.values),
                          items[-1].row)
        return len(_value_range(rng, [u.text for u in items]))

    def close_run() -> None:
        if run:
            first = run[0]
            chunk.data.append({"range": _range_text(first.title, first.row, first.column,
                                                    len(first.values), run[-1].row),
                               "majorDimension": "ROWS", "values": [u.values for u in run]})
            chunk.rows.setdefault(first.tab, []).extend(u.row for u in run)
            chunk.records[first.tab] = chunk.records.get(first.tab, 0) + sum(
                1 for u in run if u.column == 0)
            run.clear()

    run_bytes = 0  # the open run's size, separator before it included
    for unit in units:
        joins = (run and unit.tab == run[-1].tab and unit.row == run[-1].row + 1
                 and unit.column == 0 and run[-1].column == 0)
        if joins:
            # The range's last row grows; the row joins with ", ".
            grown = run_bytes + len(unit.text) + 2 + (len(str(unit.row)) - len(str(run[-1].row)))
            if chunk.size + grown <= limit:
                run.append(unit)
                run_bytes = grown
                continue
        if run:
            chunk.size += run_bytes
            close_run()
        alone = run_size([unit]) + (2 if chunk.data else 0)
        if chunk.data and chunk.size + alone > limit:
            yield chunk
            chunk = _Chunk()
            alone -= 2
        run.append(unit)
        run_bytes = alone
    if run:
        chunk.size += run_bytes
        close_run()
    if chunk.data:
        yield chunk


def _units(name: str, title: str, row: int, values: list[Any], limit: int) -> list[_Unit]:
    """One record's cells, split across requests only when the row alone would pass the
    limit (a cell holds at most 50,000 characters, so a piece always fits)."""
    text = _json(values)
    overhead = len(_BODY) + len(_value_range(_range_text(title, row, 0, len(values), row), []))
    if overhead + len(text) <= limit:
        return [_Unit(name, title, row, 0, values, text)]
    pieces: list[_Unit] = []
    start = 0
    while start < len(values):
        end = start + 1
        while end < len(values) and overhead + len(_json(values[start:end + 1])) <= limit:
            end += 1
        part = values[start:end]
        pieces.append(_Unit(name, title, row, start, part, _json(part)))
        start = end
    # Last columns first: the piece with the id (column A) goes last, so a record whose id is
    # in the sheet is there whole, whichever request failed.
    return pieces[::-1]


@dataclass
class _Table:
    name: str
    title: str
    total: int = 0
    already: int = 0
    send: list[tuple[int, list[Any]]] = field(default_factory=list)
    rows: int = 0  # the last workbook row with a record


def _decide(book: Book, source: GoogleSource, seen: Seen, resume: bool) -> dict[str, _Table]:
    """For each table, the records to send, laid out as the tab's row 1 has its columns; with
    `resume`, the records already in the sheet are counted and left out (the module's
    docstring)."""
    busy = [name for name, grid in seen.grids.items()
            if grid.cells.iloc[1:].notna().any(axis=None)]
    if busy and not resume:
        raise WriteError(f"{source}: the tabs {', '.join(busy)} already hold records; import "
                         "only into a new or empty sheet, so nothing there is overwritten. To "
                         "finish an import that stopped part way, add --resume; otherwise make "
                         "a new Google Sheet and import into it.")
    plans: dict[str, _Table] = {}
    conflicts: list[str] = []
    for table in book:
        sheet = table.schema
        title = seen.title(sheet) or sheet.name
        headed = seen.headed(table.name)
        header = source.tabs[table.name].header if headed else sheet.column_names
        layout = _layout(header, sheet.column_names)
        missing = [c for c in sheet.column_names if c not in layout]
        if missing:
            raise WriteError(f"{source}: tab {title} lacks the columns {', '.join(missing)} "
                             "in row 1; add them, or import into a new sheet.")
        plan = _Table(table.name, title)
        wanted = {row: [raw_value(record[c])[0] if c else "" for c in layout]
                  for row, record in records(table)}
        plan.total = len(wanted)
        plan.rows = max(wanted, default=1)
        plans[table.name] = plan
        grid = seen.grids.get(table.name)
        if not resume or grid is None:
            plan.send = list(wanted.items())
        else:
            conflicts.extend(_resume(plan, wanted, grid,
                                     layout.index(sheet.key) if sheet.key else None))
    if conflicts:
        raise WriteError(
            f"{source}: {len(conflicts)} rows of the sheet hold something other than the "
            "workbook's record for that row, and import puts each record in the row it has "
            "in the workbook; nothing was sent. Clear those rows in the sheet (or fix the "
            "workbook), then run the import again with --resume.", details=conflicts[:20])
    return plans


def _resume(plan: _Table, wanted: dict[int, list[Any]], grid: Grid, at: int | None
            ) -> list[str]:
    """Sort a table's records into those the sheet holds (counted) and those to send, by the
    rules of the module's docstring; the rows that hold something else."""
    cells = grid.cells
    texts = {row: [cell_text(v) for v in sent] for row, sent in wanted.items()}
    there_ids: Counter[str] = Counter()
    mine: Counter[str] = Counter()
    if at is not None:
        letter = column_letter(at)
        if letter in cells:
            there_ids.update(v for v in cells[letter].iloc[1:] if isinstance(v, str))
        mine.update(t[at] for t in texts.values() if t[at])
    conflicts = []
    for row, sent in wanted.items():
        there = list(cells.loc[row]) if row in cells.index else []
        there = [None if v is None or v != v else v for v in there]
        mark = texts[row][at] if at is not None else None
        if _holds(there, texts[row], at):
            plan.already += 1
        elif mark and there_ids[mark] == 1 and mine[mark] == 1:
            plan.already += 1  # moved by someone meanwhile, and unique: it is there
        elif all(v is None or (i < len(sent) and v == texts[row][i])
                 for i, v in enumerate(there)):
            plan.send.append((row, sent))  # empty, or part of it (a row sent in pieces)
        else:
            conflicts.append(f"{plan.title}!{row}")
    return conflicts


def _layout(header: list[str], columns: list[str]) -> list[str | None]:
    """Row 1's columns as refdesk names them; None for a column refdesk does not know (or a
    second one of the same name), which an import leaves empty."""
    layout: list[str | None] = []
    for text in header:
        name = normalize_header(text)
        layout.append(name if name in columns and name not in layout else None)
    return layout


def _holds(there: list[Any], texts: list[str | None], at: int | None) -> bool:
    """Whether a sheet row (text cells from column A) holds the record: the same id, or for
    a record without one the same values."""
    def cell(i: int) -> Any:
        return there[i] if i < len(there) else None

    if at is not None and texts[at]:
        return cell(at) == texts[at]
    return any(t is not None for t in texts) and all(
        cell(i) == t for i, t in enumerate(texts))


def import_workbook(book: Book, source: GoogleSource, *, resume: bool = False,
                    again: str = "refdesk import WORKBOOK --resume",
                    progress: Callable[[str], None] | None = None) -> SetupResult:
    """An Excel workbook's records into the Google Sheet: missing tabs are created; without
    `resume` the refdesk tabs must hold no records yet, so nothing there is overwritten.
    `again` is the command that resumes, for the message after a failure."""
    seen = look(source, whole=True)
    plans = _decide(book, source, seen, resume)
    needed = {name: p.rows - 1 for name, p in plans.items()}  # rows below the header
    _check_cells(source, seen, needed)
    setup = init_sheet(source, rows=needed, seen=seen)
    setup.requests += seen.requests
    units: list[_Unit] = []
    for plan in plans.values():
        title = source.tabs[plan.name].title
        plan.title = title
        for row, sent in plan.send:
            units.extend(_units(plan.name, title, row, sent, MAX_BYTES))
        setup.rows[plan.name] = 0
        setup.already[plan.name] = plan.already
    batches = list(chunks(units, MAX_BYTES))
    for i, chunk in enumerate(batches, 1):
        if progress and len(batches) > 1:
            progress(f"Sending part {i} of {len(batches)} ...")
        body = {"valueInputOption": "RAW", "data": chunk.data}
        try:
            source.api.call("the import of the rows", lambda b=body: source.api.http.
                            values_batch_update(source.api.key, b))
        except SourceError as exc:
            raise _stopped(source, exc, plans, setup, chunk, again) from None
        setup.requests += 1
        setup.sizes.append(chunk.size)
        for name, count in chunk.records.items():
            setup.rows[name] += count
    return setup


def _check_cells(source: GoogleSource, seen: Seen, needed: dict[str, int]) -> None:
    """Refuse before writing when the spreadsheet would pass Google's cell limit."""
    from refdesk.schema import SHEETS_BY_NAME

    now = seen.cells
    after = now
    for name, last in needed.items():
        sheet = SHEETS_BY_NAME[name]
        title = seen.title(sheet)
        ncols = len(sheet.columns)
        if title is None:
            after += max(1000, last + 1) * ncols
        else:
            tab = seen.tabs[title]
            after += max(tab.rows, last + 1) * max(tab.columns, ncols) - tab.rows * tab.columns
    if after > MAX_CELLS:
        raise WriteError(
            f"{source}: after the import the spreadsheet would have {after:,} cells (it has "
            f"{now:,} now, every tab's rows times its columns), over Google's limit of "
            f"{MAX_CELLS:,} cells per spreadsheet; nothing was sent. Import into a new Google "
            "Sheet, delete unused tabs or empty rows and columns, or move old records (past "
            "years' Visits, Letters) into an archive workbook first.")


def _stopped(source: GoogleSource, exc: SourceError, plans: dict[str, _Table],
             setup: SetupResult, failed: _Chunk, again: str) -> ImportStopped:
    """What went in, what may have, and how to finish: the error after a failed request."""
    reason = exc.message.split("; nothing was changed")[0].rstrip(".")
    whole, parts, untouched = [], [], []
    for name, plan in plans.items():
        done = plan.already + setup.rows.get(name, 0)
        if plan.total == 0:
            continue  # nothing to copy: not worth a word
        if done == plan.total:
            whole.append(f"{name} ({plan.total:,})")
        elif done == 0:
            untouched.append(f"{name} ({plan.total:,})")
        else:
            parts.append(f"{name} {done:,} of {plan.total:,}")
    lines = []
    if whole:
        lines.append(f"In full: {', '.join(whole)}.")
    if parts:
        lines.append(f"In part: {'; '.join(parts)}.")
    if untouched:
        lines.append(f"Not yet: {', '.join(untouched)}.")
    held = "; ".join(f"{name} rows {min(rows):,} to {max(rows):,}"
                     for name, rows in failed.rows.items())
    if isinstance(exc, GoogleUnavailable):
        lines.append(f"The request that failed held {held}: it may have gone in (its answer "
                     "was lost); --resume finds out.")
    else:
        lines.append(f"The request that failed held {held}: it did not go in (Google refused "
                     "it).")
    return ImportStopped(
        f"{reason}. The import into {source} stopped part way; records by tab below. Run "
        f"`{again}` to send the rest: it reads what the sheet holds and sends each remaining "
        "record once.", details=lines)
