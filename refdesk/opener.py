"""Opening a file in the program the system uses for it (Excel, LibreOffice, Numbers).

One function, used by the desk's "Open the workbook" button: os.startfile on Windows,
`open` on macOS, `xdg-open` elsewhere. It starts the program and returns at once; what the
program does next (a window, a message of its own) is the system's business.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["open_file"]


def open_file(path: Path) -> str:
    """Open `path` in the system's program for it; return a sentence saying what happened,
    naming the file and, when it could not be opened, what to do instead. Never raises for a
    missing file or a missing opener."""
    path = Path(path)
    if not path.exists():
        return f"{path}: no such file. Check [source] excel in config.toml."
    try:
        if sys.platform == "win32":
            # Only on Windows; the attribute does not exist elsewhere.
            os.startfile(path)  # type: ignore[attr-defined]  # noqa: S606
        else:
            program = "open" if sys.platform == "darwin" else "xdg-open"
            found = shutil.which(program)
            if found is None:
                return (f"Could not open {path}: this system has no `{program}`. "
                        "Open the file from your file manager.")
            # Detached and quiet: the desk goes on serving while the program runs.
            subprocess.Popen([found, str(path)], stdin=subprocess.DEVNULL,  # noqa: S603
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        return f"Could not open {path}: {reason}. Open the file from your file manager."
    return f"Opened {path.name} in the program your system uses for it."
