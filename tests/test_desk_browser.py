"""The desk in headless Chromium (Debian's, driven by Playwright) against the real server
(`refdesk desk` in its own process, on a copy of the sample): the week's walk a person takes,
ending with the letters made and read back from the workbook. Every page is also shot at
1280 and 390 px wide into <tmp>/desk-shots for a person to look at.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from refdesk.merge.data import Data
from refdesk.sources.excel import ExcelSource
from tests.conftest import copy_practice, need

CHROMIUM = Path("/usr/bin/chromium")
#: Debian's Chromium on a machine without a display, network or GPU.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = Path(tempfile.gettempdir()) / "desk-shots"
WIDTHS = {"desktop": 1280, "phone": 390}
PAGES = ("week", "problems", "report", "letters", "ledger", "setup")
TODAY = dt.date(2026, 11, 23)
TIMEOUT_MS = 60_000  # LibreOffice drawing a letter on a slow machine


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`refdesk desk` on a copy of the sample, as a person starts it; its address and files.
    Stopped with Ctrl-C (SIGINT), as a person stops it."""
    need(CHROMIUM.exists(), f"Chromium is not installed at {CHROMIUM}")
    need(shutil.which("soffice") is not None, "LibreOffice (soffice) is not installed")
    folder = tmp_path_factory.mktemp("desk")
    config = copy_practice(folder / "practice")
    env = dict(os.environ, PYTHONUNBUFFERED="1", XDG_CACHE_HOME=str(folder / "cache"),
               XDG_CONFIG_HOME=str(folder / "user-config"))
    env.pop("REFDESK_CONFIG", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "refdesk", "desk", "-c", str(config), "--today",
         TODAY.isoformat(), "--no-browser"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=env, cwd=folder)
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        found = re.search(r"(http://127\.0\.0\.1:\d+)/\?token=(\S+)", first)
        assert found, first + (server.stderr.read() if server.poll() is not None else "")
        yield {"base": found.group(1), "token": found.group(2), "config": config,
               "workbook": config.parent / "workbooks" / "referrals.xlsx"}
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(30)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    need(CHROMIUM.exists(), f"Chromium is not installed at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need(False, "Playwright for Python is not installed (pip install -e '.[dev]')")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def shoot(page: Any, name: str) -> Path:
    """A full-page screenshot for a person to look at."""
    SHOTS.mkdir(exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def opened(browser: Any, desk: dict[str, Any], width: int, start: str = "/") -> Any:
    """A new browser window `width` px wide, let in with the token at `start`."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{desk['base']}{start}?token={desk['token']}")
    return page


def nav(page: Any, name: str) -> None:
    """Follow the page frame's link to another page."""
    page.locator(".desk-nav").get_by_role("link", name=name, exact=True).click()
    page.wait_for_load_state()


def test_the_weeks_walk(browser: Any, desk: dict[str, Any]) -> None:
    page = opened(browser, desk, WIDTHS["desktop"])
    # Opened with the token: the address loses it, the week shows.
    assert "token" not in page.url and page.url.endswith("/week")
    assert page.locator("h1").inner_text() == "This week"
    assert page.locator(".wk-action").count() > 0
    assert page.get_by_text("Preview letter").count() > 0

    nav(page, "Problems")
    assert page.locator("h1").inner_text() == "Problems"
    cells = page.locator("td[data-label=Cell]").all_inner_texts()
    assert cells and all(re.fullmatch(r"[A-Z]+\d+", c.strip()) for c in cells[:20])

    # A thank-you letter, previewed from the week: the first page, drawn.
    nav(page, "This week")
    action = page.locator(".wk-action", has=page.locator("input[name=job][value=thank-you]"))
    record = action.first.locator("input[name=record]").get_attribute("value")
    action.first.get_by_role("button", name="Preview letter").click()
    page.wait_for_url(re.compile(r"/letters/preview/[0-9a-f]{32}$"))
    assert page.locator("h1").inner_text() == f"Preview: thank-you, {record}"
    picture = page.locator("figure.lt-figure img")
    assert picture.evaluate("img => img.complete && img.naturalWidth") == 900
    shoot(page, "preview-desktop")

    # Letters: the first thank-you letter in the page, then make them all.
    nav(page, "Letters")
    job = page.locator("#job-thank-you")
    assert job.locator("table.lt-docs tbody tr").count() == 3
    job.get_by_role("button", name="Preview the first").click()
    shown = job.locator(".lt-picture img")
    shown.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=shown.element_handle())
    assert "R239" in job.locator(".lt-picture figcaption").inner_text()
    job.get_by_role("button", name="Make 3").click()
    outcome = job.locator(".lt-outcome[data-state=done]")
    outcome.wait_for()
    text = outcome.inner_text()
    assert "Made 3 documents" in text and "Written back to the workbook" in text
    assert "Letters: rows 19–21 added" in text
    for cell in ("Referrals!N240", "Referrals!N246", "Referrals!N248"):
        assert cell in text
    shoot(page, "letters-made-desktop")

    # In the workbook, read back with refdesk's reader.
    data = Data.of(ExcelSource(desk["workbook"]).read(), TODAY)
    made = [r for r in data.letters if r.get("job") == "thank-you"
            and str(r.get("when") or "").startswith("2026-11-23")]
    assert sorted(r["record"] for r in made) == ["R239", "R245", "R247"]
    sent = {r["referral_id"]: r["thank_you_sent"] for r in data.referrals}
    assert [sent[r] for r in ("R239", "R245", "R247")] == [TODAY] * 3
    # The Ledger shows them too.
    nav(page, "Ledger")
    rows = page.locator("table.desk-table tbody tr").all_inner_texts()
    assert any("thank-you" in r and "R245" in r and "L019" in r for r in rows[:5])

    # The report with another range.
    nav(page, "Report")
    page.fill("input[name=from]", "2026-01-01")
    page.fill("input[name=to]", "2026-06-30")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"from=2026-01-01"))
    frame = page.frame_locator("#report-frame")
    assert re.search(r"Jan\w* 2026", frame.locator("body").inner_text())
    assert "to=2026-06-30" in page.locator("#report-frame").get_attribute("src")
    page.context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_fits_its_window(browser: Any, desk: dict[str, Any], width: str) -> None:
    """Each page at 1280 and 390 px: no sideways scrolling of the page itself (wide tables
    scroll in their own box), and a screenshot saved."""
    page = opened(browser, desk, WIDTHS[width])
    for name in PAGES:
        page.goto(f"{desk['base']}/{name}")
        assert page.locator("h1").count() == 1, name
        if name == "report":
            page.locator("#report-frame").wait_for()
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= WIDTHS[width] + 1, f"{name} is {wide} px wide at {WIDTHS[width]} px"
        shoot(page, f"{name}-{width}")
    page.context.close()
