"""The practice profile in config.toml, checked with the same format rules as the sheets:
its NPI and tax id go on every super bill."""

from __future__ import annotations

from collections.abc import Iterator

from refdesk.check.formats import Validator, email, npi, phone, state, tax_id, zip_code
from refdesk.check.problem import Problem
from refdesk.config import Config, key_line

PRACTICE_FORMATS: dict[str, Validator] = {
    "npi": npi, "tax_id": tax_id, "phone": phone, "fax": phone, "email": email,
    "state": state, "zip": zip_code,
}


def rules(config: Config) -> Iterator[Problem]:
    if config.path is None:
        return
    text = config.path.read_text(encoding="utf-8")
    for key, validate in PRACTICE_FORMATS.items():
        value = getattr(config.practice, key)
        found = validate(value, config.practice.country) if value else None
        if found:
            line = key_line(text, "practice", key) or 0
            yield Problem(found.severity, config.path.name, line,
                          f"{config.path.name} line {line}", f"practice.{key}", value,
                          found.rule, found.message)
