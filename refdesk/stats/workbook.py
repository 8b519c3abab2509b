"""The stats as a workbook of their own: a Summary sheet with the headline and native Excel
charts, then one sheet per table, ready to sort, filter and hand on.

Every value is written with the writer for its kind (text is never read as a formula or a
link, so a provider named `=1+1` stays that text), dates are real dates and shares real
percentages, and the file is written under a temporary name beside its place and renamed onto
it only when whole.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

from refdesk.fileio import write_file
from refdesk.schema import SOURCES
from refdesk.stats.charts import (
    DORMANT_COLOUR,
    RATE_COLOUR,
    REACHED_COLOUR,
    RECEIVED_COLOUR,
    SOURCE_COLOURS,
    STAGE_COLOURS,
    TOP_REFERRERS,
)
from refdesk.stats.html import source_name
from refdesk.stats.model import Stats, StatTable

#: Sheet names for the tables; a table not listed is named after its key.
SHEET_NAMES = {"referrals": "Referrals", "sources": "Sources", "source_details": "Source details",
               "providers": "Providers", "specialties": "Specialties", "activity": "Activity",
               "reciprocity": "Reciprocity", "pipeline": "Pipeline",
               "pipeline_providers": "Pipeline providers",
               "client_referrers": "Client referrers", "diagnoses": "Diagnoses"}
SUMMARY = "Summary"

#: The headline on the Summary sheet: key, label, kind.
HEADLINE = [("new_clients", "New clients", "int"),
            ("referrals", "Referrals received", "int"),
            ("reached", "Referrals that reached a first visit", "int"),
            ("conversion", "Conversion", "pct"),
            ("median_days", "Median days to first visit", "number"),
            ("visits_per_referral", "Visits per referral", "number"),
            ("doctor_share", "New clients sent by a doctor", "pct"),
            ("referring_providers", "Referring providers", "int"),
            ("active_referrers", "Active referrers", "int"),
            ("dormant_referrers", "Dormant referrers", "int"),
            ("providers", "Providers in the Providers sheet", "int")]

NUMBER_FORMATS = {"int": "#,##0", "days": "#,##0", "number": "#,##0.0", "pct": "0%",
                  "delta": "+#,##0;\u2212#,##0;0", "date": "yyyy-mm-dd",
                  "money": '"$"#,##0.00;\u2212"$"#,##0.00'}
#: The scorecard's lights as cell fills, with a dark text of the same hue (the word is in the
#: cell, so the light never rests on colour alone).
LIGHT_FILLS = {"green": ("#C6EFCE", "#006100"), "amber": ("#FFEB9C", "#7A4A00"),
               "red": ("#FFC7CE", "#9C0006")}

#: The width of a column of sentences, in characters; longer text wraps in it.
SENTENCE = 44
#: Where a table's header sits (0-based): its title and a line about it come first.
HEADER_ROW = 2
CHART_SIZE = {"width": 620, "height": 330}


def write_xlsx(stats: Stats, path: Path, practice_name: str | None = None, *,
               made_on: dt.date | None = None) -> None:
    """Write the stats workbook to `path`, whole or not at all. With client names in the stats
    (`with_names`) the file is readable by its owner only."""
    write_file(path, lambda tmp: _build(stats, tmp, practice_name,
                                        made_on or dt.date.today()),
               private=stats.with_names)


def _build(stats: Stats, target: Path, practice_name: str | None, made_on: dt.date) -> None:
    import xlsxwriter
    from xlsxwriter.exceptions import FileCreateError

    book = xlsxwriter.Workbook(str(target), {
        "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
        "default_date_format": NUMBER_FORMATS["date"], "remove_timezone": True})
    book.set_properties({"title": "Referral stats", "subject": _range_text(stats),
                         "comments": "Made by refdesk stats"})
    styles = _Styles(book)
    summary = book.add_worksheet(SUMMARY)
    names = _sheet_names(stats)
    placed = {key: _write_table(book, styles, names[key], table, stats)
              for key, table in stats.tables.items()}
    _write_summary(book, summary, styles, stats, names, placed, practice_name, made_on)
    _print_setup(summary)
    summary.activate()
    try:
        book.close()
    except FileCreateError as exc:
        cause = exc.args[0] if exc.args else None
        raise cause if isinstance(cause, OSError) else OSError(str(exc)) from None


class _Styles:
    """The workbook's formats, made once."""

    def __init__(self, book: Any) -> None:
        base = {"font_name": "Calibri", "font_size": 11, "valign": "top"}
        self.title = book.add_format({**base, "bold": True, "font_size": 14,
                                      "font_color": "#243040"})
        self.subtitle = book.add_format({**base, "italic": True, "font_color": "#5B6776"})
        self.header = book.add_format({**base, "bold": True, "bg_color": "#DCE6F0",
                                       "bottom": 1, "bottom_color": "#2F6690",
                                       "text_wrap": True, "valign": "bottom"})
        self.header_num = book.add_format({**base, "bold": True, "bg_color": "#DCE6F0",
                                           "bottom": 1, "bottom_color": "#2F6690",
                                           "text_wrap": True, "valign": "bottom",
                                           "align": "right"})
        self.link = book.add_format({**base, "font_color": "#2F6690", "underline": 1})
        self.label = book.add_format(base)
        # Printed, a right-aligned figure would touch the text or date beside it: text sits
        # one indent in and dates are centred, so neighbours keep a gap.
        self.header_date = book.add_format({**base, "bold": True, "bg_color": "#DCE6F0",
                                            "bottom": 1, "bottom_color": "#2F6690",
                                            "text_wrap": True, "valign": "bottom",
                                            "align": "center"})
        self.header.set_align("left")
        self.header.set_indent(1)
        self.cells: dict[tuple[str, bool], Any] = {}
        for kind in ("text", "int", "number", "money", "pct", "days", "date", "delta"):
            for total in (False, True):
                spec = dict(base)
                if kind in NUMBER_FORMATS:
                    spec["num_format"] = NUMBER_FORMATS[kind]
                if kind == "text":
                    spec.update({"text_wrap": False, "align": "left", "indent": 1})
                if kind == "date":
                    spec["align"] = "center"
                if total:
                    spec.update({"bold": True, "top": 1})
                self.cells[(kind, total)] = book.add_format(spec)
        self.sentence = book.add_format({**base, "text_wrap": True, "align": "left",
                                         "indent": 1})
        self.lights = {word: book.add_format({**base, "bg_color": fill, "font_color": ink,
                                              "bold": True, "align": "center"})
                       for word, (fill, ink) in LIGHT_FILLS.items()}

    def cell(self, kind: str, total: bool = False) -> Any:
        return self.cells.get((kind, total)) or self.cells[("text", total)]


def _print_setup(sheet: Any) -> None:
    """Landscape, as wide as one page, the sheet's name in the footer."""
    sheet.set_landscape()
    sheet.fit_to_pages(1, 0)
    sheet.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
    sheet.set_footer("&L&A&RPage &P of &N")


def _range_text(stats: Stats) -> str:
    return (f"{stats.start.day} {stats.start:%B %Y} to {stats.end.day} {stats.end:%B %Y}, "
            f"by {stats.by}")


def _sheet_names(stats: Stats) -> dict[str, str]:
    """A valid, unique sheet name for each table."""
    names: dict[str, str] = {}
    taken = {SUMMARY.lower()}
    for key in stats.tables:
        base = SHEET_NAMES.get(key) or key.replace("_", " ").capitalize()
        base = "".join(ch for ch in base if ch not in "[]:*?/\\").strip("'")[:31] or "Table"
        name, n = base, 2
        while name.lower() in taken:
            suffix = f" {n}"
            name, n = base[:31 - len(suffix)] + suffix, n + 1
        taken.add(name.lower())
        names[key] = name
    return names


def _write_value(sheet: Any, row: int, col: int, value: Any, kind: str, fmt: Any) -> int:
    """Write one value with the writer for its kind; return its width in characters."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        sheet.write_blank(row, col, None, fmt)
        return 0
    if isinstance(value, bool):
        sheet.write_boolean(row, col, value, fmt)
        return 5
    if isinstance(value, dt.date):
        sheet.write_datetime(row, col, value, fmt)
        return 10
    if isinstance(value, int | float) and kind != "text":
        sheet.write_number(row, col, value, fmt)
        if kind == "pct":
            return 5
        if kind == "money":
            return len(f"${value:,.2f}") + 1
        return len(f"{value:,.1f}" if kind == "number" else f"{value:+,}")
    text = str(value)
    sheet.write_string(row, col, text, fmt)
    return len(text)


def _write_table(book: Any, styles: _Styles, name: str, table: StatTable, stats: Stats
                 ) -> tuple[int, int]:
    """One table on its own sheet: title, a line of context, a frozen header with filters and
    the help of each column as a comment, the rows, the total in bold. Returns the first and
    last data row (0-based)."""
    sheet = book.add_worksheet(name)
    sheet.write_string(0, 0, table.title, styles.title)
    context = _range_text(stats) + (f". {table.note}" if table.note else "")
    sheet.write_string(1, 0, context, styles.subtitle)
    widths = []
    for c, column in enumerate(table.columns):
        numeric = column.kind not in ("text", "date")
        sheet.write_string(HEADER_ROW, c, column.label,
                           styles.header_date if column.kind == "date"
                           else styles.header_num if numeric else styles.header)
        if column.help:
            sheet.write_comment(HEADER_ROW, c, column.help,
                                {"x_scale": 1.6, "y_scale": 0.8, "author": "refdesk"})
        # The header wraps onto two lines: as wide as its longest word or half its length.
        words = column.label.split()
        widths.append(min(max(max(map(len, words), default=4), -(-len(column.label) // 2)),
                          16))
    first = HEADER_ROW + 1
    # A column of sentences (the scorecard's reasons) wraps at SENTENCE characters, so that
    # the sheet prints at a readable scale.
    sentences = {c.key for c in table.columns if c.kind == "text" and any(
        len(str(r.get(c.key) or "")) > SENTENCE for r in table.rows)}
    for r, row in enumerate(table.rows, start=first):
        # Spreadsheets do not grow a row for wrapped text written by a program: its height
        # is set here, a line per SENTENCE - 4 characters (the indent and a word's spill).
        lines = max([1, *(-(-len(str(row.get(k) or "")) // (SENTENCE - 4)) for k in sentences)])
        if lines > 1:
            sheet.set_row(r, 15 * lines)
        for c, column in enumerate(table.columns):
            value = row.get(column.key)
            fmt = styles.sentence if column.key in sentences else styles.cell(column.kind)
            if column.key == "light" and value in styles.lights:
                fmt = styles.lights[value]
            width = _write_value(sheet, r, c, value, column.kind, fmt)
            widths[c] = max(widths[c], width)
    last = first + len(table.rows) - 1
    if table.total is not None:
        r = last + 1
        for c, column in enumerate(table.columns):
            width = _write_value(sheet, r, c, table.total.get(column.key), column.kind,
                                 styles.cell(column.kind, total=True))
            widths[c] = max(widths[c], width)
    for c, width in enumerate(widths):
        # three characters to spare: a figure beside a date or text keeps a gap
        wrapped = table.columns[c].key in sentences
        sheet.set_column(c, c, SENTENCE if wrapped else max(6, min(width + 3, 48)))
    sheet.set_row(HEADER_ROW, 32)
    sheet.freeze_panes(first, 0)
    _print_setup(sheet)
    sheet.repeat_rows(HEADER_ROW)
    sheet.autofilter(HEADER_ROW, 0, max(last, HEADER_ROW), len(table.columns) - 1)
    return first, last


def _write_summary(book: Any, sheet: Any, styles: _Styles, stats: Stats,
                   names: dict[str, str], placed: dict[str, tuple[int, int]],
                   practice_name: str | None, made_on: dt.date) -> None:
    sheet.set_column(0, 0, 36)
    sheet.set_column(1, 1, 12)
    sheet.set_column(2, 2, 3)
    row = 0
    if practice_name:
        sheet.write_string(row, 0, practice_name, styles.subtitle)
        row += 1
    sheet.write_string(row, 0, "Referral stats", styles.title)
    sheet.write_string(row + 1, 0, _range_text(stats), styles.label)
    sheet.write_string(row + 2, 0, f"Made on {made_on:%Y-%m-%d} from {source_name(stats.source)}",
                       styles.subtitle)
    row += 4
    sheet.write_string(row, 0, "Figure", styles.header)
    sheet.write_string(row, 1, "Value", styles.header_num)
    row += 1
    known = {key for key, _, _ in HEADLINE}
    lines = [*HEADLINE, *((k, k.replace("_", " ").capitalize(), "number")
                          for k in stats.headline if k not in known)]
    for key, label, kind in lines:
        if key not in stats.headline:
            continue
        sheet.write_string(row, 0, label, styles.label)
        _write_value(sheet, row, 1, stats.headline.get(key), kind, styles.cell(kind))
        row += 1
    sheet.write_string(row, 0, f"Dormant: no referral in the last {stats.dormant_after_days} "
                       "days.", styles.subtitle)
    row += 2
    sheet.write_string(row, 0, "Sheets", styles.header)
    sheet.write_string(row, 1, "Rows", styles.header_num)
    row += 1
    for key, table in stats.tables.items():
        sheet.write_url(row, 0, f"internal:'{names[key]}'!A1", styles.link,
                        string=names[key], tip=table.title)
        sheet.write_number(row, 1, len(table.rows), styles.cell("int"))
        row += 1
    row += 1
    charts = _charts(book, stats, names, placed)
    for n, (title, chart) in enumerate(charts):
        cell_row, cell_col = (n // 2) * 18, 3 + (n % 2) * 10
        if chart is None:
            sheet.write_string(cell_row + 1, cell_col, f"{title}: no data in this range.",
                               styles.subtitle)
        else:
            sheet.insert_chart(cell_row, cell_col, chart, {"x_offset": 4, "y_offset": 4})


def _column_index(table: StatTable, key: str) -> int | None:
    return next((i for i, c in enumerate(table.columns) if c.key == key), None)


def _style_chart(chart: Any, title: str) -> None:
    chart.set_title({"name": title, "name_font": {"size": 12, "bold": True, "color": "#243040"}})
    chart.set_size(CHART_SIZE)
    chart.set_chartarea({"border": {"none": True}})
    chart.set_legend({"position": "top"})


def _charts(book: Any, stats: Stats, names: dict[str, str],
            placed: dict[str, tuple[int, int]]) -> list[tuple[str, Any]]:
    """The Summary's charts, each drawn from its table's sheet; None where there is no data."""
    return [("New clients by source", _sources_chart(book, stats, names, placed)),
            ("Referrals and conversion", _conversion_chart(book, stats, names, placed)),
            (f"Top {TOP_REFERRERS} referring providers",
             _referrers_chart(book, stats, names, placed)),
            ("The pipeline", _pipeline_chart(book, stats, names, placed))]


def _sources_chart(book: Any, stats: Stats, names: dict[str, str],
                   placed: dict[str, tuple[int, int]]) -> Any:
    table = stats.tables.get("sources")
    if table is None or not any(r.get("total") for r in table.rows):
        return None
    sheet = names["sources"]
    first, last = placed["sources"]
    period = _column_index(table, "period") or 0
    chart = book.add_chart({"type": "column", "subtype": "stacked"})
    for kind in (*SOURCES, "not recorded"):
        col = _column_index(table, kind)
        if col is None or (kind not in SOURCES and not any(r.get(kind) for r in table.rows)):
            continue
        chart.add_series({"name": [sheet, HEADER_ROW, col],
                          "categories": [sheet, first, period, last, period],
                          "values": [sheet, first, col, last, col],
                          "fill": {"color": SOURCE_COLOURS.get(kind, "#5B6776")},
                          "border": {"color": "#FFFFFF", "width": 0.5}, "gap": 60})
    _period_axes(chart, "New clients by source", "New clients", len(table.rows),
                 max(int(r.get("total") or 0) for r in table.rows))
    return chart


def count_axis(top: float) -> dict[str, Any]:
    """A value axis of counts: from 0, ticks on whole numbers (1, 2, 5, 10, 20, 50... apart, at
    most 8 of them), never 0.5 when the counts are small."""
    steps = (m * 10 ** e for e in range(12) for m in (1, 2, 5))
    step = next(s for s in steps if top / s <= 8)
    return {"min": 0, "major_unit": step, "num_format": "0"}


def _period_axes(chart: Any, title: str, y_name: str, periods: int, top: float) -> None:
    """The look of a chart over periods: gridlines across, counts on whole numbers, labels
    slanted past a year."""
    _style_chart(chart, title)
    chart.set_y_axis({"name": y_name, "major_gridlines": {
        "visible": True, "line": {"color": "#E3E7EC"}}, "line": {"none": True},
        **count_axis(top)})
    chart.set_x_axis({"num_font": {"rotation": -45} if periods > 12 else {}})


def _conversion_chart(book: Any, stats: Stats, names: dict[str, str],
                      placed: dict[str, tuple[int, int]]) -> Any:
    table = stats.tables.get("referrals")
    if table is None or not any(r.get("received") for r in table.rows):
        return None
    sheet = names["referrals"]
    first, last = placed["referrals"]
    period = _column_index(table, "period") or 0
    categories = [sheet, first, period, last, period]
    chart = book.add_chart({"type": "column"})
    for key, colour in (("received", RECEIVED_COLOUR), ("reached", REACHED_COLOUR)):
        col = _column_index(table, key)
        if col is not None:
            chart.add_series({"name": [sheet, HEADER_ROW, col], "categories": categories,
                              "values": [sheet, first, col, last, col],
                              "fill": {"color": colour}, "gap": 80, "overlap": -5})
    col = _column_index(table, "conversion")
    if col is not None:
        line = book.add_chart({"type": "line"})
        line.add_series({"name": [sheet, HEADER_ROW, col], "categories": categories,
                         "values": [sheet, first, col, last, col], "y2_axis": True,
                         "line": {"color": RATE_COLOUR, "width": 2.25},
                         "marker": {"type": "circle", "size": 5,
                                    "fill": {"color": RATE_COLOUR},
                                    "border": {"color": RATE_COLOUR}}})
        line.set_y2_axis({"name": "Conversion", "num_format": "0%", "min": 0, "max": 1,
                          "major_unit": 0.25})
        chart.combine(line)
    _period_axes(chart, "Referrals received and reached a first visit", "Referrals",
                 len(table.rows), max(int(r.get("received") or 0) for r in table.rows))
    return chart


def _referrers_chart(book: Any, stats: Stats, names: dict[str, str],
                     placed: dict[str, tuple[int, int]]) -> Any:
    table = stats.tables.get("providers")
    if table is None or not table.rows:
        return None
    shown = [r for r in table.rows[:TOP_REFERRERS] if r.get("referrals")]
    if not shown:
        return None
    sheet = names["providers"]
    first, _ = placed["providers"]
    last = first + len(shown) - 1
    name_col = _column_index(table, "provider") or 0
    col = _column_index(table, "referrals")
    if col is None:
        return None
    chart = book.add_chart({"type": "bar"})
    points = [{"fill": {"color": DORMANT_COLOUR if r.get("activity") == "dormant"
                        else SOURCE_COLOURS["doctor"]}} for r in shown]
    chart.add_series({"name": [sheet, HEADER_ROW, col],
                      "categories": [sheet, first, name_col, last, name_col],
                      "values": [sheet, first, col, last, col], "points": points,
                      "data_labels": {"value": True}, "gap": 50})
    _style_chart(chart, f"Top {TOP_REFERRERS} referring providers")
    chart.set_legend({"none": True})
    # A bar chart draws its first category at the bottom: reversed, the top referrer is first.
    chart.set_y_axis({"reverse": True, "crossing": "max"})
    chart.set_x_axis({"name": "Referrals in the range", "major_gridlines": {
        "visible": True, "line": {"color": "#E3E7EC"}},
        **count_axis(max(int(r.get("referrals") or 0) for r in shown))})
    return chart


def _pipeline_chart(book: Any, stats: Stats, names: dict[str, str],
                    placed: dict[str, tuple[int, int]]) -> Any:
    table = stats.tables.get("pipeline")
    if table is None or not any(r.get("providers") for r in table.rows):
        return None
    sheet = names["pipeline"]
    first, last = placed["pipeline"]
    stage_col = _column_index(table, "stage") or 0
    col = _column_index(table, "providers")
    if col is None:
        return None
    chart = book.add_chart({"type": "bar"})
    points = [{"fill": {"color": STAGE_COLOURS.get(str(r.get("stage")), "#5B6776")}}
              for r in table.rows]
    chart.add_series({"name": [sheet, HEADER_ROW, col],
                      "categories": [sheet, first, stage_col, last, stage_col],
                      "values": [sheet, first, col, last, col], "points": points,
                      "data_labels": {"value": True}, "gap": 30})
    _style_chart(chart, "Providers per stage of the pipeline")
    chart.set_legend({"none": True})
    # Stage order, first step at the top: a funnel read downwards.
    chart.set_y_axis({"reverse": True, "crossing": "max"})
    chart.set_x_axis({"name": "Providers", "major_gridlines": {
        "visible": True, "line": {"color": "#E3E7EC"}},
        **count_axis(max(int(r.get("providers") or 0) for r in table.rows))})
    return chart
