"""References across sheets, and the client's "who referred you?" columns."""

import datetime as dt

import pytest

from refdesk.check import links
from refdesk.schema import SHEETS
from tests.helpers import check_sheets, headers, minimal_sheets, row

D = dt.datetime


def base() -> dict:
    """Every sheet with a row whose ids all exist; no rule fires."""
    s = minimal_sheets()
    s["Providers"] += [row("Providers", provider_id="P1", name="Dana Whitfield",
                           stage="referring")]
    s["Clients"] += [
        row("Clients", client_id="C1", first_name="Ann", last_name="Lee", source="doctor",
            referred_by_provider="P1"),
        row("Clients", client_id="C2", first_name="Bo", last_name="Chen", source="client",
            referred_by_client="C1"),
        row("Clients", client_id="C3", first_name="Cy", last_name="Diaz", source="other"),
    ]
    s["Referrals"] += [row("Referrals", referral_id="R1", received_on=D(2025, 3, 1),
                           provider_id="P1", client_id="C1", status="in care")]
    s["Releases"] = [headers("Releases"),
                     row("Releases", release_id="RL1", client_id="C1", provider_id="P1",
                         signed_on=D(2025, 3, 5), scope="treatment plan")]
    s["Sent"] = [headers("Sent"), row("Sent", sent_on=D(2025, 4, 1), client_id="C1",
                                      provider_id="P1")]
    s["Contacts"] = [headers("Contacts"), row("Contacts", date=D(2025, 2, 1), provider_id="P1")]
    s["Visits"] = [headers("Visits"), row("Visits", visit_id="V1", client_id="C1",
                                          date=D(2025, 3, 5), referral_id="R1")]
    s["Testimonials"] = [headers("Testimonials"),
                         row("Testimonials", testimonial_id="T1", client_id="C1", quote="Great")]
    s["Letters"] = [headers("Letters"),
                    row("Letters", letter_id="L1", when=D(2025, 3, 10, 9, 30), job="thank-you",
                        provider_id="P1", client_id="C1", release_id="RL1", status="produced")]
    return s


def found(tmp_path, s):
    return check_sheets(tmp_path / "w.xlsx", s, families=[links])


def test_clean_rows_give_no_problem(tmp_path):
    assert found(tmp_path, base()) == []


def test_unknown_provider(tmp_path):
    s = base()
    s["Referrals"].append(row("Referrals", referral_id="R2", received_on=D(2025, 3, 2),
                              provider_id="P041", client_id="C1", status="received"))
    assert found(tmp_path, s) == [
        ("Referrals!C3", "error", "unknown-reference",
         "provider_id P041 is not in the Providers sheet; add the provider there or correct "
         "the id")]


#: Every column that holds an id of another sheet, with what one row of that sheet is.
REFERENCES = [(sheet.name, column.name, column.ref) for sheet in SHEETS
              for column in sheet.references]
NOUN = {"Providers": "provider", "Clients": "client", "Releases": "release",
        "Referrals": "referral"}


def test_every_reference_column_is_covered():
    assert len(REFERENCES) == 15
    assert {ref for _, _, ref in REFERENCES} == set(NOUN)


@pytest.mark.parametrize("sheet, column, target", REFERENCES,
                         ids=[f"{s}.{c}" for s, c, _ in REFERENCES])
def test_unknown_id_in_every_reference_column(tmp_path, sheet, column, target):
    s = base()
    bad = dict(zip(headers(sheet), s[sheet][1], strict=True)) | {column: "X9"}
    if sheet == "Clients":
        bad["client_id"] = "C9"
        if column == "referred_by_client":  # a client referred by another client
            bad |= {"source": "client", "referred_by_provider": None}
    s[sheet].append(row(sheet, **bad))
    letter = "ABCDEFGHIJKLMNOPQRS"[headers(sheet).index(column)]
    assert found(tmp_path, s) == [
        (f"{sheet}!{letter}{len(s[sheet])}", "error", "unknown-reference",
         f"{column} X9 is not in the {target} sheet; add the {NOUN[target]} there or correct "
         "the id")]


def test_id_in_the_wrong_case_names_the_existing_id(tmp_path):
    s = base()
    s["Visits"].append(row("Visits", visit_id="V2", client_id="c1", date=D(2025, 3, 6),
                           referral_id="R1"))
    assert found(tmp_path, s) == [
        ("Visits!B3", "error", "unknown-reference",
         "client_id c1 is not in the Clients sheet, which has C1; type it as C1")]


def test_reference_to_a_missing_sheet(tmp_path):
    s = base()
    del s["Releases"]
    assert found(tmp_path, s) == [
        ("Letters!H2", "error", "unknown-reference",
         "release_id RL1 refers to the Releases sheet, which this workbook does not have; add "
         "a Releases sheet with this release (`refdesk init` makes one) or clear the id")]


def test_source_needs_its_referrer(tmp_path):
    s = base()
    s["Clients"] += [
        row("Clients", client_id="C4", first_name="Di", last_name="Ek", source="doctor"),
        row("Clients", client_id="C5", first_name="Ed", last_name="Fu", source="client"),
    ]
    assert found(tmp_path, s) == [
        ("Clients!M5", "error", "source-needs-provider",
         "source is doctor but referred_by_provider is empty; fill in the provider_id of the "
         "doctor who referred this client"),
        ("Clients!N6", "error", "source-needs-client",
         "source is client but referred_by_client is empty; fill in the client_id of the "
         "client who referred this client"),
    ]


def test_source_needs_provider_without_the_column_points_at_source(tmp_path):
    s = minimal_sheets()
    keep = [c for c in headers("Clients") if c != "referred_by_provider"]
    ann = {"client_id": "C1", "first_name": "Ann", "last_name": "Lee", "source": "doctor"}
    s["Clients"] = [keep, [ann.get(c) for c in keep]]
    assert found(tmp_path, s) == [
        ("Clients!K2", "error", "source-needs-provider",
         "source is doctor but referred_by_provider is empty; add a referred_by_provider "
         "column and fill in the provider_id of the doctor who referred this client")]


def test_referrer_left_over_from_another_source(tmp_path):
    s = base()
    s["Clients"] += [
        row("Clients", client_id="C4", first_name="Di", last_name="Ek", source="other",
            referred_by_provider="P1"),
        row("Clients", client_id="C5", first_name="Ed", last_name="Fu", source="doctor",
            referred_by_provider="P1", referred_by_client="C1"),
        # An unlisted source is the cell rules' business; no mismatch is guessed at.
        row("Clients", client_id="C6", first_name="Fa", last_name="Go", source="walk-in",
            referred_by_provider="P1"),
    ]
    assert found(tmp_path, s) == [
        ("Clients!M5", "warning", "source-mismatch",
         "referred_by_provider is P1 but source is other; set source to doctor or clear "
         "referred_by_provider"),
        ("Clients!N6", "warning", "source-mismatch",
         "referred_by_client is C1 but source is doctor; set source to client or clear "
         "referred_by_client"),
    ]


def test_client_cannot_refer_themselves(tmp_path):
    s = base()
    s["Clients"].append(row("Clients", client_id="C4", first_name="Di", last_name="Ek",
                            source="client", referred_by_client="C4"))
    assert found(tmp_path, s) == [
        ("Clients!N5", "error", "self-referral",
         "client C4 is named as their own referrer; put the client_id of the client who "
         "referred them in referred_by_client, or clear it")]
