import json
import subprocess
import sys

import pytest

import refdesk.cli
from refdesk import __version__
from refdesk.cli import cli
from refdesk.docs import render_readme
from refdesk.newbook import write_workbook
from tests.conftest import ROOT, run

COMMANDS = sorted(cli.commands)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help_with_an_example(name):
    result = run(name, "--help")
    assert result.exit_code == 0
    assert cli.commands[name].help and "Example" in result.stdout


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_is_in_the_readme(name):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"\n### {name}\n" in readme
    assert f"refdesk {name}" in readme


def test_readme_tables_match_the_declarations():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert render_readme(readme) == readme, "run python scripts/update_readme.py"


def test_python_dash_m_and_version():
    done = subprocess.run([sys.executable, "-m", "refdesk", "--version"], capture_output=True,
                          text=True, check=False, cwd=ROOT)
    assert done.returncode == 0
    assert done.stdout.strip() == f"refdesk, version {__version__}"


def test_summary_table_and_formats(tmp_path):
    path = write_workbook(tmp_path / "w.xlsx", {"Providers": [
        {"provider_id": "P1", "name": "Dana Whitfield", "stage": "prospect"}]})
    result = run("summary", "--workbook", path)
    assert result.exit_code == 0
    used, *rest = result.stderr.splitlines()
    assert used.startswith("Config: ") and used.endswith(
        f"; workbook: {path.resolve()} (--workbook).")
    assert rest == [f"Reading {path} ...", "1 row in 9 sheets."]
    assert "Providers" in result.stdout and "│    1 │" in result.stdout
    data = json.loads(run("--quiet", "summary", "-w", path, "--json").stdout)
    assert data[0] == {"source": str(path), "sheet": "Providers", "present": True, "rows": 1,
                       "columns": 22, "extra_columns": [], "missing_columns": [],
                       "unreadable_cells": []}
    csv_out = run("--quiet", "summary", "-w", path, "--csv").stdout.splitlines()
    assert csv_out[0] == ("source,sheet,present,rows,columns,extra_columns,missing_columns,"
                          "unreadable_cells")
    assert csv_out[1] == f"{path},Providers,True,1,22,,,"
    assert len(csv_out) == 10


def test_unexpected_failure_is_one_line_not_a_traceback(tmp_path, monkeypatch):
    def boom(book):
        raise ZeroDivisionError("client Jane Doe's diagnosis")

    monkeypatch.setattr(refdesk.cli, "summarize", boom)
    monkeypatch.delenv("REFDESK_DEBUG", raising=False)
    result = run("--quiet", "summary", "-w", write_workbook(tmp_path / "w.xlsx"))
    assert result.exit_code == 2
    assert result.stderr == ("Error: unexpected ZeroDivisionError. Run again with "
                             "REFDESK_DEBUG=1 for the details, and report them.\n")


def test_sample_workbook_through_config(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # rich wraps a narrow table's notes
    result = run("--quiet", "summary", "--config", ROOT / "config.toml", "--json")
    assert result.exit_code == 0
    records = {r["sheet"]: r for r in json.loads(result.stdout)}
    assert records["Clients"]["rows"] == 300 and records["Referrals"]["rows"] == 250
    assert records["Providers"]["unreadable_cells"] == ["Providers!U27"]
    table = run("--quiet", "summary", "--config", ROOT / "config.toml").stdout
    assert "not readable as its column's kind: Providers!U27" in table
