"""Report: `refdesk stats`'s HTML report, with its range and period pickers.

The page holds a form (from, to, by) and the report itself in a frame from /report/page, the
very page `refdesk stats --html` writes (refdesk.stats.html), so it reads, scrolls and
prints as that file does. The same range downloads as that file, or as the stats workbook.
Dates in the address are the range's, never a client's. Client names and diagnoses are
never in it (the command's --with-names has no counterpart here).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from refdesk.desk import context
from refdesk.desk.render import page
from refdesk.stats import compute
from refdesk.stats.compute import BY, default_start
from refdesk.stats.html import SCRIPT, render_html
from refdesk.stats.model import Stats
from refdesk.todo import Rules

NAV = ("Report", "/report")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: The report's own policy: it stands alone with inline styles (charts are inline SVG) and one
#: inline script (details open for print), allowed by its hash; nothing else is loaded, and
#: only the desk's own pages may frame it.
_SCRIPT_HASH = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
REPORT_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
              f"script-src 'sha256-{_SCRIPT_HASH}'; base-uri 'none'; form-action 'none'; "
              "frame-ancestors 'self'")


class RangeError(ValueError):
    """A range the form cannot report on; its message says which field and how to fix it."""


@dataclass(frozen=True)
class Range:
    """What the form asked for: `start` None means the stats command's default."""

    start: dt.date | None
    end: dt.date
    by: str

    def query(self) -> str:
        """The range as the address of the report's frame and downloads."""
        values = {"from": self.start.isoformat()} if self.start else {}
        return urlencode({**values, "to": self.end.isoformat(), "by": self.by})

    @staticmethod
    def name(stats: Stats, what: str, suffix: str) -> str:
        """A download's file name: what it is and the range it covers."""
        return f"referral-{what}-{stats.start:%Y-%m-%d}-to-{stats.end:%Y-%m-%d}.{suffix}"


def _date(params: QueryParams, key: str, label: str) -> dt.date | None:
    text = (params.get(key) or "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise RangeError(f"{label} '{text}' is not a date; give it as YYYY-MM-DD, "
                         "e.g. 2026-01-01.") from None


def parse_range(params: QueryParams, day: dt.date) -> Range:
    """The range from the address, defaulting like `refdesk stats`: to the desk's day, by
    month, from 12 months (8 quarters, or everything by year) back."""
    by = params.get("by") or "month"
    if by not in BY:
        raise RangeError(f"period '{by}' is not one of {', '.join(BY)}; pick one from the list.")
    start, end = _date(params, "from", "From"), _date(params, "to", "To") or day
    if start is not None and start > end:
        raise RangeError(f"From {start:%Y-%m-%d} is after To {end:%Y-%m-%d}; swap them or "
                         "pick an earlier From.")
    return Range(start, end, by)


def _stats(request: Request, wanted: Range) -> Stats:
    """The figures for the range, computed as `refdesk stats` computes them."""
    loaded = context.load(request)
    config = loaded.config
    rules = Rules.of(config)
    return compute(loaded.book, start=wanted.start, end=wanted.end, by=wanted.by,
                   dormant_after_days=rules.dormant_after_days,
                   hourly_rate=(config.program if config else {}).get("hourly_rate", 0),
                   dormant_by=rules.dormant_by, rhythm_times=rules.rhythm_times)


def _practice(request: Request) -> str | None:
    config = context.load(request).config
    return config.practice.name if config else None


def report(request: Request) -> Response:
    day = context.today(request)
    by = request.query_params.get("by") or "month"
    try:
        wanted = parse_range(request.query_params, day)
    except RangeError as exc:
        # The form comes back as typed, with the message; no report until it reads.
        return page(request, "report.html", title="Report", error=str(exc), by_choices=BY,
                    start=request.query_params.get("from", ""),
                    end=request.query_params.get("to", ""), by=by, query=None)
    shown_start = wanted.start or default_start(wanted.end, wanted.by)
    return page(request, "report.html", title="Report", error=None, by_choices=BY,
                start=shown_start.isoformat() if shown_start else "",
                end=wanted.end.isoformat(), by=wanted.by, query=wanted.query())


def _or_message(request: Request) -> Range | Response:
    try:
        return parse_range(request.query_params, context.today(request))
    except RangeError as exc:
        return HTMLResponse(f"<!DOCTYPE html><meta charset='utf-8'><p>{html.escape(str(exc))}</p>",
                            status_code=400)


def report_page(request: Request) -> Response:
    """The report alone, as `refdesk stats --html` writes it: the frame's content."""
    wanted = _or_message(request)
    if isinstance(wanted, Response):
        return wanted
    return HTMLResponse(render_html(_stats(request, wanted), _practice(request),
                                    made_on=context.today(request)),
                        headers={"Content-Security-Policy": REPORT_CSP})


def report_file(request: Request) -> Response:
    """The same report as a file to save, print or send."""
    wanted = _or_message(request)
    if isinstance(wanted, Response):
        return wanted
    stats = _stats(request, wanted)
    body = render_html(stats, _practice(request), made_on=context.today(request))
    return HTMLResponse(body, headers={**_attachment(wanted.name(stats, "report", "html")),
                                       "Content-Security-Policy": REPORT_CSP})


def report_xlsx(request: Request) -> Response:
    """The stats workbook for the range (refdesk.stats.workbook), as `stats --xlsx` writes it."""
    wanted = _or_message(request)
    if isinstance(wanted, Response):
        return wanted
    from refdesk.stats.workbook import write_xlsx

    stats = _stats(request, wanted)
    with tempfile.TemporaryDirectory(prefix="refdesk-desk-") as folder:
        path = Path(folder) / "stats.xlsx"
        write_xlsx(stats, path, _practice(request), made_on=context.today(request))
        data = path.read_bytes()
    return Response(data, media_type=XLSX_TYPE,
                    headers=_attachment(wanted.name(stats, "stats", "xlsx")))


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


routes: list[BaseRoute] = [
    Route("/report", report, methods=["GET"]),
    Route("/report/page", report_page, methods=["GET"]),
    Route("/report/file", report_file, methods=["GET"]),
    Route("/report/xlsx", report_xlsx, methods=["GET"]),
]
