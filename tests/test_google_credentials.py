"""Signing in to Google (refdesk/sources/google/auth.py): the OAuth token file is the user's
alone, and each way signing in goes wrong gets the message that fixes it.

Every file here is a fake made by the test (a fresh RSA key, made-up client ids and refresh
tokens). Google's token endpoint is never reached: google-auth's HTTP transport is replaced by
a fake that answers as Google does, so the real google-auth code raises its real RefreshError,
and the Sheets requests go to the loopback server.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import google.auth.transport.requests
import pytest
from google.auth.exceptions import RefreshError
from google.oauth2.credentials import Credentials

from refdesk.errors import SourceError
from refdesk.sources.google import GoogleSource
from refdesk.sources.google import auth as google_auth
from refdesk.sources.google import client as google_client
from tests import sheets_server as fake
from tests.conftest import ROOT, run

POSIX = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
TOKEN_URI = "https://oauth2.googleapis.com/token"
EMAIL = "refdesk@practice-test.iam.gserviceaccount.com"


# -- fake files ------------------------------------------------------------------------------

def oauth_client(folder: Path, section: str = "installed") -> Path:
    """An OAuth client file as the console downloads it (made-up id and secret)."""
    path = folder / "client.json"
    path.write_text(json.dumps({section: {
        "client_id": "123-fake.apps.googleusercontent.com", "project_id": "practice-test",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": TOKEN_URI,
        "client_secret": "fake-client-secret", "redirect_uris": ["http://localhost"]}}))
    return path


@pytest.fixture(scope="module")
def pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()


def service_key(folder: Path, pem: str) -> Path:
    path = folder / "key.json"
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "practice-test", "private_key_id": "1",
        "private_key": pem, "client_email": EMAIL, "client_id": "1", "token_uri": TOKEN_URI}))
    return path


def signed_in(client_id: str = "123-fake.apps.googleusercontent.com") -> Credentials:
    """What the browser sign-in gives: an access token and a (fake) refresh token."""
    return Credentials(token="fake-access", refresh_token="fake-refresh", token_uri=TOKEN_URI,
                       client_id=client_id, client_secret="fake-client-secret",
                       scopes=list(google_auth.SCOPES))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def browser(monkeypatch):
    """The browser sign-in, faked: counts how often it would open."""
    opened = []

    def sign_in(client_config, scopes):
        opened.append(client_config)
        return signed_in()

    monkeypatch.setattr(google_auth, "_sign_in", sign_in)
    return opened


class TokenEndpoint:
    """Google's token endpoint as google-auth's transport sees it: every request answered
    with one status and JSON body."""

    def __init__(self, status: int, body: dict) -> None:
        self.status, self.body, self.asked = status, body, []

    def answer(self, url: str) -> object:
        self.asked.append(url)
        answer = type("Response", (), {})()
        answer.status, answer.headers = self.status, {"content-type": "application/json"}
        answer.data = json.dumps(self.body).encode()
        return answer


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """No test here reaches Google or opens a browser: a token request or a sign-in nobody
    faked fails the test."""
    def refuse(self, url, *args, **kwargs):
        raise AssertionError(f"a request to {url} left the machine")

    def no_browser(client_config, scopes):
        raise AssertionError("a browser would have opened to sign in")

    monkeypatch.setattr(google.auth.transport.requests.Request, "__call__", refuse)
    monkeypatch.setattr(google_auth, "_sign_in", no_browser)


@pytest.fixture
def token_endpoint(monkeypatch):
    def install(status: int, error: str = "", description: str = "",
                body: dict | None = None) -> TokenEndpoint:
        endpoint = TokenEndpoint(status, body or {"error": error,
                                                  "error_description": description})
        monkeypatch.setattr(google.auth.transport.requests.Request, "__call__",
                            lambda self, url, method="GET", body=None, headers=None, **kw:
                            endpoint.answer(url))
        return endpoint
    return install


@pytest.fixture
def server():
    with fake.SheetsServer() as running:
        yield running


def loopback_connect(server, monkeypatch):
    """connect() as refdesk runs it, its Sheets requests sent to the loopback server."""
    real = google_client.connect

    def connect(credentials, auth="service_account"):
        client = real(credentials, auth)
        fake.route_to_loopback(client.http_client.session, server.port)
        return client

    monkeypatch.setattr(google_client, "connect", connect)
    monkeypatch.setattr(google_client, "_sleep", lambda s: None)


def config(folder: Path, credentials: Path, key: str, auth: str | None = None) -> Path:
    """The project's config.toml with [source] naming the sheet and the credentials."""
    path = folder / "config.toml"
    lines = ["[source]", f'google = "{key}"', f'credentials = "{credentials.name}"']
    if auth:
        lines.append(f'auth = "{auth}"')
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    path.write_text(text.replace("[source]\n", "\n".join(lines) + "\n", 1), encoding="utf-8")
    return path


# -- the token file --------------------------------------------------------------------------

@POSIX
def test_the_token_is_written_for_the_user_only_whatever_the_umask(tmp_path, browser):
    folder = tmp_path / "practice"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    client_file = oauth_client(folder)
    old = os.umask(0)  # the loosest: a plain open() would give 0666
    try:
        google_auth.connect(client_file, "oauth")
    finally:
        os.umask(old)
    token = folder / "client-token.json"
    assert len(browser) == 1
    assert mode(token) == 0o600 and mode(folder) == 0o700
    saved = json.loads(token.read_text())
    # The refresh token is kept for the next run; the short-lived access token is not.
    assert saved["refresh_token"] == "fake-refresh" and "token" not in saved
    assert sorted(p.name for p in folder.iterdir()) == ["client-token.json", "client.json"]


@POSIX
def test_a_token_file_left_readable_is_made_private_and_reused(tmp_path, browser):
    folder = tmp_path / "practice"
    folder.mkdir()
    folder.chmod(0o775)
    client_file = oauth_client(folder)
    token = folder / "client-token.json"
    token.write_text(signed_in().to_json(strip=["token"]))
    token.chmod(0o644)  # as gspread.oauth() wrote it
    client = google_auth.connect(client_file, "oauth")
    assert browser == []  # signed in already: no browser
    assert client.http_client.auth.refresh_token == "fake-refresh"
    assert mode(token) == 0o600 and mode(folder) == 0o700


@POSIX
def test_a_token_in_the_home_folder_leaves_the_home_folder_alone(tmp_path, browser,
                                                                 monkeypatch):
    """Others may need to pass through a home folder (0711, 0755): only the file is made
    private there."""
    tmp_path.chmod(0o755)
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: tmp_path))
    google_auth.connect(oauth_client(tmp_path), "oauth")
    assert mode(tmp_path / "client-token.json") == 0o600 and mode(tmp_path) == 0o755


def test_a_damaged_token_file_names_itself_and_the_fix(tmp_path, browser):
    client_file = oauth_client(tmp_path)
    token = tmp_path / "client-token.json"
    token.write_text('{"client_id": "x"}')
    with pytest.raises(SourceError) as caught:
        google_auth.connect(client_file, "oauth")
    assert str(token) in caught.value.message
    assert "Delete the token file and run again to sign in" in caught.value.message
    assert browser == []


# -- the wrong file for `auth` ---------------------------------------------------------------

@pytest.mark.parametrize("section", ["installed", "web"])
def test_an_oauth_client_file_with_the_default_auth(tmp_path, section):
    client_file = oauth_client(tmp_path, section)
    with pytest.raises(SourceError) as caught:
        google_auth.connect(client_file)
    message = caught.value.message
    assert "is an OAuth client file" in message
    assert 'set auth = "oauth" under [source]' in message and "service-account key" in message
    assert "fake-client-secret" not in message


def test_a_service_account_key_with_auth_oauth(tmp_path, pem, browser):
    key = service_key(tmp_path, pem)
    with pytest.raises(SourceError) as caught:
        google_auth.connect(key, "oauth")
    message = caught.value.message
    assert "is a service-account key" in message and EMAIL in message
    assert 'remove auth = "oauth" from [source]' in message
    assert browser == [] and not (tmp_path / "key-token.json").exists()
    assert "PRIVATE KEY" not in message


def test_a_token_file_given_as_the_credentials(tmp_path):
    token = tmp_path / "client-token.json"
    token.write_text(signed_in().to_json(strip=["token"]))
    for auth in ("oauth", "service_account"):
        with pytest.raises(SourceError, match="is a saved sign-in token") as caught:
            google_auth.connect(token, auth)
        assert "fake-refresh" not in caught.value.message


def test_files_that_are_neither(tmp_path):
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}')
    with pytest.raises(SourceError, match="not a Google service-account key file"):
        google_auth.connect(other)
    with pytest.raises(SourceError, match="not an OAuth client file"):
        google_auth.connect(other, "oauth")
    other.write_text("not json")
    with pytest.raises(SourceError, match="it is not JSON"):
        google_auth.connect(other)


def test_the_wrong_file_fails_the_command_with_the_fix(tmp_path, server):
    key = server.create_spreadsheet("Practice").id
    client_file = oauth_client(tmp_path)
    done = run("-q", "summary", "--config", config(tmp_path, client_file, key))
    assert done.exit_code == 2
    assert done.stderr.startswith("Error: ") and 'auth = "oauth"' in done.stderr
    assert "Traceback" not in done.stderr and server.count() == 0


# -- Google refuses the credentials ----------------------------------------------------------

def test_an_expired_or_revoked_token_says_delete_it_and_sign_in(tmp_path, server, browser,
                                                                token_endpoint, monkeypatch):
    loopback_connect(server, monkeypatch)
    key = server.create_spreadsheet("Practice").id
    client_file = oauth_client(tmp_path)
    token = tmp_path / "client-token.json"
    token.write_text(signed_in().to_json(strip=["token"]))
    endpoint = token_endpoint(400, "invalid_grant", "Token has been expired or revoked.")
    with pytest.raises(SourceError) as caught:
        GoogleSource(key, credentials=client_file, auth="oauth").read()
    message = caught.value.message
    assert f"Delete the token file {token} and run again to sign in" in message
    assert "expired or was revoked" in message and "fake-refresh" not in message
    assert endpoint.asked == [TOKEN_URI] and server.count() == 0  # nothing reached the sheet

    done = run("-q", "summary", "--config", config(tmp_path, client_file, key, "oauth"))
    assert done.exit_code == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("Error: the saved Google sign-in expired or was revoked")
    assert str(token) in done.stderr


def test_a_deleted_oauth_client(tmp_path, server, browser, token_endpoint, monkeypatch):
    loopback_connect(server, monkeypatch)
    key = server.create_spreadsheet("Practice").id
    client_file = oauth_client(tmp_path)
    (tmp_path / "client-token.json").write_text(signed_in().to_json(strip=["token"]))
    token_endpoint(401, "deleted_client", "The OAuth client was deleted.")
    with pytest.raises(SourceError) as caught:
        GoogleSource(key, credentials=client_file, auth="oauth").read()
    assert "Download the client file again" in caught.value.message
    assert "delete the token file" in caught.value.message


@pytest.mark.parametrize(("status", "error", "description", "says"), [
    (400, "invalid_grant", "Invalid grant: account not found",
     f"its service account {EMAIL} no longer exists ("),
    (400, "invalid_grant", "Invalid JWT Signature.",
     f"its service account {EMAIL} no longer exists, or the key was deleted"),
    (401, "invalid_client", "The OAuth client was not found.",
     f"its service account {EMAIL} no longer exists, or the key was deleted"),
])
def test_a_key_whose_account_was_deleted(tmp_path, pem, server, token_endpoint, monkeypatch,
                                         status, error, description, says):
    loopback_connect(server, monkeypatch)
    key = server.create_spreadsheet("Practice").id
    key_file = service_key(tmp_path, pem)
    endpoint = token_endpoint(status, error, description)
    with pytest.raises(SourceError) as caught:
        GoogleSource(key, credentials=key_file).read()
    message = caught.value.message
    assert says in message and "Make a new key" in message and str(key_file) in message
    assert endpoint.asked == [TOKEN_URI] and server.count() == 0

    done = run("-q", "check", "--config", config(tmp_path, key_file, key))
    assert done.exit_code == 2 and "Traceback" not in done.stderr
    assert "Make a new key" in done.stderr


def test_a_computer_clock_that_is_off(tmp_path, pem, server, token_endpoint, monkeypatch):
    loopback_connect(server, monkeypatch)
    key = server.create_spreadsheet("Practice").id
    token_endpoint(400, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 "
                   "minutes) and in a reasonable timeframe. Check your iat and exp values in "
                   "the JWT claim.")
    with pytest.raises(SourceError, match="clock is off"):
        GoogleSource(key, credentials=service_key(tmp_path, pem)).read()


def test_a_sign_in_service_that_does_not_answer():
    refused = RefreshError("server_error: try later", {"error": "server_error"}, retryable=True)
    error = google_auth.sign_in_error(refused, Path("client.json"), "oauth")
    assert "did not answer" in error.message and "Try again in a few minutes" in error.message


def test_a_401_from_the_sheets_api_names_the_fix(tmp_path, pem, server, browser, monkeypatch,
                                                 token_endpoint):
    """The Sheets API itself refuses the token (revoked within its hour): google-auth gets a
    new one, which is refused too."""
    loopback_connect(server, monkeypatch)
    endpoint = token_endpoint(200, body={"access_token": "fake-fresh", "expires_in": 3600})
    key = server.create_spreadsheet("Practice").id
    client_file = oauth_client(tmp_path)
    src = GoogleSource(key, credentials=client_file, auth="oauth")
    server.fail_next(401, count=100, match="spreadsheets.get")
    with pytest.raises(SourceError) as caught:
        src.read()
    token = tmp_path / "client-token.json"
    assert f"Delete the token file {token} and run again to sign in" in caught.value.message
    assert endpoint.asked and server.count("spreadsheets.get") > 1
    key_file = service_key(tmp_path, pem)
    src = GoogleSource(key, credentials=key_file, client=server.client())
    server.fail_next(401, count=100, match="spreadsheets.get")
    with pytest.raises(SourceError, match="Make a new key") as caught:
        src.read()
    assert str(key_file) in caught.value.message
