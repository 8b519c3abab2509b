"""An Excel table (a ListObject) on a worksheet: its range, header names, and growing it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from refdesk.xlsxpatch.package import main_prefixes
from refdesk.xlsxpatch.xmltext import (
    attr_pattern,
    decode_xstring,
    drop_attr,
    get_attr,
    range_ref,
    set_attr,
    split_range,
    xml_unescape,
)


def _attr(tag: bytes, name: bytes) -> str | None:
    value = get_attr(tag, name)
    return xml_unescape(value.decode("utf-8")) if value is not None else None


@dataclass
class Table:
    part: str
    data: bytes
    name: str
    r1: int
    c1: int
    r2: int
    c2: int
    header_rows: int
    totals_rows: int
    columns: list[str]

    @classmethod
    def parse(cls, part: str, data: bytes) -> Table | None:
        p = main_prefixes(data, b"table")
        root = re.search(rb"<" + p + rb"table\s[^>]*>", data)
        if not root:
            return None
        tag = root.group()
        try:
            r1, c1, r2, c2 = split_range(_attr(tag, b"ref") or "")
        except ValueError:
            return None
        columns = [decode_xstring(_attr(m.group(), b"name") or "")
                   for m in re.finditer(rb"<" + p + rb"tableColumn\s[^>]*>", data)]
        name = _attr(tag, b"displayName") or _attr(tag, b"name") or part
        try:
            headers = int(_attr(tag, b"headerRowCount") or 1)
            totals = int(_attr(tag, b"totalsRowCount") or 0)
        except ValueError:
            return None
        return cls(part, data, name, r1, c1, r2, c2, headers, totals, columns)

    @property
    def first_data_row(self) -> int:
        return self.r1 + self.header_rows

    @property
    def last_data_row(self) -> int:
        return self.r2 - self.totals_rows

    def extended(self, last_row: int) -> bytes:
        """The table part with its range (and its filter's range) reaching down to last_row."""
        if last_row <= self.r2:
            return self.data
        old_ref = range_ref(self.r1, self.c1, self.r2, self.c2).encode()
        new_ref = range_ref(self.r1, self.c1, last_row, self.c2).encode()
        data = self.data
        p = main_prefixes(data, b"table")
        root = re.search(rb"<" + p + rb"table\s[^>]*>", data)
        assert root is not None
        tag = set_attr(root.group(), b"ref", new_ref)
        # Excel's "insert row" marker belongs to an empty last row that is now filled.
        tag = drop_attr(drop_attr(tag, b"insertRow"), b"insertRowShift")
        data = data[:root.start()] + tag + data[root.end():]
        auto = re.search(rb"<" + p + rb"autoFilter\s[^>]*>", data)
        ref = attr_pattern(b"ref").search(auto.group()) if auto else None
        if auto and ref and ref.group(2).upper() == old_ref:
            at = auto.start()
            data = data[:at + ref.start(2)] + new_ref + data[at + ref.end(2):]
        return data
