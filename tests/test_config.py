from pathlib import Path

import pytest

from refdesk.config import SECTIONS, load_config
from refdesk.errors import ConfigError
from tests.conftest import ROOT, run

GOOD = """\
[practice]
name = "Cedar Lane Massage Therapy"
therapist = "Maya Lindqvist"
npi = "1750384962"
conditions = ["migraine", "neck pain"]

[source]
excel = "data/referrals.xlsx"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return info.value.message


def test_project_config_loads_and_names_the_sample_workbook():
    config = load_config(ROOT / "config.toml")
    assert config.practice.name == "Cedar Lane Massage Therapy"
    assert config.practice.practice_type == "solo"
    assert config.excel == ROOT / "workbooks" / "referrals.xlsx"
    assert set(SECTIONS["practice"]) <= set(config.practice.__dataclass_fields__)


def test_good_config_resolves_paths_against_its_folder(tmp_path):
    config = load_config(write(tmp_path, GOOD))
    assert config.excel == tmp_path / "data" / "referrals.xlsx"
    assert config.practice.conditions == ("migraine", "neck pain")
    assert config.practice.country == "US"


def test_missing_file(tmp_path):
    message = error_of(tmp_path / "nope.toml")
    assert message.startswith(f"{tmp_path / 'nope.toml'}: no such file.")


def test_bad_toml_names_the_line(tmp_path):
    message = error_of(write(tmp_path, GOOD.replace('npi = "1750384962"', "npi = 17503 84962")))
    assert message.startswith("config.toml: not valid TOML:")
    assert "line 4" in message


def test_unknown_key_names_line_and_suggests(tmp_path):
    message = error_of(write(tmp_path, GOOD.replace("therapist =", "therapst =")))
    assert message == ("config.toml line 3: unknown key 'therapst' in [practice]. "
                       "Did you mean 'therapist'?")


def test_unknown_section(tmp_path):
    message = error_of(write(tmp_path, GOOD + "\n[sorce]\nexcel = 'x.xlsx'\n"))
    assert message == "config.toml line 10: unknown section [sorce]. Did you mean [source]?"


def test_wrong_type_names_key_and_line(tmp_path):
    message = error_of(write(tmp_path, GOOD.replace('"1750384962"', "1750384962")))
    assert message == ("config.toml line 4: practice.npi must be text in quotes, "
                       "not int 1750384962.")


def test_list_of_text_required(tmp_path):
    message = error_of(write(tmp_path, GOOD.replace('["migraine", "neck pain"]', '["a", 3]')))
    assert message == "config.toml line 5: practice.conditions must be a list of text in quotes."


def test_closed_choice(tmp_path):
    text = GOOD.replace("[source]", 'practice_type = "clinic"\n\n[source]')
    message = error_of(write(tmp_path, text))
    assert message == ("config.toml line 7: practice.practice_type is 'clinic'; "
                       "use one of: solo, group.")


def test_missing_required_key(tmp_path):
    message = error_of(write(tmp_path, GOOD.replace('therapist = "Maya Lindqvist"\n', "")))
    assert message.startswith("config.toml line 1: [practice] needs 'therapist'")


def test_missing_practice_section(tmp_path):
    message = error_of(write(tmp_path, "[source]\nexcel = 'a.xlsx'\n"))
    assert "the [practice] section is missing" in message


def test_cli_reports_config_errors_with_exit_2(tmp_path):
    path = write(tmp_path, GOOD.replace("therapist =", "therapst ="))
    result = run("summary", "--config", path)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "Error: config.toml line 3: unknown key 'therapst' in [practice]. "
        "Did you mean 'therapist'?")
    assert result.stdout == ""


def test_cli_without_any_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REFDESK_CONFIG", raising=False)
    result = run("summary")
    assert result.exit_code == 2
    assert "Error: config.toml: not found. Looked at --config" in result.stderr
    assert "refdesk new FOLDER" in result.stderr


JOB = """
[jobs.thanks]
title = "Thank-you letters"
templates = ["thank-you.docx"]
each = "referrals"
"""


@pytest.mark.parametrize("extra,expected", [
    ('eech = "referrals"\n', "config.toml line 12: unknown key 'eech' in [jobs.thanks]. "
     "Did you mean 'each'?"),
    ('where = { first_vist = "set" }\n', "config.toml line 12: [jobs.thanks] where: no column "
     "'first_vist' for referrals. Did you mean 'first_visit'?"),
    ('where = { status = 3 }\n', "config.toml line 12: [jobs.thanks] where: status must be "
     "\"set\", \"empty\""),
    ('set = { "Referals.thank_you_sent" = "today" }\n', "set: 'Referals.thank_you_sent' is not"),
    ('set = { "Letters.status" = "today" }\n', "set: Letters cannot be reached"),
    ('scope = ["everything"]\n', "scope: everything is not a release scope"),
    ('again_after_days = "weekly"\n', "jobs.thanks.again_after_days must be a whole number"),
])
def test_job_mistakes_name_the_job_and_the_fix(tmp_path, extra, expected):
    from refdesk.merge.jobs import load_jobs

    text = GOOD.replace('[source]\nexcel = "data/referrals.xlsx"\n', "") + JOB + extra
    with pytest.raises(ConfigError) as info:
        load_jobs(load_config(write(tmp_path, text)))
    message = info.value.message
    assert expected in message, message
    assert "thanks" in message


def test_a_job_without_templates_is_refused(tmp_path):
    text = GOOD + JOB.replace('templates = ["thank-you.docx"]\n', "")
    assert "[jobs.thanks] needs 'templates'" in error_of(write(tmp_path, text))
