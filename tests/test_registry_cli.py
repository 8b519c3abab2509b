"""`refdesk providers lookup|fill` and `refdesk check --registry` against the loopback
registry (tests/registry_server.py): what a person sees, what is written, what is not."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest

import refdesk.cli_providers
from refdesk.sources.excel import ExcelSource
from refdesk.xlsxpatch.safety import backups_of
from tests.conftest import run
from tests.helpers import make_xlsx, minimal_sheets, row
from tests.registry_server import RegistryServer, closed_port_url, individual, organization

MARQUEZ, OKAFOR, STEIN, BELL, GONE, UNLISTED, GROUP = (
    "1491491019", "1080670692", "1281323737", "1374370892", "1478004835", "1234567893",
    "1023256286")


@pytest.fixture
def server(monkeypatch, tmp_path):
    records = [
        individual(MARQUEZ, "ELENA", "MARQUEZ", middle="ROSA"),
        individual(OKAFOR, "DAVID", "OKAFOR", credential="D.O.",
                   taxonomy=("207R00000X", "Internal Medicine")),
        individual(STEIN, "RACHEL", "STEIN", taxonomy=("111N00000X", "Chiropractor")),
        individual(BELL, "MARCUS", "BELL", credential="D.C.",
                   taxonomy=("111N00000X", "Chiropractor"), street="3306 SE DIVISION ST",
                   postal="972021234", phone="503-555-0188", fax="503-555-0162"),
        individual(GONE, "HANNAH", "KOWALSKI", credential="DPT", status="D",
                   taxonomy=("225100000X", "Physical Therapist")),
        organization(GROUP, "HAWTHORNE FAMILY MEDICINE PC",
                     taxonomy=("261QP2300X", "Clinic/Center, Primary Care")),
    ]
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    with RegistryServer(records) as running:
        monkeypatch.setenv("REFDESK_NPI_REGISTRY", running.url)
        yield running


def providers_book(path: Path, rows: list[list[object]]) -> Path:
    sheets = minimal_sheets()
    sheets["Providers"] = [sheets["Providers"][0], *rows]
    return make_xlsx(path, sheets)


def provider(pid: str, **values: object) -> list[object]:
    return row("Providers", provider_id=pid, stage="referring", **values)


# --- lookup -------------------------------------------------------------------------------

def test_lookup_by_npi_shows_the_match(server) -> None:
    result = run("providers", "lookup", MARQUEZ)
    assert result.exit_code == 0, result.output
    for shown in (MARQUEZ, "Elena Rosa Marquez", "MD", "Family Medicine",
                  "3510 SE Hawthorne Blvd, Portland, OR 97214-1234", "(503) 555-0173",
                  "(503) 555-0119", "active"):
        assert shown in result.stdout
    assert f"Asked the NPI registry at {server.url}." in result.stderr


def test_lookup_json_and_the_second_time_from_the_cache(server) -> None:
    first = run("providers", "lookup", BELL, "--json")
    again = run("providers", "lookup", BELL, "--json")
    assert first.exit_code == again.exit_code == 0
    [record] = json.loads(again.stdout)
    assert (record["npi"], record["name"], record["credential"], record["taxonomy"],
            record["fax"], record["zip"], record["active"]) == (
        BELL, "Marcus Bell", "DC", "Chiropractor", "(503) 555-0162", "97202-1234", True)
    assert json.loads(first.stdout) == json.loads(again.stdout)
    assert server.calls == 1
    assert "Answered from the cache" in again.stderr


def test_lookup_by_name_in_a_state(server) -> None:
    result = run("providers", "lookup", "Marcus", "Bell", "--state", "or", "--json")
    assert result.exit_code == 0, result.output
    assert [r["npi"] for r in json.loads(result.stdout)] == [BELL]
    assert server.queries[-1] == {"first_name": "Marcus", "last_name": "Bell", "state": "OR",
                                  "limit": "10", "version": "2.1"}


def test_lookup_falls_back_to_an_organization_name(server) -> None:
    result = run("providers", "lookup", "Hawthorne Family*", "--city", "Portland", "--json")
    assert result.exit_code == 0, result.output
    [record] = json.loads(result.stdout)
    assert (record["kind"], record["name"]) == ("NPI-2", "Hawthorne Family Medicine PC")
    assert server.queries[-1]["organization_name"] == "Hawthorne Family*"


def test_lookup_shows_a_deactivated_npi_as_such(server) -> None:
    result = run("providers", "lookup", GONE)
    assert result.exit_code == 0
    assert "deactivated (D)" in result.stdout


def test_lookup_with_no_match_exits_1(server) -> None:
    result = run("providers", "lookup", UNLISTED)
    assert result.exit_code == 1
    assert result.stderr.strip().endswith(f"No provider in the NPI registry matches NPI "
                                          f"{UNLISTED}.")


def test_lookup_refuses_an_npi_that_fails_its_check_digit(server) -> None:
    result = run("providers", "lookup", "1234567890")
    assert result.exit_code == 2
    assert "1234567890 is not a valid NPI: its last digit should be 3" in result.stderr
    assert server.calls == 0


def test_lookup_by_taxonomy_and_city(server) -> None:
    result = run("providers", "lookup", "Bell", "--taxonomy", "chiropractor", "--city",
                 "Portland", "--json")
    assert [r["npi"] for r in json.loads(result.stdout)] == [BELL]
    assert server.queries[-1]["taxonomy_description"] == "chiropractor"


def test_lookup_refuses_a_number_that_is_not_10_digits(server) -> None:
    result = run("providers", "lookup", "12345")
    assert result.exit_code == 2
    assert "12345: an NPI is 10 digits" in result.stderr
    assert server.calls == 0


def test_lookup_without_a_network(monkeypatch, tmp_path) -> None:
    url = closed_port_url()
    monkeypatch.setenv("REFDESK_NPI_REGISTRY", url)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    result = run("providers", "lookup", MARQUEZ)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: could not reach the NPI registry at {url} (")
    assert "nothing was changed" in result.stderr
    assert "Traceback" not in result.output


# --- check --registry ---------------------------------------------------------------------

def checked_book(tmp_path: Path) -> Path:
    return providers_book(tmp_path / "book.xlsx", [
        provider("P1", name="Elena Marquez", credentials="MD", specialty="family medicine",
                 npi=MARQUEZ),
        provider("P2", name="Dana Whitfield", specialty="internal medicine", npi=OKAFOR),
        provider("P3", name="Rachel Stein", specialty="neurology", npi=STEIN),
        provider("P4", name="Hannah Kowalski", specialty="physical therapy", npi=GONE),
        provider("P5", name="Tom Unlisted", npi=UNLISTED),
        provider("P6", name="No Number", specialty="neurology"),
        provider("P7", name="Dr. Elena R. Marquez, MD", specialty="primary care", npi=MARQUEZ),
    ])


def registry_problems(result) -> list[tuple[str, str]]:
    return [(p["cell"], p["severity"]) for p in json.loads(result.stdout)
            if p["rule"] == "registry"]


def test_check_registry_warns_at_the_cells(server, tmp_path) -> None:
    book = checked_book(tmp_path)
    result = run("check", "--workbook", book, "--registry", "--json")
    assert result.exit_code == 0, result.output  # warnings only
    problems = {p["cell"]: p for p in json.loads(result.stdout) if p["rule"] == "registry"}
    assert sorted(problems) == ["Providers!B3", "Providers!D4", "Providers!F5", "Providers!F6"]
    assert {p["severity"] for p in problems.values()} == {"warning"}
    assert problems["Providers!B3"]["message"] == (
        f"The NPI registry lists NPI {OKAFOR} as David Okafor, not Dana Whitfield: correct "
        "the name or the NPI.")
    assert problems["Providers!D4"]["message"] == (
        f"The NPI registry's primary taxonomy for NPI {STEIN} is Chiropractor (111N00000X), "
        "which does not fit neurology: correct the specialty or the NPI.")
    assert "deactivated in the NPI registry (status D)" in problems["Providers!F5"]["message"]
    assert "is not in the NPI registry" in problems["Providers!F6"]["message"]
    # one call per distinct NPI (P1 and P7 share one); none at all the second time
    assert server.calls == 5
    again = run("check", "--workbook", book, "--registry", "--json")
    assert server.calls == 5
    assert registry_problems(again) == registry_problems(result)


def test_a_groups_npi_agrees_with_the_rows_practice(server, tmp_path) -> None:
    book = providers_book(tmp_path / "book.xlsx", [
        provider("P1", name="Ann Lee", practice="Hawthorne Family Medicine", npi=GROUP),
        provider("P2", name="Ann Lee", practice="Elsewhere Clinic", npi=GROUP),
    ])
    result = run("check", "--workbook", book, "--registry", "--json")
    problems = [p for p in json.loads(result.stdout) if p["rule"] == "registry"]
    assert [(p["cell"], p["message"]) for p in problems] == [
        ("Providers!B3", f"The NPI registry lists NPI {GROUP} as Hawthorne Family Medicine PC "
                         "(an organization), not Ann Lee: correct the name or the NPI.")]


def test_the_sample_practice_costs_one_call_per_npi_then_none(server) -> None:
    from refdesk.npi import is_valid_npi
    from tests.conftest import ROOT

    sample = ROOT / "workbooks" / "referrals.xlsx"
    npis = {n for n in ExcelSource(sample).read()["Providers"].df["npi"].dropna()
            if is_valid_npi(n)}
    first = run("check", "--workbook", sample, "--registry", "--json")
    assert server.calls == len(npis) <= 40
    run("check", "--workbook", sample, "--registry", "--json")
    assert server.calls == len(npis)
    unlisted = [p for p in json.loads(first.stdout) if "is not in the NPI registry" in
                p["message"]]
    assert len(unlisted) == len(npis) - 6  # the loopback registry knows six of them


def test_check_without_registry_asks_nothing(server, tmp_path) -> None:
    result = run("check", "--workbook", checked_book(tmp_path), "--json")
    assert result.exit_code == 0
    assert registry_problems(result) == []
    assert server.calls == 0


def test_check_registry_without_a_network_warns_once_and_checks_the_rest(
        monkeypatch, tmp_path) -> None:
    book = providers_book(tmp_path / "book.xlsx", [
        provider("P1", name="Elena Marquez", npi=MARQUEZ, phone="12"),
        provider("P2", name="David Okafor", npi=OKAFOR),
    ])
    plain = run("check", "--workbook", book, "--json")
    monkeypatch.setenv("REFDESK_NPI_REGISTRY", closed_port_url())
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    result = run("check", "--workbook", book, "--registry", "--json")
    found = json.loads(result.stdout)
    [warning] = [p for p in found if p["rule"] == "registry"]
    assert warning["cell"] == "Providers!F1"
    assert warning["message"].startswith("The NPI registry was not reached (")
    assert warning["message"].endswith("the NPIs were not verified. Run `refdesk check "
                                       "--registry` again when online.")
    assert [p for p in found if p["rule"] != "registry"] == json.loads(plain.stdout)
    assert result.exit_code == plain.exit_code


def test_check_registry_table_for_people(server, tmp_path) -> None:
    result = run("check", "--workbook", checked_book(tmp_path), "--registry")
    assert "Providers: 0 errors, 4 warnings" in result.stdout
    assert "Asking the NPI registry about 5 NPI(s)" in result.stderr


# --- fill ---------------------------------------------------------------------------------

def fill_book(tmp_path: Path) -> Path:
    return providers_book(tmp_path / "book.xlsx", [
        # empty credentials, specialty, phone, fax and address: filled
        provider("P1", name="Marcus Bell", npi=BELL, notes="keep me"),
        # everything there: nothing to fill; a differing phone is never overwritten
        provider("P2", name="Elena Marquez", credentials="MD", specialty="family medicine",
                 npi=MARQUEZ, phone="(971) 555-0100", fax="(503) 555-0119",
                 street="1 Main St", city="Portland", state="OR", zip="97214"),
        # only the name and the city empty
        provider("P3", credentials="DO", specialty="internal medicine", npi=OKAFOR,
                 phone="(503) 555-0173", fax="(503) 555-0119", street="3510 SE Hawthorne Blvd",
                 state="OR", zip="97214"),
        # deactivated: nothing filled
        provider("P4", name="Hannah Kowalski", npi=GONE),
        # no NPI: nothing asked
        provider("P5", name="Julia Brandt"),
    ])


EXPECTED_FILLS = {
    "Providers!C2": "DC", "Providers!D2": "chiropractic", "Providers!G2": "(503) 555-0188",
    "Providers!H2": "(503) 555-0162", "Providers!J2": "3306 SE Division St",
    "Providers!K2": "Portland", "Providers!L2": "OR", "Providers!M2": "97202-1234",
    "Providers!B4": "David Okafor", "Providers!K4": "Portland",
}


def cells(path: Path) -> dict[str, object]:
    """Every cell of every sheet, by address."""
    wb = openpyxl.load_workbook(path)
    return {f"{ws.title}!{c.coordinate}": c.value for ws in wb for r in ws.iter_rows()
            for c in r if c.value is not None}


def test_fill_dry_run_shows_and_changes_nothing(server, tmp_path) -> None:
    book = fill_book(tmp_path)
    before = book.read_bytes()
    result = run("providers", "fill", "--workbook", book, "--dry-run")
    assert result.exit_code == 0, result.output
    assert book.read_bytes() == before
    assert backups_of(book) == []
    for cell, value in EXPECTED_FILLS.items():
        assert cell.split("!")[1] in result.stdout and value in result.stdout
    assert "10 empty cell(s) to fill" in result.stdout
    assert "(971) 555-0100" not in result.stdout
    assert f"Providers!F5: NPI {GONE} is deactivated in the NPI registry; nothing filled" \
        in result.stderr
    assert "Dry run: nothing was written." in result.stderr


def test_fill_writes_only_the_empty_cells_with_a_backup(server, tmp_path) -> None:
    book = fill_book(tmp_path)
    before_bytes, before = book.read_bytes(), cells(book)
    result = run("providers", "fill", "--workbook", book, "--yes")
    assert result.exit_code == 0, result.output
    assert "Wrote 10 cell(s) into" in result.stdout
    [backup] = backups_of(book)
    assert backup.read_bytes() == before_bytes
    assert f"Backup: {backup.parent.name}/{backup.name}" in result.stdout
    after = cells(book)
    assert {k: v for k, v in after.items() if k not in EXPECTED_FILLS} == before
    assert {k: after[k] for k in EXPECTED_FILLS} == EXPECTED_FILLS
    providers = ExcelSource(book).read()["Providers"].df.set_index("provider_id")
    assert providers.loc["P1", "zip"] == "97202-1234"
    assert providers.loc["P2", "phone"] == "(971) 555-0100"
    assert providers.loc["P3", "name"] == "David Okafor"
    # a second fill finds nothing to do and asks the registry nothing more
    calls = server.calls
    again = run("providers", "fill", "--workbook", book, "--yes")
    assert again.exit_code == 0
    assert again.stdout.startswith("Nothing to fill")
    assert len(backups_of(book)) == 1
    assert server.calls == calls


def test_fill_asks_first_and_a_no_changes_nothing(server, tmp_path, monkeypatch) -> None:
    book = fill_book(tmp_path)
    before = book.read_bytes()
    refused = run("providers", "fill", "--workbook", book)  # not at a terminal: no guessing
    assert refused.exit_code == 2
    assert "add --yes to write without being asked" in refused.stderr
    monkeypatch.setattr(refdesk.cli_providers, "_at_terminal", lambda: True)
    from click.testing import CliRunner

    from refdesk.cli import cli
    said_no = CliRunner().invoke(cli, ["providers", "fill", "--workbook", str(book)], input="n\n")
    assert said_no.exit_code == 0
    assert "Nothing was changed." in said_no.stderr
    assert book.read_bytes() == before
    said_yes = CliRunner().invoke(cli, ["providers", "fill", "--workbook", str(book)],
                                  input="y\n")
    assert said_yes.exit_code == 0, said_yes.output
    assert book.read_bytes() != before


def test_fill_without_a_network_changes_nothing(monkeypatch, tmp_path) -> None:
    book = fill_book(tmp_path)
    before = book.read_bytes()
    monkeypatch.setenv("REFDESK_NPI_REGISTRY", closed_port_url())
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    result = run("providers", "fill", "--workbook", book, "--yes")
    assert result.exit_code == 2
    assert "could not reach the NPI registry" in result.stderr
    assert "nothing was changed" in result.stderr
    assert book.read_bytes() == before
    assert backups_of(book) == []


def test_fill_completes_an_address_only_when_its_parts_agree(server, tmp_path) -> None:
    """An address is filled as a whole: the registry's city is not put beside a street the
    registry does not have, which would make an address that is nobody's."""
    book = providers_book(tmp_path / "book.xlsx", [
        # the street is another one: city, state and zip stay empty, with a note
        provider("P1", name="Marcus Bell", credentials="DC", specialty="chiropractic",
                 npi=BELL, phone="(503) 555-0188", fax="(503) 555-0162",
                 street="12 Elm St"),
        # the same street written another way: the rest is completed
        provider("P2", name="David Okafor", credentials="DO", specialty="internal medicine",
                 npi=OKAFOR, phone="(503) 555-0173", fax="(503) 555-0119",
                 street="3510 se hawthorne blvd."),
    ])
    result = run("providers", "fill", "--workbook", book, "--dry-run")
    assert result.exit_code == 0, result.output
    assert ("Providers!K2: the row's address is not the registry's practice location; its "
            "empty parts (city, state, zip) are left for you to fill.") in result.stderr
    assert "3 empty cell(s) to fill" in result.stdout
    for cell in ("K3", "L3", "M3"):
        assert cell in result.stdout
    assert "K2 " not in result.stdout and "M2 " not in result.stdout
