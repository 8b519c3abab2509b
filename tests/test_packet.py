"""The documents of the referral relationship as a doctor's office reads them: quotes that fit
the provider's specialty and change from packet to packet, an introduction that says how the
practice works in one voice, no packet to a likely duplicate, a sent-referral note worded for
when the client was sent, salutations by title, and the client's thank-you card."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import replace
from pathlib import Path
from typing import Any

import docx
import pytest

from refdesk.config import load_config
from refdesk.merge import packet
from refdesk.merge.data import Data, provider_context
from refdesk.merge.jobs import load_jobs
from refdesk.merge.run import merge, select
from refdesk.sources.excel import ExcelSource
from tests.conftest import ROOT
from tests.helpers import headers, make_xlsx, row

TODAY = dt.date(2026, 11, 23)
NOW = dt.datetime(2026, 11, 23, 10, 0)
OK = dt.date(2026, 3, 1)  # a permission date well before TODAY

PROVIDERS = [
    dict(provider_id="P1", name="Daniel Okafor", credentials="MD", specialty="neurology",
         practice="Hawthorne Neurology", street="1200 NE 16th Ave", city="Portland",
         state="OR", zip="97232", stage="prospect", npi="1234567893"),
    dict(provider_id="P2", name="Sofia Alvarez", credentials="PA-C", specialty="OB/GYN",
         practice="Rose City Women's Health", street="55 SW Oak St", city="Portland",
         state="OR", zip="97204", stage="prospect"),
    dict(provider_id="P3", name="Ben Carter", credentials="DC", specialty="chiropractic",
         practice="Carter Chiropractic", street="9 N Main St", city="Gresham", state="OR",
         zip="97030", stage="contacted"),
    dict(provider_id="P4", name="Ana Ruiz", credentials="DDS", specialty="dentistry",
         practice="Ruiz Family Dental", street="300 SE Belmont St", city="Portland",
         state="OR", zip="97214", stage="prospect"),
]
QUOTES = [  # (id, condition, permission)
    ("T01", "migraine", OK), ("T02", "tension-type headache; neck pain", OK),
    ("T03", "migraines", dt.date(2026, 5, 1)), ("T04", "chronic headaches", OK),
    ("T05", "migraine", dt.date(2026, 6, 1)),
    ("T06", "prenatal massage; low back pain", OK), ("T07", "pregnancy", OK),
    ("T08", "neck pain and whiplash", OK), ("T09", "low back pain", OK),
    ("T10", "jaw pain (TMJ)", OK), ("T11", "teeth grinding; jaw clenching", OK),
    ("T12", "knee replacement", OK),
    ("T13", "migraine", None),  # no permission
    ("T14", "migraine", dt.date(2026, 12, 1)),  # permission dated after today
    ("T15", "", OK),  # a general quote
]


def _quote(tid: str) -> str:
    return f"Quote {tid}: the visits made a real difference."


def _sheets(providers: list[dict[str, Any]] | None = None, *, clients=(), releases=(),
            sent=(), letters=(), quotes=QUOTES) -> dict[str, list[list[Any]]]:
    return {
        "Providers": [headers("Providers")] + [row("Providers", **p)
                                               for p in providers or PROVIDERS],
        "Clients": [headers("Clients"),
                    row("Clients", client_id="C1", first_name="Nora", last_name="Quist",
                        source="doctor", referred_by_provider="P1", street="77 SE Ash St",
                        city="Portland", state="OR", zip="97214", phone="(503) 555-0199"),
                    *[row("Clients", **c) for c in clients]],
        "Referrals": [headers("Referrals")], "Contacts": [headers("Contacts")],
        "Visits": [headers("Visits")],
        "Releases": [headers("Releases"), *[row("Releases", **r) for r in releases]],
        "Sent": [headers("Sent"), *[row("Sent", **s) for s in sent]],
        "Testimonials": [headers("Testimonials")] + [
            row("Testimonials", testimonial_id=tid, client_id="C1", quote=_quote(tid),
                condition=condition or None, permission_on=permission)
            for tid, condition, permission in quotes],
        "Letters": [headers("Letters"), *[row("Letters", **letter) for letter in letters]],
    }


def _practice_folder(tmp_path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    """The project's config and templates with a workbook of our own."""
    from tests.conftest import copy_practice

    config = copy_practice(tmp_path / "practice")
    make_xlsx(config.parent / "workbooks" / "referrals.xlsx", sheets)
    return config


def _data(tmp_path: Path, sheets: dict[str, list[list[Any]]]) -> Data:
    path = make_xlsx(tmp_path / "book.xlsx", sheets)
    return Data.of(ExcelSource(path).read(), TODAY)


def _text(data: bytes | Path) -> str:
    document = docx.Document(io.BytesIO(data) if isinstance(data, bytes) else data)
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        for r in table.rows:
            lines.extend(cell.text for cell in r.cells)
    return "\n".join(lines)


@pytest.fixture
def practice_config():
    return load_config(ROOT / "config.toml").practice


# -- quotes that fit -------------------------------------------------------------------------
@pytest.mark.parametrize(("pid", "terms"), [
    ("P1", ("migraine", "headache")), ("P2", ("prenatal", "pregnancy")),
    ("P3", ("neck", "back")), ("P4", ("jaw", "teeth", "tmj"))])
def test_each_specialty_gets_quotes_about_its_conditions(tmp_path: Path, practice_config,
                                                         pid: str, terms: tuple[str]) -> None:
    data = _data(tmp_path, _sheets())
    chosen = packet.choose(data, "intro-packet", data.providers[pid], practice_config)
    assert 2 <= len(chosen) <= 3
    for quote in chosen:
        assert quote["attribution"].startswith("a client treated for ")
        assert any(t in quote["attribution"].lower() for t in terms), quote


def test_words_match_loosely_but_not_on_pain_alone() -> None:
    assert packet.fits("tension-type headaches", "headache")
    assert packet.fits("jaw pain (TMJ)", "TMJ")
    assert packet.fits("migrane", "migraine")  # a typo in a long word
    assert not packet.fits("neck pain", "back")
    assert not packet.fits("low back pain", "neck pain and whiplash")
    assert packet.specialty_terms("Neurology") == packet.specialty_terms("neurology")
    assert packet.specialty_terms("astrology") == ()


def test_a_second_packet_gets_other_quotes(tmp_path: Path, practice_config) -> None:
    first = _data(tmp_path, _sheets())
    before = packet.choose(first, "intro-packet", first.providers["P1"], practice_config)
    letters = [dict(letter_id="L1", when=dt.datetime(2026, 10, 1, 9), job="intro-packet",
                    record="P1", provider_id="P1", status="produced")]
    second = _data(tmp_path, _sheets(letters=letters))
    after = packet.choose(second, "intro-packet", second.providers["P1"], practice_config)
    assert {q["quote"] for q in after} != {q["quote"] for q in before}
    assert all("migraine" in q["attribution"] or "headache" in q["attribution"] for q in after)
    # the same data, the same packet: no clock, no chance
    assert packet.choose(second, "intro-packet", second.providers["P1"], practice_config) == after
    # a failed document was never sent: it does not move the turn
    failed = [dict(letters[0], status="failed")]
    third = _data(tmp_path, _sheets(letters=failed))
    assert packet.choose(third, "intro-packet", third.providers["P1"], practice_config) == before


def test_without_fitting_quotes_the_practices_conditions_then_general_ones(
        tmp_path: Path, practice_config) -> None:
    orthopedist = dict(PROVIDERS[0], provider_id="P9", name="Lena Fox", specialty="oncology")
    data = _data(tmp_path, _sheets([orthopedist]))
    chosen = packet.choose(data, "intro-packet", data.providers["P9"], practice_config)
    assert len(chosen) == 2
    said = " ".join(q["attribution"] for q in chosen)
    assert "knee" not in said  # neither the specialty's nor the practice's


def test_no_permission_or_a_future_one_is_never_used(tmp_path: Path, practice_config) -> None:
    data = _data(tmp_path, _sheets())
    seen: set[str] = set()
    for turn in range(8):  # every turn of the rotation, for every provider
        letters = [dict(letter_id=f"L{n}", when=dt.datetime(2026, 10, 1, 9), job="intro-packet",
                        record=p["provider_id"], provider_id=p["provider_id"],
                        status="produced") for n, p in enumerate(PROVIDERS * turn)]
        data = _data(tmp_path, _sheets(letters=letters))
        for p in PROVIDERS:
            seen |= {q["quote"] for q in packet.choose(data, "intro-packet",
                                                       data.providers[p["provider_id"]],
                                                       practice_config)}
    assert _quote("T13") not in seen and _quote("T14") not in seen
    assert _quote("T05") in seen  # the rotation does reach the others


def test_the_packet_prints_fitting_quotes_and_never_a_clients_name(tmp_path: Path) -> None:
    config_path = _practice_folder(tmp_path, _sheets())
    config = load_config(config_path)
    result = merge(config, "intro-packet", ExcelSource(config.excel), today=TODAY, now=NOW)
    by_provider = {d.record.provider_id: _text(d.file) for d in result.documents}
    assert set(by_provider) == {"P1", "P2", "P3", "P4"}
    assert "a client treated for migraine" in by_provider["P1"]
    assert "a client treated for prenatal massage" in by_provider["P2"] \
        or "a client treated for pregnancy" in by_provider["P2"]
    for text in by_provider.values():
        assert "Nora" not in text and "Quist" not in text
        assert _quote("T13") not in text and _quote("T14") not in text


# -- the letter of introduction ---------------------------------------------------------------
def test_the_letter_says_solo_insurance_new_patients_in_the_first_person(
        tmp_path: Path) -> None:
    config_path = _practice_folder(tmp_path, _sheets())
    config = load_config(config_path)
    result = merge(config, "intro-packet", ExcelSource(config.excel), today=TODAY, now=NOW,
                   preview=1)
    text = _text(result.documents[0].file)
    assert "my solo massage therapy practice in Portland" in text
    assert packet.INSURANCE["superbill"] in text
    assert packet.NEW_PATIENTS[True] in text
    assert "I trained at" in text and "Maya trained" not in text and " she " not in text
    assert "Dear Dr. Okafor:" in text


@pytest.mark.parametrize(("insurance", "accepting", "kind"), [
    ("direct", True, "group"), ("none", False, "solo")])
def test_each_insurance_and_new_patients_setting_has_its_sentence(
        tmp_path: Path, insurance: str, accepting: bool, kind: str) -> None:
    config_path = _practice_folder(tmp_path, _sheets())
    text = config_path.read_text()
    text = text.replace('insurance = "superbill"', f'insurance = "{insurance}"')
    text = text.replace("new_patients = true", f"new_patients = {str(accepting).lower()}")
    text = text.replace('practice_type = "solo"', f'practice_type = "{kind}"')
    config_path.write_text(text)
    config = load_config(config_path)
    assert (config.practice.insurance, config.practice.new_patients) == (insurance, accepting)
    result = merge(config, "intro-packet", ExcelSource(config.excel), today=TODAY, now=NOW,
                   preview=1)
    letter = _text(result.documents[0].file)
    assert packet.INSURANCE[insurance] in letter
    assert packet.NEW_PATIENTS[accepting] in letter
    assert ("a group massage therapy practice" in letter) == (kind == "group")


def test_a_training_text_in_the_third_person_is_named(practice_config) -> None:
    assert packet.third_person(practice_config) == ""
    third = replace(practice_config, training="Maya trained at the Oregon School of Massage.")
    assert "first person" in packet.third_person(third)


# -- no packet to a likely duplicate ---------------------------------------------------------
def _duplicates(tmp_path: Path, second_name: str, npis: tuple[str | None, str | None]):
    raman = dict(PROVIDERS[0], provider_id="P1", name="Priya Raman", stage="referring",
                 practice="Hawthorne Neurology", npi=npis[0])
    other = dict(PROVIDERS[0], provider_id="P2", name=second_name, stage="prospect",
                 practice="Hawthorne Neurology", npi=npis[1])
    config_path = _practice_folder(tmp_path, _sheets([raman, other]))
    config = load_config(config_path)
    data = Data.of(ExcelSource(config.excel).read(), TODAY)
    return select(data, load_jobs(config)["intro-packet"], False)


def test_a_near_duplicate_of_a_referring_provider_gets_no_packet(tmp_path: Path) -> None:
    chosen, skipped, _done, _n = _duplicates(tmp_path, "Priya Ramen", (None, None))
    assert chosen == []
    (skip,) = skipped
    assert skip.record.provider_id == "P2"
    assert "Priya Raman" in skip.reason and "P1" in skip.reason
    assert "Providers!" in skip.reason and "stage referring" in skip.reason


@pytest.mark.parametrize(("name", "npis"), [
    ("Marcus Bell", (None, None)),  # another person at the same practice
    ("Priya Ramen", ("1234567893", "1245319599")),  # alike names, each with their own NPI
])
def test_two_distinct_people_both_may_get_packets(tmp_path: Path, name: str,
                                                  npis: tuple[str, str]) -> None:
    chosen, skipped, _done, _n = _duplicates(tmp_path, name, npis)
    assert [r.provider_id for r in chosen] == ["P2"] and skipped == []


# -- the sent-referral note and salutations --------------------------------------------------
RELEASE = dict(release_id="R1", client_id="C1", signed_on=dt.date(2026, 1, 10),
               expires_on=dt.date(2027, 1, 10), scope="treatment plan; progress")


@pytest.mark.parametrize(("sent_on", "opening"), [
    (dt.date(2026, 11, 23), "This week I suggested that my client Nora Quist see you."),
    (dt.date(2026, 11, 12), "Recently I suggested that my client Nora Quist see you."),
    (dt.date(2026, 2, 2), "On February 2, 2026, I suggested that my client Nora Quist see you."),
])
def test_the_sent_note_is_worded_for_when_the_client_was_sent(tmp_path: Path, sent_on,
                                                              opening: str) -> None:
    sheets = _sheets(releases=[dict(RELEASE, provider_id="P2")],
                     sent=[dict(sent_id="S1", sent_on=sent_on, client_id="C1",
                                provider_id="P2", reason="prenatal care")])
    config = load_config(_practice_folder(tmp_path, sheets))
    result = merge(config, "sent-referral", ExcelSource(config.excel), today=TODAY, now=NOW)
    (document,) = result.documents
    text = _text(document.file)
    assert opening in text
    recent = sent_on > dt.date(2026, 11, 9)
    assert ("If they have not contacted your office yet" in text) == (not recent)
    assert ("They will call your office" in text) == recent
    assert "arrange an appointment" not in text and "once my client" not in text
    assert ("Nora has signed a release that lets me share my treatment plan and progress "
            "reports with your office until January 10, 2027.") in text
    assert "Dear Sofia Alvarez, PA-C:" in text


def test_no_release_no_note(tmp_path: Path) -> None:
    sheets = _sheets(sent=[dict(sent_id="S1", sent_on=dt.date(2026, 11, 20), client_id="C1",
                                provider_id="P2")])
    config = load_config(_practice_folder(tmp_path, sheets))
    result = merge(config, "sent-referral", ExcelSource(config.excel), today=TODAY, now=NOW)
    assert result.documents == [] and len(result.skipped) == 1


def test_salutations_by_title() -> None:
    assert provider_context(PROVIDERS[0])["salutation"] == "Dr. Okafor"
    assert provider_context(PROVIDERS[1])["salutation"] == "Sofia Alvarez, PA-C"
    assert provider_context(dict(name="Tom Reyes Jr.", credentials="DO"))["salutation"] == \
        "Dr. Reyes"
    assert provider_context(dict(name="Kim Lee", credentials="LCSW"))["salutation"] == \
        "Kim Lee, LCSW"


def test_every_template_greets_by_the_salutation_field() -> None:
    greeted = 0
    for template in sorted((ROOT / "templates").glob("*.docx")):
        text = _text(template)
        for line in text.splitlines():
            if line.startswith("Dear "):
                greeted += 1
                assert line in ("Dear {{ provider.salutation }}:",
                                "Dear {{ referring.salutation }},"), (template.name, line)
    assert greeted >= 4


# -- the fax cover's page count --------------------------------------------------------------
def _blank_pdf(path: Path, pages: int) -> Path:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(612, 792)
    with path.open("wb") as out:
        writer.write(out)
    return path


@pytest.mark.parametrize("cover_pages", [1, 2])
def test_the_fax_cover_counts_every_page_itself_included(tmp_path: Path,
                                                         cover_pages: int) -> None:
    from refdesk.merge.deliver import fax_files, page_count

    stated: list[int] = []

    def render_cover(_i: int, pages: int) -> bytes:
        stated.append(pages)
        return b"cover"

    def convert(paths: list[Path], folder: Path) -> list[Path]:
        return [_blank_pdf(folder / f"{p.stem}.pdf", cover_pages) for p in paths]

    document = _blank_pdf(tmp_path / "letter.pdf", 2)
    made: list[Path] = []
    joined = fax_files(render_cover, {0: document}, tmp_path, convert, made)
    assert page_count(joined[0]) == 2 + cover_pages
    assert stated[-1] == 2 + cover_pages  # a two-page cover is counted again, and says so
    assert len(stated) == (1 if cover_pages == 1 else 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".fax-00000.pdf", "letter.pdf"]


def test_a_faxed_document_states_its_pages_on_the_cover(tmp_path: Path, soffice: str) -> None:
    import shutil
    import subprocess

    from refdesk.merge.deliver import page_count
    from tests.conftest import need

    need(shutil.which("pdftotext") is not None, "pdftotext (poppler-utils) is not installed")
    neurologist = dict(PROVIDERS[0], delivery="fax", fax="(503) 555-0101")
    config = load_config(_practice_folder(tmp_path, _sheets([neurologist])))
    result = merge(config, "intro-packet", ExcelSource(config.excel), today=TODAY, now=NOW,
                   deliver=True)
    (document,) = result.documents
    fax = document.outcome.path
    pages = page_count(fax)
    assert page_count(document.pdf) == 3, "the letter fits on one page, then the two forms"
    assert pages == 4
    cover = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-layout", str(fax), "-"],
                           capture_output=True, text=True, check=True).stdout
    assert f"{pages} including this cover" in " ".join(cover.split())


# -- the client's thank-you card -------------------------------------------------------------
CARD_CLIENTS = [
    dict(client_id="C2", first_name="Iris", last_name="Vance", source="doctor",
         referred_by_provider="P1", client_card="yes", first_visit=dt.date(2026, 11, 10),
         street="410 NE Alberta St", city="Portland", state="OR", zip="97211"),
    dict(client_id="C3", first_name="Omar", last_name="Haddad", source="doctor",
         referred_by_provider="P1", client_card="no", first_visit=dt.date(2026, 11, 10),
         street="12 SE Pine St", city="Portland", state="OR", zip="97214"),
    dict(client_id="C4", first_name="June", last_name="Park", source="doctor",
         referred_by_provider="P5", client_card="yes", first_visit=dt.date(2026, 11, 12),
         street="8 NW Elm St", city="Portland", state="OR", zip="97209"),
    dict(client_id="C5", first_name="Leo", last_name="Marsh", source="doctor",
         client_card="yes", first_visit=dt.date(2026, 11, 12), street="5 N Lake St",
         city="Portland", state="OR", zip="97217"),
    dict(client_id="C6", first_name="Ada", last_name="Stone", source="doctor",
         referred_by_provider="P1", client_card="yes", first_visit=dt.date(2026, 11, 15)),
]
NO_ADDRESS = dict(provider_id="P5", name="Rita Moss", credentials="NP", stage="referring",
                  practice="Moss Family Care")


def test_a_client_card_goes_to_the_referring_doctor_with_the_clients_address(
        tmp_path: Path) -> None:
    sheets = _sheets([*PROVIDERS, NO_ADDRESS], clients=CARD_CLIENTS)
    config = load_config(_practice_folder(tmp_path, sheets))
    result = merge(config, "client-card", ExcelSource(config.excel), today=TODAY, now=NOW)
    assert [d.record.key for d in result.documents] == ["C2"]
    skipped = {s.record.key: s.reason for s in result.skipped}
    assert set(skipped) == {"C4", "C5", "C6"}  # C3 said no: not even considered
    assert "P5 has no street and city" in skipped["C4"] and "Providers!" in skipped["C4"]
    assert "no referring provider in Clients!" in skipped["C5"]
    assert "no address for the client" in skipped["C6"]

    document = docx.Document(result.documents[0].file)
    card, envelope = document.sections
    assert card.page_width < card.page_height * 2 and card.page_width.inches == 5.5
    assert (envelope.page_width.inches, envelope.page_height.inches) == (9.5, 4.125)
    text = [p.text for p in document.paragraphs if p.text]
    assert "Dear Dr. Okafor," in text
    back = len(text) - 1 - text[::-1].index("Iris Vance")  # the card is signed too
    assert text[back:back + 3] == ["Iris Vance", "410 NE Alberta St", "Portland, OR 97211"]
    to = text.index("Daniel Okafor, MD")
    assert text[to:to + 4] == ["Daniel Okafor, MD", "Hawthorne Neurology", "1200 NE 16th Ave",
                               "Portland, OR 97232"]
    assert back < to  # the return address first, top left

    clients = ExcelSource(config.excel).read().tables["Clients"].df.set_index("client_id")
    assert clients.loc["C2", "card_sent"].date() == TODAY
    assert clients.loc[["C3", "C4", "C5", "C6"], "card_sent"].isna().all()
    again = merge(config, "client-card", ExcelSource(config.excel), today=TODAY, now=NOW)
    assert again.documents == []


def test_summary_notes_a_training_text_in_the_third_person(practice: Path) -> None:
    from tests.conftest import run

    assert "first person" not in run("summary", "-c", practice).stderr
    text = practice.read_text().replace('training = "I trained', 'training = "Maya trained')
    practice.write_text(text)
    result = run("summary", "-c", practice)
    assert result.exit_code == 0
    assert 'Note: [practice] training starts with "Maya"' in result.stderr


def test_a_quote_naming_another_specialtys_condition_comes_after(tmp_path: Path,
                                                                 practice_config) -> None:
    orthopedist = dict(PROVIDERS[0], provider_id="P7", name="Ines Holt", specialty="orthopedics")
    quotes = [("T1", "prenatal back pain", dt.date(2026, 10, 1)),
              ("T2", "low back pain", dt.date(2026, 2, 1)),
              ("T3", "knee replacement", dt.date(2026, 1, 1))]
    data = _data(tmp_path, _sheets([orthopedist], quotes=quotes))
    chosen = packet.choose(data, "intro-packet", data.providers["P7"], practice_config)
    assert [q["attribution"][21:] for q in chosen] == ["low back pain", "knee replacement",
                                                       "prenatal back pain"]
