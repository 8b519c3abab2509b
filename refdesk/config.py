"""config.toml: the practice profile and where the data lives.

Every key is declared below with its type and, where it has one, its range; an unknown key, a
wrong type, a value out of range, a path of the wrong kind or a TOML syntax error is a
ConfigError naming the file, the line, the key and the fix.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from refdesk import characters
from refdesk.errors import ConfigError
from refdesk.schema import SHEETS_BY_NAME

DEFAULT_CONFIG = "config.toml"
REFERRAL_SERVICES: tuple[str, ...] = next(
    c.suggestions for c in SHEETS_BY_NAME["Referrals"].columns if c.name == "services")


#: The most days a day count may hold: a century, far inside what dates can reach (Python's
#: 9999-12-31, pandas' 2262-04-11) from any day refdesk works on.
MAX_DAYS = 36500


@dataclass(frozen=True)
class Key:
    type: type | tuple[type, ...]
    description: str
    default: Any = None
    required: bool = False
    choices: tuple[str, ...] = ()
    #: A whole number's smallest and largest allowed value.
    limits: tuple[int, int] | None = None
    #: What the number counts ("days", "seconds"), for messages and the README.
    unit: str = ""
    #: A path (relative to config.toml) that must be a "folder" or a "file" where it exists.
    path: str = ""
    #: The path must exist already (a file refdesk reads and never makes).
    exists: bool = False
    #: A further check of a text value: the fix to suggest, or "" when the value is fine.
    check: Callable[[str], str] | None = None

    @property
    def rule(self) -> str:
        """The allowed values in a few words (README's configuration table)."""
        if self.limits:
            low, high = self.limits
            return f"From {low} to {high}{' ' + self.unit if self.unit else ''}."
        if self.path:
            need = "An existing" if self.exists else "A"
            return f"{need} {self.path}{'' if self.exists else ', or not there yet'}."
        return ""


def _text(description: str, default: str = "", **kw: Any) -> Key:
    return Key(str, description, default, **kw)


def _count(description: str, default: int, low: int, high: int, unit: str = "") -> Key:
    return Key(int, description, default, limits=(low, high), unit=unit)


def _days(description: str, default: int) -> Key:
    return _count(description, default, 0, MAX_DAYS, "days")


def _amount(description: str, default: float, high: int, unit: str) -> Key:
    """A sum of money: a whole or decimal number from 0 to `high`."""
    return Key((int, float), description, default, limits=(0, high), unit=unit)


def _country(value: str) -> str:
    import phonenumbers

    if value.strip().upper() in phonenumbers.SUPPORTED_REGIONS:
        return ""
    return 'use a two-letter country code such as "US", "CA", "GB" or "DE"'


def _host(value: str) -> str:
    if "://" in value or "/" in value:
        return 'give the server\'s name alone, e.g. "smtp.example.com"'
    name, colon, port = value.rpartition(":")
    if colon and port.isdigit() and name and ":" not in name:
        return f'give the name alone, host = "{name}", and the number as port = {port}'
    if not re.fullmatch(r"[A-Za-z0-9._-]*|\[?[0-9A-Fa-f:.]+\]?", value.strip()):
        return 'give a server name such as "smtp.example.com" (no spaces)'
    return ""


def _address(value: str) -> str:
    if not value or re.fullmatch(r"[^@\s<>,;]+@[^@\s<>,;]+", value.strip()):
        return ""
    return 'give one email address alone, e.g. "maya@cedarlanemassage.example"'


def _place(value: str) -> str:
    return "" if re.fullmatch(r"\d\d", value) else 'give the two-digit code, e.g. "11" (office)'


def _variable(value: str) -> str:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        return ""
    return ('name an environment variable (letters, digits and _), e.g. '
            '"REFDESK_SMTP_PASSWORD"; the password itself never goes in config.toml')


#: The declared keys of config.toml, section by section. README's configuration table is
#: generated from this, and so is the check of a user's file.
SECTIONS: dict[str, dict[str, Key]] = {
    "practice": {
        "name": _text("Practice name as printed on letters.", required=True),
        "therapist": _text("The therapist's full name.", required=True),
        "credentials": _text("Credentials after the name, e.g. LMT."),
        "license": _text("State license number."),
        "npi": _text("The practice's 10-digit NPI, in quotes."),
        "tax_id": _text("Tax id (EIN or SSN) for super bills, in quotes."),
        "street": _text("Street address."),
        "city": _text("City."),
        "state": _text("Two-letter state."),
        "zip": _text("ZIP code, in quotes."),
        "phone": _text("Office phone."),
        "fax": _text("Office fax."),
        "email": _text("Office email."),
        "website": _text("Website address."),
        "specialty": _text("The condition or area you specialise in."),
        "profession": _text("What you practise, as letters say it.", "massage therapy"),
        "conditions": Key(list, "Conditions you treat, as a list of text.", []),
        "benefits": Key(list, "How your work helps a provider's patients, for the letter of "
                        "introduction: a list of text.", []),
        "services": Key(list, "Services you offer, check boxes on the referral form: a list "
                        "of text.", list(REFERRAL_SERVICES)),
        "training": _text("A paragraph on your education and training, for letters."),
        "practice_type": _text("solo or group.", "solo", choices=("solo", "group")),
        "insurance": _text("How insurance is handled, for the letter of introduction: direct "
                           "(you bill it), superbill (a statement the client submits) or none "
                           "(private pay).", "superbill",
                           choices=("direct", "superbill", "none")),
        "new_patients": Key(bool, "Whether you accept new patients, as the letter of "
                            "introduction says.", True),
        "country": _text("Two-letter country for phone numbers and dates.", "US",
                         check=_country),
        "place_of_service": _text("Place-of-service code printed on super bills (CMS-1500 "
                                  "box 24B), two digits in quotes: \"11\" office, \"12\" "
                                  "home, \"02\" telehealth.", "11", check=_place),
        "signature_image": _text("A picture of your signature (PNG or JPEG), relative to this "
                                 "file; a template places it with {{ practice.signature_image }}.",
                                 path="file", exists=True),
    },
    "source": {
        "excel": _text("Path of the workbook, relative to this file.",
                       "workbooks/referrals.xlsx", path="file"),
        "google": _text("Address (or key) of a Google Sheet to use instead of the workbook."),
        "credentials": _text("Google credentials file, relative to this file: a service "
                             "account's JSON key, or an OAuth client file with auth = "
                             "\"oauth\".", path="file"),
        "auth": _text("How to sign in to Google: service_account or oauth.",
                      "service_account", choices=("service_account", "oauth")),
    },
    "program": {
        "dormant_after_days": _days("A provider who referred before but not within this "
                                    "many days is dormant.", 90),
        "report_every_visits": _count("A progress report is owed after this many visits "
                                      "since the last one.", 6, 1, 1000, "visits"),
        "report_every_weeks": _count("... or after this many weeks with visits since the "
                                     "last one.", 4, 1, 5200, "weeks"),
        "unscheduled_after_days": _days("A referral with no first visit this many days "
                                        "after it came is flagged.", 7),
        "release_warning_days": _days("Releases ending within this many days are "
                                      "flagged.", 30),
        "thank_you_within_days": _days("Thank-you letters are owed for first visits this "
                                       "recent.", 30),
        "hourly_rate": _amount("What an hour of your time is worth, for the cost of outreach "
                               "in `refdesk stats` (Contacts.minutes), e.g. 80 or 72.50.", 0,
                               10000, "dollars an hour"),
        "dormant_by": _text("How a referrer turns dormant: days (no referral within "
                            "dormant_after_days) or rhythm (no referral for rhythm_times their "
                            "usual gap; under 3 referrals, by days).", "days",
                            choices=("days", "rhythm")),
        "rhythm_times": _count("With dormant_by = \"rhythm\": dormant after this many times "
                               "the provider's usual gap between referrals.", 3, 1, 100,
                               "gaps"),
    },
    "email": {
        "host": _text("SMTP server that sends the practice's mail, e.g. smtp.example.com.",
                      check=_host),
        "port": _count("SMTP port: 587 for STARTTLS, 465 for SSL.", 587, 1, 65535),
        "security": _text("starttls, ssl or none.", "starttls",
                          choices=("starttls", "ssl", "none")),
        "user": _text("Login name on the SMTP server."),
        "sender": _text("From address of the messages, e.g. maya@cedarlanemassage.example.",
                        check=_address),
        "password_env": _text("Environment variable holding the SMTP password (never the "
                              "password itself); without it, the system keyring "
                              "(service refdesk-smtp) is asked.", "REFDESK_SMTP_PASSWORD",
                              check=_variable),
        "ca_file": _text("A CA certificate file to trust, for a server with its own "
                         "certificate; relative to this file.", path="file", exists=True),
        "timeout": _count("Seconds to wait for the SMTP server.", 30, 1, 600, "seconds"),
    },
    "merge": {
        "templates": _text("Folder of the .docx templates, relative to this file.",
                           "templates", path="folder"),
        "output": _text("Folder the documents go to, relative to this file; made private "
                        "to you.", "letters", path="folder"),
    },
}

#: The keys of one `[jobs.NAME]` table: a mail-merge job (see refdesk/merge/jobs.py).
JOB_KEYS: dict[str, Key] = {
    "title": _text("What the job makes, in a few words.", required=True),
    "templates": Key(list, "Template file(s) in the templates folder; several make one packet.",
                     required=True),
    "each": _text("One document per row of: providers, referrals, clients, sent, or "
                  "client-months (visits grouped by client and month).", required=True,
                  choices=("providers", "referrals", "clients", "sent", "client-months")),
    "to": _text("Who receives it: provider or client.", "provider",
                choices=("provider", "client")),
    "where": Key(dict, "Which rows: column = \"set\", \"empty\", \"within N days\" (a date), "
                 "a value or a list of values; provider.COLUMN and client.COLUMN reach the "
                 "related row.", {}),
    "scope": Key(list, "Release scope the document needs when it goes to a provider: any of "
                 "treatment plan, progress, SOAP notes, diagnosis. Empty: any valid release.",
                 []),
    "file": _text("Output file name; {date}, {job}, {record}, {provider_id}, {client_id} and "
                  "{provider} are filled in.", "{date} {job} {record}.docx"),
    "set": Key(dict, "Written back when done: \"Sheet.column\" = \"today\" or a value.", {}),
    "require": Key(list, "What a record needs before its document is made: \"new notes\" "
                   "(referrals: a visit noted since the last report), \"diagnosis\" "
                   "(client-months: every visit has one), \"no likely duplicate\" (providers: "
                   "not the same person as another row), \"referring address\" (clients: "
                   "the referring provider's and the client's addresses). Unset: \"diagnosis\" "
                   "for client-months, \"no likely duplicate\" for providers; [] requires "
                   "nothing.", None),
    "contact": _text("When set, a Contacts row with this summary is added for each document."),
    "again_after_days": _days("Make a record's document again once this many days have "
                              "passed (0: once only).", 0),
    "email_subject": _text("Subject of the email that carries the document, and the Re line "
                           "of a fax cover (Jinja, with the template's data and job_title).",
                           "From {{ practice.name }}"),
    "email_body": _text("Body of that email (Jinja text).",
                        "Dear {{ provider.salutation }},\n\nPlease find attached a document "
                        "from {{ practice.name }}.\n\n{{ practice.signature }}\n"
                        "{{ practice.name }}  {{ practice.phone }}\n"),
    "envelopes": Key(bool, "With --deliver, make labels and envelopes for the documents that "
                     "go by mail; false when the document carries its own envelope (the client "
                     "card).", True),
    "email_client_info": Key(bool, "Allow emailing this job's documents about a client "
                             "(only to the address of the provider the release names).", False),
    "fields": Key(dict, "For a Word mail-merge letter: the data each MERGEFIELD prints, "
                  "e.g. { FirstName = \"client.first_name\" }; fields not listed are matched "
                  "by name (`refdesk templates` shows how).", {}),
}


@dataclass(frozen=True)
class Practice:
    name: str
    therapist: str
    credentials: str = ""
    license: str = ""
    npi: str = ""
    tax_id: str = ""
    street: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""
    phone: str = ""
    fax: str = ""
    email: str = ""
    website: str = ""
    specialty: str = ""
    conditions: tuple[str, ...] = ()
    training: str = ""
    practice_type: str = "solo"
    insurance: str = "superbill"
    new_patients: bool = True
    country: str = "US"
    profession: str = "massage therapy"
    benefits: tuple[str, ...] = ()
    services: tuple[str, ...] = REFERRAL_SERVICES
    signature_image: str = ""  # a path, made absolute when read
    place_of_service: str = "11"


@dataclass(frozen=True)
class Config:
    path: Path | None
    practice: Practice
    excel: Path
    templates: Path = Path("templates")
    #: [source] google: a Google Sheet's address; when set, it is the records' source.
    google: str = ""
    google_credentials: Path | None = None
    google_auth: str = "service_account"
    output: Path = Path("letters")
    #: Job name -> its checked keys (see JOB_KEYS); turned into Jobs by refdesk.merge.jobs.
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: [program]: the thresholds of `refdesk todo` (see refdesk.todo.Rules).
    program: dict[str, Any] = field(default_factory=dict)
    #: [email]: how documents go out by email (empty host: not configured).
    email: dict[str, Any] = field(default_factory=dict)
    #: Job name -> key -> the line it is set on ("" for the [jobs.NAME] header), for messages.
    job_lines: dict[str, dict[str, int]] = field(default_factory=dict)


def key_line(text: str, section: str, key: str | None) -> int | None:
    """Line (1-based) where `key` is set inside `[section]`, or where the section starts."""
    current = ""
    section_line = None
    # Lines as TOML counts them, at line feeds (a CR before one goes with the strip):
    # str.splitlines would also break at characters a comment may hold (U+2028, U+0085).
    for number, line in enumerate(text.removeprefix("\ufeff").split("\n"), start=1):
        stripped = line.strip()
        header = re.match(r"^\[\s*([^\]]+?)\s*\]", stripped)
        if header:
            current = header.group(1).strip().strip('"')
            if current == section:
                section_line = number
            continue
        if current == section and key is not None:
            m = re.match(r'^"?([A-Za-z0-9_\-]+)"?\s*=', stripped)
            if m and m.group(1) == key:
                return number
    return section_line


def _where(path: Path, text: str, section: str, key: str | None = None) -> str:
    line = key_line(text, section, key)
    return f"{path.name} line {line}" if line else path.name


def _type_name(t: type | tuple[type, ...]) -> str:
    names = {str: "text in quotes", list: 'a list like ["a", "b"]', int: "a whole number",
             float: "a number", bool: "true or false", dict: "a table like { column = \"value\" }"}
    types = t if isinstance(t, tuple) else (t,)
    if set(types) == {int, float}:
        return "a number"
    return " or ".join(names.get(x, x.__name__) for x in types)


def setting_path(base: Path, value: str) -> Path:
    """A path setting: `~` is the user's home; a relative path is relative to `base`."""
    found = Path(value).expanduser()
    return found if found.is_absolute() else base / found


def _value_problem(base: Path, key: str, value: Any, spec: Key) -> str:
    """What is wrong with a value of the right type, and the fix, as the end of a sentence
    that starts with the key; "" when it is fine."""
    if spec.limits and isinstance(value, int | float):
        low, high = spec.limits
        if not low <= value <= high:  # also false for nan, which TOML allows
            unit = f" of {spec.unit}" if spec.unit else ""
            example = spec.default if low <= spec.default <= high else low
            number = "number" if spec.type == (int, float) else "whole number"
            return (f"is {value}; use a {number}{unit} from {low} to {high}, "
                    f"e.g. {key} = {example}.")
    if not isinstance(value, str) or not value.strip():
        return ""
    if spec.check is not None:
        fix = spec.check(value)
        if fix:
            # A mistyped password_env may be the password itself: never repeat it.
            shown = "is not usable" if spec.check is _variable else f"is {value!r}"
            return f"{shown}; {fix}."
    if spec.path:
        return _path_problem(setting_path(base, value), key, value, spec)
    return ""


#: Texts that go into an email's header line as they are: a line break cannot.
ONE_LINE = {("practice", "name")}


def _character_problem(value: Any, one_line: bool = False) -> str:
    """A text (or list of texts) holding a character no document can hold (an escape such
    as \\u0001), or a line break where there can be none: which, and the fix; "" when there
    is none."""
    if one_line and isinstance(value, str) and characters.line_breaks(value).count("\n"):
        return "holds a line break; it goes on one line (the emails' From line carries it)."
    for text in [value] if isinstance(value, str) else value if isinstance(value, list) else []:
        found = characters.first_forbidden(text) if isinstance(text, str) else None
        if found:
            return (f"holds {characters.what(found[1])} at character {found[0]}, which no "
                    "document can hold; delete it (write \\n for a line break).")
    return ""


#: What TOML allows nowhere in the file, not even in a comment (tab, LF and CR aside).
_TYPED_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def _raw_character(path: Path, text: str) -> None:
    """A control character typed into the file itself (TOML allows none but tab): the line,
    the key on it and the character, instead of the TOML parser's error."""
    # split on line feeds only: str.splitlines would break lines at the very characters
    for number, line in enumerate(text.split("\n"), start=1):
        found = _TYPED_CONTROL.search(line)
        if found is None:
            continue
        key = re.match(r'^\s*"?([A-Za-z0-9_\-]+)"?\s*=', line)
        named = f" ({key.group(1)})" if key else ""
        raise ConfigError(f"{path.name} line {number}{named}: holds "
                          f"{characters.what(found.group())} at column {found.start() + 1}, "
                          "which config.toml cannot hold; delete it (it is invisible: retype "
                          "the line).")


def _path_problem(full: Path, key: str, value: str, spec: Key) -> str:
    example = f"e.g. {key} = \"{spec.default}\"" if spec.default else "or remove the line"
    try:
        if full.exists():
            if spec.path == "folder" and not full.is_dir():
                return (f"is {value!r}, and {full} is a file, not a folder; name a folder "
                        f"(refdesk makes it when needed), {example}.")
            if spec.path == "file" and full.is_dir():
                return (f"is {value!r}, and {full} is a folder, not a file; name the file "
                        f"itself, {example}.")
            return ""
        if spec.exists:
            return (f"is {value!r}, and there is no file {full}; give the path of the file "
                    "(relative to config.toml), or remove the line.")
        for above in full.parents:
            if above.exists():
                if not above.is_dir():
                    return (f"is {value!r}, but {above} is a file, so nothing can be made "
                            f"inside it; name a folder there is room for, {example}.")
                break
    except OSError as exc:
        return (f"is {value!r}, and {full} cannot be looked at ({exc.strerror}); check the "
                f"folder's permissions, or name another place, {example}.")
    return ""


def _check_section(path: Path, text: str, name: str, values: Any,
                   declared: dict[str, Key] | None = None) -> dict[str, Any]:
    declared = SECTIONS[name] if declared is None else declared
    if not isinstance(values, dict):
        raise ConfigError(f"{_where(path, text, name)}: [{name}] must be a table of keys.")
    out: dict[str, Any] = {}
    for key, value in values.items():
        where = _where(path, text, name, key)
        if key not in declared:
            close = difflib.get_close_matches(key, declared, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else (
                f" Known keys: {', '.join(declared)}.")
            raise ConfigError(f"{where}: unknown key '{key}' in [{name}].{hint}")
        spec = declared[key]
        if not isinstance(value, spec.type) or isinstance(value, bool) and spec.type is not bool:
            raise ConfigError(
                f"{where}: {name}.{key} must be {_type_name(spec.type)}, "
                f"not {type(value).__name__} {value!r}."
            )
        if spec.type is list and not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: {name}.{key} must be a list of text in quotes.")
        if spec.choices and value not in spec.choices:
            raise ConfigError(
                f"{where}: {name}.{key} is {value!r}; use one of: {', '.join(spec.choices)}."
            )
        problem = (_character_problem(value, one_line=(name, key) in ONE_LINE)
                   or _value_problem(path.parent, key, value, spec))
        if problem:
            raise ConfigError(f"{where}: {name}.{key} {problem}")
        if isinstance(value, str):  # a vertical tab or form feed is a line break, as in cells
            value = characters.line_breaks(value)
        out[key] = tuple(characters.line_breaks(v) for v in value) if spec.type is list \
            else value
    for key, spec in declared.items():
        value = out.get(key)
        if spec.required and (not value or isinstance(value, str) and not value.strip()):
            raise ConfigError(f"{_where(path, text, name)}: [{name}] needs '{key}' "
                              f"({spec.description})")
    return out


def load_config(path: Path | str) -> Config:
    """Read and check config.toml; relative paths in it are relative to the file."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(
            f"{path}: no such file. Check the path given with --config or REFDESK_CONFIG, or "
            "make a practice folder with `refdesk new FOLDER`."
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror}); check the file's "
                          "permissions.") from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError(f"{path}: saved as UTF-16 (Unicode); save it again as UTF-8 (in "
                          "Notepad: Save As, Encoding UTF-8).")
    try:
        # Windows Notepad may start the file with a byte-order mark: it is not part of TOML.
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ConfigError(f"{path.name} line {line}: not UTF-8 text; save the file again as "
                          "UTF-8 (in Notepad: Save As, Encoding UTF-8).") from None
    if "\r" in text and "\n" not in text:
        raise ConfigError(f"{path.name}: its lines end in a lone carriage return (an old Mac "
                          "format), which TOML does not read; save it again with Windows or "
                          "Unix line endings (any text editor's Save As offers them).")
    _raw_character(path, text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name}: not valid TOML: {exc}. Check quotes and brackets "
                          "on that line.") from None
    for name in data:
        if name not in SECTIONS and name != "jobs":
            close = difflib.get_close_matches(name, SECTIONS, n=1)
            hint = f" Did you mean [{close[0]}]?" if close else (
                f" Known sections: {', '.join('[' + s + ']' for s in SECTIONS)}.")
            raise ConfigError(f"{_where(path, text, name)}: unknown section [{name}].{hint}")
    if "practice" not in data:
        raise ConfigError(f"{path.name}: the [practice] section is missing; it names the "
                          "practice and the therapist.")
    practice = _check_section(path, text, "practice", data["practice"])
    source = _check_section(path, text, "source", data.get("source", {}))
    merge = _check_section(path, text, "merge", data.get("merge", {}))
    program = _check_section(path, text, "program", data.get("program", {}))
    email = {k: spec.default for k, spec in SECTIONS["email"].items()}
    email.update(_check_section(path, text, "email", data.get("email", {})))
    if email.get("ca_file"):
        email["ca_file"] = str(setting_path(path.parent, email["ca_file"]))
    if practice.get("country"):
        practice["country"] = practice["country"].strip().upper()
    if practice.get("signature_image"):
        practice["signature_image"] = str(setting_path(path.parent, practice["signature_image"]))

    def where(value: str) -> Path:
        return setting_path(path.parent, value)

    jobs_table = data.get("jobs", {})
    if not isinstance(jobs_table, dict):
        raise ConfigError(f"{_where(path, text, 'jobs')}: jobs are tables like [jobs.thank-you].")
    jobs: dict[str, dict[str, Any]] = {}
    lines: dict[str, dict[str, int]] = {}
    for job, values in jobs_table.items():
        section = f"jobs.{job}"
        checked = _check_section(path, text, section, values, JOB_KEYS)
        jobs[job] = {k: checked.get(k, spec.default) for k, spec in JOB_KEYS.items()}
        lines[job] = {key: key_line(text, section, key or None) or 0
                      for key in ("", *JOB_KEYS)}
    return Config(path=path, practice=Practice(**practice),
                  excel=where(source.get("excel", SECTIONS["source"]["excel"].default)),
                  templates=where(merge.get("templates", "templates")),
                  output=where(merge.get("output", "letters")), jobs=jobs, job_lines=lines,
                  email=email, program=program, google=source.get("google", ""),
                  google_credentials=where(source["credentials"])
                  if source.get("credentials") else None,
                  google_auth=source.get("auth", "service_account"))
