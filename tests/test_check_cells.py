import datetime as dt

from refdesk.check import cells, sheets
from refdesk.check.problem import HIDDEN
from tests.helpers import check_sheets, headers, minimal_sheets, row

D = dt.datetime


def base() -> dict:
    """Three clean rows that every rule passes."""
    s = minimal_sheets()
    s["Providers"] += [row("Providers", provider_id="P1", name="Dana Whitfield", stage="referring",
                           npi="1750384962", phone="(503) 555-0142", email="dana@clinic.org",
                           state="OR", zip="97202", wants="SOAP notes; progress reports")]
    s["Clients"] += [row("Clients", client_id="C1", first_name="Ann", last_name="Lee",
                         source="doctor", referred_by_provider="P1", phone="503-555-0100")]
    s["Referrals"] += [row("Referrals", referral_id="R1", received_on=D(2025, 3, 1),
                           provider_id="P1", client_id="C1", diagnosis="G43.909; M542",
                           status="in care", per_week=2, weeks=6, visits_authorized=12)]
    return s


def cell_problems(tmp_path, s):
    return check_sheets(tmp_path / "w.xlsx", s, families=[cells, sheets])


def test_clean_rows_give_no_problem(tmp_path):
    assert cell_problems(tmp_path, base()) == []


def test_required_value(tmp_path):
    s = base()
    s["Providers"].append(row("Providers", provider_id="P2", name="Bo Chen"))
    assert cell_problems(tmp_path, s) == [
        ("Providers!O3", "error", "required", "stage is required; fill it in")]


def test_types(tmp_path):
    s = base()
    s["Referrals"].append(row("Referrals", referral_id="R2", received_on="last spring",
                              provider_id="P1", client_id="C1", status="received", weeks="six"))
    s["Visits"] = [headers("Visits"), row("Visits", visit_id="V1", client_id="C1",
                                          date=D(2025, 3, 2), fee="ninety", units=-1)]
    assert cell_problems(tmp_path, s) == [
        ("Referrals!B3", "error", "type",
         "received_on 'last spring' is not a date (e.g. 2025-03-14); retype it"),
        ("Referrals!H3", "error", "type", "weeks 'six' is not a whole number; retype it"),
        ("Visits!F2", "error", "negative", "units -1 is negative; enter it as a positive number"),
        ("Visits!H2", "error", "type", "fee 'ninety' is not an amount (e.g. 95.00); retype it"),
    ]


def test_a_number_cell_holding_text_without_quoting_health_values(tmp_path):
    s = base()
    s["Referrals"].append(row("Referrals", referral_id="R2", received_on=D(2025, 3, 1),
                              provider_id="P1", client_id="C1", status="received",
                              measure="HIT-6", goal="sixty"))
    s["Visits"] = [headers("Visits"), row("Visits", visit_id="V1", client_id="C1",
                                          date=D(2025, 3, 2), measure_score="2,5")]
    assert cell_problems(tmp_path, s) == [
        ("Referrals!K3", "error", "type",
         "goal this value is not a number (e.g. 7.5); retype it"),
        ("Visits!M2", "error", "type",
         "measure_score this value is not a number (e.g. 7.5); retype it"),
    ]


def test_closed_lists(tmp_path):
    s = base()
    s["Providers"].append(row("Providers", provider_id="P2", name="Bo Chen", stage=" Dormant",
                              wants="brochures; flowers", delivery="pigeon"))
    assert cell_problems(tmp_path, s) == [
        ("Providers!O3", "warning", "spelling",
         "stage ' Dormant' is read as 'dormant'; pick it from the drop-down to spell it so"),
        ("Providers!P3", "error", "allowed-values",
         "delivery 'pigeon' is not in the list; use one of: mail, email, fax"),
        ("Providers!Q3", "error", "allowed-values",
         "wants 'flowers' is not in the list; use any of: SOAP notes, progress reports, "
         "discharge summary, brochures, business cards, referral pads"),
    ]


def test_phone_email_state_zip_npi(tmp_path):
    s = base()
    s["Providers"].append(row("Providers", provider_id="P2", name="Bo Chen", stage="prospect",
                              phone="555-0142", fax="(503) 555-01", email="bo@@clinic",
                              state="or", zip="2134", npi="1750384963"))
    s["Providers"].append(row("Providers", provider_id="P3", name="Cy Diaz", stage="prospect",
                              state="XX", zip="9720", npi="17503849"))
    assert cell_problems(tmp_path, s) == [
        ("Providers!F3", "error", "npi", "NPI 1750384963 fails its check digit; the NPI "
         "registry (NPPES) lists each provider's 10-digit number"),
        ("Providers!G3", "error", "phone", "phone 555-0142 is missing its area code or is not "
         "in use; type the full number, e.g. (503) 555-0142"),
        ("Providers!H3", "error", "phone", "phone (503) 555-01 has the wrong number of digits; a "
         "US number has 10, e.g. (503) 555-0142"),
        ("Providers!I3", "error", "email", "email bo@@clinic is not an email address (The part "
         "after the @-sign contains invalid characters: '@'.); correct it"),
        ("Providers!L3", "warning", "state", "state or should be written OR"),
        ("Providers!M3", "error", "zip", "ZIP 2134 lost its leading zero: format the column as "
         "Text and type 02134"),
        ("Providers!F4", "error", "npi", "NPI 17503849 is not 10 digits; the NPI registry "
         "(NPPES) lists each provider's 10-digit number"),
        ("Providers!L4", "error", "state", "state XX is not a two-letter US state code; use "
         "e.g. OR"),
        ("Providers!M4", "error", "zip", "ZIP 9720 lost its leading zero: format the column as "
         "Text and type 09720"),
    ]


def test_icd10_and_cpt_without_quoting_the_diagnosis(tmp_path):
    s = base()
    s["Referrals"].append(row("Referrals", referral_id="R2", received_on=D(2025, 3, 1),
                              provider_id="P1", client_id="C1", status="received",
                              diagnosis="m54.2; G44.290"))
    s["Referrals"].append(row("Referrals", referral_id="R3", received_on=D(2025, 3, 1),
                              provider_id="P1", client_id="C1", status="received",
                              diagnosis="G43"))
    s["Visits"] = [headers("Visits"),
                   row("Visits", visit_id="V1", client_id="C1", date=D(2025, 3, 2), cpt="97124"),
                   row("Visits", visit_id="V2", client_id="C1", date=D(2025, 3, 3), cpt="9712"),
                   row("Visits", visit_id="V3", client_id="C1", date=D(2025, 3, 4), cpt="0001F")]
    problems = cell_problems(tmp_path, s)
    assert problems == [
        ("Referrals!E3", "error", "icd10", "the second diagnosis code in this cell is not in the "
         "ICD-10-CM code set; copy the code from the referral again (dots are optional)"),
        ("Referrals!E4", "warning", "icd10-billable", "the first diagnosis code in this cell is "
         "a category, not a billable code; ask for the full code if you bill insurance"),
        ("Visits!E3", "error", "cpt", "CPT 9712 is not a CPT code: five digits (97124) or four "
         "digits and a letter"),
    ]
    assert all("G44" not in p[3] and "G43" not in p[3] for p in problems)


def test_health_values_are_hidden_in_records(tmp_path):
    from refdesk.check import Context, check_book
    from refdesk.sources.excel import ExcelSource
    from tests.helpers import TODAY, make_xlsx

    s = base()
    s["Referrals"][1][headers("Referrals").index("diagnosis")] = "Z99.999"
    book = ExcelSource(make_xlsx(tmp_path / "w.xlsx", s)).read()
    (found,) = [p for p in check_book(book, Context(TODAY)) if p.rule == "icd10"]
    assert found.value == HIDDEN and "Z99" not in found.message


def test_unique_ids_and_repeated_rows(tmp_path):
    s = base()
    s["Providers"].append(row("Providers", provider_id="P1", name="Bo Chen", stage="prospect"))
    s["Contacts"] = [headers("Contacts"),
                     row("Contacts", date=D(2025, 4, 1), provider_id="P1", channel="phone",
                         summary="intro call"),
                     row("Contacts", date=D(2025, 4, 1), provider_id="P1", channel="phone",
                         summary="intro call"),
                     row("Contacts", date=D(2025, 4, 2), provider_id="P1", channel="phone",
                         summary="intro call")]
    assert cell_problems(tmp_path, s) == [
        ("Providers!A3", "error", "unique-id",
         "provider_id P1 is already used in row 2; give each row its own id"),
        ("Contacts!B3", "warning", "duplicate-row",
         "row 3 repeats row 2 (same values); delete one of them"),
    ]


def test_near_duplicate_provider(tmp_path):
    s = base()
    s["Providers"].append(row("Providers", provider_id="P2", name="Dana Whitfeld",
                              stage="prospect", phone="(503) 555-0142", npi="1750384962"))
    # Similar names with two different valid NPIs are two people.
    s["Providers"].append(row("Providers", provider_id="P3", name="Dana Whitfield",
                              stage="prospect", npi="1245319599"))
    # Same practice, different person.
    s["Providers"].append(row("Providers", provider_id="P4", name="Omar Haddad",
                              stage="prospect", phone="(503) 555-0142"))
    assert cell_problems(tmp_path, s) == [
        ("Providers!B3", "warning", "near-duplicate",
         "Dana Whitfeld looks like Dana Whitfield in row 2 (similar name, same practice or "
         "phone); if they are one person, keep one row and move its referrals to that "
         "provider_id"),
    ]


def test_phone_shortcut_agrees_with_phonenumbers():
    """The per-exchange shortcut must judge every number as phonenumbers itself does."""
    import random

    import phonenumbers

    from refdesk.check.formats import phone

    rng = random.Random(7)
    shapes = ("({a}) {e}-{n}", "{a}-{e}-{n}", "{a}.{e}.{n}", "+1 {a} {e} {n}", "{a}{e}{n}")
    for _ in range(3000):
        a, e, n = (f"{rng.randrange(200, 1000)}", f"{rng.randrange(200, 1000)}",
                   f"{rng.randrange(10000):04d}")
        value = rng.choice(shapes).format(a=a, e=e, n=n)
        expected = phonenumbers.is_valid_number(phonenumbers.parse(value, "US"))
        assert (phone(value, "US") is None) == expected, value
