"""Dates as people type them: `March 1, 2026`, `1 Mar 2026`, `3/1/26`, `01.03.2026`.

The Book reads real date cells, ISO text and Excel serial numbers in fast vectorised passes;
the text left over comes here, one distinct text at a time. Month names are read wherever
they stand. In an all-numeric date the order of day and month comes from the practice's
country (`[practice] country`), never from a guess:

- month-first countries (US and a few others) read `3/1/2026` as 1 March; dotted and dashed
  dates (`01.03.2026`, `3-1-2026`) are how day-first countries write, so there a date whose
  two numbers could both be the month is ambiguous;
- day-first countries (most of the world) read `/`, `.` and `-` alike as day, month, year;
- year-first countries read `2026/03/01`; a date ending in its year is ambiguous there, as in
  countries where several orders are in everyday use (Canada).

Year-first dates (`2026-03-01`, `2026/3/1`, `2026.03.01`) read the same everywhere. An
ambiguous date is not read: the reason says both readings and how to type the one meant.
Two-digit years follow Excel: 00-29 are 2000-2029, 30-99 are 1930-1999.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache

#: Where the month comes first in a numeric date (the US, its territories, the Philippines,
#: Micronesia, the Marshall Islands, Palau).
MONTH_FIRST = frozenset({"US", "AS", "GU", "MP", "PR", "VI", "UM", "PH", "FM", "MH", "PW"})
#: Where the year comes first (China, Japan, the Koreas, Taiwan, Hungary, Lithuania, Mongolia).
YEAR_FIRST = frozenset({"CN", "JP", "KR", "KP", "TW", "HU", "LT", "MN"})
#: Where day-first and month-first are both in everyday use: no numeric order is settled.
MIXED = frozenset({"CA"})

#: The years a date may fall in; outside them a date is a typing mistake (or 9999 for "never").
FIRST_YEAR, LAST_YEAR = 1800, 2199
EXAMPLE = "2026-03-01"

MONTHS = {name: number for number, names in enumerate((
    ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
    ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
    ("october", "oct"), ("november", "nov"), ("december", "dec")), start=1) for name in names}
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December")

_WEEKDAY = (r"(?:(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tue|tues|wed"
            r"|thu|thur|thurs|fri|sat|sun)\.?,? +)?")
_YEAR = r"(?P<y>\d{4}|\d{2})"
_DAY = r"(?P<d>\d{1,2})(?:st|nd|rd|th)?"
_MONTH = r"(?P<m>[a-z]+)\.?"
#: March 1, 2026 / Mar 1 2026 / Mar. 1st, 26
NAME_FIRST = re.compile(rf"{_WEEKDAY}{_MONTH} +{_DAY},? +{_YEAR}")
#: 1 Mar 2026 / 1 March, 2026 / 01-Mar-26 (Excel's dd-mmm-yy) / 1.Mar.2026
DAY_FIRST_NAME = re.compile(rf"{_WEEKDAY}{_DAY}(?: +|[-./]){_MONTH},?(?: +|[-./]){_YEAR}")
#: 2026-03-01 / 2026/3/1 / 2026.03.01, with a time of day allowed after it.
YEAR_FIRST_NUMBERS = re.compile(r"(?P<y>\d{4})(?P<s>[-/.])(?P<m>\d{1,2})(?P=s)(?P<d>\d{1,2})"
                                r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
#: 3/1/2026 / 01.03.26 / 1-3-2026: two numbers, then the year, one separator throughout.
YEAR_LAST_NUMBERS = re.compile(r"(?P<a>\d{1,2})(?P<s>[-/.])(?P<b>\d{1,2})(?P=s)(?P<y>\d{4}|\d{2})")


@dataclass(frozen=True)
class Reading:
    """What a typed date reads as: a day, or none and (when there is more to say than "not a
    date") why, worded to follow the quoted text."""

    day: dt.date | None
    problem: str = ""


def order(country: str) -> str:
    """`MDY`, `DMY` or `YMD`: the numeric order the country settles, or "" when it settles
    none."""
    country = (country or "US").strip().upper()
    if country in MIXED:
        return ""
    if country in MONTH_FIRST:
        return "MDY"
    return "YMD" if country in YEAR_FIRST else "DMY"


def full_year(digits: str) -> int:
    """Excel's rule for two-digit years: 00-29 are 2000-2029, 30-99 are 1930-1999."""
    year = int(digits)
    if len(digits) > 2:
        return year
    return year + (2000 if year < 30 else 1900)


def as_date(value: object) -> dt.date | None:
    """A cell's value as a day: a date as it is, a date and time as its day, else None."""
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else None


def spoken(day: dt.date) -> str:
    """1 March 2026: a day no reader can take the other way round."""
    return f"{day.day} {MONTH_NAMES[day.month - 1]} {day.year}"


@lru_cache(maxsize=65536)
def read_date(text: str, country: str = "US") -> Reading:
    """One typed date, read or explained. Cached: a column holds few distinct texts."""
    typed = " ".join(text.strip().lower().split())
    if not typed:
        return Reading(None)
    if match := YEAR_FIRST_NUMBERS.fullmatch(typed):
        return _day(int(match["y"]), int(match["m"]), int(match["d"]))
    if match := NAME_FIRST.fullmatch(typed) or DAY_FIRST_NAME.fullmatch(typed):
        month = MONTHS.get(match["m"])
        if month is None:
            return Reading(None)
        return _day(full_year(match["y"]), month, int(match["d"]))
    if match := YEAR_LAST_NUMBERS.fullmatch(typed):
        return _numeric(int(match["a"]), int(match["b"]), full_year(match["y"]), match["s"],
                        order(country), (country or "US").strip().upper())
    return Reading(None)


def _day(year: int, month: int, day: int) -> Reading:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        return Reading(None, f"is in the year {year}, outside the years refdesk reads "
                             f"({FIRST_YEAR} to {LAST_YEAR}); correct the year")
    try:
        return Reading(dt.date(year, month, day))
    except ValueError:
        return Reading(None)


def _numeric(a: int, b: int, year: int, separator: str, settled: str, country: str
             ) -> Reading:
    """Two numbers and a year: which is the month the country says, or the numbers do."""
    month_first, day_first = _day(year, a, b), _day(year, b, a)
    if month_first.problem:  # the year is out of range either way
        return month_first
    if settled == "DMY" or (settled == "MDY" and separator == "/"):
        wanted, other = ((day_first, month_first) if settled == "DMY"
                         else (month_first, day_first))
        if wanted.day is not None:
            return wanted
        if other.day is not None:  # fits only the other order: the typist meant that one?
            shape = "day/month/year" if settled == "DMY" else "month/day/year"
            return Reading(None, f"is not a date in {shape} order, which [practice] country "
                                 f"{country} reads; if it means {spoken(other.day)}, type it "
                                 f"as {other.day.isoformat()}")
        return Reading(None)
    readings = {r.day for r in (month_first, day_first) if r.day is not None}
    if len(readings) == 1:  # only one order makes a date, or both give the same day
        return Reading(readings.pop())
    if not readings:
        return Reading(None)
    # Day first: outside month-first countries that is how dotted and dashed dates are meant.
    first, second = day_first.day, month_first.day
    assert first is not None and second is not None
    return Reading(None, f"could be {spoken(first)} or {spoken(second)}; type it as "
                         f"{first.isoformat()} or {second.isoformat()}, whichever is meant")
