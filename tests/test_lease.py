"""The writing lease of a Google Sheet (refdesk.sources.google.lease), against the loopback
Sheets server.

Every test gives the lease a clock of its own, and a sleep that moves that clock on: nothing
waits on real time."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import requests

from refdesk.errors import SourceError, WorkbookBusyError
from refdesk.sources.google import GoogleSource, Retry
from refdesk.sources.google import lease as leasing
from refdesk.sources.google.lease import TAB, Lease, LeaseLost, Settings
from tests import sheets_server as fake
from tests.conftest import ROOT, run

FAST = Retry(max_wait=30.0, base=0.01, cap=0.05, timeout=30.0)
START = dt.datetime(2026, 11, 23, 10, 2, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    """Times in messages read as the machine's clock shows them: make that UTC here."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def server():
    with fake.SheetsServer() as running:
        yield running


class Clock:
    """A clock that moves only when told, or when the lease sleeps."""

    def __init__(self, now: dt.datetime = START) -> None:
        self.now = now
        self.slept: list[float] = []
        self.on_sleep = None

    def __call__(self) -> dt.datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += dt.timedelta(seconds=seconds)
        if self.on_sleep:
            self.on_sleep()

    def advance(self, **kw: float) -> None:
        self.now += dt.timedelta(**kw)


def sheet(server) -> str:
    return server.create_spreadsheet("Practice", {"Sheet1": [["x"]]}).id


def person(server, key, clock, name="maya", machine="MAYA-LAPTOP", retry=FAST,
           told=None) -> GoogleSource:
    source = GoogleSource(key, client=server.client(), retry=retry)
    source.lease_settings = Settings(clock=clock, sleep=clock.sleep, user=name,
                                     machine=machine,
                                     notify=(told.append if told is not None else
                                             lambda m: None))
    return source


def rows(server, key):
    return server.state(key).tab(TAB).values()


def live(server, key, now):
    return [c for c in leasing.claims(rows(server, key))
            if not c.released and now <= c.until]


def test_the_first_writer_makes_the_tab_takes_and_releases(server):
    key = sheet(server)
    clock = Clock()
    maya = person(server, key, clock)
    server.clear_log()
    with maya.locked("merge thank-you"):
        assert maya.lease.held
        tab = server.state(key).tab(TAB)
        assert tab.hidden
        assert tab.protected_ranges[0]["warningOnly"]
        table = rows(server, key)
        assert table[0] == leasing.HEADER
        assert table[1][1:5] == ["claim", "maya", "MAYA-LAPTOP", "merge thank-you"]
        assert table[1][5:] == [START.isoformat(), (START + leasing.TERM).isoformat()]
        # The claim is one request; making the tab, once, one more.
        assert server.count() == 2
    assert maya.lease is None
    assert server.count() == 3
    assert live(server, key, clock()) == []
    assert [r[1] for r in rows(server, key)[1:]] == ["release"]  # its claim row is gone


def test_a_sheet_with_the_tab_costs_two_requests(server):
    key = sheet(server)
    clock = Clock()
    with person(server, key, clock).locked("import"):
        pass
    server.clear_log()
    with person(server, key, clock).locked("import"):
        pass
    assert [r.endpoint for r in server.requests()] == ["spreadsheets.batchUpdate"] * 2


def test_a_second_writer_waits_then_stops_naming_the_first(server):
    key = sheet(server)
    clock = Clock()
    told: list[str] = []
    maya = person(server, key, clock)
    front = person(server, key, clock, "sam", "FRONT-DESK", told=told)
    with maya.locked("merge thank-you"):
        with pytest.raises(WorkbookBusyError) as refused, front.locked("import", wait=10.0):
            pytest.fail("the second writer must not get the lease")
        assert refused.value.exit_code == 1
        assert refused.value.message == (
            "merge thank-you is running on maya@MAYA-LAPTOP since 10:02 (refdesk waited 10 s); "
            "try again when it finishes, or wait until 10:17 when its lease runs out. Nothing "
            "was written.")
        assert told == ["merge thank-you is running on maya@MAYA-LAPTOP since 10:02; waiting "
                        "up to 10 s for it to finish ..."]
        assert sum(clock.slept) == pytest.approx(10.0)
        assert clock.slept[:3] == [0.25, 0.5, 1.0]  # polling with a growing pause
        # The refused claim is withdrawn: only Maya's stands.
        assert [c.who for c in live(server, key, clock())] == ["maya@MAYA-LAPTOP"]
    with front.locked("import"):  # and once Maya is done, Sam gets it at once
        assert front.lease.held


def test_a_waiting_writer_gets_the_lease_when_the_first_lets_go(server):
    key = sheet(server)
    clock = Clock()
    told: list[str] = []
    maya = person(server, key, clock)
    held = maya.locked("merge thank-you")
    held.__enter__()
    clock.on_sleep = lambda: (held.__exit__(None, None, None), setattr(clock, "on_sleep", None))
    front = person(server, key, clock, "sam", "FRONT-DESK", told=told)
    with front.locked("merge thank-you"):
        assert front.lease.held
        assert [c.who for c in live(server, key, clock())] == ["sam@FRONT-DESK"]
    assert len(told) == 1 and "waiting up to 10 s" in told[0]
    assert clock.slept == [0.25]


def test_a_lease_past_its_end_is_taken_over_with_a_message(server):
    key = sheet(server)
    clock = Clock()
    crashed = Lease(person(server, key, clock), "merge thank-you", 10.0,
                    person(server, key, clock).lease_settings)
    crashed.take()  # and never released: the laptop was closed
    clock.advance(minutes=16)
    told: list[str] = []
    front = person(server, key, clock, "sam", "FRONT-DESK", told=told)
    with front.locked("merge thank-you"):
        assert front.lease.held
        assert clock.slept == []  # no wait
    assert told == ["merge thank-you on maya@MAYA-LAPTOP (since 10:02) never released the "
                    "sheet: its lease ran out at 10:17 (it was stopped before it finished, or "
                    "lost its connection). Taking the lease over; what it wrote stays as it is."]
    # Sam's release took the dead claim's row away too.
    assert all(r[1] != "claim" for r in rows(server, key)[1:])


def test_a_long_command_renews_and_keeps_the_lease(server):
    key = sheet(server)
    clock = Clock()
    maya = person(server, key, clock)
    with maya.locked("merge progress-report"):
        maya.metadata()
        assert [r[1] for r in rows(server, key)[1:]] == ["claim"]  # not due yet
        clock.advance(minutes=8)  # past half the term: the next request renews first
        maya.metadata()
        assert [r[1] for r in rows(server, key)[1:]] == ["claim", "renew"]
        clock.advance(minutes=9)  # 10:19: past the first until, within the renewed one
        sam = person(server, key, clock, "sam", "FRONT-DESK")
        with pytest.raises(WorkbookBusyError, match="since 10:02"), sam.locked("import", wait=0):
            pass
        maya.metadata()
    assert live(server, key, clock()) == []


def test_a_holder_that_paused_past_its_lease_stops_before_writing(server):
    key = sheet(server)
    clock = Clock()
    maya = person(server, key, clock)
    with pytest.raises(LeaseLost, match="paused longer than its lease"), \
            maya.locked("merge thank-you"):
        clock.advance(minutes=20)
        maya.metadata()


def test_a_lease_taken_over_meanwhile_stops_the_old_holder(server):
    key = sheet(server)
    clock = Clock()
    maya = person(server, key, clock)
    sam = person(server, key, clock, "sam", "FRONT-DESK")
    with pytest.raises(LeaseLost, match="import on sam@FRONT-DESK took over"), \
            maya.locked("merge thank-you"):
        clock.advance(minutes=16)
        Lease(sam, "import", 0, sam.lease_settings).take()
        clock.now = maya.lease.until - dt.timedelta(minutes=1)  # Maya's clock lags
        maya.metadata()
    # Maya's claim is withdrawn (her rows are left alone: Sam holds the lease).
    assert [c.who for c in live(server, key, clock.now + dt.timedelta(minutes=10))] == \
        ["sam@FRONT-DESK"]


@pytest.mark.parametrize("stop", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_the_lease_is_released_on_errors_and_ctrl_c(server, stop):
    key = sheet(server)
    clock = Clock()
    maya = person(server, key, clock)
    with pytest.raises(type(stop)), maya.locked("merge thank-you"):
        raise stop
    assert live(server, key, clock()) == []
    with person(server, key, clock, "sam", "FRONT-DESK").locked("import", wait=0):
        pass


def test_a_claim_whose_answer_was_lost_counts_once(server):
    """The claim lands but its answer never comes: the retry appends the same token again;
    the lease is held once and released whole."""
    key = sheet(server)
    clock = Clock()
    with person(server, key, clock).locked("import"):
        pass
    maya = person(server, key, clock)
    http = maya.api.http
    landed = http.batch_update
    lost = [1]

    def answer_lost(*args, **kwargs):
        answer = landed(*args, **kwargs)
        if lost:  # the first claim lands; its answer is lost on the way back
            lost.pop()
            raise requests.exceptions.ConnectionError("connection reset")
        return answer

    http.batch_update = answer_lost
    with maya.locked("merge thank-you"):
        claimed = [r for r in rows(server, key) if r[1] == "claim"]
        assert len(claimed) == 2 and claimed[0][0] == claimed[1][0]
    assert live(server, key, clock()) == []
    with person(server, key, clock, "sam", "FRONT-DESK").locked("import", wait=0):
        pass


def test_the_tab_does_not_grow(server):
    key = sheet(server)
    clock = Clock()
    for i in range(30):
        with person(server, key, clock, f"user{i % 3}").locked("merge thank-you"):
            clock.advance(seconds=30)
    assert len(rows(server, key)) <= 3


def test_nested_holding_takes_the_lease_once(server):
    key = sheet(server)
    clock = Clock()
    maya = person(server, key, clock)
    with maya.locked("merge thank-you"):
        first = maya.lease
        with maya.locked("merge thank-you"):
            assert maya.lease is first
        assert maya.lease is first
    assert [r[1] for r in rows(server, key)[1:]] == ["release"]


# -- the commands ------------------------------------------------------------------------------

@pytest.fixture
def google(server, monkeypatch):
    from refdesk.sources.google import client as google_client

    monkeypatch.setattr(google_client, "connect", lambda *a, **k: server.client())
    monkeypatch.setattr(google_client, "_sleep", lambda s: None)
    return server


def test_reading_commands_take_no_lease_and_writers_do(google, tmp_path):
    key = sheet(google)
    done = run("-q", "init", "--sheet", key)
    assert done.exit_code == 0, done.stderr
    assert google.state(key).tab(TAB).hidden  # init made the lease's tab on the way
    for args in (("summary",), ("check", "--today", "2026-11-23"),
                 ("merge", "thank-you", "--dry-run", "--today", "2026-11-23",
                  "--out", tmp_path)):
        google.clear_log()
        run("-q", *args, "--sheet", key, "--config", ROOT / "config.toml")
        assert all(TAB not in str(r.body) + r.path for r in google.requests()), args


def test_a_writing_command_refused_by_the_lease_exits_1(google, monkeypatch):
    key = sheet(google)
    clock = Clock(dt.datetime.now(dt.UTC))
    with person(google, key, clock).locked("merge thank-you"):
        monkeypatch.setattr(GoogleSource, "lease_settings", Settings(wait=0))
        done = run("-q", "init", "--sheet", key)
    assert done.exit_code == 1
    assert "merge thank-you is running on maya@MAYA-LAPTOP since" in done.stderr
    assert "Providers" not in [t.title for t in google.state(key).tabs]


def test_a_renamed_lease_tab_is_named_in_the_message(server):
    key = sheet(server)
    clock = Clock()
    with person(server, key, clock).locked("import"):
        pass
    server.client().open_by_key(key).get_worksheet_by_id(leasing.SHEET_ID).update_title("x")
    with pytest.raises(SourceError, match="Name it 'refdesk lease' again"), \
            person(server, key, clock).locked("merge thank-you"):
        pass


def test_sending_email_keeps_the_lease_alive_and_never_raises_mid_batch(server):
    """No Sheets request renews the lease while messages leave: keep_alive does, and a lease
    already lost is left for the next request to raise, before anything is written."""
    key = sheet(server)
    clock = Clock()
    maya = person(server, key, clock)
    with maya.locked("merge thank-you"):
        maya.keep_alive()
        assert [r[1] for r in rows(server, key)[1:]] == ["claim"]  # not due yet
        clock.advance(minutes=8)
        maya.keep_alive()  # a message sent past half the term renews
        assert [r[1] for r in rows(server, key)[1:]] == ["claim", "renew"]
    with pytest.raises(LeaseLost, match="paused longer than its lease"), \
            maya.locked("merge thank-you"):
        clock.advance(minutes=20)
        maya.keep_alive()  # lost: not raised in the middle of the batch
        maya.metadata()  # the next request raises, before a write
