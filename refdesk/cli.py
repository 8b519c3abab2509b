"""The command line: parses options, calls the library, prints. Errors become `Error: ...`
on stderr and an exit code, here and nowhere else."""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from refdesk import __version__
from refdesk.config import Config, load_config
from refdesk.errors import ConfigError, RefdeskError
from refdesk.output import emit_records, print_table, record_fields
from refdesk.places import find_config
from refdesk.sources import Source
from refdesk.sources.excel import ExcelSource
from refdesk.summary import summarize

EXIT_PROBLEMS, EXIT_CANNOT_RUN = 1, 2
# REFDESK_CONFIG is read by refdesk.places, not by click, so that summary can say which it was.
CONFIG_DEFAULT = ("[default: $REFDESK_CONFIG, else ./config.toml, else the default practice's "
                  "(refdesk new)].")
CONFIG_HELP = f"Configuration file {CONFIG_DEFAULT}"


class RefdeskGroup(click.Group):
    """Turns every RefdeskError (and any surprise) into one line on stderr and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RefdeskError as exc:
            for i, line in enumerate(exc.lines()):
                click.echo(("Error: " if i == 0 else "  ") + line, err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted; nothing was written.", err=True)
            ctx.exit(130)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:
            if os.environ.get("REFDESK_DEBUG"):
                raise
            click.echo(f"Error: unexpected {type(exc).__name__}. Run again with REFDESK_DEBUG=1 "
                       "for the details, and report them.", err=True)
            ctx.exit(EXIT_CANNOT_RUN)


def source_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--config, --workbook and --sheet, spelled the same for every command."""
    f = click.option("--sheet", "sheet", metavar="URL",
                     help="Google Sheet (its address or key) to use instead of the workbook "
                          "config.toml names.")(f)
    f = click.option("--workbook", "-w", type=click.Path(path_type=Path, dir_okay=False),
                     help="Workbook to read instead of the one config.toml names.")(f)
    f = click.option("--config", "-c", "config_path", type=click.Path(path_type=Path),
                     help=CONFIG_HELP)(f)
    return f


def format_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--csv", "as_csv", is_flag=True, help="Print CSV for programs.")(f)
    f = click.option("--json", "as_json", is_flag=True, help="Print JSON for programs.")(f)
    return f


def resolve(config_path: Path | None, workbook: Path | None, sheet: str | None = None
            ) -> tuple[Config | None, Source]:
    """The configuration, when there is one to read, and the records to work on.

    --workbook or --sheet win over config.toml's [source]; with either, a missing
    ./config.toml is no error. A named config file must exist. config.toml's [source] google
    wins over its [source] excel."""
    if workbook is not None and sheet is not None:
        raise click.UsageError("give --workbook or --sheet, not both.")
    if workbook is None and sheet is None:
        config: Config | None = _load_found(config_path)
    else:
        config = _config_if_any(config_path)
    country = config.practice.country if config else "US"
    if workbook is not None:
        return config, ExcelSource(workbook, country=country)
    if sheet is not None or (config is not None and config.google):
        return config, _google_source(sheet or "", config)
    assert config is not None
    return config, ExcelSource(config.excel, country=country)


def _config_if_any(config_path: Path | None) -> Config | None:
    """The config file refdesk.places finds, or None when there is none anywhere."""
    try:
        find_config(config_path)
    except ConfigError:  # nothing to find: fine with --workbook or --sheet
        return None
    return _load_found(config_path)


def _load_found(config_path: Path | None) -> Config:
    """Find config.toml (--config, REFDESK_CONFIG, ./config.toml, the default practice),
    read it, and note for summary where it came from."""
    path, how = find_config(config_path)
    config = load_config(path)
    ctx = click.get_current_context(silent=True)
    if ctx is not None and isinstance(ctx.obj, dict):
        ctx.obj["config_found"] = how
    return config


def _google_source(sheet: str, config: Config | None) -> Any:
    """The Google Sheet `sheet` names, or else config.toml's [source] google, with the
    credentials config.toml names."""
    from refdesk.sources.google import GoogleSource

    ref = sheet or (config.google if config else "")
    if not ref:
        raise click.UsageError("name the Google Sheet with --sheet URL (or [source] google in "
                               "config.toml).")
    return GoogleSource(ref, credentials=config.google_credentials if config else None,
                        auth=config.google_auth if config else "service_account",
                        country=config.practice.country if config else "US")


@click.group(cls=RefdeskGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="refdesk")
@click.option("--quiet", "-q", is_flag=True, help="No progress messages on stderr.")
@click.pass_context
def cli(ctx: click.Context, quiet: bool) -> None:
    """refdesk runs a practice's referral program from a spreadsheet.

    \b
    Start with:
      refdesk new my-practice            a practice folder: config, templates, workbook
      refdesk doctor                     is this computer ready (LibreOffice, fonts, ...)
      refdesk summary                    what the configured workbook holds
    """
    ctx.obj = {"quiet": quiet}


def used_line(config: Config | None, how: str | None, source: Source, workbook: Path | None,
              sheet: str | None) -> str:
    """One line: the config.toml and the workbook a command used, and how each was chosen."""
    from refdesk.places import describe_found

    if config is None:
        used = "Config: none"
    else:
        used = f"Config: {config.path.resolve()} ({describe_found(how or '--config')})"
    where = " (--workbook)" if workbook is not None else " (--sheet)" if sheet else ""
    name = source.path.resolve() if source.path is not None else source
    return f"{used}; workbook: {name}{where}."


def progress(ctx: click.Context, message: str) -> None:
    if not ctx.obj.get("quiet"):
        click.echo(message, err=True)


@cli.command()
@source_options
@format_options
@click.pass_context
def summary(ctx: click.Context, config_path: Path | None, workbook: Path | None,
            sheet: str | None, as_json: bool, as_csv: bool) -> None:
    """The sheets of the workbook, their row counts and the source they came from.

    \b
    Examples:
      refdesk summary
      refdesk summary --workbook workbooks/referrals.xlsx --json
    """
    _config, source = resolve(config_path, workbook, sheet)
    # On stderr, so --json and --csv stay clean; --quiet leaves it out for scripts that
    # want stderr silent unless something is wrong.
    progress(ctx, used_line(_config, ctx.obj.get("config_found"), source, workbook, sheet))
    progress(ctx, f"Reading {source} ...")
    result = summarize(source.read())
    if as_json or as_csv:
        emit_records(result.records(), as_json=as_json)
        return
    print_table(result.title(), result.columns(), result.rows())
    for note in result.notes():
        click.echo(note, err=True)
    if isinstance(source, ExcelSource):  # a sync app's conflicted copies may hold rows
        from refdesk.xlsxpatch.safety import sync_note

        if synced := sync_note(source.path):
            click.echo(synced, err=True)
    if _config is not None:  # a letter signed "I" that speaks of the therapist as "Maya"
        from refdesk.merge.packet import third_person

        voice = third_person(_config.practice)
        if voice:
            click.echo(f"Note: {voice}", err=True)


@cli.command()
@source_options
@format_options
@click.option("--errors-only", is_flag=True, help="Leave out warnings.")
@click.option("--annotate", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write a copy of the workbook with each problem cell highlighted and "
                   "commented, and a Problems sheet linking to them.")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Check dates against this day instead of today (YYYY-MM-DD).")
@click.option("--registry", is_flag=True, help="Also ask the national NPI registry (NPPES) "
              "whether each provider's NPI exists, is active, and agrees with the row's name "
              "and specialty (answers cached for 30 days).")
@click.pass_context
def check(ctx: click.Context, config_path: Path | None, workbook: Path | None,
          sheet: str | None, as_json: bool, as_csv: bool, errors_only: bool, annotate: Path | None,
          today: dt.datetime | None, registry: bool = False) -> None:
    """Check every row of the workbook; each problem is named by its cell, with a fix.

    Exit code 0: no errors (warnings allowed); 1: errors found; 2: the check could not run.

    \b
    Examples:
      refdesk check
      refdesk check --errors-only
      refdesk check --annotate review.xlsx       open review.xlsx to see each problem
      refdesk check --json > problems.json
    """
    from refdesk.check import Context, Severity, read_and_check
    from refdesk.check import practice as practice_rules
    from refdesk.check.report import print_problems, summary_line

    config, source = resolve(config_path, workbook, sheet)
    if annotate is not None and source.path is None:
        raise click.UsageError("--annotate marks up an Excel workbook; for a Google Sheet, "
                               "export it first (refdesk export) and check the copy.")
    context = Context(today=(today.date() if today else dt.date.today()),
                      region=config.practice.country if config else "US")
    _book, found = read_and_check(source, context, lambda message: progress(ctx, message))
    if registry:  # warnings at the Providers cells; without a network, a single warning
        from refdesk.registry.verify import add_registry_problems

        found = add_registry_problems(_book, found, lambda message: progress(ctx, message))
    problems = [*(practice_rules.rules(config) if config else ()), *found]
    if errors_only:
        problems = [p for p in problems if p.severity is Severity.ERROR]
    if annotate is not None:
        from refdesk.check.annotate import annotate as write_annotated

        write_annotated(source.path, problems, annotate)
        progress(ctx, f"Wrote {annotate}: each problem cell highlighted, with a Problems sheet.")
    if as_json or as_csv:
        from refdesk.check.problem import Problem

        emit_records([p.record() for p in problems], as_json=as_json,
                     fields=record_fields(Problem))
        click.echo(summary_line(problems), err=True)
    else:
        print_problems(problems)
    if any(p.severity is Severity.ERROR for p in problems):
        ctx.exit(EXIT_PROBLEMS)


@cli.command()
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False), required=False)
@click.option("--sheet", metavar="URL", help="Set up a Google Sheet (its address or key) "
              "instead of creating a workbook file.")
@click.option("--config", "-c", "config_path", type=click.Path(path_type=Path),
              help=f"Configuration file, for the Google credentials {CONFIG_DEFAULT}")
@click.pass_context
def init(ctx: click.Context, path: Path | None, sheet: str | None,
         config_path: Path | None) -> None:
    """Create a new, empty workbook at PATH, or set up a Google Sheet, ready to fill in.

    Every sheet gets its header row, an Excel table, drop-down lists and a hint on each column;
    a "Read me" sheet explains them. An existing file is never overwritten. With --sheet,
    refdesk's tabs are added to the Google Sheet (headers, frozen and protected header rows,
    drop-downs, date formats); tabs that exist with a header are left as they are, and a tab
    without one (an earlier run cut short) is completed. Running it again is always safe.

    \b
    Examples:
      refdesk init my-referrals.xlsx
      refdesk init --sheet https://docs.google.com/spreadsheets/d/KEY/edit
    """
    if (path is None) == (sheet is None):
        raise click.UsageError("give a new workbook's PATH, or --sheet URL (not both).")
    if sheet is not None:
        from refdesk.sources.google.setup import init_sheet

        source = _google_source(sheet, _config_if_any(config_path))
        progress(ctx, f"Setting up {source} ...")
        with source.locked("init --sheet"):  # the sheet's writing lease
            done = init_sheet(source)
        if done.created:
            click.echo(f"Added the tabs {', '.join(done.created)} to {source}.")
        if done.completed:
            click.echo(f"Completed the tabs {', '.join(done.completed)} (they had no header "
                       "row): header, formats and drop-downs.")
        if done.existing:
            click.echo(f"Left as they were: {', '.join(done.existing)}.")
        click.echo(f"Set [source] google = \"{sheet}\" in config.toml to work on it.")
        return
    from refdesk.newbook import write_workbook

    assert path is not None
    write_workbook(path)
    click.echo(f"Created {path}. Open it, read the 'Read me' sheet, then set "
               f"[source] excel = \"{path}\" in config.toml.")


def _answer_options(f: Callable[..., Any]) -> Callable[..., Any]:
    from refdesk.newpractice import answer_options

    return answer_options(f)


@cli.command("new")
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@click.option("--sample", is_flag=True, help="The demo practice (its config and workbook) "
              "instead of a new one.")
@_answer_options
@click.option("--yes", "-y", is_flag=True, help="Ask nothing (for scripts): answers not "
              "given as flags take their defaults; --name and --therapist are required.")
@click.option("--no-default", is_flag=True, help="Do not make it the default practice.")
@click.pass_context
def new(ctx: click.Context, folder: Path, sample: bool, yes: bool, no_default: bool,
        **answers: str | None) -> None:
    """Make a practice folder: config.toml, the Word templates, a new workbook and letters/.

    config.toml is filled from a few questions (or the flags, or --sample for the demo
    practice), each checked as `refdesk check` would. Nothing in FOLDER is ever overwritten.
    The folder becomes the default practice, used wherever there is no config.toml.

    \b
    Examples:
      refdesk new my-practice                    asks the questions
      refdesk new demo --sample                  the sample practice, to try refdesk
      refdesk new my-practice --yes --name "Cedar Lane Massage" --therapist "Maya Lindqvist"
    """
    from refdesk.newpractice import run as make_new

    make_new(folder, answers, sample=sample, yes=yes, register=not no_default,
             progress=lambda text: progress(ctx, text))


def google_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--sheet and --config, for the commands that move records to or from Google."""
    f = click.option("--config", "-c", "config_path", type=click.Path(path_type=Path),
                     help=CONFIG_HELP)(f)
    f = click.option("--sheet", metavar="URL", help="The Google Sheet [default: [source] "
                     "google in config.toml].")(f)
    return f


@cli.command("export")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@google_options
@click.pass_context
def export(ctx: click.Context, path: Path, sheet: str | None, config_path: Path | None) -> None:
    """Copy a Google Sheet's records into a new Excel workbook at PATH.

    The workbook is made as `refdesk init` makes one (tables, drop-downs, formats). An
    existing file is never overwritten.

    \b
    Example:
      refdesk export --sheet https://docs.google.com/spreadsheets/d/KEY/edit practice.xlsx
    """
    from refdesk.sources.google.setup import export_sheet

    source = _google_source(sheet or "", _config_if_any(config_path))
    progress(ctx, f"Reading {source} ...")
    counts = export_sheet(source, path)
    click.echo(f"Wrote {path}: " + ", ".join(f"{n} {name}" for name, n in counts.items() if n)
               + ".")


@cli.command("import")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@google_options
@click.option("--resume", is_flag=True, help="Finish an import that stopped part way: send "
              "only the records the sheet does not hold yet.")
@click.pass_context
def import_(ctx: click.Context, path: Path, sheet: str | None, config_path: Path | None,
            resume: bool) -> None:
    """Copy an Excel workbook's records (PATH) into a Google Sheet.

    Missing tabs are created as `refdesk init --sheet` makes them. The sheet's refdesk tabs
    must hold no records yet: nothing there is ever overwritten. If the import stops part
    way, the message says what went in; --resume sends the rest, each record once.

    \b
    Examples:
      refdesk import practice.xlsx --sheet https://docs.google.com/spreadsheets/d/KEY/edit
      refdesk import practice.xlsx --sheet https://docs.google.com/spreadsheets/d/KEY/edit --resume
    """
    from refdesk.sources.google.importer import import_workbook

    config = _config_if_any(config_path)
    source = _google_source(sheet or "", config)
    progress(ctx, f"Reading {path} ...")
    book = ExcelSource(path, country=config.practice.country if config else "US").read()
    progress(ctx, f"Copying into {source} ...")
    again = f"refdesk import {path}" + (f" --sheet {sheet}" if sheet else "") + " --resume"
    with source.locked("import"):  # the sheet's writing lease
        done = import_workbook(book, source, resume=resume, again=again,
                               progress=lambda text: progress(ctx, text))
    click.echo(f"Copied into {source}: " + (", ".join(
        f"{n} {name}" for name, n in done.rows.items() if n) or "no records") + ".")
    there = ", ".join(f"{n} {name}" for name, n in done.already.items() if n)
    if there:
        click.echo(f"Already there, left as they were: {there}.")


@cli.command()
@source_options
@format_options
@click.option("--on", "on", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="The day to plan for (YYYY-MM-DD), as the workbook stood then "
                   "[default: today].")
@click.option("--ics", "ics_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the actions as a calendar file (.ics) to import: one all-day event "
                   "each on its due day; clients appear by id only.")
@click.option("--alarm", type=click.DateTime(formats=["%H:%M"]), metavar="HH:MM",
              help="With --ics: a reminder at this time of each due day.")
@click.pass_context
def todo(ctx: click.Context, config_path: Path | None, workbook: Path | None,
         sheet: str | None, as_json: bool, as_csv: bool, on: dt.datetime | None,
         ics_path: Path | None, alarm: dt.datetime | None) -> None:
    """The week's actions: follow-ups due, letters and reports owed, packets to send,
    referrals not yet scheduled, releases ending, referrers going quiet.

    Each line says the next step and, where one does it, the `refdesk merge` job.

    \b
    Examples:
      refdesk todo
      refdesk todo --on 2026-11-30
      refdesk todo --json > todo.json
      refdesk todo --ics todo.ics --alarm 09:00   import it into a calendar
    """
    from refdesk.todo import KINDS
    from refdesk.todo import todo as plan

    if alarm is not None and ics_path is None:
        raise click.BadParameter("--alarm goes with --ics FILE.", param_hint="--alarm")
    config, source = resolve(config_path, workbook, sheet)
    day = on.date() if on else dt.date.today()
    progress(ctx, f"Reading {source} ...")
    actions = plan(source.read(), config, day)
    if ics_path is not None:
        from refdesk.calendar_ics import write_ics

        write_ics(ics_path, actions, practice=config.practice.name if config else "", on=day,
                  alarm=alarm.time() if alarm else None)
        progress(ctx, f"Wrote {ics_path}: {len(actions)} event(s), one per action on its due "
                      "day; import it into your calendar (importing again updates them).")
        if not (as_json or as_csv):
            return
    if as_json or as_csv:
        from refdesk.todo import Action

        emit_records([a.record_dict() for a in actions], as_json=as_json,
                     fields=Action.record_fields())
        return
    if not actions:
        click.echo(f"Nothing to do on {day:%Y-%m-%d}.")
        return
    rows = [[a.due.isoformat(), KINDS[a.kind], a.who, a.detail,
             a.next_step + (f" (refdesk merge {a.job})" if a.job else "")] for a in actions]
    print_table(f"To do on {day:%Y-%m-%d}: {len(actions)} action(s)",
                ["due", "what", "who", "why", "next step"], rows)


@cli.command()
@source_options
@click.option("--from", "start", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="First day of the range (YYYY-MM-DD) [default: 12 months by month, "
                   "8 quarters by quarter, everything by year].")
@click.option("--to", "end", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Last day of the range (YYYY-MM-DD) [default: today].")
@click.option("--by", type=click.Choice(["month", "quarter", "year"]), default="month",
              show_default=True, help="The periods figures are counted in.")
@click.option("--table", "only", metavar="NAME",
              help="Print one table whole: sources, source_details, referrals, providers, "
                   "specialties, activity, reciprocity, pipeline, pipeline_providers, "
                   "client_referrers, revenue, revenue_providers, revenue_specialties, "
                   "outreach, scorecard (diagnoses with --with-names).")
@click.option("--json", "as_json", is_flag=True, help="Print every table as JSON.")
@click.option("--csv", "csv_folder", type=click.Path(path_type=Path, file_okay=False),
              help="Write one CSV file per table into this folder.")
@click.option("--html", "html_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Write a one-page report with charts (opens offline, prints well).")
@click.option("--xlsx", "xlsx_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Write a stats workbook: one sheet per table, with Excel charts.")
@click.option("--with-names", is_flag=True, help="Include client names and diagnoses (they "
              "are left out otherwise). Keep such a report private.")
@click.pass_context
def stats(ctx: click.Context, config_path: Path | None, workbook: Path | None,
          sheet: str | None, start: dt.datetime | None, end: dt.datetime | None, by: str,
          only: str | None, as_json: bool, csv_folder: Path | None, html_path: Path | None,
          xlsx_path: Path | None, with_names: bool) -> None:
    """Where referrals come from, who sends them, and how the program is doing.

    New clients by source (doctor, client, other); referrals per provider and specialty with
    trend, conversion to a first visit, days to it and visits per referral; active and
    dormant referrers; referrals received from and clients sent to each provider; the
    pipeline by stage; clients who referred clients. Client names and diagnoses appear only
    with --with-names. Nothing is written into the workbook.

    \b
    Examples:
      refdesk stats                                  the last 12 months, by month
      refdesk stats --by quarter --from 2025-01-01
      refdesk stats --html report.html               a report to open, print or send
      refdesk stats --xlsx stats.xlsx --csv stats/   a workbook with charts; CSV files
      refdesk stats --table providers                every referring provider
      refdesk stats --json > stats.json
    """
    from refdesk.fileio import write_file
    from refdesk.stats import compute
    from refdesk.stats.output import (
        describe_range,
        guard_output,
        print_stats,
        stats_json,
        write_csv_folder,
    )
    from refdesk.todo import Rules

    config, source = resolve(config_path, workbook, sheet)
    day_to = end.date() if end else dt.date.today()
    day_from = start.date() if start else None
    if day_from is not None and day_from > day_to:
        raise click.BadParameter(f"--from {day_from} is after --to {day_to}.",
                                 param_hint="--from")
    for path in (html_path, xlsx_path):
        if path is not None:
            guard_output(path, source.path)
    progress(ctx, f"Reading {source} ...")
    book = source.read()
    rules = Rules.of(config)
    result = compute(book, start=day_from, end=day_to, by=by,
                     dormant_after_days=rules.dormant_after_days, with_names=with_names,
                     hourly_rate=(config.program if config else {}).get("hourly_rate", 0),
                     dormant_by=rules.dormant_by, rhythm_times=rules.rhythm_times)
    if only is not None and only not in result.tables:
        hint = " (it needs --with-names)" if only == "diagnoses" else ""
        raise click.BadParameter(f"no table '{only}'{hint}; choose one of "
                                 f"{', '.join(result.tables)}.", param_hint="--table")
    if csv_folder is not None:
        written = write_csv_folder(result, csv_folder, private=with_names)
        progress(ctx, f"Wrote {len(written)} CSV files into {csv_folder}/.")
    if xlsx_path is not None:
        from refdesk.stats.workbook import write_xlsx

        write_xlsx(result, xlsx_path, config.practice.name if config else None)
        progress(ctx, f"Wrote {xlsx_path}: one sheet per table, with charts.")
    if html_path is not None:
        from refdesk.stats.html import render_html

        name = config.practice.name if config else None
        page = render_html(result, name).encode("utf-8")
        write_file(html_path, page, private=with_names)
        progress(ctx, f"Wrote {html_path}: the report with charts; open it in a browser "
                      f"({describe_range(result)}).")
    if as_json:
        click.echo(stats_json(result))
    elif only is not None or not (csv_folder or xlsx_path or html_path):
        print_stats(result, only=only)


@cli.command()
@click.argument("job", required=False)
@source_options
@click.option("--out", type=click.Path(path_type=Path, file_okay=False),
              help="Folder for the documents [default: [merge] output in config.toml].")
@click.option("--combine", is_flag=True, help="One document with every letter, each on a new "
              "page, instead of one file per letter.")
@click.option("--dry-run", is_flag=True, help="List what would be made and written back; make "
              "nothing, write nothing.")
@click.option("--preview", type=click.IntRange(min=1), metavar="N",
              help="Make the first N documents only, and write nothing back.")
@click.option("--force", is_flag=True, help="Make documents again for rows already done.")
@click.option("--pdf", is_flag=True, help="Also save each document as PDF (LibreOffice, one "
              "process for the whole batch).")
@click.option("--labels", is_flag=True, help="Also a sheet of mailing labels (Avery 5160) for "
              "the recipients, in the order of the documents.")
@click.option("--envelopes", is_flag=True, help="Also #10 envelopes for the recipients, one a "
              "page.")
@click.option("--deliver", is_flag=True, help="Send each document the way its provider asked "
              "(Providers.delivery): PDF, labels and envelopes for mail; a fax file with a "
              "cover sheet for fax; an email with the PDF attached for email.")
@click.option("--drafts", is_flag=True, help="With --deliver: write the emails as .eml drafts "
              "for your mail program instead of sending them.")
@click.option("--mark-sent", "mark_sent", multiple=True, metavar="LETTER_ID",
              help="A letter an interrupted run left in status sending did go out (you saw it "
              "in your sent mail): record it as emailed. Repeat for several.")
@click.option("--retry", multiple=True, metavar="LETTER_ID",
              help="A letter an interrupted run left in status sending did not go out: record "
              "it as failed, so that this run (with --deliver) makes and sends it again.")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Work as if today were this day (YYYY-MM-DD).")
@click.pass_context
def merge(ctx: click.Context, job: str | None, config_path: Path | None,
          workbook: Path | None, sheet: str | None, out: Path | None, combine: bool, dry_run: bool,
          preview: int | None, force: bool, pdf: bool, labels: bool, envelopes: bool,
          deliver: bool, drafts: bool, mark_sent: tuple[str, ...], retry: tuple[str, ...],
          today: dt.datetime | None) -> None:
    """Mail-merge a job's documents from the workbook; log them in Letters.

    Jobs are declared in config.toml ([jobs.NAME]); without JOB, lists them. A document
    that tells a provider about a client is made only under a signed, current release naming
    that provider; rows without one are skipped and listed. Rows already done are skipped too,
    so running a job twice makes nothing new (--force makes them again).

    \b
    Examples:
      refdesk merge                              the jobs in config.toml
      refdesk merge thank-you --dry-run          what would be made, and written back
      refdesk merge intro-packet --preview 1     one packet to look at; nothing logged
      refdesk merge progress-report --combine    one document to print
      refdesk merge thank-you --pdf              a PDF beside each letter
      refdesk merge intro-packet --pdf --labels --envelopes   ready to post
      refdesk merge thank-you --deliver          by mail, fax or email, as each asked
      refdesk merge thank-you --deliver --drafts    emails as drafts to send yourself
      refdesk merge thank-you --deliver --retry L012   after an interrupted run

    With --deliver, the Letters rows say "sending" before the first email leaves and get
    their status after. A run that was interrupted leaves such rows; the next run records
    what its journal knows and never sends them again on its own: the ones it cannot tell
    about are listed, for you to settle with --mark-sent or --retry.
    """
    from refdesk.merge.jobs import load_jobs
    from refdesk.merge.report import print_jobs, print_result
    from refdesk.merge.run import merge as run_merge

    config, source = resolve(config_path, workbook, sheet)
    if config is None:
        raise click.UsageError("merge needs config.toml: its [practice] and [jobs].")
    if job is None:
        print_jobs(load_jobs(config))
        return
    if drafts and not deliver:
        raise click.UsageError("--drafts goes with --deliver.")
    day = today.date() if today else dt.date.today()
    progress(ctx, f"Reading {source} ...")
    bar = None if ctx.obj.get("quiet") else _progress_bar()
    try:
        result = run_merge(config, job, source, today=day, out=out, combine_all=combine,
                           dry_run=dry_run, preview=preview, force=force, pdf=pdf,
                           labels=labels, envelopes=envelopes, deliver=deliver,
                           drafts=drafts, mark_sent=mark_sent, retry=retry,
                           progress=bar.update if bar else None)
    finally:
        if bar:
            bar.close()
    print_result(result, config)


@cli.group(invoke_without_command=True)
@click.option("--config", "-c", "config_path", type=click.Path(path_type=Path),
              help=CONFIG_HELP)
@click.pass_context
def templates(ctx: click.Context, config_path: Path | None) -> None:
    """The templates in the templates folder: their fields and where each field's data
    comes from; exit 1 when something would stop a merge.

    For each template: the jobs that use it, its fields (Jinja tags, or Word's own merge
    fields), the data each prints (a sheet's column, config.toml, or worked out by refdesk),
    and the problems: fields no job provides, tags Word split across runs (they would print
    as typed), merge fields that match no data, fields refdesk cannot merge.

    \b
    Examples:
      refdesk templates                          every template, every field
      refdesk templates check letters/Dear.docx  one file, before a job uses it
    """
    ctx.obj["templates_config"] = config_path
    if ctx.invoked_subcommand is None:
        from refdesk.templates_cmd import check_all

        _print_templates(check_all(_load_found(config_path)))


@templates.command("check")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.pass_context
def templates_check(ctx: click.Context, file: Path) -> None:
    """One template: its fields, where their data comes from, and its problems (exit 1).

    \b
    Examples:
      refdesk templates check templates/thank-you.docx
      refdesk templates check "Word letter.docx"
    """
    from refdesk.templates_cmd import check

    config = _config_if_any(ctx.obj.get("templates_config"))
    _print_templates([check(config, file)])


def _print_templates(reports: list[Any]) -> None:
    problems = 0
    for report in reports:
        used = ", ".join(report.jobs) or "no job"
        title = f"{report.file.name}: {report.kind}; used by {used}"
        rows = [(f.name, f.path or "(no job provides it)", f.origin, ", ".join(f.jobs))
                for f in report.fields]
        if rows:
            print_table(title, ("field", "data", "comes from", "jobs"), rows)
        else:
            click.echo(title)
        for line in report.problems:
            click.echo(f"  problem: {line}")
        problems += len(report.problems)
    click.echo(f"{len(reports)} template(s), {problems} problem(s).", err=True)
    if problems:
        sys.exit(EXIT_PROBLEMS)


@cli.command()
@click.option("--config", "-c", "config_path", type=click.Path(path_type=Path),
              help=CONFIG_HELP)
@click.option("--smtp", is_flag=True, help="Also connect and log in to the [email] server "
              "(nothing is sent).")
@click.option("--google", is_flag=True, help="Also read the Google Sheet's metadata with the "
              "credentials config.toml names.")
@click.pass_context
def doctor(ctx: click.Context, config_path: Path | None, smtp: bool, google: bool) -> None:
    """Check this computer is ready: Python, LibreOffice, the templates' fonts, config.toml,
    the workbook, and on request the email server and the Google Sheet.

    One line per check, ✔ or ✘ with the fix; exit 1 when something fails.

    \b
    Examples:
      refdesk doctor
      refdesk doctor --smtp --google
    """
    from refdesk.doctor import marks, run_checks

    checks = run_checks(config_path, smtp=smtp, google=google)
    shown = marks(sys.stdout.encoding)
    for check in checks:
        click.echo(check.line(shown))
    if any(check.ok is False for check in checks):
        ctx.exit(EXIT_PROBLEMS)


@cli.command()
@source_options
@click.option("--yes", "-y", is_flag=True, help="Undo without asking (for scripts).")
@click.option("--show", is_flag=True, help="Only show what the last write changed; change "
              "nothing.")
@click.pass_context
def undo(ctx: click.Context, config_path: Path | None, workbook: Path | None,
         sheet: str | None, yes: bool, show: bool) -> None:
    """Put the workbook back as it was before refdesk's last write into it.

    Shows the last write (the command, when, the rows added and the cells set) and restores
    the backup taken before it, but only while the workbook is still exactly what refdesk
    wrote; if it changed since, nothing is done and the backup to open by hand is named (exit
    1). The undo keeps a backup too: run it again to redo. Asks first at a terminal. For a
    Google Sheet, explains its version history instead.

    \b
    Examples:
      refdesk undo --show      what the last write changed; change nothing
      refdesk undo             asks, then restores the workbook
      refdesk undo --yes       no question (for scripts)
    """
    from refdesk.undo import GOOGLE_HISTORY, last_write
    from refdesk.undo import undo as restore

    _config, source = resolve(config_path, workbook, sheet)
    if source.path is None:
        click.echo(GOOGLE_HISTORY)
        return
    with source.locked("refdesk undo"):
        if not show:
            source.check_writable()  # open in Excel, read-only, a full disk: say so first
        last = last_write(source.path)
        click.echo(f"Last write into {source.path.name}: {last.entry.summary()}.")
        click.echo(f"Backup taken before it: {last.shown_backup()}")
        if show:
            return
        if not yes:
            if not _at_terminal():
                raise click.UsageError("add --yes to undo without being asked, or --show to "
                                       "only look.")
            if not click.confirm(f"Put {source.path.name} back as it was before this write?",
                                 default=False, err=True):
                click.echo("Nothing was changed.", err=True)
                return
        base = _config.path.parent if _config is not None and _config.path else Path.cwd()
        files = _logged_files(source, last.entry.appended.get("Letters") or (), base)
        done = restore(last)
    kept = f" The version undone is kept as {done.backup.parent.name}/{done.backup.name}; run " \
        "`refdesk undo` again to put it back." if done.backup else ""
    click.echo(f"Restored {source.path.name} as it was before {last.entry.title}.{kept}")
    if files:  # documents on disk whose Letters rows are gone: say so, never leave them silent
        click.echo(f"The {len(files)} document(s) that write logged are still on disk and no "
                   "longer in Letters: " + "; ".join(files[:10]) + ("; ..." if len(files) > 10
                                                                 else "") +
                   ". Delete them, or run the job again to make and log new ones.", err=True)


def _logged_files(source: Any, rows: Sequence[int], base: Path) -> list[str]:
    """The files the Letters rows `rows` (first and last row) name, as the workbook holds them
    now: what an undo of their write leaves on disk unlogged."""
    if len(rows) != 2:
        return []
    letters = source.read().tables.get("Letters")
    if letters is None:
        return []
    df = letters.df
    chosen = df[(df.index >= rows[0]) & (df.index <= rows[1])]["file"].dropna()
    return [name for name in dict.fromkeys(str(v) for v in chosen) if (base / name).exists()]


def _at_terminal() -> bool:
    """Whether a person can answer a question (the tests replace this)."""
    return sys.stdin.isatty()

class _progress_bar:
    """A bar on stderr for long runs (shown from the 20th document on)."""

    def __init__(self) -> None:
        self._progress: Any = None
        self._task: Any = None

    def update(self, done: int, total: int) -> None:
        if total < 20:
            return
        if self._progress is None:
            from rich.console import Console
            from rich.progress import Progress

            self._progress = Progress(console=Console(stderr=True), transient=True)
            self._progress.start()
            self._task = self._progress.add_task("Merging", total=total)
        self._progress.update(self._task, completed=done)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()


@cli.command()
@source_options
@click.option("--port", type=click.IntRange(0, 65535), default=0,
              help="Port to serve on [default: 0, a free one].")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="This computer's address to serve on: 127.0.0.1, localhost or ::1 (no "
                   "other is accepted).")
@click.option("--no-browser", is_flag=True, help="Only print the address; open no browser.")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Work as if today were this day (YYYY-MM-DD).")
@click.pass_context
def desk(ctx: click.Context, config_path: Path | None, workbook: Path | None,
         sheet: str | None, port: int, host: str, no_browser: bool,
         today: dt.datetime | None) -> None:
    """Open the desk: the week, problems, report, letters, ledger and setup as a page in
    your browser, on this computer only. Ctrl-C closes it.

    \b
    Examples:
      refdesk desk
      refdesk desk --no-browser --port 8765
    """
    from refdesk.desk.security import new_token
    from refdesk.desk.server import check_host, serve
    from refdesk.desk.settings import DeskSettings

    check_host(host)  # refused before anything is read
    resolve(config_path, workbook, sheet)  # a missing config.toml fails as for any command
    settings = DeskSettings(config_path, workbook, sheet, new_token(), host=host, port=port,
                            today=today.date() if today else None)
    progress(ctx, "Reading the workbook ...")
    serve(settings, open_browser=not no_browser, echo=click.echo)


# After the shared options above, which the providers commands use.
from refdesk.cli_disclosures import disclosures  # noqa: E402
from refdesk.cli_providers import providers  # noqa: E402

cli.add_command(providers)
cli.add_command(disclosures)


def main() -> None:
    cli(prog_name="refdesk")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
