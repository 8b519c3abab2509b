"""The safe write path against real third-party workbooks (../shared/corpus/xlsx/).

Each workbook gets one cell change and one appended row. Then: every part the change did not
need comes out with the same content; the parts it changed differ only in the changed cells,
the new row, the sheet dimension, the table range, one added date format and the
recalculate-on-open flag; openpyxl and calamine read the new values back; LibreOffice opens
every result. Workbooks the writer cannot handle safely are refused and left as they were.
"""

from __future__ import annotations

import datetime as dt
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
from refdesk.xlsxpatch import AppendRows, SetCell, _Planner, patch_workbook, plan_patch
from refdesk.xlsxpatch.package import Package
from refdesk.xlsxpatch.sheet import SheetXml
from refdesk.xlsxpatch.xmltext import cell_ref, split_range
from tests.conftest import CORPUS, need

XLSX = CORPUS / "xlsx"
#: What the writer refuses, and the words its message must carry.
REFUSED = {"calamine__strict_iso_paths.xlsx": "Strict Open XML"}
TEXT = 'refdesk ✓ <b>&amp; "quoted" =1+1'
ROW = ["refdesk row", 42, dt.date(2026, 11, 23)]
M = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


@dataclass
class Case:
    name: str
    source: Path
    path: Path
    sheet: str = ""
    sheet_part: str = ""
    cell: tuple[int, int] = (0, 0)
    row: int = 0
    first_col: int = 1
    values: list = field(default_factory=list)
    table: str | None = None
    table_part: str | None = None
    refusal: str = ""
    parts: list[str] = field(default_factory=list)
    before: dict[str, bytes] = field(default_factory=dict)
    after: dict[str, bytes] = field(default_factory=dict)
    backup: bytes | None = None
    refused: str = ""  # what the writer said when given a workbook it refuses
    left_alone: bool = False  # that workbook's bytes, and no backup of it, after the refusal


def _candidates(xml: SheetXml) -> list[tuple[int, int]]:
    """Existing value cells below row 1, then a few fixed spots."""
    found = []
    for row in xml.rows:
        if row.number < 2:
            continue
        for cell in xml.cells(row):
            if cell.has_value and not cell.has_formula:
                found.append((row.number, cell.col))
        if len(found) >= 20:
            break
    return found + [(2, 2), (3, 3), (5, 8), (20, 26)]


def _choose(case: Case) -> None:
    """The first worksheet, cell and table the writer accepts (it refuses formulas, merged
    cells, table headers, pivot tables and protected sheets); else record its refusal."""
    pkg = Package(case.path)
    try:
        try:
            book = pkg.workbook()
        except WriteError as exc:
            case.refusal = exc.message
            return
        states = []
        for entry in book.sheets:
            if entry.kind != "worksheet":
                continue
            try:
                states.append(_Planner(pkg).sheet(entry.name))
            except WriteError as exc:
                case.refusal = exc.message
        # Sheets holding a pivot table come last: the pivot's owner (Excel, LibreOffice)
        # redraws it on opening, over whatever was written next to it.
        for state in sorted(states, key=lambda s: bool(s.pivots)):
            entry = state.entry
            tables = state.tables or [None]
            for table in tables:
                width = (table.c2 - table.c1 + 1) if table else 3
                values = ROW[:min(3, width)]
                for cell in _candidates(state.xml):
                    changes = [SetCell(entry.name, cell_ref(*cell), TEXT),
                               AppendRows(entry.name, [values],
                                          table=table.name if table else None)]
                    try:
                        _, result = plan_patch(pkg, changes)
                    except WriteError as exc:
                        case.refusal = exc.message
                        continue
                    case.sheet, case.sheet_part, case.cell = entry.name, entry.part, cell
                    case.row = result.appended[entry.name][0]
                    case.values, case.first_col = values, table.c1 if table else 1
                    case.table = table.name if table else None
                    case.table_part = table.part if table else None
                    case.refusal = ""
                    return
    finally:
        pkg.close()


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        return {i.filename: zf.read(i) for i in zf.infolist()}


def _canonical(root: ET.Element) -> str:
    return ET.canonicalize(ET.tostring(root, encoding="unicode"))


def _strip_sheet(data: bytes, refs: set[str], rows: set[int]) -> str:
    """The sheet without its dimension, spans, the given cells and, if left empty, the
    given rows: what must be equal before and after."""
    root = ET.fromstring(data)
    for dim in root.findall(f"{M}dimension"):
        root.remove(dim)
    data_el = root.find(f"{M}sheetData")
    assert data_el is not None
    for row in list(data_el):
        row.attrib.pop("spans", None)
        for cell in list(row):
            if cell.get("r") in refs:
                row.remove(cell)
        if int(row.get("r", "0")) in rows and len(row) == 0:
            data_el.remove(row)
    return _canonical(root)


def _strip_table(data: bytes) -> str:
    root = ET.fromstring(data)
    for key in ("ref", "insertRow", "insertRowShift"):
        root.attrib.pop(key, None)
    for auto in root.iter(f"{M}autoFilter"):
        auto.attrib.pop("ref", None)
    return _canonical(root)


def _strip_styles(data: bytes, keep: int) -> str:
    root = ET.fromstring(data)
    xfs = root.find(f"{M}cellXfs")
    assert xfs is not None
    for extra in list(xfs)[keep:]:
        # a date format, or General for a value unlike the row above (a number below a date)
        assert extra.get("numFmtId") in ("0", "14", "22"), "only date or General formats"
        xfs.remove(extra)
    xfs.attrib.pop("count", None)
    return _canonical(root)


def _strip_workbook(data: bytes) -> str:
    root = ET.fromstring(data)
    for calc in root.findall(f"{M}calcPr"):
        calc.attrib.pop("fullCalcOnLoad", None)
        if not calc.attrib:
            root.remove(calc)
    return _canonical(root)


def _check_parts(case: Case, before: dict[str, bytes], after: dict[str, bytes]) -> None:
    assert list(after)[:len(before)] == list(before), "parts keep their names and order"
    added = set(after) - set(before)
    changed = {n for n in before if before[n] != after[n]}
    assert case.sheet_part in changed
    row, col = case.cell
    appended = {cell_ref(case.row, case.first_col + i) for i in range(len(case.values))}
    refs = {cell_ref(row, col)} | appended
    rows = {case.row, row}
    assert _strip_sheet(before[case.sheet_part], refs, rows) == \
        _strip_sheet(after[case.sheet_part], refs, rows)
    allowed = {case.sheet_part}
    if case.table_part in changed:
        allowed.add(case.table_part)
        assert _strip_table(before[case.table_part]) == _strip_table(after[case.table_part])
    styles = [n for n in changed | added if n.endswith("styles.xml")]
    for name in styles:
        allowed.add(name)
        if name in before:
            old = ET.fromstring(before[name]).find(f"{M}cellXfs")
            assert old is not None
            assert _strip_styles(before[name], len(old)) == _strip_styles(after[name], len(old))
    if added:  # a workbook without a styles part gets one, announced in two lists
        assert {Path(n).name for n in added} == {"styles.xml"}
        for listing in ("[Content_Types].xml", "xl/_rels/workbook.xml.rels"):
            assert listing in changed
            allowed.add(listing)
            assert after[listing].replace(b"</", b"\n</").count(b"\n") >= \
                before[listing].replace(b"</", b"\n</").count(b"\n")
    workbook = [n for n in changed if n.endswith("workbook.xml")]
    for name in workbook:
        allowed.add(name)
        assert _strip_workbook(before[name]) == _strip_workbook(after[name])
    assert changed <= allowed, f"unexpected parts changed: {sorted(changed - allowed)}"
    case.parts = sorted(changed | added)


def _expect_cells(case: Case) -> dict[tuple[int, int], object]:
    cells: dict[tuple[int, int], object] = {case.cell: TEXT}
    for i, value in enumerate(case.values):
        cells[(case.row, case.first_col + i)] = value
    return cells


def _same(read: object, expected: object) -> bool:
    if isinstance(expected, dt.date):
        return isinstance(read, dt.date) and dt.date(read.year, read.month, read.day) == expected
    if isinstance(expected, int):
        return isinstance(read, int | float) and not isinstance(read, bool) and read == expected
    return read == expected


def _calamine_values(path: Path, sheet: str, cells: dict) -> dict:
    ws = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet)
    grid = ws.to_python(skip_empty_area=False)
    found = {}
    for row, col in cells:
        r, c = row - 1, col - 1
        found[(row, col)] = grid[r][c] if r < len(grid) and c < len(grid[r]) else None
    return found


def _openpyxl_values(path: Path, sheet: str, cells: dict) -> dict:
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        ws = wb[sheet]
        return {(r, c): ws.cell(r, c).value for r, c in cells}
    finally:
        wb.close()


@pytest.fixture(scope="module")
def patched(tmp_path_factory: pytest.TempPathFactory) -> list[Case]:
    need(XLSX.is_dir(), f"the shared corpus is not at {XLSX}")
    folder = tmp_path_factory.mktemp("corpus")
    cases = []
    for source in sorted(XLSX.glob("*.xls[xm]")):
        case = Case(source.name, source, folder / source.name)
        shutil.copyfile(source, case.path)
        _choose(case)
        _write(case)
        cases.append(case)
    return cases


def _write(case: Case) -> None:
    """The write every test below looks at, made once here (whichever test runs first)."""
    case.before = _parts(case.path)
    if case.refusal:
        original = case.path.read_bytes()
        with pytest.raises(WriteError) as err:
            patch_workbook(case.path, [SetCell("Sheet1", "B2", TEXT)])
        backups = case.path.parent / ".refdesk-backups"
        case.refused = err.value.message
        case.left_alone = case.path.read_bytes() == original and (
            not backups.exists()
            or not any(p.name.startswith(case.path.stem + "-") for p in backups.iterdir()))
        return
    result = patch_workbook(case.path, [
        SetCell(case.sheet, cell_ref(*case.cell), TEXT),
        AppendRows(case.sheet, [case.values], table=case.table)])
    case.backup = result.backup.read_bytes() if result.backup is not None else None
    case.after = _parts(case.path)


def test_the_corpus_is_all_there(patched: list[Case]) -> None:
    assert len(patched) == 62


def test_every_workbook_is_changed_or_refused_untouched(patched: list[Case]) -> None:
    refused = {}
    for case in patched:
        if case.refusal:
            assert case.left_alone, case.name
            refused[case.name] = case.refused
            continue
        assert case.backup == case.source.read_bytes(), case.name
        _check_parts(case, case.before, case.after)
    assert set(refused) == set(REFUSED), refused
    for name, words in REFUSED.items():
        assert words in refused[name]


def test_changed_values_read_back_with_two_readers(patched: list[Case]) -> None:
    readers = {"calamine": _calamine_values, "openpyxl": _openpyxl_values}
    checked = {name: 0 for name in readers}
    unreadable: dict[str, list[str]] = {name: [] for name in readers}
    for case in patched:
        if case.refusal:
            continue
        expected = _expect_cells(case)
        for name, read in readers.items():
            try:
                read(case.source, case.sheet, expected)
            except Exception:
                unreadable[name].append(case.name)  # the reader fails on the original too
                continue
            got = read(case.path, case.sheet, expected)
            for where, value in expected.items():
                assert _same(got[where], value), (name, case.name, cell_ref(*where),
                                                  got[where], value)
            checked[name] += 1
    written = sum(1 for c in patched if not c.refusal)
    # calamine does not open workbooks with an Excel 4.0 macro sheet, the original included
    assert unreadable == {"calamine": ["poi__xlmmacro.xlsm"], "openpyxl": []}
    assert checked == {"calamine": written - 1, "openpyxl": written}


def test_libreoffice_opens_every_result(patched: list[Case], soffice: str,
                                        tmp_path: Path) -> None:
    written = [c for c in patched if not c.refusal]
    outputs = convert([c.path for c in written], "xlsx", tmp_path / "lo")
    for case, output in zip(written, outputs, strict=True):
        expected = _expect_cells(case)
        got = _calamine_values(output, case.sheet, expected)
        for where, value in expected.items():
            assert _same(got[where], value), (case.name, cell_ref(*where), got[where], value)


def test_the_table_grows_with_the_appended_row(patched: list[Case]) -> None:
    grown = 0
    for case in patched:
        if case.refusal or case.table_part is None:
            continue
        with zipfile.ZipFile(case.path) as zf:
            root = ET.fromstring(zf.read(case.table_part))
        r1, _, r2, _ = split_range(root.get("ref", ""))
        assert r1 < case.row <= r2, case.name
        grown += 1
    assert grown >= 5
