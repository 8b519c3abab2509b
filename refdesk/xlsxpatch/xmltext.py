"""Text as SpreadsheetML stores it: XML escaping, the `_xHHHH_` escapes, cell references.

A cell's text may hold characters XML 1.0 cannot carry (most control characters) and a
carriage return that an XML parser would turn into a line feed. Office stores those as
`_xHHHH_` (ECMA-376 Part 1, ST_Xstring), and a literal `_x0041_` typed by the user as
`_x005F_x0041_`, so that reading undoes exactly what writing did.
"""

from __future__ import annotations

import re

#: Excel's limit for the text of one cell, counted in UTF-16 code units as Excel counts.
MAX_CELL_TEXT = 32_767
MAX_ROW = 1_048_576
MAX_COL = 16_384

_LOOKS_ESCAPED = re.compile(r"_(x[0-9A-Fa-f]{4}_)")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0d\x0e-\x1f]")
_NONCHARACTER = re.compile("[\ufffe\uffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_X_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_ENTITY = re.compile(r"&(#x[0-9A-Fa-f]+|#[0-9]+|amp|lt|gt|quot|apos);")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?([0-9]{1,7})$")


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def has_lone_surrogate(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def has_noncharacter(text: str) -> bool:
    """U+FFFE and U+FFFF are not characters; no reader restores them from a file."""
    return _NONCHARACTER.search(text) is not None


def encode_text(text: str) -> str:
    """Cell text as the content of an XML `<t>` element."""
    text = _LOOKS_ESCAPED.sub(r"_x005F_\1", text)
    text = _NOT_XML.sub(lambda m: f"_x{ord(m.group()):04X}_", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def encode_attr(text: str) -> str:
    return encode_text(text).replace('"', "&quot;")


def xml_unescape(text: str) -> str:
    def entity(m: re.Match[str]) -> str:
        name = m.group(1)
        if name.startswith("#x"):
            return chr(int(name[2:], 16))
        if name.startswith("#"):
            return chr(int(name[1:]))
        return _NAMED[name]

    return _ENTITY.sub(entity, text) if "&" in text else text


def decode_xstring(text: str) -> str:
    """Undo the `_xHHHH_` escapes of stored cell text (left to right, as Office does)."""
    return _X_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text) if "_x" in text else text


def col_letter(number: int) -> str:
    """1 -> A, 27 -> AA."""
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def col_number(letters: str) -> int:
    number = 0
    for ch in letters.upper():
        number = number * 26 + ord(ch) - 64
    return number


def split_ref(ref: str) -> tuple[int, int]:
    """`B12` -> (12, 2): row, then column, both 1-based. ValueError when not a cell."""
    m = _REF.match(ref.strip())
    if not m:
        raise ValueError(ref)
    row, col = int(m.group(2)), col_number(m.group(1))
    if not (1 <= row <= MAX_ROW and 1 <= col <= MAX_COL):
        raise ValueError(ref)
    return row, col


def cell_ref(row: int, col: int) -> str:
    return f"{col_letter(col)}{row}"


def split_range(ref: str) -> tuple[int, int, int, int]:
    """`A1:C9` -> (first row, first col, last row, last col); one cell is a range too."""
    first, _, last = ref.strip().partition(":")
    r1, c1 = split_ref(first)
    r2, c2 = split_ref(last) if last else (r1, c1)
    return min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)


def range_ref(r1: int, c1: int, r2: int, c2: int) -> str:
    start, end = cell_ref(r1, c1), cell_ref(r2, c2)
    return start if start == end else f"{start}:{end}"


# -- attributes, in either quote style ---------------------------------------------------------
_ATTR_CACHE: dict[bytes, re.Pattern[bytes]] = {}
_ELEMENT_NAME = re.compile(rb"<[\w.\-:]+")


def attr_pattern(name: bytes) -> re.Pattern[bytes]:
    """`name="value"` or `name='value'` (XML allows both, and spaces around `=`); the value
    is group 2. Names are matched after whitespace, so `x:r` is not `r`."""
    pattern = _ATTR_CACHE.get(name)
    if pattern is None:
        pattern = re.compile(rb"\s" + re.escape(name) + rb"\s*=\s*([\"'])(.*?)\1", re.S)
        _ATTR_CACHE[name] = pattern
    return pattern


def get_attr(tag: bytes, name: bytes) -> bytes | None:
    """The raw (still escaped) value of one attribute of a start tag, or None."""
    m = attr_pattern(name).search(tag)
    return m.group(2) if m else None


def set_attr(tag: bytes, name: bytes, value: bytes) -> bytes:
    """The start tag with `name` set to `value`: replaced where it is (whatever its quotes),
    or added right after the element's name. Never two of the same attribute."""
    pattern = attr_pattern(name)
    m = pattern.search(tag)
    new = b" " + name + b'="' + value + b'"'
    if m:
        return tag[:m.start()] + new + pattern.sub(b"", tag[m.end():])
    head = _ELEMENT_NAME.match(tag)
    at = head.end() if head else 0
    return tag[:at] + new + tag[at:]


def drop_attr(tag: bytes, name: bytes) -> bytes:
    return attr_pattern(name).sub(b"", tag)
