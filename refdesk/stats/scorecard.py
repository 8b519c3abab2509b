"""The referrer scorecard, and dormancy by a provider's own rhythm.

The scorecard looks back from the end of the range (whatever its start), one row per provider
who referred on or before the end. Windows are whole days counted back from the end, the end
included: **the last 30 days** are end-29 .. end, the last 90 end-89 .. end, the last 365
end-364 .. end.

- **Conversion** and **median days to first visit** are of their referrals of the last 365
  days (a first visit after the end does not count); **visits** and **revenue** are the visits
  dated in the last 365 days under any of their referrals; **reciprocity** is the clients you
  sent them (Sent) in the last 365 days per referral they sent you in those days.
- **The light** compares the last 30 days with the provider's own average month over the 90
  days before them (end-119 .. end-30, taken as three months of 30 days): **green** when the
  last 30 days hold at least the average (3 x last 30 >= the 90 days' count), **amber** when
  below it but at least half of it (6 x last 30 >= the count), **red** under half (so also no
  referral at all against an average above 0). A provider whose first referral is less than
  120 days before the end has too little history for an average: green if they referred in
  the last 30 days, amber if not. One with no referral in those 90 days but older ones is
  green with a referral in the last 30 days, red without.
- **Usual gap**: the median of the days between consecutive referrals (all up to the end;
  needs at least 3 referrals). **Dormant by rhythm**: no referral for more than `rhythm_times`
  x the usual gap (at least one day); with fewer than 3 referrals the fixed rule decides:
  dormant after more than `dormant_after_days` days. [program] `dormant_by` ("days" or
  "rhythm") chooses which rule the activity table and `refdesk todo` follow.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from refdesk.rhythm import RHYTHM_MIN_REFERRALS
from refdesk.stats.compute import _day, _Inputs, _ratio, _round
from refdesk.stats.model import Column, StatTable
from refdesk.stats.revenue import _records, money

#: Days of the recent window, and of the window before it that gives the average.
RECENT, BEFORE = 30, 90


def _codes(known: pd.DataFrame) -> tuple[np.ndarray, pd.Index]:
    """Each row's provider as a small whole number, and the provider ids: grouping by numbers
    is many times quicker than by text over a million rows."""
    codes, ids = pd.factorize(known["provider_id"], sort=True)
    return codes, pd.Index(np.asarray(ids, dtype=object).astype(str))


def _day_numbers(days: pd.Series) -> np.ndarray:
    return days.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype("int64")


def gaps_by_provider(ref_upto: pd.DataFrame) -> pd.Series:
    """Usual gap per provider id (NaN under 3 referrals), on whole columns."""
    known = ref_upto[ref_upto["provider_id"].notna()]
    codes, ids = _codes(known)
    day = _day_numbers(known["received_on"])
    # One sort of whole numbers, provider then day: pandas' days (1677-2262) span under 2**20.
    low = int(day.min()) if len(day) else 0
    key = np.sort((codes.astype(np.int64) << 20) | (day - low))
    code, day = key >> 20, key & ((1 << 20) - 1)
    same = code[1:] == code[:-1]
    usual = pd.Series(np.diff(day)[same].astype(float)).groupby(code[1:][same]).median()
    out = np.full(len(ids), np.nan)
    out[usual.index.to_numpy(dtype="int64")] = usual.to_numpy()
    out[np.bincount(codes, minlength=len(ids)) < RHYTHM_MIN_REFERRALS] = np.nan
    return pd.Series(out, index=ids)


def allowance(gaps: pd.Series, dormant_by: str, rhythm_times: int,
              dormant_after_days: int) -> pd.Series:
    """refdesk.rhythm.allowed_days for every provider of `gaps`, on whole columns."""
    if dormant_by != "rhythm":
        return pd.Series(dormant_after_days, index=gaps.index, dtype="int64")
    # Held under a billion days: a huge multiple never overflows the whole-number column.
    by_rhythm = np.floor((rhythm_times * gaps.clip(lower=1.0)).clip(upper=1e9))
    return by_rhythm.fillna(dormant_after_days).astype("int64")


def _plain(series: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in series.items()}


def _window(days_back: pd.Series, low: int, high: int) -> pd.Series:
    """Rows `low` .. `high`-1 whole days before the end (0: the end itself)."""
    return (days_back >= low) & (days_back < high)


def scorecard(data: _Inputs, ref_upto: pd.DataFrame, owners: pd.Series,
              dormant_after_days: int, rhythm_times: int,
              gaps: pd.Series | None = None) -> StatTable:
    """One row per provider who referred on or before the end: see the module's docstring.
    `owners` is revenue.referral_owners(ref_upto); `gaps` gaps_by_provider(ref_upto) when
    the caller has it already."""
    end = data.end
    known = ref_upto[ref_upto["provider_id"].notna()]
    codes, ids = _codes(known)
    n = len(ids)
    back = (end - known["received_on"]).dt.days.to_numpy()
    reached = (known["first_visit"].notna() & (known["first_visit"] <= end)).to_numpy()
    days = (known["first_visit"] - known["received_on"]).dt.days.to_numpy(dtype=float,
                                                                           na_value=np.nan)
    year = (back >= 0) & (back < 365)

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(codes[mask], minlength=n)

    timeline = known["received_on"].groupby(codes)
    figures = pd.DataFrame({
        "r30": count(back < RECENT), "r90": count(back < 90), "r365": count(year),
        "before": count((back >= RECENT) & (back < RECENT + BEFORE)),
        "reached": count(reached & year), "total": np.bincount(codes, minlength=n),
        "first": timeline.min().to_numpy(), "latest": timeline.max().to_numpy()}, index=ids)
    counted = reached & year & (days >= 0)
    figures["median_days"] = (pd.Series(days[counted]).groupby(codes[counted]).median()
                              .reindex(range(n)).to_numpy())
    v = data.visits
    v = v[v["referral_id"].notna() & v["date"].notna()]
    v = v[_window((end - v["date"]).dt.days, 0, 365)]
    vg = pd.DataFrame({"pid": v["referral_id"].map(owners).astype(object).to_numpy(),
                       "paid": v["paid"].astype("Float64").fillna(0).to_numpy(dtype=float)}
                      ).dropna(subset=["pid"]).groupby("pid")["paid"]
    figures["visits"] = vg.size().reindex(ids).fillna(0).astype("int64").to_numpy()
    figures["revenue"] = vg.sum().reindex(ids).fillna(0.0).to_numpy()
    s = data.sent
    s = s[s["provider_id"].notna() & s["sent_on"].notna()]
    s = s[_window((end - s["sent_on"]).dt.days, 0, 365)]
    figures["sent"] = (s["provider_id"].astype(str).value_counts().reindex(figures.index)
                       .fillna(0).astype("int64"))
    k = data.contacts
    k = k[k["provider_id"].notna() & k["date"].notna() & (k["date"] <= end)]
    figures["last_contact"] = k.groupby(k["provider_id"].astype(str))["date"].max().reindex(
        figures.index)
    figures["gap"] = (gaps_by_provider(known) if gaps is None else gaps).reindex(ids)
    figures["since"] = (end - figures["latest"]).dt.days
    by_days = _plain(allowance(figures["gap"], "days", rhythm_times, dormant_after_days))
    by_rhythm = _plain(allowance(figures["gap"], "rhythm", rhythm_times, dormant_after_days))

    rows = []
    for pid, r in _records(figures):
        pid = str(pid)
        light, reason = light_of(int(r["r30"]), int(r["before"]), int((end - r["first"]).days),
                                 _day(r["first"]), _day(r["latest"]))
        gap = None if pd.isna(r["gap"]) else float(r["gap"])
        since = int(r["since"])
        rhythm_state = ("dormant" if since > by_rhythm[pid] else "active") if gap is not None \
            else f"too few referrals ({int(r['total'])})"
        rows.append({
            "provider_id": pid, "provider": data.provider_name(pid),
            "practice": data.provider_field(pid, "practice"),
            "specialty": data.provider_field(pid, "specialty"),
            "last_30": int(r["r30"]), "last_90": int(r["r90"]), "last_365": int(r["r365"]),
            "conversion": _round(_ratio(r["reached"], r["r365"]), 4),
            "median_days": _round(None if pd.isna(r["median_days"]) else r["median_days"]),
            "visits": int(r["visits"]), "revenue": money(r["revenue"]), "sent": int(r["sent"]),
            "reciprocity": _round(_ratio(r["sent"], r["r365"]), 2),
            "latest_referral": _day(r["latest"]), "last_contact": _day(r["last_contact"]),
            "usual_gap": _round(gap), "by_days": "dormant" if since > by_days[pid] else "active",
            "by_rhythm": rhythm_state, "light": light, "light_reason": reason})
    order = {"red": 0, "amber": 1, "green": 2}
    rows.sort(key=lambda x: (order[x["light"]], -x["last_365"], x["provider"].lower(),
                             x["provider_id"]))
    counts = {c: sum(x["light"] == c for x in rows) for c in order}
    return StatTable(
        "scorecard", "Referrer scorecard: each referring provider against their own average",
        SCORECARD_COLUMNS, rows,
        total={"provider": f"{counts['green']} green, {counts['amber']} amber, "
                           f"{counts['red']} red",
               "last_30": int(figures["r30"].sum()), "last_90": int(figures["r90"].sum()),
               "last_365": int(figures["r365"].sum()), "visits": int(figures["visits"].sum()),
               "revenue": money(figures["revenue"].sum()), "sent": int(figures["sent"].sum())},
        note=f"Looks back from {end.date().isoformat()}. The light: the last 30 days against "
             "the provider's average month over the 90 days before them; green at or above "
             "it, amber below it down to half, red under half. Dormant by rhythm: no referral "
             f"for more than {rhythm_times} times their usual gap (rhythm_times in "
             "config.toml [program]).")


def light_of(last_30: int, before: int, history_days: int, first: dt.date | None,
             latest: dt.date | None) -> tuple[str, str]:
    """The light and its reason: `last_30` referrals in the last 30 days against `before`
    in the 90 days before them; `history_days` from the first referral to the end."""
    recent = _count(last_30, "in the last 30 days")
    if history_days < RECENT + BEFORE:
        light = "green" if last_30 else "amber"
        return light, (f"{recent}; too little history for an average (first referral "
                       f"{first.isoformat() if first else '?'}, under 120 days ago)")
    if before == 0:
        if last_30:
            return "green", f"{recent}, none in the 90 days before"
        return "red", (f"no referral in the last 120 days; latest "
                       f"{latest.isoformat() if latest else '?'}")
    average = f"their average of {before / 3:.1f} a month ({before} in the 90 days before)"
    if 3 * last_30 >= before:
        return "green", f"{recent}, at or above {average}"
    if 6 * last_30 >= before:
        return "amber", f"{recent}, below {average} but at least half of it"
    return "red", f"{recent}, under half {average}"


def _count(n: int, where: str) -> str:
    return f"{n} referral{'' if n == 1 else 's'} {where}" if n else f"no referral {where}"


SCORECARD_COLUMNS = [
    Column("provider_id", "Id"), Column("provider", "Provider"),
    Column("practice", "Practice"), Column("specialty", "Specialty"),
    Column("last_30", "Last 30 days", "int", "Referrals received in the 30 days up to the end "
           "(the end included)."),
    Column("last_90", "Last 90 days", "int", "Referrals received in the 90 days up to the end."),
    Column("last_365", "Last 365 days", "int",
           "Referrals received in the 365 days up to the end."),
    Column("conversion", "Conversion", "pct",
           "Of the last 365 days' referrals, the share that reached a first visit."),
    Column("median_days", "Median days to first visit", "number",
           "Of the last 365 days' referrals that reached one."),
    Column("visits", "Visits", "int",
           "Visits in the last 365 days under their referrals."),
    Column("revenue", "Revenue", "money", "What those visits paid."),
    Column("sent", "Clients sent", "int", "Clients you sent them (Sent) in the last 365 days."),
    Column("reciprocity", "Sent per referral", "number",
           "Clients you sent them per referral they sent you, last 365 days."),
    Column("latest_referral", "Latest referral", "date",
           "Their latest referral on or before the end."),
    Column("last_contact", "Last contact", "date", "Their latest row in Contacts."),
    Column("usual_gap", "Usual gap, days", "number",
           "The median of the days between their referrals (needs 3 referrals)."),
    Column("by_days", "Dormant by days", "text",
           "Dormant: no referral for more than dormant_after_days days."),
    Column("by_rhythm", "Dormant by rhythm", "text",
           "Dormant: no referral for more than rhythm_times times their usual gap."),
    Column("light", "Light", "text", "green, amber or red: the last 30 days against their "
           "average month over the 90 days before."),
    Column("light_reason", "Why", "text", "The light's reason in words."),
]
