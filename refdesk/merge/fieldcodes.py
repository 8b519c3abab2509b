"""Word's field codes: the MERGEFIELD and IF fields of one part of a document, read once.

A field is `w:fldSimple`, or the complex form (`w:fldChar` begin, `w:instrText`, separate, the
shown result, end) whose code Word may split across runs and nest
(`{ IF { MERGEFIELD Gender } = "F" "Dear Ms." "Dear Mr." }`). The reader compiles each merging
field into a Node that gives its value for a record's data, and puts a placeholder run where
the field stood, in the formatting of its result. A field refdesk cannot honour (NEXT, ASK,
FILLIN, SET, ...) is refused, naming the field and the paragraph; fields that do not merge
(PAGE, DATE, HYPERLINK, TOC, ...) stay fields.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from refdesk.merge import wordformat
from refdesk.merge.engine import TemplateError

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_P, _R, _RPR, _T = f"{{{W}}}p", f"{{{W}}}r", f"{{{W}}}rPr", f"{{{W}}}t"
_FLDCHAR, _INSTR, _SIMPLE = f"{{{W}}}fldChar", f"{{{W}}}instrText", f"{{{W}}}fldSimple"
_DEL, _BOOKMARKS = f"{{{W}}}del", (f"{{{W}}}bookmarkStart", f"{{{W}}}bookmarkEnd")
_TYPE, _INSTR_ATTR = f"{{{W}}}fldCharType", f"{{{W}}}instr"
#: Fields that do not take part in a merge: they stay fields in the letter.
KEPT = frozenset("""PAGE NUMPAGES SECTIONPAGES SECTION DATE TIME CREATEDATE SAVEDATE PRINTDATE
    EDITTIME HYPERLINK TOC TOA TC XE INDEX RD PAGEREF REF NOTEREF STYLEREF SEQ FILENAME
    FILESIZE AUTHOR TITLE SUBJECT KEYWORDS COMMENTS LASTSAVEDBY TEMPLATE DOCPROPERTY INFO
    NUMWORDS NUMCHARS REVNUM SYMBOL EQ ADVANCE FORMTEXT FORMCHECKBOX FORMDROPDOWN
    BIBLIOGRAPHY CITATION LISTNUM AUTONUM AUTONUMLGL AUTONUMOUT BARCODE DISPLAYBARCODE
    USERNAME USERINITIALS USERADDRESS GOTOBUTTON MACROBUTTON PRIVATE QUOTE
    INCLUDEPICTURE SHAPE""".split())
MERGING = frozenset({"MERGEFIELD", "IF"})
#: Why a field Word's merge knows cannot be honoured, and what to do instead.
REFUSED = {
    "NEXT": "moves on to the next record inside one document; refdesk makes one document per "
            "record. Remove it (choose the records with the job's where in config.toml)",
    "NEXTIF": "moves on to the next record inside one document; refdesk makes one document "
              "per record. Remove it (choose the records with the job's where)",
    "SKIPIF": "skips records while merging. Remove it and choose the records with the job's "
              "where in config.toml",
    "MERGEREC": "prints the record's number in Word's merge. Remove it",
    "MERGESEQ": "prints the record's number in Word's merge. Remove it",
    "DATABASE": "inserts a table from a database. Remove it",
    "ASK": "asks a question while merging, which refdesk cannot do. Replace it with text or a "
           "MERGEFIELD",
    "FILLIN": "asks a question while merging, which refdesk cannot do. Replace it with text "
              "or a MERGEFIELD",
    "SET": "sets a bookmark while merging. Replace it and the REF fields that use it with "
           "text or a MERGEFIELD",
    "ADDRESSBLOCK": "is Word's address block. Insert the MERGEFIELDs it stands for instead "
                    "(or retype it as text and fields)",
    "GREETINGLINE": "is Word's greeting line. Write the greeting with MERGEFIELDs instead, "
                    "e.g. Dear «FirstName»,",
}


def norm(name: str) -> str:
    """A field name as it is looked up: case, spaces, underscores and dashes do not count."""
    return re.sub(r"[\s_\-]+", "", name).lower()


# -- the instruction of a field, in tokens --------------------------------------------------
@dataclass
class Token:
    """One word or "quoted text" of a field code; nested fields stay in it as Nodes."""

    parts: list[Any] = field(default_factory=list)  # str or Node
    quoted: bool = False

    def text(self) -> str:
        """The token's own text, its nested fields left out."""
        return "".join(p for p in self.parts if isinstance(p, str))

    def plain(self) -> bool:
        return all(isinstance(p, str) for p in self.parts)

    def value(self, ctx: Mapping[str, Any]) -> str:
        return "".join(p if isinstance(p, str) else p.value(ctx) for p in self.parts)


def tokenize(pieces: list[Any]) -> list[Token]:
    """The words, operators and quoted texts of a field code whose pieces are text and
    nested fields (already compiled)."""
    tokens: list[Token] = []
    current: Token | None = None
    for piece in pieces:
        if not isinstance(piece, str):
            if current is None:
                current = Token()
                tokens.append(current)
            current.parts.append(piece)
            continue
        i = 0
        while i < len(piece):
            c = piece[i]
            if current is not None and current.quoted:
                if c == "\\" and piece[i + 1:i + 2] in ('"', "\\"):
                    current.parts.append(piece[i + 1])
                    i += 2
                    continue
                if c == '"':
                    current = None
                else:
                    current.parts.append(c)
                i += 1
                continue
            if c.isspace():
                current = None
            elif c == '"':
                current = Token(quoted=True)
                tokens.append(current)
            elif c in "<>=" and not (current is not None and current.text().startswith("\\")):
                op = next(o for o in wordformat.OPERATORS if piece.startswith(o, i))
                tokens.append(Token([op]))
                current = None
                i += len(op)
                continue
            else:
                if current is None:
                    current = Token()
                    tokens.append(current)
                current.parts.append(c)
            i += 1
    return [_joined(t) for t in tokens]


def _joined(token: Token) -> Token:
    """Adjacent characters made into one string, for speed when rendering."""
    parts: list[Any] = []
    for p in token.parts:
        if isinstance(p, str) and parts and isinstance(parts[-1], str):
            parts[-1] += p
        else:
            parts.append(p)
    return Token(parts, token.quoted)


# -- compiled fields -------------------------------------------------------------------------
@dataclass
class Switches:
    cases: list[str] = field(default_factory=list)
    date: Token | None = None
    number: Token | None = None
    before: Token | None = None
    after: Token | None = None

    def apply(self, text: str, ctx: Mapping[str, Any]) -> str:
        if self.date is not None and text:
            text = wordformat.date_picture(text, self.date.value(ctx))
        if self.number is not None and text:
            text = wordformat.number_picture(text, self.number.value(ctx))
        for how in self.cases:
            text = wordformat.case(text, how)
        if text and self.before is not None:
            text = self.before.value(ctx) + text
        if text and self.after is not None:
            text = text + self.after.value(ctx)
        return text


class Node:
    """A compiled merging field: its value for one record's data."""

    def value(self, ctx: Mapping[str, Any]) -> str:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass
class MergeField(Node):
    name: str
    switches: Switches
    where: str  # "the body, paragraph 3 ('Dear «FirstName»,')"
    path: str = ""  # the data it prints, once bound: "client.first_name"

    def value(self, ctx: Mapping[str, Any]) -> str:
        node: Any = ctx
        for key in self.path.split("."):
            if not isinstance(node, Mapping) or key not in node:
                raise TemplateError(f"{self.where}: MERGEFIELD {self.name} ({self.path}) has "
                                    "no value for this record; check the job's fields table.")
            node = node[key]
        return self.switches.apply(_text(node), ctx)


@dataclass
class _Opaque(Node):
    """A field that does not merge, met inside another field's code."""

    kind: str
    where: str


@dataclass
class IfField(Node):
    left: Token
    op: str
    right: Token
    true: Token
    false: Token
    switches: Switches

    def value(self, ctx: Mapping[str, Any]) -> str:
        chosen = self.true if wordformat.compare(self.left.value(ctx), self.op,
                                                 self.right.value(ctx)) else self.false
        return self.switches.apply(chosen.value(ctx), ctx)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value if v not in (None, ""))
    return str(value)


def _switches(tokens: list[Token], where: str, kind: str) -> Switches:
    found = Switches()
    i = 0
    while i < len(tokens):
        word = tokens[i].text() if not tokens[i].quoted else ""
        if not word.startswith("\\") or len(word) < 2:
            raise TemplateError(f"{where}: the {kind} field has {_shown(tokens[i])} where a "
                                "switch (\\* \\@ \\# \\b \\f) should be; check the field code "
                                "in Word (Alt+F9 shows it).")
        letter = word[1].lower()
        if len(word) > 2:
            arg: Token | None = Token([word[2:]])
        else:
            arg = tokens[i + 1] if i + 1 < len(tokens) else None
            i += 1
        i += 1
        if letter in "mv":  # \m mapped field, \v vertical text: nothing to do
            if len(word) == 2:
                i -= 1
            continue
        if letter not in "*@#bf" or arg is None:
            raise TemplateError(f"{where}: the switch {word} of the {kind} field is not one "
                                "refdesk can apply; use \\* Upper, Lower, Caps or FirstCap, "
                                "\\@ \"date picture\", \\# \"number picture\", \\b or \\f.")
        if letter == "*":
            how = arg.text().strip().lower()
            if how in wordformat.CASES:
                found.cases.append(how)
            elif how not in wordformat.IGNORED_FORMATS:
                raise TemplateError(f"{where}: the format \\* {arg.text()} of the {kind} field "
                                    "is not one refdesk can apply; use Upper, Lower, Caps, "
                                    "FirstCap or MERGEFORMAT.")
        elif letter == "@":
            found.date = arg
        elif letter == "#":
            found.number = arg
        elif letter == "b":
            found.before = arg
        else:
            found.after = arg
    return found


def _shown(token: Token) -> str:
    return repr(token.text()) if token.plain() else "a nested field"


# -- reading a part ----------------------------------------------------------------------------
@dataclass
class _Frame:
    """A field while its runs are read."""

    first: Any  # its begin run (or the fldSimple element)
    paragraph: tuple[int, str]
    pieces: list[Any] = field(default_factory=list)
    state: str = "instr"  # then "result"
    kind: str = ""
    unit: bool = False  # replaced as a whole (not inside another merging field)
    covered: list[Any] = field(default_factory=list)
    paragraphs: set[int] = field(default_factory=set)
    result_rpr: Any = None
    node: Node | None = None


class PartReader:
    """Finds the fields of one part and puts a placeholder run where each merging field
    stood."""

    def __init__(self, template: str, label: str, root: Any) -> None:
        self.template, self.label, self.root = template, label, root
        self.stack: list[_Frame] = []
        self.paragraph: tuple[int, str] = (0, "")
        self.count = 0
        self.units: list[tuple[_Frame, Node]] = []
        self.fields: list[MergeField] = []

    # where things are, for messages
    def where(self, paragraph: tuple[int, str]) -> str:
        number, text = paragraph
        text = text[:60] + ("..." if len(text) > 60 else "")
        place = f"{self.template}, {self.label}"
        place += f", paragraph {number}" if number else ""
        return place + (f" ({text!r})" if text else "")

    def read(self) -> None:
        _split_runs(self.root)
        self._walk(self.root)
        if self.stack:
            frame = self.stack[0]
            raise TemplateError(f"{self.where(frame.paragraph)}: a field begins here and never "
                                "ends; the document is damaged. Open it in Word and save it "
                                "again.")

    def _walk(self, element: Any) -> None:
        for child in element:
            tag = child.tag
            if tag == _P:
                outer = self.paragraph
                self.count += 1
                # its text as the template has it, before any field in it is replaced
                shown = "".join(t.text or "" for t in child.iter(_T)).strip()
                self.paragraph = (self.count, shown)
                self._walk(child)
                self.paragraph = outer
            elif tag == _R:
                self._run(child)
            elif tag == _SIMPLE:
                self._simple(child)
            elif tag == _DEL or not isinstance(tag, str):
                continue
            else:
                self._walk(child)

    def _touch(self, element: Any) -> None:
        """Note an element read while fields are open: the outermost merging field it is in
        removes it."""
        for frame in self.stack:
            if frame.unit and not (frame.state == "result" and frame.kind in KEPT):
                frame.covered.append(element)
                frame.paragraphs.add(self.paragraph[0])
                return

    def _run(self, run: Any) -> None:
        kids = [c for c in run if c.tag != _RPR]
        if not kids:
            if self.stack:
                self._touch(run)
            return
        kid = kids[0]
        if kid.tag == _FLDCHAR:
            kind = kid.get(_TYPE)
            if kind == "begin":
                self._begin(run)
            elif kind == "separate" and self.stack:
                self._touch(run)
                self._separate(self.stack[-1])
            elif kind == "end" and self.stack:
                self._touch(run)
                self._end()
            return
        if not self.stack:
            for k in kids:  # a text box's own paragraphs
                self._walk(k)
            return
        self._touch(run)
        top = self.stack[-1]
        if kid.tag == _INSTR and top.state == "instr":
            top.pieces.append(kid.text or "")
        elif top.state == "result" and top.result_rpr is None:
            top.result_rpr = run.find(_RPR)
            if top.result_rpr is None:
                top.result_rpr = False
        if top.state == "result" and top.kind in KEPT:
            for k in kids:
                self._walk(k)

    def _transparent(self) -> bool:
        """Whether a field beginning now stands on its own: outside every field, or in the
        shown result of fields that stay fields."""
        return all(f.state == "result" and f.kind in KEPT for f in self.stack)

    def _begin(self, run: Any) -> None:
        unit = self._transparent()
        if not unit:
            self._touch(run)
        frame = _Frame(run, self.paragraph, unit=unit)
        if unit:
            frame.covered.append(run)
            frame.paragraphs.add(self.paragraph[0])
        self.stack.append(frame)

    def _simple(self, element: Any) -> None:
        unit = self._transparent()
        if not unit:
            self._touch(element)
        frame = _Frame(element, self.paragraph, [element.get(_INSTR_ATTR) or ""], unit=unit)
        first = element.find(_R)
        frame.result_rpr = first.find(_RPR) if first is not None else None
        if unit:
            frame.covered.append(element)
            frame.paragraphs.add(self.paragraph[0])
        self.stack.append(frame)
        self._separate(frame)
        if frame.kind in KEPT:
            self._walk(element)
        self._end()

    def _separate(self, frame: _Frame) -> None:
        if frame.state == "result":
            return
        frame.state = "result"
        frame.node = self._compile(frame)

    def _end(self) -> None:
        frame = self.stack.pop()
        if frame.state == "instr":
            frame.node = self._compile(frame)
        parent = self.stack[-1] if self.stack else None
        if frame.kind in MERGING:
            if parent is not None and parent.state == "instr":
                parent.pieces.append(frame.node)
            elif frame.unit:
                self._replace(frame)
        elif parent is not None and parent.state == "instr" and frame.kind != "EMPTY":
            parent.pieces.append(_Opaque(frame.kind, self.where(frame.paragraph)))

    def _compile(self, frame: _Frame) -> Node | None:
        tokens = tokenize(frame.pieces)
        where = self.where(frame.paragraph)
        if not tokens:
            frame.kind = "EMPTY"  # an empty field: Word shows nothing, it stays as it is
            return None
        head = tokens[0]
        if not head.plain():
            raise TemplateError(f"{where}: a field whose name is made by another field cannot "
                                "be merged by refdesk; retype the field in Word.")
        kind = head.text().upper()
        frame.kind = kind
        nested = [p for t in tokens for p in t.parts if not isinstance(p, str)]
        opaque = [p for p in nested if isinstance(p, _Opaque)]
        if kind in MERGING and opaque:
            raise TemplateError(f"{opaque[0].where}: the {opaque[0].kind} field inside the "
                                f"{kind} field's code cannot be worked out by refdesk; replace "
                                "it with text or a MERGEFIELD.")
        if kind in KEPT:
            if len(opaque) < len(nested):
                raise TemplateError(f"{where}: the {kind} field has a merge field in its code; "
                                    "refdesk cannot fill it in. Type the text instead, or "
                                    "move the MERGEFIELD out of the field.")
            return None
        if kind == "MERGEFIELD":
            if len(tokens) < 2 or not tokens[1].plain() or not tokens[1].text().strip():
                raise TemplateError(f"{where}: a MERGEFIELD without a field name; delete it or "
                                    "insert the field again from Word's Mailings tab.")
            name = tokens[1].text().strip()
            merge = MergeField(name, _switches(tokens[2:], where, kind), where)
            self.fields.append(merge)
            return merge
        if kind == "IF":
            return self._if(tokens[1:], where)
        if kind in REFUSED:
            raise TemplateError(f"{where}: the {kind} field {REFUSED[kind]}. Nothing was made.")
        shown = kind if re.fullmatch(r"[A-Z][A-Z0-9]*", kind) else f"'{head.text()}'"
        raise TemplateError(f"{where}: the {shown} field is not one refdesk can merge; remove "
                            "it in Word (Alt+F9 shows field codes), or replace it with text or "
                            "a MERGEFIELD. Nothing was made.")

    def _if(self, tokens: list[Token], where: str) -> Node:
        ops = [i for i, t in enumerate(tokens)
               if not t.quoted and t.plain() and t.text() in wordformat.OPERATORS]
        if not ops or ops[0] != 1 or len(tokens) < 4:
            raise TemplateError(f"{where}: an IF field refdesk cannot read; write it as "
                                "{ IF { MERGEFIELD Name } = \"value\" \"text if so\" \"text if "
                                "not\" } with =, <>, <, >, <= or >=.")
        rest = tokens[4:]
        if rest and (rest[0].quoted or not rest[0].text().startswith("\\")):
            false, switches = rest[0], rest[1:]
        else:
            false, switches = Token(), rest
        return IfField(tokens[0], tokens[1].text(), tokens[2], tokens[3], false,
                       _switches(switches, where, "IF"))

    def _replace(self, frame: _Frame) -> None:
        assert frame.node is not None
        if len(frame.paragraphs) > 1:
            raise TemplateError(f"{self.where(frame.paragraph)}: the {frame.kind} field runs "
                                "over several paragraphs; refdesk merges a field within one "
                                "paragraph. Put the field's text on one line in Word.")
        first = frame.first
        slot = etree.SubElement(first.getparent(), _R)
        first.addprevious(slot)
        rpr = frame.result_rpr if frame.result_rpr not in (None, False) else first.find(_RPR)
        if rpr is not None:
            slot.append(copy.deepcopy(rpr))
        slot.append(etree.ProcessingInstruction("refdesk-slot", str(len(self.units))))
        self.units.append((frame, frame.node))
        for element in frame.covered:
            parent = element.getparent()
            if parent is None:
                continue
            # bookmarks a field happens to enclose stay, so that REF and links still find them
            for mark in [e for e in element.iter(*_BOOKMARKS)]:
                slot.addnext(mark)
            parent.remove(element)


def _split_runs(root: Any) -> None:
    """A run holding a field character or field code beside other content becomes one run
    per piece, so that removing a field never takes text outside it."""
    for run in list(root.iter(_R)):
        kids = [c for c in run if c.tag != _RPR]
        if len(kids) < 2 or not any(k.tag in (_FLDCHAR, _INSTR) for k in kids):
            continue
        rpr = run.find(_RPR)
        parent = run.getparent()
        at = parent.index(run)
        for offset, kid in enumerate(kids[1:], start=1):
            new = etree.SubElement(parent, _R)
            if rpr is not None:
                new.append(copy.deepcopy(rpr))
            new.append(kid)
            parent.insert(at + offset, new)
