"""`refdesk todo`: the week's actions, read from the workbook.

Follow-ups due, thank-you letters owed, progress reports owed, introductory packets to send,
referrals not yet scheduled, releases about to expire and referrers going quiet. Each action
names who, why, the next step, and the `refdesk merge` job that does it where there is one.

Every action is worked out as of its day: a contact, letter, visit, release, revocation or
referral dated after the day did not exist yet, so it neither settles nor hides an action
that was due then (`todo --on` a past day lists what that day's list held).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from refdesk.book import Book
from refdesk.config import Config
from refdesk.consent import Consent
from refdesk.dates import as_date
from refdesk.merge.data import Data, _rows, items, letter_date
from refdesk.rhythm import allowed_days, usual_gap

#: The kinds of action, in the order the list shows them.
KINDS = {
    "follow-up": "Follow up",
    "thank-you": "Thank-you owed",
    "progress-report": "Progress report owed",
    "intro-packet": "Packet to send",
    "unscheduled": "Not yet scheduled",
    "release-in-doubt": "Release date in doubt",
    "release-expiring": "Release expiring",
    "going-dormant": "Referrer going quiet",
}

#: The kinds whose `who` names a client (the others name a provider).
CLIENT_KINDS = frozenset({"unscheduled", "release-in-doubt", "release-expiring"})


@dataclass(frozen=True)
class Rules:
    """The thresholds, from config.toml [program]."""

    dormant_after_days: int = 90
    report_every_visits: int = 6
    report_every_weeks: int = 4
    unscheduled_after_days: int = 7
    release_warning_days: int = 30
    quiet_warning_days: int = 14
    thank_you_within_days: int = 30
    #: "days" (dormant_after_days) or "rhythm" (refdesk.rhythm), and its multiple.
    dormant_by: str = "days"
    rhythm_times: int = 3

    @classmethod
    def of(cls, config: Config | None) -> Rules:
        values = getattr(config, "program", None) or {}
        return cls(**{k: v for k, v in values.items() if k in cls.__dataclass_fields__})


def _shift(day: dt.date, days: int = 0, weeks: int = 0) -> dt.date:
    """`day` moved by a threshold, held at the first or last date there is: a setting (or a
    date near 9999) never overflows."""
    try:
        return day + dt.timedelta(days=days, weeks=weeks)
    except OverflowError:
        return dt.date.max if days + 7 * weeks > 0 else dt.date.min


@dataclass(frozen=True)
class Action:
    kind: str
    due: dt.date
    who: str
    detail: str
    next_step: str
    job: str = ""
    record: str = ""
    #: The record ids that make this action one of its kind, when `record` alone does not
    #: (a client's releases for two providers): a calendar's stable id comes from them.
    ids: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, ...]:
        """The kind and the record ids: the same action on every run, whatever its due day."""
        return (self.kind, *(self.ids or (self.record,)))

    def record_dict(self) -> dict[str, Any]:
        values = asdict(self)
        del values["ids"]
        values["due"] = self.due.isoformat()
        values["what"] = KINDS[self.kind]
        return values

    @classmethod
    def record_fields(cls) -> list[str]:
        """The keys of `record_dict`, in order: the CSV header, also when nothing is due."""
        return [*(k for k in cls.__dataclass_fields__ if k != "ids"), "what"]


def _letters_by_record(data: Data, job: str, on: dt.date) -> dict[str, dt.date | None]:
    """For each record, the day of its latest `job` document produced by `on` (not failed);
    None for a document whose time does not read (it counts as made, on no known day)."""
    found: dict[str, dt.date | None] = {}
    for letter in data.letters:
        if letter.get("job") != job or letter.get("status") == "failed":
            continue
        record, day = str(letter.get("record") or ""), as_date(letter.get("when"))
        if not record or (day is not None and day > on):
            continue  # made after the day: not yet made then
        before = found.get(record)
        found[record] = day if before is None or (day is not None and day > before) else before
    return found


def _provider_label(data: Data, provider_id: str | None) -> str:
    row = data.providers.get(provider_id or "") or {}
    name = row.get("name") or provider_id or "?"
    practice = row.get("practice")
    return f"{name} ({practice})" if practice else str(name)


def _client_label(data: Data, client_id: str | None) -> str:
    row = data.clients.get(client_id or "") or {}
    name = " ".join(str(x) for x in (row.get("first_name"), row.get("last_name")) if x)
    return f"{name} ({client_id})" if name else str(client_id)


def follow_ups(data: Data, contacts: list[dict[str, Any]], on: dt.date) -> list[Action]:
    """Providers.next_follow_up and Contacts.follow_up_on that are due, one line a provider:
    whom to ask for, and the last thing said. A contact's follow-up is done once a later
    contact with the same provider exists by `on`; contacts made after `on` do not count."""
    latest: dict[str, dict[str, Any]] = {}
    latest_day: dict[str, dt.date] = {}
    for c in contacts:
        pid, day = c.get("provider_id"), as_date(c.get("date"))
        if pid and day and day <= on and (pid not in latest or day >= latest_day[pid]):
            latest[pid], latest_day[pid] = c, day
    due: dict[str, dt.date] = {}
    for pid, row in data.providers.items():
        day = as_date(row.get("next_follow_up"))
        if day and day <= on:
            due[pid] = min(day, due.get(pid, day))
    for c in contacts:
        pid, day = c.get("provider_id"), as_date(c.get("follow_up_on"))
        if not pid or not day or day > on or latest.get(pid) is not c:
            continue
        due[pid] = min(day, due.get(pid, day))
    actions = []
    for pid, day in due.items():
        row = data.providers.get(pid) or {}
        parts = []
        if row.get("staff_contact"):
            parts.append(f"ask for {row['staff_contact']}")
        last = latest.get(pid)
        if last:
            said = last.get("summary") or last.get("next_step") or "no notes"
            parts.append(f"last contact {letter_date(latest_day[pid])}: {said}")
        actions.append(Action("follow-up", day, _provider_label(data, pid), "; ".join(parts),
                              f"call {row.get('phone') or 'them'}", record=pid))
    return actions


def thank_yous(data: Data, rules: Rules, on: dt.date) -> list[Action]:
    """First visits of the last weeks without a thank-you by `on` (older ones are past
    thanking). A thank_you_sent that is not a date still says thanked."""
    out = []
    since = _shift(on, -rules.thank_you_within_days)
    for r in data.referrals:
        first, sent = as_date(r.get("first_visit")), r.get("thank_you_sent")
        thanked = bool(sent) and (as_date(sent) or dt.date.min) <= on
        if first and since <= first <= on and not thanked:
            out.append(Action("thank-you", first, _provider_label(data, r.get("provider_id")),
                              f"referral {r['referral_id']}: first visit "
                              f"{letter_date(first)}", "send the thank-you letter",
                              "thank-you", r["referral_id"]))
    return out


def _new_visits(data: Data, referral_id: str, after: dt.date | None, on: dt.date,
                every: int) -> tuple[int, dt.date | None, dt.date | None]:
    """A referral's visits after `after` (None: from the start) and by `on`: how many, the
    day of the first, and the day of the `every`-th (None when fewer). Read off the Visits
    dates at once when the sheet types them as dates, visit by visit otherwise."""
    days = data.visit_days
    if days is None:
        found = [as_date(v["date"]) for v in data.visits_by_referral.get(referral_id, [])]
        kept = [d for d in found if d is not None and d <= on and (after is None or d > after)]
    else:
        mine = days[data.visits_by_referral.positions(referral_id)]  # by day already
        start = 0 if after is None else int(np.searchsorted(mine, np.datetime64(after),
                                                            "right"))
        end = int(np.searchsorted(mine, np.datetime64(on), "right"))
        kept = mine[start:max(start, end)]
    if not len(kept):
        return 0, None, None
    first, nth = kept[0], kept[every - 1] if len(kept) >= every else None
    if days is not None:
        first, nth = first.item(), None if nth is None else nth.item()
    return len(kept), first, nth


def progress_reports(data: Data, rules: Rules, on: dt.date) -> list[Action]:
    """A report is owed every N visits, or every N weeks with visits since the last one. The
    last report is the latest by `on`: last_report_sent, or when that is later, the latest
    progress-report in Letters up to `on`."""
    out = []
    sent = _letters_by_record(data, "progress-report", on)
    for r in data.referrals:
        if str(r.get("status") or "") != "in care":
            continue
        provider = data.providers.get(r.get("provider_id") or "") or {}
        if "progress reports" not in {w.lower() for w in items(provider.get("wants"))}:
            continue
        last = as_date(r.get("last_report_sent"))
        if last is not None and last > on:
            last = sent.get(r["referral_id"])
        every = max(1, rules.report_every_visits)
        count, first, nth = _new_visits(data, r["referral_id"], last, on, every)
        if not count:
            continue
        since = last or as_date(r.get("first_visit")) or first
        weeks_due = _shift(since, weeks=rules.report_every_weeks)
        if nth is not None:
            due = nth
        elif weeks_due <= on:
            due = weeks_due
        else:
            continue
        out.append(Action("progress-report", due, _provider_label(data, r.get("provider_id")),
                          f"referral {r['referral_id']}: {count} visit(s) since "
                          + (f"the report of {letter_date(last)}" if last else "the start"),
                          "send a progress report", "progress-report", r["referral_id"]))
    return out


def packets(data: Data, on: dt.date) -> list[Action]:
    """Prospects and contacted providers without an introductory packet by `on`. A provider
    the packet job has since moved to "packet sent" was waiting for it on `on` when every
    packet in Letters is dated after `on`."""
    sent = _letters_by_record(data, "intro-packet", on)
    later = {str(x.get("record")) for x in data.letters
             if x.get("job") == "intro-packet" and x.get("status") != "failed"
             and (as_date(x.get("when")) or dt.date.min) > on}
    out = []
    for pid, row in data.providers.items():
        stage = str(row.get("stage") or "")
        waiting = stage in ("prospect", "contacted") or (stage == "packet sent" and pid in later)
        if waiting and pid not in sent:
            out.append(Action("intro-packet", on, _provider_label(data, pid),
                              f"stage {row.get('stage')}, no packet sent yet",
                              "send the introductory packet", "intro-packet", pid))
    return out


def unscheduled(data: Data, rules: Rules, on: dt.date) -> list[Action]:
    out = []
    for r in data.referrals:
        received = as_date(r.get("received_on"))
        # A first visit on any day was booked: the workbook does not say when it was booked.
        if (received is None or received > on or r.get("first_visit")
                or str(r.get("status") or "received") not in ("received", "")):
            continue
        due = _shift(received, rules.unscheduled_after_days)
        if due <= on:
            client = data.clients.get(r.get("client_id") or "") or {}
            out.append(Action("unscheduled", due, _client_label(data, r.get("client_id")),
                              f"referral {r['referral_id']} from "
                              f"{_provider_label(data, r.get('provider_id'))}, received "
                              f"{letter_date(received)}",
                              f"call {client.get('phone') or 'the client'} to schedule",
                              record=r["referral_id"]))
    return out


def consent_as_of(data: Data, on: dt.date, today: dt.date) -> Consent:
    """The Releases sheet judged on `on` as it stood then: a revocation dated after `on` (and
    by `today`) had not happened yet. One dated after `today` stays what consent makes of it,
    a date in doubt: it cannot be told from a typing mistake."""
    table = data.book["Releases"]
    revoked = table.df["revoked_on"]
    later = revoked.notna() & (revoked > pd.Timestamp(on)) & (revoked <= pd.Timestamp(today))
    if not later.any():
        if data.consent is not None and data.today == on:
            return data.consent
        return Consent(table, on)
    df = table.df.copy()
    df.loc[later, "revoked_on"] = pd.NaT
    return Consent(dataclasses.replace(table, df=df), on)


def releases_expiring(data: Data, rules: Rules, on: dt.date,
                      today: dt.date | None = None) -> list[Action]:
    """Releases whose dates cannot be trusted (nothing about the client goes to the provider
    until they are fixed), and releases that end within the warning window, unless a later
    one covers the pair. Which releases count is refdesk.consent's judgement, as in merge,
    on `on` as the sheet stood then (`consent_as_of`; `today` defaults to `on`). The pairs are
    judged with array operations: a sheet of a million releases is not walked row by row."""
    horizon = _shift(on, rules.release_warning_days)
    consent = consent_as_of(data, on, max(on, today or on))
    df = data.book["Releases"].df
    df = df[df["client_id"].notna() & df["provider_id"].notna()]
    if df.empty:
        return []
    rows = data.rows("Releases")
    # The (client, provider) pairs, numbered in the order each first appears on the sheet.
    pair, _ = pd.factorize(pd.MultiIndex.from_arrays([df["client_id"], df["provider_id"]]))
    out = []
    for sheet_row in sorted(consent.faults, key=lambda r: (pair[df.index.get_loc(r)], r)):
        release = rows.row(rows.position(sheet_row))
        cid, pid = release.get("client_id"), release.get("provider_id")
        out.append(Action("release-in-doubt", on, _client_label(data, cid),
                          f"release {release.get('release_id') or 'on row ' + str(sheet_row)} "
                          f"for {_provider_label(data, pid)}: {consent.faults[sheet_row]}",
                          "correct the date in the workbook; until then nothing about "
                          "the client goes to the provider", "", cid,
                          (cid, pid, str(release.get("release_id") or sheet_row))))
    # Of each pair's releases that count: none may be open-ended, and the last end must fall
    # in the window; the release named is the first on the sheet that ends then.
    live = consent.counting.reindex(df.index, fill_value=False).to_numpy(dtype=bool)
    ends = df["expires_on"].to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    frame = pd.DataFrame({"pair": pair[live], "end": ends[live],
                          "at": np.flatnonzero(live)})
    if frame.empty:
        return out
    last = frame.groupby("pair", sort=False)["end"].transform("max")
    open_ended = frame["end"].isna().groupby(frame["pair"], sort=False).transform("any")
    window = (last >= np.datetime64(on)) & (last <= np.datetime64(horizon))
    named = frame[window & ~open_ended & (frame["end"] == last)].drop_duplicates("pair")
    named = named.sort_values("pair", kind="stable")  # the pairs in the sheet's order
    for at, day in zip(named["at"].tolist(), named["end"].tolist(), strict=True):
        release = rows.row(rows.position(int(df.index[at])))
        cid, pid = release.get("client_id"), release.get("provider_id")
        last_day = day.date()
        out.append(Action("release-expiring", last_day, _client_label(data, cid),
                          f"release {release.get('release_id')} for "
                          f"{_provider_label(data, pid)} ends {letter_date(last_day)}",
                          "have the client sign a new release", "release-form", cid,
                          (cid, pid)))
    return out


def going_dormant(data: Data, rules: Rules, on: dt.date) -> list[Action]:
    latest: dict[str, dt.date] = {}
    days: dict[str, list[dt.date]] = {}
    for r in data.referrals:
        day, pid = as_date(r.get("received_on")), r.get("provider_id")
        if day and pid and day <= on:
            latest[pid] = max(day, latest.get(pid, day))
            days.setdefault(pid, []).append(day)
    out = []
    for pid, day in latest.items():
        gap = usual_gap(days[pid]) if rules.dormant_by == "rhythm" else None
        dormant_on = _shift(day, allowed_days(gap, rules.dormant_by, rules.rhythm_times,
                                              rules.dormant_after_days))
        usual = f", usually every {gap:g} days" if gap is not None else ""
        stage = str((data.providers.get(pid) or {}).get("stage") or "")
        if on <= dormant_on <= _shift(on, rules.quiet_warning_days):
            detail = (f"last referral {letter_date(day)}{usual}; dormant from "
                      f"{letter_date(dormant_on)}")
        elif dormant_on < on and stage == "referring":
            detail = (f"last referral {letter_date(day)}{usual}; dormant since "
                      f"{letter_date(dormant_on)} (stage still says referring)")
        else:
            continue
        out.append(Action("going-dormant", dormant_on, _provider_label(data, pid), detail,
                          "get back in touch: a call or a visit", record=pid))
    return out


def todo(book: Book, config: Config | None, on: dt.date,
         today: dt.date | None = None) -> list[Action]:
    """The actions due by `on`, as the workbook stood on `on`. `today` (the real day, by
    default the computer's) tells a revocation made since `on` from one typed ahead."""
    data = Data.of(book, on)
    rules = Rules.of(config)
    contacts = _rows(book, "Contacts")
    today = dt.date.today() if today is None else today
    actions = [*follow_ups(data, contacts, on), *thank_yous(data, rules, on),
               *progress_reports(data, rules, on), *packets(data, on),
               *unscheduled(data, rules, on), *releases_expiring(data, rules, on, today),
               *going_dormant(data, rules, on)]
    order = {kind: n for n, kind in enumerate(KINDS)}
    return sorted(actions, key=lambda a: (order[a.kind], a.due, a.who))
