"""`refdesk doctor`: every check ✔ on the sample practice, and each ✘ with its fix: no config,
a workbook that cannot be read or is open, LibreOffice absent or only in the Windows or macOS
install folders (the system and the file system simulated), fonts missing, an SMTP server
refusing the login (aiosmtpd on loopback), a Google Sheet read through the loopback server."""

from __future__ import annotations

from pathlib import Path

import pytest

from refdesk import doctor, office
from refdesk.config import load_config
from refdesk.sources.google import client as google_client
from tests import sheets_server as fake
from tests.conftest import copy_practice, need, run

OK, FAIL, SKIP = "✔", "✘", "–"


def lines(result) -> dict[str, str]:
    """The report's lines by check name."""
    found = {}
    for line in result.stdout.splitlines():
        name = line[2:].split(":", 1)[0]
        found[name] = line
    return found


@pytest.fixture
def practice(tmp_path: Path) -> Path:
    return copy_practice(tmp_path / "practice")


@pytest.fixture
def no_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """LibreOffice hidden from PATH (an empty folder is all PATH holds)."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("REFDESK_SOFFICE", raising=False)
    return empty


def _program(path: Path) -> Path:
    path.parent.mkdir(parents=True)
    path.write_bytes(b"")
    return path


# -- the sample practice -----------------------------------------------------------------------
def test_all_checks_pass_on_the_sample_practice(practice: Path, soffice: str) -> None:
    fonts = doctor.installed_fonts()
    need(fonts is not None and {"Caladea", "DejaVu Sans"} <= fonts,
         "fontconfig with Caladea and DejaVu Sans (fonts-crosextra-caladea, fonts-dejavu-core)")
    result = run("doctor", "--config", practice)
    assert result.exit_code == 0, result.stdout
    found = lines(result)
    assert list(found) == ["Python", "LibreOffice", "Config", "Fonts", "Workbook"]
    assert all(line.startswith(OK) for line in found.values()), result.stdout
    assert found["LibreOffice"] == f"{OK} LibreOffice: {soffice} (for --pdf)"
    assert found["Config"] == f"{OK} Config: {practice.resolve()} (given with --config)"
    assert "Cambria" in found["Fonts"] and "Segoe UI Symbol" in found["Fonts"]
    workbook = practice.parent.resolve() / "workbooks" / "referrals.xlsx"
    assert found["Workbook"] == f"{OK} Workbook: {workbook} (readable, not open elsewhere)"
    assert result.stderr == ""


def test_the_config_is_found_as_every_command_finds_it(practice: Path, monkeypatch) -> None:
    monkeypatch.chdir(practice.parent)
    found = lines(run("doctor"))
    assert found["Config"] == f"{OK} Config: {practice.resolve()} (found in the current folder)"


# -- each failure, with its fix ----------------------------------------------------------------
def test_no_config_anywhere(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("doctor")
    assert result.exit_code == 1
    found = lines(result)
    assert found["Config"].startswith(f"{FAIL} Config: config.toml: not found. Looked at")
    assert "Fix: make a practice folder with `refdesk new FOLDER`" in found["Config"]
    assert found["Workbook"] == f"{SKIP} Workbook: not checked: no config.toml (see above)."
    assert result.stderr == ""


def test_a_workbook_that_is_not_one(practice: Path) -> None:
    workbook = practice.parent / "workbooks" / "referrals.xlsx"
    workbook.write_bytes(b"not a workbook at all")
    result = run("doctor", "--config", practice)
    assert result.exit_code == 1
    line = lines(result)["Workbook"]
    assert line.startswith(f"{FAIL} Workbook: ")
    assert "referrals.xlsx" in line and "Traceback" not in result.output


def test_a_workbook_open_in_excel(practice: Path) -> None:
    (practice.parent / "workbooks" / "~$referrals.xlsx").write_bytes(b"owner")
    result = run("doctor", "--config", practice)
    assert result.exit_code == 1
    assert lines(result)["Workbook"] == (
        f"{FAIL} Workbook: referrals.xlsx is open in Excel: close it there, then run refdesk "
        "again. Nothing was written. (If Excel is not running, the lock file ~$referrals.xlsx "
        "was left by a crash: delete it.)")


def test_a_missing_workbook(practice: Path) -> None:
    (practice.parent / "workbooks" / "referrals.xlsx").unlink()
    result = run("doctor", "--config", practice)
    assert result.exit_code == 1
    line = lines(result)["Workbook"]
    assert line.startswith(f"{FAIL} Workbook: ") and "no such file" in line
    assert "refdesk init" in line


# -- LibreOffice: PATH, then the install folders -----------------------------------------------
def test_libreoffice_absent(practice: Path, no_path: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(office, "_system", lambda: "Windows")
    monkeypatch.setenv("ProgramFiles", str(tmp_path / "Program Files"))
    monkeypatch.setenv("ProgramFiles(x86)", str(tmp_path / "Program Files (x86)"))
    monkeypatch.setenv("ProgramW6432", str(tmp_path / "Program Files"))
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "AppData" / "Local"))
    assert office.find_soffice() is None
    result = run("doctor", "--config", practice)
    assert result.exit_code == 1
    line = lines(result)["LibreOffice"]
    assert line.startswith(f"{FAIL} LibreOffice: not found; --pdf")
    assert "Fix: install it from https://www.libreoffice.org/download/" in line
    assert str(tmp_path / "Program Files" / "LibreOffice" / "program" / "soffice.exe") in line
    with pytest.raises(office.OfficeError) as err:  # --pdf stops with the same fix
        office.require_soffice()
    assert "libreoffice.org/download" in err.value.message


@pytest.mark.parametrize("root,relative", [
    ("ProgramFiles", "LibreOffice/program/soffice.exe"),
    ("ProgramFiles(x86)", "LibreOffice/program/soffice.exe"),
    ("ProgramFiles", "LibreOffice 7/program/soffice.exe"),
    ("LOCALAPPDATA", "Programs/LibreOffice/program/soffice.exe"),
])
def test_libreoffice_in_a_windows_install_folder(practice: Path, no_path: Path, tmp_path: Path,
                                                 monkeypatch, root: str, relative: str) -> None:
    monkeypatch.setattr(office, "_system", lambda: "Windows")
    for var in ("ProgramFiles", "ProgramFiles(x86)", "ProgramW6432", "LOCALAPPDATA"):
        monkeypatch.setenv(var, str(tmp_path / var))
    program = _program(tmp_path / root / relative)
    assert office.find_soffice() == str(program)
    assert office.require_soffice() == str(program)  # what --pdf runs
    line = lines(run("doctor", "--config", practice))["LibreOffice"]
    assert line == f"{OK} LibreOffice: {program} (for --pdf)"


@pytest.mark.parametrize("where", ["Applications", "home"])
def test_libreoffice_in_a_macos_applications_folder(practice: Path, no_path: Path,
                                                    tmp_path: Path, monkeypatch,
                                                    where: str) -> None:
    monkeypatch.setattr(office, "_system", lambda: "Darwin")
    monkeypatch.setattr(office, "MAC_APPLICATIONS", tmp_path / "Applications")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    app = "LibreOffice.app/Contents/MacOS/soffice"
    base = tmp_path / "Applications" if where == "Applications" else tmp_path / "home" / \
        "Applications"
    assert office.find_soffice() is None
    program = _program(base / app)
    assert office.find_soffice() == str(program)
    result = run("doctor", "--config", practice)
    assert lines(result)["LibreOffice"] == f"{OK} LibreOffice: {program} (for --pdf)"


def test_path_comes_before_the_install_folders(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(office, "_system", lambda: "Darwin")
    monkeypatch.setattr(office, "MAC_APPLICATIONS", tmp_path / "Applications")
    _program(tmp_path / "Applications" / "LibreOffice.app/Contents/MacOS/soffice")
    on_path = _program(tmp_path / "bin" / "soffice")
    on_path.chmod(0o755)
    monkeypatch.setenv("PATH", str(on_path.parent))
    monkeypatch.delenv("REFDESK_SOFFICE", raising=False)
    assert office.find_soffice() == str(on_path)


def test_refdesk_soffice_names_an_install_elsewhere(practice: Path, no_path: Path,
                                                   tmp_path: Path, monkeypatch) -> None:
    program = _program(tmp_path / "portable apps" / "LibreOffice" / "soffice")
    monkeypatch.setenv("REFDESK_SOFFICE", str(program))
    assert office.require_soffice() == str(program)
    assert lines(run("doctor", "--config", practice))["LibreOffice"] == (
        f"{OK} LibreOffice: {program} (for --pdf)")
    monkeypatch.setenv("REFDESK_SOFFICE", str(tmp_path / "typo"))
    result = run("doctor", "--config", practice)
    assert result.exit_code == 1
    assert lines(result)["LibreOffice"] == (
        f"{FAIL} LibreOffice: REFDESK_SOFFICE names {tmp_path / 'typo'}, which is not there. "
        "Fix: set it to LibreOffice's soffice program, or unset it.")


# -- fonts ---------------------------------------------------------------------------------------
def test_the_templates_fonts_are_read_from_their_styles(practice: Path) -> None:
    folder = practice.parent / "templates"
    used = doctor.template_fonts((p.name, p.read_bytes()) for p in folder.glob("*.docx"))
    assert set(used) == {"Cambria", "Segoe UI Symbol"}
    assert "referral-form.docx" in used["Segoe UI Symbol"]
    assert len(used["Cambria"]) == len(list(folder.glob("*.docx")))


def test_a_missing_templates_folder(practice: Path) -> None:
    (practice.parent / "templates").rename(practice.parent / "moved")
    result = run("doctor", "--config", practice)
    assert result.exit_code == 1
    assert lines(result)["Templates"] == (
        f"{FAIL} Templates: {practice.parent / 'templates'} (config.toml's [merge] templates) is "
        "not a folder. Fix: set [merge] templates to the folder of your Word templates "
        "(`refdesk new FOLDER` makes one with them).")


def test_fonts_missing_name_the_stand_ins(practice: Path) -> None:
    config = load_config(practice)
    check = doctor.check_fonts(config, families=lambda: {"DejaVu Serif"})
    assert check.ok is False
    assert check.text.startswith("Cambria, Segoe UI Symbol not installed, nor a stand-in")
    assert "Caladea" in check.fix and "fonts-crosextra-caladea" in check.fix
    assert "DejaVu Sans" in check.fix


def test_fonts_found_as_their_metric_stand_ins(practice: Path) -> None:
    check = doctor.check_fonts(load_config(practice), families=lambda: {"Caladea", "Symbola"})
    assert check.ok is True
    assert check.text == ("Cambria (as Caladea, same metrics), Segoe UI Symbol (its symbols "
                          "drawn by Symbola)")
    assert doctor.check_fonts(load_config(practice), families=lambda: {
        "Cambria", "Segoe UI Symbol"}).text == "Cambria, Segoe UI Symbol"


def test_without_fontconfig_it_says_it_cannot_check(practice: Path, no_path: Path) -> None:
    assert doctor.installed_fonts() is None  # fc-list is not on PATH
    check = doctor.check_fonts(load_config(practice))
    assert check.ok is None
    assert check.text.startswith("cannot check here (no fontconfig `fc-list`); the templates "
                                 "use Cambria, Segoe UI Symbol.")


# -- Python, marks, the unforeseen ---------------------------------------------------------------
def test_an_old_python_is_named_with_the_fix() -> None:
    check = doctor.check_python((3, 10, 4))
    assert check.ok is False
    assert check.line(doctor.marks("utf-8")) == (
        f"{FAIL} Python: 3.10.4 is too old; refdesk needs 3.11 or newer. Fix: install Python "
        "3.11+ (python.org), then `pipx reinstall refdesk`.")
    assert doctor.check_python((3, 11, 0)).ok is True


def test_marks_fall_back_where_the_console_cannot_show_them() -> None:
    assert doctor.marks("utf-8") == (OK, FAIL, SKIP)
    assert doctor.marks("cp1252") == ("OK", "XX", "--")


def test_an_unforeseen_failure_is_a_line_not_a_traceback(practice: Path, monkeypatch) -> None:
    def broken() -> doctor.Check:
        raise RuntimeError("surprise")

    monkeypatch.setattr(doctor, "check_libreoffice", broken)
    result = run("doctor", "--config", practice)
    assert result.exit_code == 1
    assert lines(result)["LibreOffice"] == (
        f"{FAIL} LibreOffice: could not be checked (unexpected RuntimeError). Fix: run again "
        "with REFDESK_DEBUG=1 for the details, and report them.")
    assert "Traceback" not in result.output


# -- email: log in, send nothing ------------------------------------------------------------------
@pytest.fixture
def smtp_server(tmp_path: Path):
    pytest.importorskip("aiosmtpd")
    from aiosmtpd.smtp import AuthResult

    from tests.test_deliver import Server

    server = Server(tmp_path)
    check = server.controller.SMTP_kwargs["authenticator"]

    def authenticator(*args):
        # A refused login answers 535, as real servers do (handled=False: aiosmtpd sends it).
        result = check(*args)
        return result if result.success else AuthResult(success=False, handled=False)

    server.controller.SMTP_kwargs["authenticator"] = authenticator
    with server:
        yield server


def test_smtp_login_without_sending(practice: Path, smtp_server, monkeypatch) -> None:
    from tests.test_deliver import _configure

    _configure(practice, smtp_server.port, smtp_server.ca_file)
    monkeypatch.setenv("REFDESK_SMTP_PASSWORD", "s3cret")
    line = lines(run("doctor", "--config", practice, "--smtp"))["Email"]
    assert line == (f"{OK} Email: 127.0.0.1:{smtp_server.port}: connected and logged in as maya "
                    "(nothing sent)")
    assert smtp_server.messages == []


def test_smtp_login_refused(practice: Path, smtp_server, monkeypatch) -> None:
    from tests.test_deliver import _configure

    _configure(practice, smtp_server.port, smtp_server.ca_file)
    monkeypatch.setenv("REFDESK_SMTP_PASSWORD", "wrong")
    result = run("doctor", "--config", practice, "--smtp")
    assert result.exit_code == 1
    line = lines(result)["Email"]
    assert line.startswith(f"{FAIL} Email: 127.0.0.1:{smtp_server.port}: the server refused the "
                           "login (535")
    assert line.endswith("Fix: check [email] user (maya) and the password in "
                         "REFDESK_SMTP_PASSWORD or the keyring; some providers want an app "
                         "password.")
    assert smtp_server.messages == []


def test_smtp_with_an_untrusted_certificate(practice: Path, smtp_server, monkeypatch) -> None:
    from tests.test_deliver import _configure

    _configure(practice, smtp_server.port)  # no ca_file: the test CA is not trusted
    monkeypatch.setenv("REFDESK_SMTP_PASSWORD", "s3cret")
    line = lines(run("doctor", "--config", practice, "--smtp"))["Email"]
    assert line.startswith(f"{FAIL} Email: 127.0.0.1:{smtp_server.port}: cannot connect")
    assert "[email] ca_file" in line


def test_smtp_not_set_up(practice: Path) -> None:
    result = run("doctor", "--config", practice, "--smtp")
    assert result.exit_code == 1
    assert lines(result)["Email"] == (
        f"{FAIL} Email: config.toml has no [email] host and sender. Fix: add them to [email] "
        "(README, Delivery), or send with --drafts.")


# -- Google: the sheet's metadata through the loopback server -------------------------------------
@pytest.fixture
def sheets(monkeypatch):
    monkeypatch.setattr(google_client, "_sleep", lambda s: None)
    with fake.SheetsServer() as running:
        monkeypatch.setattr(google_client, "connect", lambda *a, **k: running.client())
        yield running


def _google(practice: Path, key: str) -> None:
    text = practice.read_text(encoding="utf-8")
    practice.write_text(text.replace("[source]\n", f'[source]\ngoogle = "{key}"\n', 1),
                        encoding="utf-8")


def test_google_sheet_metadata(practice: Path, sheets) -> None:
    key = sheets.create_spreadsheet("Cedar Lane referrals").id
    _google(practice, key)
    without = lines(run("doctor", "--config", practice))
    assert without["Google Sheet"].startswith(f"{SKIP} Google Sheet: not checked; add --google")
    assert without["Workbook"] == f"{SKIP} Workbook: a Google Sheet; add --google to read it."
    result = run("doctor", "--config", practice, "--google")
    line = lines(result)["Google Sheet"]
    assert line.startswith(f"{OK} Google Sheet: Google Sheet 'Cedar Lane referrals': readable")


def test_google_sheet_that_cannot_be_read(practice: Path, sheets) -> None:
    _google(practice, "1NoSuchSheetKeyAtAll0000000000000000000000")
    result = run("doctor", "--config", practice, "--google")
    assert result.exit_code == 1
    line = lines(result)["Google Sheet"]
    assert line.startswith(f"{FAIL} Google Sheet: ")
    assert "Traceback" not in result.output
