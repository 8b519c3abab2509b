"""What a batch of letters needs to go out by post: a sheet of mailing labels in the Avery 5160
layout, and #10 envelopes, one document each, for the recipients in the order of the batch."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from docx import Document
from docx.enum.table import WD_ROW_HEIGHT_RULE, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Inches, Pt

from refdesk import characters

FONT = "Arial"
#: Avery 5160 (and 8160, 5260...): 30 labels of 2 5/8 x 1 in on US letter, three across.
LABEL_WIDTH, LABEL_HEIGHT, LABEL_GAP = 2.625, 1.0, 0.125
LABELS_ACROSS, LABELS_DOWN = 3, 10
LABEL_TOP, LABEL_SIDE = 0.5, 0.1875
#: A #10 envelope: 9 1/2 x 4 1/8 in.
ENVELOPE_WIDTH, ENVELOPE_HEIGHT = 9.5, 4.125


@dataclass(frozen=True)
class Address:
    lines: tuple[str, ...]

    @classmethod
    def of(cls, *lines: str) -> Address:
        """The address's lines, a line break in a value starting a line of its own. The merge
        refuses a character no document can hold before anything is made; one that comes
        here all the same shows as U+FFFD (refdesk.characters)."""
        split = (part.strip() for line in lines if line
                 for part in characters.shown(line).split("\n"))
        return cls(tuple(part for part in split if part))


def _run(paragraph, text: str, size: float, bold: bool = False) -> None:
    run = paragraph.add_run(text)
    run.font.name, run.font.size, run.font.bold = FONT, Pt(size), bold or None


def _no_borders(table) -> None:
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    table._tbl.tblPr.append(borders)


def _cell_margins(table, inches: float) -> None:
    margins = OxmlElement("w:tblCellMar")
    for edge in ("top", "left", "bottom", "right"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:w"), str(int(inches * 1440)))
        element.set(qn("w:type"), "dxa")
        margins.append(element)
    table._tbl.tblPr.append(margins)


def _save(document) -> bytes:
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def labels(addresses: Sequence[Address]) -> bytes:
    """Labels filled row by row, left to right, as many sheets as needed."""
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Inches(8.5), Inches(11)
    section.top_margin = section.bottom_margin = Inches(LABEL_TOP)
    section.left_margin = section.right_margin = Inches(LABEL_SIDE)
    section.header_distance = section.footer_distance = Inches(0)
    per_page = LABELS_ACROSS * LABELS_DOWN
    pages = [addresses[i:i + per_page] for i in range(0, len(addresses), per_page)] or [[]]
    widths = [LABEL_WIDTH, LABEL_GAP, LABEL_WIDTH, LABEL_GAP, LABEL_WIDTH]
    for number, page in enumerate(pages):
        if number:
            document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        table = document.add_table(rows=LABELS_DOWN, cols=len(widths))
        table.alignment = WD_TABLE_ALIGNMENT.LEFT
        table.autofit = False
        _no_borders(table)
        _cell_margins(table, 0.08)
        for col, width in enumerate(widths):
            table.columns[col].width = Inches(width)  # the grid, which LibreOffice follows
        for row_index, row in enumerate(table.rows):
            row.height, row.height_rule = Inches(LABEL_HEIGHT), WD_ROW_HEIGHT_RULE.EXACTLY
            for col, cell in enumerate(row.cells):
                cell.width = Inches(widths[col])
                if col % 2:
                    continue
                index = row_index * LABELS_ACROSS + col // 2
                if index >= len(page):
                    continue
                lines = page[index].lines
                paragraph = cell.paragraphs[0]
                paragraph.paragraph_format.space_before = Pt(4)
                size = 8.5 if len(lines) <= 5 else 7.5
                for i, line in enumerate(lines):
                    if i:
                        paragraph = cell.add_paragraph()
                    paragraph.paragraph_format.space_after = Pt(0)
                    paragraph.paragraph_format.line_spacing = 1.0
                    _run(paragraph, line, size)
    return _save(document)


def envelopes(return_address: Address, addresses: Sequence[Address]) -> bytes:
    """One #10 envelope a page: the practice top left, the recipient in the middle."""
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Inches(ENVELOPE_WIDTH), Inches(ENVELOPE_HEIGHT)
    section.top_margin = section.left_margin = Inches(0.35)
    section.right_margin = section.bottom_margin = Inches(0.35)
    for number, address in enumerate(addresses):
        paragraph = document.add_paragraph()
        if number:
            paragraph.add_run().add_break(WD_BREAK.PAGE)
        for i, line in enumerate(return_address.lines):
            if i:
                paragraph = document.add_paragraph()
            paragraph.paragraph_format.space_after = Pt(0)
            _run(paragraph, line, 9, bold=i == 0)
        for i, line in enumerate(address.lines):
            paragraph = document.add_paragraph()
            fmt = paragraph.paragraph_format
            fmt.left_indent = Inches(4.0)
            fmt.space_after = Pt(0)
            fmt.space_before = Pt(54) if i == 0 else Pt(0)
            _run(paragraph, line, 12)
    return _save(document)
