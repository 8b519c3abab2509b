"""The write path on workbooks written by other programs, each zip written by hand so that the
XML is exactly what such a program writes: single-quoted attributes, namespace prefixes,
formula ranges, odd part names, neighbours' number formats and ids stored as numbers."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import fastexcel
import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from refdesk.errors import SourceError, WriteError
from refdesk.sources.excel import check_workbook_file
from refdesk.xlsxpatch import (
    AppendRows,
    SetCell,
    SetField,
    _pivot_location,
    patch_workbook,
    plan_patch,
)
from refdesk.xlsxpatch import styles as styles_module
from refdesk.xlsxpatch.package import OLE_MAGIC, Package
from refdesk.xlsxpatch.styles import Styles

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"

#: cellXfs: 0 General, 1 a date (14), 2 text (@), 3 bold + `0.00`, 4 bold + `yyyy-mm-dd`.
STYLES = (
    f"<styleSheet xmlns='{MAIN}'><numFmts count='2'><numFmt numFmtId='164' formatCode='0.00'/>"
    "<numFmt numFmtId='165' formatCode='yyyy\\-mm\\-dd'/></numFmts>"
    "<fonts count='2'><font><sz val='11'/></font><font><b/><sz val='11'/></font></fonts>"
    "<fills count='1'><fill><patternFill patternType='none'/></fill></fills>"
    "<borders count='1'><border/></borders>"
    "<cellStyleXfs count='1'><xf numFmtId='0' fontId='0' fillId='0' borderId='0'/></cellStyleXfs>"
    "<cellXfs count='5'><xf numFmtId='0' fontId='0' fillId='0' borderId='0' xfId='0'/>"
    "<xf numFmtId='14' fontId='0' fillId='0' borderId='0' xfId='0' applyNumberFormat='1'/>"
    "<xf numFmtId='49' fontId='0' fillId='0' borderId='0' xfId='0' applyNumberFormat='1'/>"
    "<xf numFmtId='164' fontId='1' fillId='0' borderId='0' xfId='0' applyNumberFormat='1'/>"
    "<xf numFmtId='165' fontId='1' fillId='0' borderId='0' xfId='0' applyNumberFormat='1'/>"
    "</cellXfs></styleSheet>")


def _rels(*items: tuple[str, str, str]) -> str:
    body = "".join(f"<Relationship Id='{i}' Type='{REL}/{kind}' Target='{target}'/>"
                   for i, kind, target in items)
    return f"<Relationships xmlns='{PKG}'>{body}</Relationships>"


def write_book(path: Path, sheet: str, *, workbook: str = "xl/workbook.xml", sep: str = "/",
               sheet_target: str = "worksheets/sheet1.xml", root_target: str | None = None,
               workbook_xml: str | None = None, table: str | None = None,
               styles: str = STYLES, rels: str | None = None) -> Path:
    """One sheet named Sheet1 (the XML given), a styles part (STYLES unless given),
    optionally a table; `rels` replaces the workbook part's relationships."""
    folder, _, name = workbook.rpartition("/")
    base = folder + "/" if folder else ""
    book = workbook_xml or (f"<workbook xmlns='{MAIN}' xmlns:r='{REL}'><sheets>"
                            "<sheet name='Sheet1' sheetId='1' r:id='rId1'/></sheets></workbook>")
    parts = {
        "[Content_Types].xml": (
            "<Types xmlns='http://schemas.openxmlformats.org/package/2006/content-types'>"
            "<Default Extension='rels' ContentType='application/vnd.openxmlformats-package."
            "relationships+xml'/><Default Extension='xml' ContentType='application/xml'/>"
            f"<Override PartName='/{workbook}' ContentType='{CT}.sheet.main+xml'/>"
            f"<Override PartName='/{base}worksheets/sheet1.xml' ContentType='{CT}.worksheet+xml'/>"
            f"<Override PartName='/{base}styles.xml' ContentType='{CT}.styles+xml'/></Types>"),
        "_rels/.rels": _rels(("rId1", "officeDocument", root_target or workbook)),
        workbook: book,
        f"{base}_rels/{name}.rels": rels or _rels(("rId1", "worksheet", sheet_target),
                                                  ("rId2", "styles", "styles.xml")),
        f"{base}worksheets/sheet1.xml": sheet,
        f"{base}styles.xml": styles,
    }
    if table is not None:
        parts[f"{base}worksheets/_rels/sheet1.xml.rels"] = _rels(
            ("rId1", "table", "../tables/table1.xml"))
        parts[f"{base}tables/table1.xml"] = table
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for part, data in parts.items():
            zf.writestr(part.replace("/", sep), data)
    return path


def sheet_xml(rows: str, *, root: str = f"<worksheet xmlns='{MAIN}'>", p: str = "",
              head: str = "", tail: str = "") -> str:
    return f"{root}{head}<{p}sheetData>{rows}</{p}sheetData>{tail}</{p}worksheet>"


def _part(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read(name)


def _grid(path: Path) -> list[list]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Sheet1").to_python(
        skip_empty_area=False)


def _text_grid(path: Path) -> list[list]:
    """What refdesk's reader sees: every cell as text."""
    sheet = fastexcel.read_excel(path).load_sheet("Sheet1", header_row=None, dtypes="string")
    return sheet.to_pandas().fillna("").values.tolist()


def _refused(path: Path, change: object, words: str) -> WriteError:
    before = path.read_bytes()
    with pytest.raises(WriteError) as err:
        patch_workbook(path, [change])
    assert words in err.value.message
    assert err.value.message.endswith("Nothing was written.")
    assert path.read_bytes() == before
    return err.value


def _inline(text: str, q: str = "'") -> str:
    return f"t={q}inlineStr{q}><is><t>{text}</t></is>"


# -- 1. single quotes and prefixes ------------------------------------------------------------
#: (root element, prefix of the rows and cells): default namespace, `x:`, and a writer that
#: declares both and mixes them.
PREFIXES = {
    "default": (f"<worksheet xmlns='{MAIN}'>", "", ""),
    "x": (f"<x:worksheet xmlns:x='{MAIN}'>", "x:", "x:"),
    "mixed": (f"<worksheet xmlns='{MAIN}' xmlns:x='{MAIN}'>", "", "x:"),
}


@pytest.mark.parametrize("style", sorted(PREFIXES))
def test_single_quoted_attributes_and_prefixes_are_read(tmp_path: Path, style: str) -> None:
    root, p, q = PREFIXES[style]  # q: the prefix the rows and cells use
    rows = (f"<{q}row r='1' spans='1:2'><{q}c r='A1' {_inline('id')}</{q}c>"
            f"<{q}c r='B1' {_inline('name')}</{q}c></{q}row>"
            f"<{q}row r='8' spans='1:2'><{q}c r='A8' {_inline('P1')}</{q}c>"
            f"<{q}c r='B8' s='3'><{q}v>3</{q}v></{q}c></{q}row>")
    rows = rows.replace("<is><t>", f"<{q}is><{q}t>").replace("</t></is>", f"</{q}t></{q}is>")
    sheet = sheet_xml(rows, root=root, p=p, head=f"<{p}dimension ref='A1:B8'/>",
                      tail=f"<{p}sheetProtection sheet='0'/>")
    path = write_book(tmp_path / "book.xlsx", sheet)
    patch_workbook(path, [SetField("Sheet1", "id", "P1", "name", "Ann"),
                          AppendRows("Sheet1", [["P2", "Bo"]])])
    raw = _part(path, "xl/worksheets/sheet1.xml")
    ET.fromstring(raw)  # a duplicated attribute would not parse
    assert b"<" + q.encode() + b"row r='8'" in raw, "the row's own tag is kept"
    assert b"dimension ref=\"A1:B9\"" in raw or b"dimension ref='A1:B9'" in raw
    assert _grid(path) == [["id", "name"], *[[""] * 2] * 6, ["P1", "Ann"], ["P2", "Bo"]]
    assert openpyxl.load_workbook(path)["Sheet1"]["B8"].value == "Ann"


def test_a_row_without_r_among_single_quoted_cells_gets_one_number(tmp_path: Path) -> None:
    sheet = sheet_xml("<row><c r='A1' t='inlineStr'><is><t>id</t></is></c></row>"
                      "<row spans='1:1'><c><v>1</v></c></row>")
    path = write_book(tmp_path / "book.xlsx", sheet)
    patch_workbook(path, [SetCell("Sheet1", "B2", "x"), SetCell("Sheet1", "A4", "y")])
    raw = _part(path, "xl/worksheets/sheet1.xml")
    ET.fromstring(raw)
    assert b'<row r="2" spans="1:2">' in raw
    assert _grid(path) == [["id", ""], [1.0, "x"], ["", ""], ["y", ""]]


def test_single_quoted_protection_merges_and_calc_settings_are_seen(tmp_path: Path) -> None:
    rows = "<row r='1'><c r='A1'><f>1+1</f><v>2</v></c></row>"
    protected = sheet_xml(rows, tail="<sheetProtection password='CC1A' sheet='1'/>")
    _refused(write_book(tmp_path / "p.xlsx", protected), SetCell("Sheet1", "B2", "x"),
             "Sheet1 is protected")
    merged = sheet_xml(rows, tail="<mergeCells count='1'><mergeCell ref='B2:C3'/></mergeCells>")
    _refused(write_book(tmp_path / "m.xlsx", merged), SetCell("Sheet1", "C3", "x"),
             "Sheet1!C3 is inside the merged cells B2:C3")
    book = (f"<workbook xmlns='{MAIN}' xmlns:r='{REL}'><sheets><sheet name='Sheet1' "
            "sheetId='1' r:id='rId1'/></sheets><calcPr calcId='191029' fullCalcOnLoad='0'/>"
            "</workbook>")
    path = write_book(tmp_path / "c.xlsx", sheet_xml(rows), workbook_xml=book)
    patch_workbook(path, [SetCell("Sheet1", "B2", "x")])
    calc = ET.fromstring(_part(path, "xl/workbook.xml")).find(f"{{{MAIN}}}calcPr")
    assert calc is not None and calc.attrib == {"calcId": "191029", "fullCalcOnLoad": "1"}


def test_a_single_quoted_table_grows(tmp_path: Path) -> None:
    table = (f"<x:table xmlns:x='{MAIN}' id='1' name='T' displayName='People' ref='A1:B2' "
             "insertRow='1'><x:autoFilter ref='A1:B2'/><x:tableColumns count='2'>"
             "<x:tableColumn id='1' name='id'/><x:tableColumn id='2' name='when'/>"
             "</x:tableColumns></x:table>")
    rows = (f"<row r='1'><c r='A1' {_inline('id')}</c><c r='B1' {_inline('when')}</c></row>"
            f"<row r='2'><c r='A2' {_inline('a')}</c><c r='B2' s='1'><v>46000</v></c></row>")
    path = write_book(tmp_path / "book.xlsx", sheet_xml(rows), table=table)
    patch_workbook(path, [AppendRows("Sheet1", [{"id": "b", "when": dt.date(2026, 1, 2)}])])
    raw = _part(path, "xl/tables/table1.xml")
    root = ET.fromstring(raw)
    assert root.get("ref") == "A1:B3" and root.get("insertRow") is None
    assert root.find(f"{{{MAIN}}}autoFilter").get("ref") == "A1:B3"
    assert _grid(path)[2] == ["b", dt.date(2026, 1, 2)]


def test_a_single_quoted_pivot_location_is_read() -> None:
    pivot = (f"<p:pivotTableDefinition xmlns:p='{MAIN}' name='Sums' cacheId='1'>"
             "<p:location ref='D3:E9' firstHeaderRow='1'/></p:pivotTableDefinition>").encode()
    assert _pivot_location(pivot) == ("Sums", (3, 4, 9, 5))


# -- 2. cells Excel computes from one formula -------------------------------------------------
FORMULA_ROWS = (
    "<row r='1'><c r='A1'><v>1</v></c></row>"
    "<row r='2'><c r='A2'><v>2</v></c><c r='B2'><f t='array' ref='B2:B5'>A2:A5*2</f><v>4</v></c>"
    "<c r='C2'><f t='shared' ref='C2:C9' si='0'>A2+1</f><v>3</v></c>"
    "<c r='E2'><f t='dataTable' ref='E2:F4' dt2D='0' dtr='0' r1='A1'/><v>7</v></c></row>"
    "<row r='3'><c r='B3'><v>6</v></c><c r='C3'><f t='shared' si='0'/><v>4</v></c>"
    "</row><row r='4'><c r='C4'><v>9</v></c></row>")


@pytest.mark.parametrize("cell,words", [
    ("B3", "Sheet1!B3 is inside the array formula B2:B5 (entered in B2)"),
    ("B5", "Sheet1!B5 is inside the array formula B2:B5"),
    ("C3", "Sheet1!C3 holds a formula"),
    ("C4", "Sheet1!C4 is inside the shared formula C2:C9"),
    ("C9", "Sheet1!C9 is inside the shared formula C2:C9"),
    ("F4", "Sheet1!F4 is inside the data table E2:F4"),
    ("B2", "Sheet1!B2 holds a formula"),
])
def test_cells_inside_formula_ranges_are_refused(tmp_path: Path, cell: str, words: str) -> None:
    path = write_book(tmp_path / "book.xlsx", sheet_xml(FORMULA_ROWS))
    _refused(path, SetCell("Sheet1", cell, 1), words)


def test_cells_beside_formula_ranges_may_be_set(tmp_path: Path) -> None:
    path = write_book(tmp_path / "book.xlsx", sheet_xml(FORMULA_ROWS))
    patch_workbook(path, [SetCell("Sheet1", "B6", 1), SetCell("Sheet1", "D3", 2),
                          SetCell("Sheet1", "G2", 3)])
    grid = _grid(path)
    assert (grid[5][1], grid[2][3], grid[1][6]) == (1.0, 2.0, 3.0)


# -- 3. where the parts are ------------------------------------------------------------------
ROWS = ("<row r='1'><c r='A1' t='inlineStr'><is><t>id</t></is></c></row>"
        "<row r='2'><c r='A2'><v>7</v></c></row>")

#: Layouts Excel and calamine both open: refdesk reads and writes them, names kept.
READABLE = {
    "backslash entries": {"sep": "\\"},
    "absolute targets": {"sheet_target": "/xl/worksheets/sheet1.xml"},
    "targets in another case": {"sheet_target": "Worksheets/SHEET1.xml"},
    "an absolute workbook target": {"root_target": "/xl/workbook.xml"},
    "another folder": {"workbook": "spreadsheet/workbook.xml"},
}


@pytest.mark.parametrize("layout", sorted(READABLE))
def test_layouts_the_reader_opens_are_written_with_their_names(tmp_path: Path,
                                                               layout: str) -> None:
    path = write_book(tmp_path / "book.xlsx", sheet_xml(ROWS), **READABLE[layout])
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
    check_workbook_file(path)
    result = patch_workbook(path, [SetCell("Sheet1", "B2", "new"),
                                   AppendRows("Sheet1", [[8, dt.date(2026, 1, 2)]])])
    with zipfile.ZipFile(path) as zf:
        assert zf.namelist() == names, "entries keep their names"
    assert set(result.parts) <= set(names)
    assert _text_grid(path)[:3] == [["id", ""], ["7", "new"], ["8", "2026-01-02 00:00:00"]]


#: Layouts calamine (refdesk's reader) cannot open: refused up front, with the fix.
UNREADABLE = {
    "a workbook part not named workbook.xml": (
        {"workbook": "xl/workbook2.xml"}, "named xl/workbook2.xml rather than workbook.xml"),
    "a book part elsewhere": (
        {"workbook": "spreadsheet/book.xml", "root_target": "/spreadsheet/book.xml"},
        "named spreadsheet/book.xml"),
    "backslash sheet targets": (
        {"sheet_target": "worksheets\\sheet1.xml"}, "names its sheets with backslashes"),
}


@pytest.mark.parametrize("layout", sorted(UNREADABLE))
def test_layouts_the_reader_cannot_open_are_refused_cleanly(tmp_path: Path,
                                                            layout: str) -> None:
    options, words = UNREADABLE[layout]
    path = write_book(tmp_path / "book.xlsx", sheet_xml(ROWS), **options)
    with pytest.raises(Exception):  # noqa: B017 - the premise: fastexcel fails on these
        _text_grid(path)
    with pytest.raises(SourceError) as err:  # the reader's refusal ...
        check_workbook_file(path)
    assert words in err.value.message
    _refused(path, SetCell("Sheet1", "B2", "x"), words)  # ... is the writer's too
    assert "save it as Excel Workbook" in _refused(path, SetCell("Sheet1", "B2", "x"),
                                                   words).message
    # The package itself is still understood: the parts are found through relationships.
    pkg = Package(path)
    try:
        new, _ = plan_patch(pkg, [SetCell("Sheet1", "B2", "x")])
    finally:
        pkg.close()
    assert len(new) == 1 and "sheet1.xml" in next(iter(new))


def test_a_word_document_is_not_taken_for_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "letter.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types xmlns='http://schemas.openxmlformats.org/"
                    "package/2006/content-types'/>")
        zf.writestr("_rels/.rels", _rels(("rId1", "officeDocument", "word/document.xml")))
        zf.writestr("word/document.xml", "<document/>")
    with pytest.raises(SourceError, match="not an Excel workbook"):
        check_workbook_file(path)


# -- 4. the row above's number format, for values of the same kind ----------------------------
def _styled_rows() -> str:
    """Row 2: a date (style 1), text formatted `@` (2), a bold `0.00` number (3), a bold
    `yyyy-mm-dd` date (4) and an unformatted number (0)."""
    header = "".join(f"<c r='{c}1' {_inline(c.lower())}</c>" for c in "ABCDE")
    return (f"<row r='1'>{header}</row><row r='2'><c r='A2' s='1'><v>46000</v></c>"
            f"<c r='B2' s='2' {_inline('x')}</c><c r='C2' s='3'><v>1.5</v></c>"
            "<c r='D2' s='4'><v>46001</v></c><c r='E2'><v>5</v></c></row>")


def test_an_appended_value_keeps_the_row_aboves_format_only_when_of_its_kind(
        tmp_path: Path) -> None:
    path = write_book(tmp_path / "book.xlsx", sheet_xml(_styled_rows()))
    patch_workbook(path, [AppendRows("Sheet1", [
        [12, dt.date(2026, 1, 2), "text", 7, "a note"],    # each unlike the cell above
        [dt.date(2026, 1, 3), "text", 2.25, dt.date(2026, 1, 4), 8],  # each like it
    ])])
    ws = openpyxl.load_workbook(path)["Sheet1"]
    unlike = [ws.cell(3, c) for c in range(1, 6)]
    assert [c.number_format for c in unlike] == ["General", "mm-dd-yy", "General", "General",
                                                 "General"]
    assert unlike[0].value == 12 and not unlike[0].is_date, "a number below a date stays one"
    assert unlike[1].value == dt.datetime(2026, 1, 2), "a date below text shows as a date"
    assert unlike[2].font.b and unlike[3].font.b, "font kept when the number format goes"
    like = [ws.cell(4, c) for c in range(1, 6)]
    assert [c.number_format for c in like] == ["mm-dd-yy", "@", "0.00", "yyyy\\-mm\\-dd",
                                               "General"]
    assert _grid(path)[2][0] == 12.0 and _grid(path)[3][0] == dt.date(2026, 1, 3)


def test_plain_formats_are_added_once_per_style(tmp_path: Path) -> None:
    path = write_book(tmp_path / "book.xlsx", sheet_xml(_styled_rows()))
    patch_workbook(path, [AppendRows("Sheet1", [[1, dt.date(2026, 1, 2), "a", 2, "b"]] * 3)])
    xfs = ET.fromstring(_part(path, "xl/styles.xml")).find(f"{{{MAIN}}}cellXfs")
    added = list(xfs)[5:]
    assert xfs.get("count") == str(len(xfs))
    # General copies of A, C and D's formats; B's text format becomes a date one
    assert sorted(x.get("numFmtId") for x in added) == ["0", "0", "0", "14"]


# -- 5. ids, however they are stored ----------------------------------------------------------
@pytest.mark.parametrize("stored,asked", [
    ("<c r='A2'><v>1</v></c>", "1"),
    ("<c r='A2'><v>1.0</v></c>", "1"),
    ("<c r='A2'><v>1E0</v></c>", "1"),
    (f"<c r='A2' {_inline(' 1 ')}</c>", "1"),
    ("<c r='A2'><v>1</v></c>", "1.0"),
    ("<c r='A2'><v>1</v></c>", " 1 "),
    ("<c r='A2'><v>0.30000000000000004</v></c>", "0.3"),
    (f"<c r='A2' {_inline('0042')}</c>", "0042"),
])
def test_ids_match_as_the_reader_shows_them(tmp_path: Path, stored: str, asked: str) -> None:
    rows = (f"<row r='1'><c r='A1' {_inline('id')}</c><c r='B1' {_inline('name')}</c></row>"
            f"<row r='2'>{stored}</row><row r='3'><c r='A3'><v>2</v></c></row>")
    path = write_book(tmp_path / "book.xlsx", sheet_xml(rows))
    shown = _text_grid(path)[1][0]
    patch_workbook(path, [SetField("Sheet1", "id", asked, "name", "found")])
    assert _text_grid(path)[1] == [shown, "found"]


def test_ids_that_only_look_alike_stay_apart(tmp_path: Path) -> None:
    rows = (f"<row r='1'><c r='A1' {_inline('id')}</c><c r='B1' {_inline('name')}</c></row>"
            f"<row r='2'><c r='A2'><v>42</v></c></row>")
    path = write_book(tmp_path / "book.xlsx", sheet_xml(rows))
    err = _refused(path, SetField("Sheet1", "id", "0042", "name", "x"), "no row has id '0042'")
    assert "deleted or renamed" in err.message


# -- 6. number formats a workbook redefines ---------------------------------------------------
#: numFmts redefines built-in ids, as ClosedXML's test workbook does: 0 (General) shows a date,
#: 14 (a date) shows `0.00`, 49 (`@`) shows a date. Each id means what its code there says.
REDEFINED = STYLES.replace(
    "<numFmts count='2'>", "<numFmts count='5'><numFmt numFmtId='0' formatCode='dd\\.mm\\.yyyy'/>"
    "<numFmt numFmtId='14' formatCode='0.00'/><numFmt numFmtId='49' formatCode='yyyy-mm-dd'/>")


def _cell_styles(path: Path) -> dict[str, str | None]:
    sheet = ET.fromstring(_part(path, "xl/worksheets/sheet1.xml"))
    return {c.get("r"): c.get("s") for c in sheet.iter(f"{{{MAIN}}}c")}


def test_a_redefined_format_id_is_judged_by_its_code(tmp_path: Path) -> None:
    header = "".join(f"<c r='{c}1' {_inline(c.lower())}</c>" for c in "ABCD")
    # A2 has no format (so shows format 0, a date here), B2 `0.00` (id 14), C2 a date (id 49)
    rows = (f"<row r='1'>{header}</row><row r='2'><c r='A2'><v>46000</v></c>"
            "<c r='B2' s='1'><v>1.5</v></c><c r='C2' s='2'><v>46001</v></c></row>")
    path = write_book(tmp_path / "book.xlsx", sheet_xml(rows), styles=REDEFINED)
    patch_workbook(path, [AppendRows("Sheet1", [[42, dt.date(2026, 1, 2), 7, 5],
                                                [None, None, dt.date(2026, 1, 3)]])])
    assert _grid(path)[2:] == [[42.0, dt.date(2026, 1, 2), 7.0, 5.0],
                               ["", "", dt.date(2026, 1, 3), ""]]
    styles = ET.fromstring(_part(path, "xl/styles.xml"))
    formats = styles.find(f"{{{MAIN}}}numFmts")
    codes = {int(f.get("numFmtId")): f.get("formatCode") for f in formats}
    assert formats.get("count") == str(len(formats)) and codes[166] == "General"
    xfs = list(styles.find(f"{{{MAIN}}}cellXfs"))
    shown = {ref: xfs[int(s or 0)].get("numFmtId") for ref, s in _cell_styles(path).items()}
    # numbers get the new General (id 0 is a date here); the date reuses the workbook's own
    # yyyy-mm-dd (id 14 is `0.00` here); a date below a date keeps its format
    assert (shown["A3"], shown["B3"], shown["C3"], shown["D3"]) == ("166", "165", "166", "166")
    assert _cell_styles(path)["C4"] == "2"


#: Hancom writes an xf in mc:AlternateContent: a Choice using its own `hs:` namespace, declared
#: on the Choice only, and a plain Fallback. Cell format 1 is that block; 2 follows it.
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
HS = "http://schemas.haansoft.com/office/spreadsheet/8.0"
HANCOM_XF = (f"<mc:AlternateContent xmlns:mc='{MC}'><mc:Choice xmlns:hs='{HS}' Requires='hs'>"
             "<xf numFmtId='0' fontId='1' fillId='0' borderId='0' xfId='0' hs:applyExtension='1'>"
             "<alignment horizontal='center'/><hs:parashape hs:condense='0'/></xf></mc:Choice>"
             "<mc:Fallback><xf numFmtId='0' fontId='1' fillId='0' borderId='0' xfId='0'>"
             "<alignment horizontal='center'/></xf></mc:Fallback></mc:AlternateContent>")
HANCOM = (STYLES.split("<cellXfs ")[0] + "<cellXfs count='3'><xf numFmtId='0' fontId='0' "
          f"fillId='0' borderId='0' xfId='0'/>{HANCOM_XF}<xf numFmtId='0' fontId='0' fillId='0' "
          "borderId='1' xfId='0'/></cellXfs></styleSheet>")


def test_formats_inside_alternate_content_are_copied_from_the_fallback(tmp_path: Path) -> None:
    rows = (f"<row r='1'><c r='A1' {_inline('a')}</c><c r='B1' {_inline('b')}</c></row>"
            "<row r='2'><c r='A2' s='1'><v>5</v></c><c r='B2' s='2'><v>6</v></c></row>")
    path = write_book(tmp_path / "book.xlsx", sheet_xml(rows), styles=HANCOM)
    patch_workbook(path, [AppendRows("Sheet1", [[dt.date(2026, 1, 2), dt.date(2026, 1, 3)]])])
    raw = _part(path, "xl/styles.xml")
    cell_xfs = ET.fromstring(raw).find(f"{{{MAIN}}}cellXfs")  # parses: no unbound prefix
    assert b"hs:" not in raw[raw.rindex(b"</mc:AlternateContent>"):], "no Choice copied"
    # Excel and LibreOffice count the block once: the index written names a date copy of
    # the fallback (font 1 kept) ...
    children = list(cell_xfs)
    a3, b3 = (int(s) for s in (_cell_styles(path)["A3"], _cell_styles(path)["B3"]))
    assert children[a3].tag == children[b3].tag == f"{{{MAIN}}}xf"
    assert (children[a3].get("numFmtId"), children[a3].get("fontId")) == ("14", "1")
    assert (children[b3].get("numFmtId"), children[b3].get("borderId")) == ("14", "1")
    assert cell_xfs.get("count") == str(len(children))
    # ... and so does calamine, which counts the Choice and the Fallback apart
    assert _grid(path)[2] == [dt.date(2026, 1, 2), dt.date(2026, 1, 3)]


def test_a_format_found_only_in_a_choice_carries_its_namespace() -> None:
    only_choice = HANCOM.replace(HANCOM_XF, HANCOM_XF.split("<mc:Fallback>")[0]
                                 + "</mc:AlternateContent>")
    styles = Styles(only_choice.encode())
    new = styles.date_style(1, with_time=False)
    root = ET.fromstring(styles.patched())
    added = list(root.find(f"{{{MAIN}}}cellXfs"))[new]
    assert added.get("numFmtId") == "14" and added.get(f"{{{HS}}}applyExtension") == "1"


def test_a_format_that_would_not_parse_where_it_lands_is_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    only_choice = HANCOM.replace(HANCOM_XF, HANCOM_XF.split("<mc:Fallback>")[0]
                                 + "</mc:AlternateContent>")
    monkeypatch.setattr(styles_module, "_carry_namespaces", lambda xf, context, declared: xf)
    styles = Styles(only_choice.encode())
    styles.date_style(1, with_time=False)
    with pytest.raises(WriteError, match="unbound prefix") as err:
        styles.patched()
    assert err.value.message.endswith("Nothing was written.")


# -- 7. files no reader opens, refused before anything is written -----------------------------
def test_a_sheet_whose_part_is_missing_is_refused_naming_it(tmp_path: Path) -> None:
    book = (f"<workbook xmlns='{MAIN}' xmlns:r='{REL}'><sheets><sheet name='Sheet1' "
            "sheetId='1' r:id='rId7'/></sheets></workbook>")
    cases = {
        "no relationship": ({"workbook_xml": book}, "the sheet Sheet1 has no part in the file "
                            "(its relationship rId7 is missing from xl/_rels/workbook.xml.rels)"),
        "no part": ({"rels": _rels(("rId1", "worksheet", "worksheets/gone.xml"))},
                    "the part xl/worksheets/gone.xml holding the sheet Sheet1 is missing"),
    }
    for name, (options, words) in cases.items():
        path = write_book(tmp_path / f"{name}.xlsx", sheet_xml(ROWS), **options)
        with pytest.raises(Exception):  # noqa: B017 - the premise: fastexcel fails on these
            _text_grid(path)
        with pytest.raises(SourceError) as err:
            check_workbook_file(path)
        assert words in err.value.message
        refused = _refused(path, SetCell("Sheet1", "B2", "x"), words)
        assert "Restore the workbook from a backup" in refused.message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["no part.xlsx", "no relationship.xlsx"]


def test_an_encrypted_or_missing_file_is_a_write_error_for_the_writer(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    path.write_bytes(OLE_MAGIC + b"\0" * 512)  # how Excel stores a password-protected .xlsx
    with pytest.raises(SourceError, match="password-protected"):
        check_workbook_file(path)
    _refused(path, SetCell("Sheet1", "A1", "x"), "password-protected (encrypted)")
    assert list(tmp_path.iterdir()) == [path], "no backup, no temporary file"
    with pytest.raises(WriteError) as err:
        patch_workbook(tmp_path / "nope.xlsx", [SetCell("Sheet1", "A1", "x")])
    assert "no such file" in err.value.message
    assert err.value.message.endswith("Nothing was written.")


def test_rows_numbered_from_0_are_refused_saying_so(tmp_path: Path) -> None:
    rows = (f"<row r='0'><c r='A0' {_inline('id')}</c></row>"
            "<row r='1'><c r='A1'><v>1</v></c></row>")
    path = write_book(tmp_path / "book.xlsx", sheet_xml(rows))
    err = _refused(path, AppendRows("Sheet1", [[2]]), "Sheet1: the sheet stores a row numbered "
                   "0, which Excel never writes (its rows start at 1)")
    assert "out of order" not in err.message and "Excel Workbook (.xlsx)" in err.message


# -- 8. no import circle ------------------------------------------------------------------------
def test_the_writer_imports_without_the_reader() -> None:
    import subprocess
    import sys

    code = ("import sys, refdesk.xlsxpatch; assert 'refdesk.sources.excel' not in sys.modules; "
            "from refdesk.sources.excel import check_workbook_file, OLE_MAGIC")
    subprocess.run([sys.executable, "-c", code], check=True)
