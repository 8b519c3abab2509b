"""The desk's Starlette application: pages found by module, guarded by the security middleware."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from refdesk.desk.render import error_page
from refdesk.desk.security import SecurityMiddleware
from refdesk.desk.settings import DeskSettings
from refdesk.errors import RefdeskError

HERE = Path(__file__).parent
PAGES = ["week", "problems", "report", "letters", "ledger", "setup"]


def _page_modules() -> list[object]:
    """The page modules present, in PAGES order (a page not written yet is skipped)."""
    found = []
    for name in PAGES:
        try:
            found.append(importlib.import_module(f"refdesk.desk.pages.{name}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"refdesk.desk.pages.{name}":
                raise  # a page that exists but imports something missing is a real error
    return found


async def _refdesk_error(request: Request, exc: Exception) -> Response:
    """A RefdeskError (the workbook cannot be read, config.toml is wrong) as a page."""
    lines = exc.lines() if isinstance(exc, RefdeskError) else [str(exc)]
    return error_page(request, lines)


async def _not_found(request: Request, exc: Exception) -> Response:
    return error_page(request, ["The desk has no such page; pick one above."],
                      title="No such page", status_code=404)


class UnexpectedErrors:
    """Any exception a page did not foresee becomes a short page, never a traceback (and
    nothing is logged: the message could carry what the page was working on)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or os.environ.get("REFDESK_DEBUG"):
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            if started:  # part of the page went out: nothing better to do than stop
                return
            request = Request(scope)
            response = error_page(request, [
                f"The desk met an unexpected {type(exc).__name__}. Start it again with "
                "REFDESK_DEBUG=1 set for the details, and report them."],
                title="Unexpected error", status_code=500)
            await response(scope, receive, send)


def create_app(settings: DeskSettings) -> Starlette:
    """The desk for `settings`: every page module's routes, the static files, the guard."""
    modules = _page_modules()
    nav = [tuple(m.NAV) for m in modules if getattr(m, "NAV", None)]
    routes: list[BaseRoute] = []
    for module in modules:
        routes.extend(getattr(module, "routes", []))
    first = nav[0][1] if nav else "/setup"

    async def home(request: Request) -> Response:
        return RedirectResponse(first, status_code=303)

    routes.insert(0, Route("/", home, methods=["GET"]))
    routes.append(Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"))
    app = Starlette(routes=routes,
                    middleware=[Middleware(SecurityMiddleware, settings=settings),
                                Middleware(UnexpectedErrors)],
                    exception_handlers={RefdeskError: _refdesk_error, 404: _not_found})
    app.state.settings = settings
    app.state.nav = nav
    app.state.cache = {}
    return app
