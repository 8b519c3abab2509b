"""The workbook's zip package: its parts, their relationships, and the workbook part's sheets.

Only small parts (relationships, the workbook part) are parsed as XML; sheets are left to
`sheet.py`, which edits their bytes in place.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree as ET

from refdesk.errors import WriteError

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


def resolve_target(source_part: str, target: str) -> str:
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
            key = info.filename.lower()
            if key in self._by_lower:
                raise WriteError(f"{path}: the file holds the part {info.filename} twice, which "
                                 "Excel would not write; open and re-save it in Excel before "
                                 "refdesk writes to it. Nothing was written.")
            self._by_lower[key] = info.filename
        self._cache: dict[str, bytes] = {}

    def close(self) -> None:
        self.zip.close()

    def name(self, part: str) -> str | None:
        return self._by_lower.get(part.lower())

    def has(self, part: str) -> bool:
        return self.name(part) is not None

    def read(self, part: str) -> bytes:
        actual = self.name(part)
        if actual is None:
            raise WriteError(f"{self.path}: the part {part} is missing; the file is damaged. "
                             "Open and re-save it in Excel. Nothing was written.")
        if actual not in self._cache:
            try:
                self._cache[actual] = self.zip.read(actual)
            except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError,
                    RuntimeError) as exc:
                raise WriteError(f"{self.path}: the part {actual} cannot be read ({exc}); the "
                                 "file is damaged. Nothing was written.") from None
        return self._cache[actual]

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
                target = self.name(resolve_target(part, target)) or resolve_target(part, target)
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
    """The namespace prefix (b'' or b'x:') the part uses for SpreadsheetML elements."""
    m = re.search(rb"<(?:([A-Za-z_][\w.\-]*):)?" + root + rb"[\s>/]", data)
    if not m or not m.group(1):
        return b""
    return m.group(1) + b":"
