"""What a merge job works on: the records it makes documents for, whether a release allows
each, and the data each document's template receives, joined and friendly.

A template never sees a raw row. It gets the provider, the client, the referral and the
practice as dictionaries of text ready to print (dates as "November 23, 2026", lists as lists,
ICD-10-CM codes with their descriptions), and only what the job's release scope allows:
diagnoses reach a provider only under a release that covers "diagnosis".
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any

import numpy as np
import pandas as pd

from refdesk import characters
from refdesk.book import Book
from refdesk.config import Practice
from refdesk.consent import Consent
from refdesk.dates import as_date
from refdesk.merge import clinical, packet
from refdesk.merge.jobs import Condition, Job
from refdesk.merge.rows import Groups, Keyed, Row, Rows
from refdesk.schema import DELIVERY, LIST_SEPARATOR, RELEASE_SCOPE, WANTS

DOCTORS = {"MD", "DO", "DC", "DDS", "DMD", "DPM", "OD", "ND", "NMD", "PhD", "PsyD", "DPT",
           "DNP", "DACM"}
CLINICAL = ("SOAP notes", "progress reports", "discharge summary")
MARKETING = tuple(w for w in WANTS if w not in CLINICAL)


# -- friendly values ---------------------------------------------------------------------
def clean(value: Any) -> Any:
    """A cell as Python: None for empty, a date for a date, text trimmed with its line breaks
    as line feeds."""
    if value is None or value is pd.NaT:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, pd.Timestamp):
        return value.date() if value == value.normalize() else value.to_pydatetime()
    if isinstance(value, str):
        # Line breaks as other programs write them become "\n" (a line break in a letter);
        # other control characters stay, for `context` to refuse naming the cell.
        value = characters.trim(characters.line_breaks(value))
        return value or None
    if hasattr(value, "item"):  # numpy numbers
        return value.item()
    return value


def letter_date(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    return f"{value:%B} {value.day}, {value.year}"


def money(value: float | None) -> str:
    return "" if value is None else f"${value:,.2f}"


def items(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(LIST_SEPARATOR) if v.strip()]


def text(value: Any) -> str:
    return "" if value is None else str(value)


def city_line(city: Any, state: Any, zip_code: Any) -> str:
    place = ", ".join(x for x in (text(city), text(state)) if x)
    return " ".join(x for x in (place, text(zip_code)) if x)


@cache
def icd_description(code: str) -> str:
    import simple_icd_10_cm as icd

    try:
        return icd.get_description(code) if icd.is_valid_item(code) else ""
    except (ValueError, KeyError):
        return ""


def diagnoses(value: str | None) -> list[dict[str, str]]:
    """The codes of a diagnosis cell with their descriptions (a new list every call)."""
    return [{"code": code, "description": description} for code, description in
            _diagnoses(value if value.__class__ is str else str(value or ""))]


@cache
def _diagnoses(value: str) -> tuple[tuple[str, str], ...]:
    return tuple((c.upper(), icd_description(c.upper())) for c in items(value))


# -- the workbook as dictionaries ---------------------------------------------------------
def _text(value: Any) -> Any:
    """`clean` for a text cell, without its regular expressions when the text has no line
    break to rewrite and no space at its ends (almost every cell)."""
    if value.__class__ is str and value and not value[0].isspace() \
            and not value[-1].isspace() and "\r" not in value and "\x0b" not in value \
            and "\x0c" not in value:
        return value
    return clean(value)


#: Text `clean` changes: empty, a space (any Python counts) at an end, or a line break other
#: than a line feed (RE2 syntax, for Arrow).
_SPACES = "".join(f"\\x{{{i:x}}}" for i in range(0x3001) if chr(i).isspace())
_ODD_TEXT = f"^$|^[{_SPACES}]|[{_SPACES}]$|[\\r\\x0b\\x0c]"


def _shared(values: pd.Series) -> list[Any]:
    """`clean` of each distinct value of a column, every cell holding the same object as the
    others of its value: a million cells of a few hundred days or a few dozen cities are a few
    hundred Python objects, not a million."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    table = np.empty(len(uniques) + 1, dtype=object)
    table[:-1] = _distinct(pd.Series(uniques, dtype=values.dtype))
    table[-1] = None  # code -1: an empty cell
    return table[codes].tolist()


def _distinct(values: pd.Series) -> list[Any]:
    """`clean` of every value of a column of dates or text with no empty cell, at once."""
    if str(values.dtype).startswith("datetime64"):
        whole = (values == values.dt.normalize()).to_numpy()
        days = values.dt.date.to_numpy()
        times = values.dt.to_pydatetime()
        return [d if w else t for w, d, t in zip(whole, days, times, strict=True)]
    found = values.to_numpy(dtype=object, na_value=None).tolist()
    if getattr(values.array, "_pa_array", None) is not None:
        # Arrow finds the few cells with spaces at an end or a line break to rewrite.
        import pyarrow.compute as pc

        odd = pc.match_substring_regex(values.array._pa_array, _ODD_TEXT)
        for i in pc.indices_nonzero(pc.fill_null(odd, False)).to_pylist():
            found[i] = clean(found[i])
        return found
    return [_text(v) for v in found]


def _column(values: pd.Series) -> list[Any]:
    """`clean` of every cell of a column, worked out for the column at once: reading a sheet
    cell by cell through pandas costs more than reading the file."""
    kind = str(values.dtype)
    if kind.startswith("datetime64") or kind == "string":
        return _shared(values)
    if kind in ("Int64", "Float64", "boolean"):
        empty = values.isna().to_numpy()
        return [None if e else v for e, v in zip(empty, values.astype(object), strict=True)]
    return [clean(v) for v in values.to_numpy(dtype=object)]


def sheet_rows(book: Book, sheet: str) -> Rows | None:
    """A sheet's rows, each reading its cells when asked (None when the book lacks it)."""
    table = book.tables.get(sheet)
    return None if table is None else Rows(table.df, _column)


def _rows(book: Book, sheet: str) -> list[Row]:
    rows = sheet_rows(book, sheet)
    return [] if rows is None else rows.all()


def _dated_visits(rows: Rows, days: np.ndarray | None) -> np.ndarray:
    """The positions of the Visits rows that have a date, by day (rows of one day in sheet
    order): what every list of a referral's or a client's visits is sorted by. `days` are
    the sheet's days (`Data.visit_days`); None when its dates are not typed as dates."""
    if days is not None:
        at = np.flatnonzero(~np.isnat(days))
        return at[np.argsort(days[at], kind="stable")]
    if "date" not in rows.known:
        return np.empty(0, dtype=np.int64)
    values = rows.columns.full("date")  # a sheet typed otherwise: cell by cell
    dated = [as_date(v) for v in values]
    at = [i for i, v in enumerate(values) if v is not None]
    at.sort(key=lambda i: dated[i] or dt.date.min)
    return np.array(at, dtype=np.int64)


#: The sheets by how many cells they usually hold, the most first.
BY_SIZE = ("Clients", "Visits", "Referrals", "Releases", "Contacts", "Sent", "Letters",
           "Testimonials", "Providers")


def job_sheets(job: Job) -> tuple[str, ...]:
    """The sheets every run of a job reads (others it may read as it goes)."""
    release = ("Releases",) if job.needs_release else ()
    return {
        "providers": ("Providers", "Letters"),
        "referrals": ("Clients", "Visits", "Referrals", "Providers", "Letters", *release),
        "client-months": ("Clients", "Visits", "Referrals", "Letters", *release),
        "clients": ("Clients", "Referrals", "Releases", "Sent", "Providers", "Letters"),
        "sent": ("Sent", "Clients", "Providers", "Letters", *release),
    }.get(job.each, ())


class Data:
    """The workbook's rows, indexed the ways the merge needs them. Each index is made the first
    time it is asked for, and each sheet read then (a Book read lazily reads only the sheets a
    job uses). A sheet's row is one object wherever the indexes hold it."""

    def __init__(self, book: Book, today: dt.date) -> None:
        self.book = book
        self.today = today
        #: What a run computes once over all rows (refdesk.merge.requirements), by name.
        self.memo: dict[str, Any] = {}
        self._sheets: dict[str, Rows] = {}

    @classmethod
    def of(cls, book: Book, today: dt.date) -> Data:
        return cls(book, today)

    def prefetch(self, sheets: Iterable[str]) -> None:
        """Read these sheets now, the ones with the most cells first (a sheet of a book read
        lazily is otherwise read when first used): the read of a large sheet then happens
        before the indexes of the others fill memory, which keeps a command's peak low."""
        order = {name: n for n, name in enumerate(BY_SIZE)}
        for sheet in sorted(set(sheets), key=lambda s: order.get(s, len(order))):
            if sheet in self.book.tables:
                self.book.tables[sheet]

    def rows(self, sheet: str) -> Rows:
        """A sheet's rows, the same object every time (no rows and no columns when the book
        lacks the sheet)."""
        found = self._sheets.get(sheet)
        if found is None:
            found = sheet_rows(self.book, sheet)
            if found is None:
                found = Rows(pd.DataFrame(), _column)
            self._sheets[sheet] = found
        return found

    @cached_property
    def providers(self) -> Keyed:
        """Providers by provider_id."""
        return Keyed(self.rows("Providers"), "provider_id")

    @cached_property
    def clients(self) -> Keyed:
        """Clients by client_id."""
        return Keyed(self.rows("Clients"), "client_id")

    @cached_property
    def referrals(self) -> list[Row]:
        return self.rows("Referrals").where_set("referral_id")

    @cached_property
    def referrals_by_id(self) -> Keyed:
        """Referrals by referral_id."""
        return Keyed(self.rows("Referrals"), "referral_id")

    @cached_property
    def releases(self) -> dict[tuple[str, str], list[Row]]:
        """Releases by (client_id, provider_id), in sheet order."""
        found: dict[tuple[str, str], list[Row]] = defaultdict(list)
        for r in self.rows("Releases").all():
            client_id, provider_id = r.get("client_id"), r.get("provider_id")
            if client_id and provider_id:
                found[(client_id, provider_id)].append(r)
        return dict(found)

    @cached_property
    def consent(self) -> Consent:
        """The releases judged on `today` (refdesk.consent: the rules check applies too)."""
        return Consent(self.book["Releases"], self.today)

    @cached_property
    def _dated(self) -> tuple[Rows, np.ndarray]:
        """The Visits rows and the positions of the dated ones, by day."""
        rows = self.rows("Visits")
        return rows, _dated_visits(rows, self.visit_days)

    @cached_property
    def visits_by_referral(self) -> Groups:
        """A referral's dated visits, by day (each list made when first asked for)."""
        rows, at = self._dated
        return Groups(rows, "referral_id", at)

    @cached_property
    def visits_by_client(self) -> Groups:
        """A client's dated visits, by day (each list made when first asked for)."""
        rows, at = self._dated
        return Groups(rows, "client_id", at)

    @cached_property
    def visit_days(self) -> np.ndarray | None:
        """Each Visits row's day (datetime64[D], NaT for none) by position on the sheet, when
        the date column is typed as dates; None otherwise."""
        table = self.book.tables.get("Visits")
        if table is None or "date" not in table.df.columns:
            return None
        dates = table.df["date"]
        if not str(dates.dtype).startswith("datetime64"):
            return None
        return dates.to_numpy().astype("datetime64[D]")

    @cached_property
    def sent(self) -> list[Row]:
        return self.rows("Sent").where_set("sent_id")

    @cached_property
    def testimonials(self) -> list[Row]:
        return self.rows("Testimonials").all()

    @cached_property
    def letters(self) -> list[Row]:
        return self.rows("Letters").all()

    def providers_of(self, client_id: str) -> list[str]:
        """Providers linked to a client: who referred them, whom they were sent to."""
        found: list[str] = []
        client = self.clients.get(client_id) or {}
        linked = self.memo.get("providers_by_client")
        if linked is None:  # grouped once: asked for every client, a scan would be quadratic
            linked = defaultdict(list)
            for sheet, key in (("Referrals", "referral_id"), ("Sent", "sent_id")):
                rows = self.rows(sheet)
                if not {key, "client_id", "provider_id"} <= rows.known:
                    continue
                # Read off the columns: no row object made for each referral.
                for record_id, cid, pid in zip(
                        rows.columns.full(key), rows.columns.full("client_id"),
                        rows.columns.full("provider_id"), strict=True):
                    if record_id:
                        linked[cid].append(pid)
            self.memo["providers_by_client"] = linked
        candidates = [client.get("referred_by_provider"), *linked.get(client_id, ())]
        for provider_id in candidates:
            if provider_id and provider_id in self.providers and provider_id not in found:
                found.append(provider_id)
        return found

    def valid_release(self, client_id: str, provider_id: str, scope: Iterable[str], *,
                      why: bool = True) -> tuple[dict[str, Any] | None, str]:
        """The latest release allowing `scope` today, or None and why not (ids, cells and
        dates only: never the client's condition; with `why` false, not worded). Fails
        closed: a release with a date that does not read as one allows nothing."""
        # Most answers are yes: the reasons for no are worded only when the answer is no.
        row, reason = self.consent.allowing(client_id, provider_id, scope), ""
        if row is None and why:
            row, reason = self.consent.allow(client_id, provider_id, scope)
        if row is None:
            return None, reason
        rows = self.rows("Releases")
        at = rows.position(row)
        release = rows.row(at) if at is not None else None
        if release is None or (release.get("client_id"), release.get("provider_id")) != (
                client_id, provider_id):
            return None, f"release on row {row} has no ids"
        return release, ""


# -- records ------------------------------------------------------------------------------
@dataclass
class Record:
    """One document to make: its key, the row it comes from and the rows it joins."""

    key: str
    sheet: str
    row: int | None
    fields: dict[str, Any]
    provider_id: str | None = None
    client_id: str | None = None
    month: str | None = None
    release: dict[str, Any] | None = None


def _month_key(day: dt.date) -> str:
    return f"{day.year}-{day.month:02d}"


def previous_month(today: dt.date) -> str:
    first = today.replace(day=1)
    return _month_key(first - dt.timedelta(days=1))


def records(data: Data, job: Job) -> Iterator[Record]:
    """Every record of the job's kind, one at a time, before its conditions are applied (a
    client-month whose month a condition rules out is left out already)."""
    if job.each == "providers":
        for pid, row in data.providers.items():
            yield Record(pid, "Providers", row["_row"], row, provider_id=pid)
    elif job.each == "referrals":
        for row in data.referrals:
            fields = row.with_values(
                visits_done=data.visits_by_referral.size(row["referral_id"]))
            yield Record(row["referral_id"], "Referrals", row["_row"], fields,
                         provider_id=row.get("provider_id"), client_id=row.get("client_id"))
    elif job.each == "clients":
        for cid, row in data.clients.items():
            missing = any(data.valid_release(cid, pid, (), why=False)[0] is None
                          for pid in data.providers_of(cid))
            fields = row.with_values(missing_release="yes" if missing else "no")
            yield Record(cid, "Clients", row["_row"], fields, client_id=cid)
    elif job.each == "sent":
        for row in data.sent:
            yield Record(row["sent_id"], "Sent", row["_row"], row,
                         provider_id=row.get("provider_id"), client_id=row.get("client_id"))
    else:  # client-months
        # A condition on the month alone is tested before the record is made: most of a
        # large sheet's client-months are not last month's.
        by_month = [c for c in job.where if c.field == "month"]
        allowed: dict[str, bool] = {}  # each month judged once
        for cid, months in _months_by_client(data):
            client = data.clients.get(cid)
            for month in months:
                ok = allowed.get(month)
                if ok is None:
                    stub = Record(month, "Visits", None, {"month": month})
                    ok = allowed[month] = all(matches(data, stub, c) for c in by_month)
                if not ok:
                    continue
                fields = client.with_values(month=month) if client is not None else \
                    {"client_id": cid, "month": month}
                yield Record(f"{cid} {month}", "Visits", None, fields, client_id=cid,
                             month=month)


def _months_by_client(data: Data) -> Iterator[tuple[Any, list[str]]]:
    """Each client with visits, and the months of them ("2026-10") in order: read off the
    date column at once, not visit by visit."""
    groups = data.visits_by_client
    if data.visit_days is None:  # dates not typed as dates: visit by visit
        for cid, visits in groups.items():
            yield cid, sorted({_month_key(v["date"]) for v in visits})
        return
    months = data.visit_days.astype("datetime64[M]").astype(np.int64)  # months from 1970
    for cid, mine in groups.distinct(months):
        yield cid, [f"{1970 + m // 12}-{m % 12 + 1:02d}" for m in mine]


def _value(data: Data, record: Record, name: str) -> Any:
    prefix, _, column = name.partition(".")
    if column:
        if prefix == "provider":
            row = data.providers.get(record.provider_id or "") or {}
        else:
            row = data.clients.get(record.client_id or "") or {}
        return row.get(column)
    return record.fields.get(name)


def matches(data: Data, record: Record, condition: Condition) -> bool:
    value = _value(data, record, condition.field)
    if condition.test == "set":
        return value not in (None, "")
    if condition.test == "empty":
        return value in (None, "")
    if condition.test == "within":
        day = as_date(value)
        return day is not None and 0 <= (data.today - day).days <= int(condition.values[0])
    wanted = data.memo.get(("wanted", condition))
    if wanted is None:  # once per condition, not per record
        wanted = {v.strip().lower() for v in condition.values}
        if condition.field == "month" and "previous" in wanted:
            wanted = (wanted - {"previous"}) | {previous_month(data.today)}
        data.memo[("wanted", condition)] = wanted
    if isinstance(value, dt.date):
        return value.isoformat() in wanted
    if value is None:
        return False
    as_text = str(value).strip().lower()
    if as_text in wanted:
        return True
    # A list cell ("a; b") matches when one of its items does; a cell with no separator is
    # one item, already compared.
    return LIST_SEPARATOR in as_text and bool({i.lower() for i in items(str(value))} & wanted)


def done(data: Data, job: Job, record: Record) -> bool:
    """A document of this job for this record is in Letters (and not failed), recently
    enough when the job repeats."""
    by_record = data.memo.get("letters_by_record")
    if by_record is None:  # grouped once: asked for every record, a scan would be quadratic
        by_record = defaultdict(list)
        for letter in data.letters:
            by_record[(letter.get("job"), letter.get("record"))].append(letter)
        data.memo["letters_by_record"] = by_record
    for letter in by_record.get((job.name, record.key), ()):
        if letter.get("status") == "failed":
            continue
        if job.again_after_days <= 0:
            return True
        when = as_date(letter.get("when"))
        if when is None or (data.today - when).days < job.again_after_days:
            return True
    return False


# -- what the templates receive ----------------------------------------------------------
def practice_context(practice: Practice) -> dict[str, Any]:
    values = {k: getattr(practice, k) for k in practice.__dataclass_fields__}
    values.update(
        conditions=list(practice.conditions), benefits=list(practice.benefits),
        services=list(practice.services),
        signature=", ".join(x for x in (practice.therapist, practice.credentials) if x),
        city_line=city_line(practice.city, practice.state, practice.zip),
        signature_image=signature_picture(practice.signature_image),
        **packet.letter_sentences(practice))
    return values


@cache
def signature_picture(path: str) -> Any:
    """[practice] signature_image as a picture a template places, 15 mm high (read once);
    "" when unset."""
    from docx.shared import Mm

    from refdesk.merge.package import Picture

    return Picture(path, height=Mm(15)) if path else ""


#: What may follow a last name: "Dr. Okafor", not "Dr. Jr.".
SUFFIXES = {"jr", "sr", "ii", "iii", "iv"}


def provider_context(row: dict[str, Any]) -> dict[str, Any]:
    """A provider as letters print them. `salutation` is "Dr. Lastname" for a doctor and the
    name with credentials ("Sofia Alvarez, PA-C") for anyone else, in every template."""
    name, credentials = text(row.get("name")), text(row.get("credentials"))
    parts = [w for w in name.split() if w.strip(".,").lower() not in SUFFIXES] or name.split()
    last = parts[-1].rstrip(",") if parts else name
    doctor = any(c.strip() in DOCTORS for c in re.split(r"[,;/ ]+", credentials))
    full_name = ", ".join(x for x in (name, credentials) if x)
    return {
        "id": text(row.get("provider_id")), "name": name, "credentials": credentials,
        "full_name": full_name,
        "salutation": f"Dr. {last}" if doctor and last else full_name,
        "practice": text(row.get("practice")), "specialty": text(row.get("specialty")),
        "npi": text(row.get("npi")), "street": text(row.get("street")),
        "city": text(row.get("city")), "state": text(row.get("state")),
        "zip": text(row.get("zip")),
        "city_line": city_line(row.get("city"), row.get("state"), row.get("zip")),
        "phone": text(row.get("phone")), "fax": text(row.get("fax")),
        "email": text(row.get("email")), "staff_contact": text(row.get("staff_contact")),
    }


def client_context(row: dict[str, Any]) -> dict[str, Any]:
    first, last = text(row.get("first_name")), text(row.get("last_name"))
    return {
        "id": text(row.get("client_id")), "first_name": first, "last_name": last,
        "name": " ".join(x for x in (first, last) if x), "dob": letter_date(row.get("dob")),
        "phone": text(row.get("phone")), "email": text(row.get("email")),
        "street": text(row.get("street")),
        "city_line": city_line(row.get("city"), row.get("state"), row.get("zip")),
        "insurance_carrier": text(row.get("insurance_carrier")),
        "member_id": text(row.get("member_id")),
    }


def _checks(labels: Iterable[str], chosen: Iterable[str]) -> list[dict[str, Any]]:
    chosen_lower = {c.lower() for c in chosen}
    return [{"label": label, "checked": label.lower() in chosen_lower} for label in labels]


def context(data: Data, job: Job, record: Record, practice: Practice) -> dict[str, Any]:
    """Everything a template of this job may use for this record. A value holding a
    character no document can hold (refdesk.characters) stops the job, naming its cell,
    before anything is made."""
    ctx = _context(data, job, record, practice)
    if _sources_clean(data, ctx) or not characters.any_forbidden(ctx):
        return ctx
    for path, value in characters.strings(ctx):
        if characters.FORBIDDEN.search(value):
            raise characters.CharacterError(_refusal(data, job, record, practice, path))
    return ctx


#: FORBIDDEN in RE2's syntax, for Arrow (text in Arrow is UTF-8: it holds no surrogate).
_FORBIDDEN_RE2 = r"[\x00-\x08\x0e-\x1f\x{fffe}\x{ffff}]"


def _sheet_clean(table: Any) -> bool:
    """Whether no text cell of a sheet holds a character no document can hold: one search
    over each text column, in Arrow."""
    import pyarrow.compute as pc

    for name in table.df.columns:
        column = table.df[name]
        kind = str(column.dtype)
        if kind.startswith("datetime64") or kind in ("Int64", "Float64", "boolean"):
            continue
        array = getattr(column.array, "_pa_array", None)
        if array is None:
            return False  # not text Arrow can search: the documents' data is searched instead
        if pc.any(pc.match_substring_regex(array, _FORBIDDEN_RE2)).as_py():
            return False
    return True


def _sources_clean(data: Data, ctx: dict[str, Any]) -> bool:
    """Whether nothing a document's data comes from can hold a character no document can
    hold: no cell of the sheets read so far (each searched once, as a column), and not the
    practice's settings. Then no document's data is searched one by one."""
    tables = data.book.tables
    loaded = getattr(tables, "loaded", None)
    known = data.memo.setdefault("clean_sheets", {})
    for name in tables:
        if name not in known and (loaded is None or loaded(name)):
            known[name] = _sheet_clean(tables[name])
    if not all(known.values()):
        return False
    config = (ctx.get("practice"), ctx.get("signed"))
    if data.memo.get("clean_config") != config:  # the same settings every document
        if characters.any_forbidden(list(config)):
            return False
        data.memo["clean_config"] = config
    return True


def _once(data: Data, kind: str, key: object, make: Any) -> dict[str, Any]:
    """`make()` worked out once a run for `key` (the practice, a provider's row), a copy of it
    every time: a large run's documents name the same few providers and one practice.
    `_refusal`, which changes cells to find the one at fault, empties these."""
    known = data.memo.setdefault(kind, {})
    found = known.get(key)
    if found is None:
        found = known[key] = make()
    return {k: list(v) if v.__class__ is list else v for k, v in found.items()}


def _provider(data: Data, row: dict[str, Any]) -> dict[str, Any]:
    return _once(data, "provider contexts", id(row), lambda: provider_context(row))


def _context(data: Data, job: Job, record: Record, practice: Practice) -> dict[str, Any]:
    ctx: dict[str, Any] = {"practice": _once(data, "practice context", id(practice),
                                             lambda: practice_context(practice)),
                           "today": letter_date(data.today),
                           "signed": clinical.signed(practice, data.today)}
    provider = data.providers.get(record.provider_id or "")
    client = data.clients.get(record.client_id or "")
    share_diagnosis = job.to == "client" or "diagnosis" in job.scope
    if job.each in ("providers", "referrals", "sent") and provider is not None:
        ctx["provider"] = _provider(data, provider)
    if job.each != "providers" and client is not None:
        ctx["client"] = client_context(client)
    if job.each == "providers" and provider is not None:
        # Quotes that fit the provider's specialty, never a client's name (packet.choose).
        ctx["testimonials"] = packet.choose(data, job.name, provider, practice)
        wants = items(provider.get("wants"))
        ctx["clinical"] = _checks(CLINICAL, wants)
        ctx["marketing"] = _checks(MARKETING, wants)
        ctx["delivery_choices"] = _checks(DELIVERY, [provider.get("delivery") or ""])
    elif job.each == "referrals":
        row = record.fields
        visits = data.visits_by_referral.get(record.key, [])
        authorized = row.get("visits_authorized")
        ctx["referral"] = {
            "id": record.key, "received_on": letter_date(row.get("received_on")),
            "services": items(row.get("services")), "per_week": text(row.get("per_week")),
            "weeks": text(row.get("weeks")), "visits_authorized": text(authorized),
            "first_visit": letter_date(row.get("first_visit")), "status": text(row.get("status")),
            "diagnoses": diagnoses(row.get("diagnosis")) if share_diagnosis else [],
        }
        care = clinical.progress(data, record, job)  # visits with pain, outcome, notes
        ctx["progress"] = {
            "visits_done": str(len(visits)),
            "visits_remaining": (str(max(int(authorized) - len(visits), 0))
                                 if authorized is not None else ""),
            "last_visit": letter_date(visits[-1]["date"]) if visits else "",
            "visits": care.pop("visits"),
        }
        ctx.update(care)
    elif job.each == "clients":
        providers = [_provider(data, data.providers[p]) for p in data.providers_of(record.key)]
        ctx["providers"] = providers
        referring = data.providers.get(text(client.get("referred_by_provider"))) \
            if client is not None else None
        ctx["referring"] = _provider(data, referring) if referring is not None else None
        ctx["scope_choices"] = _checks(RELEASE_SCOPE, ())
        ctx["expires_on"] = letter_date(_one_year_on(data.today))
    elif job.each == "sent":
        ctx["sent"] = packet.sent_context(data.today, record.fields)
        ctx["release"] = packet.release_context(record.release)
    elif job.each == "client-months":
        ctx.update(clinical.bill(data, record, practice))
    return ctx


def _rows_behind(data: Data, record: Record) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every row a record's data may come from, as (sheet, row): its own rows first."""
    seen: set[int] = set()
    visits = [v for vs in (*data.visits_by_referral.values(), *data.visits_by_client.values())
              for v in vs]
    groups: list[tuple[str, Iterable[dict[str, Any]]]] = [
        ("Clients" if record.sheet == "Visits" else record.sheet, [record.fields]),
        ("Providers", [data.providers.get(record.provider_id or "") or {}]),
        ("Clients", [data.clients.get(record.client_id or "") or {}]),
        ("Providers", data.providers.values()), ("Clients", data.clients.values()),
        ("Referrals", data.referrals), ("Visits", visits), ("Sent", data.sent),
        ("Testimonials", data.testimonials)]
    for sheet, rows in groups:
        for row in rows:
            if row and id(row) not in seen:
                seen.add(id(row))
                yield sheet, row


def _forget_contexts(data: Data) -> None:
    for kind in ("provider contexts", "practice context"):
        data.memo.pop(kind, None)


def _at(ctx: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(ctx, list) and part.isdigit() and int(part) < len(ctx):
            ctx = ctx[int(part)]
        elif isinstance(ctx, dict) and part in ctx:
            ctx = ctx[part]
        else:
            return None
    return ctx


def _refusal(data: Data, job: Job, record: Record, practice: Practice, path: str) -> str:
    """Where the character at `path` of a record's data comes from, and the fix. The cell is
    found by taking the character out of each suspect cell in turn and building the data
    again: the cell whose cleaning clears `path` is the one."""
    fix = ("Delete the character in the cell (it is invisible: retyping the text around it "
           "does it), then run the job again. Nothing was made.")
    for sheet, row in _rows_behind(data, record):
        for column, value in list(row.items()):
            found = characters.first_forbidden(value) if isinstance(value, str) else None
            if found is None or column.startswith("_") or "_row" not in row:
                continue
            row[column] = characters.FORBIDDEN.sub("", value)
            _forget_contexts(data)
            try:
                again = _at(_context(data, job, record, practice), path)
            finally:
                row[column] = value
                _forget_contexts(data)
            if not (isinstance(again, str) and characters.FORBIDDEN.search(again)):
                place = data.book[sheet].cell(row["_row"], column)
                return (f"job {job.name}: {place} ({column}) holds "
                        f"{characters.what(found[1])} at character {found[0]}, which no "
                        f"document can hold. {fix}")
    value = _at(_context(data, job, record, practice), path)
    found = characters.first_forbidden(value) if isinstance(value, str) else None
    char = characters.what(found[1]) if found else "a character"
    if path.startswith("practice."):
        return (f"job {job.name}: config.toml [practice] {path.split('.')[1]} holds {char}, "
                "which no document can hold. Delete it there, then run the job again. "
                "Nothing was made.")
    return (f"job {job.name}: {path} of record {record.key} holds {char}, which no document "
            f"can hold. {fix}")


def _one_year_on(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def bill_visits(data: Data, record: Record) -> list[dict[str, Any]]:
    """The visits a client-month's super bill lists (worked out once a record)."""
    known = data.memo.setdefault("bill_visits", {})
    key = (record.client_id, record.month)
    found = known.get(key)
    if found is None:
        found = known[key] = [v for v in data.visits_by_client.get(record.client_id or "", [])
                              if _month_key(v["date"]) == record.month]
    return found


def diagnosis_source(data: Data, visit: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Where a visit's diagnoses come from, as (sheet, row): its referral when that names
    any, or else the client (Clients.diagnosis). Worked out once for each referral and
    client a visit names."""
    known = data.memo.setdefault("diagnosis_source", {})
    key = (visit.get("referral_id") or "", visit.get("client_id") or "")
    found = known.get(key)
    if found is None:
        referral = data.referrals_by_id.get(key[0])
        if referral is not None and items(referral.get("diagnosis")):
            found = "Referrals", referral
        else:
            found = "Clients", data.clients.get(key[1]) or {}
        known[key] = found
    return found


def visit_diagnoses(data: Data, visit: dict[str, Any]) -> list[dict[str, str]]:
    """A visit's diagnoses: its referral's, or else the client's own (Clients.diagnosis)."""
    return diagnoses(diagnosis_source(data, visit)[1].get("diagnosis"))


#: Where each top-level name of a template's data comes from, for messages.
SOURCES: dict[str, str] = {
    "practice": "config.toml [practice]",
    "today": "the day the job runs",
    "signed": "config.toml [practice] (signature_image, therapist) and the day the job runs",
    "provider": "the Providers sheet",
    "client": "the Clients sheet",
    "referral": "the Referrals sheet",
    "progress": "the Visits sheet, for the referral",
    "outcome": "the referral's measure and goal, and the Visits' measure_score and pain",
    "notes": "the Visits' subjective, objective, assessment and plan (the latest of each)",
    "testimonials": "the Testimonials sheet (those with permission)",
    "clinical": "the provider's wants (clinical documents)",
    "marketing": "the provider's wants (marketing pieces)",
    "delivery_choices": "the provider's delivery",
    "providers": "the client's providers (Referrals, Sent, Clients.referred_by_provider)",
    "scope_choices": "the release scopes",
    "expires_on": "a year from today",
    "sent": "the Sent sheet",
    "release": "the client's release for the provider (Releases)",
    "diagnoses": "the diagnoses of the month's visits (their referrals', else Clients.diagnosis)",
    "referring": "the referring provider (Clients.referred_by_provider; on a super bill, the "
                 "provider of the referral behind the month's visits)",
    "bill": "the Visits sheet, for the client and month",
}


def shape(job: Job, practice: Practice) -> dict[str, Any]:
    """The data a job's templates receive, with every key present and lists holding one
    example item: what `fields` of a template are checked against before anything is made."""
    checks = [{"label": "", "checked": False}]
    ctx: dict[str, Any] = {"practice": practice_context(practice), "today": "",
                           "signed": {"image": "", "name": "", "date": "", "line": ""}}
    if job.each in ("providers", "referrals", "sent"):
        ctx["provider"] = provider_context({})
    if job.each != "providers":
        ctx["client"] = client_context({})
    if job.each == "providers":
        ctx.update(testimonials=[{"quote": "", "attribution": ""}], clinical=checks,
                   marketing=checks, delivery_choices=checks)
    elif job.each == "referrals":
        ctx["referral"] = {k: "" for k in ("id", "received_on", "per_week", "weeks",
                                           "visits_authorized", "first_visit", "status")}
        ctx["referral"].update(services=[""], diagnoses=[{"code": "", "description": ""}])
        care = clinical.progress_shape()
        ctx["progress"] = {"visits_done": "", "visits_remaining": "", "last_visit": "",
                           "visits": care.pop("visits")}
        ctx.update(care)
    elif job.each == "clients":
        ctx.update(providers=[provider_context({})], scope_choices=checks, expires_on="",
                   referring=provider_context({}))
    elif job.each == "sent":
        ctx["sent"] = {"sent_on": "", "reason": "", "when": "", "recent": False}
        ctx["release"] = {"shares": "", "signed_on": "", "expires_on": "", "scope": [""]}
    else:
        ctx.update(clinical.bill_shape(provider_context({})))
    return ctx


def has_path(ctx: dict[str, Any], path: str) -> bool:
    node: Any = ctx
    for part in path.split("."):
        if isinstance(node, list):
            node = node[0] if node else {}
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True
