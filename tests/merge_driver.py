"""Runs `merge JOB --deliver` in a process of its own for the delivery crash test.

    python -m tests.merge_driver CONFIG JOB STEPS_FILE KILL_AT [--mark-sent ID]... [--retry ID]...

Every step of the run (refdesk's checkpoints) is appended to STEPS_FILE as it is reached; at
the KILL_AT-th step (counted from 0; -1 for none) the process SIGKILLs itself, as a power cut
or a killed terminal would end it. PDFs are made by a stand-in that writes a small PDF, so
that the test is about what is sent and logged, not about LibreOffice.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import sys
from pathlib import Path


def fake_pdf(files: list[Path], folder: Path) -> list[Path]:
    """Stands in for LibreOffice: a small PDF beside each document."""
    made = []
    for file in files:
        pdf = folder / (file.stem + ".pdf")
        pdf.write_bytes(b"%PDF-1.4\n% " + file.name.encode() + b"\n%%EOF\n")
        made.append(pdf)
    return made


def main(argv: list[str]) -> int:
    config_path, job, steps_file, kill_at = argv[:4]
    rest = argv[4:]
    mark_sent = [rest[i + 1] for i, a in enumerate(rest) if a == "--mark-sent"]
    retry = [rest[i + 1] for i, a in enumerate(rest) if a == "--retry"]
    limit = int(kill_at)
    reached = 0

    from refdesk.merge import route
    from refdesk.xlsxpatch import safety

    def checkpoint(step: str) -> None:
        nonlocal reached
        with open(steps_file, "a", encoding="utf-8") as fh:
            fh.write(step + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        if reached == limit:
            os.kill(os.getpid(), signal.SIGKILL)
        reached += 1

    safety.checkpoint = checkpoint
    route.to_pdf = fake_pdf

    from refdesk.config import load_config
    from refdesk.merge.report import print_result
    from refdesk.merge.run import merge
    from refdesk.sources.excel import ExcelSource

    config = load_config(Path(config_path))
    result = merge(config, job, ExcelSource(config.excel), today=dt.date(2026, 11, 23),
                   deliver=True, mark_sent=mark_sent, retry=retry)
    print_result(result, config)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
