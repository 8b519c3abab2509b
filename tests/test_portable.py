"""Portable: what differs between Linux, Windows, macOS and their file systems, simulated here.

Hard links that fail (FAT, exFAT, network shares) by replacing os.link; Windows, where file
modes mean nothing, through refdesk.fileio.posix_modes; a practice folder whose names hold
spaces, an ampersand and umlauts; config.toml as Windows Notepad saves it; the files Excel,
LibreOffice and sync apps leave beside a workbook.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from refdesk import fileio
from refdesk.config import load_config
from refdesk.errors import ConfigError, OutputError, WorkbookBusyError
from refdesk.fileio import private_folder, write_file
from refdesk.office import convert
from refdesk.sources.excel import ExcelSource
from refdesk.xlsxpatch import SetField, patch_workbook, safety
from refdesk.xlsxpatch.safety import BACKUP_DIR, backups_of
from tests.conftest import ROOT, copy_practice, run
from tests.helpers import TODAY

PRACTICE = "Praxis Müller & Söhne"
WORKBOOK = "Überweisungen 2026.xlsx"
#: What os.link raises where there are no hard links: FAT and exFAT on Linux (EPERM), SMB and
#: NFS shares (ENOTSUP, EOPNOTSUPP, ENOSYS), another device (EXDEV), Windows on FAT (EINVAL,
#: EACCES), a file system's link limit (EMLINK).
NO_LINKS = ["EPERM", "ENOTSUP", "EOPNOTSUPP", "EXDEV", "ENOSYS", "EINVAL", "EACCES", "EMLINK"]


def no_links(monkeypatch: pytest.MonkeyPatch, name: str) -> list[Path]:
    """os.link fails with errno `name`; returns the targets it was asked for."""
    asked: list[Path] = []
    code = getattr(errno, name)

    def link(src: object, dst: object, *args: object, **kwargs: object) -> None:
        asked.append(Path(str(dst)))
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "link", link)
    return asked


# -- os.link failing: an exclusive create takes over -------------------------------------------

@pytest.mark.parametrize("name", NO_LINKS)
def test_without_hard_links_a_new_file_is_still_made_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    asked = no_links(monkeypatch, name)
    target = tmp_path / "Brief an Frau Müller.docx"
    write_file(target, b"whole letter", replace=False)
    assert asked == [target]  # the link was tried, and failed
    assert target.read_bytes() == b"whole letter"
    assert [p.name for p in tmp_path.iterdir()] == [target.name]  # no temporary file left
    with pytest.raises(OutputError, match="already exists; refdesk never overwrites it"):
        write_file(target, b"another", replace=False)
    assert target.read_bytes() == b"whole letter"


@pytest.mark.parametrize("name", NO_LINKS)
def test_two_claimants_of_one_name_without_hard_links_give_one_winner(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """The first writer has checked that the name is free and is making its file when the
    second takes the name: the exclusive create, not the earlier check, decides."""
    no_links(monkeypatch, name)
    target = tmp_path / "Überweisung 1.pdf"
    outcomes: list[str] = []

    def first(temp: Path) -> None:
        temp.write_bytes(b"first")
        write_file(target, b"second", replace=False)  # the rival, meanwhile
        outcomes.append("second placed")

    with pytest.raises(OutputError, match="already exists"):
        write_file(target, first, replace=False)
    assert outcomes == ["second placed"]
    assert target.read_bytes() == b"second"
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_the_name_is_claimed_by_an_exclusive_create(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Where a rival makes the file in the instant between the failed link and the claim, the
    claim itself refuses: O_EXCL is what gives one winner."""
    no_links(monkeypatch, "EPERM")
    target = tmp_path / "a b.docx"
    real_open = os.open

    def rival_first(path: object, flags: int, *args: object) -> int:
        if Path(str(path)) == target and flags & os.O_EXCL:
            target.write_bytes(b"rival")
        return real_open(path, flags, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", rival_first)
    with pytest.raises(OutputError, match="already exists"):
        write_file(target, b"mine", replace=False)
    assert target.read_bytes() == b"rival"


def test_a_failed_rename_after_the_claim_leaves_nothing(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    no_links(monkeypatch, "ENOTSUP")

    def replace(src: object, dst: object) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "replace", replace)
    target = tmp_path / "letter.docx"
    with pytest.raises(OutputError, match="cannot be written .*Nothing was written there"):
        write_file(target, b"x", replace=False)
    assert list(tmp_path.iterdir()) == []  # neither the empty claim nor the temporary file


@pytest.mark.parametrize(("name", "fix"), [("ENOSPC", "the disk is full"),
                                           ("EROFS", "that disk is read-only")])
def test_a_full_or_read_only_disk_is_reported_not_worked_around(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, fix: str) -> None:
    no_links(monkeypatch, name)
    target = tmp_path / "letter.docx"
    with pytest.raises(OutputError, match=fix):
        write_file(target, b"x", replace=False)
    assert list(tmp_path.iterdir()) == []


def test_every_file_refdesk_creates_is_opened_binary() -> None:
    """On Windows os.open without O_BINARY is text mode: each byte 10 written becomes 13 10,
    which breaks a workbook or a backup. Every os.open that creates a file says BINARY."""
    missing = []
    for source in (ROOT / "refdesk").rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        for call in re.finditer(r"os\.open\(([^()]*(?:\([^()]*\)[^()]*)*)\)", text):
            if "O_CREAT" in call.group(1) and "BINARY" not in call.group(1):
                missing.append(f"{source.relative_to(ROOT)}: {call.group(0)}")
    assert missing == []


# -- Windows: file modes mean nothing there ---------------------------------------------------

@pytest.fixture
def windows_modes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Modes as on Windows: refdesk must not rely on them, so any chmod is recorded."""
    calls: list[tuple[str, int]] = []
    monkeypatch.setattr(fileio, "posix_modes", lambda: False)
    monkeypatch.setattr(os, "chmod", lambda path, mode, **kw: calls.append((str(path), mode)))
    return calls


def test_on_windows_no_mode_is_set_and_every_write_works(
        tmp_path: Path, windows_modes: list[tuple[str, int]]) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    folder = private_folder(shared / "letters" / "thank-you", root=shared)
    write_file(folder / "Brief.docx", b"private")
    write_file(folder / "public.txt", b"public", private=False)
    path = tmp_path / WORKBOOK
    shutil.copyfile(ROOT / "workbooks" / "referrals.xlsx", path)
    patch_workbook(path, [SetField("Clients", "client_id", "C001", "notes", "über")])
    assert windows_modes == []
    assert (folder / "Brief.docx").read_bytes() == b"private"
    assert len(backups_of(path)) == 1
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755  # left as it was, nothing claimed


def test_on_posix_modes_are_still_set(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        folder = private_folder(tmp_path / "letters")
        write_file(folder / "a.docx", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "a.docx").stat().st_mode) == 0o600


def test_on_windows_liveness_never_sends_a_signal(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """os.kill(pid, 0) is CTRL_C_EVENT on Windows: stale temporary files are found without it."""
    path = tmp_path / WORKBOOK
    path.write_bytes(b"")
    dead, alive = path.with_name(f".{path.name}.refdesk-999991.tmp"), \
        path.with_name(f".{path.name}.refdesk-999992.tmp")
    dead.write_bytes(b""), alive.write_bytes(b"")

    def kill(pid: int, sig: int) -> None:
        raise AssertionError("os.kill called on Windows")

    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(os, "kill", kill)
    monkeypatch.setattr(safety, "_windows_alive", lambda pid: pid == 999992)
    safety.remove_stale_temps(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, alive.name])


def test_on_windows_a_refused_write_mentions_a_sync_app(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "win32")
    assert "OneDrive or Dropbox" in fileio.os_fix(PermissionError(errno.EACCES, "denied"))
    monkeypatch.setattr(sys, "platform", "darwin")
    assert "OneDrive" not in fileio.os_fix(PermissionError(errno.EACCES, "denied"))


# -- spaces, an ampersand and umlauts in every name ------------------------------------------

@pytest.fixture
def praxis(tmp_path: Path) -> Path:
    """The sample practice in "Praxis Müller & Söhne", its workbook "Überweisungen 2026.xlsx"
    and its letters in "Briefe & Berichte"; returns its config.toml."""
    config = copy_practice(tmp_path / PRACTICE)
    (config.parent / "workbooks" / "referrals.xlsx").rename(config.parent / "workbooks" / WORKBOOK)
    text = config.read_text(encoding="utf-8")
    text = text.replace('excel = "workbooks/referrals.xlsx"', f'excel = "workbooks/{WORKBOOK}"')
    text = text.replace('output = "letters"', 'output = "Briefe & Berichte"')
    config.write_text(text, encoding="utf-8")
    return config


def test_read_and_check_in_a_folder_with_umlauts(praxis: Path) -> None:
    summary = run("summary", "--config", praxis)
    assert summary.exit_code == 0, summary.stderr
    assert "Referrals" in summary.stdout and WORKBOOK in summary.stderr
    check = run("check", "--config", praxis)
    assert check.exit_code in (0, 1), check.stderr  # 2 would be: it could not run
    assert "Traceback" not in check.stderr


def test_merge_writes_its_letters_backup_and_lock_there(praxis: Path) -> None:
    book = praxis.parent / "workbooks" / WORKBOOK
    before = book.read_bytes()
    result = run("--quiet", "merge", "intro-packet", "--config", praxis,
                 "--today", TODAY.isoformat())
    assert result.exit_code == 0, result.stderr
    letters = praxis.parent / "Briefe & Berichte" / "intro-packet"
    assert any(p.suffix == ".docx" for p in letters.rglob("*"))
    backups = backups_of(book)
    assert [b.read_bytes() for b in backups] == [before]  # the backup is the workbook before
    assert backups[0].name.startswith("Überweisungen 2026-")
    assert book.read_bytes() != before
    assert (book.parent / BACKUP_DIR / f".{WORKBOOK}.lock").exists()
    undone = run("--quiet", "undo", "--config", praxis, "--yes")
    assert undone.exit_code == 0, undone.stderr
    assert book.read_bytes() == before


def test_the_lock_refuses_a_second_process_on_that_workbook(praxis: Path) -> None:
    book = praxis.parent / "workbooks" / WORKBOOK
    script = ("import sys\nfrom refdesk.xlsxpatch import safety\n"
              "try:\n    with safety.workbook_lock(sys.argv[1], 'other', wait=0): print('took')\n"
              "except Exception as exc: print(type(exc).__name__)\n")
    with ExcelSource(book).locked("refdesk merge thank-you"):
        other = subprocess.run([sys.executable, "-c", script, str(book)], cwd=ROOT, check=True,
                               capture_output=True, text=True, encoding="utf-8",
                               env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert other.stdout.strip() == "WorkbookBusyError"


def test_a_pdf_is_made_from_a_letter_with_umlauts(praxis: Path, soffice: str) -> None:
    result = run("--quiet", "merge", "thank-you", "--config", praxis, "--pdf",
                 "--today", TODAY.isoformat())
    assert result.exit_code == 0, result.stderr
    pdfs = sorted((praxis.parent / "Briefe & Berichte").rglob("*.pdf"))
    assert pdfs and all(p.read_bytes().startswith(b"%PDF") for p in pdfs)
    letter = praxis.parent / "Brief für Frau Öztürk & Söhne.docx"
    shutil.copyfile(ROOT / "templates" / "thank-you.docx", letter)
    out = praxis.parent / "PDF – Ausgabe"
    [pdf] = convert([letter], "pdf", out)
    assert pdf == out / "Brief für Frau Öztürk & Söhne.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")


# -- the files other programs leave beside a workbook -----------------------------------------

@pytest.mark.parametrize(("lock_name", "app"), [(f"~${WORKBOOK}", "Excel"),
                                                (f".~lock.{WORKBOOK}#", "LibreOffice")])
def test_a_workbook_open_in_excel_or_libreoffice_is_refused(
        tmp_path: Path, lock_name: str, app: str) -> None:
    book = tmp_path / WORKBOOK
    shutil.copyfile(ROOT / "workbooks" / "referrals.xlsx", book)
    (tmp_path / lock_name).write_bytes(b"")
    with pytest.raises(WorkbookBusyError) as err:
        safety.preflight(book)
    assert err.value.message.startswith(f"{WORKBOOK} is open in {app}: close it there")
    assert lock_name in err.value.message


def test_conflicted_copies_of_a_synced_workbook_are_named(praxis: Path) -> None:
    folder = praxis.parent / "workbooks"
    book = folder / WORKBOOK
    copies = ["Überweisungen 2026 (Maya's conflicted copy 2026-12-03).xlsx",
              "Überweisungen 2026-DESKTOP-7QK2L3M.xlsx",
              "Überweisungen 2026.sync-conflict-20261203-101500-ABCDEFG.xlsx"]
    unrelated = ["Überweisungen 2026-2025.xlsx", "Überweisungen 2026 (1).xlsx",
                 "Überweisungen 2026-alt.xlsx", "Andere (conflicted copy 2026-12-03).xlsx"]
    for name in copies + unrelated:
        shutil.copyfile(book, folder / name)
    assert sorted(p.name for p in safety.sync_conflicts(book)) == sorted(copies)
    summary = run("summary", "--config", praxis)
    assert summary.exit_code == 0
    assert f"Note: beside {WORKBOOK} are copies a sync app" in summary.stderr
    assert copies[1] in summary.stderr
    # A write refused because the file changed names them too: that is when rows may differ.
    seen = safety.fingerprint(book)
    with book.open("ab") as fh:
        fh.write(b"\0")
    with pytest.raises(WorkbookBusyError, match="or by a sync app.*conflicted copy"):
        safety.refuse_if_changed(book, seen)


def test_no_note_without_conflicted_copies(praxis: Path) -> None:
    assert safety.sync_note(praxis.parent / "workbooks" / WORKBOOK) == ""
    assert "sync app" not in run("summary", "--config", praxis).stderr


# -- config.toml as Windows Notepad saves it --------------------------------------------------

def notepad(path: Path, text: str) -> None:
    """A byte-order mark and CRLF line endings."""
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))


def test_a_notepad_config_with_a_mistake_names_its_line(practice: Path) -> None:
    text = practice.read_text(encoding="utf-8")
    # A comment holding a line separator (pasted from a web page) does not shift the count.
    text = text.replace("[email]\n", "[email]\n# from the provider's page:\u2028port below\n", 1)
    text = re.sub(r"(?m)^port = .*$", "port = 0", text)
    line = text.split("\n").index("port = 0") + 1
    notepad(practice, text)
    with pytest.raises(ConfigError) as err:
        load_config(practice)
    assert err.value.message.startswith(f"config.toml line {line}: email.port is 0;")


def test_a_notepad_config_with_a_syntax_error_names_its_line(practice: Path) -> None:
    lines = practice.read_text(encoding="utf-8").split("\n")
    at = next(i for i, x in enumerate(lines) if x.startswith("name ="))
    lines[at] += ' "'
    notepad(practice, "\n".join(lines))
    with pytest.raises(ConfigError, match=rf"at line {at + 1}, column"):
        load_config(practice)


def test_a_notepad_config_in_a_folder_with_umlauts_reads_the_same(praxis: Path) -> None:
    plain = load_config(praxis)
    notepad(praxis, praxis.read_text(encoding="utf-8"))
    again = load_config(praxis)
    assert again.practice == plain.practice and again.excel == plain.excel
    assert again.excel.name == WORKBOOK


def test_old_mac_line_endings_are_named_with_the_fix(practice: Path) -> None:
    practice.write_bytes(practice.read_bytes().replace(b"\n", b"\r"))
    with pytest.raises(ConfigError, match="lone carriage return .* save it again"):
        load_config(practice)
