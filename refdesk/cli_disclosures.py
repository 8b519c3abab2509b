"""`refdesk disclosures CLIENT`: the accounting of disclosures, on the terminal, as JSON or
CSV, and as the document the practice hands the client (--pdf, --docx)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click

from refdesk.cli import progress, resolve, source_options
from refdesk.errors import ConfigError
from refdesk.output import print_table

DAY = click.DateTime(formats=["%Y-%m-%d"])
FILE = click.Path(path_type=Path, dir_okay=False)


@click.command()
@click.argument("client")
@source_options
@click.option("--from", "start", type=DAY,
              help="First day of the period (YYYY-MM-DD) [default: six years before --to].")
@click.option("--to", "end", type=DAY, help="Last day of the period [default: today].")
@click.option("--pdf", "pdf_path", type=FILE, metavar="FILE",
              help="Also write the document for the client as PDF (LibreOffice).")
@click.option("--docx", "docx_path", type=FILE, metavar="FILE",
              help="Also write the document for the client as Word (.docx).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for programs.")
@click.option("--csv", "csv_path", type=click.Path(path_type=Path, dir_okay=False,
                                                   allow_dash=True), metavar="FILE",
              help="Write the disclosures as CSV to FILE (- for stdout).")
@click.pass_context
def disclosures(ctx: click.Context, client: str, config_path: Path | None,
                workbook: Path | None, sheet: str | None, start: dt.datetime | None,
                end: dt.datetime | None, pdf_path: Path | None, docx_path: Path | None,
                as_json: bool, csv_path: Path | None) -> None:
    """The accounting of disclosures a client may ask for (HIPAA, 45 CFR 164.528): each time
    their health information went to someone else, with the date, the recipient and address,
    what was disclosed and why.

    CLIENT is a client_id or the client's name. The period is the six years up to today
    unless --from and --to say otherwise. From the Letters sheet (documents emailed, faxed,
    or made to post or fax by hand; not those that failed or were never emailed) and the Sent
    sheet (clients sent to a provider who was told). Documents that went to the client are
    left out, as the rule allows. The files it writes are private to you.

    \b
    Examples:
      refdesk disclosures C056
      refdesk disclosures "Nadia Lund" --pdf nadia-lund-disclosures.pdf
      refdesk disclosures C056 --from 2025-01-01 --csv disclosures.csv
    """
    from refdesk import disclosures_doc as doc
    from refdesk.disclosures import accounting

    config, source = resolve(config_path, workbook, sheet)
    if (pdf_path or docx_path) and config is None:
        raise ConfigError("the document for the client carries the practice's letterhead from "
                          "config.toml [practice]; give --config, or leave out --pdf and "
                          "--docx.")
    if pdf_path:
        from refdesk.office import require_soffice

        require_soffice()  # before reading: a clear message naming the package
    progress(ctx, f"Reading {source} ...")
    result = accounting(source.read(), config, client, start=start.date() if start else None,
                        end=end.date() if end else None)
    if as_json:
        json.dump(result.record(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    if csv_path is not None and str(csv_path) == "-":
        sys.stdout.write(doc.csv_text(result))
    elif csv_path is not None:
        doc.write_csv_file(result, csv_path)
    if not as_json and (csv_path is None or str(csv_path) != "-"):
        _table(result)
    for line in result.warnings:
        click.echo(f"Warning: {line}", err=True)
    for left in result.left_out:
        click.echo(f"Not listed: {left.line()}", err=True)
    if result.to_client:
        many = result.to_client != 1
        click.echo(f"Not listed: {result.to_client} document{'s' if many else ''} that went to "
                   "the client themself (an accounting leaves out disclosures to the "
                   "individual).", err=True)
    assert config is not None or not (pdf_path or docx_path)
    if docx_path:
        assert config is not None
        click.echo(f"Wrote {doc.write_docx(result, config, docx_path)}", err=True)
    if pdf_path:
        assert config is not None
        click.echo(f"Wrote {doc.write_pdf(result, config, pdf_path)}", err=True)
    if csv_path is not None and str(csv_path) != "-":
        click.echo(f"Wrote {csv_path}", err=True)


def _table(result: object) -> None:
    from refdesk.disclosures import Accounting

    assert isinstance(result, Accounting)
    if not result.disclosures:
        click.echo(f"No disclosure of {result.name} ({result.client_id}) is recorded from "
                   f"{result.start.isoformat()} to {result.end.isoformat()}.")
        return
    rows = [[d.date.isoformat() if d.date else "?",
             "\n".join(x for x in (d.recipient, d.practice, d.address) if x),
             f"{d.document}: {d.information}", d.purpose, d.source]
            for d in result.disclosures]
    print_table(f"Disclosures of {result.name} ({result.client_id}), "
                f"{result.start.isoformat()} to {result.end.isoformat()}: "
                f"{len(result.disclosures)}",
                ["date", "recipient", "what", "purpose", "source"], rows)
