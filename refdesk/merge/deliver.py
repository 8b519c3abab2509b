"""Delivery: each document goes the way its recipient asked (Providers.delivery).

- mail: the printable PDF, with labels and envelopes for the batch;
- fax: a PDF, cover sheet first (stating the pages sent, itself included), named for the fax
  number in the job's `fax/` folder, ready for an email-to-fax or upload service;
- email: a message with the PDF attached, sent through the SMTP server in config.toml, or
  written as an .eml draft (`--drafts`) for the user's mail program.

Every document ends with a status for the Letters sheet: produced, emailed, drafted or failed
(with the reason). Nothing is marked emailed unless the server accepted it.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import re
import smtplib
import socket
import ssl
import sys
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

import jinja2

from refdesk.config import Config
from refdesk.errors import RefdeskError
from refdesk.merge import sandbox

KEYRING_SERVICE = "refdesk-smtp"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class DeliveryError(RefdeskError):
    """Email is asked for but cannot be sent at all (no server, no password)."""


@dataclass
class Outcome:
    status: str  # produced, emailed, drafted or failed
    detail: str = ""
    path: Path | None = None  # the fax or draft file, when there is one


def how(job_to: str, provider: dict[str, Any] | None) -> str:
    """mail, email or fax: the provider's preference; clients get mail."""
    if job_to != "provider" or provider is None:
        return "mail"
    chosen = str(provider.get("delivery") or "mail").strip().lower()
    return chosen if chosen in ("mail", "email", "fax") else "mail"


def fax_name(number: str, record: str) -> str:
    digits = re.sub(r"\D", "", number or "")
    return f"{digits or 'no-fax-number'} {record}.pdf"


def page_count(pdf: Path) -> int:
    """The pages of a PDF."""
    from pypdf import PdfReader

    return len(PdfReader(pdf).pages)


def fax_files(render_cover: Callable[[int, int], bytes], documents: dict[int, Path],
              folder: Path, convert: Callable[[list[Path], Path], list[Path]],
              made: list[Path]) -> dict[int, Path]:
    """Each faxed document's PDF with its cover sheet first, the cover saying how many pages
    go, itself included. `render_cover(i, pages)` makes document i's cover (.docx); all the
    covers are converted by one `convert` call (LibreOffice), and again, once, for a cover
    whose own page count was not the one it stated. Returns document index -> the joined PDF
    in `folder` (moved by the caller to its place). Every file made is added to `made`."""
    from pypdf import PdfWriter

    from refdesk.fileio import write_file

    pages = {i: page_count(pdf) for i, pdf in documents.items()}
    stated = dict.fromkeys(documents, 1)  # a cover is one page
    covers: dict[int, Path] = {}
    todo = list(documents)
    for _attempt in range(2):
        for i in todo:
            covers[i] = folder / f".fax-cover-{i:05d}.docx"
            write_file(covers[i], render_cover(i, pages[i] + stated[i]))
            made.append(covers[i])
        converted = dict(zip(todo, convert([covers[i] for i in todo], folder), strict=True))
        for i, pdf in converted.items():
            covers[i].unlink()
            covers[i] = pdf
            made.append(pdf)
        todo = [i for i in todo if page_count(covers[i]) != stated[i]]
        for i in todo:
            stated[i] = page_count(covers[i])
        if not todo:
            break
    joined: dict[int, Path] = {}
    for i, document in documents.items():
        writer = PdfWriter()
        writer.append(covers[i])
        writer.append(document)
        joined[i] = folder / f".fax-{i:05d}.pdf"
        out = io.BytesIO()
        writer.write(out)
        write_file(joined[i], out.getvalue())
        made.append(joined[i])
        covers[i].unlink()
    return joined


@functools.lru_cache(maxsize=64)
def _text_template(text: str, what: str, job: str) -> jinja2.Template:
    """A job's text setting compiled in the sandbox (refdesk.merge.sandbox); a tag that
    reaches past the data is refused before anything is rendered."""
    env = sandbox.environment(keep_trailing_newline=True)
    try:
        return sandbox.compile_checked(env, text)
    except sandbox.Refused as exc:
        raise DeliveryError(f"[jobs.{job}] {what}{_line(text, exc.lineno)}: "
                            f"{sandbox.refusal_message(exc.what)}.") from None
    except jinja2.TemplateSyntaxError as exc:
        raise DeliveryError(f"[jobs.{job}] {what}: {exc.message} (line {exc.lineno}).") \
            from None


def _line(text: str, lineno: int | None) -> str:
    return f" (line {lineno})" if lineno and "\n" in text.strip() else ""


def render_text(job: Any, what: str, context: dict[str, Any]) -> str:
    """The job's `email_subject` or `email_body` filled with a document's data; any failure
    is a DeliveryError naming the job and the setting."""
    text = getattr(job, what)
    template = _text_template(text, what, job.name)
    try:
        return template.render(dict(context, job_title=job.title))
    except jinja2.UndefinedError as exc:
        raise DeliveryError(f"[jobs.{job.name}] {what}: {exc.message}; the fields are the "
                            "template's (provider, practice, ...) and job_title.") from None
    except Exception as exc:  # the sandbox's refusals, 1/0, ...: one line, never data
        lineno = sandbox.template_lineno(sys.exc_info()[2])
        raise DeliveryError(f"[jobs.{job.name}] {what}{_line(text, lineno)}: "
                            f"{sandbox.runtime_message(exc, 'fix it in config.toml')}.") \
            from None


def check_texts(job: Any, context: dict[str, Any]) -> None:
    """The job's email subject and body render with a document's data (checked before
    anything is made)."""
    for what in ("email_subject", "email_body"):
        render_text(job, what, context)


def subject(job: Any, context: dict[str, Any]) -> str:
    return " ".join(render_text(job, "email_subject", context).split())


def message(config: Config, job: Any, context: dict[str, Any], to: str,
            pdfs: list[Path]) -> EmailMessage:
    """The email that carries a provider's documents of the batch, each attached as PDF."""
    title = subject(job, context)
    body = render_text(job, "email_body", context)
    msg = EmailMessage()
    sender = config.email.get("sender") or config.practice.email
    msg["From"] = f"{config.practice.name} <{sender}>" if sender else config.practice.name
    msg["To"] = to
    msg["Subject"] = title
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=(sender.split("@")[-1] if sender else None))
    msg.set_content(body)
    for pdf in pdfs:
        msg.add_attachment(pdf.read_bytes(), maintype="application", subtype="pdf",
                           filename=pdf.name)
    return msg


def password(config: Config) -> str:
    """The SMTP password: from the environment variable config.toml names, else the keyring."""
    variable = config.email.get("password_env") or "REFDESK_SMTP_PASSWORD"
    found = os.environ.get(variable)
    if found:
        return found
    user = config.email.get("user") or ""
    try:
        import keyring

        found = keyring.get_password(KEYRING_SERVICE, user)
    except Exception:  # no keyring backend on this machine
        found = None
    if not found:
        raise DeliveryError(
            f"no SMTP password: set the environment variable {variable}, or store it with "
            f"`keyring set {KEYRING_SERVICE} {user or 'USER'}`. config.toml never holds it. "
            "Or use --drafts to write the emails as drafts instead.")
    return found


def check_email_setup(config: Config) -> None:
    """Refuse before anything is made when emails would have to be sent but cannot."""
    if not config.email.get("host") or not config.email.get("sender"):
        raise DeliveryError("some documents go by email, but config.toml has no [email] host "
                            "and sender. Add them (see README, Delivery), or use --drafts.")
    if config.email.get("user"):
        password(config)


class Mailer:
    """One SMTP connection for the batch, opened on the first message."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.smtp: smtplib.SMTP | None = None
        #: Why the server cannot be used: the rest of the batch is not tried again.
        self.broken = ""

    def _context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        ca_file = self.config.email.get("ca_file")
        if ca_file:
            context.load_verify_locations(ca_file)
        return context

    def _connect(self) -> smtplib.SMTP:
        email = self.config.email
        host, port = email["host"], int(email.get("port") or 587)
        timeout = int(email.get("timeout") or 30)
        if email.get("security") == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout,
                                                  context=self._context())
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
            if email.get("security", "starttls") == "starttls":
                smtp.starttls(context=self._context())
        if email.get("user"):
            smtp.login(email["user"], password(self.config))
        return smtp

    def login(self) -> None:
        """Connect and log in as a send would, sending nothing (refdesk doctor --smtp)."""
        self.close()
        self.smtp = self._connect()

    def send(self, msg: EmailMessage) -> Outcome:
        if self.broken:
            return Outcome("failed", self.broken)
        try:
            if self.smtp is None:
                self.smtp = self._connect()
            refused = self.smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            self.close()
            return Outcome("failed", f"the server refused the address: {_reason(exc)}")
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            self.close()
            self.broken = f"not sent: {_reason(exc)}"
            return Outcome("failed", self.broken)
        if refused:
            return Outcome("failed", f"the server refused {', '.join(refused)}")
        return Outcome("emailed")

    def close(self) -> None:
        if self.smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.smtp.quit()
            self.smtp = None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) \
            else str(exc.smtp_error)
        return f"{exc.smtp_code} {text}".strip()
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{r}: {code}" for r, (code, _m) in exc.recipients.items())
    if isinstance(exc, TimeoutError | socket.timeout) or "timed out" in str(exc):
        return "the server did not answer in time"
    return str(exc) or type(exc).__name__


def email_allowed(job: Any, record: Any, provider: dict[str, Any] | None) -> str:
    """Why a document may not be emailed ('' when it may)."""
    address = str((provider or {}).get("email") or "").strip()
    if not _EMAIL.match(address):
        return "the provider has no valid email address in Providers.email"
    if job.needs_release:
        if not job.email_client_info:
            return (f"[jobs.{job.name}] does not allow emailing client information; set "
                    "email_client_info = true there, or change the provider's delivery")
        release = record.release or {}
        if release.get("provider_id") != record.provider_id:
            return "the address does not belong to the provider the release names"
    return ""
