"""Copying a zip's unchanged parts into the new workbook as they are, and reading parts once.

An unchanged part's compressed bytes go into the new zip without being recompressed (which
was most of a write's time on a big workbook), yet every byte is still checked: the copy is
decompressed on the way and its CRC-32 and size compared with the zip's directory, so a part
damaged inside the file stops the write just as reading it would. A part whose whole content
was read already (and so checked by zipfile) is copied without that second look.

zipfile has no public call for a raw copy; `copy_raw` writes the member's local header with
zipfile's own `ZipInfo.FileHeader` and registers the member the way `ZipFile.write` does for a
folder, so that zipfile writes the central directory as for any other member.
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from collections.abc import Iterable, Iterator

try:  # ISA-L's deflate: several times zlib's speed, its output any unzip reads
    from isal import isal_zlib as _fast_zlib
except ImportError:  # pragma: no cover - isal is a dependency; zlib's fastest level instead
    _fast_zlib = None

_CHUNK = 1 << 20
_MAX_OUT = 1 << 24  # decompressed bytes at a time: a tiny part may inflate to gigabytes
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
_DATA_DESCRIPTOR = 0x08
_ENCRYPTED = 0x01
#: Methods copied as they are; any other is decompressed and written deflated (as before).
RAW_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


def _raw_chunks(src: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """The member's compressed bytes, from the file the zip was opened on."""
    fp = src.fp
    assert fp is not None
    fp.seek(info.header_offset)
    header = fp.read(_LOCAL_HEADER.size)
    if len(header) != _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"bad local header for {info.filename}")
    fields = _LOCAL_HEADER.unpack(header)
    name = fp.read(fields[10])
    name_text = name.decode("utf-8" if fields[3] & 0x800 else "cp437")
    if name_text != info.orig_filename:
        raise zipfile.BadZipFile(f"File name in directory {info.orig_filename!r} and header "
                                 f"{name_text!r} differ.")
    fp.seek(fields[11], 1)  # the local header's extra field
    left = info.compress_size
    while left > 0:
        chunk = fp.read(min(_CHUNK, left))
        if not chunk:
            raise zipfile.BadZipFile(f"{info.filename} is cut short")
        left -= len(chunk)
        yield chunk


class _Check:
    """Decompresses a member's bytes as they pass, for its CRC-32 and size."""

    def __init__(self, info: zipfile.ZipInfo) -> None:
        self.info = info
        self.crc = 0
        self.size = 0
        self.zlib = _fast_zlib or zlib
        self.inflate = (self.zlib.decompressobj(-15)
                        if info.compress_type == zipfile.ZIP_DEFLATED else None)

    def feed(self, chunk: bytes) -> Iterator[bytes]:
        """The content in `chunk`, counted as it is yielded."""
        if self.inflate is None:
            yield self._count(chunk)
            return
        try:
            yield self._count(self.inflate.decompress(chunk, _MAX_OUT))
            while self.inflate.unconsumed_tail:
                yield self._count(self.inflate.decompress(self.inflate.unconsumed_tail,
                                                          _MAX_OUT))
        except self.zlib.error as exc:  # ISA-L's error is not zlib's: one kind for the caller
            raise zipfile.BadZipFile(f"{self.info.filename}: {exc}") from None

    def _count(self, data: bytes) -> bytes:
        self.size += len(data)
        if self.size > self.info.file_size:
            raise zipfile.BadZipFile(f"{self.info.filename} is longer than its zip entry says")
        self.crc = self.zlib.crc32(data, self.crc)
        return data

    def done(self) -> None:
        if self.inflate is not None:
            try:
                self._count(self.inflate.flush())
            except self.zlib.error as exc:
                raise zipfile.BadZipFile(f"{self.info.filename}: {exc}") from None
            if not self.inflate.eof:
                raise zipfile.BadZipFile(f"{self.info.filename}: its compressed data ends early")
        if self.size != self.info.file_size or self.crc != self.info.CRC:
            raise zipfile.BadZipFile(f"Bad CRC-32 for file {self.info.filename!r}")


def copy_raw(out: zipfile.ZipFile, src: zipfile.ZipFile, info: zipfile.ZipInfo,
             copy: zipfile.ZipInfo, *, checked: bool) -> None:
    """Write `info`'s member of `src` into `out` under `copy` (its name, date and attributes)
    with the same compressed bytes. Unless `checked`, its content is verified on the way.
    Raises zipfile.BadZipFile, zlib.error, or RuntimeError for an encrypted member."""
    if info.flag_bits & _ENCRYPTED:
        raise RuntimeError(f"File {info.filename!r} is encrypted")
    if info.compress_type not in RAW_METHODS:
        raise NotImplementedError(f"compression method {info.compress_type}")
    copy.compress_type = info.compress_type
    copy.flag_bits = info.flag_bits & ~_DATA_DESCRIPTOR  # the sizes are in the header now
    copy.CRC = info.CRC
    copy.compress_size = info.compress_size
    copy.file_size = info.file_size
    _write_member(out, copy, _raw_chunks(src, info), None if checked else _Check(info))


#: The level a changed part is compressed at: the fastest that still compresses well. A
#: rewritten sheet comes out about 40% larger than at zlib's usual level (ISA-L's level
#: 3: a quarter larger, four times the time); Excel's next save shrinks it again.
FAST_LEVEL = 2 if _fast_zlib is not None else 1


def write_part(out: zipfile.ZipFile, copy: zipfile.ZipInfo, data: bytes) -> None:
    """Write `data` deflated into `out` under `copy`, at `FAST_LEVEL`: compressing a big
    sheet at zlib's usual level was the longest step of a write. A part stored uncompressed
    stays so."""
    if copy.compress_type == zipfile.ZIP_STORED:
        out.writestr(copy, data)
        return
    deflate = (_fast_zlib or zlib).compressobj(FAST_LEVEL, zlib.DEFLATED, -15)
    view = memoryview(data)
    chunks = [deflate.compress(view[i:i + _MAX_OUT]) for i in range(0, len(data), _MAX_OUT)]
    chunks.append(deflate.flush())
    copy.compress_type = zipfile.ZIP_DEFLATED
    copy.flag_bits &= ~_DATA_DESCRIPTOR
    copy.CRC = (_fast_zlib or zlib).crc32(data)
    copy.compress_size = sum(len(c) for c in chunks)
    copy.file_size = len(data)
    _write_member(out, copy, chunks)


def _write_member(out: zipfile.ZipFile, copy: zipfile.ZipInfo, chunks: Iterable[bytes],
                  check: _Check | None = None) -> None:
    """The local header, then the compressed bytes, registered as `ZipFile.write` does."""
    fp = out.fp
    assert fp is not None
    copy.header_offset = fp.tell()
    zip64 = max(copy.file_size, copy.compress_size) > zipfile.ZIP64_LIMIT
    fp.write(copy.FileHeader(zip64))
    for chunk in chunks:
        if check is not None:
            for _ in check.feed(chunk):
                pass
        fp.write(chunk)
    if check is not None:
        check.done()
    out.filelist.append(copy)
    out.NameToInfo[copy.filename] = copy
    out.start_dir = fp.tell()
    out._didModify = True


def read_chunks(src: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """A member's content in chunks, its CRC checked once the last one is read. Decompressed
    here (with ISA-L, about twice zlib's speed) rather than by zipfile when it can be."""
    if (info.flag_bits & _ENCRYPTED or info.compress_type not in RAW_METHODS
            or info.file_size == 0):
        with src.open(info) as fh:  # zipfile says what is wrong, or reads what it can
            while chunk := fh.read(_CHUNK):
                yield chunk
        return
    check = _Check(info)
    for raw in _raw_chunks(src, info):
        yield from (data for data in check.feed(raw) if data)
    check.done()


def read_member(src: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A member's whole content, its CRC checked."""
    return b"".join(read_chunks(src, info))


_XMLNS = re.compile(rb"xmlns(?::([A-Za-z_][\w.\-]*))?\s*=\s*([\"'])([^\"']*)\2")
_FORMULA_TAG = re.compile(rb"<(?:([A-Za-z_][\w.\-]*):)?f[\s>/]")
_TAIL = 4096  # kept from one chunk to the next, so that no tag is cut in two


def has_formula(chunks: Iterator[bytes], main_ns: str, root_prefix: bytes | None = None
                ) -> bool:
    """Whether a worksheet's XML, read in chunks, holds a SpreadsheetML `<f>` (a formula):
    an `<f` whose prefix is the root's or one bound to `main_ns`. Reads every chunk unless it
    finds one sooner."""
    main = main_ns.encode()
    bound: set[bytes] = set()
    seen: set[bytes] = set()
    tail = b""
    for chunk in chunks:
        window = tail + chunk
        if root_prefix is None:
            m = re.search(rb"<(?:([A-Za-z_][\w.\-]*):)?worksheet[\s>/]", window)
            if m:
                root_prefix = m.group(1) or b""
        for m in _XMLNS.finditer(window):
            if m.group(3) == main:
                bound.add(m.group(1) or b"")
        if b"<f" in window or b":f" in window:  # literal searches first: far faster
            seen.update(m.group(1) or b"" for m in _FORMULA_TAG.finditer(window))
        known = bound | ({root_prefix} if root_prefix is not None else set())
        if seen & known:
            return True
        tail = window[-_TAIL:]
    return False
