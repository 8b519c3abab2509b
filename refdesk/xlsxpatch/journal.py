"""The record each write leaves beside its backup, for `refdesk undo`.

`.refdesk-backups/referrals-20261203-150211-000000.xlsx.json` says which command wrote, when,
what the workbook was before (its backup, the file beside it) and after (size and SHA-256),
and what changed: each cell set and the rows added. It holds the workbook's own values (ids,
dates, statuses refdesk wrote), in the same private folder as the backups, and goes with its
backup when old backups are pruned.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from refdesk.errors import OutputError, WriteError
from refdesk.fileio import write_file

VERSION = 1
SHOWN_CELLS = 8  # cells listed by address in a summary; the rest are counted


@dataclass(frozen=True)
class CellChange:
    cell: str  # Sheet!B7
    old: str | None
    new: str | None


@dataclass
class Entry:
    command: str
    time: str  # ISO 8601, local time, seconds
    workbook: str
    backup: str  # the backup's file name, in the same folder as this record
    before: dict[str, object]  # {"size", "sha256"} of the workbook as it was
    after: dict[str, object]  # {"size", "sha256"} of the workbook as refdesk wrote it
    cells: list[CellChange] = field(default_factory=list)
    appended: dict[str, list[int]] = field(default_factory=dict)  # sheet -> [first, last]
    removed: dict[str, list[int]] = field(default_factory=dict)  # rows an undo took away
    undoes: str | None = None  # the title of the write this one undid

    @property
    def title(self) -> str:
        try:
            when = dt.datetime.fromisoformat(self.time).strftime("%Y-%m-%d %H:%M")
        except ValueError:
            when = self.time
        return f"{self.command} at {when}"

    def summary(self) -> str:
        """`merge thank-you at 2026-12-03 15:02: Letters rows 19-21 added; Referrals!M4, M7
        set`, for a person."""
        parts = [f"{sheet} {_rows(span)} added" for sheet, span in self.appended.items()]
        parts += [f"{sheet} {_rows(span)} removed" for sheet, span in self.removed.items()]
        if self.cells:
            parts.append(_cells(self.cells) + (" set back" if self.undoes else " set"))
        head = self.title + (f" (undoing {self.undoes})" if self.undoes else "")
        return f"{head}: {'; '.join(parts) or 'no cells changed'}"

    def reversed(self, command: str, time: str, backup: str, before: dict[str, object],
                 after: dict[str, object]) -> Entry:
        """The record of undoing this write: the rows it added removed, its cells set back."""
        return Entry(command, time, self.workbook, backup, before, after,
                     [CellChange(c.cell, c.new, c.old) for c in self.cells],
                     appended=dict(self.removed), removed=dict(self.appended),
                     undoes=self.title)


def _rows(span: list[int]) -> str:
    first, last = span
    return f"row {first}" if first == last else f"rows {first}-{last}"


def _cells(cells: list[CellChange]) -> str:
    """Referrals!M4, M7, M9; Notes!B2 (and 12 more cells)."""
    shown: list[str] = []
    sheet = None
    for change in cells[:SHOWN_CELLS]:
        name, _, address = change.cell.rpartition("!")
        shown.append(address if name == sheet else change.cell)
        sheet = name
    more = len(cells) - len(shown)
    return ", ".join(shown) + (f" and {more} more cell{'s' if more > 1 else ''}" if more else "")


def record_path(backup: Path) -> Path:
    return backup.with_name(backup.name + ".json")


def write(entry: Entry, folder: Path) -> Path:
    """Save the record beside its backup, whole or not at all (0600)."""
    path = folder / (entry.backup + ".json")
    data = asdict(entry)
    data["version"] = VERSION
    try:
        write_file(path, json.dumps(data, indent=1, ensure_ascii=False).encode("utf-8"))
    except OutputError as exc:
        raise WriteError(exc.message.removesuffix(" there.") + ".") from None
    return path


def read(path: Path) -> Entry | None:
    """The record at `path`; None when it is missing, unreadable or not one of refdesk's."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.pop("version", None) != VERSION:
            return None
        cells = [CellChange(**c) for c in data.pop("cells", [])]
        entry = Entry(**data, cells=cells)
    except (OSError, ValueError, TypeError):
        return None
    if not re.fullmatch(r"[^/\\]+", entry.backup):
        return None  # a record names a file beside it, never a path elsewhere
    return entry
