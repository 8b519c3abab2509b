"""Every character of the data: a character XML 1.0 cannot hold is never dropped silently.

A provider's name in a copy of the sample workbook is given each of the 32 C0 control
characters (written the way Excel stores them, `_x0001_`), then `refdesk merge` runs as a user
would: tab, line feed and carriage return print as Word would (a tab, a line break), a vertical
tab and a form feed are line breaks too, and every other one stops the job before anything is
made, naming the cell and the character. Reports print such a character as U+FFFD; CSV and
JSON keep it, and CSV reads back to the same values.
"""

from __future__ import annotations

import csv
import email
import io
import json
import re
import shutil
import zipfile
from email import policy
from pathlib import Path

import docx
import fastexcel
import pytest

from refdesk import characters
from refdesk.config import load_config
from refdesk.merge.mailing import Address
from refdesk.sources.excel import ExcelSource
from refdesk.xlsxpatch import SetField, patch_workbook
from tests.conftest import run

TODAY = "2026-11-23"
#: The thank-you job's first letter is R239's, to provider P005.
RECORD, PROVIDER = "R239", "P005"
NAME = "Smith & Jones{}<Clinic> {{{{ x }}}}"
#: What Word shows where each allowed character stood (python-docx reads <w:br/> as "\n").
PRINTED = {"\t": "\t", "\n": "\n", "\r": "\n", "\x0b": "\n", "\x0c": "\n"}
REFUSED = [chr(c) for c in range(32) if chr(c) not in PRINTED]
RANGE = ("--from", "2020-01-01", "--to", "2026-12-31")



def _workbook(config: Path) -> Path:
    return config.parent / "workbooks" / "referrals.xlsx"


def _set(config: Path, **values: object) -> None:
    patch_workbook(_workbook(config), [SetField("Providers", "provider_id", PROVIDER, column,
                                                value) for column, value in values.items()],
                   backup=False)


def _name_cell(config: Path) -> str:
    table = ExcelSource(_workbook(config)).read()["Providers"]
    row = int(table.df.index[table.df["provider_id"] == PROVIDER][0])
    return table.cell(row, "name")


def _merge(config: Path, *options: str):
    return run("-q", "merge", "thank-you", "--config", config, "--today", TODAY, *options)


def _letter(config: Path) -> docx.document.Document:
    folder = config.parent / "letters" / "thank-you"
    return docx.Document(next(folder.glob(f"* {RECORD}.docx")))


def _nothing_made(config: Path, before: bytes) -> None:
    folder = config.parent / "letters"
    assert not folder.exists() or not [p for p in folder.rglob("*") if p.is_file()]
    assert _workbook(config).read_bytes() == before


# -- the rule, in one place -----------------------------------------------------------------

def test_the_characters_xml_cannot_hold() -> None:
    assert characters.first_forbidden("Smith\x01 Jones") == (6, "\x01")
    for allowed in ("a\tb", "a\nb", "a\r\nb", "a\x0bb", "a\x0cb", "a\x7fb", "\u00e9\U0001f600"):
        assert characters.first_forbidden(allowed) is None
    for refused in ("\x00", "\x1f", "\ufffe", "\uffff", "\ud800", "\udfff"):
        assert characters.first_forbidden(f"ab{refused}") == (3, refused)
    assert characters.line_breaks("a\r\nb\rc\x0bd\x0ce\nf") == "a\nb\nc\nd\ne\nf"
    assert characters.shown("a\x01b\x0bc\x1b[31m") == "a\ufffdb\nc\ufffd[31m"
    assert characters.trim(" \n\x1fa\x1c\t ") == "\x1fa\x1c"  # separators are not spaces
    assert characters.what("\x01") == "U+0001 (an invisible control character)"
    assert characters.what("\uffff").startswith("U+FFFF (a noncharacter")


def test_an_address_puts_each_line_break_on_a_line_of_its_own() -> None:
    address = Address.of("Smith & Jones\x0b<Clinic>", "", "1 Main St\r\nSuite 2 ", "X\x01")
    assert address.lines == ("Smith & Jones", "<Clinic>", "1 Main St", "Suite 2", "X\ufffd")


# -- merge: every C0 control character in a provider's name ---------------------------------

def test_markup_in_a_name_prints_exactly(practice: Path) -> None:
    name = NAME.format(" ")
    _set(practice, name=name)
    done = _merge(practice)
    assert done.exit_code == 0, done.stderr
    assert f"{name}, DC" in [p.text for p in _letter(practice).paragraphs]


@pytest.mark.parametrize("char", list(PRINTED), ids=lambda c: characters.code(c))
def test_tab_and_line_breaks_print_as_word_would(practice: Path, char: str) -> None:
    _set(practice, name=NAME.format(char))
    done = _merge(practice)
    assert done.exit_code == 0, done.stderr
    letter = _letter(practice)
    paragraph = next(p for p in letter.paragraphs if p.text.startswith("Smith & Jones"))
    assert paragraph.text == NAME.format(PRINTED[char]) + ", DC"
    xml = paragraph._p.xml
    # a tab or a line break inside the run, the way Word writes them; no stray character
    assert ("<w:tab/>" if char == "\t" else "<w:br/>") in xml
    assert not re.search("[\x00-\x08\x0b-\x1f]", xml)


def test_a_carriage_return_and_line_feed_are_one_line_break(practice: Path) -> None:
    _set(practice, name=NAME.format("\r\n"), street="3306 SE Division St\x0bSuite 4")
    done = _merge(practice, "--labels", "--envelopes")
    assert done.exit_code == 0, done.stderr
    texts = [p.text for p in _letter(practice).paragraphs]
    assert NAME.format("\n") + ", DC" in texts
    assert "3306 SE Division St\nSuite 4" in texts
    folder = practice.parent / "letters" / "thank-you"
    labels = docx.Document(next(folder.glob("* labels.docx")))
    lines = [p.text for t in labels.tables for c in t._cells for p in c.paragraphs]
    assert "Smith & Jones" in lines and "<Clinic> {{ x }}, DC" in lines
    assert "Suite 4" in lines
    envelopes = docx.Document(next(folder.glob("* envelopes.docx")))
    assert "<Clinic> {{ x }}, DC" in [p.text for p in envelopes.paragraphs]


@pytest.mark.parametrize("char", REFUSED, ids=lambda c: characters.code(c))
def test_any_other_control_character_stops_the_job_naming_the_cell(practice: Path,
                                                                    char: str) -> None:
    _set(practice, name=NAME.format(char))
    cell = _name_cell(practice)
    before = _workbook(practice).read_bytes()
    done = _merge(practice, "--labels", "--envelopes")
    assert done.exit_code == 2, done.stdout
    assert done.stderr.startswith(f"Error: job thank-you: {cell} (name) holds "
                                  f"{characters.code(char)} "), done.stderr
    assert "at character 14" in done.stderr and "Delete the character in the cell" in \
        done.stderr and "Nothing was made." in done.stderr
    assert "Traceback" not in done.stderr and "unexpected" not in done.stderr
    _nothing_made(practice, before)


@pytest.mark.parametrize("char", ["\x01", "\x1c", "\x1f"], ids=lambda c: characters.code(c))
def test_a_control_character_at_the_end_of_a_cell_is_not_trimmed_away(practice: Path,
                                                                       char: str) -> None:
    """The separators U+001C-U+001F count as spaces to Python and Arrow, but the reader keeps
    them: trimmed, they would vanish without a word."""
    _set(practice, name=f"Marcus Bell{char}", practice="Division Street\x02")
    before = _workbook(practice).read_bytes()
    done = _merge(practice)
    assert done.exit_code == 2, done.stderr
    assert f"{_name_cell(practice)} (name) holds {characters.code(char)}" in done.stderr
    assert "at character 12" in done.stderr
    _nothing_made(practice, before)


def test_a_control_character_in_a_field_the_letter_reads_through_another_names_its_cell(
        practice: Path) -> None:
    """The salutation ("Dr. Bell") is built from the name; the client's name from Clients."""
    _set(practice, name="Marcus Be\x02ll")
    done = _merge(practice)
    assert "U+0002" in done.stderr and f"{_name_cell(practice)} (name)" in done.stderr
    table = ExcelSource(_workbook(practice)).read()["Referrals"]
    client = table.df.loc[table.df["referral_id"] == RECORD, "client_id"].iloc[0]
    _set(practice, name="Marcus Bell")
    patch_workbook(_workbook(practice), [SetField("Clients", "client_id", client, "last_name",
                                                  "Lar\x10sen")], backup=False)
    clients = ExcelSource(_workbook(practice)).read()["Clients"]
    row = int(clients.df.index[clients.df["client_id"] == client][0])
    before = _workbook(practice).read_bytes()
    done = _merge(practice)
    assert done.exit_code == 2
    assert f"{clients.cell(row, 'last_name')} (last_name) holds U+0010" in done.stderr
    assert "Lar" not in done.stderr  # the place and the character, never the client's data
    _nothing_made(practice, before)


# -- config.toml ---------------------------------------------------------------------------

@pytest.mark.parametrize(("typed", "says"), [
    ("\x01", "config.toml line 5 (name): holds U+0001 (an invisible control character) at "
              "column 14, which config.toml cannot hold"),
    ("\\u0001", "config.toml line 5: practice.name holds U+0001 (an invisible control "
                "character) at character 6, which no document can hold"),
    ("\\u001f", "config.toml line 5: practice.name holds U+001F"),
    ("\\uffff", "config.toml line 5: practice.name holds U+FFFF (a noncharacter)"),
    ("\\n", "config.toml line 5: practice.name holds a line break"),
])
def test_a_control_character_in_config_is_refused_naming_the_key(practice: Path, typed: str,
                                                                 says: str) -> None:
    text = practice.read_text()
    assert text.splitlines()[4] == 'name = "Cedar Lane Massage Therapy"'
    practice.write_text(text.replace('name = "Cedar Lane', f'name = "Cedar{typed} Lane', 1))
    before = _workbook(practice).read_bytes()
    done = _merge(practice)
    assert done.exit_code == 2 and done.stderr.startswith(f"Error: {says}"), done.stderr
    _nothing_made(practice, before)


def test_a_vertical_tab_in_a_config_text_is_a_line_break(practice: Path) -> None:
    text = practice.read_text().replace('street = "2417 SE Division Street, Suite 3"',
                                        'street = "2417 SE Division Street\\u000bSuite 3"', 1)
    practice.write_text(text)
    assert load_config(practice).practice.street == "2417 SE Division Street\nSuite 3"


# -- delivery: the email's subject and body --------------------------------------------------

def _email_job(config: Path) -> None:
    text = config.read_text().replace(
        'email_subject = "Thank you for your referral"',
        'email_subject = "Thank you, {{ provider.name }}"\n'
        "email_body = '''Dear {{ provider.full_name }},\nthank you.\n'''", 1)
    config.write_text(text)


def test_an_email_body_prints_line_breaks_and_refuses_the_rest(practice: Path,
                                                               soffice: str) -> None:
    _email_job(practice)
    _set(practice, delivery="email")
    fresh = _workbook(practice).read_bytes()
    _set(practice, name=NAME.format("\x0b"))
    done = _merge(practice, "--deliver", "--drafts")
    assert done.exit_code == 0, done.stderr
    draft = practice.parent / "letters" / "thank-you" / "drafts" / f"{RECORD}.eml"
    message = email.message_from_bytes(draft.read_bytes(), policy=policy.default)
    assert message["Subject"] == "Thank you, Smith & Jones <Clinic> {{ x }}"  # one line
    body = message.get_body(("plain",)).get_content()
    assert body.startswith("Dear Smith & Jones\n<Clinic> {{ x }}, DC,\n")

    shutil.rmtree(practice.parent / "letters")  # and the workbook as it was before the run
    _workbook(practice).write_bytes(fresh)
    _set(practice, name=NAME.format("\x07"))
    before = _workbook(practice).read_bytes()
    done = _merge(practice, "--deliver", "--drafts")
    assert done.exit_code == 2 and "(name) holds U+0007" in done.stderr, done.stderr
    _nothing_made(practice, before)


# -- reports: stats, todo, check -------------------------------------------------------------

HOSTILE = "Smith & Jones\x01 <Clinic>\r\nline two\x0bB\x1b[31m"


def _hostile(config: Path) -> Path:
    _set(config, name=HOSTILE, phone=HOSTILE)  # a phone that is not one: check quotes it
    return _workbook(config)


def _strings(value: object) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def _csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_stats_outputs_show_or_keep_every_character(practice: Path, tmp_path: Path) -> None:
    """HTML shows U+FFFD (a page cannot hold the character); the workbook keeps it as Excel
    does (`_x0001_`); CSV and JSON keep it exactly, and CSV reads back to the same value."""
    book = _hostile(practice)
    folder, xlsx, page = tmp_path / "csv", tmp_path / "stats.xlsx", tmp_path / "stats.html"
    done = run("-q", "stats", "-w", book, *RANGE, "--with-names", "--csv", folder, "--xlsx",
               xlsx, "--html", page)
    assert done.exit_code == 0, done.stderr
    assert "Glyph" not in done.stderr  # the charts draw no missing character

    html = page.read_text(encoding="utf-8")
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", html)
    assert "Smith &amp; Jones\ufffd &lt;Clinic&gt;" in html
    assert "\ufffd[31m" in html

    found = []
    for file in sorted(folder.glob("*.csv")):
        with file.open(encoding="utf-8", newline="") as fh:  # the file's own line ends
            found += [cell for row in csv.reader(fh) for cell in row]
    assert HOSTILE in found

    reader = fastexcel.read_excel(xlsx)
    cells = {str(v) for name in reader.sheet_names
             for v in reader.load_sheet(name, header_row=None).to_pandas().to_numpy().ravel()}
    assert HOSTILE in cells
    with zipfile.ZipFile(xlsx) as zf:
        strings = zf.read("xl/sharedStrings.xml").decode("utf-8")
    assert "Jones_x0001_ &lt;Clinic&gt;_x000D_\nline two_x000B_B_x001B_[31m" in strings

    data = json.loads(run("-q", "stats", "-w", book, *RANGE, "--with-names", "--json").stdout)
    assert HOSTILE in _strings(data)

    terminal = run("-q", "stats", "-w", book, *RANGE, "--with-names")
    assert "\x1b" not in terminal.stdout and "\x01" not in terminal.stdout
    assert "Smith & Jones\ufffd" in terminal.stdout


def test_todo_and_check_outputs_read_back(practice: Path, tmp_path: Path) -> None:
    book = _hostile(practice)
    todo = run("-q", "todo", "-w", book, "--on", TODAY, "--csv")
    assert todo.exit_code == 0, todo.stderr
    who = [row[2] for row in _csv(todo.stdout)]
    # todo reads line breaks as a letter does: one line feed each
    assert "Smith & Jones\x01 <Clinic>\nline two\nB\x1b[31m (Division Street Chiropractic)" \
        in who
    shown = run("-q", "todo", "-w", book, "--on", TODAY)
    assert "\x1b" not in shown.stdout and "\x01" not in shown.stdout
    assert "Jones\ufffd" in shown.stdout

    out = tmp_path / "review.xlsx"
    check = run("-q", "check", "-w", book, "--today", TODAY, "--csv", "--annotate", out)
    assert check.exit_code == 1 and "unexpected" not in check.stderr, check.stderr
    # the runner's .stdout turns CR LF into LF: read the bytes as they were written
    assert HOSTILE in [row[5] for row in _csv(check.stdout_bytes.decode("utf-8"))]
    assert out.exists()
    table = run("-q", "check", "-w", book, "--today", TODAY)
    assert "\x1b" not in table.stdout and "\x01" not in table.stdout


def test_csv_keeps_carriage_returns_and_line_feeds(practice: Path) -> None:
    """The shared CSV writer quotes every value holding a CR or LF, so csv reads it back."""
    from refdesk.output import write_csv

    values = ["a\rb", "a\nb", "a\r\nb", "\r", "\n", "x\x01y", "end\r"]
    stream = io.StringIO()
    write_csv(stream, ["value"], [[v] for v in values])
    rows = _csv(stream.getvalue())
    assert [r[0] for r in rows[1:]] == ["a\rb", "a\nb", "a\r\nb", "'\r", "\n", "x\x01y",
                                        "end\r"]


def test_a_line_break_in_a_header_is_a_line_break_there_too(tmp_path: Path) -> None:
    """Headers are rendered like the body: a value's line break is a <w:br/> in its run."""
    from refdesk.merge.engine import CompiledTemplate

    document = docx.Document()
    document.sections[0].header.paragraphs[0].text = "From {{ practice.name }}"
    document.add_paragraph("To {{ provider.name }}")
    document.save(tmp_path / "t.docx")
    value = characters.line_breaks("Smith & Jones\x0b<Clinic>")
    page = docx.Document(io.BytesIO(CompiledTemplate(tmp_path / "t.docx").render(
        {"practice": {"name": value}, "provider": {"name": value}})))
    assert page.sections[0].header.paragraphs[0].text == "From Smith & Jones\n<Clinic>"
    assert page.paragraphs[0].text == "To Smith & Jones\n<Clinic>"
    assert "<w:br/>" in page.sections[0].header.paragraphs[0]._p.xml
