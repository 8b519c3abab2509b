"""The desk's guard: token, cookie, Host header, CSRF, headers; loopback only."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from refdesk.desk.security import cookie_name
from refdesk.desk.server import DeskError, bind, check_host
from refdesk.sources.excel import ExcelSource
from tests.conftest import run
from tests.desk_helpers import (
    PORT,
    TOKEN,
    anonymous,
    csrf,
    desk_client,
    desk_settings,
)


def test_without_the_token_every_page_and_file_is_refused(practice: Path) -> None:
    client = anonymous(desk_settings(practice))
    for path in ("/", "/setup", "/ledger", "/static/desk.css", "/static/desk.js", "/nowhere"):
        answer = client.get(path)
        assert answer.status_code == 403, path
        assert "refdesk desk" in answer.text and "printed" in answer.text
        assert "set-cookie" not in answer.headers


def test_a_wrong_token_is_refused_and_sets_no_cookie(practice: Path) -> None:
    client = anonymous(desk_settings(practice))
    for wrong in ("nope", TOKEN[:-1], TOKEN + "x", ""):
        answer = client.get(f"/setup?token={wrong}", follow_redirects=False)
        assert answer.status_code == 403, wrong
        assert "set-cookie" not in answer.headers
    assert client.get("/setup").status_code == 403


def test_the_token_becomes_a_cookie_and_leaves_the_address(practice: Path) -> None:
    client = anonymous(desk_settings(practice))
    answer = client.get(f"/ledger?job=thank-you&token={TOKEN}", follow_redirects=False)
    assert answer.status_code == 303
    target = urlsplit(answer.headers["location"])
    assert target.path == "/ledger" and parse_qs(target.query) == {"job": ["thank-you"]}
    assert TOKEN not in answer.headers["location"]
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"refdesk_desk_{PORT}=")
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    assert TOKEN not in cookie  # the cookie is a signed session, not the secret itself
    for path in ("/setup", "/ledger", "/static/desk.css", "/static/desk.js"):
        assert client.get(path).status_code == 200, path


def test_a_cookie_of_another_desk_is_refused(practice: Path) -> None:
    ours = desk_client(practice)
    other = anonymous(desk_settings(practice))
    other.app.state.settings.token = "another-desk-secret"  # type: ignore[attr-defined]
    stolen = ours.cookies.get(cookie_name(ours.app.state.settings))  # type: ignore[attr-defined]
    other.cookies.set(f"refdesk_desk_{PORT}", stolen or "")
    assert other.get("/setup").status_code == 403
    forged = anonymous(desk_settings(practice))
    forged.cookies.set(f"refdesk_desk_{PORT}", "session.0000")
    assert forged.get("/setup").status_code == 403


@pytest.mark.parametrize("host", [
    "evil.example", f"evil.example:{PORT}", f"127.0.0.1.evil.example:{PORT}",
    "127.0.0.1:1", f"192.168.1.20:{PORT}", f"0.0.0.0:{PORT}", ""])
def test_a_foreign_host_header_is_refused_even_with_the_cookie(practice: Path,
                                                               host: str) -> None:
    client = desk_client(practice)
    assert client.get("/setup").status_code == 200
    answer = client.get("/setup", headers={"host": host})
    assert answer.status_code == 403
    assert client.get(f"/?token={TOKEN}", headers={"host": host}).status_code == 403


@pytest.mark.parametrize("host", [f"127.0.0.1:{PORT}", f"localhost:{PORT}",
                                  f"LOCALHOST:{PORT}", f"[::1]:{PORT}"])
def test_the_loopback_names_are_accepted(practice: Path, host: str) -> None:
    client = desk_client(practice)
    assert client.get("/setup", headers={"host": host}).status_code == 200


def test_a_post_needs_the_csrf_token(practice: Path) -> None:
    client = desk_client(practice)
    token = csrf(client)
    # Without it, with a wrong one, or with another session's: refused before the page runs.
    assert client.post("/refresh", data={"back": "/ledger"}).status_code == 403
    assert client.post("/refresh", data={"csrf": "x" * len(token)}).status_code == 403
    other = desk_client(practice)
    assert other.post("/refresh", data={"csrf": token}).status_code == 403
    assert client.post("/refresh", headers={"X-CSRF-Token": "nope"}).status_code == 403
    assert client.post("/refresh", content=b"\xff\x00 not a form",
                       headers={"content-type": "application/octet-stream"}
                       ).status_code == 403
    for method in ("put", "delete", "patch"):
        assert client.request(method, "/refresh").status_code == 403
    # With it, as a form field (the page still reads the whole form) or as desk.js's header.
    answer = client.post("/refresh", data={"csrf": token, "back": "/ledger"},
                         follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/ledger"
    answer = client.post("/refresh", headers={"X-CSRF-Token": token},
                         follow_redirects=False)
    assert answer.status_code == 303
    # A multipart form passes too (file uploads, FormData from desk.js).
    answer = client.post("/refresh", data={"csrf": token, "back": "/setup"},
                         files={"f": ("a.txt", b"x")}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/setup"


def test_pages_carry_the_csrf_token_for_forms_and_scripts(practice: Path) -> None:
    client = desk_client(practice)
    page = client.get("/setup").text
    token = csrf(client)
    assert f'<meta name="csrf-token" content="{token}">' in page
    assert f'name="csrf" value="{token}"' in page


def test_the_refresh_goes_back_only_to_a_desk_page(practice: Path) -> None:
    client = desk_client(practice)
    for back in ("https://evil.example/", "//evil.example/x"):
        answer = client.post("/refresh", data={"csrf": csrf(client), "back": back},
                             follow_redirects=False)
        assert answer.headers["location"] == "/setup"


def test_security_headers(practice: Path) -> None:
    client = desk_client(practice)
    for path in ("/setup", "/static/desk.css", "/nowhere"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'self'" in csp
        assert "unsafe-inline" not in csp
        assert headers["x-frame-options"] == "SAMEORIGIN"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["cache-control"] == "no-store"
        assert headers["x-content-type-options"] == "nosniff"
    refused = anonymous(desk_settings(practice)).get("/setup").headers
    assert refused["referrer-policy"] == "no-referrer"


def test_pages_have_no_inline_script(practice: Path) -> None:
    """The policy forbids inline scripts; the pages keep theirs in static files."""
    client = desk_client(practice)
    for path in ("/setup", "/ledger"):
        page = client.get(path).text
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == [], path
        assert not re.search(r"\son[a-z]+=", page), path  # no onclick= and the like


class _Links(HTMLParser):
    """Every address a page sends the browser to: links, form actions, GET form values."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self._get_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for key in ("href", "src", "action"):
            if a.get(key):
                self.urls.append(a[key] or "")
        if tag == "form":
            self._get_form = (a.get("method") or "get").lower() == "get"
        if self._get_form and tag in ("option", "input") and a.get("value"):
            self.urls.append(a["value"] or "")  # what a GET form would put in the address

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._get_form = False


def test_no_client_name_in_any_address_of_the_ledger(practice: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from refdesk.desk.pages import ledger

    monkeypatch.setattr(ledger, "PER_PAGE", 3)  # so the pager's links are there too
    clients = ExcelSource(practice.parent / "workbooks" / "referrals.xlsx").read()["Clients"].df
    names = {str(n).lower() for n in (*clients["first_name"], *clients["last_name"])
             if isinstance(n, str) and len(n) > 2}
    client = desk_client(practice)
    for query in ("", "?client=C274", "?provider=P009", "?job=thank-you&page=2"):
        page = client.get(f"/ledger{query}")
        assert page.status_code == 200
        parser = _Links()
        parser.feed(page.text)
        assert any(u.startswith("/ledger?") for u in parser.urls) or query, parser.urls
        for url in parser.urls:
            words = set(re.findall(r"[a-z][a-z'-]+", url.lower()))
            assert not words & names, (query, url)
    # The names do show in the page itself, for the person at the desk.
    assert "Derek Warren (C274)" in client.get("/ledger").text


# -- the command and the server -----------------------------------------------------------
@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "example.com", "[::]"])
def test_the_desk_refuses_an_address_other_than_loopback(host: str, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    monkeypatch.chdir(tmp_path)  # no config here: the refusal comes before any reading
    result = run("desk", "--host", host, "--no-browser")
    assert result.exit_code == 2
    assert "this computer only" in result.stderr and "127.0.0.1" in result.stderr
    assert "Traceback" not in result.stderr
    with pytest.raises(DeskError):
        check_host(host)


def test_bind_takes_a_free_loopback_port() -> None:
    sock = bind("localhost", 0)
    try:
        address, port = sock.getsockname()[:2]
        assert address == "127.0.0.1" and port > 0
    finally:
        sock.close()


def test_a_port_in_use_is_a_clear_message() -> None:
    held = bind("127.0.0.1", 0)
    try:
        with pytest.raises(DeskError, match="cannot be used"):
            bind("127.0.0.1", held.getsockname()[1])
    finally:
        held.close()


def test_a_missing_config_fails_at_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("desk", "--no-browser", "--config", tmp_path / "nowhere.toml")
    assert result.exit_code == 2 and result.stderr.startswith("Error: ")
    assert "nowhere.toml" in result.stderr


def test_a_broken_workbook_fails_at_start(practice: Path) -> None:
    (practice.parent / "workbooks" / "referrals.xlsx").write_bytes(b"not a workbook")
    result = run("desk", "--no-browser", "--config", practice)
    assert result.exit_code == 2 and "\nError: " in result.stderr
    assert "referrals.xlsx" in result.stderr and "Traceback" not in result.stderr


def _lines(stream: object, into: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.put(line)


def _next_line(lines: queue.Queue[str], deadline: float, proc: subprocess.Popen[str]) -> str:
    remaining = deadline - time.monotonic()
    try:
        return lines.get(timeout=max(0.0, remaining))
    except queue.Empty:
        proc.kill()
        raise AssertionError("the desk printed nothing in time") from None


@pytest.mark.skipif(os.name == "nt", reason="Ctrl-C is sent as SIGINT")
def test_the_server_serves_on_loopback_and_closes_on_ctrl_c(practice: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "refdesk", "desk", "--no-browser", "--config", str(practice),
         "--today", "2026-11-23"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        cwd=practice.parent)
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=_lines, args=(proc.stdout, lines), daemon=True)
    reader.start()
    deadline = time.monotonic() + 60
    try:
        while True:
            line = _next_line(lines, deadline, proc)
            found = re.search(r"(http://\S+)", line)
            if found:
                break
        url = found.group(1)
        parts = urlsplit(url)
        assert parts.hostname == "127.0.0.1" and parts.port and parts.port > 0
        token = parse_qs(parts.query)["token"][0]
        assert len(token) >= 40  # token_urlsafe(32)
        base = f"http://127.0.0.1:{parts.port}"
        with httpx.Client(base_url=base, timeout=30) as http:
            assert http.get("/setup").status_code == 403
            first = http.get(url, follow_redirects=False)
            assert first.status_code == 303 and "token" not in first.headers["location"]
            page = http.get("/ledger")
            assert page.status_code == 200 and "Ledger" in page.text
            assert http.get("/setup", headers={"host": f"evil.example:{parts.port}"}
                            ).status_code == 403
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        reader.join(timeout=30)  # it ends at the end of the output
        said = "".join(lines.get_nowait() for _ in range(lines.qsize()))
        assert proc.returncode == 0, said
        assert "The desk is closed." in said
        assert "GET /" not in said  # no access log: nothing of a request is printed
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_closing_waits_for_letters_being_made() -> None:
    """After Ctrl-C the process waits for a merge at work, which ends in its own thread."""
    from types import SimpleNamespace

    from refdesk.desk.server import finish_work

    finished = threading.Event()
    run_ = SimpleNamespace(finished=finished)
    worker = SimpleNamespace(busy=lambda: None if finished.is_set() else run_)
    app = SimpleNamespace(state=SimpleNamespace(letters_worker=worker))
    said: list[str] = []

    def echo(line: str) -> None:
        said.append(line)
        threading.Thread(target=finished.set).start()  # the merge ends meanwhile

    finish_work(app, echo)
    assert finished.is_set() and len(said) == 1 and "still being made" in said[0]
    said.clear()
    finish_work(app, echo)  # nothing at work: no word, no wait
    finish_work(SimpleNamespace(state=SimpleNamespace()), echo)  # no letters page at all
    assert said == []
