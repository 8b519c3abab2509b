"""The writing lease of a Google Sheet: one refdesk command writes it at a time, whoever runs it.

A Google Sheet offers no lock, so refdesk keeps one in the spreadsheet itself, in a hidden tab
only refdesk writes ("refdesk lease"). The tab is a log: each row is an event that Google adds
after the last row with values (`appendCells`), so everyone who reads the tab sees the same
order, whatever their clocks say.

    token | event (claim, renew, release) | user | machine | command | since | until

A writing command claims the lease by appending a claim row, and in the same request reads the
tab back (a `batchUpdate` with the spreadsheet in its answer). The holder is the first claim,
in row order, that is neither released nor past its `until`: whoever appended first. Anyone
else waits a few seconds, reading the tab again with a growing pause, then stops naming the
holder. A claim past its `until` (refdesk stopped there without releasing: a crash, a closed
laptop) is passed over, and the one taking over says so. A long command appends renew rows
at its requests once half the term has gone by. The release deletes the rows from the top of
the tab down to its own claim (every claim above a holder's is finished) and appends a
release row: one request, and the tab never grows without bound.

So the lease adds two requests to a writing command: the claim and the release (one more,
once, on the command that makes the tab). Reading commands take none.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import secrets
import socket
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from refdesk.errors import SourceError, WorkbookBusyError

TAB = "refdesk lease"
#: A fixed id, so the claim can name the tab without first asking for the sheet's tabs.
SHEET_ID = 1_618_033_988
RANGE = f"'{TAB}'!A:G"
HEADER = ["token", "event", "user", "machine", "command", "since", "until"]
#: How long a claim lasts unless renewed; a crashed command blocks others at most this long.
TERM = dt.timedelta(minutes=15)
#: A holder this close to its `until` no longer deletes rows at release: another machine whose
#: clock runs ahead may already have taken the lease over.
MARGIN = dt.timedelta(minutes=2)
#: The first pause between two reads of a waiting writer, and the longest.
FIRST_PAUSE, LONGEST_PAUSE = 0.25, 2.0

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def say(message: str) -> None:
    """Tell the person at the keyboard (stderr, so that --json output stays clean)."""
    print(message, file=sys.stderr, flush=True)


def this_user() -> str:
    with contextlib.suppress(Exception):  # no login name in some service environments
        return getpass.getuser()
    return "someone"


@dataclass(frozen=True)
class Settings:
    """How a lease is held; tests pass their own clock and sleep so that nothing waits."""

    term: dt.timedelta = TERM
    #: Seconds a second writer waits before it stops; None: what the command asks for.
    wait: float | None = None
    clock: Clock = utc_now
    sleep: Callable[[float], None] = time.sleep
    notify: Callable[[str], None] = say
    user: str | None = None
    machine: str | None = None


@dataclass
class Claim:
    """One claim of the lease, with what the later rows say of it."""

    token: str
    user: str
    machine: str
    command: str
    since: dt.datetime
    until: dt.datetime
    row: int
    released: bool = False

    @property
    def who(self) -> str:
        return f"{self.user}@{self.machine}"


def _when(text: str) -> dt.datetime | None:
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def claims(rows: list[list[Any]]) -> list[Claim]:
    """The claims in the tab's rows (row 1 is the header), in the order they were appended."""
    found: dict[str, Claim] = {}
    released: set[str] = set()
    for number, row in enumerate(rows[1:], start=2):
        cells = [("" if v is None else str(v)) for v in row] + [""] * len(HEADER)
        token, event, user, machine, command, since, until = cells[:len(HEADER)]
        start, end = _when(since), _when(until)
        if not token:
            continue
        if event == "release":
            released.add(token)
        elif event == "claim" and token not in found and start and end:
            found[token] = Claim(token, user, machine, command, start, end, number)
        elif event in ("claim", "renew") and token in found and end:
            # A renewal, or a claim sent again after its answer was lost: the later until.
            found[token].until = max(found[token].until, end)
    for token in released & found.keys():
        found[token].released = True
    return list(found.values())


def holder(found: list[Claim], now: dt.datetime) -> tuple[Claim | None, list[Claim]]:
    """The first live claim, and the claims before it that ran out without a release."""
    ran_out = []
    for claim in found:
        if claim.released:
            continue
        if now > claim.until:
            ran_out.append(claim)
            continue
        return claim, ran_out
    return None, ran_out


def clock_time(when: dt.datetime, now: dt.datetime) -> str:
    """A time as the reader's clock shows it: 10:02, or 2026-11-22 10:02 on another day."""
    local, today = when.astimezone(), now.astimezone()
    return local.strftime("%H:%M" if local.date() == today.date() else "%Y-%m-%d %H:%M")


def busy_message(claim: Claim, now: dt.datetime, waited: float) -> str:
    waited_text = f" (refdesk waited {waited:g} s)" if waited > 0 else ""
    return (f"{claim.command} is running on {claim.who} since {clock_time(claim.since, now)}"
            f"{waited_text}; try again when it finishes, or wait until "
            f"{clock_time(claim.until, now)} when its lease runs out. Nothing was written.")


def taken_over_message(claim: Claim, now: dt.datetime) -> str:
    return (f"{claim.command} on {claim.who} (since {clock_time(claim.since, now)}) never "
            f"released the sheet: its lease ran out at {clock_time(claim.until, now)} (it was "
            "stopped before it finished, or lost its connection). Taking the lease over; what "
            "it wrote stays as it is.")


class LeaseLost(WorkbookBusyError):
    """The holder's own lease ran out or was taken over before its command finished."""


@dataclass
class Lease:
    """One command's claim on a sheet; see the module's docstring."""

    source: Any  # a GoogleSource (kept loose: refdesk.sources.google.source imports this module)
    command: str
    wait: float
    settings: Settings = field(default_factory=Settings)
    token: str = field(default_factory=lambda: secrets.token_hex(8))
    held: bool = False
    #: The own claim's row as last read, and its until as last written.
    row: int | None = None
    until: dt.datetime | None = None
    renewed: dt.datetime | None = None
    #: The lease ran out or was taken over while the command held it.
    lost: bool = False
    #: Why it was lost, raised again at every later request.
    why: str = ""
    _inside: bool = False  # a lease request of its own is running: no renewal inside it

    # -- taking ------------------------------------------------------------------------------
    def take(self) -> None:
        """Claim the lease and wait for it, or raise WorkbookBusyError naming the holder."""
        s = self.settings
        wait = self.wait if s.wait is None else s.wait
        started = s.clock()
        rows = self._claim()
        pause, told, claimed = FIRST_PAUSE, False, 1
        while True:
            now = s.clock()
            found = claims(rows)
            first, ran_out = holder(found, now)
            mine = next((c for c in found if c.token == self.token), None)
            if mine is None and claimed < 3:
                # Our row went with an earlier holder's release (its lease had run out while
                # ours waited): claim again, at the end of the queue.
                rows = self._claim()
                claimed += 1
                continue
            if mine is not None and first is mine:
                for claim in ran_out:
                    s.notify(taken_over_message(claim, now))
                self.held, self.row = True, mine.row
                return
            waited = (now - started).total_seconds()
            if first is None or waited >= wait:
                self._give_up()
                if first is None:
                    raise WorkbookBusyError(f"{self.source}: refdesk could not take the sheet's "
                                            f"writing lease (tab '{TAB}'). Run the command "
                                            "again; nothing was written.")
                raise WorkbookBusyError(busy_message(first, now, round(waited, 1)))
            if not told:
                s.notify(f"{first.command} is running on {first.who} since "
                         f"{clock_time(first.since, now)}; waiting up to {wait:g} s for it "
                         "to finish ...")
                told = True
            s.sleep(min(pause, max(wait - waited, 0.0)))
            pause = min(pause * 2, LONGEST_PAUSE)
            rows = self._read()

    def _claim(self) -> list[list[Any]]:
        """Append a claim row and read the tab back, in one request (two when the tab has to
        be made first)."""
        now = self.settings.clock()
        self.until = now + self.settings.term
        self.renewed = now
        return self._append("claim", now, "the claim of the sheet's writing lease")

    def _row(self, event: str, now: dt.datetime) -> list[str]:
        s = self.settings
        assert self.until is not None
        return [self.token, event, s.user or this_user(), s.machine or socket.gethostname(),
                self.command, now.isoformat(), self.until.isoformat()]

    def _append(self, event: str, now: dt.datetime, what: str,
                before: list[dict[str, Any]] | None = None) -> list[list[Any]]:
        """One batchUpdate: the `before` requests, then the row appended; the tab's rows as
        the answer shows them. A missing tab is made (hidden, protected, headed) on the way."""
        from gspread.exceptions import APIError

        source = self.source
        api = source.api
        append = _append_cells(self._row(event, now))
        body = {"includeSpreadsheetInResponse": True, "responseRanges": [RANGE],
                "responseIncludeGridData": True}
        first_try = [True]

        def call() -> Any:
            extra = before if first_try[0] else []
            first_try[0] = False  # a retry keeps to the append (the rows may have moved)
            try:
                return api.http.batch_update(api.key, {
                    "requests": [*(extra or []), append], **body})
            except APIError as exc:
                if not _missing(exc):
                    raise
            try:
                return api.http.batch_update(api.key, {
                    "requests": [*_make_tab(), append], **body})
            except APIError as exc:
                if "already exists" not in str(exc):  # someone else made it just now
                    raise
            try:
                return api.http.batch_update(api.key, {"requests": [append], **body})
            except APIError as exc:
                if not _missing(exc):
                    raise
            # The tab is there by its id but not by its name: someone renamed it.
            raise SourceError(f"{source}: refdesk's hidden tab for its writing lease was "
                              f"renamed. Name it '{TAB}' again (View > Hidden sheets), then "
                              "run the command again; nothing was written.")

        self._inside = True
        try:
            answer = api.call(what, call)
        finally:
            self._inside = False
        return _grid_rows(answer.get("updatedSpreadsheet", {}))

    def _read(self) -> list[list[Any]]:
        api = self.source.api
        self._inside = True
        try:
            answer = api.call("the read of the sheet's writing lease", lambda:
                              api.http.values_get(api.key, RANGE))
        finally:
            self._inside = False
        return answer.get("values", [])

    def _give_up(self) -> None:
        """A waiter that stops withdraws its claim (appending is safe: no row is moved)."""
        with contextlib.suppress(SourceError):
            self._append("release", self.settings.clock(), "the withdrawal of a lease claim")

    # -- holding -----------------------------------------------------------------------------
    def tick(self) -> None:
        """At a request boundary: renew once half the term has gone by; stop the command if
        the lease ran out or another took it over, rather than write without it."""
        if self.lost and self.why and not self._inside:
            raise LeaseLost(self.why)  # found lost earlier (keep_alive): no request without it
        if not self.held or self._inside or self.until is None or self.renewed is None:
            return
        s = self.settings
        now = s.clock()
        if now < self.renewed + s.term / 2:
            return
        if now >= self.until:
            self.held, self.lost = False, True
            self.why = (f"{self.source}: this {self.command} paused longer than its lease "
                        f"({int(s.term.total_seconds() // 60)} minutes, until "
                        f"{clock_time(self.until, now)}), so another refdesk may be writing "
                        "the sheet now; it stopped here. Run it again.")
            raise LeaseLost(self.why)
        ended = self.until
        self.until, self.renewed = now + s.term, now
        rows = self._append("renew", now, "the renewal of the sheet's writing lease")
        found = claims(rows)
        first, _ = holder(found, now)
        # A claim made after this one's end (by its maker's clock) took the lease over, even
        # where this machine's clock lags behind and still counts this claim as live.
        later = [c for c in found if not c.released and c.since > ended and
                 c.token != self.token]
        if first is None or first.token != self.token or later:
            self.held = False
            self.lost = True
            first = later[0] if later else first
            other = f"{first.command} on {first.who}" if first else "another refdesk"
            self.why = (f"{self.source}: {other} took over the writing lease while this "
                        f"{self.command} ran; it stopped here. Run it again.")
            raise LeaseLost(self.why)
        self.row = next(c.row for c in claims(rows) if c.token == self.token)

    def release(self) -> None:
        """Delete the rows down to the own claim (all finished) and append a release row;
        close to the end of the term, or once the lease was lost, only the release row
        (another may hold the lease, and rows may have moved)."""
        if not (self.held or self.lost) or self.row is None or self.until is None:
            return
        self.held = False
        now = self.settings.clock()
        prune = [] if self.lost or now >= self.until - MARGIN else [{"deleteDimension": {
            "range": {"sheetId": SHEET_ID, "dimension": "ROWS", "startIndex": 1,
                      "endIndex": self.row}}}]
        try:
            self._append("release", now, "the release of the sheet's writing lease", prune)
        except SourceError:
            self.settings.notify(f"refdesk could not release the writing lease of {self.source}"
                                 f"; others can write it after {clock_time(self.until, now)}.")


def _append_cells(values: list[str]) -> dict[str, Any]:
    return {"appendCells": {"sheetId": SHEET_ID, "fields": "userEnteredValue", "rows": [
        {"values": [{"userEnteredValue": {"stringValue": v}} for v in values]}]}}


def _make_tab() -> list[dict[str, Any]]:
    """The lease's tab: hidden, its header, protected with a warning (refdesk keeps it)."""
    return [
        {"addSheet": {"properties": {"sheetId": SHEET_ID, "title": TAB, "hidden": True,
                                     "gridProperties": {"rowCount": 20,
                                                        "columnCount": len(HEADER)}}}},
        _append_cells(HEADER),
        {"addProtectedRange": {"protectedRange": {
            "range": {"sheetId": SHEET_ID}, "warningOnly": True,
            "description": "refdesk's writing lease: refdesk keeps this tab; leave it as it "
                           "is."}}},
    ]


def _missing(exc: Any) -> bool:
    text = str(exc)
    return (f"No grid with id: {SHEET_ID}" in text or "Unable to parse range" in text) and \
        getattr(getattr(exc, "response", None), "status_code", None) == 400


def _grid_rows(spreadsheet: dict[str, Any]) -> list[list[Any]]:
    """The lease tab's rows out of a spreadsheet resource with grid data."""
    for sheet in spreadsheet.get("sheets", []):
        if sheet.get("properties", {}).get("sheetId") != SHEET_ID:
            continue
        rows: list[list[Any]] = []
        for data in sheet.get("data", []):
            start = data.get("startRow", 0)
            for i, row in enumerate(data.get("rowData", [])):
                while len(rows) < start + i:
                    rows.append([])
                rows.append([cell.get("formattedValue", "") for cell in row.get("values", [])])
        return rows
    return []


@contextlib.contextmanager
def hold(source: Any, command: str, wait: float) -> Iterator[None]:
    """Hold the sheet's writing lease for the `with` block (re-entrant within one source):
    released at the end, on errors and on Ctrl-C too."""
    if getattr(source, "lease", None) is not None:
        yield
        return
    lease = Lease(source, command, wait, getattr(source, "lease_settings", None) or Settings())
    lease.take()
    source.lease = lease
    try:
        yield
    finally:
        source.lease = None
        lease.release()
