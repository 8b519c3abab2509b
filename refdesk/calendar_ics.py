"""`refdesk todo --ics FILE`: the week's actions as an iCalendar file (RFC 5545) that any
calendar program imports: one all-day event per action on its due day.

Each event's UID comes from the action's kind and record ids (`Action.key`), never from the
run, so importing the file again updates the events it made before instead of adding copies.

Calendars sync to other companies' servers, so the file says less about clients than the
terminal list: a client is named by their id (C014), a referral by its id, and a client's
phone number stays in the workbook. Providers keep their names: they are the practice's
business contacts. Nothing from a health column (diagnosis, notes, conditions) is ever in an
action.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from pathlib import Path

from icalendar import Alarm, Calendar, Event

from refdesk.errors import OutputError
from refdesk.fileio import write_file
from refdesk.todo import CLIENT_KINDS, KINDS, Action

PRODID = "-//refdesk//todo//EN"
#: The namespace of the events' UIDs: one fixed value, so a UID depends on the action alone.
_NAMESPACE = uuid.UUID("6f1c2a57-3a0e-5b8e-9a55-5e0c1e7d2b41")


def event_uid(action: Action, practice: str = "") -> str:
    """The same UID for the same action on every run: from the practice's name, the action's
    kind and its record ids."""
    name = "\x1f".join((practice, *action.key))
    return f"{uuid.uuid5(_NAMESPACE, name)}@refdesk"


def shown(action: Action) -> tuple[str, str, str]:
    """Who, why and the next step as the calendar shows them: for a client's action, ids in
    place of the client's name and phone number."""
    who, next_step = action.who, action.next_step
    if action.kind == "unscheduled":
        who = f"referral {action.record}"
        next_step = "call the client to schedule (the number is in the workbook)"
    elif action.kind in CLIENT_KINDS:
        who = f"client {action.record}"
    if action.job:
        next_step += f" (refdesk merge {action.job})"
    return who, action.detail, next_step


def calendar(actions: Sequence[Action], *, practice: str = "", on: dt.date | None = None,
             stamp: dt.datetime | None = None, alarm: dt.time | None = None) -> Calendar:
    """The actions as a calendar. `stamp` is the DTSTAMP (default now, in UTC); `alarm` adds
    a reminder at that time of the due day."""
    stamp = stamp or dt.datetime.now(dt.UTC)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    title = f"{practice}: to do" if practice else "refdesk: to do"
    cal.add("x-wr-calname", title)
    if on is not None:
        cal.add("x-wr-caldesc", f"refdesk todo on {on.isoformat()}")
    for action in actions:
        who, why, next_step = shown(action)
        event = Event()
        event.add("uid", event_uid(action, practice))
        event.add("dtstamp", stamp)
        event.add("dtstart", action.due)
        if action.due < dt.date.max:
            event.add("dtend", action.due + dt.timedelta(days=1))
        event.add("summary", f"{KINDS[action.kind]}: {who}")
        event.add("description", f"Why: {why}\nNext step: {next_step}")
        event.add("categories", [KINDS[action.kind]])
        event.add("transp", "TRANSPARENT")  # a reminder, not time taken: free/busy stays free
        if alarm is not None:
            reminder = Alarm()
            reminder.add("action", "DISPLAY")
            reminder.add("description", f"{KINDS[action.kind]}: {who}")
            # From the start of the all-day event, midnight: the alarm's time of day.
            reminder.add("trigger", dt.timedelta(hours=alarm.hour, minutes=alarm.minute),
                         parameters={"RELATED": "START"})
            event.add_component(reminder)
        cal.add_component(event)
    return cal


def _is_calendar(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            start = f.read(64)
    except OSError:
        return False
    return start.lstrip(b"\xef\xbb\xbf \t\r\n").upper().startswith(b"BEGIN:VCALENDAR")


def write_ics(path: Path, actions: Sequence[Action], *, practice: str = "",
              on: dt.date | None = None, stamp: dt.datetime | None = None,
              alarm: dt.time | None = None) -> Path:
    """Write the calendar to `path` in one step (refdesk.fileio.write_file). A file there is
    replaced only when it is a calendar itself (last week's): never a workbook or a letter."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path}: is a folder. Give a file name, e.g. {path / 'todo.ics'}.")
    if path.exists() and not _is_calendar(path):
        raise OutputError(f"{path}: exists and is not a calendar file; refdesk replaces only "
                          "an earlier calendar. Name another file, e.g. todo.ics.")
    content = calendar(actions, practice=practice, on=on, stamp=stamp, alarm=alarm).to_ical()
    return write_file(path, content, private=True)
