"""One registry answer as a Match: the parts of an NPPES record the Providers sheet holds.

The registry writes names and addresses in capitals ("3510 SE HAWTHORNE BLVD"), phones as
503-555-0173 and ZIP codes as nine digits without a dash; `Match` gives them as the workbook
spells them: "3510 SE Hawthorne Blvd", "(503) 555-0173", "97214-1234".
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from refdesk.schema import CREDENTIALS

INDIVIDUAL, ORGANIZATION = "NPI-1", "NPI-2"
#: Street words kept in capitals: compass points and a few abbreviations.
_UPPER_WORDS = frozenset("N S E W NE NW SE SW PO US LLC PLLC PC LLP".split())
_CREDENTIAL_SPELLING = {c.upper(): c for c in CREDENTIALS}


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _word_case(word: str) -> str:
    if word.upper() in _UPPER_WORDS:
        return word.upper()
    if word.upper() in _CREDENTIAL_SPELLING:  # "SMITH MD PC", "JONES PHD"
        return _CREDENTIAL_SPELLING[word.upper()]
    if any(ch.isdigit() for ch in word):  # 22ND, 410B: numbers read best in lower case
        return word.lower()
    # Mc and O' names: McAllister, O'Brien
    if re.fullmatch(r"MC[A-Z]{2,}", word.upper()):
        return "Mc" + word[2:].capitalize()
    return "'".join(part.capitalize() for part in word.split("'"))


def nice_case(text: str) -> str:
    """Capitals as the registry stores them, written as a person would; mixed case kept."""
    if not text or text != text.upper():
        return text
    return re.sub(r"[^\s\-/,.#()]+", lambda m: _word_case(m.group(0)), text)


def phone_text(value: Any) -> str:
    """503-555-0173 as (503) 555-0173; anything else as given."""
    digits = re.sub(r"\D", "", _text(value))
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) != 10:
        return _text(value)
    return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"


def zip_text(value: Any) -> str:
    """The registry's 972141234 as 97214-1234; five digits as they are."""
    digits = re.sub(r"\D", "", _text(value))
    if len(digits) == 9:
        return f"{digits[:5]}-{digits[5:]}"
    return digits if len(digits) == 5 else _text(value)


def credential_text(value: Any) -> str:
    """The registry's "M.D." or "D.C., M.S." as the workbook writes them: MD, "DC, MS"."""
    parts = [re.sub(r"[.\s]", "", p) for p in re.split(r"[,;/]", _text(value))]
    return ", ".join(_CREDENTIAL_SPELLING.get(p.upper(), p.upper()) for p in parts if p)


@dataclass(frozen=True)
class Match:
    """One provider the registry knows."""

    npi: str
    kind: str  # NPI-1 individual, NPI-2 organization
    name: str
    first_name: str
    middle_name: str
    last_name: str
    organization: str
    credential: str
    status: str  # "A" active; anything else (deactivated) is not
    taxonomy_code: str
    taxonomy: str  # the primary taxonomy's description, e.g. "Family Medicine"
    taxonomies: tuple[str, ...]
    street: str
    city: str
    state: str
    zip: str
    phone: str
    fax: str
    last_updated: str

    @property
    def active(self) -> bool:
        return self.status.upper() == "A"

    @property
    def individual(self) -> bool:
        return self.kind != ORGANIZATION

    @property
    def address(self) -> str:
        return ", ".join(p for p in (self.street, self.city, f"{self.state} {self.zip}".strip())
                         if p)

    def record(self) -> dict[str, Any]:
        out = asdict(self)
        out["taxonomies"] = list(self.taxonomies)
        out["active"] = self.active
        return out


def _location(addresses: Any) -> dict[str, Any]:
    """The practice location address; the mailing address when no location is given."""
    found = [a for a in addresses if isinstance(a, dict)] if isinstance(addresses, list) else []
    for purpose in ("LOCATION", "MAILING"):
        for address in found:
            if _text(address.get("address_purpose")).upper() == purpose:
                return address
    return found[0] if found else {}


def _primary(taxonomies: list[dict[str, Any]]) -> dict[str, Any]:
    for taxonomy in taxonomies:
        if taxonomy.get("primary") is True or _text(taxonomy.get("primary")).lower() == "true":
            return taxonomy
    return taxonomies[0] if taxonomies else {}


def parse_result(result: dict[str, Any]) -> Match:
    """A Match from one entry of the registry's `results`."""
    basic = result.get("basic") if isinstance(result.get("basic"), dict) else {}
    kind = _text(result.get("enumeration_type")).upper() or INDIVIDUAL
    raw = result.get("taxonomies")
    taxonomies = [t for t in raw if isinstance(t, dict)] if isinstance(raw, list) else []
    primary = _primary(taxonomies)
    where = _location(result.get("addresses"))
    first, middle, last = (nice_case(_text(basic.get(k)))
                           for k in ("first_name", "middle_name", "last_name"))
    organization = nice_case(_text(basic.get("organization_name")))
    person = " ".join(p for p in (first, middle, last) if p)
    name = organization if kind == ORGANIZATION else person
    street = ", ".join(p for p in (nice_case(_text(where.get("address_1"))),
                                   nice_case(_text(where.get("address_2")))) if p)
    return Match(
        npi=str(result.get("number") or "").strip(), kind=kind, name=name,
        first_name=first, middle_name=middle, last_name=last, organization=organization,
        credential=credential_text(basic.get("credential")),
        status=_text(basic.get("status")).upper() or "A",
        taxonomy_code=_text(primary.get("code")), taxonomy=_text(primary.get("desc")),
        taxonomies=tuple(_text(t.get("desc")) for t in taxonomies if _text(t.get("desc"))),
        street=street, city=nice_case(_text(where.get("city"))),
        state=_text(where.get("state")).upper(), zip=zip_text(where.get("postal_code")),
        phone=phone_text(where.get("telephone_number")), fax=phone_text(where.get("fax_number")),
        last_updated=_text(basic.get("last_updated")),
    )
