"""Writing a whole file, or nothing: the one way refdesk puts a file it made on disk.

The file is made under a temporary name in the target's own folder (so the final rename stays on
one file system and is atomic), flushed to disk, given its mode, then renamed into place. A
failure at any step removes the temporary file and leaves what was there before. Files that hold
client information are private (0600) in private folders (0700) where the system has such modes
(POSIX: Linux, macOS); on Windows a mode only sets or clears "read-only", so refdesk leaves modes
alone there and the files are as private as the user's folder is.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from refdesk.errors import OutputError

PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700
#: Added to every os.open of a file refdesk writes: on Windows a file opened without it is in
#: text mode, where each byte 10 written becomes 13 10 (a broken workbook). 0 elsewhere.
BINARY = getattr(os, "O_BINARY", 0)
#: os.link errors that mean "no hard links here" (FAT, exFAT, many network shares, some sync
#: folders), not "you may not write here": an exclusive create takes over.
NO_LINKS = frozenset(getattr(errno, name) for name in (
    "EPERM", "ENOTSUP", "EOPNOTSUPP", "EXDEV", "ENOSYS", "EMLINK", "EINVAL", "EACCES")
    if hasattr(errno, name))


def posix_modes() -> bool:
    """Whether file modes (0600, 0700) mean who may read a file here. On Windows they do not:
    chmod only sets or clears "read-only". Tests replace this to play Windows."""
    return os.name == "posix"


def os_fix(exc: OSError) -> str:
    """What the user can do about an operating-system error, in a sentence."""
    code = exc.errno
    if code in (errno.EACCES, errno.EPERM):
        busy = (" On Windows another program may have the file open (a sync app such as "
                "OneDrive or Dropbox while it uploads, or a virus scanner): wait a moment and "
                "run refdesk again." if sys.platform == "win32" else "")
        return ("you may not write there: check the file's and the folder's permissions (and "
                f"that the file is not read-only), or choose another folder.{busy}")
    if code == errno.EROFS:
        return "that disk is read-only: choose a folder on a disk you can write to."
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return "the disk is full: free some space, then run refdesk again."
    if code == errno.ENAMETOOLONG:
        return "the name is too long for the file system: choose a shorter folder or name."
    if code == errno.ENOENT:
        return "the folder does not exist (was it moved?): create it or choose another."
    if code == errno.ENOTDIR:
        return "a part of that path is a file, not a folder: choose another folder."
    if code == errno.EISDIR:
        return "that is a folder: give a file name."
    return "check the disk and the folder, then run refdesk again."


def describe(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def private_folder(folder: Path, root: Path | None = None) -> Path:
    """Make `folder` (and its parents) if needed, and make it the owner's only (0700), also
    when it already existed with a wider mode. The parents it makes are 0700 too, and so is
    every folder from `root` (the output folder the user chose) down to `folder`. Where modes
    mean nothing (Windows) the folder is made and left as the system makes it."""
    folder = Path(folder)
    made = []  # mkdir gives the parents it makes the umask's mode (0755), not `mode`
    with contextlib.suppress(OSError):
        for above in (folder, *folder.parents):
            if above.exists():
                break
            made.append(above)
    if root is not None:
        made += [p for p in (folder, *folder.parents) if p == root or Path(root) in p.parents]
    try:
        folder.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"{folder}: is a file, not a folder. Choose a folder for the "
                          "output.") from None
    except OSError as exc:
        raise OutputError(f"{folder}: cannot create the folder ({describe(exc)}); "
                          f"{os_fix(exc)}") from None
    if not folder.is_dir():
        raise OutputError(f"{folder}: is a file, not a folder. Choose a folder for the output.")
    for each in (folder, *made) if posix_modes() else ():
        with contextlib.suppress(OSError):  # a folder the user does not own keeps its mode
            if stat.S_IMODE(each.stat().st_mode) & 0o077:
                os.chmod(each, PRIVATE_FOLDER)
    return folder


def write_file(path: Path, content: bytes | Callable[[Path], None], *, private: bool = True,
               replace: bool = True, sync: bool = True) -> Path:
    """Put a whole file at `path`: `content` is its bytes, or a function that writes the file
    at the temporary path it is given (openpyxl, xlsxwriter and matplotlib write to paths).

    `private` makes it 0600 (else 0644 less the umask) where modes apply (not on Windows);
    `replace=False` refuses to replace a file that exists, even one that appears while the file
    is being made (see `_place_new`). Raises OutputError
    naming the file and the fix; nothing is left behind on failure.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"{path}: the folder {folder} does not exist. Create it first, or "
                          "choose another.")
    if path.is_dir():
        raise OutputError(f"{path}: is a folder. Give a file name.")
    if not replace and path.exists():
        raise OutputError(f"{path}: already exists; refdesk never overwrites it. Choose another "
                          "name or move the old file away first.")
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name[:60]}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise OutputError(f"{path}: cannot be written ({describe(exc)}); {os_fix(exc)}") from None
    temp = Path(name)
    try:
        if isinstance(content, bytes | bytearray | memoryview):
            with os.fdopen(fd, "wb") as fh:
                fd = -1
                fh.write(content)
                if sync:
                    fh.flush()
                    os.fsync(fh.fileno())
        else:
            os.close(fd)
            fd = -1
            content(temp)
            if sync:
                with temp.open("rb+") as fh:
                    os.fsync(fh.fileno())
        if posix_modes():  # mkstemp made it 0600 already; a public file is widened here
            os.chmod(temp, PRIVATE_FILE if private else 0o644 & ~_umask())
        if replace:
            os.replace(temp, path)
        else:
            _place_new(temp, path)
    except OSError as exc:
        raise OutputError(f"{path}: cannot be written ({describe(exc)}); {os_fix(exc)} Nothing "
                          "was written there.") from None
    finally:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(OSError):
            temp.unlink()
    return path


def _place_new(temp: Path, path: Path) -> None:
    """Put the finished file at `path` in one step, failing if something is there, even
    something that appeared since the check: of two writers racing for one name, one wins.

    A hard link does it in one call. Where there are none (FAT and exFAT drives, many network
    shares; os.link raises EPERM, ENOTSUP, EXDEV, ENOSYS or EINVAL there), the name is claimed
    by an exclusive create (O_CREAT | O_EXCL: the system makes the file only if no file has the
    name, in one step, so a second claimant gets FileExistsError just as with a link), then
    the finished file is renamed over the empty file this writer made. Readers see no file, an
    empty file for that instant, or the whole file, never half of one; a crash between the two
    steps leaves an empty file, which never replaces anything."""
    try:
        os.link(temp, path)
        return
    except FileExistsError:
        raise _exists(path) from None
    except OSError as exc:
        if exc.errno not in NO_LINKS:
            raise
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | BINARY, PRIVATE_FILE)
    except FileExistsError:
        raise _exists(path) from None
    claim = os.fstat(fd)
    os.close(fd)
    try:
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):  # only the empty file this writer made
            now = path.stat()
            if (now.st_ino, now.st_size) == (claim.st_ino, 0):
                path.unlink()
        raise


def _exists(path: Path) -> OutputError:
    return OutputError(f"{path}: already exists; refdesk never overwrites it. Choose another "
                       "name or move the old file away first.")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
