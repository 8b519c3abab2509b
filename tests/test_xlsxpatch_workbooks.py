"""The safe write path against workbooks written by other programs (../shared/corpus/xlsx-foreign/).

The set holds workbooks from public test suites, one file per row of its INDEX.tsv (source
repository, path, commit, sha256, the writer named in docProps/app.xml, license; license texts in
LICENSES/): Excel 2007 to 365 for Windows, Mac and the web, LibreOffice 3.3 to 24.2, Google Sheets
and Apple Numbers exports, WPS, ONLYOFFICE, Tencent, Hancom, Apache POI, NPOI, node-xlsx-stream,
openpyxl and files without docProps, plus odd packages: backslash entry names, workbook parts
outside xl/, mixed-case part names, namespace prefixes, no r attributes, no styles part.
REFDESK_FOREIGN_XLSX names another folder holding the same layout.

Each workbook gets one cell set on a worksheet (a plain value or an empty cell the writer
accepts) and one appended row. Then: every part the change did not need is byte-identical after
decompression; the sheet differs only in the changed cells and rows; calamine, and openpyxl when
it opens the original, read the new values back; one LibreOffice batch over every written
workbook reads them back too. A workbook the writer refuses is left byte-identical, with no
backup or temporary file beside it, and the message ends "Nothing was written.".

Of the 167 workbooks, 159 are to be written and 8 cleanly refused (EXPECTED_REFUSALS: two
Strict Open XML, one encrypted, two missing their sheet parts, one whose workbook part refdesk's
reader cannot find, one with rows numbered from 0, one with XML comments among its cells).
LibreOffice reads back the 154 written ones it can open (LIBREOFFICE_CANNOT_OPEN). One run
takes about a minute with -n 4, most of it the LibreOffice batch.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import os
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree as ET

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from refdesk.errors import WriteError
from refdesk.office import convert
from refdesk.xlsxpatch import AppendRows, Change, SetCell, patch_workbook, plan_patch
from refdesk.xlsxpatch.package import REL_TABLE, Package, check_workbook_file
from refdesk.xlsxpatch.table import Table
from refdesk.xlsxpatch.xmltext import cell_ref, split_ref
from tests.conftest import CORPUS

FOREIGN = Path(os.environ.get("REFDESK_FOREIGN_XLSX") or CORPUS / "xlsx-foreign")


def _need_the_set() -> None:
    """Workbooks taken from other projects are kept beside the shared corpus, never in this
    repository, so a checkout whose ../shared predates the set has none: that skips, with the
    reason, even in CI (the 62 workbooks of ../shared/corpus/xlsx are required there)."""
    if not NAMES:
        pytest.skip(f"the foreign workbook set is not at {FOREIGN} (set REFDESK_FOREIGN_XLSX)")
TEXT = 'refdesk ✓ <b>&amp; "quoted" =1+1'
ROW = ["refdesk row", 42, dt.date(2026, 11, 23)]
M = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
#: Workbooks the writer refuses, and words its message must carry ("" for any message).
EXPECTED_REFUSALS: dict[str, str] = {
    "closedxml__universal-content-strict.xlsx": "Strict Open XML",
    "exceldatareader__strict-Test10x10.xlsx": "Strict Open XML",
    "exceldatareader__agile_AES128_SHA1_CBC_pwd_password.xlsx": "password",
    # its only sheet has no relationship, and so no part (checked before the part's name)
    "fastexcel__missing-sheet-entry.xlsx": "the sheet Feuil1 has no part in the file",
    # Written until refdesk's reader was tried on it: fastexcel (calamine) looks for
    # xl/_rels/workbook.xml.rels and cannot open a workbook part named otherwise.
    "fastexcel__rels.xlsx": "named xl/custom1-workbook.xml rather than workbook.xml",
    "npoi__poc-shared-strings.xlsx": "row numbered 0",  # rows are numbered from 0
    "tealeg__badfile_noWorksheets.xlsx": "holding the sheet Tabelle1 is missing",
    "umya__tdf76115.xlsx": "XML comments or CDATA",
}


#: Workbooks neither calamine nor openpyxl opens (LibreOffice still reads them back).
UNREADABLE = {"exceljs__test-issue-176.xlsx"}  # dimension "1:4" without columns

#: Originals LibreOffice itself does not open (it crashes, or finds no entry under backslash or
#: mixed-case names); they stay out of its batch, which stops at the first file it cannot read.
LIBREOFFICE_CANNOT_OPEN = {
    "closedxml__SampleSparklines.xlsx",  # soffice aborts (exit 134) on the original
    "exceldatareader__Test_git_issue_301_IgnoreCase.xlsx",
    "exceldatareader__Test_git_issue_385_backslash.xlsx",
    "phpspreadsheet__Zip-Windows-Directory-Separator.xlsx",
    "umya__49609.xlsx",
}


def _index() -> list[dict[str, str]]:
    index = FOREIGN / "INDEX.tsv"
    if not index.is_file():
        return []
    with index.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


INDEX = _index()
NAMES = [row["filename"] for row in INDEX]


@dataclass
class Case:
    """One workbook copied into its own folder, with the change chosen for it."""

    name: str
    source: Path
    path: Path
    sheet: str = ""
    sheet_part: str = ""
    cell: tuple[int, int] = (0, 0)
    changes: list[Change] = field(default_factory=list)
    refusal: str = ""
    row: int = 0
    first_col: int = 1
    values: list = field(default_factory=list)
    allowed: set[str] = field(default_factory=set)


def _candidates(data: bytes) -> list[tuple[int, int]]:
    """Value cells (no formula) below row 1, then empty spots past anything written."""
    found: list[tuple[int, int]] = []
    last_row = 0
    try:
        root = ET.fromstring(data)
    except ET.ParseError:
        root = None
    for row in root.iter(f"{M}row") if root is not None else ():
        number = int(row.get("r", "0") or 0)
        last_row = max(last_row, number)
        for cell in row.iter(f"{M}c"):
            ref = cell.get("r")
            if number < 2 or not ref or len(found) >= 12:
                continue
            if cell.find(f"{M}f") is None and (cell.find(f"{M}v") is not None
                                               or cell.find(f"{M}is") is not None):
                col = 0
                for ch in ref.rstrip("0123456789"):
                    col = col * 26 + ord(ch.upper()) - 64
                found.append((number, col))
    return found + [(2, 2), (5, 8), (last_row + 3, 3)]


def _tables(pkg: Package, part: str) -> list[tuple[str, int, int, str]]:
    """(name, first column, width, zip entry) of each table on the sheet part."""
    found = []
    for rel in pkg.relationships(part).values():
        if rel.type != REL_TABLE or rel.external or not pkg.has(rel.target):
            continue
        table = Table.parse(rel.target, pkg.read(rel.target))
        if table is not None:
            found.append((table.name, table.c1, table.c2 - table.c1 + 1,
                          pkg.name(rel.target) or rel.target))
    return found


def _prepare(name: str, folder: Path) -> Case:
    """Copy the workbook into `folder` and choose a change the writer accepts; when it accepts
    none, keep the first one tried (and the refusal) so the test can see it refused."""
    source = FOREIGN / name
    folder.mkdir(parents=True, exist_ok=True)
    case = Case(name, source, folder / name)
    shutil.copyfile(source, case.path)
    case.changes = [SetCell("Sheet1", "B2", TEXT)]
    try:  # the first look patch_workbook takes, shared with the reader
        check_workbook_file(case.path, writing=True)
        pkg = Package(case.path)
    except WriteError as exc:
        case.refusal = exc.message
        return case
    try:
        try:
            book = pkg.workbook()
        except WriteError as exc:
            case.refusal = exc.message
            return case
        tried = False
        for entry in book.sheets:
            if not tried:
                case.changes = [SetCell(entry.name, "B2", TEXT)]
            if entry.kind != "worksheet" or not entry.part or not pkg.has(entry.part):
                continue
            tables = _tables(pkg, entry.part)
            # A sheet with tables gets the row in each table in turn, as a person would.
            for table, first_col, width, _ in tables or [(None, 1, 3, None)]:
                values = ROW[:min(3, width)]
                for cell in _candidates(pkg.read(entry.part)):
                    changes: list[Change] = [SetCell(entry.name, cell_ref(*cell), TEXT),
                                             AppendRows(entry.name, [values], table=table)]
                    if not tried:
                        case.changes, tried = changes, True
                    try:
                        _, result = plan_patch(pkg, changes)
                    except WriteError as exc:
                        case.refusal = case.refusal or exc.message
                        continue
                    case.sheet, case.cell, case.values = entry.name, cell, values
                    case.first_col = first_col
                    case.sheet_part = pkg.name(entry.part) or entry.part
                    case.changes, case.refusal = changes, ""
                    case.row = result.appended[entry.name][0]
                    parts = [entry.part, book.part, book.styles or ""]
                    case.allowed = {pkg.name(p) or p for p in parts if p}
                    case.allowed |= {part for *_, part in tables}
                    return case
        case.refusal = case.refusal or "no worksheet"
        return case
    finally:
        pkg.close()


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def _strip_sheet(data: bytes, refs: set[str], rows: set[int]) -> str:
    """The sheet without its dimension, spans, the given cells and, left empty, the given rows:
    what must be equal before and after."""
    root = ET.fromstring(data)
    for dim in root.findall(f"{M}dimension"):
        root.remove(dim)
    for data_el in root.iter(f"{M}sheetData"):
        number = 0
        for row in list(data_el):
            row.attrib.pop("spans", None)
            # Rows and cells may go without r (the next one after the last); the writer may
            # spell those out when it edits the row, so compare with every position named.
            number = int(row.get("r") or number + 1)
            row.set("r", str(number))
            col = 0
            for cell in list(row):
                col = split_ref(cell.get("r", ""))[1] if cell.get("r") else col + 1
                cell.set("r", cell_ref(number, col))
                if cell.get("r") in refs:
                    row.remove(cell)
            if number in rows and len(row) == 0:
                data_el.remove(row)
    return ET.canonicalize(ET.tostring(root, encoding="unicode"))


def _expected(case: Case) -> dict[tuple[int, int], object]:
    cells: dict[tuple[int, int], object] = {case.cell: TEXT}
    for i, value in enumerate(case.values):
        cells[(case.row, case.first_col + i)] = value
    return cells


def _same(read: object, expected: object, styled: bool = True) -> bool:
    """Whether a reader's value is the one written; `styled` False when the reader cannot see
    the styles part (both look for it at xl/styles.xml only) and so reads a date as its serial."""
    if isinstance(expected, dt.date):
        if not styled and isinstance(read, int | float):
            return read == (expected - dt.date(1899, 12, 30)).days
        return isinstance(read, dt.date) and dt.date(read.year, read.month, read.day) == expected
    if isinstance(expected, int):
        return isinstance(read, int | float) and not isinstance(read, bool) and read == expected
    return read == expected


def _calamine(path: Path, sheet: str, cells: dict) -> dict:
    grid = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python(
        skip_empty_area=False)
    return {(r, c): grid[r - 1][c - 1] if r - 1 < len(grid) and c - 1 < len(grid[r - 1])
            else None for r, c in cells}


def _openpyxl(path: Path, sheet: str, cells: dict) -> dict:
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        ws = wb[sheet]
        return {(r, c): ws.cell(r, c).value for r, c in cells}
    finally:
        wb.close()


def _check_refused(case: Case) -> str:
    original = case.path.read_bytes()
    with pytest.raises(WriteError) as err:
        patch_workbook(case.path, case.changes)
    assert case.path.read_bytes() == original
    left = [p for p in case.path.parent.rglob("*") if p.is_file() and p != case.path]
    assert left == [], f"files left beside a refused write: {left}"
    assert err.value.message.endswith("Nothing was written."), err.value.message
    return err.value.message


def _check_written(case: Case) -> None:
    before = _parts(case.path)
    result = patch_workbook(case.path, case.changes)
    assert result.backup is not None and result.backup.read_bytes() == case.source.read_bytes()
    after = _parts(case.path)
    assert list(after)[:len(before)] == list(before), "parts keep their names and order"
    added = set(after) - set(before)
    allowed = set(case.allowed)
    if added:  # a workbook without a styles part gets one, announced in two lists
        assert len(added) == 1 and next(iter(added)).lower().endswith("styles.xml"), added
        allowed |= {n for n in before if n.lower().replace("\\", "/").endswith(
            ("[content_types].xml", ".xml.rels"))}
    for name, data in before.items():
        if name not in allowed:
            assert after[name] == data, f"{name} changed"
    for name in set(after) - {n for n in before if before[n] == after[n]}:
        try:
            ET.fromstring(after[name])
        except ET.ParseError as exc:
            raise AssertionError(f"{name} is no longer well-formed XML: {exc}") from None
    sheet = case.sheet_part
    assert after[sheet] != before[sheet]
    refs = {cell_ref(*where) for where in _expected(case)}
    rows = {case.row, case.cell[0]}
    assert _strip_sheet(before[sheet], refs, rows) == _strip_sheet(after[sheet], refs, rows)


@pytest.mark.parametrize("name", NAMES or ["(none)"])
def test_each_workbook_is_written_or_refused_untouched(name: str, tmp_path: Path) -> None:
    _need_the_set()
    case = _prepare(name, tmp_path / "book")
    if case.refusal:
        message = _check_refused(case)
        assert name in EXPECTED_REFUSALS, f"refused: {message}"
        assert EXPECTED_REFUSALS[name] in message
        return
    assert name not in EXPECTED_REFUSALS, "written, though expected to be refused"
    _check_written(case)
    expected = _expected(case)
    with zipfile.ZipFile(case.source) as zf:
        styled = "xl/styles.xml" in zf.namelist()
    read_back = 0
    for label, read in (("calamine", _calamine), ("openpyxl", _openpyxl)):
        try:
            read(case.source, case.sheet, {})
        except Exception:  # the reader cannot open the original either
            continue
        got = read(case.path, case.sheet, expected)
        for where, value in expected.items():
            assert _same(got[where], value, styled), (label, cell_ref(*where), got[where], value)
        read_back += 1
    assert read_back or case.name in UNREADABLE


def test_the_index_matches_the_files() -> None:
    _need_the_set()
    assert len(NAMES) >= 100 and len(set(NAMES)) == len(NAMES)
    assert len({Path(n).stem.lower() for n in NAMES}) == len(NAMES), "LibreOffice names by stem"
    for row in INDEX:
        data = (FOREIGN / row["filename"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == row["sha256"], row["filename"]
        assert len(data) == int(row["bytes"])
        assert row["license"] and row["commit"]


def test_libreoffice_reads_every_written_workbook(soffice: str, tmp_path: Path) -> None:
    _need_the_set()
    written = []
    for i, name in enumerate(n for n in NAMES if n not in LIBREOFFICE_CANNOT_OPEN):
        case = _prepare(name, tmp_path / "in" / str(i))
        if case.refusal:
            continue
        try:
            patch_workbook(case.path, case.changes)
        except Exception:  # reported by the per-workbook test
            continue
        written.append(case)
    outputs = convert([c.path for c in written], "xlsx", tmp_path / "lo")
    wrong = []
    for case, output in zip(written, outputs, strict=True):
        expected = _expected(case)
        try:
            got = _calamine(output, case.sheet, expected)
        except Exception as exc:
            wrong.append((case.name, repr(exc)))
            continue
        wrong += [(case.name, cell_ref(*w), got[w], v) for w, v in expected.items()
                  if not _same(got[w], v)]
    assert not wrong, "\n".join(map(str, wrong))
