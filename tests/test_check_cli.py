import json

import openpyxl
import pytest

from refdesk.newbook import write_workbook
from refdesk.sample import PLANTED_MISTAKES
from tests.conftest import ROOT, run

CONFIG = ROOT / "config.toml"
SAMPLE = ROOT / "workbooks" / "referrals.xlsx"


@pytest.fixture
def clean_book(tmp_path):
    return write_workbook(tmp_path / "clean.xlsx", {
        "Providers": [{"provider_id": "P1", "name": "Dana Whitfield", "stage": "prospect"}]})


def test_sample_finds_exactly_the_planted_mistakes():
    from refdesk.sources.excel import ExcelSource

    result = run("--quiet", "check", "--config", CONFIG, "--today", "2026-11-23", "--json")
    assert result.exit_code == 1
    records = json.loads(result.stdout)
    book = ExcelSource(SAMPLE).read()
    planted = set()
    for mistake in PLANTED_MISTAKES:
        table = book[mistake.sheet]
        row = table.df.index[table.df[table.schema.key] == mistake.id][0]
        planted.add((table.cell(row, mistake.column), mistake.rule))
    assert {(r["cell"], r["rule"]) for r in records} == planted
    assert len(records) == len(planted)
    assert result.stderr == "10 errors, 2 warnings in 12 rows.\n"
    assert all(set(r) == {"severity", "sheet", "row", "cell", "column", "value", "rule",
                          "message"} for r in records)
    diagnosis = [r for r in records if r["column"] == "diagnosis"]
    assert diagnosis and all(r["value"] == "(hidden: health information)" for r in diagnosis)
    assert "G44" not in result.stdout


def test_errors_only_and_csv():
    result = run("--quiet", "check", "--config", CONFIG, "--today", "2026-11-23", "--csv",
                 "--errors-only")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "severity,sheet,row,cell,column,value,rule,message"
    assert all(line.startswith("error,") for line in lines[1:])


def test_table_output_and_summary(monkeypatch):
    monkeypatch.setenv("COLUMNS", "240")
    result = run("--quiet", "check", "--config", CONFIG, "--today", "2026-11-23")
    assert result.exit_code == 1
    assert result.stdout.startswith("Providers: 2 errors, 2 warnings")
    assert "│ F9   │ error   │ 1354863093" in result.stdout
    assert result.stdout.splitlines()[-1].endswith("rows.")


def test_clean_workbook_exits_0(clean_book):
    result = run("check", "--workbook", clean_book)
    assert result.exit_code == 0
    assert result.stdout == "No problems found.\n"
    assert result.stderr == f"Reading {clean_book} ...\nChecking 1 row ...\n"


def test_annotate_writes_a_marked_copy_and_leaves_the_original(tmp_path):
    before = SAMPLE.read_bytes()
    out = tmp_path / "review.xlsx"
    result = run("--quiet", "check", "--config", CONFIG, "--today", "2026-11-23",
                 "--annotate", out, "--json")
    assert result.exit_code == 1
    assert SAMPLE.read_bytes() == before
    records = json.loads(result.stdout)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[0] == "Problems"
    rows = list(wb["Problems"].iter_rows(min_row=2))
    assert [r[0].value for r in rows] == [r["cell"] for r in records]
    sheet, ref = records[0]["cell"].split("!")
    assert rows[0][0].hyperlink.location == f"'{sheet}'!{ref}"
    for record in records:
        sheet, ref = record["cell"].split("!")
        cell = wb[sheet][ref]
        assert record["message"] in cell.comment.text
        assert cell.fill.fgColor.rgb.endswith({"error": "FFC7CE", "warning": "FFEB9C"}[
            "error" if "error: " in cell.comment.text else "warning"])


def test_annotate_refuses_the_checked_workbook(clean_book):
    result = run("--quiet", "check", "--workbook", clean_book, "--annotate", clean_book)
    assert result.exit_code == 2
    assert result.stderr == (f"Error: {clean_book}: is the workbook being checked; --annotate "
                             "writes a copy, so give it another name.\n")


def test_practice_profile_is_checked(tmp_path, clean_book):
    text = CONFIG.read_text().replace('npi = "1750384962"', 'npi = "1750384963"')
    text = text.replace('excel = "workbooks/referrals.xlsx"', f'excel = "{clean_book}"')
    config = tmp_path / "config.toml"
    config.write_text(text)
    result = run("--quiet", "check", "--config", config, "--json")
    assert result.exit_code == 1
    (record,) = json.loads(result.stdout)
    line = text.splitlines().index('npi = "1750384963"') + 1
    assert record["cell"] == f"config.toml line {line}"
    assert record["column"] == "practice.npi" and record["rule"] == "npi"
    table = run("--quiet", "check", "--config", config)
    assert table.exit_code == 1
    assert table.stdout.startswith("config.toml: 1 error, 0 warnings")
    assert f"config.toml line {line}" in table.stdout
    # The annotated copy lists it too, without a cell to mark.
    out = tmp_path / "review.xlsx"
    result = run("--quiet", "check", "--config", config, "--annotate", out)
    assert result.exit_code == 1
    rows = list(openpyxl.load_workbook(out)["Problems"].iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows] == [f"config.toml line {line}"]


def test_every_corpus_workbook_is_refused_clearly(corpus):
    files = sorted(p for p in (corpus / "xlsx").iterdir() if p.suffix in (".xlsx", ".xlsm"))
    assert len(files) >= 60
    for path in files:
        result = run("--quiet", "check", "--workbook", path)
        assert result.exit_code in (1, 2), path.name
        assert "Traceback" not in result.stderr and result.stdout == ""
        first = result.stderr.splitlines()[0]
        assert first.startswith(f"Error: {path}: "), (path.name, first)
        assert "missing sheet" in result.stderr or "cannot be read" in result.stderr, (
            path.name, result.stderr)


def test_csv_with_nothing_to_list_is_the_header_row_only(tmp_path, clean_book):
    """No problems, or only warnings left out by --errors-only: the header, no blank line;
    JSON an empty list."""
    header = "severity,sheet,row,cell,column,value,rule,message\n"
    clean = run("--quiet", "check", "--workbook", clean_book, "--csv")
    assert (clean.exit_code, clean.stdout) == (0, header)
    twins = write_workbook(tmp_path / "twins.xlsx", {"Providers": [
        {"provider_id": "P1", "name": "Dana Whitfield", "stage": "prospect"},
        {"provider_id": "P2", "name": "Dana Whitfield", "stage": "prospect"}]})
    warned = run("--quiet", "check", "--workbook", twins, "--csv")
    assert warned.exit_code == 0 and warned.stdout.startswith(header)
    lines = warned.stdout.splitlines()[1:]
    assert lines and all(line.startswith("warning,") for line in lines)
    errors = run("--quiet", "check", "--workbook", twins, "--csv", "--errors-only")
    assert (errors.exit_code, errors.stdout) == (0, header)
    listed = run("--quiet", "check", "--workbook", twins, "--json", "--errors-only")
    assert json.loads(listed.stdout) == []
