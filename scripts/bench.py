"""refdesk's benchmark: speed and peak memory against the naive way, in one run.

Check: refdesk's read + check against a plain fastexcel read of the same file (target: at most
2x, and under 3 GiB), at 1,048,575 rows by default.

Stats: refdesk's read + `refdesk stats` (every table, the last 12 months by month) against a
plain fastexcel read of the same file (target: at most 2x), at 1,048,575 rows by default.

Todo and dry runs: `refdesk todo` and every job's `refdesk merge JOB --dry-run` (selection,
consent, the documents' data, the planned write-back; nothing rendered) on the workbooks of
scripts/bigbook.py (every sheet in the sample practice's proportions) at 100,000 and 1,048,575
referral rows, each in its own process against a plain fastexcel read of the same file (target:
at most 2x, peak under 3 GiB, and at most 1.5 times the rows' growth in time from 100,000 to
1,048,575 rows).

Writing: setting 100 cells (found by referral_id) and appending 100 rows in the 100,000-row
workbook, refdesk's safe write path (backup included) against openpyxl's load + save of the
same file (target: refdesk at least 30x faster; scripts/write_steps.py shows where a
write's time goes).

Merging: 1,000 thank-you letters from the sample workbook, refdesk's engine (the template
compiled once, only its tagged parts rendered per letter) against a DocxTemplate created,
rendered and saved per letter (the usual way), with the same document.xml for every letter
(target: refdesk at least 15x faster); beside it, the same letters from a Word mail-merge
letter (MERGEFIELDs, a date picture, an IF field) through refdesk's MERGEFIELD path, every
field filled (target: at least 10x faster than a DocxTemplate per letter too).

PDF: 50 of those letters converted by one LibreOffice process for the batch (refdesk's way)
against one LibreOffice process per letter (target: at least 5x faster).

Reading: refdesk's whole-book read against pandas.read_excel(engine="openpyxl"), on workbooks
of 10,000, 100,000 and 1,048,575 referral rows (each with 5,000 providers and 50,000 clients),
built once into a cache folder. Every measurement runs in a fresh process, so its peak memory is
its own.

Examples:
    python scripts/bench.py                        every section at its sizes (about an hour)
    python scripts/bench.py --sizes 10k,100k --check-sizes 100k --stats-sizes 100k \
        --todo-sizes 100k --dry-run-sizes 100k     the quick run (no 1M workbook)
    python scripts/bench.py --sizes 1m --naive-max 0 --json
    python scripts/bench.py --sizes none --check-sizes 100k   only the check section
    python scripts/bench.py --sizes none --check-sizes none --write-sizes none \
        --merge-letters 0 --pdf-letters 0                    only the stats section
    python scripts/bench.py --sizes none --check-sizes none --stats-sizes none \
        --write-sizes none --merge-letters 0 --pdf-letters 0  only the todo and dry-run sections
    python scripts/bench.py ... --todo-sizes none --dry-run-sizes 100k --jobs release-form
                                                   one job's dry run at 100k
    python scripts/bench.py --sizes none --check-sizes none --todo-sizes none \
        --dry-run-sizes none                       the write, merge and PDF sections
    python scripts/bench.py --sizes none --check-sizes none --write-sizes none --merge-letters 0
                                                   only the PDF section
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import random
import resource
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_048_575}
PROVIDERS, CLIENTS = 5_000, 50_000
TARGET_SIZE, TARGET_RATIO = 100_000, 8.0
SEED = 1_048_575
#: Part of the cached files' names: bump it when the generated data changes.
DATA_VERSION = 2
START = dt.date(2024, 1, 1)


# --- building the workbooks -------------------------------------------------------------------

FIRST = ("Aaron Abigail Adele Alan Alice Amir Ana Andre Asha Ben Bianca Carla Carlos Chen "
         "Claire Dana David Diego Elena Eli Emma Farah Felix Grace Hana Hugo Ines Ivan Jade "
         "James Jonah Kai Kara Leah Leon Lina Luis Maya Mei Nadia Noah Omar Paula Priya Quinn "
         "Rafael Rosa Ruth Sam Sara Theo Uma Victor Wen Yara Zoe").split()
LAST = ("Abbott Adeyemi Alvarez Andersen Baker Banerjee Barros Bennett Brooks Campbell Castillo "
        "Chang Cohen Costa Dawson Delgado Dubois Ellis Esposito Farouk Fischer Fontaine Garcia "
        "Gupta Haddad Hansen Hayes Huang Ibarra Ito Jensen Joshi Kahn Kim Kowalski Larsen Lopez "
        "Mahler Marsh Mendez Moreau Nakamura Novak Obi Olsen Ortiz Park Patel Quist Reyes Rossi "
        "Sato Schmidt Silva Singh Sorensen Tan Torres Ueda Vargas Vogel Walsh Weber Wong Yamada "
        "Young Zhang Zimmer Rahman Okafor Lindqvist Marquez Whitfield Stein").split()
PRACTICE_WORDS = ("Cedar Willamette Hawthorne Alder Juniper Summit River Oak Maple Harbor Pine "
                  "Sunrise Lakeside Valley Bridge Orchard").split()
PRACTICE_KINDS = ("Family Medicine", "Neurology", "Chiropractic", "Physical Therapy",
                  "Dental", "Pain Clinic", "Women's Health", "Counseling")


def _providers(rng: random.Random) -> Iterator[dict[str, Any]]:
    """Unique realistic names; a few providers to a practice, sharing its phone."""
    from refdesk.schema import DELIVERY, SPECIALTIES, STAGES

    names = rng.sample([f"{f} {m}. {last}" for f in FIRST for m in "ABCDEFGHJKLMNPRSTW"
                        for last in LAST], PROVIDERS)
    for i, name in enumerate(names, start=1):
        practice = i // 7
        words = PRACTICE_WORDS[practice % len(PRACTICE_WORDS)]
        kind = PRACTICE_KINDS[practice // len(PRACTICE_WORDS) % len(PRACTICE_KINDS)]
        yield {"provider_id": f"P{i:05d}", "name": name, "credentials": "MD",
               "specialty": rng.choice(SPECIALTIES),
               "practice": f"{words} {kind} {practice // 128 + 1}",
               "phone": f"({503 + practice % 3 * 100}) {200 + practice // 10 % 800:03d}-"
                        f"{practice % 9 * 1000 + 1000 + i % 7:04d}",
               "state": "OR", "zip": "97202",
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
               "referred_by_client": f"C{rng.randrange(1, i):06d}"
               if source == "client" and i > 1 else None,
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
    path = cache / f"referrals-{label}-v{DATA_VERSION}.xlsx"
    if rebuild or not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        build(SIZES[label], path)
    return path


# --- measuring, each in its own process ------------------------------------------------------

def _read_refdesk(path: Path) -> int:
    from refdesk.sources.excel import ExcelSource

    return len(ExcelSource(path).read()["Referrals"])


def _read_naive(path: Path) -> int:
    import pandas as pd

    return len(pd.read_excel(path, sheet_name=None, engine="openpyxl")["Referrals"])


def _read_fastexcel(path: Path) -> int:
    """The floor: every sheet parsed by fastexcel into Arrow, nothing else."""
    import fastexcel

    reader = fastexcel.read_excel(path)
    tables = {name: reader.load_sheet(name).to_arrow() for name in reader.sheet_names}
    return tables["Referrals"].num_rows


def _read_and_check(path: Path) -> int:
    from refdesk.check import Context, read_and_check
    from refdesk.sources.excel import ExcelSource

    book, _problems = read_and_check(ExcelSource(path), Context(today=dt.date(2026, 11, 23)))
    return len(book["Referrals"])


def _read_and_stats(path: Path) -> int:
    from refdesk.sources.excel import ExcelSource
    from refdesk.stats import compute

    stats = compute(ExcelSource(path).read(), end=dt.date(2026, 11, 23), by="month")
    return stats.headline["referrals"]


#: The day the todo and dry-run sections plan for: the day scripts/bigbook.py draws around.
PLAN_DAY = dt.date(2026, 11, 23)
#: Every job the repository's config.toml ships, each a dry-run section.
SHIPPED_JOBS = tuple(tomllib.loads((ROOT / "config.toml").read_text(encoding="utf-8"))["jobs"])


def _read_and_todo(path: Path) -> int:
    """`refdesk todo --on 2026-11-23`: the read and every action, printing left out."""
    from refdesk.config import load_config
    from refdesk.sources.excel import ExcelSource
    from refdesk.todo import todo

    config = load_config(ROOT / "config.toml")
    return len(todo(ExcelSource(path).read(), config, PLAN_DAY, today=PLAN_DAY))


def _dry_run(job: str, path: Path) -> int:
    """`refdesk merge JOB --dry-run`: the read, the selection, consent, every document's data
    and the planned write-back, as the command does it; nothing rendered or written."""
    import tempfile

    from refdesk.config import load_config
    from refdesk.merge.run import merge
    from refdesk.sources.excel import ExcelSource

    config = load_config(ROOT / "config.toml")
    with tempfile.TemporaryDirectory(prefix="refdesk-bench-") as out:
        result = merge(config, job, ExcelSource(path), today=PLAN_DAY, out=Path(out),
                       dry_run=True)
    return len(result.documents)


WRITE_CELLS = WRITE_ROWS = 100


def _write_plan(rows: int) -> tuple[list[str], list[dict[str, Any]]]:
    """Ids spread over the sheet whose thank_you_sent is set, and the rows appended."""
    step = rows // WRITE_CELLS
    ids = [f"R{i:07d}" for i in range(step, rows + 1, step)][:WRITE_CELLS]
    new = [{"referral_id": f"N{i:07d}", "received_on": dt.date(2026, 11, 23),
            "provider_id": "P00001", "client_id": "C000001", "diagnosis": "G43.909",
            "services": "deep tissue", "per_week": 1, "weeks": 6, "visits_authorized": 6,
            "status": "new", "notes": "=not a formula & <not markup>"}
           for i in range(1, WRITE_ROWS + 1)]
    return ids, new


def _write_refdesk(path: Path) -> int:
    from refdesk.xlsxpatch import AppendRows, SetField, patch_workbook

    ids, new = _write_plan(SIZES["100k"])
    when = dt.date(2026, 11, 23)
    changes = [SetField("Referrals", "referral_id", i, "thank_you_sent", when) for i in ids]
    result = patch_workbook(path, [*changes, AppendRows("Referrals", new)])
    return result.cells


def _write_openpyxl(path: Path) -> int:
    import openpyxl

    ids, new = _write_plan(SIZES["100k"])
    wb = openpyxl.load_workbook(path)
    ws = wb["Referrals"]
    header = [c.value for c in ws[1]]
    id_col, col = header.index("referral_id") + 1, header.index("thank_you_sent") + 1
    wanted = set(ids)
    rows = {row[0].value: row[0].row for row in ws.iter_rows(min_row=2, max_col=id_col)
            if row[0].value in wanted}
    for i in ids:
        ws.cell(rows[i], col).value = dt.date(2026, 11, 23)
    for record in new:
        ws.append([record.get(h) for h in header])
    wb.save(path)
    return len(ids) + sum(len([v for v in r.values() if v is not None]) for r in new)


READERS: dict[str, Callable[[Path], int]] = {"refdesk": _read_refdesk,
                                             "pandas+openpyxl": _read_naive,
                                             "fastexcel": _read_fastexcel,
                                             "refdesk read+check": _read_and_check,
                                             "refdesk read+stats": _read_and_stats,
                                             "refdesk write": _write_refdesk,
                                             "openpyxl load+save": _write_openpyxl,
                                             "refdesk read+todo": _read_and_todo}
READERS.update({f"dry-run {job}": functools.partial(_dry_run, job) for job in SHIPPED_JOBS})
#: These change the file: the child works on a copy, made before the clock starts.
WRITERS = {"refdesk write", "openpyxl load+save"}
CHECK_TARGET_RATIO, CHECK_TARGET_MIB = 2.0, 3 * 1024
WRITE_TARGET_RATIO = 30.0
STATS_TARGET_RATIO = 2.0


def _child(reader: str, path: Path) -> None:
    """Runs in the child: time one read, report seconds and this process's peak memory."""
    import shutil
    import tempfile

    workdir = None
    if reader in WRITERS:
        workdir = Path(tempfile.mkdtemp(prefix="refdesk-bench-"))
        path = Path(shutil.copyfile(path, workdir / path.name))
    started, cpu = time.perf_counter(), time.process_time()
    rows = READERS[reader](path)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    if workdir is not None:
        shutil.rmtree(workdir)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "cpu": cpu, "peak_mib": peak_kib / 1024,
                      "rows": rows}))


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


#: The sections timed against a plain fastexcel read of the same file: their reader, the
#: ratio they must stay under, and the peak memory they must stay under (None: no target).
AGAINST_FASTEXCEL = {"check": ("refdesk read+check", CHECK_TARGET_RATIO, CHECK_TARGET_MIB),
                     "stats": ("refdesk read+stats", STATS_TARGET_RATIO, None)}


def run_against_fastexcel(section: str, sizes: list[str], args: argparse.Namespace
                          ) -> tuple[list[dict[str, Any]], bool]:
    """refdesk's read + check (or + stats) against a fastexcel read, in the same run."""
    reader, target_ratio, target_mib = AGAINST_FASTEXCEL[section]
    results: list[dict[str, Any]] = []
    ok = True
    for label in sizes:
        path = workbook(args.cache, label, args.rebuild)
        print(f"{section}: {path.name} ...", file=sys.stderr)
        floor = best_of("fastexcel", path, args.repeat)
        ours = best_of(reader, path, args.repeat)
        ratio = ours["seconds"] / floor["seconds"]
        passed = ratio <= target_ratio and (target_mib is None
                                            or ours["peak_mib"] < target_mib)
        ok = ok and passed
        results.append({"section": section, "rows": SIZES[label], "fastexcel": floor,
                        "refdesk": ours, "ratio": ratio, "pass": passed})
    return results, ok


def print_against_fastexcel(results: list[dict[str, Any]]) -> None:
    print(f"\n{'rows':>10}  {'reader':<19} {'seconds':>8} {'peak MiB':>9} {'x fastexcel':>11}")
    for r in results:
        reader, target_ratio, target_mib = AGAINST_FASTEXCEL[r["section"]]
        print(f"{r['rows']:>10,}  {'fastexcel (floor)':<19} {r['fastexcel']['seconds']:>8.2f} "
              f"{r['fastexcel']['peak_mib']:>9.0f}")
        print(f"{'':>10}  {reader[8:]:<19} {r['refdesk']['seconds']:>8.2f} "
              f"{r['refdesk']['peak_mib']:>9.0f} {r['ratio']:>10.2f}x")
        memory = (f", peak {r['refdesk']['peak_mib']:.0f} MiB (target < {target_mib} MiB)"
                  if target_mib else "")
        print(f"{r['section']} {r['rows']:,}: {reader[8:]} {r['ratio']:.2f}x a fastexcel read "
              f"(target <= {target_ratio:.0f}x){memory}: {'PASS' if r['pass'] else 'FAIL'}")


#: The todo and dry-run sections' workbooks (scripts/bigbook.py): bump when it changes.
BIGBOOK_VERSION = 1
#: Targets of the todo and dry-run sections: the ratio to a fastexcel read, the peak memory,
#: and how much more time 1,048,575 rows may take than 100,000 (1.5 times the rows' growth).
COMMAND_TARGET_RATIO, COMMAND_TARGET_MIB, GROWTH_SLACK = 2.0, 3 * 1024, 1.5


def bigbook(cache: Path, label: str, rebuild: bool) -> Path:
    """The workbook of scripts/bigbook.py at this size, built once into the cache."""
    from bigbook import build

    path = cache / f"bigbook-{label}-v{BIGBOOK_VERSION}.xlsx"
    if rebuild or not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        print(f"building {path.name} ({SIZES[label]:,} referral rows, every sheet; minutes "
              "at 1M) ...", file=sys.stderr)
        started = time.perf_counter()
        path.unlink(missing_ok=True)
        build(SIZES[label], path)
        print(f"  built in {time.perf_counter() - started:.0f} s, "
              f"{path.stat().st_size / 2**20:.1f} MiB", file=sys.stderr)
    return path


def measure_within(reader: str, path: Path, timeout: float) -> dict[str, Any]:
    """Like `measure`, but a run that fails or outlasts `timeout` is a result, not the end of
    the benchmark: the other sections still run."""
    try:
        done = subprocess.run([sys.executable, __file__, "--child", reader, str(path)],
                              capture_output=True, text=True, check=False, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"over {timeout:.0f} s, stopped"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        return {"error": f"failed: {last[:120]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def command_sections(args: argparse.Namespace) -> list[str]:
    return (["todo"] if args.todo_sizes else []) + \
        ([f"dry-run {job}" for job in args.jobs] if args.dry_run_sizes else [])


def run_command_section(args: argparse.Namespace) -> tuple[list[dict[str, Any]], bool]:
    """`todo` and every job's --dry-run against a fastexcel read of the same workbook, each
    in its own process, at every size; then each one's growth from the smallest size to the
    largest against the growth of the rows."""
    results: list[dict[str, Any]] = []
    ok = True
    labels = sorted(set(args.todo_sizes) | set(args.dry_run_sizes), key=lambda x: SIZES[x])
    for label in labels:
        path = bigbook(args.cache, label, args.rebuild)
        floor = best_of("fastexcel", path, args.repeat)
        sections = (["todo"] if label in args.todo_sizes else []) + \
            ([f"dry-run {job}" for job in args.jobs] if label in args.dry_run_sizes else [])
        for section in sections:
            print(f"{section}: {path.name} ...", file=sys.stderr)
            reader = "refdesk read+todo" if section == "todo" else section
            runs = [measure_within(reader, path, args.timeout) for _ in range(args.repeat)]
            finished = [r for r in runs if "error" not in r]
            ours = min(finished, key=lambda r: r["seconds"]) if finished else runs[0]
            ratio = ours["seconds"] / floor["seconds"] if "seconds" in ours else None
            passed = ratio is not None and ratio <= COMMAND_TARGET_RATIO and \
                ours["peak_mib"] < COMMAND_TARGET_MIB
            ok = ok and passed
            results.append({"section": section, "rows": SIZES[label], "fastexcel": floor,
                            "refdesk": ours, "ratio": ratio, "pass": passed})
    if len(labels) > 1:
        small, large = SIZES[labels[0]], SIZES[labels[-1]]
        limit = GROWTH_SLACK * large / small
        for section in dict.fromkeys(r["section"] for r in results):
            times = {r["rows"]: r["refdesk"].get("seconds") for r in results
                     if r["section"] == section}
            if times.get(small) and times.get(large):
                growth = times[large] / times[small]
                passed = growth <= limit
                ok = ok and passed
                results.append({"section": section, "growth": growth, "limit": limit,
                                "from": small, "to": large, "pass": passed})
    return results, ok


def print_command_report(results: list[dict[str, Any]]) -> None:
    # CPU seconds beside the clock's: on a busy machine they say more about the work done.
    print(f"\n{'rows':>10}  {'command':<27} {'seconds':>8} {'cpu s':>7} {'peak MiB':>9} "
          f"{'x fastexcel':>11} {'cpu x':>6}")
    shown: set[int] = set()
    for r in results:
        if "growth" in r:
            continue
        if r["rows"] not in shown:
            shown.add(r["rows"])
            print(f"{r['rows']:>10,}  {'fastexcel (floor)':<27} "
                  f"{r['fastexcel']['seconds']:>8.2f} {r['fastexcel']['cpu']:>7.2f} "
                  f"{r['fastexcel']['peak_mib']:>9.0f}")
        ours = r["refdesk"]
        if "error" in ours:
            print(f"{'':>10}  {r['section']:<27} {ours['error']}")
            continue
        print(f"{'':>10}  {r['section']:<27} {ours['seconds']:>8.2f} {ours['cpu']:>7.2f} "
              f"{ours['peak_mib']:>9.0f} {r['ratio']:>10.2f}x "
              f"{ours['cpu'] / r['fastexcel']['cpu']:>5.2f}x  {'PASS' if r['pass'] else 'FAIL'}")
    print(f"targets: at most {COMMAND_TARGET_RATIO:.0f}x a fastexcel read, peak under "
          f"{COMMAND_TARGET_MIB} MiB")
    for r in results:
        if "growth" in r:
            print(f"{r['section']}: {r['growth']:.1f}x the time from {r['from']:,} to "
                  f"{r['to']:,} rows (target <= {r['limit']:.1f}x, {GROWTH_SLACK}x the rows' "
                  f"growth): {'PASS' if r['pass'] else 'FAIL'}")


def run_write_section(args: argparse.Namespace) -> tuple[list[dict[str, Any]], bool]:
    results: list[dict[str, Any]] = []
    ok = True
    for label in args.write_sizes:
        path = workbook(args.cache, label, args.rebuild)
        print(f"writing {WRITE_CELLS} cells and {WRITE_ROWS} rows into {path.name} ...",
              file=sys.stderr)
        ours = best_of("refdesk write", path, args.repeat)
        naive = measure("openpyxl load+save", path)
        ratio = naive["seconds"] / ours["seconds"]
        passed = ratio >= WRITE_TARGET_RATIO
        ok = ok and passed
        results.append({"section": "write", "rows": SIZES[label], "refdesk": ours,
                        "naive": naive, "ratio": ratio, "pass": passed})
    return results, ok


def print_write_report(results: list[dict[str, Any]]) -> None:
    print(f"\n{'rows':>10}  {'writer':<19} {'seconds':>8} {'peak MiB':>9} {'ratio':>7}")
    for r in results:
        print(f"{r['rows']:>10,}  {'refdesk write':<19} {r['refdesk']['seconds']:>8.2f} "
              f"{r['refdesk']['peak_mib']:>9.0f}")
        print(f"{'':>10}  {'openpyxl load+save':<19} {r['naive']['seconds']:>8.2f} "
              f"{r['naive']['peak_mib']:>9.0f} {r['ratio']:>6.1f}x")
        print(f"write {r['rows']:,}: {WRITE_CELLS} cells + {WRITE_ROWS} rows, refdesk "
              f"{r['ratio']:.1f}x faster than openpyxl load+save (target >= "
              f"{WRITE_TARGET_RATIO:.0f}x): {'PASS' if r['pass'] else 'FAIL'}")


MERGE_LETTERS, MERGE_TARGET_RATIO = 1_000, 15.0


def _merge_contexts(count: int) -> tuple[Path, list[dict[str, Any]]]:
    """The thank-you template and `count` letters' data from the sample workbook (its
    thank-you letters, repeated with the record's number changed)."""
    from refdesk.config import load_config
    from refdesk.merge.data import Data, context
    from refdesk.merge.run import find_job, select
    from refdesk.sources.excel import ExcelSource

    config = load_config(ROOT / "config.toml")
    job = find_job(config, "thank-you")
    data = Data.of(ExcelSource(config.excel).read(), dt.date(2026, 11, 23))
    chosen, _skipped, _done, _n = select(data, job, force=True)
    contexts = []
    for i in range(count):
        ctx = context(data, job, chosen[i % len(chosen)], config.practice)
        ctx["today"] = f"{ctx['today']} ({i + 1})"  # every letter its own
        contexts.append(ctx)
    return config.templates / job.templates[0], contexts


def run_merge_section(args: argparse.Namespace) -> tuple[list[dict[str, Any]], bool]:
    import io
    import tempfile
    import zipfile

    from docxtpl import DocxTemplate

    from refdesk.merge.engine import CompiledTemplate, refdesk_environment

    template, contexts = _merge_contexts(args.merge_letters)
    print(f"merging {len(contexts):,} thank-you letters ...", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="refdesk-bench-") as folder:
        ours_dir, naive_dir = Path(folder, "refdesk"), Path(folder, "docxtpl")
        ours_dir.mkdir()
        naive_dir.mkdir()
        started = time.perf_counter()
        engine = CompiledTemplate(template)
        for i, ctx in enumerate(contexts):
            (ours_dir / f"{i:05d}.docx").write_bytes(engine.render(ctx))
        ours = time.perf_counter() - started
        started = time.perf_counter()
        for i, ctx in enumerate(contexts):
            tpl = DocxTemplate(str(template))
            tpl.render(ctx, refdesk_environment())
            tpl.save(str(naive_dir / f"{i:05d}.docx"))
        naive = time.perf_counter() - started
        same = 0
        for i in range(len(contexts)):
            with zipfile.ZipFile(ours_dir / f"{i:05d}.docx") as a, \
                    zipfile.ZipFile(io.BytesIO((naive_dir / f"{i:05d}.docx").read_bytes())) as b:
                same += a.read("word/document.xml") == b.read("word/document.xml")
        word, word_seconds = _merge_word_letters(Path(folder), contexts)
    ratio = naive / ours
    word_ratio = naive / word_seconds
    passed = ratio >= MERGE_TARGET_RATIO and same == len(contexts) and \
        word_ratio >= MERGE_TARGET_RATIO and word == len(contexts)
    return [{"section": "merge", "letters": len(contexts), "refdesk_seconds": ours,
             "docxtpl_seconds": naive, "ratio": ratio, "identical": same,
             "mergefield_seconds": word_seconds, "mergefield_ratio": word_ratio,
             "mergefield_filled": word, "pass": passed}], passed


#: The Word mail-merge letter of the merge section: the thank-you letter's data in MERGEFIELDs
#: (complex fields, one with a date picture, one IF), as Word's Mailings tab makes them.
WORD_LETTER = [
    ["today \\@ \"d MMMM yyyy\""], ["salutation"], ["provider.practice"], ["provider.street"],
    ["provider.city_line"], "Dear {salutation},", "Thank you for referring {client.name} to "
    "{practice.name}. {IF}", "With thanks,", ["practice.signature"], ["practice.phone"],
]


def _word_field(code: str) -> str:
    return ('<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space='
            f'"preserve"> {code} </w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/>'
            '</w:r><w:r><w:rPr><w:noProof/></w:rPr><w:t>«field»</w:t></w:r><w:r><w:fldChar '
            'w:fldCharType="end"/></w:r>')


def _word_letter(path: Path) -> Path:
    """A Word mail-merge letter (python-docx's blank document with MERGEFIELDs in it)."""
    import io
    import re
    import zipfile

    import docx

    paragraphs = []
    for line in WORD_LETTER:
        if isinstance(line, list):
            paragraphs.append(f"<w:p>{_word_field('MERGEFIELD ' + line[0])}</w:p>")
            continue
        runs = ""
        for piece in re.split(r"(\{[^}]+\})", line):
            if piece == "{IF}":
                runs += ('<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText '
                         'xml:space="preserve"> IF </w:instrText></w:r>' +
                         _word_field("MERGEFIELD referral.visits_authorized") +
                         '<w:r><w:instrText xml:space="preserve"> &gt; "5" "We look forward '
                         'to the visits ahead." "" </w:instrText></w:r><w:r><w:fldChar '
                         'w:fldCharType="separate"/></w:r><w:r><w:t>x</w:t></w:r><w:r>'
                         '<w:fldChar w:fldCharType="end"/></w:r>')
            elif piece.startswith("{"):
                runs += _word_field("MERGEFIELD " + piece.strip("{}"))
            elif piece:
                runs += f'<w:r><w:t xml:space="preserve">{piece}</w:t></w:r>'
        paragraphs.append(f"<w:p>{runs}</w:p>")
    buffer = io.BytesIO()
    docx.Document().save(buffer)
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(path, "w") as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "word/document.xml":
                data = re.sub(rb"<w:body>.*?(<w:sectPr)", lambda m: b"<w:body>" +
                              "".join(paragraphs).encode() + m.group(1), data, flags=re.S)
            out.writestr(info, data)
    return path


def _merge_word_letters(folder: Path, contexts: list[dict[str, Any]]) -> tuple[int, float]:
    """The Word letter merged for every context by refdesk's MERGEFIELD path: how many came
    out with every field filled, and the seconds it took (compiling included)."""
    import io
    import zipfile

    from refdesk.config import load_config
    from refdesk.merge.data import shape
    from refdesk.merge.engine import CompiledTemplate
    from refdesk.merge.run import find_job

    config = load_config(ROOT / "config.toml")
    job = find_job(config, "thank-you")
    template = _word_letter(folder / "word-letter.docx")
    out = folder / "mergefield"
    out.mkdir()
    started = time.perf_counter()
    engine = CompiledTemplate(template)
    problems = engine.bind({"salutation": "provider.salutation"}, shape(job, config.practice))
    assert not problems, problems
    for i, ctx in enumerate(contexts):
        (out / f"{i:05d}.docx").write_bytes(engine.render(ctx))
    seconds = time.perf_counter() - started
    filled = 0
    for i, ctx in enumerate(contexts):
        with zipfile.ZipFile(io.BytesIO((out / f"{i:05d}.docx").read_bytes())) as zf:
            xml = zf.read("word/document.xml").decode("utf-8")
        filled += "«" not in xml and "MERGEFIELD" not in xml and \
            ctx["client"]["name"].replace("&", "&amp;") in xml
    return filled, seconds


PDF_LETTERS, PDF_TARGET_RATIO = 50, 5.0


def run_pdf_section(args: argparse.Namespace) -> tuple[list[dict[str, Any]], bool]:
    import tempfile

    from refdesk.merge.engine import CompiledTemplate
    from refdesk.office import convert

    template, contexts = _merge_contexts(args.pdf_letters)
    print(f"converting {len(contexts)} letters to PDF, as a batch and one by one ...",
          file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="refdesk-bench-") as folder:
        letters = Path(folder, "docx")
        letters.mkdir()
        engine = CompiledTemplate(template)
        files = []
        for i, ctx in enumerate(contexts):
            files.append(letters / f"letter-{i:03d}.docx")
            files[-1].write_bytes(engine.render(ctx))
        started = time.perf_counter()
        batch = convert(files, "pdf", Path(folder, "batch"))
        ours = time.perf_counter() - started
        started = time.perf_counter()
        single = [convert([f], "pdf", Path(folder, "single"))[0] for f in files]
        naive = time.perf_counter() - started
        made = sum(1 for a, b in zip(batch, single, strict=True)
                   if a.stat().st_size > 0 and b.stat().st_size > 0)
    ratio = naive / ours
    passed = ratio >= PDF_TARGET_RATIO and made == len(files)
    return [{"section": "pdf", "letters": len(files), "batch_seconds": ours,
             "per_letter_seconds": naive, "ratio": ratio, "pdfs": made, "pass": passed}], passed


def print_pdf_report(results: list[dict[str, Any]]) -> None:
    for r in results:
        print(f"\n{'letters':>10}  {'LibreOffice':<22} {'seconds':>8} {'ratio':>7}")
        print(f"{r['letters']:>10,}  {'one process, batch':<22} {r['batch_seconds']:>8.2f}")
        print(f"{'':>10}  {'a process per letter':<22} {r['per_letter_seconds']:>8.2f} "
              f"{r['ratio']:>6.1f}x")
        print(f"pdf {r['letters']} letters: one batch {r['ratio']:.1f}x faster than a process "
              f"per letter (target >= {PDF_TARGET_RATIO:.0f}x), {r['pdfs']} PDFs each: "
              f"{'PASS' if r['pass'] else 'FAIL'}")


def print_merge_report(results: list[dict[str, Any]]) -> None:
    for r in results:
        print(f"\n{'letters':>10}  {'merger':<22} {'seconds':>8} {'ratio':>7}")
        print(f"{r['letters']:>10,}  {'refdesk engine':<22} {r['refdesk_seconds']:>8.2f}")
        print(f"{'':>10}  {'docxtpl per letter':<22} {r['docxtpl_seconds']:>8.2f} "
              f"{r['ratio']:>6.1f}x")
        print(f"{'':>10}  {'Word merge letter':<22} {r['mergefield_seconds']:>8.2f} "
              f"{r['docxtpl_seconds'] / r['mergefield_seconds']:>6.1f}x")
        print(f"merge {r['letters']:,} thank-you letters: refdesk {r['ratio']:.1f}x faster "
              f"than a DocxTemplate per letter (target >= {MERGE_TARGET_RATIO:.0f}x), "
              f"document.xml identical for {r['identical']:,} of {r['letters']:,}; the same "
              f"letter made in Word's Mailings tab {r['mergefield_ratio']:.1f}x faster, every "
              f"field filled in {r['mergefield_filled']:,}: {'PASS' if r['pass'] else 'FAIL'}")


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
    parser.add_argument("--check-sizes", default="1m",
                        help="sizes for the read+check section, or none [default: 1m]")
    parser.add_argument("--stats-sizes", default="1m",
                        help="sizes for the read+stats section, or none [default: 1m]")
    parser.add_argument("--write-sizes", default="100k",
                        help="sizes for the write section, or none [default: 100k]")
    parser.add_argument("--todo-sizes", default="100k,1m",
                        help="sizes for the todo section, or none [default: 100k,1m]")
    parser.add_argument("--dry-run-sizes", default="100k,1m",
                        help="sizes for the jobs' --dry-run sections, or none "
                             "[default: 100k,1m]")
    parser.add_argument("--jobs", default=",".join(SHIPPED_JOBS),
                        help="the jobs of the dry-run sections [default: every job in "
                             "config.toml]")
    parser.add_argument("--timeout", type=float, default=1800,
                        help="seconds a todo or dry-run may take before it is stopped and "
                             "counted a failure [default: 1800]")
    parser.add_argument("--merge-letters", type=int, default=MERGE_LETTERS,
                        help="letters in the merge section, 0 to skip [default: 1000]")
    parser.add_argument("--pdf-letters", type=int, default=PDF_LETTERS,
                        help="letters in the PDF section, 0 to skip [default: 50]")
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
        jobs = [x.strip() for x in args.jobs.split(",") if x.strip()]
        unknown = [x for x in jobs if x not in SHIPPED_JOBS]
        if unknown:
            parser.error(f"unknown job {', '.join(unknown)}; use {', '.join(SHIPPED_JOBS)}")
        args.jobs = jobs
        for name in ("sizes", "check_sizes", "stats_sizes", "write_sizes", "todo_sizes",
                     "dry_run_sizes"):
            chosen = [x.strip().lower() for x in getattr(args, name).split(",") if x.strip()]
            chosen = [] if chosen == ["none"] else chosen
            unknown = [x for x in chosen if x not in SIZES]
            if unknown:
                parser.error(f"unknown size {', '.join(unknown)}; use {', '.join(SIZES)}")
            setattr(args, name, chosen)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.child:
        _child(args.child[0], Path(args.child[1]))
        return 0
    results, ok = run_read_section(args) if args.sizes else ([], True)
    checked, check_ok = run_against_fastexcel("check", args.check_sizes, args)
    counted, stats_ok = run_against_fastexcel("stats", args.stats_sizes, args)
    commands, commands_ok = run_command_section(args) if command_sections(args) else ([], True)
    written, write_ok = run_write_section(args) if args.write_sizes else ([], True)
    merged, merge_ok = run_merge_section(args) if args.merge_letters else ([], True)
    pdfs, pdf_ok = run_pdf_section(args) if args.pdf_letters else ([], True)
    if args.json:
        print(json.dumps(results + checked + counted + commands + written + merged + pdfs,
                         indent=2))
    else:
        if results:
            print_report(results)
        if checked:
            print_against_fastexcel(checked)
        if counted:
            print_against_fastexcel(counted)
        if commands:
            print_command_report(commands)
        if written:
            print_write_report(written)
        if merged:
            print_merge_report(merged)
        if pdfs:
            print_pdf_report(pdfs)
    return 0 if ok and check_ok and stats_ok and commands_ok and write_ok and merge_ok and \
        pdf_ok else 1


if __name__ == "__main__":
    sys.exit(main())
