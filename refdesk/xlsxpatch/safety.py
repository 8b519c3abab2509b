"""Writing the user's file without ever leaving it broken.

The order of a write: prove it can finish (`preflight`: not open in Excel or LibreOffice, the
file and its folder writable, room on the disk); take the workbook's lock; refuse when it
changed since it was read; copy it into `.refdesk-backups/` (through a temporary name, so a
backup is whole or absent); write the new workbook to a temporary file beside it and flush it
to disk; save the record of the write beside the backup (for `refdesk undo`); check once more
that nobody saved the original meanwhile, and rename the new file over it in one step.

A crash at any point leaves the original or the complete new file, never a mix. A failure
before the rename removes everything the write made (temporary file, backup, record) and says
"Nothing was written."; once the rename is done the new workbook is in place, and a failure to
flush the folder after it is no error.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import errno
import hashlib
import os
import re
import shutil
import stat
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from refdesk import fileio, lock
from refdesk.errors import SourceError, WorkbookBusyError, WriteError
from refdesk.fileio import BINARY, PRIVATE_FILE, PRIVATE_FOLDER, describe, os_fix
from refdesk.xlsxpatch import journal
from refdesk.xlsxpatch.package import check_workbook_file

BACKUP_DIR = ".refdesk-backups"
KEEP_BACKUPS = 20
MARGIN = 1 << 20  # room kept free beyond the backup and the new file
_STAMP = "%Y%m%d-%H%M%S"
_CHUNK = 1 << 20


def checkpoint(step: str) -> None:
    """Called between the steps of a write. Does nothing; the crash tests replace it."""


@dataclass(frozen=True)
class Fingerprint:
    """What the file was when refdesk read it."""

    size: int
    mtime_ns: int
    sha256: str

    def brief(self) -> dict[str, object]:
        return {"size": self.size, "sha256": self.sha256}


def fingerprint(path: Path) -> Fingerprint:
    with path.open("rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
        st = os.fstat(fh.fileno())
    return Fingerprint(st.st_size, st.st_mtime_ns, digest)


def stat_key(path: Path) -> tuple[int, int, int] | None:
    """Size, modification time and file id: cheap, and changed by any save."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ino


# -- messages ---------------------------------------------------------------------------------
def write_error(path: Path, what: str, exc: OSError) -> WriteError:
    return WriteError(f"{path}: {what} ({describe(exc)}); {os_fix(exc)} Nothing was written.")


def read_error(path: Path, exc: OSError) -> SourceError:
    if exc.errno in (errno.EACCES, errno.EPERM):
        fix = ("refdesk may not read it: check the file's and the folder's permissions, or copy "
               "the workbook to a folder you own.")
    elif exc.errno == errno.ENOENT:
        fix = "it was moved or deleted: check the path."
    else:
        fix = "check the disk, then run refdesk again."
    return SourceError(f"{path}: cannot be read ({describe(exc)}); {fix}")


# -- refusals ---------------------------------------------------------------------------------
def lock_files(path: Path) -> list[Path]:
    """Lock files Excel (`~$name.xlsx`, on Windows and macOS alike) and LibreOffice or
    OpenOffice (`.~lock.name.xlsx#`) keep beside a workbook open on this computer, or on
    another one sharing the folder over the network. Sync apps (OneDrive, Dropbox) do not copy
    these files between computers, so a workbook open on another computer is not seen: see
    `sync_conflicts` for what is left after the fact."""
    candidates = [path.with_name("~$" + path.name), path.with_name(f".~lock.{path.name}#")]
    return [c for c in candidates if _exists(c)]


def sync_conflicts(path: Path) -> list[Path]:
    """Copies of the workbook a sync app made beside it when two computers changed it at once:
    Dropbox, Nextcloud and ownCloud's `name (… conflicted copy …).xlsx`, OneDrive's
    `name-COMPUTER.xlsx` (the computer's name in capitals, as Windows gives it) and
    Syncthing's `name.sync-conflict-….xlsx`. Oldest first; none when the folder cannot be
    listed."""
    stem, suffix = re.escape(path.stem), re.escape(path.suffix)
    patterns = [
        re.compile(stem + r" \([^()]*conflicted copy[^()]*\)" + suffix + "$", re.IGNORECASE),
        re.compile(stem + r"-(?=[A-Z0-9-]*[A-Z])[A-Z0-9][A-Z0-9-]{2,14}" + suffix + "$"),
        re.compile(stem + r"\.sync-conflict-\d{8}-\d{6}(-[A-Z0-9]+)?" + suffix + "$",
                   re.IGNORECASE),
    ]
    try:
        found = [p for p in path.parent.iterdir()
                 if p != path and any(rx.match(p.name) for rx in patterns)]
    except OSError:
        return []
    return sorted(found, key=lambda p: (_mtime(p), p.name))


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def sync_note(path: Path) -> str:
    """A sentence for the user when a sync app left conflicted copies of the workbook beside
    it ("" when there are none): refdesk works on the workbook itself, never on the copies."""
    copies = sync_conflicts(path)
    if not copies:
        return ""
    names = ", ".join(p.name for p in copies[:3]) + (f" and {len(copies) - 3} more"
                                                       if len(copies) > 3 else "")
    return (f"Note: beside {path.name} are copies a sync app (OneDrive, Dropbox) seems to have "
            f"made when it was changed on two computers at once: {names}. refdesk reads and "
            f"writes only {path.name}: compare the copies with it, copy any rows you need into "
            "it, then move the copies away.")


def _exists(path: Path) -> bool:
    try:
        path.lstat()
    except OSError:  # also a name one character too long for the file system to hold
        return False
    return True


def refuse_if_open(path: Path) -> None:
    locks = lock_files(path)
    if locks:
        app = "Excel" if locks[0].name.startswith("~$") else "LibreOffice"
        raise WorkbookBusyError(
            f"{path.name} is open in {app}: close it there, then run refdesk again. Nothing "
            f"was written. (If {app} is not running, the lock file {locks[0].name} was left by "
            "a crash: delete it.)")


def refuse_if_changed(path: Path, expected: Fingerprint | None) -> Fingerprint:
    try:
        current = fingerprint(path)
    except FileNotFoundError:
        raise WorkbookBusyError(f"{path}: the workbook was moved or deleted while refdesk "
                                "worked on it. Nothing was written: put it back, then run the "
                                "command again.") from None
    except OSError as exc:
        raise read_error(path, exc) from None
    if expected is not None and current != expected:
        when = dt.datetime.fromtimestamp(current.mtime_ns / 1e9).strftime("%H:%M:%S")
        raise WorkbookBusyError(
            f"{path.name} changed since refdesk read it (saved at {when}), probably in Excel "
            "or by a sync app. Nothing was written: run the command again so refdesk works "
            "from what is in the file now." + (" " + note if (note := sync_note(path)) else ""))
    return current


def preflight(path: Path, *, room: int | None = None) -> None:
    """Prove, before anything is made, that a write into the workbook can finish: it is not
    open in Excel or LibreOffice, it and its folder can be written, the backup folder can be
    made and written, and the disk has `room` bytes free (by default twice the workbook's
    size and a margin: a backup and the new file). Raises WorkbookBusyError or WriteError."""
    path = Path(path)
    refuse_if_open(path)
    try:
        size = path.stat().st_size
        if not stat.S_ISREG(path.stat().st_mode):
            raise WriteError(f"{path}: is not a workbook file (a folder?). Nothing was written.")
        # Opened for appending and closed at once: nothing changes, not even the file's time.
        with path.open("ab"):
            pass
    except OSError as exc:
        raise write_error(path, "cannot be written", exc) from None
    if not os.access(path, os.W_OK):
        raise WriteError(f"{path}: the file is read-only; {os_fix(OSError(errno.EACCES, ''))} "
                         "Nothing was written.")
    _probe(path.parent, temp_path(path), path, "refdesk cannot make files beside the workbook")
    need = room if room is not None else 2 * size + MARGIN
    with contextlib.suppress(OSError):  # no figure to go by: the write reports a full disk
        free = shutil.disk_usage(path.parent).free
        if free < need:
            raise WriteError(f"{path}: the disk is too full for a backup and the new workbook "
                             f"(it needs {_mib(need)} free, {_mib(free)} is). Free some space, "
                             "then run refdesk again. Nothing was written.")
    folder = backup_folder(path)
    _probe(folder, folder / f".{path.stem}-probe-{os.getpid()}.partial", path,
           f"refdesk cannot make files in {folder}")


def _mib(n: int) -> str:
    return f"{n / (1 << 20):,.1f} MB"


def _probe(folder: Path, probe: Path, path: Path, what: str) -> None:
    """Make and remove a file in `folder`: the only sure test that files can be made there."""
    try:
        with contextlib.suppress(FileNotFoundError):
            probe.unlink()  # left by a crash of an earlier process with this id
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | BINARY, PRIVATE_FILE)
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):  # a writer holding the lock cleared it
            probe.unlink()
    except OSError as exc:
        with contextlib.suppress(OSError):
            probe.unlink()
        raise write_error(path, what, exc) from None


# -- the lock ---------------------------------------------------------------------------------
def lock_path(path: Path) -> Path:
    return Path(path).resolve().parent / BACKUP_DIR / f".{Path(path).name}.lock"


@contextlib.contextmanager
def workbook_lock(path: Path, command: str = "refdesk", wait: float = lock.WAIT,
                  on_wait: Callable[[lock.Holder | None], None] | None = None
                  ) -> Iterator[None]:
    """Hold the workbook's lock (a file in `.refdesk-backups/`) for the `with` block."""
    target = lock_path(path)
    if not lock.held(target):
        if not Path(path).is_file():
            check_workbook_file(Path(path))  # no such file, a folder: say that, not the lock
        backup_folder(Path(path).resolve())
    with lock.hold(target, what=Path(path).name, command=command, wait=wait, on_wait=on_wait):
        yield


# -- backups ----------------------------------------------------------------------------------
def _sync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a folder be opened
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def backup_folder(path: Path) -> Path:
    """`.refdesk-backups/` beside the workbook, made or tightened to the owner only (0700;
    on Windows, where modes mean nothing, as the system makes it)."""
    folder = path.parent / BACKUP_DIR
    try:
        folder.mkdir(mode=PRIVATE_FOLDER, exist_ok=True)
        if not folder.is_dir():
            raise WriteError(f"{folder}: is a file, not refdesk's backup folder; move it away, "
                             "then run refdesk again. Nothing was written.")
        if fileio.posix_modes() and stat.S_IMODE(folder.stat().st_mode) & 0o077:
            os.chmod(folder, PRIVATE_FOLDER)
    except FileExistsError:
        raise WriteError(f"{folder}: is a file, not refdesk's backup folder; move it away, "
                         "then run refdesk again. Nothing was written.") from None
    except OSError as exc:
        raise write_error(folder, "refdesk's backup folder cannot be made or used", exc) \
            from None
    return folder


def backup_name(path: Path, now: dt.datetime) -> str:
    return f"{path.stem}-{now.strftime(_STAMP)}-{now.microsecond:06d}{path.suffix}"


def make_backup(path: Path, now: dt.datetime | None = None) -> Path:
    """Copy the workbook into `.refdesk-backups/` beside it (0600, whatever the workbook's own
    mode); the copy is whole under its final name or absent. Raises OSError."""
    folder = backup_folder(path)
    target = folder / backup_name(path, now or dt.datetime.now())
    partial = folder / f".{target.name}.partial"
    checkpoint("backup:start")
    try:
        with path.open("rb") as src:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()  # a crash's: made anew so that it is 0600 whatever it was
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | BINARY, PRIVATE_FILE)
            with os.fdopen(fd, "wb") as dst:
                shutil.copyfileobj(src, dst, _CHUNK)
                dst.flush()
                os.fsync(dst.fileno())
        checkpoint("backup:copied")
        os.replace(partial, target)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
    _sync_dir(folder)
    checkpoint("backup:done")
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
    """Keep the newest `keep` backups (and their records); clear what crashes left."""
    for old in backups_of(path)[:-keep] if keep > 0 else []:
        for doomed in (old, journal.record_path(old)):
            with contextlib.suppress(OSError):
                doomed.unlink()
    clear_debris(path)


def clear_debris(path: Path) -> None:
    """Half-made backups and records left by a crash; called with the lock held, so no write
    of another process is under way."""
    folder = path.parent / BACKUP_DIR
    for pattern in (f".{path.stem}-*.partial", f".{path.stem}-*.json.*.tmp"):
        for debris in folder.glob(pattern):
            with contextlib.suppress(OSError):
                debris.unlink()


# -- the write --------------------------------------------------------------------------------
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
        if pid == os.getpid() or not process_alive(pid):
            with contextlib.suppress(OSError):
                candidate.unlink()


def process_alive(pid: int) -> bool:
    """Whether a process with this id runs (when in doubt, yes: its file is kept)."""
    if sys.platform == "win32":
        # Never os.kill there: signal 0 is CTRL_C_EVENT on Windows, which interrupts processes.
        return _windows_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it runs, as another user
        return True
    return True


def _windows_alive(pid: int) -> bool:  # pragma: no cover - exercised on Windows only
    import ctypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    query_limited, still_active, access_denied = 0x1000, 259, 5
    handle = kernel32.OpenProcess(query_limited, False, pid)
    if not handle:
        return ctypes.get_last_error() == access_denied  # it runs, as another user
    try:
        code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return code.value == still_active
    finally:
        kernel32.CloseHandle(handle)


@dataclass
class Written:
    backup: Path | None
    record: Path | None
    fingerprint: Fingerprint


def write_safely(path: Path, make: Callable[[Path], Fingerprint], current: Fingerprint, *,
                 backup: bool = True, keep: int = KEEP_BACKUPS, now: dt.datetime | None = None,
                 entry: journal.Entry | None = None) -> Written:
    """Put a new workbook at `path`: `make(temp)` writes it whole at `temp` and returns its
    fingerprint. `current` is the workbook as the new one was planned from; `entry` is the
    record to keep beside the backup (its backup, time and fingerprints are filled in here).

    Call with the workbook's lock held. Raises WriteError (or WorkbookBusyError) and leaves
    nothing behind when the write cannot finish."""
    now = now or dt.datetime.now()
    remove_stale_temps(path)
    clear_debris(path)
    temp = temp_path(path)
    made: list[Path] = []  # what to remove if the write fails before the rename
    step = "the backup copy cannot be made in " + BACKUP_DIR
    committed = False
    while (path.parent / BACKUP_DIR / backup_name(path, now)).exists():
        now += dt.timedelta(microseconds=1)  # never replace (or, failing, remove) a backup
    try:
        if backup:
            made.append(path.parent / BACKUP_DIR / backup_name(path, now))
        backup_file = make_backup(path, now) if backup else None
        step = "the new workbook cannot be written beside it"
        made.append(temp)
        new = make(temp)
        record = None
        if entry is not None and backup_file is not None:
            step = "the record of this write cannot be saved in " + BACKUP_DIR
            entry = dataclasses.replace(entry, backup=backup_file.name,
                                        time=now.isoformat(timespec="seconds"),
                                        before=current.brief(), after=new.brief())
            record = journal.write(entry, backup_file.parent)
            made.append(record)
            checkpoint("manifest:written")
        step = "cannot be replaced by the new workbook"
        refuse_if_open(path)
        refuse_if_changed(path, current)
        checkpoint("replace:before")
        os.replace(temp, path)
        committed = True
    except BaseException as exc:
        if not committed:
            for leftover in reversed(made):
                with contextlib.suppress(OSError):
                    leftover.unlink()
        if isinstance(exc, OSError) and not committed:
            raise write_error(path, step, exc) from None
        raise
    checkpoint("replace:done")
    _sync_dir(path.parent)
    checkpoint("replace:synced")
    prune_backups(path, keep)
    return Written(backup_file, record, new)


def copy_with_fingerprint(source: Path, temp: Path, mode: int) -> Fingerprint:
    """Copy `source` to a new file `temp` (flushed to disk), hashing it on the way."""
    digest = hashlib.sha256()
    with source.open("rb") as src:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | BINARY, mode)
        with os.fdopen(fd, "wb") as dst:
            while chunk := src.read(_CHUNK):
                digest.update(chunk)
                dst.write(chunk)
            dst.flush()
            os.fsync(dst.fileno())
            st = os.fstat(dst.fileno())
    return Fingerprint(st.st_size, st.st_mtime_ns, digest.hexdigest())
