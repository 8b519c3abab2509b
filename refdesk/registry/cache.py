"""Registry answers kept on disk for a month, keyed by the query.

One JSON file per query in the user's cache folder (platformdirs). A stale, unreadable or
damaged entry reads as absent; a cache that cannot be written is skipped: the cache only
saves calls, it never stops a command.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import platformdirs

from refdesk.places import APP_NAME

#: How long an answer is trusted: NPPES updates its records weekly; a month keeps repeated
#: checks free without holding a deactivation back for long.
MAX_AGE_SECONDS = 30 * 24 * 3600
FOLDER = "npi-registry"


def default_folder() -> Path:
    """The registry's cache folder inside the user's cache dir (XDG_CACHE_HOME on Linux)."""
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)) / FOLDER


def query_key(base_url: str, params: Mapping[str, str]) -> str:
    """The same query to the same registry, whatever order its parameters came in."""
    text = json.dumps([base_url, sorted(params.items())], ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class AnswerCache:
    """get/put of registry answers (the decoded JSON) by query key."""

    def __init__(self, folder: Path | None = None, *, max_age: float = MAX_AGE_SECONDS,
                 now: Callable[[], float] = time.time) -> None:
        self.folder = Path(folder) if folder is not None else default_folder()
        self.max_age = max_age
        self.now = now

    def _file(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The answer stored for `key`, or None when absent, stale or damaged."""
        try:
            entry = json.loads(self._file(key).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            return None
        if not isinstance(entry, dict):
            return None
        fetched, answer = entry.get("fetched"), entry.get("answer")
        if not isinstance(fetched, int | float) or not isinstance(answer, dict):
            return None
        age = self.now() - fetched
        if age < 0 or age > self.max_age:  # a clock set back is no reason to trust it forever
            return None
        return answer

    def put(self, key: str, answer: dict[str, Any]) -> None:
        """Store `answer`; a folder that cannot be written is skipped silently."""
        target = self._file(key)
        tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps({"fetched": self.now(), "answer": answer},
                                      ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, target)  # a reader never sees half a file
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
