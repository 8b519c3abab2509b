"""`refdesk undo`, through the command line: it shows the last write, restores the backup taken
before it while the workbook is still what refdesk wrote, refuses otherwise, and a second undo
redoes."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

import refdesk.cli
from refdesk.errors import WorkbookBusyError
from refdesk.schema import SHEETS_BY_NAME
from refdesk.sources.excel import ExcelSource
from refdesk.xlsxpatch import AppendRows, SetField, journal, patch_workbook
from refdesk.xlsxpatch.safety import BACKUP_DIR, backups_of
from tests.conftest import ROOT, copy_practice, run

SAMPLE = ROOT / "workbooks" / "referrals.xlsx"
WHEN = dt.datetime(2026, 12, 3, 15, 2, 11)
LETTERS = [{"letter_id": f"L-90{i}", "job": "thank-you", "status": "sent"} for i in range(3)]
CHANGES = [
    SetField("Referrals", "referral_id", "R005", "thank_you_sent", dt.date(2026, 12, 3)),
    SetField("Referrals", "referral_id", "R007", "thank_you_sent", dt.date(2026, 12, 3)),
    AppendRows("Letters", LETTERS),
]

#: The column thank-you writes (its letter follows the schema's order).
THANKED = chr(65 + SHEETS_BY_NAME["Referrals"].column_names.index("thank_you_sent"))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def written(tmp_path: Path) -> tuple[Path, bytes, bytes]:
    """A copy of the sample workbook after one `merge thank-you`: (path, before, after)."""
    path = tmp_path / "referrals.xlsx"
    shutil.copyfile(SAMPLE, path)
    before = path.read_bytes()
    result = patch_workbook(path, CHANGES, now=WHEN, command="merge thank-you")
    assert result.record is not None and result.backup is not None
    return path, before, path.read_bytes()


def test_the_record_says_what_the_write_changed(written) -> None:
    path, before, after = written
    [backup] = backups_of(path)
    record = json.loads(journal.record_path(backup).read_text())
    assert record["command"] == "merge thank-you" and record["time"] == "2026-12-03T15:02:11"
    assert record["backup"] == backup.name
    assert record["before"] == {"size": len(before),
                                "sha256": hashlib.sha256(before).hexdigest()}
    assert record["after"] == {"size": len(after), "sha256": hashlib.sha256(after).hexdigest()}
    assert record["appended"] == {"Letters": [19, 21]}
    cells = {c["cell"]: (c["old"], c["new"]) for c in record["cells"]}
    assert set(cells) == {f"Referrals!{THANKED}6", f"Referrals!{THANKED}8"}
    assert all(new == "2026-12-03" for _, new in cells.values())
    assert stat.S_IMODE(journal.record_path(backup).stat().st_mode) == 0o600
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600


def test_show_changes_nothing(written) -> None:
    path, _, after = written
    result = run("undo", "--workbook", path, "--show")
    assert result.exit_code == 0, result.stderr
    [backup] = backups_of(path)
    assert result.stdout == (
        "Last write into referrals.xlsx: merge thank-you at 2026-12-03 15:02: Letters rows "
        f"19-21 added; Referrals!{THANKED}6, {THANKED}8 set.\n"
        f"Backup taken before it: {BACKUP_DIR}/{backup.name}\n")
    assert path.read_bytes() == after
    assert backups_of(path) == [backup]


def test_undo_restores_the_workbook_and_a_second_undo_redoes(written) -> None:
    path, before, after = written
    result = run("undo", "--workbook", path, "--yes")
    assert result.exit_code == 0, result.stderr
    assert path.read_bytes() == before
    first, kept = backups_of(path)
    assert kept.read_bytes() == after  # the undone version is backed up too
    assert result.stdout.endswith(
        "Restored referrals.xlsx as it was before merge thank-you at 2026-12-03 15:02. The "
        f"version undone is kept as {BACKUP_DIR}/{kept.name}; run `refdesk undo` again to put "
        "it back.\n")
    letters = ExcelSource(path).read().tables["Letters"].df
    assert not set(letters["letter_id"]) & {r["letter_id"] for r in LETTERS}

    shown = run("undo", "--workbook", path, "--show")
    assert shown.stdout.startswith(
        "Last write into referrals.xlsx: undo at ")
    assert ("(undoing merge thank-you at 2026-12-03 15:02): Letters rows 19-21 removed; "
            f"Referrals!{THANKED}6, {THANKED}8 set back.") in shown.stdout

    again = run("undo", "--workbook", path, "--yes")
    assert again.exit_code == 0, again.stderr
    assert path.read_bytes() == after  # redone
    assert len(backups_of(path)) == 3
    assert sorted(p.name for p in path.parent.iterdir()) == [BACKUP_DIR, path.name]


def test_undo_refuses_when_the_workbook_changed_since(written) -> None:
    path, _, _ = written
    patch_workbook(path, [SetField("Referrals", "referral_id", "R009", "notes", "typed")],
                   backup=False)  # a change refdesk keeps no record of, like a save in Excel
    changed = path.read_bytes()
    [backup] = backups_of(path)
    result = run("undo", "--workbook", path, "--yes")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: referrals.xlsx changed since refdesk's last write (merge thank-you at "
        "2026-12-03 15:02), so undoing it would lose those changes. Nothing was written. To go "
        f"back by hand, open {BACKUP_DIR}/{backup.name}, the workbook as it was before that "
        "write, and copy what you need.\n")
    assert path.read_bytes() == changed
    assert backups_of(path) == [backup]


def test_a_write_that_never_replaced_the_workbook_is_passed_over(written) -> None:
    """A crash after the record was saved but before the rename leaves a record whose
    workbook never appeared; the write before it is the one to undo."""
    path, before, after = written
    folder = path.parent / BACKUP_DIR
    stale = folder / "referrals-20261203-160000-000000.xlsx"
    shutil.copyfile(path, stale)
    (folder / (stale.name + ".json")).write_text(json.dumps({
        "version": 1, "command": "merge intro-packet", "time": "2026-12-03T16:00:00",
        "workbook": path.name, "backup": stale.name,
        "before": {"size": len(after), "sha256": hashlib.sha256(after).hexdigest()},
        "after": {"size": 1, "sha256": "0" * 64}, "cells": [], "appended": {"Letters": [22, 22]},
        "removed": {}, "undoes": None}))
    result = run("undo", "--workbook", path, "--yes")
    assert result.exit_code == 0, result.stderr
    assert "merge thank-you at 2026-12-03 15:02" in result.stdout
    assert path.read_bytes() == before


def test_nothing_to_undo(tmp_path: Path) -> None:
    path = tmp_path / "referrals.xlsx"
    shutil.copyfile(SAMPLE, path)
    result = run("undo", "--workbook", path, "--yes")
    assert result.exit_code == 2
    assert result.stderr == (f"Error: referrals.xlsx: there is no refdesk write to undo (no "
                             f"record of one in {BACKUP_DIR}/ beside it). Nothing was "
                             "written.\n")


def test_it_asks_at_a_terminal_and_needs_yes_elsewhere(written, monkeypatch) -> None:
    path, _, after = written
    result = run("undo", "--workbook", path)
    assert result.exit_code == 2
    assert "add --yes to undo without being asked, or --show to only look" in result.stderr
    assert path.read_bytes() == after

    monkeypatch.setattr(refdesk.cli, "_at_terminal", lambda: True)
    no = CliRunner().invoke(refdesk.cli.cli, ["undo", "-w", str(path)], input="n\n")
    assert no.exit_code == 0 and "Nothing was changed." in no.stderr
    assert "back as it was before this write? [y/N]" in no.stderr
    assert path.read_bytes() == after
    yes = CliRunner().invoke(refdesk.cli.cli, ["undo", "-w", str(path)], input="y\n")
    assert yes.exit_code == 0, yes.stderr
    assert path.read_bytes() != after and "Restored referrals.xlsx" in yes.stdout


def test_a_google_sheet_points_to_its_version_history() -> None:
    result = run("undo", "--sheet", "https://docs.google.com/spreadsheets/d/KEY123/edit",
                 "--yes")
    assert result.exit_code == 0
    assert "File > Version history > See version history" in result.stdout
    assert "Nothing was changed." in result.stdout


def test_undo_refuses_a_workbook_saved_after_it_was_shown(written) -> None:
    """The library's undo checks the workbook under its lock, like any write."""
    from refdesk.undo import last_write, undo

    path, _, after = written
    last = last_write(path)
    path.write_bytes(path.read_bytes())  # saved again (same bytes, new time) since it was shown
    with pytest.raises(WorkbookBusyError, match="changed since refdesk read it"):
        undo(last)
    assert path.read_bytes() == after
    assert len(backups_of(path)) == 1


def test_undoing_a_merge_names_the_documents_left_unlogged(tmp_path: Path) -> None:
    """The documents a merge made stay on disk when its Letters rows are undone: undo says so,
    naming them, so that no document is left unlogged without the user being told."""
    config = copy_practice(tmp_path)
    made = run("--quiet", "merge", "thank-you", "--config", config, "--today", "2026-11-23")
    assert made.exit_code == 0, made.stderr
    letters = sorted((tmp_path / "letters" / "thank-you").glob("*.docx"))
    assert len(letters) == 3
    done = run("undo", "--config", config, "--yes")
    assert done.exit_code == 0, done.stderr
    assert "3 document(s) that write logged are still on disk and no longer in Letters" \
        in done.stderr
    for path in letters:
        assert f"letters/thank-you/{path.name}" in done.stderr
