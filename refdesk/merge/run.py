"""`refdesk merge JOB`: choose the records, check consent, render, save, log, write back.

The order matters for the user's data: the templates are compiled and their fields checked
against the data first; every document is rendered in memory before the first file is saved;
the workbook's lock and change-since-read checks run before any file is saved; the Letters rows
and the job's write-back go into the workbook in one safe write at the end.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from refdesk.config import Config
from refdesk.errors import RefdeskError
from refdesk.merge import mailing
from refdesk.merge.data import (
    SOURCES,
    Data,
    Record,
    city_line,
    client_context,
    context,
    done,
    has_path,
    matches,
    provider_context,
    records,
    shape,
)
from refdesk.merge.deliver import (
    Mailer,
    Outcome,
    check_email_setup,
    check_texts,
    email_allowed,
    fax_name,
    how,
    message,
    subject,
)
from refdesk.merge.engine import CompiledTemplate
from refdesk.merge.jobs import Job, load_jobs
from refdesk.merge.mailing import Address
from refdesk.source import Source
from refdesk.xlsxpatch import AppendRows, Change, PatchResult, SetField

CHANNEL = {"mail": "letter", "email": "email", "fax": "fax"}
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


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
        name = job.file.format(**values)
    except (KeyError, IndexError, ValueError) as exc:
        raise MergeError(f"job {job.name}: file = {job.file!r} is not a pattern refdesk can "
                         f"fill ({exc}); use {{date}}, {{job}}, {{record}}, {{provider_id}}, "
                         "{client_id} or {provider}.") from None
    name = _UNSAFE.sub("-", name).strip(" .") or f"{job.name} {record.key}"
    return name if name.lower().endswith(".docx") else name + ".docx"


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
        chosen.append(record)
    return chosen, skipped, already, len(candidates)


def _next_ids(rows: list[dict[str, Any]], column: str, prefix: str, width: int):
    numbers = [int(m.group(1)) for r in rows
               if (m := re.fullmatch(re.escape(prefix) + r"(\d+)", str(r.get(column) or "")))]
    widths = [len(str(r.get(column))) - len(prefix) for r in rows
              if re.fullmatch(re.escape(prefix) + r"\d+", str(r.get(column) or ""))]
    width = max(widths, default=width)
    number = max(numbers, default=0)
    while True:
        number += 1
        yield f"{prefix}{number:0{width}d}"


def _write_private(path: Path, data: bytes) -> None:
    """Save a document readable by the user only, whole or not at all."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise


def _private_folder(folder: Path) -> None:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        os.chmod(folder, 0o700)


def _unique(folder: Path, name: str, taken: set[str]) -> Path:
    stem, suffix = name[:-5], name[-5:]
    candidate, n = name, 1
    while candidate.lower() in taken or (folder / candidate).exists():
        n += 1
        candidate = f"{stem} ({n}){suffix}"
    taken.add(candidate.lower())
    return folder / candidate


def combine(documents: list[bytes]) -> bytes:
    """Several .docx files as one, each starting on a new page (docxcompose)."""
    from docx import Document as open_docx
    from docxcompose.composer import Composer

    master = open_docx(io.BytesIO(documents[0]))
    composer = Composer(master)
    for data in documents[1:]:
        master.add_page_break()
        composer.append(open_docx(io.BytesIO(data)))
    out = io.BytesIO()
    composer.save(out)
    return out.getvalue()


def recipient(data: Data, job: Job, record: Record) -> Address:
    """Where a record's document goes by post."""
    if job.to == "provider":
        p = provider_context(data.providers.get(record.provider_id or "") or {})
        return Address.of(p["full_name"], p["practice"], p["street"], p["city_line"])
    c = client_context(data.clients.get(record.client_id or "") or {})
    return Address.of(c["name"], c["street"], c["city_line"])


def _mailing(config: Config, data: Data, job: Job, documents: list[Document], folder: Path,
             taken: set[str], labels: bool, envelopes: bool) -> list[Path]:
    """Labels and envelopes for the batch's recipients, in the order of the documents."""
    addresses = [recipient(data, job, d.record) for d in documents]
    made = []
    stem = f"{data.today.isoformat()} {job.name}"
    if labels:
        made.append(_unique(folder, f"{stem} labels.docx", taken))
        _write_private(made[-1], mailing.labels(addresses))
    if envelopes:
        practice = config.practice
        sender = Address.of(practice.name, practice.street,
                            city_line(practice.city, practice.state, practice.zip))
        made.append(_unique(folder, f"{stem} envelopes.docx", taken))
        _write_private(made[-1], mailing.envelopes(sender, addresses))
    return made


def _deliver(config: Config, job: Job, data: Data, result: MergeResult, folder: Path,
             taken: set[str], drafts: bool) -> None:
    """Route every document: PDFs in one LibreOffice batch, then fax files, emails or drafts,
    and labels and envelopes for what goes by post."""
    result.delivered = True
    docs = result.documents
    mail = [d for d in docs if d.route == "mail"]
    result.mailing = _mailing(config, data, job, mail, folder, taken, True, True) if mail else []
    faxes: dict[int, Path] = {}
    if any(d.route == "fax" for d in docs):
        cover = CompiledTemplate(config.templates / "fax-cover.docx")
        for i, doc in enumerate(docs):
            if doc.route == "fax" and not (data.providers.get(doc.record.provider_id or "")
                                           or {}).get("fax"):
                doc.outcome = Outcome("failed", "the provider has no fax number in "
                                                "Providers.fax")
            elif doc.route == "fax":
                page = cover.render(dict(doc.context, subject=subject(job, doc.context)))
                faxes[i] = folder / f".fax-{i:05d}.docx"
                _write_private(faxes[i], combine([page, doc.data]))
    files = [d.file for d in docs if d.file is not None]
    pdfs = to_pdf([*files, *result.mailing, *faxes.values()], folder)
    result.pdfs = pdfs[:len(files) + len(result.mailing)]
    by_doc = dict(zip(range(len(docs)), pdfs[:len(files)], strict=True))
    fax_folder = folder / "fax"
    for (i, temp), pdf in zip(faxes.items(), pdfs[len(files) + len(result.mailing):],
                              strict=True):
        provider = data.providers.get(docs[i].record.provider_id or "") or {}
        _private_folder(fax_folder)
        target = _unique(fax_folder, fax_name(str(provider.get("fax") or ""),
                                              docs[i].record.key), set())
        os.replace(pdf, target)
        temp.unlink()
        docs[i].outcome = Outcome("produced", f"fax: {target.name}", target)
    # One message per provider, with each of their documents in the batch attached.
    groups: dict[str, list[int]] = {}
    for i, doc in enumerate(docs):
        if doc.route != "email":
            continue
        provider = data.providers.get(doc.record.provider_id or "") or {}
        refused = email_allowed(job, doc.record, provider)
        if refused:
            doc.outcome = Outcome("failed", f"not emailed: {refused}")
            continue
        groups.setdefault(str(provider["email"]).strip(), []).append(i)
    mailer = None
    for address, members in groups.items():
        first = docs[members[0]]
        msg = message(config, job, first.context, address, [by_doc[i] for i in members])
        if drafts:
            _private_folder(folder / "drafts")
            draft = _unique(folder / "drafts", f"{first.record.key}.eml", set())
            _write_private(draft, bytes(msg))
            outcome = Outcome("drafted", f"draft: {draft.name}", draft)
        else:
            mailer = mailer or Mailer(config)
            outcome = mailer.send(msg)
        for i in members:
            docs[i].outcome = outcome
    if mailer is not None:
        mailer.close()


def to_pdf(files: list[Path], folder: Path) -> list[Path]:
    """PDFs of the documents, beside them, made by one LibreOffice process for the batch."""
    from refdesk.office import convert

    pdfs = convert(files, "pdf", folder)
    for path in pdfs:
        os.chmod(path, 0o600)
    return pdfs


def _changes(job: Job, data: Data, made: list[Document], templates: list[CompiledTemplate],
             base: Path, now: dt.datetime) -> list[Change]:
    letters = data.letters
    letter_ids = _next_ids(letters, "letter_id", "L", 3)
    rows: list[dict[str, Any]] = []
    contacts: list[dict[str, Any]] = []
    contact_ids = _next_ids(_rows_of(data, "Contacts"), "contact_id", "CT", 3)
    sets: list[Change] = []
    for doc in made:
        record = doc.record
        delivery = doc.route
        file = doc.file
        shown = str(file.relative_to(base)) if file and file.is_relative_to(base) else str(file)
        rows.append({"letter_id": next(letter_ids), "when": now, "job": job.name,
                     "record": record.key,
                     "template": ", ".join(t.name for t in templates),
                     "provider_id": record.provider_id if job.to == "provider" else None,
                     "client_id": record.client_id,
                     "release_id": (record.release or {}).get("release_id"),
                     "delivery": delivery, "file": shown, "status": doc.outcome.status,
                     "detail": doc.outcome.detail or None})
        if doc.outcome.status == "failed":
            continue  # not done: the next run tries again
        for write in job.set:
            value: Any = data.today if write.value.lower() == "today" else write.value
            sheet, key = write.sheet, EACH_KEYS[write.sheet]
            ident = {"Providers": record.provider_id, "Clients": record.client_id}.get(
                sheet, record.key)
            sets.append(SetField(sheet, key, ident, write.column, value))
        if job.contact and record.provider_id:
            contacts.append({"contact_id": next(contact_ids), "date": data.today,
                             "provider_id": record.provider_id,
                             "channel": CHANNEL.get(delivery, "other"),
                             "summary": job.contact})
    changes: list[Change] = [*sets, AppendRows("Letters", rows)]
    if contacts:
        changes.append(AppendRows("Contacts", contacts))
    return changes


EACH_KEYS = {"Providers": "provider_id", "Clients": "client_id", "Referrals": "referral_id",
             "Sent": "sent_id", "Visits": "visit_id"}


def _rows_of(data: Data, sheet: str) -> list[dict[str, Any]]:
    from refdesk.merge.data import _rows

    return _rows(data.book, sheet)


def merge(config: Config, job_name: str, source: Source, *, today: dt.date,
          out: Path | None = None, combine_all: bool = False, dry_run: bool = False,
          preview: int | None = None, force: bool = False, pdf: bool = False,
          labels: bool = False, envelopes: bool = False, deliver: bool = False,
          drafts: bool = False,
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
    if (pdf or deliver) and not dry_run:
        from refdesk.office import require_soffice

        require_soffice()  # before anything is made: a clear message naming the package
    book = source.read()
    data = Data.of(book, today)
    chosen, skipped, already, considered = select(data, job, force)
    result = MergeResult(job, skipped=skipped, already_done=already, considered=considered,
                         dry_run=dry_run, preview=preview is not None)
    if preview is not None:
        chosen = chosen[:max(preview, 0)]
    folder = (out or config.output) / job.name
    taken: set[str] = set()
    for record in chosen:
        doc = Document(record, context(data, job, record, config.practice))
        doc.file = _unique(folder, _file_name(job, record, data), taken)
        doc.route = how(job.to, data.providers.get(record.provider_id or ""))
        result.documents.append(doc)
    emails = [d for d in result.documents if deliver and d.route == "email" and not
              email_allowed(job, d.record, data.providers.get(d.record.provider_id or ""))]
    if emails and not dry_run:  # a message that cannot be written or sent: say so now
        check_texts(job, emails[0].context)
        if not drafts:
            check_email_setup(config)
    stamp = now or dt.datetime.now().replace(microsecond=0)
    if dry_run and deliver:
        result.delivered = True
        for doc in result.documents:
            doc.outcome = Outcome("would go")
    if dry_run:
        result.changes = _changes(job, data, result.documents, templates,
                                  config.path.parent if config.path else Path.cwd(), stamp)
        return result
    # Render everything before saving anything: a template error leaves no half-made batch.
    for i, doc in enumerate(result.documents, start=1):
        parts = [t.render(doc.context) for t in templates]
        doc.data = parts[0] if len(parts) == 1 else combine(parts)
        if progress:
            progress(i, len(result.documents))
    if not result.documents:
        return result
    writing_back = preview is None
    if writing_back:  # refuse now, before any file is saved, if the log cannot be written
        source.check_writable()
    _private_folder(folder)
    if combine_all:
        combined = _unique(folder, f"{today.isoformat()} {job.name}.docx", taken)
        _write_private(combined, combine([d.data for d in result.documents]))
        result.combined = combined
        for doc in result.documents:
            doc.file = combined
    else:
        for doc in result.documents:
            assert doc.file is not None
            _write_private(doc.file, doc.data)
    if deliver:
        _deliver(config, job, data, result, folder, taken, drafts)
    else:
        if labels or envelopes:
            result.mailing = _mailing(config, data, job, result.documents, folder, taken,
                                      labels, envelopes)
        if pdf:
            result.pdfs = to_pdf([*result.files, *result.mailing], folder)
    if writing_back:
        result.changes = _changes(job, data, result.documents, templates,
                                  config.path.parent if config.path else Path.cwd(), stamp)
        result.write = source.write(result.changes)
    return result
