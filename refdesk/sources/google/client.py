"""Talking to the Sheets API: a spreadsheet's key, and every request sent with retries.

Each request goes through `SheetsClient.call`, which retries what may pass (429, 5xx, timeouts,
dropped connections) with exponential backoff and jitter, within a bounded total wait, and
turns what Google refuses into a message that says how to fix it (a wrong address, a sheet not
shared, credentials refused). A request whose answer was lost may have landed, so each caller
makes a repeat harmless: most requests are idempotent; a repeated growth adds empty rows
(refdesk.sources.google.write), init counts "already exists" as done (.setup) and the lease
reads a claim sent twice as one (.lease).
"""

from __future__ import annotations

import contextlib
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from refdesk.errors import SourceError
from refdesk.sources.google.auth import connect, service_account_email, sign_in_error, unauthorized

T = TypeVar("T")

KEY = re.compile(r"^[A-Za-z0-9_-]{20,}$")
URL_KEY = re.compile(r"/spreadsheets/d/([A-Za-z0-9_-]+)")
RETRY_STATUS = {408, 429, 500, 502, 503, 504}


@dataclass(frozen=True)
class Retry:
    """Exponential backoff with full jitter: waits of up to base, 2*base, 4*base ... (each at
    most `cap`), until the attempts and the waits would pass `max_wait` seconds in all."""

    max_wait: float = 90.0
    base: float = 0.5
    cap: float = 16.0
    #: Seconds to wait for each response.
    timeout: float = 30.0
    #: The longest wait after a 429 (a per-minute quota used up): Google's advice is
    #: exponential backoff up to 32-64 seconds, and the quota refills within a minute.
    quota_cap: float = 32.0


DEFAULT_RETRY = Retry()
_sleep = time.sleep


def spreadsheet_key(text: str) -> str:
    """The key of a spreadsheet from its URL (as the browser shows it) or the key itself."""
    text = (text or "").strip()
    found = URL_KEY.search(text)
    if found:
        return found.group(1)
    if KEY.match(text):
        return text
    raise SourceError(f"'{text}' is not a Google Sheets address. Copy the address from the "
                      "browser while the sheet is open (https://docs.google.com/spreadsheets/d"
                      "/.../edit) into [source] google in config.toml, or give it with --sheet.")


def quote(title: str) -> str:
    """A tab name as A1 notation wants it: 'My tab' with inner quotes doubled."""
    return "'" + title.replace("'", "''") + "'"


# -- retries ---------------------------------------------------------------------------------

def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def _retryable(exc: BaseException) -> bool:
    import requests
    from google.auth.exceptions import RefreshError, TransportError
    from gspread.exceptions import APIError

    if isinstance(exc, APIError):
        return _status(exc) in RETRY_STATUS
    if isinstance(exc, RefreshError):  # Google's sign-in service had a passing failure
        return bool(getattr(exc, "retryable", False))
    # TransportError: the sign-in request (a token refresh) lost its connection.
    return isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout
                      | requests.exceptions.ChunkedEncodingError | TransportError)


def _backoff(exc: BaseException, policy: Retry, attempt: int) -> float:
    """The wait before the next attempt. A 429 means a per-minute quota is used up: the waits
    grow surely (half of each is fixed) up to `quota_cap`, so the retries reach past the
    minute; a Retry-After from Google is honoured. Other failures: full jitter."""
    if _status(exc) != 429:
        return random.uniform(0, min(policy.cap, policy.base * 2 ** attempt))
    step = min(policy.quota_cap, policy.base * 2 ** attempt)
    wait = random.uniform(step / 2, step)
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    with contextlib.suppress(KeyError, TypeError, ValueError):
        wait = max(wait, min(policy.quota_cap, float(headers["Retry-After"])))
    return wait


def with_retries(call: Callable[[], T], policy: Retry, what: str) -> T:
    """Run `call`, retrying what may pass (rate limits, server errors, timeouts, dropped
    connections). Other errors, and the last one once `max_wait` seconds (the waits between
    attempts and the attempts themselves) are used up, are raised."""
    spent = 0.0
    attempt = 0
    while True:
        started = time.monotonic()
        try:
            return call()
        except Exception as exc:
            spent += time.monotonic() - started
            if not _retryable(exc):
                raise
            wait = _backoff(exc, policy, attempt)
            if spent + wait > policy.max_wait:
                left = policy.max_wait - spent
                # A quota refills at a known time: one last attempt at the deadline, rather
                # than giving up with seconds to spare.
                if _status(exc) != 429 or left < policy.base:
                    raise GoogleUnavailable(what, exc, attempt + 1, spent) from None
                wait = left
            _sleep(wait)
            spent += wait
            attempt += 1


class GoogleUnavailable(SourceError):
    def __init__(self, what: str, exc: BaseException, attempts: int,
                 spent: float = 0.0) -> None:
        status = _status(exc)
        reason = f"HTTP {status}" if status else type(exc).__name__
        #: The failure alone, for a caller that knows better than "nothing was changed".
        self.answer = f"Google Sheets did not answer {what} after {attempts} attempts ({reason})"
        advice = "Try again in a few minutes."
        if status == 429:
            self.answer = (f"Google Sheets refused {what}: the per-minute request quota stayed "
                           f"used up for {spent:.0f} seconds ({attempts} attempts, HTTP 429)")
            advice = ("Another program using the same Google account (another refdesk, an "
                      "add-on, a script) may be using the quota. Wait a minute and run again; "
                      "if it keeps happening, ask for a higher Sheets API quota (Google Cloud "
                      "console > IAM & Admin > Quotas).")
        super().__init__(f"{self.answer}; nothing was changed. {advice}")



class SheetsClient:
    """One spreadsheet's requests: the gspread connection (made at the first request), the
    retry policy, and the sheet's name for messages."""

    def __init__(self, key: str, *, credentials: Path | None = None,
                 auth: str = "service_account", connection: Any = None,
                 retry: Retry | None = None,
                 before_request: Callable[[], None] | None = None) -> None:
        self.key = key
        self.credentials = credentials
        self.auth = auth
        self._connection = connection
        self.retry = retry or DEFAULT_RETRY
        #: The spreadsheet's title, once a metadata request has told it.
        self.title: str | None = None
        #: Run before each request (the source renews its writing lease there).
        self.before_request = before_request

    def __str__(self) -> str:
        return f"Google Sheet '{self.title}'" if self.title else f"Google Sheet {self.key}"

    @property
    def http(self) -> Any:
        if self._connection is None:
            self._connection = connect(self.credentials, self.auth)
        connection = self._connection
        connection.http_client.set_timeout(self.retry.timeout)
        return connection.http_client

    def call(self, what: str, call: Callable[[], T]) -> T:
        """Send one request (`call`, using `http`), with retries; `what` names it in
        messages."""
        from google.auth.exceptions import RefreshError
        from gspread.exceptions import APIError

        if self.before_request is not None:
            self.before_request()
        try:
            return with_retries(call, self.retry, what)
        except APIError as exc:
            raise self._api_error(exc, what) from None
        except RefreshError as exc:  # signing in (a token refresh) was refused
            raise sign_in_error(exc, self.credentials, self.auth) from None

    def _api_error(self, exc: Any, what: str) -> SourceError:
        status = _status(exc)
        if status == 404:
            return SourceError(f"no Google Sheet with the key {self.key}: check the address in "
                               "[source] google (or --sheet); the sheet may have been deleted.")
        if status == 403:
            email = service_account_email(self.credentials)
            who = f"the service account {email}" if email else "the account refdesk signs in as"
            return SourceError(f"{self}: permission denied. Share the sheet with {who} as an "
                               "Editor (Share button in Google Sheets), then run again.")
        if status == 401:
            return unauthorized(self.credentials, self.auth)
        message = ""
        with contextlib.suppress(ValueError, KeyError, TypeError, AttributeError):
            message = exc.response.json()["error"]["message"]
        return SourceError(f"Google Sheets refused {what} (HTTP {status}): {message}")
