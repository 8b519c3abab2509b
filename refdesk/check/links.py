"""Placeholder module being written; see the helper's task."""

from __future__ import annotations

from collections.abc import Iterator

from refdesk.book import Book
from refdesk.check.problem import Context, Problem


def rules(book: Book, ctx: Context) -> Iterator[Problem]:
    yield from ()
