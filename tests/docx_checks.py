"""What makes a .docx package whole, checked on the bytes a merge wrote."""

from __future__ import annotations

import io
import posixpath
import re
import zipfile

from lxml import etree

RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
TYPES_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _rels_of(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def package_problems(data: bytes) -> list[str]:
    """Every way the package is broken: a relationship whose target part is missing, an r:id
    or r:embed a part uses that its relationships do not hold, a part no content type covers,
    an XML part that does not parse. Empty when whole."""
    problems: list[str] = []
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        if zf.testzip() is not None:
            return ["a damaged zip entry"]
        names = set(zf.namelist())
        files = {n: zf.read(n) for n in names}
    types = etree.fromstring(files["[Content_Types].xml"])
    defaults = {d.get("Extension").lower() for d in types.iter(f"{{{TYPES_NS}}}Default")}
    overrides = {o.get("PartName").lstrip("/") for o in types.iter(f"{{{TYPES_NS}}}Override")}
    for name in names - {"[Content_Types].xml"}:
        if name.endswith("/"):
            continue
        if name not in overrides and name.rsplit(".", 1)[-1].lower() not in defaults:
            problems.append(f"{name}: no content type")
    for name in sorted(n for n in names if n.endswith(".rels")):
        folder = posixpath.dirname(posixpath.dirname(name))  # word/_rels/x.rels -> word
        for rel in etree.fromstring(files[name]).iter(f"{{{RELS_NS}}}Relationship"):
            if rel.get("TargetMode") == "External":
                continue
            target = rel.get("Target")
            path = target.lstrip("/") if target.startswith("/") else \
                posixpath.normpath(posixpath.join(folder, target))
            if path not in names:
                problems.append(f"{name}: {rel.get('Id')} points at missing {path}")
    for name in sorted(n for n in names if n.endswith(".xml") and n != "[Content_Types].xml"):
        try:
            root = etree.fromstring(files[name])
        except etree.XMLSyntaxError as exc:
            problems.append(f"{name}: does not parse ({exc})")
            continue
        used = {value for element in root.iter() if isinstance(element.tag, str)
                for key, value in element.attrib.items() if key.startswith(f"{{{R_NS}}}")}
        if not used:
            continue
        rels = files.get(_rels_of(name))
        known = set() if rels is None else {
            r.get("Id") for r in etree.fromstring(rels).iter(f"{{{RELS_NS}}}Relationship")}
        for rid in sorted(used - known):
            problems.append(f"{name}: {rid} has no relationship")
    return problems


def relationship_ids(data: bytes, part: str) -> dict[str, tuple[str, str]]:
    """The relationships of `part`: id -> (type's last word, target)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        rels = zf.read(_rels_of(part)) if _rels_of(part) in zf.namelist() else None
    if rels is None:
        return {}
    return {r.get("Id"): (r.get("Type").rsplit("/", 1)[-1], r.get("Target"))
            for r in etree.fromstring(rels).iter(f"{{{RELS_NS}}}Relationship")}


def media(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return sorted(n for n in zf.namelist() if re.match(r"word/media/", n))
