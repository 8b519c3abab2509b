"""Every way the disk or the folder can refuse a write ends in one clear refusal: the refdesk
error the README lists (WriteError, exit 2; WorkbookBusyError, exit 1; SourceError when the
file cannot be read), naming the file and the fix, with the workbook untouched and nothing left
behind (no temporary file, no half-made backup, no new backup or record).

Root ignores file permissions, and tests may run as root (CI does): then the refdesk part runs
in a subprocess as the user nobody (`setpriv`), on folders made for it. The full disk is a
small tmpfs where one can be mounted (root), else the same error is raised where the disk
would raise it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from refdesk.errors import SourceError, WorkbookBusyError, WriteError
from refdesk.sources.excel import ExcelSource
from refdesk.xlsxpatch import AppendRows, SetField, patch_workbook, safety
from refdesk.xlsxpatch.safety import BACKUP_DIR
from tests.conftest import IN_CI, ROOT, run

SAMPLE = ROOT / "workbooks" / "referrals.xlsx"
CHANGES = [
    SetField("Referrals", "referral_id", "R005", "notes", "called back"),
    AppendRows("Letters", [{"letter_id": "L-9001", "job": "thank-you", "status": "sent"}]),
]
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
NOBODY = 65534

#: Tries each way in: preflight, patch_workbook, ExcelSource.read + write; prints the outcome
#: of each as {"way", "error", "message", "exit_code"}.
DRIVER = r"""
import json, sys
from pathlib import Path
from refdesk.errors import RefdeskError
from refdesk.sources.excel import ExcelSource
from refdesk.xlsxpatch import AppendRows, SetField, patch_workbook, safety
CHANGES = [
    SetField("Referrals", "referral_id", "R005", "notes", "called back"),
    AppendRows("Letters", [{"letter_id": "L-9001", "job": "thank-you", "status": "sent"}]),
]
path = Path(sys.argv[1])
ways = {
    "preflight": lambda: safety.preflight(path),
    "patch": lambda: patch_workbook(path, CHANGES, command="merge thank-you"),
    "source": lambda: (lambda s: (s.read(), s.check_writable(), s.write(CHANGES)))(
        ExcelSource(path)),
    "read": lambda: ExcelSource(path).read(),
}
out = []
for way in sys.argv[2].split(","):
    try:
        ways[way]()
        out.append({"way": way, "error": None})
    except RefdeskError as exc:
        out.append({"way": way, "error": type(exc).__name__, "message": exc.message,
                    "exit_code": exc.exit_code})
print(json.dumps(out))
"""


def _as_user() -> list[str]:
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"] \
        if IS_ROOT else []


def _drive(path: Path, ways: str) -> list[dict]:
    done = subprocess.run([*_as_user(), sys.executable, "-c", DRIVER, str(path), ways],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*_as_user(), sys.executable, "-m", "refdesk", *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))


@pytest.fixture
def folder() -> Iterator[Path]:
    """A folder the user refdesk runs as owns (nobody, when the tests run as root)."""
    if IS_ROOT and shutil.which("setpriv") is None:
        if IN_CI:
            pytest.fail("running as root without setpriv: permissions cannot be tested")
        pytest.skip("running as root without setpriv: permissions cannot be tested")
    top = Path(tempfile.mkdtemp(prefix="refdesk-errors-"))
    os.chmod(top, 0o755)
    work = top / "practice"
    work.mkdir()
    try:
        yield work
    finally:
        for p in [work, *work.rglob("*")]:
            with contextlib.suppress(OSError):
                os.chmod(p, 0o700 if p.is_dir() else 0o600)
        shutil.rmtree(top, ignore_errors=True)


def _workbook(folder: Path, *, written: bool = False) -> Path:
    """The sample workbook in `folder`; `written`: after one recorded refdesk write."""
    path = folder / "referrals.xlsx"
    shutil.copyfile(SAMPLE, path)
    if written:
        patch_workbook(path, [SetField("Referrals", "referral_id", "R007", "notes", "x")],
                       command="merge thank-you")
    if IS_ROOT:
        for p in [folder, *folder.rglob("*")]:
            os.chown(p, NOBODY, NOBODY)
    return path


def _tree(folder: Path) -> dict[str, bytes | None]:
    """Every file and folder under `folder`, with the bytes of each file."""
    return {str(p.relative_to(folder)): (None if p.is_dir() else p.read_bytes())
            for p in sorted(folder.rglob("*")) if not p.name.endswith(".lock")}


def _one_line(result: dict, error: str, *words: str) -> None:
    assert result["error"] == error, result
    message = result["message"]
    assert "\n" not in message and "Traceback" not in message
    assert message.endswith("Nothing was written.") or error == "SourceError", message
    for word in words:
        assert word in message, (word, message)


def test_a_read_only_workbook(folder: Path) -> None:
    path = _workbook(folder, written=True)
    os.chmod(path, 0o444)
    before = _tree(folder)
    for result in _drive(path, "preflight,patch,source"):
        _one_line(result, "WriteError", str(path), "Permission denied",
                  "check the file's and the folder's permissions")
        assert result["exit_code"] == 2
    assert _tree(folder) == before
    done = _cli("undo", "--yes", "--workbook", path)
    assert done.returncode == 2
    assert done.stderr.startswith(f"Error: {path}: cannot be written (Permission denied)")
    assert done.stderr.count("\n") == 1
    assert _tree(folder) == before


def test_a_read_only_folder(folder: Path) -> None:
    path = _workbook(folder)
    os.chmod(folder, 0o555)
    before = _tree(folder)
    for result in _drive(path, "preflight,patch,source"):
        _one_line(result, "WriteError", str(path), "cannot make files beside the workbook",
                  "Permission denied", "check the file's and the folder's permissions")
        assert result["exit_code"] == 2
    assert _tree(folder) == before
    assert not (folder / BACKUP_DIR).exists()


def test_a_read_only_backup_folder(folder: Path) -> None:
    path = _workbook(folder, written=True)
    os.chmod(folder / BACKUP_DIR, 0o500)
    before = _tree(folder)
    for result in _drive(path, "preflight,patch,source"):
        _one_line(result, "WriteError", str(path), f"cannot make files in {folder / BACKUP_DIR}",
                  "Permission denied")
    assert _tree(folder) == before


def test_an_unreadable_workbook(folder: Path) -> None:
    path = _workbook(folder)
    os.chmod(path, 0o000)
    [result] = _drive(path, "read")
    assert result["error"] == "SourceError" and result["exit_code"] == 2
    assert result["message"] == (f"{path}: cannot be read (Permission denied); refdesk may not "
                                 "read it: check the file's and the folder's permissions, or "
                                 "copy the workbook to a folder you own.")


@pytest.mark.parametrize("lock_name,app", [("~$referrals.xlsx", "Excel"),
                                           (".~lock.referrals.xlsx#", "LibreOffice")])
def test_a_workbook_open_in_excel_or_libreoffice(tmp_path: Path, lock_name: str,
                                                 app: str) -> None:
    path = tmp_path / "referrals.xlsx"
    shutil.copyfile(SAMPLE, path)
    source = ExcelSource(path)
    source.read()
    (tmp_path / lock_name).write_text("someone")
    before = _tree(tmp_path)
    for attempt in (lambda: safety.preflight(path), lambda: patch_workbook(path, CHANGES),
                    source.check_writable, lambda: source.write(CHANGES)):
        with pytest.raises(WorkbookBusyError) as err:
            attempt()
        assert err.value.exit_code == 1
        assert err.value.message.startswith(f"referrals.xlsx is open in {app}: close it there")
        assert "Nothing was written." in err.value.message
    assert _tree(tmp_path) == before  # not even the backup folder was made
    result = run("undo", "--yes", "--workbook", path)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: referrals.xlsx is open in {app}")


def test_a_name_too_long_for_the_file_system(tmp_path: Path) -> None:
    name = "r" * (255 - len(".xlsx")) + ".xlsx"  # the longest name; `.name.refdesk-N.tmp` is not
    path = tmp_path / name
    try:
        shutil.copyfile(SAMPLE, path)
    except OSError as exc:
        pytest.skip(f"this file system does not take 255-character names ({exc.strerror})")
    before = _tree(tmp_path)
    with pytest.raises(WriteError) as err:
        patch_workbook(path, CHANGES)
    assert "File name too long" in err.value.message
    assert "the name is too long for the file system: choose a shorter folder or name." in \
        err.value.message
    assert err.value.message.endswith("Nothing was written.")
    assert _tree(tmp_path) == before


def test_a_workbook_deleted_while_refdesk_writes(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "referrals.xlsx"
    shutil.copyfile(SAMPLE, path)

    def vanish(step: str) -> None:
        if step == "temp:synced":
            path.unlink()

    monkeypatch.setattr(safety, "checkpoint", vanish)
    with pytest.raises(WorkbookBusyError) as err:
        patch_workbook(path, CHANGES)
    assert "was moved or deleted while refdesk worked on it. Nothing was written" in \
        err.value.message
    assert sorted(p.name for p in tmp_path.iterdir()) == [BACKUP_DIR]
    assert sorted(p.name for p in (tmp_path / BACKUP_DIR).iterdir()) == [".referrals.xlsx.lock"]


# -- a full disk ------------------------------------------------------------------------------
@contextlib.contextmanager
def _small_disk(size: int) -> Iterator[Path | None]:
    """A tmpfs of `size` bytes, or None where none can be mounted (not root, no tmpfs)."""
    if not IS_ROOT or shutil.which("mount") is None:
        yield None
        return
    point = Path(tempfile.mkdtemp(prefix="refdesk-full-"))
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs",
                           str(point)], capture_output=True, text=True)
    if done.returncode != 0:
        point.rmdir()
        yield None
        return
    try:
        yield point
    finally:
        subprocess.run(["umount", str(point)], check=False)
        point.rmdir()


def test_a_disk_too_full_for_a_backup_and_the_new_file(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    size = SAMPLE.stat().st_size
    with _small_disk(size + size // 2) as disk:
        folder = disk if disk is not None else tmp_path
        path = folder / "referrals.xlsx"
        shutil.copyfile(SAMPLE, path)
        free = shutil.disk_usage(folder).free
        room = None if disk is not None else free + 1  # where no small disk can be made
        before = _tree(folder)
        with pytest.raises(WriteError) as err:
            safety.preflight(path, room=room)
        assert err.value.message.startswith(f"{path}: the disk is too full for a backup and "
                                            "the new workbook")
        assert "Free some space, then run refdesk again. Nothing was written." in \
            err.value.message
        assert _tree(folder) == before
        if disk is not None:  # through patch_workbook and the source, on the real small disk
            for attempt in (lambda: patch_workbook(path, CHANGES),
                            lambda: ExcelSource(path).write(CHANGES)):
                with pytest.raises(WriteError, match="the disk is too full"):
                    attempt()
            assert _tree(folder) == before

            # The disk fills up after the check (another program): the write itself fails.
            monkeypatch.setattr(safety, "preflight", lambda path, room=None: None)
            with pytest.raises(WriteError) as err:
                patch_workbook(path, CHANGES)
            assert "(No space left on device); the disk is full: free some space, then run " \
                "refdesk again. Nothing was written." in err.value.message
            assert {k: v for k, v in _tree(folder).items() if k != BACKUP_DIR} == before
            assert path.read_bytes() == SAMPLE.read_bytes()


@pytest.mark.parametrize("step", ["backup:start", "backup:copied", "backup:done",
                                  "part:xl/workbook.xml", "temp:synced", "manifest:written",
                                  "replace:before"])
@pytest.mark.parametrize("code,fix", [
    (errno.ENOSPC, "the disk is full: free some space"),
    (getattr(errno, "EDQUOT", errno.ENOSPC), "the disk is full: free some space"),
    (errno.EIO, "check the disk and the folder"),
])
def test_an_error_at_any_step_before_the_rename_leaves_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str, code: int, fix: str) -> None:
    """The disk refuses at each step (as a full disk, a quota or a failing disk would)."""
    path = tmp_path / "referrals.xlsx"
    shutil.copyfile(SAMPLE, path)
    patch_workbook(path, [SetField("Referrals", "referral_id", "R007", "notes", "x")])
    before = _tree(tmp_path)

    def fail(reached: str) -> None:
        if reached == step:
            raise OSError(code, os.strerror(code))

    monkeypatch.setattr(safety, "checkpoint", fail)
    with pytest.raises(WriteError) as err:
        ExcelSource(path).write(CHANGES, command="merge thank-you")
    assert err.value.message.startswith(f"{path}: ")
    assert f"({os.strerror(code)}); {fix}" in err.value.message
    assert err.value.message.endswith("Nothing was written.")
    assert _tree(tmp_path) == before  # no temp, no partial, no new backup or record


def test_the_backup_is_private_and_its_folder_tightened(tmp_path: Path) -> None:
    path = tmp_path / "referrals.xlsx"
    shutil.copyfile(SAMPLE, path)
    os.chmod(path, 0o644)
    (tmp_path / BACKUP_DIR).mkdir(mode=0o755)
    os.chmod(tmp_path / BACKUP_DIR, 0o755)
    result = patch_workbook(path, CHANGES)
    assert result.backup is not None and result.record is not None
    assert oct(result.backup.stat().st_mode & 0o777) == "0o600"
    assert oct(result.record.stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / BACKUP_DIR).stat().st_mode & 0o777) == "0o700"
    assert oct(path.stat().st_mode & 0o777) == "0o644"  # the workbook keeps its own mode


def test_a_save_during_the_read_is_read_again(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import refdesk.sources.excel

    path = tmp_path / "referrals.xlsx"
    shutil.copyfile(SAMPLE, path)
    real = refdesk.sources.excel.open_reader
    calls = []

    def saved_meanwhile(p: Path):
        calls.append(p)
        if len(calls) == 1:  # another program saves the file as refdesk opens it
            other = tmp_path / "other.xlsx"
            shutil.copyfile(SAMPLE, other)
            os.replace(other, path)
        return real(p)

    monkeypatch.setattr(refdesk.sources.excel, "open_reader", saved_meanwhile)
    source = ExcelSource(path)
    book = source.read()
    assert len(calls) == 2
    assert len(book.tables["Referrals"].df) == 250
    assert source.fingerprint == safety.fingerprint(path)


def test_a_file_saved_throughout_the_read_is_busy_not_damaged(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import refdesk.sources.excel

    path = tmp_path / "referrals.xlsx"
    shutil.copyfile(SAMPLE, path)
    calls = []

    def half_saved(p: Path):
        calls.append(p)
        other = tmp_path / "other.xlsx"
        shutil.copyfile(SAMPLE, other)
        os.replace(other, path)  # saved again while refdesk read half of it
        raise SourceError(f"{p}: the workbook is damaged and cannot be read (bad zip)")

    monkeypatch.setattr(refdesk.sources.excel, "open_reader", half_saved)
    with pytest.raises(WorkbookBusyError) as err:
        ExcelSource(path).read()
    assert len(calls) == refdesk.sources.excel.READ_TRIES
    assert err.value.message == (f"{path} changed while refdesk was reading it (is another "
                                 "program saving it?); run the command again.")
    assert err.value.exit_code == 1
