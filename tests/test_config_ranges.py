"""Every setting mistake in config.toml stops refdesk when the file is loaded: one line naming
the file, the line, the key and the fix, exit code 2, and nothing made. A file saved with a
byte-order mark or Windows line endings reads as any other."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pytest

from refdesk.config import JOB_KEYS, MAX_DAYS, SECTIONS, load_config
from refdesk.errors import ConfigError
from refdesk.sources.excel import ExcelSource
from refdesk.stats import compute
from refdesk.todo import Rules, todo
from tests.conftest import ROOT, run

TODAY = dt.date(2026, 11, 23)



def setting(config: Path, section: str, key: str, value: str) -> int:
    """Set `key = value` in `[section]` of the file (replacing the key's line, else right
    under the header); returns the line it is on."""
    lines = config.read_text(encoding="utf-8").splitlines()
    header = next(i for i, line in enumerate(lines) if line.strip() == f"[{section}]")
    at = header + 1
    for i in range(header + 1, len(lines)):
        if lines[i].startswith("["):
            break
        if re.match(rf"{re.escape(key)}\s*=", lines[i]):
            at = i
            del lines[i]
            break
    lines.insert(at, f"{key} = {value}")
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return at + 1


def refusal(config: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(config)
    message = info.value.message
    assert "\n" not in message
    return message


# (section, key, value written in the file, the fix the message gives)
MISTAKES = [
    ("email", "timeout", "-1", "is -1; use a whole number of seconds from 1 to 600, "
     "e.g. timeout = 30."),
    ("email", "timeout", "0", "from 1 to 600"),
    ("email", "timeout", "86400", "is 86400; use a whole number of seconds from 1 to 600"),
    ("email", "port", "0", "is 0; use a whole number from 1 to 65535, e.g. port = 587."),
    ("email", "port", "70000", "from 1 to 65535"),
    ("program", "dormant_after_days", "99999999999999", "is 99999999999999; use a whole "
     f"number of days from 0 to {MAX_DAYS}, e.g. dormant_after_days = 90."),
    ("program", "dormant_after_days", "-1", f"from 0 to {MAX_DAYS}"),
    ("program", "unscheduled_after_days", "36501", "e.g. unscheduled_after_days = 7."),
    ("program", "release_warning_days", "-30", "e.g. release_warning_days = 30."),
    ("program", "thank_you_within_days", "1000000000", "e.g. thank_you_within_days = 30."),
    ("program", "report_every_visits", "0", "is 0; use a whole number of visits from 1 to "
     "1000, e.g. report_every_visits = 6."),
    ("program", "report_every_weeks", "0", "weeks from 1 to 5200, e.g. report_every_weeks = 4."),
    ("jobs.progress-report", "again_after_days", "-28", f"days from 0 to {MAX_DAYS}, "
     "e.g. again_after_days = 0."),
    ("jobs.progress-report", "again_after_days", "99999999999", f"from 0 to {MAX_DAYS}"),
    ("email", "host", '"smtp.example.com:587"', 'give the name alone, host = '
     '"smtp.example.com", and the number as port = 587.'),
    ("email", "host", '"smtps://smtp.example.com"', "give the server's name alone"),
    ("email", "sender", '"Maya <maya@example.com>"', "give one email address alone"),
    ("practice", "country", '"USA"', 'use a two-letter country code such as "US"'),
]


@pytest.mark.parametrize("section,key,value,fix", MISTAKES,
                         ids=[f"{m[1]}={m[2]}" for m in MISTAKES])
def test_a_value_out_of_range_names_the_line_the_key_and_the_fix(practice: Path, section: str,
                                                                 key: str, value: str,
                                                                 fix: str) -> None:
    line = setting(practice, section, key, value)
    message = refusal(practice)
    assert message.startswith(f"config.toml line {line}: {section}.{key} "), message
    assert fix in message, message


def test_the_cli_says_it_in_one_line_with_exit_code_2(practice: Path) -> None:
    line = setting(practice, "program", "dormant_after_days", "99999999999999")
    for command in (("todo",), ("stats",), ("summary",)):
        result = run(*command, "--config", practice)
        assert result.exit_code == 2, (command, result.stderr)
        assert result.stdout == ""
        assert result.stderr.strip().splitlines()[-1] == (
            f"Error: config.toml line {line}: program.dormant_after_days is 99999999999999; "
            f"use a whole number of days from 0 to {MAX_DAYS}, e.g. dormant_after_days = 90.")
        assert "Traceback" not in result.stderr and "unexpected" not in result.stderr


def test_a_merge_with_a_bad_timeout_refuses_before_any_document(practice: Path) -> None:
    line = setting(practice, "email", "timeout", "-1")
    workbook = practice.parent / "workbooks" / "referrals.xlsx"
    before = workbook.read_bytes()
    result = run("--quiet", "merge", "thank-you", "--config", practice, "--today", "2026-11-23",
                 "--deliver", "--drafts")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"Error: config.toml line {line}: email.timeout is -1; use a whole number of seconds "
        "from 1 to 600, e.g. timeout = 30.")
    assert not (practice.parent / "letters").exists()
    assert not (practice.parent / "workbooks" / ".refdesk-backups").exists()
    assert workbook.read_bytes() == before


def test_a_password_in_password_env_is_never_repeated(practice: Path) -> None:
    line = setting(practice, "email", "password_env", '"hunter2 is my password"')
    message = refusal(practice)
    assert message.startswith(f"config.toml line {line}: email.password_env is not usable; "
                              "name an environment variable")
    assert "hunter2" not in message


# -- paths -------------------------------------------------------------------------------------

def test_merge_output_naming_a_file(practice: Path) -> None:
    (practice.parent / "notes.txt").write_text("mine")
    line = setting(practice, "merge", "output", '"notes.txt"')
    message = refusal(practice)
    assert message == (f"config.toml line {line}: merge.output is 'notes.txt', and "
                       f"{practice.parent / 'notes.txt'} is a file, not a folder; name a folder "
                       "(refdesk makes it when needed), e.g. output = \"letters\".")
    result = run("--quiet", "merge", "thank-you", "--config", practice, "--today", "2026-11-23")
    assert result.exit_code == 2 and "merge.output" in result.stderr
    assert (practice.parent / "notes.txt").read_text() == "mine"


def test_merge_output_inside_a_file(practice: Path) -> None:
    (practice.parent / "notes.txt").write_text("mine")
    line = setting(practice, "merge", "output", '"notes.txt/letters"')
    assert refusal(practice) == (
        f"config.toml line {line}: merge.output is 'notes.txt/letters', but "
        f"{practice.parent / 'notes.txt'} is a file, so nothing can be made inside it; name a "
        "folder there is room for, e.g. output = \"letters\".")


def test_folders_that_do_not_exist_yet_are_fine(practice: Path) -> None:
    setting(practice, "merge", "output", '"out/letters"')
    setting(practice, "merge", "templates", '"~/refdesk-templates-not-there"')
    config = load_config(practice)
    assert config.output == practice.parent / "out" / "letters"
    assert config.templates == Path.home() / "refdesk-templates-not-there"


def test_templates_naming_a_file(practice: Path) -> None:
    line = setting(practice, "merge", "templates", '"templates/thank-you.docx"')
    message = refusal(practice)
    assert message.startswith(f"config.toml line {line}: merge.templates is "
                              "'templates/thank-you.docx', and ")
    assert message.endswith("is a file, not a folder; name a folder (refdesk makes it when "
                            "needed), e.g. templates = \"templates\".")


def test_a_workbook_path_naming_a_folder(practice: Path) -> None:
    line = setting(practice, "source", "excel", '"workbooks"')
    assert refusal(practice) == (
        f"config.toml line {line}: source.excel is 'workbooks', and "
        f"{practice.parent / 'workbooks'} is a folder, not a file; name the file itself, "
        "e.g. excel = \"workbooks/referrals.xlsx\".")


def test_a_credentials_file_naming_a_folder(practice: Path) -> None:
    line = setting(practice, "source", "credentials", '"workbooks"')
    message = refusal(practice)
    assert message.startswith(f"config.toml line {line}: source.credentials is 'workbooks'")
    assert "is a folder, not a file; name the file itself, or remove the line." in message


def test_a_ca_file_that_is_not_there(practice: Path) -> None:
    line = setting(practice, "email", "ca_file", '"certs/ca.pem"')
    assert refusal(practice) == (
        f"config.toml line {line}: email.ca_file is 'certs/ca.pem', and there is no file "
        f"{practice.parent / 'certs' / 'ca.pem'}; give the path of the file (relative to "
        "config.toml), or remove the line.")
    (practice.parent / "certs").mkdir()
    (practice.parent / "certs" / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    assert load_config(practice).email["ca_file"] == str(practice.parent / "certs" / "ca.pem")


# -- every key has its rule ----------------------------------------------------------------------

def test_every_whole_number_key_has_a_range_and_its_default_is_inside() -> None:
    keys = [*(k for keys in SECTIONS.values() for k in keys.values()), *JOB_KEYS.values()]
    numbers = [k for k in keys if k.type is int]
    assert len(numbers) == 10  # rhythm_times among them
    for key in numbers:
        assert key.limits is not None, key.description
        low, high = key.limits
        assert low <= key.default <= high and high <= MAX_DAYS * 10 ** 3
        assert key.rule.startswith(f"From {low} to {high}")


def test_day_counts_fit_in_every_date_refdesk_works_with() -> None:
    # stats works in pandas timestamps (1677..2262): a century either side of today fits.
    assert pd.Timestamp(TODAY) + pd.Timedelta(days=MAX_DAYS) < pd.Timestamp.max
    assert pd.Timestamp(TODAY) - pd.Timedelta(days=MAX_DAYS) > pd.Timestamp.min
    days = [key for name, key in SECTIONS["program"].items() if name.endswith("_days")]
    assert len(days) == 4
    for key in [*days, JOB_KEYS["again_after_days"]]:
        assert key.limits == (0, MAX_DAYS) and key.unit == "days"


# -- byte-order mark and line endings -------------------------------------------------------------

def _same(a, b) -> None:
    assert dataclasses.replace(a, path=None) == dataclasses.replace(b, path=None)


def test_a_byte_order_mark_and_crlf_are_read(practice: Path, tmp_path: Path) -> None:
    plain = load_config(practice)
    text = practice.read_text(encoding="utf-8")
    bom = practice.parent / "bom.toml"
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    crlf = practice.parent / "crlf.toml"
    crlf.write_bytes(text.replace("\n", "\r\n").encode("utf-8"))
    both = practice.parent / "notepad.toml"
    both.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    for path in (bom, crlf, both):
        _same(load_config(path), plain)
    assert run("summary", "--config", both).exit_code == 0


def test_a_mistake_in_a_notepad_file_names_its_line(practice: Path) -> None:
    line = setting(practice, "email", "port", "0")
    text = practice.read_text(encoding="utf-8")
    practice.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    assert refusal(practice).startswith(f"config.toml line {line}: email.port is 0;")
    first = practice.parent / "first.toml"
    first.write_bytes(b"\xef\xbb\xbf[practice]\r\nname = 1\r\n")
    with pytest.raises(ConfigError, match=r"^first.toml line 2: practice.name must be text"):
        load_config(first)


def test_a_utf16_file_is_named_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes('[practice]\nname = "x"\n'.encode("utf-16"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.message == (f"{path}: saved as UTF-16 (Unicode); save it again as "
                                  "UTF-8 (in Notepad: Save As, Encoding UTF-8).")


def test_the_sample_config_loads() -> None:
    config = load_config(ROOT / "config.toml")
    assert config.email["timeout"] == 30 and config.program["dormant_after_days"] == 90


# -- the arithmetic holds even when the check is bypassed ------------------------------------------

HUGE = 99999999999999


@pytest.mark.parametrize("value", [HUGE, -HUGE, MAX_DAYS, 0])
def test_todo_and_stats_never_overflow(practice: Path, value: int) -> None:
    config = load_config(practice)
    values = {k: value for k in SECTIONS["program"]}
    bypassed = dataclasses.replace(config, program=values)
    book = ExcelSource(config.excel).read()
    for on in (TODAY, dt.date(9999, 12, 30), dt.date(1, 1, 2)):
        actions = todo(book, bypassed, on)
        assert all(isinstance(a.due, dt.date) for a in actions)
    assert Rules.of(bypassed).dormant_after_days == value
    stats = compute(book, end=TODAY, dormant_after_days=value)
    states = {r["activity"] for r in stats.tables["activity"].rows}
    if value >= MAX_DAYS:
        assert states == {"active"}
    else:
        assert "dormant" in states
    assert stats.tables["pipeline"].rows
