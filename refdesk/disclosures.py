"""`refdesk disclosures CLIENT`: the accounting of disclosures a client may ask for
(45 CFR 164.528): every time the practice's records show the client's information going to
someone else, with the date, the recipient and their address, what went and why.

Where it comes from:

- **Letters**: a row is the client's when its `client_id` is theirs (the client the document
  was made about), or, for a row without one, when its `record` leads to them (their referral,
  their Sent row, their client id, one of their months). The job's declaration in config.toml
  says what the document carries (`templates`, `scope`) and to whom it goes (`to`).
- **Sent**: a client sent to a provider whom the practice told (`provider_told_on`), unless a
  listed Letters row (the note the `sent-referral` job made) already accounts for it.

How a Letters row's `status` is treated (STATUSES): `emailed` and `faxed` left the practice;
`produced` by mail or fax and `drafted` emails were made for the practice to send by hand
(refdesk never sees them leave, so the date is the day they were made); a document `produced`
for email was made and never emailed, `failed` never left and `sending` is in doubt until
`refdesk merge JOB` settles it: none of those is listed, each is named in a note. Documents to
the client themself (super bills, release forms, the client's card) are left out: the rule
exempts disclosures to the individual.

The rule also exempts disclosures for treatment, payment and operations and those made under
the client's written authorization; the practice's records barely hold anything else, so this
accounting lists every disclosure it finds, and says so.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from refdesk.book import Book
from refdesk.config import Config
from refdesk.dates import as_date
from refdesk.errors import RefdeskError
from refdesk.merge.data import Data, letter_date, provider_context
from refdesk.merge.jobs import Job, load_jobs

#: Six years back by default (164.528(a)(1)), or a shorter period the client asks for.
YEARS_BACK = 6

#: Letters.status -> how the accounting treats it: "sent" (listed), "by hand" (listed, made
#: for the practice to post, fax or send as a draft), or the reason it is not listed.
STATUSES: dict[str, str] = {
    "emailed": "sent",
    "faxed": "sent",
    "drafted": "by hand",
    "produced": "by hand",  # by mail or fax; by email see NOT_EMAILED
    "failed": "not sent: the delivery failed",
    "sending": "in doubt: settle it with refdesk merge JOB (--mark-sent or --retry), then run "
               "this again",
}
NOT_EMAILED = "made for email and never emailed"

#: What the shipped templates carry and why they go: (document, information, purpose).
DOCUMENTS: dict[str, tuple[str, str, str]] = {
    "thank-you.docx": (
        "Thank-you letter for the referral",
        "your name, the date the referral was received and the date your care began",
        "Treatment coordination: telling the provider who referred you that your care began"),
    "progress-report.docx": (
        "Progress report",
        "your name and date of birth, the referral and the services requested",
        "Treatment coordination: keeping the provider who referred you informed"),
    "sent-referral.docx": (
        "Note of a referral to their office",
        "your name and the reason we suggested you see them",
        "Treatment: referring you to this provider for care"),
}
#: For another job, by the kind of record it makes a document for.
BY_EACH: dict[str, tuple[str, str, str]] = {
    "referrals": ("Letter about your referral", "your name and your referral",
                  "Treatment coordination with the provider who referred you"),
    "sent": ("Note of a referral", "your name and the reason for the referral",
             "Treatment: referring you to this provider for care"),
    "clients": ("Letter about you", "your name and contact details", "Treatment coordination"),
    "client-months": ("Statement of visits", "your visits and the charges for a month",
                      "Payment"),
}
#: What a job's release scope adds to the information disclosed.
SCOPE_WORDS: dict[str, str] = {
    "treatment plan": "your plan of care",
    "progress": "your visits, pain ratings, measured progress and latest session notes",
    "SOAP notes": "your session (SOAP) notes",
    "diagnosis": "your diagnosis codes",
}
SENT_ROW = ("Referral to their office",
            "your name and the reason we suggested you see them",
            "Treatment: referring you to this provider for care")
TO_CLIENT = ("{count} given to you (super bills, forms, cards) {verb} not listed: an accounting "
             "leaves out what went to you yourself.")
EVERYTHING = ("The law does not require this list to include disclosures for your treatment, "
              "for payment or for our operations, or those you authorized in writing; we list "
              "every disclosure our records show, including those.")


class DisclosureError(RefdeskError):
    """The client cannot be found (or the name fits several), or the period is backwards."""


@dataclass
class Disclosure:
    """One row of the accounting."""

    date: dt.date | None
    recipient: str  # "Helen Okafor, MD"
    practice: str
    address: str  # "1200 NE Broadway, Portland, OR 97232"
    document: str
    information: str
    purpose: str
    delivery: str  # mail, email, fax ("" for a Sent row)
    status: str  # "sent", "by hand" or "told" (a Sent row)
    source: str  # "Letters L011" or "Sent S016"
    cell: str  # "Letters!A12"
    provider_id: str

    def record(self) -> dict[str, Any]:
        values = asdict(self)
        values["date"] = self.date.isoformat() if self.date else ""
        return values


@dataclass
class LeftOut:
    """A row of the client's that the accounting does not list, and why (no health
    information: a cell, an id, a date and the reason)."""

    cell: str
    source: str
    date: dt.date | None
    reason: str

    def line(self) -> str:
        day = f" of {self.date.isoformat()}" if self.date else ""
        return f"{self.cell} ({self.source}{day}): {self.reason}."


@dataclass
class Accounting:
    client_id: str
    name: str
    dob: dt.date | None
    start: dt.date
    end: dt.date
    made_on: dt.date
    disclosures: list[Disclosure] = field(default_factory=list)
    left_out: list[LeftOut] = field(default_factory=list)
    #: Rows whose client or provider cells disagree with their record: listed, and said.
    warnings: list[str] = field(default_factory=list)
    to_client: int = 0

    @property
    def notes(self) -> list[str]:
        """What the client's copy says besides the table."""
        notes = []
        if self.to_client:
            n = self.to_client
            notes.append(TO_CLIENT.format(count="One document" if n == 1 else f"{n} documents",
                                          verb="is" if n == 1 else "are"))
        if any(d.status == "by hand" for d in self.disclosures):
            notes.append("For a document our practice posts or faxes itself, the date is the "
                         "day it was made.")
        notes.append(EVERYTHING)
        return notes

    def record(self) -> dict[str, Any]:
        return {"client_id": self.client_id, "name": self.name,
                "dob": self.dob.isoformat() if self.dob else "",
                "from": self.start.isoformat(), "to": self.end.isoformat(),
                "made_on": self.made_on.isoformat(), "count": len(self.disclosures),
                "disclosures": [d.record() for d in self.disclosures],
                "left_out": [{"cell": o.cell, "source": o.source,
                              "date": o.date.isoformat() if o.date else "",
                              "reason": o.reason} for o in self.left_out],
                "to_client": self.to_client, "notes": self.notes}


#: The columns of --csv, in order: every field of a Disclosure.
CSV_FIELDS = list(Disclosure.__dataclass_fields__)


# -- the client -------------------------------------------------------------------------------
def _name(row: dict[str, Any]) -> str:
    return " ".join(str(row.get(k) or "").strip() for k in ("first_name", "last_name")).strip()


def find_client(data: Data, query: str) -> str:
    """The client_id `query` names: a client_id (any case), else a name that fits one client
    only (the full name, or words each of which is a whole word of the name)."""
    wanted = " ".join(query.split())
    if not wanted:
        raise DisclosureError("name the client: a client_id such as C056, or their name.")
    for cid in data.clients:
        if cid.casefold() == wanted.casefold():
            return cid
    folded = wanted.casefold()
    exact = [cid for cid, row in data.clients.items() if _name(row).casefold() == folded]
    words = folded.split()
    found = exact or [cid for cid, row in data.clients.items()
                      if all(w in _name(row).casefold().split() for w in words)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise DisclosureError(f"no client {wanted!r} in the Clients sheet: give a client_id "
                              "(Clients column client_id) or the client's name as it is there.")
    raise DisclosureError(
        f"{len(found)} clients are named {wanted!r}; give the client_id of the one you mean:",
        details=[f"{cid}  {_name(data.clients[cid])}" for cid in sorted(found)])


# -- the rows --------------------------------------------------------------------------------
def _client_of_record(data: Data, sent: dict[str, dict[str, Any]], record: str,
                      each: str | None) -> str | None:
    """The client a Letters row's `record` leads to (the job's kind of record when known)."""
    month = re.fullmatch(r"(\S+) \d{4}-\d{2}", record)
    if each in (None, "referrals") and record in data.referrals_by_id:
        return data.referrals_by_id[record].get("client_id")
    if each in (None, "sent") and record in sent:
        return sent[record].get("client_id")
    if each in (None, "clients") and record in data.clients:
        return record
    if each in (None, "client-months") and month:
        return month.group(1)
    return None


def _provider_of_record(data: Data, sent: dict[str, dict[str, Any]], record: str
                        ) -> str | None:
    if record in data.referrals_by_id:
        return data.referrals_by_id[record].get("provider_id")
    return sent[record].get("provider_id") if record in sent else None


def _what(job: Job | None, each: str | None, template: str) -> tuple[str, str, str]:
    """(document, information, purpose) for a job's document."""
    names = list(job.templates) if job else [t.strip() for t in template.split(",")]
    known = next((DOCUMENTS[n] for n in names if n in DOCUMENTS), None)
    document, information, purpose = known or BY_EACH.get(
        each or "", ("Document about you", "your name", "Treatment coordination"))
    scope = [SCOPE_WORDS.get(s, s) for s in (job.scope if job else ())]
    if scope:
        information = "; ".join([information, *scope])
    return document, information, purpose


def _recipient(data: Data, provider_id: str) -> tuple[str, str, str]:
    """(name, practice, address) of a provider, from Providers."""
    row = data.providers.get(provider_id)
    if row is None:
        return f"provider {provider_id} (not in the Providers sheet)", "", "address not known"
    p = provider_context(row)
    address = ", ".join(x for x in (p["street"], p["city_line"]) if x) or "address not known"
    return p["full_name"] or p["name"] or provider_id, p["practice"], address


def _release_words(data: Data, client_id: str, provider_id: str, release_id: str) -> str:
    """"; under your release signed June 2, 2026", when the row names one."""
    for row in data.releases.get((client_id, provider_id), []):
        if str(row.get("release_id") or "") == release_id:
            signed = as_date(row.get("signed_on"))
            return f"; under your release signed {letter_date(signed)}" if signed else \
                "; under your signed release"
    return ""


def accounting(book: Book, config: Config | None, client: str, *, start: dt.date | None = None,
               end: dt.date | None = None, today: dt.date | None = None) -> Accounting:
    """The accounting of disclosures for `client` (an id or a name) from `start` to `end`
    (by default the six years up to today)."""
    today = today or dt.date.today()
    end = end or today
    start = start or _years_before(end, YEARS_BACK)
    if start > end:
        raise DisclosureError(f"--from {start.isoformat()} is after --to {end.isoformat()}; "
                              "give the earlier day first.")
    data = Data.of(book, today)
    jobs = load_jobs(config) if config is not None else {}
    return account(data, jobs, find_client(data, client), start, end)


def account(data: Data, jobs: dict[str, Job], cid: str, start: dt.date, end: dt.date
            ) -> Accounting:
    """The accounting for the client `cid` from `start` to `end`, on the workbook's rows read
    once (`accounting` reads them and finds the client)."""
    row = data.clients[cid]
    result = Accounting(cid, _name(row), as_date(row.get("dob")), start, end, data.today)
    book = data.book
    letters_table = book["Letters"]
    told: set[str] = set()  # Sent ids a listed Letters row accounts for
    sent_by_id = {str(s.get("sent_id")): s for s in data.sent}
    sent_rows = {k: s for k, s in sent_by_id.items() if s.get("client_id") == cid}
    for letter in data.letters:
        job = jobs.get(str(letter.get("job") or ""))
        each = job.each if job else None
        record = str(letter.get("record") or "")
        own = str(letter.get("client_id") or "")
        via_record = _client_of_record(data, sent_by_id, record, each)
        if (own or via_record) != cid:
            continue
        cell = letters_table.cell(letter["_row"], "letter_id")
        day = as_date(letter.get("when"))
        in_period = day is None or start <= day <= end
        provider_id = str(letter.get("provider_id") or "")
        to_client = (job.to == "client") if job else not provider_id
        if to_client or (job is not None and job.each == "providers"):
            result.to_client += in_period
            continue
        if own and via_record and own != via_record:
            result.warnings.append(f"{cell}: client_id {own} and the client of record "
                                   f"{record} disagree; listed for {own}, the client the "
                                   "document was made about.")
        source = f"Letters {letter.get('letter_id') or 'row ' + str(letter['_row'])}"
        status = str(letter.get("status") or "")
        delivery = str(letter.get("delivery") or "")
        treated = STATUSES.get(status, f"status {status or '(empty)'} is not one refdesk writes")
        if status == "produced" and delivery == "email":
            treated = NOT_EMAILED
        if treated not in ("sent", "by hand"):
            if in_period:
                result.left_out.append(LeftOut(cell, source, day, treated))
            continue
        if record in sent_rows:
            told.add(record)  # the note accounts for the Sent row, in the period or not
        if not in_period:
            continue
        if day is None:
            result.warnings.append(f"{cell}: the row has no date (Letters column when); "
                                   "listed without one.")
        provider_id = provider_id or str(_provider_of_record(data, sent_by_id, record) or "")
        if not provider_id:
            result.left_out.append(LeftOut(cell, source, day, "no provider is named (Letters "
                                           "column provider_id), so the recipient is unknown"))
            continue
        document, information, purpose = _what(job, each, str(letter.get("template") or ""))
        purpose += _release_words(data, cid, provider_id, str(letter.get("release_id") or ""))
        name, practice, address = _recipient(data, provider_id)
        reason = str((sent_rows.get(record) or {}).get("reason") or "").strip()
        if reason:
            information += f" (\u201c{reason}\u201d)"
        result.disclosures.append(Disclosure(day, name, practice, address, document,
                                             information, purpose, delivery, treated, source,
                                             cell, provider_id))
    _sent_rows(data, book, result, told)
    result.disclosures.sort(key=lambda d: (d.date or dt.date.min, d.source))
    return result


def _sent_rows(data: Data, book: Book, result: Accounting, told: set[str]) -> None:
    """The client's Sent rows whose provider was told, not already listed as a letter."""
    table = book["Sent"]
    for sent in data.sent:
        if sent.get("client_id") != result.client_id or sent.get("sent_id") in told:
            continue
        sid = str(sent["sent_id"])
        cell = table.cell(sent["_row"], "provider_told_on")
        day = as_date(sent.get("provider_told_on"))
        if day is None:
            sent_on = as_date(sent.get("sent_on"))
            if sent_on is None or result.start <= sent_on <= result.end:
                result.left_out.append(LeftOut(cell, f"Sent {sid}", sent_on,
                                               "the provider was not told (provider_told_on "
                                               "is empty), so nothing went to them"))
            continue
        if not result.start <= day <= result.end:
            continue
        provider_id = str(sent.get("provider_id") or "")
        name, practice, address = _recipient(data, provider_id)
        document, information, purpose = SENT_ROW
        reason = str(sent.get("reason") or "").strip()
        if reason:
            information += f" (\u201c{reason}\u201d)"
        result.disclosures.append(Disclosure(day, name, practice, address, document,
                                             information, purpose, "", "told", f"Sent {sid}",
                                             cell, provider_id))


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)
