"""Word's field switches, applied to a merged value: `\\* Upper`, `\\@ "d MMMM yyyy"`,
`\\# "$#,##0.00"`, `\\b` and `\\f`, and the comparisons of an IF field.

A value reaches a Word mail-merge letter as the text refdesk prints everywhere else (dates as
"November 23, 2026", amounts as "$1,250.00"); a date or number picture reads that text back,
and leaves a value it cannot read as it is, as Word does.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

#: \* formats refdesk applies; MERGEFORMAT and CHARFORMAT only keep Word's formatting.
CASES = ("upper", "lower", "caps", "firstcap")
IGNORED_FORMATS = ("mergeformat", "charformat")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DATE_FORMATS = ("%B %d, %Y", "%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
                 "%m/%d/%Y", "%d %B %Y", "%B %Y", "%b %d, %Y")
OPERATORS = ("<=", ">=", "<>", "=", "<", ">")


def case(value: str, how: str) -> str:
    """\\* Upper, Lower, Caps (each word capitalised, the rest lower case, as Word does) and
    FirstCap (the first letter only)."""
    how = how.lower()
    if how == "upper":
        return value.upper()
    if how == "lower":
        return value.lower()
    if how == "caps":
        return re.sub(r"\w+", lambda m: m.group(0)[:1].upper() + m.group(0)[1:].lower(), value)
    if how == "firstcap":
        for i, c in enumerate(value):
            if c.isalpha():
                return value[:i] + c.upper() + value[i + 1:]
    return value


def read_date(value: str) -> dt.datetime | None:
    """The date (and time) a value's text reads as, or None."""
    text = value.strip()
    for pattern in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, pattern)
        except ValueError:
            continue
    return None


def date_picture(value: str, picture: str) -> str:
    """`value` as Word's \\@ picture shows it: d dd ddd dddd, M MM MMM MMMM, yy yyyy, h hh H HH,
    m mm, s ss, AM/PM, 'quoted text'; a value that is no date stays as it is."""
    when = read_date(value)
    if when is None:
        return value
    out: list[str] = []
    i = 0
    while i < len(picture):
        c = picture[i]
        if c == "'":
            j = picture.find("'", i + 1)
            j = len(picture) if j < 0 else j
            out.append(picture[i + 1:j])
            i = j + 1
            continue
        for marker in ("AM/PM", "am/pm"):
            if picture.startswith(marker, i):
                half = "AM" if when.hour < 12 else "PM"
                out.append(half if marker == "AM/PM" else half.lower())
                i += len(marker)
                break
        else:
            if c in "dDMyYhHms":
                j = i
                while j < len(picture) and picture[j] == c:
                    j += 1
                out.append(_date_part(when, c, j - i))
                i = j
            else:
                out.append(c)
                i += 1
    return "".join(out)


def _date_part(when: dt.datetime, letter: str, n: int) -> str:
    if letter in "dD":
        if n >= 4:
            return DAYS[when.weekday()]
        return DAYS[when.weekday()][:3] if n == 3 else f"{when.day:0{n}d}"
    if letter == "M":
        if n >= 4:
            return MONTHS[when.month - 1]
        return MONTHS[when.month - 1][:3] if n == 3 else f"{when.month:0{n}d}"
    if letter in "yY":
        return f"{when.year % 100:02d}" if n <= 2 else f"{when.year:04d}"
    if letter == "h":
        return f"{(when.hour % 12) or 12:0{min(n, 2)}d}"
    if letter == "H":
        return f"{when.hour:0{min(n, 2)}d}"
    if letter == "m":
        return f"{when.minute:0{min(n, 2)}d}"
    return f"{when.second:0{min(n, 2)}d}"


def read_number(value: str) -> Decimal | None:
    """The number a value's text reads as ("$1,250.00", "-3", "12.5%" is not one), or None."""
    text = value.strip().replace(",", "").replace("$", "")
    negative = text.startswith("(") and text.endswith(")")
    text = text.strip("()")
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)", text):
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return -number if negative else number


def number_picture(value: str, picture: str) -> str:
    """`value` as Word's \\# picture shows it: 0 a digit always shown, # a digit when there is
    one, `,` thousands, `.` the decimal point, `;` a picture for negatives (and zero), anything
    else (`$`, `'text'`) printed as it stands; a value that is no number stays as it is."""
    number = read_number(value)
    if number is None:
        return value
    sections = picture.split(";")
    if number < 0 and len(sections) > 1:
        picture, number, sign = sections[1], -number, ""
    elif number == 0 and len(sections) > 2:
        picture, sign = sections[2], ""
    else:
        picture, sign = sections[0], "-" if number < 0 else ""
        number = abs(number)
    picture = picture.replace("'", "")
    places = [i for i, c in enumerate(picture) if c in "0#"]
    if not places:
        return picture
    prefix, core, suffix = (picture[:places[0]], picture[places[0]:places[-1] + 1],
                            picture[places[-1] + 1:])
    whole, _, fraction = core.partition(".")
    decimals = sum(c in "0#" for c in fraction)
    forced = len(fraction) - len(fraction.lstrip("0")) if fraction else 0
    rounded = number.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    digits, _, tail = f"{rounded:f}".partition(".")
    digits = digits.lstrip("0") or ""
    digits = digits.rjust(whole.count("0"), "0")
    if "," in whole and digits:
        digits = f"{int(digits):,}".rjust(len(digits), "0") if digits.strip("0") else digits
    if decimals:
        tail = tail.ljust(decimals, "0")[:decimals]
        while len(tail) > forced and tail.endswith("0"):
            tail = tail[:-1]
    text = digits + ("." + tail if tail else "")
    return f"{sign}{prefix}{text or '0'}{suffix}"


def compare(left: str, op: str, right: str) -> bool:
    """An IF field's test: numbers compare as numbers, text as text (case matters, as in
    Word); with = and <>, `*` and `?` in the right-hand text are wildcards."""
    a, b = read_number(left), read_number(right)
    if a is not None and b is not None:
        x: object = a
        y: object = b
    elif op in ("=", "<>") and ("*" in right or "?" in right):
        pattern = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c)
                          for c in right)
        found = re.fullmatch(pattern, left, re.DOTALL) is not None
        return found if op == "=" else not found
    else:
        x, y = left, right
    if op == "=":
        return x == y
    if op == "<>":
        return x != y
    if op == "<":
        return x < y  # type: ignore[operator]
    if op == ">":
        return x > y  # type: ignore[operator]
    if op == "<=":
        return x <= y  # type: ignore[operator]
    return x >= y  # type: ignore[operator]
