import datetime as dt
import json
import re

import pandas as pd
import pytest

from refdesk.book import column_letter
from refdesk.errors import HeaderError, SourceError
from refdesk.newbook import write_workbook
from refdesk.schema import Kind
from refdesk.sources.excel import ExcelSource
from tests.conftest import run
from tests.helpers import headers, make_xlsx, minimal_sheets


def read(path):
    return ExcelSource(path).read()


def header_error(path) -> HeaderError:
    with pytest.raises(HeaderError) as info:
        read(path)
    return info.value


def test_column_letters():
    assert [column_letter(i) for i in (0, 25, 26, 51, 52, 701, 702, 16383)] == [
        "A", "Z", "AA", "AZ", "BA", "ZZ", "AAA", "XFD"]


def test_types_ids_and_addresses(tmp_path):
    sheets = minimal_sheets()
    sheets["Referrals"] = [
        headers("Referrals"),
        ["007", dt.datetime(2025, 3, 1), "P1", "C1", "G43.909", "deep tissue", 2, 6, 12,
         "Neck Disability Index %", 10, "in care", 45736, "2025-04-05", "4/20/2025", "ok"],
        [11, "2025-03-02", "P1", "C2", None, None, "two", 2.5, None, None, "ten", "received",
         "next Tuesday", None, None, None],
    ]
    book = read(make_xlsx(tmp_path / "w.xlsx", sheets))
    refs = book["Referrals"]
    df = refs.df
    assert list(df.index) == [2, 3]
    assert df.loc[2, "referral_id"] == "007"
    assert df.loc[3, "referral_id"] == "11"
    assert df.loc[2, "received_on"] == pd.Timestamp("2025-03-01")
    assert df.loc[3, "received_on"] == pd.Timestamp("2025-03-02")
    assert df.loc[2, "first_visit"] == pd.Timestamp("2025-03-20")  # serial 45736
    assert df.loc[2, "thank_you_sent"] == pd.Timestamp("2025-04-05")
    assert df.loc[2, "last_report_sent"] == pd.Timestamp("2025-04-20")
    assert df.loc[2, "per_week"] == 2 and str(df["per_week"].dtype) == "Int64"
    assert pd.isna(df.loc[3, "per_week"]) and pd.isna(df.loc[3, "first_visit"])
    assert df.loc[2, "goal"] == 10.0 and str(df["goal"].dtype) == "Float64"
    assert refs.cell(3, "first_visit") == "Referrals!M3"
    bad = {(b.cell, b.value, b.kind) for b in refs.bad_values}
    assert bad == {("Referrals!G3", "two", Kind.INT), ("Referrals!H3", "2.5", Kind.INT),
                   ("Referrals!K3", "ten", Kind.NUMBER),
                   ("Referrals!M3", "next Tuesday", Kind.DATE)}


def test_money_and_datetime(tmp_path):
    sheets = minimal_sheets()
    sheets["Visits"] = [headers("Visits"),
                        ["V1", "C1", "2025-01-02", None, "97124", 4, 60, "$1,200.50", 95, "card"]]
    sheets["Letters"] = [headers("Letters"),
                         ["L1", "2025-01-02 14:30:00", "thank-you", None, "P1", None, None,
                          "mail", "out/a.docx", "produced"]]
    book = read(make_xlsx(tmp_path / "w.xlsx", sheets))
    visit = book["Visits"].df.loc[2]
    assert visit["fee"] == 1200.5 and visit["paid"] == 95.0 and visit["cpt"] == "97124"
    assert book["Letters"].df.loc[2, "when"] == pd.Timestamp("2025-01-02 14:30")


def test_numbers_read_as_decimals_from_numbers_and_text(tmp_path):
    sheets = minimal_sheets()
    sheets["Visits"] = [["visit_id", "client_id", "date", "measure_score", "pain_before"],
                        ["V1", "C1", "2025-01-02", 7.5, 6],
                        ["V2", "C1", "2025-01-09", "24", "4"],
                        ["V3", "C1", "2025-01-16", " -1.25e1 ", 3],
                        ["V4", "C1", "2025-01-23", "a lot", 6.5]]
    visits = read(make_xlsx(tmp_path / "w.xlsx", sheets))["Visits"]
    scores = visits.df["measure_score"]
    assert str(scores.dtype) == "Float64" and str(visits.df["pain_before"].dtype) == "Int64"
    assert scores.tolist()[:3] == [7.5, 24.0, -12.5] and pd.isna(scores[5])
    assert {(b.cell, b.value, b.kind) for b in visits.bad_values} == {
        ("Visits!D5", "a lot", Kind.NUMBER), ("Visits!E5", "6.5", Kind.INT)}


def test_older_workbook_without_the_outcome_columns_reads_them_as_empty(tmp_path):
    new = {"Referrals": {"measure", "goal"}, "Clients": {"diagnosis", "client_card", "card_sent"},
           "Visits": {"pain_before", "pain_after", "measure_score", "subjective", "objective",
                      "assessment", "plan"}}
    sheets = {name: [[h for h in headers(name) if h not in new.get(name, ())]]
              for name in ("Providers", "Clients", "Referrals", "Visits")}
    sheets["Visits"].append(["V1", "C1", "2025-01-02"])
    book = read(make_xlsx(tmp_path / "w.xlsx", sheets))
    for name, columns in new.items():
        table = book[name]
        assert set(table.missing_columns) == columns
        assert set(columns) <= set(table.df.columns)
        assert table.df[list(columns)].isna().all(axis=None)
    assert str(book["Visits"].df["measure_score"].dtype) == "Float64"
    assert str(book["Referrals"].df["goal"].dtype) == "Float64"


def test_free_column_order_extra_columns_and_friendly_headers(tmp_path):
    cols = list(reversed(headers("Providers")))
    cols[cols.index("provider_id")] = "Provider ID"
    row = {c: None for c in cols} | {"Provider ID": "0042", "name": "Dana Whitfield",
                                     "stage": "prospect"}
    sheets = minimal_sheets()
    sheets["Providers"] = [cols + ["my rating"], [row[c] for c in cols] + [5]]
    book = read(make_xlsx(tmp_path / "w.xlsx", sheets))
    providers = book["Providers"]
    assert providers.df.loc[2, "provider_id"] == "0042"
    assert providers.df.loc[2, "my rating"] == "5"
    assert providers.extra_columns == ["my rating"]
    assert providers.letters["provider_id"] == column_letter(cols.index("Provider ID"))
    assert providers.headers["provider_id"] == "Provider ID"


def test_blank_rows_skipped_but_addresses_kept(tmp_path):
    sheets = minimal_sheets()
    stage = headers("Providers").index("stage")
    sheets["Providers"] = [headers("Providers"), ["P1", "A", *[None] * (stage - 2), "prospect"],
                           [], [], ["P2", "B", *[None] * (stage - 2), "dormant"]]
    providers = read(make_xlsx(tmp_path / "w.xlsx", sheets))["Providers"]
    assert list(providers.df.index) == [2, 5]
    assert providers.cell(5, "stage") == "Providers!O5"
    assert providers.df.loc[5, "stage"] == "dormant"


def test_sheet_not_starting_at_column_a(tmp_path):
    sheets = minimal_sheets()
    sheets["Clients"] = [headers("Clients"), ["C1", "Ann", "Lee"]]
    path = make_xlsx(tmp_path / "w.xlsx", sheets, origin=(1, 3))
    clients = read(path)["Clients"]
    assert clients.cell(2, "first_name") == "Clients!D2"
    assert clients.df.loc[2, "last_name"] == "Lee"


def test_optional_sheet_absent_reads_empty_and_names_are_case_free(tmp_path):
    sheets = {k.lower(): v for k, v in minimal_sheets().items()}
    book = read(make_xlsx(tmp_path / "w.xlsx", sheets))
    assert book["Providers"].name == "providers"
    assert not book["Visits"].present and len(book["Visits"]) == 0
    assert list(book["Visits"].df.columns) == headers("Visits")


def test_missing_required_column(tmp_path):
    sheets = minimal_sheets()
    sheets["Providers"] = [[h for h in headers("Providers") if h not in ("stage", "name")]]
    error = header_error(make_xlsx(tmp_path / "w.xlsx", sheets))
    assert error.message == (f"{tmp_path / 'w.xlsx'}: sheet Providers: missing required "
                             "columns name, stage. Add them to row 1 (spelled as here).")


def test_duplicate_header(tmp_path):
    sheets = minimal_sheets()
    sheets["Clients"] = [headers("Clients") + ["Phone"]]
    error = header_error(make_xlsx(tmp_path / "w.xlsx", sheets))
    assert error.message.endswith("sheet Clients: the column 'phone' appears twice (E1 and W1). "
                                  "Rename or delete one of them.")


def test_missing_sheet_and_header_not_in_row_1_reported_together(tmp_path):
    sheets = minimal_sheets()
    del sheets["Clients"]
    sheets["Referrals"] = [["Referrals received"], [], headers("Referrals")]
    error = header_error(make_xlsx(tmp_path / "w.xlsx", sheets))
    assert error.message.endswith("the workbook's sheets do not match what refdesk needs:")
    assert error.details == [
        "missing sheet Clients (refdesk's sheets found: Providers, Referrals). Add them, or "
        "create a fresh workbook with `refdesk init` and copy your rows into it.",
        "sheet Referrals: the header row is row 3, but it must be row 1. Delete the rows above "
        "it.",
    ]


def test_empty_sheet(tmp_path):
    sheets = minimal_sheets()
    sheets["Providers"] = []
    error = header_error(make_xlsx(tmp_path / "w.xlsx", sheets))
    assert error.message.endswith("sheet Providers: row 1 is empty; it must hold the column "
                                  "names (provider_id, name, stage at least).")


def test_init_workbook_reads_back_rows_written_by_the_writer(tmp_path):
    rows = {"Providers": [{"provider_id": "007", "name": "=HYPERLINK(\"x\")", "stage": "prospect",
                           "zip": "02134", "next_follow_up": dt.date(2026, 1, 5)}]}
    book = read(write_workbook(tmp_path / "w.xlsx", rows))
    row = book["Providers"].df.loc[2]
    assert row["provider_id"] == "007" and row["zip"] == "02134"
    assert row["name"] == "=HYPERLINK(\"x\")"
    assert row["next_follow_up"] == pd.Timestamp("2026-01-05")


@pytest.mark.parametrize("content, expected", [
    (b"", "the file is empty (0 bytes)"),
    (b"provider_id,name\nP1,A\n", "not an Excel workbook (.xlsx or .xlsm)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512, "password-protected (encrypted)"),
])
def test_not_a_workbook(tmp_path, content, expected):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(content)
    with pytest.raises(SourceError, match=re.escape(expected)):
        read(path)


def test_missing_file_through_cli(tmp_path):
    path = tmp_path / "nope.xlsx"
    result = run("summary", "--workbook", path)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[1:] == [
        f"Reading {path} ...",
        f"Error: {path}: no such file. Check the path, or create a workbook with "
        "`refdesk init PATH`."]


def test_truncated_workbook(tmp_path):
    good = write_workbook(tmp_path / "good.xlsx")
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    result = run("--quiet", "summary", "--workbook", cut)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"Error: {cut}: ")


def test_every_robustness_file_gets_one_line_and_nonzero_exit(corpus):
    files = sorted((corpus / "xlsx" / "robustness").iterdir())
    assert len(files) == 8
    for path in files:
        result = run("--quiet", "summary", "--workbook", path)
        assert result.exit_code == 2, path.name
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"Error: {path}: "), (path.name, lines)
        assert "Traceback" not in result.stderr and result.stdout == ""


def test_parse_dates_accepts_iso_serial_and_typed_dates_only():
    from refdesk.book import parse_dates

    text = pd.Series(["2025-03-01T10:00:00Z", "2025-03-01 10:00:00+02:00", "45700",
                      "3/4/2025", "next week", None, "2025-13-01", "0", "-5", "9999-01-01",
                      "13/01/2025"], dtype="string")
    got = parse_dates(text, keep_time=True)
    assert got.iloc[:4].tolist() == [pd.Timestamp("2025-03-01 10:00"),
                                     pd.Timestamp("2025-03-01 10:00"),
                                     pd.Timestamp("2025-02-12"), pd.Timestamp("2025-03-04")]
    assert got.iloc[4:].isna().all()
    assert str(got.dtype) == "datetime64[ns]"


#: Typed dates, what they read as under a month-first (US) and two day-first countries.
TYPED = [
    ("March 1, 2026", "2026-03-01", "2026-03-01"),
    ("Mar 1 2026", "2026-03-01", "2026-03-01"),
    ("1 Mar 2026", "2026-03-01", "2026-03-01"),
    ("1 March 2026", "2026-03-01", "2026-03-01"),
    ("Sunday, March 1, 2026", "2026-03-01", "2026-03-01"),
    ("01-Mar-26", "2026-03-01", "2026-03-01"),
    ("2026/03/01", "2026-03-01", "2026-03-01"),
    ("3/1/26", "2026-03-01", "2026-01-03"),
    ("3/1/2026", "2026-03-01", "2026-01-03"),
    ("01.03.2026", None, "2026-03-01"),
    ("1-3-2026", None, "2026-03-01"),
    ("13.01.2026", "2026-01-13", "2026-01-13"),  # only one order makes a date
    ("13/01/2026", None, "2026-01-13"),  # against the US order: not read, said why
    ("1/1/29", "2029-01-01", "2029-01-01"),  # Excel: 00-29 are 2000-2029
    ("1/1/30", "1930-01-01", "1930-01-01"),  # and 30-99 are 1930-1999
    ("2/30/2026", None, None),
    ("March 2026", None, None),  # no day: never filled in from today
]


@pytest.mark.parametrize("country", ["US", "GB", "DE"])
def test_typed_dates_read_by_the_practices_country(tmp_path, country):
    sheets = minimal_sheets()
    sheets["Referrals"] = [headers("Referrals")] + [
        [f"R{i}", typed, "P1", "C1", None, None, None, None, None, "received"]
        for i, (typed, *_) in enumerate(TYPED)]
    book = ExcelSource(make_xlsx(tmp_path / "w.xlsx", sheets), country=country).read()
    got = book["Referrals"].df.set_index("referral_id")["received_on"]
    for i, (typed, us, day_first) in enumerate(TYPED):
        expected = us if country == "US" else day_first
        value = got[f"R{i}"]
        assert (None if pd.isna(value) else value.strftime("%Y-%m-%d")) == expected, typed


@pytest.mark.parametrize(("country", "typed", "reason"), [
    ("US", "01.03.2026", "could be 1 March 2026 or 3 January 2026; type it as 2026-03-01 or "
                         "2026-01-03, whichever is meant"),
    ("US", "3-4-2026", "could be 3 April 2026 or 4 March 2026"),
    ("US", "13/01/2026", "is not a date in month/day/year order, which [practice] country US "
                         "reads; if it means 13 January 2026, type it as 2026-01-13"),
    ("GB", "1/13/2026", "is not a date in day/month/year order, which [practice] country GB "
                        "reads; if it means 13 January 2026, type it as 2026-01-13"),
    ("CA", "3/4/2026", "could be 3 April 2026 or 4 March 2026"),
    ("JP", "3/4/2026", "could be 3 April 2026 or 4 March 2026"),
    ("US", "9999-12-31", "is in the year 9999, outside the years refdesk reads"),
    ("US", "next week", ""),
])
def test_an_unread_date_says_why(tmp_path, country, typed, reason):
    sheets = minimal_sheets()
    sheets["Referrals"].append(["R1", typed, "P1", "C1", None, None, None, None, None,
                                "received"])
    book = ExcelSource(make_xlsx(tmp_path / "w.xlsx", sheets), country=country).read()
    (bad,) = book["Referrals"].bad_values
    assert (bad.cell, bad.value, bad.kind) == ("Referrals!B2", typed, Kind.DATE)
    assert bad.reason.startswith(reason) and (bad.reason == "") == (reason == "")


def test_check_reads_dates_in_the_configs_country(tmp_path, monkeypatch):
    """[practice] country reaches the Book through the command line."""
    sheets = minimal_sheets()
    sheets["Referrals"].append(["R1", "01.03.2026", "P1", "C1", None, None, None, None, None,
                                "received"])
    make_xlsx(tmp_path / "w.xlsx", sheets)
    monkeypatch.chdir(tmp_path)
    for country, ambiguous in (("US", True), ("DE", False)):
        (tmp_path / "config.toml").write_text(
            f'[practice]\nname = "P"\ntherapist = "T"\ncountry = "{country}"\n'
            '[source]\nexcel = "w.xlsx"\n')
        result = run("--quiet", "check", "--json", "--today", "2026-11-23")
        said = [p["message"] for p in json.loads(result.stdout)
                if p["cell"] == "Referrals!B2"]
        assert bool(said) == ambiguous, (country, said)
        if ambiguous:
            assert said == ["received_on '01.03.2026' could be 1 March 2026 or 3 January "
                            "2026; type it as 2026-03-01 or 2026-01-03, whichever is meant"]


def test_1904_date_system(corpus):
    from refdesk.sources.excel import open_reader, read_grid

    path = corpus / "xlsx" / "calamine__date_1904.xlsx"
    grid = read_grid(open_reader(path), "Sheet1", path)
    assert grid.cells.loc[1, "A"] == "2021-01-01 00:00:00"


def test_damaged_sheet_inside_a_sound_zip(tmp_path):
    import zipfile

    good = write_workbook(tmp_path / "good.xlsx", {"Providers": [
        {"provider_id": "P1", "name": "A", "stage": "prospect"}]})
    bad = tmp_path / "bad.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet2.xml":  # Providers, after "Read me"
                data = data[: data.index(b"<sheetData>") + 300]  # cut inside row 1
            dst.writestr(item, data)
    result = run("--quiet", "summary", "--workbook", bad)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"Error: {bad}: sheet Providers cannot be read (")
    assert lines[0].endswith("Open and re-save the workbook in Excel or LibreOffice.")


def test_closed_lists_read_in_canonical_spelling_and_respellings_are_recorded(tmp_path):
    cols = headers("Providers")
    stage, wants = cols.index("stage"), cols.index("wants")

    def row(pid, stage_value, wants_value):
        values = [pid, "Name", *[None] * (len(cols) - 2)]
        values[stage], values[wants] = stage_value, wants_value
        return values

    sheets = minimal_sheets()
    sheets["Providers"] = [cols, row("P1", "Referring ", "soap notes;Progress Reports"),
                           row("P2", "prospect", "brochures; business cards"),
                           row("P3", "friendly", "SOAP notes; flowers")]
    providers = read(make_xlsx(tmp_path / "w.xlsx", sheets))["Providers"]
    assert providers.df["stage"].tolist() == ["referring", "prospect", "friendly"]
    assert providers.df["wants"].tolist() == ["SOAP notes; progress reports",
                                              "brochures; business cards", "SOAP notes; flowers"]
    assert [(r.cell, r.typed, r.canonical) for r in providers.respelled] == [
        ("Providers!O2", "Referring ", "referring"),
        ("Providers!Q2", "soap notes;Progress Reports", "SOAP notes; progress reports")]


def test_a_row_holding_only_an_unreadable_value_is_kept(tmp_path):
    sheets = minimal_sheets()
    sheets["Contacts"] = [headers("Contacts"), [None, "next Tuesday"]]
    contacts = read(make_xlsx(tmp_path / "w.xlsx", sheets))["Contacts"]
    assert list(contacts.df.index) == [2]
    assert [(b.cell, b.value) for b in contacts.bad_values] == [("Contacts!B2", "next Tuesday")]
