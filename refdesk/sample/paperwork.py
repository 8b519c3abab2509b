"""Paper trail of the sample practice: releases, thank-yous and reports, clients sent out,
testimonials, and the Letters ledger since refdesk arrived."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from refdesk.sample.care import Referral
from refdesk.sample.data import QUOTES
from refdesk.sample.people import AS_OF, LETTERS_FROM, START, Client, days, workday
from refdesk.sample.providers import Provider

TEMPLATES = {"intro-packet": "intro-letter.docx", "thank-you": "thank-you.docx",
             "progress-report": "progress-report.docx"}
SENT_REASONS = {"primary": "Looking for a primary care provider",
                "chiropractic": "Low back pain; asked about chiropractic care",
                "physical therapy": "Needs a strengthening program",
                "dentistry": "Jaw clicking; asked for a TMJ dentist",
                "psychotherapy": "Stress; looking for a counselor",
                "OB/GYN": "Looking for a new OB/GYN",
                "sports medicine": "Running injury; needs an evaluation"}


@dataclass(eq=False)
class Release:
    client: Client
    provider: Provider
    signed_on: dt.date
    expires_on: dt.date | None
    scope: str
    revoked_on: dt.date | None = None
    id: str = ""

    def covers(self, day: dt.date, topic: str = "treatment plan") -> bool:
        return (self.signed_on <= day and (self.expires_on is None or day <= self.expires_on)
                and (self.revoked_on is None or day < self.revoked_on)
                and topic in self.scope.split("; "))


class Paperwork:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.releases: list[Release] = []

    def release_for(self, client: Client, provider: Provider, day: dt.date,
                    topic: str = "treatment plan") -> Release | None:
        found = [r for r in self.releases if r.client is client and r.provider is provider
                 and r.covers(day, topic)]
        return found[-1] if found else None

    def sign(self, client: Client, provider: Provider, day: dt.date,
             scope: str | None = None) -> Release:
        rng = self.rng
        if scope is None:
            scope = "treatment plan; progress"
            if "SOAP notes" in provider.wants or rng.random() < 0.2:
                scope += "; SOAP notes"
            if rng.random() < 0.15:
                scope += "; diagnosis"
        expires = None if rng.random() < 0.2 else day + days(365)
        release = Release(client, provider, day, expires, scope)
        self.releases.append(release)
        return release

    def for_referrals(self, referrals: list[Referral]) -> None:
        """Clients sign at their first session; one who came on their own signed before their
        doctor was asked for a referral."""
        for r in referrals:
            if r.kind == "own doctor" and not self.release_for(r.client, r.provider,
                                                               r.received_on):
                earliest = r.client.first_visit or r.received_on
                signed = max(earliest, r.received_on - days(self.rng.randrange(7, 45)))
                self.sign(r.client, r.provider, workday(signed))
            if r.first_visit is None or r.client.declines_release:
                continue
            needed = r.first_visit + days(150)
            if not (self.release_for(r.client, r.provider, r.first_visit)
                    and self.release_for(r.client, r.provider, needed)):
                self.sign(r.client, r.provider, r.first_visit)
            self._thank_and_report(r)

    def _thank_and_report(self, r: Referral) -> None:
        rng = self.rng
        if rng.random() < 0.88:
            day = workday(r.first_visit + days(rng.randint(1, 6)))
            if day <= AS_OF and self.release_for(r.client, r.provider, day):
                r.thank_you_sent = day
        if not r.provider.wants & {"progress reports", "discharge summary"}:
            return
        if r.status == "completed" and rng.random() < 0.85:
            day = workday(r.visits[-1] + days(rng.randint(1, 5)))
        elif r.status == "in care" and len(r.visits) >= 4 and rng.random() < 0.6:
            day = workday(r.visits[3] + days(rng.randint(1, 3)))
        else:
            return
        if day <= AS_OF and self.release_for(r.client, r.provider, day, "progress"):
            r.last_report_sent = day

    def own_doctors(self, clients: list[Client], providers: list[Provider]) -> None:
        """How the practice met the doctors it has not worked with yet: a client's release."""
        walk_ins = [c for c in clients if c.source != "doctor" and c.first_visit
                    and not c.referrals]
        for p in providers:
            if p.stage in ("referring", "dormant") or p.doctor.how_we_know != "client's doctor":
                continue
            before = p.since or AS_OF
            fits = [c for c in walk_ins if c.first_visit <= before - days(10)
                    and c.first_visit >= before - days(300)]
            client = self.rng.choice(fits)
            walk_ins.remove(client)
            signed = workday(max(client.first_visit, before - days(self.rng.randrange(5, 60))))
            self.sign(client, p, min(signed, before - days(1)))

    def revoke_some(self, referrals: list[Referral], count: int = 2) -> None:
        """A couple of clients moved away and withdrew consent after their care ended."""
        last_use: dict[tuple[Client, Provider], dt.date] = {}
        for r in referrals:
            for day in (r.received_on, *r.visits, r.thank_you_sent, r.last_report_sent):
                if day:
                    key = (r.client, r.provider)
                    last_use[key] = max(day, last_use.get(key, day))
        quiet = [rel for rel in self.releases
                 if (rel.client, rel.provider) in last_use
                 and last_use[(rel.client, rel.provider)] < AS_OF - days(200)
                 and len(rel.client.referrals) == 1]
        for rel in self.rng.sample(quiet, count):
            rel.revoked_on = workday(last_use[(rel.client, rel.provider)]
                                     + days(self.rng.randrange(30, 90)))

    def number(self) -> None:
        self.releases.sort(key=lambda r: (r.signed_on, r.client.id, r.provider.id))
        for i, r in enumerate(self.releases, start=1):
            r.id = f"RL{i:03d}"

    def rows(self) -> list[dict[str, Any]]:
        return [{"release_id": r.id, "client_id": r.client.id, "provider_id": r.provider.id,
                 "signed_on": r.signed_on, "expires_on": r.expires_on, "scope": r.scope,
                 "revoked_on": r.revoked_on} for r in self.releases]

    def sent(self, clients: list[Client], providers: list[Provider], count: int = 32
             ) -> list[dict[str, Any]]:
        """Clients sent to referring providers who take new patients."""
        rng = self.rng
        open_doors = [p for p in providers if p.stage == "referring"
                      and p.row["accepting_patients"] == "yes" and p.group in SENT_REASONS]
        seen = [c for c in clients if c.first_visit]
        rows = []
        span = (AS_OF - START).days
        while len(rows) < count:
            day = workday(START + days(30 + rng.randrange(span - 30)))
            provider = rng.choice(open_doors)
            client = rng.choice(seen)
            if (client.first_visit > day - days(7)
                    or any(r.provider is provider for r in client.referrals)
                    or any(r["client_id"] == client.id for r in rows)):
                continue
            told = workday(day + days(rng.randint(0, 3)))
            if told > AS_OF or client.declines_release or rng.random() < 0.15:
                if not client.declines_release and not self.release_for(client, provider, day):
                    # signed when sent; the note to the provider is still to go out
                    self.releases.append(Release(client, provider, day, day + days(365),
                                                 "treatment plan"))
                told = None
            elif not self.release_for(client, provider, told):
                self.sign(client, provider, day, "treatment plan")
            rows.append({"sent_id": None, "sent_on": day, "client_id": client.id,
                         "provider_id": provider.id, "reason": SENT_REASONS[provider.group],
                         "provider_told_on": told})
        rows.sort(key=lambda r: (r["sent_on"], r["client_id"]))
        for i, row in enumerate(rows, start=1):
            row["sent_id"] = f"S{i:03d}"
        return rows


def testimonials(rng: random.Random, clients: list[Client], self_pay: dict[Client, Any]
                 ) -> list[dict[str, Any]]:
    """A quote from a client whose care fits it: a referral completed weeks ago, or visits of
    their own for some months. Most allowed its use after their care; two were never asked."""
    rows: list[dict[str, Any]] = []
    used: set[str] = set()
    unasked = set(rng.sample(range(len(QUOTES)), 2))
    for i, (quote, condition, focuses) in enumerate(QUOTES):
        ended: dict[Client, dt.date] = {}
        for c in clients:
            if c.focus not in focuses or c.id in used:
                continue
            done = [r.visits[-1] for r in c.referrals
                    if r.status == "completed" and r.visits[-1] <= AS_OF - days(25)]
            if done:
                ended[c] = max(done)
            elif not c.referrals and c in self_pay and c.first_visit <= AS_OF - days(120):
                ended[c] = c.first_visit + days(rng.randint(30, 90))
        if not ended:
            raise AssertionError(f"sample: no client could have said quote {i + 1}")
        client = rng.choice(sorted(ended, key=lambda c: c.id))
        used.add(client.id)
        permission = (None if i in unasked
                      else min(AS_OF, workday(ended[client] + days(rng.randint(3, 20)))))
        rows.append({"testimonial_id": f"T{i + 1:03d}", "client_id": client.id, "quote": quote,
                     "condition": condition, "permission_on": permission})
    return rows


def letter_row(rng: random.Random, day: dt.date, job: str, record: str, provider: Provider,
               client: Client | None, release: Release | None) -> dict[str, Any]:
    delivery = provider.row["delivery"] or "mail"
    emailed = delivery == "email"
    stem = "-".join(x for x in (job, provider.id, client.id if client else "") if x)
    return {
        "letter_id": None,
        "when": dt.datetime(day.year, day.month, day.day, rng.randint(8, 17),
                            rng.choice((0, 10, 20, 30, 40, 50))),
        "job": job, "record": record, "template": TEMPLATES[job], "provider_id": provider.id,
        "client_id": client.id if client else None,
        "release_id": release.id if release else None, "delivery": delivery,
        "file": f"out/{job}/{day.isoformat()}/{stem}.{'pdf' if emailed else 'docx'}",
        "status": "emailed" if emailed else "produced", "detail": None,
    }


def letters(rng: random.Random, paper: Paperwork, referrals: list[Referral],
            providers: list[Provider]) -> list[dict[str, Any]]:
    """What refdesk produced since LETTERS_FROM (ids are given once planted rows join)."""
    rows = [letter_row(rng, p.packet_on, "intro-packet", p.id, p, None, None) for p in providers
            if p.packet_on and p.packet_on >= LETTERS_FROM]
    for r in referrals:
        for day, job, topic in ((r.thank_you_sent, "thank-you", "treatment plan"),
                                (r.last_report_sent, "progress-report", "progress")):
            if day and day >= LETTERS_FROM:
                release = paper.release_for(r.client, r.provider, day, topic)
                rows.append(letter_row(rng, day, job, r.id, r.provider, r.client, release))
    return rows
