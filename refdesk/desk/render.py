"""Pages as HTML: Jinja2 templates that extend base.html, with the frame's context added."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from refdesk.desk.context import config_of, today
from refdesk.desk.security import csrf_token

TEMPLATES = Path(__file__).parent / "templates"
ENV = Environment(loader=FileSystemLoader(TEMPLATES),
                  autoescape=select_autoescape(default=True, default_for_string=True),
                  trim_blocks=True, lstrip_blocks=True)


def frame(request: Request) -> dict[str, Any]:
    """What base.html needs: the nav, the practice's name, the CSRF token, the current path."""
    config = config_of(request)
    return {"request": request, "nav": request.app.state.nav,
            "practice": config.practice.name if config else "refdesk",
            "csrf_token": csrf_token(request), "path": request.url.path,
            "today": today(request)}


def page(request: Request, template: str, *, status_code: int = 200,
         **context: Any) -> HTMLResponse:
    """Render `template` (which extends base.html) with the frame's context and `context`."""
    values = frame(request)
    values.update(context)
    return HTMLResponse(ENV.get_template(template).render(values), status_code=status_code)


def error_page(request: Request, lines: list[str], *, title: str = "Something needs fixing",
               status_code: int = 200) -> HTMLResponse:
    """A RefdeskError's message as a page: the place and the fix, never a traceback."""
    return page(request, "error.html", status_code=status_code, title=title, lines=lines)
