"""Serve the desk on the loopback address only, print its address, open the browser."""

from __future__ import annotations

import ipaddress
import socket
import webbrowser
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from refdesk.desk.settings import DeskSettings
from refdesk.errors import RefdeskError

#: The names --host accepts; anything else would let another computer reach the desk.
LOOPBACK = {"127.0.0.1": "127.0.0.1", "localhost": "127.0.0.1", "::1": "::1"}


class DeskError(RefdeskError):
    """The desk cannot start: an address other than this computer's, or a port in use."""


def check_host(host: str) -> str:
    """The address to bind for --host, which must be this computer's loopback address."""
    bound = LOOPBACK.get(host.strip().lower().strip("[]"))
    if bound is None:
        try:
            everywhere = ipaddress.ip_address(host.strip("[]")).is_unspecified
        except ValueError:
            everywhere = False
        why = ("would open it to every computer on the network" if everywhere
               else "is not this computer's own address")
        raise DeskError(f"--host {host}: the desk serves this computer only, and {host} "
                        f"{why}. Use --host 127.0.0.1 (the default), localhost or ::1.")
    return bound


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on the loopback address (port 0: a free one)."""
    address = check_host(host)
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if hasattr(socket, "SO_EXCLUSIVEADDRUSE"):  # Windows: no other program on our port
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
        sock.bind((address, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise DeskError(f"port {port} on {address} cannot be used ({exc.strerror or exc}); "
                        "another program may hold it. Leave out --port (a free port is "
                        "picked) or give another.") from None
    sock.setblocking(False)
    return sock


def address(settings: DeskSettings) -> str:
    """The address to open, with the token: what `refdesk desk` prints."""
    name = settings.host.strip("[]")
    shown = f"[{name}]" if ":" in name else name
    return f"http://{shown}:{settings.port}/?token={settings.token}"


def serve(settings: DeskSettings, *, open_browser: bool = True,
          echo: Callable[[str], None] = print) -> None:
    """Bind, print the address, open it, serve until Ctrl-C. The configuration and the
    workbook are read once first, so a broken one fails here with its message."""
    import uvicorn

    from refdesk.desk import context
    from refdesk.desk.app import create_app

    sock = bind(settings.host, settings.port)
    settings = replace(settings, port=sock.getsockname()[1])
    app = create_app(settings)
    try:
        context.preload(app)
    except BaseException:
        sock.close()
        raise
    # No access log: addresses could carry what a page was asked; nothing of a request is
    # logged. lifespan off: the app needs no start-up hook.
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                            server_header=False, date_header=False)
    server = uvicorn.Server(config)
    url = address(settings)
    echo(f"The desk is open at {url}")
    echo("Keep this address to yourself; press Ctrl-C here to close the desk.")
    if open_browser:
        webbrowser.open(url)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it caught, after shutting down
        pass
    finally:
        sock.close()
    finish_work(app, echo)
    echo("The desk is closed.")


def finish_work(app: Any, echo: Callable[[str], None]) -> None:
    """Let letters being made finish before the process ends (their thread would die with
    it, leaving documents made but not logged); a second Ctrl-C stops at once."""
    worker = getattr(app.state, "letters_worker", None)
    run = worker.busy() if worker is not None else None
    if run is None:
        return
    echo("Letters are still being made; the desk closes when they are done (Ctrl-C again "
         "stops now, as it would stop `refdesk merge`).")
    try:
        while not run.finished.wait(0.5):  # a timeout, so Ctrl-C is heard on every system
            pass
    except KeyboardInterrupt:
        echo("Stopped while making letters: run `refdesk merge` for the job again to finish "
             "(letters already logged are not made twice).")
