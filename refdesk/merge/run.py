"""`refdesk merge JOB`: choose the records, check consent, render, save, log, write back.

The order matters for the user's data: the templates are compiled and their fields checked
against the data first; the workbook is locked against other refdesk runs for the whole command;
before the first document is made, the run proves it can finish (the workbook and the output
folder can be written, the disk has room); every document is rendered in memory before the first
file is saved; the Letters rows and the job's write-back go into the workbook in one safe write
at the end, and when that write fails the files just made are removed again.

With --deliver, what leaves the practice leaves once (see refdesk.merge.ledger): the Letters rows
are claimed as `sending` before the first message goes, and confirmed after.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from refdesk.config import Config
from refdesk.errors import OutputError, RefdeskError
from refdesk.fileio import BINARY, describe, os_fix, private_folder, write_file
from refdesk.merge import route
from refdesk.merge.data import (
    SOURCES,
    Data,
    Record,
    context,
    done,
    has_path,
    job_sheets,
    matches,
    records,
    shape,
)
from refdesk.merge.deliver import (
    Outcome,
    check_email_setup,
    check_texts,
    email_allowed,
    how,
)
from refdesk.merge.engine import CompiledTemplate
from refdesk.merge.jobs import Job, load_jobs
from refdesk.merge.ledger import SENDING, Journal, Settled, settle
from refdesk.merge.names import safe_name, unique
from refdesk.merge.requirements import unmet
from refdesk.merge.route import combine, to_pdf
from refdesk.merge.writeback import Writer, shown_path, status_change
from refdesk.sources import Source, read_as_used
from refdesk.xlsxpatch import AppendRows, Change, PatchResult, safety


class MergeError(RefdeskError):
    """A job that cannot run: unknown, or its templates ask for data it does not have."""


@dataclass
class Document:
    record: Record
    context: dict[str, Any]
    file: Path | None = None
    data: bytes = b""
    route: str = "mail"  # how it goes: mail, email or fax
    outcome: Outcome = field(default_factory=lambda: Outcome("produced"))
    letter_id: str = ""
    pdf: Path | None = None  # its PDF, with --deliver


@dataclass
class Skipped:
    record: Record
    reason: str


@dataclass
class MergeResult:
    job: Job
    documents: list[Document] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    already_done: int = 0
    considered: int = 0
    changes: list[Change] = field(default_factory=list)
    write: PatchResult | None = None
    combined: Path | None = None
    dry_run: bool = False
    preview: bool = False

    pdfs: list[Path] = field(default_factory=list)
    mailing: list[Path] = field(default_factory=list)  # labels and envelopes
    delivered: bool = False
    #: Letters rows an interrupted run left in `sending`: what this run recorded for them,
    #: and those nobody can tell about (never sent again until the user says).
    settled: Settled = field(default_factory=Settled)
    #: Documents in the job's folder that no Letters row names (a preview, or a run that was
    #: killed before it could log them): listed, so none sits there unnoticed.
    unlogged: list[Path] = field(default_factory=list)
    #: Cells someone else changed since the read (a shared Google Sheet): left as they are.
    kept: list[str] = field(default_factory=list)

    @property
    def files(self) -> list[Path]:
        if self.combined is not None:
            return [self.combined]
        return [d.file for d in self.documents if d.file is not None]


def find_job(config: Config, name: str) -> Job:
    jobs = load_jobs(config)
    if name not in jobs:
        known = ", ".join(sorted(jobs)) or "none (add [jobs.NAME] tables to config.toml)"
        raise MergeError(f"no job named {name!r} in {config.path}; jobs: {known}.")
    return jobs[name]


def compile_job(config: Config, job: Job) -> list[CompiledTemplate]:
    templates = [CompiledTemplate(config.templates / name) for name in job.templates]
    available = shape(job, config.practice)
    missing: list[str] = []
    for template in templates:
        missing += template.bind(job.field_map, available, job.name)  # Word's MERGEFIELDs
        for path in sorted(template.fields()):
            if not has_path(available, path):
                top = path.split(".")[0]
                origin = SOURCES.get(top)
                where = (f"{top} comes from {origin}, which has no {path.split('.', 1)[1]!r}"
                         if origin and top in available and "." in path else
                         f"{top} is not part of a job for {job.each}")
                missing.append(f"{template.name}: {path} ({where})")
    if missing:
        names = sorted({top.split(".")[0] for top in available})
        raise MergeError(
            f"job {job.name}: its templates use fields the data does not have; nothing was "
            f"made. A job for {job.each} offers: {', '.join(names)}.", details=missing)
    return templates


def _file_name(job: Job, record: Record, data: Data) -> str:
    provider = data.providers.get(record.provider_id or "") or {}
    values = {"date": data.today.isoformat(), "job": job.name, "record": record.key,
              "provider_id": record.provider_id or "", "client_id": record.client_id or "",
              "provider": str(provider.get("name") or "")}
    try:
        parts = list(string.Formatter().parse(job.file))
        # Plain names only: `{date.__class__}` or `{provider[0]}` reach into Python objects.
        if any(f is not None and (f not in values or spec or conv) for _, f, spec, conv in parts):
            raise ValueError("only plain {name} fields")
        name = "".join(text + (values[f] if f is not None else "") for text, f, _, _ in parts)
    except ValueError as exc:
        raise MergeError(f"job {job.name}: file = {job.file!r} is not a pattern refdesk can "
                         f"fill ({exc}); use {{date}}, {{job}}, {{record}}, {{provider_id}}, "
                         "{client_id} or {provider}.") from None
    return safe_name(name, ".docx", f"{job.name} {record.key}")


def select(data: Data, job: Job, force: bool) -> tuple[list[Record], list[Skipped], int, int]:
    """The job's records to make now, those skipped (and why), and how many were done."""
    chosen: list[Record] = []
    skipped: list[Skipped] = []
    already = 0
    candidates = [r for r in records(data, job)
                  if all(matches(data, r, c) for c in job.where)]
    for record in candidates:
        if not force and done(data, job, record):
            already += 1
            continue
        if job.each in ("referrals", "sent", "providers") and (
                record.provider_id not in data.providers):
            skipped.append(Skipped(record, f"provider {record.provider_id or '(empty)'} is not "
                                           "in the Providers sheet"))
            continue
        if job.each != "providers" and record.client_id not in data.clients:
            skipped.append(Skipped(record, f"client {record.client_id or '(empty)'} is not in "
                                           "the Clients sheet"))
            continue
        if job.needs_release:
            release, why = data.valid_release(record.client_id or "", record.provider_id or "",
                                              job.scope)
            if release is None:
                skipped.append(Skipped(record, why))
                continue
            record.release = release
        reason = unmet(data, job.require, record)
        if reason:
            skipped.append(Skipped(record, reason))
            continue
        chosen.append(record)
    return chosen, skipped, already, len(candidates)


class _Made:
    """Every file this run saved, so that a run that cannot log them removes them again."""

    def __init__(self) -> None:
        self.files: list[Path] = []

    def remove(self) -> tuple[int, list[Path]]:
        removed, left = 0, []
        for path in reversed(self.files):
            try:
                path.unlink()
                removed += 1
            except FileNotFoundError:
                pass
            except OSError:
                left.append(path)
        self.files = []
        return removed, left


def _unlogged(error: RefdeskError, made: _Made, what: str) -> MergeError:
    """The run's final write failed: take back the documents it made, and say so."""
    count = len(made.files)
    if getattr(error, "in_doubt", False):  # Letters may name them: they stay
        kept = f"The {count} file(s) it made are kept, since Letters may name them." \
            if count else ""
        return MergeError(" ".join(p for p in (error.message, what, kept) if p),
                          details=error.details)
    removed, left = made.remove()
    if left:
        kept = f" {len(left)} could not be removed and are NOT in Letters: " + ", ".join(
            str(p) for p in left[:5]) + ("..." if len(left) > 5 else "") + "; delete them."
    else:
        kept = ""
    taken = (f"The {removed} file(s) it made were removed, since they could not be logged in "
             f"Letters.{kept}" if count else "")
    return MergeError(f"{error.message} {what} {taken}".strip() +
                      " Fix this, then run the same command again.", details=error.details)


def _check_output(folder: Path) -> None:
    """Prove the documents' folder can take files before the first one is made: make it, and
    write and remove a file there."""
    try:
        private_folder(folder, root=folder.parent)  # the chosen folder too, not only the job's
    except OutputError as exc:
        raise OutputError(f"{exc.message} Use --out or [merge] output to choose another "
                          "folder. Nothing was made.") from None
    probe = folder / f".refdesk-probe-{os.getpid()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | BINARY, 0o600)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        with contextlib.suppress(OSError):
            probe.unlink()
        raise OutputError(f"{folder}: documents cannot be saved there ({describe(exc)}); "
                          f"{os_fix(exc)} Use --out or [merge] output to choose another folder. "
                          "Nothing was made.") from None


def _check_room(folder: Path, needed: int) -> None:
    """The disk under the documents' folder has room for the rendered batch."""
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return
    if free < needed:
        raise OutputError(f"{folder}: the disk has {free // 1024:,} KiB free and the batch "
                          f"needs about {needed // 1024:,} KiB; free some space, then run "
                          "refdesk again. Nothing was made.")


def merge(config: Config, job_name: str, source: Source, *, today: dt.date,
          out: Path | None = None, combine_all: bool = False, dry_run: bool = False,
          preview: int | None = None, force: bool = False, pdf: bool = False,
          labels: bool = False, envelopes: bool = False, deliver: bool = False,
          drafts: bool = False, mark_sent: Iterable[str] = (), retry: Iterable[str] = (),
          progress: Callable[[int, int], None] | None = None,
          now: dt.datetime | None = None) -> MergeResult:
    job = find_job(config, job_name)
    templates = compile_job(config, job)
    if deliver and combine_all:
        raise MergeError("--deliver sends each document on its own way; it does not go with "
                         "--combine, which makes one document of them all.")
    if deliver and preview is not None:
        raise MergeError("--deliver sends documents; it does not go with --preview, which "
                         "writes nothing back. Use --dry-run to see what would go where.")
    mark_sent, retry = list(mark_sent), list(retry)
    if (mark_sent or retry) and preview is not None:
        raise MergeError("--mark-sent and --retry record what happened in Letters; they do not "
                         "go with --preview, which writes nothing back.")
    if (pdf or deliver) and not dry_run:
        from refdesk.office import require_soffice

        require_soffice()  # before anything is made: a clear message naming the package
    writing = preview is None and not dry_run
    with source.locked(f"merge {job.name}") if writing else contextlib.nullcontext():
        return _merge(config, job, templates, source, today=today, out=out,
                      combine_all=combine_all, dry_run=dry_run, preview=preview, force=force,
                      pdf=pdf, labels=labels, envelopes=envelopes, deliver=deliver,
                      drafts=drafts, mark_sent=mark_sent, retry=retry, progress=progress,
                      now=now)


def _merge(config: Config, job: Job, templates: list[CompiledTemplate], source: Source, *,
           today: dt.date, out: Path | None, combine_all: bool, dry_run: bool,
           preview: int | None, force: bool, pdf: bool, labels: bool, envelopes: bool,
           deliver: bool, drafts: bool, mark_sent: list[str], retry: list[str],
           progress: Callable[[int, int], None] | None,
           now: dt.datetime | None) -> MergeResult:
    writing_back = preview is None
    book = read_as_used(source)  # a job's sheets only
    data = Data.of(book, today)
    data.prefetch(job_sheets(job))
    folder = (out or config.output) / job.name
    journal = Journal(folder, str(source))
    try:
        settled = settle(data.letters, job.name, journal, mark_sent, retry)
    except ValueError as exc:
        raise MergeError(f"{exc}.") from None
    chosen, skipped, already, considered = select(data, job, force)
    result = MergeResult(job, skipped=skipped, already_done=already, considered=considered,
                         dry_run=dry_run, preview=preview is not None, settled=settled,
                         unlogged=_unlogged_files(folder, data, config))
    if preview is not None:
        chosen = chosen[:max(preview, 0)]
    taken: set[str] = set()
    for record in chosen:
        # Every document's data is made and checked; a dry run keeps none of it (thousands of
        # documents' data would hold gigabytes for nothing).
        found = context(data, job, record, config.practice)
        doc = Document(record, {} if dry_run else found)
        doc.file = unique(folder, _file_name(job, record, data), taken)
        doc.route = how(job.to, data.providers.get(record.provider_id or ""))
        result.documents.append(doc)
    emails = [d for d in result.documents if deliver and d.route == "email" and not
              email_allowed(job, d.record, data.providers.get(d.record.provider_id or ""))]
    faxes = [d for d in result.documents if deliver and d.route == "fax"]
    if (emails or faxes) and not dry_run:  # a text that cannot be written: say so now
        check_texts(job, (emails or faxes)[0].context)  # the fax cover carries the subject
    if emails and not dry_run and not drafts:
        check_email_setup(config)
    # The Letters rows are dated on the day the run works as (--today), at the clock's time.
    clock = now or dt.datetime.now().replace(microsecond=0)
    stamp = clock if now is not None else dt.datetime.combine(today, clock.time())
    base = config.path.parent if config.path else Path.cwd()
    writer = Writer(job, data)
    settle_changes = _settle_changes(job, data, writer, settled)
    if dry_run:
        if deliver:
            result.delivered = True
            for doc in result.documents:
                doc.outcome = Outcome("would go")
        result.changes = settle_changes + _log_changes(writer, result.documents, templates,
                                                       base, stamp, deliver and not drafts)
        return result
    # Prove the run can finish before the first document is made: the workbook can take the
    # log (not open, not locked, writable, room for a backup), the folder can take the files.
    if writing_back and (result.documents or settle_changes):
        source.check_writable()
    if result.documents:
        _check_output(folder)
    for i, doc in enumerate(result.documents, start=1):
        parts = [t.render(doc.context) for t in templates]
        doc.data = parts[0] if len(parts) == 1 else combine(parts)
        if progress:
            progress(i, len(result.documents))
    if not result.documents:
        if writing_back and settle_changes:
            result.changes = settle_changes
            result.write = _write(source, settle_changes, job, result)
        return result
    size = sum(len(d.data) for d in result.documents)
    _check_room(folder, needed=size * (4 if (pdf or deliver) else 2) + (1 << 20))
    made = _Made()
    messages: list[route.Message] = []
    try:
        if combine_all:
            combined = unique(folder, safe_name(f"{today.isoformat()} {job.name}", ".docx",
                                                job.name), taken)
            write_file(combined, combine([d.data for d in result.documents]))
            made.files.append(combined)
            result.combined = combined
            for doc in result.documents:
                doc.file = combined
        else:
            for doc in result.documents:
                assert doc.file is not None
                write_file(doc.file, doc.data)
                made.files.append(doc.file)
        if deliver:
            messages = route.prepare(config, job, data, result, folder, taken, drafts,
                                     made.files)
        else:
            if labels or envelopes:
                result.mailing = route.mailing_files(config, data, job, result.documents,
                                                     folder, taken, labels, envelopes,
                                                     made.files)
            if pdf:
                result.pdfs = to_pdf([*result.files, *result.mailing], folder)
                made.files.extend(result.pdfs)
    except BaseException as exc:
        removed, _left = made.remove()
        if isinstance(exc, OutputError) and removed:
            raise MergeError(f"{exc.message} The {removed} file(s) this run had made were "
                             "removed; nothing was logged.") from None
        raise
    if not writing_back:
        return result
    log = _log_changes(writer, result.documents, templates, base, stamp, bool(messages))
    result.changes = settle_changes + log
    if not messages:
        try:
            result.write = _write(source, result.changes, job, result)
        except RefdeskError as exc:
            raise _unlogged(exc, made, "") from None
        return result
    # Claim, act, confirm: the Letters rows say `sending` before the first message leaves.
    try:
        result.write = _write(source, result.changes, job, result)
    except RefdeskError as exc:
        raise _unlogged(exc, made, "Nothing was sent.") from None
    safety.checkpoint("deliver:claimed")
    # Sending may outlast a Google Sheet's writing lease: each message renews it when due.
    route.send(config, job, result, messages, journal,
               progress=lambda _done, _total: source.keep_alive())
    confirm: list[Change] = []
    for i in sorted({i for m in messages for i in m.members}):
        doc = result.documents[i]
        if doc.outcome.status == SENDING:
            continue  # never tried (the run was stopped): the next run sends it
        confirm += status_change(doc.letter_id, doc.outcome.status, doc.outcome.detail)
        if doc.outcome.status != "failed":
            confirm += writer.done(doc.record, doc.route)
    confirm += writer.contacts_change()
    result.changes += confirm
    safety.checkpoint("deliver:confirm")
    try:
        result.write = _write(source, confirm, job, result)
    except RefdeskError as exc:
        sent = sum(d.outcome.status == "emailed" for d in result.documents)
        rows = ("(the rows may still say sending)" if getattr(exc, "in_doubt", False) else
                "(the rows still say sending)")
        raise MergeError(f"{exc.message} {sent} email(s) went out, but their status could not "
                         f"be written to Letters {rows}. Run the same "
                         "command again once this is fixed: it records them from the delivery "
                         "journal and sends nothing twice.", details=exc.details) from None
    return result


def _unlogged_files(folder: Path, data: Data, config: Config) -> list[Path]:
    """The job folder's documents that no Letters row names."""
    try:
        found = sorted(p for p in folder.glob("*.docx") if not p.name.startswith("."))
    except OSError:
        return []
    if not found:
        return []
    base = config.path.parent if config.path else Path.cwd()
    logged = {str(r.get("file") or "") for r in data.letters}
    return [p for p in found if shown_path(p, base) not in logged and str(p) not in logged]


def _command(job: Job) -> dict[str, str]:
    return {"command": f"merge {job.name}"}


def _write(source: Source, changes: list[Change], job: Job, result: MergeResult) -> Any:
    """Write, noting the cells a shared sheet kept because someone changed them meanwhile, and
    the letter ids it gave because someone took the planned ones meanwhile."""
    written = source.write(changes, **_command(job))
    result.kept += [str(k) for k in getattr(written, "kept", [])]
    renamed = getattr(written, "renamed", {}).get("Letters", {})
    for doc in result.documents:
        doc.letter_id = renamed.get(doc.letter_id, doc.letter_id)
    return written


def _settle_changes(job: Job, data: Data, writer: Writer, settled: Settled) -> list[Change]:
    """Letters rows an interrupted run left in `sending`: their status, and the job's
    write-back for those whose message did leave."""
    if not settled.statuses:
        return []
    by_key = {r.key: r for r in records(data, job)}
    rows = {str(r.get("letter_id")): r for r in data.letters}
    changes: list[Change] = []
    for lid, (status, detail) in settled.statuses.items():
        changes += status_change(lid, status, detail)
        record = by_key.get(str(rows[lid].get("record")))
        if lid in settled.delivered and record is not None:
            changes += writer.done(record, str(rows[lid].get("delivery") or "email"))
    return changes + writer.contacts_change()


def _log_changes(writer: Writer, made: list[Document], templates: list[CompiledTemplate],
                 base: Path, now: dt.datetime, claim: bool) -> list[Change]:
    """A Letters row for every document and the job's write-back for those made. With a claim
    (messages to send), emails get status `sending` and their write-back waits for the
    server's answer."""
    rows = []
    sets: list[Change] = []
    for doc in made:
        status, detail = doc.outcome.status, doc.outcome.detail
        doc.letter_id = ""
        row = writer.letter_row(doc.record, when=now,
                                template=", ".join(t.name for t in templates),
                                delivery=doc.route, file=shown_path(doc.file, base),
                                status=status, detail=detail)
        doc.letter_id = row["letter_id"]
        rows.append(row)
        if status in ("failed", SENDING, "would go") and not (status == "would go"
                                                              and not claim):
            continue  # not done: the next run tries again, or the confirmation does it
        sets += writer.done(doc.record, doc.route)
    return [*sets, AppendRows("Letters", rows), *writer.contacts_change()]
