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
    assert "Error: config.toml: no such file. Pass --config PATH" in result.stderr
