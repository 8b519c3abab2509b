"""The quick row index of a sheet whose rows are all `<row r="N"` gives the same rows as the
full pass, and refuses the same damaged sheets."""

from __future__ import annotations

import pytest

from refdesk.errors import WriteError
from refdesk.xlsxpatch.sheet import SharedStrings, SheetXml

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _sheet(rows: str) -> SheetXml:
    xml = f'<worksheet xmlns="{MAIN}"><sheetData>{rows}</sheetData></worksheet>'
    return SheetXml("Sheet1", xml.encode(), SharedStrings(None))


ROWS = ('<row r="1"><c r="A1" t="inlineStr"><is><t>id</t></is></c></row>'
        '<row r="2" spans="1:2"/>'
        '<row r="5" ht="20"><c r="A5"><v>5</v></c><c r="B5"><v>6</v></c></row>'
        '<row r="9"></row>')


def test_the_quick_index_matches_the_full_pass() -> None:
    sheet = _sheet(ROWS)
    quick = list(sheet.rows)
    assert type(sheet.rows).__name__ == "_Rows"
    assert quick == sheet._all_rows()
    assert [r.number for r in quick] == [1, 2, 5, 9]
    assert sheet.row(5) == quick[2] and sheet.row(4) is None
    assert sheet.rows[-1] == quick[-1] and sheet.rows[1:3] == quick[1:3]
    assert sheet.last_row_with_values(1, 9) == 5


@pytest.mark.parametrize(("rows", "message"), [
    ('<row r="1"></row><row r="3"></row><row r="2"></row>', "out of order"),
    ('<row r="1"></row><row r="1"></row>', "out of order"),
    ('<row r="1"></row><row r="2"><c r="A2"><v>1</v></c>', "row 2 is not closed"),
    ('<row r="1"><row r="2"/>', "row 1 is not closed"),
    ('<row r="0"></row>', "numbered 0"),
])
def test_damaged_rows_are_refused_as_before(rows: str, message: str) -> None:
    with pytest.raises(WriteError, match=message):
        _ = _sheet(rows).rows


def test_rows_in_other_forms_take_the_full_pass() -> None:
    sheet = _sheet("<row r='1'></row><row spans='1:1'></row>")
    assert [r.number for r in sheet.rows] == [1, 2]
    assert isinstance(sheet.rows, list)


def test_the_quick_id_column_reads_as_the_general_one() -> None:
    rows = ('<row r="1"><c r="A1" t="inlineStr"><is><t>id</t></is></c></row>'
            '<row r="2"><c r="A2" t="inlineStr"><is><t xml:space="preserve"> R1 </t></is></c>'
            '</row><row r="3"><c r="A3"><v>42</v></c></row>'
            '<row r="4"><c r="A4" t="inlineStr"><is><t>A &amp; B_x0041_</t></is></c></row>'
            '<row r="5"><c r="A5" t="inlineStr"><is><r><t>rich</t></r><r><t>text</t></r></is>'
            '</c></row><row r="6"><c r="A6" s="1"/><c r="AA6"><v>7</v></c></row>'
            '<row r="7"><c r="A7" t="inlineStr"><is><t></t></is></c></row>')
    sheet = _sheet(rows)
    assert sheet.column_texts(1) == {1: "id", 2: " R1 ", 3: "42", 4: "A & BA", 5: "richtext",
                                     7: ""}
    assert sheet.column_texts(27) == {6: "7"}


@pytest.mark.parametrize("inside", ["<!-- a note -->", "<![CDATA[x]]>"])
def test_comments_and_cdata_among_cells_are_refused(inside: str) -> None:
    with pytest.raises(WriteError, match="comments or CDATA"):
        _sheet(f'<row r="1">{inside}</row>')


def test_a_data_validation_formula_is_no_cell_formula() -> None:
    validation = ('<dataValidations count="1"><dataValidation type="list" sqref="B2">'
                  '<formula1>"a,b"</formula1></dataValidation></dataValidations>')
    xml = (f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1"><v>1</v></c></row>'
           f"</sheetData>{validation}</worksheet>")
    sheet = SheetXml("Sheet1", xml.encode(), SharedStrings(None))
    assert sheet.formula_free and sheet.formula_ranges() == []
    shared = _sheet('<row r="1"><c r="A1"><f t="shared" ref="A1:A3" si="0">B1</f><v>1</v></c>'
                    '</row>')
    assert not shared.formula_free
    assert shared.formula_ranges() == [("the shared formula", (1, 1, 3, 1))]
    assert not _sheet('<row r="1"><c r="A1"><f>B1</f></c></row>').formula_free
