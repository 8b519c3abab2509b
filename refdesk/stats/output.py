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

from rich.console import Console
from rich.table import Table
from rich.text import Text

from refdesk import characters
from refdesk.errors import OutputError
from refdesk.fileio import private_folder, write_file
from refdesk.output import write_csv
from refdesk.schema import SHEETS
from refdesk.stats.model import Stats, StatTable, cell_text

#: What the terminal shows, and how many rows of each before "n more".
TERMINAL = {"sources": None, "referrals": None, "providers": 15, "specialties": 10,
            "activity": 15, "reciprocity": 10, "pipeline": None, "client_referrers": 10,
            "diagnoses": 10}
#: Columns left out in the terminal for width (every output file has them all).
NARROW = {"providers": {"provider_id", "specialty", "first_referral", "reached", "visits",
                        "practice", "last_period"},
          "activity": {"provider_id", "practice", "stage"},
          "reciprocity": {"provider_id"}, "specialties": {"reached"},
          "referrals": {"visits"}}

#: Narrow labels for the terminal's columns.
SHORT = {"Reached a first visit": "Came", "Conversion": "Conv.",
         "Median days to first visit": "Days", "Visits per referral": "Visits/ref",
         "Active or dormant": "Status", "Referrals (all time)": "Referrals",
         "Latest referral": "Latest", "Days in the stage": "Days in",
         "Days since the last contact": "Days since", "Median days in the stage": "Median days",
         "Longest, days": "Longest", "Referring providers": "Providers",
         "New clients they referred": "Referred", "How they came themselves": "Their source",
         "First referred client's first visit": "First", "Referrals received": "Received",
         "Clients sent": "Sent", "Not recorded": "Unknown", "New clients": "Total",
         "Doctor share": "Doctor %", "Client share": "Client %", "Other share": "Other %",
         "This period": "This", "Last period": "Last", "Days since": "Days"}

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


def print_table(table: StatTable, console: Console, *, limit: int | None, narrow: bool) -> None:
    hidden = NARROW.get(table.key, set()) if narrow else set()
    columns = [c for c in table.columns if c.key not in hidden]
    out = Table(title=Text(table.title, style="bold"), title_justify="left", header_style="bold")
    for c in columns:
        out.add_column(SHORT.get(c.label, c.label) if narrow else c.label,
                       justify="left" if c.kind in ("text", "date") else "right",
                       no_wrap=c.kind != "text" or c.key == "period",
                       min_width=14 if c.key in ("provider", "specialty", "detail") else None)
    rows = table.rows
    if table.key in ("sources", "referrals"):
        rows = [r for r in rows if r.get("total", r.get("received"))]  # skip empty periods
    shown = rows if limit is None else rows[:limit]
    for row in shown:
        # a control character in a name shows as U+FFFD, never reaching the terminal
        out.add_row(*(Text(characters.shown(cell_text(row.get(c.key), c.kind)))
                      for c in columns))
    if table.total is not None:
        out.add_row(*(Text(cell_text(table.total.get(c.key), c.kind)) for c in columns),
                    style="bold", end_section=True)
    console.print(out)
    if len(rows) > len(shown):
        console.print(f"  ... {len(rows) - len(shown)} more: refdesk stats --table "
                      f"{table.key}", style="dim")
    if not rows:
        console.print("  (none in this range)", style="dim")
    if table.note:
        console.print(Text(f"  {table.note}", style="dim"))


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
