"""`refdesk check`: every row of the book checked; each problem a record at its cell.

Rule families live in their own modules, each a `rules(book, ctx)` generator of Problems.
Rules work on whole columns (pandas masks) and visit only the rows that fail.
"""

from __future__ import annotations

from collections.abc import Callable

from refdesk.book import Book
from refdesk.check import cells, links, logic, outcomes, sheets
from refdesk.check.formats import preload_icd
from refdesk.check.problem import Context, Problem, Severity
from refdesk.schema import SHEETS
from refdesk.sources import Source

__all__ = ["Context", "Problem", "Severity", "check_book", "read_and_check", "sort_problems"]

RULE_FAMILIES = (cells, sheets, links, logic, outcomes)
_SHEET_ORDER = {s.name: i for i, s in enumerate(SHEETS)}


def read_and_check(source: Source, ctx: Context,
                   progress: Callable[[str], None] = lambda _message: None
                   ) -> tuple[Book, list[Problem]]:
    """Read the source and check it, loading the ICD-10-CM code set meanwhile."""
    preload_icd()
    progress(f"Reading {source} ...")
    book = source.read()
    rows = sum(len(t) for t in book)
    progress(f"Checking {rows:,} row{'' if rows == 1 else 's'} ...")
    return book, check_book(book, ctx)


def check_book(book: Book, ctx: Context) -> list[Problem]:
    found: list[Problem] = []
    for family in RULE_FAMILIES:
        found.extend(family.rules(book, ctx))
    return sort_problems(book, found)


def sort_problems(book: Book, problems: list[Problem]) -> list[Problem]:
    """Sheet by sheet in the workbook's order, then row by row, then left to right."""
    order = {t.name: _SHEET_ORDER[t.schema.name] for t in book}
    return sorted(problems, key=lambda p: (order.get(p.sheet, 99), p.row, len(p.cell), p.cell,
                                           p.rule))
