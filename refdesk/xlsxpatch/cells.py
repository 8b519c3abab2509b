"""A Python value as a SpreadsheetML cell: text stays text, numbers numbers, dates dates.

Text is always an inline string (`t="inlineStr"`): it can never become a formula, whatever it
starts with, and the shared-strings part does not have to change.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from dataclasses import dataclass
from numbers import Integral, Real

from refdesk.errors import WriteError
from refdesk.xlsxpatch.xmltext import (
    MAX_CELL_TEXT,
    encode_text,
    has_lone_surrogate,
    has_noncharacter,
    utf16_length,
)

#: Excel keeps 15 significant digits; a whole number above this would silently change.
MAX_EXACT_INTEGER = 999_999_999_999_999
_EPOCH_1900 = dt.datetime(1899, 12, 30)
_EPOCH_1904 = dt.datetime(1904, 1, 1)
_FIRST_1900 = dt.datetime(1900, 3, 1)  # before it, Excel's 1900 leap-year bug shifts serials


@dataclass(frozen=True)
class Encoded:
    """What goes into `<c>`: the type attribute, the content and how it must be formatted."""

    t: str | None
    inner: str  # content with `{p}` where the element prefix goes
    kind: str  # "text", "number", "bool", "date", "datetime" or "empty"


def _number(value: float | int, where: str) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        raise WriteError(f"{where}: {value} is not a number Excel can store. Nothing was "
                         "written.")
    if isinstance(value, int):
        if abs(value) > MAX_EXACT_INTEGER:
            raise WriteError(f"{where}: the number {value} has more than 15 digits and Excel "
                             "would round it; write it as text instead. Nothing was written.")
        return str(value)
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def date_serial(value: dt.date | dt.datetime, date1904: bool, where: str) -> float | int:
    moment = value if isinstance(value, dt.datetime) else dt.datetime(value.year, value.month,
                                                                       value.day)
    if moment.tzinfo is not None:
        raise WriteError(f"{where}: the date {value} carries a time zone, which Excel cells do "
                         "not hold; convert it to local time first. Nothing was written.")
    epoch = _EPOCH_1904 if date1904 else _EPOCH_1900
    if moment < (epoch if date1904 else _FIRST_1900):
        raise WriteError(f"{where}: the date {value:%Y-%m-%d} is earlier than Excel's calendar "
                         "handles; write it as text instead. Nothing was written.")
    delta = moment - epoch
    serial = delta.days + delta.seconds / 86_400 + delta.microseconds / 86_400_000_000
    return delta.days if serial == delta.days else serial


def encode_value(value: object, where: str, date1904: bool = False) -> Encoded:
    """`where` names the cell (`Letters!B7`) in any error."""
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return Encoded(None, "", "empty")
    if isinstance(value, bool):
        return Encoded("b", f"<{{p}}v>{int(value)}</{{p}}v>", "bool")
    if isinstance(value, str):
        if has_lone_surrogate(value) or has_noncharacter(value):
            raise WriteError(f"{where}: the text holds a code that is not a character (an "
                             "unpaired surrogate, U+FFFE or U+FFFF), which no workbook can "
                             "store; remove it. Nothing was written.")
        length = utf16_length(value)
        if length > MAX_CELL_TEXT:
            raise WriteError(f"{where}: the text is {length:,} characters long; an Excel cell "
                             f"holds at most {MAX_CELL_TEXT:,}. Shorten it. Nothing was "
                             "written.")
        space = ' xml:space="preserve"' if value != value.strip() or "\n" in value else ""
        return Encoded("inlineStr", f"<{{p}}is><{{p}}t{space}>{encode_text(value)}"
                                    f"</{{p}}t></{{p}}is>", "text")
    if isinstance(value, dt.datetime):
        serial = date_serial(value, date1904, where)
        kind = "datetime" if (value.hour, value.minute, value.second,
                              value.microsecond) != (0, 0, 0, 0) else "date"
        return Encoded(None, f"<{{p}}v>{_number(serial, where)}</{{p}}v>", kind)
    if isinstance(value, dt.date):
        return Encoded(None, f"<{{p}}v>{date_serial(value, date1904, where)}</{{p}}v>", "date")
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise WriteError(f"{where}: {value} is not a number Excel can store. Nothing was "
                             "written.")
        value = int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Integral):
        return Encoded(None, f"<{{p}}v>{_number(int(value), where)}</{{p}}v>", "number")
    if isinstance(value, Real):
        return Encoded(None, f"<{{p}}v>{_number(float(value), where)}</{{p}}v>", "number")
    raise WriteError(f"{where}: refdesk writes text, numbers, dates and true/false into cells, "
                     f"not a {type(value).__name__}. Nothing was written.")
