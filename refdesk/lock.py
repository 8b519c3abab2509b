"""One refdesk process at a time on a workbook: an operating-system lock on a small file.

The lock is `flock` on POSIX and `msvcrt.locking` on Windows, so it dies with the process that
holds it (a crash or `kill -9` never leaves a stale lock). Neither needs hard links or file
modes, so the lock works on FAT and exFAT drives too; a network share that refuses locks is let
through (see `_acquire`), the fingerprint check before the final rename still guarding the
file. The file holds who has it (process id, command, since when) so that a second process can
say whom it waited for. Within one process the lock is re-entrant: a command holding it can
call code that takes it again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from refdesk.errors import WorkbookBusyError, WriteError
from refdesk.fileio import BINARY, PRIVATE_FILE, describe, os_fix

WAIT = 10.0  # seconds a second process waits for the first before refusing
_POLL = 0.05
_WINDOWS_OFFSET = 1 << 30  # Windows locks a byte range; this one lies past the holder's note


@dataclass(frozen=True)
class Holder:
    """Who holds a lock, as its lock file says."""

    pid: int
    command: str
    since: str

    def describe(self) -> str:
        try:
            when = dt.datetime.fromisoformat(self.since).strftime("%H:%M:%S")
        except ValueError:
            when = self.since
        return f"process {self.pid}, `{self.command}`, since {when}"


class _Held:
    def __init__(self) -> None:
        self.guard = threading.RLock()  # threads of one process take turns
        self.depth = 0
        self.fd = -1


_registry_guard = threading.Lock()
_registry: dict[str, _Held] = {}


def _entry(lock_file: Path) -> _Held:
    with _registry_guard:
        return _registry.setdefault(str(lock_file), _Held())


def held(lock_file: Path) -> bool:
    """Whether this process holds the lock now."""
    entry = _registry.get(str(lock_file.resolve()))
    return entry is not None and entry.depth > 0


def read_holder(lock_file: Path) -> Holder | None:
    try:
        with lock_file.open("rb") as fh:
            note = json.loads(fh.read(4096).decode("utf-8"))
        return Holder(int(note["pid"]), str(note["command"]), str(note["since"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # not written yet, or being rewritten


@contextlib.contextmanager
def hold(lock_file: Path, *, what: str, command: str = "refdesk", wait: float = WAIT,
         on_wait: Callable[[Holder | None], None] | None = None) -> Iterator[None]:
    """Hold the lock on `lock_file` (its folder must exist) for the `with` block.

    Waits up to `wait` seconds for another process to let go, calling `on_wait` once when it
    starts waiting; then raises WorkbookBusyError naming `what` and the holder."""
    lock_file = lock_file.resolve()
    entry = _entry(lock_file)
    # wait <= 0 means try once, for another thread of this process as for another process.
    taken = entry.guard.acquire(blocking=False) if wait <= 0 else entry.guard.acquire(
        timeout=wait)
    if not taken:
        raise _busy(what, None, wait)
    try:
        if entry.depth == 0:
            entry.fd = _acquire(lock_file, what, command, wait, on_wait)
        entry.depth += 1
        try:
            yield
        finally:
            entry.depth -= 1
            if entry.depth == 0:
                _release(entry.fd)
                entry.fd = -1
    finally:
        entry.guard.release()


def _acquire(lock_file: Path, what: str, command: str, wait: float,
             on_wait: Callable[[Holder | None], None] | None) -> int:
    try:
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | BINARY, PRIVATE_FILE)
    except OSError as exc:
        raise WriteError(f"{lock_file}: refdesk's lock file for {what} cannot be made "
                         f"({describe(exc)}); {os_fix(exc)} Nothing was written.") from None
    deadline = time.monotonic() + wait
    told = False
    try:
        while True:
            try:
                if _try_lock(fd):
                    break
            except OSError as exc:
                if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
                    # A network share without locks: go on; the fingerprint check before the
                    # final rename still refuses to overwrite a file saved meanwhile.
                    break
                raise WriteError(f"{lock_file}: refdesk cannot lock {what} "
                                 f"({describe(exc)}); {os_fix(exc)} Nothing was written.") \
                    from None
            if time.monotonic() >= deadline:
                raise _busy(what, read_holder(lock_file), wait)
            if not told and on_wait is not None:
                on_wait(read_holder(lock_file))
                told = True
            time.sleep(_POLL)
        note = {"pid": os.getpid(), "command": command,
                "since": dt.datetime.now().isoformat(timespec="seconds")}
        with contextlib.suppress(OSError):  # the note only improves a waiter's message
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, json.dumps(note).encode("utf-8"))
    except BaseException:
        os.close(fd)
        raise
    return fd


def _release(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
    with contextlib.suppress(OSError):
        _unlock(fd)
    os.close(fd)


def _busy(what: str, holder: Holder | None, wait: float) -> WorkbookBusyError:
    who = f"another refdesk process ({holder.describe()})" if holder else \
        "another refdesk process"
    waited = f"; refdesk waited {wait:g} s" if wait > 0 else ""
    return WorkbookBusyError(f"{what} is being written by {who}{waited}. Let it finish, then "
                             "run the command again. Nothing was written.")


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, _WINDOWS_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EDEADLK):
                return False
            raise
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, _WINDOWS_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
