"""A job's `require` in config.toml: what a record needs before its document is made, checked
when the configuration is read, with defaults by the kind of job."""

from __future__ import annotations

from pathlib import Path

import pytest

from refdesk.config import load_config
from refdesk.errors import ConfigError
from refdesk.merge.jobs import load_jobs
from tests.conftest import run


def _with(practice: Path, job: str, line: str) -> Path:
    text = practice.read_text(encoding="utf-8")
    header = f"[jobs.{job}]\n"
    assert header in text
    practice.write_text(text.replace(header, header + line + "\n"), encoding="utf-8")
    return practice


def test_defaults_follow_the_kind_of_job(practice: Path) -> None:
    jobs = load_jobs(load_config(practice))
    assert jobs["intro-packet"].require == ("no likely duplicate",)
    assert jobs["super-bill"].require == ("diagnosis",)
    assert jobs["thank-you"].require == ()
    assert jobs["release-form"].require == ()


def test_an_empty_list_requires_nothing(practice: Path) -> None:
    jobs = load_jobs(load_config(_with(practice, "super-bill", "require = []")))
    assert jobs["super-bill"].require == ()


@pytest.mark.parametrize(("job", "line", "expected"), [
    ("super-bill", 'require = ["diagnoses"]', "'diagnoses' is not a requirement"),
    ("thank-you", 'require = ["diagnosis"]', "applies to jobs for client-months, not referrals"),
    ("intro-packet", 'require = ["new notes"]', "applies to jobs for referrals, not providers"),
])
def test_a_wrong_requirement_names_the_line_and_the_choices(practice: Path, job: str,
                                                             line: str, expected: str) -> None:
    config = load_config(_with(practice, job, line))
    with pytest.raises(ConfigError) as caught:
        load_jobs(config)
    message = str(caught.value)
    assert expected in message
    assert f"[jobs.{job}]" in message and "config.toml line" in message
    result = run("merge", job, "--config", practice, "--dry-run", "--today", "2026-11-23")
    assert result.exit_code != 0 and expected in result.output + result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_a_requirement_must_be_a_list_of_text(practice: Path) -> None:
    with pytest.raises(ConfigError, match="must be a list"):
        load_config(_with(practice, "super-bill", 'require = "diagnosis"'))
