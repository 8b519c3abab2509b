"""Regenerate the README's sheet and configuration tables from the declarations.

    python scripts/update_readme.py          rewrite README.md in place
    python scripts/update_readme.py --check  exit 1 if README.md is out of date
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from refdesk.docs import render_readme

README = Path(__file__).resolve().parent.parent / "README.md"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only report whether it is current")
    args = parser.parse_args()
    text = README.read_text(encoding="utf-8")
    fresh = render_readme(text)
    if args.check:
        if fresh != text:
            print("README.md is out of date: run python scripts/update_readme.py", file=sys.stderr)
            return 1
        return 0
    README.write_text(fresh, encoding="utf-8")
    print(f"updated {README}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
