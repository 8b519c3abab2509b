"""Printing: tables for people (rich, on stdout), JSON or CSV for programs.

Every CSV refdesk writes goes through `write_csv`: text a spreadsheet would read as a formula
(`=HYPERLINK(...)`, `+1+1`, `@SUM(A1)`, `-2+3`) is written with a leading apostrophe, so the
spreadsheet shows it as text instead of running it. JSON is left exactly as typed.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import re
import sys
from collections.abc import Iterable, Sequence
from numbers import Number
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from refdesk.characters import shown

#: First characters that make a spreadsheet read a cell as a formula (OWASP's list), with
#: their full-width forms, which some spreadsheets read the same way.
FORMULA_START = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
#: A plain negative number ("-5", "-1,200.50") runs nothing: it stays as written.
_PLAIN_NUMBER = re.compile(r"-(?:\d[\d,]*(?:\.\d*)?|\.\d+)")


def neutralise(text: str) -> str:
    """`text` as a spreadsheet cell shows it and never runs it: with a leading apostrophe when
    its first character (or its first after leading spaces, which spreadsheets skip) starts a
    formula."""
    first = text.lstrip(" \n\u00a0\u3000")[:1]
    if text[:1] in ("\t", "\r") or (first in FORMULA_START
                                     and not _PLAIN_NUMBER.fullmatch(text.strip())):
        return "'" + text
    return text


def csv_cell(value: Any) -> Any:
    """One value as a CSV cell: numbers stay numbers, dates are ISO, lists are joined with
    "; ", and text is neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool | Number):
        return value
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        value = "; ".join("" if v is None else str(v) for v in value)
    return neutralise(str(value))


def write_csv(stream: TextIO, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A header row, then the rows, every cell through `csv_cell`; lines end in "\n"."""
    # The csv module quotes a field only for the characters of its line terminator: with
    # "\r\n" a lone "\r" in a value is quoted too, and cannot start a row of its own (whose
    # first cell would then be unescaped). Each row's own "\r\n" becomes "\n".
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(cells: Iterable[Any]) -> None:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([csv_cell(v) for v in cells])
        stream.write(buffer.getvalue()[:-2] + "\n")

    line(header)
    for row in rows:
        line(row)


def record_fields(cls: type) -> list[str]:
    """The field names of a dataclass, in order: the CSV header when there are no records."""
    return [f.name for f in dataclasses.fields(cls)]


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    table = Table(title=title, title_justify="left", header_style="bold")
    for name in columns:
        table.add_column(name, justify="right" if name.lower() in {"rows", "columns"} else "left")
    for row in rows:
        # Text, not markup: a cell such as "[urgent]" prints as typed; a control character
        # (an escape sequence the terminal would obey) shows as U+FFFD.
        table.add_row(*(Text(shown("" if v is None else str(v))) for v in row))
    Console(soft_wrap=False).print(table)


def emit_records(records: list[dict[str, Any]], *, as_json: bool,
                 fields: Sequence[str] = ()) -> None:
    """Records to stdout: a JSON array (values exactly as they are), or CSV with a header row
    of `fields` and any other key a record has, even when there are no records."""
    if as_json:
        json.dump(records, sys.stdout, indent=2, default=str, ensure_ascii=False)
        sys.stdout.write("\n")
        return
    header = list(fields)
    for record in records:
        header.extend(k for k in record if k not in header)
    write_csv(sys.stdout, header, ([record.get(k) for k in header] for record in records))
