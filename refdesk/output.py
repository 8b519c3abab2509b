"""Printing: tables for people (rich, on stdout), JSON or CSV for programs."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    table = Table(title=title, title_justify="left", header_style="bold")
    for name in columns:
        table.add_column(name, justify="right" if name.lower() in {"rows", "columns"} else "left")
    for row in rows:
        # Text, not markup: a cell such as "[urgent]" prints as typed.
        table.add_row(*(Text("" if v is None else str(v)) for v in row))
    Console(soft_wrap=False).print(table)


def emit_records(records: list[dict[str, Any]], *, as_json: bool) -> None:
    """Records to stdout: a JSON array, or CSV with a header row."""
    if as_json:
        json.dump(records, sys.stdout, indent=2, default=str, ensure_ascii=False)
        sys.stdout.write("\n")
        return
    fields: list[str] = []
    for record in records:
        fields.extend(k for k in record if k not in fields)
    writer = csv.DictWriter(sys.stdout, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({k: ("; ".join(v) if isinstance(v, list) else v)
                         for k, v in record.items()})
