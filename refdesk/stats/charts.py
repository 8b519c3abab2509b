"""The report's charts: matplotlib figures written as inline SVG, each drawn twice, at the
page's width and at a phone's, so that their text reads at the size of the page's text on
either (an SVG scales as a whole: a chart drawn for a desktop, shrunk to a phone, would have
6-8 px text). Chart text is never read as matplotlib math, so `$5 off` shows as typed.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from refdesk.schema import SOURCES, STAGES
from refdesk.stats.model import Stats

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

#: How many providers the top-referrers chart shows.
TOP_REFERRERS = 10


@dataclass(frozen=True)
class Look:
    """One drawing of the charts: its width in inches, its type sizes in points, how many
    period labels and how many characters of a name fit."""
    name: str
    width: float
    font: float
    small: float
    ticks: int
    name_chars: int
    legend_columns: int


#: The page's drawing (at most 720 px wide on a screen, the page's width in print).
WIDE = Look("wide", 6.2, 11.5, 9.6, 13, 30, 3)
#: A phone's: 3.6 in is 259 SVG units, shown 366 px wide on a 390 px screen (1.41 px a
#: unit), so 10 pt text reads at 14 px, the size of the page's text, and at 12 px or more on
#: any screen from 335 px wide; every text in it uses the one size.
PHONE = Look("phone", 3.6, 10.0, 10.0, 6, 16, 2)
LOOKS = (WIDE, PHONE)

CHART_TITLES = {"sources": "New clients by source",
                "conversion": "Referrals received and reached a first visit",
                "referrers": f"Top {TOP_REFERRERS} referring providers",
                "pipeline": "Providers per stage of the pipeline"}


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def render_charts(stats: Stats) -> dict[str, str]:
    """Every chart as a <figure> holding its two inline SVGs (page and phone), by name."""
    import matplotlib
    from matplotlib.figure import Figure

    makers: dict[str, Callable[[Any, Stats, Look], str | None]] = {
        "sources": draw_sources, "conversion": draw_conversion,
        "referrers": draw_referrers, "pipeline": draw_pipeline}
    out = {}
    for key, draw in makers.items():
        title = CHART_TITLES[key]
        svgs = []
        for look in LOOKS:
            with matplotlib.rc_context(_rc(look)):
                fig = Figure(figsize=(look.width, 3.4 if look is WIDE else 3.0),
                             layout="constrained")
                empty = draw(fig, stats, look)
                if empty:
                    fig.clear()
                    fig.set_size_inches(look.width, 1.4)
                    _empty(fig, empty, look)
                svgs.append(_svg(fig, f"{key}-{look.name}" if look is PHONE else key, title,
                                 look))
        out[key] = (f'<figure class="chart" id="chart-{key}" data-chart="{key}">'
                    + "".join(svgs) + f"<figcaption>{_e(title)}</figcaption></figure>")
    return out


def _rc(look: Look) -> dict[str, Any]:
    return {"svg.fonttype": "none", "svg.hashsalt": "refdesk", "text.parse_math": False,
            "font.family": "sans-serif", "font.size": look.font, "axes.edgecolor": GRID,
            "axes.labelcolor": MUTED, "axes.titlecolor": INK, "text.color": INK,
            "xtick.color": MUTED, "ytick.color": MUTED, "axes.spines.top": False,
            "axes.spines.right": False, "axes.axisbelow": True, "legend.frameon": False,
            "svg.image_inline": True}


def _svg(fig: Any, key: str, title: str, look: Look) -> str:
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
                           f'class="chart-svg for-{look.name}" data-look="{look.name}" '
                           'preserveAspectRatio="xMidYMid meet"', svg, count=1)
    used = set(re.findall(r'url\(#([^)]+)\)', svg)) | set(re.findall(r'href="#([^"]+)"', svg))

    def rename(m: re.Match[str]) -> str:
        name = m.group(1)
        return f' id="{key}-{name}"' if name in used else ""

    svg = re.sub(r' id="([^"]+)"', rename, svg)
    svg = re.sub(r'url\(#([^)]+)\)', lambda m: f"url(#{key}-{m.group(1)})", svg)
    svg = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{key}-{m.group(1)}"', svg)
    return svg.strip()


def _empty(fig: Any, message: str, look: Look) -> None:
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.add_patch(_rounded_box(ax))
    ax.text(0.5, 0.5, message, ha="center", va="center", color=MUTED,
            fontsize="large" if look is WIDE else look.font, wrap=True,
            transform=ax.transAxes)


def _rounded_box(ax: Any) -> Any:
    from matplotlib.patches import FancyBboxPatch

    return FancyBboxPatch((0.01, 0.06), 0.98, 0.88, boxstyle="round,pad=0,rounding_size=0.03",
                          transform=ax.transAxes, facecolor="#F4F6F8", edgecolor=GRID,
                          linewidth=1)
def period_ticks(labels: list[str], by: str, most: int = 13) -> list[str]:
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



def draw_sources(fig: Any, stats: Stats, look: Look = WIDE) -> str | None:
    """New clients per period, stacked by source; returns a message instead when empty."""
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
    # Totals over the bars while each has room for its figure (fewer on a phone).
    if len(x) <= (24 if look is WIDE else 12):
        for xi, total in zip(x, bottom, strict=True):
            if total:
                ax.annotate(f"{total:,}", (xi, total), xytext=(0, 3), textcoords="offset points",
                            ha="center", va="bottom", fontsize=look.small, color=MUTED)
    _style_axes(ax)
    ax.set_xticks(x, period_ticks([r["period"] for r in table.rows], stats.by, look.ticks))
    ax.set_xlim(-0.6, len(x) - 0.4)
    ax.set_ylim(0, max(bottom) * 1.15)
    ax.set_ylabel("New clients")
    fig.legend(loc="outside upper left", ncols=min(len(kinds), 4 if look is WIDE else 3),
               handlelength=1, handleheight=1)
    return None


def conversion_points(rows: list[dict[str, Any]]) -> list[float]:
    """Conversion per period in percent, NaN where a period received no referral: the line
    breaks there instead of being drawn straight across (as the stats workbook's does)."""
    return [math.nan if r.get("conversion") is None else r["conversion"] * 100 for r in rows]


def draw_conversion(fig: Any, stats: Stats, look: Look = WIDE) -> str | None:
    """Referrals received and reached per period, with the conversion line on a second axis."""
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
    ax.set_xticks(x, period_ticks([r["period"] for r in table.rows], stats.by, look.ticks))
    ax.set_xlim(-0.6, n - 0.4)
    rate = ax.twinx()
    rate.plot(x, conversion_points(table.rows), color=RATE_COLOUR, linewidth=2,
              marker="o", markersize=4 if n <= 24 else 2.5, label="Conversion")
    rate.set_ylim(0, 110)
    if look is WIDE:
        rate.set_yticks([0, 25, 50, 75, 100], ["0%", "25%", "50%", "75%", "100%"])
    else:
        rate.set_yticks([0, 50, 100], ["0%", "50%", "100%"])
    rate.set_ylabel("Conversion", color=RATE_COLOUR)
    rate.tick_params(length=0, colors=RATE_COLOUR)
    for side in ("top", "left", "bottom", "right"):
        rate.spines[side].set_visible(False)
    handles = ax.get_legend_handles_labels()
    extra = rate.get_legend_handles_labels()
    fig.legend(handles[0] + extra[0], handles[1] + extra[1], loc="outside upper left",
               ncols=look.legend_columns, handlelength=1.4)
    return None


def _shorten(text: str, most: int = 30) -> str:
    return text if len(text) <= most else text[:most - 1].rstrip() + "\u2026"


def draw_referrers(fig: Any, stats: Stats, look: Look = WIDE) -> str | None:
    """The top referring providers as horizontal bars, dormant ones in grey."""
    table = stats.tables.get("providers")
    rows = [r for r in (table.rows if table else []) if r.get("referrals")][:TOP_REFERRERS]
    if not rows:
        return "No provider referred in this range."
    fig.set_size_inches(look.width, 1.0 + 0.34 * len(rows))
    ax = fig.add_subplot()
    names = [_shorten(str(r.get("provider") or r.get("provider_id") or ""), look.name_chars)
             for r in rows]
    values = [int(r["referrals"]) for r in rows]
    colours = [DORMANT_COLOUR if r.get("activity") == "dormant" else SOURCE_COLOURS["doctor"]
               for r in rows]
    y = list(range(len(rows)))
    ax.barh(y, values, color=colours, height=0.66)
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    _style_axes(ax, grid_axis="x")
    ax.set_xlim(0, max(values) * (1.12 if look is WIDE else 1.2))
    ax.set_xlabel("Referrals received in the range" if look is WIDE else "Referrals")
    for yi, v in zip(y, values, strict=True):
        ax.annotate(f"{v:,}", (v, yi), xytext=(4, 0), textcoords="offset points",
                    va="center", fontsize=look.small, color=INK)
    if any(r.get("activity") == "dormant" for r in rows):
        from matplotlib.patches import Patch

        ax.legend(handles=[Patch(color=SOURCE_COLOURS["doctor"], label="Active"),
                           Patch(color=DORMANT_COLOUR, label="Dormant")],
                  loc="lower right", fontsize=look.small, handlelength=1, handleheight=1)
    return None


def draw_pipeline(fig: Any, stats: Stats, look: Look = WIDE) -> str | None:
    """Providers per stage as a centred funnel, first step at the top."""
    table = stats.tables.get("pipeline")
    if table is None or not any(r.get("providers") for r in table.rows):
        return "No providers in the Providers sheet yet."
    order = {s: i for i, s in enumerate(STAGES)}
    rows = sorted(table.rows, key=lambda r: order.get(r["stage"], len(order)))
    fig.set_size_inches(look.width, 0.9 + 0.4 * len(rows))
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
        ax.text(widest / 2, yi, label, ha="center", va="center", fontsize=look.font,
                color="white" if inside and dark else INK,
                bbox=None if inside else {"boxstyle": "round,pad=0.2", "facecolor": "white",
                                          "edgecolor": "none", "alpha": 0.85})
    ax.set_xlabel("Providers (share of all providers)" if look is WIDE else "Providers (share)")
    return None
