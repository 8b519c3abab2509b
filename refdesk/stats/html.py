"""The stats as one HTML page with charts, for people who would rather look than read.

The page stands alone: its styles are inline and its charts are inline SVG drawn by
matplotlib (refdesk.stats.charts), so it opens without a network and can be mailed to an
accountant as one file. It reads on a phone: each chart is drawn a second time at a phone's
size, so its text stays at 12 px or more, and a table too wide for the screen turns each row
into a card of labelled figures, so no figure hides off to the side. It prints on A4 or Letter
(sections run on, charts never cut, a table never leaves a row alone on a page, figures at
their headers' size). Every value that comes from the workbook is HTML-escaped.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
from pathlib import PurePath
from typing import Any

from refdesk import characters
from refdesk.stats.charts import render_charts
from refdesk.stats.model import Column, Stats, StatTable, cell_text

#: Tables longer than this sit folded in a <details> block; these ones always do.
FOLD_AFTER_ROWS = 25
ALWAYS_FOLDED = {"source_details", "pipeline_providers"}
#: The figures per period and per stage stay open however many periods there are.
NEVER_FOLDED = {"sources", "referrals", "pipeline", "revenue", "scorecard"}

#: The report's sections: a heading, a sentence, the charts and the tables in it. A table the
#: list does not name goes into a last section, so the page always shows every table.
SECTIONS: list[tuple[str, str, str, tuple[str, ...], tuple[str, ...]]] = [
    ("sources", "Where new clients come from",
     "Each new client's answer to \u201cwho referred you?\u201d, by the period of their "
     "first visit.", ("sources",), ("sources", "source_details")),
    ("referrals", "Referrals and how many became clients",
     "Referrals received per period, how many reached a first visit, and how quickly.",
     ("conversion",), ("referrals",)),
    ("revenue", "What referrals bring in",
     "Fees and payments of the visits that referrals led to, and what reaching out to "
     "referrers cost, so you see which relationships pay.", (),
     ("revenue", "revenue_providers", "revenue_specialties", "outreach")),
    ("providers", "Who refers",
     "The providers and specialties that sent referrals in the range.",
     ("referrers",), ("providers", "specialties")),
    ("scorecard", "Scorecard",
     "Each referring provider at a glance, with a light against their own recent average.",
     (), ("scorecard",)),
    ("relationships", "Keeping referrers",
     "Who has gone quiet, and how the referring goes both ways.", (),
     ("activity", "reciprocity")),
    ("pipeline", "The pipeline",
     "Every provider in the Providers sheet, by the stage of the relationship.",
     ("pipeline",), ("pipeline", "pipeline_providers")),
    ("clients", "Clients who refer", "New clients sent by clients who came before them.", (),
     ("client_referrers", "diagnoses")),
]

NUMERIC_KINDS = {"int", "number", "money", "pct", "days", "delta"}
#: Tables with more columns than this print in a smaller type, to fit the page's width.
WIDE_COLUMNS = 10
#: Columns of names, kept wide enough that a name does not break over four lines.
NAME_KEYS = {"provider", "practice", "detail", "description"}
#: The column that heads a row's card on a phone, in order of preference (else the first).
LEAD_KEYS = ("provider", "period", "source", "specialty", "stage", "detail", "client",
             "client_id", "description")
#: The scorecard's lights: each shown as a dot in its colour beside its word.
LIGHTS = {"green": "#2E7D4F", "amber": "#C98A10", "red": "#B83A3A"}
#: The width a table may take on a 390 px phone (13 px type) and on a desktop (14 px type, the
#: page at most 1040 px wide), after the page's padding and the box's border; the average
#: width of a character; a cell's padding. Measured on Chromium: a table's narrowest layout
#: comes within 3% of this estimate.
PHONE_PX, DESKTOP_PX = 362, 990
PHONE_CHAR_PX, DESKTOP_CHAR_PX = 7.7, 8.3
PHONE_PADDING_PX, DESKTOP_PADDING_PX = 15, 20


def render_html(stats: Stats, practice_name: str | None = None, *,
                made_on: dt.date | None = None) -> str:
    """The whole report: header, headline cards, then each section's charts and tables."""
    made_on = made_on or dt.date.today()
    stats = _shown(stats)
    charts = render_charts(stats)
    body: list[str] = [_header(stats, practice_name, made_on), _cards(stats), _nav(stats)]
    placed: set[str] = set()
    for anchor, heading, intro, chart_keys, table_keys in SECTIONS:
        tables = [stats.tables[k] for k in table_keys if k in stats.tables]
        if not tables and not chart_keys:
            continue
        parts = [charts[k] for k in chart_keys]
        parts += [_table(t) for t in tables]
        placed.update(t.key for t in tables)
        body.append(_section(anchor, heading, intro, parts, _wide(tables)))
    rest = [t for k, t in stats.tables.items() if k not in placed]
    if rest:
        body.append(_section("more", "More figures", "", [_table(t) for t in rest],
                             _wide(rest)))
    body.append(_footer(stats))
    title = "Referral report" + (f" \u2014 {practice_name}" if practice_name else "")
    return PAGE.format(title=_e(title), style=STYLE, script=SCRIPT, body="\n".join(body))


def _shown(stats: Stats) -> Stats:
    """`stats` with every text as the page shows it: a character HTML and SVG cannot hold
    (a control character pasted into a name) as U+FFFD, seen instead of lost or breaking the
    charts (refdesk.characters)."""
    def row(values: dict[str, Any]) -> dict[str, Any]:
        return {k: characters.shown(v) if isinstance(v, str) else v for k, v in values.items()}

    tables = {key: dataclasses.replace(t, rows=[row(r) for r in t.rows],
                                       total=row(t.total) if t.total is not None else None)
              for key, t in stats.tables.items()}
    return dataclasses.replace(stats, tables=tables, headline=row(stats.headline))


# -- the page's parts --------------------------------------------------------------------------

def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _long_date(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


def source_name(source: str) -> str:
    """The workbook's file name (a full path says more about the computer than the practice),
    or the source as it names itself (a Google Sheet)."""
    if source.lower().endswith((".xlsx", ".xlsm", ".xls")):
        return PurePath(source).name
    return source


def _header(stats: Stats, practice_name: str | None, made_on: dt.date) -> str:
    practice = (f'<p class="practice">{_e(practice_name)}</p>' if practice_name else "")
    return (f'<header class="top">{practice}<h1>Referral report</h1>'
            f'<p class="range">{_e(_long_date(stats.start))} to {_e(_long_date(stats.end))}'
            f', by {_e(stats.by)}</p>'
            f'<p class="made">Made on {_e(_long_date(made_on))} from '
            f'{_e(source_name(stats.source))}</p></header>')


def _days(value: float | None) -> str:
    if value is None:
        return "\u2013"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _cards(stats: Stats) -> str:
    h = stats.headline
    referring = h.get("referring_providers")
    reached = h.get("reached")
    cards = [
        ("New clients", cell_text(h.get("new_clients"), "int") or "0",
         "first visit in the range"),
        ("Referrals received", cell_text(h.get("referrals"), "int") or "0",
         f"from {referring:,} provider{'s' if referring != 1 else ''}"
         if referring is not None else ""),
        ("Conversion", cell_text(h.get("conversion"), "pct") or "\u2013",
         f"{reached:,} reached a first visit" if reached is not None else ""),
        ("Median days to first visit", _days(h.get("median_days")),
         "from the referral to the first visit"),
        ("Active referrers", cell_text(h.get("active_referrers"), "int") or "0",
         f"{h.get('dormant_referrers') or 0:,} dormant: none in "
         f"{stats.dormant_after_days} days"),
        ("Sent by a doctor", cell_text(h.get("doctor_share"), "pct") or "\u2013",
         "of new clients"),
    ]
    items = "".join(f'<div class="card"><div class="label">{_e(label)}</div>'
                    f'<div class="figure">{_e(value)}</div>'
                    f'<div class="sub">{_e(sub)}</div></div>' for label, value, sub in cards)
    return f'<section class="cards" aria-label="Headline figures">{items}</section>'


def _nav(stats: Stats) -> str:
    links = [(a, heading) for a, heading, _, charts, tables in SECTIONS
             if charts or any(k in stats.tables for k in tables)]
    items = "".join(f'<li><a href="#{a}">{_e(h)}</a></li>' for a, h in links)
    return f'<nav class="toc" aria-label="Sections"><ol>{items}</ol></nav>'


def _wide(tables: list[StatTable]) -> bool:
    return any(len(t.columns) > WIDE_COLUMNS for t in tables)


def _section(anchor: str, heading: str, intro: str, parts: list[str], wide: bool = False
             ) -> str:
    """A section; one holding a table of many columns prints on landscape pages, its heading
    with it."""
    lead = f'<p class="intro">{_e(intro)}</p>' if intro else ""
    cls = "part landscape" if wide else "part"
    return (f'<section class="{cls}" id="{anchor}"><h2>{_e(heading)}</h2>{lead}'
            + "\n".join(parts) + "</section>")


def _cell(value: Any, column: Column, lead: bool = False, long: bool = False) -> str:
    text = cell_text(value, column.kind)
    content = _e(text)
    classes = []
    if column.kind in NUMERIC_KINDS:
        classes.append("num")
    if column.kind == "date" or column.key == "period":
        classes.append("nowrap")
    if column.key in NAME_KEYS:
        classes.append("name")
    if column.kind == "delta" and isinstance(value, int | float) and value:
        classes.append("up" if value > 0 else "down")
    if lead:
        classes.append("lead")
    elif long:  # a name or a sentence: a line of its own in a phone's card
        classes.append("text")
        if column.key not in NAME_KEYS and len(text) > 40:
            # Wide enough to read as a sentence, not a word a line (a cell's own min-width
            # is ignored by table layout; its content's is not).
            content = f'<div class="sentence">{content}</div>'
    if column.key == "light" and text in LIGHTS:
        # Never colour alone: the dot goes with its word.
        classes.append(f"light light-{text}")
        content = f'<span class="dot" aria-hidden="true"></span>{content}'
    attr = f' class="{" ".join(classes)}"' if classes else ""
    return f'<td{attr} data-label="{_e(column.label)}">{content}</td>'


def _lead(table: StatTable) -> str:
    """The column whose value heads a row's card on a phone."""
    keys = [c.key for c in table.columns]
    return next((k for k in LEAD_KEYS if k in keys), keys[0] if keys else "")


def narrowest(table: StatTable) -> int:
    """The characters of a table's narrowest layout: each column as wide as its longest word
    (a figure or a date is one word; a header's footnote mark counts one)."""
    rows = [*table.rows, *([table.total] if table.total is not None else [])]
    chars = 0
    for c in table.columns:
        values = [cell_text(r.get(c.key), c.kind) for r in rows]
        words = [*c.label.split(), ""]
        if c.kind in NUMERIC_KINDS or c.kind == "date" or c.key == "period":
            words += values
        else:
            words += " ".join(values).split()
        chars += max(len(w) for w in words) + (1 if c.help else 0)
    return chars


def fits(table: StatTable, phone: bool) -> bool:
    """Whether the table, as a table, fits a 390 px phone's screen, or a desktop's page."""
    if phone:
        width = narrowest(table) * PHONE_CHAR_PX + PHONE_PADDING_PX * len(table.columns)
        return width <= PHONE_PX
    width = narrowest(table) * DESKTOP_CHAR_PX + DESKTOP_PADDING_PX * len(table.columns)
    return width <= DESKTOP_PX


def _long_keys(table: StatTable) -> set[str]:
    """The text columns that hold names or sentences rather than a word or two."""
    return {c.key for c in table.columns if c.kind == "text" and (
        c.key in NAME_KEYS or any(len(str(r.get(c.key) or "")) > 18 for r in table.rows))}


def _row(table: StatTable, values: dict[str, Any], lead: str, long: set[str],
         classes: list[str]) -> str:
    attr = f' class="{" ".join(classes)}"' if classes else ""
    return (f"<tr{attr}>" + "".join(_cell(values.get(c.key), c, c.key == lead, c.key in long)
                                    for c in table.columns) + "</tr>")


def _body(table: StatTable, lead: str, notes: str) -> str:
    """The rows in row groups that print unbroken: the first two and the last two with the
    total (a page never starts or ends a table with one row alone), the rest between. The
    table's notes follow its last rows as a row that only prints: a browser does not carry
    rows over to the next page to keep the notes after a table with them, so without it a
    page could hold nothing but notes."""
    long = _long_keys(table)
    rows = [_row(table, r, lead, long, ["even"] if i % 2 else [])
            for i, r in enumerate(table.rows)]
    if table.total is not None:
        rows.append(_row(table, table.total, lead, long, ["total"]))
    if notes:
        rows.append(f'<tr class="print-notes" aria-hidden="true">'
                    f'<td colspan="{len(table.columns)}">{notes}</td></tr>')
    if len(rows) <= 5 + bool(notes):
        groups = [rows]
    else:
        tail = 2 + (table.total is not None) + bool(notes)
        groups = [rows[:2], rows[2:-tail], rows[-tail:]]
    keep = {0, len(groups) - 1}
    return "".join(("<tbody class=\"keep\">" if i in keep else "<tbody>") + "".join(g)
                   + "</tbody>" for i, g in enumerate(groups) if g)


def _table(table: StatTable) -> str:
    """A table with its title, its column help as numbered footnotes (and as each header's
    tooltip), its total in bold and its note; long ones folded. On a phone, a table too wide
    for the screen shows each row as a card: its name, then each figure under its label."""
    helped = [c for c in table.columns if c.help]
    marks = {c.key: i for i, c in enumerate(helped, start=1)}
    head = []
    for c in table.columns:
        mark = f'<sup>{marks[c.key]}</sup>' if c.key in marks else ""
        tip = f' title="{_e(c.help)}"' if c.help else ""
        cls = ' class="num"' if c.kind in NUMERIC_KINDS else ""
        # A config key in a label (dormant_after_days) may break after its underscores.
        label = _e(c.label).replace("_", "_<wbr>")
        head.append(f'<th scope="col"{cls}{tip}>{label}{mark}</th>')
    classes = [name for name, on in (("wide", len(table.columns) > WIDE_COLUMNS),
                                     ("stack", not fits(table, phone=True)),
                                     ("stack-all", not fits(table, phone=False))) if on]
    attr = f' class="{" ".join(classes)}"' if classes else ""
    notes = ""
    if helped:
        notes = ('<ol class="footnotes">' + "".join(
            f"<li><b>{_e(c.label)}</b>: {_e(c.help)}</li>" for c in helped) + "</ol>")
    if table.note:
        notes += f'<p class="note">{_e(table.note)}</p>'
    if table.rows:
        grid = (f'<div class="table-box" tabindex="0" role="region" '
                f'aria-label="{_e(table.title)}"><table{attr}>'
                f'<thead><tr>{"".join(head)}</tr></thead>{_body(table, _lead(table), notes)}'
                "</table></div>")
        notes = f'<div class="notes">{notes}</div>' if notes else ""
    else:
        grid = '<p class="empty">None in this range.</p>'
    count = f'<span class="count">{len(table.rows):,} row{"s" if len(table.rows) != 1 else ""}' \
            '</span>'
    box = "stat-table"
    if table.key in ALWAYS_FOLDED or (len(table.rows) > FOLD_AFTER_ROWS
                                      and table.key not in NEVER_FOLDED):
        return (f'<div class="{box}" id="table-{_e(table.key)}"><details>'
                f'<summary><h3>{_e(table.title)}</h3> {count}</summary>'
                f"{grid}{notes}</details></div>")
    return (f'<div class="{box}" id="table-{_e(table.key)}"><h3>{_e(table.title)}</h3>'
            f"{grid}{notes}</div>")


def _footer(stats: Stats) -> str:
    return (
        '<footer class="bottom"><h2>How the figures are counted</h2><ul>'
        "<li>A <b>new client</b> is a client whose first visit falls in the range; their "
        "source is the Clients sheet\u2019s answer to \u201cwho referred you?\u201d.</li>"
        "<li>A <b>referral</b> counts in the period it was received. It <b>reached a first "
        "visit</b> when the client\u2019s first visit is recorded on or before the end of the "
        "range; <b>conversion</b> is that share.</li>"
        "<li>A referrer is <b>dormant</b> when their latest referral is more than "
        f"{stats.dormant_after_days} days before the end of the range, and <b>active</b> "
        "otherwise.</li>"
        "<li>Client names and diagnoses are left out unless the report was made with "
        "--with-names.</li></ul>"
        f'<p class="made">refdesk stats, {_e(_long_date(stats.start))} to '
        f"{_e(_long_date(stats.end))}.</p></footer>")


def _cards_css(table: str) -> str:
    """Rows as cards, for the tables matched by `table`: the row's name on top, then each
    figure after its label, wrapping as the screen allows."""
    rules = """
  T, T tbody { display: block; }
  T thead { position: absolute; width: 1px; height: 1px; overflow: hidden;
    clip-path: inset(50%); white-space: nowrap; }
  T tr { display: flex; flex-wrap: wrap; gap: 2px 14px; padding: 7px 10px;
    border-bottom: 1px solid var(--line); }
  T tr.even { background: #FBFCFD; }
  T tr.total { border-top: 2px solid var(--ink); border-bottom: none; }
  T td { display: block; padding: 0; border: none; text-align: left; background: none;
    min-width: 0; max-width: 100%; overflow-wrap: anywhere; font-weight: 600; }
  T tr.total td { border: none; }
  T td::before { content: attr(data-label) "\\00a0"; font-size: 12.5px; font-weight: 400;
    color: var(--muted); }
  T td.lead { flex-basis: 100%; order: -2; font-weight: 700; font-size: 15px; }
  T td.light { order: -1; }
  T td.lead::before { content: none; }
  T td.text { flex-basis: 100%; }
  T td:empty { display: none; }
  T div.sentence { min-width: 0; display: inline; }
"""
    return rules.replace("T ", table + " ").replace("T,", table + ",")


# -- the page ----------------------------------------------------------------------------------

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
<main class="report">
{body}
</main>
<script>{script}</script>
</body>
</html>
"""

#: The only script: folded tables unfold for printing (no browser prints a closed <details>).
SCRIPT = ("addEventListener('beforeprint',function(){"
          "document.querySelectorAll('details').forEach(function(d){d.open=true;});});")

STYLE = """
:root { --ink: #243040; --muted: #5B6776; --line: #E3E7EC; --soft: #F4F6F8;
  --accent: #2F6690; --up: #2E7D4F; --down: #A23B3B; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body { margin: 0; background: #FAFBFC; color: var(--ink);
  font: 15px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue",
    Arial, "Noto Sans", "DejaVu Sans", sans-serif; }
.report { max-width: 1040px; margin: 0 auto; padding: 28px 20px 40px; background: #fff; }
.top { border-bottom: 3px solid var(--accent); padding-bottom: 14px; margin-bottom: 20px; }
.top .practice { margin: 0; font-size: 15px; font-weight: 600; letter-spacing: .04em;
  text-transform: uppercase; color: var(--accent); }
h1 { margin: 2px 0 4px; font-size: 30px; line-height: 1.2; }
.top .range { margin: 0; font-size: 17px; }
.made { margin: 2px 0 0; color: var(--muted); font-size: 13px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px;
  margin: 0 0 18px; }
.card { background: var(--soft); border: 1px solid var(--line); border-radius: 8px;
  padding: 12px 14px; border-top: 3px solid var(--accent); }
.card .label { font-size: 13px; color: var(--muted); }
.card .figure { font-size: 28px; font-weight: 700; line-height: 1.2;
  font-variant-numeric: tabular-nums; }
.card .sub { font-size: 12px; color: var(--muted); }
.toc ol { list-style: none; margin: 0 0 8px; padding: 0; display: flex; flex-wrap: wrap;
  gap: 6px 16px; font-size: 14px; }
.toc a { color: var(--accent); }
.part { margin-top: 30px; }
h2 { font-size: 22px; margin: 0 0 4px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
.intro { margin: 4px 0 12px; color: var(--muted); }
h3 { font-size: 17px; margin: 22px 0 8px; display: inline; }
.stat-table { margin-top: 22px; }
.stat-table > h3 { display: block; }
details > summary { cursor: pointer; }
details > summary h3 { margin: 0; }
.count { color: var(--muted); font-size: 13px; }
.chart { margin: 12px 0 6px; padding: 0; max-width: 720px; }
.chart-svg { display: block; width: 100%; height: auto; }
.chart-svg.for-phone { display: none; }
figcaption { font-size: 13px; color: var(--muted); text-align: center; margin-top: 2px; }
.table-box { overflow-x: auto; max-width: 100%; border: 1px solid var(--line);
  border-radius: 6px; }
table { border-collapse: collapse; width: 100%; font-size: 14px;
  font-variant-numeric: tabular-nums; }
th, td { padding: 6px 10px; text-align: left; vertical-align: top;
  border-bottom: 1px solid var(--line); }
thead th { background: var(--soft); font-weight: 600; font-size: 13px; vertical-align: bottom; }
th[title] { cursor: help; }
th sup { color: var(--accent); font-weight: 600; margin-left: 1px; }
tr.even td { background: #FBFCFD; }
@media screen { table tr.print-notes { display: none !important; } }
tr.total td { font-weight: 700; border-top: 2px solid var(--ink); border-bottom: none; }
td.light { white-space: nowrap; }
.light .dot { display: inline-block; width: .8em; height: .8em; border-radius: 50%;
  margin-right: .4em; vertical-align: -.05em; border: 1px solid rgba(0,0,0,.25); }
.light-green .dot { background: #2E7D4F; }
.light-amber .dot { background: #C98A10; }
.light-red .dot { background: #B83A3A; }
.num { text-align: right; white-space: nowrap; }
th.num { white-space: normal; }
.name { min-width: 9em; }
.nowrap { white-space: nowrap; }
div.sentence { min-width: 14em; }
td.up { color: var(--up); }
td.down { color: var(--down); }
.footnotes { margin: 8px 0 0; padding-left: 22px; font-size: 12.5px; color: var(--muted); }
.note { font-size: 13px; color: var(--muted); margin: 6px 0 0; }
.empty { color: var(--muted); font-style: italic; }
.bottom { margin-top: 36px; padding-top: 8px; border-top: 1px solid var(--line);
  font-size: 13px; color: var(--muted); }
.bottom h2 { font-size: 15px; border: none; color: var(--ink); }
.bottom ul { padding-left: 20px; }
@media screen and (max-width: 600px) {
  body { font-size: 14px; }
  .report { padding: 16px 12px 28px; }
  h1 { font-size: 24px; }
  h2 { font-size: 19px; }
  .cards { grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 8px; }
  .card { padding: 10px; }
  .card .figure { font-size: 22px; }
  table { font-size: 13px; }
  th, td { padding: 5px 7px; }
  /* Each chart's phone drawing, whose text reads at 14 px on a 390 px screen. */
  .chart-svg.for-wide { display: none; }
  .chart-svg.for-phone { display: block; max-width: 440px; margin: 0 auto; }
}
@page { margin: 14mm 12mm; }
/* A table of many columns prints across the page's long side. */
@page landscape { size: landscape; margin: 12mm 12mm; }
@media print {
  body { background: #fff; font-size: 10.5pt; }
  .report { max-width: none; padding: 0; }
  .toc, details > summary .count { display: none; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .part { margin-top: 0; }
  /* Sections follow on from each other, so a table's last rows never sit alone on a page
     of their own; a heading and its sentence stay with what follows them. */
  .part ~ .part { margin-top: 16pt; }
  .part > .intro { break-after: avoid; }
  .chart, .card, .cards, tr, h2, h3, .footnotes li { break-inside: avoid; }
  /* The first two rows and the last two with the total stay together: no page holds a
     table's one orphan row. */
  tbody.keep { break-inside: avoid; }
  /* A table's notes print in its last row group, with its last rows. */
  .stat-table .notes { display: none; }
  tr.print-notes { display: table-row; }
  tr.print-notes td { padding: 4px 0 0; border: none; background: none; }
  p, li { orphans: 2; widows: 2; }
  h2, h3, .stat-table > h3, summary { break-after: avoid; }
  .chart { max-width: 100%; }
  .chart-svg.for-wide { display: block; }
  .chart-svg.for-phone { display: none; }
  .chart-svg { max-height: 125mm; }
  .table-box { overflow: visible; border: none; }
  thead { display: table-header-group; }
  table { font-size: 8pt; }
  /* Figures print at their headers' size, never smaller. */
  thead th { font-size: inherit; }
  th, td { padding: 2px 4px; }
  th, th.num { white-space: normal; hyphens: auto; }
  .name { min-width: 0; }
  .landscape { page: landscape; }
  table.wide { font-size: 7.5pt; }
  table.wide th, table.wide td { padding: 2px 3px; }
  th { overflow-wrap: break-word; }
  details::details-content { content-visibility: visible; display: contents; }
  details > summary { list-style: none; }
  details > summary::-webkit-details-marker { display: none; }
  a { color: inherit; text-decoration: none; }
}
"""
# A table too wide for the screen shows each row as a card, so that every figure shows
# without scrolling sideways: on a phone, the tables too wide for a phone; on any screen, the
# ones too wide for the page. Printed, every table stays a table (a wide one prints landscape).
STYLE += ("@media screen {" + _cards_css("table.stack-all") + "}\n"
          "@media screen and (max-width: 600px) {" + _cards_css("table.stack") + "}\n")
