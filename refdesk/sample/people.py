"""People of the sample practice: phone numbers, names, home addresses and client records."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from refdesk.sample.data import (
    AUTO_INSURERS,
    FIRST_NAMES,
    HOME_STREETS,
    INSURERS,
    LAST_NAMES,
    OTHER_SOURCES,
    SELF_FOCUS,
)

#: The day the sample workbook describes: nothing in it happens later.
AS_OF = dt.date(2026, 10, 31)
#: The first day of the 18 months of referrals.
START = dt.date(2025, 5, 1)
#: The day the practice started producing its letters with refdesk: Letters begins here.
LETTERS_FROM = dt.date(2026, 10, 19)

PRENATAL_NAMES = ("Abigail", "Alana", "Alejandra", "Amara", "Ana", "Andrea", "Ava", "Bianca",
                  "Brooke", "Camila", "Chloe", "Claire", "Daniela", "Deepa", "Elise", "Emma",
                  "Farah", "Gemma", "Hana", "Imani", "Ines", "Ivy", "Jade", "Jasmine", "Joanna",
                  "Kara", "Keiko", "Kendra", "Leah", "Lila", "Lucia", "Marisa", "Megan", "Mina",
                  "Nadia", "Naomi", "Nora", "Olivia", "Paige", "Petra", "Sadie", "Sara",
                  "Simone", "Sophie", "Stella", "Tess", "Uma", "Willow", "Yara", "Zoe")


def days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


def weekday_on_or_after(day: dt.date) -> dt.date:
    """Offices are closed at the weekend: a Saturday or Sunday moves to Monday."""
    return day + days((7 - day.weekday()) % 7) if day.weekday() >= 5 else day


def workday(day: dt.date) -> dt.date:
    """A working day: a weekend moves to Monday, or back to Friday when Monday is past AS_OF."""
    moved = weekday_on_or_after(day)
    if moved > AS_OF >= day:
        return day - days(day.weekday() - 4)
    return moved


def fill_digits(rng: random.Random, pattern: str) -> str:
    return "".join(str(rng.randrange(10)) if ch == "#" else ch for ch in pattern)


class PhoneBook:
    """Hands out distinct numbers from the 555-0100..0199 range kept for fiction."""

    def __init__(self, rng: random.Random, reserved: tuple[str, ...] = ()) -> None:
        self._rng = rng
        self._used = set(reserved)

    def take(self, area_codes: tuple[str, ...], weights: tuple[float, ...]) -> str | None:
        for _ in range(200):
            area = self._rng.choices(area_codes, weights)[0]
            number = f"({area}) 555-01{self._rng.randrange(100):02d}"
            if number not in self._used:
                self._used.add(number)
                return number
        return None


@dataclass(eq=False)
class Client:
    key: int
    first_name: str
    last_name: str
    dob: dt.date
    street: str
    city: str
    zip: str
    source: str
    focus: str
    phone: str | None = None
    email: str | None = None
    source_detail: str = ""
    referred_by_provider: str | None = None
    referred_by_client: Client | None = None
    first_visit: dt.date | None = None
    #: When the client first reached the practice: orders the client ids.
    intake: dt.date = START
    insurance: tuple[str, str] | None = None
    notes: str = ""
    declines_release: bool = False
    id: str = ""
    #: ICD-10-CM codes of the client's own diagnosis, for visits outside any referral.
    diagnosis: str = ""
    #: Agreed to write a thank-you card to their referring doctor: yes, no or unknown.
    client_card: str = ""
    card_sent: dt.date | None = None
    referrals: list[Any] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


CLIENT_NOTES = ("Prefers late-afternoon appointments", "Sensitive to scented oils",
                "Prefers firm pressure", "Books through the online scheduler",
                "Works nights; mornings only", "Needs the ground-floor room")


class People:
    """Makes clients with names, homes, phones and emails that do not repeat."""

    def __init__(self, rng: random.Random, phones: PhoneBook) -> None:
        self.rng = rng
        self.phones = phones
        self.clients: list[Client] = []
        self._names: set[tuple[str, str]] = set()

    def _name(self, firsts: tuple[str, ...]) -> tuple[str, str]:
        while True:
            pair = (self.rng.choice(firsts), self.rng.choice(LAST_NAMES))
            if pair not in self._names:
                self._names.add(pair)
                return pair

    def new_client(self, source: str, focus: str, *, prenatal: bool = False) -> Client:
        rng = self.rng
        first, last = self._name(PRENATAL_NAMES if prenatal else FIRST_NAMES)
        born = dt.date(1987, 1, 1) if prenatal else dt.date(1949, 1, 1)
        span = (dt.date(2000, 12, 31) if prenatal else dt.date(2004, 12, 31)) - born
        street, city, zip_code = rng.choice(HOME_STREETS)
        number = rng.randrange(1200, 9800) if city == "Portland" else rng.randrange(100, 19000)
        unit = f", Apt {rng.randrange(1, 40)}" if rng.random() < 0.15 else ""
        client = Client(
            key=len(self.clients), first_name=first, last_name=last,
            dob=born + days(rng.randrange(span.days)), street=f"{number} {street}{unit}",
            city=city, zip=zip_code, source=source, focus=focus,
        )
        has_phone = rng.random() < 0.8
        if has_phone:
            client.phone = self.phones.take(("503", "971", "360"), (0.5, 0.35, 0.15))
        if client.phone is None or rng.random() < 0.85:
            handle = f"{first}.{last}".lower().replace("'", "")
            client.email = f"{handle}@{rng.choice(('example.com', 'example.net', 'example.org'))}"
        if rng.random() < 0.1:
            client.notes = rng.choice(CLIENT_NOTES)
        self.clients.append(client)
        return client

    def insure(self, client: Client, *, injury: bool, chance: float) -> None:
        if injury and self.rng.random() < 0.8:
            carrier, pattern = self.rng.choice(AUTO_INSURERS)
        elif self.rng.random() < chance:
            carrier, pattern = self.rng.choice(INSURERS)
        else:
            return
        client.insurance = (carrier, fill_digits(self.rng, pattern))

    def walk_in_clients(self, count: int) -> list[Client]:
        """Clients who came by word of mouth or on their own, from 2023 on; more lately."""
        rng = self.rng
        opened = dt.date(2023, 9, 1)
        span = (AS_OF - days(3) - opened).days
        made = []
        for _ in range(count):
            client = self.new_client("client" if rng.random() < 0.58 else "other",
                                     rng.choice(SELF_FOCUS))
            first = weekday_on_or_after(opened + days(int(span * rng.random() ** 0.7)))
            client.first_visit = client.intake = min(first, AS_OF - days(1))
            self.insure(client, injury=False, chance=0.15)
            made.append(client)
        return made

    def link_word_of_mouth(self) -> None:
        """A client-sourced client names someone who was already a client two weeks earlier."""
        rng = self.rng
        known = sorted((c for c in self.clients if c.first_visit), key=lambda c: c.first_visit)
        for client in self.clients:
            if client.source != "client":
                continue
            earlier = [c for c in known if c.first_visit <= client.intake - days(14)]
            if not earlier:
                client.source = "other"
                client.source_detail = rng.choice(OTHER_SOURCES)
                continue
            friend = rng.choice(earlier)
            client.referred_by_client = friend
            how = rng.choice(("Friend of", "Coworker of", "Neighbor of", "Sister of",
                              "Partner of"))
            client.source_detail = f"{how} {friend.first_name} {friend.last_name[0]}."
        for client in self.clients:
            if client.source == "other" and not client.source_detail:
                client.source_detail = rng.choice(OTHER_SOURCES)

    def number(self) -> None:
        ordered = sorted(self.clients, key=lambda c: (c.intake, c.key))
        for i, client in enumerate(ordered, start=1):
            client.id = f"C{i:03d}"
        self.clients = ordered


def client_row(c: Client) -> dict[str, Any]:
    return {
        "client_id": c.id, "first_name": c.first_name, "last_name": c.last_name, "dob": c.dob,
        "phone": c.phone, "email": c.email, "street": c.street, "city": c.city, "state": "OR",
        "zip": c.zip, "source": c.source, "source_detail": c.source_detail,
        "referred_by_provider": c.referred_by_provider,
        "referred_by_client": c.referred_by_client.id if c.referred_by_client else None,
        "focus": c.focus, "diagnosis": c.diagnosis or None, "first_visit": c.first_visit,
        "insurance_carrier": c.insurance[0] if c.insurance else None,
        "member_id": c.insurance[1] if c.insurance else None,
        "client_card": c.client_card or None, "card_sent": c.card_sent, "notes": c.notes or None,
    }
