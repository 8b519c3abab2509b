"""What a merge writes into the workbook: a Letters row for each document, and the job's
write-back (`set`, `contact`) for each record whose document was made or delivered."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from refdesk.merge.data import Data, Record
from refdesk.merge.jobs import Job
from refdesk.xlsxpatch import AppendRows, Change, SetField

CHANNEL = {"mail": "letter", "email": "email", "fax": "fax"}
EACH_KEYS = {"Providers": "provider_id", "Clients": "client_id", "Referrals": "referral_id",
             "Sent": "sent_id", "Visits": "visit_id"}


def next_ids(values: Iterable[Any], prefix: str, width: int) -> Iterator[str]:
    """Ids after the highest of `values` (L019, L020 ...), as wide as the widest there."""
    pattern = re.compile(re.escape(prefix) + r"(\d+)")
    number = 0
    widths = []
    for value in values:
        m = pattern.fullmatch(str(value or ""))
        if m:
            number = max(number, int(m.group(1)))
            widths.append(len(m.group(1)))
    width = max(widths, default=width)
    while True:
        number += 1
        yield f"{prefix}{number:0{width}d}"


def shown_path(file: Path | None, base: Path) -> str:
    if file is None:
        return ""
    return str(file.relative_to(base)) if file.is_relative_to(base) else str(file)


class Writer:
    """Builds a run's changes; ids are numbered once for the whole run."""

    def __init__(self, job: Job, data: Data) -> None:
        self.job = job
        self.data = data
        self.letter_ids = next_ids(data.rows("Letters").values("letter_id"), "L", 3)
        # Numbered when the first contact is written: a job that logs none never reads the
        # Contacts sheet.
        self._contact_ids: Iterator[str] | None = None
        self.contacts: list[dict[str, Any]] = []

    @property
    def contact_ids(self) -> Iterator[str]:
        if self._contact_ids is None:
            taken = self.data.rows("Contacts").values("contact_id")
            self._contact_ids = next_ids(taken, "CT", 3)
        return self._contact_ids

    def letter_row(self, record: Record, *, when: dt.datetime, template: str, delivery: str,
                   file: str, status: str, detail: str = "") -> dict[str, Any]:
        job = self.job
        return {"letter_id": next(self.letter_ids), "when": when, "job": job.name,
                "record": record.key, "template": template,
                "provider_id": record.provider_id if job.to == "provider" else None,
                "client_id": record.client_id,
                "release_id": (record.release or {}).get("release_id"),
                "delivery": delivery, "file": file, "status": status,
                "detail": detail or None}

    def done(self, record: Record, delivery: str) -> list[Change]:
        """The job's `set` changes for a record whose document was made (or delivered), and its
        Contacts row, kept for `contacts_change`."""
        sets: list[Change] = []
        for write in self.job.set:
            value: Any = self.data.today if write.value.lower() == "today" else write.value
            sheet, key = write.sheet, EACH_KEYS[write.sheet]
            ident = {"Providers": record.provider_id, "Clients": record.client_id}.get(
                sheet, record.key)
            sets.append(SetField(sheet, key, ident, write.column, value))
        if self.job.contact and record.provider_id:
            self.contacts.append({"contact_id": next(self.contact_ids), "date": self.data.today,
                                  "provider_id": record.provider_id,
                                  "channel": CHANNEL.get(delivery, "other"),
                                  "summary": self.job.contact})
        return sets

    def contacts_change(self) -> list[Change]:
        changes: list[Change] = [AppendRows("Contacts", self.contacts)] if self.contacts else []
        self.contacts = []
        return changes


def status_change(letter_id: str, status: str, detail: str) -> list[Change]:
    return [SetField("Letters", "letter_id", letter_id, "status", status),
            SetField("Letters", "letter_id", letter_id, "detail", detail or None)]
