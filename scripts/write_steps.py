"""Where a safe write's time goes: the bench's write (100 cells by referral_id and 100 rows
appended) into a copy of a workbook, timed step by step.

The steps are the write's checkpoints (refdesk/xlsxpatch/safety.py): planning (reading the
sheet, indexing its rows and ids, building the new part), the backup copy, the new zip (each
part written or copied), the record for `refdesk undo`, the final checks and the rename.
With --profile, the planning's functions by their own time too.

    python scripts/write_steps.py                       the 100k bench workbook
    python scripts/write_steps.py BOOK.xlsx --profile
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))


def steps(book: Path) -> list[tuple[str, float]]:
    """(step, seconds) of one write into a copy of `book`, the small parts' copies summed."""
    import bench

    from refdesk.xlsxpatch import safety

    marks: list[tuple[str, float]] = []
    original = safety.checkpoint
    safety.checkpoint = lambda step: marks.append((step, time.perf_counter()))
    folder = Path(tempfile.mkdtemp(prefix="refdesk-steps-"))
    try:
        path = Path(shutil.copyfile(book, folder / book.name))
        started = time.perf_counter()
        bench._write_refdesk(path)
        marks.append(("end", time.perf_counter()))
    finally:
        safety.checkpoint = original
        shutil.rmtree(folder)
    out: list[tuple[str, float]] = []
    last, when = "call", started
    for step, at in marks:
        label = f"{last} -> {step}"
        if step.startswith("part:") and last.startswith("part:") or step.startswith("part:") \
                and last == "backup:done":
            label = "zip: " + step[5:]
        out.append((label, at - when))
        last, when = step, at
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("book", nargs="?", type=Path,
                        default=ROOT / ".cache" / "bench" / "referrals-100k-v2.xlsx")
    parser.add_argument("--profile", action="store_true", help="also the planning's functions")
    args = parser.parse_args(argv)
    if not args.book.exists():
        parser.error(f"{args.book}: no such workbook (run scripts/bench.py once to build it)")
    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    timed = steps(args.book)
    if profiler:
        profiler.disable()
    total = sum(s for _, s in timed)
    small = sum(s for label, s in timed if label.startswith("zip: ") and s < 0.01)
    for label, seconds in timed:
        if not (label.startswith("zip: ") and seconds < 0.01):
            print(f"{label:<48} {seconds:7.3f} s {100 * seconds / total:5.1f}%")
    print(f"{'zip: the other parts':<48} {small:7.3f} s\n{'total':<48} {total:7.3f} s")
    if profiler:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(20)
        print(text.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
