"""One refdesk process at a time on a workbook. Other processes really hold the lock here
(subprocesses); nothing waits on the clock: a refusal is tested with wait=0, and a waiter is
released through a pipe once it says it is waiting."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from refdesk import lock
from refdesk.errors import WorkbookBusyError
from refdesk.sources.excel import ExcelSource
from refdesk.xlsxpatch import AppendRows, SetField, patch_workbook, safety
from refdesk.xlsxpatch.safety import BACKUP_DIR, backups_of
from tests.conftest import ROOT

SAMPLE = ROOT / "workbooks" / "referrals.xlsx"

#: Holds the workbook's lock until a line arrives on stdin; says "held" when it has it.
HOLDER = r"""
import sys
from refdesk.xlsxpatch import safety
with safety.workbook_lock(sys.argv[1], "refdesk merge thank-you"):
    print("held", flush=True)
    sys.stdin.readline()
print("released", flush=True)
sys.stdin.readline()
"""

#: Appends Letters rows one write at a time, after a line on stdin says go.
APPENDER = r"""
import sys
from refdesk.xlsxpatch import AppendRows, patch_workbook
path, tag, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
print("ready", flush=True)
sys.stdin.readline()
for i in range(count):
    row = {"letter_id": f"L-{tag}-{i:02d}", "job": "thank-you", "status": "sent"}
    patch_workbook(path, [AppendRows("Letters", [row])], command=f"append {tag}", wait=120)
print("done", flush=True)
"""


def _start(script: str, *args: object) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", script, *map(str, args)], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    path = tmp_path / "referrals.xlsx"
    shutil.copyfile(SAMPLE, path)
    return path


@pytest.fixture
def holder(workbook: Path):
    proc = _start(HOLDER, workbook)
    assert proc.stdout is not None and proc.stdin is not None
    assert proc.stdout.readline() == "held\n"
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def _release(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("\n")
    proc.stdin.flush()
    assert proc.stdout.readline() == "released\n"


def test_a_second_process_is_refused_naming_the_first(workbook: Path, holder) -> None:
    before = workbook.read_bytes()
    with pytest.raises(WorkbookBusyError) as err, \
            ExcelSource(workbook).locked("refdesk merge intro-packet", wait=0):
        pytest.fail("the lock was taken twice")
    message = err.value.message
    assert err.value.exit_code == 1
    assert message.startswith(f"referrals.xlsx is being written by another refdesk process "
                              f"(process {holder.pid}, `refdesk merge thank-you`, since ")
    assert message.endswith("). Let it finish, then run the command again. Nothing was "
                            "written.")

    change = [AppendRows("Letters", [{"letter_id": "L-X", "job": "thank-you"}])]
    with pytest.raises(WorkbookBusyError, match=f"process {holder.pid}"):
        patch_workbook(workbook, change, wait=0)
    assert workbook.read_bytes() == before
    assert backups_of(workbook) == []
    assert sorted(p.name for p in workbook.parent.iterdir()) == [BACKUP_DIR, workbook.name]


def test_a_waiting_process_goes_on_once_the_first_lets_go(workbook: Path, holder) -> None:
    waiting = threading.Event()
    seen: list[lock.Holder | None] = []
    got: list[bool] = []

    def second() -> None:
        def told(who: lock.Holder | None) -> None:
            seen.append(who)
            waiting.set()

        with safety.workbook_lock(workbook, "refdesk merge intro-packet", wait=600,
                                  on_wait=told):
            got.append(True)

    thread = threading.Thread(target=second)
    thread.start()
    assert waiting.wait(timeout=600), "the second never started waiting"
    assert not got  # it waits while the first holds the lock
    assert seen[0] is not None and seen[0].pid == holder.pid
    assert seen[0].command == "refdesk merge thank-you"
    _release(holder)
    thread.join(timeout=600)
    assert got == [True]


def test_a_killed_holder_leaves_no_stale_lock(workbook: Path, holder) -> None:
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with ExcelSource(workbook).locked("refdesk undo", wait=0):
        pass  # taken at once: the lock died with its process


def test_the_lock_is_reentrant_within_a_process(workbook: Path) -> None:
    source = ExcelSource(workbook)
    with source.locked("refdesk merge thank-you", wait=0):
        with source.locked("refdesk merge thank-you", wait=0):
            source.read()
            source.check_writable()
            result = source.write([SetField("Referrals", "referral_id", "R005", "notes", "x")],
                                  command="merge thank-you")
        assert result.written
        assert lock.held(safety.lock_path(workbook))
    assert not lock.held(safety.lock_path(workbook))
    lock_file = safety.lock_path(workbook)
    assert oct(lock_file.stat().st_mode & 0o777) == "0o600"
    assert lock_file.read_bytes() == b""  # the holder's note goes with the lock


def test_two_processes_appending_at_once_lose_and_repeat_no_row(workbook: Path) -> None:
    count = 6
    procs = [_start(APPENDER, workbook, tag, count) for tag in ("A", "B")]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    for proc in procs:  # both go at once
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0 and out == "done\n", err
    ids = list(ExcelSource(workbook).read().tables["Letters"].df["letter_id"])
    ours = [i for i in ids if i.startswith("L-A-") or i.startswith("L-B-")]
    assert sorted(ours) == sorted(f"L-{t}-{i:02d}" for t in "AB" for i in range(count))
    assert len(ours) == len(set(ours))
    assert len(backups_of(workbook)) == 2 * count


def test_no_wait_is_refused_at_once_while_another_thread_holds_it(tmp_path: Path) -> None:
    """wait=0 tries once, whether the holder is another process or another thread of this
    one (the desk's worker beside its pages)."""
    lock_file = tmp_path / ".book.lock"
    inside, done = threading.Event(), threading.Event()

    def holder() -> None:
        with lock.hold(lock_file, what="the book"):
            inside.set()
            done.wait(30)

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert inside.wait(30)
        with pytest.raises(WorkbookBusyError), lock.hold(lock_file, what="the book", wait=0):
            pass
    finally:
        done.set()
        thread.join(30)
    with lock.hold(lock_file, what="the book", wait=0):  # free again: taken at once
        assert lock.held(lock_file)
