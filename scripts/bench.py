"""refdesk's benchmark: speed and peak memory against the naive way, in one run.

Reading: refdesk's whole-book read against pandas.read_excel(engine="openpyxl"), on workbooks
of 10,000, 100,000 and 1,048,575 referral rows (each with 5,000 providers and 50,000 clients),
built once into a cache folder. Every measurement runs in a fresh process, so its peak memory is
its own.

Examples:
    python scripts/bench.py                        all sizes; openpyxl up to 100k rows
    python scripts/bench.py --sizes 10k,100k       the quick run
    python scripts/bench.py --sizes 1m --naive-max 0 --json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_048_575}
PROVIDERS, CLIENTS = 5_000, 50_000
TARGET_SIZE, TARGET_RATIO = 100_000, 8.0
SEED = 1_048_575
START = dt.date(2024, 1, 1)


# --- building the workbooks -------------------------------------------------------------------

def _providers(rng: random.Random) -> Iterator[dict[str, Any]]:
    from refdesk.schema import DELIVERY, SPECIALTIES, STAGES

    for i in range(1, PROVIDERS + 1):
        yield {"provider_id": f"P{i:05d}", "name": f"Provider {i}", "credentials": "MD",
               "specialty": rng.choice(SPECIALTIES), "practice": f"Clinic {i % 700}",
               "phone": f"(503) 555-{i % 10000:04d}", "state": "OR", "zip": "97202",
               "stage": rng.choice(STAGES), "delivery": rng.choice(DELIVERY),
               "next_follow_up": START + dt.timedelta(days=rng.randrange(900))}


def _clients(rng: random.Random) -> Iterator[dict[str, Any]]:
    from refdesk.schema import SOURCES

    for i in range(1, CLIENTS + 1):
        source = rng.choice(SOURCES)
        yield {"client_id": f"C{i:06d}", "first_name": f"First{i}", "last_name": f"Last{i}",
               "dob": dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(20000)),
               "phone": f"(971) 555-{i % 10000:04d}", "source": source,
               "referred_by_provider": f"P{rng.randrange(1, PROVIDERS + 1):05d}"
               if source == "doctor" else None,
               "first_visit": START + dt.timedelta(days=rng.randrange(900))}


CODES = ("G43.909", "G43.709", "G44.209", "M54.2", "M62.830", "S13.4XXA", "M79.18", "R51.9")
SERVICES = ("deep tissue", "myofascial release", "trigger point therapy", "Swedish massage")


def _referrals(rng: random.Random, n: int) -> Iterator[dict[str, Any]]:
    from refdesk.schema import REFERRAL_STATUS

    for i in range(1, n + 1):
        received = START + dt.timedelta(days=rng.randrange(700))
        first = received + dt.timedelta(days=rng.randrange(1, 21))
        per_week, weeks = rng.choice((1, 2)), rng.choice((4, 6, 8))
        yield {"referral_id": f"R{i:07d}", "received_on": received,
               "provider_id": f"P{rng.randrange(1, PROVIDERS + 1):05d}",
               "client_id": f"C{rng.randrange(1, CLIENTS + 1):06d}",
               "diagnosis": "; ".join(rng.sample(CODES, rng.choice((1, 2)))),
               "services": rng.choice(SERVICES), "per_week": per_week, "weeks": weeks,
               "visits_authorized": per_week * weeks, "status": rng.choice(REFERRAL_STATUS),
               "first_visit": first, "thank_you_sent": first + dt.timedelta(days=3),
               "notes": "prefers mornings" if i % 7 == 0 else None}


def build(rows: int, path: Path) -> None:
    from refdesk.newbook import write_workbook

    rng = random.Random(SEED + rows)
    print(f"building {path.name} ({rows:,} referral rows; minutes at 1M) ...", file=sys.stderr)
    started = time.perf_counter()
    tmp = path.with_name(f".building-{path.name}")
    tmp.unlink(missing_ok=True)
    write_workbook(tmp, {"Providers": _providers(rng), "Clients": _clients(rng),
                         "Referrals": _referrals(rng, rows)},
                   counts={"Providers": PROVIDERS, "Clients": CLIENTS, "Referrals": rows},
                   constant_memory=True)
    tmp.replace(path)
    print(f"  built in {time.perf_counter() - started:.0f} s, "
          f"{path.stat().st_size / 2**20:.1f} MiB", file=sys.stderr)


def workbook(cache: Path, label: str, rebuild: bool) -> Path:
    path = cache / f"referrals-{label}.xlsx"
    if rebuild or not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        build(SIZES[label], path)
    return path


# --- measuring, each in its own process ------------------------------------------------------

def _read_refdesk(path: Path) -> int:
    from refdesk.excel import ExcelSource

    return len(ExcelSource(path).read()["Referrals"])


def _read_naive(path: Path) -> int:
    import pandas as pd

    return len(pd.read_excel(path, sheet_name=None, engine="openpyxl")["Referrals"])


READERS: dict[str, Callable[[Path], int]] = {"refdesk": _read_refdesk,
                                             "pandas+openpyxl": _read_naive}


def _child(reader: str, path: Path) -> None:
    """Runs in the child: time one read, report seconds and this process's peak memory."""
    started = time.perf_counter()
    rows = READERS[reader](path)
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "peak_mib": peak_kib / 1024, "rows": rows}))


def measure(reader: str, path: Path) -> dict[str, float]:
    done = subprocess.run([sys.executable, __file__, "--child", reader, str(path)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{reader} failed on {path.name}:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def best_of(reader: str, path: Path, repeat: int) -> dict[str, float]:
    runs = [measure(reader, path) for _ in range(repeat)]
    return min(runs, key=lambda r: r["seconds"])


# --- the report -------------------------------------------------------------------------------

def run_read_section(args: argparse.Namespace) -> tuple[list[dict[str, Any]], bool]:
    results: list[dict[str, Any]] = []
    verdict_ok = True
    for label in args.sizes:
        path = workbook(args.cache, label, args.rebuild)
        rows = SIZES[label]
        print(f"reading {path.name} ...", file=sys.stderr)
        ours = best_of("refdesk", path, args.repeat)
        naive = measure("pandas+openpyxl", path) if rows <= args.naive_max else None
        ratio = naive["seconds"] / ours["seconds"] if naive else None
        results.append({"section": "read", "rows": rows, "refdesk": ours, "naive": naive,
                        "ratio": ratio})
        if rows == TARGET_SIZE and ratio is not None:
            verdict_ok = ratio >= TARGET_RATIO
    return results, verdict_ok


def print_report(results: list[dict[str, Any]]) -> None:
    print(f"{'rows':>10}  {'reader':<16} {'seconds':>8} {'peak MiB':>9} {'ratio':>7}")
    for r in results:
        ours, naive = r["refdesk"], r["naive"]
        print(f"{r['rows']:>10,}  {'refdesk':<16} {ours['seconds']:>8.2f} "
              f"{ours['peak_mib']:>9.0f}")
        if naive:
            print(f"{'':>10}  {'pandas+openpyxl':<16} {naive['seconds']:>8.2f} "
                  f"{naive['peak_mib']:>9.0f} {r['ratio']:>6.1f}x")
        else:
            print(f"{'':>10}  {'pandas+openpyxl':<16} {'skipped (--naive-max)':>26}")
    for r in results:
        if r["rows"] == TARGET_SIZE and r["ratio"] is not None:
            ok = "PASS" if r["ratio"] >= TARGET_RATIO else "FAIL"
            print(f"read 100k: refdesk {r['ratio']:.1f}x faster than pandas+openpyxl "
                  f"(target >= {TARGET_RATIO:.0f}x): {ok}")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10k,100k,1m",
                        help="comma-separated sizes among 10k, 100k, 1m [default: all]")
    parser.add_argument("--naive-max", type=int, default=TARGET_SIZE,
                        help="skip pandas+openpyxl above this many rows [default: 100000]")
    parser.add_argument("--repeat", type=int, default=3, help="refdesk reads per size, best "
                        "kept [default: 3]")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached workbooks")
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache" / "bench",
                        help="folder of the built workbooks [default: .cache/bench]")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--child", nargs=2, metavar=("READER", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.child:
        args.sizes = [s.strip().lower() for s in args.sizes.split(",") if s.strip()]
        unknown = [s for s in args.sizes if s not in SIZES]
        if unknown:
            parser.error(f"unknown size {', '.join(unknown)}; use {', '.join(SIZES)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.child:
        _child(args.child[0], Path(args.child[1]))
        return 0
    results, ok = run_read_section(args)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print_report(results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
