"""Templates cannot reach Python: every way out of a Jinja template that is known to work on a
plain environment is refused, through `refdesk merge` on a practice, before anything is made,
with the template and the paragraph named; so are a job's email texts. Template errors are one
line naming the place, and the data prints exactly as typed."""

from __future__ import annotations

import datetime as dt
import io
import itertools
from pathlib import Path
from types import SimpleNamespace

import docx
import pytest

from refdesk.config import load_config
from refdesk.merge import sandbox
from refdesk.merge.data import Data
from refdesk.merge.deliver import DeliveryError, render_text
from refdesk.merge.engine import CompiledTemplate, TemplateError, refdesk_environment
from refdesk.merge.jobs import load_jobs
from refdesk.merge.run import merge, select
from refdesk.sources.excel import ExcelSource
from refdesk.xlsxpatch import SetField, patch_workbook
from tests.conftest import ROOT, run

TODAY = "2026-11-23"
POPEN = ".popen('touch PWNED').read()"

#: Ways out of a template (each runs `touch PWNED` or leaks internals on a plain Environment).
ESCAPES = [
    "{{ cycler.__init__.__globals__.os" + POPEN + " }}",
    "{{ joiner.__init__.__globals__.os" + POPEN + " }}",
    "{{ namespace.__init__.__globals__.os" + POPEN + " }}",
    "{{ lipsum.__globals__['os']" + POPEN + " }}",
    "{{ lipsum.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ provider.name.__class__.__base__.__subclasses__() }}",
    "{{ self._TemplateReference__context }}",
    "{{ self.__init__.__globals__ }}",
    "{{ config }}",
    "{{ config.__class__.__init__.__globals__['os']" + POPEN + " }}",
    "{{ request }}",
    "{{ request.application.__globals__.__builtins__.__import__('os')" + POPEN + " }}",
    "{{ os" + POPEN + " }}",
    "{{ provider|attr('__class__') }}",
    "{{ provider['__class__'] }}",
    "{{ provider|map(attribute='__class__')|list }}",
    "{% for c in ''.__class__.__mro__ %}{{ c }}{% endfor %}",
    "{% set x = cycler %}{{ x }}",
]



def _template(config_path: Path, *paragraphs: str) -> None:
    """The thank-you job's template becomes evil.docx, a letter holding `paragraphs`."""
    document = docx.Document()
    document.add_paragraph("Dear {{ provider.salutation }},")
    for text in paragraphs:
        document.add_paragraph(text)
    document.save(config_path.parent / "templates" / "evil.docx")
    text = config_path.read_text()
    assert 'templates = ["thank-you.docx"]' in text
    config_path.write_text(text.replace('templates = ["thank-you.docx"]',
                                        'templates = ["evil.docx"]', 1))


def _merge_cli(config_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(config_path.parent)
    return run("--quiet", "merge", "thank-you", "--today", TODAY)


def _nothing_made(config_path: Path, workbook: bytes) -> None:
    config = load_config(config_path)
    folder = config.output / "thank-you"  # the run proves it can write there, then renders
    assert not folder.exists() or not list(folder.iterdir())
    assert config.excel.read_bytes() == workbook
    for folder in (config_path.parent, Path.cwd(), ROOT):
        assert not (folder / "PWNED").exists()


@pytest.mark.parametrize("escape", ESCAPES)
def test_a_template_reaching_python_is_refused_before_anything_is_made(
        practice: Path, monkeypatch: pytest.MonkeyPatch, escape: str) -> None:
    _template(practice, "With thanks.", escape)
    before = load_config(practice).excel.read_bytes()
    result = _merge_cli(practice, monkeypatch)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("Error: evil.docx, the body, paragraph 3 (")
    assert "which templates may not use" in lines[0]
    assert "unexpected" not in lines[0]
    _nothing_made(practice, before)


def test_the_sandbox_holds_when_the_check_is_passed_by(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The check before rendering is the first wall; the sandbox is the second."""
    monkeypatch.setattr(sandbox, "refusal", lambda tree: None)
    monkeypatch.chdir(tmp_path)
    for escape in ["{{ ''.__class__.__mro__[1].__subclasses__() }}",
                   "{{ provider|attr('__class__') }}",
                   "{{ provider.get.__self__ }}",
                   "{{ self._TemplateReference__context }}"]:
        document = docx.Document()
        document.add_paragraph(escape)
        document.save(tmp_path / "t.docx")
        engine = CompiledTemplate(tmp_path / "t.docx")
        with pytest.raises(TemplateError, match=r"^t\.docx, the body, paragraph 1 .*: the tag "
                                                r"tried to reach something templates may not"):
            engine.render_parts({"provider": {"name": "Dr. Ames"}})
    for gone in ("cycler", "joiner", "namespace", "lipsum"):
        document = docx.Document()
        document.add_paragraph("{{ " + gone + "() }}")
        document.save(tmp_path / "t.docx")
        with pytest.raises(TemplateError, match=f"'{gone}' is undefined"):
            CompiledTemplate(tmp_path / "t.docx").render_parts({})
    assert not (tmp_path / "PWNED").exists()


def test_the_environment_is_the_sandbox_without_the_risky_globals() -> None:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = refdesk_environment()
    assert isinstance(env, ImmutableSandboxedEnvironment)
    assert env.autoescape is True
    assert not {"cycler", "joiner", "namespace", "lipsum"} & set(env.globals)
    assert {"join", "upper", "default", "replace"} <= set(env.filters)


@pytest.mark.parametrize(("tag", "says"), [
    ("{{ 1/0 }}", "the tag divides by zero; fix the tag in Word."),
    ("{{ provider.name|length // 0 }}", "the tag divides by zero"),
    ('{% include "other.docx" %}', "another template ({% include %}"),
    ('{% import "macros" as m %}', "another template"),
    ('{% from "macros" import m %}', "another template"),
    ('{% extends "base" %}', "another template"),
    ("{{ provider.name|shout }}", "No filter named 'shout'. Use one of Jinja's built-in"),
    ("{% if provider.name %}{{ provider.name|shout }}{% endif %}", "No filter named 'shout'"),
    ("{{ provider.name is shouting }}", "No test named 'shouting'"),
    ("{% set p = provider %}{{ p.nickname }}", "has no attribute 'nickname'"),
    ("{{ 'x' * 10**9 }}", "too large"),
    ("{{ range(10**9)|list }}", "too large"),
    ("{{ 9**99999999 }}", "too large"),
    ("{{ provider.name + 1 }}", "the tag cannot be worked out (TypeError); fix the tag in"),
])
def test_a_template_error_is_one_line_naming_the_template_and_paragraph(
        practice: Path, monkeypatch: pytest.MonkeyPatch, tag: str, says: str) -> None:
    _template(practice, "With thanks.", tag)
    before = load_config(practice).excel.read_bytes()
    result = _merge_cli(practice, monkeypatch)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("Error: evil.docx, the body, paragraph 3 ("), lines[0]
    assert says in lines[0]
    _nothing_made(practice, before)


def test_an_unknown_name_names_the_template(practice: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    _template(practice, "{{ nickname }}")
    result = _merge_cli(practice, monkeypatch)
    assert result.exit_code == 2
    assert "nothing was made" in result.stderr and "evil.docx: nickname" in result.stderr


# -- the data prints as typed -----------------------------------------------------------------
TYPED = ["{_{ 8*8 }_}", "{{ 8*8 }}", "{% if x %}", "{# not a comment", "{_% if %_}",
         "}_} and {_{", "50%", "_", "a_{"]


def test_a_provider_name_prints_exactly_as_typed(practice: Path) -> None:
    _template(practice, "From {{ provider.practice }} to you.",
              "{_{ not a tag }_} stays docxtpl's")
    config = load_config(practice)
    data = Data.of(ExcelSource(config.excel).read(), dt.date(2026, 11, 23))
    record = select(data, load_jobs(config)["thank-you"], False)[0][0]
    for typed in TYPED:
        patch_workbook(config.excel, [SetField("Providers", "provider_id", record.provider_id,
                                               "practice", typed)], backup=False)
        result = merge(config, "thank-you", ExcelSource(config.excel),
                       today=dt.date(2026, 11, 23), preview=1)
        assert result.documents[0].record.key == record.key
        lines = [p.text for p in docx.Document(result.documents[0].file).paragraphs]
        assert lines[1:3] == [f"From {typed} to you.", "{{ not a tag }} stays docxtpl's"]


def test_any_value_next_to_any_text_prints_as_typed(tmp_path: Path) -> None:
    """Every string of braces, percent signs and underscores up to four long, printed twice
    side by side between the template's own underscores and percent signs."""
    document = docx.Document()
    document.add_paragraph("{% for v in values %}_{{ v }}{{ v }}_{{ v }}%|{% endfor %}")
    document.add_paragraph("{_{ literal }_} {_% literal %_}")
    document.save(tmp_path / "t.docx")
    engine = CompiledTemplate(tmp_path / "t.docx")
    values = ["".join(p) for n in range(1, 5) for p in itertools.product("{}_%a", repeat=n)]
    page = docx.Document(io.BytesIO(engine.render({"values": values})))
    assert page.paragraphs[0].text == "".join(f"_{v}{v}_{v}%|" for v in values)
    assert page.paragraphs[1].text == "{{ literal }} {% literal %}"


# -- a job's email texts ----------------------------------------------------------------------
def _job(**texts: str) -> SimpleNamespace:
    base = {"email_subject": "Thank you", "email_body": "Dear {{ provider.salutation }}"}
    return SimpleNamespace(name="thank-you", title="Thanks", **(base | texts))


@pytest.mark.parametrize("what", ["email_subject", "email_body"])
@pytest.mark.parametrize("escape", ESCAPES)
def test_an_email_text_reaching_python_is_refused(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch, what: str,
                                                  escape: str) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DeliveryError) as err:
        render_text(_job(**{what: f"Hello\n{escape}\n"}), what, {"provider": {"name": "A"}})
    assert err.value.message.startswith(f"[jobs.thank-you] {what} (line 2): the tag reaches ")
    assert "which templates may not use" in err.value.message
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize(("text", "says"), [
    ("{{ 1/0 }}", "email_subject: the tag divides by zero; fix it in config.toml."),
    ('{% include "x" %}', "email_subject: the tag reaches another template"),
    ("{{ provider.name|shout }}", "email_subject: No filter named 'shout'"),
    ("{{ provider.nickname }}", "email_subject: 'dict object' has no attribute 'nickname'"),
])
def test_an_email_text_error_names_the_job_and_setting(text: str, says: str) -> None:
    with pytest.raises(DeliveryError) as err:
        render_text(_job(email_subject=text), "email_subject", {"provider": {"name": "A"}})
    assert err.value.message.startswith("[jobs.thank-you] ")
    assert says in err.value.message


def test_email_texts_print_the_data_as_typed() -> None:
    job = _job(email_subject="For {{ provider.name }}", email_body="{{ provider.name }}\n")
    for typed in TYPED:
        assert render_text(job, "email_subject", {"provider": {"name": typed}}) == \
            f"For {typed}"
        assert render_text(job, "email_body", {"provider": {"name": typed}}) == f"{typed}\n"


@pytest.mark.parametrize("what", ["email_subject", "email_body"])
def test_a_job_whose_email_text_reaches_python_stops_the_merge(
        practice: Path, soffice: str, what: str) -> None:
    config = load_config(practice)
    data = Data.of(ExcelSource(config.excel).read(), dt.date(2026, 11, 23))
    chosen = select(data, load_jobs(config)["thank-you"], False)[0]
    patch_workbook(config.excel, [SetField("Providers", "provider_id", r.provider_id,
                                           "delivery", "email") for r in chosen], backup=False)
    escape = ESCAPES[0]
    text = practice.read_text().replace(
        'email_subject = "Thank you for your referral"',
        f"{what} = '''{escape}'''" if what == "email_subject" else
        f"email_subject = \"Thank you\"\n{what} = '''Dear colleague,\n{escape}\n'''", 1)
    practice.write_text(text)
    before = config.excel.read_bytes()
    with pytest.raises(DeliveryError) as err:
        merge(load_config(practice), "thank-you", ExcelSource(config.excel),
              today=dt.date(2026, 11, 23), deliver=True, drafts=True)
    assert err.value.message.startswith(f"[jobs.thank-you] {what}")
    assert "the name 'cycler', which templates may not use" in err.value.message
    _nothing_made(practice, before)
