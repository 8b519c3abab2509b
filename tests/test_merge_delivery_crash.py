"""`merge thank-you --deliver` against an SMTP server on loopback, killed (SIGKILL) at every
step of the run: every letter is sent at most once, every letter sent has its Letters row, and
a rerun sends exactly the ones that were not sent. Letters nobody can tell about (killed between
handing the message to the server and writing down its answer) are never sent again on their
own; the test settles them as a user would, from what the server received, with --mark-sent
and --retry, and then every letter has gone exactly once.

The run goes in a process of its own (tests/merge_driver.py) that kills itself at its N-th
checkpoint; the steps are split into shards that run side by side.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from refdesk.config import load_config
from refdesk.sources.excel import ExcelSource
from tests.conftest import ROOT, copy_practice
from tests.test_deliver import Server, _configure, _prefer, _records

JOB = "thank-you"
SHARDS = 4


def _drive(config: Path, steps: Path, kill_at: int, *extra: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, REFDESK_SMTP_PASSWORD="s3cret")
    return subprocess.run([sys.executable, "-m", "tests.merge_driver", str(config), JOB,
                           str(steps), str(kill_at), *extra], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def _letters(config: Path):
    """The job's Letters rows this test's run made (the sample has older ones)."""
    df = ExcelSource(load_config(config).excel).read().tables["Letters"].df
    return df[(df["job"] == JOB) & (df["when"] >= "2026-11-23")]


class Scenario:
    """A fresh copy of the sample practice whose thank-you providers all take email."""

    def __init__(self, folder: Path, server: Server) -> None:
        self.config = copy_practice(folder)
        _config, data, chosen = _records(self.config, JOB)
        _prefer(self.config, {r.provider_id: "email" for r in chosen})
        _configure(self.config, server.port, server.ca_file)
        self.records = {r.key: str(data.providers[r.provider_id]["email"]) for r in chosen}
        self.addresses = set(self.records.values())
        self.steps = folder / "steps.txt"


def _received(server: Server) -> list[str]:
    return [to for envelope in server.messages for to in envelope.rcpt_tos]


def _kill_points(recorded: list[str]) -> list[int]:
    """Every step but the copying of each zip part inside a write: a kill there leaves the
    same state as one at the write's next step (a temporary file, the workbook untouched),
    and tests/test_xlsxpatch_crash.py kills the write after every part."""
    return [k for k, step in enumerate(recorded) if not step.startswith("part:")]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The steps of one whole run, which must send every letter once."""
    tmp = tmp_path_factory.mktemp("recorded")
    with Server(tmp) as server:
        scenario = Scenario(tmp / "practice", server)
        done = _drive(scenario.config, scenario.steps, -1)
        assert done.returncode == 0, done.stderr
        assert sorted(_received(server)) == sorted(scenario.addresses)
    return scenario.steps.read_text().split()


def test_a_whole_run_passes_every_delivery_step(recorded: list[str]) -> None:
    assert len(recorded) >= 20
    for step in ("deliver:claimed", "deliver:attempt", "deliver:answered", "deliver:journaled",
                 "deliver:confirm", "backup:done", "replace:before", "replace:done"):
        assert step in recorded, step
    assert recorded.index("deliver:claimed") < recorded.index("deliver:attempt")
    assert recorded.index("deliver:journaled") < recorded.index("deliver:confirm")


@pytest.mark.parametrize("shard", range(SHARDS))
def test_killed_at_every_step_each_letter_goes_once(recorded: list[str], shard: int,
                                                    tmp_path: Path) -> None:
    with Server(tmp_path) as server:
        for k in _kill_points(recorded)[shard::SHARDS]:
            server.messages.clear()
            scenario = Scenario(tmp_path / f"step-{k}", server)
            killed = _drive(scenario.config, scenario.steps, k)
            where = f"killed at step {k} ({recorded[k]})"
            assert killed.returncode == -9, f"{where}: {killed.stderr}"
            first = _received(server)
            assert len(first) == len(set(first)), f"{where}: a letter went twice"
            letters = _letters(scenario.config)
            logged = {scenario.records[r] for r in letters["record"] if r in scenario.records}
            assert set(first) <= logged, f"{where}: a letter went out with no Letters row"

            again = _drive(scenario.config, scenario.steps, -1)
            assert again.returncode == 0, f"{where}: {again.stderr}"
            second = _received(server)
            assert len(second) == len(set(second)), f"{where}: the rerun sent a letter again"
            letters = _letters(scenario.config)
            doubt = letters[letters["status"] == "sending"]
            doubtful = {scenario.records[r] for r in doubt["record"]}
            assert set(second) - set(first) == scenario.addresses - set(first) - doubtful, (
                f"{where}: the rerun must send exactly the letters not sent")
            if len(doubt):
                assert "--mark-sent" in again.stdout + again.stderr
                flags: list[str] = []
                for lid, record in zip(doubt["letter_id"], doubt["record"], strict=True):
                    went = scenario.records[record] in second
                    flags += ["--mark-sent" if went else "--retry", str(lid)]
                settled = _drive(scenario.config, scenario.steps, -1, *flags)
                assert settled.returncode == 0, f"{where}: {settled.stderr}"
            final = _received(server)
            assert sorted(final) == sorted(scenario.addresses), f"{where}: {final}"
            letters = _letters(scenario.config)
            assert "sending" not in set(letters["status"]), where
            emailed = letters[letters["status"] == "emailed"]
            assert sorted(emailed["record"]) == sorted(scenario.records), where
            referrals = ExcelSource(load_config(scenario.config).excel).read().tables[
                "Referrals"].df.set_index("referral_id")
            assert referrals.loc[list(scenario.records), "thank_you_sent"].notna().all(), where
            shutil.rmtree(tmp_path / f"step-{k}")
