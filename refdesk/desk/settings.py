"""What the desk was started with: the same source options as the commands, plus the secret."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path


@dataclass
class DeskSettings:
    """The desk's start-up options; `token` is the secret in the address it prints."""

    config_path: Path | None
    workbook: Path | None
    sheet: str | None
    token: str
    host: str = "127.0.0.1"
    port: int = 0
    today: dt.date | None = None
