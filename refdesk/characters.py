"""Characters a document cannot hold, and line breaks written the ways other programs write them.

Word documents, workbooks, SVG charts and XHTML are XML 1.0, which cannot hold most control
characters (U+0000-U+001F other than tab, line feed and carriage return), the noncharacters
U+FFFE and U+FFFF, or half of a surrogate pair. Such characters reach the data when text is
pasted from another system; Excel keeps them (escaped as `_x0001_`) and so does refdesk's reader.

The rule everywhere refdesk makes something from the data: a vertical tab or form feed (which
some programs write for a line break inside a cell) is a line break, and so is a carriage
return (alone or before a line feed); any other character XML cannot hold is never dropped
silently: documents refuse it naming the cell, reports show it as U+FFFD.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from refdesk.errors import RefdeskError

#: What XML 1.0 cannot hold once \x0b and \x0c are read as line breaks.
FORBIDDEN = re.compile("[\x00-\x08\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
#: Line breaks as other programs write them: CR LF, a lone CR, a vertical tab (Word's manual
#: line break, as Excel exports it) and a form feed.
_BREAKS = re.compile("\r\n?|[\x0b\x0c]")
#: Spaces trimmed from a cell's ends: Python's whitespace less the separators U+001C-U+001F,
#: which are control characters to report, not spaces to drop.
_ENDS = re.compile(r"^[^\S\x1c-\x1f]+|[^\S\x1c-\x1f]+$")
#: The replacement character, which shows where a character could not be.
REPLACEMENT = "\ufffd"


def line_breaks(text: str) -> str:
    """`text` with every line break written as one line feed."""
    return _BREAKS.sub("\n", text) if ("\r" in text or "\x0b" in text or "\x0c" in text) \
        else text


def trim(text: str) -> str:
    """`text` without the spaces and line breaks at its ends; control characters stay."""
    return _ENDS.sub("", text)


def first_forbidden(text: str) -> tuple[int, str] | None:
    """The position (from 1) and the character of the first character XML cannot hold once
    line breaks are read; None when there is none."""
    found = FORBIDDEN.search(text)  # line breaks are never forbidden: no need to read them
    return None if found is None else (found.start() + 1, found.group())


def code(char: str) -> str:
    """`U+0001`."""
    return f"U+{ord(char):04X}"


def what(char: str) -> str:
    """`U+0001 (a control character)`, as messages name a character."""
    point = ord(char)
    if 0xD800 <= point <= 0xDFFF:
        kind = "half of a surrogate pair, not a character"
    elif point in (0xFFFE, 0xFFFF):
        kind = "a noncharacter"
    else:
        kind = "an invisible control character"
    return f"{code(char)} ({kind})"


def shown(text: str) -> str:
    """`text` as a report shows it: line breaks read, every other character XML cannot hold
    shown as U+FFFD, so it is seen rather than lost."""
    return FORBIDDEN.sub(REPLACEMENT, line_breaks(text))


def strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string in nested dictionaries and lists, with its dotted path
    (`provider.name`, `progress.visits.2.date`)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from strings(item, f"{path}.{i}" if path else str(i))


def any_forbidden(value: Any) -> bool:
    """Whether any string in nested dictionaries and lists holds a FORBIDDEN character: one
    search over them all, for the usual case where none does (`strings` then says where)."""
    found: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        kind = item.__class__
        if kind is str:
            found.append(item)
        elif kind is dict:
            stack.extend(item.values())
        elif kind is list or kind is tuple:
            stack.extend(item)
        elif item is None or kind is bool or kind is int or kind is float:
            continue
        elif isinstance(item, str):
            found.append(str(item))
        elif isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return FORBIDDEN.search("\n".join(found)) is not None


class CharacterError(RefdeskError):
    """A value holding a character the thing being made cannot hold; names its place."""
