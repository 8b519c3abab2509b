"""Shared fixtures. Real components (LibreOffice, the shared corpus) skip when absent on a
developer's machine and fail when CI=true, where their absence is a broken setup."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from refdesk.cli import cli
from refdesk.office import find_soffice

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def need(condition: bool, reason: str) -> None:
    """Skip locally, fail in CI."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: required here)")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _own_user_config(tmp_path_factory: pytest.TempPathFactory,
                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test its own user config folder (platformdirs reads XDG_CONFIG_HOME) and no
    REFDESK_CONFIG: a default practice registered on this machine never leaks in or out."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("user-config")))
    monkeypatch.delenv("REFDESK_CONFIG", raising=False)


@pytest.fixture
def corpus() -> Path:
    need(CORPUS.is_dir(), f"the shared corpus is not at {CORPUS}")
    return CORPUS


@pytest.fixture
def soffice() -> str:
    found = find_soffice()
    need(found is not None, "LibreOffice (soffice) is not installed")
    assert found
    return found


def copy_practice(folder: Path) -> Path:
    """A copy of the project's config, templates and sample workbook in `folder` (made if
    needed); returns its config.toml."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "templates", folder / "templates")
    (folder / "workbooks").mkdir()
    shutil.copyfile(ROOT / "workbooks" / "referrals.xlsx", folder / "workbooks" / "referrals.xlsx")
    shutil.copyfile(ROOT / "config.toml", folder / "config.toml")
    return folder / "config.toml"


@pytest.fixture
def practice(tmp_path: Path) -> Path:
    """A copy of the project's config, templates and sample workbook; returns config.toml."""
    return copy_practice(tmp_path)


def run(*args: str | Path) -> Result:
    """Run the CLI as a user would; stdout and stderr stay apart."""
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
