"""Unchanged parts go into the new workbook with their compressed bytes as they were, and are
still checked: a damaged one stops the write, a part written with a data descriptor or stored
uncompressed comes out whole."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
import xlsxwriter

from refdesk.errors import WriteError
from refdesk.xlsxpatch import SetCell, patch_workbook, zipcopy
from refdesk.xlsxpatch.zipcopy import has_formula


def _book(path: Path, *, formula: bool = False) -> Path:
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet("Notes")
    ws.write_row(0, 0, ["id", "text"])
    big = wb.add_worksheet("Big")  # an unchanged sheet of some size
    for r in range(2_000):
        big.write_row(r, 0, [f"B{r:05d}", r * 1.5, "some text that repeats"])
    if formula:
        big.write_formula(2_000, 1, "=SUM(B1:B2000)")
    wb.close()
    return path


def _raw(path: Path) -> dict[str, tuple[int, int, bytes]]:
    """Each entry's compression method, CRC and compressed bytes."""
    found = {}
    with zipfile.ZipFile(path) as zf, path.open("rb") as fh:
        for info in zf.infolist():
            fh.seek(info.header_offset + 26)
            skip = int.from_bytes(fh.read(2), "little") + int.from_bytes(fh.read(2), "little")
            fh.seek(skip, 1)
            found[info.filename] = (info.compress_type, info.CRC, fh.read(info.compress_size))
    return found


def test_unchanged_parts_keep_their_compressed_bytes(tmp_path: Path) -> None:
    path = _book(tmp_path / "book.xlsx")
    before = _raw(path)
    result = patch_workbook(path, [SetCell("Notes", "A2", "N1")])
    after = _raw(path)
    assert result.parts == ["xl/worksheets/sheet1.xml"]
    assert set(after) == set(before)
    for name in before:
        if name not in result.parts:
            assert after[name] == before[name], name
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        assert b"N1" in zf.read("xl/worksheets/sheet1.xml")


def _rewrite(path: Path, out: Path, *, descriptor: bool = False, stored: str = "") -> Path:
    """The same workbook written by zipfile: streamed parts (a data descriptor after each),
    and `stored` kept uncompressed."""
    with zipfile.ZipFile(path) as src, out.open("wb") as raw:
        class Unseekable:  # zipfile writes a data descriptor when it cannot seek back
            def write(self, b: bytes) -> int:
                return raw.write(b)

            def flush(self) -> None:
                raw.flush()

        target = Unseekable() if descriptor else raw
        with zipfile.ZipFile(target, "w") as dst:  # type: ignore[arg-type]
            for info in src.infolist():
                method = zipfile.ZIP_STORED if info.filename == stored else zipfile.ZIP_DEFLATED
                dst.writestr(info.filename, src.read(info), compress_type=method)
    return out


def test_parts_with_a_data_descriptor_or_stored_come_out_whole(tmp_path: Path) -> None:
    path = _rewrite(_book(tmp_path / "made.xlsx"), tmp_path / "book.xlsx", descriptor=True,
                    stored="xl/worksheets/sheet2.xml")
    with zipfile.ZipFile(path) as zf:
        assert all(i.flag_bits & 0x08 for i in zf.infolist())
        parts = {i.filename: zf.read(i) for i in zf.infolist()}
    patch_workbook(path, [SetCell("Notes", "B2", "x")])
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        assert not any(i.flag_bits & 0x08 for i in zf.infolist())
        assert zf.getinfo("xl/worksheets/sheet2.xml").compress_type == zipfile.ZIP_STORED
        for name, data in parts.items():
            if name != "xl/worksheets/sheet1.xml":
                assert zf.read(name) == data, name


def test_a_damaged_unchanged_sheet_stops_the_write(tmp_path: Path) -> None:
    path = _book(tmp_path / "book.xlsx")
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("xl/worksheets/sheet2.xml")
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    middle = start + info.compress_size // 2
    for i in range(middle, middle + 40):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))
    with pytest.raises(WriteError, match="damaged") as err:
        patch_workbook(path, [SetCell("Notes", "A2", "x")])
    assert "Nothing was written" in err.value.message
    assert path.read_bytes() == bytes(data)


def _without_calc(path: Path) -> Path:
    """The workbook with no calcPr (xlsxwriter always asks for a recalculation on load)."""
    with zipfile.ZipFile(path) as zf:
        parts = [(i, zf.read(i)) for i in zf.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in parts:
            if info.filename == "xl/workbook.xml":
                data = re.sub(rb"<calcPr[^>]*/>", b"", data)
            zf.writestr(info.filename, data)
    return path


@pytest.mark.parametrize("formula", [True, False])
def test_a_formula_in_an_unchanged_sheet_is_found_while_streaming(tmp_path: Path,
                                                                  formula: bool) -> None:
    path = _without_calc(_book(tmp_path / "book.xlsx", formula=formula))
    patch_workbook(path, [SetCell("Notes", "A2", "x")])
    with zipfile.ZipFile(path) as zf:
        asked = b'fullCalcOnLoad="1"' in zf.read("xl/workbook.xml")
    assert asked is formula


MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


@pytest.mark.parametrize(("xml", "expected"), [
    (b'<worksheet xmlns="' + MAIN.encode() + b'"><c><f>1+1</f></c></worksheet>', True),
    (b'<x:worksheet xmlns:x="' + MAIN.encode() + b'"><x:c><x:f>1</x:f></x:c></x:worksheet>',
     True),
    # a data validation's formula in an extension list is not a cell formula
    (b'<worksheet xmlns="' + MAIN.encode() + b'" xmlns:xm="urn:xm"><xm:f>A1</xm:f>'
     b"</worksheet>", False),
    (b'<worksheet xmlns="' + MAIN.encode() + b'"><c><v>1</v></c></worksheet>', False),
])
def test_has_formula_across_chunk_boundaries(xml: bytes, expected: bool) -> None:
    for size in (1, 3, 7, len(xml)):
        chunks = iter([xml[i:i + size] for i in range(0, len(xml), size)])
        assert has_formula(chunks, MAIN) is expected, size


@pytest.mark.parametrize("fast", [True, False])
def test_a_changed_part_is_deflated_whole_with_or_without_isal(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fast: bool) -> None:
    if not fast:
        monkeypatch.setattr(zipcopy, "_fast_zlib", None)
        monkeypatch.setattr(zipcopy, "FAST_LEVEL", 1)
    path = _book(tmp_path / "book.xlsx")
    patch_workbook(path, [SetCell("Big", "D7", "changed")])
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        info = zf.getinfo("xl/worksheets/sheet2.xml")
        assert info.compress_type == zipfile.ZIP_DEFLATED
        assert info.compress_size < info.file_size / 3
        assert b"<t>changed</t>" in zf.read(info)
