"""The styles part, read to tell date formats apart and, only when needed, given one more
cell format so that a date written into an unformatted cell shows as a date."""

from __future__ import annotations

import re

from refdesk.xlsxpatch.package import main_prefixes, prefix_of
from refdesk.xlsxpatch.xmltext import drop_attr, get_attr, set_attr, xml_unescape

#: Built-in number formats that show dates or times (ECMA-376 18.8.30, plus the East Asian ids).
BUILTIN_DATE_FORMATS = {*range(14, 23), *range(27, 37), 45, 46, 47, *range(50, 59)}
DATE_FORMAT_ID = 14  # the reader's short date, m/d/yyyy in the US
DATETIME_FORMAT_ID = 22  # m/d/yyyy h:mm
TEXT_FORMAT_ID = 49  # `@`

_QUOTED = re.compile(r'"[^"]*"|\\.|\[(?![hms]+\])[^\]]*\]|_.|\*.')


def is_date_code(code: str) -> bool:
    """True for a custom number format that shows a date or time (`yyyy-mm-dd`, `h:mm`)."""
    bare = _QUOTED.sub("", code).split(";")[0].lower()
    if bare.strip() in ("general", "@", ""):
        return False
    return re.search(r"[dmyhs]", bare.replace("general", "")) is not None


def _is_text_code(code: str) -> bool:
    return _QUOTED.sub("", code).strip() == "@"


#: The styles part a workbook gets when it has none and a date must be formatted.
MINIMAL_STYLES = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b'<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    b'<fills count="2"><fill><patternFill patternType="none"/></fill>'
    b'<fill><patternFill patternType="gray125"/></fill></fills>'
    b'<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    b'<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
    b'</cellStyleXfs><cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" '
    b'xfId="0"/></cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" '
    b'builtinId="0"/></cellStyles></styleSheet>')


class Styles:
    def __init__(self, data: bytes | None) -> None:
        #: True when the workbook had no styles part and this one is new.
        self.created = data is None
        data = MINIMAL_STYLES if data is None else data
        self.data = data
        self.formats: dict[int, str] = {}
        self.xfs: list[tuple[int, bytes]] = []  # (numFmtId, the xf element's bytes)
        self._added: list[bytes] = []
        self._date_cache: dict[tuple[int, bool], int] = {}
        self._plain_cache: dict[int, int] = {}
        self.p = prefix_of(data, b"styleSheet")
        p = main_prefixes(data, b"styleSheet")
        # The numFmts list only: a differential format (dxf) may carry a numFmt of its own.
        listed = re.search(rb"<(" + p + rb")numFmts\b[^>]*>(.*?)</\1numFmts>", data, re.S)
        for m in re.finditer(rb"<" + p + rb"numFmt\s[^>]*>", listed.group(2) if listed else b""):
            fid, code = get_attr(m.group(), b"numFmtId"), get_attr(m.group(), b"formatCode")
            if fid and fid.isdigit() and code is not None:
                self.formats[int(fid)] = xml_unescape(code.decode("utf-8"))
        self._xfs = re.search(rb"<(" + p + rb")cellXfs\b[^>]*?(/?)>", data)
        self._xfs_end = -1
        if self._xfs and not self._xfs.group(2):
            self._xfs_end = data.find(b"</" + self._xfs.group(1) + b"cellXfs>", self._xfs.end())
            body = data[self._xfs.end():self._xfs_end]
            for m in re.finditer(rb"<(" + p + rb")xf\b[^>]*?(?:/>|>.*?</\1xf>)", body, re.S):
                fid = get_attr(m.group().split(b">", 1)[0], b"numFmtId")
                self.xfs.append((int(fid) if fid and fid.isdigit() else 0, m.group()))

    @property
    def usable(self) -> bool:
        return bool(self._xfs) and self._xfs_end >= 0 and bool(self.xfs)

    def is_date(self, style: int | None) -> bool:
        return self.format_kind(style) == "date"

    def format_kind(self, style: int | None) -> str:
        """What a cell format shows: "date", "text" (`@`), "number" (any other number
        format) or "general"."""
        if style is None or not (0 <= style < len(self.xfs)):
            return "general"
        fid = self.xfs[style][0]
        code = self.formats.get(fid)
        if fid in BUILTIN_DATE_FORMATS or (code is not None and is_date_code(code)):
            return "date"
        if fid == TEXT_FORMAT_ID or (code is not None and _is_text_code(code)):
            return "text"
        if fid == 0 or (code is not None and code.strip().lower() == "general"):
            return "general"
        return "number"

    def for_value(self, style: int | None, kind: str) -> int | None:
        """A neighbour's cell format for a value of `kind` ("number", "text", ...): kept when
        its number format suits the value, else the same format showing General (a number
        below a date must not turn into a date). Dates are left to date_style."""
        shown = self.format_kind(style)
        fits = {"number": ("general", "number"), "text": ("general", "text")}
        if style is None or kind not in fits or shown in fits[kind]:
            return style
        return self.plain_style(style)

    def plain_style(self, base: int) -> int | None:
        """A copy of `base` (font, fill, border kept) whose number format is General; None
        when the styles part cannot be changed."""
        if not self.usable or not (0 <= base < len(self.xfs)):
            return None
        if base not in self._plain_cache:
            self._plain_cache[base] = self._derive(base, 0)
        return self._plain_cache[base]

    def _derive(self, base: int, fid: int) -> int:
        """Add a copy of the cell format `base` showing number format `fid`; its index."""
        xf = self.xfs[base][1]
        head, sep, rest = xf.partition(b">") if not xf.endswith(b"/>") else (xf[:-2], b"/>",
                                                                               b"")
        head = drop_attr(head, b"applyNumberFormat")
        head = set_attr(head, b"numFmtId", b"%d" % fid)
        if fid:
            head = set_attr(head, b"applyNumberFormat", b"1")
        new = head + sep + rest
        self.xfs.append((fid, new))
        self._added.append(new)
        return len(self.xfs) - 1

    def date_style(self, base: int | None, with_time: bool) -> int | None:
        """A cell format like `base` that shows dates; None when the part cannot be changed."""
        if self.is_date(base):
            return base
        if not self.usable:
            return None
        base = base if base is not None and 0 <= base < len(self.xfs) else 0
        key = (base, with_time)
        if key not in self._date_cache:
            fid = DATETIME_FORMAT_ID if with_time else DATE_FORMAT_ID
            self._date_cache[key] = self._derive(base, fid)
        return self._date_cache[key]

    def patched(self) -> bytes | None:
        """The new part, or None when nothing was added."""
        if not self._added:
            return None
        data, start = self.data, self._xfs
        assert start is not None
        tag = start.group()
        new_tag = (set_attr(tag, b"count", b"%d" % len(self.xfs))
                   if get_attr(tag, b"count") is not None else tag)
        return (data[:start.start()] + new_tag + data[start.end():self._xfs_end]
                + b"".join(self._added) + data[self._xfs_end:])
