"""config.toml: the practice profile and where the data lives.

Every key is declared below with its type; an unknown key, a wrong type or a TOML syntax error
is a ConfigError naming the file, the line and the key.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from refdesk.errors import ConfigError
from refdesk.schema import SHEETS_BY_NAME

DEFAULT_CONFIG = "config.toml"
REFERRAL_SERVICES: tuple[str, ...] = next(
    c.suggestions for c in SHEETS_BY_NAME["Referrals"].columns if c.name == "services")


@dataclass(frozen=True)
class Key:
    type: type | tuple[type, ...]
    description: str
    default: Any = None
    required: bool = False
    choices: tuple[str, ...] = ()


def _text(description: str, default: str = "", **kw: Any) -> Key:
    return Key(str, description, default, **kw)


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
        "country": _text("Two-letter country for phone numbers.", "US"),
    },
    "source": {
        "excel": _text("Path of the workbook, relative to this file.",
                       "workbooks/referrals.xlsx"),
        "google": _text("Address (or key) of a Google Sheet to use instead of the workbook."),
        "credentials": _text("Google credentials file, relative to this file: a service "
                             "account's JSON key, or an OAuth client file with auth = "
                             "\"oauth\"."),
        "auth": _text("How to sign in to Google: service_account or oauth.",
                      "service_account", choices=("service_account", "oauth")),
    },
    "program": {
        "dormant_after_days": Key(int, "A provider who referred before but not within this "
                                  "many days is dormant.", 90),
        "report_every_visits": Key(int, "A progress report is owed after this many visits "
                                   "since the last one.", 6),
        "report_every_weeks": Key(int, "... or after this many weeks with visits since the "
                                  "last one.", 4),
        "unscheduled_after_days": Key(int, "A referral with no first visit this many days "
                                      "after it came is flagged.", 7),
        "release_warning_days": Key(int, "Releases ending within this many days are "
                                    "flagged.", 30),
        "thank_you_within_days": Key(int, "Thank-you letters are owed for first visits this "
                                     "recent.", 30),
    },
    "email": {
        "host": _text("SMTP server that sends the practice's mail, e.g. smtp.example.com."),
        "port": Key(int, "SMTP port: 587 for STARTTLS, 465 for SSL.", 587),
        "security": _text("starttls, ssl or none.", "starttls",
                          choices=("starttls", "ssl", "none")),
        "user": _text("Login name on the SMTP server."),
        "sender": _text("From address of the messages, e.g. maya@cedarlanemassage.example."),
        "password_env": _text("Environment variable holding the SMTP password (never the "
                              "password itself); without it, the system keyring "
                              "(service refdesk-smtp) is asked.", "REFDESK_SMTP_PASSWORD"),
        "ca_file": _text("A CA certificate file to trust, for a server with its own "
                         "certificate; relative to this file."),
        "timeout": Key(int, "Seconds to wait for the SMTP server.", 30),
    },
    "merge": {
        "templates": _text("Folder of the .docx templates, relative to this file.",
                           "templates"),
        "output": _text("Folder the documents go to, relative to this file; made private "
                        "to you.", "letters"),
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
    "contact": _text("When set, a Contacts row with this summary is added for each document."),
    "again_after_days": Key(int, "Make a record's document again once this many days have "
                            "passed (0: once only).", 0),
    "email_subject": _text("Subject of the email that carries the document, and the Re line "
                           "of a fax cover (Jinja, with the template's data and job_title).",
                           "From {{ practice.name }}"),
    "email_body": _text("Body of that email (Jinja text).",
                        "Dear {{ provider.salutation }},\n\nPlease find attached a document "
                        "from {{ practice.name }}.\n\n{{ practice.signature }}\n"
                        "{{ practice.name }}  {{ practice.phone }}\n"),
    "email_client_info": Key(bool, "Allow emailing this job's documents about a client "
                             "(only to the address of the provider the release names).", False),
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
    country: str = "US"
    profession: str = "massage therapy"
    benefits: tuple[str, ...] = ()
    services: tuple[str, ...] = REFERRAL_SERVICES


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
    for number, line in enumerate(text.splitlines(), start=1):
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
             bool: "true or false", dict: "a table like { column = \"value\" }"}
    types = t if isinstance(t, tuple) else (t,)
    return " or ".join(names.get(x, x.__name__) for x in types)


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
        out[key] = tuple(value) if spec.type is list else value
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
            f"{path}: no such file. Pass --config PATH, or copy config.toml from the refdesk "
            "folder and fill in your practice."
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read as UTF-8 text ({exc}).") from None
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
    for key, value in program.items():
        if value < 0:
            raise ConfigError(f"{_where(path, text, 'program', key)}: program.{key} must be "
                              "0 or more.")
    email = {k: spec.default for k, spec in SECTIONS["email"].items()}
    email.update(_check_section(path, text, "email", data.get("email", {})))
    if email.get("ca_file"):
        email["ca_file"] = str(Path(path.parent, email["ca_file"]))

    def where(value: str) -> Path:
        found = Path(value)
        return found if found.is_absolute() else path.parent / found

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
