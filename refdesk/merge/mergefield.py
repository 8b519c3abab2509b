"""Word's own mail-merge letters, used as they are: «FirstName» fields (MERGEFIELD) filled from
a job's data.

A letter made for Word's Mailings tab holds fields, not Jinja tags: `w:fldSimple`, or the
complex form (`w:fldChar` begin, `w:instrText`, separate, the shown result, end) whose code
Word may split across runs and nest (`{ IF { MERGEFIELD Gender } = "F" "Dear Ms." "Dear Mr." }`).
refdesk reads every such field once, in the body, headers, footers, footnotes and endnotes,
and puts a placeholder run where each merge field stood; each letter is then the parts' fixed
XML joined with the fields' values, in the formatting of the field's result. The letter comes
out as a plain document: no merge fields, no mail-merge settings, no link to a data source.

A field refdesk cannot honour (NEXT, ASK, FILLIN, SET, ...) stops the job before anything is
made, naming the field and the paragraph; fields that do not merge (PAGE, DATE, HYPERLINK,
TOC, ...) stay fields.
"""

from __future__ import annotations

import difflib
import io
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree

from refdesk.merge.engine import TemplateError
from refdesk.merge.fieldcodes import MergeField, Node, PartReader, W, norm

__all__ = ["WordMerge", "has_merge_fields", "lookup", "norm", "text_paths"]

_T = f"{{{W}}}t"
_SLOT = re.compile(rb"<\?refdesk-slot (\d+)\?>")
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
#: Content types of the parts that may hold fields, and how messages call them.
PART_KINDS = {"document.main+xml": "the body", "template.main+xml": "the body",
              "document.macroEnabled.main+xml": "the body", "header+xml": "header",
              "footer+xml": "footer", "footnotes+xml": "the footnotes",
              "endnotes+xml": "the endnotes"}
MAIL_MERGE_RELS = ("/mailMergeSource", "/mailMergeHeaderSource", "/recipientData")
_CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"


@dataclass
class _Part:
    name: str
    label: str
    pieces: list[bytes]  # fixed XML between the placeholders
    nodes: list[Node]
    prefix: str  # of WordprocessingML in this part: "w:" as a rule


def _xml(root: Any) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _labels(entries: dict[str, bytes]) -> list[tuple[str, str]]:
    """The parts that may hold fields, the body first, with their names for messages."""
    types = etree.fromstring(entries["[Content_Types].xml"])
    found: list[tuple[str, str]] = []
    for override in types.iter(f"{_CT}Override"):
        name = (override.get("PartName") or "").lstrip("/")
        kind = (override.get("ContentType") or "").rsplit("wordprocessingml.", 1)[-1]
        if kind in PART_KINDS and name in entries:
            found.append((name, PART_KINDS[kind]))
    found.sort(key=lambda p: (p[1] != "the body", p[1], _number(p[0])))
    numbered: list[tuple[str, str]] = []
    for name, label in found:
        if label in ("header", "footer"):
            label = f"{label} {sum(1 for _, lb in numbered if lb.startswith(label)) + 1}"
        numbered.append((name, label))
    return numbered


def _number(name: str) -> int:
    digits = re.findall(r"\d+", name)
    return int(digits[-1]) if digits else 0


_CODES = re.compile(rb'<w:instrText[^>]*>([^<]*)<|w:instr="([^"]*)"')


def has_merge_fields(raw: bytes) -> bool:
    """Whether a .docx holds Word merge fields: MERGEFIELD in a field code (in any case, its
    letters perhaps split across runs), not merely in the text."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            for name in zf.namelist():
                if not (name.startswith("word/") and name.endswith(".xml")):
                    continue
                codes = b"".join(a or b for a, b in _CODES.findall(zf.read(name)))
                if b"MERGEFIELD" in codes.upper():
                    return True
    except (zipfile.BadZipFile, KeyError, OSError):
        return False
    return False


class WordMerge:
    """A Word mail-merge letter, read once; `render` makes one letter from a record's data
    (after `bind` has matched its fields to the job's data)."""

    def __init__(self, name: str, raw: bytes) -> None:
        self.name = name
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            self.infos = zf.infolist()
            entries = {i.filename: zf.read(i) for i in self.infos}
        self.parts: list[_Part] = []
        self.fields: list[MergeField] = []
        for part_name, label in _labels(entries):
            root = etree.fromstring(entries[part_name])
            if _jinja(root):
                raise TemplateError(f"{name}, {label}: the document has both Word merge fields "
                                    "and {{ }} or {% %} tags; use one kind. Convert the merge "
                                    "fields to tags (README, Your own letters) or remove the "
                                    "tags.")
            reader = PartReader(name, label, root)
            reader.read()
            self.fields += reader.fields
            if not reader.units:
                continue
            prefix = next((f"{p}:" for p, ns in root.nsmap.items() if ns == W and p), "")
            etree.cleanup_namespaces(root, keep_ns_prefixes=[p for p in root.nsmap if p])
            pieces = _SLOT.split(_xml(root))
            self.parts.append(_Part(part_name, label, pieces[0::2],
                                    [node for _frame, node in reader.units], prefix))
            entries[part_name] = b""  # rendered per letter
        self._left = _unlink_data_source(entries)
        rendered = {p.name for p in self.parts}
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
            for info in self.infos:
                if info.filename in rendered or info.filename not in self._left:
                    continue
                out.writestr(_info(info), self._left[info.filename])
        self._base = buffer.getvalue()

    def names(self) -> list[str]:
        """The merge fields' names, as the document spells them, in order, once each."""
        return list(dict.fromkeys(f.name for f in self.fields))

    def bind(self, mapping: Mapping[str, str], available: Mapping[str, Any],
             job: str = "NAME") -> list[str]:
        """Match every merge field to a path of the job's data (see `lookup`); the fields that
        match none, one line each."""
        problems: list[str] = []
        for merge in self.fields:
            path, why = lookup(merge.name, mapping, available)
            merge.path = path
            if not path:
                place = merge.where.removeprefix(f"{self.name}, ")
                problems.append(f"{self.name}: MERGEFIELD {merge.name} ({place}) {why}; name "
                                f"its data in config.toml: [jobs.{job}] fields = "
                                f"{{ {_key(merge.name)} = \"{_example(merge.name, available)}\" }}"
                                " (`refdesk templates` lists the data).")
        return list(dict.fromkeys(problems))

    def paths(self) -> set[str]:
        """The data the bound fields print: "client.first_name"."""
        return {f.path for f in self.fields if f.path}

    def render(self, context: Mapping[str, Any]) -> bytes:
        """One letter, as .docx bytes."""
        buffer = io.BytesIO(self._base)
        with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as out:
            for part in self.parts:
                chunks = [part.pieces[0]]
                for node, piece in zip(part.nodes, part.pieces[1:], strict=True):
                    chunks.append(_run_xml(node.value(context), part.prefix))
                    chunks.append(piece)
                info = next(i for i in self.infos if i.filename == part.name)
                out.writestr(_info(info), b"".join(chunks))
        return buffer.getvalue()


def _example(name: str, available: Mapping[str, Any]) -> str:
    """The data path closest to a field's name, for a message's example."""
    paths = text_paths(available)
    leaves = {norm(p.rsplit(".", 1)[-1]): p for p in reversed(paths)}
    close = difflib.get_close_matches(norm(name), list(leaves), n=1, cutoff=0.5)
    return leaves[close[0]] if close else (paths[0] if paths else "client.first_name")


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else f'"{name}"'


def _info(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    new = zipfile.ZipInfo(info.filename, info.date_time)
    new.compress_type, new.external_attr = zipfile.ZIP_DEFLATED, info.external_attr
    return new


def _jinja(root: Any) -> bool:
    text = "".join(t.text or "" for t in root.iter(_T))
    return "{{" in text or "{%" in text


def _run_xml(text: str, w: str) -> bytes:
    """A run's content for a field's value: text, line breaks and tabs."""
    if not text:
        return b""
    text = _INVALID_XML.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    out: list[str] = []
    for i, line in enumerate(text.split("\n")):
        if i:
            out.append(f"<{w}br/>")
        for j, chunk in enumerate(line.split("\t")):
            if j:
                out.append(f"<{w}tab/>")
            if chunk:
                escaped = chunk.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                out.append(f'<{w}t xml:space="preserve">{escaped}</{w}t>')
    return "".join(out).encode("utf-8")


def _unlink_data_source(entries: dict[str, bytes]) -> dict[str, bytes]:
    """The package without Word's link to its merge data: `w:mailMerge` in settings.xml, the
    data-source relationships, and a recipient list kept inside the file."""
    left = dict(entries)
    dropped: set[str] = set()
    for name in list(left):
        if not (name.startswith("word/") and name.endswith(".rels")):
            continue
        rels = etree.fromstring(left[name])
        gone = [r for r in rels.iter(_RELS) if (r.get("Type") or "").endswith(MAIL_MERGE_RELS)]
        if not gone:
            continue
        folder = name.split("_rels/")[0]
        for rel in gone:
            if rel.get("TargetMode") != "External":
                target = (rel.get("Target") or "").lstrip("/")
                dropped.add(target if rel.get("Target", "").startswith("/") else folder + target)
            rels.remove(rel)
        left[name] = _xml(rels)
    settings = "word/settings.xml"
    if settings in left:
        root = etree.fromstring(left[settings])
        found = root.find(f"{{{W}}}mailMerge")
        if found is not None:
            root.remove(found)
            left[settings] = _xml(root)
    for name in dropped:
        left.pop(name, None)
    if dropped:
        types = etree.fromstring(left["[Content_Types].xml"])
        for override in list(types.iter(f"{_CT}Override")):
            if (override.get("PartName") or "").lstrip("/") in dropped:
                types.remove(override)
        left["[Content_Types].xml"] = _xml(types)
    return left


def lookup(name: str, mapping: Mapping[str, str], available: Mapping[str, Any]
           ) -> tuple[str, str]:
    """The data path a merge field prints, and why not when none: the job's `fields` table
    first (its names compared without case, spaces and underscores), then the field's name as
    a path (`provider.name`), then the one text field of the data's objects with that name
    (`FirstName` is `client.first_name` in a job about clients; `City` is the provider's or
    client's city rather than the practice's)."""
    wanted = norm(name)
    for key, target in mapping.items():
        if key == name or norm(key) == wanted:
            return target, ""
    if "." in name:
        path = _path(available, name.split("."))
        if path:
            return path, ""
    found = sorted(p for p in text_paths(available) if norm(p.rsplit(".", 1)[-1]) == wanted)
    # a letter's data describes its recipient: the practice's own city yields to the record's
    ours = [p for p in found if not p.startswith("practice.")]
    if len(found) == 1 or len(ours) == 1:
        return (ours or found)[0], ""
    if found:
        return "", f"could be {' or '.join(found)}"
    return "", "matches no field of the job's data"


def _path(available: Mapping[str, Any], parts: list[str]) -> str:
    node: Any = available
    out: list[str] = []
    for part in parts:
        if not isinstance(node, Mapping):
            return ""
        key = next((k for k in node if norm(k) == norm(part)), None)
        if key is None:
            return ""
        out.append(key)
        node = node[key]
    return ".".join(out) if _printable(node) else ""


def _printable(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, list | tuple) and
                                      all(isinstance(v, str) for v in value))


def text_paths(available: Mapping[str, Any]) -> list[str]:
    """Every path a merge field can print: top-level text (`today`) and the text fields of
    the top-level objects (`client.first_name`, `practice.conditions`)."""
    found: list[str] = []
    for top, value in available.items():
        if _printable(value):
            found.append(top)
        elif isinstance(value, Mapping):
            found += [f"{top}.{k}" for k, v in value.items() if _printable(v)]
    return found
