"""Letters: each merge job with what a dry run would make and skip (and why), a picture of a
document, then "Make" and "Make and deliver" with live progress and the outcome.

Everything here is `refdesk merge`'s own work: the dry run is merge(dry_run=True) on the
desk's cached Book, the picture is refdesk.preview's, and a run is merge() in the desk's
worker (refdesk.desk.jobs), holding the workbook like the command. Addresses carry job names,
run ids and picture ids (digests), never a client's name.
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from refdesk.book import Book
from refdesk.config import Config
from refdesk.desk import context
from refdesk.desk.jobs import DeskBusyError, Run, Worker, change_lines
from refdesk.desk.render import error_page, page
from refdesk.errors import RefdeskError
from refdesk.merge.deliver import check_email_setup
from refdesk.merge.jobs import Job, load_jobs
from refdesk.merge.run import MergeResult, merge
from refdesk.merge.writeback import shown_path
from refdesk.preview import Preview, PreviewError, preview_png
from refdesk.sources import Source
from refdesk.xlsxpatch import AppendRows

NAV = ("Letters", "/letters")
#: Rows of a job's list shown before the rest fold away.
SHOWN = 8
#: "One document per ..." for each kind of job (config.toml's `each`).
EACH = {"providers": "provider", "referrals": "referral", "clients": "client",
        "client-months": "client and month", "sent": "client sent to a provider",
        "visits": "visit"}
_SETUP = threading.Lock()


class _Cached:
    """The source, but read() is the desk's cached Book: a dry run reads nothing again (it
    neither locks nor writes, so nothing else is needed)."""

    reads_lazily = False  # the Book is read already

    def __init__(self, source: Source, book: Book) -> None:
        self._source, self._book = source, book
        self.path = source.path

    def read(self) -> Book:
        return self._book

    def __str__(self) -> str:
        return str(self._source)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._source, name)


@dataclass
class JobView:
    """A job as the page shows it: its dry run, or why it cannot run."""

    job: Job
    result: MergeResult | None = None
    error: list[str] = field(default_factory=list)
    rows: list[dict[str, str]] = field(default_factory=list)
    routes: dict[str, int] = field(default_factory=dict)
    changes: list[str] = field(default_factory=list)
    #: The job's folder, said once above the files' names.
    folder: str = ""
    #: Whether a Provider column tells anything: not when each record is its provider.
    providers: bool = False

    @property
    def each(self) -> str:
        return EACH.get(self.job.each, self.job.each)

    @property
    def count(self) -> int:
        return len(self.rows)

    def confirm(self) -> str:
        """The question "Make and deliver" asks first."""
        how = ", ".join(f"{n} by {way}" for way, n in sorted(self.routes.items()))
        return (f"Make and deliver {self.count} document(s) of {self.job.name} now ({how})? "
                "Emails are sent unless written as drafts; this cannot be undone.")


def _state(request: Request, name: str, make: Any) -> Any:
    state = request.app.state
    with _SETUP:
        if not hasattr(state, name):
            setattr(state, name, make())
        return getattr(state, name)


def worker_of(request: Request) -> Worker:
    """The desk's one merge worker."""
    return _state(request, "letters_worker", Worker)  # type: ignore[no-any-return]


def _previews(request: Request) -> dict[str, Preview]:
    return _state(request, "letters_previews", dict)  # type: ignore[no-any-return]


def dry_runs(config: Config, source: Source, book: Book, today: Any) -> list[JobView]:
    """Every job's dry run on `book`, as `refdesk merge JOB --dry-run` reports it."""
    base = config.path.parent if config.path else None
    views = []
    for job in load_jobs(config).values():
        view = JobView(job)
        try:
            cached: Any = _Cached(source, book)
            result = merge(config, job.name, cached, today=today, dry_run=True)
        except RefdeskError as exc:
            view.error = exc.lines()
            views.append(view)
            continue
        view.result = result
        for doc in result.documents:
            view.rows.append({"record": doc.record.key, "provider": doc.record.provider_id or "",
                              "route": doc.route, "file": doc.file.name if doc.file else ""})
        first = result.documents[0].file if result.documents else None
        if first is not None:
            view.folder = shown_path(first.parent, base) if base else str(first.parent)
        view.providers = any(r["provider"] not in ("", r["record"]) for r in view.rows)
        view.routes = dict(Counter(doc.route for doc in result.documents))
        # An empty Letters append is no change to speak of.
        view.changes = change_lines(replace(result, changes=[
            c for c in result.changes if not (isinstance(c, AppendRows) and not c.rows)]))
        views.append(view)
    return views


def _stamp(config: Config) -> tuple[tuple[str, int], ...]:
    """config.toml and the templates as they are on disk: a change makes the dry runs anew."""
    files = [config.path] if config.path else []
    with contextlib.suppress(OSError):  # no templates folder: each job says so itself
        files += sorted(config.templates.iterdir())
    found = []
    for path in files:
        try:
            found.append((str(path), path.stat().st_mtime_ns))
        except OSError:
            continue
    return tuple(found)


def _dry_runs_once(request: Request, config: Config, source: Source, book: Book,
                   today: Any) -> list[JobView]:
    """The dry runs, made again only when the Book (re-read after any change to the
    workbook), the day, config.toml or a template changed."""
    cache = _state(request, "letters_dry_runs", dict)
    key = (today, _stamp(config))
    if cache.get("book") is book and cache.get("key") == key:
        return cache["views"]  # type: ignore[no-any-return]
    views = dry_runs(config, source, book, today)
    cache.update(book=book, key=key, views=views)
    return views


async def letters(request: Request) -> Response:
    try:
        loaded = context.load(request)
    except RefdeskError as exc:
        return error_page(request, exc.lines())
    if loaded.config is None:
        return error_page(request, ["Letters need config.toml: its [practice] and [jobs]. "
                                    "Start the desk with --config, or from the practice folder."])
    day = context.today(request)
    views = await run_in_threadpool(_dry_runs_once, request, loaded.config, loaded.source,
                                    loaded.book, day)
    try:  # the check `merge --deliver` makes before it sends email
        check_email_setup(loaded.config)
        email_problem = ""
    except RefdeskError as exc:
        email_problem = exc.message
    # ?job=NAME (from This week, or a job's own link): that job alone, the others a link away.
    chosen = request.query_params.get("job", "")
    shown = [v for v in views if v.job.name == chosen] or views
    return page(request, "letters.html", title="Letters", views=shown, jobs=views, day=day,
                shown=SHOWN, only=len(shown) == 1 and len(views) > 1,
                running=worker_of(request).busy(), email_problem=email_problem)


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


async def preview(request: Request) -> Response:
    """POST job (and record): the picture of that document. A form is sent on to the picture's
    page; a script gets JSON with the picture's address."""
    form = await request.form()
    job = str(form.get("job") or "")
    record = str(form.get("record") or "") or None
    try:
        loaded = context.load(request)
        if loaded.config is None:
            raise PreviewError("Letters need config.toml: its [practice] and [jobs].")
        made = await run_in_threadpool(preview_png, loaded.config, loaded.book, job, record,
                                       today=context.today(request))
    except RefdeskError as exc:
        if _wants_json(request):
            return JSONResponse({"ok": False, "message": exc.message, "details": exc.details})
        return _problem(request, exc.lines(), "No picture of this letter", job)
    _previews(request)[made.id] = made
    where = f"/letters/preview/{made.id}"
    if _wants_json(request):
        return JSONResponse({"ok": True, "job": made.job, "record": made.record,
                             "image": f"{where}.png", "page": where})
    return RedirectResponse(where, status_code=303)


def _known(request: Request) -> Preview | None:
    made = _previews(request).get(request.path_params["pid"])
    return made if made is not None and made.path.is_file() else None


async def preview_page(request: Request) -> Response:
    made = _known(request)
    if made is None:
        return error_page(request, ["That picture is no longer here: make it again from the "
                                    "Letters page."], title="No picture", status_code=404)
    return page(request, "letters_preview.html", title=f"Preview: {made.job} {made.record}",
                made=made)


async def preview_image(request: Request) -> Response:
    made = _known(request)
    if made is None:
        return Response("No such picture.", status_code=404, media_type="text/plain")
    # A letter about a client: never kept by the browser's cache.
    return FileResponse(made.path, media_type="image/png",
                        headers={"Cache-Control": "no-store, private"})


async def make(request: Request) -> Response:
    """POST job, deliver, drafts: start the merge in the desk's worker."""
    form = await request.form()
    job = str(form.get("job") or "")
    deliver = str(form.get("deliver") or "") in ("1", "on", "true", "yes")
    drafts = deliver and str(form.get("drafts") or "") in ("1", "on", "true", "yes")
    settings = context.settings_of(request)
    try:
        config, source = context.resolve_source(settings)
        if config is None:
            raise RefdeskError("Letters need config.toml: its [practice] and [jobs].")
        if job not in load_jobs(config):
            raise RefdeskError(f"no job named {job!r} in {config.path}.")
        run = await run_in_threadpool(
            worker_of(request).start, config, source, job, today=context.today(request),
            deliver=deliver, drafts=drafts, after=lambda: context.forget(request))
    except DeskBusyError as exc:
        return _refused(request, exc.lines(), 409, job)
    except RefdeskError as exc:
        return _refused(request, exc.lines(), 400, job)
    if run.state == "refused":
        return _refused(request, [run.message, *run.details], 409, job)
    where = f"/letters/run/{run.id}"
    if _wants_json(request):
        return JSONResponse({"ok": True, "run": run.as_json(), "url": where})
    return RedirectResponse(where, status_code=303)


def _refused(request: Request, lines: list[str], status: int, job: str) -> Response:
    if _wants_json(request):
        return JSONResponse({"ok": False, "message": lines[0], "details": lines[1:]},
                            status_code=status)
    return _problem(request, lines, "The letters were not made", job, status)


def _problem(request: Request, lines: list[str], title: str, job: str,
             status: int = 200) -> Response:
    """A refusal as a page, leading back to the job (an action's own address is a POST)."""
    return page(request, "letters_problem.html", status_code=status, title=title, lines=lines,
                job=job)


async def run_status(request: Request) -> Response:
    """A run's progress and outcome: JSON for the page's script, a page for a browser."""
    run: Run | None = worker_of(request).get(request.path_params["run_id"])
    html = "text/html" in request.headers.get("accept", "")
    if run is None:
        if html:
            return error_page(request, ["That run is no longer known to the desk (it was "
                                        "restarted): see the Ledger for what was made."],
                              title="No such run", status_code=404)
        return JSONResponse({"message": "no such run"}, status_code=404)
    if html:
        return page(request, "letters_run.html", title=f"Letters: {run.job}", run=run)
    return JSONResponse(run.as_json(), headers={"Cache-Control": "no-store"})


routes: list[BaseRoute] = [
    Route("/letters", letters, methods=["GET"]),
    Route("/letters/preview", preview, methods=["POST"]),
    Route("/letters/preview/{pid:str}.png", preview_image, methods=["GET"]),
    Route("/letters/preview/{pid:str}", preview_page, methods=["GET"]),
    Route("/letters/make", make, methods=["POST"]),
    Route("/letters/run/{run_id:str}", run_status, methods=["GET"]),
]
