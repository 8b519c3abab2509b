"""Crashes during a write: the writing process is killed (SIGKILL, no clean-up) before and
after every step, and the workbook is always the original or the complete new one, with the
backup in place once anything changed; the next run then finishes the job."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from refdesk.xlsxpatch import AppendRows, SetField, patch_workbook, safety
from refdesk.xlsxpatch.safety import BACKUP_DIR
from tests.conftest import ROOT

SAMPLE = ROOT / "workbooks" / "referrals.xlsx"

#: The child: replaces the module's checkpoint hook, then writes. MODE "record" lists the steps
#: reached; MODE "kill" dies at STEP as a power cut would, without running any clean-up.
CHILD = r"""
import datetime as dt, json, os, signal, sys
from refdesk.xlsxpatch import AppendRows, SetField, patch_workbook, safety
mode, step, path, log = sys.argv[1:5]
def checkpoint(name):
    if mode == "record":
        with open(log, "a") as fh:
            fh.write(json.dumps(name) + "\n")
    elif name == step:
        os.kill(os.getpid(), signal.SIGKILL)
safety.checkpoint = checkpoint
patch_workbook(path, [
    SetField("Referrals", "referral_id", "R005", "thank_you_sent", dt.date(2026, 11, 23)),
    AppendRows("Letters", [{"letter_id": "L900", "job": "thank-you", "status": "produced"}]),
], now=dt.datetime(2026, 11, 23, 9, 0))
"""


def _child(mode: str, step: str, path: Path, log: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CHILD, mode, step, str(path), str(log)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        return {info.filename: zf.read(info) for info in zf.infolist()}


@pytest.fixture(scope="module")
def expected(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], dict[str, bytes]]:
    """The steps of an uninterrupted write, and the workbook it produces."""
    folder = tmp_path_factory.mktemp("whole")
    path = folder / "referrals.xlsx"
    shutil.copyfile(SAMPLE, path)
    log = folder / "steps.jsonl"
    done = _child("record", "", path, log)
    assert done.returncode == 0, done.stderr
    steps = [json.loads(line) for line in log.read_text().splitlines()]
    return steps, _parts(path)


def test_the_write_has_the_steps_the_crashes_hit(expected) -> None:
    steps, _ = expected
    assert steps[:2] == ["start", "planned"]
    assert {"backup:start", "backup:copied", "backup:done", "temp:synced", "replace:before",
            "replace:done", "replace:synced"} <= set(steps)
    assert sum(s.startswith("part:") for s in steps) >= 20  # after every zip entry


def test_a_kill_at_any_step_leaves_the_old_or_the_new_workbook(expected, tmp_path: Path
                                                               ) -> None:
    steps, new = expected
    original = SAMPLE.read_bytes()
    old = _parts(SAMPLE)
    assert old != new
    outcomes = {"old": 0, "new": 0}
    for i, step in enumerate(steps):
        folder = tmp_path / f"{i:02d}"
        folder.mkdir()
        path = folder / "referrals.xlsx"
        shutil.copyfile(SAMPLE, path)
        died = _child("kill", step, path, folder / "unused")
        assert died.returncode == -signal.SIGKILL, (step, died.stderr)

        parts = _parts(path)  # always a whole zip that opens
        assert parts in (old, new), step
        outcome = "old" if parts == old else "new"
        outcomes[outcome] += 1
        backups = [p for p in (folder / BACKUP_DIR).glob("*") if not p.name.startswith(".")] \
            if (folder / BACKUP_DIR).is_dir() else []
        for backup in backups:  # a backup under its final name is always whole
            assert backup.read_bytes() == original, step
        if outcome == "new":
            assert backups, f"{step}: the workbook changed without a backup"
        if steps.index(step) > steps.index("backup:done"):
            assert len(backups) == 1, step

        # The user runs the command again: it finishes, and leaves no debris behind.
        if outcome == "old":
            again = _child("record", "", path, folder / "again.jsonl")
            assert again.returncode == 0, (step, again.stderr)
            assert _parts(path) == new, step
        leftovers = [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]
        if outcome == "old":
            assert leftovers == [], step
            assert not list((folder / BACKUP_DIR).glob(".*.partial")), step
    assert outcomes["old"] > 0 and outcomes["new"] > 0, outcomes


def test_an_error_while_writing_leaves_the_original_and_no_temp_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "referrals.xlsx"
    shutil.copyfile(SAMPLE, path)
    original = path.read_bytes()

    def fail(step: str) -> None:
        if step == "part:xl/workbook.xml":
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(safety, "checkpoint", fail)
    with pytest.raises(OSError):
        patch_workbook(path, [SetField("Referrals", "referral_id", "R005", "thank_you_sent",
                                       dt.date(2026, 11, 23))])
    assert path.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == [BACKUP_DIR, "referrals.xlsx"]
    monkeypatch.undo()
    patch_workbook(path, [AppendRows("Letters", [{"letter_id": "L900", "job": "x",
                                                  "status": "produced"}])])
    assert path.read_bytes() != original
