"""`refdesk new FOLDER`: the practice folder from flags, from answers typed at the prompt, and
from the sample; refusing to overwrite; TOML escaping; the default practice."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from refdesk import places, resources
from refdesk.cli import cli
from refdesk.config import load_config
from refdesk.newpractice import config_text, shell_path
from refdesk.schema import SHEETS
from refdesk.sources.excel import ExcelSource
from tests.conftest import run

FLAGS = ["--name", "Cedar Lane Massage Therapy", "--therapist", "Maya Lindqvist",
         "--credentials", "LMT, CMT", "--license", "OR LMT #21874", "--npi", "1750384962",
         "--street", "2417 SE Division Street, Suite 3", "--city", "Portland", "--state", "or",
         "--zip", "972021234", "--phone", "(503) 555-0147", "--fax", "(503) 555-0148",
         "--email", "maya@cedarlanemassage.example", "--specialty", "migraine",
         "--conditions", "migraine; tension-type headache ;; jaw pain (TMJ)"]


@pytest.fixture(autouse=True)
def settings(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's refdesk settings folder, in a temporary folder of this test's own."""
    folder = tmp_path_factory.mktemp("settings")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder))  # what platformdirs reads on Linux
    monkeypatch.setattr(places, "user_config_dir", lambda: folder / "refdesk")  # elsewhere
    monkeypatch.delenv("REFDESK_CONFIG", raising=False)
    return folder / "refdesk"


def files_in(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def shipped_templates() -> dict[str, bytes]:
    return {t.name: t.read_bytes() for t in resources.templates().iterdir() if t.is_file()}


def test_flags_make_the_whole_folder(tmp_path, settings):
    folder = tmp_path / "my práctice"  # a space and a non-ASCII letter, as people name folders
    result = run("new", folder, "--yes", *FLAGS)
    assert result.exit_code == 0, result.output

    config = load_config(folder / "config.toml")
    p = config.practice
    assert (p.name, p.therapist, p.credentials, p.license, p.npi) == (
        "Cedar Lane Massage Therapy", "Maya Lindqvist", "LMT, CMT", "OR LMT #21874", "1750384962")
    assert (p.street, p.city, p.state, p.zip) == (
        "2417 SE Division Street, Suite 3", "Portland", "OR", "97202-1234")
    assert (p.phone, p.fax, p.email, p.specialty) == (
        "(503) 555-0147", "(503) 555-0148", "maya@cedarlanemassage.example", "migraine")
    assert p.conditions == ("migraine", "tension-type headache", "jaw pain (TMJ)")
    assert config.email["sender"] == "maya@cedarlanemassage.example"
    assert set(config.jobs) >= {"intro-packet", "thank-you", "progress-report"}
    # [source] and [merge] are relative, and point into the folder
    raw = tomllib.loads((folder / "config.toml").read_text(encoding="utf-8"))
    assert raw["source"]["excel"] == "workbooks/referrals.xlsx"
    assert (raw["merge"]["templates"], raw["merge"]["output"]) == ("templates", "letters")
    assert config.excel == folder / "workbooks" / "referrals.xlsx"
    assert config.templates == folder / "templates"
    assert config.output == folder / "letters"

    book = ExcelSource(config.excel).read()
    assert {s.name for s in SHEETS} <= set(book.tables)
    assert all(len(book.tables[s.name].df) == 0 for s in SHEETS)
    assert files_in(folder / "templates") == shipped_templates()
    assert (folder / "letters").is_dir() and not any((folder / "letters").iterdir())

    assert places.default_practice() == folder.resolve()
    assert (settings / "default-practice.toml").is_file()
    where = folder.resolve()
    out = result.stdout
    assert f"Made a new practice in {where}:" in out
    assert "It is now the default practice" in out
    steps = out[out.index("Next steps:"):].splitlines()
    book, config_file = where / "workbooks" / "referrals.xlsx", where / "config.toml"
    assert steps[1] == (f'  1. Open "{book}", read its "Read me" sheet and add your referring '
                        "providers on the Providers sheet.")
    assert steps[2] == f'  2. refdesk check --config "{config_file}"'
    assert steps[3] == f'  3. refdesk todo --config "{config_file}"'
    assert steps[4] == f'     refdesk merge thank-you --dry-run --config "{config_file}"'

    # the new practice passes its own check
    checked = run("check", "--config", folder / "config.toml")
    assert checked.exit_code == 0, checked.output
    assert checked.stdout == "No problems found.\n"


def test_answers_typed_at_the_prompt_are_checked_and_asked_again(tmp_path):
    folder = tmp_path / "practice"
    typed = [
        "Cedar Lane Massage Therapy",  # name
        "Maya Lindqvist",  # therapist
        "",  # credentials: Enter takes LMT
        "OR LMT #21874",  # license
        "1750384961",  # NPI: fails its check digit
        "1750384962",  # NPI again
        "2417 SE Division Street",  # street
        "Portland",  # city
        "Oregon",  # state: not two letters
        "or",  # state again, written OR
        "9720",  # ZIP that lost its leading zero
        "97202",  # ZIP again
        "555-01",  # phone: too short
        "(503) 555-0147",  # phone again
        "",  # fax: none
        "maya@",  # email: not an address
        "maya@cedarlanemassage.example",  # email again
        "",  # specialty: none
        "migraine; neck pain",  # conditions
    ]
    result = CliRunner().invoke(cli, ["new", str(folder), "--no-default"],
                                input="\n".join(typed) + "\n", catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.count("NPI (10 digits; leave empty if you have none):") == 2
    assert ("NPI 1750384961 fails its check digit; the NPI registry (NPPES) lists each "
            "provider's 10-digit number. Please type it again.") in out
    assert "State Oregon is not a two-letter US state code; use e.g. OR." in out
    assert "ZIP 9720 lost its leading zero" in out
    assert "Phone 555-01 " in out
    assert "Email maya@ is not an email address" in out
    assert "Credentials after the name [LMT]:" in out
    p = load_config(folder / "config.toml").practice
    assert (p.npi, p.credentials, p.state, p.zip, p.phone, p.fax, p.email, p.specialty) == (
        "1750384962", "LMT", "OR", "97202", "(503) 555-0147", "",
        "maya@cedarlanemassage.example", "")
    assert p.conditions == ("migraine", "neck pain")


def test_input_ending_midway_writes_nothing(tmp_path):
    folder = tmp_path / "practice"
    result = CliRunner().invoke(cli, ["new", str(folder)], input="Cedar Lane\n")
    assert result.exit_code == 2
    assert "stopped at the question \"Therapist's full name\"; nothing was written" in \
        result.stderr
    assert not folder.exists()
    assert places.default_practice() is None


def test_given_flags_are_not_asked_again(tmp_path):
    folder = tmp_path / "practice"
    result = CliRunner().invoke(cli, ["new", str(folder), *FLAGS[:10]],  # name .. npi
                                input="\n" * 9, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Practice name" not in result.stdout and "NPI (" not in result.stdout
    assert "Street address:" in result.stdout
    assert load_config(folder / "config.toml").practice.npi == "1750384962"


def test_yes_without_the_required_answers_names_the_flags(tmp_path):
    folder = tmp_path / "practice"
    result = run("new", folder, "--yes", "--npi", "1750384962")
    assert result.exit_code == 2
    assert "with --yes nothing is asked: give --name and --therapist." in result.stderr
    assert not folder.exists()


def test_a_wrong_flag_is_named_and_nothing_is_written(tmp_path):
    folder = tmp_path / "practice"
    result = run("new", folder, "--yes", "--name", "A", "--therapist", "B", "--npi", "1234567890")
    assert result.exit_code == 2
    assert "Invalid value for --npi: NPI 1234567890 fails its check digit" in result.stderr
    result = run("new", folder, "--yes", "--name", "A\x01B", "--therapist", "B")
    assert result.exit_code == 2
    assert "Invalid value for --name" in result.stderr and "U+0001" in result.stderr
    assert not folder.exists()


def test_sample_then_summary(tmp_path):
    folder = tmp_path / "demo"
    result = run("new", folder, "--sample", "--no-default")
    assert result.exit_code == 0, result.output
    assert "Made the sample practice in" in result.stdout
    assert (folder / "config.toml").read_text(encoding="utf-8") == resources.sample_config()
    assert (folder / "workbooks" / "referrals.xlsx").read_bytes() == resources.sample_workbook()
    assert files_in(folder / "templates") == shipped_templates()
    assert (folder / "letters").is_dir()
    summary = run("--quiet", "summary", "--config", folder / "config.toml", "--json")
    assert summary.exit_code == 0, summary.output
    rows = {r["sheet"]: r["rows"] for r in __import__("json").loads(summary.stdout)}
    assert rows["Providers"] == 40 and rows["Clients"] == 300 and rows["Referrals"] == 250


def test_sample_with_answers_is_refused(tmp_path):
    result = run("new", tmp_path / "demo", "--sample", "--name", "Mine")
    assert result.exit_code == 2
    assert "--sample makes the demo practice as it is; leave out --name" in result.stderr
    assert not (tmp_path / "demo").exists()


def test_a_folder_holding_any_file_it_would_write_is_left_alone(tmp_path):
    folder = tmp_path / "practice"
    (folder / "templates").mkdir(parents=True)
    (folder / "config.toml").write_text("# mine\n", encoding="utf-8")
    (folder / "templates" / "thank-you.docx").write_bytes(b"my own letter")
    (folder / "notes.txt").write_text("kept", encoding="utf-8")
    before = files_in(folder)
    result = CliRunner().invoke(cli, ["new", str(folder)], input="")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {folder}: already holds config.toml, templates/thank-you.docx; refdesk new "
        "never overwrites a file, and nothing was written. Choose a new or empty folder, or "
        "move those away first.\n")
    assert result.stdout == ""  # refused before any question
    assert files_in(folder) == before
    assert sorted(p.name for p in folder.iterdir()) == ["config.toml", "notes.txt", "templates"]
    assert places.default_practice() is None


def test_a_file_where_a_folder_goes_is_in_the_way(tmp_path):
    folder = tmp_path / "practice"
    folder.mkdir()
    (folder / "letters").write_text("not a folder", encoding="utf-8")
    result = run("new", folder, "--sample")
    assert result.exit_code == 1
    assert "already holds letters;" in result.stderr
    assert [p.name for p in folder.iterdir()] == ["letters"]


def test_an_empty_existing_folder_is_fine(tmp_path):
    folder = tmp_path / "practice"
    folder.mkdir()
    result = run("new", folder, "--sample", "--no-default")
    assert result.exit_code == 0, result.output
    assert (folder / "config.toml").is_file()


def test_text_is_escaped_in_toml(tmp_path):
    awkward = {
        "name": 'Cedar "Lane" \\ Massage — Zoë\'s 東京 """ \\u0041 "{therapist}"',
        "therapist": "C:\\new\\table\tTab",
        "license": "#1 [x] = 'y'",
        "conditions": 'a "b"; c\\d; é',
    }
    practice = tomllib.loads(config_text(awkward))["practice"]
    assert practice["name"] == awkward["name"]
    assert practice["therapist"] == awkward["therapist"]
    assert practice["license"] == awkward["license"]
    assert practice["conditions"] == ['a "b"', "c\\d", "é"]

    folder = tmp_path / "practice"
    result = run("new", folder, "--yes", "--no-default", "--name", awkward["name"],
                 "--therapist", "Zoë O'Brien \\ \"Z\"")
    assert result.exit_code == 0, result.output
    p = load_config(folder / "config.toml").practice
    assert p.name == awkward["name"]
    assert p.therapist == "Zoë O'Brien \\ \"Z\""


def test_no_default_leaves_the_default_practice_as_it_was(tmp_path):
    first = tmp_path / "first"
    assert run("new", first, "--sample").exit_code == 0
    assert places.default_practice() == first.resolve()
    second = tmp_path / "second"
    result = run("new", second, "--sample", "--no-default")
    assert result.exit_code == 0
    assert places.default_practice() == first.resolve()
    assert "Not made the default practice (--no-default)" in result.stdout
    assert "It is now the default practice" not in result.stdout


def test_shell_path_quotes_what_a_shell_would_split():
    assert shell_path(Path("/home/maya/practice")) == "/home/maya/practice"
    assert shell_path(Path("/home/maya/my practice")) == '"/home/maya/my practice"'


def test_the_default_practice_serves_commands_run_in_another_folder(tmp_path, monkeypatch):
    folder = tmp_path / "demo"
    assert run("new", folder, "--sample").exit_code == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = run("summary", "--json")
    assert result.exit_code == 0, result.output
    assert f"Config: {folder.resolve() / 'config.toml'} (the default practice" in result.stderr
    assert list(elsewhere.iterdir()) == []


def test_a_failure_part_way_takes_back_what_it_wrote(tmp_path, monkeypatch):
    import errno

    import refdesk.newbook
    from refdesk.errors import OutputError

    def no_room(path):
        raise OutputError(f"{path}: cannot be written (No space left on device); the disk is "
                          "full: free some space, then run refdesk again.")

    monkeypatch.setattr(refdesk.newbook, "write_workbook", no_room)
    folder = tmp_path / "a" / "practice"
    result = run("new", folder, "--yes", "--name", "A", "--therapist", "B")
    assert result.exit_code == 2
    assert "the disk is full" in result.stderr
    assert list(tmp_path.iterdir()) == []  # the folders it made went too
    assert places.default_practice() is None

    def half_copied(src, dest):
        dest.mkdir(parents=True, exist_ok=True)
        (dest / "thank-you.docx").write_bytes(b"part")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(resources, "copy_tree", half_copied)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("kept", encoding="utf-8")
    result = run("new", mine, "--sample")
    assert result.exit_code == 2
    assert result.stderr == (f"Error: {mine}: cannot be written (No space left on device); the "
                             "disk is full: free some space, then run refdesk again. Nothing "
                             "was left there.\n")
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
