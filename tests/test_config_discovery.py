"""Where refdesk finds config.toml: --config, then REFDESK_CONFIG, then ./config.toml, then the
default practice `refdesk new` registers (in the user's config folder, isolated per test by
conftest through XDG_CONFIG_HOME). Paths inside config.toml stay relative to the file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from refdesk import places
from refdesk.errors import ConfigError
from tests.conftest import copy_practice, run


def practice_at(folder: Path, name: str) -> Path:
    """A sample practice in `folder`, its practice name changed so each is told apart."""
    config = copy_practice(folder)
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('name = "Cedar Lane Massage', f'name = "{name}', 1),
                      encoding="utf-8")
    return config


@pytest.fixture
def four(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A config.toml in each of the four places, and the current folder holding one."""
    configs = {
        "option": practice_at(tmp_path / "option", "Option"),
        "env": practice_at(tmp_path / "env", "Env"),
        "cwd": practice_at(tmp_path / "here", "Here"),
        "default": practice_at(tmp_path / "default ümlaut practice", "Default"),
    }
    places.register_default(configs["default"].parent)
    monkeypatch.setenv("REFDESK_CONFIG", str(configs["env"]))
    monkeypatch.chdir(configs["cwd"].parent)
    return configs


def test_the_user_config_folder_is_the_tests_own() -> None:
    # conftest points platformdirs at a fresh folder: nothing of this machine's leaks in.
    assert places.user_config_dir().parent == Path(os.environ["XDG_CONFIG_HOME"])
    assert places.default_practice() is None


def test_register_and_read_the_default_practice(tmp_path: Path) -> None:
    folder = tmp_path / 'a "quoted" folder with spaces é'
    written = places.register_default(folder)
    assert written == places.default_practice_file()
    assert written.parent == Path(os.environ["XDG_CONFIG_HOME"]) / "refdesk"
    assert places.default_practice() == folder.resolve()


def test_a_damaged_default_practice_file_counts_as_none() -> None:
    target = places.default_practice_file()
    target.parent.mkdir(parents=True)
    target.write_text("practice = [unclosed", encoding="utf-8")
    assert places.default_practice() is None


def test_the_order_of_the_four_places(four: dict[str, Path], monkeypatch) -> None:
    assert places.find_config(four["option"]) == (four["option"], "--config")
    assert places.find_config(None) == (four["env"], "REFDESK_CONFIG")
    monkeypatch.delenv("REFDESK_CONFIG")
    assert places.find_config(None) == (Path("config.toml"), "./config.toml")
    monkeypatch.chdir(four["option"].parent.parent)  # no config.toml there
    assert places.find_config(None) == (four["default"], "default practice")


@pytest.mark.parametrize("given,expected,how", [
    ("option", "Option", "given with --config"),
    ("env", "Env", "named by REFDESK_CONFIG"),
    ("cwd", "Here", "found in the current folder"),
    ("default", "Default", "the default practice, registered by refdesk new"),
])
def test_each_place_is_used_by_the_commands(four: dict[str, Path], monkeypatch, tmp_path: Path,
                                            given: str, expected: str, how: str) -> None:
    args = ["--config", four["option"]] if given == "option" else []
    if given not in ("option", "env"):
        monkeypatch.delenv("REFDESK_CONFIG")
    if given == "default":
        monkeypatch.chdir(tmp_path)
    result = run("summary", *args)
    assert result.exit_code == 0, result.stderr
    config = four[given]
    # The workbook is config.toml's relative "workbooks/referrals.xlsx", next to that file.
    workbook = config.parent.resolve() / "workbooks" / "referrals.xlsx"
    assert result.stderr.splitlines()[0] == (
        f"Config: {config.resolve()} ({how}); workbook: {workbook}.")
    # merge finds the same config: it lists the jobs that config.toml declares
    (config.parent / "templates" / "thank-you.docx").rename(
        config.parent / "templates" / f"{expected}.docx")
    config.write_text(config.read_text(encoding="utf-8").replace(
        '"thank-you.docx"', f'"{expected}.docx"'), encoding="utf-8")
    merge = run("-q", "templates", *args)
    assert f"{expected}.docx: " in merge.stdout, merge.stderr


def test_commands_run_from_any_folder_with_the_default_practice(tmp_path: Path,
                                                                monkeypatch) -> None:
    config = practice_at(tmp_path / "practice", "Default")
    places.register_default(config.parent)
    elsewhere = tmp_path / "somewhere else"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    for command in (("check", "--today", "2026-11-23"), ("todo", "--on", "2026-11-23"),
                    ("stats", "--html", "report.html"), ("templates",)):
        result = run("-q", *command)
        assert result.exit_code in (0, 1), (command, result.stderr)  # 1: problems found
        assert "Error" not in result.stderr, (command, result.stderr)
    assert (elsewhere / "report.html").is_file()
    assert "Cedar Lane" not in (elsewhere / "report.html").read_text(encoding="utf-8")


def test_nothing_anywhere_names_the_four_places_and_the_fix(tmp_path: Path,
                                                           monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as err:
        places.find_config(None)
    message = err.value.message
    assert "--config (not given)" in message
    assert "REFDESK_CONFIG (not set)" in message
    assert f"{tmp_path / 'config.toml'} (missing)" in message
    assert f"none registered in {places.default_practice_file()}" in message
    assert "refdesk new FOLDER" in message and "--config PATH/config.toml" in message
    result = run("summary")
    assert result.exit_code == 2
    assert result.stderr == f"Error: {message}\n"
    assert result.stdout == ""


def test_a_registered_practice_that_was_moved_is_named(tmp_path: Path, monkeypatch) -> None:
    places.register_default(tmp_path / "moved away")
    monkeypatch.chdir(tmp_path)
    result = run("todo")
    assert result.exit_code == 2
    assert f"the default practice {tmp_path / 'moved away' / 'config.toml'} (missing)" \
        in result.stderr


def test_a_missing_file_named_explicitly_is_not_passed_over(four: dict[str, Path],
                                                            tmp_path: Path) -> None:
    # --config naming a missing file is an error, never a quiet fall back to the next place.
    result = run("summary", "--config", tmp_path / "typo.toml")
    assert result.exit_code == 2
    assert f"Error: {tmp_path / 'typo.toml'}: no such file." in result.stderr
    assert "refdesk new FOLDER" in result.stderr


def test_summary_with_a_workbook_and_no_config(tmp_path: Path, monkeypatch) -> None:
    workbook = copy_practice(tmp_path / "p").parent / "workbooks" / "referrals.xlsx"
    (tmp_path / "p" / "config.toml").unlink()
    monkeypatch.chdir(tmp_path)
    result = run("summary", "--workbook", workbook, "--json")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines()[0] == (
        f"Config: none; workbook: {workbook.resolve()} (--workbook).")
    assert result.stdout.lstrip().startswith("[")  # stdout stays JSON


def test_quiet_leaves_the_line_out(four: dict[str, Path]) -> None:
    result = run("-q", "summary")
    assert result.exit_code == 0
    assert "Config:" not in result.stderr
