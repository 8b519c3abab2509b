"""Problems: what `refdesk check` finds, sheet by sheet, each at its cell with the fix.

The problems are refdesk.check's own (the workbook's rules and config.toml's practice
profile, as the command checks them). A health column's value never reaches the page: a
Problem holds "(hidden: health information)" in its place, as the command prints it. The
page's one action opens the workbook in the system's program (refdesk.opener); for a Google
Sheet it links to the sheet instead.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from refdesk import opener
from refdesk.characters import shown
from refdesk.check import Context, Problem, Severity, check_book
from refdesk.check import practice as practice_rules
from refdesk.check.report import summary_line
from refdesk.desk import context
from refdesk.desk.render import page

NAV = ("Problems", "/problems")


@dataclass
class Row:
    """A problem as the page shows it: the cell within its sheet, and text safe to print."""

    severity: str
    cell: str
    address: str
    column: str
    value: str
    message: str


@dataclass
class SheetProblems:
    sheet: str
    rows: list[Row] = field(default_factory=list)
    errors: int = 0
    warnings: int = 0


def find_problems(request: Request) -> list[Problem]:
    """config.toml's practice problems, then the workbook's, as `refdesk check` lists them."""
    loaded = context.load(request)
    config = loaded.config
    ctx = Context(today=context.today(request), region=config.practice.country if config else "US")
    return [*(practice_rules.rules(config) if config else ()), *check_book(loaded.book, ctx)]


def by_sheet(problems: list[Problem]) -> list[SheetProblems]:
    """Sheets in the order check lists them; in each, errors before warnings, then by row."""
    sheets: dict[str, SheetProblems] = {}
    for p in problems:
        group = sheets.setdefault(p.sheet, SheetProblems(p.sheet))
        if p.severity is Severity.ERROR:
            group.errors += 1
        else:
            group.warnings += 1
        # The value is check's own (hidden for health columns); a control character pasted
        # into a cell shows as U+FFFD, as in the terminal.
        group.rows.append(Row(p.severity.value, p.cell.split("!", 1)[-1], p.cell, p.column,
                              shown(p.value), shown(p.message)))
    for group in sheets.values():
        group.rows.sort(key=lambda r: r.severity != Severity.ERROR.value)  # stable: by row
    return list(sheets.values())


def sheet_link(source: Any) -> str | None:
    """The address of a Google Sheet source, to open it in the browser; None for a file."""
    ref = getattr(source, "ref", None)
    if source.path is not None or not ref:
        return None
    from refdesk.sources.google.client import spreadsheet_key

    return f"https://docs.google.com/spreadsheets/d/{spreadsheet_key(ref)}/edit"


def _render(request: Request, message: str | None = None) -> Response:
    found = find_problems(request)
    source = context.load(request).source
    counts = Counter(p.severity for p in found)
    return page(request, "problems.html", title="Problems", sheets=by_sheet(found),
                total=len(found), errors=counts[Severity.ERROR],
                warnings=counts[Severity.WARNING], summary=summary_line(found),
                day=context.today(request), workbook=source.path,
                source_name=source.path.name if source.path else str(source),
                google_link=sheet_link(source), message=message)


def problems(request: Request) -> Response:
    return _render(request)


def open_workbook(request: Request) -> Response:
    """Open the workbook file in the system's program (the CSRF check is the middleware's)."""
    source = context.load(request).source
    if source.path is None:
        message = "This workbook is a Google Sheet: open it with the link below."
    else:
        message = opener.open_file(source.path)
    return _render(request, message)


routes: list[BaseRoute] = [
    Route("/problems", problems, methods=["GET"]),
    Route("/problems/open", open_workbook, methods=["POST"]),
]
