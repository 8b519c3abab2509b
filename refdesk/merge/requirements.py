"""What a record must have before its document is made, beyond the job's `where`.

A job's `require` names these (config.toml); each test returns "" when the record may go, or
the reason it is skipped, in words that name rows and cells but never a client's condition.
When a job does not say, the kind of job decides: an introductory packet is never sent to a
likely duplicate of another provider, and a super bill needs a diagnosis on every line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from refdesk.check.sheets import likely_same
from refdesk.dates import as_date
from refdesk.merge.clinical import SOAP

if TYPE_CHECKING:
    from refdesk.merge.data import Data, Record

#: Visits' columns that make a note a provider can read in a report.
NOTE_COLUMNS = (*(column for column, _ in SOAP), "measure_score")
#: Stages of a provider who already knows the practice: a packet to their duplicate repeats it.
KNOWN_STAGES = ("packet sent", "referring", "dormant", "declined")


def new_notes(data: Data, record: Record) -> str:
    """A progress report needs a visit with notes after the last report (any, before the
    first)."""
    last = as_date(record.fields.get("last_report_sent"))
    for visit in data.visits_by_referral.get(record.key, []):
        day = as_date(visit.get("date"))
        if day is None or (last is not None and day <= last):
            continue
        if any(visit.get(c) not in (None, "") for c in NOTE_COLUMNS):
            return ""
    since = f"since the last report on {last.isoformat()}" if last else "yet"
    return (f"no visit notes {since} (Visits columns {', '.join(NOTE_COLUMNS[:4])}): a report "
            "with nothing new is not sent")


def diagnosis(data: Data, record: Record) -> str:
    """Every visit of a super bill points to a diagnosis: its referral's, or else the
    client's own."""
    from refdesk.merge.data import bill_visits, diagnosis_source, visit_diagnoses

    missing = []
    for visit in bill_visits(data, record):
        found = visit_diagnoses(data, visit)
        if any(not d["description"] for d in found):
            sheet, row = diagnosis_source(data, visit)
            place = data.book[sheet].cell(row.get("_row", 0), "diagnosis")
            return (f"{place} holds a code that is not a valid ICD-10-CM code (refdesk check "
                    "names it): correct it there; an insurer returns a bill with an invalid "
                    "code")
        if not found:
            missing.append(visit)
    if not missing:
        return ""
    where = ", ".join(data.book["Visits"].cell(v["_row"], "referral_id") for v in missing[:3])
    more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
    client = data.clients.get(record.client_id or "") or {}
    own = (data.book["Clients"].cell(client["_row"], "diagnosis") if "_row" in client
           else "Clients.diagnosis")
    return (f"{len(missing)} visit(s) with no diagnosis ({where}{more}): link the visit to a "
            f"referral that has one, or fill in the client's own diagnosis in {own}; an "
            "insurer returns a bill without one (require = [] in the job makes it optional)")


def _duplicates(data: Data) -> dict[str, list[str]]:
    """provider_id -> the provider_ids of rows that look like the same person (the rule of
    `check`'s near-duplicate warning), computed once per run."""
    if "duplicates" in data.memo:
        return data.memo["duplicates"]
    ids = list(data.providers)
    rows = [data.providers[i] for i in ids]
    found: dict[str, list[str]] = {}
    for i, j in likely_same(*([r.get(c) for r in rows]
                              for c in ("name", "practice", "phone", "npi"))):
        found.setdefault(ids[i], []).append(ids[j])
        found.setdefault(ids[j], []).append(ids[i])
    data.memo["duplicates"] = found
    return found


def no_likely_duplicate(data: Data, record: Record) -> str:
    """No packet to a row that looks like another provider who already knows the practice,
    nor to the later of two such rows that are both prospects."""
    me = data.providers.get(record.provider_id or "") or {}
    for other_id in _duplicates(data).get(record.provider_id or "", []):
        other = data.providers[other_id]
        stage = str(other.get("stage") or "").strip().lower()
        if stage in KNOWN_STAGES or other.get("_row", 0) < me.get("_row", 0):
            place = data.book["Providers"].cell(other["_row"], "name")
            return (f"looks like {other.get('name')} ({other_id}, {place}, stage "
                    f"{stage or 'empty'}): the same person typed twice gets no second packet; "
                    "if they are two people, give each its NPI")
    return ""


def _postal(row: dict[str, Any]) -> bool:
    """A row has an address a letter can reach: a street, and a city or ZIP code."""
    return bool(row.get("street")) and bool(row.get("city") or row.get("zip"))


def referring_address(data: Data, record: Record) -> str:
    """A client's card to their doctor needs the doctor (Clients.referred_by_provider), the
    doctor's practice address and the client's own address to return it to."""
    client = data.clients.get(record.client_id or "") or {}
    clients = data.book["Clients"]
    place = clients.cell(client.get("_row", 0), "referred_by_provider")
    provider_id = client.get("referred_by_provider")
    if not provider_id:
        return f"no referring provider in {place}: the card has no doctor to go to"
    provider = data.providers.get(provider_id)
    if provider is None:
        return f"{place} names {provider_id}, who is not in the Providers sheet"
    if not _postal(provider):
        where = data.book["Providers"].cell(provider["_row"], "street")
        return (f"{provider_id} has no street and city ({where}): the envelope needs the "
                "practice's address")
    if not _postal(client):
        return (f"no address for the client ({clients.cell(client.get('_row', 0), 'street')}): "
                "the envelope carries the client's return address")
    return ""


#: name -> (the kinds of job it applies to, the test).
REQUIREMENTS: dict[str, tuple[tuple[str, ...], Callable[[Data, Record], str]]] = {
    "new notes": (("referrals",), new_notes),
    "diagnosis": (("client-months",), diagnosis),
    "no likely duplicate": (("providers",), no_likely_duplicate),
    "referring address": (("clients",), referring_address),
}
#: What a job requires when config.toml does not say.
DEFAULTS: dict[str, tuple[str, ...]] = {
    "providers": ("no likely duplicate",),
    "client-months": ("diagnosis",),
}


def unmet(data: Data, names: tuple[str, ...], record: Record) -> str:
    """The first requirement the record does not meet, as the reason it is skipped."""
    for name in names:
        reason = REQUIREMENTS[name][1](data, record)
        if reason:
            return reason
    return ""
