"""Delivery, in two halves: everything that stays in the practice (PDFs, fax files, drafts,
labels and envelopes), then the messages that leave it, each written to the delivery journal
before and after the mail server has it."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from refdesk.config import Config
from refdesk.fileio import posix_modes, private_folder, write_file
from refdesk.merge import mailing
from refdesk.merge.data import Data, Record, city_line, client_context, provider_context
from refdesk.merge.deliver import (
    Mailer,
    Outcome,
    email_allowed,
    fax_files,
    fax_name,
    message,
    subject,
)
from refdesk.merge.engine import CompiledTemplate
from refdesk.merge.jobs import Job
from refdesk.merge.ledger import Journal
from refdesk.merge.mailing import Address
from refdesk.merge.names import safe_name, unique
from refdesk.xlsxpatch import safety

if TYPE_CHECKING:
    from refdesk.merge.run import Document, MergeResult


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


def mailing_files(config: Config, data: Data, job: Job, documents: list[Document],
                  folder: Path, taken: set[str], labels: bool, envelopes: bool,
                  made: list[Path]) -> list[Path]:
    """Labels and envelopes for the batch's recipients, in the order of the documents."""
    addresses = [recipient(data, job, d.record) for d in documents]
    files = []
    stem = f"{data.today.isoformat()} {job.name}"
    if labels:
        files.append(unique(folder, safe_name(f"{stem} labels", ".docx", "labels"), taken))
        write_file(files[-1], mailing.labels(addresses))
        made.append(files[-1])
    if envelopes:
        practice = config.practice
        sender = Address.of(practice.name, practice.street,
                            city_line(practice.city, practice.state, practice.zip))
        files.append(unique(folder, safe_name(f"{stem} envelopes", ".docx", "envelopes"),
                            taken))
        write_file(files[-1], mailing.envelopes(sender, addresses))
        made.append(files[-1])
    return files


def to_pdf(files: list[Path], folder: Path) -> list[Path]:
    """PDFs of the documents, beside them, made by one LibreOffice process for the batch."""
    from refdesk.office import convert

    pdfs = convert(files, "pdf", folder)
    for path in pdfs if posix_modes() else ():  # LibreOffice made them 0644
        os.chmod(path, 0o600)
    return pdfs


@dataclass
class Message:
    """One email to a provider, carrying each of their documents in the batch."""

    address: str
    members: list[int]  # indexes into the result's documents


def prepare(config: Config, job: Job, data: Data, result: MergeResult, folder: Path,
            taken: set[str], drafts: bool, made: list[Path]) -> list[Message]:
    """Everything that stays in the practice: PDFs in one LibreOffice batch, fax files, drafts,
    labels and envelopes. Returns the messages still to send; nothing has left yet."""
    result.delivered = True
    docs = result.documents
    mail = [d for d in docs if d.route == "mail"]
    if mail and job.envelopes:
        result.mailing = mailing_files(config, data, job, mail, folder, taken, True, True, made)
    fax_docs: list[int] = []
    for i, doc in enumerate(docs):
        if doc.route == "fax" and not (data.providers.get(doc.record.provider_id or "")
                                       or {}).get("fax"):
            doc.outcome = Outcome("failed", "the provider has no fax number in Providers.fax")
        elif doc.route == "fax":
            fax_docs.append(i)
    files = [d.file for d in docs if d.file is not None]
    pdfs = to_pdf([*files, *result.mailing], folder)
    made.extend(pdfs)
    result.pdfs = pdfs
    by_doc = dict(zip(range(len(docs)), pdfs[:len(files)], strict=True))
    faxes: dict[int, Path] = {}
    if fax_docs:  # the cover counts the document's pages, so it follows the document's PDF
        cover = CompiledTemplate(config.templates / "fax-cover.docx")

        def render_cover(i: int, pages: int) -> bytes:
            return cover.render(dict(docs[i].context, subject=subject(job, docs[i].context),
                                     pages=pages))

        faxes = fax_files(render_cover, {i: by_doc[i] for i in fax_docs}, folder,
                          to_pdf, made)
    fax_folder = folder / "fax"
    for i, pdf in faxes.items():
        provider = data.providers.get(docs[i].record.provider_id or "") or {}
        private_folder(fax_folder)
        target = unique(fax_folder, safe_name(fax_name(str(provider.get("fax") or ""),
                                                       docs[i].record.key), ".pdf", "fax"),
                        set())
        os.replace(pdf, target)
        made.append(target)
        docs[i].outcome = Outcome("produced", f"fax: {target.name}", target)
    for i, doc in enumerate(docs):
        doc.pdf = by_doc.get(i)
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
    messages = [Message(address, members) for address, members in groups.items()]
    if drafts:
        for msg in messages:
            first = docs[msg.members[0]]
            email = message(config, job, first.context, msg.address,
                            [by_doc[i] for i in msg.members])
            private_folder(folder / "drafts")
            draft = unique(folder / "drafts", safe_name(first.record.key, ".eml", "draft"),
                           set())
            write_file(draft, bytes(email))
            made.append(draft)
            for i in msg.members:
                docs[i].outcome = Outcome("drafted", f"draft: {draft.name}", draft)
        return []
    for msg in messages:
        for i in msg.members:
            docs[i].outcome = Outcome("sending")
    return messages


def send(config: Config, job: Job, result: MergeResult, messages: list[Message],
         journal: Journal, progress: Callable[[int, int], None] | None = None) -> None:
    """Hand each message to the mail server, the journal written before and after. Every
    document's outcome is set: emailed, failed, or left `sending` when interrupted before its
    message was tried (the next run sees it was never tried)."""
    docs = result.documents
    mailer = Mailer(config)
    try:
        for n, msg in enumerate(messages, start=1):
            ids = [docs[i].letter_id for i in msg.members]
            first = docs[msg.members[0]]
            email = message(config, job, first.context, msg.address,
                            [docs[i].pdf for i in msg.members if docs[i].pdf is not None])
            journal.record("attempt", ids)
            safety.checkpoint("deliver:attempt")
            outcome = mailer.send(email)
            safety.checkpoint("deliver:answered")
            journal.record(outcome.status, ids, outcome.detail)
            safety.checkpoint("deliver:journaled")
            for i in msg.members:
                docs[i].outcome = outcome
            if progress:
                progress(n, len(messages))
    finally:
        mailer.close()
