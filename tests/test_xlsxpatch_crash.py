"""Crashes during a write. The writing process is killed with SIGKILL (no clean-up, no
`finally`, unflushed buffers lost, as in a power cut or `kill -9`) at every step of a write,
and the workbook is always either the original bytes or the complete new workbook, with a
whole backup in place once anything changed; the next run then finishes the job and clears
the debris (stale temporary files, half-made backups).

The steps are the names passed to `refdesk.xlsxpatch.safety.checkpoint`, which the writer
calls between steps; the crashing process replaces that module attribute, which also reaches
the bare `checkpoint(...)` calls inside safety.py (they resolve through the module's globals).

Speed: importing refdesk.sources.excel (pandas) takes most of a second, so one driver process (a
fresh `python -c`) imports once and forks a writer per kill point; each writer kills itself
with SIGKILL at its step and the driver reports how each one ended.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from refdesk.xlsxpatch import AppendRows, SetField, patch_workbook, safety
from refdesk.xlsxpatch.safety import BACKUP_DIR, backups_of
from tests.conftest import ROOT

SAMPLE = ROOT / "workbooks" / "referrals.xlsx"
NAME = SAMPLE.name
CHANGES = [
    SetField("Referrals", "referral_id", "R005", "thank_you_sent", dt.date(2026, 11, 23)),
    AppendRows("Letters", [{"letter_id": "L-9999", "job": "thank-you", "status": "sent"}]),
]
NOW = dt.datetime(2026, 11, 23, 9, 0)
COMMIT_STEPS = {"replace:done", "replace:synced"}  # the rename over the original has happened

#: Runs the jobs in argv[1] (a JSON list of {"path", "kill", "log"}), each in a forked writer:
#: "kill" is the step at which the writer SIGKILLs itself, or null; "log", when set, is a file
#: the writer appends every step it reaches to. Prints [{"pid", "status"}] per job, where
#: status is the writer's return code as subprocess reports it (-9: killed by SIGKILL).
DRIVER = r"""
import datetime as dt, json, os, signal, sys, traceback
import refdesk.sources.excel  # noqa: F401  (patch_workbook imports it; import once, before forking)
from refdesk.xlsxpatch import AppendRows, SetField, patch_workbook, safety

CHANGES = [
    SetField("Referrals", "referral_id", "R005", "thank_you_sent", dt.date(2026, 11, 23)),
    AppendRows("Letters", [{"letter_id": "L-9999", "job": "thank-you", "status": "sent"}]),
]
NOW = dt.datetime(2026, 11, 23, 9, 0)

def writer(job):
    def checkpoint(step):
        if job["log"]:
            with open(job["log"], "a") as fh:
                fh.write(json.dumps(step) + "\n")
        if step == job["kill"]:
            os.kill(os.getpid(), signal.SIGKILL)
    safety.checkpoint = checkpoint
    patch_workbook(job["path"], CHANGES, now=NOW)

results = []
for job in json.loads(open(sys.argv[1]).read()):
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            writer(job)
        except BaseException:
            traceback.print_exc()
            code = 3
        sys.stderr.flush()
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    results.append({"pid": pid, "status": os.waitstatus_to_exitcode(status)})
print(json.dumps(results))
"""


def _drive(jobs: list[dict[str, str | None]], scratch: Path) -> tuple[list[dict[str, int]], str]:
    """How each job ended, and the writers' stderr (a writer that raised prints there)."""
    spec = scratch / "jobs.json"
    spec.write_text(json.dumps(jobs))
    done = subprocess.run([sys.executable, "-c", DRIVER, str(spec)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert len(results) == len(jobs)
    return results, done.stderr


def _parts(path: Path) -> dict[str, bytes]:
    """Every entry of the zip, decompressed (CRCs checked), in the zip's order."""
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        return {info.filename: zf.read(info) for info in zf.infolist()}


def _same(a: dict[str, bytes], b: dict[str, bytes]) -> bool:
    return list(a) == list(b) and a == b


def _backups(folder: Path) -> list[Path]:
    """Backups under a final name (temporary names start with a dot; records end in .json)."""
    return backups_of(folder / NAME)


def _records(folder: Path) -> list[dict]:
    """The records of writes kept beside the backups, oldest first."""
    backups = folder / BACKUP_DIR
    return [json.loads(p.read_text()) for p in sorted(backups.glob("[!.]*.json"))] \
        if backups.is_dir() else []


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _partials(folder: Path) -> list[str]:
    backups = folder / BACKUP_DIR
    return sorted(p.name for p in backups.glob(".*.partial")) if backups.is_dir() else []


def _temps(folder: Path) -> list[str]:
    pattern = re.compile(r"^\." + re.escape(NAME) + r"\.refdesk-\d+\.tmp$")
    return sorted(p.name for p in folder.iterdir() if pattern.match(p.name))


@pytest.fixture(scope="module")
def expected(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], dict[str, bytes]]:
    """The steps an uninterrupted write goes through, and the workbook it produces."""
    folder = tmp_path_factory.mktemp("whole")
    path = folder / NAME
    shutil.copyfile(SAMPLE, path)
    log = folder / "steps.jsonl"
    [result], stderr = _drive([{"path": str(path), "kill": None, "log": str(log)}], folder)
    assert result["status"] == 0, stderr
    steps = [json.loads(line) for line in log.read_text().splitlines()]
    new = _parts(path)
    assert not _same(new, _parts(SAMPLE))
    return steps, new


def test_the_recorded_steps_cover_the_whole_write(expected) -> None:
    steps, new = expected
    assert len(steps) == len(set(steps)), "a step name is reached twice"
    part_steps = [s for s in steps if s.startswith("part:")]
    assert part_steps == [f"part:{name}" for name in new]  # one after every zip entry
    assert list(new) == list(_parts(SAMPLE))  # the same entries, in the same order
    # safety.py's bare checkpoint() calls go through the replaced module attribute too.
    assert [s for s in steps if not s.startswith("part:")] == [
        "start", "planned", "lock:held", "backup:start", "backup:copied", "backup:done",
        "temp:synced", "manifest:written", "replace:before", "replace:done", "replace:synced"]
    assert steps.index("backup:done") < steps.index(part_steps[0])
    assert steps.index(part_steps[-1]) < steps.index("temp:synced")


def test_a_kill_at_any_step_leaves_the_old_or_the_new_workbook(expected, tmp_path: Path
                                                               ) -> None:
    steps, new = expected
    original = SAMPLE.read_bytes()
    old = _parts(SAMPLE)
    jobs = []
    for i, step in enumerate(steps):
        folder = tmp_path / f"{i:02d}"
        folder.mkdir()
        shutil.copyfile(SAMPLE, folder / NAME)
        jobs.append({"path": str(folder / NAME), "kill": step, "log": None})
    results, stderr = _drive(jobs, tmp_path)

    for i, (step, job, result) in enumerate(zip(steps, jobs, results, strict=True)):
        path = Path(str(job["path"]))
        folder = path.parent
        # It reached the step and died there (0 would mean the step never came).
        assert result["status"] == -signal.SIGKILL, (step, stderr)

        assert path.is_file(), f"{step}: the workbook is gone"
        try:
            parts = _parts(path)  # always a whole zip, every CRC right
        except (zipfile.BadZipFile, EOFError, OSError) as exc:
            pytest.fail(f"{step}: the workbook is not a whole zip ({exc!r})")
        if step in COMMIT_STEPS:
            assert _same(parts, new), f"{step}: not the complete new workbook"
        else:
            assert path.read_bytes() == original, f"{step}: the original was touched"

        # A backup under its final name is always whole, and one exists once the workbook
        # differs from the original (from backup:done on, before any temp file is written).
        backups = _backups(folder)
        for backup in backups:
            assert backup.read_bytes() == original, f"{step}: {backup.name} is not whole"
        assert len(backups) == (1 if i > steps.index("backup:copied") else 0), step
        if not _same(parts, old):
            assert backups, f"{step}: the workbook changed without a backup"
        # The record of the write: from the step that saved it on, naming the backup and
        # the workbook as it is once the rename is done.
        records = _records(folder)
        assert len(records) == (1 if i >= steps.index("manifest:written") else 0), step
        for record in records:
            assert record["backup"] == backups[0].name, step
            assert record["before"]["sha256"] == hashlib.sha256(original).hexdigest(), step
            assert record["appended"] == {"Letters": [19, 19]}, step
            if step in COMMIT_STEPS:
                assert record["after"]["sha256"] == _sha(path), step
        if step == "backup:copied":  # copied and synced, not yet renamed
            assert len(_partials(folder)) == 1, step
        else:
            assert _partials(folder) == [], step

        # The temporary file: there from the first part to the rename, named for the writer.
        temps = _temps(folder)
        writing = steps.index("part:" + next(iter(new))) <= i < steps.index("replace:done")
        assert temps == ([f".{NAME}.refdesk-{result['pid']}.tmp"] if writing else []), step

        if step in COMMIT_STEPS:
            continue  # the job is done; running it again would append a second row
        # The user runs the command again: it finishes and clears what the crash left.
        patch_workbook(path, CHANGES, now=NOW + dt.timedelta(minutes=5))
        assert _same(_parts(path), new), step
        assert _temps(folder) == [], f"{step}: a stale temp file was left"
        assert _partials(folder) == [], f"{step}: a half-made backup was left"
        backups = _backups(folder)
        assert backups and all(b.read_bytes() == original for b in backups), step
        assert _records(folder)[-1]["after"]["sha256"] == _sha(path), step


def test_an_error_while_writing_leaves_the_original_and_no_temp_file(
        expected, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, new = expected
    path = tmp_path / NAME
    shutil.copyfile(SAMPLE, path)
    original = path.read_bytes()
    reached = []

    def fail(step: str) -> None:
        reached.append(step)
        if step == "part:xl/workbook.xml":
            raise RuntimeError("disk went away")

    monkeypatch.setattr(safety, "checkpoint", fail)
    with pytest.raises(RuntimeError, match="disk went away"):
        patch_workbook(path, CHANGES, now=NOW)
    assert reached[-1] == "part:xl/workbook.xml"
    assert "part:xl/worksheets/sheet1.xml" in reached  # the temp file was being written
    assert path.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == [BACKUP_DIR, NAME]  # no temp file
    assert _backups(tmp_path) == [] and _records(tmp_path) == []  # the original is whole
    assert _partials(tmp_path) == []

    monkeypatch.undo()
    patch_workbook(path, CHANGES, now=NOW + dt.timedelta(minutes=5))
    assert _same(_parts(path), new)
    assert sorted(p.name for p in tmp_path.iterdir()) == [BACKUP_DIR, NAME]
