"""This week: `refdesk todo`'s actions as of the desk's day, grouped by kind.

The list is refdesk.todo's own, worked out as the command does; the page only groups it,
marks what is overdue and offers, where a merge job does the action, a preview of the letter.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from refdesk.check.formats import preload_icd
from refdesk.desk import context
from refdesk.desk.render import page
from refdesk.todo import KINDS, Action, todo

NAV = ("This week", "/week")


@dataclass
class Group:
    """The actions of one kind, in todo's order (by due day, then who)."""

    kind: str
    title: str
    actions: list[Action] = field(default_factory=list)
    overdue: int = 0


def group_actions(actions: list[Action], day: dt.date) -> list[Group]:
    """One group per kind that has actions, in the order todo lists the kinds."""
    groups = {kind: Group(kind, title) for kind, title in KINDS.items()}
    for action in actions:
        group = groups[action.kind]
        group.actions.append(action)
        group.overdue += action.due < day
    return [g for g in groups.values() if g.actions]


PREVIEW = "/letters/preview"


def preview_route(request: Request) -> str | None:
    """The Letters page's preview action when it is there (POST job and record); else None,
    and the button links to that job on the Letters page."""
    paths = {getattr(route, "path", None) for route in request.app.routes}
    return PREVIEW if PREVIEW in paths else None


def _warm_up_check(request: Request) -> None:
    """Start loading check's ICD-10-CM code set (two seconds) while the person reads the
    week, the desk's first page, so that Problems opens at once."""
    cache = request.app.state.cache
    if not cache.get("icd_preloaded"):
        cache["icd_preloaded"] = True
        preload_icd()


def week(request: Request) -> Response:
    loaded = context.load(request)
    _warm_up_check(request)
    day = context.today(request)
    # The desk's day is also its "today": a revocation dated after it was typed ahead.
    actions = todo(loaded.book, loaded.config, day, today=day)
    groups = group_actions(actions, day)
    return page(request, "week.html", title="This week", day=day, groups=groups,
                total=len(actions), overdue=sum(g.overdue for g in groups),
                with_job=sum(1 for a in actions if a.job),
                preview_route=preview_route(request),
                jobs=set(loaded.config.jobs) if loaded.config else set())


routes: list[BaseRoute] = [Route("/week", week, methods=["GET"])]
