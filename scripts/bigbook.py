"""A large referral workbook in the sample practice's proportions, for timing refdesk at size.

Per 250 referrals the sample workbook has 300 clients, 235 releases, 2,483 visits, 172
contacts, 32 sent and 17 letters; those sheets grow with the referrals here, each capped at
Excel's 1,048,575 data rows (at a million referrals the clients and visits reach the cap, so
they are fewer than the proportion asks). Providers (40) and testimonials (15) stay as in the
sample. The values are valid for the schema and chosen so every shipped job selects real
records on 2026-11-23: thank-you letters owed, progress reports owed with new notes, last
month's visits to bill, clients whose provider's release expired or is missing, sent clients
whose provider was not told, client cards owed, prospects for the intro packet.

The same arguments always give the same file (a seeded generator, fixed creation date).

    python scripts/bigbook.py 100000 /tmp/big.xlsx
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: Excel's last row less the header.
EXCEL_ROWS = 1_048_575
#: The sample's rows per 250 referrals.
PER_250 = {"Clients": 300, "Releases": 235, "Visits": 2_483, "Contacts": 172, "Sent": 32,
           "Letters": 17}
PROVIDERS, TESTIMONIALS = 40, 15
#: The day the data is drawn around: referrals arrive over the two years before it.
TODAY = dt.date(2026, 11, 23)
SPAN_DAYS = 730
SEED = 20

CODES = ("G43.909", "G43.709", "G44.209", "G44.229", "M54.2", "M62.830", "S13.4XXA", "M79.18",
         "M26.609", "M54.50")
SERVICES = ("deep tissue", "myofascial release", "trigger point therapy", "Swedish massage",
            "neuromuscular therapy; trigger point therapy", "craniosacral therapy")
MEASURES = (("headache days per week", 1.0, 5.0), ("Neck Disability Index %", 10.0, 40.0),
            ("pain 0-10", 2.0, 7.0))
FIRST = ("Ana Ben Carla Dana Eli Farah Grace Hugo Ines Jade Kai Leah Maya Noah Omar Paula "
         "Quinn Rosa Sam Theo Uma Victor Wen Yara Zoe").split()
LAST = ("Abbott Baker Chang Dubois Ellis Fischer Garcia Hansen Ito Jensen Kim Lopez Marsh "
        "Novak Olsen Park Quist Reyes Silva Tan Ueda Vogel Walsh Young Zhang").split()
STREETS = ("SE Division St", "NE Alberta St", "N Williams Ave", "SW Taylor St", "NW 23rd Ave",
           "SE Hawthorne Blvd", "NE Broadway", "SE Belmont St")
ZIPS = ("97202", "97211", "97214", "97227", "97210", "97205")
CPT = (("97124", 4, 60, 120.0), ("97140", 3, 45, 95.0), ("97112", 2, 30, 70.0))
PAYMENTS = ("cash", "check", "card", "insurance", "HSA/FSA")


def counts(referrals: int) -> dict[str, int]:
    """Rows per sheet for `referrals` referral rows, each capped at Excel's limit."""
    if not 1 <= referrals <= EXCEL_ROWS:
        raise ValueError(f"referrals must be 1 to {EXCEL_ROWS:,}")
    rows = {"Providers": PROVIDERS, "Referrals": referrals, "Testimonials": TESTIMONIALS}
    for name, per in PER_250.items():
        rows[name] = max(1, min(EXCEL_ROWS, round(referrals * per / 250)))
    return rows


def _address(rng: random.Random, i: int) -> dict[str, Any]:
    return {"street": f"{100 + i % 9800} {rng.choice(STREETS)}", "city": "Portland",
            "state": "OR", "zip": rng.choice(ZIPS)}


def _providers(rng: random.Random) -> Iterator[dict[str, Any]]:
    """Mostly referring providers who want progress reports; a few prospects."""
    for i in range(1, PROVIDERS + 1):
        stage = ("prospect" if i % 10 == 0 else "contacted" if i % 10 == 9
                 else "dormant" if i % 10 == 8 else "referring")
        yield {"provider_id": f"P{i:03d}",
               "name": f"{FIRST[i % 25]} {LAST[(i * 7 + i // 25) % 25]}",
               "credentials": ("MD", "DO", "DC", "PT")[i % 4],
               "specialty": ("primary care", "neurology", "chiropractic",
                             "physical therapy")[i % 4],
               "practice": f"{LAST[i % 25]} Clinic", "phone": f"(503) 555-{i:04d}",
               "fax": f"(503) 555-{i + 5000:04d}", "email": f"office{i}@clinic.example",
               **_address(rng, i), "stage": stage, "delivery": ("mail", "email", "fax")[i % 3],
               "wants": "progress reports; SOAP notes" if i % 4 else "brochures",
               "accepting_patients": "yes", "refers_out": "often",
               "how_we_know": "client's doctor",
               "next_follow_up": TODAY + dt.timedelta(days=i)}


class _Plan:
    """The referrals' dates, drawn once: every other sheet follows them."""

    def __init__(self, rng: random.Random, referrals: int) -> None:
        self.n = referrals
        # Received dates rise with the id, so the newest referrals are the last rows.
        self.received = [TODAY - dt.timedelta(days=SPAN_DAYS * (referrals - i) // referrals
                                              + rng.randrange(3))
                         for i in range(referrals)]
        self.first = [min(r + dt.timedelta(days=rng.randrange(2, 12)), TODAY)
                      for r in self.received]
        self.provider = [f"P{1 + rng.randrange(PROVIDERS - 3):03d}" for _ in range(referrals)]


def _status(first: dt.date, i: int) -> str:
    if i % 31 == 0:
        return "declined"
    if first > TODAY:
        return "scheduled"
    return "in care" if (TODAY - first).days < 90 else "completed"


def _referrals(rng: random.Random, plan: _Plan, clients: int) -> Iterator[dict[str, Any]]:
    for i in range(plan.n):
        first = plan.first[i]
        status = _status(first, i)
        # enough visits authorized for the ten or so each referral has
        per_week, weeks = 2, rng.choice((6, 8, 10))
        measure, goal, _start = MEASURES[i % len(MEASURES)]
        recent = (TODAY - first).days <= 30
        thanked = (None if status == "declined" or (recent and i % 2)
                   else min(first + dt.timedelta(days=3), TODAY))
        reported = (first + dt.timedelta(days=21) if status == "in care" and i % 3 == 0
                    and first + dt.timedelta(days=21) < TODAY else None)
        yield {"referral_id": f"R{i + 1:07d}", "received_on": plan.received[i],
               "provider_id": plan.provider[i], "client_id": f"C{i % clients + 1:07d}",
               "diagnosis": "; ".join(rng.sample(CODES, rng.choice((1, 2)))),
               "services": rng.choice(SERVICES), "per_week": per_week, "weeks": weeks,
               "visits_authorized": per_week * weeks, "measure": measure, "goal": goal,
               "status": status, "first_visit": None if status == "declined" else first,
               "thank_you_sent": thanked, "last_report_sent": reported,
               "notes": "prefers mornings" if i % 7 == 0 else None}


def _clients(rng: random.Random, plan: _Plan, clients: int) -> Iterator[dict[str, Any]]:
    """Client i came with referral i (source doctor); those past the referrals found the
    practice themselves or through another client."""
    for i in range(clients):
        referred = i < plan.n
        source = "doctor" if referred else ("client" if i % 2 else "other")
        first = plan.first[i] if referred else TODAY - dt.timedelta(days=rng.randrange(SPAN_DAYS))
        card = "yes" if referred and i % 3 == 0 else ("no" if i % 3 == 1 else None)
        yield {"client_id": f"C{i + 1:07d}", "first_name": FIRST[i % 25],
               "last_name": f"{LAST[i // 25 % 25]}{i}",
               "dob": dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(20000)),
               "phone": f"(971) 555-{i % 10000:04d}", "email": f"client{i + 1}@mail.example",
               **_address(rng, i), "source": source,
               "source_detail": None if referred else "Friend's recommendation",
               "referred_by_provider": plan.provider[i] if referred else None,
               "referred_by_client": f"C{i // 2 + 1:07d}" if source == "client" else None,
               "focus": "migraine" if i % 2 else "neck pain", "diagnosis": CODES[i % len(CODES)],
               "first_visit": first, "client_card": card,
               "card_sent": first + dt.timedelta(days=10)
               if card == "yes" and (TODAY - first).days > 30 else None}


def _covered(j: int, referrals: int, releases: int) -> int:
    """The referral release j covers: spread evenly, so about one referral in 16, old or
    new, has no release (the release-form job's clients)."""
    return j * referrals // releases


def _releases(plan: _Plan, releases: int, clients: int) -> Iterator[dict[str, Any]]:
    """Release j covers its referral's client and provider; one in 12 has expired."""
    for j in range(releases):
        i = _covered(j, plan.n, releases)
        signed = plan.received[i]
        expired = j % 12 == 5
        expires = (max(TODAY - dt.timedelta(days=10 + j % 50), signed + dt.timedelta(days=1))
                   if expired
                   else signed + dt.timedelta(days=730) if j % 2 else None)
        yield {"release_id": f"RL{j + 1:07d}", "client_id": f"C{i % clients + 1:07d}",
               "provider_id": plan.provider[i], "signed_on": signed, "expires_on": expires,
               "scope": "treatment plan; progress" if j % 5 else "treatment plan",
               "revoked_on": None}


def _visits(rng: random.Random, plan: _Plan, visits: int, clients: int
            ) -> Iterator[dict[str, Any]]:
    """About ten weekly visits per referral, in the referrals' order; the recent ones have SOAP
    notes (the progress reports' new notes) and last month's are billed by super-bill."""
    for k in range(visits):
        i = k * plan.n // visits
        nth = k - (i * visits + plan.n - 1) // plan.n
        date = plan.first[i] + dt.timedelta(days=7 * nth)
        if date > TODAY:
            date = max(plan.first[i], TODAY - dt.timedelta(days=k % 7))
        cpt, units, minutes, fee = CPT[k % len(CPT)]
        noted = (TODAY - date).days < 120
        before = rng.randrange(3, 9)
        yield {"visit_id": f"V{k + 1:07d}", "client_id": f"C{i % clients + 1:07d}",
               "date": date, "referral_id": f"R{i + 1:07d}", "cpt": cpt, "units": units,
               "minutes": minutes, "fee": fee, "paid": fee,
               "payment_method": PAYMENTS[k % len(PAYMENTS)],
               "pain_before": before if noted else None,
               "pain_after": max(0, before - 2) if noted else None,
               "measure_score": float(min(before, 7)) if noted else None,
               "subjective": "Fewer headaches this week." if noted else None,
               "objective": "Trigger points in upper trapezius, eased." if noted else None,
               "assessment": "Progressing toward the goal." if noted else None,
               "plan": "Continue weekly; home stretches." if noted else None}


def _contacts(rng: random.Random, contacts: int) -> Iterator[dict[str, Any]]:
    for k in range(contacts):
        date = TODAY - dt.timedelta(days=SPAN_DAYS * (contacts - k) // contacts)
        yield {"contact_id": f"CT{k + 1:07d}", "date": date,
               "provider_id": f"P{1 + k % PROVIDERS:03d}",
               "channel": ("phone", "email", "letter", "fax", "visit")[k % 5],
               "spoke_with": "Front desk", "summary": "Checked in about referrals.",
               "next_step": "Call back", "follow_up_on": date + dt.timedelta(days=14),
               "cost": 12.5 if k % 9 == 0 else None, "minutes": rng.choice((5, 10, 15))}


def _sent(plan: _Plan, sent: int, releases: int, clients: int) -> Iterator[dict[str, Any]]:
    """Clients sent on to a provider their release names; the last month's providers were
    not told yet."""
    for k in range(sent):
        i = _covered(k * releases // sent, plan.n, releases)
        date = plan.first[i] + dt.timedelta(days=14)
        date = min(date, TODAY)
        yield {"sent_id": f"S{k + 1:07d}", "sent_on": date, "client_id": f"C{i % clients + 1:07d}",
               "provider_id": plan.provider[i], "reason": "Low back pain",
               "provider_told_on": None if (TODAY - date).days < 30
               else date + dt.timedelta(days=2)}


def _testimonials() -> Iterator[dict[str, Any]]:
    for k in range(TESTIMONIALS):
        yield {"testimonial_id": f"T{k + 1:03d}", "client_id": f"C{k + 1:07d}",
               "quote": "My headaches eased within a few weeks.",
               "condition": ("migraine", "neck pain and whiplash", "jaw pain (TMJ)")[k % 3],
               "permission_on": dt.date(2026, 1, 1) + dt.timedelta(days=k)}


def _letters(plan: _Plan, letters: int, releases: int, clients: int
             ) -> Iterator[dict[str, Any]]:
    """The ledger: thank-you letters and progress reports already sent, spread over time,
    each under the release of its referral (release i covers referral i)."""
    for k in range(letters):
        j = k * releases // letters
        j += j % 12 == 5 and j + 1 < releases  # not under an expired release
        i = _covered(j, plan.n, releases)
        # releases whose scope lacks progress (every fifth) allow only the thank-you
        job = "thank-you" if k % 2 or j % 5 == 0 else "progress-report"
        when = dt.datetime.combine(min(plan.first[i] + dt.timedelta(days=3), TODAY),
                                   dt.time(9 + k % 8, k % 60))
        yield {"letter_id": f"L{k + 1:07d}", "when": when, "job": job,
               "record": f"R{i + 1:07d}", "template": f"{job}.docx",
               "provider_id": plan.provider[i], "client_id": f"C{i % clients + 1:07d}",
               "release_id": f"RL{j + 1:07d}", "delivery": "email",
               "file": f"letters/{job}/R{i + 1:07d}.docx",
               "status": "emailed"}


def build(referrals: int, path: Path) -> None:
    """Write a workbook with `referrals` referral rows and every other sheet in proportion.

    The file is written beside `path` and moved into place when complete.
    """
    from refdesk.newbook import write_workbook

    rows = counts(referrals)
    rng = random.Random(SEED + referrals)
    plan = _Plan(rng, referrals)
    clients = rows["Clients"]
    tmp = path.with_name(f".building-{path.name}")
    tmp.unlink(missing_ok=True)
    write_workbook(tmp, {
        "Providers": _providers(rng),
        "Clients": _clients(rng, plan, clients),
        "Releases": _releases(plan, rows["Releases"], clients),
        "Referrals": _referrals(rng, plan, clients),
        "Sent": _sent(plan, rows["Sent"], rows["Releases"], clients),
        "Contacts": _contacts(rng, rows["Contacts"]),
        "Visits": _visits(rng, plan, rows["Visits"], clients),
        "Testimonials": _testimonials(),
        "Letters": _letters(plan, rows["Letters"], rows["Releases"], clients),
    }, counts=rows, constant_memory=True)
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rows", type=int, help=f"referral rows, 1 to {EXCEL_ROWS:,}")
    parser.add_argument("out", type=Path, help="the .xlsx to write (must not exist)")
    args = parser.parse_args(argv)
    if args.out.exists():
        parser.error(f"{args.out}: already exists; choose another name")
    try:
        rows = counts(args.rows)
    except ValueError as exc:
        parser.error(str(exc))
    capped = [name for name, n in rows.items() if n == EXCEL_ROWS and name != "Referrals"]
    started = time.perf_counter()
    build(args.rows, args.out)
    print(f"{args.out}: {', '.join(f'{n:,} {k}' for k, n in rows.items())} in "
          f"{time.perf_counter() - started:.0f} s"
          + (f" ({', '.join(capped)} capped at Excel's {EXCEL_ROWS:,} rows)" if capped else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
