"""`refdesk summary`: what a workbook holds, sheet by sheet."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from refdesk.book import Book


@dataclass(frozen=True)
class SheetSummary:
    sheet: str
    present: bool
    rows: int
    columns: int
    extra_columns: list[str]
    missing_columns: list[str]
    unreadable_cells: list[str]


@dataclass(frozen=True)
class Summary:
    source: str
    sheets: list[SheetSummary]

    def title(self) -> str:
        return f"Workbook: {self.source}"

    @staticmethod
    def columns() -> list[str]:
        return ["Sheet", "Rows", "Columns", "Notes"]

    def rows(self) -> list[list[Any]]:
        out = []
        for s in self.sheets:
            notes = []
            if not s.present:
                notes.append("not in the workbook (read as empty)")
            if s.missing_columns:
                notes.append(f"no column {', '.join(s.missing_columns)}")
            if s.extra_columns:
                notes.append(f"your own columns kept: {', '.join(s.extra_columns)}")
            if s.unreadable_cells:
                cells = s.unreadable_cells
                shown = ", ".join(cells[:3]) + (f" and {len(cells) - 3} more" if len(cells) > 3
                                                else "")
                notes.append(f"not readable as {'its' if len(cells) == 1 else 'their'} "
                             f"column's kind: {shown}")
            out.append([s.sheet, s.rows, s.columns, "; ".join(notes)])
        return out

    def notes(self) -> list[str]:
        total = sum(s.rows for s in self.sheets)
        sheets = sum(s.present for s in self.sheets)
        return [f"{total} row{'' if total == 1 else 's'} in {sheets} sheets."]

    def records(self) -> list[dict[str, Any]]:
        return [{"source": self.source, **s.__dict__} for s in self.sheets]


def summarize(book: Book) -> Summary:
    return Summary(book.source, [
        SheetSummary(
            sheet=t.name,
            present=t.present,
            rows=len(t),
            columns=len(t.schema.columns) - len(t.missing_columns) + len(t.extra_columns),
            extra_columns=list(t.extra_columns),
            missing_columns=list(t.missing_columns) if t.present else [],
            unreadable_cells=[b.cell for b in t.bad_values],
        )
        for t in book
    ])
