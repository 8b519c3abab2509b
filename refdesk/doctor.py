"""`refdesk doctor`: is this computer ready to run the practice? One line per check.

Each check gives a Check: passed (✔), failed (✘, with the fix) or not run (–, with how to run
it). Nothing here raises: a check that cannot finish says so on its own line.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from refdesk.config import Config, load_config
from refdesk.errors import RefdeskError

#: The oldest Python refdesk runs on (pyproject.toml's requires-python).
MIN_PYTHON = (3, 11)

#: Fonts with the same metrics (each letter as wide), so a document lays out as in Word.
METRIC_STAND_INS: dict[str, tuple[str, ...]] = {
    "Calibri": ("Carlito",),
    "Cambria": ("Caladea",),
    "Arial": ("Liberation Sans", "Arimo"),
    "Helvetica": ("Liberation Sans", "Arimo"),
    "Times New Roman": ("Liberation Serif", "Tinos"),
    "Courier New": ("Liberation Mono", "Cousine"),
    "Georgia": ("Gelasio",),
}
#: Symbol fonts only need a font that draws the same symbols (the forms' check boxes).
SYMBOL_STAND_INS: dict[str, tuple[str, ...]] = {
    "Segoe UI Symbol": ("DejaVu Sans", "Noto Sans Symbols 2", "Symbola", "OpenSymbol"),
}
#: The Debian/Ubuntu package of each stand-in, for the fix.
DEBIAN_FONTS = {
    "Carlito": "fonts-crosextra-carlito", "Caladea": "fonts-crosextra-caladea",
    "Liberation Sans": "fonts-liberation2", "Liberation Serif": "fonts-liberation2",
    "Liberation Mono": "fonts-liberation2", "DejaVu Sans": "fonts-dejavu-core",
}

_RFONTS = re.compile(r"<w:rFonts\b([^>]*)>")
_ATTR = re.compile(r'w:(ascii|hAnsi|asciiTheme|hAnsiTheme)="([^"]*)"')
_THEME_FONT = re.compile(r"<a:(major|minor)Font>\s*<a:latin typeface=\"([^\"]*)\"")
_PARTS = re.compile(r"word/(styles|document|header\d*|footer\d*)\.xml$")


@dataclass(frozen=True)
class Check:
    """One line of the report."""

    name: str
    ok: bool | None  # None: not run
    text: str
    fix: str = ""

    def line(self, marks: tuple[str, str, str]) -> str:
        mark = marks[0] if self.ok else marks[2] if self.ok is None else marks[1]
        fix = f" Fix: {self.fix}" if self.fix and self.ok is False else ""
        return f"{mark} {self.name}: {self.text}{fix}"


def marks(encoding: str | None) -> tuple[str, str, str]:
    """✔ ✘ – where the output can show them; plain letters on a console that cannot
    (a Windows console redirected to a file in its old code page)."""
    try:
        "✔✘–".encode(encoding or "ascii")
    except (LookupError, UnicodeEncodeError):
        return ("OK", "XX", "--")
    return ("✔", "✘", "–")


# -- the checks -------------------------------------------------------------------------------
def check_python(version: tuple[int, ...] = tuple(sys.version_info[:3])) -> Check:
    shown = ".".join(map(str, version))
    if version[:2] >= MIN_PYTHON:
        return Check("Python", True, f"{shown} ({sys.executable})")
    need = ".".join(map(str, MIN_PYTHON))
    return Check("Python", False, f"{shown} is too old; refdesk needs {need} or newer.",
                 f"install Python {need}+ (python.org), then `pipx reinstall refdesk`.")


def check_libreoffice() -> Check:
    from refdesk import office

    chosen = os.environ.get("REFDESK_SOFFICE")
    if chosen and not Path(chosen).is_file():  # else it is passed over without a word
        return Check("LibreOffice", False, f"REFDESK_SOFFICE names {chosen}, which is not there.",
                     "set it to LibreOffice's soffice program, or unset it.")
    found = office.find_soffice()
    if found:
        return Check("LibreOffice", True, f"{found} (for --pdf)")
    return Check("LibreOffice", False, "not found; --pdf and --deliver by mail or fax need it.",
                 office.install_hint() + ".")


def check_config(explicit: Path | None) -> tuple[Check, Config | None]:
    from refdesk.places import describe_found, find_config

    try:
        path, how = find_config(explicit)
        config = load_config(path)
    except RefdeskError as exc:  # its message names the file and the fix
        return Check("Config", False, exc.message), None
    return Check("Config", True, f"{path.resolve()} ({describe_found(how)})"), config


def check_workbook(config: Config | None) -> Check:
    from refdesk.sources.excel import ExcelSource
    from refdesk.xlsxpatch import safety

    if config is None:
        return Check("Workbook", None, "not checked: no config.toml (see above).")
    if config.google:
        return Check("Workbook", None, "a Google Sheet; add --google to read it.")
    path = config.excel
    try:
        ExcelSource(path, country=config.practice.country).read()
        safety.refuse_if_open(path)  # the lock files merge's preflight refuses
    except RefdeskError as exc:
        return Check("Workbook", False, exc.message)
    if not os.access(path, os.W_OK):
        return Check("Workbook", False, f"{path}: read-only; refdesk can read it but cannot "
                     "log letters in it.", "clear the file's read-only setting (Properties "
                     "on Windows, Get Info on a Mac), or copy it to a folder you own.")
    note = safety.sync_note(path)
    return Check("Workbook", True, f"{path.resolve()} (readable, not open elsewhere)"
                 + (f". {note}" if note else ""))


def template_fonts(files: Iterable[tuple[str, bytes]]) -> dict[str, set[str]]:
    """The fonts the .docx templates' styles and text use: font name -> template names."""
    used: dict[str, set[str]] = {}
    for name, data in files:
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as docx:
                theme = {kind: face for kind, face in _THEME_FONT.findall(
                    _read(docx, "word/theme/theme1.xml"))}
                for part in docx.namelist():
                    if not _PARTS.match(part):
                        continue
                    for attrs in _RFONTS.findall(_read(docx, part)):
                        for key, value in _ATTR.findall(attrs):
                            face = theme.get(value[:5]) if key.endswith("Theme") else value
                            if face:
                                used.setdefault(face, set()).add(name)
        except (zipfile.BadZipFile, OSError):
            continue  # `refdesk templates` reports a damaged template; fonts are this check's
    return used


def _read(docx: zipfile.ZipFile, part: str) -> str:
    try:
        return docx.read(part).decode("utf-8", "replace")
    except KeyError:
        return ""


def installed_fonts() -> set[str] | None:
    """The font families fontconfig knows, or None where there is no fontconfig (Windows,
    most Macs) to ask."""
    try:
        done = subprocess.run(["fc-list", ":", "family"], capture_output=True, text=True,
                              timeout=60, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return {family.strip() for line in done.stdout.splitlines()
            for family in line.split(",") if family.strip()}


def _template_files(config: Config | None) -> tuple[str, list[tuple[str, bytes]]]:
    """The templates to read: config.toml's folder, else the ones refdesk ships."""
    if config is not None and config.templates.is_dir():
        folder = config.templates
        return str(folder), [(p.name, p.read_bytes()) for p in sorted(folder.glob("*.docx"))]
    from refdesk import resources

    shipped = resources.templates()
    return "the templates refdesk ships", [
        (p.name, p.read_bytes()) for p in sorted(shipped.iterdir(), key=lambda p: p.name)
        if p.name.endswith(".docx")]


def check_fonts(config: Config | None,
                families: Callable[[], set[str] | None] = installed_fonts) -> Check:
    if config is not None and not config.templates.is_dir():
        return Check("Templates", False, f"{config.templates} (config.toml's [merge] templates) "
                     "is not a folder.", "set [merge] templates to the folder of your Word "
                     "templates (`refdesk new FOLDER` makes one with them).")
    where, files = _template_files(config)
    if not files:
        return Check("Fonts", False, f"no .docx templates in {where}.",
                     "copy the templates into the folder [merge] templates names "
                     "(`refdesk new FOLDER` makes one with them).")
    used = template_fonts(files)
    names = ", ".join(sorted(used)) or "no named font"
    have = families()
    if have is None:
        return Check("Fonts", None, f"cannot check here (no fontconfig `fc-list`); the "
                     f"templates use {names}. Word has them; for LibreOffice's PDFs install "
                     "them or their stand-ins (Carlito for Calibri, Caladea for Cambria).")
    lower = {f.lower() for f in have}
    found, missing = [], []
    for font in sorted(used):
        if font.lower() in lower:
            found.append(font)
            continue
        metric = METRIC_STAND_INS.get(font, ())
        symbol = SYMBOL_STAND_INS.get(font, ())
        stand_in = next((s for s in (*metric, *symbol) if s.lower() in lower), None)
        if stand_in in metric:
            found.append(f"{font} (as {stand_in}, same metrics)")
        elif stand_in:
            found.append(f"{font} (its symbols drawn by {stand_in})")
        else:
            missing.append(font)
    if missing:
        wanted = [s for font in missing
                  for s in (METRIC_STAND_INS.get(font) or SYMBOL_STAND_INS.get(font) or ())[:1]]
        packages = sorted({DEBIAN_FONTS[s] for s in wanted if s in DEBIAN_FONTS})
        apt = f" (Debian/Ubuntu: sudo apt-get install {' '.join(packages)})" if packages else ""
        alt = f" or {', '.join(wanted)}" if wanted else ""
        return Check("Fonts", False, f"{', '.join(missing)} not installed, nor a stand-in; "
                     "PDFs made by LibreOffice would lay out differently from Word.",
                     f"install {', '.join(missing)}{alt}{apt}.")
    return Check("Fonts", True, ", ".join(found))


def check_smtp(config: Config | None) -> Check:
    from refdesk.merge.deliver import Mailer, _reason

    if config is None:
        return Check("Email", None, "not checked: no config.toml (see above).")
    email = config.email
    if not email.get("host") or not email.get("sender"):
        return Check("Email", False, "config.toml has no [email] host and sender.",
                     "add them to [email] (README, Delivery), or send with --drafts.")
    where = f"{email['host']}:{email.get('port') or 587}"
    mailer = Mailer(config)
    try:
        mailer.login()
    except RefdeskError as exc:  # no password: the message says where to put it
        return Check("Email", False, f"{where}: {exc.message}")
    except Exception as exc:  # noqa: BLE001 - any failure to connect is this check's answer
        return Check("Email", False, f"{where}: {_smtp_problem(exc, _reason(exc))}",
                     _smtp_fix(exc, email))
    finally:
        mailer.close()
    who = f" as {email['user']}" if email.get("user") else ""
    return Check("Email", True, f"{where}: connected and logged in{who} (nothing sent)")


def _smtp_problem(exc: BaseException, reason: str) -> str:
    import smtplib

    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"the server refused the login ({reason})."
    return f"cannot connect or log in ({reason})."


def _smtp_fix(exc: BaseException, email: dict[str, Any]) -> str:
    import smtplib
    import ssl

    if isinstance(exc, smtplib.SMTPAuthenticationError):
        variable = email.get("password_env") or "REFDESK_SMTP_PASSWORD"
        return (f"check [email] user ({email.get('user') or 'not set'}) and the password in "
                f"{variable} or the keyring; some providers want an app password.")
    if isinstance(exc, ssl.SSLError):
        return ("check [email] security (starttls for port 587, ssl for 465) and, for a "
                "server with its own certificate, [email] ca_file.")
    return ("check [email] host, port and security with your email provider's settings, "
            "and that this network lets you reach the server.")


def check_google(config: Config | None) -> Check:
    from refdesk.sources.google import GoogleSource

    if config is None:
        return Check("Google Sheet", None, "not checked: no config.toml (see above).")
    if not config.google:
        return Check("Google Sheet", False, "config.toml names no [source] google.",
                     "set [source] google to the sheet's address, or leave out --google.")
    source = GoogleSource(config.google, credentials=config.google_credentials,
                          auth=config.google_auth, country=config.practice.country)
    try:
        tabs = source.metadata()
    except RefdeskError as exc:
        return Check("Google Sheet", False, exc.message)
    return Check("Google Sheet", True, f"{source}: readable with the credentials "
                 f"({len(tabs)} tabs)")


def _guarded(name: str, check: Callable[[], Check]) -> Check:
    """A check that fails in a way nobody foresaw still gives its line, never a traceback."""
    try:
        return check()
    except Exception as exc:  # noqa: BLE001 - the report goes on
        if os.environ.get("REFDESK_DEBUG"):
            raise
        return Check(name, False, f"could not be checked (unexpected {type(exc).__name__}).",
                     "run again with REFDESK_DEBUG=1 for the details, and report them.")


def run_checks(explicit: Path | None, *, smtp: bool = False, google: bool = False
               ) -> list[Check]:
    """Every check, in the order they are shown."""
    checks = [_guarded("Python", check_python), _guarded("LibreOffice", check_libreoffice)]
    found: list[Config | None] = [None]

    def config_check() -> Check:
        line, found[0] = check_config(explicit)
        return line

    checks.append(_guarded("Config", config_check))
    config = found[0]
    checks.append(_guarded("Fonts", lambda: check_fonts(config)))
    checks.append(_guarded("Workbook", lambda: check_workbook(config)))
    # Email and Google get a line when asked for, or when config.toml sets them up.
    if smtp:
        checks.append(_guarded("Email", lambda: check_smtp(config)))
    elif config is not None and config.email.get("host"):
        checks.append(Check("Email", None, "not checked; add --smtp to log in to the server "
                            "(nothing is sent)."))
    if google:
        checks.append(_guarded("Google Sheet", lambda: check_google(config)))
    elif config is not None and config.google:
        checks.append(Check("Google Sheet", None, "not checked; add --google to read the "
                            "sheet with your credentials."))
    return checks
