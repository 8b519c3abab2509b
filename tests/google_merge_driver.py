"""Runs `merge JOB --deliver` on a Google Sheet of the loopback Sheets server, in a process of
its own, as one person of a clinic team would on their own machine.

    python -m tests.google_merge_driver CONFIG KEY PORT NAME OUT [JOB]

NAME is who runs it: the lease names NAME@NAME-LAPTOP, and every request carries the header
X-Refdesk-Person: NAME, so that a test's gate on the server can tell the two apart. OUT is
this person's output folder (their own laptop's). PDFs come from a stand-in that writes a small
PDF, as in tests/merge_driver.py, so the test is about what is sent and written, not about
LibreOffice. A waiting writer waits as long as it takes (the test decides the order, never a
clock), polling the lease with short pauses. Errors end the process as the command line
would: `Error: ...` on stderr and refdesk's exit code.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

PERSON_HEADER = "X-Refdesk-Person"


def main(argv: list[str]) -> int:
    config_path, key, port, name, out = argv[:5]
    job = argv[5] if len(argv) > 5 else "thank-you"

    import gspread

    from refdesk import office
    from refdesk.config import load_config
    from refdesk.errors import RefdeskError
    from refdesk.merge import route
    from refdesk.merge.report import print_result
    from refdesk.merge.run import merge
    from refdesk.sources.google import GoogleSource, Retry, lease
    from tests.merge_driver import fake_pdf
    from tests.sheets_server import LoopbackCredentials, route_to_loopback

    route.to_pdf = fake_pdf
    office.require_soffice = lambda: None  # the stand-in makes the PDFs
    lease.FIRST_PAUSE, lease.LONGEST_PAUSE = 0.01, 0.05

    client = gspread.Client(auth=LoopbackCredentials())
    route_to_loopback(client.http_client.session, int(port))
    client.http_client.session.headers[PERSON_HEADER] = name
    config = load_config(Path(config_path))
    source = GoogleSource(key, client=client, country=config.practice.country,
                          retry=Retry(max_wait=60.0, base=0.01, cap=0.05, timeout=60.0))
    source.lease_settings = lease.Settings(wait=600.0, user=name,
                                           machine=f"{name.upper()}-LAPTOP")
    try:
        result = merge(config, job, source, today=dt.date(2026, 11, 23), deliver=True,
                       out=Path(out))
    except RefdeskError as exc:
        print("Error: " + "\n".join(exc.lines()), file=sys.stderr)
        return exc.exit_code
    print_result(result, config)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
