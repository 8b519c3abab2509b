"""Setup: what `refdesk doctor` reports, one line per check with its fix."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from refdesk.desk.context import load, settings_of
from refdesk.desk.render import page
from refdesk.doctor import Check, run_checks
from refdesk.errors import RefdeskError

NAV = ("Setup", "/setup")
STATUS = {True: "ok", None: "warning", False: "problem"}


@dataclass(frozen=True)
class Line:
    """One check as the page shows it."""

    name: str
    status: str  # ok, warning or problem
    text: str
    fix: str


def _line(check: Check) -> Line:
    return Line(check.name, STATUS[check.ok], check.text, check.fix if check.ok is False else "")


def checks(request: Request, *, smtp: bool = False, google: bool = False) -> list[Line]:
    """doctor's checks; with --workbook or --sheet, the Workbook line is the desk's own
    source (doctor's names config.toml's)."""
    settings = settings_of(request)
    lines = [_line(c) for c in run_checks(settings.config_path, smtp=smtp, google=google)]
    if settings.workbook is None and settings.sheet is None:
        return lines
    try:
        loaded = load(request)
        own = Line("Workbook", "ok", f"{loaded.source} (readable)", "")
    except RefdeskError as exc:
        own = Line("Workbook", "problem", exc.message, "")
    return [own if line.name == "Workbook" else line for line in lines]


def setup(request: Request) -> Response:
    return page(request, "setup.html", title="Setup", lines=checks(request), asked=False,
                settings=settings_of(request))


async def setup_more(request: Request) -> Response:
    """The checks that reach out (log in to the email server, read the Google Sheet): asked
    for with a button, as `doctor --smtp --google`."""
    form = await request.form()
    smtp, google = form.get("smtp") == "1", form.get("google") == "1"
    from starlette.concurrency import run_in_threadpool

    lines = await run_in_threadpool(checks, request, smtp=smtp, google=google)
    return page(request, "setup.html", title="Setup", lines=lines, asked=True,
                settings=settings_of(request))


async def refresh(request: Request) -> Response:
    """Read the workbook (or Google Sheet) again now, then go back to the page asked for."""
    from starlette.concurrency import run_in_threadpool

    await run_in_threadpool(lambda: load(request, refresh=True))
    form = await request.form()
    back = str(form.get("back") or "/setup")
    return RedirectResponse(back if back.startswith("/") and not back.startswith("//")
                            else "/setup", status_code=303)


routes: list[BaseRoute] = [
    Route("/setup", setup, methods=["GET"]),
    Route("/setup", setup_more, methods=["POST"]),
    Route("/refresh", refresh, methods=["POST"]),
]
