"""The mail-merge engine: a .docx template with docxtpl's Jinja tags, compiled once and
rendered many times.

docxtpl prepares a template's XML for Jinja (tags Word split across runs joined, `{%tr %}`,
`{%p %}` and the other row, paragraph and cell tags turned into plain Jinja) and, after
rendering, fixes tables and picture ids. refdesk uses those same steps, so a document comes out
with the same document.xml as docxtpl's, but does the slow parts once per template instead of
once per letter: the template is opened, prepared and compiled once; each letter renders only
the parts that carry tags and copies every other part of the package as it is.

Templates are rendered in refdesk's sandbox (refdesk.merge.sandbox): a template that reaches
past the data is refused when it is compiled, before anything is made. Values print exactly as
typed: docxtpl's `{_{ }_}` escapes work in a template's own text, never on the data.
"""

from __future__ import annotations

import copy
import io
import re
import sys
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.oxml import parse_xml, serialize_part_xml
from docxtpl import DocxTemplate
from docxtpl.subdoc import Subdoc
from jinja2 import meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from refdesk.errors import RefdeskError
from refdesk.merge import package, sandbox
from refdesk.merge.package import Picture

__all__ = ["CompiledTemplate", "Picture", "TemplateError", "refdesk_environment"]

FOOTNOTES_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"
_TAGS = re.compile(r"<[^>]+>")


class TemplateError(RefdeskError):
    """A template that cannot be prepared or rendered: names the template and the paragraph."""


def refdesk_environment() -> jinja2.Environment:
    """The sandbox, every value escaped for XML and kept from docxtpl's un-escaping; a field
    the data lacks is an error, not an empty string."""
    return sandbox.environment(autoescape=True, finalize=sandbox.finalize)


@dataclass
class _Part:
    name: str  # zip entry name, e.g. word/header1.xml
    label: str  # for messages: "the body", "header 1"
    source: str  # the prepared Jinja source (one paragraph per line)
    template: jinja2.Template
    encoding: str = "utf-8"
    kind: str = "xml"  # "body", "xml" (headers, footers) or "raw" (footnotes)


def _paragraph_text(source: str, lineno: int | None) -> str:
    """The text of the paragraph a Jinja line number falls in, tags and XML stripped."""
    if not lineno:
        return ""
    lines = source.splitlines()
    if not 0 < lineno <= len(lines):
        return ""
    text = _TAGS.sub("", lines[lineno - 1]).strip()
    return text[:80] + ("..." if len(text) > 80 else "")


def _where(label: str, lineno: int | None, source: str) -> str:
    if not lineno:
        return label
    # prepare() puts every <w:p> on its own line; line 1 is what precedes the first paragraph
    paragraph = max(lineno - 1, 1)
    text = _paragraph_text(source, lineno)
    return f"{label}, paragraph {paragraph}" + (f" ({text!r})" if text else "")


class CompiledTemplate:
    """One .docx template, ready to render any number of documents."""

    def __init__(self, path: Path, env: jinja2.Environment | None = None) -> None:
        self.path = Path(path)
        self.name = self.path.name
        self.env = env or refdesk_environment()
        if not isinstance(self.env, SandboxedEnvironment):  # templates are untrusted code
            raise TypeError("a template renders only in a sandboxed environment; start from "
                            "refdesk_environment()")
        try:
            self.raw = self.path.read_bytes()
            self.tpl = DocxTemplate(io.BytesIO(self.raw))
            self.tpl.init_docx()
        except FileNotFoundError:
            raise TemplateError(f"{self.path}: no such template. Check the job's template "
                                "in config.toml, or the templates folder.") from None
        except Exception as exc:  # python-docx raises several kinds for a non-docx file
            raise TemplateError(f"{self.path}: not a Word document (.docx) refdesk can open "
                                f"({type(exc).__name__}: {exc}). Save it from Word as .docx.")\
                from None
        #: A letter made for Word's own mail merge (MERGEFIELDs, no tags) renders its own way.
        self.word_merge = _word_merge(self.name, self.raw)
        if self.word_merge is not None:
            return
        with zipfile.ZipFile(io.BytesIO(self.raw)) as zf:
            self.entries = [((info.filename, info.date_time, info.compress_type,
                              info.external_attr), zf.read(info)) for info in zf.infolist()]
        self._base_zip: dict[bool, bytes] = {}
        self._entry_names = {info[0] for info, _data in self.entries}
        docx = self.tpl.docx
        self.document_part = docx.part.partname.lstrip("/")
        skeleton = copy.deepcopy(docx.element)
        self._placeholder = skeleton.body
        self._skeleton = skeleton
        self.parts: list[_Part] = [self._compile(self.document_part, "the body",
                                                 self.tpl.get_xml(), "body")]
        count = {RT.HEADER: 0, RT.FOOTER: 0}
        for uri, word in ((RT.HEADER, "header"), (RT.FOOTER, "footer")):
            for _key, part in self.tpl.get_headers_footers(uri):
                count[uri] += 1
                xml = self.tpl.get_part_xml(part)
                compiled = self._compile(part.partname.lstrip("/"), f"{word} {count[uri]}", xml,
                                         "xml")
                compiled.encoding = self.tpl.get_headers_footers_encoding(xml)
                self.parts.append(compiled)
        for part in docx.part.package.parts:
            if part.content_type == FOOTNOTES_TYPE:
                blob = part.blob.decode("utf-8") if isinstance(part.blob, bytes) else part.blob
                self.parts.append(self._compile(part.partname.lstrip("/"), "the footnotes",
                                                blob, "raw"))
        # pictures, links and properties: what a letter adds to the package besides its text
        self.package = package.PackageFacts(docx, {i[0]: d for i, d in self.entries},
                                            [p.name for p in self.parts])
        self.tpl.current_rendering_part = package.CURRENT_PART  # InlineImage(engine.tpl, ...)
        self._properties = package.Properties(docx)
        property_env = self.env.overlay(autoescape=False, finalize=None)  # escaped once, as XML
        self._property_templates = [(key, label, self._compile_text(property_env, text, label))
                                    for key, text, label in self._properties.texts()]
        self._sources = [p.source for p in self.parts] + [
            text for _key, text, _label in self._properties.texts()]
        # what each letter writes anew (its parts, properties with tags), what it writes only
        # when it adds pictures or links (the parts' relationships, the content types) and
        # what is the same for every letter (core.xml with docxtpl's changes)
        self._fixed = {p.name: p.fixed for p in self._properties.parts if p.fixed is not None}
        self._per_letter = {p.name for p in self.parts} | {
            p.name for p in self._properties.parts if p.fixed is None}
        self._if_added = {package.rels_name(p.name) for p in self.parts} | {
            package.CONTENT_TYPES}

    # -- preparing ---------------------------------------------------------------------------
    def _compile(self, name: str, label: str, xml: str, kind: str) -> _Part:
        source = self.tpl.patch_xml(xml)
        source = re.sub(r"<w:p([ >])", r"\n<w:p\1", source)
        try:
            template = sandbox.compile_checked(self.env, source)
        except sandbox.Refused as exc:
            raise TemplateError(f"{self.name}, {_where(label, exc.lineno, source)}: "
                                f"{sandbox.refusal_message(exc.what)}.") from None
        except jinja2.TemplateAssertionError as exc:  # an unknown filter or test
            where = _where(label, exc.lineno, source)
            raise TemplateError(f"{self.name}, {where}: {exc.message.rstrip('.')}. Use one of "
                                "Jinja's built-in filters and tests (README, Mail merge).") \
                from None
        except jinja2.TemplateSyntaxError as exc:
            where = _where(label, exc.lineno, source)
            raise TemplateError(f"{self.name}, {where}: {exc.message}. Fix the tag in Word; if "
                                "it looks right, retype it in one go (Word may have split it "
                                "while you edited).") from None
        return _Part(name, label, source, template, kind=kind)

    def _compile_text(self, env: jinja2.Environment, text: str, label: str) -> jinja2.Template:
        """A document property's text, checked as the parts are."""
        try:
            return sandbox.compile_checked(env, text)
        except sandbox.Refused as exc:
            raise TemplateError(f"{self.name}, {label}: "
                                f"{sandbox.refusal_message(exc.what)}.") from None
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(f"{self.name}, {label}: {exc.message}. Fix the tag in the "
                                "document's properties (Word: File, Info, Properties).") from None

    # -- what docxtpl's callers ask a template for -----------------------------------------
    #: docxtpl's InlineImage(tpl, ...) places its picture in the part being rendered
    current_rendering_part = package.CURRENT_PART

    def build_url_id(self, url: str) -> str:
        """The relationship id for a link to `url`, as docxtpl's `build_url_id`: use it as
        `RichText().add(text, url_id=...)`; the link works in the body, headers and footers."""
        if self.word_merge is not None:
            raise TemplateError(self._unsupported("a link (build_url_id) in a Word mail-merge "
                                                  "letter"))
        return self.package.url_id(url)

    def new_subdoc(self, docpath: Any = None) -> None:
        """Sub-documents are not supported: refused, naming the template."""
        raise TemplateError(self._unsupported("sub-documents (new_subdoc)"))

    def replace_media(self, *args: Any, **kwargs: Any) -> None:
        raise TemplateError(self._unsupported("replacing pictures (replace_media)"))

    def replace_pic(self, *args: Any, **kwargs: Any) -> None:
        raise TemplateError(self._unsupported("replacing pictures (replace_pic)"))

    def replace_embedded(self, *args: Any, **kwargs: Any) -> None:
        raise TemplateError(self._unsupported("replacing embedded documents (replace_embedded)"))

    def replace_zipname(self, *args: Any, **kwargs: Any) -> None:
        raise TemplateError(self._unsupported("replacing embedded files (replace_zipname)"))

    def _unsupported(self, feature: str) -> str:
        return (f"{self.name}: {feature} is not supported by refdesk's merge. Put the text in "
                "the template, and pictures as fields holding a picture (README, Mail merge: "
                "images, links, properties).")

    def bind(self, fields: Mapping[str, str], available: Mapping[str, Any],
             job: str = "NAME") -> list[str]:
        """A Word mail-merge letter's fields matched to a job's data (its `fields` table, then
        by name): one line for each field that matches none. Nothing to do for tags."""
        return [] if self.word_merge is None else self.word_merge.bind(fields, available, job)

    # -- what the template asks for ----------------------------------------------------------
    def variables(self) -> set[str]:
        """Top-level names the template reads (docxtpl's undeclared variables)."""
        if self.word_merge is not None:
            return {p.split(".")[0] for p in self.word_merge.paths()}
        found: set[str] = set()
        for source in self._sources:  # the parts' and the document properties'
            found |= meta.find_undeclared_variables(self.env.parse(source))
        return found

    def fields(self) -> set[str]:
        """Dotted paths the template reads from its top-level names: `provider.name`,
        `practice.conditions`; loop variables are left out (their items are checked when
        rendering)."""
        if self.word_merge is not None:
            return self.word_merge.paths()
        found: set[str] = set()
        for source in self._sources:
            tree = self.env.parse(source)
            top = meta.find_undeclared_variables(tree)
            for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Name)):
                path = _dotted(node)
                if path and path.split(".")[0] in top:
                    found.add(path)
        # keep the longest paths only: provider.name makes provider redundant
        return {p for p in found if not any(o.startswith(p + ".") for o in found)}

    # -- rendering ---------------------------------------------------------------------------
    def _render_part(self, part: _Part, context: Mapping[str, Any],
                     letter: package.Rendering | None = None) -> str:
        letter = letter or package.Rendering(self.package)
        try:
            with package.rendering_part(letter, part.name):  # where pictures go
                xml = part.template.render(context)
        except jinja2.UndefinedError as exc:
            lineno = sandbox.template_lineno(sys.exc_info()[2])
            raise TemplateError(f"{self.name}, {_where(part.label, lineno, part.source)}: "
                                f"{exc.message}.") from None
        except RefdeskError as exc:  # a picture that cannot be placed
            lineno = sandbox.template_lineno(sys.exc_info()[2])
            raise TemplateError(f"{self.name}, {_where(part.label, lineno, part.source)}: "
                                f"{exc.message.rstrip('.')}.") from None
        except Exception as exc:  # the sandbox's refusals, 1/0, ...: one line, never data
            lineno = getattr(exc, "lineno", None) or sandbox.template_lineno(sys.exc_info()[2])
            raise TemplateError(f"{self.name}, {_where(part.label, lineno, part.source)}: "
                                f"{sandbox.runtime_message(exc)}.") from None
        # the steps docxtpl takes after rendering a part; values were protected from the
        # un-escaping by sandbox.finalize, so only the template's own `{_{` are turned
        xml = re.sub(r"\n<w:p([ >])", r"<w:p\1", xml)
        xml = (xml.replace("{_{", "{{").replace("}_}", "}}").replace("{_%", "{%")
               .replace("%_}", "%}"))
        unknown = letter.part(part.name).settle(xml)  # adds the links' relationships
        if unknown:
            raise TemplateError(f"{self.name}, {part.label}: a link or picture made for "
                                f"another template (relationship {unknown}). Make links with "
                                "this template's build_url_id and pictures with Picture.")
        return self.tpl.resolve_listing(xml)

    def render_parts(self, context: Mapping[str, Any]) -> dict[str, bytes]:
        """The new bytes of every part that carries tags, and of the document's properties."""
        return self._render_letter(context)[0]

    def _render_letter(self, context: Mapping[str, Any]
                       ) -> tuple[dict[str, bytes], package.Rendering]:
        """The rendered parts and properties, and the pictures and links they added."""
        _refuse_subdocs(self.name, context)
        letter = package.Rendering(self.package)
        out: dict[str, bytes] = {}
        for part in self.parts:
            xml = self._render_part(part, context, letter)
            if part.kind == "body":
                tree = self.tpl.fix_tables(xml)
                self.tpl.docx_ids_index = 1000
                self.tpl.fix_docpr_ids(tree)
                root = copy.deepcopy(self._skeleton)
                root.replace(root.body, tree)
                out[part.name] = serialize_part_xml(root)
            elif part.kind == "xml":
                out[part.name] = serialize_part_xml(parse_xml(xml.encode(part.encoding)))
            else:
                out[part.name] = xml.encode("utf-8")
        out.update(self._render_properties(context))
        return out, letter

    def _render_properties(self, context: Mapping[str, Any]) -> dict[str, bytes]:
        rendered: dict[tuple[str, int], str] = {}
        for key, label, template in self._property_templates:
            try:
                rendered[key] = template.render(context)
            except jinja2.UndefinedError as exc:
                raise TemplateError(f"{self.name}, {label}: {exc.message}.") from None
            except Exception as exc:  # as for the parts: one line, never data
                fix = "fix the tag in the document's properties"
                raise TemplateError(f"{self.name}, {label}: "
                                    f"{sandbox.runtime_message(exc, fix)}.") from None
        try:
            return self._properties.write(rendered)
        except ValueError:  # lxml refuses control characters
            raise TemplateError(f"{self.name}, the document properties: a value holds a "
                                "control character a Word document cannot carry; remove it "
                                "from the data.") from None

    def _base(self, added: bool) -> bytes:
        """A zip of every part that never changes, compressed once for all documents; for
        letters that `added` pictures or links, without the relationships and content types."""
        if added not in self._base_zip:
            skip = self._per_letter | (self._if_added if added else set())
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
                for (name, date_time, compress_type, attr), data in self.entries:
                    if name in skip:
                        continue
                    info = zipfile.ZipInfo(name, date_time)
                    info.compress_type, info.external_attr = compress_type, attr
                    out.writestr(info, self._fixed.get(name, data))
            self._base_zip[added] = buffer.getvalue()
        return self._base_zip[added]

    def render(self, context: Mapping[str, Any]) -> bytes:
        """A whole .docx: the rendered parts added to the parts that never change."""
        if self.word_merge is not None:
            return self.word_merge.render(context)
        rendered, letter = self._render_letter(context)
        added = letter.entries()  # relationships, content types, pictures
        rendered = {n: d for n, d in rendered.items() if n not in self._fixed} | added
        write = self._per_letter | (self._if_added if added else set())
        buffer = io.BytesIO(self._base(bool(added)))
        with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as out:
            for (name, date_time, compress_type, attr), data in self.entries:
                if name in write:
                    info = zipfile.ZipInfo(name, date_time)
                    info.compress_type, info.external_attr = compress_type, attr
                    out.writestr(info, rendered.pop(name, data))
            # new parts (pictures, a part's first relationships), dated as the template's
            date_time = self.entries[0][0][1]
            for name, data in rendered.items():
                if name not in self._entry_names:
                    info = zipfile.ZipInfo(name, date_time)
                    info.compress_type = zipfile.ZIP_DEFLATED
                    out.writestr(info, data)
        return buffer.getvalue()


def _refuse_subdocs(name: str, context: Mapping[str, Any]) -> None:
    """docxtpl's sub-documents add parts a compiled template cannot carry: refused by name
    (looked for in the context and one level into its lists and mappings)."""
    for value in context.values():
        inner = value.values() if isinstance(value, Mapping) else \
            value if isinstance(value, list | tuple) else ()
        if isinstance(value, Subdoc) or any(isinstance(v, Subdoc) for v in inner):
            raise TemplateError(f"{name}: sub-documents (new_subdoc) are not supported by "
                                "refdesk's merge. Put the text in the template, and pictures "
                                "as fields holding a picture (README, Mail merge: images, "
                                "links, properties).")


def _dotted(node: nodes.Node) -> str | None:
    parts: list[str] = []
    while isinstance(node, nodes.Getattr | nodes.Getitem):
        if isinstance(node, nodes.Getattr):
            parts.append(node.attr)
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            parts.append(node.arg.value)
        else:
            return None
        node = node.node
    if not isinstance(node, nodes.Name):
        return None
    parts.append(node.name)
    return ".".join(reversed(parts))


def _word_merge(name: str, raw: bytes) -> Any:
    """The Word mail-merge letter `raw` is, or None for a template with tags."""
    from refdesk.merge import mergefield  # it uses TemplateError, defined here

    return mergefield.WordMerge(name, raw) if mergefield.has_merge_fields(raw) else None


def compile_templates(paths: Iterable[Path]) -> list[CompiledTemplate]:
    return [CompiledTemplate(p) for p in paths]
