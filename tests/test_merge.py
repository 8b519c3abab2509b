"""`refdesk merge`: every shipped job on the sample workbook, the documents' text, the Letters
rows, the write-back, reruns, consent, escaping and the errors a user can meet."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import stat
import subprocess
import zipfile
from pathlib import Path

import docx
import pytest

from refdesk.config import load_config
from refdesk.errors import RefdeskError
from refdesk.merge.data import Data, has_path, shape
from refdesk.merge.engine import CompiledTemplate, TemplateError
from refdesk.merge.jobs import load_jobs
from refdesk.merge.run import MergeError, merge, select
from refdesk.office import convert, find_soffice
from refdesk.sources.excel import ExcelSource
from refdesk.xlsxpatch import SetField, patch_workbook
from tests.conftest import ROOT, need, run

TODAY = dt.date(2026, 11, 23)
NOW = dt.datetime(2026, 11, 23, 10, 0)
JOBS = ("intro-packet", "thank-you", "progress-report", "super-bill", "release-form",
        "sent-referral", "client-card")



def _text(data_or_path: bytes | Path) -> str:
    """Every paragraph and table cell of a document, in order, one per line."""
    source = io.BytesIO(data_or_path) if isinstance(data_or_path, bytes) else data_or_path
    document = docx.Document(source)
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            lines.extend(cell.text for cell in row.cells)
    for section in document.sections:
        lines.extend(p.text for p in section.header.paragraphs)
        lines.extend(p.text for p in section.footer.paragraphs)
    return "\n".join(lines)


def _run(config_path: Path, job: str, **kw):
    config = load_config(config_path)
    return merge(config, job, ExcelSource(config.excel), today=TODAY, now=NOW, **kw)


def _book(config_path: Path):
    return ExcelSource(load_config(config_path).excel).read()


def test_the_shipped_jobs(practice: Path) -> None:
    assert tuple(load_jobs(load_config(practice))) == JOBS


@pytest.mark.parametrize("job", JOBS)
def test_every_template_field_is_in_the_jobs_data(practice: Path, job: str) -> None:
    config = load_config(practice)
    spec = load_jobs(config)[job]
    available = shape(spec, config.practice)
    for name in spec.templates:
        fields = CompiledTemplate(config.templates / name).fields()
        assert fields, name
        assert [f for f in fields if not has_path(available, f)] == [], name


@pytest.mark.parametrize("job", JOBS)
def test_every_job_on_the_sample(practice: Path, job: str) -> None:
    config = load_config(practice)
    spec = load_jobs(config)[job]
    data = Data.of(_book(practice), TODAY)
    chosen, skipped, _done, _n = select(data, spec, force=False)
    assert chosen, f"the sample gives {job} something to make"
    letters_before = len(_book(practice).tables["Letters"].df)

    result = _run(practice, job)

    assert len(result.documents) == len(chosen)
    assert [s.record.key for s in result.skipped] == [s.record.key for s in skipped]
    folder = config.output / job
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for doc in result.documents:
        assert doc.file is not None and doc.file.parent == folder
        assert stat.S_IMODE(doc.file.stat().st_mode) == 0o600
        with zipfile.ZipFile(doc.file) as zf:
            assert zf.testzip() is None
    book = _book(practice)
    letters = book.tables["Letters"].df
    assert len(letters) == letters_before + len(chosen)
    new = letters.iloc[letters_before:]
    assert set(new["job"]) == {job}
    assert list(new["record"]) == [d.record.key for d in result.documents]
    assert set(new["status"]) == {"produced"}
    assert list(new["file"]) == [f"letters/{job}/{d.file.name}" for d in result.documents]
    if spec.needs_release:
        assert new["release_id"].notna().all()
    for write in spec.set:
        table = book.tables[write.sheet].df
        key = {"Providers": "provider_id", "Clients": "client_id"}.get(
            write.sheet, {"Referrals": "referral_id", "Sent": "sent_id"}.get(write.sheet))
        ids = {d.record.provider_id if write.sheet == "Providers" else d.record.key
               for d in result.documents}
        values = table.set_index(key).loc[sorted(ids), write.column]
        expected = TODAY if write.value == "today" else write.value
        assert all((v.date() if hasattr(v, "date") else v) == expected for v in values)
    again = _run(practice, job)
    assert again.documents == [], "a second run makes nothing new"
    if not spec.set:  # nothing in the row changed: Letters says they are done
        assert again.already_done == len(chosen)


def test_thank_you_letters_speak_of_your_patient_and_carry_no_diagnosis(practice: Path
                                                                        ) -> None:
    result = _run(practice, "thank-you")
    data = Data.of(_book(practice), TODAY)
    for doc in result.documents:
        text = _text(doc.file)
        client = data.clients[doc.record.client_id]
        provider = data.providers[doc.record.provider_id]
        assert f"{client['first_name']} {client['last_name']}" in text
        assert "your patient" in text.lower()
        assert "Cedar Lane Massage Therapy" in text
        assert provider["name"].split()[-1] in text
        referral = doc.record.fields
        for code in (referral.get("diagnosis") or "").split(";"):
            if code.strip():
                assert code.strip() not in text, "no diagnosis in a thank-you letter"


def test_progress_reports_count_visits_against_the_authorization(practice: Path) -> None:
    result = _run(practice, "progress-report")
    data = Data.of(_book(practice), TODAY)
    doc = result.documents[0]
    text = _text(doc.file)
    visits = data.visits_by_referral.get(doc.record.key, [])
    assert str(len(visits)) in text
    assert str(doc.record.fields["visits_authorized"]) in text
    assert "your patient" in text.lower()


def test_super_bills_carry_codes_fees_and_the_practice_ids(practice: Path) -> None:
    result = _run(practice, "super-bill")
    text = _text(result.documents[0].file)
    assert "1750384962" in text and "93-1847265" in text
    assert "October 2026" in text
    assert "97124" in text or "97140" in text or "97112" in text
    assert "$" in text


def test_intro_packet_is_three_documents_in_one(practice: Path) -> None:
    result = _run(practice, "intro-packet", preview=1)
    text = _text(result.documents[0].file)
    assert "Referral for Massage Therapy" in text
    assert "migraine" in text
    raw = zipfile.ZipFile(result.documents[0].file).read("word/document.xml")
    assert raw.count(b'w:type="page"') >= 2


def test_dry_run_and_preview_write_nothing_back(practice: Path) -> None:
    config = load_config(practice)
    before = config.excel.read_bytes()
    dry = _run(practice, "thank-you", dry_run=True)
    assert dry.documents and not (config.output / "thank-you").exists()
    assert any(getattr(c, "sheet", "") == "Letters" for c in dry.changes)
    preview = _run(practice, "thank-you", preview=2)
    assert len(preview.documents) == 2 and all(d.file.exists() for d in preview.documents)
    assert config.excel.read_bytes() == before
    assert preview.write is None


def test_combine_makes_one_document_with_a_page_per_letter(practice: Path) -> None:
    result = _run(practice, "sent-referral", combine_all=True)
    assert result.combined is not None and result.files == [result.combined]
    raw = zipfile.ZipFile(result.combined).read("word/document.xml")
    assert raw.count(b'w:type="page"') >= len(result.documents) - 1
    assert len(list(result.combined.parent.iterdir())) == 1


def test_values_are_escaped_never_markup_or_template(practice: Path) -> None:
    config = load_config(practice)
    data = Data.of(_book(practice), TODAY)
    record = select(data, load_jobs(config)["thank-you"], False)[0][0]
    tricky = "Smith & Jones <Clinic> {{ practice.tax_id }} {% if x %}"
    patch_workbook(config.excel, [SetField("Providers", "provider_id", record.provider_id,
                                           "practice", tricky)], backup=False)
    result = _run(practice, "thank-you", preview=1)
    with zipfile.ZipFile(result.documents[0].file) as zf:
        raw = zf.read("word/document.xml").decode()
    assert "Smith &amp; Jones &lt;Clinic&gt; {{ practice.tax_id }} {% if x %}" in raw
    assert tricky in _text(result.documents[0].file)


def test_no_release_no_document(practice: Path) -> None:
    result = _run(practice, "sent-referral")
    skipped = {s.record.key: s.reason for s in result.skipped}
    assert skipped and all("release" in why for why in skipped.values())
    made = {d.record.key for d in result.documents}
    assert not made & set(skipped)
    for why in skipped.values():
        assert "C" in why and "P" in why  # ids, never a condition


def _add_paragraph(config_path: Path, template: str, text: str):
    config = load_config(config_path)
    document = docx.Document(config.templates / template)
    document.add_paragraph(text)
    document.save(config.templates / template)
    return config


def test_a_field_the_data_lacks_stops_the_job_before_anything_is_made(practice: Path) -> None:
    config = _add_paragraph(practice, "thank-you.docx",
                            "Fax: {{ provider.fax_number }} {{ client.diagnosis }}")
    before = config.excel.read_bytes()
    with pytest.raises(MergeError) as err:
        _run(practice, "thank-you")
    lines = err.value.lines()
    assert "nothing was made" in lines[0]
    assert any("provider.fax_number" in line and "Providers sheet" in line for line in lines)
    assert any("client.diagnosis" in line for line in lines)
    assert config.excel.read_bytes() == before
    assert not (config.output / "thank-you").exists()


def test_a_broken_template_names_itself_and_the_paragraph(practice: Path) -> None:
    _add_paragraph(practice, "thank-you.docx", "{% if client.name %}never closed")
    with pytest.raises(TemplateError) as err:
        _run(practice, "thank-you")
    assert err.value.message.startswith("thank-you.docx, the body, paragraph ")
    assert "never closed" in err.value.message


def test_an_unknown_job_lists_the_jobs(practice: Path) -> None:
    with pytest.raises(RefdeskError, match="no job named 'thanks'.*thank-you"):
        _run(practice, "thanks")


def test_the_command_line(practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(practice.parent)
    listed = run("merge")
    assert listed.exit_code == 0 and "thank-you" in listed.stdout
    dry = run("--quiet", "merge", "thank-you", "--dry-run", "--today", "2026-11-23")
    assert dry.exit_code == 0, dry.stderr
    assert "would make" in dry.stdout and "would write Referrals: thank_you_sent" in dry.stderr
    made = run("--quiet", "merge", "release-form", "--today", "2026-11-23")
    assert made.exit_code == 0, made.stderr
    assert "wrote" in made.stderr and "backup" in made.stderr
    again = run("--quiet", "merge", "release-form", "--today", "2026-11-23")
    assert "nothing to make" in again.stdout and "already done" in again.stderr
    (practice.parent / "workbooks" / "~$referrals.xlsx").write_text("x")
    busy = run("--quiet", "merge", "thank-you", "--today", "2026-11-23")
    assert busy.exit_code == 1 and "open in Excel" in busy.stderr
    assert not (practice.parent / "letters" / "thank-you").exists()


def test_each_template_renders_to_pdf_with_its_text(practice: Path, soffice: str,
                                                    tmp_path: Path) -> None:
    need(shutil.which("pdftotext") is not None, "pdftotext (poppler-utils) is not installed")
    made = []
    for job in JOBS:
        result = _run(practice, job, preview=1)
        made.append((job, result.documents[0].file))
    pdfs = convert([f for _, f in made], "pdf", tmp_path / "pdf")
    for (job, docx_file), pdf in zip(made, pdfs, strict=True):
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                              text=True, check=True).stdout
        assert "Cedar Lane Massage Therapy" in text, job
        for line in _text(docx_file).splitlines():
            words = line.strip()
            if len(words) > 25 and "{" not in words:
                assert words.split()[0] in text, (job, words)
                break
    assert find_soffice() is not None


def test_the_templates_are_what_the_build_script_makes(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_templates",
                                                  ROOT / "scripts" / "build_templates.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main([str(tmp_path)]) == 0
    built = sorted(p.name for p in tmp_path.glob("*.docx"))
    assert built == sorted(p.name for p in (ROOT / "templates").glob("*.docx"))
    for name in built:
        assert (tmp_path / name).read_bytes() == (ROOT / "templates" / name).read_bytes(), name


def test_force_makes_done_rows_again(practice: Path) -> None:
    first = _run(practice, "release-form")
    assert first.documents
    again = _run(practice, "release-form")
    assert again.documents == [] and again.already_done == len(first.documents)
    forced = _run(practice, "release-form", force=True)
    assert len(forced.documents) == len(first.documents)
    assert all(" (2).docx" in d.file.name for d in forced.documents), "earlier files are kept"
    letters = _book(practice).tables["Letters"].df
    assert (letters["job"] == "release-form").sum() == 2 * len(first.documents)


def test_pdf_beside_each_document_in_one_batch(practice: Path, soffice: str) -> None:
    need(shutil.which("pdftotext") is not None, "pdftotext (poppler-utils) is not installed")
    result = _run(practice, "thank-you", preview=3, pdf=True)
    assert [p.stem for p in result.pdfs] == [d.file.stem for d in result.documents]
    for pdf, doc in zip(result.pdfs, result.documents, strict=True):
        assert pdf.parent == doc.file.parent
        assert stat.S_IMODE(pdf.stat().st_mode) == 0o600
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                              check=True).stdout
        name = Data.of(_book(practice), TODAY).clients[doc.record.client_id]["first_name"]
        assert name in text


def test_pdf_without_libreoffice_names_the_package(practice: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import refdesk.office

    monkeypatch.setattr(refdesk.office, "find_soffice", lambda: None)
    config = load_config(practice)
    with pytest.raises(RefdeskError, match="libreoffice-writer-nogui"):
        _run(practice, "thank-you", pdf=True)
    assert not (config.output / "thank-you").exists()


def _pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout


def test_labels_and_envelopes_carry_each_address_in_order(practice: Path, soffice: str) -> None:
    need(shutil.which("pdftotext") is not None, "pdftotext (poppler-utils) is not installed")
    result = _run(practice, "intro-packet", preview=6, pdf=True, labels=True, envelopes=True)
    data = Data.of(_book(practice), TODAY)
    names = [data.providers[d.record.provider_id]["name"] for d in result.documents]
    streets = [data.providers[d.record.provider_id]["street"] for d in result.documents]
    assert len(names) == 6
    labels, envelopes = (p.with_suffix(".pdf") for p in result.mailing)
    text = _pdf_text(labels)
    lines = text.splitlines()
    for row in (names[0:3], names[3:6]):  # three across, in the batch's order
        line = next(ln for ln in lines if row[0] in ln)
        assert all(n in line for n in row), (row, line)
        assert [line.find(n) for n in row] == sorted(line.find(n) for n in row)
    assert text.find(names[0]) < text.find(names[3])
    assert all(s in text for s in streets)
    pages = subprocess.run(["pdfinfo", str(envelopes)], capture_output=True, text=True,
                           check=True).stdout
    assert re.search(r"Pages:\s+6\n", pages), pages
    assert re.search(r"Page size:\s+684 x 297", pages), pages  # 9.5 x 4.125 in
    for page, (name, street) in enumerate(zip(names, streets, strict=True), start=1):
        one = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), str(envelopes),
                              "-"], capture_output=True, text=True, check=True).stdout
        assert name in one and street in one and "Cedar Lane Massage Therapy" in one
