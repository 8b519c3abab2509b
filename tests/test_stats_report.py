"""The stats report (one self-contained HTML page with charts) and the stats workbook, on the
sample practice and on hostile names.

The page is parsed to prove it loads nothing from outside and escapes what the workbook says,
then opened in headless Chromium (Debian's, driven by Playwright) at desktop and phone width:
every chart must draw something, nothing may fail to load, nothing may log an error, and the
page must not scroll sideways on a phone. The workbook is read back with openpyxl, its chart
parts are counted in the zip, and LibreOffice opens it.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import shutil
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from refdesk.sources.excel import ExcelSource
from refdesk.stats import Stats, compute
from refdesk.stats.charts import period_ticks
from refdesk.stats.html import render_html
from refdesk.stats.workbook import write_xlsx
from tests.conftest import ROOT
from tests.helpers import make_xlsx, minimal_sheets, row

END = dt.date(2026, 11, 23)
MADE = dt.date(2026, 11, 23)
CHARTS = ("sources", "conversion", "referrers", "pipeline")
HOSTILE = "Smith & Jones <Clinic>"
CHROMIUM = Path("/usr/bin/chromium")
#: Debian's Chromium on a machine without a display, network or GPU: without the background
#: networking switches it stalls on connections that are refused here.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def stats() -> Stats:
    book = ExcelSource(ROOT / "workbooks" / "referrals.xlsx").read()
    return compute(book, end=END, by="month")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Stats:
    """A practice whose provider, practice and the words a client used are all hostile."""
    s = minimal_sheets()
    s["Providers"] += [
        row("Providers", provider_id="P1", name=HOSTILE, practice="A&B \"Care\" 'Ltd'",
            specialty="<b>neurology</b>", stage="referring"),
        row("Providers", provider_id="P2", name="$x^2$ \\n Dr. Math", stage="referring"),
        row("Providers", provider_id="P3", name="</script><script>alert(2)</script>",
            stage="prospect")]
    s["Clients"] += [
        row("Clients", client_id="C1", first_name="A", last_name="B", source="doctor",
            source_detail="<script>alert(1)</script>", first_visit=dt.datetime(2026, 10, 3)),
        row("Clients", client_id="C2", first_name="C", last_name="D", source="doctor",
            first_visit=dt.datetime(2026, 10, 9))]
    s["Referrals"] += [
        row("Referrals", referral_id="R1", received_on=dt.datetime(2026, 10, 1),
            provider_id="P1", client_id="C1", first_visit=dt.datetime(2026, 10, 3),
            status="in care"),
        row("Referrals", referral_id="R2", received_on=dt.datetime(2026, 10, 2),
            provider_id="P2", client_id="C2", first_visit=dt.datetime(2026, 10, 9),
            status="in care")]
    path = make_xlsx(tmp_path_factory.mktemp("hostile") / "hostile.xlsx", s)
    return compute(ExcelSource(path).read(), end=END)


@pytest.fixture(scope="module")
def empty(tmp_path_factory: pytest.TempPathFactory) -> Stats:
    path = make_xlsx(tmp_path_factory.mktemp("empty") / "empty.xlsx", minimal_sheets())
    return compute(ExcelSource(path).read(), end=END)


class Page(HTMLParser):
    """The parsed page: every start tag with its attributes, the text, and where it sits."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.cells: list[str] = []
        self.styles: list[str] = []
        self._open: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in ("td", "th", "style", "script", "text", "tspan"):
            self._open.append(tag)
            if tag in ("td", "th"):
                self.cells.append("")

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1] == tag:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._open and self._open[-1] in ("td", "th"):
            self.cells[-1] += data
        if self._open and self._open[-1] == "style":
            self.styles.append(data)

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for t, attrs in self.tags if t == tag]


# -- the page, parsed --------------------------------------------------------------------------

def test_the_page_loads_nothing_from_outside(stats):
    page = Page(render_html(stats, "Calm Hands", made_on=MADE))
    loading = ("src", "href", "xlink:href", "srcset", "poster", "data", "action", "background")
    for tag, attrs in page.tags:
        for name in loading:
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//", "ftp:")), (tag, name, value)
            if value and tag in ("a",):
                assert value.startswith("#"), value
    assert not [a for a in page.named("link")], "no stylesheet or font is linked"
    assert not [t for t, _ in page.tags if t in ("iframe", "img", "object", "embed", "video")]
    scripts = page.named("script")
    assert all(not s.get("src") for s in scripts)
    css = "\n".join(page.styles)
    assert "@import" not in css and "url(" not in css and "@font-face" not in css
    assert page.named("meta") and any(m.get("name") == "viewport" for m in page.named("meta"))
    assert "@media print" in css and "@page" in css


def test_the_page_shows_every_table_its_notes_and_help(stats):
    text = render_html(stats, made_on=MADE)
    page = Page(text)
    words = " ".join(page.text)
    for table in stats.tables.values():
        assert table.title in words, table.key
        assert page_has_id(page, f"table-{table.key}")
        if table.note:
            assert table.note in words
        for column in table.columns:
            if column.help:
                assert column.help in words
    assert [a.get("data-chart") for a in page.named("figure")] == [
        "sources", "conversion", "referrers", "pipeline"]
    assert len(page.named("svg")) == 8, "each chart drawn for the page and for a phone"
    for figure in ("New clients", "Referrals received", "Conversion",
                   "Median days to first visit", "Active referrers", "Sent by a doctor"):
        assert figure in words
    assert "156" in words and "96%" in words and "70%" in words
    assert "1 December 2025 to 23 November 2026, by month" in words
    assert "Made on 23 November 2026 from referrals.xlsx" in words
    # Long tables sit folded; the figures per period do not.
    folded = re.findall(r'id="table-(\w+)"><details>', text)
    assert "pipeline_providers" in folded and "source_details" in folded
    assert "referrals" not in folded and "sources" not in folded


def page_has_id(page: Page, name: str) -> bool:
    return any(attrs.get("id") == name for _, attrs in page.tags)


def test_ids_are_unique_across_the_charts(stats):
    page = Page(render_html(stats, made_on=MADE))
    ids = [attrs["id"] for _, attrs in page.tags if attrs.get("id")]
    assert len(ids) == len(set(ids))
    refs = re.findall(r'url\(#([^)]+)\)|href="#([^"]+)"', render_html(stats, made_on=MADE))
    for ref in {a or b for a, b in refs}:
        assert ref in ids, ref


def test_workbook_values_are_escaped_everywhere(hostile):
    text = render_html(hostile, "A & B <Massage>", made_on=MADE)
    page = Page(text)
    assert HOSTILE in page.cells
    assert "<clinic>" not in {t for t, _ in page.tags}
    assert "<b>neurology</b>" in page.cells, "a specialty's <b> is text, not bold"
    assert len(page.named("script")) == 1, "only the page's own script"
    assert "<script>alert(1)</script>" in page.cells
    assert "&lt;Clinic&gt;" in text and "Smith &amp; Jones" in text
    assert re.search(r'<td class="name text" data-label="Practice">A&amp;B &quot;Care&quot; '
                     r"&#x27;Ltd&#x27;</td>", text)
    assert "A & B <Massage>" in " ".join(page.text)
    # The chart shows the names as typed: not markup, not matplotlib's math.
    svg = text[text.index('data-chart="referrers"'):]
    svg = svg[:svg.index("</figure>")]
    assert "Smith &amp; Jones &lt;Clinic&gt;" in svg
    assert "$x^2$" in svg


def test_empty_figures_say_so(empty):
    words = " ".join(Page(render_html(empty, made_on=MADE)).text)
    for message in ("No new clients in this range.", "No referrals received in this range.",
                    "No provider referred in this range.",
                    "No providers in the Providers sheet yet."):
        assert message in words
    assert "None in this range." in words


def test_many_periods_do_not_crowd_the_axis(stats):
    book = ExcelSource(ROOT / "workbooks" / "referrals.xlsx").read()
    long = compute(book, start=dt.date(2023, 9, 1), end=END, by="month")
    assert len(long.periods) == 39
    ticks = period_ticks(long.periods, "month")
    shown = [t for t in ticks if t]
    assert len(shown) <= 13
    assert [t.split("\n")[0] for t in shown[:3]] == ["Oct", "Jan", "Apr"]
    assert "Jan\n2024" in shown and "Jan\n2026" in shown
    assert period_ticks(["2025-12", "2026-01", "2026-02"], "month") == [
        "Dec", "Jan\n2026", "Feb"]
    assert period_ticks(["2026 Q3", "2026 Q4"], "quarter") == ["Q3\n2026", "Q4"]
    text = render_html(long, made_on=MADE)
    assert text.count("<svg") == 8


# -- the workbook ------------------------------------------------------------------------------

def _sheets(stats: Stats) -> list[str]:
    from refdesk.stats.workbook import _sheet_names

    return ["Summary", *_sheet_names(stats).values()]


def _chart_kinds(path: Path) -> list[str]:
    kinds = []
    with zipfile.ZipFile(path) as zf:
        for name in sorted(n for n in zf.namelist() if re.match(r"xl/charts/chart\d+\.xml$", n)):
            xml = zf.read(name).decode("utf-8")
            kind = re.search(r'<c:barDir val="(\w+)"/>', xml)
            grouping = re.search(r'<c:grouping val="(\w+)"/>', xml)
            line = "+line" if "<c:lineChart>" in xml else ""
            kinds.append(f"{kind.group(1) if kind else '?'}:"
                         f"{grouping.group(1) if grouping else '?'}{line}")
    return sorted(kinds)


def test_the_stats_workbook(stats, tmp_path):
    import openpyxl

    path = tmp_path / "stats.xlsx"
    write_xlsx(stats, path, "Calm Hands", made_on=MADE)
    assert [p.name for p in tmp_path.iterdir()] == ["stats.xlsx"], "no temporary file left"
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == _sheets(stats)
    assert wb.sheetnames[1:4] == ["Referrals", "Sources", "Source details"]

    summary = wb["Summary"]
    values = {r[0]: r[1] for r in summary.iter_rows(values_only=True) if r[0]}
    assert values["New clients"] == 156
    assert values["Referrals received"] == 186
    assert values["Conversion"] == pytest.approx(0.9624)
    assert values["1 December 2025 to 23 November 2026, by month"] is None
    conversion_row = next(r for r in summary.iter_rows() if r[0].value == "Conversion")
    assert conversion_row[1].number_format == "0%"

    for key, table in stats.tables.items():
        ws = wb[_sheets(stats)[list(stats.tables).index(key) + 1]]
        assert ws["A1"].value == table.title
        assert [c.value for c in ws[3]] == [c.label for c in table.columns]
        assert ws["A3"].font.b
        assert ws.freeze_panes == "A4"
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A3:")
        body = list(ws.iter_rows(min_row=4, values_only=True))
        assert len(body) == len(table.rows) + (table.total is not None)
        for c, column in enumerate(table.columns):
            if column.help:
                assert ws.cell(3, c + 1).comment.text == column.help
            for r, source in enumerate(table.rows):
                cell = ws.cell(4 + r, c + 1)
                value = source.get(column.key)
                if value is None:
                    assert cell.value is None
                elif column.kind == "date":
                    assert isinstance(cell.value, dt.datetime) and cell.value.date() == value
                    assert cell.number_format == "yyyy-mm-dd"
                elif column.kind == "pct":
                    assert cell.value == pytest.approx(value) and cell.number_format == "0%"
                elif column.kind == "text":
                    assert cell.value == str(value) and cell.data_type == "s"
                else:
                    assert cell.value == pytest.approx(value)
        if table.total is not None:
            total = ws.cell(4 + len(table.rows), 1)
            assert total.font.b
            assert ws.auto_filter.ref.endswith(str(3 + len(table.rows))), "total not filtered"

    # The providers' dates are real dates.
    providers = wb["Providers"]
    assert isinstance(providers["F4"].value, dt.datetime)

    assert _chart_kinds(path) == sorted(["col:stacked", "col:clustered+line", "bar:clustered",
                                         "bar:clustered"])
    with zipfile.ZipFile(path) as zf:
        drawing = zf.read("xl/drawings/drawing1.xml").decode()
        rels = zf.read("xl/worksheets/_rels/sheet1.xml.rels").decode()
    assert drawing.count("<c:chart ") == 4 and "drawing1.xml" in rels, "charts on Summary"


def test_workbook_text_never_becomes_a_formula(stats, tmp_path):
    import openpyxl

    hostile = copy.deepcopy(stats)
    providers = hostile.tables["providers"].rows
    providers[0]["provider"] = "=1+1"
    providers[1]["practice"] = "@SUM(A1)"
    providers[2]["provider"] = "http://example.com/x"
    hostile.tables["reciprocity"].rows[0]["provider"] = "=HYPERLINK(\"x\")"
    path = tmp_path / "stats.xlsx"
    write_xlsx(hostile, path)
    wb = openpyxl.load_workbook(path)
    ws = wb["Providers"]
    assert ws["B4"].value == "=1+1" and ws["B4"].data_type == "s"
    assert ws["C5"].value == "@SUM(A1)"
    assert ws["B6"].value == "http://example.com/x" and ws["B6"].hyperlink is None
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if name.startswith("xl/worksheets/sheet"):
                assert "<f>" not in zf.read(name).decode(), name


def test_an_empty_range_writes_tables_and_no_charts(empty, tmp_path):
    import openpyxl

    path = tmp_path / "stats.xlsx"
    write_xlsx(empty, path)
    assert _chart_kinds(path) == []
    text = [c for r in openpyxl.load_workbook(path)["Summary"].iter_rows(values_only=True)
            for c in r if isinstance(c, str)]
    assert "New clients by source: no data in this range." in text


def test_a_failed_write_leaves_the_old_file(stats, tmp_path, monkeypatch):
    from refdesk.stats import workbook

    path = tmp_path / "stats.xlsx"
    path.write_bytes(b"the previous stats")

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk gone")

    monkeypatch.setattr(workbook, "_write_summary", broken)
    with pytest.raises(RuntimeError):
        write_xlsx(stats, path)
    assert path.read_bytes() == b"the previous stats"
    assert [p.name for p in tmp_path.iterdir()] == ["stats.xlsx"]


def test_libreoffice_opens_the_workbook(stats, tmp_path, soffice):
    from refdesk.office import convert

    path = tmp_path / "stats.xlsx"
    write_xlsx(stats, path, "Calm Hands", made_on=MADE)
    (pdf,) = convert([path], "pdf", tmp_path / "out")
    assert pdf.stat().st_size > 20_000
    pdftotext = shutil.which("pdftotext")
    if pdftotext:
        import subprocess

        text = subprocess.run([pdftotext, "-layout", str(pdf), "-"], capture_output=True,
                              text=True, check=True).stdout
        assert "Referral stats" in text and "New clients by source" in text
        assert "Referrals received, and how many reached a first visit" in text
