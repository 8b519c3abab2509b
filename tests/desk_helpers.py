"""The desk under Starlette's TestClient: an app on a copy of the sample, already let in."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from starlette.testclient import TestClient

from refdesk.desk.app import create_app
from refdesk.desk.security import cookie_name, csrf_for, session_id
from refdesk.desk.settings import DeskSettings

TOKEN = "test-token-0123456789abcdefghijklmnopqrstuv"
PORT = 8765
BASE = f"http://127.0.0.1:{PORT}"
SAMPLE_TODAY = dt.date(2026, 11, 23)  # the sample practice's "today"


def desk_settings(config: Path | None, *, workbook: Path | None = None,
                  today: dt.date | None = SAMPLE_TODAY) -> DeskSettings:
    return DeskSettings(config, workbook, None, TOKEN, host="127.0.0.1", port=PORT,
                        today=today)


def anonymous(settings: DeskSettings) -> TestClient:
    """A browser that has not opened the desk's address yet."""
    return TestClient(create_app(settings), base_url=BASE)


def let_in(client: TestClient) -> TestClient:
    """Open the address with the token, as the browser does first; the cookie stays."""
    answer = client.get(f"/?token={TOKEN}", follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return client


def desk_client(config: Path | None, **options: object) -> TestClient:
    """A browser let into a desk on `config` (see desk_settings for the options)."""
    return let_in(anonymous(desk_settings(config, **options)))  # type: ignore[arg-type]


def csrf(client: TestClient) -> str:
    """The session's CSRF token, as the pages put it in forms and desk.js in its header."""
    settings: DeskSettings = client.app.state.settings  # type: ignore[attr-defined]
    sid = session_id(settings, client.cookies.get(cookie_name(settings)))
    assert sid is not None, "the client has not been let in"
    return csrf_for(settings, sid)
