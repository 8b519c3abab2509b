"""Nothing refdesk writes for the user runs as a formula.

The sample workbook's text columns are filled with what a shared sheet or a pasted referral
can bring (OWASP's formula prefixes), then every command is run with every output option:
CSV cells that start a formula carry a leading apostrophe, workbooks hold text cells (never
formulas), JSON holds the text exactly as typed and HTML shows markup as text.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest

from refdesk.output import FORMULA_START, csv_cell, neutralise
from refdesk.schema import SHEETS, Kind
from tests.conftest import ROOT, run

SAMPLE = ROOT / "workbooks" / "referrals.xlsx"
PAYLOADS = ["=cmd|'/c calc'!A0", '=HYPERLINK("http://x","click")', "+1+1", "-2+3",
            "@SUM(A1)", "\t=1", "\r=1", "<script>alert(1)</script>"]
#: Columns whose kind is text of some sort; ids and their references keep their links.
TEXT_KINDS = {Kind.TEXT}
OTHER_TEXT = {Kind.CHOICE, Kind.CHOICES, Kind.LIST, Kind.PHONE, Kind.EMAIL, Kind.STATE,
              Kind.ZIP, Kind.NPI, Kind.ICD10, Kind.CPT}
RANGE = ("--from", "2020-01-01", "--to", "2026-12-31")
_PLAIN_NUMBER = re.compile(r"-\d[\d,]*(\.\d*)?")


def _hostile_copy(target: Path) -> Path:
    """The sample with every text column hostile: free text in every row, the other text
    kinds (lists, phones, codes) in every third row, so the records still link and count."""
    shutil.copy(SAMPLE, target)
    wb = openpyxl.load_workbook(target)
    n = 0
    for sheet in SHEETS:
        if sheet.name not in wb.sheetnames:
            continue
        ws = wb[sheet.name]
        header = [str(c.value).strip().lower() if c.value else "" for c in ws[1]]
        for column in sheet.columns:
            if column.name not in header or column.kind not in TEXT_KINDS | OTHER_TEXT:
                continue
            col = header.index(column.name) + 1
            for row in range(2, ws.max_row + 1):
                if column.kind not in TEXT_KINDS and row % 3:
                    continue
                cell = ws.cell(row=row, column=col)
                cell.value = PAYLOADS[n % len(PAYLOADS)] + (f" {row}" if n % 2 else "")
                cell.data_type = "s"  # typed text, as a user's paste leaves it
                n += 1
    wb.save(target)
    return target


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _hostile_copy(tmp_path_factory.mktemp("hostile") / "referrals.xlsx")


def _unescaped(cell: str) -> bool:
    """A CSV cell a spreadsheet would read as a formula."""
    first = cell.lstrip(" \n\u00a0\u3000")[:1]
    return cell[:1] in ("\t", "\r") or (first in FORMULA_START
                                         and not _PLAIN_NUMBER.fullmatch(cell.strip()))


def _assert_safe_csv(text: str, where: str) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows, f"{where}: no CSV at all"
    bad = [cell for row in rows for cell in row if _unescaped(cell)]
    assert not bad, f"{where}: {len(bad)} cells would run, e.g. {bad[:3]}"
    return rows


def _escaped_cells(rows: list[list[str]]) -> int:
    return sum(cell.startswith("'") and cell[1:2] in FORMULA_START for row in rows
               for cell in row)


def _assert_no_formulas(path: Path) -> None:
    """No cell of the workbook is a formula (openpyxl's view) and no worksheet part holds an
    <f> element (charts keep their own references in xl/charts/)."""
    wb = openpyxl.load_workbook(path)
    formulas = [f"{ws.title}!{c.coordinate}" for ws in wb for row in ws.iter_rows()
                for c in row if c.data_type == "f"]
    assert not formulas, f"{path.name}: formulas in {formulas[:5]}"
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                xml = zf.read(name).decode("utf-8")
                assert not re.search(r"<(\w+:)?f[ >/]", xml), f"{path.name}:{name} has <f>"


def _json_strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _json_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _json_strings(v)]
    return []


# -- the function every CSV goes through ------------------------------------------------------

@pytest.mark.parametrize(("value", "cell"), [
    ("=1+1", "'=1+1"), ("+1+1", "'+1+1"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("  =1", "'  =1"), ("\uff1d1+1", "'\uff1d1+1"),
    ("Smith-Jones", "Smith-Jones"), ("", ""), ("-5", "-5"), ("-1,200.50", "-1,200.50"),
    (-5, -5), (2.5, 2.5), (None, ""), (["=a", "b"], "'=a; b"), (True, True),
])
def test_csv_cell_escapes_text_only(value: object, cell: object) -> None:
    assert csv_cell(value) == cell


def test_neutralise_leaves_plain_text() -> None:
    assert neutralise("Dana Whitfield, MD") == "Dana Whitfield, MD"
    assert neutralise("+1 503 555 0142") == "'+1 503 555 0142"


# -- every command, every output --------------------------------------------------------------

def test_summary_csv_and_json(hostile: Path, tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    # Sheet names are refdesk's; the workbook's name is the user's own text.
    shutil.copy(hostile, tmp_path / "=1+1.xlsx")
    monkeypatch.chdir(tmp_path)
    done = run("-q", "summary", "-w", "=1+1.xlsx", "--csv")
    assert done.exit_code == 0, done.stderr
    rows = _assert_safe_csv(done.stdout, "summary --csv")
    assert [r[0] for r in rows[1:]] == ["'=1+1.xlsx"] * (len(rows) - 1)
    assert rows[1][1:4] == ["Providers", "True", "40"]
    data = json.loads(run("-q", "summary", "-w", "=1+1.xlsx", "--json").stdout)
    assert {r["source"] for r in data} == {"=1+1.xlsx"}


def test_check_csv_and_annotate(hostile: Path, tmp_path: Path) -> None:
    out = tmp_path / "review.xlsx"
    done = run("-q", "check", "-w", hostile, "--today", "2026-11-23", "--csv", "--annotate", out)
    assert done.exit_code == 1 and "Traceback" not in done.stderr, done.stderr
    rows = _assert_safe_csv(done.stdout, "check --csv")
    assert rows[0] == ["severity", "sheet", "row", "cell", "column", "value", "rule", "message"]
    assert _escaped_cells(rows) > 1000
    assert list({r[5] for r in rows if r[5].startswith("'=cmd")}) == ["'=cmd|'/c calc'!A0"]

    _assert_no_formulas(out)
    problems = openpyxl.load_workbook(out)["Problems"]
    texts = {c.value for row in problems.iter_rows(min_row=2) for c in row}
    assert "=cmd|'/c calc'!A0" in texts  # the value as typed, shown as text
    assert any(isinstance(t, str) and t.startswith("=HYPERLINK(") for t in texts)
    assert problems["A2"].hyperlink is not None  # refdesk's own link to the cell
    assert problems["A2"].hyperlink.location.startswith("'")


def test_check_json_is_exact(hostile: Path) -> None:
    done = run("-q", "check", "-w", hostile, "--today", "2026-11-23", "--json")
    values = {r["value"] for r in json.loads(done.stdout)}
    assert "=cmd|'/c calc'!A0" in values and "@SUM(A1)" in values and "+1+1" in values
    assert any(v.startswith('=HYPERLINK("http://x","click") ') for v in values)
    assert not any(v.startswith("'") for v in values)  # JSON is never escaped


def test_todo_csv_and_json(hostile: Path) -> None:
    done = run("-q", "todo", "-w", hostile, "--on", "2026-11-23", "--csv")
    assert done.exit_code == 0, done.stderr
    rows = _assert_safe_csv(done.stdout, "todo --csv")
    assert rows[0][:3] == ["kind", "due", "who"] and len(rows) > 1
    assert _escaped_cells(rows) > 0
    data = json.loads(run("-q", "todo", "-w", hostile, "--on", "2026-11-23", "--json").stdout)
    strings = _json_strings(data)
    assert any(s.startswith(("=", "+", "-", "@")) for s in strings)
    assert not any(s.startswith("'") for s in strings)


def test_stats_every_output(hostile: Path, tmp_path: Path) -> None:
    folder, xlsx, page = tmp_path / "csv", tmp_path / "stats.xlsx", tmp_path / "stats.html"
    done = run("-q", "stats", "-w", hostile, *RANGE, "--with-names", "--csv", folder,
               "--xlsx", xlsx, "--html", page)
    assert done.exit_code == 0, done.stderr
    escaped = 0
    for file in sorted(folder.glob("*.csv")):
        with file.open(encoding="utf-8", newline="") as fh:
            rows = _assert_safe_csv(fh.read(), file.name)
        escaped += _escaped_cells(rows)
    assert escaped > 10

    _assert_no_formulas(xlsx)
    book = openpyxl.load_workbook(xlsx)
    texts = {c.value for ws in book for row in ws.iter_rows() for c in row}
    assert any(isinstance(t, str) and t.startswith("=HYPERLINK") for t in texts)

    html = page.read_text(encoding="utf-8")
    assert "<script>alert" not in html.lower()
    assert html.lower().count("<script") == 1  # the page's own, which opens tables to print
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html

    data = json.loads(run("-q", "stats", "-w", hostile, *RANGE, "--with-names",
                          "--json").stdout)
    strings = _json_strings(data)
    assert "=cmd|'/c calc'!A0" in strings or any(s.startswith("=cmd|") for s in strings)
    assert not any(s.startswith("'=") for s in strings)


# -- headers, merged cells --------------------------------------------------------------------

def test_empty_csv_prints_its_header(tmp_path: Path) -> None:
    from refdesk.newbook import write_workbook

    empty = write_workbook(tmp_path / "empty.xlsx")
    check = run("-q", "check", "-w", empty, "--csv")
    assert check.stdout == "severity,sheet,row,cell,column,value,rule,message\n", check.stderr
    todo = run("-q", "todo", "-w", empty, "--on", "2026-11-23", "--csv")
    assert todo.stdout == "kind,due,who,detail,next_step,job,record,what\n", todo.stderr


def test_annotate_marks_a_merged_range_by_its_first_cell(tmp_path: Path) -> None:
    from refdesk.newbook import write_workbook

    path = write_workbook(tmp_path / "merged.xlsx", {"Providers": [
        {"provider_id": "P1", "name": "Dana Whitfield", "stage": "prospect"},
        {"provider_id": "P2", "name": "Sam Ortiz", "stage": "prospect"}]})
    wb = openpyxl.load_workbook(path)
    ws = wb["Providers"]
    # The first provider's id and name merged into one cell: the name (B2, required) is now
    # inside the merged range, where no comment or fill can go.
    ws["B2"] = None
    ws.merge_cells("A2:B2")
    wb.save(path)
    out = tmp_path / "review.xlsx"
    done = run("-q", "check", "-w", path, "--today", "2026-11-23", "--annotate", out)
    assert "Traceback" not in done.stderr and "unexpected" not in done.stderr, done.stderr
    assert done.exit_code == 1, done.stderr
    marked = openpyxl.load_workbook(out)["Providers"]
    assert "A2:B2" in {str(r) for r in marked.merged_cells.ranges}
    comment = marked["A2"].comment
    assert comment is not None and "B2" in comment.text and "name" in comment.text
    assert marked["A2"].fill.start_color.rgb.endswith("FFC7CE")
    problems = openpyxl.load_workbook(out)["Problems"]
    assert any(row[0].value == "Providers!B2" for row in problems.iter_rows(min_row=2))


def test_export_and_init_write_text_as_text(tmp_path: Path) -> None:
    """`refdesk export` copies a Google Sheet's records through the same writer as `init`."""
    from refdesk.newbook import write_workbook

    rows = [{"provider_id": f"P{i}", "name": payload, "practice": payload, "stage": "prospect"}
            for i, payload in enumerate(PAYLOADS)]
    path = write_workbook(tmp_path / "export.xlsx", {"Providers": rows})
    _assert_no_formulas(path)
    names = [c.value for c in openpyxl.load_workbook(path)["Providers"]["B"][1:]]
    assert names[:2] == ["=cmd|'/c calc'!A0", '=HYPERLINK("http://x","click")']


def test_annotate_takes_control_characters(tmp_path: Path) -> None:
    """A control character in a cell (stored escaped, as other programs write it) is shown
    as U+FFFD in the Problems sheet instead of failing the copy."""
    from refdesk.newbook import write_workbook

    path = write_workbook(tmp_path / "ctrl.xlsx", {"Providers": [
        {"provider_id": "P1", "name": "Dana Whitfield", "stage": "prospect",
         "phone": "=1\x03"}]})
    out = tmp_path / "review.xlsx"
    done = run("-q", "check", "-w", path, "--annotate", out, "--csv")
    assert done.exit_code == 1 and "unexpected" not in done.stderr, done.stderr
    _assert_safe_csv(done.stdout, "check --csv")
    _assert_no_formulas(out)
    values = [c.value for c in openpyxl.load_workbook(out)["Problems"]["D"]]
    assert "=1\ufffd" in values
