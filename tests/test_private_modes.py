"""Private by default: every folder refdesk makes or writes client information into is the
owner's only (0700) and every such file 0600, under an ordinary umask (022) that would make
them 0755 and 0644; folders that already exist with wider modes are tightened, and a backup
never takes the workbook's own mode."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from refdesk.config import load_config
from refdesk.merge.data import Data
from refdesk.merge.jobs import load_jobs
from refdesk.merge.run import select
from refdesk.sources.excel import ExcelSource
from refdesk.xlsxpatch import SetField, patch_workbook
from tests.conftest import run
from tests.helpers import TODAY

DAY = TODAY.isoformat()


@pytest.fixture(autouse=True)
def ordinary_umask() -> Iterator[None]:
    """A normal user's umask: without care, folders come out 0755 and files 0644."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)



def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def assert_private(folder: Path) -> list[Path]:
    """`folder` and every folder inside are 0700, every file 0600; returns the files."""
    assert folder.is_dir()
    wrong = {str(p): oct(mode(p)) for p in [folder, *folder.rglob("*")]
             if mode(p) != (0o700 if p.is_dir() else 0o600)}
    assert wrong == {}
    return sorted(p for p in folder.rglob("*") if p.is_file())


def merge(config: Path, job: str, *options: str):
    result = run("--quiet", "merge", job, "--config", config, "--today", DAY, *options)
    assert result.exit_code == 0, result.stderr
    return result


def backups(config: Path) -> Path:
    return config.parent / "workbooks" / ".refdesk-backups"


# -- merge -------------------------------------------------------------------------------------

def test_a_merge_with_labels_and_envelopes(practice: Path) -> None:
    merge(practice, "intro-packet", "--labels", "--envelopes")
    letters = practice.parent / "letters"
    files = assert_private(letters)
    names = [p.name for p in files]
    assert any(n.endswith("labels.docx") for n in names)
    assert any(n.endswith("envelopes.docx") for n in names)
    assert sum(n.endswith(".docx") for n in names) >= 3
    assert_private(backups(practice))


def test_a_merge_with_pdfs(practice: Path, soffice: str) -> None:
    merge(practice, "thank-you", "--pdf", "--labels", "--envelopes")
    files = assert_private(practice.parent / "letters")
    assert sum(p.suffix == ".pdf" for p in files) >= 3
    assert {p.suffix for p in files} >= {".docx", ".pdf"}


def _prefer(config_path: Path, job: str, routes: tuple[str, ...]) -> None:
    """The job's providers ask for delivery by fax, email and mail, in turn."""
    config = load_config(config_path)
    data = Data.of(ExcelSource(config.excel).read(), TODAY)
    chosen = select(data, load_jobs(config)[job], False)[0]
    assert len(chosen) >= len(routes)
    patch_workbook(config.excel, [SetField("Providers", "provider_id", r.provider_id,
                                           "delivery", how)
                                  for r, how in zip(chosen, routes, strict=False)],
                   backup=False)


def test_delivery_as_fax_files_drafts_and_mail(practice: Path, soffice: str) -> None:
    _prefer(practice, "thank-you", ("fax", "email", "mail"))
    merge(practice, "thank-you", "--deliver", "--drafts")
    job = practice.parent / "letters" / "thank-you"
    files = assert_private(practice.parent / "letters")
    assert [p.suffix for p in files if p.parent == job / "fax"] == [".pdf"]
    assert [p.suffix for p in files if p.parent == job / "drafts"] == [".eml"]
    assert any(p.name.endswith("labels.docx") for p in files)


def test_an_output_folder_made_with_its_parents(practice: Path, tmp_path: Path) -> None:
    out = tmp_path / "new" / "batch"
    merge(practice, "release-form", "--out", out)
    assert mode(tmp_path / "new") == 0o700
    assert assert_private(out)


@pytest.mark.parametrize("where", ["config", "--out"])
def test_an_existing_wide_output_folder_is_tightened(practice: Path, tmp_path: Path,
                                                     where: str) -> None:
    out = practice.parent / "letters" if where == "config" else tmp_path / "chosen"
    out.mkdir(mode=0o755)
    assert mode(out) == 0o755
    merge(practice, "release-form", *(("--out", str(out)) if where == "--out" else ()))
    assert_private(out)


def test_an_existing_wide_job_folder_is_tightened(practice: Path) -> None:
    job = practice.parent / "letters" / "release-form"
    job.mkdir(parents=True, mode=0o755)
    os.chmod(job, 0o755)
    merge(practice, "release-form")
    assert mode(job) == 0o700
    assert all(mode(p) == 0o600 for p in job.iterdir())


# -- backups and undo ----------------------------------------------------------------------------

def test_a_readable_workbooks_backup_is_the_owners_only(practice: Path) -> None:
    workbook = practice.parent / "workbooks" / "referrals.xlsx"
    os.chmod(workbook, 0o644)
    merge(practice, "release-form")
    files = assert_private(backups(practice))
    assert any(p.suffix == ".xlsx" for p in files)


def test_an_existing_wide_backup_folder_is_tightened(practice: Path) -> None:
    folder = backups(practice)
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    merge(practice, "release-form")
    assert mode(folder) == 0o700
    assert_private(folder)


def test_undo_keeps_its_backups_private(practice: Path) -> None:
    workbook = practice.parent / "workbooks" / "referrals.xlsx"
    os.chmod(workbook, 0o644)
    merge(practice, "release-form")
    before = {p.name for p in backups(practice).iterdir()}
    undone = run("--quiet", "undo", "--yes", "--config", practice)
    assert undone.exit_code == 0, undone.stderr
    files = assert_private(backups(practice))
    assert {p.name for p in files} - before, "the undo keeps a backup of its own"


# -- stats and check ------------------------------------------------------------------------------

def test_stats_with_names_csv_folder_and_its_parents(practice: Path, tmp_path: Path) -> None:
    folder = tmp_path / "reports" / "stats"
    result = run("--quiet", "stats", "--config", practice, "--to", DAY, "--with-names",
                 "--csv", folder)
    assert result.exit_code == 0, result.stderr
    assert mode(tmp_path / "reports") == 0o700
    files = assert_private(folder)
    assert "diagnoses.csv" in {p.name for p in files}


def test_stats_with_names_tightens_an_existing_folder(practice: Path, tmp_path: Path) -> None:
    folder = tmp_path / "stats"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    result = run("--quiet", "stats", "--config", practice, "--to", DAY, "--with-names",
                 "--csv", folder)
    assert result.exit_code == 0, result.stderr
    assert_private(folder)


def test_stats_without_names_is_an_ordinary_file(practice: Path, tmp_path: Path) -> None:
    folder = tmp_path / "stats"
    result = run("--quiet", "stats", "--config", practice, "--to", DAY, "--csv", folder,
                 "--html", tmp_path / "report.html")
    assert result.exit_code == 0, result.stderr
    assert mode(folder) == 0o755
    assert {mode(p) for p in folder.iterdir()} == {0o644}
    assert mode(tmp_path / "report.html") == 0o644


def test_stats_html_and_xlsx_with_names(practice: Path, tmp_path: Path) -> None:
    html, xlsx = tmp_path / "report.html", tmp_path / "stats.xlsx"
    result = run("--quiet", "stats", "--config", practice, "--to", DAY, "--with-names",
                 "--html", html, "--xlsx", xlsx)
    assert result.exit_code == 0, result.stderr
    assert mode(html) == 0o600 and mode(xlsx) == 0o600


def test_check_annotate_copy(practice: Path, tmp_path: Path) -> None:
    out = tmp_path / "review.xlsx"
    result = run("--quiet", "check", "--config", practice, "--annotate", out)
    assert result.exit_code in (0, 1), result.stderr
    assert mode(out) == 0o600
