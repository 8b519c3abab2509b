"""LibreOffice, headless: converts documents in one process per batch.

Each run gets its own temporary user profile, so it never collides with a LibreOffice the user
has open (which would otherwise swallow the request and exit without converting).
"""

from __future__ import annotations

import os
import platform
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


#: Where the macOS installer puts applications (a module constant so tests can move it).
MAC_APPLICATIONS = Path("/Applications")


def _system() -> str:
    """"Windows", "Darwin" or "Linux" (tests replace this to search as another system does)."""
    return platform.system()


def install_folders() -> list[Path]:
    """The soffice programs a standard LibreOffice install leaves, where PATH does not lead:
    Windows' Program Files (64- and 32-bit, and a per-user install), macOS' Applications
    folders. Versioned folder names ("LibreOffice 7") count too."""
    system = _system()
    if system == "Windows":
        roots = [Path(os.environ.get(var) or default) for var, default in (
            ("ProgramFiles", r"C:\Program Files"), ("ProgramFiles(x86)", r"C:\Program Files (x86)"),
            ("ProgramW6432", r"C:\Program Files"))]
        if os.environ.get("LOCALAPPDATA"):
            roots.append(Path(os.environ["LOCALAPPDATA"]) / "Programs")
        found: list[Path] = []
        for root in dict.fromkeys(roots):
            found.append(root / "LibreOffice" / "program" / "soffice.exe")
            found.extend(sorted(root.glob("LibreOffice */program/soffice.exe"), reverse=True))
        return found
    if system == "Darwin":
        app = Path("LibreOffice.app/Contents/MacOS/soffice")
        return [MAC_APPLICATIONS / app, Path.home() / "Applications" / app]
    return [Path("/usr/lib/libreoffice/program/soffice"),
            *sorted(Path("/opt").glob("libreoffice*/program/soffice"), reverse=True)]


def find_soffice() -> str | None:
    """LibreOffice's soffice: REFDESK_SOFFICE, then PATH, then the standard install folders."""
    chosen = os.environ.get("REFDESK_SOFFICE")
    if chosen and Path(chosen).is_file():
        return chosen
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    for candidate in install_folders():
        if candidate.is_file():
            return str(candidate)
    return None


def install_hint() -> str:
    """How to install LibreOffice on this system, and where refdesk looked."""
    system = _system()
    if system in ("Windows", "Darwin"):
        how = "install it from https://www.libreoffice.org/download/"
    else:
        how = f"install it (Debian/Ubuntu: sudo apt-get install {DEBIAN_PACKAGES})"
    return (f"{how}, or set REFDESK_SOFFICE to its soffice program. refdesk looked on PATH and "
            f"in {', '.join(str(p) for p in install_folders()[:4])}")


def require_soffice() -> str:
    found = find_soffice()
    if not found:
        raise OfficeError(f"LibreOffice is not installed: {install_hint()}. Then run again.")
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
            # errors="replace": its messages come in the system's encoding, which on Windows
            # need not hold every character of a file's name.
            done = subprocess.run(cmd, capture_output=True, text=True, errors="replace", env=env,
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
