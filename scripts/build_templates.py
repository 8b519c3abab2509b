"""Build the merge templates in templates/: Word documents with docxtpl tags.

    python scripts/build_templates.py [FOLDER]

The same code gives the same files, byte for byte: fixed document properties and zip times, no
random ids. Every tag sits whole in one run, so Word shows it as typed and docxtpl reads it.
Paragraph and row tags (`{%p ... %}`, `{%tr ... %}`) stand alone in their own paragraph or row.
The look lives in named styles (Normal, Heading 1 and 2, Table Text, Table Label, ...), so a
change made to a style in Word applies throughout; or change this script and run it again.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import sys
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from xml.sax.saxutils import escape

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_ROW_HEIGHT_RULE, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Inches, Pt, RGBColor
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "templates"
FIXED = dt.datetime(2026, 1, 1)
AUTHOR = "refdesk"

FONT = "Cambria"
SYMBOL_FONT = "Segoe UI Symbol"  # for the check boxes; Word and LibreOffice fall back if absent
ACCENT = "24585C"  # deep teal: the practice name, titles, headings, rules
INK = "222222"
MUTED = "5C6668"
LABEL_FILL = "E6EEEE"
BORDER = "9AA7A8"
WIDTH = 6.5  # inches between the margins

CONFIDENTIAL = ("Confidential health information: protected under HIPAA; do not redisclose "
                "without the client's written authorization.")
BOX = "{{ '☒' if item.checked else '☐' }}"
EMPTY_BOX = "☐"
NBSP = "\u00a0"
GAP = "\u2003\u2003"  # two em spaces between inline check boxes


# -- styles -----------------------------------------------------------------------------------
def _rgb(hex_color: str) -> RGBColor:
    return RGBColor.from_string(hex_color)


def _plain_fonts(doc: DocumentObject) -> None:
    """One font family everywhere: the document default names it, no style names a theme font
    or a theme colour (a theme attribute would win over the font and colour set below)."""
    root = doc.styles.element
    defaults = root.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    fonts = defaults.find(qn("w:rFonts"))
    for key in list(fonts.attrib):
        del fonts.attrib[key]
    for key in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(key), FONT)
    for style in root.findall(qn("w:style")):
        for element in style.iter(qn("w:rFonts")):
            element.getparent().remove(element)
        for element in style.iter(qn("w:color")):
            for key in ("w:themeColor", "w:themeShade", "w:themeTint"):
                element.attrib.pop(qn(key), None)


def _paragraph_style(doc: DocumentObject, name: str, base: str = "Normal", *,
                     size: float | None = None, bold: bool | None = None,
                     italic: bool | None = None, caps: bool | None = None,
                     color: str | None = None, before: float | None = None,
                     after: float | None = None, line: float | None = None,
                     align=None, keep: bool | None = None, spacing: float | None = None,
                     next_style: str | None = None):
    try:
        style = doc.styles[name]
    except KeyError:
        style = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.quick_style = True
    style.base_style = doc.styles[base] if base else None
    font = style.font
    if size is not None:
        font.size = Pt(size)
    if bold is not None:
        font.bold = bold
    if italic is not None:
        font.italic = italic
    if caps is not None:
        font.all_caps = caps
    if color is not None:
        font.color.rgb = _rgb(color)
    fmt = style.paragraph_format
    if before is not None:
        fmt.space_before = Pt(before)
    if after is not None:
        fmt.space_after = Pt(after)
    if line is not None:
        fmt.line_spacing = line
    if align is not None:
        fmt.alignment = align
    if keep is not None:
        fmt.keep_with_next = keep
    if spacing is not None:
        rpr = style.element.get_or_add_rPr()
        element = OxmlElement("w:spacing")
        element.set(qn("w:val"), str(int(spacing * 20)))
        rpr.append(element)
    if next_style is not None:
        style.next_paragraph_style = doc.styles[next_style]
    return style


def _styles(doc: DocumentObject) -> None:
    _plain_fonts(doc)
    normal = doc.styles["Normal"]
    normal.font.size = Pt(10.5)
    normal.font.color.rgb = _rgb(INK)
    normal.paragraph_format.space_before = Pt(0)
    normal.paragraph_format.space_after = Pt(6)
    normal.paragraph_format.line_spacing = 1.0
    # Letters: a little more air between paragraphs.
    _paragraph_style(doc, "Body Text", size=10.5, after=6, line=1.0)
    # Letterhead, in the header of every page.
    _paragraph_style(doc, "Letterhead Name", "Header", size=20, bold=True, color=ACCENT,
                     after=1, spacing=0.3)
    _paragraph_style(doc, "Letterhead Therapist", "Header", size=10, italic=True, color=INK,
                     after=3)
    _paragraph_style(doc, "Letterhead Contact", "Header", size=8.5, color=MUTED, after=0)
    footer = _paragraph_style(doc, "Footer", size=8, color=MUTED, after=0,
                              align=WD_ALIGN_PARAGRAPH.CENTER)
    footer.paragraph_format.tab_stops.clear_all()
    _paragraph_style(doc, "Footer Notice", "Footer", size=7.5, italic=True)
    # Titles and section headings.
    _paragraph_style(doc, "Form Instructions", size=9.5, italic=True, color=MUTED, after=8)
    _paragraph_style(doc, "Heading 1", size=16, bold=True, color=ACCENT, before=0, after=2,
                     keep=True, next_style="Form Instructions")
    _paragraph_style(doc, "Heading 2", size=9, bold=True, caps=True, color=ACCENT, before=9,
                     after=3, keep=True, spacing=0.6)
    # Tables: borders in the Table Grid style, label cells shaded.
    _paragraph_style(doc, "Table Text", size=10, after=0, line=1.0)
    _paragraph_style(doc, "Table Label", size=8, bold=True, caps=True, color=MUTED, after=0,
                     line=1.0, spacing=0.3)
    _paragraph_style(doc, "Check Item", size=10, after=1, line=1.0)
    _paragraph_style(doc, "Signature Label", size=8, color=MUTED, after=0, line=1.0)
    _paragraph_style(doc, "Fine Print", size=8.5, color=MUTED, after=3, line=1.0)
    # Letters.
    _paragraph_style(doc, "Inside Address", after=0)
    _paragraph_style(doc, "Reference Line", bold=True, before=4, after=10)
    bullet = _paragraph_style(doc, "List Bullet", size=10.5, after=2)
    bullet.paragraph_format.left_indent = Inches(0.45)
    bullet.paragraph_format.first_line_indent = Inches(-0.2)
    quote = _paragraph_style(doc, "Quote", size=10.5, italic=True, color=INK, before=2, after=1)
    quote.paragraph_format.left_indent = Inches(0.45)
    quote.paragraph_format.right_indent = Inches(0.45)
    attribution = _paragraph_style(doc, "Quote Attribution", size=9, color=MUTED, after=6)
    attribution.paragraph_format.left_indent = Inches(0.45)
    attribution.paragraph_format.right_indent = Inches(0.45)
    _paragraph_style(doc, "Closing", before=4, after=24, keep=True)
    _paragraph_style(doc, "Signature Name", after=0, keep=True)
    _paragraph_style(doc, "Signature Details", size=9.5, color=MUTED, after=0, keep=True)
    # Table Grid: thin grey borders, a little room above and below the text.
    grid = doc.styles["Table Grid"].element
    for side in grid.find(qn("w:tblPr")).find(qn("w:tblBorders")):
        side.set(qn("w:color"), BORDER)
        side.set(qn("w:sz"), "4")
    margins = grid.find(qn("w:tblPr")).find(qn("w:tblCellMar"))
    for side in ("w:top", "w:bottom"):
        margins.find(qn(side)).set(qn("w:w"), "43")


# -- building blocks ----------------------------------------------------------------------------
def add_run(p: Paragraph, text: str, *, bold: bool | None = None, italic: bool | None = None,
            color: str | None = None, symbol: bool = False):
    """One run: a tag in `text` is never split."""
    run = p.add_run(text)
    if bold is not None:
        run.font.bold = bold
    if italic is not None:
        run.font.italic = italic
    if color is not None:
        run.font.color.rgb = _rgb(color)
    if symbol:
        fonts = run._element.get_or_add_rPr().get_or_add_rFonts()
        for key in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
            fonts.set(qn(key), SYMBOL_FONT)
    return run


def para(container, text: str = "", style: str = "Normal", *, align=None,
         before: float | None = None, after: float | None = None,
         keep: bool = False) -> Paragraph:
    """A paragraph of one run."""
    p = container.add_paragraph(style=style)
    if text:
        add_run(p, text)
    fmt = p.paragraph_format
    if before is not None:
        fmt.space_before = Pt(before)
    if after is not None:
        fmt.space_after = Pt(after)
    if align is not None:
        p.alignment = align
    if keep:
        fmt.keep_with_next = True
    return p


def tag(container, text: str) -> Paragraph:
    """A paragraph holding only a `{%p ... %}` tag; docxtpl removes it when rendering."""
    return para(container, text, after=0)


def check(p: Paragraph, box: str, label: str, *, last: bool = True) -> None:
    """A check box and its label: the box in a symbol font, a no-break space after it."""
    add_run(p, box, symbol=True)
    add_run(p, NBSP + label + ("" if last else GAP))


def heading(container, text: str, *, before: float | None = None) -> Paragraph:
    return para(container, text, "Heading 2", before=before)


def title(doc: DocumentObject, text: str, instructions: str = "") -> None:
    para(doc, text, "Heading 1", after=None if instructions else 10)
    if instructions:
        para(doc, instructions, "Form Instructions")


def _border(parent, tag_name: str, sides: Sequence[str], *, size: int = 4,
            color: str = BORDER, value: str = "single", space: int = 0) -> None:
    borders = OxmlElement(tag_name)
    for side in sides:
        element = OxmlElement(f"w:{side}")
        element.set(qn("w:val"), value)
        element.set(qn("w:sz"), str(size))
        element.set(qn("w:space"), str(space))
        element.set(qn("w:color"), color if value != "nil" else "auto")
        borders.append(element)
    parent.append(borders)


def rule_below(p: Paragraph, color: str = ACCENT, size: int = 6) -> None:
    """A thin line under a paragraph."""
    _border(p._p.get_or_add_pPr(), "w:pBdr", ("bottom",), size=size, color=color, space=4)


def rule_above(p: Paragraph, color: str = BORDER, size: int = 4) -> None:
    _border(p._p.get_or_add_pPr(), "w:pBdr", ("top",), size=size, color=color, space=4)


def shade(cell: _Cell, fill: str = LABEL_FILL) -> None:
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shd)


def new_table(container, widths: Sequence[float], *, grid: bool = True) -> Table:
    """A table of fixed column widths (inches), thin grey borders unless grid is False."""
    t = container.add_table(rows=0, cols=len(widths))
    if grid:
        t.style = "Table Grid"
    t.alignment = WD_TABLE_ALIGNMENT.LEFT
    t.autofit = False
    for i, width in enumerate(widths):
        t.columns[i].width = Inches(width)
    return t


#: Kinds of cell: a shaded label, text (or an empty space to write in), a header.
LABEL, TEXT, HEAD = "label", "text", "head"


def fill(cell: _Cell, kind: str, text: str, *, align=None) -> Paragraph:
    p = cell.paragraphs[0]
    if kind in (LABEL, HEAD):
        p.style = "Table Label"
        shade(cell)
    else:
        p.style = "Table Text"
    if text:
        add_run(p, text)
    if align is not None:
        p.alignment = align
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
    return p


def add_row(t: Table, *cells: tuple[str, str], spans: Sequence[int] | None = None,
            height: float | None = None, header: bool = False,
            aligns: Sequence | None = None) -> list[_Cell]:
    """A row of (kind, text) cells; spans merge cells left to right."""
    row = t.add_row()
    row_cells = row.cells
    for i, cell in enumerate(row_cells):
        cell.width = t.columns[i].width
    spans = list(spans or [1] * len(cells))
    targets, index = [], 0
    for span in spans:
        cell = row_cells[index]
        if span > 1:
            cell = cell.merge(row_cells[index + span - 1])
        targets.append(cell)
        index += span
    for i, (cell, (kind, text)) in enumerate(zip(targets, cells, strict=True)):
        fill(cell, kind, text, align=aligns[i] if aligns else None)
    tr_pr = row._tr.get_or_add_trPr()
    tr_pr.append(OxmlElement("w:cantSplit"))
    if header:
        tr_pr.append(OxmlElement("w:tblHeader"))
    if height:
        row.height = Inches(height)
        row.height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST
    return targets


def loop_rows(t: Table, loop: str, *cells: tuple[str, str], aligns: Sequence | None = None,
              spans: Sequence[int] | None = None) -> None:
    """Rows repeated for each item: `{%tr for ... %}`, the row, `{%tr endfor %}`."""
    columns = len(t.columns)
    add_row(t, (TEXT, f"{{%tr {loop} %}}"), spans=[columns])
    add_row(t, *cells, aligns=aligns, spans=spans)
    add_row(t, (TEXT, "{%tr endfor %}"), spans=[columns])


def L(text: str) -> tuple[str, str]:  # noqa: N802 - reads like the form it builds
    return (LABEL, text)


def V(text: str = "") -> tuple[str, str]:  # noqa: N802
    return (TEXT, text)


def H(text: str) -> tuple[str, str]:  # noqa: N802
    return (HEAD, text)


def lines_in(cell: _Cell, lines: Sequence[str | tuple[str, str]]) -> None:
    """Several lines in one cell, one paragraph each: the first in bold, a (label, value)
    pair as the label in grey and the value."""
    for i, line in enumerate(lines):
        p = cell.paragraphs[0] if i == 0 else cell.add_paragraph()
        p.style = "Table Text"
        if isinstance(line, tuple):
            add_run(p, line[0] + "  ", color=MUTED)
            add_run(p, line[1])
        else:
            add_run(p, line, bold=True if i == 0 else None)
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.TOP


def signature_lines(container, fields: Sequence[tuple[str, float]], *, gap: float = 0.35,
                    height: float = 0.42) -> Table:
    """Lines to sign and date on, each with its label beneath: a borderless table whose
    writing cells have only a bottom border."""
    widths: list[float] = []
    for i, (_label, width) in enumerate(fields):
        if i:
            widths.append(gap)
        widths.append(width)
    t = new_table(container, widths, grid=False)
    lines, labels = t.add_row(), t.add_row()
    lines.height, lines.height_rule = Inches(height), WD_ROW_HEIGHT_RULE.AT_LEAST
    for row in (lines, labels):
        row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
    for cell in lines.cells:
        cell.paragraphs[0].paragraph_format.keep_with_next = True
    for i in range(len(widths)):
        for row in (lines, labels):
            row.cells[i].width = Inches(widths[i])
            row.cells[i].paragraphs[0].style = "Signature Label"
        if i % 2:
            continue
        _border(lines.cells[i]._tc.get_or_add_tcPr(), "w:tcBorders", ("bottom",), size=6,
                color="555555")
        lines.cells[i].vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.BOTTOM
        add_run(labels.cells[i].paragraphs[0], fields[i // 2][0])
    return t


def spacer(container, points: float = 6) -> Paragraph:
    p = para(container, "", after=0)
    p.paragraph_format.line_spacing = Pt(points)
    return p


# -- the page ---------------------------------------------------------------------------------
def new_document(title_text: str, *, confidential: bool) -> DocumentObject:
    """A letter-size page with the letterhead in the header and the footer below."""
    doc = Document()
    _styles(doc)
    doc.core_properties.title = title_text  # kept by reproducible(), which writes core.xml

    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Inches(8.5), Inches(11)
    section.left_margin = section.right_margin = Inches(1)
    section.top_margin, section.bottom_margin = Inches(1.5), Inches(0.9)
    section.header_distance, section.footer_distance = Inches(0.45), Inches(0.4)

    header = section.header
    name = header.paragraphs[0]
    name.style = "Letterhead Name"
    add_run(name, "{{ practice.name }}")
    para(header, "{{ practice.signature }}  ·  {{ practice.license }}", "Letterhead Therapist")
    para(header, "{{ practice.street }}, {{ practice.city_line }}  ·  Tel {{ practice.phone }}"
         "  ·  Fax {{ practice.fax }}", "Letterhead Contact")
    para(header, "{{ practice.email }}  ·  {{ practice.website }}", "Letterhead Contact")
    rule_below(header.paragraphs[-1])

    footer = section.footer
    line = footer.paragraphs[0]
    line.style = "Footer"
    add_run(line, "{{ practice.name }}  ·  {{ practice.phone }}")
    rule_above(line)
    if confidential:
        para(footer, CONFIDENTIAL, "Footer Notice")
    return doc


def letter_opening(doc: DocumentObject, reference: str = "") -> None:
    """Date, inside address, an optional Re: line and the salutation."""
    para(doc, "{{ today }}", "Inside Address", after=12)
    for text in ("{{ provider.full_name }}", "{{ provider.practice }}", "{{ provider.street }}",
                 "{{ provider.city_line }}"):
        para(doc, text, "Inside Address")
    if reference:
        para(doc, reference, "Reference Line", before=12, after=0)
    para(doc, "Dear {{ provider.salutation }}:", "Body Text", before=12)


def letter_closing(doc: DocumentObject, words: str = "Sincerely,") -> None:
    para(doc, words, "Closing")
    para(doc, "{{ practice.signature }}", "Signature Name")
    para(doc, "{{ practice.license }}  ·  NPI {{ practice.npi }}  ·  Tel {{ practice.phone }}  ·  "
         "{{ practice.email }}", "Signature Details")


# -- the documents --------------------------------------------------------------------------------
def intro_letter() -> DocumentObject:
    """One page: what the practice is and treats, how it works with patients (solo or group,
    new patients, insurance), how it helps, training, quotes that fit, how to refer."""
    doc = new_document("Letter of introduction", confidential=False)
    letter_opening(doc)
    para(doc, "I would like to introduce {{ practice.name }}, {{ practice.practice_phrase }} in "
         "{{ practice.city }}, with a special focus on {{ practice.specialty }}. "
         "{% if practice.conditions %}Clients come to me for {{ practice.conditions_text }}. "
         "{% endif %}"
         "Many of the people I treat also see a physician or therapist for the same problem, "
         "and I would welcome the chance to work alongside you in the care of your patients.",
         "Body Text")
    para(doc, "{{ practice.practice_type_text }} {{ practice.new_patients_text }} "
         "{{ practice.insurance_text }}", "Body Text")
    heading(doc, "How massage therapy helps your patients")
    tag(doc, "{%p for b in practice.benefits %}")
    para(doc, "{{ b }}", "List Bullet")
    tag(doc, "{%p endfor %}")
    heading(doc, "Training and approach")
    para(doc, "{{ practice.training }}", "Body Text")
    tag(doc, "{%p if testimonials %}")
    heading(doc, "What clients say")
    tag(doc, "{%p for t in testimonials %}")
    para(doc, "“{{ t.quote }}”", "Quote", after=0)
    para(doc, "— {{ t.attribution }}", "Quote Attribution", after=4)
    tag(doc, "{%p endfor %}")
    tag(doc, "{%p endif %}")
    para(doc, "To refer a patient, fax the enclosed Referral for Massage Therapy form to "
         "{{ practice.fax }}, or have your patient call {{ practice.phone }}. On the enclosed "
         "Provider's Needs form, tell me which reports and materials your office would like "
         "and how; I will send only those. I look forward to working with you.",
         "Body Text", before=8, keep=True)
    letter_closing(doc)
    para(doc, "Enclosures: Referral for Massage Therapy; Provider's Needs form", "Fine Print",
         before=10)
    return doc


def referral_form() -> DocumentObject:
    doc = new_document("Referral for Massage Therapy", confidential=False)
    title(doc, "Referral for Massage Therapy",
          "Please complete and fax to {{ practice.fax }}, or give this form to your patient to "
          "bring to the first visit.")
    t = new_table(doc, (3.25, 3.25))
    add_row(t, H("Referring provider"), H("Refer to"), header=True)
    left, right = add_row(t, V(), V())
    lines_in(left, ["{{ provider.full_name }}", "{{ provider.practice }}",
                    ("Phone", "{{ provider.phone }}"), ("Fax", "{{ provider.fax }}")])
    lines_in(right, ["{{ practice.name }}", "{{ practice.signature }}  ·  NPI {{ practice.npi }}",
                     "{{ practice.street }}, {{ practice.city_line }}",
                     ("Phone", "{{ practice.phone }}  ·  Fax {{ practice.fax }}")])

    heading(doc, "Patient")
    t = new_table(doc, (1.45, 2.3, 1.15, 1.6))
    add_row(t, L("Patient name"), V(), L("Date of birth"), V(), height=0.34)
    add_row(t, L("Patient phone"), V(), L("Referral date"), V(), height=0.34)
    add_row(t, L("Diagnosis\n(ICD-10-CM codes)"), V(), spans=[1, 3], height=0.6)

    heading(doc, "Services requested (check all that apply)")
    t = new_table(doc, (3.25, 3.25), grid=False)
    cells = add_row(t, V(), V())
    for cell, part in zip(cells, ("[0::2]", "[1::2]"), strict=True):
        first = cell.paragraphs[0]
        add_run(first, f"{{%p for s in practice.services{part} %}}")
        item = para(cell, "", "Check Item")
        check(item, EMPTY_BOX, "{{ s }}")
        tag(cell, "{%p endfor %}")
        spacer(cell, 1)  # a cell must keep a paragraph, even for an empty list
        cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.TOP

    heading(doc, "Frequency and duration")
    t = new_table(doc, (1.45, 5.05))
    cells = add_row(t, L("Frequency"), V(), height=0.3)
    p = cells[1].paragraphs[0]
    for choice in ("1x/week", "2x/week"):
        check(p, EMPTY_BOX, choice, last=False)
    check(p, EMPTY_BOX, "other: ____________________")
    cells = add_row(t, L("Duration"), V(), height=0.3)
    p = cells[1].paragraphs[0]
    for choice in ("4 weeks", "6 weeks", "8 weeks"):
        check(p, EMPTY_BOX, choice, last=False)
    check(p, EMPTY_BOX, "other: ____________")
    add_row(t, L("Precautions\nand notes"), V(), height=0.85)

    spacer(doc, 14)
    signature_lines(doc, [("Referring provider's signature", 4.15), ("Date", 2.0)])
    spacer(doc, 10)
    signature_lines(doc, [("Printed name", 4.15), ("NPI", 2.0)])
    para(doc, "Fax to {{ practice.fax }}  ·  Questions: {{ practice.phone }} or "
         "{{ practice.email }}. Thank you for your referral.", "Fine Print", before=12)
    para(doc, "Once completed, this form holds " + CONFIDENTIAL[0].lower() + CONFIDENTIAL[1:],
         "Fine Print")
    return doc


def needs_form() -> DocumentObject:
    doc = new_document("Provider's Needs", confidential=False)
    title(doc, "Provider's Needs",
          "So that your office receives only what is useful to you, please check what you "
          "would like for the patients you refer to {{ practice.name }}.")
    t = new_table(doc, (1.45, 5.05))
    add_row(t, L("Provider"), V("{{ provider.full_name }}"))
    add_row(t, L("Practice"), V("{{ provider.practice }}"))
    add_row(t, L("Phone  ·  Fax"), V("{{ provider.phone }}  ·  {{ provider.fax }}"))
    add_row(t, L("Email"), V("{{ provider.email }}"))

    heading(doc, "Clinical documents about your patients")
    t = new_table(doc, (0.45, 6.05))
    loop_rows(t, "for item in clinical", V(BOX), V("{{ item.label }}"),
              aligns=[WD_ALIGN_PARAGRAPH.CENTER, None])
    for row in t.rows:
        _symbol_cell(row.cells[0])
    heading(doc, "Marketing pieces for your office")
    t = new_table(doc, (0.45, 6.05))
    loop_rows(t, "for item in marketing", V(BOX), V("{{ item.label }}"),
              aligns=[WD_ALIGN_PARAGRAPH.CENTER, None])
    for row in t.rows:
        _symbol_cell(row.cells[0])

    heading(doc, "Preferred delivery")
    p = para(doc, "", "Check Item", after=2)
    add_run(p, "{% for item in delivery_choices %}")
    add_run(p, BOX, symbol=True)
    add_run(p, NBSP + "{{ item.label }}{% if not loop.last %}" + GAP + "{% endif %}")
    add_run(p, "{% endfor %}")

    heading(doc, "Contact person in your office")
    t = new_table(doc, (1.45, 2.3, 1.15, 1.6))
    add_row(t, L("Name"), V(), L("Phone"), V(), height=0.32)
    add_row(t, L("Email"), V(), L("Best time"), V(), height=0.32)

    spacer(doc, 12)
    signature_lines(doc, [("Completed by", 4.15), ("Date", 2.0)])
    para(doc, "Please return this form by fax to {{ practice.fax }} or by email to "
         "{{ practice.email }}, or hand it to me when we meet. Thank you.", "Body Text",
         before=14)
    return doc


def _symbol_cell(cell: _Cell) -> None:
    """Set the check-box cell's runs in the symbol font (the tag rows have no box)."""
    for run in cell.paragraphs[0].runs:
        if "☐" in run.text:
            fonts = run._element.get_or_add_rPr().get_or_add_rFonts()
            for key in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
                fonts.set(qn(key), SYMBOL_FONT)


def release_form() -> DocumentObject:
    doc = new_document("Authorization to Release and Exchange Health Information",
                       confidential=True)
    title(doc, "Authorization to Release and Exchange Health Information")
    t = new_table(doc, (1.2, 3.05, 1.1, 1.15))
    add_row(t, L("Client name"), V("{{ client.name }}"), L("Date of birth"),
            V("{{ client.dob }}"))
    add_row(t, L("Address"), V("{{ client.street }}, {{ client.city_line }}"), L("Phone"),
            V("{{ client.phone }}"))
    para(doc, "I authorize {{ practice.signature }}, of {{ practice.name }}, and each provider "
         "named below to release health information about me to one another and to discuss "
         "my care, for the purpose of coordinating my treatment.", before=10)
    t = new_table(doc, (1.8, 2.3, 1.2, 1.2))
    add_row(t, H("Provider"), H("Practice"), H("Phone"), H("Fax"), header=True)
    loop_rows(t, "for p in providers", V("{{ p.full_name }}"), V("{{ p.practice }}"),
              V("{{ p.phone }}"), V("{{ p.fax }}"))
    heading(doc, "Information that may be released and discussed (check each that applies)")
    p = para(doc, "", "Check Item", after=4)
    add_run(p, "{% for item in scope_choices %}")
    add_run(p, BOX, symbol=True)
    add_run(p, NBSP + "{{ item.label }}{% if not loop.last %}" + GAP + "{% endif %}")
    add_run(p, "{% endfor %}")
    heading(doc, "About this authorization")
    for text in (
            "This authorization is valid until {{ expires_on }}, unless I revoke it sooner.",
            "I may revoke it at any time by writing to {{ practice.name }}, "
            "{{ practice.street }}, {{ practice.city_line }}. Revoking it does not undo "
            "information already released in reliance on it.",
            "My treatment and payment for it do not depend on whether I sign this form.",
            "Information released under it may be redisclosed by its recipient and may then no "
            "longer be protected by federal privacy law.",
            "I may refuse to sign this form, and I am entitled to a copy of it."):
        para(doc, text, "List Bullet", after=2)
    spacer(doc, 14)
    signature_lines(doc, [("Signature of client or personal representative", 4.15),
                          ("Date", 2.0)])
    spacer(doc, 8)
    signature_lines(doc, [("Printed name; if a personal representative, authority to act "
                           "(parent, guardian, ...)", 6.5)])
    spacer(doc, 8)
    signature_lines(doc, [("Witness: {{ practice.signature }}", 4.15), ("Date", 2.0)])
    return doc


def signed_block(doc: DocumentObject) -> None:
    """The therapist's signature: the picture of it with the name and date beneath, or a typed
    line saying it was signed electronically; then license and NPI. No line to write on."""
    tag(doc, "{%p if signed.image %}")
    para(doc, "{{ signed.image }}", "Signature Name", before=10)
    para(doc, "{{ signed.name }}  ·  {{ signed.date }}", "Signature Name")
    tag(doc, "{%p else %}")
    para(doc, "{{ signed.line }}", "Signature Name", before=10)
    tag(doc, "{%p endif %}")
    para(doc, "{{ practice.license }}  ·  NPI {{ practice.npi }}  ·  {{ practice.name }}",
         "Signature Details")


def super_bill() -> DocumentObject:
    """A month's statement an insurer can read as it reads a CMS-1500 claim: every line with
    its date, place of service, code, diagnosis pointer, units and charge."""
    doc = new_document("Superbill", confidential=True)
    title(doc, "Superbill",
          "Statement for insurance reimbursement  ·  Period: {{ bill.period }}  ·  "
          "Issued {{ today }}")
    t = new_table(doc, (3.25, 3.25))
    add_row(t, H("Provider of service"), H("Patient"), header=True)
    left, right = add_row(t, V(), V())
    lines_in(left, ["{{ practice.signature }}", "{{ practice.name }}",
                    "{{ practice.street }}, {{ practice.city_line }}",
                    ("Phone", "{{ practice.phone }}"),
                    ("License", "{{ practice.license }}"),
                    ("NPI", "{{ practice.npi }}"), ("Tax ID", "{{ practice.tax_id }}")])
    lines_in(right, ["{{ client.name }}", ("Date of birth", "{{ bill.dob }}"),
                     "{{ bill.address }}", ("Phone", "{{ client.phone or 'not on file' }}"),
                     ("Insurance", "{{ bill.insurance }}"),
                     ("Member ID", "{{ bill.member_id }}")])
    p = para(doc, "", "Table Text", before=6)
    add_run(p, "Referring provider  ", color=MUTED)
    add_run(p, "{% if referring %}{{ referring.full_name }}  ·  NPI {{ referring.npi }}"
               "{% else %}none{% endif %}")

    tag(doc, "{%p if diagnoses %}")
    heading(doc, "Diagnoses (ICD-10-CM)")
    t = new_table(doc, (0.45, 0.95, 5.1))
    add_row(t, H("Dx"), H("Code"), H("Description"), header=True)
    loop_rows(t, "for d in diagnoses", V("{{ d.letter }}"), V("{{ d.code }}"),
              V("{{ d.description or 'see the ICD-10-CM code' }}"))
    tag(doc, "{%p endif %}")

    heading(doc, "Services  ·  place of service {{ bill.place_of_service }}")
    right = WD_ALIGN_PARAGRAPH.RIGHT
    center = WD_ALIGN_PARAGRAPH.CENTER
    aligns = [None, center, None, None, center, center, right]
    t = new_table(doc, (0.95, 0.5, 0.65, 2.2, 0.5, 0.6, 1.1))
    add_row(t, H("Date"), H("POS"), H("CPT"), H("Description"), H("Dx"), H("Units"),
            H("Charge"), header=True, aligns=aligns)
    loop_rows(t, "for v in bill.visits", V("{{ v.service_date }}"), V("{{ v.pos }}"),
              V("{{ v.cpt }}"), V("{{ v.description }}"), V("{{ v.pointer }}"),
              V("{{ v.units }}"), V("{{ v.fee }}"), aligns=aligns)
    add_row(t, L("Total charges"), V("{{ bill.total_fees }}"), spans=[6, 1],
            aligns=[right, right])
    add_row(t, L("Amount paid"), V("{{ bill.total_paid }}"), spans=[6, 1],
            aligns=[right, right])
    cells = add_row(t, L("Balance due"), V("{{ bill.balance }}"), spans=[6, 1],
                    aligns=[right, right])
    for run in cells[1].paragraphs[0].runs:
        run.font.bold = True
    para(doc, "Dx: the letters of the diagnoses above that each service treats. POS: place of "
         "service. Dates are month/day/year.", "Fine Print", before=3)

    tag(doc, "{%p if bill.payments %}")
    heading(doc, "Payments received")
    t = new_table(doc, (2.2, 2.35, 1.95))
    add_row(t, H("Date"), H("Method"), H("Amount"), header=True, aligns=[None, None, right])
    loop_rows(t, "for p in bill.payments", V("{{ p.date }}"), V("{{ p.method }}"),
              V("{{ p.amount }}"), aligns=[None, None, right])
    tag(doc, "{%p endif %}")

    para(doc, "I certify that I personally provided the services listed above on the dates "
         "shown, and that the fees are my usual charges for them. Patient: submit this "
         "statement to your insurer with its claim form; coverage of massage therapy depends "
         "on your plan.", "Fine Print", before=10, keep=True)
    signed_block(doc)
    return doc


def thank_you() -> DocumentObject:
    doc = new_document("Thank you for your referral", confidential=True)
    letter_opening(doc, "Re: Your patient {{ client.name }}")
    para(doc, "Thank you for referring your patient {{ client.name }} to {{ practice.name }}. "
         "I received your referral on {{ referral.received_on }}.", "Body Text")
    tag(doc, "{%p if referral.first_visit %}")
    para(doc, "{{ client.first_name }} came in for a first visit on {{ referral.first_visit }}, "
         "and we have begun the plan of care your referral describes.", "Body Text")
    tag(doc, "{%p endif %}")
    para(doc, "I will keep you informed of your patient's progress in the way, and as often, "
         "as your office prefers. If there is anything you would like me to watch for, or if "
         "your patient's needs change, please call me at {{ practice.phone }}.", "Body Text")
    para(doc, "I appreciate your trust and look forward to working with you.", "Body Text")
    letter_closing(doc, "With thanks,")
    return doc


def progress_report() -> DocumentObject:
    """What the referring office wants to know: the plan, the visits with pain before and
    after, the measured outcome against the goal (with a chart), the latest notes, a
    signature. Sections with nothing to say are left out; no blank lines to fill in."""
    doc = new_document("Progress report", confidential=True)
    title(doc, "Progress Report")
    t = new_table(doc, (1.3, 2.45, 1.15, 1.6))
    add_row(t, L("To"), V("{{ provider.full_name }}"), L("Date"), V("{{ today }}"))
    add_row(t, L("Practice"), V("{{ provider.practice }}"), L("Fax"), V("{{ provider.fax }}"))
    add_row(t, L("Your patient"), V("{{ client.name }}"), L("Date of birth"),
            V("{{ client.dob }}"))

    heading(doc, "Referral and plan of care")
    t = new_table(doc, (1.3, 2.45, 1.15, 1.6))
    add_row(t, L("Referral received"), V("{{ referral.received_on }}"), L("First visit"),
            V("{{ referral.first_visit }}"))
    add_row(t, L("Services"), V("{{ referral.services|join(', ') }}"), spans=[1, 3])
    add_row(t, L("Frequency"), V("{{ referral.per_week }}x per week for {{ referral.weeks }} "
                                 "weeks"), L("Authorized"),
            V("{{ referral.visits_authorized }} visits"))
    add_row(t, L("Visits done"), V("{{ progress.visits_done }}  ·  last on "
                                   "{{ progress.last_visit }}"), L("Remaining"),
            V("{{ progress.visits_remaining }}"))

    tag(doc, "{%p if referral.diagnoses %}")
    heading(doc, "Diagnoses (ICD-10-CM)")
    t = new_table(doc, (1.1, 5.4))
    add_row(t, H("Code"), H("Description"), header=True)
    loop_rows(t, "for d in referral.diagnoses", V("{{ d.code }}"), V("{{ d.description }}"))
    tag(doc, "{%p endif %}")

    tag(doc, "{%p if outcome.summary %}")
    heading(doc, "Outcome")
    p = para(doc, "", "Body Text", after=4)
    add_run(p, "{{ outcome.summary }}.", bold=True)
    tag(doc, "{%p if outcome.change %}")
    t = new_table(doc, (1.3, 2.45, 1.15, 1.6))
    add_row(t, L("Measure"), V("{{ outcome.measure or 'score' }}"), L("Goal"),
            V("{{ outcome.goal or 'not set' }}"))
    add_row(t, L("First score"), V("{{ outcome.first }} on {{ outcome.first_date }}"),
            L("Latest score"), V("{{ outcome.latest }} on {{ outcome.latest_date }}"))
    add_row(t, L("Change"), V("{{ outcome.change }}"), L("Toward goal"),
            V("{{ outcome.toward_goal or 'no goal set' }}"))
    tag(doc, "{%p endif %}")
    tag(doc, "{%p if outcome.chart %}")
    para(doc, "{{ outcome.chart }}", after=0, before=6, align=WD_ALIGN_PARAGRAPH.CENTER)
    tag(doc, "{%p endif %}")
    tag(doc, "{%p endif %}")
    tag(doc, "{%p if outcome.pain %}")
    para(doc, "{{ outcome.pain }}", "Body Text", before=4)
    tag(doc, "{%p endif %}")

    heading(doc, "Visits")
    center = WD_ALIGN_PARAGRAPH.CENTER
    aligns = [None, center, center, center, center, center]
    t = new_table(doc, (1.85, 0.8, 0.85, 1.0, 1.0, 1.0))
    add_row(t, H("Date"), H("CPT"), H("Minutes"), H("Pain before"), H("Pain after"),
            H("Score"), header=True, aligns=aligns)
    loop_rows(t, "for v in progress.visits", V("{{ v.date }}"), V("{{ v.cpt }}"),
              V("{{ v.minutes }}"), V("{{ v.pain_before }}"), V("{{ v.pain_after }}"),
              V("{{ v.score }}"), aligns=aligns)
    para(doc, "Pain on a 0-10 scale at the start and the end of the session; score on the "
         "outcome measure; \u2013 not recorded.", "Fine Print", before=3)

    tag(doc, "{%p if notes.latest %}")
    # Named, so a second page filed on its own still says whose notes these are.
    heading(doc, "Latest notes for {{ client.name }}: assessment and plan")
    t = new_table(doc, (1.3, 5.2))
    loop_rows(t, "for n in notes.latest", L("{{ n.label }}"), V("{{ n.text }}"))
    for row in t.rows:  # the note's date under its label, in the label cell
        first = row.cells[0].paragraphs[0]
        if "n.label" in first.text:
            date = para(row.cells[0], "{{ n.date }}", "Signature Label")
            date.paragraph_format.space_before = Pt(1)
            row.cells[0].vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.TOP
            row.cells[1].vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.TOP
        # the notes stay together, with the signature after them: a page breaks before
        # them rather than between a note's parts
        for cell in row.cells:
            for paragraph in cell.paragraphs:
                paragraph.paragraph_format.keep_with_next = True
    tag(doc, "{%p endif %}")

    para(doc, "Thank you for referring your patient. Please call me at {{ practice.phone }} "
         "with any questions about this report.", "Body Text", before=8, keep=True)
    signed_block(doc)
    return doc


def sent_referral() -> DocumentObject:
    """Worded for when the client was sent: recently, they will call; long ago, they may not
    have yet, and the office need do nothing. Made only under a valid release, whose scope it
    names."""
    doc = new_document("A client referred to you", confidential=True)
    letter_opening(doc, "Re: {{ client.name }}, referred to your office")
    tag(doc, "{%p if sent.recent %}")
    para(doc, "{{ sent.when }} I suggested that my client {{ client.name }} see you. They will "
         "call your office to make an appointment; I am writing so that you know who sent them "
         "and why.", "Body Text")
    tag(doc, "{%p else %}")
    para(doc, "{{ sent.when }}, I suggested that my client {{ client.name }} see you. If they have "
         "not contacted your office yet, there is nothing you need to do: I will encourage them "
         "again at their next visit with me.", "Body Text")
    tag(doc, "{%p endif %}")
    p = para(doc, "", "Body Text")
    p.paragraph_format.left_indent = Inches(0.3)
    add_run(p, "Reason for referral: ", bold=True)
    add_run(p, "{{ sent.reason }}")
    para(doc, "{{ client.first_name }} has signed a release that lets me share "
         "{{ release.shares }} with your office{% if release.expires_on %} until "
         "{{ release.expires_on }}{% endif %}. If any of it would help you, I will gladly "
         "send it.", "Body Text")
    para(doc, "Thank you for seeing my client. Please call me at {{ practice.phone }} with any "
         "questions.", "Body Text")
    letter_closing(doc, "Kind regards,")
    return doc


def fax_cover() -> DocumentObject:
    """The cover sheet `refdesk merge --deliver` puts before a faxed document."""
    doc = new_document("Fax", confidential=True)
    title(doc, "Fax")
    t = new_table(doc, (1.3, 2.45, 1.15, 1.6))
    add_row(t, L("To"), V("{{ provider.full_name }}"), L("Date"), V("{{ today }}"),
            height=0.32)
    add_row(t, L("Practice"), V("{{ provider.practice }}"), L("Fax"), V("{{ provider.fax }}"),
            height=0.32)
    add_row(t, L("From"), V("{{ practice.signature }}"), L("Fax"), V("{{ practice.fax }}"),
            height=0.32)
    add_row(t, L("Re"), V("{{ subject }}"), L("Pages"), V("{{ pages }} including this cover"),
            height=0.32)
    para(doc, "The pages that follow are for the person named above. They may contain health "
         "information that is confidential and protected by law. If you received this fax in "
         "error, please call {{ practice.phone }} and destroy the pages; do not copy them or "
         "pass them on.", before=14)
    return doc


def _page(section, width: float, height: float, margin: float) -> None:
    section.orientation = WD_ORIENT.LANDSCAPE if width > height else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Inches(width), Inches(height)
    section.left_margin = section.right_margin = Inches(margin)
    section.top_margin = section.bottom_margin = Inches(margin)
    section.header_distance = section.footer_distance = Inches(0)


def client_card() -> DocumentObject:
    """A thank-you card the client writes to the doctor who referred them: a card insert
    (an A2 card, 5 1/2 x 4 1/4 in) with the greeting printed and a framed space to write in,
    then a #10 envelope to the doctor's practice with the client's return address. No
    letterhead: the card is the client's."""
    doc = Document()
    _styles(doc)
    doc.core_properties.title = "Thank-you card"
    _paragraph_style(doc, "Card Prompt", size=8, italic=True, color=MUTED, after=6,
                     align=WD_ALIGN_PARAGRAPH.CENTER)
    _paragraph_style(doc, "Card Greeting", size=13, color=INK, after=4)
    _paragraph_style(doc, "Envelope Return", size=9, after=0, line=1.0)
    _paragraph_style(doc, "Envelope Address", size=12, after=0, line=1.0)
    _page(doc.sections[0], 5.5, 4.25, 0.4)
    para(doc, "{{ referring.salutation }} referred you to {{ practice.name }}. A few words in "
         "your own hand "
         "let the office know the referral helped. Thank you! {{ practice.therapist }}",
         "Card Prompt")
    para(doc, "Dear {{ referring.salutation }},", "Card Greeting")
    frame = new_table(doc, (4.7,), grid=False)
    (cell,) = add_row(frame, V(), height=2.5)
    _border(cell._tc.get_or_add_tcPr(), "w:tcBorders", ("top", "left", "bottom", "right"),
            size=4, color=BORDER)
    p = para(doc, "{{ client.first_name }} {{ client.last_name }}", "Signature Label",
             align=WD_ALIGN_PARAGRAPH.RIGHT, before=3)
    p.paragraph_format.right_indent = Inches(0.05)

    envelope = doc.add_section(WD_SECTION.NEW_PAGE)
    _page(envelope, 9.5, 4.125, 0.35)
    for i, line in enumerate(("{{ client.name }}", "{{ client.street }}",
                              "{{ client.city_line }}")):
        p = para(doc, line, "Envelope Return")
        if i == 0:
            p.runs[0].font.bold = True
    lines = ["{{ referring.full_name }}", "{%p if referring.practice %}",
             "{{ referring.practice }}", "{%p endif %}", "{{ referring.street }}",
             "{{ referring.city_line }}"]
    first = True
    for line in lines:
        if line.startswith("{%p"):
            tag(doc, line)
            continue
        p = para(doc, line, "Envelope Address", before=72 if first else 0)
        p.paragraph_format.left_indent = Inches(4.0)
        first = False
    return doc


def disclosures() -> DocumentObject:
    """The accounting of disclosures a client may ask for (45 CFR 164.528), made by `refdesk
    disclosures CLIENT --pdf`: who received their information, when, what and why, the period
    it covers, their rights, and the count."""
    doc = new_document("Accounting of Disclosures", confidential=True)
    title(doc, "Accounting of Disclosures",
          "Of health information, as 45 CFR 164.528 provides  ·  Prepared {{ today }}")
    t = new_table(doc, (1.3, 2.45, 1.15, 1.6))
    add_row(t, L("Client"), V("{{ client.name }}"), L("Date of birth"), V("{{ client.dob }}"))
    add_row(t, L("Period covered"), V("{{ period.start }} to {{ period.end }}"), spans=[1, 3])
    para(doc, "This lists each time {{ practice.name }} disclosed health information about you "
         "to another person or organization from {{ period.start }} to {{ period.end }}, as our "
         "records show: the date, who received it and their address, what was disclosed and "
         "why.", "Body Text", before=10)
    tag(doc, "{%p if disclosures %}")
    t = new_table(doc, (0.95, 1.8, 2.0, 1.75))
    add_row(t, H("Date"), H("Recipient and address"), H("Information disclosed"), H("Purpose"),
            header=True)
    add_row(t, V("{%tr for d in disclosures %}"), spans=[4])
    cells = add_row(t, V(), V(), V(), V())
    for cell, first, second in ((cells[0], "{{ d.date }}", "{{ d.how }}"),
                                (cells[1], "{{ d.recipient }}", "{{ d.where }}"),
                                (cells[2], "{{ d.document }}", "{{ d.information }}"),
                                (cells[3], "{{ d.purpose }}", "")):
        add_run(cell.paragraphs[0], first, bold=bool(second))
        if second:
            add_run(para(cell, "", "Table Text"), second, color=MUTED)
        cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.TOP
    add_row(t, V("{%tr endfor %}"), spans=[4])
    tag(doc, "{%p endif %}")
    p = para(doc, "", "Body Text", before=8)
    add_run(p, "{{ count_text }}", bold=True)
    tag(doc, "{%p for n in notes %}")
    para(doc, "{{ n }}", "List Bullet", after=2)
    tag(doc, "{%p endfor %}")
    heading(doc, "Your right to this accounting")
    for text in (
            "You may ask for a list of the disclosures of your health information that we made "
            "in the six years before your request, or in a shorter period you choose. For each, "
            "it gives the date, who received the information and their address if we know it, "
            "what was disclosed and why.",
            "The first list you ask for in any 12 months is free. For another within those 12 "
            "months we may charge a reasonable, cost-based fee; we tell you the fee first, so "
            "that you can withdraw or change your request.",
            "We answer a request within 60 days, or tell you in writing within those 60 days "
            "why we need up to 30 more.",
            "To ask for one, or with any question, contact {{ practice.therapist }} at "
            "{{ practice.phone }} or {{ practice.email }}. If you believe your privacy rights "
            "have been violated, you may complain to us or to the Secretary of the U.S. "
            "Department of Health and Human Services (Office for Civil Rights); you will not be "
            "penalized for complaining."):
        para(doc, text, "List Bullet", after=2)
    signed_block(doc)
    return doc


TEMPLATES: dict[str, Callable[[], DocumentObject]] = {
    "intro-letter.docx": intro_letter,
    "referral-form.docx": referral_form,
    "needs-form.docx": needs_form,
    "release-form.docx": release_form,
    "super-bill.docx": super_bill,
    "thank-you.docx": thank_you,
    "progress-report.docx": progress_report,
    "sent-referral.docx": sent_referral,
    "fax-cover.docx": fax_cover,
    "client-card.docx": client_card,
    "disclosures.docx": disclosures,
}


# -- saving ---------------------------------------------------------------------------------------
def core_xml(title_text: str) -> bytes:
    """The document properties: fixed author and dates. Written out here rather than through
    python-docx, whose core properties come out differently once docxcompose is imported."""
    stamp = f"{FIXED:%Y-%m-%dT%H:%M:%SZ}"
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
        'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:dcterms="http://purl.org/dc/terms/" xmlns:dcmitype="http://purl.org/dc/dcmitype/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:title>{escape(title_text)}</dc:title><dc:creator>{AUTHOR}</dc:creator>"
        f"<cp:lastModifiedBy>{AUTHOR}</cp:lastModifiedBy><cp:revision>1</cp:revision>"
        f"<cp:lastPrinted>{stamp}</cp:lastPrinted>"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified>'
        "</cp:coreProperties>").encode()


def reproducible(doc: DocumentObject) -> bytes:
    """The document's bytes with fixed properties and zip times, and no thumbnail."""
    core = core_xml(doc.core_properties.title or "")
    buffer = io.BytesIO()
    doc.save(buffer)
    out = io.BytesIO()
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename == "docProps/thumbnail.jpeg":
                continue
            data = src.read(info)
            if info.filename == "docProps/core.xml":
                data = core
            if info.filename == "[Content_Types].xml":
                data = data.replace(b'<Default Extension="jpeg" ContentType="image/jpeg"/>', b"")
            if info.filename == "_rels/.rels":
                data = re.sub(rb"<Relationship [^>]*docProps/thumbnail\.jpeg\"/>", b"", data)
            if info.filename == "word/settings.xml":
                data = data.replace(b"<w:savePreviewPicture/>", b"")
            dst.writestr(zipfile.ZipInfo(info.filename, (1980, 1, 1, 0, 0, 0)), data,
                         compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    """Write the templates into templates/, or into the folder given as the one argument."""
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else OUT
    out.mkdir(exist_ok=True)
    for name, build in TEMPLATES.items():
        (out / name).write_bytes(reproducible(build()))
        print(f"wrote {out / name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
