"""The NPI registry client, its cache, its reading of answers, and the verification rules,
against the loopback registry (tests/registry_server.py)."""

from __future__ import annotations

import json

import pytest

from refdesk.registry import RegistryClient, RegistryError, RegistryUnreachable
from refdesk.registry.cache import MAX_AGE_SECONDS, AnswerCache
from refdesk.registry.record import credential_text, nice_case
from refdesk.registry.taxonomy import agrees, specialty_for
from refdesk.registry.verify import names_agree
from tests.registry_server import RegistryServer, closed_port_url, individual, organization

MARQUEZ = "1491491019"
OKAFOR = "1080670692"
CLINIC = "1478004835"


class Clock:
    """A clock the test moves: the cache's age without waiting."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def server():
    records = [
        individual(MARQUEZ, "ELENA", "MARQUEZ", middle="ROSA", credential="M.D."),
        individual(OKAFOR, "DAVID", "OKAFOR", credential="D.O.",
                   taxonomy=("207R00000X", "Internal Medicine"),
                   other_taxonomies=[("207Q00000X", "Family Medicine")],
                   street="2801 N GANTENBEIN AVE", postal="97227"),
        organization(CLINIC, "BROADWAY PHYSICAL THERAPY LLC"),
    ]
    with RegistryServer(records) as running:
        yield running


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(server, tmp_path, clock) -> RegistryClient:
    return RegistryClient(server.url, cache=AnswerCache(tmp_path / "cache", now=clock))


def test_by_number_reads_the_record_as_the_workbook_spells_it(client, server) -> None:
    match = client.by_number(MARQUEZ)
    assert match is not None
    assert (match.npi, match.kind, match.name) == (MARQUEZ, "NPI-1", "Elena Rosa Marquez")
    assert (match.first_name, match.last_name, match.credential) == ("Elena", "Marquez", "MD")
    assert (match.taxonomy_code, match.taxonomy) == ("207Q00000X", "Family Medicine")
    assert (match.street, match.city, match.state, match.zip) == (
        "3510 SE Hawthorne Blvd", "Portland", "OR", "97214-1234")
    assert (match.phone, match.fax) == ("(503) 555-0173", "(503) 555-0119")
    assert match.active
    assert server.queries == [{"number": MARQUEZ, "version": "2.1"}]
    assert server.agents[0].startswith("refdesk/")


def test_the_primary_taxonomy_is_the_one_flagged_primary(client) -> None:
    match = client.by_number(OKAFOR)
    assert match is not None
    assert match.taxonomy == "Internal Medicine"
    assert match.taxonomies == ("Internal Medicine", "Family Medicine")
    assert match.zip == "97227"


def test_an_organization_is_named_by_its_organization_name(client) -> None:
    match = client.by_number(CLINIC)
    assert match is not None
    assert (match.kind, match.name, match.individual) == (
        "NPI-2", "Broadway Physical Therapy LLC", False)


def test_a_number_the_registry_does_not_list_is_none(client, server) -> None:
    assert client.by_number("1234567893") is None
    assert server.calls == 1


def test_search_by_name_and_state(client, server) -> None:
    found = client.search(first_name="elena", last_name="marquez", state="OR")
    assert [m.npi for m in found] == [MARQUEZ]
    assert server.queries[0] == {"first_name": "elena", "last_name": "marquez", "state": "OR",
                                 "limit": "10", "version": "2.1"}
    assert [m.npi for m in client.search(organization_name="broadway*")] == [CLINIC]
    assert client.search(last_name="marquez", state="WA") == []


def test_at_most_200_results_a_call_and_skip_pages_on(tmp_path) -> None:
    many = [individual(f"{n:010d}", "ANN", "LEE") for n in range(250)]
    with RegistryServer(many) as server:
        client = RegistryClient(server.url, cache=AnswerCache(tmp_path))
        first = client.search(last_name="lee", limit=500)
        rest = client.search(last_name="lee", limit=200, skip=200)
    assert server.queries[0]["limit"] == "200"
    assert (len(first), len(rest)) == (200, 50)
    assert rest[0].npi == f"{200:010d}"


def test_the_registrys_refusal_comes_with_status_200_and_is_an_error(client, server) -> None:
    with pytest.raises(RegistryError) as caught:
        client.query({"state": ""})  # no search term left: the registry refuses
    assert caught.value.message == ("the NPI registry refused the query: No valid search "
                                    "criteria provided. Nothing was changed.")
    with pytest.raises(RegistryError) as caught:
        client.query({"number": "12345"})
    assert caught.value.message == ("the NPI registry refused the query: Field number requires "
                                    "10 digits (number). Nothing was changed.")
    calls = server.calls
    with pytest.raises(RegistryError):
        client.query({"number": "12345"})
    assert server.calls == calls + 1  # a refusal is never cached


def test_no_network_says_so_and_names_the_registry(tmp_path) -> None:
    url = closed_port_url()
    client = RegistryClient(url, cache=AnswerCache(tmp_path), timeout=5)
    with pytest.raises(RegistryUnreachable) as caught:
        client.by_number(MARQUEZ)
    message = caught.value.message
    assert message.startswith(f"could not reach the NPI registry at {url} (")
    assert "nothing was changed" in message
    assert not list(tmp_path.iterdir())  # nothing cached


def test_a_failing_server_is_unreachable_too(client, server) -> None:
    server.status = 503
    with pytest.raises(RegistryUnreachable) as caught:
        client.by_number(MARQUEZ)
    assert f"could not reach the NPI registry at {server.url} (it answered HTTP 503)" \
        in caught.value.message
    server.status = 200
    assert client.by_number(MARQUEZ) is not None  # the failure was not cached


def test_the_address_comes_from_the_environment(monkeypatch, server, tmp_path) -> None:
    monkeypatch.setenv("REFDESK_NPI_REGISTRY", server.url)
    client = RegistryClient(cache=AnswerCache(tmp_path))
    assert client.base_url == server.url
    assert client.by_number(MARQUEZ) is not None


def test_answers_are_cached_for_30_days(client, server, clock) -> None:
    client.by_number(MARQUEZ)
    client.by_number(MARQUEZ)
    client.by_number("1234567893")
    client.by_number("1234567893")  # "not listed" is an answer too
    assert server.calls == 2
    assert client.calls == 2
    clock.now += MAX_AGE_SECONDS - 60
    client.by_number(MARQUEZ)
    assert server.calls == 2
    clock.now += 120  # now older than 30 days: asked again
    client.by_number(MARQUEZ)
    assert server.calls == 3


def test_a_corrupt_or_odd_cache_entry_is_ignored(client, server, tmp_path) -> None:
    client.by_number(MARQUEZ)
    [entry] = (tmp_path / "cache").iterdir()
    for damaged in (b"{not json", b"\xff\xfe", json.dumps([1, 2]).encode(),
                    json.dumps({"fetched": "yesterday", "answer": {}}).encode()):
        entry.write_bytes(damaged)
        calls = server.calls
        assert client.by_number(MARQUEZ) is not None
        assert server.calls == calls + 1
    assert json.loads(entry.read_text())["answer"]["result_count"] == 1  # rewritten whole


def test_a_cache_that_cannot_be_written_is_skipped(server, tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    client = RegistryClient(server.url, cache=AnswerCache(blocker / "cache"))
    assert client.by_number(MARQUEZ) is not None
    assert client.by_number(MARQUEZ) is not None
    assert server.calls == 2


@pytest.mark.parametrize(("cell", "agreed"), [
    ("Elena Marquez", True), ("ELENA MARQUEZ", True), ("Dr. Elena R. Marquez, MD", True),
    ("Marquez, Elena", True), ("Élena Márquez", True), ("Elena Rosa Marquez", True),
    ("E. Marquez", True), ("Ellen Marquez", False), ("Elena Martinez", False),
    ("David Okafor", False),
])
def test_names_agree_tolerantly(client, cell, agreed) -> None:
    match = client.by_number(MARQUEZ)
    assert match is not None
    assert names_agree(cell, match) is agreed


def test_a_shortened_first_name_agrees(client) -> None:
    match = client.by_number(OKAFOR)
    assert match is not None
    assert names_agree("Dave Okafor", match) is False
    assert names_agree("Dav Okafor", match) is True  # a prefix of three letters or more


def test_an_organization_name_agrees_within_a_typo(client) -> None:
    match = client.by_number(CLINIC)
    assert match is not None
    assert names_agree("Broadway Physical Therapy", match)
    assert names_agree("Broadway Phyiscal Therapy LLC", match)
    assert not names_agree("Hawthorne Family Medicine", match)


@pytest.mark.parametrize(("specialty", "description", "agreed"), [
    ("family medicine", "Family Medicine", True),
    ("primary care", "Nurse Practitioner, Family", True),
    ("internal medicine", "Physician Assistant, Medical", True),
    ("neurology", "Psychiatry & Neurology, Neurology", True),
    ("chiropractic", "Chiropractor", True),
    ("dentistry", "Dentist, General Practice", True),
    ("psychotherapy", "Clinical Social Worker", True),
    ("psychotherapy", "Chiropractor", False),
    ("psychotherapy", "Social Worker, Clinical", True),
    ("neurology", "Chiropractor", False),
    ("OB/GYN", "Obstetrics & Gynecology", True),
    ("physical therapy", "Family Medicine", False),
    ("equine therapy", "Chiropractor", True),  # a specialty refdesk does not know: no opinion
])
def test_a_specialty_fits_a_taxonomy(specialty, description, agreed) -> None:
    assert agrees(specialty, description) is agreed


def test_a_taxonomy_reads_as_a_workbook_specialty() -> None:
    assert specialty_for("Family Medicine, Sports Medicine") == "sports medicine"
    assert specialty_for("Chiropractor") == "chiropractic"
    assert specialty_for("Physical Therapist") == "physical therapy"
    assert specialty_for("Psychologist, Clinical") == "psychotherapy"
    assert specialty_for("Case Manager/Care Coordinator") is None


def test_the_registrys_spellings_become_the_workbooks() -> None:
    assert credential_text("M.D.") == "MD"
    assert credential_text("D.C., M.S.") == "DC, MS"
    assert credential_text("PHD") == "PhD"
    assert nice_case("1040 NW 22ND AVE, SUITE 520") == "1040 NW 22nd Ave, Suite 520"
    assert nice_case("MCALLISTER") == "McAllister"
    assert nice_case("O'BRIEN") == "O'Brien"
    assert nice_case("Lake Oswego") == "Lake Oswego"
