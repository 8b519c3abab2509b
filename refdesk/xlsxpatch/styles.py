"""The styles part, read to tell date formats apart and, only when needed, given one more
cell format so that a date written into an unformatted cell shows as a date."""

from __future__ import annotations

import re

from refdesk.xlsxpatch.package import prefix_of
from refdesk.xlsxpatch.xmltext import xml_unescape

#: Built-in number formats that show dates or times (ECMA-376 18.8.30, plus the East Asian ids).
BUILTIN_DATE_FORMATS = {*range(14, 23), *range(27, 37), 45, 46, 47, *range(50, 59)}
DATE_FORMAT_ID = 14  # the reader's short date, m/d/yyyy in the US
DATETIME_FORMAT_ID = 22  # m/d/yyyy h:mm

_QUOTED = re.compile(r'"[^"]*"|\\.|\[(?![hms]+\])[^\]]*\]|_.|\*.')


def is_date_code(code: str) -> bool:
    """True for a custom number format that shows a date or time (`yyyy-mm-dd`, `h:mm`)."""
    bare = _QUOTED.sub("", code).split(";")[0].lower()
    if bare.strip() in ("general", "@", ""):
        return False
    return re.search(r"[dmyhs]", bare.replace("general", "")) is not None


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
        self.p = prefix_of(data, b"styleSheet")
        p = re.escape(self.p)
        for m in re.finditer(rb"<" + p + rb"numFmt\s[^>]*>", data):
            fid = re.search(rb'numFmtId="(\d+)"', m.group())
            code = re.search(rb'formatCode="([^"]*)"', m.group())
            if fid and code:
                self.formats[int(fid.group(1))] = xml_unescape(code.group(1).decode("utf-8"))
        self._xfs = re.search(rb"<" + p + rb"cellXfs\b[^>]*?(/?)>", data)
        if self._xfs and not self._xfs.group(1):
            self._xfs_end = data.find(b"</" + self.p + b"cellXfs>", self._xfs.end())
            body = data[self._xfs.end():self._xfs_end]
            for m in re.finditer(rb"<" + p + rb"xf\b[^>]*?(?:/>|>.*?</" + p + rb"xf>)", body,
                                 re.S):
                fid = re.search(rb'\snumFmtId="(\d+)"', m.group().split(b">", 1)[0])
                self.xfs.append((int(fid.group(1)) if fid else 0, m.group()))

    @property
    def usable(self) -> bool:
        return bool(self._xfs) and self._xfs_end >= 0 and bool(self.xfs)

    def is_date(self, style: int | None) -> bool:
        if style is None or not (0 <= style < len(self.xfs)):
            return False
        fid = self.xfs[style][0]
        return fid in BUILTIN_DATE_FORMATS or (fid in self.formats
                                               and is_date_code(self.formats[fid]))

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
            xf = self.xfs[base][1]
            head, sep, rest = xf.partition(b">") if not xf.endswith(b"/>") else (xf[:-2], b"/>",
                                                                                   b"")
            head = re.sub(rb'\snumFmtId="\d+"', b"", head)
            head = re.sub(rb'\sapplyNumberFormat="[^"]*"', b"", head)
            tag = b"<" + self.p + b"xf"
            head = tag + b' numFmtId="%d" applyNumberFormat="1"' % fid + head[len(tag):]
            new = head + sep + rest
            index = len(self.xfs)
            self.xfs.append((fid, new))
            self._added.append(new)
            self._date_cache[key] = index
        return self._date_cache[key]

    def patched(self) -> bytes | None:
        """The new part, or None when nothing was added."""
        if not self._added:
            return None
        data, start = self.data, self._xfs
        assert start is not None
        tag = start.group()
        count = re.search(rb'\scount="\d+"', tag)
        new_tag = (tag[:count.start()] + b' count="%d"' % len(self.xfs) + tag[count.end():]
                   if count else tag)
        return (data[:start.start()] + new_tag + data[start.end():self._xfs_end]
                + b"".join(self._added) + data[self._xfs_end:])
