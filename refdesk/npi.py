"""The National Provider Identifier's check digit (CMS: Luhn over the prefix 80840 + 9 digits)."""

from __future__ import annotations

import re

#: The ISO card-issuer prefix CMS puts in front of every NPI before computing its check digit.
NPI_PREFIX = "80840"


def _luhn_digit(digits: str) -> int:
    """The Luhn digit that, appended to `digits`, makes the whole number valid."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:  # doubled: these sit in odd positions once the check digit is appended
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return (10 - total % 10) % 10


def npi_check_digit(first_nine: str) -> int:
    if not re.fullmatch(r"\d{9}", first_nine):
        raise ValueError(f"an NPI's first part is 9 digits, not {first_nine!r}")
    return _luhn_digit(NPI_PREFIX + first_nine)


def is_valid_npi(value: str) -> bool:
    """Ten digits whose last one is the check digit of the first nine."""
    return bool(re.fullmatch(r"\d{10}", value)) and npi_check_digit(value[:9]) == int(value[9])
