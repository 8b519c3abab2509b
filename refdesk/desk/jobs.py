"""The desk's merges: one at a time, in a background thread, holding the workbook like a
command, with progress a page can poll and an outcome that ends with what was written back.

A run takes the workbook's lock in its own thread before it starts (the merge's own lock is
re-entrant there), so a command already writing the workbook refuses the run with the lock's
own message, and a command started while the desk makes letters is refused the same way.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from refdesk.config import Config
from refdesk.errors import RefdeskError
from refdesk.merge.report import _change_lines as change_lines  # what `merge` prints
from refdesk.merge.run import MergeResult, merge
from refdesk.merge.writeback import shown_path
from refdesk.sources import Source

#: Seconds a run waits for a command that holds the workbook before it is refused: a page
#: should answer at once, not after the commands' ten seconds.
LOCK_WAIT_S = 1.0
#: Finished runs kept for their pages to read.
KEEP_RUNS = 20

WAITING, RUNNING, DONE, FAILED, REFUSED = "waiting", "running", "done", "failed", "refused"


class DeskBusyError(RefdeskError):
    """The desk is making letters already; one run at a time."""

    exit_code = 1


@dataclass
class Run:
    """One merge the desk started: its progress, then its outcome or its error."""

    id: str
    job: str
    deliver: bool
    drafts: bool = False
    state: str = WAITING
    done: int = 0
    total: int = 0
    message: str = ""
    details: list[str] = field(default_factory=list)
    outcome: dict[str, Any] | None = None
    started: threading.Event = field(default_factory=threading.Event, repr=False)
    finished: threading.Event = field(default_factory=threading.Event, repr=False)

    def as_json(self) -> dict[str, Any]:
        """What the page polls: names no client (record ids, file names, cell addresses)."""
        return {"id": self.id, "job": self.job, "deliver": self.deliver, "state": self.state,
                "done": self.done, "total": self.total, "message": self.message,
                "details": self.details, "outcome": self.outcome}


def outcome(result: MergeResult, config: Config) -> dict[str, Any]:
    """A merge's result as the page shows it: documents made (and how they went), those
    skipped and why, and the cells and rows written back."""
    base = config.path.parent if config.path else Path.cwd()
    documents = [{"record": d.record.key, "provider": d.record.provider_id or "",
                  "file": shown_path(d.file, base), "route": d.route,
                  "status": d.outcome.status, "detail": d.outcome.detail,
                  "letter_id": d.letter_id} for d in result.documents]
    write = result.write
    cells = [{"cell": c.cell, "old": c.old or "", "new": c.new or ""}
             for c in getattr(write, "changes", None) or []]
    appended = {sheet: [first, last] for sheet, (first, last) in
                (getattr(write, "appended", None) or {}).items()}
    backup = getattr(write, "backup", None)
    return {
        "documents": documents,
        "skipped": [{"record": s.record.key, "reason": s.reason} for s in result.skipped],
        "already_done": result.already_done,
        "delivered": result.delivered,
        "failed": sum(d.outcome.status == "failed" for d in result.documents),
        "changes": change_lines(result),
        "written": bool(write is not None and getattr(write, "written", True)),
        "cells": cells,
        "appended": appended,
        "backup": backup.name if isinstance(backup, Path) else (str(backup) if backup else ""),
        "kept": list(result.kept),
        "pdfs": len(result.pdfs),
        "combined": shown_path(result.combined, base) if result.combined else "",
    }


Merge = Callable[..., MergeResult]


class Worker:
    """Runs the desk's merges one at a time, each in its own thread."""

    def __init__(self, merge_fn: Merge = merge) -> None:
        self._guard = threading.Lock()
        self._merge = merge_fn
        self.runs: dict[str, Run] = {}
        self.current: Run | None = None

    def get(self, run_id: str) -> Run | None:
        return self.runs.get(run_id)

    def busy(self) -> Run | None:
        """The run at work now, if any."""
        current = self.current
        return current if current is not None and not current.finished.is_set() else None

    def start(self, config: Config, source: Source, job: str, *, today: dt.date,
              deliver: bool = False, drafts: bool = False,
              after: Callable[[], None] | None = None) -> Run:
        """Start `merge job` (with --deliver, --drafts) and return once the run holds the
        workbook, or was refused: a run already at work raises DeskBusyError; a command
        holding the workbook gives a run in state `refused` with the lock's message. `after`
        is called when the run ends (the desk forgets its cached Book there)."""
        with self._guard:
            running = self.busy()
            if running is not None:
                raise DeskBusyError(f"the desk is making {running.job} already "
                                    f"({running.done} of {running.total or '?'} done); wait "
                                    "for it to finish, then start the next.")
            run = Run(secrets.token_hex(8), job, deliver, drafts)
            self.current = run
            self.runs[run.id] = run
            for old in list(self.runs)[:-KEEP_RUNS]:
                del self.runs[old]
        thread = threading.Thread(target=self._work, name=f"refdesk-desk-{job}", daemon=True,
                                  args=(run, config, source, today, after))
        thread.start()
        run.started.wait()  # until the thread holds the lock or was refused
        return run

    def _work(self, run: Run, config: Config, source: Source, today: dt.date,
              after: Callable[[], None] | None) -> None:
        def progress(done: int, total: int) -> None:
            run.done, run.total = done, total

        command = f"merge {run.job}" + (" --deliver" if run.deliver else "") + " (desk)"
        try:
            with source.locked(command, wait=LOCK_WAIT_S):
                run.state = RUNNING
                run.started.set()
                result = self._merge(config, run.job, source, today=today,
                                     deliver=run.deliver, drafts=run.drafts, progress=progress)
            run.outcome = outcome(result, config)
            run.done = run.total = len(result.documents)
            run.state = DONE
        except RefdeskError as exc:
            run.state = FAILED if run.started.is_set() else REFUSED
            run.message, run.details = exc.message, list(exc.details)
        except Exception as exc:  # noqa: BLE001 - a page must hear of it, not a log
            run.state = FAILED
            run.message = (f"the merge stopped on an unexpected error ({type(exc).__name__}); "
                           "run `refdesk merge` in a terminal to see it in full.")
        finally:
            run.started.set()
            run.finished.set()
            if after is not None:
                after()
