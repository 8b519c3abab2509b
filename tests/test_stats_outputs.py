"""How the stats read in each output: the conversion line's gap at a period without referrals,
the terminal at 80 columns, the stats workbook's count axes, money and lights, its printed
sheets, and the report's revenue and scorecard sections."""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.console import Console

from refdesk.sources.excel import ExcelSource
from refdesk.stats import Stats, compute
from refdesk.stats.charts import PHONE, WIDE, conversion_points, draw_conversion
from refdesk.stats.html import render_html
from refdesk.stats.model import Column, StatTable
from refdesk.stats.output import print_stats
from refdesk.stats.workbook import count_axis, write_xlsx
from tests.conftest import ROOT

END = dt.date(2026, 11, 23)
SAMPLE = ROOT / "workbooks" / "referrals.xlsx"


@pytest.fixture(scope="module")
def quarters() -> Stats:
    return compute(ExcelSource(SAMPLE).read(), start=dt.date(2025, 1, 1), end=END,
                   by="quarter")


@pytest.fixture(scope="module")
def months() -> Stats:
    return compute(ExcelSource(SAMPLE).read(), end=END, by="month")


def _small(periods: list[str], received: list[int], reached: list[int]) -> Stats:
    """Stats with only the per-period referrals table, as compute makes it."""
    columns = [Column("period", "Period"), Column("received", "Referrals", "int"),
               Column("reached", "Reached a first visit", "int"),
               Column("conversion", "Conversion", "pct")]
    rows = [{"period": p, "received": n, "reached": r, "conversion": r / n if n else None}
            for p, n, r in zip(periods, received, reached, strict=True)]
    total = {"period": "All", "received": sum(received), "reached": sum(reached),
             "conversion": sum(reached) / sum(received)}
    return Stats(start=dt.date(2026, 1, 1), end=dt.date(2026, 4, 30), by="month",
                 periods=periods, with_names=False, dormant_after_days=90, source="t.xlsx",
                 tables={"referrals": StatTable("referrals", "Referrals", columns, rows,
                                                total)})


# -- the conversion line -----------------------------------------------------------------------

def test_the_conversion_line_breaks_at_a_period_without_referrals():
    from matplotlib.figure import Figure

    stats = _small(["2026-01", "2026-02", "2026-03", "2026-04"], [3, 0, 2, 4], [3, 0, 1, 4])
    values = conversion_points(stats.tables["referrals"].rows)
    assert values[0] == 100 and values[2] == 50 and values[3] == 100
    assert math.isnan(values[1])
    for look in (WIDE, PHONE):
        fig = Figure(figsize=(look.width, 3))
        assert draw_conversion(fig, stats, look) is None
        (line,) = fig.axes[1].lines
        assert list(line.get_xdata()) == [0, 1, 2, 3], "every period has its place"
        y = list(line.get_ydata())
        assert math.isnan(y[1]), "no point at February: the line breaks there"
        assert y[0] == 100 and y[2] == 50
    # The SVG's line is two pieces: one move to its start, one after the gap.
    page = render_html(stats, made_on=END)
    svg = page[page.index('data-chart="conversion"'):]
    svg = svg[:svg.index("</svg>")]
    paths = re.findall(r'<path d="([^"]+)"[^>]*style="fill: none; stroke: #b5543c', svg)
    assert paths and paths[0].count("M") == 2, paths


def test_the_workbook_leaves_the_same_gap(tmp_path):
    import openpyxl

    stats = _small(["2026-01", "2026-02", "2026-03"], [3, 0, 2], [3, 0, 1])
    path = tmp_path / "stats.xlsx"
    write_xlsx(stats, path)
    assert openpyxl.load_workbook(path)["Referrals"]["D5"].value is None
    with zipfile.ZipFile(path) as zf:
        charts = [zf.read(n).decode() for n in zf.namelist() if n.startswith("xl/charts/")]
    # xlsxwriter writes dispBlanksAs only when it is not "gap", Excel's way with a blank.
    assert charts and not any(re.search(r'dispBlanksAs val="(zero|span)"', c) for c in charts)


# -- the terminal ------------------------------------------------------------------------------

def _terminal(stats: Stats, only: str | None = None, width: int = 80) -> str:
    console = Console(width=width, file=io.StringIO(), record=True, soft_wrap=False,
                      color_system=None)
    print_stats(stats, only=only, console=console)
    return console.export_text()


def _fits(text: str, width: int = 80) -> None:
    assert max(cell_len(line) for line in text.splitlines()) <= width
    assert "\u2026" not in text, "nothing cut short"


def test_the_terminal_at_80_columns_shows_each_quarter_whole(quarters):
    text = _terminal(quarters)
    _fits(text)
    for quarter in ("2025 Q1", "2025 Q2", "2025 Q3", "2025 Q4", "2026 Q1", "2026 Q2",
                    "2026 Q3", "2026 Q4"):
        assert re.search(rf"│ {quarter} +│ +\d+ │", text), quarter
    sources = text[text.index("New clients by source"):text.index("Referrals received,")]
    assert "Unknown" not in sources, "no source unrecorded: the column is left out"
    assert re.search(r"│ All +│ +160 │ +57 │ +31 │ +248 │ +65% │", sources)
    # The revenue and the scorecard in the summary, money whole.
    assert "$305,811.00" in text
    assert re.search(r"Elena Marquez +│ +0 │ +3 │ +19 │ +100% │ +\$15,906\.50 │ red", text)


def test_the_terminal_at_80_columns_by_month(months):
    text = _terminal(months)
    _fits(text)
    for period in months.periods:
        if any(r["period"] == period and r.get("total")
               for r in months.tables["sources"].rows):
            assert f"│ {period} │" in text, period


def test_a_table_too_wide_for_the_terminal_prints_each_row_as_figures(quarters):
    text = _terminal(quarters, "scorecard")
    _fits(text)
    table = quarters.tables["scorecard"]
    for r in table.rows:
        assert f"\n{r['provider']}\n" in text
    first = text[text.index("Elena Marquez"):text.index("\n", text.index("Why "))]
    for pair in ("Last 30 days 0", "Last 90 days 3", "Last 365 days 19", "Revenue $15,906.50",
                 "Light red", "Latest referral 2026-10-06"):
        assert pair in first, pair
    assert "Why no referral in the last 30 days" in first
    # Wide enough, it is a table again.
    wide = _terminal(quarters, "scorecard", width=400)
    assert "┃ Light" in wide and "Elena Marquez" in wide


def test_the_light_is_a_word_in_its_colour(quarters):
    console = Console(width=80, file=io.StringIO(), record=True, color_system="standard",
                      force_terminal=True)
    print_stats(quarters, only="scorecard", console=console)
    styled = console.export_text(styles=True)
    assert re.search(r"\x1b\[1;31mred\x1b\[0m", styled)
    assert re.search(r"\x1b\[1;32mgreen\x1b\[0m", styled)


# -- the workbook ------------------------------------------------------------------------------

def _major_units(path: Path) -> list[list[str]]:
    with zipfile.ZipFile(path) as zf:
        return [re.findall(r'<c:majorUnit val="([^"]+)"/>', zf.read(n).decode())
                for n in sorted(zf.namelist()) if re.match(r"xl/charts/chart\d+\.xml$", n)]


def test_count_axes_tick_on_whole_numbers(tmp_path, months):
    assert [count_axis(n)["major_unit"] for n in (0, 1, 2, 3, 8, 9, 16, 40, 100, 1234)] == [
        1, 1, 1, 1, 1, 2, 2, 5, 20, 200]
    small = _small(["2026-01", "2026-02", "2026-03"], [1, 2, 1], [1, 1, 0])
    path = tmp_path / "small.xlsx"
    write_xlsx(small, path)
    (units,) = _major_units(path)  # the referrals chart: counts by 1, conversion by 25%
    assert sorted(units) == ["0.25", "1"]
    path = tmp_path / "sample.xlsx"
    write_xlsx(months, path)
    every = [u for units in _major_units(path) for u in units]
    assert every and all(float(u).is_integer() for u in every if u != "0.25"), every
    assert "2" in every, "the sample's New clients, up to 16 a month, tick by 2"


def test_money_and_lights_in_the_workbook(tmp_path, months):
    import openpyxl

    path = tmp_path / "stats.xlsx"
    write_xlsx(months, path)
    wb = openpyxl.load_workbook(path)
    revenue = wb["Revenue"]
    headers = [c.value for c in revenue[3]]
    cell = revenue.cell(4, headers.index("Revenue") + 1)
    assert cell.number_format.startswith('"$"#,##0.00') and isinstance(cell.value, float)
    sheet = wb["Scorecard"]
    headers = [c.value for c in sheet[3]]
    light = headers.index("Light") + 1
    fills = {}
    for r in range(4, 4 + len(months.tables["scorecard"].rows)):
        cell = sheet.cell(r, light)
        fills[cell.value] = cell.fill.fgColor.rgb
    assert set(fills) <= {"green", "amber", "red"} and "red" in fills
    assert {fills[w] for w in fills} <= {"FFC6EFCE", "FFFFEB9C", "FFFFC7CE"}
    assert fills["red"] == "FFFFC7CE"
    providers = wb["Providers"]
    headers = [c.value for c in providers[3]]
    assert providers.cell(4, headers.index("Latest referral") + 1).alignment.horizontal == \
        "center"
    assert providers.cell(4, headers.index("Practice") + 1).alignment.indent == 1


def test_printed_providers_keep_figures_apart_from_dates(tmp_path, months, soffice):
    """Printed through LibreOffice, a right-aligned figure and the date or word in the next
    column stand apart by several spaces' width (a space between words is 1.4 pt here)."""
    from refdesk.office import convert

    pdftotext = shutil.which("pdftotext")
    if not pdftotext:
        pytest.skip("pdftotext is not installed")
    path = tmp_path / "stats.xlsx"
    write_xlsx(months, path, "Calm Hands", made_on=END)
    (pdf,) = convert([path], "pdf", tmp_path / "out")
    text = subprocess.run([pdftotext, "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    number = next(n for n, p in enumerate(text.split("\f"), start=1)
                  if "Referring providers" in p and "First referral" in p)
    boxes = subprocess.run([pdftotext, "-bbox", "-f", str(number), "-l", str(number),
                            str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    words = [(float(x0), float(y0), float(x1), w) for x0, y0, x1, w in re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>',
        boxes)]
    lines: dict[int, list[tuple[float, float, float, str]]] = {}
    for word in words:
        lines.setdefault(round(word[1]), []).append(word)
    pairs = []
    for line in lines.values():
        line.sort()
        for before, after in zip(line, line[1:], strict=False):
            if re.fullmatch(r"[\d.,%\u2212+-]+", before[3]) and re.fullmatch(
                    r"\d{4}-\d\d-\d\d|active|dormant", after[3]):
                pairs.append((before[3], after[3], after[0] - before[2]))
    assert len(pairs) >= 2 * len(months.tables["providers"].rows), pairs
    close = [p for p in pairs if p[2] < 3.5]
    assert close == []


# -- the report's new sections -----------------------------------------------------------------

def test_the_report_shows_revenue_and_the_scorecard(months):
    page = render_html(months, made_on=END)
    revenue = page[page.index('id="revenue"'):page.index('id="providers"')]
    for key in ("revenue", "revenue_providers", "revenue_specialties", "outreach"):
        assert f'id="table-{key}"' in revenue, key
    assert "What referrals bring in" in revenue
    assert re.search(r'<td class="num" data-label="Revenue">\$[\d,]+\.\d\d</td>', revenue)
    card = page[page.index('id="scorecard"'):page.index('id="relationships"')]
    assert "<h2>Scorecard</h2>" in card
    lights = re.findall(r'<td class="light light-(\w+)" data-label="Light">'
                        r'<span class="dot" aria-hidden="true"></span>(\w+)</td>', card)
    assert len(lights) == len(months.tables["scorecard"].rows)
    assert all(colour == word for colour, word in lights), "the word beside its dot"
    assert '<a href="#scorecard">Scorecard</a>' in page
