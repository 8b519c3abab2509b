"""Consent: whether a client's release lets a document about them go to a provider on a day.

One set of rules for both commands: `check` judges every Letters row at once (vectorised over
pandas, for workbooks of a million rows), `merge` asks record by record on the day it runs
(`Consent.allow`). Both come down to `date_faults` and `fails` below.

Consent fails closed. A release counts only when every date it needs reads as a date: a
signed_on, expires_on or revoked_on holding text refdesk cannot read (`yes`, a year 9999, a
`01.03.2026` whose order of day and month the practice's country does not settle) makes the
release count for nothing until it is fixed, and so does a revoked_on dated after today (a
revocation cannot be recorded ahead of time: it is a typing mistake). A signed_on after the day
means not signed yet. Reasons name releases, cells and dates only, never a client's condition.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from functools import cached_property

import numpy as np
import pandas as pd

from refdesk.book import Table
from refdesk.dates import EXAMPLE
from refdesk.schema import LIST_SEPARATOR, RELEASE_SCOPE

#: The release's dates consent depends on, in the sheet's order.
CONSENT_DATES = ("signed_on", "expires_on", "revoked_on")
RELEASE_COLUMNS = ["release_id", "client_id", "provider_id", "signed_on", "expires_on",
                   "revoked_on", "scope"]

#: The date rules, in the order they are tried: the first a release fails says why.
UNREADABLE = "release-date-unreadable"
NOT_SIGNED = "release-not-yet-signed"
EXPIRED = "release-expired"
REVOKED = "release-revoked"
DATE_RULES = (UNREADABLE, NOT_SIGNED, EXPIRED, REVOKED)

#: For each date: what to type, what else may be done, and what the release is taken to be
#: until then.
_FIX = {
    "signed_on": ("type the day the client signed it", "", "not signed"),
    "expires_on": ("type the day it ends", ", or empty the cell if it does not end", "expired"),
    "revoked_on": ("type the day the client revoked it", "", "revoked"),
}

#: The release scope a document needs, by words in its merge job's name (case ignored); a job
#: matching several needs all of them. Thank-you notes, introductions and notes that a client
#: was sent to a provider match none: they say no more than that the person is a client, which
#: any valid release naming the provider allows, so they need a release but no particular
#: scope. So does any other job, which keeps a user's own jobs under the release rule. (Merge
#: jobs declare their scope in config.toml; `check` reads a Letters row's job by this.)
JOB_SCOPES: tuple[tuple[str, str], ...] = (
    ("progress", "progress"),
    ("soap", "SOAP notes"),
    ("treatment", "treatment plan"),
    ("plan", "treatment plan"),
    ("diagnosis", "diagnosis"),
)


def day(value: pd.Timestamp | dt.date) -> str:
    return value.strftime("%Y-%m-%d")


def needed_scopes(jobs: pd.Series) -> pd.DataFrame:
    """One boolean column per release scope: does the row's job need it. Worked out once per
    distinct job, then mapped."""
    needs = {job: {scope for word, scope in JOB_SCOPES if word in job.lower()}
             for job in jobs.dropna().unique()}
    return pd.DataFrame({scope: jobs.map({j: scope in s for j, s in needs.items()})
                         .fillna(False).astype(bool) for scope in RELEASE_SCOPE},
                        index=jobs.index)


def granted_scopes(scopes: pd.Series) -> pd.DataFrame:
    """One boolean column per release scope: does the release grant it."""
    return pd.DataFrame({
        scope: scopes.str.contains(rf"(?:^|{LIST_SEPARATOR}) *{re.escape(scope)} *"
                                   rf"(?:{LIST_SEPARATOR}|$)", regex=True)
        .fillna(False).astype(bool) for scope in RELEASE_SCOPE}, index=scopes.index)


def date_faults(releases: Table, today: dt.date) -> pd.DataFrame:
    """Releases whose dates cannot be trusted, by sheet row: the rule they fail on any day
    (`release-date-unreadable`, or `release-revoked` for a revocation dated after today) and
    the fault, naming the cell and the fix. Only the few faulty rows are visited."""
    found: dict[int, list[tuple[int, str]]] = {}
    for bad in releases.bad_values:
        if bad.column in _FIX:
            what, other, until = _FIX[bad.column]
            said = (f"which {bad.reason}" if bad.reason else
                    f"not a date: {what} as year-month-day, e.g. {EXAMPLE}{other}")
            found.setdefault(bad.row, []).append((CONSENT_DATES.index(bad.column), (
                f"{releases.cell(bad.row, bad.column)} ({bad.column}) reads {bad.value!r}, "
                f"{said}; until then this release is treated as {until}")))
    revoked = releases.df["revoked_on"]
    ahead = revoked[revoked > pd.Timestamp(today)]
    for row, value in ahead.items():
        found.setdefault(int(row), []).append((2, (
            f"{releases.cell(row, 'revoked_on')} (revoked_on) is {day(value)}, after today "
            f"({day(today)}): a revocation cannot be dated ahead; type the day the client "
            "revoked it; until then this release is treated as revoked")))
    unreadable = {b.row for b in releases.bad_values if b.column in _FIX}
    rows = sorted(found)
    return pd.DataFrame({
        "rule": [UNREADABLE if r in unreadable else REVOKED for r in rows],
        "fault": ["; ".join(text for _, text in sorted(found[r])) for r in rows],
    }, index=pd.Index(rows, name="row"), dtype=object)


#: How a release in doubt because of another one's dates is described (fails() sorts by it).
DOUBT = "cannot be relied on while release"


def revocations(releases: Table, today: dt.date) -> pd.DataFrame:
    """What takes down other releases of the same client and provider: every revocation up to
    today (its day in `revoked`), and every release whose consent dates cannot be trusted (no
    day: its `fault` says why). Columns client_id, provider_id, by (the release's name),
    revoked, fault, cell."""
    df = releases.df
    faults = date_faults(releases, today)
    revoked = df["revoked_on"]
    readable = revoked.notna() & (revoked <= pd.Timestamp(today)) & ~df.index.isin(faults.index)
    keep = (readable | df.index.isin(faults.index)) & df["client_id"].notna() & \
        df["provider_id"].notna()
    rows = df[keep]
    return pd.DataFrame({
        "client_id": rows["client_id"], "provider_id": rows["provider_id"],
        "by": [_name(r, row) for row, r in rows.to_dict("index").items()],
        "revoked": rows["revoked_on"].where(readable[keep]),
        "fault": faults["fault"].reindex(rows.index),
        "cell": [releases.cell(row, "revoked_on") for row in rows.index],
    }, index=rows.index)


def withdrawals(entries: pd.DataFrame, revoked: pd.DataFrame) -> pd.Series:
    """For each entry (a release judged on a day: client_id, provider_id, release_id,
    signed_on, on), why another release of the same client and provider takes it down too, or
    missing. A revocation withdraws every release signed by its day. A release whose consent
    dates cannot be trusted (a revocation that does not read, or dated ahead) leaves every
    release of the pair in doubt until it is fixed: consent fails closed."""
    if entries.empty or revoked.empty:
        return pd.Series(pd.NA, index=entries.index, dtype=object)
    left = entries[["client_id", "provider_id", "release_id", "signed_on", "on"]]
    pairs = left.reset_index(names="_entry").merge(revoked, on=["client_id", "provider_id"])
    pairs = pairs[pairs["by"] != pairs["release_id"].astype(object).where(
        pairs["release_id"].notna(), "")]
    doubt = pairs["fault"].notna()
    applies = doubt | ((pairs["revoked"] <= pairs["on"])
                       & ~(pairs["signed_on"] > pairs["revoked"]).fillna(False).astype(bool))
    pairs = pairs[applies.astype(bool)]
    text = [f"{DOUBT} {by} of the same client and provider is in "
            f"doubt: {fault}" if isinstance(fault, str) else
            f"was withdrawn with release {by}, which the client revoked on {day(when)} "
            f"({cell}): a revocation withdraws every release signed by then"
            for by, when, fault, cell in zip(pairs["by"], pairs["revoked"], pairs["fault"],
                                             pairs["cell"], strict=True)]
    found = pd.Series(text, index=pairs["_entry"].to_numpy(), dtype=object)
    found = found[~found.index.duplicated()]
    return found.reindex(entries.index)


def fails(on: pd.Series, signed: pd.Series, expires: pd.Series, revoked: pd.Series,
          fault: pd.Series, withdrawn: pd.Series | None = None) -> dict[str, pd.Series]:
    """Which date rule each release fails on the day `on` (one release and day per entry;
    `fault` is date_faults' rule for the release, or missing; `withdrawn` is withdrawals' reason
    when another release's revocation takes this one down). A release with a date fault fails
    that rule alone: its other dates say nothing until it is fixed."""
    faulty = fault.notna().astype(bool)
    if withdrawn is None:
        withdrawn = pd.Series(pd.NA, index=on.index, dtype=object)
    doubt = withdrawn.str.startswith(DOUBT).fillna(False).astype(bool) & ~faulty
    taken = withdrawn.notna().astype(bool) & ~doubt & ~faulty

    def holds(mask: pd.Series) -> pd.Series:
        return mask.fillna(False).astype(bool)

    return {
        UNREADABLE: holds(fault == UNREADABLE) | doubt,
        NOT_SIGNED: ~holds(signed <= on) & ~faulty,
        EXPIRED: holds(expires < on) & ~faulty,
        REVOKED: (holds(revoked <= on) & ~faulty & ~doubt) | holds(fault == REVOKED) | taken,
    }


def why(rule: str, release: pd.Series | dict, cell: str = "") -> str:
    """What a failed date rule says of a release (its dates, its fault), after "release X".
    `cell` (merge, judging on today) names the signed_on cell of a release not signed yet."""
    if rule in (UNREADABLE, REVOKED) and isinstance(release.get("fault"), str):
        return f"cannot be relied on: {release['fault']}"
    if rule == UNREADABLE and isinstance(release.get("withdrawn"), str):
        return str(release["withdrawn"])
    if rule == EXPIRED:
        return f"expired on {day(release['expires_on'])}"
    own, on = release.get("revoked_on"), release.get("on")
    if rule == REVOKED and pd.notna(own) and (on is None or pd.isna(on) or own <= on):
        return f"was revoked on {day(own)}"
    if rule == REVOKED and isinstance(release.get("withdrawn"), str):
        return str(release["withdrawn"])
    if rule == REVOKED:
        return f"was revoked on {day(own)}"
    signed = release["signed_on"]
    if not cell:  # check: against the day of a document
        return f"was signed only on {day(signed)}" if pd.notna(signed) else "has no signing date"
    return (f"is not signed yet: {cell} (signed_on) is {day(signed)}, after today"
            if pd.notna(signed) else f"has no signing date: {cell} (signed_on) is empty")


class Consent:
    """The Releases sheet judged on one day, asked client and provider at a time: `merge`.

    The dates of every release are judged once, by the rules `check` applies to Letters."""

    def __init__(self, releases: Table, on: dt.date) -> None:
        df = releases.df[releases.df["client_id"].notna() & releases.df["provider_id"].notna()]
        faults = date_faults(releases, on).reindex(df.index)
        days = pd.Series(pd.Timestamp(on), index=df.index)
        withdrawn = withdrawals(df.assign(on=days), revocations(releases, on))
        failed = fails(days, df["signed_on"], df["expires_on"], df["revoked_on"],
                       faults["rule"], withdrawn)
        self._table, self._df = releases, df
        self._fault, self._withdrawn = faults["fault"], withdrawn
        rows = df.index.to_numpy()
        # The first rule each release fails (its index in DATE_RULES; -1: none). The reason is
        # worded only when asked: most releases of a large sheet are never asked about.
        first = np.full(len(rows), -1, dtype=np.int8)
        for k in range(len(DATE_RULES) - 1, -1, -1):
            first[failed[DATE_RULES[k]].to_numpy(dtype=bool)] = k
        failing = np.flatnonzero(first >= 0)
        self._rule: dict[int, int] = dict(zip(rows[failing].tolist(),
                                              first[failing].tolist(), strict=True))
        #: By sheet row, every release naming a client and a provider: whether it counts.
        self.counting = pd.Series(first < 0, index=df.index, name="counts")
        #: By sheet row: releases whose own dates cannot be trusted, and why.
        found = faults["fault"].dropna()
        self.faults = {int(r): f for r, f in found.items() if isinstance(f, str)}
        grants = granted_scopes(df["scope"])
        self._grants = np.column_stack([grants[s].to_numpy(dtype=bool) for s in RELEASE_SCOPE]) \
            if len(df) else np.zeros((0, len(RELEASE_SCOPE)), dtype=bool)

    @cached_property
    def _at(self) -> dict[int, int]:
        """By sheet row: the position of every release naming a client and a provider."""
        rows = self._df.index.to_numpy()
        return dict(zip(rows.tolist(), range(len(rows)), strict=True))

    @cached_property
    def _pairs(self) -> dict[tuple[str, str], list[int]]:
        """By (client, provider): the sheet rows of their releases, latest signed first
        (undated last), then lowest row: the release a document names comes first. Made when
        `allow` is first asked: `todo` never needs it."""
        df = self._df
        rows = df.index.to_numpy()
        signed = df["signed_on"]
        undated = signed.isna().to_numpy()
        stamp = signed.to_numpy(dtype="datetime64[ns]").astype(np.int64)
        ordered = np.lexsort((rows, np.where(undated, np.iinfo(np.int64).max,
                                             -np.where(undated, 0, stamp))))
        clients = df["client_id"].to_numpy(dtype=object)[ordered].tolist()
        providers = df["provider_id"].to_numpy(dtype=object)[ordered].tolist()
        pairs: dict[tuple[str, str], list[int]] = {}
        for row, client, provider in zip(rows[ordered].tolist(), clients, providers,
                                         strict=True):
            key = (str(client), str(provider))
            found_rows = pairs.get(key)
            if found_rows is None:
                pairs[key] = [row]
            else:
                found_rows.append(row)
        return pairs

    def _release(self, row: int) -> dict:
        """A release's cells, its date fault and its withdrawal, for wording its reason."""
        release = self._df.loc[row].to_dict()
        release.update(fault=self._fault.loc[row], withdrawn=self._withdrawn.loc[row])
        return release

    def _why(self, row: int) -> tuple[bool, str]:
        """Why the release on this row does not count on the day ("" when it does), and
        whether for a date fault."""
        rule = self._rule.get(row)
        if rule is None:
            return False, ""
        release = self._release(row)
        return isinstance(release["fault"], str), (
            f"release {_name(release, row)} "
            f"{why(DATE_RULES[rule], release, self._table.cell(row, 'signed_on'))}")

    def _granted(self, row: int) -> set[str]:
        return {s for s, g in zip(RELEASE_SCOPE, self._grants[self._at[row]], strict=True)
                if g}

    def counts(self, row: int) -> bool:
        """Whether the release on this sheet row allows anything on the day."""
        return row not in self._rule and row in self._at

    def allowing(self, client_id: str, provider_id: str, scope: Iterable[str]) -> int | None:
        """The sheet row `allow` gives, without wording why there is none: for a question
        asked of every client, where only yes or no matters."""
        needed = [RELEASE_SCOPE.index(s) for s in set(scope) if s in RELEASE_SCOPE]
        for row in self._pairs.get((client_id, provider_id), ()):
            if row not in self._rule and self._grants[self._at[row], needed].all():
                return row
        return None

    def allow(self, client_id: str, provider_id: str, scope: Iterable[str]
              ) -> tuple[int | None, str]:
        """The sheet row of the latest release allowing `scope` on the day, or None and why
        not: every release with a date fault (what the user must fix), then the latest."""
        rows = self._pairs.get((client_id, provider_id))
        if not rows:
            return None, f"no release from client {client_id} naming provider {provider_id}"
        needed = set(scope)
        faults: list[str] = []
        others: list[str] = []
        for row in rows:
            fault, reason = self._why(row)
            if not reason:
                missing = [s for s in RELEASE_SCOPE if s in needed - self._granted(row)]
                if not missing:
                    return row, ""
                name = _name({"release_id": self._df.at[row, "release_id"]}, row)
                reason = f"release {name} does not allow sharing {', '.join(missing)}"
            (faults if fault else others).append(reason)
        return None, "; ".join(faults + others[:1])


def _name(release: dict, row: object) -> str:
    rid = release.get("release_id")
    return str(rid) if isinstance(rid, str) and rid else f"on row {row}"
