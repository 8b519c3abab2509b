import openpyxl
import pytest

from refdesk.newbook import README_SHEET
from refdesk.office import convert
from refdesk.schema import SHEETS, Kind
from tests.conftest import run


@pytest.fixture
def new_book(tmp_path):
    path = tmp_path / "practice.xlsx"
    result = run("init", path)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Created {path}.")
    return path


def list_validations(ws) -> dict[str, list[str]]:
    """Column header -> drop-down values, for every list validation of the sheet."""
    header = {cell.column_letter: cell.value for cell in ws[1]}
    found = {}
    for dv in ws.data_validations.dataValidation:
        if dv.type == "list":
            letter = str(dv.sqref).split(":")[0].rstrip("0123456789")
            found[header[letter]] = dv.formula1.strip('"').split(",")
    return found


def test_sheets_headers_tables_and_frozen_rows(new_book):
    wb = openpyxl.load_workbook(new_book)
    assert wb.sheetnames == [README_SHEET] + [s.name for s in SHEETS]
    for sheet in SHEETS:
        ws = wb[sheet.name]
        assert [c.value for c in ws[1]] == sheet.column_names
        assert ws.freeze_panes == "A2"
        assert set(ws.tables) == {sheet.name}
        assert ws.tables[sheet.name].ref.startswith("A1:")
        # openpyxl folds neighbouring columns of equal settings into one min..max entry.
        dims = {i: d for d in ws.column_dimensions.values() for i in range(d.min, d.max + 1)}
        for i, column in enumerate(sheet.columns, start=1):
            assert dims[i].width >= column.width
            if column.kind is Kind.DATE:
                assert dims[i].number_format == "yyyy-mm-dd"
            if column.kind is Kind.ID:
                assert dims[i].number_format == "@"
            if column.kind in (Kind.NUMBER, Kind.INT):
                # A number format, never text ("@"): a score typed there is a number.
                assert dims[i].number_format == ("General" if column.kind is Kind.NUMBER
                                                 else "0"), (sheet.name, column.name)


def test_every_column_has_an_input_hint(new_book):
    wb = openpyxl.load_workbook(new_book)
    for sheet in SHEETS:
        validations = wb[sheet.name].data_validations.dataValidation
        prompts = {dv.promptTitle: dv.prompt for dv in validations}
        assert set(prompts) == set(sheet.column_names)
        for column in sheet.columns:
            assert column.hint in prompts[column.name]


def test_every_closed_list_has_a_drop_down(new_book):
    wb = openpyxl.load_workbook(new_book)
    for sheet in SHEETS:
        drop_downs = list_validations(wb[sheet.name])
        for column in sheet.columns:
            if column.closed:
                assert drop_downs[column.name] == list(column.choices), (sheet.name, column.name)
        strict = {dv.promptTitle: dv.showErrorMessage
                  for dv in wb[sheet.name].data_validations.dataValidation if dv.type == "list"}
        for column in sheet.columns:
            if column.closed:
                # A single choice refuses other values; several-per-cell lists must allow typing.
                assert strict[column.name] is (not column.multi)


def test_outcome_columns_take_ratings_measures_and_card_answers(new_book):
    from refdesk.schema import MEASURES, YES_NO

    wb = openpyxl.load_workbook(new_book)
    visits = wb["Visits"]
    header = {cell.value: cell.column_letter for cell in visits[1]}
    by_column = {dv.promptTitle: dv for dv in visits.data_validations.dataValidation}
    for name in ("pain_before", "pain_after"):
        dv = by_column[name]
        # "between" is the file format's default operator, so it is left unwritten.
        assert (dv.type, dv.operator or "between") == ("whole", "between")
        assert (dv.formula1, dv.formula2) == ("0", "10")
        assert str(dv.sqref) == f"{header[name]}2:{header[name]}1048576"
        assert dv.showErrorMessage and dv.errorTitle == "Not a rating"
        assert dv.error == "Type a whole number from 0 (no pain) to 10 (the worst imaginable)."
        assert dv.prompt.endswith("A whole number from 0 to 10.")
    # Scores are numbers with a hint, not text and not a list.
    assert by_column["measure_score"].type is None
    measure = {dv.promptTitle: dv for dv in wb["Referrals"].data_validations.dataValidation}
    assert list_validations(wb["Referrals"])["measure"] == list(MEASURES)
    assert not measure["measure"].showErrorMessage  # an open list: other measures typed
    assert measure["measure"].prompt.endswith("Pick one or type your own.")
    card = {dv.promptTitle: dv for dv in wb["Clients"].data_validations.dataValidation}
    assert list_validations(wb["Clients"])["client_card"] == list(YES_NO)
    assert card["client_card"].showErrorMessage


def test_read_me_explains_every_sheet(new_book):
    ws = openpyxl.load_workbook(new_book)[README_SHEET]
    text = [str(c.value) for row in ws.iter_rows() for c in row if c.value]
    for sheet in SHEETS:
        assert sheet.name in text and sheet.description in text


def test_refuses_to_overwrite(new_book):
    before = new_book.read_bytes()
    result = run("init", new_book)
    assert result.exit_code == 2
    assert result.stderr == (f"Error: {new_book}: already exists; refdesk init never overwrites "
                             "a file. Choose another name or move the old file away first.\n")
    assert new_book.read_bytes() == before
    assert [p.name for p in new_book.parent.iterdir()] == [new_book.name]


def test_refuses_wrong_suffix_and_missing_folder(tmp_path):
    result = run("init", tmp_path / "book.xls")
    assert result.exit_code == 2 and "a new workbook must end in .xlsx" in result.stderr
    result = run("init", tmp_path / "nowhere" / "book.xlsx")
    assert result.exit_code == 2
    assert result.stderr == f"Error: {tmp_path / 'nowhere'}: no such folder. Create it first.\n"


def test_new_workbook_reads_as_an_empty_book(new_book):
    result = run("--quiet", "summary", "--workbook", new_book, "--json")
    assert result.exit_code == 0
    import json
    records = json.loads(result.stdout)
    assert [r["sheet"] for r in records] == [s.name for s in SHEETS]
    assert all(r["rows"] == 0 and r["present"] for r in records)


def test_libreoffice_opens_it_with_every_sheet_header_and_drop_down(new_book, soffice, tmp_path):
    # LibreOffice opens our file and saves its own copy; what it kept is what it understood.
    (resaved,) = convert([new_book], "xlsx", tmp_path / "lo")
    wb = openpyxl.load_workbook(resaved)
    assert wb.sheetnames == [README_SHEET] + [s.name for s in SHEETS]
    for sheet in SHEETS:
        ws = wb[sheet.name]
        assert [c.value for c in ws[1]] == sheet.column_names
        drop_downs = list_validations(ws)
        for column in sheet.columns:
            if column.closed:
                assert drop_downs[column.name] == list(column.choices), (sheet.name, column.name)


def test_constant_memory_mode_writes_headers_and_rows(tmp_path):
    from refdesk.newbook import write_workbook
    from refdesk.sources.excel import ExcelSource

    rows = ({"provider_id": f"P{i}", "name": f"N{i}", "stage": "prospect"} for i in range(3))
    path = write_workbook(tmp_path / "big.xlsx", {"Providers": rows}, counts={"Providers": 3},
                          constant_memory=True)
    providers = ExcelSource(path).read()["Providers"]
    assert providers.df["provider_id"].tolist() == ["P0", "P1", "P2"]
    assert providers.cell(4, "stage") == "Providers!O4"
