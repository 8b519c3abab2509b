"""LibreOffice, headless: converts documents in one process per batch.

Each run gets its own temporary user profile, so it never collides with a LibreOffice the user
has open (which would otherwise swallow the request and exit without converting).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from refdesk.errors import RefdeskError

#: Debian's packages that provide a headless LibreOffice able to open what refdesk writes.
DEBIAN_PACKAGES = "libreoffice-calc-nogui libreoffice-writer-nogui"
CONVERT_TIMEOUT_S = 600


class OfficeError(RefdeskError):
    """LibreOffice is missing or failed to convert."""


def find_soffice() -> str | None:
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    return None


def require_soffice() -> str:
    found = find_soffice()
    if not found:
        raise OfficeError(f"LibreOffice is not installed. Install it (Debian/Ubuntu: sudo apt-get "
                          f"install {DEBIAN_PACKAGES}; macOS/Windows: libreoffice.org) and "
                          "run again.")
    return found


def convert(files: Sequence[Path], to: str, outdir: Path) -> list[Path]:
    """Convert `files` with one LibreOffice process; return the paths it wrote, in order.

    `to` is a LibreOffice filter spec such as "pdf" or "xlsx".
    """
    soffice = require_soffice()
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="refdesk-lo-") as profile:
        cmd = [soffice, f"-env:UserInstallation={Path(profile).as_uri()}", "--headless",
               "--norestore", "--nologo", "--nodefault", "--convert-to", to,
               "--outdir", str(outdir), *map(str, files)]
        env = dict(os.environ, HOME=profile)
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, env=env,
                                  timeout=CONVERT_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            raise OfficeError(f"LibreOffice took over {CONVERT_TIMEOUT_S} s converting "
                              f"{len(files)} files and was stopped.") from None
    extension = to.split(":")[0]
    outputs = [outdir / f"{Path(f).stem}.{extension}" for f in files]
    missing = [p.name for p in outputs if not p.exists()]
    if done.returncode != 0 or missing:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise OfficeError(f"LibreOffice could not convert {', '.join(missing) or 'the files'} "
                          f"to {extension}" + (f" ({detail[-1]})" if detail else "") + ".")
    return outputs
