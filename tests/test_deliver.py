"""Delivery by each provider's preference: fax files with a cover sheet, email drafts, and
email through a real SMTP server on loopback (STARTTLS and login), including a server that
refuses, drops the connection or never answers: nothing is marked sent that was not."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import shutil
import socket
import ssl
import subprocess
import threading
from pathlib import Path

import pytest

from refdesk.config import load_config
from refdesk.merge.data import Data
from refdesk.merge.jobs import load_jobs
from refdesk.merge.run import merge, select
from refdesk.sources.excel import ExcelSource
from refdesk.xlsxpatch import SetField, patch_workbook
from tests.conftest import copy_practice, need

TODAY = dt.date(2026, 11, 23)


@pytest.fixture
def practice(tmp_path: Path, soffice: str) -> Path:
    need(shutil.which("pdftotext") is not None, "pdftotext (poppler-utils) is not installed")
    return copy_practice(tmp_path)


def _records(config_path: Path, job: str):
    config = load_config(config_path)
    data = Data.of(ExcelSource(config.excel).read(), TODAY)
    return config, data, select(data, load_jobs(config)[job], False)[0]


def _prefer(config_path: Path, preferences: dict[str, str]) -> None:
    config = load_config(config_path)
    patch_workbook(config.excel, [SetField("Providers", "provider_id", pid, "delivery", how)
                                  for pid, how in preferences.items()], backup=False)


def _run(config_path: Path, job: str, **kw):
    config = load_config(config_path)
    return merge(config, job, ExcelSource(config.excel), today=TODAY,
                 now=dt.datetime(2026, 11, 23, 10), deliver=True, **kw)


def _pdf_text(data: bytes, tmp: Path) -> str:
    path = tmp / "attached.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def _letters(config_path: Path):
    config = load_config(config_path)
    return ExcelSource(config.excel).read().tables["Letters"].df


def test_fax_email_drafts_and_mail_as_each_provider_asked(practice: Path,
                                                          tmp_path: Path) -> None:
    config, data, chosen = _records(practice, "thank-you")
    assert len(chosen) == 3
    routes = dict(zip((r.provider_id for r in chosen), ("fax", "email", "mail"), strict=True))
    _prefer(practice, routes)
    result = _run(practice, "thank-you", drafts=True)
    by_route = {d.route: d for d in result.documents}
    assert set(by_route) == {"fax", "email", "mail"}

    fax = by_route["fax"]
    provider = data.providers[fax.record.provider_id]
    digits = "".join(ch for ch in provider["fax"] if ch.isdigit())
    assert fax.outcome.status == "produced"
    assert fax.outcome.path.name == f"{digits} {fax.record.key}.pdf"
    assert fax.outcome.path.parent.name == "fax"
    cover = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(fax.outcome.path), "-"],
                           capture_output=True, text=True, check=True).stdout
    assert "FAX" in cover and provider["fax"] in cover and "Thank you for your referral" in cover
    letter = subprocess.run(["pdftotext", "-f", "2", str(fax.outcome.path), "-"],
                            capture_output=True, text=True, check=True).stdout
    assert data.clients[fax.record.client_id]["first_name"] in letter

    drafted = by_route["email"]
    assert drafted.outcome.status == "drafted"
    msg = email.message_from_bytes(drafted.outcome.path.read_bytes(),
                                   policy=email.policy.default)
    assert msg["To"] == data.providers[drafted.record.provider_id]["email"]
    assert msg["Subject"] == "Thank you for your referral"
    attachment = next(msg.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    text = _pdf_text(attachment.get_content(), tmp_path)
    assert data.clients[drafted.record.client_id]["first_name"] in text

    mailed = by_route["mail"]
    assert mailed.outcome.status == "produced"
    assert [p.name.split(" ", 1)[-1] for p in result.mailing] == ["thank-you labels.docx",
                                                                  "thank-you envelopes.docx"]
    letters = _letters(practice).tail(3)
    assert sorted(letters["status"]) == ["drafted", "produced", "produced"]
    assert sorted(letters["delivery"]) == ["email", "fax", "mail"]


def test_email_of_client_information_needs_the_jobs_leave(practice: Path) -> None:
    text = practice.read_text().replace("email_client_info = true\n", "", 1)
    practice.write_text(text)
    _config, _data, chosen = _records(practice, "thank-you")
    _prefer(practice, {r.provider_id: "email" for r in chosen})
    result = _run(practice, "thank-you", drafts=True)
    assert {d.outcome.status for d in result.documents} == {"failed"}
    assert all("does not allow emailing client information" in d.outcome.detail
               for d in result.documents)
    referrals = ExcelSource(load_config(practice).excel).read().tables["Referrals"].df
    done = referrals.set_index("referral_id").loc[[r.key for r in chosen], "thank_you_sent"]
    assert done.isna().all(), "a document not delivered is not written back as done"


# -- a real SMTP server on loopback ---------------------------------------------------------
class Server:
    """aiosmtpd with STARTTLS required and AUTH LOGIN, on a free port."""

    def __init__(self, tmp: Path, refuse: bool = False) -> None:
        import trustme
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        self.messages: list = []
        self.refuse = refuse
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        self.ca_file = tmp / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        server = self

        class Handler:
            async def handle_RCPT(self, _server, _session, envelope, address, _options):
                if server.refuse:
                    return "550 5.1.1 mailbox unavailable"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, _server, _session, envelope):
                server.messages.append(envelope)
                return "250 OK"

        def authenticator(_server, _session, _envelope, _mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword) and auth_data.login == b"maya"
                  and auth_data.password == b"s3cret")
            return AuthResult(success=ok)

        self.port = _free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port,
                                     tls_context=context, require_starttls=True,
                                     authenticator=authenticator, auth_require_tls=True)

    def __enter__(self) -> Server:
        self.controller.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.controller.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _configure(practice: Path, port: int, ca_file: Path | None = None, timeout: int = 5
               ) -> None:
    text = practice.read_text()
    text = text.replace('host = ""', 'host = "127.0.0.1"').replace(
        "port = 587", f"port = {port}").replace('user = ""', 'user = "maya"')
    text = text.replace('sender = "maya@cedarlanemassage.example"',
                        'sender = "maya@cedarlanemassage.example"\n'
                        f'timeout = {timeout}\n'
                        + (f'ca_file = "{ca_file}"\n' if ca_file else ""))
    practice.write_text(text)


@pytest.fixture
def emailing(practice: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("REFDESK_SMTP_PASSWORD", "s3cret")
    _config, _data, chosen = _records(practice, "thank-you")
    _prefer(practice, {r.provider_id: "email" for r in chosen})
    return chosen


def test_email_through_smtp_with_starttls_and_login(practice: Path, emailing, tmp_path: Path
                                                    ) -> None:
    with Server(tmp_path) as server:
        _configure(practice, server.port, server.ca_file)
        result = _run(practice, "thank-you")
    data = Data.of(ExcelSource(load_config(practice).excel).read(), TODAY)
    assert {d.outcome.status for d in result.documents} == {"emailed"}
    assert len(server.messages) == len(emailing)
    for doc, envelope in zip(result.documents, server.messages, strict=True):
        provider = data.providers[doc.record.provider_id]
        assert envelope.rcpt_tos == [provider["email"]]
        msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert msg["Subject"] == "Thank you for your referral"
        assert f"Dear {'Dr. ' if provider['credentials'] in ('MD', 'DO', 'DC', 'DDS') else ''}" \
            in msg.get_body(("plain",)).get_content()
        attachment = next(msg.iter_attachments())
        pdf = attachment.get_content()
        assert pdf.startswith(b"%PDF")
        assert data.clients[doc.record.client_id]["first_name"] in _pdf_text(pdf, tmp_path)
    letters = _letters(practice).tail(len(emailing))
    assert set(letters["status"]) == {"emailed"}
    again = _run(practice, "thank-you")
    assert again.documents == [], "a sent document is never sent again"


def _failures_are_not_sent(practice: Path, emailing, words: str) -> None:
    result = _run(practice, "thank-you")
    assert {d.outcome.status for d in result.documents} == {"failed"}
    assert all(words in d.outcome.detail for d in result.documents), [
        d.outcome.detail for d in result.documents]
    letters = _letters(practice).tail(len(emailing))
    assert set(letters["status"]) == {"failed"}
    referrals = ExcelSource(load_config(practice).excel).read().tables["Referrals"].df
    assert referrals.set_index("referral_id").loc[[r.key for r in emailing],
                                                  "thank_you_sent"].isna().all()


def test_a_refused_address_is_failed_and_tried_again(practice: Path, emailing,
                                                    tmp_path: Path) -> None:
    with Server(tmp_path, refuse=True) as server:
        _configure(practice, server.port, server.ca_file)
        _failures_are_not_sent(practice, emailing, "refused")
        assert server.messages == []
        server.refuse = False
        retried = _run(practice, "thank-you")
    assert {d.outcome.status for d in retried.documents} == {"emailed"}
    assert len(server.messages) == len(emailing)


def _silent_server(drop: bool) -> tuple[int, threading.Event]:
    """A server that closes every connection at once, or accepts and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()
    held = []

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            if drop:
                conn.close()
            else:
                held.append(conn)
        for conn in held:
            conn.close()
        listener.close()

    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1], stop


@pytest.mark.parametrize("drop,words", [(True, "not sent"), (False, "did not answer in time")])
def test_a_dropped_or_silent_server_sends_nothing(practice: Path, emailing, drop: bool,
                                                 words: str) -> None:
    port, stop = _silent_server(drop)
    try:
        _configure(practice, port, timeout=1)
        _failures_are_not_sent(practice, emailing, words)
    finally:
        stop.set()


def test_email_without_a_password_stops_before_anything_is_made(practice: Path, emailing,
                                                               monkeypatch) -> None:
    monkeypatch.delenv("REFDESK_SMTP_PASSWORD")
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    _configure(practice, 2525)
    with pytest.raises(Exception, match="no SMTP password: set the environment variable "
                                        "REFDESK_SMTP_PASSWORD"):
        _run(practice, "thank-you")
    assert not (load_config(practice).output / "thank-you").exists()


def test_one_message_per_provider_with_each_of_their_documents(practice: Path) -> None:
    _config, data, chosen = _records(practice, "progress-report")
    by_provider: dict[str, list[str]] = {}
    for record in chosen:
        if data.providers[record.provider_id]["delivery"] == "email":
            by_provider.setdefault(record.provider_id, []).append(record.key)
    assert any(len(keys) > 1 for keys in by_provider.values()), "the sample has such a case"
    result = _run(practice, "progress-report", drafts=True)
    for provider_id, keys in by_provider.items():
        docs = [d for d in result.documents if d.record.provider_id == provider_id]
        assert sorted(d.record.key for d in docs) == sorted(keys)
        paths = {d.outcome.path for d in docs}
        assert len(paths) == 1 and all(d.outcome.status == "drafted" for d in docs)
        msg = email.message_from_bytes(paths.pop().read_bytes(), policy=email.policy.default)
        assert msg["To"] == data.providers[provider_id]["email"]
        assert len(list(msg.iter_attachments())) == len(keys)


def test_dry_run_shows_the_way_each_goes_and_sends_nothing(practice: Path) -> None:
    config = load_config(practice)
    before = config.excel.read_bytes()
    result = merge(config, "progress-report", ExcelSource(config.excel), today=TODAY,
                   deliver=True, dry_run=True)
    assert {d.route for d in result.documents} == {"email", "fax"}
    assert {d.outcome.status for d in result.documents} == {"would go"}
    assert config.excel.read_bytes() == before and not config.output.exists()


def test_fax_without_a_number_fails_and_makes_no_fax_file(practice: Path) -> None:
    config, _data, chosen = _records(practice, "thank-you")
    patch_workbook(config.excel, [SetField("Providers", "provider_id", chosen[0].provider_id,
                                           "delivery", "fax"),
                                  SetField("Providers", "provider_id", chosen[0].provider_id,
                                           "fax", None)], backup=False)
    result = _run(practice, "thank-you", drafts=True)
    doc = next(d for d in result.documents if d.record.key == chosen[0].key)
    assert doc.outcome.status == "failed" and "no fax number" in doc.outcome.detail
    fax_folder = config.output / "thank-you" / "fax"
    assert not fax_folder.exists() or not list(fax_folder.iterdir())


def test_a_bad_email_text_stops_before_anything_is_made(practice: Path) -> None:
    _config, _data, chosen = _records(practice, "thank-you")
    _prefer(practice, {r.provider_id: "email" for r in chosen})
    text = practice.read_text().replace('email_subject = "Thank you for your referral"',
                                        'email_subject = "For {{ provider.nickname }}"', 1)
    practice.write_text(text)
    with pytest.raises(Exception, match=r"\[jobs.thank-you\] email_subject: .*nickname"):
        _run(practice, "thank-you", drafts=True)
    assert not (load_config(practice).output / "thank-you").exists()


def test_a_document_with_its_own_envelope_gets_no_labels(practice: Path) -> None:
    """The client card carries its envelope to the doctor: --deliver prints it, and makes no
    labels or envelopes addressed to the client; another mailed job still gets them."""
    config = load_config(practice)
    assert load_jobs(config)["client-card"].envelopes is False
    result = _run(practice, "client-card")
    assert result.documents, "the sample has clients due a card"
    assert all(d.route == "mail" for d in result.documents)
    assert result.mailing == [] and len(result.pdfs) == len(result.documents)
    released = _run(practice, "release-form")
    assert [p.name.rsplit(" ", 1)[-1] for p in released.mailing] == ["labels.docx",
                                                                    "envelopes.docx"]
