"""`refdesk todo --ics FILE`: the actions as a calendar, read back with icalendar."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re

from icalendar import Calendar

from refdesk.calendar_ics import calendar, event_uid
from refdesk.config import load_config
from refdesk.schema import SHEETS
from refdesk.sources.excel import ExcelSource
from refdesk.todo import Action, todo
from tests.conftest import ROOT, run

CONFIG = ROOT / "config.toml"
ON = "2026-11-23"


def _read(path):
    return Calendar.from_ical(path.read_bytes())


def _events(cal):
    return [c for c in cal.walk("VEVENT")]


def test_the_sample_as_a_calendar_twice(tmp_path):
    """One all-day event per action on its due day; the UIDs the same on a second run."""
    first, second = tmp_path / "a.ics", tmp_path / "b.ics"
    for path in (first, second):
        done = run("-q", "todo", "-c", CONFIG, "--on", ON, "--ics", path)
        assert done.exit_code == 0, done.stderr
        assert done.stdout == ""  # the file is the output
    listed = json.loads(run("-q", "todo", "-c", CONFIG, "--on", ON, "--json").stdout)
    cal = _read(first)
    assert str(cal["VERSION"]) == "2.0"
    assert str(cal["PRODID"]) == "-//refdesk//todo//EN"
    events = _events(cal)
    assert len(events) == len(listed) > 20
    for event in events:
        assert isinstance(event.decoded("DTSTAMP"), dt.datetime)
        assert event.decoded("DTSTAMP").tzinfo is not None  # UTC, as RFC 5545 wants
        start = event.decoded("DTSTART")
        assert type(start) is dt.date  # all-day, not a time
        assert event.decoded("DTEND") == start + dt.timedelta(days=1)
        assert "VALARM" not in [c.name for c in event.subcomponents]
    assert sorted(e.decoded("DTSTART").isoformat() for e in events) == \
        sorted(r["due"] for r in listed)
    uids = [str(e["UID"]) for e in events]
    assert len(set(uids)) == len(uids)
    assert uids == [str(e["UID"]) for e in _events(_read(second))]
    summaries = {str(e["SUMMARY"]) for e in events}
    assert any(s.startswith("Thank-you owed: ") for s in summaries)
    description = str(events[0]["DESCRIPTION"])
    assert description.startswith("Why: ") and "\nNext step: " in description


def test_no_client_name_phone_or_health_information(tmp_path):
    """Calendars sync to other companies' servers: a client is an id there, and nothing from
    a health column is in the file."""
    path = tmp_path / "todo.ics"
    assert run("-q", "todo", "-c", CONFIG, "--on", ON, "--ics", path).exit_code == 0
    cal = _read(path)
    text = "\n".join(str(e[k]) for e in _events(cal) for k in ("SUMMARY", "DESCRIPTION"))
    book = ExcelSource(load_config(CONFIG).excel).read()
    clients = book["Clients"].df
    names = {f"{f} {last}" for f, last in zip(clients["first_name"], clients["last_name"],
                                              strict=True)}
    phones = set(clients["phone"].dropna()) | set(clients["email"].dropna())
    assert names and phones
    # whole values: a planted short phone, (971) 555-017, begins a provider's number
    assert not [n for n in names | phones if re.search(rf"{re.escape(n)}(?!\d)", text)]
    health = set()
    for sheet in SHEETS:
        for column in sheet.columns:
            if column.health and column.name in book[sheet.name].df:
                health |= {str(v) for v in book[sheet.name].df[column.name].dropna()
                           if len(str(v)) > 3}
    assert health
    assert not [v for v in health if v in text]
    client_events = [str(e["SUMMARY"]) for e in _events(cal)
                     if str(e["SUMMARY"]).split(":")[0] in
                     {"Not yet scheduled", "Release expiring", "Release date in doubt"}]
    assert client_events
    assert all(s.split(": ", 1)[1].split()[0] in ("client", "referral") for s in client_events)


def test_uid_comes_from_the_kind_and_the_record_ids():
    one = Action("release-expiring", dt.date(2026, 12, 10), "Al Lee (C1)", "", "", "", "C1",
                 ("C1", "P1"))
    moved = dataclasses.replace(one, due=dt.date(2026, 12, 20), detail="other words")
    other = dataclasses.replace(one, ids=("C1", "P2"))
    assert event_uid(one) == event_uid(moved)  # re-imported, the event moves
    assert event_uid(one) != event_uid(other)
    assert event_uid(one) != event_uid(dataclasses.replace(one, kind="release-in-doubt"))
    assert event_uid(one, "Cedar Lane") != event_uid(one, "Oak Street")


def test_alarm_and_an_empty_calendar(tmp_path):
    path = tmp_path / "todo.ics"
    done = run("-q", "todo", "-c", CONFIG, "--on", ON, "--ics", path, "--alarm", "09:30")
    assert done.exit_code == 0, done.stderr
    event = _events(_read(path))[0]
    alarms = [c for c in event.subcomponents if c.name == "VALARM"]
    assert len(alarms) == 1 and str(alarms[0]["ACTION"]) == "DISPLAY"
    assert alarms[0].decoded("TRIGGER") == dt.timedelta(hours=9, minutes=30)
    assert alarms[0]["TRIGGER"].params["RELATED"] == "START"

    empty = Calendar.from_ical(calendar([], stamp=dt.datetime(2026, 11, 23, tzinfo=dt.UTC))
                               .to_ical())
    assert str(empty["VERSION"]) == "2.0" and _events(empty) == []

    alone = run("-q", "todo", "-c", CONFIG, "--on", ON, "--alarm", "09:30")
    assert alone.exit_code == 2 and "--alarm goes with --ics" in alone.stderr


def test_replaces_only_an_earlier_calendar(tmp_path):
    path = tmp_path / "todo.ics"
    assert run("-q", "todo", "-c", CONFIG, "--on", ON, "--ics", path).exit_code == 0
    assert run("-q", "todo", "-c", CONFIG, "--on", "2026-11-30", "--ics", path).exit_code == 0
    assert _events(_read(path))
    letter = tmp_path / "letter.docx"
    letter.write_bytes(b"PK\x03\x04 not a calendar")
    done = run("-q", "todo", "-c", CONFIG, "--on", ON, "--ics", letter)
    assert done.exit_code != 0
    assert "is not a calendar file" in done.stderr and "Traceback" not in done.stderr
    assert letter.read_bytes() == b"PK\x03\x04 not a calendar"


def test_events_follow_the_actions_of_the_library():
    on = dt.date(2026, 11, 23)
    config = load_config(CONFIG)
    actions = todo(ExcelSource(config.excel).read(), config, on, today=on)
    cal = calendar(actions, practice=config.practice.name, on=on,
                   stamp=dt.datetime(2026, 11, 23, 8, tzinfo=dt.UTC))
    events = _events(cal)
    assert [e.decoded("DTSTART") for e in events] == [a.due for a in actions]
    assert [str(e["UID"]) for e in events] == [event_uid(a, config.practice.name)
                                               for a in actions]
    assert "20261123T080000Z" in cal.to_ical().decode()
