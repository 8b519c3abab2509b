"""The desk's guard: every request, static files included, passes here first.

- The Host header must name the loopback address and the desk's port, so a page elsewhere
  cannot reach the desk by pointing its own name at 127.0.0.1 (DNS rebinding).
- The first visit carries ?token=SECRET, the secret printed by `refdesk desk`; it is swapped
  for an HttpOnly, SameSite=Strict cookie and a redirect to the same address without it, so
  the secret leaves the address bar and the history.
- Without the cookie (or the token) a request gets 403 and a short page saying what to open.
- POST, PUT, PATCH and DELETE need the session's CSRF token: the form field `csrf` or the
  header X-CSRF-Token.

Sessions are stateless: the cookie is a random session id signed with the secret, and the
session's CSRF token is another signature of the same id, so nothing is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import secrets
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from refdesk.desk.settings import DeskSettings

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
# A page that needs another policy (the embedded stats report, with its own inline style and
# script) sets its own Content-Security-Policy header; every other response gets this one.
CSP = ("default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'self'")
FORBIDDEN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>refdesk desk: not allowed</title></head>
<body><h1>Not allowed</h1><p>{reason}</p>
<p>Open the address that <code>refdesk desk</code> printed in the terminal (it ends with
<code>?token=...</code>), or start the desk again.</p></body></html>
"""


def new_token() -> str:
    """A fresh secret for the desk's address."""
    return secrets.token_urlsafe(32)


def cookie_name(settings: DeskSettings) -> str:
    """The session cookie's name; with the port in it, two desks side by side do not clash
    (cookies are shared across ports of one host)."""
    return f"refdesk_desk_{settings.port}"


def _sign(secret: str, purpose: str, value: str) -> str:
    return hmac.new(secret.encode(), f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def session_cookie(settings: DeskSettings) -> str:
    """A new session: a random id and its signature, for the cookie."""
    sid = secrets.token_urlsafe(16)
    return f"{sid}.{_sign(settings.token, 'session', sid)}"


def session_id(settings: DeskSettings, cookie: str | None) -> str | None:
    """The session id a cookie carries, when its signature is ours; else None."""
    if not cookie or "." not in cookie:
        return None
    sid, _, signature = cookie.rpartition(".")
    if hmac.compare_digest(signature, _sign(settings.token, "session", sid)):
        return sid
    return None


def csrf_for(settings: DeskSettings, sid: str) -> str:
    """The CSRF token of session `sid`."""
    return _sign(settings.token, "csrf", sid)


def csrf_token(request: Request) -> str:
    """The CSRF token of the request's session, for forms and for desk.js's header."""
    return str(request.scope.get("desk_csrf", ""))


def host_allowed(settings: DeskSettings, host: str | None) -> bool:
    """Whether the Host header names the loopback address at the desk's port."""
    if not host:
        return False
    name, sep, port = host.lower().rpartition(":")
    if not sep or name not in LOOPBACK_NAMES:
        return False
    return settings.port == 0 or port == str(settings.port)


def forbidden(reason: str) -> Response:
    """The short 403 page."""
    return HTMLResponse(FORBIDDEN_PAGE.format(reason=html.escape(reason)), status_code=403,
                        headers=_security_headers())


def _security_headers() -> dict[str, str]:
    return {"Content-Security-Policy": CSP, "X-Frame-Options": "SAMEORIGIN",
            "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
            "Cross-Origin-Opener-Policy": "same-origin",
            "Cross-Origin-Resource-Policy": "same-origin",
            "Cache-Control": "no-store"}


class SecurityMiddleware:
    """Pure ASGI middleware (it does not buffer, so streamed progress passes straight on)."""

    def __init__(self, app: ASGIApp, settings: DeskSettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan; the desk has no websockets
            if scope["type"] == "websocket":
                return  # closing without accepting refuses it
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if not host_allowed(self.settings, headers.get("host")):
            await forbidden("This address is not the desk's.")(scope, receive, send)
            return
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"),
                          keep_blank_values=True)
        tokens = [v for k, v in query if k == "token"]
        if tokens:
            await self._first_visit(scope, receive, send, tokens, query)
            return
        sid = session_id(self.settings, _cookie(headers, cookie_name(self.settings)))
        if sid is None:
            await forbidden("This browser has not opened the desk yet.")(scope, receive, send)
            return
        expected = csrf_for(self.settings, sid)
        scope["desk_csrf"] = expected
        if scope["method"] in UNSAFE_METHODS:
            ok, receive = await _csrf_ok(scope, receive, headers, expected)
            if not ok:
                await forbidden("The form was stale or did not come from the desk; reload "
                                "the page and try again.")(scope, receive, send)
                return
        await self.app(scope, receive, _with_headers(send))

    async def _first_visit(self, scope: Scope, receive: Receive, send: Send,
                           tokens: list[str], query: list[tuple[str, str]]) -> None:
        """Swap the token for a cookie and send the browser to the address without it."""
        if len(tokens) != 1 or not hmac.compare_digest(tokens[0].encode(),
                                                       self.settings.token.encode()):
            await forbidden("The address's token is not this desk's.")(scope, receive, send)
            return
        rest = urlencode([(k, v) for k, v in query if k != "token"])
        target = scope.get("path", "/") + (f"?{rest}" if rest else "")
        response = RedirectResponse(target, status_code=303, headers=_security_headers())
        response.set_cookie(cookie_name(self.settings), session_cookie(self.settings),
                            httponly=True, samesite="strict", path="/")
        await response(scope, receive, send)


def _cookie(headers: Headers, name: str) -> str | None:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(headers.get("cookie", ""))
    except Exception:  # a malformed Cookie header is no session
        return None
    morsel = jar.get(name)
    return morsel.value if morsel else None


async def _csrf_ok(scope: Scope, receive: Receive, headers: Headers, expected: str
                   ) -> tuple[bool, Receive]:
    """Whether the request carries the CSRF token, and a receive that replays the body the
    check read (so the page reads the form again as usual)."""
    given = headers.get(CSRF_HEADER)
    if given is not None:
        return hmac.compare_digest(given.encode(), expected.encode()), receive
    body = bytearray()
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break

    async def replay() -> Message:
        if messages:
            return messages.pop(0)
        return await receive()

    probe = Request(dict(scope), _once(bytes(body)))
    try:
        form = await probe.form()
        given = form.get(CSRF_FIELD)
        await form.close()
    except Exception:  # not a form at all: no token
        given = None
    ok = isinstance(given, str) and hmac.compare_digest(given.encode(), expected.encode())
    return ok, replay


def _once(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _with_headers(send: Send) -> Send:
    """Add the security headers to the response, keeping any the page set itself."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            for key, value in _security_headers().items():
                if key.lower() not in headers:
                    headers[key] = value
        await send(message)

    return wrapped

