"""The stats report in headless Chromium (Debian's, driven by Playwright), as people see it: on
a 1200 px desktop, on a 390 px phone, and printed to PDF.

On the phone every chart's text must render at 12 px or more and every table's figures must
lie inside the screen with nothing to scroll sideways. Printed, no page may hold a lone row of
a table that runs over pages, each table's heading prints on the page of its first row, its
notes with its last rows, and figures print at least at their headers' size. Screenshots and
the PDF are kept in the test's folder and copied to <tmp>/report-shots for a person to look
at.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from refdesk.sources.excel import ExcelSource
from refdesk.stats import Stats, compute
from refdesk.stats.html import render_html
from refdesk.stats.model import Column, StatTable
from tests.conftest import ROOT, need

END = dt.date(2026, 11, 23)
CHARTS = ("sources", "conversion", "referrers", "pipeline")
CHROMIUM = Path("/usr/bin/chromium")
#: Debian's Chromium on a machine without a display, network or GPU: without the background
#: networking switches it stalls on connections that are refused here.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
#: Where a person finds the pictures of the last run.
SHOTS = Path(tempfile.gettempdir()) / "report-shots"
PHONE, DESKTOP = 390, 1200
SMALLEST_TEXT_PX = 12


@pytest.fixture(scope="module")
def stats() -> Stats:
    book = ExcelSource(ROOT / "workbooks" / "referrals.xlsx").read()
    return compute(book, end=END, by="month")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """A Playwright Chromium context on Debian's Chromium, with a fresh profile."""
    need(CHROMIUM.exists(), f"Chromium is not installed at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need(False, "Playwright for Python is not installed (pip install -e '.[dev]')")
    with sync_playwright() as p, tempfile.TemporaryDirectory(prefix="refdesk-chromium-") as prof:
        context = p.chromium.launch_persistent_context(
            prof, executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": DESKTOP, "height": 900}, device_scale_factor=1)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(scope="module")
def report(stats: Stats, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(render_html(stats, "Calm Hands Massage & Bodywork", made_on=END),
                    encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def assorted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report of tables of many lengths one after another, so that page breaks fall at
    every place in a table: the first row, the last, the total."""
    columns = [Column("name", "Name"), Column("count", "Count", "int"),
               Column("share", "Share", "pct"), Column("cost", "Cost", "money")]
    tables = {}
    for n, size in enumerate((3, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43)):
        rows = [{"name": f"Row {i + 1} of table {n + 1}", "count": i, "share": i / size,
                 "cost": i * 12.5} for i in range(size)]
        tables[f"assorted_{n}"] = StatTable(
            f"assorted_{n}", f"Table {n + 1}, {size} rows", columns, rows,
            total={"name": "All", "count": sum(range(size))} if n % 2 else None)
    stats = Stats(start=dt.date(2026, 1, 1), end=END, by="month", periods=[],
                  with_names=False, dormant_after_days=90, source="assorted.xlsx",
                  tables=tables)
    path = tmp_path_factory.mktemp("assorted") / "assorted.html"
    path.write_text(render_html(stats, made_on=END), encoding="utf-8")
    return path


def _open(context: Any, path: Path, width: int) -> tuple[Any, list[str]]:
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
    page.on("request", lambda r: problems.append(f"request: {r.url}")
            if not r.url.startswith(("file:", "data:", "about:")) else None)
    page.goto(path.as_uri(), wait_until="load")
    # Folded tables open, so that their figures are measured too.
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    return page, problems


def _keep(*paths: Path) -> None:
    SHOTS.mkdir(exist_ok=True)
    for path in paths:
        shutil.copyfile(path, SHOTS / path.name)


#: Every SVG text drawn on screen, with the size it renders at: its font size in the SVG's
#: units times the scale from those units to CSS pixels (the SVG shrinks to the screen).
CHART_TEXT = """() => [...document.querySelectorAll('figure.chart svg text')]
  .filter(t => t.getClientRects().length && t.textContent.trim())
  .map(t => {
    const m = t.getScreenCTM();
    const px = parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b);
    return {chart: t.closest('figure').dataset.chart, text: t.textContent.trim(),
            px: Math.round(px * 10) / 10};
  })"""

#: Every table cell on screen that lies, even in part, outside the screen's width.
CELLS_OUTSIDE = """() => [...document.querySelectorAll('.stat-table td')]
  .filter(td => td.getClientRects().length)
  .map(td => [td, td.getBoundingClientRect()])
  .filter(([td, r]) => r.left < 0 || r.right > window.innerWidth + 0.5)
  .map(([td, r]) => td.closest('.stat-table').id + ': ' + td.dataset.label + ' = '
       + td.textContent + ' at ' + Math.round(r.left) + '-' + Math.round(r.right))"""


def _chart_pixels(screenshot: Path, box: dict[str, float]) -> tuple[int, float]:
    """Distinct colours, and the share of pixels that are not white, inside a chart's box."""
    import numpy as np
    from PIL import Image

    with Image.open(screenshot) as image:
        crop = image.convert("RGB").crop((int(box["x"]), int(box["y"]),
                                          int(box["x"] + box["width"]),
                                          int(box["y"] + box["height"])))
    pixels = np.asarray(crop).reshape(-1, 3)
    inked = int((pixels.min(axis=1) < 235).sum())
    return len(np.unique(pixels, axis=0)), inked / max(1, len(pixels))


def test_on_a_desktop(chromium, report, tmp_path):
    page, problems = _open(chromium, report, DESKTOP)
    shot = tmp_path / "report-1200.png"
    page.screenshot(path=str(shot), full_page=True)
    _keep(shot)
    for key in CHARTS:
        svg = page.locator(f'figure[data-chart="{key}"] svg.for-wide')
        assert svg.count() == 1, key
        assert page.locator(f'figure[data-chart="{key}"] svg.for-phone').is_hidden()
        box = svg.bounding_box()
        assert box and box["width"] > 300 and box["height"] > 100, (key, box)
        # bounding_box is relative to the viewport; the full-page screenshot to the page.
        box = dict(box, y=box["y"] + page.evaluate("window.scrollY"))
        colours, inked = _chart_pixels(shot, box)
        # A drawn chart: bars in several colours, anti-aliased text, a good share of ink (the
        # sample's charts have hundreds of colours and 25-35% ink; a blank box has neither).
        assert colours >= 20, (key, colours)
        assert inked >= 0.12, (key, inked)
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
    small = [t for t in page.evaluate(CHART_TEXT) if t["px"] < SMALLEST_TEXT_PX]
    assert small == []
    assert page.evaluate(CELLS_OUTSIDE) == []
    assert page.evaluate("[...document.querySelectorAll('tr.print-notes')]"
                         ".every(tr => !tr.getClientRects().length)")
    assert problems == []


def test_on_a_phone(chromium, report, tmp_path):
    page, problems = _open(chromium, report, PHONE)
    shot = tmp_path / "report-390.png"
    page.screenshot(path=str(shot), full_page=True)
    top = tmp_path / "report-390-top.png"
    page.screenshot(path=str(top), full_page=True,
                    clip={"x": 0, "y": 0, "width": PHONE, "height": 4000})
    _keep(shot, top)
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE
    for key in CHARTS:
        svg = page.locator(f'figure[data-chart="{key}"] svg.for-phone')
        assert svg.is_visible(), key
        assert page.locator(f'figure[data-chart="{key}"] svg.for-wide').is_hidden()
        box = svg.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE, (key, box)
        assert box["height"] > 50
    texts = page.evaluate(CHART_TEXT)
    assert {t["chart"] for t in texts} == set(CHARTS), "every chart's text is measured"
    assert len(texts) >= 40
    small = [t for t in texts if t["px"] < SMALLEST_TEXT_PX]
    assert small == [], "chart text under 12 px on a phone"
    # No table scrolls in its box, and every figure (every cell) lies inside the screen.
    scrolling = page.evaluate("""[...document.querySelectorAll('.table-box')]
        .filter(b => b.scrollWidth > b.clientWidth + 1).map(b => b.getAttribute('aria-label'))""")
    assert scrolling == []
    assert page.evaluate(CELLS_OUTSIDE) == []
    figures = page.evaluate("""[...document.querySelectorAll('.stat-table td.num')]
        .filter(td => td.getClientRects().length && td.textContent).length""")
    assert figures > 500, "the figures of every table are on the page"
    # A card names each figure: its label is drawn before it.
    label = page.evaluate("""getComputedStyle(document.querySelector(
        '#table-providers td.num'), '::before').content""")
    assert label.strip('"').startswith("Referrals")
    # The notes show once, under the table (their copy in the table is for print).
    assert page.locator("tr.print-notes").count() > 5
    assert page.evaluate("[...document.querySelectorAll('tr.print-notes')]"
                         ".every(tr => !tr.getClientRects().length)")
    assert page.locator("#table-scorecard .notes").is_visible()
    # The light reads as a word beside its dot.
    light = page.locator("#table-scorecard td.light").first
    assert light.inner_text().strip() in ("green", "amber", "red")
    assert problems == []


#: Marks each table's rows and heading with a tiny, invisible code that the PDF's text keeps,
#: so that the pages each row printed on can be read back. The marks are positioned
#: absolutely, so they change nothing of the layout.
MARK = """() => {
  const style = document.createElement('style');
  style.textContent = '.stat-table td:first-child, .stat-table h3 { position: relative; }'
    + ' .probe { position: absolute; left: 0; top: 0; font-size: 4px; color: #fff; }';
  document.head.appendChild(style);
  const tables = [...document.querySelectorAll('.stat-table')].filter(
    s => s.querySelector('table'));
  tables.forEach((s, t) => {
    const h = s.querySelector('h3');
    h.insertAdjacentHTML('beforeend', `<span class="probe">QH${t}Q</span>`);
    s.querySelectorAll('tbody tr:not(.print-notes)').forEach((tr, r) =>
      tr.firstElementChild.insertAdjacentHTML('beforeend',
                                              `<span class="probe">QT${t}R${r}Q</span>`));
    const notes = s.querySelector('tr.print-notes td');
    if (notes) notes.insertAdjacentHTML('beforeend', `<span class="probe">QN${t}Q</span>`);
  });
  return tables.map(s => [s.id, s.querySelectorAll('tbody tr:not(.print-notes)').length]);
}"""


@pytest.mark.parametrize("which", ["report", "assorted"])
def test_printed(chromium, which, request, tmp_path):
    from pypdf import PdfReader

    page, problems = _open(chromium, request.getfixturevalue(which), DESKTOP)
    page.emulate_media(media="print")
    # Figures print at least at their headers' size.
    sizes = page.evaluate("""[...document.querySelectorAll('.stat-table table')].map(t => [
        t.closest('.stat-table').id,
        parseFloat(getComputedStyle(t.querySelector('thead th')).fontSize),
        Math.min(...[...t.querySelectorAll('tbody td')].map(
          td => parseFloat(getComputedStyle(td).fontSize)))])""")
    assert sizes and all(figure >= header for _, header, figure in sizes), sizes
    assert all(figure >= 9.3 for _, _, figure in sizes), "7 pt or more"
    tables = page.evaluate(MARK)
    pdf = tmp_path / f"{which}.pdf"
    page.pdf(path=str(pdf), format="A4")
    _keep(pdf)
    assert page.evaluate("[...document.querySelectorAll('details')].every(d => d.open)")
    assert problems == []

    rows: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    headings: dict[int, int] = {}
    notes: dict[int, int] = {}
    reader = PdfReader(pdf)
    for number, sheet in enumerate(reader.pages, start=1):
        text = sheet.extract_text()
        for t, r in re.findall(r"QT(\d+)R(\d+)Q", text):
            rows[int(t)][number].append(int(r))
        for t in re.findall(r"QH(\d+)Q", text):
            headings[int(t)] = number
        for t in re.findall(r"QN(\d+)Q", text):
            notes[int(t)] = number
    assert len(reader.pages) >= 5
    for t, (name, count) in enumerate(tables):
        pages = rows[t]
        assert sorted(r for found in pages.values() for r in found) == list(range(count)), \
            f"{name}: every row printed once"
        if len(pages) > 1:
            lone = {n: found for n, found in pages.items() if len(found) < 2}
            assert lone == {}, f"{name}: a page holds a single row of it"
        assert headings.get(t) == min(pages), f"{name}: heading apart from its first row"
        if t in notes:  # a table's notes print after its last rows, never on a page alone
            assert len(pages.get(notes[t], [])) >= min(2, count), f"{name}: notes alone"
    # Pages that continue a table exist (the check above had something to check).
    assert any(len(pages) > 1 for pages in rows.values())
    landscape = [n for n, sheet in enumerate(reader.pages, start=1)
                 if sheet.mediabox.width > sheet.mediabox.height]
    if which == "report":
        assert landscape, "the scorecard's section prints across the long side"


@pytest.mark.parametrize("case", ["39 months", "8 quarters", "nothing"])
def test_chart_text_on_a_phone_for_other_ranges(chromium, case, tmp_path):
    """Many periods (ticks thinned for a phone), quarters, and an empty range (the charts'
    messages) read at 12 px or more too, with nothing to scroll sideways."""
    from tests.helpers import make_xlsx, minimal_sheets

    if case == "nothing":
        book = ExcelSource(make_xlsx(tmp_path / "empty.xlsx", minimal_sheets())).read()
        stats = compute(book, end=END)
    else:
        book = ExcelSource(ROOT / "workbooks" / "referrals.xlsx").read()
        stats = (compute(book, start=dt.date(2023, 9, 1), end=END, by="month")
                 if case == "39 months" else compute(book, end=END, by="quarter"))
    path = tmp_path / "report.html"
    path.write_text(render_html(stats, made_on=END), encoding="utf-8")
    page, problems = _open(chromium, path, PHONE)
    texts = page.evaluate(CHART_TEXT)
    assert {t["chart"] for t in texts} == set(CHARTS)
    assert [t for t in texts if t["px"] < SMALLEST_TEXT_PX] == []
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE
    assert page.evaluate(CELLS_OUTSIDE) == []
    assert problems == []
