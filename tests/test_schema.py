import re

from refdesk.schema import LIST_SEPARATOR, SHEETS, SHEETS_BY_NAME, Kind
from tests.conftest import ROOT, need

DESIGN = ROOT.parent / "shared" / "DESIGN.md"


def design_columns() -> dict[str, list[str]]:
    """The columns DESIGN.md lists for each sheet, parentheses and prose removed."""
    text = DESIGN.read_text(encoding="utf-8")
    section = text[text.index("## The workbook"):text.index("The practice itself")]
    found = {}
    for name, body in re.findall(r"- \*\*(\w+)\*\*[^:]*: (.*?)(?=\n- \*\*|\Z)", section, re.S):
        body = re.sub(r"\([^)]*\)", "", body.replace("\n", " "))
        body = body.split(". ")[0].rstrip(". ")
        if name == "Letters":
            body = body.split(":", 1)[1]
        found[name] = [c.strip() for c in body.split(",") if c.strip()]
    return found


def test_every_sheet_and_column_of_the_design_is_declared():
    need(DESIGN.is_file(), f"{DESIGN} is not there")
    design = design_columns()
    assert set(design) == set(SHEETS_BY_NAME)
    for name, columns in design.items():
        declared = SHEETS_BY_NAME[name].column_names
        assert [c for c in columns if c not in declared] == [], name


def test_testimonials_as_the_foundation_issue_lists_them():
    assert SHEETS_BY_NAME["Testimonials"].column_names == [
        "testimonial_id", "client_id", "quote", "condition", "permission_on"]


def test_keys_references_and_lists_are_consistent():
    for sheet in SHEETS:
        if sheet.key:
            assert sheet.column(sheet.key).kind is Kind.ID
        for column in sheet.references:
            target = SHEETS_BY_NAME[column.ref]
            assert target.key, f"{sheet.name}.{column.name} refers to a sheet without ids"
            assert column.kind is Kind.ID
        for column in sheet.columns:
            values = column.choices or column.suggestions
            # Excel keeps a drop-down's inline list under 256 characters.
            assert len(",".join(values)) < 256, column.name
            assert all(LIST_SEPARATOR not in v and "," not in v for v in values)
            assert column.hint, f"{sheet.name}.{column.name} needs a hint"


def test_health_information_is_marked():
    marked = {(s.name, c.name) for s in SHEETS for c in s.columns if c.health}
    assert {("Referrals", "diagnosis"), ("Clients", "focus"), ("Testimonials", "condition"),
            ("Clients", "notes"), ("Referrals", "notes"), ("Visits", "notes")} <= marked
