"""config.toml: the practice profile and where the data lives.

Every key is declared below with its type; an unknown key, a wrong type or a TOML syntax error
is a ConfigError naming the file, the line and the key.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from refdesk.errors import ConfigError

DEFAULT_CONFIG = "config.toml"


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
        "conditions": Key(list, "Conditions you treat, as a list of text.", []),
        "training": _text("A paragraph on your education and training, for letters."),
        "practice_type": _text("solo or group.", "solo", choices=("solo", "group")),
        "country": _text("Two-letter country for phone numbers.", "US"),
    },
    "source": {
        "excel": _text("Path of the workbook, relative to this file.",
                       "workbooks/referrals.xlsx"),
    },
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


@dataclass(frozen=True)
class Config:
    path: Path | None
    practice: Practice
    excel: Path


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
             bool: "true or false"}
    types = t if isinstance(t, tuple) else (t,)
    return " or ".join(names.get(x, x.__name__) for x in types)


def _check_section(path: Path, text: str, name: str, values: Any) -> dict[str, Any]:
    declared = SECTIONS[name]
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
        if spec.required and not str(out.get(key, "")).strip():
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
        if name not in SECTIONS:
            close = difflib.get_close_matches(name, SECTIONS, n=1)
            hint = f" Did you mean [{close[0]}]?" if close else (
                f" Known sections: {', '.join('[' + s + ']' for s in SECTIONS)}.")
            raise ConfigError(f"{_where(path, text, name)}: unknown section [{name}].{hint}")
    if "practice" not in data:
        raise ConfigError(f"{path.name}: the [practice] section is missing; it names the "
                          "practice and the therapist.")
    practice = _check_section(path, text, "practice", data["practice"])
    source = _check_section(path, text, "source", data.get("source", {}))
    excel = Path(source.get("excel", SECTIONS["source"]["excel"].default))
    if not excel.is_absolute():
        excel = path.parent / excel
    return Config(path=path, practice=Practice(**practice), excel=excel)
