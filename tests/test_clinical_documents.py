"""Progress reports and super bills as the referring office and the insurer read them: the
measured outcome against the goal (in words and as a chart), pain before and after, the latest
notes, the signature; a super bill's lines pointing into its lettered diagnoses, the client's
insurance in words, and the records skipped with the reason."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import docx
import pytest

from refdesk.config import load_config
from refdesk.merge import clinical
from refdesk.merge.run import MergeResult, merge
from refdesk.office import convert
from refdesk.sources.excel import ExcelSource
from tests.conftest import ROOT, need
from tests.helpers import headers, make_xlsx, row

TODAY = dt.date(2026, 11, 23)
NOW = dt.datetime(2026, 11, 23, 10, 0)
D = dt.datetime
NOTES = {
    "subjective": "Two headache days last week, both mild.",
    "objective": "Cervical rotation 70 degrees both ways; fewer trigger points in the traps.",
    "assessment": "Responding well: headache days down, neck mobility up.",
    "plan": "Continue weekly for three visits, then every other week.",
}


def _visit(visit_id: str, client: str, day: D, referral: str | None = None,
           **values: object) -> list[object]:
    base = {"cpt": "97124", "units": 4, "minutes": 60, "fee": 120.0, "paid": 120.0,
            "payment_method": "card"}
    return row("Visits", visit_id=visit_id, client_id=client, date=day, referral_id=referral,
               **{**base, **values})


def _sheets() -> dict[str, list[list[object]]]:
    """One referral with scores, pain and notes (R1); one whose last report already saw every
    note (R2); a client billed on their own diagnosis (C2, no referral) and one with none
    (C3)."""
    sheets: dict[str, list[list[object]]] = {name: [headers(name)] for name in (
        "Providers", "Clients", "Releases", "Referrals", "Visits", "Letters")}
    sheets["Providers"].append(row(
        "Providers", provider_id="P1", name="Dana Okafor", credentials="MD",
        practice="Eastside Family Medicine", npi="1234567893", stage="referring",
        delivery="fax", fax="(503) 555-0199", wants="progress reports",
        street="1 Main St", city="Portland", state="OR", zip="97202"))
    sheets["Clients"] += [
        row("Clients", client_id="C1", first_name="Ann", last_name="Lee", dob=D(1980, 4, 2),
            street="12 Oak St", city="Portland", state="OR", zip="97214",
            insurance_carrier="Regence BlueShield", member_id="RBS123456",
            referred_by_provider="P1", source="doctor"),
        row("Clients", client_id="C2", first_name="Bo", last_name="Kim", dob=D(1975, 1, 9),
            diagnosis="M54.2", source="client"),
        row("Clients", client_id="C3", first_name="Cy", last_name="Day", source="client"),
        row("Clients", client_id="C4", first_name="Di", last_name="Moss", source="doctor",
            referred_by_provider="P1"),
    ]
    for release, client in (("RL1", "C1"), ("RL4", "C4")):
        sheets["Releases"].append(row(
            "Releases", release_id=release, client_id=client, provider_id="P1",
            signed_on=D(2026, 9, 1), expires_on=D(2027, 9, 1), scope="progress; diagnosis"))
    sheets["Referrals"] += [
        row("Referrals", referral_id="R1", received_on=D(2026, 9, 20), provider_id="P1",
            client_id="C1", diagnosis="G43.709; M54.2", services="Swedish massage",
            per_week=1, weeks=8, visits_authorized=8, measure="headache days per week",
            goal=1, status="in care", first_visit=D(2026, 10, 1)),
        row("Referrals", referral_id="R2", received_on=D(2026, 9, 20), provider_id="P1",
            client_id="C4", diagnosis="M54.2", per_week=1, weeks=6, visits_authorized=6,
            status="in care", first_visit=D(2026, 10, 2), last_report_sent=D(2026, 11, 1)),
    ]
    sheets["Visits"] += [
        _visit("V1", "C1", D(2026, 10, 1), "R1", pain_before=7, pain_after=4, measure_score=5,
               subjective="Five headache days last week.", assessment="Tight upper traps."),
        _visit("V2", "C1", D(2026, 10, 8), "R1", pain_before=6, pain_after=3, measure_score=4,
               objective="Rotation 60 degrees."),
        _visit("V3", "C1", D(2026, 10, 22), "R1", pain_before=5, pain_after=2, measure_score=3,
               cpt="97140", units=3, minutes=45, fee=97.5, paid=0,
               assessment=NOTES["assessment"]),
        _visit("V4", "C1", D(2026, 11, 5), "R1", pain_before=4, pain_after=1, measure_score=2,
               subjective=NOTES["subjective"], objective=NOTES["objective"],
               plan=NOTES["plan"]),
        _visit("V5", "C4", D(2026, 10, 2), "R2", subjective="Sore neck."),
        _visit("V6", "C4", D(2026, 11, 10), "R2"),  # after the last report, but no notes
        _visit("V7", "C2", D(2026, 10, 14), cpt="97112", units=None, minutes=50, fee=136.0,
               paid=50.0),
        _visit("V8", "C3", D(2026, 10, 15)),
    ]
    return sheets


def _practice(folder: Path, sheets: dict | None = None, extra: str = "") -> Path:
    """config.toml (with `extra` lines after [practice]'s first line), the templates and a
    workbook built here."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "templates", folder / "templates")
    (folder / "workbooks").mkdir()
    make_xlsx(folder / "workbooks" / "referrals.xlsx", sheets or _sheets())
    config = (ROOT / "config.toml").read_text(encoding="utf-8")
    config = config.replace("[practice]\n", "[practice]\n" + extra)
    if 'require = ["new notes"]' not in config:  # as the shipped progress-report job says
        config = config.replace("[jobs.progress-report]\n",
                                '[jobs.progress-report]\nrequire = ["new notes"]\n')
    (folder / "config.toml").write_text(config, encoding="utf-8")
    return folder / "config.toml"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _practice(tmp_path_factory.mktemp("clinical") / "practice")


@pytest.fixture
def practice(built: Path, tmp_path: Path) -> Path:
    shutil.copytree(built.parent, tmp_path / "practice")
    return tmp_path / "practice" / "config.toml"


def _run(config_path: Path, job: str, **kw: object) -> MergeResult:
    config = load_config(config_path)
    return merge(config, job, ExcelSource(config.excel), today=TODAY, now=NOW, **kw)


def _xml_text(file: Path) -> str:
    """The text of word/document.xml, paragraphs on their own lines."""
    xml = zipfile.ZipFile(file).read("word/document.xml").decode()
    xml = re.sub(r"</w:p>", "\n", xml)
    return re.sub(r"<[^>]+>", "", xml).replace("&amp;", "&")


def _doc(result: MergeResult, key: str) -> Path:
    found = [d.file for d in result.documents if d.record.key == key]
    assert found and found[0] is not None, [d.record.key for d in result.documents]
    return found[0]


# -- the progress report -------------------------------------------------------------------------
def test_the_report_holds_the_outcome_the_pain_the_notes_and_the_signature(practice: Path
                                                                           ) -> None:
    result = _run(practice, "progress-report")
    text = _xml_text(_doc(result, "R1"))
    assert "From 5 to 2 headache days per week; goal 1: 75% of the way." in text
    assert "−3" in text and "75% of the way" in text
    assert "Pain (0-10) averaged 5.5 at the start of a session and 2.5 at the end, over 4 " \
           "rated visits." in text
    for note in NOTES.values():
        assert note in text
    assert "Tight upper traps." not in text, "only the latest note of each part"
    assert "Five headache days last week." not in text
    assert "Electronically signed by Maya Lindqvist, LMT on November 23, 2026" in text
    assert "OR LMT #21874" in text and "NPI 1750384962" in text
    visits = text[text.index("Pain after"):]
    assert re.search(r"October 22, 2026\n97140\n45\n5\n2\n3\n", visits), visits[:400]
    assert "____" not in text, "no blank lines to fill in"


def test_the_chart_is_a_png_in_the_package(practice: Path) -> None:
    result = _run(practice, "progress-report")
    with zipfile.ZipFile(_doc(result, "R1")) as zf:
        media = [n for n in zf.namelist() if n.startswith("word/media/")]
        assert len(media) == 1 and media[0].endswith(".png")
        data = zf.read(media[0])
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert (width, height) == (1102, 393), "14 cm x 5 cm at 200 dots per inch"
        assert b"Software" not in data and b"tIME" not in data
        assert b'cx="5040000"' in zf.read("word/document.xml"), "placed 14 cm wide"


def test_the_same_scores_make_the_same_png() -> None:
    points = [(dt.date(2026, 10, 1), 5.0), (dt.date(2026, 10, 8), 4.0),
              (dt.date(2026, 11, 5), 2.0)]
    first = clinical.chart_png(points, 1.0, "headache days per week")
    assert first == clinical.chart_png(points, 1.0, "headache days per week")
    assert first != clinical.chart_png(points, 2.0, "headache days per week")
    # a measure's name is text, never matplotlib's math
    assert clinical.chart_png(points, None, "cost $x$ %").startswith(b"\x89PNG")


def test_fewer_than_two_scores_say_the_score_in_words() -> None:
    referral = {"measure": "Neck Disability Index %", "goal": "10"}
    one = clinical.outcome(referral, [{"date": dt.date(2026, 10, 1), "measure_score": "40"}],
                           care=True)
    assert one["summary"] == ("Neck Disability Index 40% on October 1, 2026, the only score "
                              "so far; goal 10%")
    assert one["change"] == "" and one["chart"] != "", "one score: the distance to the goal"
    alone = clinical.outcome({"measure": "Neck Disability Index %"},
                             [{"date": dt.date(2026, 10, 1), "measure_score": "40"}], care=True)
    assert alone["chart"] == "", "one score and no goal: nothing to draw against"
    none = clinical.outcome(referral, [{"date": dt.date(2026, 10, 1)}], care=True)
    assert none["summary"] == "Neck Disability Index %: no scores recorded yet; goal 10%"
    assert clinical.outcome({}, [{"date": dt.date(2026, 10, 1)}], care=True)["summary"] == ""


@pytest.mark.parametrize(("first", "latest", "goal", "words"), [
    (5, 2, 1, "75% of the way"), (3, 8, 8, "goal reached"), (3, 10, 8, "goal reached"),
    (4, 4, 1, "no progress toward it yet"), (3, 5, 1, "further from it than at first"),
    (40, 24, 10, "53% of the way"),
])
def test_how_far_toward_the_goal(first: float, latest: float, goal: float, words: str) -> None:
    assert clinical.toward(first, latest, goal) == words


def test_without_a_release_for_progress_the_report_has_no_scores_or_notes(practice: Path
                                                                          ) -> None:
    from refdesk.merge.data import Data, context, records
    from refdesk.merge.jobs import load_jobs

    config = load_config(practice)
    data = Data.of(ExcelSource(config.excel).read(), TODAY)
    thank_you = load_jobs(config)["thank-you"]
    record = next(r for r in records(data, thank_you) if r.key == "R1")
    ctx = context(data, thank_you, record, config.practice)
    assert ctx["outcome"]["summary"] == "" and ctx["outcome"]["chart"] == ""
    assert ctx["notes"]["latest"] == []
    assert {v["pain_before"] for v in ctx["progress"]["visits"]} == {""}


def test_a_referral_without_new_notes_is_skipped_with_the_reason(practice: Path) -> None:
    result = _run(practice, "progress-report")
    assert [d.record.key for d in result.documents] == ["R1"]
    skipped = {s.record.key: s.reason for s in result.skipped}
    assert "since the last report on 2026-11-01" in skipped["R2"]
    assert "nothing new" in skipped["R2"]


def test_a_signature_picture_replaces_the_typed_line(tmp_path: Path) -> None:
    from tests.test_merge_images import png

    config = _practice(tmp_path / "practice", extra='signature_image = "sig.png"\n')
    png(config.parent / "sig.png", (240, 60), (20, 40, 220))
    result = _run(config, "progress-report")
    file = _doc(result, "R1")
    text = _xml_text(file)
    assert "Electronically signed" not in text
    assert "Maya Lindqvist, LMT  ·  November 23, 2026" in text
    with zipfile.ZipFile(file) as zf:
        media = [n for n in zf.namelist() if n.startswith("word/media/")]
        assert (config.parent / "sig.png").read_bytes() in [zf.read(n) for n in media]
        assert len(media) == 2, "the signature and the chart"


# -- the super bill ------------------------------------------------------------------------------
def _bill_lines(file: Path) -> list[list[str]]:
    document = docx.Document(io.BytesIO(file.read_bytes()))
    services = next(t for t in document.tables if "POS" in t.rows[0].cells[1].text)
    return [[c.text for c in r.cells] for r in services.rows[1:]]


def test_each_line_points_into_the_lettered_diagnoses(practice: Path) -> None:
    result = _run(practice, "super-bill")
    file = _doc(result, "C1 2026-10")
    text = _xml_text(file)
    assert re.search(r"A\nG43\.709\nChronic migraine without aura, not intractable", text)
    assert re.search(r"B\nM54\.2\nCervicalgia", text)
    lines = _bill_lines(file)
    assert lines[:3] == [
        ["10/01/2026", "11", "97124", "Massage therapy, 15 min", "AB", "4", "$120.00"],
        ["10/08/2026", "11", "97124", "Massage therapy, 15 min", "AB", "4", "$120.00"],
        ["10/22/2026", "11", "97140", "Manual therapy, 15 min", "AB", "3", "$97.50"]]
    assert "$337.50" in text and "$240.00" in text and "$97.50" in text
    assert "Regence BlueShield" in text and "RBS123456" in text
    assert "April 2, 1980" in text and "12 Oak St, Portland, OR 97214" in text
    assert "Dana Okafor, MD  ·  NPI 1234567893" in text
    assert "93-1847265" in text and "OR LMT #21874" in text and "1750384962" in text
    assert "Electronically signed by Maya Lindqvist, LMT on November 23, 2026" in text


def test_a_bill_without_insurance_says_self_pay_and_counts_units(practice: Path) -> None:
    result = _run(practice, "super-bill")
    file = _doc(result, "C2 2026-10")
    text = _xml_text(file)
    assert "self-pay (no insurance on file)" in text and "none (self-pay)" in text
    assert "address not on file" in text
    assert "Referring provider  none" in text
    assert re.search(r"A\nM54\.2\nCervicalgia", text), "the client's own diagnosis"
    # 50 minutes of a timed code with no units entered: three units by the 8-minute rule
    assert _bill_lines(file)[0][:7] == ["10/14/2026", "11", "97112",
                                        "Neuromuscular re-ed, 15 min", "A", "3", "$136.00"]


def test_a_month_without_a_diagnosis_is_skipped_unless_the_job_requires_nothing(
        practice: Path) -> None:
    result = _run(practice, "super-bill")
    skipped = {s.record.key: s.reason for s in result.skipped}
    assert "no diagnosis" in skipped["C3 2026-10"]
    assert "require = []" in skipped["C3 2026-10"]
    assert "C3 2026-10" not in {d.record.key for d in result.documents}

    text = practice.read_text(encoding="utf-8")
    practice.write_text(text.replace("[jobs.super-bill]\n", "[jobs.super-bill]\nrequire = []\n"),
                        encoding="utf-8")
    again = _run(practice, "super-bill")
    bill = _xml_text(_doc(again, "C3 2026-10"))
    assert "Diagnoses" not in bill and "Dx\nCode" not in bill, "no empty diagnosis section"
    assert "10/15/2026" in bill


def test_a_month_with_an_invalid_code_is_skipped_naming_the_cell(tmp_path: Path) -> None:
    """A code that is not ICD-10-CM (two digits swapped) would come back from the insurer; the
    reason names the cell and never prints the code itself."""
    sheets = _sheets()
    header = sheets["Clients"][0]
    for line in sheets["Clients"][1:]:
        if line[header.index("client_id")] == "C2":
            line[header.index("diagnosis")] = "M54.2; G44.290"
    result = _run(_practice(tmp_path / "practice", sheets), "super-bill")
    reason = {s.record.key: s.reason for s in result.skipped}["C2 2026-10"]
    column = chr(65 + header.index("diagnosis"))
    assert reason.startswith(f"Clients!{column}3 holds a code that is not a valid ICD-10-CM")
    assert "G44.290" not in reason and "M54.2" not in reason
    assert "C1 2026-10" in {d.record.key for d in result.documents}


def test_place_of_service_comes_from_config(tmp_path: Path) -> None:
    from refdesk.errors import ConfigError

    config = _practice(tmp_path / "practice", extra='place_of_service = "12"\n')
    file = _doc(_run(config, "super-bill"), "C1 2026-10")
    assert _bill_lines(file)[0][1] == "12"
    assert "place of service 12 (home)" in _xml_text(file).lower()
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('place_of_service = "12"', 'place_of_service = "office"'),
                      encoding="utf-8")
    with pytest.raises(ConfigError, match="place_of_service.*two-digit"):
        load_config(config)


# -- printed -------------------------------------------------------------------------------------
def _pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout


def test_printed_report_and_bill_read_whole(practice: Path, soffice: str,
                                            tmp_path: Path) -> None:
    need(shutil.which("pdftotext") is not None, "pdftotext (poppler-utils) is not installed")
    report = _doc(_run(practice, "progress-report"), "R1")
    bill = _doc(_run(practice, "super-bill"), "C1 2026-10")
    report_pdf, bill_pdf = convert([report, bill], "pdf", tmp_path / "pdf")
    text = _pdf_text(report_pdf)
    flat = " ".join(text.split())
    assert "From 5 to 2 headache days per week; goal 1: 75% of the way." in flat
    assert NOTES["assessment"] in flat and NOTES["plan"] in flat
    assert "Electronically signed by Maya Lindqvist, LMT on November 23, 2026" in flat
    assert not re.search(r"_{5,}", text), "no line of underscores"
    pages = subprocess.run(["pdfinfo", str(report_pdf)], capture_output=True, text=True,
                           check=True).stdout
    assert re.search(r"Pages:\s+[12]\n", pages), pages
    lines = _pdf_text(bill_pdf).splitlines()
    for date in ("10/01/2026", "10/08/2026", "10/22/2026"):
        line = next(ln for ln in lines if date in ln)
        assert re.search(rf"{date}\s+11\s+97\d\d\d\s+\w.*15 min\s+AB\s+\d\s+\$\d+\.\d\d$",
                         line.strip()), line
    # nothing wraps inside a cell: each cell's text is whole on one printed line (the
    # longest diagnosis of the sample's code set among them)
    printed = [" ".join(ln.split()).upper() for ln in lines]
    for table in docx.Document(str(bill)).tables:
        for table_row in table.rows:
            for paragraph in (p for c in table_row.cells for p in c.paragraphs):
                words = " ".join(paragraph.text.split()).upper()
                assert not words or any(words in ln for ln in printed), words
