"""Word's own mail-merge letters: MERGEFIELD and IF fields, their switches, split and nested
field codes, the refusals, the job's fields table, and every letter of the shared corpus merged
through `refdesk merge` and read back from LibreOffice's PDF."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import docx
import pytest
from lxml import etree

from refdesk.config import load_config
from refdesk.errors import ConfigError
from refdesk.merge.engine import CompiledTemplate, TemplateError
from refdesk.merge.jobs import load_jobs
from refdesk.merge.mergefield import lookup
from refdesk.office import convert
from tests.conftest import need, run

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
DATA: dict[str, Any] = {
    "client": {"first_name": "Ana", "last_name": "Reyes", "email": "ana@example.org",
               "dob": "March 9, 1984", "name": "Ana Reyes"},
    "provider": {"name": "Dr. Lee", "email": "lee@example.org", "zip": "97202",
                 "salutation": "Dr. Lee"},
    "practice": {"name": "Cedar Lane", "conditions": ["migraine", "neck pain"]},
    "today": "November 23, 2026",
    "bill": {"balance": "$1250.5"},
}


# -- building small letters ------------------------------------------------------------------
def _letter(tmp_path: Path, body: str, *, header: str | None = None,
            settings: str | None = None, name: str = "letter.docx") -> Path:
    """A Word document whose body is `body` (paragraph XML), made from python-docx's own
    template; optionally a default header and mail-merge settings."""
    document = docx.Document()
    if header is not None:
        document.sections[0].header.paragraphs[0].text = "HEADER"
    buffer = io.BytesIO()
    document.save(buffer)
    path = tmp_path / name
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(path, "w") as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "word/document.xml":
                text = data.decode("utf-8")
                text = re.sub(r"<w:body>.*?(<w:sectPr)", lambda m: "<w:body>" + body +
                              m.group(1), text, flags=re.S)
                data = text.encode("utf-8")
            elif header is not None and re.fullmatch(r"word/header\d+\.xml", info.filename):
                data = re.sub(rb"<w:p>.*</w:p>|<w:p [^>]*>.*</w:p>", header.encode(),
                              data, flags=re.S)
            elif settings is not None and info.filename == "word/settings.xml":
                data = data.replace(b"</w:settings>", settings.encode() + b"</w:settings>")
            out.writestr(info, data)
    return path


def simple(code: str, shown: str = "«x»") -> str:
    code = code.replace('"', "&quot;")
    return f'<w:fldSimple w:instr="{code}"><w:r><w:t>{shown}</w:t></w:r></w:fldSimple>'


def complex_(*codes: str, shown: str = "«x»", rpr: str = "") -> str:
    """A complex field whose code is split into one run per piece."""
    runs = "".join(f'<w:r><w:instrText xml:space="preserve">{c}</w:instrText></w:r>'
                   for c in codes)
    return (f'<w:r><w:fldChar w:fldCharType="begin"/></w:r>{runs}'
            f'<w:r><w:fldChar w:fldCharType="separate"/></w:r>'
            f'<w:r>{rpr}<w:t>{shown}</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r>')


def para(*inner: str) -> str:
    return "<w:p>" + "".join(inner) + "</w:p>"


def text(s: str) -> str:
    return f'<w:r><w:t xml:space="preserve">{s}</w:t></w:r>'


def merged(path: Path, fields: dict[str, str] | None = None, data: dict | None = None) -> str:
    """The letter made from DATA, as text: one line per paragraph, headers first."""
    template = CompiledTemplate(path)
    assert template.word_merge is not None
    problems = template.bind(fields or {}, data or DATA)
    assert problems == []
    out = parts(template.render(data or DATA))
    lines = []
    for name in sorted(out, key=lambda n: "word/document.xml" in n):  # headers first
        if re.fullmatch(r"word/(document|header\d+)\.xml", name):
            root = etree.fromstring(out[name])
            for p in root.iter(f"{{{W}}}p"):
                shown = "".join("\n" if e.tag == f"{{{W}}}br" else e.text or ""
                                for e in p.iter(f"{{{W}}}t", f"{{{W}}}br"))
                if shown or name.endswith("document.xml"):
                    lines.append(shown)
    return "\n".join(lines)


def parts(out: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(out)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


# -- the fields -----------------------------------------------------------------------------
def test_simple_and_complex_fields_split_across_runs(tmp_path: Path) -> None:
    body = para(text("Dear "), simple(" MERGEFIELD FirstName \\* MERGEFORMAT "), text(" "),
                complex_(" MERGE", "FIELD  last_", "name ", " \\* MERGEFORMAT "), text(","))
    assert merged(_letter(tmp_path, body)) == "Dear Ana Reyes,"


def test_the_value_takes_the_formatting_of_the_fields_result(tmp_path: Path) -> None:
    body = para(complex_(" MERGEFIELD FirstName ", rpr="<w:rPr><w:b/></w:rPr>"))
    template = CompiledTemplate(_letter(tmp_path, body))
    template.bind({}, DATA)
    xml = parts(template.render(DATA))["word/document.xml"].decode()
    assert re.search(r"<w:r><w:rPr><w:b/></w:rPr><w:t xml:space=\"preserve\">Ana</w:t></w:r>",
                     xml)
    assert "fldChar" not in xml and "instrText" not in xml and "«" not in xml


def test_every_character_of_the_data_prints_as_typed(tmp_path: Path) -> None:
    data = {**DATA, "client": {**DATA["client"], "first_name": "Zoë & <Ann> \"Q\" {{ x }}\nTwo"}}
    body = para(simple(" MERGEFIELD first_name "))
    assert merged(_letter(tmp_path, body), data=data) == "Zoë & <Ann> \"Q\" {{ x }}\nTwo"


@pytest.mark.parametrize(("switch", "expected"), [
    ("\\* Upper", "ANA REYES"), ("\\* Lower", "ana reyes"), ("\\* Caps", "Ana Reyes"),
    ("\\* FirstCap", "Ana Reyes"), ("\\* MERGEFORMAT", "Ana Reyes"),
    ('\\b "Name: "', "Name: Ana Reyes"), ('\\f " (client)"', "Ana Reyes (client)"),
])
def test_text_switches(tmp_path: Path, switch: str, expected: str) -> None:
    body = para(complex_(f" MERGEFIELD client.name {switch} "))
    assert merged(_letter(tmp_path, body)) == expected


def test_caps_lowers_the_rest_and_firstcap_only_the_first_letter(tmp_path: Path) -> None:
    data = {**DATA, "client": {"name": "aNA de LA cruz"}}
    body = para(simple(" MERGEFIELD client.name \\* Caps "), text("|"),
                simple(" MERGEFIELD client.name \\* FirstCap "))
    assert merged(_letter(tmp_path, body), data=data) == "Ana De La Cruz|ANA de LA cruz"


def test_before_and_after_only_for_a_value(tmp_path: Path) -> None:
    data = {**DATA, "client": {"name": "", "email": "a@b.org"}}
    body = para(complex_(' MERGEFIELD client.name \\b "Name: " \\f "; " '),
                complex_(' MERGEFIELD client.email \\b "Email: " '))
    assert merged(_letter(tmp_path, body), data=data) == "Email: a@b.org"


@pytest.mark.parametrize(("picture", "expected"), [
    ("d", "23"), ("dd", "23"), ("ddd", "Mon"), ("dddd", "Monday"), ("M", "11"),
    ("MM", "11"), ("MMM", "Nov"), ("MMMM", "November"), ("yy", "26"), ("yyyy", "2026"),
    ("dddd, d MMMM yyyy", "Monday, 23 November 2026"), ("MM/dd/yy", "11/23/26"),
    ("d-M-yyyy 'at' h:mm AM/PM", "23-11-2026 at 12:00 AM"), ("HH:mm:ss", "00:00:00"),
])
def test_date_pictures(tmp_path: Path, picture: str, expected: str) -> None:
    body = para(simple(f' MERGEFIELD today \\@ "{picture}" '))
    assert merged(_letter(tmp_path, body)) == expected


def test_a_date_picture_on_text_that_is_no_date_leaves_it(tmp_path: Path) -> None:
    body = para(simple(' MERGEFIELD first_name \\@ "d MMMM" '))
    assert merged(_letter(tmp_path, body)) == "Ana"


@pytest.mark.parametrize(("picture", "value", "expected"), [
    ("$#,##0.00", "$1250.5", "$1,250.50"), ("0", "$1250.5", "1251"), ("#,##0", "1234567",
                                                                     "1,234,567"),
    ("000", "7", "007"), ("0.##", "2.5", "2.5"), ("0.00 'USD'", "3", "3.00 USD"),
    ("0;(0)", "-4", "(4)"), ("#,##0.00", "not a number", "not a number"),
])
def test_number_pictures(tmp_path: Path, picture: str, value: str, expected: str) -> None:
    data = {**DATA, "bill": {"balance": value}}
    body = para(complex_(f' MERGEFIELD balance \\# "{picture}" '))
    assert merged(_letter(tmp_path, body), data=data) == expected


@pytest.mark.parametrize(("test", "expected"), [
    ('= "Ana"', "yes"), ('<> "Ana"', "no"), ('= "A*"', "yes"), ('= "*na"', "yes"),
    ('= "B*"', "no"), ('<> "B*"', "yes"), ('= "ana"', "no"), ('> "Aaa"', "yes"),
    ('< "Aaa"', "no"), ('>= "Ana"', "yes"), ('<= "Am"', "no"),
])
def test_if_compares_a_field_with_a_value(tmp_path: Path, test: str, expected: str) -> None:
    test = test.replace("<", "&lt;").replace(">", "&gt;")
    body = para(complex_(" IF ", "", *_nested(" MERGEFIELD FirstName "),
                         f' {test} "yes" "no" '))
    assert merged(_letter(tmp_path, body)) == expected


def _nested(code: str) -> tuple[str, ...]:
    """Pieces of a field code that put a nested field in it (closed by complex_'s runs)."""
    return (f'</w:instrText></w:r><w:r><w:fldChar w:fldCharType="begin"/></w:r>'
            f'<w:r><w:instrText>{code}</w:instrText></w:r>'
            f'<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>«x»</w:t></w:r>'
            f'<w:r><w:fldChar w:fldCharType="end"/></w:r><w:r><w:instrText '
            'xml:space="preserve">',)


def test_if_numbers_compare_as_numbers_and_the_false_text_may_be_left_out(tmp_path: Path
                                                                           ) -> None:
    data = {**DATA, "bill": {"balance": "$1,250.50"}}
    body = para(complex_(" IF ", *_nested(" MERGEFIELD balance "), ' > 900 "over" '),
                text("|"), complex_(" IF ", *_nested(" MERGEFIELD balance "),
                                    ' &lt; 900 "under" '))
    assert merged(_letter(tmp_path, body), data=data) == "over|"


def test_if_texts_hold_fields_and_gender_greetings(tmp_path: Path) -> None:
    body = para(text("Dear "), complex_(
        " IF ", *_nested(" MERGEFIELD FirstName "), ' = "Ana" "Ms. ', *_nested(
            " MERGEFIELD last_name \\* Upper "), '" "Mr. ', *_nested(" MERGEFIELD last_name "),
        '" '), text(","))
    assert merged(_letter(tmp_path, body)) == "Dear Ms. REYES,"
    data = {**DATA, "client": {**DATA["client"], "first_name": "Ben"}}
    assert merged(_letter(tmp_path, body), data=data) == "Dear Mr. Reyes,"


def test_an_if_inside_an_if(tmp_path: Path) -> None:
    inner = (' IF ', *_nested(" MERGEFIELD last_name "), ' = "Reyes" "R" "other" ')
    body = para(complex_(" IF ", *_nested(" MERGEFIELD FirstName "), ' = "Ana" "A-',
                         '</w:instrText></w:r>' + complex_(*inner).replace(
                             '<w:t>«x»</w:t>', '<w:instrText>x</w:instrText>') +
                         '<w:r><w:instrText xml:space="preserve">', '" "B" '))
    assert merged(_letter(tmp_path, body)) == "A-R"


def test_fields_in_headers_and_harmless_fields_stay(tmp_path: Path) -> None:
    header = para(text("To "), simple(" MERGEFIELD provider.name "))
    body = para(text("Page "), simple(" PAGE ", "1"), text(" of "),
                complex_(" NUMPAGES ", shown="2"), text(" "), simple(" MERGEFIELD FirstName "))
    path = _letter(tmp_path, body, header=header)
    assert merged(path) == "To Dr. Lee\nPage 1 of 2 Ana"
    template = CompiledTemplate(path)
    template.bind({}, DATA)
    xml = parts(template.render(DATA))["word/document.xml"].decode()
    assert 'w:instr=" PAGE "' in xml and "NUMPAGES" in xml and "MERGEFIELD" not in xml


def test_mail_merge_settings_and_data_source_are_removed(tmp_path: Path) -> None:
    settings = ('<w:mailMerge><w:mainDocumentType w:val="formLetters"/><w:linkToQuery/>'
                '<w:dataType w:val="native"/><w:connectString w:val="x"/>'
                '<w:dataSource r:id="rId90"/></w:mailMerge>')
    path = _letter(tmp_path, para(simple(" MERGEFIELD FirstName ")), settings=settings)
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("word/_rels/settings.xml.rels", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="'
            'http://schemas.openxmlformats.org/package/2006/relationships"><Relationship '
            'Id="rId90" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/mailMergeSource" Target="file:///C:/data/clients.xlsx" '
            'TargetMode="External"/></Relationships>'))
    template = CompiledTemplate(path)
    template.bind({}, DATA)
    out = parts(template.render(DATA))
    assert b"mailMerge" not in out["word/settings.xml"]
    assert b"clients.xlsx" not in out["word/_rels/settings.xml.rels"]
    docx.Document(io.BytesIO(template.render(DATA)))  # still a document Word's library opens


# -- names ----------------------------------------------------------------------------------
def test_names_match_forgiving_case_spaces_and_underscores() -> None:
    assert lookup("FirstName", {}, DATA) == ("client.first_name", "")
    assert lookup("first name", {}, DATA) == ("client.first_name", "")
    assert lookup("PROVIDER.Salutation", {}, DATA) == ("provider.salutation", "")
    assert lookup("Today", {}, DATA) == ("today", "")
    assert lookup("Voornaam", {"voor_naam": "client.first_name"}, DATA) == \
        ("client.first_name", "")
    assert lookup("Email", {}, DATA) == ("", "could be client.email or provider.email")
    assert lookup("Shoe size", {}, DATA) == ("", "matches no field of the job's data")
    assert lookup("Conditions", {}, DATA) == ("practice.conditions", "")
    assert lookup("Name", {}, DATA) == ("", "could be client.name or practice.name or "
                                        "provider.name")
    data = {**DATA, "practice": {"city": "Portland"}, "provider": {"city": "Salem"}}
    assert lookup("City", {}, data) == ("provider.city", "")  # the recipient's, not ours


def test_a_list_prints_joined(tmp_path: Path) -> None:
    assert merged(_letter(tmp_path, para(simple(" MERGEFIELD conditions ")))) == \
        "migraine, neck pain"


def test_an_unmatched_field_is_named_with_a_fix(tmp_path: Path) -> None:
    template = CompiledTemplate(_letter(tmp_path, para(text("Hi "),
                                                       simple(" MERGEFIELD Voornaam "))))
    problems = template.bind({}, DATA, "thanks")
    assert problems == ["letter.docx: MERGEFIELD Voornaam (the body, paragraph 1 ('Hi «x»')) "
                        "matches no field of the job's data; name its data in config.toml: "
                        "[jobs.thanks] fields = { Voornaam = \"client.name\" } "
                        "(`refdesk templates` lists the data)."]


# -- refusals ---------------------------------------------------------------------------------
@pytest.mark.parametrize("code", ["NEXT", "NEXTIF 1 = 1", "SKIPIF 1 = 2", 'ASK name "Who?"',
                                  'FILLIN "Your name?"', "SET x 1", "MERGEREC", "MERGESEQ",
                                  "DATABASE", "ADDRESSBLOCK", "GREETINGLINE", "WEIRDFIELD"])
def test_fields_refdesk_cannot_honour_are_refused_by_name(tmp_path: Path, code: str) -> None:
    body = para(text("First")) + para(text("Dear "), simple(" MERGEFIELD FirstName "),
                                      complex_(f" {code} "))
    with pytest.raises(TemplateError) as caught:
        CompiledTemplate(_letter(tmp_path, body))
    message = caught.value.message
    assert message.startswith("letter.docx, the body, paragraph 2 ('Dear «x»«x»'): the "
                              f"{code.split()[0]} field ")
    assert "\n" not in message


def test_a_refused_field_nested_in_an_if_is_refused(tmp_path: Path) -> None:
    body = para(complex_(" IF ", *_nested(" MERGEFIELD FirstName "), ' = "Ana" "',
                         *_nested(' FILLIN "x" '), '" "" '))
    with pytest.raises(TemplateError, match="the FILLIN field asks a question"):
        CompiledTemplate(_letter(tmp_path, body))


def test_a_merge_field_over_two_paragraphs_is_refused(tmp_path: Path) -> None:
    body = ('<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> MERGEFIELD '
            'FirstName </w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r>'
            '<w:r><w:t>«First</w:t></w:r></w:p><w:p><w:r><w:t>Name»</w:t></w:r><w:r>'
            '<w:fldChar w:fldCharType="end"/></w:r></w:p>')
    with pytest.raises(TemplateError, match="runs over several paragraphs"):
        CompiledTemplate(_letter(tmp_path, body))


def test_unknown_switches_are_refused(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match=r"the format \\\* Roman .* is not one refdesk"):
        CompiledTemplate(_letter(tmp_path, para(simple(" MERGEFIELD x \\* Roman "))))
    with pytest.raises(TemplateError, match=r"the switch \\z of the MERGEFIELD field"):
        CompiledTemplate(_letter(tmp_path, para(simple(" MERGEFIELD x \\z "))))


def test_the_word_mergefield_in_a_letters_text_is_no_field(tmp_path: Path) -> None:
    path = _letter(tmp_path, para(text("Replace each MERGEFIELD with {{ client.name }}")))
    assert CompiledTemplate(path).word_merge is None


def test_a_lower_case_field_code_split_across_runs_is_a_merge_field(tmp_path: Path) -> None:
    body = para(complex_(" merge", "field  first", "name "))
    assert merged(_letter(tmp_path, body)) == "Ana"


def test_merge_fields_and_tags_in_one_document_are_refused(tmp_path: Path) -> None:
    body = para(text("{{ client.name }} "), simple(" MERGEFIELD FirstName "))
    with pytest.raises(TemplateError, match="both Word merge fields and"):
        CompiledTemplate(_letter(tmp_path, body))


# -- the job ----------------------------------------------------------------------------------
def _add_job(config: Path, name: str, template: str, fields: dict[str, str],
             extra: str = "") -> None:
    table = ", ".join(f'"{k}" = "{v}"' for k, v in fields.items())
    with config.open("a", encoding="utf-8") as f:
        f.write(f'\n[jobs.{name}]\ntitle = "{name}"\ntemplates = ["{template}"]\n'
                f'each = "providers"\nwhere = {{ provider_id = "P001" }}\n'
                f'set = {{ "Providers.stage" = "packet sent" }}\nfields = {{ {table} }}\n'
                f"{extra}")


def test_a_fields_target_the_data_lacks_is_refused_with_its_line(practice: Path) -> None:
    _add_job(practice, "word", "x.docx", {"FirstName": "client.frist_name"})
    with pytest.raises(ConfigError) as caught:
        load_jobs(load_config(practice))
    assert "[jobs.word] fields: FirstName = 'client.frist_name' is not text the job's data " \
        "has." in caught.value.message
    assert re.match(r"config.toml line \d+:", caught.value.message)


def test_a_word_letter_merges_through_the_command(practice: Path, tmp_path: Path) -> None:
    body = para(text("Dear "), simple(" MERGEFIELD Voornaam "), text(" of "),
                complex_(" MERGEFIELD Plaats \\* Upper "), text("."))
    _letter(practice.parent / "templates", body, name="word.docx")
    _add_job(practice, "word", "word.docx", {"Voornaam": "provider.name",
                                             "Plaats": "provider.city"})
    result = run("merge", "word", "-c", practice, "--today", "2026-11-23")
    assert result.exit_code == 0, result.stderr
    made = list((practice.parent / "letters" / "word").glob("*.docx"))
    assert len(made) == 1
    lines = [p.text for p in docx.Document(made[0]).paragraphs]
    assert re.fullmatch(r"Dear .+ of [A-Z .]+\.", lines[0]) and "«" not in lines[0]


def test_an_unmatched_field_stops_the_job_before_anything_is_made(practice: Path) -> None:
    _letter(practice.parent / "templates", para(simple(" MERGEFIELD Shoe_size ")),
            name="word.docx")
    _add_job(practice, "word", "word.docx", {})
    before = (practice.parent / "workbooks" / "referrals.xlsx").read_bytes()
    result = run("merge", "word", "-c", practice, "--today", "2026-11-23")
    assert result.exit_code == 2
    assert "MERGEFIELD Shoe_size (the body, paragraph 1 ('«x»')) matches no field" in \
        result.stderr
    assert not (practice.parent / "letters").exists()
    assert (practice.parent / "workbooks" / "referrals.xlsx").read_bytes() == before


# -- the corpus -------------------------------------------------------------------------------
#: Text fields of provider P001's data and the practice, one for each field of a letter.
VALUES = ["practice.npi", "practice.tax_id", "practice.zip", "practice.phone", "practice.fax",
          "practice.city", "practice.therapist", "provider.name", "practice.website",
          "practice.license"]


def field_names(path: Path) -> list[str]:
    """The MERGEFIELD names in a .docx, read from its field codes (not by refdesk)."""
    names: list[str] = []
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if not re.fullmatch(r"word/(document|header\d*|footer\d*|footnotes|endnotes)\.xml",
                                name):
                continue
            xml = zf.read(name).decode("utf-8")
            codes = re.findall(r'w:instr="([^"]*)"', xml)
            codes.append("".join(re.findall(r"<w:instrText[^>]*>([^<]*)<", xml)))
            for code in codes:
                code = code.replace("&quot;", '"')
                for quoted, bare in re.findall(r'MERGEFIELD\s+(?:"([^"]+)"|([^\s\\"]+))', code):
                    if (quoted or bare) not in names:
                        names.append(quoted or bare)
    return names


def _pdf_text(pdf: Path) -> str:
    pdftotext = shutil.which("pdftotext")
    need(pdftotext is not None, "pdftotext (poppler-utils) is not installed")
    assert pdftotext
    return subprocess.run([pdftotext, str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout


def test_every_corpus_letter_merges_or_is_refused_by_name(corpus: Path, soffice: str,
                                                          practice: Path) -> None:
    letters = sorted((corpus / "word-mergefields").glob("*.docx"))
    assert len(letters) >= 20
    config = load_config(practice)
    expected: dict[str, list[str]] = {}
    jobs: dict[str, Path] = {}
    for i, letter in enumerate(letters):
        shutil.copyfile(letter, practice.parent / "templates" / letter.name)
        names = field_names(letter)
        fields = {n: VALUES[j % len(VALUES)] for j, n in enumerate(names)}
        _add_job(practice, f"w{i}", letter.name, fields)
        jobs[f"w{i}"] = letter
        expected[f"w{i}"] = sorted({v for v in fields.values()})
    config = load_config(practice)
    from refdesk.merge.data import practice_context

    known = {f"practice.{k}": str(v) for k, v in practice_context(config.practice).items()}
    workbook = practice.parent / "workbooks" / "referrals.xlsx"
    made: dict[str, Path] = {}
    refused = []
    for job, letter in jobs.items():
        before = workbook.read_bytes()
        result = run("merge", job, "-c", practice, "--today", "2026-11-23", "--force")
        folder = practice.parent / "letters" / job
        if result.exit_code == 2:
            refused.append(letter.name)
            line = result.stderr.strip().splitlines()[-1]  # after "Reading ..."
            assert line.startswith(f"Error: {letter.name}, ")
            assert re.search(r"the [A-Z]+ field ", line), line
            assert not folder.exists() or not any(folder.iterdir())
            assert workbook.read_bytes() == before
            continue
        assert result.exit_code == 0, (letter.name, result.stderr)
        files = list(folder.glob("*.docx"))
        assert len(files) == 1, letter.name
        made[job] = files[0]
        with zipfile.ZipFile(files[0]) as zf:
            assert b"mailMerge" not in zf.read("word/settings.xml")
            for name in zf.namelist():
                if name.endswith(".rels"):
                    assert b"mailMergeSource" not in zf.read(name)
    assert refused == ["test_next_record.docx"]
    pdfs = convert(list(made.values()), "pdf", practice.parent / "pdf")
    from refdesk.merge.data import Data, provider_context
    from refdesk.sources.excel import ExcelSource
    from tests.helpers import TODAY

    data = Data.of(ExcelSource(workbook).read(), TODAY)
    known.update({f"provider.{k}": v for k, v in
                  provider_context(data.providers["P001"]).items()})
    for (job, _docx), pdf in zip(made.items(), pdfs, strict=True):
        text = _pdf_text(pdf)
        # a narrow table cell wraps a value; pdftotext joins a word broken at a hyphen
        flat = re.sub(r"[\s-]+", "", text)
        for path in expected[job]:
            assert re.sub(r"[\s-]+", "", known[path]) in flat, (jobs[job].name, path)
        for mark in ("«", "»", "MERGEFIELD"):
            assert mark not in text, (jobs[job].name, mark)
