"""File names made from the workbook's data: safe on Windows, macOS and Linux, bounded, unique.

A provider's name can hold anything a cell can (32,767 characters, slashes, a trailing dot), and
the file systems refuse different things: Windows reserves CON, NUL, COM1 and their kin whatever
the extension, and drops trailing dots and spaces; most systems stop at 255 bytes a name and
Windows at 260 characters a path. Names are cut to a length that leaves room for the folder.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

#: Bytes (UTF-8) a file name may take, suffix and a " (12)" included.
MAX_NAME_BYTES = 120
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)$",
                       re.IGNORECASE)
_ROOM_FOR_NUMBER = 8  # " (9999)"


def _cut(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", "ignore")


def safe_name(name: str, suffix: str, fallback: str) -> str:
    """`name` made into a file name ending in `suffix` (".docx"); `fallback` when nothing of
    it is usable."""
    stem = name[:-len(suffix)] if suffix and name.lower().endswith(suffix.lower()) else name
    stem = unicodedata.normalize("NFC", stem)
    stem = " ".join(_UNSAFE.sub("-", stem).split())
    room = MAX_NAME_BYTES - len(suffix.encode("utf-8")) - _ROOM_FOR_NUMBER
    stem = _cut(stem, room).strip(" .-")
    if not stem:
        stem = _cut(" ".join(_UNSAFE.sub("-", fallback).split()), room).strip(" .-") or "document"
    if _RESERVED.match(stem.split(".")[0].strip()):
        stem = "_" + stem
    return stem + suffix


def unique(folder: Path, name: str, taken: set[str]) -> Path:
    """`folder / name`, numbered " (2)", " (3)"... when the name is taken in this batch or on
    disk. Names compare as the file systems that ignore case and composition would."""
    dot = name.rfind(".")
    stem, suffix = (name[:dot], name[dot:]) if dot > 0 else (name, "")
    candidate, n = name, 1
    while _key(candidate) in taken or (folder / candidate).exists():
        n += 1
        candidate = f"{stem} ({n}){suffix}"
    taken.add(_key(candidate))
    return folder / candidate


def _key(name: str) -> str:
    return unicodedata.normalize("NFC", name).casefold()
