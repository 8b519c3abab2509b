"""`refdesk stats` for the terminal, for programs (JSON, a folder of CSV files), and the file
writing shared by every output: private when client names are in it, never half-written, and
never onto the practice's own workbook."""

from __future__ import annotations

import contextlib
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

from rich.cells import cell_len
from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from refdesk import characters
from refdesk.errors import OutputError
from refdesk.fileio import private_folder, write_file
from refdesk.output import write_csv
from refdesk.schema import SHEETS
from refdesk.stats.model import Column, Stats, StatTable, cell_text

#: What the terminal shows, and how many rows of each before "n more".
TERMINAL = {"sources": None, "referrals": None, "revenue": None, "providers": 15,
            "specialties": 10, "scorecard": 10, "activity": 15, "reciprocity": 10,
            "pipeline": None, "client_referrers": 10, "diagnoses": 10}
#: Columns left out in the terminal for width (every output file has them all).
NARROW = {"providers": {"provider_id", "specialty", "first_referral", "reached", "visits",
                        "practice", "last_period", "median_days", "visits_per_referral"},
          "activity": {"provider_id", "practice", "stage"},
          "reciprocity": {"provider_id"}, "specialties": {"reached"},
          "referrals": {"visits"},
          "revenue": {"clients", "visits", "charged", "new_client_revenue",
                      "revenue_per_new_client"},
          "scorecard": {"provider_id", "practice", "specialty", "median_days", "visits", "sent",
                        "reciprocity", "latest_referral", "last_contact", "usual_gap",
                        "by_days", "by_rhythm", "light_reason"}}
#: Narrow labels that hold in one table only.
SHORT_IN = {"sources": {"New clients": "Total"}}
#: Columns left out in the terminal's summary when no row has anything in them.
EMPTY_HIDDEN = {"not recorded"}
#: A note under a table in the summary, for what it leaves out.
MORE = {"scorecard": "Why each light: refdesk stats --table scorecard"}
#: How the scorecard's light reads in a terminal: its word, in its colour.
LIGHT_STYLES = {"green": "bold green", "amber": "bold yellow", "red": "bold red"}

#: Narrow labels for the terminal's columns.
SHORT = {"Reached a first visit": "Came", "Conversion": "Conv.",
         "Median days to first visit": "Days", "Visits per referral": "Visits/ref",
         "Active or dormant": "Status", "Referrals (all time)": "Referrals",
         "Latest referral": "Latest", "Days in the stage": "Days in",
         "Days since the last contact": "Days since", "Median days in the stage": "Median days",
         "Longest, days": "Longest", "Referring providers": "Providers",
         "New clients they referred": "Referred", "How they came themselves": "Their source",
         "First referred client's first visit": "First", "Referrals received": "Received",
         "Clients sent": "Sent", "Not recorded": "Unknown",
         "Doctor share": "Doctor %", "Client share": "Client %", "Other share": "Other %",
         "This period": "This", "Last period": "Last", "Days since": "Days",
         "Cost of outreach": "Outreach", "Cost per new client": "Cost/new client",
         "Last 30 days": "30 days", "Last 90 days": "90 days", "Last 365 days": "365 days"}

HEADLINE = [("new_clients", "New clients", "int"), ("referrals", "Referrals received", "int"),
            ("conversion", "Reached a first visit", "pct"),
            ("median_days", "Median days to first visit", "number"),
            ("visits_per_referral", "Visits per referral", "number"),
            ("doctor_share", "New clients sent by doctors", "pct"),
            ("active_referrers", "Active referrers", "int"),
            ("dormant_referrers", "Dormant referrers", "int")]


def describe_range(stats: Stats) -> str:
    return f"{stats.start:%Y-%m-%d} to {stats.end:%Y-%m-%d}, by {stats.by}"


def print_stats(stats: Stats, *, only: str | None = None, console: Console | None = None
                ) -> None:
    """The summary (headline and the main tables, narrowed to the terminal), or one table whole
    with `only`."""
    console = console or Console(soft_wrap=False)
    if only is not None:
        print_table(stats.tables[only], console, limit=None, narrow=False)
        return
    console.print(Text.assemble(("Referral stats", "bold"),
                                f", {describe_range(stats)} ({stats.source})"))
    figures = Table(show_header=False, box=None, padding=(0, 2))
    for key, label, kind in HEADLINE:
        figures.add_row(label, cell_text(stats.headline.get(key), kind) or "-")
    console.print(figures)
    for key, limit in TERMINAL.items():
        if key in stats.tables:
            print_table(stats.tables[key], console, limit=limit, narrow=True)


def _shown_columns(table: StatTable, narrow: bool) -> list[Column]:
    if not narrow:
        return list(table.columns)
    hidden = set(NARROW.get(table.key, set()))
    rows = [*table.rows, *([table.total] if table.total is not None else [])]
    hidden |= {k for k in EMPTY_HIDDEN if not any(r.get(k) for r in rows)}
    return [c for c in table.columns if c.key not in hidden]


def _figure(column: Column, value: Any) -> Text:
    text = characters.shown(cell_text(value, column.kind))
    if column.key == "light" and text in LIGHT_STYLES:
        return Text(text, style=LIGHT_STYLES[text])  # the word, never the colour alone
    # a control character in a name shows as U+FFFD, never reaching the terminal
    return Text(text)


def _whole(column: Column) -> bool:
    """Whether a value prints whole on one line: a figure, a date or a period ("2025 Q1")
    never breaks; text wraps at its spaces. A header of several words may wrap."""
    return column.kind != "text" or column.key == "period"


#: Columns of names, kept at least this wide so that a name does not break word by word.
NAME_WIDTH = {"provider": 14, "specialty": 14, "detail": 14}


def _widths(columns: list[Column], labels: list[str], rows: list[dict[str, Any]],
            available: int) -> list[int | None] | None:
    """Column widths that print every figure whole in `available` cells, or None when the
    table cannot fit. None for a column leaves it to rich: every column when the table fits
    as it is, else the text columns, which wrap at their spaces (rich narrows the widest
    wrapping columns first, with no regard for a figure's width, so figures get fixed widths:
    as wide as their widest value or header word, more while there is room, up to the
    header's whole width)."""
    least, natural = [], []
    for column, label in zip(columns, labels, strict=True):
        values = [characters.shown(cell_text(r.get(column.key), column.kind)) for r in rows]
        words = [*label.split(), *(w for v in values for w in (
            [v] if _whole(column) else v.split()))]
        least.append(max(max((cell_len(w) for w in words), default=1),
                         NAME_WIDTH.get(column.key, 0)))
        natural.append(max([cell_len(label), *(cell_len(v) for v in values)]))
    rules = 1 + 3 * len(columns)  # a rule before each column and after the last; padding
    if sum(natural) + rules <= available:
        return [None] * len(columns)
    spare = available - rules - sum(least)
    if spare < 0:
        return None
    # The room to spare goes a cell at a time to each figure short of its header's width,
    # keeping half for the text columns when there are any.
    figures = [i for i, c in enumerate(columns) if _whole(c)]
    if len(figures) < len(columns):
        spare //= 2
    fixed = {i: least[i] for i in figures}
    while spare > 0:
        short = [i for i in figures if fixed[i] < natural[i]]
        for i in short[:spare]:
            fixed[i] += 1
        spare -= len(short[:spare])
        if not short:
            break
    return [fixed.get(i) for i in range(len(columns))]


def print_table(table: StatTable, console: Console, *, limit: int | None, narrow: bool) -> None:
    """One table: as a table when it fits the terminal's width, else each row as a block of
    labelled figures (nothing is cut short to fit)."""
    columns = _shown_columns(table, narrow)
    short = {**SHORT, **SHORT_IN.get(table.key, {})}
    labels = [short.get(c.label, c.label) if narrow else c.label for c in columns]
    rows = table.rows
    if table.key in ("sources", "referrals"):
        rows = [r for r in rows if r.get("total", r.get("received"))]  # skip empty periods
    shown = rows if limit is None else rows[:limit]
    every = [*shown, *([table.total] if table.total is not None else [])]
    widths = _widths(columns, labels, every, console.width)
    if widths is not None:
        out = Table(title=Text(table.title, style="bold"), title_justify="left",
                    header_style="bold")
        for c, label, width in zip(columns, labels, widths, strict=True):
            out.add_column(label, justify="left" if c.kind in ("text", "date") else "right",
                           no_wrap=c.key == "period", overflow="fold", width=width,
                           min_width=NAME_WIDTH.get(c.key))
        for row in shown:
            out.add_row(*(_figure(c, row.get(c.key)) for c in columns))
        if table.total is not None:
            out.add_row(*(_figure(c, table.total.get(c.key)) for c in columns),
                        style="bold", end_section=True)
        console.print(out)
    else:
        _print_records(table, columns, labels, shown, console)
    if len(rows) > len(shown):
        console.print(f"  ... {len(rows) - len(shown)} more: refdesk stats --table "
                      f"{table.key}", style="dim")
    if not rows:
        console.print("  (none in this range)", style="dim")
    if table.note:
        console.print(Text(f"  {table.note}", style="dim"))
    if narrow and table.key in MORE and rows:
        console.print(Text(f"  {MORE[table.key]}", style="dim"))


def _print_records(table: StatTable, columns: list[Column], labels: list[str],
                   rows: list[dict[str, Any]], console: Console) -> None:
    """A table too wide for the terminal: each row's name in bold, then its figures as
    "label value" pairs packed into lines, a pair never split across two lines."""
    console.print(Text(table.title, style="bold"))
    lead = next((c for c in columns if c.key in ("provider", "period", "source", "specialty",
                                                   "stage", "client_id")), columns[0])
    width = max(console.width - 2, 20)
    every = [*((r, False) for r in rows),
             *([(table.total, True)] if table.total is not None else [])]
    for row, total in every:
        console.print(Text(characters.shown(cell_text(row.get(lead.key), lead.kind)) or "-",
                           style="bold"))
        line = Text("  ")
        for column, label in zip(columns, labels, strict=True):
            value = row.get(column.key)
            if column is lead or value is None or value == "":
                continue
            pair = Text.assemble((label, "dim"), " ", _figure(column, value))
            if total:
                pair.stylize("bold", len(label) + 1)
            if pair.cell_len > width:  # a sentence: a paragraph of its own
                if cell_len(line.plain) > 2:
                    console.print(line)
                console.print(Padding(pair, (0, 0, 0, 2)))
                line = Text("  ")
                continue
            if cell_len(line.plain) > 2 and cell_len(line.plain) + 3 + pair.cell_len > width:
                console.print(line)
                line = Text("  ")
            elif cell_len(line.plain) > 2:
                line.append("  \u00b7 ", style="dim")
            line.append_text(pair)
        if cell_len(line.plain) > 2:
            console.print(line)


def stats_json(stats: Stats) -> str:
    return json.dumps(stats.as_dict(), indent=2, ensure_ascii=False)


def table_csv(table: StatTable) -> str:
    """One table as CSV: a header of column keys, its rows, its total last. Text that a
    spreadsheet would run as a formula is written with a leading apostrophe (`write_csv`)."""
    buffer = io.StringIO()
    rows = [*table.rows, *([table.total] if table.total is not None else [])]
    write_csv(buffer, [c.key for c in table.columns],
              ([row.get(c.key) for c in table.columns] for row in rows))
    return buffer.getvalue()


def write_csv_folder(stats: Stats, folder: Path, *, private: bool) -> list[Path]:
    """One CSV file per table into `folder` (made if needed); each file written whole."""
    try:
        if private:  # client names inside: the owner's only, also a folder that existed
            private_folder(folder)
        else:
            folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot create the folder ({exc.strerror}).") from None
    if not folder.is_dir():
        raise OutputError(f"{folder}: is a file, not a folder. Name a folder for --csv.")
    written = []
    for key, table in stats.tables.items():
        path = folder / f"{key}.csv"
        write_file(path, table_csv(table).encode("utf-8"), private=private)
        written.append(path)
    return written


# -- writing files -----------------------------------------------------------------------------

def guard_output(path: Path, database: Path | None) -> None:
    """Refuse to write a report onto the practice's workbook, or onto any workbook that holds
    refdesk's sheets: stats never go into the database."""
    if path.exists() and path.is_dir():
        raise OutputError(f"{path}: is a folder. Give a file name, e.g. {path / 'stats.xlsx'}.")
    if database is not None:
        with contextlib.suppress(OSError):
            if path.resolve() == database.resolve() or (
                    path.exists() and os.path.samefile(path, database)):
                raise OutputError(f"{path}: that is the practice's workbook; stats are never "
                                  "written into it. Name another file, e.g. stats.xlsx.")
    if path.exists() and path.suffix.lower() in (".xlsx", ".xlsm") and _holds_refdesk(path):
        raise OutputError(f"{path}: this workbook holds refdesk's sheets (Providers, Referrals"
                          "...); stats are never written over a practice workbook. Name "
                          "another file, e.g. stats.xlsx.")


def _holds_refdesk(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            workbook = zf.read("xl/workbook.xml").decode("utf-8", "replace")
    except (OSError, KeyError, zipfile.BadZipFile, ValueError):
        return False
    names = {s.name for s in SHEETS if s.required}
    return all(f'name="{n}"' in workbook for n in names)
