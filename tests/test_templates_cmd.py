"""`refdesk templates`: every template's fields and where their data comes from, and the
problems that would stop a merge (exit 1)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import run
from tests.test_mergefield import _add_job, _letter, complex_, para, simple, text


@pytest.fixture(autouse=True)
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wide terminal, so that each table row is one line."""
    monkeypatch.setenv("COLUMNS", "200")


def test_the_shipped_templates_have_no_problem(practice: Path) -> None:
    result = run("templates", "-c", practice)
    assert result.exit_code == 0, result.output
    for name in ("thank-you.docx", "intro-letter.docx", "super-bill.docx", "fax-cover.docx"):
        assert f"{name}: tags; used by" in result.stdout
    assert "Clients.first_name" in result.stdout and "config.toml [practice] name" in \
        result.stdout
    assert "11 template(s), 0 problem(s)." in result.stderr


def test_a_word_letter_shows_each_fields_data_and_its_source(practice: Path) -> None:
    body = para(text("Dear "), simple(" MERGEFIELD Voornaam "), simple(" MERGEFIELD City "))
    _letter(practice.parent / "templates", body, name="word.docx")
    _add_job(practice, "word", "word.docx", {"Voornaam": "provider.name"})
    result = run("templates", "-c", practice)
    assert result.exit_code == 0, result.output
    block = result.stdout[result.stdout.index("word.docx: Word merge fields; used by word"):]
    assert re.search(r"Voornaam\s+│ provider.name\s+│ Providers.name\s+│ word", block)
    assert re.search(r"City\s+│ provider.city\s+│ Providers.city\s+│ word", block)


def test_a_merge_field_no_data_matches_is_a_problem(practice: Path) -> None:
    _letter(practice.parent / "templates", para(simple(" MERGEFIELD Shoe_size ")),
            name="word.docx")
    _add_job(practice, "word", "word.docx", {})
    result = run("templates", "-c", practice)
    assert result.exit_code == 1
    assert "problem: word.docx: MERGEFIELD Shoe_size (the body, paragraph 1 ('«x»')) matches " \
        "no field of the job's data" in result.stdout
    assert "12 template(s), 1 problem(s)." in result.stderr


def test_a_tag_split_across_runs_is_a_problem(practice: Path) -> None:
    body = para(text("Dear {"), text("{ provider.name }}") + text(","))
    _letter(practice.parent / "templates", body, name="split.docx")
    result = run("templates", "-c", practice, "check",
                 practice.parent / "templates" / "split.docx")
    assert result.exit_code == 1
    assert "problem: split.docx, the body, paragraph 1 ('Dear {{ provider.name }},'): Word " \
        "split this tag across runs" in result.stdout


def test_a_field_no_job_provides_is_a_problem(practice: Path) -> None:
    _letter(practice.parent / "templates", para(text("{{ provider.shoe_size }}")),
            name="shoe.docx")
    _add_job(practice, "shoe", "shoe.docx", {})
    result = run("templates", "-c", practice)
    assert result.exit_code == 1
    assert "problem: shoe.docx: provider.shoe_size is data no job using it provides (shoe)." \
        in result.stdout


def test_check_names_a_field_refdesk_cannot_merge(practice: Path, tmp_path: Path) -> None:
    path = _letter(tmp_path, para(text("Hi "), simple(" MERGEFIELD FirstName "),
                                  complex_(' FILLIN "Your name?" ')), name="ask.docx")
    result = run("templates", "-c", practice, "check", path)
    assert result.exit_code == 1
    assert "problem: ask.docx, the body, paragraph 1 ('Hi «x»«x»'): the FILLIN field asks a " \
        "question" in result.stdout


def test_check_of_a_letter_no_job_uses_says_which_jobs_could(practice: Path,
                                                           tmp_path: Path) -> None:
    path = _letter(tmp_path, para(simple(" MERGEFIELD FirstName ")), name="new.docx")
    result = run("templates", "-c", practice, "check", path)
    assert result.exit_code == 0, result.output
    assert "new.docx: Word merge fields; used by no job" in result.stdout
    assert re.search(r"FirstName\s+│ client.first_name\s+│ Clients.first_name\s+│ any job "
                     r"for referrals,", result.stdout)


def test_a_template_a_job_names_that_is_missing_is_a_problem(practice: Path) -> None:
    _add_job(practice, "gone", "gone.docx", {})
    result = run("templates", "-c", practice)
    assert result.exit_code == 1
    assert "problem: gone.docx: job gone uses it, and it is not in" in result.stdout
