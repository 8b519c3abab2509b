"""A merge proves it can finish before it makes anything, never leaves documents unlogged
without saying so, names its files safely, dates its Letters rows on the day it works as, and
shares a workbook with a second refdesk process without duplicating a row.

Read-only files and folders are real: when the tests run as root (as CI does), root's power to
write anywhere (CAP_DAC_OVERRIDE) is dropped for the refdesk process with setpriv, so the
permission bits apply to it as to any user. A full disk is a small tmpfs where one can be
mounted (root), else a disk the size check sees as full.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from refdesk.config import load_config
from refdesk.errors import WriteError
from refdesk.merge.names import MAX_NAME_BYTES, safe_name, unique
from refdesk.merge.run import MergeError, merge
from refdesk.sources.excel import ExcelSource
from refdesk.xlsxpatch import SetField, patch_workbook
from tests.conftest import IN_CI, ROOT, run

TODAY = dt.date(2026, 11, 23)
ROOT_USER = os.geteuid() == 0
DROP_ROOT = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner",
             "--inh-caps=-all"]



def refdesk(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    """The command line in a process of its own, without root's powers over files."""
    prefix = DROP_ROOT if ROOT_USER and shutil.which("setpriv") else []
    return subprocess.run([*prefix, sys.executable, "-m", "refdesk", *map(str, args)],
                          cwd=cwd, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def _leftovers(folder: Path) -> list[Path]:
    return [p for p in _files(folder) if p.name.endswith((".tmp", ".partial"))
            or ".refdesk-probe" in p.name]


def _assert_refused(done: subprocess.CompletedProcess, code: int, words: str,
                    letters: Path, workbook: Path, before: bytes) -> None:
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert done.returncode == code, done.stderr
    assert len(errors) == 1 and words in errors[0], done.stderr
    assert "Traceback" not in done.stderr
    assert not [p for p in _files(letters) if p.suffix in (".docx", ".pdf")], \
        "no document is made when the run cannot finish"
    assert workbook.read_bytes() == before
    assert _leftovers(workbook.parent) == [] and _leftovers(letters) == []


# -- preflight: refused before the first document ------------------------------------------
def test_a_read_only_workbook_is_refused_before_anything_is_made(practice: Path) -> None:
    need_permissions()
    workbook = load_config(practice).excel
    before = workbook.read_bytes()
    workbook.chmod(0o444)
    done = refdesk("merge", "thank-you", "--today", "2026-11-23", cwd=practice.parent)
    workbook.chmod(0o644)
    _assert_refused(done, 2, str(workbook.name), practice.parent / "letters", workbook, before)
    assert "permission" in done.stderr.lower() or "read-only" in done.stderr.lower()


def test_a_read_only_folder_is_refused_before_anything_is_made(practice: Path) -> None:
    need_permissions()
    workbook = load_config(practice).excel
    before = workbook.read_bytes()
    workbook.parent.chmod(0o555)
    try:
        done = refdesk("merge", "thank-you", "--today", "2026-11-23", cwd=practice.parent)
    finally:
        workbook.parent.chmod(0o755)
    _assert_refused(done, 2, "workbooks", practice.parent / "letters", workbook, before)


def test_a_read_only_output_folder_is_refused_before_anything_is_made(practice: Path) -> None:
    need_permissions()
    workbook = load_config(practice).excel
    before = workbook.read_bytes()
    letters = practice.parent / "letters"
    letters.mkdir(mode=0o500)
    try:
        done = refdesk("merge", "thank-you", "--today", "2026-11-23", cwd=practice.parent)
    finally:
        letters.chmod(0o700)
    _assert_refused(done, 2, "letters", letters, workbook, before)
    assert "Nothing was made" in done.stderr


def test_an_open_workbook_is_refused_before_anything_is_made(practice: Path) -> None:
    workbook = load_config(practice).excel
    before = workbook.read_bytes()
    lock = workbook.with_name("~$" + workbook.name)
    lock.write_bytes(b"Maya")
    done = refdesk("merge", "thank-you", "--today", "2026-11-23", cwd=practice.parent)
    _assert_refused(done, 1, "open in Excel", practice.parent / "letters", workbook, before)


@contextlib.contextmanager
def _small_disk(folder: Path, size: str):
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
                              str(folder)], capture_output=True).returncode == 0
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_disk_is_refused_before_anything_is_made(practice: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    workbook = load_config(practice).excel
    size = workbook.stat().st_size
    with _small_disk(tmp_path / "disk", f"{size + 64 * 1024}") as mounted:
        if not mounted:  # no tmpfs without root: the size check sees a full disk
            real = shutil.disk_usage
            monkeypatch.setattr(shutil, "disk_usage",
                                lambda p: real(p)._replace(free=size // 2))
        small = tmp_path / "disk" / "workbooks"
        small.mkdir()
        shutil.copyfile(workbook, small / workbook.name)
        text = practice.read_text().replace('excel = "workbooks/referrals.xlsx"',
                                            f'excel = "{small / workbook.name}"')
        assert text != practice.read_text()
        practice.write_text(text)
        before = (small / workbook.name).read_bytes()
        if mounted:
            done = refdesk("merge", "thank-you", "--today", "2026-11-23",
                           cwd=practice.parent)
        else:
            result = run("merge", "thank-you", "--config", practice, "--today", "2026-11-23")
            done = subprocess.CompletedProcess([], result.exit_code, result.stdout,
                                               result.stderr)
        _assert_refused(done, 2, "disk", practice.parent / "letters", small / workbook.name,
                        before)
        assert "free some space" in done.stderr.lower()


def need_permissions() -> None:
    if ROOT_USER and not shutil.which("setpriv"):
        if IN_CI:
            pytest.fail("running as root without setpriv: permissions cannot be tested")
        pytest.skip("running as root without setpriv: permissions cannot be tested")


# -- the final write fails: the documents are taken back -----------------------------------
def test_documents_are_removed_when_the_log_cannot_be_written(practice: Path,
                                                              monkeypatch) -> None:
    config = load_config(practice)
    source = ExcelSource(config.excel)

    def refuse(*_a, **_k):
        raise WriteError("referrals.xlsx: the disk failed (test). Nothing was written.")

    monkeypatch.setattr(source, "write", refuse)
    with pytest.raises(MergeError) as raised:
        merge(config, "thank-you", source, today=TODAY, pdf=False, labels=True)
    message = raised.value.message
    assert "Nothing was written" in message
    assert "file(s) it made were removed, since they could not be logged" in message
    assert _files(config.output) == []


# -- Letters dates and file names -----------------------------------------------------------
def test_letters_rows_are_dated_on_the_day_the_run_works_as(practice: Path) -> None:
    done = run("merge", "thank-you", "--config", practice, "--today", "2026-11-23")
    assert done.exit_code == 0, done.stderr
    letters = ExcelSource(load_config(practice).excel).read().tables["Letters"].df
    new = letters[letters["job"] == "thank-you"].tail(3)
    assert {d.date() for d in new["when"]} == {TODAY}
    checked = run("check", "--config", practice, "--today", "2026-11-23", "--json")
    assert "Letters!B" not in "".join(
        line for line in checked.stdout.splitlines() if "future" in line)


@pytest.mark.parametrize("name", ["CON", "nul.txt", "a" * 32_767, "é" * 20_000, "  . .",
                                  "Smith / Jones: <Clinic>?", "trailing dots...",
                                  "com1", "x\x00y\x1fz"])
def test_file_names_are_bounded_and_safe(name: str, tmp_path: Path) -> None:
    made = safe_name(name, ".docx", "thank-you R001")
    assert made.endswith(".docx") and len(made.encode()) <= MAX_NAME_BYTES
    stem = made[:-5]
    assert stem == stem.strip(" .") and stem
    assert stem.split(".")[0].lower() not in {"con", "nul", "com1", "prn", "aux"}
    assert not set(stem) & set('\\/:*?"<>|') and all(ord(c) >= 32 for c in stem)
    taken: set[str] = set()
    first, second = unique(tmp_path, made, taken), unique(tmp_path, made.upper(), taken)
    assert first != second and len(second.name.encode()) <= MAX_NAME_BYTES
    first.write_bytes(b"x")  # the name works on this file system


def test_a_provider_name_as_long_as_a_cell_makes_a_letter(practice: Path) -> None:
    config = load_config(practice)
    text = practice.read_text().replace('set = { "Referrals.thank_you_sent" = "today" }',
                                        'set = { "Referrals.thank_you_sent" = "today" }\n'
                                        'file = "{date} {provider} {record}"', 1)
    assert text != practice.read_text()
    practice.write_text(text)
    source = ExcelSource(config.excel)
    data = source.read()
    pids = data.tables["Providers"].df["provider_id"].dropna().tolist()
    patch_workbook(config.excel, [SetField("Providers", "provider_id", pid, "name",
                                           "Dr " + "x" * 32_760) for pid in pids],
                   backup=False)
    done = run("merge", "thank-you", "--config", practice, "--today", "2026-11-23")
    assert done.exit_code == 0, done.stderr
    made = _files(config.output / "thank-you")
    assert len(made) == 3 and all(len(p.name.encode()) <= MAX_NAME_BYTES for p in made)


# -- two refdesk processes on one workbook ---------------------------------------------------
def test_two_merges_at_once_write_no_row_twice(practice: Path) -> None:
    command = [sys.executable, "-m", "refdesk", "merge", "thank-you", "--config", str(practice),
               "--today", "2026-11-23"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    runs = [subprocess.Popen(command, cwd=practice.parent, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    outcomes = [(p.wait(timeout=300), p.stderr.read() if p.stderr else "") for p in runs]
    assert any(code == 0 for code, _ in outcomes), outcomes
    for code, err in outcomes:
        assert code == 0 or (code == 1 and "refdesk" in err and "Traceback" not in err), err
    letters = ExcelSource(load_config(practice).excel).read().tables["Letters"].df
    new = letters[(letters["job"] == "thank-you") & (letters["when"] >= "2026-11-23")]
    assert len(new) == 3 and new["record"].is_unique
    assert letters["letter_id"].is_unique


@pytest.mark.parametrize("pattern", ["{date.__class__}", "{provider[0]}", "{provider!r}",
                                     "{date:>999}", "{nosuch}", "{"])
def test_a_file_pattern_reaches_no_python_object(practice: Path, pattern: str) -> None:
    text = practice.read_text().replace('set = { "Referrals.thank_you_sent" = "today" }',
                                        'set = { "Referrals.thank_you_sent" = "today" }\n'
                                        f'file = "{pattern}"', 1)
    practice.write_text(text)
    done = run("merge", "thank-you", "--config", practice, "--today", "2026-11-23")
    assert done.exit_code == 2 and "is not a pattern refdesk can fill" in done.stderr
    assert _files(load_config(practice).output) == []


def test_documents_no_letters_row_names_are_listed(practice: Path) -> None:
    """A run killed between saving its documents and logging them leaves files nobody was told
    about: the next run of the job lists them."""
    preview = run("merge", "thank-you", "--config", practice, "--today", "2026-11-23",
                  "--preview", "2")
    assert preview.exit_code == 0, preview.stderr
    done = run("merge", "thank-you", "--config", practice, "--today", "2026-11-23")
    assert done.exit_code == 0, done.stderr
    said = " ".join(done.stderr.split())
    assert "2 document(s) in " in said and "thank-you are in no Letters row" in said
    again = run("merge", "thank-you", "--config", practice, "--today", "2026-11-23")
    assert "2 document(s)" in " ".join(again.stderr.split()), "until they are deleted"
