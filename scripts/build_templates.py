"""Build the merge templates in templates/ (Word documents with docxtpl tags).

    python scripts/build_templates.py

The same code gives the same files, byte for byte: fixed document properties and zip times.
Every tag sits whole in one run, so Word shows it as typed and docxtpl reads it; open the
results in Word to adjust wording or layout, or change this script and run it again.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import sys
import zipfile
from collections.abc import Iterable
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT, WD_TAB_LEADER
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Inches, Pt, RGBColor
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "templates"
FIXED = dt.datetime(2026, 1, 1)
FONT = "Georgia"
ACCENT = RGBColor(0x2F, 0x5D, 0x50)
GREY = RGBColor(0x59, 0x59, 0x59)
LABEL_FILL = "E7EFEA"
CONFIDENTIAL = ("Confidential health information: protected under HIPAA; do not redisclose "
                "without the client's written authorization.")
BOX = "{{ '☒' if item.checked else '☐' }} {{ item.label }}"
#: Inline check boxes: a non-breaking space keeps each label on one line with its box.
NBSP = "\u00a0"
INLINE_BOXES = ("{% for item in LIST %}{{ '☒' if item.checked else '☐' }}" + NBSP
                + "{{ item.label|replace(' ', '" + NBSP + "') }}     {% endfor %}")


# -- building blocks ------------------------------------------------------------------------
def _font(run, size: float | None = None, bold: bool = False, italic: bool = False,
          color: RGBColor | None = None) -> None:
    run.font.name = FONT
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)
    if size:
        run.font.size = Pt(size)
    run.font.bold = bold or None
    run.font.italic = italic or None
    if color is not None:
        run.font.color.rgb = color


def para(container, text: str = "", *, size: float | None = None, bold: bool = False,
         italic: bool = False, color: RGBColor | None = None, align=None, before: float = 0,
         after: float = 6, style: str | None = None, keep: bool = False) -> Paragraph:
    """A paragraph whose text is one run: a tag in it is never split."""
    p = container.add_paragraph(style=style) if style else container.add_paragraph()
    if text:
        _font(p.add_run(text), size, bold, italic, color)
    fmt = p.paragraph_format
    fmt.space_before, fmt.space_after = Pt(before), Pt(after)
    if align is not None:
        p.alignment = align
    if keep:
        fmt.keep_with_next = True
    return p


def tag(container, text: str) -> Paragraph:
    """A paragraph holding only a `{%p ... %}` tag; docxtpl removes it when rendering."""
    return para(container, text, after=0)


def rule(p: Paragraph, color: str = "2F5D50", size: int = 8) -> None:
    """A line under a paragraph."""
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", str(size)), ("w:space", "4"),
                       ("w:color", color)):
        bottom.set(qn(key), value)
    borders.append(bottom)
    p._p.get_or_add_pPr().append(borders)


def heading(doc, text: str, before: float = 8) -> Paragraph:
    p = para(doc, text.upper(), size=9.5, bold=True, color=ACCENT, before=before, after=3,
             keep=True)
    return p


def title(doc, text: str, subtitle: str = "") -> None:
    para(doc, text, size=15, bold=True, color=ACCENT, after=2 if subtitle else 10)
    if subtitle:
        para(doc, subtitle, size=9.5, italic=True, color=GREY, after=10)


def shade(cell: _Cell, fill: str = LABEL_FILL) -> None:
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shd)


def cell_text(cell: _Cell, text: str, *, bold: bool = False, size: float = 10,
              align=None, color: RGBColor | None = None) -> None:
    p = cell.paragraphs[0]
    if text:
        _font(p.add_run(text), size, bold, color=color)
    p.paragraph_format.space_after = Pt(1)
    p.paragraph_format.space_before = Pt(1)
    if align is not None:
        p.alignment = align


def table(doc, widths: Iterable[float]) -> Table:
    widths = list(widths)
    t = doc.add_table(rows=0, cols=len(widths))
    t.style = "Table Grid"
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    t.autofit = False
    for i, width in enumerate(widths):
        t.columns[i].width = Inches(width)
    return t


def row(t: Table, *texts: str, label_first: bool = False, header: bool = False,
        heights: float | None = None) -> None:
    cells = t.add_row().cells
    for i, text in enumerate(texts):
        cells[i].width = t.columns[i].width
        is_label = header or (label_first and i == 0)
        cell_text(cells[i], text, bold=is_label, size=9.5 if is_label else 10)
        if is_label:
            shade(cells[i])
    if heights:
        t.rows[-1].height = Inches(heights)


def loop_rows(t: Table, loop: str, *texts: str) -> None:
    """Rows repeated for each item: `{%tr for ... %}`, the row, `{%tr endfor %}`."""
    cells = t.add_row().cells
    cell_text(cells[0], f"{{%tr {loop} %}}")
    row(t, *texts)
    cells = t.add_row().cells
    cell_text(cells[0], "{%tr endfor %}")


def fields(doc, pairs: list[tuple[str, str]], widths=(1.9, 4.6)) -> Table:
    t = table(doc, widths)
    for label, value in pairs:
        row(t, label, value, label_first=True, heights=0.27)
    return t


def blank_lines(doc, count: int) -> None:
    """Lines to write on: a tab to the right margin with an underline leader."""
    for _ in range(count):
        p = para(doc, "\t", after=10, color=GREY)
        p.paragraph_format.tab_stops.add_tab_stop(Inches(6.5), WD_TAB_ALIGNMENT.RIGHT,
                                                  WD_TAB_LEADER.LINES)


def spacer(doc, points: float = 4) -> None:
    para(doc, "", after=points)


# -- the page ---------------------------------------------------------------------------------
def new_document(confidential: bool) -> Document:
    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Inches(8.5), Inches(11)
    section.left_margin = section.right_margin = Inches(1)
    section.top_margin, section.bottom_margin = Inches(0.7), Inches(0.7)
    section.header_distance = section.footer_distance = Inches(0.4)
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = FONT, Pt(10.5)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)
    normal.paragraph_format.space_after = Pt(6)
    normal.paragraph_format.line_spacing = 1.05
    for name in ("List Bullet", "Table Grid"):
        style = doc.styles[name]
        if style.font is not None:
            style.font.name = FONT

    header = section.header
    head = header.paragraphs[0]
    _font(head.add_run("{{ practice.name }}"), 17, bold=True, color=ACCENT)
    head.paragraph_format.space_after = Pt(0)
    para(header, "{{ practice.signature }}  ·  {{ practice.profession|capitalize }}  ·  "
         "{{ practice.email }}", size=9, color=GREY, after=0)
    line = para(header, "{{ practice.street }}, {{ practice.city_line }}  ·  Tel "
                "{{ practice.phone }}  ·  Fax {{ practice.fax }}", size=8.5, color=GREY, after=10)
    rule(line)

    footer = section.footer
    foot = footer.paragraphs[0]
    foot.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(foot.add_run("{{ practice.name }}  ·  {{ practice.phone }}  ·  {{ practice.website }}"),
          8, color=GREY)
    if confidential:
        para(footer, CONFIDENTIAL, size=7.5, italic=True, color=GREY,
             align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    return doc


def inside_address(doc) -> None:
    para(doc, "{{ today }}", after=12)
    for text in ("{{ provider.full_name }}", "{{ provider.practice }}", "{{ provider.street }}",
                 "{{ provider.city_line }}"):
        para(doc, text, after=0)
    spacer(doc, 8)
    para(doc, "Dear {{ provider.salutation }}:", after=8)


def closing(doc, words: str = "Sincerely,") -> None:
    para(doc, words, before=4, after=22, keep=True)
    para(doc, "{{ practice.signature }}", after=0, keep=True)
    para(doc, "{{ practice.license }}  ·  NPI {{ practice.npi }}", size=9, color=GREY,
         after=0)


def signature_block(doc, left: str, right: str = "Date") -> None:
    """An empty box to sign in, over the labels of what goes there."""
    t = table(doc, (4.4, 2.1))
    for i, cell in enumerate(t.add_row().cells):
        cell.width = t.columns[i].width
    t.rows[-1].height = Inches(0.45)
    row(t, left, right, header=True)


# -- the documents ------------------------------------------------------------------------------
def intro_letter() -> Document:
    doc = new_document(confidential=False)
    inside_address(doc)
    para(doc, "I would like to introduce {{ practice.name }}, a {{ practice.profession }} "
         "practice in {{ practice.city }} focused on {{ practice.specialty }}. Many of my "
         "clients see me alongside their physicians and therapists, and I would welcome the "
         "chance to care for your patients in the same way.")
    heading(doc, "Conditions I treat")
    tag(doc, "{%p for c in practice.conditions %}")
    para(doc, "{{ c }}", style="List Bullet", after=1)
    tag(doc, "{%p endfor %}")
    heading(doc, "How my work helps your patients")
    tag(doc, "{%p for b in practice.benefits %}")
    para(doc, "{{ b }}", style="List Bullet", after=1)
    tag(doc, "{%p endfor %}")
    heading(doc, "Training and approach")
    para(doc, "{{ practice.training }}")
    tag(doc, "{%p if testimonials %}")
    heading(doc, "What clients say")
    tag(doc, "{%p for t in testimonials %}")
    quote = para(doc, "“{{ t.quote }}” — {{ t.attribution }}", italic=True, size=10,
                 color=GREY, after=4)
    quote.paragraph_format.left_indent = Inches(0.35)
    quote.paragraph_format.right_indent = Inches(0.35)
    tag(doc, "{%p endfor %}")
    tag(doc, "{%p endif %}")
    para(doc, "I have enclosed a Referral for Massage Therapy form and a short Provider's "
         "Needs form: return the needs form and I will send your office just the reports and "
         "materials you want, the way you prefer. Referrals can be faxed to "
         "{{ practice.fax }} or called in to {{ practice.phone }}.", before=6, keep=True)
    para(doc, "Thank you for your time. I look forward to working with you and your patients.",
         keep=True)
    closing(doc)
    return doc


def referral_form() -> Document:
    doc = new_document(confidential=True)
    title(doc, "Referral for Massage Therapy",
          "Please complete and fax to {{ practice.fax }}, or give it to your patient to bring "
          "to the first visit.")
    heading(doc, "Referring provider", before=0)
    fields(doc, [("Provider", "{{ provider.full_name }}"),
                 ("Practice", "{{ provider.practice }}"),
                 ("Phone  ·  Fax", "{{ provider.phone }}  ·  {{ provider.fax }}")])
    heading(doc, "Patient")
    fields(doc, [("Date of referral", ""), ("Patient name", ""), ("Date of birth", ""),
                 ("Patient phone", ""), ("Diagnosis (ICD-10-CM)", "")])
    heading(doc, "Services requested")
    para(doc, "{% for s in practice.services %}☐" + NBSP + "{{ s|replace(' ', '" + NBSP
         + "') }}     {% endfor %}", size=10, after=4)
    heading(doc, "Frequency and duration")
    para(doc, "Frequency:   ☐ 1 × per week     ☐ 2 × per week     ☐ Other: ______________",
         size=10, after=2)
    para(doc, "Duration:     ☐ 4 weeks     ☐ 6 weeks     ☐ 8 weeks     ☐ Other: __________",
         size=10, after=4)
    heading(doc, "Precautions and notes")
    blank_lines(doc, 2)
    spacer(doc, 6)
    signature_block(doc, "Provider signature", "Date")
    spacer(doc, 4)
    signature_block(doc, "Printed name", "NPI")
    para(doc, "Questions: {{ practice.phone }}  ·  {{ practice.signature }}, NPI "
         "{{ practice.npi }}", size=8.5, color=GREY, before=8)
    return doc


def needs_form() -> Document:
    doc = new_document(confidential=False)
    title(doc, "Provider's Needs Form",
          "So that your office receives only what is useful, please check what you would like "
          "for patients you refer to {{ practice.name }}.")
    fields(doc, [("Provider", "{{ provider.full_name }}"),
                 ("Practice", "{{ provider.practice }}")])
    heading(doc, "Clinical documents")
    t = table(doc, (6.5,))
    loop_rows(t, "for item in clinical", BOX)
    heading(doc, "Marketing pieces for your waiting room")
    t = table(doc, (6.5,))
    loop_rows(t, "for item in marketing", BOX)
    heading(doc, "How to send them")
    para(doc, INLINE_BOXES.replace("LIST", "delivery_choices"), size=10)
    heading(doc, "Best contact in your office")
    fields(doc, [("Name", "{{ provider.staff_contact }}"), ("Phone", "{{ provider.phone }}"),
                 ("Email", "{{ provider.email }}")])
    para(doc, "Please return this form by fax to {{ practice.fax }} or by email to "
         "{{ practice.email }}. Thank you.", before=10)
    return doc


def release_form() -> Document:
    doc = new_document(confidential=True)
    title(doc, "Authorization to Exchange Health Information")
    fields(doc, [("Client", "{{ client.name }}"), ("Date of birth", "{{ client.dob }}"),
                 ("Address", "{{ client.street }}, {{ client.city_line }}"),
                 ("Phone", "{{ client.phone }}")])
    para(doc, "I authorize {{ practice.name }} ({{ practice.signature }}) to exchange "
         "information about my care with the provider(s) named below, so that my care can be "
         "coordinated.", before=10)
    t = table(doc, (1.7, 2.0, 1.4, 1.4))
    row(t, "Provider", "Practice", "Phone", "Fax", header=True)
    loop_rows(t, "for p in providers", "{{ p.full_name }}", "{{ p.practice }}",
              "{{ p.phone }}", "{{ p.fax }}")
    heading(doc, "Information that may be shared (check all that apply)")
    para(doc, INLINE_BOXES.replace("LIST", "scope_choices"), size=10)
    para(doc, "This authorization is valid until {{ expires_on }} unless I revoke it sooner. "
         "I may revoke it at any time by writing to {{ practice.name }}; revoking does not "
         "undo information already shared. My care does not depend on my signing this form. "
         "Information shared under it may be protected by federal privacy rules, and its "
         "recipients may not pass it on without my written authorization.", before=6)
    spacer(doc, 8)
    signature_block(doc, "Client signature", "Date")
    spacer(doc, 6)
    signature_block(doc, "Witness: {{ practice.signature }}", "Date")
    return doc


def super_bill() -> Document:
    doc = new_document(confidential=True)
    title(doc, "Superbill", "Statement for insurance reimbursement  ·  {{ bill.period }}")
    t = table(doc, (3.25, 3.25))
    row(t, "Provider of service", "Patient", header=True)
    cells = t.add_row().cells
    for i, lines in enumerate((
            ["{{ practice.name }}", "{{ practice.signature }}", "{{ practice.license }}",
             "NPI {{ practice.npi }}  ·  Tax ID {{ practice.tax_id }}",
             "{{ practice.street }}", "{{ practice.city_line }}",
             "Tel {{ practice.phone }}"],
            ["{{ client.name }}", "Date of birth {{ client.dob }}", "{{ client.street }}",
             "{{ client.city_line }}", "Tel {{ client.phone }}",
             "Insurance: {{ client.insurance_carrier }}",
             "Member ID: {{ client.member_id }}"])):
        cells[i].width = t.columns[i].width
        cell_text(cells[i], lines[0], bold=True)
        for line in lines[1:]:
            p = cells[i].add_paragraph()
            _font(p.add_run(line), 9.5)
            p.paragraph_format.space_after = Pt(0)
    tag(doc, "{%p if referring %}")
    para(doc, "Referring provider: {{ referring.full_name }}  ·  NPI {{ referring.npi }}",
         size=10, before=6)
    tag(doc, "{%p endif %}")
    tag(doc, "{%p if diagnoses %}")
    heading(doc, "Diagnoses (ICD-10-CM)")
    t = table(doc, (1.2, 5.3))
    row(t, "Code", "Description", header=True)
    loop_rows(t, "for d in diagnoses", "{{ d.code }}", "{{ d.description }}")
    tag(doc, "{%p endif %}")
    heading(doc, "Services")
    t = table(doc, (1.45, 0.8, 2.85, 0.55, 0.85))
    row(t, "Date", "CPT", "Description", "Units", "Fee", header=True)
    loop_rows(t, "for v in bill.visits", "{{ v.date }}", "{{ v.cpt }}", "{{ v.description }}",
              "{{ v.units }}", "{{ v.fee }}")
    totals = table(doc, (5.65, 0.85))
    row(totals, "Total charges", "{{ bill.total_fees }}", label_first=True)
    row(totals, "Payments received", "{{ bill.total_paid }}", label_first=True)
    row(totals, "Balance due", "{{ bill.balance }}", label_first=True)
    tag(doc, "{%p if bill.payments %}")
    heading(doc, "Payments")
    t = table(doc, (2.2, 2.2, 2.1))
    row(t, "Date", "Method", "Amount", header=True)
    loop_rows(t, "for p in bill.payments", "{{ p.date }}", "{{ p.method }}", "{{ p.amount }}")
    tag(doc, "{%p endif %}")
    para(doc, "I certify that the services listed were provided by me on the dates shown. "
         "Submit this statement with your insurer's claim form; ask your insurer whether "
         "massage therapy is covered under your plan.", size=9.5, before=8)
    spacer(doc, 4)
    signature_block(doc, "{{ practice.signature }}", "Date")
    return doc


def thank_you() -> Document:
    doc = new_document(confidential=True)
    inside_address(doc)
    para(doc, "Thank you for referring your patient, {{ client.name }}, to "
         "{{ practice.name }}. I received your referral on {{ referral.received_on }}.")
    tag(doc, "{%p if referral.first_visit %}")
    para(doc, "{{ client.first_name }} came in for a first visit on "
         "{{ referral.first_visit }}, and we have set up a plan of care that follows your "
         "referral.")
    tag(doc, "{%p endif %}")
    para(doc, "I will keep you informed of your patient's progress in the way your office "
         "prefers. If there is anything you would like me to watch for, or if your patient's "
         "needs change, please call me at {{ practice.phone }}.")
    para(doc, "I appreciate your trust, and I look forward to working with you.")
    closing(doc, "With thanks,")
    return doc


def progress_report() -> Document:
    doc = new_document(confidential=True)
    title(doc, "Progress Report")
    fields(doc, [("To", "{{ provider.full_name }}, {{ provider.practice }}"),
                 ("Fax", "{{ provider.fax }}"),
                 ("Your patient", "{{ client.name }}  ·  born {{ client.dob }}"),
                 ("Date", "{{ today }}")])
    heading(doc, "Plan of care")
    fields(doc, [("Referral received", "{{ referral.received_on }}"),
                 ("Services", "{{ referral.services|join(', ') }}"),
                 ("Frequency", "{{ referral.per_week }} per week for {{ referral.weeks }} weeks"),
                 ("First visit", "{{ referral.first_visit }}"),
                 ("Visits so far", "{{ progress.visits_done }} of "
                  "{{ referral.visits_authorized }} authorized  ·  "
                  "{{ progress.visits_remaining }} remaining"),
                 ("Last visit", "{{ progress.last_visit }}")])
    tag(doc, "{%p if referral.diagnoses %}")
    heading(doc, "Diagnoses (ICD-10-CM)")
    t = table(doc, (1.2, 5.3))
    row(t, "Code", "Description", header=True)
    loop_rows(t, "for d in referral.diagnoses", "{{ d.code }}", "{{ d.description }}")
    tag(doc, "{%p endif %}")
    heading(doc, "Visits")
    t = table(doc, (2.6, 2.2, 1.7))
    row(t, "Date", "Procedure (CPT)", "Minutes", header=True)
    loop_rows(t, "for v in progress.visits", "{{ v.date }}", "{{ v.cpt }}", "{{ v.minutes }}")
    heading(doc, "Observations and plan")
    blank_lines(doc, 4)
    para(doc, "Thank you for the referral. Please call {{ practice.phone }} with any "
         "questions about your patient's care.", before=6)
    closing(doc, "Respectfully,")
    return doc


def sent_referral() -> Document:
    doc = new_document(confidential=True)
    inside_address(doc)
    para(doc, "I am writing to let you know that on {{ sent.sent_on }} I referred my client "
         "{{ client.name }} to your office. The reason for the referral: {{ sent.reason }}.")
    para(doc, "{{ client.first_name }} can be reached at {{ client.phone }} to schedule a "
         "visit. With {{ client.first_name }}'s written authorization, which is on file, I "
         "am glad to share my notes on the treatment so far; please call me at "
         "{{ practice.phone }} if they would help.")
    para(doc, "Thank you for seeing your new patient.")
    closing(doc, "Kind regards,")
    return doc


def fax_cover() -> Document:
    doc = new_document(confidential=True)
    para(doc, "FAX", size=30, bold=True, color=ACCENT, after=12)
    fields(doc, [("To", "{{ provider.full_name }}"), ("Practice", "{{ provider.practice }}"),
                 ("Fax", "{{ provider.fax }}"), ("Phone", "{{ provider.phone }}"),
                 ("From", "{{ practice.signature }}, {{ practice.name }}"),
                 ("Fax  ·  Phone", "{{ practice.fax }}  ·  {{ practice.phone }}"),
                 ("Date", "{{ today }}"), ("Re", "{{ subject }}")])
    para(doc, "The pages that follow are for the person named above. They may contain health "
         "information that is confidential and protected by law. If you received this fax in "
         "error, please call {{ practice.phone }} and destroy the pages; do not copy or pass "
         "them on.", before=14)
    return doc


TEMPLATES = {
    "intro-letter.docx": intro_letter,
    "referral-form.docx": referral_form,
    "needs-form.docx": needs_form,
    "release-form.docx": release_form,
    "super-bill.docx": super_bill,
    "thank-you.docx": thank_you,
    "progress-report.docx": progress_report,
    "sent-referral.docx": sent_referral,
    "fax-cover.docx": fax_cover,
}


CORE = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
    'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.'
    'org/dc/terms/" xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/'
    '2001/XMLSchema-instance"><dc:creator>refdesk</dc:creator><cp:lastModifiedBy>refdesk'
    '</cp:lastModifiedBy><cp:revision>1</cp:revision><dcterms:created xsi:type="dcterms:W3CDTF">'
    f'{FIXED:%Y-%m-%dT%H:%M:%SZ}</dcterms:created><dcterms:modified xsi:type="dcterms:W3CDTF">'
    f'{FIXED:%Y-%m-%dT%H:%M:%SZ}</dcterms:modified></cp:coreProperties>').encode()


def reproducible(doc: Document) -> bytes:
    """The document's bytes with fixed properties and zip times."""
    buffer = io.BytesIO()
    doc.save(buffer)
    out = io.BytesIO()
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename == "docProps/thumbnail.jpeg":
                continue
            data = src.read(info)
            if info.filename == "docProps/core.xml":
                data = CORE
            if info.filename == "[Content_Types].xml":
                data = data.replace(b'<Default Extension="jpeg" ContentType="image/jpeg"/>', b"")
            if info.filename == "_rels/.rels":
                data = _drop_thumbnail(data)
            dst.writestr(zipfile.ZipInfo(info.filename, (1980, 1, 1, 0, 0, 0)), data,
                         compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _drop_thumbnail(rels: bytes) -> bytes:
    return re.sub(rb"<Relationship [^>]*docProps/thumbnail\.jpeg\"/>", b"", rels)


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

