"""`refdesk providers`: the national NPI registry (NPPES) from the command line.

    refdesk providers lookup 1234567893          one provider by NPI
    refdesk providers lookup "Elena Marquez" --state OR
    refdesk providers fill                       complete rows that have an NPI

Registered on the main group by refdesk.cli, whose shared options it uses.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from refdesk.characters import shown
from refdesk.cli import EXIT_PROBLEMS, progress, resolve, source_options
from refdesk.npi import is_valid_npi, npi_check_digit
from refdesk.output import emit_records, print_table
from refdesk.registry import MAX_LIMIT, Match, RegistryClient

COLUMNS = ["NPI", "name", "credential", "primary taxonomy", "practice address", "phone", "fax",
           "status"]

#: The terminal width from which matches print as one table.
WIDE_TABLE = 140


def _at_terminal() -> bool:
    """Whether a person can answer a question (the tests replace this)."""
    return sys.stdin.isatty()


def _status(match: Match) -> str:
    return "active" if match.active else f"deactivated ({match.status})"


@click.group()
def providers() -> None:
    """The national NPI registry (NPPES): look providers up, fill the Providers sheet.

    Answers are kept for 30 days in the user's cache folder, so asking again costs nothing.
    REFDESK_NPI_REGISTRY sets another address for the registry. `refdesk check --registry`
    verifies every NPI of the Providers sheet.

    \b
    Examples:
      refdesk providers lookup 1234567893
      refdesk providers lookup "Elena Marquez" --state OR
      refdesk providers fill --dry-run
    """


@providers.command()
@click.argument("query", nargs=-1, required=True)
@click.option("--state", metavar="XX", help="Two-letter state of the practice location.")
@click.option("--city", help="City of the practice location.")
@click.option("--taxonomy", metavar="TEXT", help="Words of the taxonomy (specialty), e.g. "
              "Chiropractor.")
@click.option("--org", is_flag=True, help="Search organization names only (NPI-2).")
@click.option("--limit", type=click.IntRange(1, MAX_LIMIT), default=10, show_default=True,
              help=f"At most this many matches (the registry gives up to {MAX_LIMIT}).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for programs.")
@click.pass_context
def lookup(ctx: click.Context, query: tuple[str, ...], state: str | None, city: str | None,
           taxonomy: str | None, org: bool, limit: int, as_json: bool) -> None:
    """Look a provider up in the NPI registry by NPI or by name.

    Ten digits are an NPI; anything else is a person's name ("First Last") or, when no person
    matches (or with --org), an organization's. A trailing * matches the start of a name
    (at least two letters before it). Exit code 1 when nothing matches.

    \b
    Examples:
      refdesk providers lookup 1234567893
      refdesk providers lookup Elena Marquez --state OR
      refdesk providers lookup "Bell" --taxonomy chiropractor --city Portland
      refdesk providers lookup "Hawthorne Family*" --org --city Portland --json
    """
    text = " ".join(query).strip()
    client = RegistryClient()
    if text.isdigit() and len(text) != 10:
        raise click.UsageError(f"{text}: an NPI is 10 digits. Check the number.")
    if text.isdigit():
        if not is_valid_npi(text):
            raise click.UsageError(f"{text} is not a valid NPI: its last digit should be "
                                   f"{npi_check_digit(text[:9])}. Check the number.")
        match = client.by_number(text)
        matches = [match] if match is not None else []
        asked = f"NPI {text}"
    else:
        if not text:
            raise click.UsageError("give an NPI or a name to look up.")
        matches = _by_name(client, text, {"state": (state or "").upper() or None,
                                          "city": city, "taxonomy_description": taxonomy},
                           org, limit)
        asked = text + "".join(f", {w}" for w in (city, state) if w)
    progress(ctx, f"Asked the NPI registry at {client}." if client.calls else
             "Answered from the cache (asked within the last 30 days).")
    if as_json:
        emit_records([m.record() for m in matches], as_json=True)
    elif matches:
        _print_matches(f"NPI registry: {len(matches)} match(es) for {asked}", matches)
    if not matches:
        click.echo(f"No provider in the NPI registry matches {asked}.", err=True)
        ctx.exit(EXIT_PROBLEMS)


def _print_matches(title: str, matches: list[Match]) -> None:
    """A table on a wide terminal; below WIDE_TABLE columns, a card of fields per match, as a
    table of eight columns would cut every value to pieces."""
    rows = [[m.npi, m.name, m.credential, m.taxonomy, m.address, m.phone, m.fax, _status(m)]
            for m in matches]
    console = Console(soft_wrap=False)
    if console.width >= WIDE_TABLE:
        table = RichTable(title=title, title_justify="left", header_style="bold")
        for name in COLUMNS:
            table.add_column(name, overflow="fold")
        for cells in rows:
            table.add_row(*(Text(shown(v)) for v in cells))
        console.print(table)
        return
    console.print(Text(title))
    for cells in rows:
        card = RichTable(show_header=False)
        card.add_column(style="bold", no_wrap=True)
        card.add_column(overflow="fold")
        for name, value in zip(COLUMNS, cells, strict=True):
            card.add_row(name, Text(shown(value)))
        console.print(card)


def _by_name(client: RegistryClient, text: str, where: dict[str, str | None], org: bool,
             limit: int) -> list[Match]:
    if not org:
        words = text.split()
        person = ({"first_name": words[0], "last_name": words[-1]} if len(words) > 1
                  else {"last_name": words[0]})
        found = client.search(limit=limit, **person, **where)
        if found:
            return found
    return client.search(limit=limit, organization_name=text, **where)


@providers.command()
@source_options
@click.option("--yes", "-y", is_flag=True, help="Write without asking (for scripts).")
@click.option("--dry-run", is_flag=True, help="Only show what would be written.")
@click.pass_context
def fill(ctx: click.Context, config_path: Path | None, workbook: Path | None,
         sheet: str | None, yes: bool, dry_run: bool) -> None:
    """Fill empty cells of Providers rows that have an NPI, from the NPI registry.

    Name, credentials, specialty, phone, fax, street, city, state and zip: only cells that
    are empty; a cell that holds anything is never changed. Shows the cells and values first,
    then asks (or --yes). A workbook file is backed up before the write (`refdesk undo` puts
    it back); a Google Sheet keeps its own version history. Without a network nothing is
    changed.

    \b
    Examples:
      refdesk providers fill --dry-run
      refdesk providers fill
      refdesk providers fill --yes --workbook referrals.xlsx
    """
    from refdesk.registry.fill import plan_fill

    _config, source = resolve(config_path, workbook, sheet)
    client = RegistryClient()
    with source.locked("refdesk providers fill"):
        progress(ctx, f"Reading {source} ...")
        book = source.read()
        plan = plan_fill(book, client, lambda message: progress(ctx, message))
        for note in plan.skipped:
            click.echo(note, err=True)
        if not plan.fills:
            click.echo("Nothing to fill: every row with an NPI has its name, credentials, "
                       "specialty, address, phone and fax, or the registry has none to give.")
            return
        print_table(f"From the NPI registry: {len(plan.fills)} empty cell(s) to fill",
                    ["cell", "provider", "column", "value"],
                    [[f.cell, f.provider_id, f.column, f.value] for f in plan.fills])
        if dry_run:
            click.echo("Dry run: nothing was written.", err=True)
            return
        if not yes:
            if not _at_terminal():
                raise click.UsageError("add --yes to write without being asked, or --dry-run "
                                       "to only look.")
            if not click.confirm(f"Write these {len(plan.fills)} cell(s) into {source}?",
                                 default=False, err=True):
                click.echo("Nothing was changed.", err=True)
                return
        source.check_writable()
        result = source.write(plan.changes, command="refdesk providers fill")
    backup = getattr(result, "backup", None)
    kept = (f" Backup: {backup.parent.name}/{backup.name} (`refdesk undo` puts it back)."
            if backup is not None else "")
    click.echo(f"Wrote {len(plan.fills)} cell(s) into {source}.{kept}")
