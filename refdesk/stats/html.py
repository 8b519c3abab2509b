"""The stats as one HTML page with charts, for people who would rather look than read.

The page stands alone: its styles are inline and its charts are inline SVG drawn by
matplotlib, so it opens without a network, can be mailed to an accountant as one file, reads on
a phone (the charts scale to the screen, wide tables scroll in their own box) and prints on A4
or Letter (a section a page, charts never cut). Every value that comes from the workbook is
HTML-escaped, and chart text is never read as matplotlib math, so `Smith & Jones <Clinic>` or
`$5 off` shows as typed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import io
import math
import re
from collections.abc import Callable
from pathlib import PurePath
from typing import Any

from refdesk import characters
from refdesk.schema import SOURCES, STAGES
from refdesk.stats.model import Column, Stats, StatTable, cell_text

#: One colour per source, the same in every chart of the report and of the stats workbook.
SOURCE_COLOURS = {"doctor": "#2F6690", "client": "#5E9E7E", "other": "#D9A441",
                  "not recorded": "#B5B9BE"}
#: The pipeline from first step to referring in deepening blue; the ways out in grey and rose.
STAGE_COLOURS = {"prospect": "#C9DCEB", "contacted": "#9BC0DB", "packet sent": "#5F97C2",
                 "referring": "#2F6690", "dormant": "#A7ADB4", "declined": "#C98A8A"}
RECEIVED_COLOUR = "#A9C4DA"
REACHED_COLOUR = "#2F6690"
RATE_COLOUR = "#B5543C"
DORMANT_COLOUR = "#A7ADB4"
INK = "#243040"
MUTED = "#5B6776"
GRID = "#E3E7EC"

#: The charts' width in inches: narrow enough that their text stays legible on a phone, where
#: they shrink to the screen's width.
WIDTH = 6.2
#: How many providers the top-referrers chart shows.
TOP_REFERRERS = 10
#: Tables longer than this sit folded in a <details> block; these ones always do.
FOLD_AFTER_ROWS = 25
ALWAYS_FOLDED = {"source_details", "pipeline_providers"}
#: The figures per period and per stage stay open however many periods there are.
NEVER_FOLDED = {"sources", "referrals", "pipeline"}

#: The report's sections: a heading, a sentence, the charts and the tables in it. A table the
#: list does not name goes into a last section, so the page always shows every table.
SECTIONS: list[tuple[str, str, str, tuple[str, ...], tuple[str, ...]]] = [
    ("sources", "Where new clients come from",
     "Each new client's answer to \u201cwho referred you?\u201d, by the period of their first "
     "visit.", ("sources",), ("sources", "source_details")),
    ("referrals", "Referrals and how many became clients",
     "Referrals received per period, how many reached a first visit, and how quickly.",
     ("conversion",), ("referrals",)),
    ("providers", "Who refers",
     "The providers and specialties that sent referrals in the range.",
     ("referrers",), ("providers", "specialties")),
    ("relationships", "Keeping referrers",
     "Who has gone quiet, and how the referring goes both ways.", (),
     ("activity", "reciprocity")),
    ("pipeline", "The pipeline",
     "Every provider in the Providers sheet, by the stage of the relationship.",
     ("pipeline",), ("pipeline", "pipeline_providers")),
    ("clients", "Clients who refer", "New clients sent by clients who came before them.", (),
     ("client_referrers", "diagnoses")),
]

NUMERIC_KINDS = {"int", "number", "pct", "days", "delta"}
#: Tables with more columns than this print in a smaller type, to fit the page's width.
WIDE_COLUMNS = 10
#: Columns of names, kept wide enough that a name does not break over four lines.
NAME_KEYS = {"provider", "practice", "detail", "description"}


def render_html(stats: Stats, practice_name: str | None = None, *,
                made_on: dt.date | None = None) -> str:
    """The whole report: header, headline cards, then each section's charts and tables."""
    made_on = made_on or dt.date.today()
    stats = _shown(stats)
    charts = _charts(stats)
    body: list[str] = [_header(stats, practice_name, made_on), _cards(stats), _nav(stats)]
    placed: set[str] = set()
    for anchor, heading, intro, chart_keys, table_keys in SECTIONS:
        tables = [stats.tables[k] for k in table_keys if k in stats.tables]
        if not tables and not chart_keys:
            continue
        parts = [charts[k] for k in chart_keys]
        parts += [_table(t) for t in tables]
        placed.update(t.key for t in tables)
        body.append(_section(anchor, heading, intro, parts))
    rest = [t for k, t in stats.tables.items() if k not in placed]
    if rest:
        body.append(_section("more", "More figures", "", [_table(t) for t in rest]))
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


def _section(anchor: str, heading: str, intro: str, parts: list[str]) -> str:
    lead = f'<p class="intro">{_e(intro)}</p>' if intro else ""
    return (f'<section class="part" id="{anchor}"><h2>{_e(heading)}</h2>{lead}'
            + "\n".join(parts) + "</section>")


def _cell(value: Any, column: Column) -> str:
    text = cell_text(value, column.kind)
    classes = []
    if column.kind in NUMERIC_KINDS:
        classes.append("num")
    if column.kind == "date" or column.key == "period":
        classes.append("nowrap")
    if column.key in NAME_KEYS:
        classes.append("name")
    if column.kind == "delta" and isinstance(value, int | float) and value:
        classes.append("up" if value > 0 else "down")
    attr = f' class="{" ".join(classes)}"' if classes else ""
    return f"<td{attr}>{_e(text)}</td>"


def _table(table: StatTable) -> str:
    """A table with its title, its column help as numbered footnotes (and as each header's
    tooltip), its total in bold and its note; long ones folded."""
    helped = [c for c in table.columns if c.help]
    marks = {c.key: i for i, c in enumerate(helped, start=1)}
    head = []
    for c in table.columns:
        mark = f'<sup>{marks[c.key]}</sup>' if c.key in marks else ""
        tip = f' title="{_e(c.help)}"' if c.help else ""
        cls = ' class="num"' if c.kind in NUMERIC_KINDS else ""
        head.append(f'<th scope="col"{cls}{tip}>{_e(c.label)}{mark}</th>')
    rows = ["<tr>" + "".join(_cell(r.get(c.key), c) for c in table.columns) + "</tr>"
            for r in table.rows]
    foot = ""
    if table.total is not None:
        foot = ("<tfoot><tr>" + "".join(_cell(table.total.get(c.key), c)
                                         for c in table.columns) + "</tr></tfoot>")
    wide = ' class="wide"' if len(table.columns) > WIDE_COLUMNS else ""
    if rows:
        grid = (f'<div class="table-box" tabindex="0" role="region" '
                f'aria-label="{_e(table.title)}"><table{wide}>'
                f'<thead><tr>{"".join(head)}</tr></thead><tbody>{"".join(rows)}</tbody>'
                f"{foot}</table></div>")
    else:
        grid = '<p class="empty">None in this range.</p>'
    notes = ""
    if helped:
        notes = ('<ol class="footnotes">' + "".join(
            f"<li><b>{_e(c.label)}</b>: {_e(c.help)}</li>" for c in helped) + "</ol>")
    if table.note:
        notes += f'<p class="note">{_e(table.note)}</p>'
    count = f'<span class="count">{len(table.rows):,} row{"s" if len(table.rows) != 1 else ""}' \
            '</span>'
    if table.key in ALWAYS_FOLDED or (len(table.rows) > FOLD_AFTER_ROWS
                                      and table.key not in NEVER_FOLDED):
        return (f'<div class="stat-table" id="table-{_e(table.key)}"><details>'
                f'<summary><h3>{_e(table.title)}</h3> {count}</summary>'
                f"{grid}{notes}</details></div>")
    return (f'<div class="stat-table" id="table-{_e(table.key)}"><h3>{_e(table.title)}</h3>'
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


# -- charts ------------------------------------------------------------------------------------

def _charts(stats: Stats) -> dict[str, str]:
    """Every chart as a <figure> holding inline SVG, by name."""
    import matplotlib

    makers: dict[str, tuple[str, Callable[[Any, Stats], str | None]]] = {
        "sources": ("New clients by source", _draw_sources),
        "conversion": ("Referrals received and reached a first visit", _draw_conversion),
        "referrers": (f"Top {TOP_REFERRERS} referring providers", _draw_referrers),
        "pipeline": ("Providers per stage of the pipeline", _draw_pipeline),
    }
    rc = {"svg.fonttype": "none", "svg.hashsalt": "refdesk", "text.parse_math": False,
          "font.family": "sans-serif", "font.size": 11.5, "axes.edgecolor": GRID,
          "axes.labelcolor": MUTED, "axes.titlecolor": INK, "text.color": INK,
          "xtick.color": MUTED, "ytick.color": MUTED, "axes.spines.top": False,
          "axes.spines.right": False, "axes.axisbelow": True, "legend.frameon": False,
          "svg.image_inline": True}
    out = {}
    with matplotlib.rc_context(rc):
        for key, (title, draw) in makers.items():
            from matplotlib.figure import Figure

            fig = Figure(figsize=(WIDTH, 3.4), layout="constrained")
            empty = draw(fig, stats)
            if empty:
                fig.clear()
                fig.set_size_inches(WIDTH, 1.4)
                _empty(fig, empty)
            out[key] = _figure(key, title, _svg(fig, key, title))
    return out


def _figure(key: str, title: str, svg: str) -> str:
    return (f'<figure class="chart" id="chart-{key}" data-chart="{key}">{svg}'
            f"<figcaption>{_e(title)}</figcaption></figure>")


def _svg(fig: Any, key: str, title: str) -> str:
    """The figure as SVG to put inside HTML: no XML prologue or metadata, sized by its viewBox
    so that CSS scales it, and ids made unique to this chart (several charts share a page)."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None},
                facecolor="white")
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"',
                 lambda m: f'<svg{m.group(1)} role="img" aria-label="{_e(title)}" '
                           f'class="chart-svg" preserveAspectRatio="xMidYMid meet"', svg, count=1)
    used = set(re.findall(r'url\(#([^)]+)\)', svg)) | set(re.findall(r'href="#([^"]+)"', svg))

    def rename(m: re.Match[str]) -> str:
        name = m.group(1)
        return f' id="{key}-{name}"' if name in used else ""

    svg = re.sub(r' id="([^"]+)"', rename, svg)
    svg = re.sub(r'url\(#([^)]+)\)', lambda m: f"url(#{key}-{m.group(1)})", svg)
    svg = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{key}-{m.group(1)}"', svg)
    return svg.strip()


def _empty(fig: Any, message: str) -> None:
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.add_patch(_rounded_box(ax))
    ax.text(0.5, 0.5, message, ha="center", va="center", color=MUTED, fontsize="large",
            transform=ax.transAxes)


def _rounded_box(ax: Any) -> Any:
    from matplotlib.patches import FancyBboxPatch

    return FancyBboxPatch((0.01, 0.06), 0.98, 0.88, boxstyle="round,pad=0,rounding_size=0.03",
                          transform=ax.transAxes, facecolor="#F4F6F8", edgecolor=GRID,
                          linewidth=1)


def _period_ticks(labels: list[str], by: str, most: int = 13) -> list[str]:
    """Tick labels that never crowd: every period when they fit, else every 2nd, 3rd, 6th...
    period (aligned on quarters and years); months read "Jan", with the year under the first
    one shown and under each January."""
    n = len(labels)
    if n == 0:
        return []
    month = re.compile(r"^(\d{4})-(\d{2})$")
    quarter = re.compile(r"^(\d{4}) Q([1-4])$")
    steps = [1, 2, 3, 4, 6, 12, 24, 36, 60, 120] if by == "month" else \
        [1, 2, 4, 8, 12, 20, 40] if by == "quarter" else [1, 2, 5, 10, 20, 50, 100]
    step = next((s for s in steps if math.ceil(n / s) <= most), steps[-1])
    out: list[str] = []
    years: list[str | None] = []
    for i, label in enumerate(labels):
        m, q = month.match(label), quarter.match(label)
        if m:
            year, number = m.group(1), int(m.group(2))
            show = (number - 1) % step == 0 if step <= 12 else i % step == 0
            text = dt.date(2000, number, 1).strftime("%b")
        elif q:
            year, number = q.group(1), int(q.group(2))
            show = (number - 1) % step == 0 if step <= 4 else i % step == 0
            text = f"Q{number}"
        else:
            out.append(label if i % step == 0 else "")
            years.append(None)
            continue
        out.append(text if show else "")
        years.append(year if show else None)
    # The year goes under each label that starts one, and under the first label unless a
    # year starts at the very next label (where the two would run into each other).
    shown = [i for i, y in enumerate(years) if y is not None]
    for n, i in enumerate(shown):
        before = years[shown[n - 1]] if n else None
        starts = before is not None and years[i] != before
        first = n == 0 and not (len(shown) > 1 and years[shown[1]] != years[i])
        if starts or first:
            out[i] += f"\n{years[i]}"
    return out


def _style_axes(ax: Any, *, grid_axis: str = "y") -> None:
    ax.grid(axis=grid_axis, color=GRID, linewidth=0.8)
    ax.tick_params(length=0, pad=4)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(GRID)
    from matplotlib.ticker import MaxNLocator

    (ax.yaxis if grid_axis == "y" else ax.xaxis).set_major_locator(
        MaxNLocator(nbins=5, integer=True, min_n_ticks=1))


def _draw_sources(fig: Any, stats: Stats) -> str | None:
    table = stats.tables.get("sources")
    if table is None or not any(r.get("total") for r in table.rows):
        return "No new clients in this range."
    kinds = [k for k in (*SOURCES, "not recorded")
             if any(r.get(k) for r in table.rows) or k in SOURCES]
    ax = fig.add_subplot()
    x = list(range(len(table.rows)))
    bottom = [0] * len(x)
    for kind in kinds:
        values = [int(r.get(kind) or 0) for r in table.rows]
        label = table.column(kind).label if any(c.key == kind for c in table.columns) else kind
        ax.bar(x, values, bottom=bottom, color=SOURCE_COLOURS.get(kind, MUTED), width=0.72,
               label=label, edgecolor="white", linewidth=0.6)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    if len(x) <= 24:
        for xi, total in zip(x, bottom, strict=True):
            if total:
                ax.annotate(f"{total:,}", (xi, total), xytext=(0, 3), textcoords="offset points",
                            ha="center", va="bottom", fontsize="small", color=MUTED)
    _style_axes(ax)
    ax.set_xticks(x, _period_ticks([r["period"] for r in table.rows], stats.by))
    ax.set_xlim(-0.6, len(x) - 0.4)
    ax.set_ylim(0, max(bottom) * 1.15)
    ax.set_ylabel("New clients")
    fig.legend(loc="outside upper left", ncols=len(kinds), handlelength=1, handleheight=1)
    return None


def _draw_conversion(fig: Any, stats: Stats) -> str | None:
    table = stats.tables.get("referrals")
    if table is None or not any(r.get("received") for r in table.rows):
        return "No referrals received in this range."
    ax = fig.add_subplot()
    n = len(table.rows)
    x = list(range(n))
    received = [int(r.get("received") or 0) for r in table.rows]
    reached = [int(r.get("reached") or 0) for r in table.rows]
    width = 0.4
    ax.bar([i - width / 2 for i in x], received, width=width, color=RECEIVED_COLOUR,
           label="Received")
    ax.bar([i + width / 2 for i in x], reached, width=width, color=REACHED_COLOUR,
           label="Reached a first visit")
    _style_axes(ax)
    ax.set_ylabel("Referrals")
    ax.set_ylim(0, max(received) * 1.2)
    ax.set_xticks(x, _period_ticks([r["period"] for r in table.rows], stats.by))
    ax.set_xlim(-0.6, n - 0.4)
    rate = ax.twinx()
    values = [r.get("conversion") for r in table.rows]
    points = [(i, v * 100) for i, v in zip(x, values, strict=True) if v is not None]
    rate.plot([p[0] for p in points], [p[1] for p in points], color=RATE_COLOUR, linewidth=2,
              marker="o", markersize=4 if n <= 24 else 2.5, label="Conversion")
    rate.set_ylim(0, 110)
    rate.set_yticks([0, 25, 50, 75, 100], ["0%", "25%", "50%", "75%", "100%"])
    rate.set_ylabel("Conversion", color=RATE_COLOUR)
    rate.tick_params(length=0, colors=RATE_COLOUR)
    for side in ("top", "left", "bottom"):
        rate.spines[side].set_visible(False)
    rate.spines["right"].set_visible(False)
    handles = ax.get_legend_handles_labels()
    extra = rate.get_legend_handles_labels()
    fig.legend(handles[0] + extra[0], handles[1] + extra[1], loc="outside upper left", ncols=3,
               handlelength=1.4)
    return None


def _shorten(text: str, most: int = 30) -> str:
    return text if len(text) <= most else text[:most - 1].rstrip() + "\u2026"


def _draw_referrers(fig: Any, stats: Stats) -> str | None:
    table = stats.tables.get("providers")
    rows = [r for r in (table.rows if table else []) if r.get("referrals")][:TOP_REFERRERS]
    if not rows:
        return "No provider referred in this range."
    fig.set_size_inches(WIDTH, 1.0 + 0.34 * len(rows))
    ax = fig.add_subplot()
    names = [_shorten(str(r.get("provider") or r.get("provider_id") or "")) for r in rows]
    values = [int(r["referrals"]) for r in rows]
    colours = [DORMANT_COLOUR if r.get("activity") == "dormant" else SOURCE_COLOURS["doctor"]
               for r in rows]
    y = list(range(len(rows)))
    ax.barh(y, values, color=colours, height=0.66)
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    _style_axes(ax, grid_axis="x")
    ax.set_xlim(0, max(values) * 1.12)
    ax.set_xlabel("Referrals received in the range")
    for yi, v in zip(y, values, strict=True):
        ax.annotate(f"{v:,}", (v, yi), xytext=(4, 0), textcoords="offset points",
                    va="center", fontsize="small", color=INK)
    if any(r.get("activity") == "dormant" for r in rows):
        from matplotlib.patches import Patch

        ax.legend(handles=[Patch(color=SOURCE_COLOURS["doctor"], label="Active"),
                           Patch(color=DORMANT_COLOUR, label="Dormant")],
                  loc="lower right", fontsize="small", handlelength=1, handleheight=1)
    return None


def _draw_pipeline(fig: Any, stats: Stats) -> str | None:
    table = stats.tables.get("pipeline")
    if table is None or not any(r.get("providers") for r in table.rows):
        return "No providers in the Providers sheet yet."
    order = {s: i for i, s in enumerate(STAGES)}
    rows = sorted(table.rows, key=lambda r: order.get(r["stage"], len(order)))
    fig.set_size_inches(WIDTH, 0.9 + 0.4 * len(rows))
    ax = fig.add_subplot()
    values = [int(r.get("providers") or 0) for r in rows]
    widest = max(values)
    y = list(range(len(rows)))
    # Centred bars: a funnel, from the first step at the top to the ways out at the bottom.
    ax.barh(y, values, left=[(widest - v) / 2 for v in values], height=0.72,
            color=[STAGE_COLOURS.get(r["stage"], MUTED) for r in rows])
    ax.set_yticks(y, [str(r["stage"]).capitalize() for r in rows])
    ax.invert_yaxis()
    ax.set_xlim(-widest * 0.02, widest * 1.02)
    ax.set_xticks([])
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.tick_params(length=0, pad=6)
    for yi, v, r in zip(y, values, rows, strict=True):
        share = r.get("share")
        label = f"{v:,}" + (f"  ({share:.0%})" if share is not None else "")
        dark = STAGE_COLOURS.get(r["stage"]) in (STAGE_COLOURS["referring"],
                                                  STAGE_COLOURS["packet sent"])
        inside = v >= widest * 0.3
        ax.text(widest / 2, yi, label, ha="center", va="center", fontsize="medium",
                color="white" if inside and dark else INK,
                bbox=None if inside else {"boxstyle": "round,pad=0.2", "facecolor": "white",
                                          "edgecolor": "none", "alpha": 0.85})
    ax.set_xlabel("Providers (share of all providers)")
    return None


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
tbody tr:nth-child(even) td { background: #FBFCFD; }
tfoot td { font-weight: 700; border-top: 2px solid var(--ink); border-bottom: none; }
.num { text-align: right; white-space: nowrap; }
.name { min-width: 9em; }
.nowrap { white-space: nowrap; }
td.up { color: var(--up); }
td.down { color: var(--down); }
.footnotes { margin: 8px 0 0; padding-left: 22px; font-size: 12.5px; color: var(--muted); }
.note { font-size: 13px; color: var(--muted); margin: 6px 0 0; }
.empty { color: var(--muted); font-style: italic; }
.bottom { margin-top: 36px; padding-top: 8px; border-top: 1px solid var(--line);
  font-size: 13px; color: var(--muted); }
.bottom h2 { font-size: 15px; border: none; color: var(--ink); }
.bottom ul { padding-left: 20px; }
@media (max-width: 600px) {
  body { font-size: 14px; }
  .report { padding: 16px 12px 28px; }
  h1 { font-size: 24px; }
  h2 { font-size: 19px; }
  .cards { grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 8px; }
  .card { padding: 10px; }
  .card .figure { font-size: 22px; }
  table { font-size: 13px; }
  th, td { padding: 5px 7px; }
}
@page { margin: 14mm 12mm; }
@media print {
  body { background: #fff; font-size: 10.5pt; }
  .report { max-width: none; padding: 0; }
  .toc, details > summary .count { display: none; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .part { margin-top: 0; }
  .part ~ .part { break-before: page; }
  .chart, .card, .cards, tr, h2, h3, .footnotes li { break-inside: avoid; }
  h2, h3, .stat-table > h3, summary { break-after: avoid; }
  .chart { max-width: 100%; }
  .chart-svg { max-height: 125mm; }
  .table-box { overflow: visible; border: none; }
  thead { display: table-header-group; }
  tfoot { display: table-row-group; }
  table { font-size: 8pt; }
  th, td { padding: 2px 4px; }
  th, th.num { white-space: normal; hyphens: auto; }
  .name { min-width: 0; }
  table.wide { font-size: 6.6pt; }
  table.wide th, table.wide td { padding: 2px 2px; }
  details::details-content { content-visibility: visible; display: contents; }
  details > summary { list-style: none; }
  details > summary::-webkit-details-marker { display: none; }
  a { color: inherit; text-decoration: none; }
}
"""
