"""What a page works on: the configuration, the source and its Book, read once and shared.

The Book is cached and read again when the workbook file changes (its mtime and size); a
Google Sheet is read again after GOOGLE_FRESH seconds or when a page asks (`refresh=True`).
The desk holds no lock while idle; an action that writes takes it like a command (`locked`).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request

from refdesk.book import Book
from refdesk.config import Config
from refdesk.desk.settings import DeskSettings
from refdesk.sources import Source

GOOGLE_FRESH = 60.0  # seconds a Google Sheet's Book is shown before it is read again
_LOCK = threading.Lock()  # one read at a time: pages run in a thread pool
_clock = time.monotonic  # the age of a Google Sheet's Book (a test sets its own)


@dataclass
class Loaded:
    """The configuration (None with --workbook and no config.toml), the source and its Book."""

    config: Config | None
    source: Source
    book: Book


def settings_of(request: Request) -> DeskSettings:
    """The options the desk was started with."""
    return request.app.state.settings  # type: ignore[no-any-return]


def today(request: Request) -> dt.date:
    """The desk's today: --today when given (demos and tests), else the computer's date."""
    return settings_of(request).today or dt.date.today()


def _stamp(path: Path | None) -> tuple[int, int] | None:
    try:
        st = path.stat() if path is not None else None
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size) if st is not None else None


def resolve_source(settings: DeskSettings) -> tuple[Config | None, Source]:
    """The configuration and source, found as the commands find them."""
    from refdesk.cli import resolve  # the one place that turns the options into a source

    return resolve(settings.config_path, settings.workbook, settings.sheet)


def load(request: Request, *, refresh: bool = False) -> Loaded:
    """The desk's configuration, source and Book; raises RefdeskError as the commands do
    (the app shows it as a page with the message)."""
    state = request.app.state
    with _LOCK:
        return _load(settings_of(request), state.cache, refresh)


def _load(settings: DeskSettings, cache: dict[str, Any], refresh: bool) -> Loaded:
    config_stamp = _config_stamp(settings)
    held = cache.get("loaded")
    if held is not None and not refresh:
        loaded, stamp, read_at = held
        fresh = (stamp == _source_stamp(loaded.source) if loaded.source.path is not None
                 else _clock() - read_at < GOOGLE_FRESH)
        if fresh and cache.get("config_stamp") == config_stamp:
            return loaded  # type: ignore[no-any-return]
    cache.pop("loaded", None)
    config, source = resolve_source(settings)
    stamp = _source_stamp(source)
    book = source.read()
    loaded = Loaded(config, source, book)
    cache["loaded"] = (loaded, stamp, _clock())
    cache["config_stamp"] = config_stamp
    return loaded


def preload(app: Starlette) -> Loaded:
    """Read the configuration and the workbook once before serving: a broken one fails at
    start with its message, and the first page is quick."""
    with _LOCK:
        return _load(app.state.settings, app.state.cache, True)


def _source_stamp(source: Source) -> tuple[int, int] | None:
    return _stamp(source.path) if source.path is not None else None


def _config_stamp(settings: DeskSettings) -> tuple[int, int] | None:
    try:
        from refdesk.places import find_config

        path, _ = find_config(settings.config_path)
    except Exception:  # no config anywhere: fine with --workbook or --sheet
        return None
    return _stamp(Path(path))


def config_of(request: Request) -> Config | None:
    """The configuration when it can be read, else None (for the practice's name in the page
    frame, which must show even when the workbook cannot be read)."""
    cache = request.app.state.cache
    stamp = _config_stamp(settings_of(request))
    held = cache.get("config")
    if held is not None and held[0] == stamp:
        return held[1]  # type: ignore[no-any-return]
    try:
        config, _ = resolve_source(settings_of(request))
    except Exception:  # shown by the page that loads it; the frame just goes without
        config = None
    cache["config"] = (stamp, config)
    return config


def _state(holder: Request | Starlette) -> Any:
    return holder.app.state if isinstance(holder, Request) else holder.state


def forget(holder: Request | Starlette) -> None:
    """Drop the cached Book, so the next load reads the source again (after a write)."""
    _state(holder).cache.pop("loaded", None)


@contextmanager
def locked(holder: Request | Starlette, command: str = "refdesk desk") -> Iterator[Loaded]:
    """Hold the workbook like a command, from a fresh read to after the write; yields the
    freshly read Loaded. Raises WorkbookBusyError (or the lease's error) when a command holds
    it. Takes the request or, in a background worker, the app. The cache is dropped on the
    way out, so pages show what was written."""
    config, source = resolve_source(_state(holder).settings)
    try:
        with source.locked(command):
            yield Loaded(config, source, source.read())
    finally:
        forget(holder)
