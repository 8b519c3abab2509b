"""Two people of a clinic team run `merge thank-you --deliver` on one Google Sheet at once.

Each runs in a process of its own (tests/google_merge_driver.py) against one loopback Sheets
server, with email through one loopback SMTP server. The writing lease
(refdesk.sources.google.lease) keeps them apart: each letter is sent once, Letters holds no
row twice, every write-back stays, and the one that waited says for whom. The order is
decided by a gate on the server, never by a clock: the two start together (both first requests
held until both have come), or take turns at every request."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from refdesk.config import load_config
from refdesk.merge.data import Data
from refdesk.merge.jobs import load_jobs
from refdesk.merge.run import select
from refdesk.sources.excel import ExcelSource
from refdesk.sources.google import GoogleSource, Retry
from refdesk.sources.google.importer import import_workbook
from refdesk.sources.google.lease import TAB, claims
from refdesk.xlsxpatch import SetField, patch_workbook
from tests import sheets_server as fake
from tests.conftest import ROOT, copy_practice
from tests.google_merge_driver import PERSON_HEADER
from tests.test_deliver import TODAY, Server, _configure

FAST = Retry(max_wait=30.0, base=0.01, cap=0.05, timeout=60.0)
PEOPLE = ("maya", "sam")
#: Longest a gate holds a request before letting it go anyway (a safety net against a hang,
#: never reached when the test passes; no outcome depends on it).
HANG = 120.0


@pytest.fixture
def clinic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The sample practice in a loopback Google Sheet, its thank-you letters going by email
    to a loopback SMTP server. Yields (config path, sheet server, SMTP server, sheet key,
    the thank-you records)."""
    pytest.importorskip("aiosmtpd")
    monkeypatch.setenv("REFDESK_SMTP_PASSWORD", "s3cret")
    config_path = copy_practice(tmp_path / "practice")
    config = load_config(config_path)
    book = ExcelSource(config.excel).read()
    chosen = select(Data.of(book, TODAY), load_jobs(config)["thank-you"], False)[0]
    assert len(chosen) == 3
    patch_workbook(config.excel, [SetField("Providers", "provider_id", r.provider_id,
                                           "delivery", "email") for r in chosen],
                   backup=False)
    with fake.SheetsServer() as sheets, Server(tmp_path) as smtp:
        _configure(config_path, smtp.port, smtp.ca_file)
        key = sheets.create_spreadsheet("Practice").id
        import_workbook(ExcelSource(config.excel).read(),
                        GoogleSource(key, client=sheets.client(), retry=FAST))
        yield config_path, sheets, smtp, key, chosen


class StartTogether:
    """Holds each person's first request until both have sent one; then lets all through."""

    def __init__(self) -> None:
        self.arrived: set[str] = set()
        self.cond = threading.Condition()

    @contextlib.contextmanager
    def __call__(self, handler):
        name = handler.headers.get(PERSON_HEADER)
        with self.cond:
            self.arrived.add(name)
            self.cond.notify_all()
            self.cond.wait_for(lambda: self.arrived >= set(PEOPLE), timeout=HANG)
        yield

    def finished(self, name: str) -> None:
        with self.cond:
            self.arrived.add(name)
            self.cond.notify_all()


class TakeTurns:
    """Lets the two people's requests through one at a time, in turns (first, second, first
    ...): each request waits for the other person's one before it. Once a person's process
    has ended, the other goes on alone."""

    def __init__(self, first: str) -> None:
        self.order = [first, *(p for p in PEOPLE if p != first)]
        self.turn = 0
        self.done: set[str] = set()
        self.cond = threading.Condition()
        self.passed: list[str] = []

    def whose(self) -> str:
        left = [p for p in self.order if p not in self.done]
        return left[0] if len(left) == 1 else self.order[self.turn % 2]

    @contextlib.contextmanager
    def __call__(self, handler):
        name = handler.headers.get(PERSON_HEADER)
        with self.cond:
            self.cond.wait_for(lambda: self.whose() == name, timeout=HANG)
            self.passed.append(name)
        try:
            yield
        finally:
            with self.cond:
                self.turn += 1
                self.cond.notify_all()

    def finished(self, name: str) -> None:
        with self.cond:
            self.done.add(name)
            self.cond.notify_all()


def run_both(clinic, gate, tmp_path: Path) -> dict[str, subprocess.CompletedProcess]:
    config_path, sheets, _smtp, key, _chosen = clinic
    sheets.gate = gate
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = {name: subprocess.Popen(
        [sys.executable, "-m", "tests.google_merge_driver", str(config_path), key,
         str(sheets.port), name, str(tmp_path / f"{name}-laptop")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name in PEOPLE}
    done: dict[str, subprocess.CompletedProcess] = {}

    def watch(name: str) -> None:
        process = started[name]
        out, err = process.communicate(timeout=600)
        done[name] = subprocess.CompletedProcess(process.args, process.returncode, out, err)
        gate.finished(name)

    watchers = [threading.Thread(target=watch, args=(name,)) for name in PEOPLE]
    for w in watchers:
        w.start()
    for w in watchers:
        w.join()
    sheets.gate = None
    return done


def each_letter_once(clinic, done: dict[str, subprocess.CompletedProcess]) -> str:
    """The checks both tests share; returns who waited."""
    _config_path, sheets, smtp, key, chosen = clinic
    for name, result in done.items():
        assert result.returncode == 0, (name, result.stderr)
    # Each letter sent once.
    assert len(smtp.messages) == len(chosen)
    attached = []
    for envelope in smtp.messages:
        text = envelope.content.decode("utf-8", "replace")
        attached += [r.key for r in chosen if r.key in text]
    assert sorted(attached) == sorted(r.key for r in chosen)
    book = GoogleSource(key, client=sheets.client(), retry=FAST).read()
    keys = {r.key for r in chosen}
    letters = [r for r in book["Letters"].df.to_dict("records")
               if r["job"] == "thank-you" and r["record"] in keys]
    # Letters without duplicates, each emailed.
    assert len(letters) == len(chosen)
    assert len({r["letter_id"] for r in letters}) == len(letters)
    assert sorted(r["record"] for r in letters) == sorted(r.key for r in chosen)
    assert {r["status"] for r in letters} == {"emailed"}
    # Every write-back kept.
    referrals = book["Referrals"].df.set_index("referral_id")
    assert referrals.loc[[r.key for r in chosen], "thank_you_sent"].notna().all()
    # The one that waited says for whom; the lease is free again.
    waited = [n for n, r in done.items() if "is running on" in r.stderr]
    assert len(waited) == 1, {n: r.stderr for n, r in done.items()}
    holder = next(n for n in PEOPLE if n not in waited)
    assert (f"merge thank-you is running on {holder}@{holder.upper()}-LAPTOP since"
            in done[waited[0]].stderr)
    rows = sheets.state(key).tab(TAB).values()
    assert all(c.released for c in claims(rows))
    return waited[0]


def test_two_people_started_together_send_each_letter_once(clinic, tmp_path):
    done = run_both(clinic, StartTogether(), tmp_path)
    each_letter_once(clinic, done)


@pytest.mark.parametrize("first", PEOPLE)
def test_two_people_taking_turns_at_every_request_send_each_letter_once(clinic, tmp_path,
                                                                       first):
    turns = TakeTurns(first)
    done = run_both(clinic, turns, tmp_path)
    waited = each_letter_once(clinic, done)
    assert waited != first  # the first claim wins the lease
    # They did take turns: the second person's requests came between the first's.
    assert turns.passed[:4] == [first, waited, first, waited]
