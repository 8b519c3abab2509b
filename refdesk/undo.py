"""`refdesk undo`: put the workbook back as it was before refdesk's last write.

Every write leaves a backup of the workbook as it was and, beside it, a record of what the
write changed and of the workbook it left (size and SHA-256; see refdesk.xlsxpatch.journal).
Undo restores that backup only while the workbook is still exactly what refdesk wrote, so
that nothing typed since is lost. The undo is itself a write with its backup and record: a
second undo puts the undone write back.
"""

from __future__ import annotations

import datetime as dt
import stat
from dataclasses import dataclass
from pathlib import Path

from refdesk.errors import WorkbookBusyError, WriteError
from refdesk.xlsxpatch import journal, safety
from refdesk.xlsxpatch.safety import BACKUP_DIR, Fingerprint, Written

UNDO_COMMAND = "undo"
GOOGLE_HISTORY = (
    "A Google Sheet keeps its own history, so refdesk keeps no backup of it. To undo a write, "
    "open the sheet and choose File > Version history > See version history, pick the version "
    "from before refdesk's write, and click Restore this version. Nothing was changed.")


@dataclass(frozen=True)
class LastWrite:
    """refdesk's last write into a workbook, which the workbook still shows."""

    path: Path
    entry: journal.Entry
    record: Path
    backup: Path
    current: Fingerprint  # the workbook now: what that write left

    def shown_backup(self) -> str:
        return f"{BACKUP_DIR}/{self.backup.name}"


def last_write(path: Path) -> LastWrite:
    """The write to undo. Raises WriteError when there is none, WorkbookBusyError when the
    workbook changed since (naming the backup to open by hand)."""
    path = Path(path).resolve()
    try:
        current = safety.fingerprint(path)
    except OSError as exc:
        raise safety.read_error(path, exc) from None
    newest: tuple[journal.Entry, Path] | None = None
    for backup in reversed(safety.backups_of(path)):
        record = journal.record_path(backup)
        entry = journal.read(record)
        if entry is None:
            continue  # a write made without a record (older refdesk), or a damaged record
        if entry.after.get("sha256") == current.sha256:
            return LastWrite(path, entry, record, backup, current)
        if newest is None and entry.before.get("sha256") == current.sha256:
            continue  # that write stopped before its new file replaced the workbook
        newest = newest or (entry, backup)
        break
    if newest is None:
        raise WriteError(f"{path.name}: there is no refdesk write to undo (no record of one in "
                         f"{BACKUP_DIR}/ beside it). Nothing was written.")
    entry, backup = newest
    raise WorkbookBusyError(
        f"{path.name} changed since refdesk's last write ({entry.title}), so undoing it would "
        "lose those changes. Nothing was written. To go back by hand, open "
        f"{BACKUP_DIR}/{backup.name}, the workbook as it was before that write, and copy what "
        "you need.")


def undo(last: LastWrite, *, now: dt.datetime | None = None) -> Written:
    """Put the workbook back as `last`'s backup holds it, through the safe write path: the
    workbook as it is now is backed up first, with a record, so that undo again redoes."""
    path = last.path
    if not last.backup.is_file():
        raise WriteError(f"{last.shown_backup()}: the backup taken before {last.entry.title} is "
                         "gone (deleted since?), so there is nothing to restore from. Nothing "
                         "was written.")
    safety.preflight(path)
    with safety.workbook_lock(path, f"refdesk {UNDO_COMMAND}"):
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError as exc:
            raise safety.read_error(path, exc) from None
        entry = last.entry.reversed(UNDO_COMMAND, "", "", {}, {})

        return safety.write_safely(
            path, lambda temp: safety.copy_with_fingerprint(last.backup, temp, mode),
            last.current, now=now, entry=entry)
