"""The desk's Letters page: each job's dry run as `merge --dry-run` has it, a picture of a
letter, and a run that writes Letters and the job's write-back under the workbook's lock."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import html
from starlette.testclient import TestClient

from refdesk.config import load_config
from refdesk.desk import jobs
from refdesk.desk.jobs import Worker
from refdesk.errors import WorkbookBusyError
from refdesk.merge.data import Data
from refdesk.merge.run import merge
from refdesk.sources.excel import ExcelSource
from tests.conftest import run
from tests.desk_helpers import SAMPLE_TODAY, csrf, desk_client

JSON = {"Accept": "application/json"}


@pytest.fixture(autouse=True)
def _own_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
               ) -> None:
    """Pictures of letters go to the test's own cache folder, never the user's."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def client(practice: Path) -> Iterator[TestClient]:
    with desk_client(practice) as c:
        yield c


def workbook(practice: Path) -> Path:
    return practice.parent / "workbooks" / "referrals.xlsx"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def section(page: str, job: str) -> Any:
    found = html.fromstring(page).xpath(f'//section[@id="job-{job}"]')
    assert found, f"no section for {job}"
    return found[0]


def cells(node: Any, table_class: str) -> list[list[str]]:
    return [[td.text_content().strip() for td in tr.xpath("./td")]
            for tr in node.xpath(f'.//table[contains(@class, "{table_class}")]/tbody/tr')]


def test_the_dry_run_listed_is_merges(client: TestClient, practice: Path) -> None:
    answer = client.get("/letters")
    assert answer.status_code == 200
    cli = run("merge", "thank-you", "--dry-run", "--today", "2026-11-23", "-c", practice)
    assert cli.exit_code == 0
    assert "thank-you: would make 3 document(s)" in cli.output
    listed = cells(section(answer.text, "thank-you"), "lt-docs")
    assert [row[0] for row in listed] == ["R239", "R245", "R247"]
    assert [row[0] for row in listed] == re.findall(r"│ (R\d+) ", cli.output)
    assert [row[2] for row in listed] == ["fax", "email", "email"]  # how each provider asked
    # Every job, with the skips and their reasons as merge reports them.
    config = load_config(practice)
    source = ExcelSource(workbook(practice))
    for job in ("intro-packet", "progress-report", "sent-referral"):
        result = merge(config, job, source, today=SAMPLE_TODAY, dry_run=True)
        node = section(answer.text, job)
        made = cells(node, "lt-docs")
        assert [r[0] for r in made] == [d.record.key for d in result.documents][:len(made)]
        figures = node.xpath('.//p[@class="lt-figures"]')[0].text_content().split()
        assert figures[:2] == [str(len(result.documents)), "to"]
        assert cells(node, "lt-skipped") == [[s.record.key, s.reason] for s in result.skipped]
        assert result.skipped, f"{job} skips a row on the sample"
    intro = section(answer.text, "intro-packet")
    assert "And 3 more" in intro.text_content()  # 11 packets: 8 shown, the rest fold away
    assert "Providers: stage = packet sent for provider_id P026" in intro.text_content()


def test_the_dry_runs_are_made_again_when_a_template_changes(client: TestClient,
                                                              practice: Path) -> None:
    client.get("/letters")
    held = client.app.state.letters_dry_runs  # type: ignore[attr-defined]
    first = held["views"]
    client.get("/letters?job=thank-you")
    assert held["views"] is first  # the same Book, day and templates: not made again
    template = practice.parent / "templates" / "thank-you.docx"
    stamp = template.stat().st_mtime_ns + 5_000_000_000
    os.utime(template, ns=(stamp, stamp))
    client.get("/letters")
    assert held["views"] is not first


def test_one_job_alone(client: TestClient) -> None:
    """From This week a job's link opens that job alone; the others are a link away."""
    page = html.fromstring(client.get("/letters?job=sent-referral").text)
    assert [s.get("id") for s in page.xpath("//section")] == ["job-sent-referral"]
    links = page.xpath('//nav[@class="lt-toc"]//a/@href')
    assert links[0] == "/letters" and "/letters?job=thank-you#job-thank-you" in links
    every = html.fromstring(client.get("/letters?job=nope").text).xpath("//section/@id")
    assert len(every) == 7  # an unknown job: all of them


def test_a_picture_of_the_first_letter(client: TestClient, practice: Path,
                                       soffice: str) -> None:
    before = digest(workbook(practice))
    answer = client.post("/letters/preview", data={"job": "thank-you", "csrf": csrf(client)},
                         headers=JSON)
    shown = answer.json()
    assert shown["ok"] and shown["record"] == "R239"
    assert re.fullmatch(r"/letters/preview/[0-9a-f]{32}\.png", shown["image"])
    picture = client.get(shown["image"])
    assert picture.status_code == 200
    assert picture.headers["content-type"] == "image/png"
    assert "no-store" in picture.headers["cache-control"]
    png = picture.content
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width == 900 and 1100 < height < 1200  # a US letter page, upright
    # Nothing was made in the job's folder or written to the workbook; the file is private.
    assert not (practice.parent / "letters").exists()
    assert digest(workbook(practice)) == before
    cached = Path(os.environ["XDG_CACHE_HOME"]) / "refdesk" / "previews"
    assert [p.name for p in cached.glob("*.png")] == [shown["image"].rsplit("/", 1)[1]]
    assert stat.S_IMODE(cached.stat().st_mode) == 0o700
    assert stat.S_IMODE(next(cached.glob("*.png")).stat().st_mode) == 0o600
    # A form from This week names the record, and is sent on to the picture's own page.
    form = client.post("/letters/preview", follow_redirects=False,
                       data={"job": "thank-you", "record": "R245", "csrf": csrf(client)})
    assert form.status_code == 303
    assert re.fullmatch(r"/letters/preview/[0-9a-f]{32}", form.headers["location"])
    page = client.get(form.headers["location"])
    assert "Preview: thank-you, R245" in page.text
    assert f'src="{form.headers["location"]}.png"' in page.text


def test_no_picture_says_why(client: TestClient) -> None:
    token = csrf(client)
    unknown = client.post("/letters/preview", headers=JSON,
                          data={"job": "thank-you", "record": "R999", "csrf": token}).json()
    assert unknown == {"ok": False, "details": [], "message": "job thank-you: no record R999 "
                       "among the rows this job makes documents for."}
    skipped = client.post("/letters/preview", headers=JSON,
                          data={"job": "progress-report", "record": "R221", "csrf": token})
    assert skipped.json()["message"] == ("job progress-report: R221 would be skipped (no "
                                         "release from client C276 naming provider P010), so "
                                         "there is no document to show.")
    no_job = client.post("/letters/preview", data={"job": "nope", "csrf": token})
    assert "no job named 'nope'" in html.fromstring(no_job.text).text_content()
    assert client.get("/letters/preview/0123456789abcdef0123456789abcdef.png").status_code == 404
    assert client.get("/letters/preview/..%2Fsecret.png").status_code == 404


def finished(client: TestClient, run_id: str) -> dict[str, Any]:
    """The run's JSON once the worker is done with it (an event, not the clock)."""
    worker: Worker = client.app.state.letters_worker  # type: ignore[attr-defined]
    held = worker.get(run_id)
    assert held is not None and held.finished.wait(120)
    answer = client.get(f"/letters/run/{run_id}")
    assert answer.status_code == 200
    return answer.json()  # type: ignore[no-any-return]


def test_make_writes_letters_and_the_write_back(client: TestClient, practice: Path) -> None:
    started = client.post("/letters/make", headers=JSON,
                          data={"job": "thank-you", "csrf": csrf(client)}).json()
    assert started["ok"] and started["url"] == f"/letters/run/{started['run']['id']}"
    done = finished(client, started["run"]["id"])
    assert (done["state"], done["done"], done["total"]) == ("done", 3, 3)
    outcome = done["outcome"]
    assert [d["record"] for d in outcome["documents"]] == ["R239", "R245", "R247"]
    assert [d["letter_id"] for d in outcome["documents"]] == ["L018", "L019", "L020"]
    assert {c["cell"]: c["new"] for c in outcome["cells"]} == {
        "Referrals!N240": "2026-11-23", "Referrals!N246": "2026-11-23",
        "Referrals!N248": "2026-11-23"}
    assert outcome["appended"] == {"Letters": [19, 21]} and outcome["backup"]
    # Read back with refdesk's reader: the rows and the dates are in the workbook.
    data = Data.of(ExcelSource(workbook(practice)).read(), SAMPLE_TODAY)
    letters = {r["letter_id"]: r for r in data.letters}
    assert [(letters[i]["job"], letters[i]["record"], letters[i]["status"])
            for i in ("L018", "L019", "L020")] == [("thank-you", "R239", "produced"),
                                                   ("thank-you", "R245", "produced"),
                                                   ("thank-you", "R247", "produced")]
    sent = {r["referral_id"]: r["thank_you_sent"] for r in data.referrals}
    assert [sent[r] for r in ("R239", "R245", "R247")] == [dt.date(2026, 11, 23)] * 3
    for d in outcome["documents"]:
        assert (practice.parent / d["file"]).is_file()
    # The run's page says the same, ending with what was written back.
    page = client.get(started["url"], headers={"Accept": "text/html"}).text
    assert "Made 3 documents" in page and "Written back to the workbook" in page
    assert "Letters: rows 19–21 added" in page and "Referrals!N246" in page
    # The page now shows nothing left to make for the job.
    again = section(client.get("/letters").text, "thank-you")
    assert cells(again, "lt-docs") == [] and "writes back" not in again.text_content()


def test_make_and_deliver(client: TestClient, practice: Path, soffice: str) -> None:
    """Without an email server in config.toml (the sample's), the page sends drafts, and
    says so; the run's outcome says how each document went."""
    form = section(client.get("/letters").text, "thank-you").xpath(
        './/form[.//input[@name="deliver"]]')[0]
    assert form.xpath('.//input[@name="drafts"]/@value') == ["1"]
    assert "no [email] server in config.toml" in form.text_content()
    asks = form.xpath(".//button/@data-confirm")[0]
    assert asks.startswith("Make and deliver 3 document(s) of thank-you now (2 by email, 1 by "
                           "fax)?")
    fields = {i.get("name"): i.get("value") for i in form.xpath(".//input")}
    started = client.post("/letters/make", headers=JSON, data=fields | {"csrf": csrf(client)})
    done = finished(client, started.json()["run"]["id"])
    assert done["state"] == "done" and done["deliver"]
    outcome = done["outcome"]
    assert outcome["delivered"] and outcome["failed"] == 0
    assert [(d["route"], d["status"], d["detail"]) for d in outcome["documents"]] == [
        ("fax", "produced", "fax: 5035550162 R239.pdf"),
        ("email", "drafted", "draft: R245.eml"), ("email", "drafted", "draft: R247.eml")]
    data = Data.of(ExcelSource(workbook(practice)).read(), SAMPLE_TODAY)
    assert {r["letter_id"]: r["status"] for r in data.letters if r["job"] == "thank-you"
            and r["letter_id"] >= "L018"} == {"L018": "produced", "L019": "drafted",
                                              "L020": "drafted"}
    page = client.get(started.json()["url"], headers={"Accept": "text/html"}).text
    assert "Made 3 documents and delivered them" in page


@pytest.fixture
def command_holding(practice: Path) -> Iterator[int]:
    """Another process holding the workbook as `refdesk merge` does; yields its id."""
    script = ("import sys; from pathlib import Path; from refdesk.sources.excel import "
              "ExcelSource\nwith ExcelSource(Path(sys.argv[1])).locked('merge thank-you'):\n"
              "    print('held', flush=True); sys.stdin.read()\n")
    holder = subprocess.Popen([sys.executable, "-c", script, str(workbook(practice))],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        yield holder.pid
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(30)


def test_a_command_holding_the_workbook_refuses_the_run(
        client: TestClient, practice: Path, command_holding: int,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs, "LOCK_WAIT_S", 0.05)
    before = digest(workbook(practice))
    answer = client.post("/letters/make", headers=JSON,
                         data={"job": "thank-you", "csrf": csrf(client)})
    assert answer.status_code == 409
    refused = answer.json()
    assert not refused["ok"]
    assert refused["message"].startswith(
        f"referrals.xlsx is being written by another refdesk process (process "
        f"{command_holding}, `merge thank-you`, since ")
    assert refused["message"].endswith("Nothing was written.")
    form = client.post("/letters/make", data={"job": "thank-you", "csrf": csrf(client)})
    assert form.status_code == 409 and "The letters were not made" in form.text
    assert digest(workbook(practice)) == before
    assert not (practice.parent / "letters").exists()


def test_one_run_at_a_time_and_it_holds_the_workbook(client: TestClient,
                                                     practice: Path) -> None:
    release, inside = threading.Event(), threading.Event()

    def slow_merge(*args: Any, **kwargs: Any) -> Any:
        inside.set()
        assert release.wait(60)
        return merge(*args, **kwargs)

    client.app.state.letters_worker = Worker(slow_merge)  # type: ignore[attr-defined]
    first = client.post("/letters/make", headers=JSON,
                        data={"job": "thank-you", "csrf": csrf(client)}).json()
    assert first["ok"] and inside.wait(30)
    second = client.post("/letters/make", headers=JSON,
                         data={"job": "client-card", "csrf": csrf(client)})
    assert second.status_code == 409
    assert second.json()["message"].startswith("the desk is making thank-you already")
    assert "is making thank-you now" in client.get("/letters").text
    # A command in this process meanwhile is refused by the workbook's lock.
    with pytest.raises(WorkbookBusyError, match="Nothing was written"), \
            ExcelSource(workbook(practice)).locked("merge client-card", wait=0.05):
        pass
    release.set()
    assert finished(client, first["run"]["id"])["state"] == "done"
    third = client.post("/letters/make", headers=JSON,
                        data={"job": "client-card", "csrf": csrf(client)}).json()
    assert finished(client, third["run"]["id"])["outcome"]["cells"]


def test_runs_and_actions_are_guarded(client: TestClient) -> None:
    assert client.post("/letters/make", data={"job": "thank-you"}).status_code == 403
    assert client.post("/letters/preview", data={"job": "thank-you"}).status_code == 403
    assert client.get("/letters/run/0123456789abcdef").status_code == 404
    unknown = client.post("/letters/make", headers=JSON,
                          data={"job": "nope", "csrf": csrf(client)})
    assert unknown.status_code == 400 and "no job named 'nope'" in unknown.json()["message"]
