"""Writing the user's file without ever leaving it broken.

The order of a write: refuse when Excel or LibreOffice has the file open or it changed since it
was read; copy it into `.refdesk-backups/` (through a temporary name, so a backup is whole or
absent); write the new workbook to a temporary file beside it, flush it to disk, check once
more that nobody saved the original meanwhile, and rename it over the original in one step.
A crash at any point leaves the original or the complete new file, never a mix.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from refdesk.errors import WorkbookBusyError

BACKUP_DIR = ".refdesk-backups"
KEEP_BACKUPS = 20
_STAMP = "%Y%m%d-%H%M%S"


def checkpoint(step: str) -> None:
    """Called between the steps of a write. Does nothing; the crash tests replace it."""


@dataclass(frozen=True)
class Fingerprint:
    """What the file was when refdesk read it."""

    size: int
    mtime_ns: int
    sha256: str


def fingerprint(path: Path) -> Fingerprint:
    with path.open("rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
        stat = os.fstat(fh.fileno())
    return Fingerprint(stat.st_size, stat.st_mtime_ns, digest)


def lock_files(path: Path) -> list[Path]:
    """Lock files Excel (`~$name.xlsx`) and LibreOffice (`.~lock.name.xlsx#`) keep beside an
    open workbook."""
    candidates = [path.with_name("~$" + path.name), path.with_name(f".~lock.{path.name}#")]
    return [c for c in candidates if c.exists()]


def refuse_if_open(path: Path) -> None:
    locks = lock_files(path)
    if locks:
        app = "Excel" if locks[0].name.startswith("~$") else "LibreOffice"
        raise WorkbookBusyError(
            f"{path.name} is open in {app}: close it there, then run refdesk again. Nothing "
            f"was written. (If {app} is not running, the lock file {locks[0].name} was left by "
            "a crash: delete it.)")


def refuse_if_changed(path: Path, expected: Fingerprint | None) -> Fingerprint:
    current = fingerprint(path)
    if expected is not None and current != expected:
        when = dt.datetime.fromtimestamp(current.mtime_ns / 1e9).strftime("%H:%M:%S")
        raise WorkbookBusyError(
            f"{path.name} changed since refdesk read it (saved at {when}), probably in Excel. "
            "Nothing was written: run the command again so refdesk works from what is in the "
            "file now.")
    return current


def _sync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a folder be opened
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def backup_name(path: Path, now: dt.datetime) -> str:
    return f"{path.stem}-{now.strftime(_STAMP)}-{now.microsecond:06d}{path.suffix}"


def make_backup(path: Path, now: dt.datetime | None = None,
                keep: int = KEEP_BACKUPS) -> Path:
    """Copy the workbook into `.refdesk-backups/` beside it; keep the newest `keep` copies."""
    folder = path.parent / BACKUP_DIR
    folder.mkdir(mode=0o700, exist_ok=True)
    target = folder / backup_name(path, now or dt.datetime.now())
    partial = folder / f".{target.name}.partial"
    checkpoint("backup:start")
    shutil.copyfile(path, partial)
    shutil.copymode(path, partial)
    with partial.open("rb+") as fh:
        os.fsync(fh.fileno())
    checkpoint("backup:copied")
    os.replace(partial, target)
    _sync_dir(folder)
    checkpoint("backup:done")
    prune_backups(path, keep)
    return target


def backups_of(path: Path) -> list[Path]:
    """This workbook's backups, oldest first."""
    folder = path.parent / BACKUP_DIR
    if not folder.is_dir():
        return []
    pattern = re.compile(re.escape(path.stem) + r"-\d{8}-\d{6}-\d{6}" + re.escape(path.suffix)
                         + "$")
    return sorted(p for p in folder.iterdir() if pattern.match(p.name))


def prune_backups(path: Path, keep: int = KEEP_BACKUPS) -> None:
    for old in backups_of(path)[:-keep] if keep > 0 else []:
        with contextlib.suppress(OSError):
            old.unlink()
    folder = path.parent / BACKUP_DIR
    for partial in folder.glob(f".{path.stem}-*.partial"):
        with contextlib.suppress(OSError):  # left by a crash during an earlier backup
            partial.unlink()


def temp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.refdesk-{os.getpid()}.tmp")


def remove_stale_temps(path: Path) -> None:
    """Temporary files of writes that crashed: their process is gone."""
    pattern = re.compile(r"^\." + re.escape(path.name) + r"\.refdesk-(\d+)\.tmp$")
    for candidate in path.parent.iterdir():
        m = pattern.match(candidate.name)
        if not m:
            continue
        pid = int(m.group(1))
        alive = pid != os.getpid()
        if alive:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                alive = False
            except PermissionError:
                alive = True
        if not alive or pid == os.getpid():
            with contextlib.suppress(OSError):
                candidate.unlink()


def replace_atomically(path: Path, temp: Path, expected: Fingerprint) -> None:
    """Rename `temp` over `path` unless the original was saved or opened meanwhile."""
    refuse_if_open(path)
    refuse_if_changed(path, expected)
    checkpoint("replace:before")
    os.replace(temp, path)
    checkpoint("replace:done")
    _sync_dir(path.parent)
    checkpoint("replace:synced")
