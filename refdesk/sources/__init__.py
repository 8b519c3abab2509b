"""Where a practice's records live, and the one protocol every command sees.

    commands (summary, check, stats, todo, merge, undo)
        |  read() -> Book, write(changes), locked(command), keep_alive()
        v
    Source  (this module)
        |
        +-- ExcelSource   refdesk.sources.excel: an .xlsx/.xlsm file, written through
        |                 refdesk.xlsxpatch, held with a lock file (refdesk.lock)
        +-- GoogleSource  refdesk.sources.google: a Google Sheet through the Sheets API,
                          held with a lease inside the spreadsheet

Both give the same Book of typed tables, so everything after the read is shared, and both
take the same changes (refdesk.xlsxpatch's SetField, SetCell, AppendRows). Commands see only
the protocol; only refdesk.cli chooses the source. Setting up a Google Sheet, importing into it
and exporting it are refdesk.sources.google.setup and .importer.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

from refdesk.book import Book
from refdesk.xlsxpatch import Change


def read_as_used(source: Source) -> Book:
    """The source's Book, each sheet read the first time a command uses it where the source
    can do that (an Excel file: see ExcelSource.read), else read whole."""
    if getattr(source, "reads_lazily", False):
        return source.read(lazy=True)  # type: ignore[call-arg]
    return source.read()


class Source(Protocol):
    #: The file, for an Excel workbook; None for a Google Sheet.
    path: Path | None

    def read(self) -> Book:
        """Every refdesk sheet, read once, as a typed Book."""
        ...

    def check_writable(self) -> None:
        """Raise now, before any document is saved, if a write is sure to be refused."""
        ...

    def write(self, changes: Iterable[Change], *, backup: bool = True,
              command: str = "refdesk") -> Any:
        """Apply a command's changes at once, finding rows by id at write time. The result
        has `written`, `cells`, `appended` and `backup` (None where there is none). `command`
        names the write in its record, for `refdesk undo`."""
        ...

    def locked(self, command: str = "refdesk", wait: float = 10.0
               ) -> AbstractContextManager[None]:
        """Hold the source for a whole command, from before the read to after the write, so
        that two refdesk processes never write it at once: a lock file beside a workbook, a
        lease inside a Google Sheet."""
        ...

    def keep_alive(self) -> None:
        """Tell the hold of `locked` that the command is still at work during a long stretch
        without reads or writes (sending email); never raises."""
        ...
