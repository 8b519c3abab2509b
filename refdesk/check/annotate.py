"""`check --annotate OUT.xlsx`: a copy of the workbook with each problem cell highlighted and
commented, and a "Problems" sheet linking to them. The user's workbook is only read.

The copy goes through openpyxl, which leaves out some things it cannot carry (charts, images,
shapes): it is a copy to review, not a replacement for the workbook.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import openpyxl
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.worksheet import Worksheet

from refdesk.check.problem import Problem, Severity
from refdesk.errors import RefdeskError
from refdesk.fileio import write_file

PROBLEMS_SHEET = "Problems"
FILLS = {Severity.ERROR: PatternFill("solid", start_color="FFC7CE"),
         Severity.WARNING: PatternFill("solid", start_color="FFEB9C")}


class AnnotateError(RefdeskError):
    """The annotated copy cannot be written where asked."""


def annotate(source: Path, problems: Sequence[Problem], out: Path) -> Path:
    if out.resolve() == source.resolve():
        raise AnnotateError(f"{out}: is the workbook being checked; --annotate writes a copy, "
                            "so give it another name.")
    if out.suffix.lower() not in (".xlsx", ".xlsm"):
        raise AnnotateError(f"{out}: the annotated copy must end in .xlsx.")
    if not out.parent.is_dir():
        raise AnnotateError(f"{out.parent}: no such folder. Create it first.")
    keep_vba = source.suffix.lower() == ".xlsm" and out.suffix.lower() == ".xlsm"
    wb = openpyxl.load_workbook(source, keep_vba=keep_vba)
    by_cell: dict[tuple[str, str], list[Problem]] = defaultdict(list)
    for p in problems:
        if "!" in p.cell and p.sheet in wb.sheetnames:  # config.toml's: listed, not marked
            by_cell[(p.sheet, _anchor(wb[p.sheet], p.cell.split("!", 1)[1]))].append(p)
    for (sheet, ref), found in by_cell.items():
        cell = wb[sheet][ref]
        worst = Severity.ERROR if any(p.severity is Severity.ERROR for p in found) else (
            Severity.WARNING)
        cell.fill = FILLS[worst]
        cell.comment = Comment(str(_storable(_comment(ref, found))), "refdesk check",
                               width=320, height=120)
    _problems_sheet(wb, problems)
    write_file(out, wb.save)  # the copy holds client records: the owner's only
    return out


def _anchor(ws: Worksheet, ref: str) -> str:
    """The cell that holds a comment and a fill for `ref`: itself, or the first cell of the
    merged range it lies in (the others of a merged range can hold neither)."""
    for merged in ws.merged_cells.ranges:
        if ref in merged:
            return merged.start_cell.coordinate
    return ref


def _comment(ref: str, found: Sequence[Problem]) -> str:
    """The comment's text; a problem of another cell of a merged range names its cell."""
    return "\n".join(f"{p.severity.value}: " + (f"{p.cell.split('!', 1)[1]}: "
                                                  if p.cell.split("!", 1)[1] != ref else "")
                     + p.message for p in found)


def _text(ws: Worksheet, row: int, column: int, value: object) -> Cell:
    """Write `value` into a cell as a value, never as a formula: text that starts with "="
    (or reads like an error code, "#N/A") stays the text it is."""
    cell = ws.cell(row=row, column=column, value=_storable(value))
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def _storable(value: object) -> object:
    """Text a worksheet can hold: a control character (which a cell of another program's
    workbook can carry, escaped) becomes U+FFFD instead of failing the whole copy."""
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value) if isinstance(value, str) else value


def _problems_sheet(wb: openpyxl.Workbook, problems: Sequence[Problem]) -> None:
    if PROBLEMS_SHEET in wb.sheetnames:
        del wb[PROBLEMS_SHEET]
    ws = wb.create_sheet(PROBLEMS_SHEET, 0)
    for c, title in enumerate(("cell", "severity", "column", "value", "rule",
                               "problem and fix"), start=1):
        _text(ws, 1, c, title).font = Font(bold=True)
    for r, p in enumerate(problems, start=2):
        for c, value in enumerate((p.cell, p.severity.value, p.column, p.value, p.rule,
                                   p.message), start=1):
            _text(ws, r, c, value)
        if p.sheet in wb.sheetnames and "!" in p.cell:
            link = ws.cell(row=r, column=1)
            ref = p.cell.split("!", 1)[1]
            sheet = p.sheet.replace("'", "''")
            link.hyperlink = Hyperlink(ref=link.coordinate, location=f"'{sheet}'!{ref}")
            link.font = Font(color="0563C1", underline="single")
        ws.cell(row=r, column=2).fill = FILLS[p.severity]
    ws.freeze_panes = "A2"
    for letter, width in zip("ABCDEF", (16, 9, 18, 20, 18, 100), strict=True):
        ws.column_dimensions[letter].width = width
    wb.active = 0
