"""Printing what `check` found: a table per sheet for people, records for programs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from itertools import groupby

from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from refdesk.characters import shown
from refdesk.check.problem import Problem, Severity, count_rows

STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow"}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summary_line(problems: Sequence[Problem]) -> str:
    counts = Counter(p.severity for p in problems)
    if not problems:
        return "No problems found."
    return (f"{_plural(counts[Severity.ERROR], 'error')}, "
            f"{_plural(counts[Severity.WARNING], 'warning')} in "
            f"{_plural(count_rows(problems), 'row')}.")


def print_problems(problems: Sequence[Problem], console: Console | None = None) -> None:
    console = console or Console(soft_wrap=False)
    for sheet, group in groupby(problems, key=lambda p: p.sheet):
        found = list(group)
        counts = Counter(p.severity for p in found)
        title = (f"{sheet}: {_plural(counts[Severity.ERROR], 'error')}, "
                 f"{_plural(counts[Severity.WARNING], 'warning')}")
        table = RichTable(title=title, title_justify="left", header_style="bold",
                          show_lines=False)
        for name in ("Cell", "", "Value", "Problem and fix"):
            table.add_column(name, overflow="fold")
        for p in found:
            # Text, not markup; a control character in a cell shows as U+FFFD
            table.add_row(p.cell.split("!", 1)[-1], Text(p.severity.value, STYLE[p.severity]),
                          Text(shown(p.value)), Text(shown(p.message)))
        console.print(table)
    console.print(summary_line(problems))
