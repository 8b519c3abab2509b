"""The desk's Starlette application: pages found by module, guarded by the security middleware."""

from __future__ import annotations

import importlib
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

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
                    middleware=[Middleware(SecurityMiddleware, settings=settings)],
                    exception_handlers={RefdeskError: _refdesk_error, 404: _not_found})
    app.state.settings = settings
    app.state.nav = nav
    app.state.cache = {}
    return app
