"""Screenshots of the desk on a copy of the sample practice: every page at 1280 and 390 px
wide into a folder for a person to look at, and the README's picture (docs/desk.png).

    .venv/bin/python scripts/desk_shots.py                  # into <tmp>/desk-shots
    .venv/bin/python scripts/desk_shots.py --readme docs/desk.png

Needs Chromium at /usr/bin/chromium, Playwright for Python and LibreOffice (the letter's
picture). The sample's "today" is 2026-11-23; nothing outside the temporary copy is changed.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PAGES = ("week", "problems", "report", "letters", "ledger", "setup")
WIDTHS = {"desktop": 1280, "phone": 390}
TODAY = "2026-11-23"
README_SIZE = (1280, 1000)


@contextmanager
def desk(folder: Path) -> Iterator[tuple[str, str]]:
    """`refdesk desk` on a copy of the sample in `folder`; yields its base address and token."""
    practice = folder / "practice"
    shutil.copytree(ROOT / "templates", practice / "templates")
    (practice / "workbooks").mkdir()
    shutil.copyfile(ROOT / "workbooks" / "referrals.xlsx",
                    practice / "workbooks" / "referrals.xlsx")
    shutil.copyfile(ROOT / "config.toml", practice / "config.toml")
    env = dict(os.environ, PYTHONUNBUFFERED="1", XDG_CACHE_HOME=str(folder / "cache"),
               XDG_CONFIG_HOME=str(folder / "user-config"))
    env.pop("REFDESK_CONFIG", None)
    server = subprocess.Popen([sys.executable, "-m", "refdesk", "desk", "-c",
                               str(practice / "config.toml"), "--today", TODAY,
                               "--no-browser"], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        found = re.search(r"(http://127\.0\.0\.1:\d+)/\?token=(\S+)", line)
        if not found:
            raise SystemExit(f"the desk did not start: {line.strip() or 'no address printed'}")
        yield found.group(1), found.group(2)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(30)


def readme_picture(page: object, path: Path) -> int:
    """The Letters page for thank-you letters with the first one's picture, as a small
    palette PNG; returns its size in bytes."""
    from PIL import Image

    job = page.locator("#job-thank-you")  # type: ignore[attr-defined]
    job.get_by_role("button", name="Preview the first").click()
    picture = job.locator(".lt-picture img")
    picture.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",  # type: ignore[attr-defined]
                           arg=picture.element_handle())
    shot = Image.open(io.BytesIO(page.screenshot()))  # type: ignore[attr-defined]
    small = shot.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    path.parent.mkdir(parents=True, exist_ok=True)
    small.save(path, optimize=True)
    return path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "desk-shots")
    parser.add_argument("--readme", type=Path, help="also write the README's picture here")
    options = parser.parse_args()
    from playwright.sync_api import sync_playwright

    options.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="refdesk-shots-") as work, \
            desk(Path(work)) as (base, token), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for name, width in WIDTHS.items():
            context = browser.new_context(viewport={"width": width, "height": 900})
            page = context.new_page()
            page.goto(f"{base}/?token={token}")
            for path in PAGES:
                page.goto(f"{base}/{path}")
                page.screenshot(path=str(options.out / f"{path}-{name}.png"), full_page=True)
                print(f"{options.out / f'{path}-{name}.png'}")
            context.close()
        if options.readme:
            width, height = README_SIZE
            context = browser.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            page.goto(f"{base}/letters?job=thank-you&token={token}")
            size = readme_picture(page, options.readme)
            print(f"{options.readme}: {size // 1024} KiB")
            context.close()
        browser.close()


if __name__ == "__main__":
    main()
