"""One worksheet part, edited as bytes.

Rows and cells are found with regular expressions over the part's bytes; the rows that change
are rebuilt and spliced back, and every other byte of the part stays as it was. This is what
keeps a 100,000-row sheet fast and everything refdesk does not understand (extension lists,
sparklines, conditional formats, x14 data validations) intact.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import overload

from refdesk.errors import WriteError
from refdesk.xlsxpatch.cells import Encoded
from refdesk.xlsxpatch.package import main_prefixes, prefix_of
from refdesk.xlsxpatch.xmltext import (
    attr_pattern,
    cell_ref,
    col_letter,
    col_number,
    decode_xstring,
    get_attr,
    range_ref,
    set_attr,
    split_range,
    xml_unescape,
)

# Attributes in either quote style: `r="B8"` and `r='B8'` are the same XML.
_R_ATTR = re.compile(rb"\sr\s*=\s*[\"']([A-Za-z]*)(\d+)[\"']")
_R_USUAL = re.compile(rb'\sr="([A-Za-z]*)(\d+)"')  # tried first: most writers, and faster
_S_ATTR = re.compile(rb"\ss\s*=\s*[\"'](\d+)[\"']")
_T_ATTR = re.compile(rb"\st\s*=\s*[\"'](\w+)[\"']")
_NAME_END = re.compile(rb"<[\w.\-:]+")
#: What Excel computes into a range of cells: writing a value there is lost at recalculation.
_RANGE_FORMULAS = {b"array": "the array formula", b"shared": "the shared formula",
                   b"dataTable": "the data table"}
_V = re.compile(rb"<(?:[\w.\-]+:)?v(?:\s[^>]*)?>(.*?)</(?:[\w.\-]+:)?v>", re.S)
_T = re.compile(rb"<(?:[\w.\-]+:)?t(?:\s[^>]*)?>(.*?)</(?:[\w.\-]+:)?t>", re.S)
_PHONETIC = re.compile(rb"<(?:[\w.\-]+:)?rPh\b.*?</(?:[\w.\-]+:)?rPh>", re.S)
_HAS_VALUE = re.compile(rb"<(?:[\w.\-]+:)?(?:v|is|f)[\s>/]")
_FORMULA = re.compile(rb"<(?:[\w.\-]+:)?f[\s>/]")


class SharedStrings:
    """The shared-strings part, decoded only for the items asked for."""

    def __init__(self, data: bytes | None) -> None:
        self.data = data or b""
        self._spans: list[tuple[int, int]] | None = None

    def get(self, index: int) -> str | None:
        if self._spans is None:
            self._spans = [m.span(1) for m in re.finditer(
                rb"<(?:[\w.\-]+:)?si\b[^>]*?(?:/>|>(.*?)</(?:[\w.\-]+:)?si>)", self.data, re.S)]
        if not 0 <= index < len(self._spans):
            return None
        start, end = self._spans[index]
        return "" if start < 0 else _inline_text(self.data[start:end])


def _inline_text(body: bytes) -> str:
    body = _PHONETIC.sub(b"", body)
    text = b"".join(m.group(1) for m in _T.finditer(body)).decode("utf-8")
    return decode_xstring(xml_unescape(text))


def number_text(raw: str) -> str:
    """A stored number as refdesk's reader (fastexcel) shows it as text: at most nine decimals,
    no trailing zeros, never an exponent (`17.0` and `1.7E1` read as 17, `0.1+0.2` as 0.3)."""
    try:
        number = float(raw)
    except ValueError:
        return raw
    if number != number or number in (float("inf"), float("-inf")):
        return raw
    text = f"{number:.9f}".rstrip("0")
    return text[:-1] if text.endswith(".") else text


_PLAIN_NUMBER = re.compile(r"[+-]?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


NUMBER_START = frozenset("0123456789+-")


def id_key(text: str) -> str:
    """An id as the reader compares it: trimmed, and a number written any way (`1`, `1.0`,
    `1E0`) as the reader shows the number. `0042` stays text: its zeros are part of the id."""
    text = text.strip()
    if text[:1] in "0123456789+-" and _PLAIN_NUMBER.fullmatch(text):
        return number_text(text)
    return text


@dataclass
class RowSpan:
    number: int
    start: int
    open_end: int
    end: int
    closed: bool
    explicit: bool
    prefix: bytes = b""


@dataclass
class CellSpan:
    col: int
    start: int
    end: int
    attrs: bytes
    inner: bytes
    explicit: bool

    @property
    def style(self) -> int | None:
        m = _S_ATTR.search(self.attrs)
        return int(m.group(1)) if m else None

    @property
    def has_value(self) -> bool:
        return _HAS_VALUE.search(self.inner) is not None

    @property
    def has_formula(self) -> bool:
        return _FORMULA.search(self.inner) is not None


class _Rows(Sequence[RowSpan]):
    """A sheet's rows by position, each span made when first asked for."""

    def __init__(self, sheet: SheetXml, starts: list[int], numbers: list[int]) -> None:
        self.sheet = sheet
        self.starts = starts
        self.numbers = numbers
        self._made: dict[int, RowSpan] = {}

    def __len__(self) -> int:
        return len(self.starts)

    @overload
    def __getitem__(self, i: int) -> RowSpan: ...

    @overload
    def __getitem__(self, i: slice) -> list[RowSpan]: ...

    def __getitem__(self, i: int | slice) -> RowSpan | list[RowSpan]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        span = self._made.get(i)
        if span is None:
            m = self.sheet._row_re.match(self.sheet.data, self.starts[i])
            assert m is not None  # found by a stricter pattern
            span = self._made[i] = self.sheet._span(m, self.numbers[i], True)
        return span

    def __iter__(self) -> Iterator[RowSpan]:
        return (self[i] for i in range(len(self)))


#: Decides the style index of a cell: (encoded value, style the cell would get, the cell's
#: name, whether that style is borrowed from the row above) -> style.
StyleFor = Callable[[Encoded, "int | None", str, bool], "int | None"]


class SheetXml:
    def __init__(self, label: str, data: bytes, shared: SharedStrings) -> None:
        self.label = label
        self.data = data
        self.shared = shared
        self.p = prefix_of(data, b"worksheet")  # what new elements are written with
        #: Every prefix the part binds to SpreadsheetML (`x:`, none, or both): a regex.
        self.pp = p = main_prefixes(data, b"worksheet")
        self._row_re = re.compile(rb"<(" + p + rb")row(?=[\s/>])([^>]*?)(/?)>")
        self._row_end = b"</" + self.p + b"row>"
        self._cell_re = re.compile(rb"<(" + p + rb")c(?=[\s/>])([^>]*?)(/?)>")
        m = re.search(rb"<(" + p + rb")sheetData\b[^>]*?(/?)>", data)
        if not m:
            raise WriteError(f"{label}: the sheet has no cell data part; the file is damaged. "
                             "Nothing was written.")
        self._sd_tag = m
        self._sd_end = b"</" + m.group(1) + b"sheetData>"
        if m.group(2):
            self.body_start = self.body_end = m.end()
        else:
            self.body_start = m.end()
            self.body_end = data.find(self._sd_end, m.end())
            if self.body_end < 0:
                raise WriteError(f"{label}: the sheet's cell data is cut short; the file is "
                                 "damaged. Nothing was written.")
        # `<!` inside elements starts only a comment or CDATA: one search finds either.
        if data.find(b"<!", self.body_start, self.body_end) >= 0:
            raise WriteError(f"{label}: the sheet holds XML comments or CDATA among its cells, "
                             "which refdesk does not edit; open and re-save the workbook in "
                             "Excel. Nothing was written.")
        self._rows: Sequence[RowSpan] | None = None
        self._numbers: list[int] = []
        self._pending: dict[int, dict[int, object]] = {}
        self._formula_free: bool | None = None

    # -- reading ---------------------------------------------------------------------------
    @property
    def rows(self) -> Sequence[RowSpan]:
        if self._rows is None:
            self._rows = self._usual_rows()
            if self._rows is None:
                self._rows = self._all_rows()
                self._numbers = [r.number for r in self._rows]
        return self._rows

    def _usual_rows(self) -> _Rows | None:
        """The rows, when every row tag starts `<row r="N"` (as nearly every writer makes
        them): their starts and numbers in one literal-led pass, each row's span worked out
        only when asked for. None for any other sheet."""
        if self.pp != re.escape(self.p):
            return None
        data, start, stop = self.data, self.body_start, self.body_end
        p = re.escape(self.p)
        if re.compile(rb"<" + p + rb'row(?=[\s/>])(?! r="[1-9][0-9]*")').search(
                data, start, stop) is not None:
            return None
        found = [(m.start(), m.group(1)) for m in
                 re.compile(rb"<" + p + rb'row r="([0-9]+)"').finditer(data, start, stop)]
        starts = [at for at, _ in found]
        numbers = [int(n) for _, n in found]
        if not all(a < b for a, b in zip(numbers, numbers[1:], strict=False)):
            return None  # the full pass says which row is out of order
        rows = _Rows(self, starts, numbers)
        # Only rows after the last end tag can lack one: the full pass's check, in short.
        last_end = data.rfind(self._row_end, start, stop)
        for i in range(bisect.bisect_right(starts, last_end), len(rows)):
            rows[i]
        self._numbers = numbers
        return rows

    def _span(self, m: re.Match[bytes], number: int, explicit: bool) -> RowSpan:
        """The row whose start tag `m` matched (`_row_re`), with its end found."""
        prefix = m.group(1)
        if m.group(3):
            end = m.end()
        else:
            # The row's own end tag: a writer may mix prefixes (`<x:row>` in a part whose
            # root has none).
            end_tag = self._row_end if prefix == self.p else b"</" + prefix + b"row>"
            end = self.data.find(end_tag, m.end(), self.body_end)
            if end < 0:
                raise WriteError(f"{self.label}: row {number} is not closed; the file is "
                                 "damaged. Nothing was written.")
            end += len(end_tag)
        return RowSpan(number, m.start(), m.end(), end, bool(m.group(3)), explicit, prefix)

    def _all_rows(self) -> list[RowSpan]:
        rows: list[RowSpan] = []
        last = 0
        for m in self._row_re.finditer(self.data, self.body_start, self.body_end):
            r = _R_USUAL.search(m.group(2)) or _R_ATTR.search(m.group(2))
            number = int(r.group(2)) if r else last + 1
            span = self._span(m, number, r is not None)
            if number < 1:
                # LibreOffice drops such a row when it re-saves the file: say so.
                raise WriteError(f"{self.label}: the sheet stores a row numbered {number}, "
                                 "which Excel never writes (its rows start at 1), so the "
                                 "program that made the file counted rows differently. "
                                 "Open the workbook in Excel, save it as Excel Workbook "
                                 "(.xlsx) and check that its first rows are all there "
                                 "(LibreOffice drops a row 0 when it saves). Nothing was "
                                 "written.")
            if number <= last:
                raise WriteError(f"{self.label}: rows are stored out of order (row {number} "
                                 f"after row {last}); open and re-save the workbook in "
                                 "Excel. Nothing was written.")
            rows.append(span)
            last = number
        return rows

    def row(self, number: int) -> RowSpan | None:
        rows = self.rows
        i = bisect.bisect_left(self._numbers, number)
        return rows[i] if i < len(rows) and rows[i].number == number else None

    def cells(self, row: RowSpan) -> list[CellSpan]:
        if row.closed:
            return []
        cells: list[CellSpan] = []
        last = 0
        data = self.data
        stop = row.end - len(row.prefix) - 6  # `</row>`
        for m in self._cell_re.finditer(data, row.open_end, stop):
            r = _R_USUAL.search(m.group(2)) or _R_ATTR.search(m.group(2))
            col = col_number(r.group(1).decode()) if r and r.group(1) else last + 1
            if m.group(3):
                end, inner = m.end(), b""
            else:
                cell_end = b"</" + m.group(1) + b"c>"
                end = data.find(cell_end, m.end(), stop)
                if end < 0:
                    raise WriteError(f"{self.label}: a cell in row {row.number} is not closed; "
                                     "the file is damaged. Nothing was written.")
                inner = data[m.end():end]
                end += len(cell_end)
            cells.append(CellSpan(col, m.start(), end, m.group(2), inner, r is not None))
            last = col
        return cells

    def cell(self, row: int, col: int) -> CellSpan | None:
        span = self.row(row)
        if span is None:
            return None
        for cell in self.cells(span):
            if cell.col == col:
                return cell
        return None

    def text(self, cell: CellSpan) -> str | None:
        """A cell's value as text: shared and inline strings, numbers without `.0`."""
        t = _T_ATTR.search(cell.attrs)
        kind = t.group(1).decode() if t else "n"
        if kind == "inlineStr":
            return _inline_text(cell.inner)
        v = _V.search(cell.inner)
        if v is None:
            return None
        raw = xml_unescape(v.group(1).decode("utf-8"))
        if kind == "s":
            try:
                return self.shared.get(int(raw))
            except ValueError:
                return None
        if kind == "b":
            return "TRUE" if raw.strip() in ("1", "true") else "FALSE"
        if kind in ("str", "e", "d"):
            return decode_xstring(raw)
        return number_text(raw)

    def column_texts(self, col: int) -> dict[int, str]:
        """Row number -> text of every cell in one column (the id column, for lookups)."""
        found: dict[int, str] = {}
        data, start, stop = self.data, self.body_start, self.body_end
        # One literal-led pass: is every cell `<c r="...` with its address first? (Nearly
        # every writer does that, and then a literal prefix lets the search skip ahead.)
        odd = re.compile(rb"<" + re.escape(self.p) + rb"c(?:[>/\t\r\n]| (?!r=))")
        r_first = self.pp == re.escape(self.p) and odd.search(data, start, stop) is None
        if not r_first and self._implicit_cells():
            for row in self.rows:
                for cell in self.cells(row):
                    if cell.col == col:
                        text = self.text(cell)
                        if text is not None:
                            found[row.number] = text
            return found
        letters = col_letter(col).encode()
        if r_first:
            return self._usual_column_texts(letters)
        p = self.pp
        head = (rb"<(" + p + rb")c r=[\"']" + letters if r_first
                else rb"<(" + p + rb")c\s(?:[^>]*?\s)?r\s*=\s*[\"']" + letters)
        pattern = re.compile(head + rb"(\d+)[\"']([^>]*?)(?:/>|>(.*?)</\1c>)", re.S)
        simple = re.compile(rb"<" + p + rb"is><" + p + rb"t(?:\s[^>]*)?>([^<]*)</" + p
                            + rb"t></" + p + rb"is>$")
        for m in pattern.finditer(data, start, stop):
            inner = m.group(4)
            if not inner:
                continue
            attrs = m.group(3)
            if b"inlineStr" in attrs:
                quick = simple.match(inner)
                if quick:
                    raw = quick.group(1).decode("utf-8")
                    text = decode_xstring(xml_unescape(raw)) if ("&" in raw or "_x" in raw) \
                        else raw
                else:
                    text = _inline_text(inner)
            else:
                text = self.text(CellSpan(col, m.start(), m.end(), b" " + attrs, inner, True))
            if text is not None:
                found[int(m.group(2))] = text
        return found

    def _usual_column_texts(self, letters: bytes) -> dict[int, str]:
        """column_texts when every cell starts `<c r=`: one findall, with an inline string of
        the usual form (`<is><t>text</t></is>`) taken by the pattern itself, so that the loop
        does little per row."""
        e = re.escape(self.p)
        pattern = re.compile(
            rb"<" + e + rb"c r=[\"']" + letters + rb"(\d+)[\"']([^>]*?)(?:/>|><" + e + rb"is><"
            + e + rb"t(?:\s[^>]*)?>([^<]*)</" + e + rb"t></" + e + rb"is></" + e + rb"c>|>(.*?)</"
            + e + rb"c>)", re.S)
        found: dict[int, str] = {}
        for row, attrs, quick, inner in pattern.findall(self.data, self.body_start,
                                                        self.body_end):
            if inner:
                text = self.text(CellSpan(0, 0, 0, b" " + attrs, inner, True))
            elif b"inlineStr" not in attrs:
                continue  # an empty cell, or `<is>` in a cell that is not an inline string
            else:
                text = quick.decode("utf-8")
                if "&" in text or "_x" in text:
                    text = decode_xstring(xml_unescape(text))
            if text is not None:
                found[int(row)] = text
        return found

    def _implicit_cells(self) -> bool:
        pattern = re.compile(rb"<" + self.pp + rb"c(?=[\s/>])(?![^>]*\sr\s*=)")
        return pattern.search(self.data, self.body_start, self.body_end) is not None

    def row_texts(self, number: int) -> dict[int, str]:
        span = self.row(number)
        if span is None:
            return {}
        texts = {}
        for cell in self.cells(span):
            text = self.text(cell)
            if text is not None and text.strip():
                texts[cell.col] = text
        return texts

    def last_row_with_values(self, first: int, last: int, c1: int = 1,
                             c2: int = 16_384) -> int | None:
        """The last row in first..last holding a value in columns c1..c2 (searching upward)."""
        rows = self.rows
        i = bisect.bisect_right(self._numbers, last) - 1
        while i >= 0 and rows[i].number >= first:
            row = rows[i]
            if (not row.closed and _HAS_VALUE.search(self.data, row.open_end, row.end)
                    and any(c1 <= c.col <= c2 and c.has_value for c in self.cells(row))):
                return row.number
            i -= 1
        return None

    def column_style(self, col: int) -> int | None:
        p = self.pp
        m = re.search(rb"<" + p + rb"cols\b[^>]*>(.*?)</" + p + rb"cols>",
                      self.data[:self.body_start], re.S)
        if not m:
            return None
        for c in re.finditer(rb"<" + p + rb"col\s[^>]*>", m.group(1)):
            lo, hi = _int_attr(c.group(), b"min"), _int_attr(c.group(), b"max")
            if lo is not None and hi is not None and lo <= col <= hi:
                return _int_attr(c.group(), b"style")
        return None

    def _ranges(self, element: bytes, data: bytes) -> list[tuple[int, int, int, int]]:
        ranges = []
        for m in re.finditer(rb"<" + self.pp + element + rb"\s[^>]*>", data):
            ref = get_attr(m.group(), b"ref")
            try:
                ranges.append(split_range(ref.decode()))
            except (AttributeError, ValueError):
                continue
        return ranges

    def merged(self) -> list[tuple[int, int, int, int]]:
        return self._ranges(b"mergeCell", self.data[self.body_end:])

    @property
    def formula_free(self) -> bool:
        """Whether the part surely holds no formula: one literal search of the whole part
        (the sheet's own and the workbook's formula checks share it). False when unsure."""
        if self._formula_free is None:
            free = self.pp == re.escape(self.p)
            tag, data = b"<" + self.p + b"f", self.data
            at = data.find(tag) if free else -1
            while at >= 0:  # `<formula1>` of a data validation is no formula
                if data[at + len(tag):at + len(tag) + 1] in (b" ", b"\t", b"\r", b"\n", b">",
                                                              b"/"):
                    free = False
                    break
                at = data.find(tag, at + len(tag))
            self._formula_free = free
        return self._formula_free

    def formula_ranges(self) -> list[tuple[str, tuple[int, int, int, int]]]:
        """Ranges Excel fills from one formula (array formulas, shared formulas, data tables),
        each with what it is."""
        found: list[tuple[str, tuple[int, int, int, int]]] = []
        if self.formula_free:
            return found
        pattern = re.compile(rb"<" + self.pp + rb"f\s[^>]*>")
        for m in pattern.finditer(self.data, self.body_start, self.body_end):
            kind = _RANGE_FORMULAS.get(get_attr(m.group(), b"t") or b"")
            ref = get_attr(m.group(), b"ref")
            if kind is None or ref is None:
                continue
            try:
                found.append((kind, split_range(ref.decode())))
            except ValueError:
                continue
        return found

    @property
    def protected(self) -> bool:
        m = re.search(rb"<" + self.pp + rb"sheetProtection\s[^>]*>", self.data[self.body_end:])
        return bool(m and (get_attr(m.group(), b"sheet") or b"").strip() in (b"1", b"true"))

    # -- writing ---------------------------------------------------------------------------
    def set(self, row: int, col: int, value: object) -> None:
        self._pending.setdefault(row, {})[col] = value

    @property
    def pending(self) -> dict[int, dict[int, object]]:
        return self._pending

    def build(self, encode: Callable[[object, str], Encoded], style_for: StyleFor,
              template_row: dict[int, int] | None = None) -> bytes:
        """The part with every pending cell written.

        `template_row` maps a new row number to the row whose cell styles it copies (the
        last data row above appended rows), so new rows look like the rows above them.
        """
        if not self._pending:
            return self.data
        data, p = self.data, self.p.decode()
        merges = self.merged()
        computed = self.formula_ranges()
        edits: list[tuple[int, int, int, bytes]] = []  # (start, end, order, bytes)
        inserted_before: set[int] = set()
        for number in sorted(self._pending):
            changes = self._pending[number]
            span = self.row(number)
            old = {c.col: c for c in self.cells(span)} if span else {}
            template = template_row.get(number) if template_row else None
            above = ({c.col: c for c in self.cells(self.row(template))}
                     if template and self.row(template) else {})
            new_cells: dict[int, bytes] = {}
            for col, value in changes.items():
                where = f"{self.label}!{cell_ref(number, col)}"
                for r1, c1, r2, c2 in merges:
                    if r1 <= number <= r2 and c1 <= col <= c2 and (number, col) != (r1, c1):
                        raise WriteError(f"{where} is inside the merged cells "
                                         f"{range_ref(r1, c1, r2, c2)}; unmerge them in Excel "
                                         "first. Nothing was written.")
                cell = old.get(col)
                if cell is not None and cell.has_formula:
                    raise WriteError(f"{where} holds a formula, which refdesk never overwrites; "
                                     "clear the cell or move the formula, then run refdesk "
                                     "again. Nothing was written.")
                for kind, (r1, c1, r2, c2) in computed:
                    if r1 <= number <= r2 and c1 <= col <= c2 and (number, col) != (r1, c1):
                        raise WriteError(f"{where} is inside {kind} {range_ref(r1, c1, r2, c2)}"
                                         f" (entered in {cell_ref(r1, c1)}), whose values Excel "
                                         "computes; change the formula in Excel instead. "
                                         "Nothing was written.")
                encoded = encode(value, where)
                borrowed = False
                if cell is not None and cell.style is not None:
                    base = cell.style
                elif col in above and above[col].style is not None:
                    base, borrowed = above[col].style, True
                else:
                    base = self.column_style(col)
                style = style_for(encoded, base, where, borrowed)
                attrs = f' r="{cell_ref(number, col)}"'
                if style:
                    attrs += f' s="{style}"'
                if encoded.t:
                    attrs += f' t="{encoded.t}"'
                inner = encoded.inner.replace("{p}", p)
                new_cells[col] = (f"<{p}c{attrs}/>" if not inner
                                  else f"<{p}c{attrs}>{inner}</{p}c>").encode("utf-8")
            if span is None:
                body = b"".join(new_cells[c] for c in sorted(new_cells))
                lo, hi = min(new_cells), max(new_cells)
                row_bytes = (f'<{p}row r="{number}" spans="{lo}:{hi}">'.encode() + body
                             + self._row_end)
                i = bisect.bisect_left(self._numbers, number)
                at = self.rows[i].start if i < len(self.rows) else self.body_end
                if self._sd_tag.group(2):  # `<sheetData/>`: open it around the new rows
                    at = self._sd_tag.start()
                edits.append((at, at, number, row_bytes))
                if i < len(self.rows) and not self.rows[i].explicit:
                    inserted_before.add(i)
            else:
                edits.append((span.start, span.end, number,
                               self._rebuild_row(span, old, new_cells)))
        for i in inserted_before:  # a row after an insertion needs its own number now
            nxt = self.rows[i]
            if not any(e[0] == nxt.start and e[1] == nxt.end for e in edits):
                tag = data[nxt.start:nxt.open_end]
                fixed = set_attr(tag, b"r", str(nxt.number).encode())
                edits.append((nxt.start, nxt.open_end, nxt.number, fixed))
        edits.sort(key=lambda e: (e[0], e[2]))
        if self._sd_tag.group(2):
            tag = self._sd_tag
            rows = b"".join(e[3] for e in edits)
            edits = [(tag.start(), tag.end(), 0,
                      tag.group()[:-2].rstrip() + b">" + rows + self._sd_end)]
        edits = self._dimension_edit() + edits  # the dimension comes before the cell data
        out, pos = [], 0
        for start, end, _, chunk in edits:
            out.append(data[pos:start])
            out.append(chunk)
            pos = end
        out.append(data[pos:])
        return b"".join(out)

    def _rebuild_row(self, span: RowSpan, old: dict[int, CellSpan],
                     new_cells: dict[int, bytes]) -> bytes:
        data = self.data
        tag = data[span.start:span.open_end]
        if span.closed:
            tag = tag[:-2].rstrip() + b">"
        if not span.explicit:
            tag = set_attr(tag, b"r", str(span.number).encode())
        spans = get_attr(tag, b"spans")
        if spans is not None:
            numbers = [int(n) for n in re.findall(rb"\d+", spans)]
            lo, hi = min(numbers + list(new_cells)), max(numbers + list(new_cells))
            if numbers and (lo, hi) != (min(numbers), max(numbers)):
                tag = set_attr(tag, b"spans", f"{lo}:{hi}".encode())
        # Splice inside the row, so that whatever lies between its cells stays as it was.
        edits: list[tuple[int, int, int, bytes]] = []  # (start, end, column, bytes)
        cells = sorted(old.values(), key=lambda c: c.start)
        for cell in cells:
            if cell.col in new_cells:
                edits.append((cell.start, cell.end, cell.col, new_cells[cell.col]))
            elif not cell.explicit:  # the positions in this row are about to change
                name = _NAME_END.match(data, cell.start)
                cut = name.end() if name else cell.start + 2
                edits.append((cut, cut, cell.col,
                              f' r="{cell_ref(span.number, cell.col)}"'.encode()))
        for col, raw in new_cells.items():
            if col in old:
                continue
            after = [c for c in cells if c.col > col]
            if after:
                at = min(c.start for c in after)
            elif cells:
                at = max(c.end for c in cells)
            else:
                at = span.open_end
            edits.append((at, at, col, raw))
        edits.sort(key=lambda e: (e[0], e[2]))
        if span.closed:
            body = b"".join(e[3] for e in edits)
            return tag + body + b"</" + span.prefix + b"row>"
        out, pos = [tag], span.open_end
        for start, end, _, chunk in edits:
            out.append(data[pos:start])
            out.append(chunk)
            pos = end
        out.append(data[pos:span.end])
        return b"".join(out)

    def _dimension_edit(self) -> list[tuple[int, int, int, bytes]]:
        """The sheet's used range grown to cover the new cells, as an edit of its `ref`."""
        tag = re.compile(rb"<" + self.pp + rb"dimension\s[^>]*>").search(
            self.data, 0, self._sd_tag.start())
        m = attr_pattern(b"ref").search(tag.group()) if tag else None
        if not tag or not m:
            return []
        r1, c1 = min(self._pending), min(min(c) for c in self._pending.values())
        r2, c2 = max(self._pending), max(max(c) for c in self._pending.values())
        try:
            o1, oc1, o2, oc2 = split_range(m.group(2).decode())
        except ValueError:
            return []
        if (o1, oc1, o2, oc2) == (1, 1, 1, 1) and not self.rows:
            new = (r1, c1, r2, c2)  # an empty sheet says A1
        else:
            new = (min(o1, r1), min(oc1, c1), max(o2, r2), max(oc2, c2))
        if new == (o1, oc1, o2, oc2):
            return []
        at = tag.start()
        return [(at + m.start(2), at + m.end(2), 0, range_ref(*new).encode())]


def _int_attr(tag: bytes, name: bytes) -> int | None:
    value = get_attr(tag, name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
