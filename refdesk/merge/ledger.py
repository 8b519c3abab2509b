"""What leaves the practice leaves once: the claim, the delivery journal and the resolution of
messages an interrupted run left in doubt.

With `--deliver`, the Letters rows of the messages to send are written to the workbook with
status `sending` before the first one leaves (the claim), and set to `emailed` or `failed` after
(the confirmation). Between the two, each message is written to a journal beside the documents
before it is handed to the mail server (`attempt`) and after the server answered (`emailed`,
`failed`), each line flushed to disk. A run that finds `sending` rows (the one before it stopped
between claim and confirmation) settles them from the journal:

- the journal says emailed or failed: the row gets that status (and the job's write-back);
- the journal has no attempt: the message never left; the row is marked failed, so the record
  is made and sent again;
- the journal has an attempt and no answer: nobody knows whether it left. It is never sent
  again on its own; the user says what happened with `--mark-sent ID` or `--retry ID`.

The journal holds letter ids, statuses and the mail server's answers: no client information.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from refdesk.errors import OutputError
from refdesk.fileio import BINARY, describe, os_fix

JOURNAL_NAME = ".refdesk-deliveries.jsonl"
SENDING = "sending"


class Journal:
    """An append-only file of delivery events, one JSON object a line, fsynced a line."""

    def __init__(self, folder: Path, source: str) -> None:
        self.path = folder / JOURNAL_NAME
        self.source = source

    def record(self, event: str, letter_ids: Iterable[str], detail: str = "") -> None:
        line = json.dumps({"time": dt.datetime.now().isoformat(timespec="seconds"),
                           "source": self.source, "event": event,
                           "letters": list(letter_ids), "detail": detail},
                          ensure_ascii=False) + "\n"
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | BINARY, 0o600)
            try:
                os.write(fd, line.encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise OutputError(f"{self.path}: the delivery journal cannot be written "
                              f"({describe(exc)}); {os_fix(exc)}") from None

    def events(self) -> dict[str, tuple[str, str]]:
        """The last event and its detail, by letter id, for this workbook."""
        found: dict[str, tuple[str, str]] = {}
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return found
        except OSError as exc:
            raise OutputError(f"{self.path}: the delivery journal cannot be read "
                              f"({describe(exc)}); {os_fix(exc)}") from None
        for line in text.splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a line cut short by a crash: its message was never handed over
            if not isinstance(entry, dict) or entry.get("source") != self.source:
                continue
            for letter in entry.get("letters") or []:
                found[str(letter)] = (str(entry.get("event")), str(entry.get("detail") or ""))
        return found


@dataclass
class Settled:
    """Letters rows left in `sending`, and what this run does about each."""

    #: letter id -> (new status, detail), written with this run.
    statuses: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: letter ids whose record gets the job's write-back (the message did leave).
    delivered: list[str] = field(default_factory=list)
    #: rows nobody can tell about: never sent again until the user says.
    in_doubt: list[dict[str, Any]] = field(default_factory=list)

    @property
    def lines(self) -> list[str]:
        return [f"{lid}: {status}" + (f" ({detail})" if detail else "")
                for lid, (status, detail) in self.statuses.items()]


def settle(letters: list[dict[str, Any]], job: str, journal: Journal,
           mark_sent: Iterable[str] = (), retry: Iterable[str] = ()) -> Settled:
    """Decide the status of this job's `sending` rows (see the module's docstring); the rows in
    `letters` are updated in memory so that the run's selection sees the new statuses.
    Raises ValueError naming ids given to --mark-sent or --retry that are not such rows."""
    pending = {str(r.get("letter_id")): r for r in letters
               if r.get("job") == job and r.get("status") == SENDING and r.get("letter_id")}
    asked_sent, asked_retry = set(mark_sent), set(retry)
    unknown = sorted((asked_sent | asked_retry) - set(pending))
    if unknown:
        waiting = ", ".join(sorted(pending)) or "none"
        raise ValueError(f"{', '.join(unknown)}: not a Letters row of job {job} left in "
                         f"status sending (rows waiting: {waiting})")
    both = sorted(asked_sent & asked_retry)
    if both:
        raise ValueError(f"{', '.join(both)}: given to both --mark-sent and --retry; choose one")
    events = journal.events() if pending else {}
    settled = Settled()
    for lid, row in pending.items():
        event, detail = events.get(lid, ("", ""))
        if lid in asked_sent:
            status, detail = "emailed", "marked sent by the user after an interrupted run"
        elif lid in asked_retry:
            status, detail = "failed", "not sent (the user chose to send it again)"
        elif event in ("emailed", "failed"):
            status = event
            detail = detail or "recorded from the delivery journal after an interrupted run"
        elif event == "attempt":
            settled.in_doubt.append(row)
            continue
        else:
            status, detail = "failed", "not sent: the run that made it stopped before sending it"
        settled.statuses[lid] = (status, detail)
        row["status"] = status
        if status == "emailed":
            settled.delivered.append(lid)
    return settled
