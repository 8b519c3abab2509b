"""What `refdesk merge` prints: the jobs, and what a run made, skipped and wrote back."""

from __future__ import annotations

import click

from refdesk.config import Config
from refdesk.merge.jobs import Job
from refdesk.merge.run import MergeResult
from refdesk.output import print_table
from refdesk.xlsxpatch import AppendRows, SetCell, SetField


def print_jobs(jobs: dict[str, Job]) -> None:
    if not jobs:
        click.echo("No jobs in config.toml: add [jobs.NAME] tables (see README, Mail merge).")
        return
    print_table("Jobs in config.toml", ["job", "makes", "one per", "templates"],
                [[j.name, j.title, j.each, ", ".join(j.templates)] for j in jobs.values()])
    click.echo("Run one with `refdesk merge JOB`; add --dry-run to see what it would do.",
               err=True)


def _change_lines(result: MergeResult) -> list[str]:
    lines = []
    for change in result.changes:
        if isinstance(change, SetField):
            value = change.value.isoformat() if hasattr(change.value, "isoformat") else \
                change.value
            lines.append(f"{change.sheet}: {change.column} = {value} for {change.id_column} "
                         f"{change.id}")
        elif isinstance(change, AppendRows):
            lines.append(f"{change.sheet}: {len(change.rows)} new row(s)")
        elif isinstance(change, SetCell):
            lines.append(f"{change.sheet}!{change.cell} = {change.value}")
    return lines


def print_result(result: MergeResult, config: Config) -> None:
    job = result.job
    base = config.path.parent if config.path else None
    rows = []
    for doc in result.documents:
        file = doc.file
        shown = str(file.relative_to(base)) if file and base and file.is_relative_to(base) \
            else str(file)
        row = [doc.record.key, doc.record.provider_id or "", shown]
        if result.delivered:
            row += [doc.route, doc.outcome.status, doc.outcome.detail]
        rows.append(row)
    verb = "Would make" if result.dry_run else "Made"
    if rows:
        columns = ["record", "provider", "file"]
        if result.delivered:
            columns += ["by", "status", "detail"]
        print_table(f"{job.name}: {verb.lower()} {len(rows)} document(s)", columns, rows)
    else:
        click.echo(f"{job.name}: nothing to make.")
    if result.skipped:
        print_table(f"Skipped {len(result.skipped)}, each with the reason and what to fix",
                    ["record", "why"], [[s.record.key, s.reason] for s in result.skipped])
    notes = []
    settled = result.settled
    for line in settled.lines:
        notes.append(f"an interrupted run's letter {line}")
    if settled.in_doubt:
        print_table(f"{len(settled.in_doubt)} letter(s) an interrupted run was sending: nobody "
                    "knows whether they went, so they are not sent again",
                    ["letter", "record", "provider", "file"],
                    [[str(r.get("letter_id")), str(r.get("record") or ""),
                      str(r.get("provider_id") or ""), str(r.get("file") or "")]
                     for r in settled.in_doubt])
        ids = " ".join(str(r.get("letter_id")) for r in settled.in_doubt)
        notes.append(f"look in your sent mail, then run `refdesk merge {job.name} --mark-sent "
                     f"ID` for those that went and `--deliver --retry ID` for those that did "
                     f"not ({ids})")
    if result.unlogged:
        names = ", ".join(p.name for p in result.unlogged[:5]) + (
            ", ..." if len(result.unlogged) > 5 else "")
        notes.append(f"{len(result.unlogged)} document(s) in {result.unlogged[0].parent} are in "
                     f"no Letters row ({names}): a preview, or a run stopped before it could "
                     "log them. Delete them if they were not sent")
    if result.already_done:
        notes.append(f"{result.already_done} already done (see Letters; --force makes them "
                     "again)")
    if result.combined is not None:
        notes.append(f"all in one document: {result.combined}")
    failed = [d for d in result.documents if d.outcome.status == "failed"]
    if failed:
        notes.append(f"{len(failed)} not delivered (status failed in Letters): the next run "
                     "tries them again")
    waiting = [d for d in result.documents if d.outcome.status == "sending"]
    if waiting and not result.dry_run:
        notes.append(f"{len(waiting)} not sent (the run stopped first; status sending in "
                     "Letters): the next run sends them")
    for path in result.mailing:
        notes.append(f"for the post: {path.name}")
    if result.pdfs:
        notes.append(f"{len(result.pdfs)} PDF(s) beside the documents")
    if result.dry_run:
        for line in _change_lines(result):
            notes.append(f"would write {line}")
    elif result.preview:
        notes.append("preview: nothing was written back to the workbook")
    elif result.write is not None and result.write.written:
        backup = f"; backup: {result.write.backup}" if result.write.backup else ""
        notes.append(f"wrote {len(result.documents)} Letters row(s) and the job's updates to "
                     f"the workbook{backup}")
    for line in result.kept:
        notes.append(line)
    if result.kept:
        notes.append("someone else changed those cells while refdesk ran; their values were kept "
                     "and the Letters rows written: set the cells by hand if refdesk's value is "
                     "the right one")
    for note in notes:
        click.echo(note, err=True)
