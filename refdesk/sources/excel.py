"""The Excel source: reads an .xlsx/.xlsm workbook into a Book.

Reading goes through fastexcel (calamine underneath, Arrow out), every sheet loaded once as text
with absolute positions; the Book turns the text into types. openpyxl is never used to read: it
is ten times slower and would tempt a load-and-save round trip of the user's file.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import fastexcel
import pandas as pd

from refdesk.book import (
    Book,
    Grid,
    SheetsOnDemand,
    Table,
    build_table,
    column_letter,
    empty_table,
    header_problems,
    missing_sheets,
)
from refdesk.errors import SourceError, WorkbookBusyError
from refdesk.lock import WAIT as LOCK_WAIT
from refdesk.schema import SHEETS, Sheet
from refdesk.xlsxpatch import Change, Fingerprint, PatchResult, fingerprint, patch_workbook, safety

# The first look at a file lives beside the writer, which needs it too; callers import it here.
from refdesk.xlsxpatch.package import OLE_MAGIC, check_workbook_file  # noqa: F401

EXCEL_SUFFIXES = (".xlsx", ".xlsm")
READ_TRIES = 3


def _fastexcel_message(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def open_reader(path: Path) -> fastexcel.ExcelReader:
    check_workbook_file(path)
    if path.suffix.lower() not in EXCEL_SUFFIXES:
        raise SourceError(f"{path}: refdesk reads .xlsx and .xlsm workbooks; save this file as "
                          "Excel Workbook (.xlsx).")
    try:
        return fastexcel.read_excel(path)
    except Exception as exc:  # fastexcel raises its own hierarchy; none may escape as a trace
        raise SourceError(f"{path}: the workbook is damaged and cannot be read "
                          f"({_fastexcel_message(exc)}). Open and re-save it in Excel or "
                          "LibreOffice, or restore a backup.") from None


@functools.cache
def _libc() -> Any:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (macOS, Windows, musl): their allocators give memory back
        return None


def _give_back_memory() -> None:
    """Hand the memory a sheet's read freed back to the system (glibc keeps freed blocks of a
    million cells in its heap otherwise): the peak of a command reading several sheets of a
    million rows stays that of the largest sheet, not of the sheets together."""
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


def read_grid(reader: fastexcel.ExcelReader, name: str, path: Path) -> Grid:
    """One sheet as text cells at their absolute positions (row 1 first, column letters)."""
    try:
        sheet = reader.load_sheet(name, header_row=None, skip_rows=0, dtypes="string")
        columns = sheet.available_columns()
        table = sheet.to_arrow()
    except Exception as exc:
        raise SourceError(f"{path}: sheet {name} cannot be read "
                          f"({_fastexcel_message(exc)}). Open and re-save the workbook in "
                          "Excel or LibreOffice.") from None
    # What fastexcel holds of the sheet is let go as soon as Arrow has the cells.
    del sheet
    cells = table.to_pandas()
    del table
    cells.columns = [column_letter(c.absolute_index) for c in columns]
    cells.index = pd.RangeIndex(1, len(cells) + 1, name="row")
    return Grid(name, cells)


class ExcelSource:
    """A workbook file on disk."""

    #: read(lazy=True) reads each sheet when first asked for (refdesk.sources.read_as_used).
    reads_lazily = True

    def __init__(self, path: Path | str, *, country: str = "US") -> None:
        self.path = Path(path)
        #: [practice] country: the order of day and month in dates typed as numbers.
        self.country = country
        #: The file as it was when read: a write refuses if it changed since.
        self.fingerprint: Fingerprint | None = None

    def __str__(self) -> str:
        return str(self.path)

    def read(self, *, lazy: bool = False) -> Book:
        """The workbook as a Book. A file another program saves while refdesk reads it is read
        again (up to READ_TRIES times) rather than called damaged.

        With `lazy`, each sheet is read the first time the Book is asked for it (a command
        that needs a few sheets of a large workbook reads only those); a sheet asked for after
        the file changed is refused (WorkbookBusyError), never read from the newer file."""
        for _ in range(READ_TRIES):
            before = safety.stat_key(self.path)
            try:
                book = self._read_once(lazy)
            except SourceError:
                if safety.stat_key(self.path) == before:
                    raise
                continue  # it was being saved: what failed to parse was half a file
            if safety.stat_key(self.path) == before:
                return book
        raise WorkbookBusyError(f"{self.path} changed while refdesk was reading it (is another "
                                "program saving it?); run the command again.")

    def _read_once(self, lazy: bool) -> Book:
        if self.path.is_file():
            try:
                with self.path.open("rb"):
                    pass
            except OSError as exc:
                raise safety.read_error(self.path, exc) from None
        check_workbook_file(self.path)
        try:
            self.fingerprint = fingerprint(self.path)
        except OSError as exc:
            raise safety.read_error(self.path, exc) from None
        opened = safety.stat_key(self.path)
        reader = open_reader(self.path)
        by_lower = {n.strip().lower(): n for n in reader.sheet_names}
        actual = {s.name: by_lower[s.name.lower()] for s in SHEETS if s.name.lower() in by_lower}
        missing = missing_sheets(actual, list(actual.values()))
        if missing and lazy:
            raise header_problems(str(self.path), [missing])

        def loader(schema: Sheet) -> Callable[[], Table]:
            def load() -> Table:
                name = actual.get(schema.name)
                if name is None:
                    return empty_table(schema)
                if lazy and safety.stat_key(self.path) != opened:
                    raise WorkbookBusyError(
                        f"{self.path} changed while refdesk was reading it (is another program "
                        "saving it?); run the command again.")
                # Each sheet typed as soon as it is read: its text cells are let go before the
                # next sheet is read, and the memory they held goes back to the system.
                table = build_table(schema, read_grid(reader, name, self.path), self.country)
                _give_back_memory()
                return table
            return load

        tables = SheetsOnDemand(str(self.path), {s.name: loader(s) for s in SHEETS})
        if not lazy:
            tables.load_all([missing] if missing else [])
        return Book(str(self.path), tables)

    def check_writable(self) -> None:
        """Refuse now, before anything is made, if a write into the workbook cannot finish:
        open in Excel or LibreOffice, read-only, no room on the disk, or changed since read."""
        safety.preflight(self.path)
        safety.refuse_if_changed(self.path, self.fingerprint)

    def locked(self, command: str = "refdesk", wait: float = LOCK_WAIT
               ) -> contextlib.AbstractContextManager[None]:
        """Hold the workbook's lock for a whole command (read, documents, write): a second
        refdesk process waits up to `wait` seconds, then refuses naming this one."""
        return safety.workbook_lock(self.path, command, wait)

    def keep_alive(self) -> None:
        """The lock file lasts as long as the process: nothing to renew."""

    def write(self, changes: Iterable[Change], *, backup: bool = True,
              command: str = "refdesk") -> PatchResult:
        """Apply changes through the safe write path (see refdesk.xlsxpatch). Rows are found
        by their id at write time; the write is refused if the file changed since read()."""
        result = patch_workbook(self.path, changes, expect=self.fingerprint, backup=backup,
                                command=command)
        if result.written:
            self.fingerprint = result.fingerprint
        return result
