"""What rendering adds to a .docx package besides the text: pictures (`InlineImage`), links
(`RichText(..., url_id=...)`) and the document's properties.

A compiled template renders each letter from the template's parts without opening the package
again, so the parts, relationships and content types a picture or a link needs are kept here,
one `Rendering` per letter, and written beside the rendered parts. Picture parts, relationship
ids and picture ids are chosen as python-docx chooses them, so the document.xml, headers and
footers are the same as docxtpl's for the same inputs.
"""

from __future__ import annotations

import contextvars
import posixpath
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from docx.image.exceptions import UnrecognizedImageError
from docx.image.image import Image
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml.shape import CT_Inline
from docx.shared import Length
from docxtpl import InlineImage
from lxml import etree

from refdesk.errors import RefdeskError

RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
TYPES_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
CONTENT_TYPES = "[Content_Types].xml"
#: an attribute in the relationships namespace: r:id, r:embed, r:link, ... (Word's prefix)
_R_ATTR = re.compile(r'\sr:[A-Za-z]+="([^"]*)"')
_IDS = re.compile(rb'\sid="(\d+)"')


class PictureError(RefdeskError):
    """A picture that cannot be placed: a missing or unreadable image, or one used outside a
    Word template."""


@dataclass(frozen=True)
class Rel:
    """One relationship: an internal target is a part name without the leading slash."""

    reltype: str
    target: str
    external: bool


def rels_name(part: str) -> str:
    """The zip entry of a part's relationships: word/header1.xml -> word/_rels/header1.xml.rels."""
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def _next_rid(taken: Iterable[str]) -> str:
    """python-docx's choice: the lowest rIdN not taken."""
    used = set(taken)
    n = 1
    while f"rId{n}" in used:
        n += 1
    return f"rId{n}"


@dataclass
class PartFacts:
    """What a rendered part (body, header, footer, footnotes) starts with."""

    name: str
    rels: dict[str, Rel]
    next_id: int  # python-docx's next shape id: the part's largest id="n" plus one
    template_ids: frozenset[str]  # r: ids already in the template, resolving or not


class PackageFacts:
    """What every letter of a template starts with: the rendered parts' relationships, the
    package's pictures and content types, and the ids handed out for links."""

    def __init__(self, docx: Any, entries: dict[str, bytes], rendered: Iterable[str]) -> None:
        package = docx.part.package
        by_name = {p.partname.lstrip("/"): p for p in package.iter_parts()}
        self.document = docx.part.partname.lstrip("/")
        self.parts: dict[str, PartFacts] = {}
        for name in rendered:
            part = by_name[name]
            rels = {rid: Rel(r.reltype, r.target_ref if r.is_external else
                             r.target_part.partname.lstrip("/"), r.is_external)
                    for rid, r in part.rels.items()}
            blob = entries.get(name, b"")
            ids = [int(x) for x in _IDS.findall(blob)]
            self.parts[name] = PartFacts(
                name, rels, max(ids) + 1 if ids else 1,
                frozenset(_R_ATTR.findall(blob.decode("utf-8", "replace"))))
        # (sha1, part name, the name a drawing gives it) in python-docx's order: a picture
        # already in the package is reused, under python-docx's name for it (image.png)
        self.images = [(p.sha1, p.partname.lstrip("/"), _drawing_name(p))
                       for p in package.image_parts]
        self.entries = entries
        self._urls: dict[str, str] = {}  # url -> rId
        self.url_of: dict[str, str] = {}  # rId -> url
        self._lock = threading.Lock()

    def url_id(self, url: str) -> str:
        """A relationship id for a link to `url`, the same for every letter; the relationship
        is added to each part the link is used in. The id is free in every rendered part, so it
        never resolves to another relationship there."""
        with self._lock:
            if url not in self._urls:
                taken = set(self.url_of)
                for facts in self.parts.values():
                    taken |= facts.rels.keys()
                rid = _next_rid(taken)
                self._urls[url], self.url_of[rid] = rid, url
            return self._urls[url]


def _drawing_name(part: Any) -> str:
    """python-docx's name for a picture part in a drawing; a picture it cannot read (an EMF)
    is never matched by a new picture's bytes, so any name does."""
    try:
        return part.image.filename
    except UnrecognizedImageError:
        return posixpath.basename(part.partname)


_CURRENT: contextvars.ContextVar[PartRendering | None] = contextvars.ContextVar(
    "refdesk_rendering_part", default=None)


class _CurrentPart:
    """Stands for the part being rendered, where docxtpl's InlineImage looks for it
    (`tpl.current_rendering_part`); each render sets it for its own thread."""

    def __getattr__(self, name: str) -> Any:
        part = _CURRENT.get()
        if part is None:
            raise PictureError("a picture can be placed only in a Word template's text, "
                               "header or footer")
        return getattr(part, name)


class _Host:
    current_rendering_part = _CurrentPart()


CURRENT_PART = _Host.current_rendering_part
_HOST = _Host()


class Picture(InlineImage):
    """A picture for a template, like docxtpl's InlineImage but tied to no template: `image` is
    a path or a binary stream (PNG, JPEG, GIF, BMP or TIFF); `width` and `height` are lengths
    (docx.shared.Mm, Inches, ...), the other one following the picture's proportions when one
    is left out. Read once, placed in any number of letters."""

    def __init__(self, image: str | Path | IO[bytes], width: int | Length | None = None,
                 height: int | Length | None = None, anchor: str | None = None) -> None:
        label = Path(image).name if isinstance(image, str | Path) else "the picture"
        try:
            loaded = Image.from_file(str(image) if isinstance(image, Path) else image)
        except FileNotFoundError:
            raise PictureError(f"{image}: no such picture. Check the file name.") from None
        except (UnrecognizedImageError, OSError) as exc:
            raise PictureError(f"{label}: not a picture refdesk can place ({exc.__class__.__name__}"
                               "); save it as PNG or JPEG.") from None
        super().__init__(_HOST, loaded, width, height, anchor)


class PartRendering:
    """One part of one letter being rendered: what docxtpl's InlineImage and RichText ask the
    part for (`new_pic_inline`, `relate_to`)."""

    def __init__(self, letter: Rendering, facts: PartFacts) -> None:
        self.letter, self.facts = letter, facts
        self.new_rels: dict[str, Rel] = {}

    def _taken(self) -> set[str]:
        return {*self.facts.rels, *self.new_rels, *self.letter.package.url_of}

    def relate_to(self, target: str, reltype: str, is_external: bool = False) -> str:
        """The id of this part's relationship to `target` (a part name or a URL), added when
        the part has none yet."""
        rel = Rel(reltype, target, is_external)
        for rid, known in (*self.facts.rels.items(), *self.new_rels.items()):
            if known == rel:
                return rid
        rid = _next_rid(self._taken())
        self.new_rels[rid] = rel
        return rid

    def new_pic_inline(self, image_descriptor: Any, width: int | Length | None = None,
                       height: int | Length | None = None) -> CT_Inline:
        """A `wp:inline` drawing of the picture, its part and relationship added."""
        image = image_descriptor
        if not isinstance(image, Image):
            try:
                image = Image.from_file(image_descriptor)
            except FileNotFoundError:
                raise PictureError(f"the picture {image_descriptor} is missing") from None
            except (UnrecognizedImageError, OSError) as exc:
                raise PictureError(f"a picture cannot be read ({exc.__class__.__name__}); "
                                   "use a PNG or JPEG file") from None
        partname, filename = self.letter.image_part(image)
        rid = self.relate_to(partname, RT.IMAGE)
        cx, cy = image.scaled_dimensions(width, height)
        return CT_Inline.new_pic_inline(self.facts.next_id, rid, filename, cx, cy)

    def settle(self, xml: str) -> str | None:
        """Adds the link relationships `xml` uses; the first relationship id that resolves
        nowhere (a link or picture made for another template), or None."""
        for rid in set(_R_ATTR.findall(xml)):
            if rid in self.facts.rels or rid in self.new_rels or rid in self.facts.template_ids:
                continue
            url = self.letter.package.url_of.get(rid)
            if url is None:
                return rid
            self.new_rels[rid] = Rel(RT.HYPERLINK, url, True)
        return None


@dataclass
class Rendering:
    """One letter: the pictures and relationships its parts added."""

    package: PackageFacts
    parts: dict[str, PartRendering] = field(default_factory=dict)
    images: list[tuple[str, str, str]] = field(default_factory=list)
    media: dict[str, tuple[Image, str]] = field(default_factory=dict)  # name -> (image, ext)

    def part(self, name: str) -> PartRendering:
        if name not in self.parts:
            self.parts[name] = PartRendering(self, self.package.parts[name])
        return self.parts[name]

    def image_part(self, image: Image) -> tuple[str, str]:
        """The part holding `image` and the name drawings give it: a part already in the
        package with the same bytes, or a new /word/media/imageN.ext numbered as python-docx
        numbers it."""
        known = [*self.package.images, *self.images]
        for sha1, name, filename in known:
            if sha1 == image.sha1:
                return name, filename
        used = {_index(name) for _sha1, name, _filename in known}
        n = next((i for i in range(1, len(known) + 1) if i not in used), len(known) + 1)
        name = f"word/media/image{n}.{image.ext}"
        self.images.append((image.sha1, name, image.filename))
        self.media[name] = (image, image.ext)
        return name, image.filename

    def active(self) -> Iterator[str]:
        """The rendered parts whose relationships changed."""
        return (name for name, part in self.parts.items() if part.new_rels)

    def entries(self) -> dict[str, bytes]:
        """The relationship parts, content types and pictures this letter adds or changes."""
        out: dict[str, bytes] = {}
        for name in self.active():
            out[rels_name(name)] = _with_rels(self.package.entries.get(rels_name(name)), name,
                                              self.parts[name].new_rels)
        if self.media:
            out[CONTENT_TYPES] = _with_types(self.package.entries[CONTENT_TYPES], self.media)
            for name, (image, _ext) in self.media.items():
                out[name] = image.blob
        return out


def _index(partname: str) -> int | None:
    match = re.search(r"(\d+)\.[^./]+$", partname)
    return int(match.group(1)) if match else None


def _with_rels(original: bytes | None, part: str, new: dict[str, Rel]) -> bytes:
    root = etree.fromstring(original) if original else etree.Element(
        f"{{{RELS_NS}}}Relationships", nsmap={None: RELS_NS})
    folder = posixpath.dirname(part)
    for rid, rel in new.items():
        element = etree.SubElement(root, f"{{{RELS_NS}}}Relationship")
        element.set("Id", rid)
        element.set("Type", rel.reltype)
        if rel.external:
            element.set("Target", rel.target)
            element.set("TargetMode", "External")
        else:
            element.set("Target", posixpath.relpath(rel.target, folder or "."))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _with_types(original: bytes, media: dict[str, tuple[Image, str]]) -> bytes:
    """[Content_Types].xml covering every new picture: a Default for a new extension, an
    Override where the extension already stands for another type."""
    root = etree.fromstring(original)
    defaults = {d.get("Extension", "").lower(): d.get("ContentType")
                for d in root.iter(f"{{{TYPES_NS}}}Default")}
    for name, (image, ext) in media.items():
        known = defaults.get(ext.lower())
        if known == image.content_type:
            continue
        if known is None:
            element = etree.Element(f"{{{TYPES_NS}}}Default")
            element.set("Extension", ext)
            element.set("ContentType", image.content_type)
            root.insert(0, element)  # Defaults come before Overrides
            defaults[ext.lower()] = image.content_type
        else:
            element = etree.SubElement(root, f"{{{TYPES_NS}}}Override")
            element.set("PartName", "/" + name)
            element.set("ContentType", image.content_type)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


class rendering_part:  # noqa: N801 - used as a context manager, like a function
    """`with rendering_part(letter, name):` pictures placed meanwhile go into part `name`."""

    def __init__(self, letter: Rendering, name: str) -> None:
        self.part = letter.part(name)

    def __enter__(self) -> PartRendering:
        self._token = _CURRENT.set(self.part)
        return self.part

    def __exit__(self, *exc: object) -> None:
        _CURRENT.reset(self._token)


#: the core properties docxtpl renders (python-docx's names -> core.xml's elements)
DOCXTPL_PROPERTIES = {"author": "creator", "comments": "description", "identifier": "identifier",
                      "language": "language", "subject": "subject", "title": "title"}
_PROPERTY_RELS = (RT.CORE_PROPERTIES, RT.EXTENDED_PROPERTIES, RT.CUSTOM_PROPERTIES)
_TAG = re.compile(r"\{[{%#]")


@dataclass
class _PropertyPart:
    name: str
    root: Any  # the parsed part, docxtpl's changes made
    templated: list[int]  # positions (in root.iter() order) of texts carrying tags
    fixed: bytes | None = None  # the bytes when nothing in it renders per letter


class Properties:
    """The document's properties with tags in them: core.xml (title, subject, author,
    comments, keywords, category, ...), app.xml (company, manager) and custom properties.
    core.xml gets docxtpl's changes (its six properties written even when empty), so it comes
    out as docxtpl's."""

    def __init__(self, docx: Any) -> None:
        from docx.oxml.parser import parse_xml  # python-docx's classes for core.xml

        self.parts: list[_PropertyPart] = []
        for rel in docx.part.package.rels.values():
            if rel.is_external or rel.reltype not in _PROPERTY_RELS:
                continue
            target = rel.target_part
            root = parse_xml(target.blob)
            core = rel.reltype == RT.CORE_PROPERTIES
            if core:
                for element_name in DOCXTPL_PROPERTIES.values():
                    element = root._get_or_add(element_name)
                    element.text = element.text or ""
            elements = list(root.iter())
            templated = [i for i, e in enumerate(elements)
                         if isinstance(e.tag, str) and e.text and _TAG.search(e.text)]
            if templated or core:
                self.parts.append(_PropertyPart(target.partname.lstrip("/"), root, templated))
        for part in self.parts:
            if not part.templated:
                part.fixed = etree.tostring(part.root, encoding="UTF-8", standalone=True)

    def texts(self) -> Iterator[tuple[tuple[str, int], str, str]]:
        """(key, Jinja source, label for messages) of every property text with tags."""
        for part in self.parts:
            elements = list(part.root.iter())
            for i in part.templated:
                label = etree.QName(elements[i]).localname
                yield (part.name, i), elements[i].text, f"the document properties ({label})"

    def write(self, rendered: dict[tuple[str, int], str]) -> dict[str, bytes]:
        """Every property part, with the rendered texts (escaped once, as XML text)."""
        import copy

        out: dict[str, bytes] = {}
        for part in self.parts:
            if part.fixed is not None:
                out[part.name] = part.fixed
                continue
            root = copy.deepcopy(part.root)
            elements = list(root.iter())
            for i in part.templated:
                elements[i].text = rendered[(part.name, i)]
            out[part.name] = etree.tostring(root, encoding="UTF-8", standalone=True)
        return out
