"""Signing in to Google: the credentials file config.toml names, the OAuth token refdesk keeps
beside it, and a message that says how to fix each way signing in goes wrong.

Two kinds of file are accepted. A service-account key ("type": "service_account", with a
private key) signs in as that account: the sheet is shared with its email. An OAuth client
file (an "installed" or "web" section) signs in as the user's own Google account, with
`auth = "oauth"` in [source]: a browser opens once and the token it gives (a refresh token
and the client secret) is kept in `<client file>-token.json`, readable by the user only.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

from refdesk.errors import SourceError

#: Where the credentials file is looked for when config.toml names none.
CREDENTIALS_ENV = "REFDESK_GOOGLE_CREDENTIALS"
SCOPES = ("https://www.googleapis.com/auth/spreadsheets",
          "https://www.googleapis.com/auth/drive.file")
NEW_KEY = ("Google Cloud console > IAM & Admin > Service accounts > the account > Keys > "
           "Add key > Create new key > JSON")
NEW_CLIENT = ("Google Cloud console > APIs & Services > Credentials > OAuth 2.0 Client IDs > "
              "Download JSON")


def credentials_path(configured: Path | None) -> Path:
    """The credentials file config.toml (or the environment) names; it must exist."""
    found = configured or (Path(os.environ[CREDENTIALS_ENV]) if os.environ.get(CREDENTIALS_ENV)
                           else None)
    if found is None:
        raise SourceError(
            "no Google credentials: refdesk needs a service-account key (a .json file) or an "
            "OAuth client file to open the sheet. Set [source] credentials = \"PATH\" in "
            f"config.toml or the environment variable {CREDENTIALS_ENV}; the README's Google "
            "Sheets section shows how to make one.")
    if not found.is_file():
        raise SourceError(f"{found}: the Google credentials file does not exist. Check "
                          f"[source] credentials in config.toml or {CREDENTIALS_ENV}.")
    return found


def token_path(credentials: Path) -> Path:
    """Where the OAuth sign-in is kept: beside the client file, named after it."""
    return credentials.with_name(credentials.stem + "-token.json")


def file_kind(info: Any) -> str:
    """What a credentials file holds: "service_account" (a key), "oauth_client" (an OAuth
    client file), "authorized_user" (a token refdesk or gspread saved) or "unknown"."""
    if not isinstance(info, dict):
        return "unknown"
    if "installed" in info or "web" in info:
        return "oauth_client"
    if info.get("type") in ("service_account", "authorized_user"):
        return str(info["type"])
    if "refresh_token" in info:  # google-auth writes the token without a "type"
        return "authorized_user"
    return "unknown"


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SourceError(f"{path}: cannot be read ({exc.strerror}).") from None
    except ValueError:
        raise SourceError(f"{path}: not a Google credentials file (it is not JSON). Download "
                          f"it again: a service-account key ({NEW_KEY}), or an OAuth client "
                          f"file ({NEW_CLIENT}) with auth = \"oauth\" in [source].") from None


def _wrong_file(path: Path, kind: str, info: Any, auth: str) -> SourceError | None:
    """The message for a file that does not fit `auth`, or None when it fits."""
    if auth == "oauth" and kind == "service_account":
        email = info.get("client_email") or "its client_email"
        return SourceError(
            f"{path} is a service-account key ({email}), but config.toml says auth = \"oauth\", "
            "which needs an OAuth client file. To use the key, remove auth = \"oauth\" from "
            f"[source] in config.toml and share the sheet with {email} as an Editor.")
    if auth != "oauth" and kind == "oauth_client":
        return SourceError(
            f"{path} is an OAuth client file (it signs in as your own Google account), not a "
            "service-account key. To sign in with it, set auth = \"oauth\" under [source] in "
            f"config.toml; or use a service-account key instead ({NEW_KEY}).")
    if kind == "authorized_user":
        return SourceError(
            f"{path} is a saved sign-in token, not a credentials file. Set [source] "
            f"credentials to the OAuth client file it was made from ({NEW_CLIENT}), with "
            "auth = \"oauth\".")
    if auth == "oauth" and kind != "oauth_client":
        return SourceError(f"{path}: not an OAuth client file (no \"installed\" or \"web\" "
                           f"section). Download it again: {NEW_CLIENT}.")
    return None


def connect(credentials: Path | None, auth: str = "service_account") -> Any:
    """A gspread client, authenticated as config.toml says: a service account's key file, or
    the user's own Google account through OAuth (a browser opens once; the token is kept
    beside the client file, readable by the user only)."""
    import gspread

    path = credentials_path(credentials)
    info = _read(path)
    kind = file_kind(info)
    wrong = _wrong_file(path, kind, info, auth)
    if wrong is not None:
        raise wrong
    if auth == "oauth":
        return gspread.Client(auth=_oauth_credentials(path, info))
    try:
        return gspread.service_account_from_dict(info, scopes=list(SCOPES))
    except (ValueError, KeyError, TypeError) as exc:
        raise SourceError(f"{path}: not a Google service-account key file ({exc}). Download "
                          f"the key again ({NEW_KEY}).") from None


def _sign_in(client_config: dict[str, Any], scopes: list[str]) -> Any:
    """The browser sign-in (gspread's local-server flow); tests put a fake in its place."""
    from gspread.auth import local_server_flow

    return local_server_flow(client_config=client_config, scopes=scopes)


def _oauth_credentials(path: Path, info: dict[str, Any]) -> Any:
    from google.oauth2.credentials import Credentials

    token = token_path(path)
    if token.exists():
        keep_private(token)
        try:
            return Credentials.from_authorized_user_file(str(token))
        except (ValueError, KeyError) as exc:
            raise SourceError(f"{token}: the saved sign-in cannot be read ({exc}). Delete the "
                              "token file and run again to sign in.") from None
    creds = _sign_in(info, list(SCOPES))
    # The access token is left out, as gspread does: it expires within the hour.
    write_private(token, creds.to_json(strip=["token"]))
    return creds


def write_private(path: Path, text: str) -> None:
    """Write `path` so only its owner can read it (0600, in a folder only they can enter,
    0700): created with that mode, never briefly readable by others, replaced at once."""
    folder = path.parent
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    _private_folder(folder)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    keep_private(path)


def keep_private(path: Path) -> None:
    """Take group and others' access away from a token file (one written by an earlier
    version, or by gspread, is 0644) and from its folder."""
    if os.name != "posix":
        return  # Windows: the file sits in the user's profile; chmod only sets read-only
    with contextlib.suppress(OSError):
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            path.chmod(mode & 0o600 | 0o600)
    _private_folder(path.parent)


def _private_folder(folder: Path) -> None:
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        mode = stat.S_IMODE(folder.stat().st_mode)
        # The home folder is left as the system set it: others may need to pass through it.
        if mode & 0o077 and folder.resolve() != Path.home().resolve():
            folder.chmod(0o700)


def service_account_email(credentials: Path | None) -> str | None:
    """The email of the service account a key file names (None for anything else)."""
    try:
        info = json.loads(credentials_path(credentials).read_text(encoding="utf-8"))
        return info.get("client_email") if file_kind(info) == "service_account" else None
    except (OSError, ValueError, SourceError, AttributeError):
        return None


# -- when Google refuses the credentials -----------------------------------------------------

def _reason(exc: BaseException) -> tuple[str, str]:
    """The OAuth error code and description of a google-auth RefreshError."""
    data = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
    text = str(exc.args[0]) if exc.args else ""
    code = str(data.get("error") or text.partition(":")[0]).strip()
    description = str(data.get("error_description") or text.partition(":")[2] or text).strip()
    return code, description


def sign_in_error(exc: BaseException, credentials: Path | None, auth: str) -> SourceError:
    """The message for a google.auth RefreshError: what went wrong and the step that fixes
    it (sign in again, make a new key, set the clock)."""
    code, description = _reason(exc)
    said = f"Google said: {description or code}"
    if getattr(exc, "retryable", False):
        return SourceError(f"Google's sign-in service did not answer ({said}); nothing was "
                           "changed. Try again in a few minutes.")
    path = credentials or (Path(os.environ[CREDENTIALS_ENV])
                           if os.environ.get(CREDENTIALS_ENV) else None)
    if auth == "oauth":
        token = token_path(path) if path else Path("the token file")
        if code in ("invalid_client", "unauthorized_client", "deleted_client"):
            return SourceError(
                f"Google no longer knows the OAuth client in {path} ({said}): it was deleted "
                f"or its secret changed. Download the client file again ({NEW_CLIENT}), delete "
                f"the token file {token}, and run again to sign in.")
        return SourceError(f"the saved Google sign-in expired or was revoked ({said}). Delete "
                           f"the token file {token} and run again to sign in.")
    email = service_account_email(path) or "the key's service account"
    if "timeframe" in description or "iat and exp" in description:
        return SourceError(f"Google refused the key in {path} because this computer's clock "
                           f"is off ({said}). Set the date and time right, then run again.")
    if "account not found" in description.lower():
        gone = f"its service account {email} no longer exists"
    else:
        gone = f"its service account {email} no longer exists, or the key was deleted"
    return SourceError(f"Google refused the key in {path}: {gone} ({said}). Make a new key "
                       f"({NEW_KEY}) for an account that exists, set [source] credentials to "
                       "it, and share the sheet with that account as an Editor.")


def unauthorized(credentials: Path | None, auth: str) -> SourceError:
    """The message for HTTP 401 from the Sheets API itself (the token was refused)."""
    path = credentials or (Path(os.environ[CREDENTIALS_ENV])
                           if os.environ.get(CREDENTIALS_ENV) else None)
    if auth == "oauth":
        token = token_path(path) if path else Path("the token file")
        return SourceError(f"Google refused the saved sign-in (HTTP 401). Delete the token file "
                           f"{token} and run again to sign in.")
    return SourceError(f"Google refused the key in {path} (HTTP 401): its service account no "
                       f"longer exists, or the key was deleted. Make a new key ({NEW_KEY}) "
                       "and set [source] credentials to it.")
