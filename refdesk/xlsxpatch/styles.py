"""The styles part, read to tell date formats apart and, only when needed, given one more
cell format so that a date written into an unformatted cell shows as a date (or a number
below a date shows as a number)."""

from __future__ import annotations

import re
from xml.etree import ElementTree as ET

from refdesk.errors import WriteError
from refdesk.xlsxpatch.package import main_prefixes, prefix_of
from refdesk.xlsxpatch.xmltext import drop_attr, get_attr, set_attr, xml_unescape

#: Built-in number formats that show dates or times (ECMA-376 18.8.30, plus the East Asian ids).
BUILTIN_DATE_FORMATS = {*range(14, 23), *range(27, 37), 45, 46, 47, *range(50, 59)}
GENERAL_FORMAT_ID = 0
DATE_FORMAT_ID = 14  # the reader's short date, m/d/yyyy in the US
DATETIME_FORMAT_ID = 22  # m/d/yyyy h:mm
TEXT_FORMAT_ID = 49  # `@`
FIRST_CUSTOM_ID = 164  # ids below are Excel's built-in formats
#: (built-in id, the code added under a fresh id when a workbook redefined that id).
_WANTED = {"general": (GENERAL_FORMAT_ID, "General"),
           "date": (DATE_FORMAT_ID, "yyyy\\-mm\\-dd"),
           "datetime": (DATETIME_FORMAT_ID, "yyyy\\-mm\\-dd\\ hh:mm")}

_QUOTED = re.compile(r'"[^"]*"|\\.|\[(?![hms]+\])[^\]]*\]|_.|\*.')
_NAME = rb"[A-Za-z_][\w.\-]*"
_XMLNS = re.compile(rb"\sxmlns:(" + _NAME + rb")\s*=\s*([\"'])[^\"']*\2")
_USED_PREFIX = re.compile(rb"</?(" + _NAME + rb"):|\s(" + _NAME + rb"):" + _NAME + rb"\s*=")


def is_date_code(code: str) -> bool:
    """True for a custom number format that shows a date or time (`yyyy-mm-dd`, `h:mm`)."""
    bare = _QUOTED.sub("", code).split(";")[0].lower()
    if bare.strip() in ("general", "@", ""):
        return False
    return re.search(r"[dmyhs]", bare.replace("general", "")) is not None


def _is_text_code(code: str) -> bool:
    return _QUOTED.sub("", code).strip() == "@"


def _code_kind(code: str) -> str:
    if is_date_code(code):
        return "date"
    if _is_text_code(code):
        return "text"
    return "general" if code.strip().lower() in ("general", "") else "number"


def _builtin_kind(fid: int) -> str:
    if fid in BUILTIN_DATE_FORMATS:
        return "date"
    if fid == TEXT_FORMAT_ID:
        return "text"
    return "general" if fid == GENERAL_FORMAT_ID else "number"


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


def _declared(tag: bytes) -> set[bytes]:
    return {m.group(1) for m in _XMLNS.finditer(tag)}


def _carry_namespaces(xf: bytes, context: bytes, declared: set[bytes]) -> bytes | None:
    """`xf` able to stand where only `declared` prefixes are bound: the declarations it
    needs from `context` (the elements it sat in) added to its own tag; None when one is
    found nowhere, for no prefix may appear undeclared."""
    head_end = xf.find(b">")
    own = _declared(xf[:head_end])
    needed = {m.group(1) or m.group(2) for m in _USED_PREFIX.finditer(xf)}
    needed -= declared | own | {b"xml", b"xmlns"}
    if not needed:
        return xf
    found = {m.group(1): m.group() for m in _XMLNS.finditer(context)}
    if not needed <= set(found):
        return None
    at = head_end - 1 if xf[head_end - 1:head_end] == b"/" else head_end
    return xf[:at] + b"".join(found[p] for p in sorted(needed)) + xf[at:]


class Styles:
    def __init__(self, data: bytes | None) -> None:
        #: True when the workbook had no styles part and this one is new.
        self.created = data is None
        data = MINIMAL_STYLES if data is None else data
        self.data = data
        self.formats: dict[int, str] = {}
        #: Each cell format in cellXfs, in the order cells count them: (numFmtId, the xf
        #: element a copy starts from, or b"" when there is none to copy).
        self.xfs: list[tuple[int, bytes]] = []
        #: What an xf read out of mc:AlternateContent sat in, by index: its namespaces.
        self._contexts: dict[int, bytes] = {}
        self._declared: set[bytes] = set()
        #: How many more cell formats calamine counts than Excel does (see _read_xfs).
        self._miscount = 0
        self._added: list[bytes] = []
        self._added_formats: list[bytes] = []
        self._format_ids: dict[str, int] = {}
        self._date_cache: dict[tuple[int, bool], int | None] = {}
        self._plain_cache: dict[int, int | None] = {}
        self.p = prefix_of(data, b"styleSheet")
        p = main_prefixes(data, b"styleSheet")
        self._root = re.search(rb"<" + p + rb"styleSheet\b[^>]*>", data)
        # The numFmts list only: a differential format (dxf) may carry a numFmt of its own.
        self._numfmts = re.search(rb"<(" + p + rb")numFmts\b[^>]*?(/?)>", data)
        self._numfmts_end = -1
        if self._numfmts and not self._numfmts.group(2):
            self._numfmts_end = data.find(b"</" + self._numfmts.group(1) + b"numFmts>",
                                          self._numfmts.end())
            listed = data[self._numfmts.end():self._numfmts_end]
            for m in re.finditer(rb"<" + p + rb"numFmt\s[^>]*>", listed):
                fid, code = get_attr(m.group(), b"numFmtId"), get_attr(m.group(), b"formatCode")
                if fid and fid.isdigit() and code is not None:
                    self.formats.setdefault(int(fid), xml_unescape(code.decode("utf-8")))
        self._xfs = re.search(rb"<(" + p + rb")cellXfs\b[^>]*?(/?)>", data)
        self._xfs_end = -1
        if self._xfs and not self._xfs.group(2):
            self._xfs_end = data.find(b"</" + self._xfs.group(1) + b"cellXfs>", self._xfs.end())
            self._read_xfs(p)

    def _read_xfs(self, p: bytes) -> None:
        """The children of cellXfs. A writer (Hancom) may wrap one in mc:AlternateContent: it
        counts once, as the mc:Fallback Excel reads, and is copied from there, never from the
        mc:Choice whose prefixes are declared only inside it. calamine (refdesk's reader)
        counts every xf in the block instead, Choice and Fallback alike: the difference is
        kept so that _derive can add formats whose index means the same in both counts."""
        assert self._xfs is not None
        body = self.data[self._xfs.end():self._xfs_end]
        xf_re = re.compile(rb"<(" + p + rb")xf\b[^>]*?(?:/>|>.*?</\1xf>)", re.S)
        child = re.compile(rb"<(" + p + rb")xf\b[^>]*?(?:/>|>.*?</\1xf>)|<(" + _NAME
                           + rb":|)AlternateContent\b.*?</\2AlternateContent>", re.S)
        root = self._root.group() if self._root else b""
        self._declared = _declared(root) | _declared(self._xfs.group())
        for m in child.finditer(body):
            if m.group(1) is not None:
                xf = m.group()
            else:
                block = m.group()
                mc = m.group(2) or b""
                fallback = re.search(rb"<" + re.escape(mc) + rb"Fallback\b[^>]*>(.*?)</"
                                     + re.escape(mc) + rb"Fallback>", block, re.S)
                inner = xf_re.search(fallback.group(1)) if fallback else None
                if inner is None:  # no fallback: the first choice, if its prefixes can follow
                    inner = xf_re.search(block)
                self._miscount += len(xf_re.findall(block)) - 1
                if inner is None:
                    self.xfs.append((0, b""))
                    continue
                xf = inner.group()
                self._contexts[len(self.xfs)] = block[:block.find(xf)]
            fid = get_attr(xf.split(b">", 1)[0], b"numFmtId")
            self.xfs.append((int(fid) if fid and fid.isdigit() else 0, xf))

    @property
    def usable(self) -> bool:
        return bool(self._xfs) and self._xfs_end >= 0 and bool(self.xfs)

    def is_date(self, style: int | None) -> bool:
        return self.format_kind(style) == "date"

    def format_kind(self, style: int | None) -> str:
        """What a cell format shows: "date", "text" (`@`), "number" (any other number
        format) or "general". A cell without one shows cell format 0. An id the workbook
        lists in numFmts is judged by its code there, even a built-in id it redefines."""
        style = 0 if style is None else style
        if not (0 <= style < len(self.xfs)):
            return "general"
        fid = self.xfs[style][0]
        code = self.formats.get(fid)
        return _builtin_kind(fid) if code is None else _code_kind(code)

    def _shows(self, fid: int) -> str:
        code = self.formats.get(fid)
        return _builtin_kind(fid) if code is None else _code_kind(code)

    def for_value(self, style: int | None, kind: str) -> int | None:
        """A neighbour's cell format for a value of `kind` ("number", "text", ...): kept when
        its number format suits the value, else the same format showing General (a number
        below a date must not turn into a date). Dates are left to date_style."""
        shown = self.format_kind(style)
        fits = {"number": ("general", "number"), "text": ("general", "text")}
        if kind not in fits or shown in fits[kind]:
            return style
        return self.plain_style(0 if style is None else style)

    def plain_style(self, base: int) -> int | None:
        """A copy of `base` (font, fill, border kept) whose number format is General; None
        when the styles part cannot be changed."""
        if not self.usable or not (0 <= base < len(self.xfs)):
            return None
        if base not in self._plain_cache:
            self._plain_cache[base] = self._derive(base, self._format_id("general"))
        return self._plain_cache[base]

    def _format_id(self, kind: str) -> int:
        """A number format id that really shows `kind`: the built-in one unless the workbook
        redefined it in numFmts (then one of its own with the right code, or a new one)."""
        if kind not in self._format_ids:
            builtin, code = _WANTED[kind]
            shown = "date" if kind == "datetime" else kind
            fid = builtin
            if self._shows(builtin) != shown:
                same = [i for i, c in sorted(self.formats.items())
                        if i >= FIRST_CUSTOM_ID and c == code]
                fid = same[0] if same else self._add_format(code)
            self._format_ids[kind] = fid
        return self._format_ids[kind]

    def _add_format(self, code: str) -> int:
        fid = max(FIRST_CUSTOM_ID - 1, *self.formats) + 1
        self.formats[fid] = code
        self._added_formats.append(b'<%snumFmt numFmtId="%d" formatCode="%s"/>'
                                   % (self.p, fid, code.encode()))
        return fid

    def _derive(self, base: int, fid: int) -> int | None:
        """Add a copy of the cell format `base` showing number format `fid`; its index."""
        xf = self._copyable(base)
        if xf is None:
            xf = self._copyable(0)  # nothing to copy: the default format's look
        if xf is None:
            return None
        head, sep, rest = xf.partition(b">") if not xf.endswith(b"/>") else (xf[:-2], b"/>",
                                                                               b"")
        head = drop_attr(head, b"applyNumberFormat")
        head = set_attr(head, b"numFmtId", b"%d" % fid)
        if fid:
            head = set_attr(head, b"applyNumberFormat", b"1")
        new = head + sep + rest
        # With n = the miscount, n + 1 copies: the last one's index (or the first one's, when
        # calamine counts fewer) names a copy in Excel's count and in calamine's alike.
        copies = abs(self._miscount) + 1
        for _ in range(copies):
            self.xfs.append((fid, new))
            self._added.append(new)
        return len(self.xfs) - 1 if self._miscount >= 0 else len(self.xfs) - copies

    def _copyable(self, index: int) -> bytes | None:
        xf = self.xfs[index][1]
        if not xf:
            return None
        return _carry_namespaces(xf, self._contexts.get(index, b""), self._declared)

    def date_style(self, base: int | None, with_time: bool) -> int | None:
        """A cell format like `base` that shows dates; None when the part cannot be changed."""
        if self.is_date(base):
            return base
        if not self.usable:
            return None
        base = base if base is not None and 0 <= base < len(self.xfs) else 0
        key = (base, with_time)
        if key not in self._date_cache:
            fid = self._format_id("datetime" if with_time else "date")
            self._date_cache[key] = self._derive(base, fid)
        return self._date_cache[key]

    def patched(self) -> bytes | None:
        """The new part, or None when nothing was added. Raises WriteError when the result
        would not be well-formed XML (the part is then left as it is)."""
        if not self._added:
            return None
        data, start = self.data, self._xfs
        assert start is not None
        tag = start.group()
        new_tag = (set_attr(tag, b"count", b"%d" % len(self.xfs))
                   if get_attr(tag, b"count") is not None else tag)
        out = (data[:start.start()] + new_tag + data[start.end():self._xfs_end]
               + b"".join(self._added) + data[self._xfs_end:])
        if self._added_formats:  # numFmts comes before cellXfs: its offsets hold
            out = self._with_formats(out)
        # What was added, inside the tags it lands in, must parse: every prefix bound. Only
        # that is parsed, for a styles part can be megabytes of formats refdesk left alone.
        root = self._root.group() if self._root else b"<styleSheet>"
        fmts = self._numfmts.group(1) if self._numfmts else self.p
        added = (root + b"<%snumFmts>" % fmts + b"".join(self._added_formats)
                 + b"</%snumFmts>" % fmts + tag + b"".join(self._added)
                 + b"</%scellXfs></%sstyleSheet>" % (start.group(1), self.p))
        try:
            ET.fromstring(added)
        except ET.ParseError as exc:
            raise WriteError(f"the workbook's styles part cannot be extended to format the new "
                             f"cells ({exc}); open and re-save the workbook in Excel. Nothing "
                             "was written.") from None
        return out

    def _with_formats(self, data: bytes) -> bytes:
        formats = b"".join(self._added_formats)
        listed = self._numfmts
        if listed is not None and self._numfmts_end >= 0:
            tag = listed.group()
            count = len(re.findall(rb"<" + re.escape(listed.group(1)) + rb"numFmt\s",
                                   data[listed.end():self._numfmts_end]))
            new_tag = (set_attr(tag, b"count", b"%d" % (count + len(self._added_formats)))
                       if get_attr(tag, b"count") is not None else tag)
            return (data[:listed.start()] + new_tag + data[listed.end():self._numfmts_end]
                    + formats + data[self._numfmts_end:])
        block = (b'<%snumFmts count="%d">' % (self.p, len(self._added_formats)) + formats
                 + b"</%snumFmts>" % self.p)
        if listed is not None:  # `<numFmts/>`
            return data[:listed.start()] + block + data[listed.end():]
        assert self._root is not None
        return data[:self._root.end()] + block + data[self._root.end():]
