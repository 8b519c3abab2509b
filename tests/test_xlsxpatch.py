"""The safe write path on workbooks made for each case: values, rows by id, tables, styles,
refusals, backups. The real-world workbooks are in test_xlsxpatch_corpus.py, crashes in
test_xlsxpatch_crash.py."""

from __future__ import annotations

import datetime as dt
import decimal
import os
import random
import stat
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from refdesk.errors import WorkbookBusyError, WriteError
from refdesk.sources.excel import ExcelSource
from refdesk.xlsxpatch import AppendRows, SetCell, SetField, fingerprint, patch_workbook
from refdesk.xlsxpatch.safety import BACKUP_DIR, backups_of
from refdesk.xlsxpatch.xmltext import decode_xstring
from tests.conftest import ROOT

ADVERSARIAL = [
    "=1+1", "+SUM(A1:A9)", "-5", "@user", "=HYPERLINK(\"http://x\")",
    "<b>bold</b> & <i>&amp;</i>", "Smith & Jones <Clinic>", "{{ provider.name }}",
    "{% if x %}{% endif %}", "{#", "a\x01b\x1fc\x07", "line1\r\nline2", "cr\ronly", "tab\there",
    "  leading and trailing  ", "\n", "_x0041_ looks escaped", "_x005F_", "a\x00b",
    "]]> <![CDATA[ x", "&#65; &lt;", "'quoted", "0042", "1e5", "TRUE", "#N/A",
    "emoji 👩‍⚕️🩺 and 𝄞", "中文 العربية עברית ελληνικά", "x" * 32_767, "é" * 32_767,
    "🩺" * 16_383,
]


def _book(path: Path, build) -> Path:
    wb = xlsxwriter.Workbook(path)
    build(wb)
    wb.close()
    return path


def _people(path: Path, ids: list[str] | None = None, *, table: bool = True) -> Path:
    """A sheet of people with ids, in an Excel table, plus a sheet of notes."""
    ids = ids or ["P001", "P002", "P003"]

    def build(wb: xlsxwriter.Workbook) -> None:
        ws = wb.add_worksheet("People")
        rows = [[i, f"Person {i}", None] for i in ids]
        if table:
            ws.add_table(0, 0, len(rows), 2, {"name": "People", "data": rows, "columns": [
                {"header": "person_id"}, {"header": "name"}, {"header": "called_on"}]})
        else:
            ws.write_row(0, 0, ["person_id", "name", "called_on"])
            for r, row in enumerate(rows, start=1):
                ws.write_row(r, 0, row[:2])
        notes = wb.add_worksheet("Notes")
        notes.write_row(0, 0, ["id", "text"])

    return _book(path, build)


def _calamine(path: Path, sheet: str) -> list[list]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python(
        skip_empty_area=False)


def _openpyxl(path: Path, sheet: str):
    return openpyxl.load_workbook(path)[sheet]


def _part(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read(name)


# -- values ------------------------------------------------------------------------------
def test_adversarial_text_reads_back_identical(tmp_path: Path) -> None:
    path = _people(tmp_path / "book.xlsx")
    patch_workbook(path, [AppendRows("Notes", [[str(i), v] for i, v in enumerate(ADVERSARIAL)])])
    grid = _calamine(path, "Notes")
    ws = _openpyxl(path, "Notes")
    for i, value in enumerate(ADVERSARIAL):
        assert grid[i + 1][1] == value, (i, value[:40])
        cell = ws.cell(i + 2, 2)
        assert cell.data_type == "s", "text is never a formula"
        # openpyxl returns the stored text; ECMA-376's _xHHHH_ escapes are undone by hand
        assert decode_xstring(cell.value) == value, (i, value[:40])
    raw = _part(path, "xl/worksheets/sheet2.xml")
    assert b"<f>" not in raw and b"<f " not in raw


def test_adversarial_text_reads_back_through_refdesks_reader(tmp_path: Path) -> None:
    import fastexcel

    path = _people(tmp_path / "book.xlsx")
    patch_workbook(path, [AppendRows("Notes", [[str(i), v] for i, v in enumerate(ADVERSARIAL)])])
    frame = fastexcel.read_excel(path).load_sheet("Notes", dtypes="string").to_pandas()
    assert frame["text"].tolist() == ADVERSARIAL


@pytest.mark.parametrize("text,length", [("x" * 32_768, "32,768"), ("🩺" * 16_384, "32,768")])
def test_text_longer_than_excel_allows_names_the_cell(tmp_path: Path, text: str,
                                                      length: str) -> None:
    path = _people(tmp_path / "book.xlsx")
    before = path.read_bytes()
    with pytest.raises(WriteError) as err:
        patch_workbook(path, [SetCell("Notes", "B2", text)])
    assert err.value.message.startswith("Notes!B2: the text is " + length)
    assert "32,767" in err.value.message
    assert path.read_bytes() == before
    assert not (tmp_path / BACKUP_DIR).exists()


@pytest.mark.parametrize("value", ["\ud800 lone", "not a char \uffff"])
def test_text_no_file_can_hold_is_refused(tmp_path: Path, value: str) -> None:
    path = _people(tmp_path / "book.xlsx")
    with pytest.raises(WriteError, match="Notes!C3"):
        patch_workbook(path, [SetCell("Notes", "C3", value)])


def test_numbers_booleans_and_dates_are_stored_as_what_they_are(tmp_path: Path) -> None:
    path = _people(tmp_path / "book.xlsx")
    values = [42, -3.25, decimal.Decimal("19.99"), True, dt.date(2026, 11, 23),
              dt.datetime(2026, 11, 23, 14, 5), 1234567890]
    patch_workbook(path, [AppendRows("Notes", [values])])
    ws = _openpyxl(path, "Notes")
    got = [ws.cell(2, c).value for c in range(1, len(values) + 1)]
    assert got == [42, -3.25, 19.99, True, dt.datetime(2026, 11, 23),
                   dt.datetime(2026, 11, 23, 14, 5), 1234567890]
    assert ws.cell(2, 5).is_date and ws.cell(2, 6).is_date
    assert ws.cell(2, 1).data_type == "n" and ws.cell(2, 4).data_type == "b"
    grid = _calamine(path, "Notes")
    assert grid[1][4] == dt.date(2026, 11, 23)
    assert grid[1][5] == dt.datetime(2026, 11, 23, 14, 5)


def test_dates_in_a_1904_workbook(tmp_path: Path) -> None:
    def build(wb: xlsxwriter.Workbook) -> None:
        wb.add_worksheet("Notes").write_row(0, 0, ["id", "when"])

    path = tmp_path / "mac.xlsx"
    wb = xlsxwriter.Workbook(path, {"date_1904": True})
    build(wb)
    wb.close()
    patch_workbook(path, [AppendRows("Notes", [["a", dt.date(2026, 11, 23)]])])
    assert _openpyxl(path, "Notes").cell(2, 2).value == dt.datetime(2026, 11, 23)
    assert _calamine(path, "Notes")[1][1] == dt.date(2026, 11, 23)


@pytest.mark.parametrize("value,words", [
    (float("nan"), "not a number"), (float("inf"), "not a number"),
    (10**16, "more than 15 digits"), (object(), "not a object"),
    (dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "time zone"), (dt.date(1899, 1, 1), "earlier"),
])
def test_values_excel_cannot_hold_are_refused(tmp_path: Path, value: object,
                                              words: str) -> None:
    path = _people(tmp_path / "book.xlsx")
    with pytest.raises(WriteError, match="Notes!B2") as err:
        patch_workbook(path, [SetCell("Notes", "B2", value)])
    assert words in err.value.message


def test_a_date_keeps_the_columns_own_date_format(tmp_path: Path) -> None:
    def build(wb: xlsxwriter.Workbook) -> None:
        ws = wb.add_worksheet("Notes")
        ws.write_row(0, 0, ["id", "when"])
        ws.set_column(1, 1, 12, wb.add_format({"num_format": "yyyy-mm-dd"}))

    path = _book(tmp_path / "book.xlsx", build)
    styles_before = _part(path, "xl/styles.xml")
    patch_workbook(path, [AppendRows("Notes", [["a", dt.date(2026, 11, 23)]])])
    assert _part(path, "xl/styles.xml") == styles_before, "no new format was needed"
    assert _openpyxl(path, "Notes").cell(2, 2).number_format == "yyyy-mm-dd"


# -- rows by id ----------------------------------------------------------------------------
def test_a_field_is_set_on_the_row_with_that_id_wherever_it_is(tmp_path: Path) -> None:
    ids = [f"P{n:03d}" for n in range(1, 41)]
    random.Random(7).shuffle(ids)  # the user sorted the sheet another way
    path = _people(tmp_path / "book.xlsx", ids)
    patch_workbook(path, [SetField("People", "person_id", "P017", "called_on",
                                   dt.date(2026, 11, 20)),
                          SetField("People", "Person ID", "P002", "Called On", "left message")])
    ws = _openpyxl(path, "People")
    rows = {ws.cell(r, 1).value: ws.cell(r, 3).value for r in range(2, 42)}
    assert rows.pop("P017") == dt.datetime(2026, 11, 20)
    assert rows.pop("P002") == "left message"
    assert set(rows.values()) == {None}


def test_ids_typed_as_numbers_are_found(tmp_path: Path) -> None:
    def build(wb: xlsxwriter.Workbook) -> None:
        ws = wb.add_worksheet("People")
        ws.write_row(0, 0, ["person_id", "name"])
        ws.write_row(1, 0, [17, "Ann"])
        ws.write_row(2, 0, [18, "Bo"])

    path = _book(tmp_path / "book.xlsx", build)
    patch_workbook(path, [SetField("People", "person_id", "18", "name", "Bob")])
    assert _openpyxl(path, "People")["B3"].value == "Bob"


def test_a_missing_or_repeated_id_is_refused(tmp_path: Path) -> None:
    path = _people(tmp_path / "book.xlsx", ["P001", "P002", "P001"])
    with pytest.raises(WriteError, match="P009") as err:
        patch_workbook(path, [SetField("People", "person_id", "P009", "name", "x")])
    assert "no row has person_id" in err.value.message
    with pytest.raises(WriteError, match="rows 2, 4"):
        patch_workbook(path, [SetField("People", "person_id", "P001", "name", "x")])
    with pytest.raises(WriteError, match="no column 'phone'") as err:
        patch_workbook(path, [SetField("People", "person_id", "P002", "phone", "x")])
    assert "called_on, name, person_id" in err.value.message


# -- rows appended ---------------------------------------------------------------------------
def test_appended_rows_extend_the_table(tmp_path: Path) -> None:
    path = _people(tmp_path / "book.xlsx")
    result = patch_workbook(path, [
        AppendRows("People", [{"person_id": "P004", "name": "Dee"},
                              {"person_id": "P005", "called_on": dt.date(2026, 1, 2)}]),
        AppendRows("People", [["P006", "Eve"]])])
    assert result.appended == {"People": (5, 7)}
    ws = _openpyxl(path, "People")
    assert ws.tables["People"].ref == "A1:C7"
    assert ws.tables["People"].autoFilter.ref == "A1:C7"
    assert [ws.cell(r, 1).value for r in range(2, 8)] == [f"P00{i}" for i in range(1, 7)]
    assert ws.cell(6, 3).value == dt.datetime(2026, 1, 2)
    assert ws.max_row == 7
    assert b'<dimension ref="A1:C7"/>' in _part(path, "xl/worksheets/sheet1.xml")


def test_rows_go_after_the_last_row_with_data_when_there_is_no_table(tmp_path: Path) -> None:
    path = _people(tmp_path / "book.xlsx", table=False)
    patch_workbook(path, [AppendRows("People", [["P004", "Dee"]])])
    grid = _calamine(path, "People")
    assert grid[4][:2] == ["P004", "Dee"]


def test_an_empty_sheet_gets_its_first_rows(tmp_path: Path) -> None:
    def build(wb: xlsxwriter.Workbook) -> None:
        wb.add_worksheet("Blank")

    path = _book(tmp_path / "book.xlsx", build)
    assert b"<sheetData/>" in _part(path, "xl/worksheets/sheet1.xml")
    patch_workbook(path, [SetCell("Blank", "A1", "id"), AppendRows("Blank", [["a"], ["b"]])])
    assert _calamine(path, "Blank") == [["id"], ["a"], ["b"]]
    assert b'<dimension ref="A1:A3"/>' in _part(path, "xl/worksheets/sheet1.xml")


def test_data_just_below_a_table_is_never_overwritten(tmp_path: Path) -> None:
    def build(wb: xlsxwriter.Workbook) -> None:
        ws = wb.add_worksheet("People")
        ws.add_table(0, 0, 1, 1, {"name": "People", "data": [["P1", "Ann"]],
                                  "columns": [{"header": "id"}, {"header": "name"}]})
        ws.write(2, 1, "a note under the table")

    path = _book(tmp_path / "book.xlsx", build)
    before = path.read_bytes()
    with pytest.raises(WriteError, match="row 3 already holds data"):
        patch_workbook(path, [AppendRows("People", [["P2", "Bo"]])])
    assert path.read_bytes() == before


def test_a_table_with_a_totals_row_is_refused(tmp_path: Path) -> None:
    def build(wb: xlsxwriter.Workbook) -> None:
        ws = wb.add_worksheet("Fees")
        ws.add_table(0, 0, 2, 1, {"name": "Fees", "total_row": True, "data": [["a", 1]],
                                  "columns": [{"header": "item", "total_string": "Total"},
                                              {"header": "fee", "total_function": "sum"}]})

    path = _book(tmp_path / "book.xlsx", build)
    with pytest.raises(WriteError, match="totals row"):
        patch_workbook(path, [AppendRows("Fees", [["b", 2]])])


# -- what the writer refuses to touch --------------------------------------------------------
def _guarded(wb: xlsxwriter.Workbook) -> None:
    ws = wb.add_worksheet("Sums")
    ws.write_row(0, 0, ["a", "b"])
    ws.write_formula("C1", "=A1&B1")
    ws.merge_range("A3:B3", "merged")
    ws.add_table(4, 0, 5, 1, {"name": "T", "data": [["x", "y"]]})
    locked = wb.add_worksheet("Locked")
    locked.protect()
    chart = wb.add_chart({"type": "bar"})
    chart.add_series({"values": "=Sums!$A$1:$B$1"})
    wb.add_chartsheet("Chart").set_chart(chart)


@pytest.mark.parametrize("change,words", [
    (SetCell("Sums", "C1", "x"), "Sums!C1 holds a formula"),
    (SetCell("Sums", "B3", "x"), "inside the merged cells A3:B3"),
    (SetCell("Sums", "B5", "x"), "header of the table T"),
    (SetCell("Locked", "A1", "x"), "Locked is protected"),
    (SetCell("Chart", "A1", "x"), "Chart is a chart sheet"),
    (SetCell("Nope", "A1", "x"), "no sheet named 'Nope' (sheets: Sums, Locked, Chart)"),
    (SetCell("Sums", "B0", "x"), "not a cell address"),
    (AppendRows("Sums", [["x"]], table="Other"), "no table named 'Other'"),
])
def test_refusals_name_the_place_and_write_nothing(tmp_path: Path, change, words: str) -> None:
    path = _book(tmp_path / "book.xlsx", _guarded)
    before = path.read_bytes()
    with pytest.raises(WriteError) as err:
        patch_workbook(path, [change])
    assert words in err.value.message
    assert "Nothing was written" in err.value.message
    assert err.value.exit_code == 2
    assert path.read_bytes() == before
    assert not (tmp_path / BACKUP_DIR).exists()


def test_a_merged_cells_anchor_may_be_set(tmp_path: Path) -> None:
    path = _book(tmp_path / "book.xlsx", _guarded)
    patch_workbook(path, [SetCell("Sums", "A3", "anchor")])
    assert _openpyxl(path, "Sums")["A3"].value == "anchor"


def test_strict_open_xml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "strict.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("_rels/.rels", (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://purl.oclc.org/ooxml/officeDocument/'
            'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'))
        zf.writestr("xl/workbook.xml",
                    '<workbook xmlns="http://purl.oclc.org/ooxml/spreadsheetml/main"/>')
    with pytest.raises(WriteError, match="Strict Open XML"):
        patch_workbook(path, [SetCell("Sheet1", "A1", "x")])


# -- part-level promises ----------------------------------------------------------------------
def test_only_the_changed_sheet_part_differs(tmp_path: Path) -> None:
    path = _people(tmp_path / "book.xlsx")
    with zipfile.ZipFile(path) as zf:
        before = {i.filename: zf.read(i) for i in zf.infolist()}
    result = patch_workbook(path, [SetCell("Notes", "B1", "text")])
    with zipfile.ZipFile(path) as zf:
        after = {i.filename: zf.read(i) for i in zf.infolist()}
    assert list(after) == list(before)
    assert result.parts == ["xl/worksheets/sheet2.xml"]
    assert [n for n in before if before[n] != after[n]] == ["xl/worksheets/sheet2.xml"]


def test_formulas_are_recalculated_when_excel_next_opens_the_file(tmp_path: Path) -> None:
    path = _book(tmp_path / "book.xlsx", _guarded)
    patch_workbook(path, [SetCell("Sums", "A1", "new")])
    assert b'fullCalcOnLoad="1"' in _part(path, "xl/workbook.xml")
    plain = _people(tmp_path / "plain.xlsx")
    before = _part(plain, "xl/workbook.xml")
    patch_workbook(plain, [SetCell("Notes", "A2", "x")])
    assert _part(plain, "xl/workbook.xml") == before


def test_rows_and_cells_without_numbers_keep_their_places(tmp_path: Path) -> None:
    """Some writers leave out r= on rows and cells; inserting one must not shift the rest."""
    path = _people(tmp_path / "book.xlsx", table=False)
    sheet = ('<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             '<sheetData><row><c t="inlineStr"><is><t>a</t></is></c>'
             '<c t="inlineStr"><is><t>c</t></is></c></row>'
             '<row><c><v>1</v></c></row><row r="5"><c><v>5</v></c></row>'
             '</sheetData></worksheet>')
    _replace_part(path, "xl/worksheets/sheet2.xml", sheet.encode())
    patch_workbook(path, [SetCell("Notes", "C1", "new"), SetCell("Notes", "A3", "three"),
                          SetCell("Notes", "B2", 2)])
    assert _calamine(path, "Notes") == [["a", "c", "new"], [1.0, 2.0, ""],
                                        ["three", "", ""], ["", "", ""], [5.0, "", ""]]


def test_a_namespace_prefix_is_kept(tmp_path: Path) -> None:
    path = _people(tmp_path / "book.xlsx", table=False)
    sheet = ('<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             '<x:dimension ref="A1"/><x:sheetData><x:row r="1"><x:c r="A1" t="inlineStr">'
             '<x:is><x:t>id</x:t></x:is></x:c></x:row></x:sheetData></x:worksheet>')
    _replace_part(path, "xl/worksheets/sheet2.xml", sheet.encode())
    patch_workbook(path, [AppendRows("Notes", [{"id": "n1"}])])
    raw = _part(path, "xl/worksheets/sheet2.xml")
    assert b'<x:row r="2"' in raw and b"<x:is><x:t>n1</x:t></x:is>" in raw
    assert _calamine(path, "Notes") == [["id"], ["n1"]]


def _replace_part(path: Path, name: str, data: bytes) -> None:
    with zipfile.ZipFile(path) as zf:
        parts = [(i, zf.read(i)) for i in zf.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, body in parts:
            zf.writestr(info, data if info.filename == name else body)


# -- safety -----------------------------------------------------------------------------------
@pytest.mark.parametrize("lock,app", [("~$book.xlsx", "Excel"), (".~lock.book.xlsx#",
                                                                  "LibreOffice")])
def test_a_workbook_open_elsewhere_is_refused(tmp_path: Path, lock: str, app: str) -> None:
    path = _people(tmp_path / "book.xlsx")
    (tmp_path / lock).write_text("owner")
    before = path.read_bytes()
    with pytest.raises(WorkbookBusyError) as err:
        patch_workbook(path, [SetCell("Notes", "A2", "x")])
    assert err.value.exit_code == 1
    assert f"open in {app}" in err.value.message and "close it there" in err.value.message
    assert lock in err.value.message
    assert path.read_bytes() == before
    assert not (tmp_path / BACKUP_DIR).exists()


def test_a_workbook_saved_since_it_was_read_is_refused(tmp_path: Path) -> None:
    path = _people(tmp_path / "book.xlsx")
    source = ExcelSource(path)
    source.fingerprint = fingerprint(path)
    _people(tmp_path / "other.xlsx", ["P009"]).replace(path)  # the user saved in Excel
    saved = path.read_bytes()
    with pytest.raises(WorkbookBusyError) as err:
        source.write([SetField("People", "person_id", "P001", "name", "x")])
    assert err.value.exit_code == 1
    assert "changed since refdesk read it" in err.value.message
    assert "run the command again" in err.value.message
    assert path.read_bytes() == saved


def test_a_source_writes_twice_after_one_read(tmp_path: Path) -> None:
    path = _people(tmp_path / "book.xlsx")
    source = ExcelSource(path)
    source.fingerprint = fingerprint(path)
    source.write([SetField("People", "person_id", "P001", "name", "Ann")])
    source.write([SetField("People", "person_id", "P002", "name", "Bo")])
    ws = _openpyxl(path, "People")
    assert (ws["B2"].value, ws["B3"].value) == ("Ann", "Bo")


def test_backups_the_last_twenty_private_and_whole(tmp_path: Path) -> None:
    path = _people(tmp_path / "book.xlsx")
    os.chmod(path, 0o640)
    originals = []
    start = dt.datetime(2026, 11, 23, 9, 0)
    for n in range(23):
        originals.append(path.read_bytes())
        result = patch_workbook(path, [SetCell("Notes", "A2", n)],
                                now=start + dt.timedelta(minutes=n))
        assert result.backup is not None and result.backup.read_bytes() == originals[-1]
    kept = backups_of(path)
    assert len(kept) == 20
    assert [p.read_bytes() for p in kept] == originals[3:]
    assert kept[0].name == "book-20261123-090300-000000.xlsx"
    assert stat.S_IMODE((tmp_path / BACKUP_DIR).stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == [BACKUP_DIR, "book.xlsx"]


def test_no_change_writes_nothing(tmp_path: Path) -> None:
    path = _people(tmp_path / "book.xlsx")
    before = path.stat().st_mtime_ns
    result = patch_workbook(path, [AppendRows("Notes", [])])
    assert not result.written and result.backup is None
    assert path.stat().st_mtime_ns == before
    assert not (tmp_path / BACKUP_DIR).exists()


def test_the_sample_workbook_keeps_reading_the_same_after_a_write(tmp_path: Path) -> None:
    path = tmp_path / "referrals.xlsx"
    path.write_bytes((ROOT / "workbooks" / "referrals.xlsx").read_bytes())
    source = ExcelSource(path)
    book = source.read()
    letters = len(book.tables["Letters"].df)
    source.write([
        SetField("Referrals", "referral_id", "R005", "thank_you_sent", dt.date(2026, 11, 23)),
        AppendRows("Letters", [{"letter_id": "L900", "when": dt.datetime(2026, 11, 23, 9),
                                "job": "thank-you", "status": "sent"}])])
    again = ExcelSource(path).read()
    assert len(again.tables["Letters"].df) == letters + 1
    referrals = again.tables["Referrals"].df.set_index("referral_id")
    assert referrals.loc["R005", "thank_you_sent"] == dt.date(2026, 11, 23) or str(
        referrals.loc["R005", "thank_you_sent"]).startswith("2026-11-23")


def test_a_damaged_part_stops_the_write_before_the_file_is_replaced(tmp_path: Path) -> None:
    path = _people(tmp_path / "book.xlsx")
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("xl/theme/theme1.xml")  # a part the write copies without reading
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start + 20, start + 60):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))
    with pytest.raises(WriteError, match="damaged") as err:
        patch_workbook(path, [SetCell("Notes", "A2", "x")])
    assert "Nothing was written" in err.value.message
    assert path.read_bytes() == bytes(data)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
