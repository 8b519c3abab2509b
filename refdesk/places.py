"""Where refdesk looks for config.toml, and the default practice `refdesk new` registers.

The order: `--config`, then the REFDESK_CONFIG environment variable, then ./config.toml,
then the practice folder recorded in the user's config directory (platformdirs), so that
commands work from any folder once a practice exists.
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import platformdirs

from refdesk.errors import ConfigError

APP_NAME = "refdesk"
CONFIG_NAME = "config.toml"
ENV_VAR = "REFDESK_CONFIG"
# The file in the user's config directory that names the default practice folder.
DEFAULT_PRACTICE_FILE = "default-practice.toml"

FROM_OPTION = "--config"
FROM_ENV = ENV_VAR
FROM_CWD = "./config.toml"
FROM_DEFAULT = "default practice"


def user_config_dir() -> Path:
    """The user's refdesk settings folder (platformdirs; XDG_CONFIG_HOME on Linux)."""
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def default_practice_file() -> Path:
    """The file that records the default practice folder."""
    return user_config_dir() / DEFAULT_PRACTICE_FILE


def register_default(folder: Path) -> Path:
    """Record `folder` as the default practice; return the file written."""
    target = default_practice_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    # json.dumps gives a valid TOML basic string (quotes, backslashes, non-ASCII kept as is).
    practice = json.dumps(str(Path(folder).resolve()), ensure_ascii=False)
    text = (
        "# The practice folder refdesk uses when no config.toml is given or found here.\n"
        "# Written by `refdesk new`; edit or delete it freely.\n"
        f"practice = {practice}\n"
    )
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)
    return target


def default_practice() -> Path | None:
    """The registered default practice folder, or None when none is registered or readable."""
    target = default_practice_file()
    try:
        data = tomllib.loads(target.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    practice = data.get("practice")
    if not isinstance(practice, str) or not practice.strip():
        return None
    return Path(practice)


def not_found_message() -> str:
    """The one message for 'no config.toml anywhere': the four places and the fix."""
    default = default_practice()
    default_text = (
        f"the default practice {default / CONFIG_NAME} (missing)" if default is not None
        else f"the default practice (none registered in {default_practice_file()})"
    )
    env = os.environ.get(ENV_VAR)
    env_text = f"{ENV_VAR}={env} (missing)" if env else f"{ENV_VAR} (not set)"
    return (
        "config.toml: not found. Looked at --config (not given), "
        f"{env_text}, {Path.cwd() / CONFIG_NAME} (missing), and {default_text}. "
        "Fix: make a practice folder with `refdesk new FOLDER`, "
        "or pass --config PATH/config.toml."
    )


def find_config(explicit: Path | None) -> tuple[Path, str]:
    """The config.toml to use and how it was found; raise RefdeskError when there is none.

    An explicit --config or REFDESK_CONFIG is returned even when missing, so that the
    loader names that very file; the later places are used only when the file exists.
    """
    if explicit is not None:
        return Path(explicit), FROM_OPTION
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env), FROM_ENV
    here = Path(CONFIG_NAME)
    if here.is_file():
        return here, FROM_CWD
    default = default_practice()
    if default is not None and (default / CONFIG_NAME).is_file():
        return default / CONFIG_NAME, FROM_DEFAULT
    raise ConfigError(not_found_message())


def describe_found(how: str) -> str:
    """How a config.toml was found, in words for a message."""
    return {
        FROM_OPTION: "given with --config",
        FROM_ENV: "named by REFDESK_CONFIG",
        FROM_CWD: "found in the current folder",
        FROM_DEFAULT: "the default practice, registered by refdesk new",
    }.get(how, how)
