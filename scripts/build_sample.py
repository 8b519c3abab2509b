"""Build the sample practice workbook, workbooks/referrals.xlsx, from refdesk.sample.

    python scripts/build_sample.py [--output PATH]

The same bytes every run: rebuild it after changing the generator and commit the result.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "workbooks" / "referrals.xlsx"

if str(ROOT) not in sys.path:  # run as a file from a checkout without installing the package
    sys.path.insert(0, str(ROOT))

from refdesk.newbook import write_workbook  # noqa: E402
from refdesk.sample import sample_rows  # noqa: E402


def build(output: Path | str = DEFAULT_OUTPUT) -> dict[str, int]:
    """Write the sample workbook at `output`, replacing any file there in one step.

    write_workbook never overwrites, so the book is written beside the target (same file
    system, so the final rename is atomic) and then moved over it. Returns rows per sheet.
    """
    output = Path(output).resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    rows = sample_rows()
    scratch = Path(tempfile.mkdtemp(prefix=".build-sample-", dir=output.parent))
    try:
        built = write_workbook(scratch / output.name, rows)
        os.replace(built, output)
    finally:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(scratch)
    return {sheet: len(records) for sheet, records in rows.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT,
                        help=f"where to write the workbook (default: {DEFAULT_OUTPUT})")
    args = parser.parse_args(argv)
    counts = build(args.output)
    print(f"Wrote {args.output}:", file=sys.stderr)
    for sheet, n in counts.items():
        print(f"  {sheet:<13} {n:>5} rows", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
