"""The sample practice's providers and the log of every contact with their offices."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from refdesk.npi import npi_check_digit
from refdesk.sample.data import DIAGNOSES, DOCTORS, PRACTICES, SPECIALTY_GROUP, Doctor, Practice
from refdesk.sample.people import AS_OF, LETTERS_FROM, START, PhoneBook, days, workday
from refdesk.schema import WANTS

#: How often each kind of provider refers, relative to the others.
GROUP_WEIGHT = {"neurology": 3.0, "primary": 2.5, "chiropractic": 2.0, "physical therapy": 1.5,
                "dentistry": 1.2, "pain management": 1.2, "OB/GYN": 1.0, "sports medicine": 0.8,
                "psychotherapy": 0.6, "naturopathy": 0.6}
DOCTOR_TITLE = {"MD", "DO", "DC", "DDS", "DMD", "DPT", "PhD", "PsyD", "ND"}
CHANNEL_OF_DELIVERY = {"mail": "letter", "email": "email", "fax": "fax"}


@dataclass(eq=False)
class Provider:
    id: str
    doctor: Doctor
    practice: Practice
    row: dict[str, Any]
    weight: float = 0.0
    since: dt.date | None = None
    ref_start: dt.date | None = None
    ref_end: dt.date | None = None
    packet_on: dt.date | None = None

    @property
    def stage(self) -> str:
        return self.doctor.stage

    @property
    def group(self) -> str:
        return SPECIALTY_GROUP.get(self.doctor.specialty, self.doctor.specialty)

    @property
    def wants(self) -> set[str]:
        return set((self.row["wants"] or "").split("; ")) - {""}

    @property
    def salutation(self) -> str:
        d = self.doctor
        last = d.name.split()[-1]
        return f"Dr. {last}" if d.credentials in DOCTOR_TITLE else f"{d.name}, {d.credentials}"

    def active(self, day: dt.date) -> bool:
        return bool(self.ref_start and self.ref_start <= day <= (self.ref_end or AS_OF))


def _npi(rng: random.Random, used: set[str]) -> str:
    while True:
        first = "1" + "".join(str(rng.randrange(10)) for _ in range(8))
        npi = first + str(npi_check_digit(first))
        if npi not in used:
            used.add(npi)
            return npi


def _wants(rng: random.Random) -> str:
    odds = {"SOAP notes": 0.25, "progress reports": 0.75, "discharge summary": 0.4,
            "brochures": 0.4, "business cards": 0.3, "referral pads": 0.5}
    chosen = [w for w in WANTS if rng.random() < odds[w]] or ["progress reports"]
    return "; ".join(chosen)


def _email(doctor: Doctor, practice: Practice, rng: random.Random) -> str:
    first, *_, last = doctor.name.lower().replace("-", "").split()
    box = rng.choice((f"{first[0]}{last}", f"{first}.{last}", "referrals", "frontdesk"))
    return f"{box}@{practice.domain}"


def build_providers(rng: random.Random, phones: PhoneBook) -> list[Provider]:
    numbers: dict[str, tuple[str | None, str | None]] = {}
    seen_in_stage: dict[str, int] = {}
    npis: set[str] = set()
    providers = []
    for i, doctor in enumerate(DOCTORS, start=1):
        practice = PRACTICES[doctor.practice]
        if practice.name not in numbers:
            pick = ("503", "971"), (0.75, 0.25)
            numbers[practice.name] = (phones.take(*pick), phones.take(*pick))
        phone, fax = numbers[practice.name]
        stage = doctor.stage
        known = stage not in ("prospect", "declined")
        delivery = rng.choices(("fax", "email", "mail"), (0.4, 0.4, 0.2))[0] if known else None
        email = _email(doctor, practice, rng) if known or rng.random() < 0.5 else None
        row = {
            "provider_id": f"P{i:03d}", "name": doctor.name, "credentials": doctor.credentials,
            "specialty": doctor.specialty, "practice": practice.name,
            "npi": None if doctor.credentials in ("LAc", "LMFT") else _npi(rng, npis),
            "phone": phone, "fax": fax, "email": email, "street": practice.street,
            "city": practice.city, "state": "OR", "zip": practice.zip,
            "staff_contact": practice.staff or None, "stage": stage, "delivery": delivery,
            "wants": _wants(rng) if stage in ("referring", "dormant") else None,
            "accepting_patients": _accepting(rng, stage),
            "refers_out": rng.choice(_REFERS_OUT[stage]), "how_we_know": doctor.how_we_know,
            "next_follow_up": None, "notes": doctor.notes or None,
        }
        p = Provider(row["provider_id"], doctor, practice, row)
        if p.group in DIAGNOSES and stage in ("referring", "dormant"):
            p.weight = GROUP_WEIGHT[p.group]
        _timeline(p, rng, seen_in_stage.get(stage, 0))
        seen_in_stage[stage] = seen_in_stage.get(stage, 0) + 1
        providers.append(p)
    return providers


_REFERS_OUT = {"referring": ("often", "sometimes"), "dormant": ("sometimes", "rarely"),
               "packet sent": ("sometimes", "unknown"), "contacted": ("sometimes", "unknown"),
               "prospect": ("unknown",), "declined": ("never", "rarely")}


def _accepting(rng: random.Random, stage: str) -> str:
    if stage == "prospect":
        return "unknown"
    return rng.choices(("yes", "no", "unknown"), (0.65, 0.25, 0.1))[0]


def _timeline(p: Provider, rng: random.Random, nth: int) -> None:
    """When the relationship started and the window in which the provider sends referrals.
    `nth` counts the providers of the same stage before this one."""
    stage = p.stage
    if stage == "referring":
        # The first half dozen were referring before the 18 months began.
        p.ref_start = START if nth < 6 else START + days(rng.randrange(30, 330))
        p.since = p.ref_start - days(rng.randrange(25, 70))
    elif stage == "dormant":
        p.ref_start = START + days(rng.randrange(0, 90))
        p.ref_end = dt.date(2025, 11, 1) + days(rng.randrange(0, 100))
        p.since = p.ref_start - days(rng.randrange(25, 70))
    elif stage == "packet sent":
        # Two packets went out after refdesk arrived, so the Letters sheet has them.
        recent = nth < 2
        start = LETTERS_FROM if recent else AS_OF - days(60)
        p.packet_on = workday(start + days(rng.randrange(0, 10 if recent else 45)))
        p.since = p.packet_on - days(rng.randrange(5, 20))
    elif stage == "contacted":
        p.since = workday(AS_OF - days(rng.randrange(10, 75)))
    elif stage == "declined":
        p.since = dt.date(2025, 3, 3) + days(rng.randrange(0, 500))
    if p.since:
        p.since = workday(p.since)


def _staff_name(p: Provider, rng: random.Random) -> str:
    people = [part.split(": ")[1] for part in p.practice.staff.split("; ") if ": " in part]
    return rng.choice(people) if people else "front desk"


def build_contacts(rng: random.Random, providers: list[Provider]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for p in providers:
        if p.since is None:
            p.row["next_follow_up"] = workday(AS_OF + days(rng.randrange(-10, 30)))
            continue
        log = _Log(p, rng)
        _STAGE_SCRIPT[p.stage](log)
        rows.extend(log.rows)
        p.row["next_follow_up"] = log.rows[-1]["follow_up_on"]
    rows.sort(key=lambda r: (r["date"], r["provider_id"]))
    for i, row in enumerate(rows, start=1):
        row["contact_id"] = f"CT{i:03d}"
    return rows


class _Log:
    def __init__(self, p: Provider, rng: random.Random) -> None:
        self.p, self.rng, self.rows = p, rng, []

    def add(self, day: dt.date, channel: str, summary: str, next_step: str | None,
            follow_up: dt.date | None, *, spoke: bool = True, packet: bool = False) -> None:
        cost, minutes = self._outlay(channel, packet)
        self.rows.append({
            "contact_id": None, "date": day, "provider_id": self.p.id, "channel": channel,
            "spoke_with": _staff_name(self.p, self.rng) if spoke else None, "summary": summary,
            "next_step": next_step, "follow_up_on": follow_up, "cost": cost,
            "minutes": minutes,
        })

    def _outlay(self, channel: str, packet: bool) -> tuple[float | None, int]:
        """What a contact cost and the minutes it took: a lunch on a visit, printing and
        postage for a packet by mail. Drawn from a generator of its own, seeded by the
        provider and the row, so that the rest of the sample does not move."""
        own = random.Random(f"outlay {self.p.id} {len(self.rows)}")
        if channel == "visit":  # lunch for the office, and the drive
            return round(own.uniform(60, 150), 2), own.randrange(45, 95, 5)
        if packet and channel == "letter":  # printing, folder, postage
            return round(own.uniform(4.5, 9.0), 2), own.randrange(20, 45, 5)
        if packet:  # the same packet as a PDF by email or fax
            return None, own.randrange(10, 25, 5)
        if channel == "phone":
            return None, own.randrange(5, 25, 5)
        return None, own.randrange(5, 15, 5)

    def intro(self, day: dt.date, follow_up: dt.date) -> None:
        summary = {
            "client's doctor": "Introduced myself as the massage therapist of a shared "
                               "patient; asked how often they refer out for massage",
            "nearby": "Introduced the practice as a neighbor; asked if they take new patients",
            "other": "Followed up on meeting at a community event; asked about their "
                     "referral list",
        }[self.p.doctor.how_we_know]
        self.add(day, "phone", summary, "Send the introductory packet", follow_up)

    def packet(self, day: dt.date) -> None:
        channel = CHANNEL_OF_DELIVERY[self.p.row["delivery"] or "mail"]
        self.add(day, channel, "Sent the introductory packet: letter, testimonials, referral "
                 "form and Provider's Needs form", "Call to confirm it arrived",
                 workday(day + days(self.rng.randrange(14, 22))), spoke=False, packet=True)


def _referring(log: _Log) -> None:
    p, rng = log.p, log.rng
    packet = workday(p.since + days(rng.randrange(4, 11)))
    log.intro(p.since, packet)
    log.packet(packet)
    back = workday(packet + days(rng.randrange(10, 21)))
    log.add(back, rng.choice(("fax", "email")),
            f"Provider's Needs form returned: wants {p.row['wants']}",
            "Send what they asked for", workday(back + days(rng.randrange(50, 80))))
    if rng.random() < 0.5:
        drop = workday(back + days(rng.randrange(20, 45)))
        log.add(drop, "visit", "Brought lunch for the office; dropped off brochures, business "
                "cards and referral pads",
                "Check in next quarter", workday(drop + days(90)))
    end = p.ref_end + days(45) if p.ref_end else AS_OF
    day = log.rows[-1]["date"] + days(rng.randrange(75, 110))
    while day <= end:
        day = workday(day)
        log.add(day, rng.choice(("phone", "phone", "email")), rng.choice(_CHECK_INS),
                "Check in next quarter", workday(day + days(rng.randrange(75, 100))))
        day += days(rng.randrange(75, 110))
    if p.stage == "dormant":
        ping = workday(AS_OF - days(rng.randrange(20, 80)))
        log.add(ping, "phone", "Left a voicemail; no referrals in several months",
                "Call again and ask whether anything changed",
                workday(ping + days(rng.randrange(30, 60))))


_CHECK_INS = ("Quarterly check-in; thanked the office for recent referrals",
              "Asked whether the progress reports are useful; they are",
              "Confirmed the fax number for reports", "Restocked their referral pads",
              "Brought updated brochures; met the new office manager")


def _packet_sent(log: _Log) -> None:
    log.intro(log.p.since, log.p.packet_on)
    log.packet(log.p.packet_on)


def _contacted(log: _Log) -> None:
    p, rng = log.p, log.rng
    log.intro(p.since, workday(p.since + days(rng.randrange(7, 15))))
    if rng.random() < 0.5 and p.since + days(20) < AS_OF:
        again = workday(p.since + days(rng.randrange(8, 20)))
        log.add(again, "phone", "Front desk asked me to call back when the doctor is in",
                "Call back and ask for five minutes with the doctor",
                workday(again + days(rng.randrange(10, 30))))
    else:
        log.rows[-1]["next_step"] = "Call back and ask for five minutes with the doctor"


def _declined(log: _Log) -> None:
    p = log.p
    reason = p.doctor.notes or "Not referring out for massage at this time"
    log.add(p.since, "phone", f"Declined: {reason.rstrip('.')}", None, None)


_STAGE_SCRIPT = {"referring": _referring, "dormant": _referring, "packet sent": _packet_sent,
                 "contacted": _contacted, "declined": _declined}


def provider_rows(providers: list[Provider]) -> list[dict[str, Any]]:
    return [dict(p.row) for p in providers]
