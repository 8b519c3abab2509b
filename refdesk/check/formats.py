"""Format rules for one cell value, by column kind.

Each validator takes the text of a cell and returns None when it is fine, or a Finding: a
severity and a message that tells the fix. Validators are called once per distinct value of a
column (a million rows hold few distinct codes), never once per row.
"""

from __future__ import annotations

import re
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from refdesk.check.problem import Severity
from refdesk.npi import is_valid_npi
from refdesk.schema import LIST_SEPARATOR, Kind

#: The states, DC, the territories and the military post codes.
US_STATES = frozenset({
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA",
    "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ",
    "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT",
    "VA", "WA", "WV", "WI", "WY", "DC", "PR", "GU", "VI", "AS", "MP", "AA", "AE", "AP",
})


@dataclass(frozen=True)
class Finding:
    rule: str
    message: str
    severity: Severity = Severity.ERROR


Validator = Callable[[str, str], Finding | None]


#: A North American number in one of the usual shapes: (503) 555-0142, 503-555-0142, ...
NANP_SHAPE = re.compile(r"(?:\+?1[-. ]?)?\(?([2-9]\d{2})\)?[-. ]?([2-9]\d{2})[-. ]?(\d{4})")


def phone(value: str, region: str) -> Finding | None:
    shaped = NANP_SHAPE.fullmatch(value) if region in ("US", "CA") else None
    if shaped:
        # In the North American plan validity depends on the area code and the exchange, not
        # on the last four digits: one phonenumbers check per area code and exchange serves
        # every number that shares them (thousands of clients, a few hundred exchanges).
        return None if _nanp_exchange_valid(shaped.group(1), shaped.group(2), region) else (
            Finding("phone", f"phone {value} has an area code or exchange that is not in use; "
                             "check the number"))
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return Finding("phone", f"phone {value} is not a phone number; type it as e.g. "
                                "(503) 555-0142")
    if phonenumbers.is_valid_number(number):
        return None
    if phonenumbers.is_possible_number(number):
        return Finding("phone", f"phone {value} is missing its area code or is not in use; "
                                "type the full number, e.g. (503) 555-0142")
    return Finding("phone", f"phone {value} has the wrong number of digits; a US number has "
                            "10, e.g. (503) 555-0142")


@lru_cache(maxsize=4096)
def _nanp_exchange_valid(area: str, exchange: str, region: str) -> bool:
    number = phonenumbers.parse(f"{area}{exchange}0142", region)
    return phonenumbers.is_valid_number(number)


def email(value: str, _region: str) -> Finding | None:
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        return Finding("email", f"email {value} is not an email address ({exc}); correct it")
    return None


def state(value: str, _region: str) -> Finding | None:
    if value in US_STATES:
        return None
    if value.upper() in US_STATES:
        return Finding("state", f"state {value} should be written {value.upper()}",
                       Severity.WARNING)
    return Finding("state", f"state {value} is not a two-letter US state code; use e.g. OR")


def zip_code(value: str, _region: str) -> Finding | None:
    if re.fullmatch(r"\d{5}(-\d{4})?", value):
        return None
    if re.fullmatch(r"\d{3,4}", value):
        return Finding("zip", f"ZIP {value} lost its leading zero: format the column as Text "
                              f"and type {value.zfill(5)}")
    return Finding("zip", f"ZIP {value} is not a ZIP code; use 5 digits or ZIP+4 "
                          "(97202 or 97202-1234)")


def npi(value: str, _region: str) -> Finding | None:
    if not re.fullmatch(r"\d{10}", value):
        return Finding("npi", f"NPI {value} is not 10 digits; the NPI registry (NPPES) lists "
                              "each provider's 10-digit number")
    if not is_valid_npi(value):
        return Finding("npi", f"NPI {value} fails its check digit; the NPI registry (NPPES) "
                              "lists each provider's 10-digit number")
    return None


def cpt(value: str, _region: str) -> Finding | None:
    if re.fullmatch(r"\d{5}|\d{4}[A-Z]", value):
        return None
    return Finding("cpt", f"CPT {value} is not a CPT code: five digits (97124) or four digits "
                          "and a letter")


@lru_cache(maxsize=1)
def _icd():  # type: ignore[no-untyped-def]
    # Loading the code set takes about two seconds: only when a diagnosis is there to check.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # its resource calls, not ours
        import simple_icd_10_cm

        simple_icd_10_cm.is_valid_item("A00")  # the data loads on first use
    return simple_icd_10_cm


def preload_icd() -> threading.Thread:
    """Start loading the code set in the background (its XML parse takes about two seconds);
    reading a workbook mostly runs outside the interpreter lock, so the two overlap."""
    thread = threading.Thread(target=_icd, name="refdesk-icd10-load", daemon=True)
    thread.start()
    return thread


def icd10_codes(value: str, _region: str) -> Finding | None:
    """A `;` list of ICD-10-CM codes. Diagnoses are health information: the message counts and
    places the codes, it never quotes them."""
    icd = _icd()
    codes = [c.strip().upper() for c in value.split(LIST_SEPARATOR) if c.strip()]
    unknown = [i for i, c in enumerate(codes, 1) if not icd.is_valid_item(c)]
    if unknown:
        which = ", ".join(_ordinal(i) for i in unknown)
        return Finding("icd10", f"the {which} diagnosis code in this cell is not in the "
                                "ICD-10-CM code set; copy the code from the referral again "
                                "(dots are optional)")
    vague = [i for i, c in enumerate(codes, 1) if not icd.is_leaf(c)]
    if vague:
        which = ", ".join(_ordinal(i) for i in vague)
        return Finding("icd10-billable", f"the {which} diagnosis code in this cell is a "
                       "category, not a billable code; ask for the full code if you bill "
                       "insurance", Severity.WARNING)
    return None


def _ordinal(n: int) -> str:
    return {1: "first", 2: "second", 3: "third"}.get(n, f"{n}th")


def tax_id(value: str, _region: str) -> Finding | None:
    if re.fullmatch(r"\d{2}-\d{7}|\d{3}-\d{2}-\d{4}|\d{9}", value):
        return None
    return Finding("tax-id", f"tax id {value} is neither an EIN (12-3456789) nor an SSN "
                             "(123-45-6789)")


VALIDATORS: dict[Kind, Validator] = {
    Kind.PHONE: phone,
    Kind.EMAIL: email,
    Kind.STATE: state,
    Kind.ZIP: zip_code,
    Kind.NPI: npi,
    Kind.CPT: cpt,
    Kind.ICD10: icd10_codes,
}
