"""The workbook's zip package: its parts, their relationships, and the workbook part's sheets.

Only small parts (relationships, the workbook part) are parsed as XML; sheets are left to
`sheet.py`, which edits their bytes in place.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote
from xml.etree import ElementTree as ET

from refdesk.errors import SourceError, WriteError
from refdesk.xlsxpatch.zipcopy import read_chunks, read_member

PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
OFFICE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
STRICT_MARK = "purl.oclc.org/ooxml"

REL_WORKSHEET = OFFICE_REL + "/worksheet"
REL_TABLE = OFFICE_REL + "/table"
REL_PIVOT_TABLE = OFFICE_REL + "/pivotTable"
REL_STYLES = OFFICE_REL + "/styles"
REL_SHARED_STRINGS = OFFICE_REL + "/sharedStrings"
REL_CALC_CHAIN = OFFICE_REL + "/calcChain"
REL_OFFICE_DOCUMENT = OFFICE_REL + "/officeDocument"

#: Sheet kinds by relationship type; only worksheets hold cells refdesk can write.
SHEET_KINDS = {
    OFFICE_REL + "/worksheet": "worksheet",
    OFFICE_REL + "/chartsheet": "chart sheet",
    OFFICE_REL + "/dialogsheet": "dialog sheet",
    "http://schemas.microsoft.com/office/2006/relationships/xlMacrosheet": "macro sheet",
    "http://schemas.microsoft.com/office/2006/relationships/xlIntlMacrosheet": "macro sheet",
}


@dataclass(frozen=True)
class Relationship:
    id: str
    type: str
    target: str  # the part name inside the zip, or the URL of an external target
    external: bool


@dataclass(frozen=True)
class SheetEntry:
    name: str
    part: str | None
    kind: str


@dataclass(frozen=True)
class WorkbookPart:
    part: str
    sheets: list[SheetEntry]
    date1904: bool
    styles: str | None
    shared_strings: str | None
    calc_chain: str | None


def rels_part(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def part_key(name: str) -> str:
    """A zip entry or part name as OPC compares them: `/` separators (some .NET tools write
    `xl\\worksheets\\sheet1.xml`), no leading slash, any case."""
    return name.replace("\\", "/").lstrip("/").lower()


def resolve_target(source_part: str, target: str) -> str:
    """A relationship's target as a part name: relative to the source part's folder, or
    absolute (`/xl/worksheets/sheet1.xml`); backslashes read as slashes."""
    target = target.replace("\\", "/")
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    return posixpath.normpath(posixpath.join(posixpath.dirname(source_part), target))


class Package:
    """A read-only view of the zip: part bytes by name (case-insensitive, as OPC says)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.zip = zipfile.ZipFile(path)
            self.infos = self.zip.infolist()
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise WriteError(f"{path}: the file is damaged ({exc}). Nothing was written.") from None
        self._by_lower: dict[str, str] = {}
        for info in self.infos:
            key = part_key(info.filename)
            if key in self._by_lower:
                raise WriteError(f"{path}: the file holds the part {info.filename} twice, which "
                                 "Excel would not write; open and re-save it in Excel before "
                                 "refdesk writes to it. Nothing was written.")
            self._by_lower[key] = info.filename
        self._cache: dict[str, bytes] = {}
        #: Entries read whole, so zipfile has checked their CRC: copied without a second look.
        self.checked: set[str] = set()

    def close(self) -> None:
        self.zip.close()

    def name(self, part: str) -> str | None:
        """The zip entry holding a part, spelled as the zip spells it (kept when writing)."""
        return self._by_lower.get(part_key(part))

    def has(self, part: str) -> bool:
        return self.name(part) is not None

    def read(self, part: str) -> bytes:
        actual = self.name(part)
        if actual is None:
            raise WriteError(f"{self.path}: the part {part} is missing; the file is damaged. "
                             "Open and re-save it in Excel. Nothing was written.")
        if actual not in self._cache:
            try:
                self._cache[actual] = read_member(self.zip, self.zip.getinfo(actual))
                self.checked.add(actual)
            except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError,
                    RuntimeError) as exc:
                raise WriteError(f"{self.path}: the part {actual} cannot be read ({exc}); the "
                                 "file is damaged. Nothing was written.") from None
        return self._cache[actual]

    def chunks(self, part: str) -> Iterator[bytes]:
        """A part's bytes in chunks, without keeping them (a sheet can be hundreds of
        megabytes); read to the end, the part counts as checked."""
        actual = self.name(part)
        if actual is None:
            raise WriteError(f"{self.path}: the part {part} is missing; the file is damaged. "
                             "Open and re-save it in Excel. Nothing was written.")
        if actual in self._cache:
            yield self._cache[actual]
            return
        yield from read_chunks(self.zip, self.zip.getinfo(actual))
        self.checked.add(actual)

    def xml(self, part: str) -> ET.Element:
        try:
            return ET.fromstring(self.read(part))
        except ET.ParseError as exc:
            raise WriteError(f"{self.path}: the part {part} is not valid XML ({exc}); open and "
                             "re-save the workbook in Excel. Nothing was written.") from None

    def relationships(self, part: str) -> dict[str, Relationship]:
        rels = rels_part(part) if part else "_rels/.rels"
        if not self.has(rels):
            return {}
        found: dict[str, Relationship] = {}
        for rel in self.xml(rels):
            if rel.tag.rsplit("}", 1)[-1] != "Relationship":
                continue
            external = rel.get("TargetMode", "") == "External"
            target = rel.get("Target", "")
            if not external:
                # A part name with `/` separators; name() finds its zip entry, any spelling.
                target = resolve_target(part, target)
                if not self.has(target) and "%" in target:  # a URI-escaped name
                    target = unquote(target)
            found[rel.get("Id", "")] = Relationship(rel.get("Id", ""), rel.get("Type", ""),
                                                    target, external)
        return found

    def workbook(self) -> WorkbookPart:
        main = [r for r in self.relationships("").values()
                if r.type.endswith("/officeDocument") and not r.external]
        if not main:
            raise WriteError(f"{self.path}: the file has no workbook part; it is not an Excel "
                             "workbook. Nothing was written.")
        if STRICT_MARK in main[0].type:
            raise _strict(self.path)
        part = main[0].target
        root = self.xml(part)
        if STRICT_MARK in root.tag:
            raise _strict(self.path)
        if not root.tag.startswith("{" + MAIN_NS + "}"):
            raise WriteError(f"{self.path}: the workbook part is not SpreadsheetML; refdesk "
                             "cannot write to it. Nothing was written.")
        rels = self.relationships(part)
        ns = {"m": MAIN_NS}
        sheets = []
        for el in root.iterfind("m:sheets/m:sheet", ns):
            rel = rels.get(el.get(f"{{{OFFICE_REL}}}id", ""))
            kind = SHEET_KINDS.get(rel.type, "unknown sheet") if rel else "missing sheet"
            sheets.append(SheetEntry(el.get("name", ""), rel.target if rel else None, kind))
        pr = root.find("m:workbookPr", ns)
        date1904 = pr is not None and pr.get("date1904", "0").lower() in ("1", "true")

        def single(rel_type: str) -> str | None:
            hits = [r.target for r in rels.values() if r.type == rel_type and not r.external]
            return hits[0] if hits and self.has(hits[0]) else None

        return WorkbookPart(part, sheets, date1904, single(REL_STYLES),
                            single(REL_SHARED_STRINGS), single(REL_CALC_CHAIN))


def _strict(path: Path) -> WriteError:
    return WriteError(f"{path}: the workbook is saved as Strict Open XML, which refdesk does not "
                      "write. In Excel use File > Save As > Excel Workbook (.xlsx), then run "
                      "refdesk again. Nothing was written.")


def prefix_of(data: bytes, root: bytes) -> bytes:
    """The namespace prefix (b'' or b'x:') the part's root element uses; new elements get it."""
    m = re.search(rb"<(?:([A-Za-z_][\w.\-]*):)?" + root + rb"[\s>/]", data)
    if not m or not m.group(1):
        return b""
    return m.group(1) + b":"


_XMLNS = re.compile(rb"xmlns(?::([A-Za-z_][\w.\-]*))?\s*=\s*([\"'])([^\"']*)\2")


def main_prefixes(data: bytes, root: bytes) -> bytes:
    """A regex fragment matching every prefix bound to SpreadsheetML in the part (`x:`, the
    default namespace, or both when a writer mixes them), the root's own first."""
    found = [prefix_of(data, root)]
    at = data.find(b"xmlns")
    while at >= 0:  # a literal search: a sheet part can be hundreds of megabytes
        m = _XMLNS.match(data, at)
        if m and m.group(3).decode("ascii", "replace") == MAIN_NS:
            prefix = m.group(1) + b":" if m.group(1) else b""
            if prefix not in found:
                found.append(prefix)
        at = data.find(b"xmlns", at + 5)
    if len(found) == 1:
        return re.escape(found[0])
    found.sort(key=len, reverse=True)  # `x:` is tried before the empty prefix
    return b"(?:" + b"|".join(re.escape(p) for p in found) + b")"


# -- the first look at a file, shared by the reader and the writer -------------------------------
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_SPREADSHEET_TYPES = ("spreadsheetml", "ms-excel")


def check_workbook_file(path: Path, *, writing: bool = False) -> None:
    """Tell a missing, empty, encrypted, foreign or damaged file apart before parsing it, and
    refuse package layouts refdesk's reader (calamine) cannot follow.

    Raises SourceError; with `writing`, WriteError ending "Nothing was written." instead, the
    words every refusal of the writer ends with."""
    try:
        _check_file(path)
    except SourceError as exc:
        if not writing:
            raise
        raise WriteError(f"{exc.message} Nothing was written.") from None


def _check_file(path: Path) -> None:
    if not path.exists():
        raise SourceError(f"{path}: no such file. Check the path, or create a workbook with "
                          "`refdesk init PATH`.")
    if path.is_dir():
        raise SourceError(f"{path}: is a folder, not a workbook file.")
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise SourceError(f"{path}: cannot be opened ({exc.strerror}).") from None
    if size == 0:
        raise SourceError(f"{path}: the file is empty (0 bytes). Restore it from a backup or "
                          "create a new workbook with `refdesk init`.")
    if head == OLE_MAGIC:
        raise SourceError(
            f"{path}: the workbook is password-protected (encrypted) or an old .xls file. Open "
            "it in Excel, remove the password (File > Info > Protect Workbook) and save it as "
            "Excel Workbook (.xlsx)."
        )
    if not zipfile.is_zipfile(path):
        raise SourceError(f"{path}: not an Excel workbook (.xlsx or .xlsm). Save it from your "
                          "spreadsheet program as Excel Workbook (.xlsx).")
    try:
        # The central directory and two small parts only: a CRC check of every part would
        # cost a full decompression, and calamine reports damaged parts as it reads them.
        with zipfile.ZipFile(path) as zf:
            _check_layout(path, zf)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError,
            RuntimeError):
        raise SourceError(f"{path}: the file is damaged or truncated (its zip container is "
                          "broken). Restore it from a backup, e.g. .refdesk-backups/ beside "
                          "it.") from None


def _check_layout(path: Path, zf: zipfile.ZipFile) -> None:
    """The workbook part, found as Excel finds it: through `_rels/.rels`."""
    # Backslashes and case are forgiven (calamine forgives them too); a leading `/` is not.
    names = {n.replace("\\", "/").lower(): n for n in zf.namelist()}
    resave = "Open it in Excel and save it as Excel Workbook (.xlsx)."
    not_excel = (f"{path}: not an Excel workbook: it has no workbook part (is it a Word or "
                 "other Office file?). Save it as Excel Workbook (.xlsx).")
    if "_rels/.rels" not in names:
        if "xl/workbook.xml" in names or any(n.startswith("/") for n in names):
            raise SourceError(f"{path}: the workbook's package has no relationships part "
                              f"(_rels/.rels), which refdesk needs to find its sheets. {resave}")
        raise SourceError(not_excel)
    targets = [target for kind, target in _internal_rels(path, zf, names["_rels/.rels"])
               if kind.endswith("/officeDocument")]
    if not targets:
        raise SourceError(not_excel)
    target = targets[0]
    part = resolve_target("", target)
    entry = names.get(part.lower())
    if entry is None:
        raise SourceError(not_excel if "\\" not in target else
                          f"{path}: the workbook's package names its workbook part with "
                          f"backslashes ({target}), which refdesk cannot follow. {resave}")
    _check_sheet_parts(path, zf, names, part, entry)
    if posixpath.basename(part).lower() != "workbook.xml":
        types = names.get("[content_types].xml")
        listed = zf.read(types).decode("utf-8", "replace").lower() if types else ""
        if not any(t in listed for t in _SPREADSHEET_TYPES):
            raise SourceError(not_excel)
        raise SourceError(f"{path}: the workbook part is named {entry} rather than "
                          f"workbook.xml, which refdesk's reader cannot follow. {resave}")
    rels = names.get(rels_part(part).lower())
    if rels is not None and any("\\" in t for _, t in _internal_rels(path, zf, rels)):
        raise SourceError(f"{path}: the workbook names its sheets with backslashes ({rels}), "
                          f"which refdesk's reader cannot follow. {resave}")


def _check_sheet_parts(path: Path, zf: zipfile.ZipFile, names: dict[str, str], part: str,
                       entry: str) -> None:
    """Every sheet the workbook part lists has its part in the file: a sheet whose part is
    gone is a damaged file that no reader opens (calamine stops at the first one)."""
    try:
        root = ET.fromstring(zf.read(entry))
    except ET.ParseError:
        return  # the reader and the writer each report a damaged workbook part
    sheets = [(el.get("name", "?"), el.get(f"{{{OFFICE_REL}}}id", ""))
              for el in root.iterfind(f"{{{MAIN_NS}}}sheets/{{{MAIN_NS}}}sheet")]
    if not sheets:
        return
    rels_name = rels_part(part)
    rels_entry = names.get(rels_name.lower())
    targets = {}
    if rels_entry is not None:
        try:
            for rel in ET.fromstring(zf.read(rels_entry)):
                if rel.get("TargetMode", "") != "External":
                    targets[rel.get("Id", "")] = rel.get("Target", "")
        except ET.ParseError:
            raise SourceError(f"{path}: the workbook's package list {rels_entry} is damaged. "
                              "Open it in Excel and save it as Excel Workbook (.xlsx).") from None
    fix = ("Restore the workbook from a backup (e.g. .refdesk-backups/ beside it), or open it "
           "in Excel, let Excel repair it and save it as Excel Workbook (.xlsx).")
    for name, rid in sheets:
        target = targets.get(rid)
        if target is None:
            where = rels_entry or rels_name
            raise SourceError(f"{path}: the sheet {name} has no part in the file (its "
                              f"relationship {rid or '(none)'} is missing from {where}); the "
                              f"file is damaged. {fix}")
        sheet_part = resolve_target(part, target)
        if sheet_part.lower() not in names and unquote(sheet_part).lower() not in names:
            raise SourceError(f"{path}: the part {sheet_part} holding the sheet {name} is "
                              f"missing from the file; the file is damaged. {fix}")


def _internal_rels(path: Path, zf: zipfile.ZipFile, entry: str) -> list[tuple[str, str]]:
    """(type, target) of the relationships to parts inside the package."""
    try:
        root = ET.fromstring(zf.read(entry))
    except ET.ParseError:
        raise SourceError(f"{path}: the workbook's package list {entry} is damaged. Open it "
                          "in Excel and save it as Excel Workbook (.xlsx).") from None
    return [(rel.get("Type", ""), rel.get("Target", "")) for rel in root
            if rel.get("TargetMode", "") != "External"]
