"""The figures of `refdesk stats`, computed on whole columns with pandas.

Definitions (the README's "stats" section says the same in plain words):

- A **new client** is a Clients row whose first_visit falls in the range; their period is the
  period of that visit. Their source is Clients.source (doctor, client, other), or "not
  recorded".
- A **referral** is a Referrals row received in the range, counted in the period it was
  received. It **reached a first visit** when Referrals.first_visit is set and not after the
  end of the range. **Days to first visit** run from received_on to first_visit (rows where
  the visit comes before the referral are left out: `check` reports them). **Visits** are the
  Visits rows linked to the referral (Visits.referral_id) up to the end of the range.
- **This period** is the period holding the end of the range; **the last period** is the one
  before it. A provider's trend is the difference.
- A provider who referred on or before the end of the range is **active** when their latest
  referral is at most `dormant_after_days` ([program] in config.toml) before the end, and
  **dormant** otherwise; with `dormant_by = "rhythm"`, at most `rhythm_times` their usual gap
  between referrals (refdesk.stats.scorecard).
- Revenue, the cost of outreach and the scorecard: see refdesk.stats.revenue and
  refdesk.stats.scorecard.
- **Reciprocity** counts referrals received from and clients sent to (Sent) each provider, in
  the range.
- **Pipeline**: providers per stage. How long a provider has been in their stage is read from
  the workbook's dates, since the sheet keeps no history of stages: contacted since the first
  contact, packet sent since the latest introductory packet in Letters (or the latest contact),
  referring since the first referral, dormant since the latest referral plus
  `dormant_after_days`, declined since the latest contact. Prospects have no date.
- **Clients who referred clients**: Clients.referred_by_client of the new clients.

Client names appear only with `with_names`; diagnoses only in the `diagnoses` table, which
exists only with `with_names`. Provider names always appear.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from refdesk.book import Book
from refdesk.schema import LIST_SEPARATOR, SOURCES, STAGES
from refdesk.stats.model import Column, Stats, StatTable

BY = {"month": "M", "quarter": "Q", "year": "Y"}
NOT_RECORDED = "not recorded"
NOT_SET = "(not set)"


def period_label(period: pd.Period) -> str:
    """2026-11, 2026 Q4, 2026."""
    if period.freqstr.startswith("Q"):
        return f"{period.year} Q{period.quarter}"
    return str(period)


def _periods(days: pd.Series, freq: str) -> pd.Series:
    return days.dt.to_period(freq)


def _day(value: Any) -> dt.date | None:
    if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    return value


def _shift(when: pd.Timestamp, days: int) -> pd.Timestamp:
    """`when` moved by a number of days, held at the first or last whole day pandas holds: a
    setting (dormant_after_days) never overflows."""
    try:
        return when + pd.Timedelta(days=days)
    except (OverflowError, pd.errors.OutOfBoundsTimedelta, pd.errors.OutOfBoundsDatetime):
        return pd.Timestamp.max.floor("D") if days > 0 else pd.Timestamp.min.ceil("D")


def _int(value: Any) -> int:
    return 0 if value is None or pd.isna(value) else int(value)


def _ratio(part: float, whole: float) -> float | None:
    return float(part) / float(whole) if whole else None


def _median(values: pd.Series) -> float | None:
    values = values.dropna()
    return float(values.median()) if len(values) else None


def _round(value: float | None, places: int = 1) -> float | None:
    return None if value is None or pd.isna(value) else round(float(value), places)


class _Inputs:
    """The columns stats reads, typed and cut to what happened on or before the end."""

    def __init__(self, book: Book, end: pd.Timestamp) -> None:
        self.providers = book["Providers"].df
        self.clients = book["Clients"].df
        self.referrals = book["Referrals"].df
        self.sent = book["Sent"].df
        self.contacts = book["Contacts"].df
        self.visits = book["Visits"].df
        self.letters = book["Letters"].df
        self.end = end
        p = self.providers.drop_duplicates("provider_id")
        p = p[p["provider_id"].notna()].set_index("provider_id")
        self.provider = p
        # Plain dictionaries for the per-provider loops: a pandas lookup per cell would cost
        # seconds over thousands of providers.
        self._fields = {column: {str(k): _text(v) for k, v in p[column].items()}
                        for column in ("name", "practice", "specialty", "stage")}

    def provider_name(self, pid: str) -> str:
        return self._fields["name"].get(pid) or pid

    def provider_field(self, pid: str, column: str) -> str | None:
        return self._fields[column].get(pid)


def _dates(series: pd.Series) -> dict[str, pd.Timestamp]:
    return {str(k): v for k, v in series.items() if not pd.isna(v)}


def _text(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    return str(value)


def compute(book: Book, *, start: dt.date | None = None, end: dt.date, by: str = "month",
            dormant_after_days: int = 90, with_names: bool = False, hourly_rate: float = 0.0,
            dormant_by: str = "days", rhythm_times: int = 3) -> Stats:
    """All the figures for the range start..end (both included), by month, quarter or year.
    Without `start`, the range is the last 12 months by month, the last 8 quarters by
    quarter, and everything in the workbook by year (see `default_start`). `hourly_rate`
    costs the minutes of contacts; `dormant_by` ("days" or "rhythm") and `rhythm_times`
    choose how a referrer turns dormant (refdesk.stats.scorecard)."""
    # Imported here: these modules build on this one's helpers.
    from refdesk.stats.revenue import Money, referral_owners
    from refdesk.stats.scorecard import allowance, gaps_by_provider, scorecard

    if by not in BY:
        raise ValueError(f"by must be one of {', '.join(BY)}")
    freq = BY[by]
    # config.py keeps it in 0..MAX_DAYS; a caller's negative count would date stages before
    # what a pandas interval can span.
    dormant_after_days = max(0, dormant_after_days)
    end_ts = pd.Timestamp(end)
    data = _Inputs(book, end_ts)
    if start is None:
        start = default_start(end, by) or _earliest(data) or end
    start_ts = pd.Timestamp(start)
    all_periods = pd.period_range(start_ts.to_period(freq), end_ts.to_period(freq), freq=freq)
    labels = [period_label(p) for p in all_periods]
    this_period = end_ts.to_period(freq)
    last_period = this_period - 1

    stats = Stats(start=start, end=end, by=by, periods=labels, with_names=with_names,
                  dormant_after_days=dormant_after_days, source=book.source)

    # -- referrals in the range, with their period, conversion, days and visits -----------
    ref = data.referrals[["referral_id", "received_on", "provider_id", "client_id",
                          "first_visit", "status", "diagnosis"]]
    ref_upto = ref[ref["received_on"].notna() & (ref["received_on"] <= end_ts)]
    in_range = ref_upto[ref_upto["received_on"] >= start_ts].copy()
    in_range["period"] = _periods(in_range["received_on"], freq)
    reached = in_range["first_visit"].notna() & (in_range["first_visit"] <= end_ts)
    in_range["reached"] = reached
    days = (in_range["first_visit"] - in_range["received_on"]).dt.days
    in_range["days"] = days.where(reached & (days >= 0))
    visits = data.visits
    visits = visits[visits["referral_id"].notna()
                    & (visits["date"].isna() | (visits["date"] <= end_ts))]
    per_referral = visits["referral_id"].value_counts()
    in_range["visits"] = (in_range["referral_id"].map(per_referral).fillna(0)
                          .astype("int64").to_numpy())

    stats.tables["referrals"] = _referrals_by_period(in_range, all_periods, labels)
    stats.tables["sources"], stats.tables["source_details"], new_clients = _sources(
        data, start_ts, end_ts, freq, all_periods, labels, with_names)
    gaps = gaps_by_provider(ref_upto)
    allowed = allowance(gaps, dormant_by, rhythm_times, dormant_after_days)
    stats.tables["providers"] = _providers(data, in_range, ref_upto, this_period, last_period,
                                           freq, allowed)
    stats.tables["specialties"] = _specialties(data, in_range)
    stats.tables["activity"] = _activity(data, ref_upto, allowed, dormant_after_days,
                                         dormant_by, rhythm_times)
    stats.tables["reciprocity"] = _reciprocity(data, in_range, start_ts, end_ts)
    stats.tables["pipeline"], stats.tables["pipeline_providers"] = _pipeline(
        data, ref_upto, dormant_after_days)
    stats.tables["client_referrers"] = _client_referrers(data, new_clients, with_names)
    owners = referral_owners(ref_upto)
    money = Money(data, ref_upto, new_clients, start_ts, end_ts, max(0.0, hourly_rate), owners)
    frame = money.provider_frame(in_range)
    stats.tables["revenue"] = money.by_source()
    stats.tables["revenue_providers"] = money.by_provider(frame)
    stats.tables["revenue_specialties"] = money.by_specialty(frame)
    stats.tables["outreach"] = money.outreach(frame)
    stats.tables["scorecard"] = scorecard(data, ref_upto, owners, dormant_after_days,
                                          rhythm_times, gaps)
    if with_names:
        stats.tables["diagnoses"] = _diagnoses(in_range)
    stats.headline = _headline(stats, in_range, new_clients)
    return stats


def default_start(end: dt.date, by: str) -> dt.date | None:
    """The first day of the 12th month or the 8th quarter back (the end's own included);
    None by year: all the workbook holds."""
    if by == "year":
        return None
    back = 11 if by == "month" else 7
    return (pd.Timestamp(end).to_period(BY[by]) - back).start_time.date()


def _earliest(data: _Inputs) -> dt.date | None:
    candidates = [data.referrals["received_on"], data.clients["first_visit"]]
    found = [c[c <= data.end].min() for c in candidates if c.notna().any()]
    found = [f for f in found if not pd.isna(f)]
    return min(found).date() if found else None


# -- referrals per period ----------------------------------------------------------------------

REFERRAL_COLUMNS = [
    Column("period", "Period"),
    Column("received", "Referrals", "int", "Referrals received in the period."),
    Column("reached", "Reached a first visit", "int",
           "Of those, referrals whose client has had a first visit."),
    Column("conversion", "Conversion", "pct", "Reached a first visit, out of received."),
    Column("median_days", "Median days to first visit", "number",
           "From the day the referral came to the client's first visit."),
    Column("declined", "Declined", "int", "Referrals with status declined."),
    Column("visits", "Visits", "int", "Visits delivered under these referrals."),
    Column("visits_per_referral", "Visits per referral", "number",
           "Visits delivered, divided by referrals received."),
]


def _referral_figures(group: pd.DataFrame) -> dict[str, Any]:
    received = len(group)
    reached = int(group["reached"].sum())
    visits = int(group["visits"].sum())
    return {"received": received, "reached": reached,
            "conversion": _round(_ratio(reached, received), 4),
            "median_days": _round(_median(group["days"])),
            "declined": int((group["status"] == "declined").sum()),
            "visits": visits,
            "visits_per_referral": _round(_ratio(visits, received), 2)}


def _referrals_by_period(in_range: pd.DataFrame, periods: pd.PeriodIndex,
                         labels: list[str]) -> StatTable:
    groups = dict(tuple(in_range.groupby("period", observed=True))) if len(in_range) else {}
    rows = []
    for period, label in zip(periods, labels, strict=True):
        group = groups.get(period)
        figures = _referral_figures(group if group is not None else in_range.iloc[:0])
        rows.append({"period": label, **figures})
    return StatTable("referrals", "Referrals received, and how many reached a first visit",
                     REFERRAL_COLUMNS, rows, total={"period": "All", **_referral_figures(in_range)})


# -- where new clients come from ---------------------------------------------------------------

def _sources(data: _Inputs, start: pd.Timestamp, end: pd.Timestamp, freq: str,
             periods: pd.PeriodIndex, labels: list[str], with_names: bool
             ) -> tuple[StatTable, StatTable, pd.DataFrame]:
    c = data.clients
    new = c[c["first_visit"].notna() & (c["first_visit"] >= start) & (c["first_visit"] <= end)]
    # A source outside the list (check reports it) counts as "other", so that every new
    # client is in exactly one column and the shares add up.
    src = new["source"].astype("string")
    src = src.where(src.isna() | src.isin(SOURCES), "other").fillna(NOT_RECORDED)
    new = new.assign(period=_periods(new["first_visit"], freq), src=src.astype(str))
    kinds = [*SOURCES, NOT_RECORDED]
    counts = (new.groupby(["period", "src"], observed=True).size().unstack(fill_value=0)
              if len(new) else pd.DataFrame())
    columns = [Column("period", "Period")]
    columns += [Column(k, k.capitalize() if k != NOT_RECORDED else "Not recorded", "int",
                       f"New clients whose answer to 'who referred you?' was {k}."
                       if k != NOT_RECORDED else "New clients with no source recorded.")
                for k in kinds]
    columns.append(Column("total", "New clients", "int", "Clients whose first visit fell in "
                          "the period."))
    columns += [Column(f"{k}_share", f"{k.capitalize()} share", "pct",
                       f"The share of new clients referred by a {k}." if k != "other" else
                       "The share of new clients who came another way.") for k in SOURCES]

    def row(values: dict[str, int]) -> dict[str, Any]:
        total = sum(values.get(k, 0) for k in kinds)
        out: dict[str, Any] = {k: int(values.get(k, 0)) for k in kinds}
        out["total"] = total
        for k in SOURCES:
            out[f"{k}_share"] = _round(_ratio(out[k], total), 4)
        return out

    rows = []
    for period, label in zip(periods, labels, strict=True):
        values = counts.loc[period].to_dict() if period in counts.index else {}
        rows.append({"period": label, **row(values)})
    totals = new["src"].value_counts().to_dict()
    table = StatTable("sources", "New clients by source: who referred them", columns, rows,
                      total={"period": "All", **row(totals)},
                      note="A source other than doctor, client or other counts as other "
                           "(refdesk check lists such cells).")

    # source_detail: the answer in the client's words. For clients sent by another client it
    # would often be that client's name, so it is shown only with --with-names.
    detail = new["source_detail"].astype("string").str.strip()
    if not with_names:
        detail = detail.mask(new["src"] == "client")
    grouped = (new.assign(detail=detail.fillna(""))
               .groupby(["src", "detail"], observed=True).size()
               .reset_index(name="clients"))
    order = {k: i for i, k in enumerate(kinds)}
    grouped = grouped.assign(rank=grouped["src"].map(order)).sort_values(
        ["rank", "clients", "detail"], ascending=[True, False, True])
    whole = len(new)
    detail_rows = [{"source": r.src, "detail": r.detail or ("(hidden: may name a client)"
                                                           if r.src == "client" and not
                                                           with_names else ""),
                    "clients": int(r.clients), "share": _round(_ratio(r.clients, whole), 4)}
                   for r in grouped.itertuples()]
    details = StatTable("source_details", "How new clients heard of you, in their words",
                        [Column("source", "Source"), Column("detail", "In their words"),
                         Column("clients", "New clients", "int"),
                         Column("share", "Share", "pct")], detail_rows,
                        total={"source": "All", "detail": "", "clients": whole,
                               "share": 1.0 if whole else None})
    return table, details, new


# -- referring providers -----------------------------------------------------------------------

PROVIDER_COLUMNS = [
    Column("provider_id", "Id"),
    Column("provider", "Provider"),
    Column("practice", "Practice"),
    Column("specialty", "Specialty"),
    Column("referrals", "Referrals", "int", "Referrals received from them in the range."),
    Column("first_referral", "First referral", "date", "Their first referral ever."),
    Column("latest_referral", "Latest referral", "date", "Their latest referral."),
    Column("this_period", "This period", "int", "Referrals in the period holding the end "
           "of the range."),
    Column("last_period", "Last period", "int", "Referrals in the period before."),
    Column("trend", "Trend", "delta", "This period minus the last."),
    Column("reached", "Reached a first visit", "int"),
    Column("conversion", "Conversion", "pct"),
    Column("median_days", "Median days to first visit", "number"),
    Column("visits", "Visits", "int"),
    Column("visits_per_referral", "Visits per referral", "number"),
    Column("activity", "Active or dormant", "text", "Dormant: no referral within the last "
           "dormant_after_days days (with dormant_by = \"rhythm\", for more than "
           "rhythm_times their usual gap)."),
]


def _group_figures(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """Referral figures per value of `key`, on whole columns."""
    g = frame.groupby(key, observed=True, sort=False)
    out = pd.DataFrame({"referrals": g.size(), "reached": g["reached"].sum(),
                        "median_days": g["days"].median(), "visits": g["visits"].sum()})
    out["conversion"] = out["reached"] / out["referrals"]
    out["visits_per_referral"] = out["visits"] / out["referrals"]
    return out


def _providers(data: _Inputs, in_range: pd.DataFrame, ref_upto: pd.DataFrame,
               this_period: pd.Period, last_period: pd.Period, freq: str,
               allowed: pd.Series) -> StatTable:
    known = in_range[in_range["provider_id"].notna()]
    figures = _group_figures(known, "provider_id")
    counts = known.groupby(["provider_id", "period"], observed=True).size()
    this = counts.xs(this_period, level="period") if len(counts) and this_period in \
        counts.index.get_level_values("period") else pd.Series(dtype="int64")
    last = counts.xs(last_period, level="period") if len(counts) and last_period in \
        counts.index.get_level_values("period") else pd.Series(dtype="int64")
    upto = ref_upto[ref_upto["provider_id"].notna()].groupby("provider_id", observed=True)[
        "received_on"].agg(["min", "max"])
    figures = figures.sort_values("referrals", ascending=False, kind="stable")
    rows = []
    for pid, f in figures.iterrows():
        pid = str(pid)
        first, latest = upto.loc[pid, "min"], upto.loc[pid, "max"]
        t, la = _int(this.get(pid)), _int(last.get(pid))
        rows.append({"provider_id": pid, "provider": data.provider_name(pid),
                     "practice": data.provider_field(pid, "practice"),
                     "specialty": data.provider_field(pid, "specialty"),
                     "referrals": int(f["referrals"]), "first_referral": _day(first),
                     "latest_referral": _day(latest), "this_period": t, "last_period": la,
                     "trend": t - la, "reached": int(f["reached"]),
                     "conversion": _round(f["conversion"], 4),
                     "median_days": _round(f["median_days"]), "visits": int(f["visits"]),
                     "visits_per_referral": _round(f["visits_per_referral"], 2),
                     "activity": "active" if (data.end - latest).days <= allowed.get(pid, 0)
                     else "dormant"})
    rows.sort(key=lambda r: (-r["referrals"], r["provider"].lower(), r["provider_id"]))
    return StatTable("providers", "Referring providers", PROVIDER_COLUMNS, rows,
                     note="Provider names come from the Providers sheet; an id not found "
                          "there is shown as it is.")


def _specialties(data: _Inputs, in_range: pd.DataFrame) -> StatTable:
    known = in_range[in_range["provider_id"].notna()]
    specialty = known["provider_id"].map(data.provider["specialty"]).astype("string")
    frame = known.assign(specialty=specialty.fillna(NOT_SET).to_numpy())
    figures = _group_figures(frame, "specialty")
    providers = frame.groupby("specialty", observed=True)["provider_id"].nunique()
    rows = [{"specialty": str(s), "providers": int(providers[s]),
             "referrals": int(f["referrals"]), "reached": int(f["reached"]),
             "conversion": _round(f["conversion"], 4), "median_days": _round(f["median_days"]),
             "visits_per_referral": _round(f["visits_per_referral"], 2)}
            for s, f in figures.iterrows()]
    rows.sort(key=lambda r: (-r["referrals"], r["specialty"]))
    columns = [Column("specialty", "Specialty"),
               Column("providers", "Referring providers", "int"),
               Column("referrals", "Referrals", "int"),
               Column("reached", "Reached a first visit", "int"),
               Column("conversion", "Conversion", "pct"),
               Column("median_days", "Median days to first visit", "number"),
               Column("visits_per_referral", "Visits per referral", "number")]
    return StatTable("specialties", "Referrals by the referring provider's specialty", columns,
                     rows)


# -- active and dormant referrers --------------------------------------------------------------

def _activity(data: _Inputs, ref_upto: pd.DataFrame, allowed: pd.Series,
              dormant_after_days: int, dormant_by: str, rhythm_times: int) -> StatTable:
    known = ref_upto[ref_upto["provider_id"].notna()]
    g = known.groupby("provider_id", observed=True)["received_on"].agg(["size", "max"])
    rows = []
    for pid, size, latest in zip(g.index.astype(str), g["size"].tolist(), g["max"],
                                 strict=True):
        since = int((data.end - latest).days)
        state = "active" if since <= allowed.get(pid, dormant_after_days) else "dormant"
        stage = data.provider_field(pid, "stage")
        hint = ""
        if state == "dormant" and stage == "referring":
            hint = "stage still says referring"
        elif state == "active" and stage == "dormant":
            hint = "referring again: stage says dormant"
        rows.append({"provider_id": pid, "provider": data.provider_name(pid),
                     "practice": data.provider_field(pid, "practice"), "stage": stage,
                     "referrals": int(size), "latest_referral": _day(latest),
                     "days_since": since, "activity": state, "note": hint})
    rows.sort(key=lambda r: (r["activity"] != "dormant", -r["referrals"], r["provider"]))
    active = sum(r["activity"] == "active" for r in rows)
    columns = [Column("provider_id", "Id"), Column("provider", "Provider"),
               Column("practice", "Practice"), Column("stage", "Stage"),
               Column("referrals", "Referrals (all time)", "int"),
               Column("latest_referral", "Latest referral", "date"),
               Column("days_since", "Days since", "days"),
               Column("activity", "Active or dormant"), Column("note", "Note")]
    return StatTable("activity", "Active and dormant referrers", columns, rows,
                     total={"provider": f"{active} active, {len(rows) - active} dormant",
                            "referrals": int(g["size"].sum()) if len(g) else 0},
                     note=f"Dormant: no referral in the last {dormant_after_days} days "
                          "(dormant_after_days in config.toml [program])." if dormant_by != "rhythm"
                     else f"Dormant: no referral for more than {rhythm_times} times the "
                          "provider's usual gap (dormant_by = \"rhythm\" in config.toml "
                          f"[program]); with fewer than 3 referrals, in the last "
                          f"{dormant_after_days} days.")


# -- reciprocity ---------------------------------------------------------------------------------

def _reciprocity(data: _Inputs, in_range: pd.DataFrame, start: pd.Timestamp,
                 end: pd.Timestamp) -> StatTable:
    received = in_range[in_range["provider_id"].notna()]["provider_id"].value_counts()
    s = data.sent
    s = s[s["provider_id"].notna() & s["sent_on"].notna() & (s["sent_on"] >= start)
          & (s["sent_on"] <= end)]
    sent = s["provider_id"].value_counts()
    ids = sorted(set(received.index.astype(str)) | set(sent.index.astype(str)))
    rows = []
    for pid in ids:
        r, t = _int(received.get(pid)), _int(sent.get(pid))
        rows.append({"provider_id": pid, "provider": data.provider_name(pid),
                     "practice": data.provider_field(pid, "practice"), "received": r,
                     "sent": t, "balance": r - t})
    rows.sort(key=lambda x: (-(x["received"] + x["sent"]), x["provider"]))
    columns = [Column("provider_id", "Id"), Column("provider", "Provider"),
               Column("practice", "Practice"),
               Column("received", "Referrals received", "int", "Clients they referred to you."),
               Column("sent", "Clients sent", "int", "Clients you referred to them (Sent)."),
               Column("balance", "Balance", "delta", "Received minus sent.")]
    return StatTable("reciprocity", "Reciprocity: referrals received from and clients sent to "
                     "each provider", columns, rows,
                     total={"provider": "All", "received": int(received.sum()),
                            "sent": int(sent.sum()),
                            "balance": int(received.sum()) - int(sent.sum())})


# -- the pipeline --------------------------------------------------------------------------------

def _pipeline(data: _Inputs, ref_upto: pd.DataFrame, dormant_after_days: int
              ) -> tuple[StatTable, StatTable]:
    p = data.provider
    end = data.end
    k = data.contacts
    k = k[k["provider_id"].notna() & k["date"].notna() & (k["date"] <= end)]
    contacts = k.groupby("provider_id", observed=True)["date"].agg(["size", "min", "max"])
    refs = ref_upto[ref_upto["provider_id"].notna()].groupby(
        "provider_id", observed=True)["received_on"].agg(["min", "max"])
    letters = data.letters
    packets = letters[(letters["job"] == "intro-packet") & (letters["status"] != "failed")
                      & letters["when"].notna() & (letters["when"] <= end + pd.Timedelta(days=1))]
    packet_ids = packets["provider_id"].fillna(packets["record"])
    packet_day = packets.assign(pid=packet_ids).groupby("pid", observed=True)["when"].max()

    # Plain dictionaries: one lookup per provider, not a pandas indexing call.
    counts = {str(k): int(v) for k, v in contacts["size"].items()}
    first_contacts = _dates(contacts["min"])
    last_contacts = _dates(contacts["max"])
    first_refs, last_refs = _dates(refs["min"]), _dates(refs["max"])
    packet_days = _dates(packet_day)
    follow_ups = p["next_follow_up"].tolist()

    rows = []
    for pid, name, practice, stage, follow_up in zip(
            p.index.astype(str), p["name"].tolist(), p["practice"].tolist(),
            p["stage"].tolist(), follow_ups, strict=True):
        stage = _text(stage) or NOT_SET
        last_contact = last_contacts.get(pid)
        since = None
        if stage == "contacted":
            since = first_contacts.get(pid)
        elif stage == "packet sent":
            since = packet_days.get(pid) or last_contact
        elif stage == "referring":
            since = first_refs.get(pid)
        elif stage == "dormant":
            latest = last_refs.get(pid)
            since = _shift(latest, dormant_after_days) if latest is not None \
                else last_contact
        elif stage == "declined":
            since = last_contact
        since = None if since is None else pd.Timestamp(since).normalize()
        if since is not None and since > end:
            since = None
        rows.append({"provider_id": pid, "provider": _text(name) or pid,
                     "practice": _text(practice), "stage": stage,
                     "in_stage_since": _day(since),
                     "days_in_stage": int((end - since).days) if since is not None else None,
                     "contacts": counts.get(pid, 0), "last_contact": _day(last_contact),
                     "days_since_contact": int((end - last_contact).days)
                     if last_contact is not None else None,
                     "next_follow_up": None if pd.isna(follow_up) else _day(follow_up)})
    order = {s: i for i, s in enumerate((*STAGES, NOT_SET))}
    rows.sort(key=lambda r: (order.get(r["stage"], len(order)),
                             -(r["days_in_stage"] if r["days_in_stage"] is not None else -1),
                             r["provider"]))
    detail_columns = [
        Column("provider_id", "Id"), Column("provider", "Provider"),
        Column("practice", "Practice"), Column("stage", "Stage"),
        Column("in_stage_since", "In the stage since", "date",
               "Read from the workbook's dates: see the README."),
        Column("days_in_stage", "Days in the stage", "days"),
        Column("contacts", "Contacts", "int", "Rows in Contacts for the provider."),
        Column("last_contact", "Last contact", "date"),
        Column("days_since_contact", "Days since the last contact", "days"),
        Column("next_follow_up", "Next follow-up", "date")]
    detail = StatTable("pipeline_providers", "Every provider: stage, time in it, contacts",
                       detail_columns, rows)

    summary = []
    total = len(rows)
    for stage in (*STAGES, NOT_SET):
        members = [r for r in rows if r["stage"] == stage]
        if not members and stage == NOT_SET:
            continue
        dwell = [r["days_in_stage"] for r in members if r["days_in_stage"] is not None]
        summary.append({"stage": stage, "providers": len(members),
                        "share": _round(_ratio(len(members), total), 4),
                        "median_days_in_stage": _round(float(np.median(dwell)))
                        if dwell else None,
                        "longest_days_in_stage": max(dwell) if dwell else None,
                        "contacts": sum(r["contacts"] for r in members)})
    stages = StatTable("pipeline", "The pipeline: providers per stage", [
        Column("stage", "Stage"), Column("providers", "Providers", "int"),
        Column("share", "Share", "pct"),
        Column("median_days_in_stage", "Median days in the stage", "number"),
        Column("longest_days_in_stage", "Longest, days", "days"),
        Column("contacts", "Contacts", "int")], summary,
        total={"stage": "All", "providers": total, "share": 1.0 if total else None,
               "contacts": sum(r["contacts"] for r in rows)})
    return stages, detail


# -- clients who referred clients -----------------------------------------------------------------

def _client_referrers(data: _Inputs, new: pd.DataFrame, with_names: bool) -> StatTable:
    referred = new[new["referred_by_client"].notna()]
    g = referred.groupby("referred_by_client", observed=True)["first_visit"].agg(
        ["size", "min", "max"])
    c = data.clients.drop_duplicates("client_id")
    c = c[c["client_id"].notna() & c["client_id"].isin(g.index)].set_index("client_id")
    sources = {str(k): _text(v) for k, v in c["source"].items()}
    names = {str(k): " ".join(_text(x) for x in (first, last) if _text(x))
             for k, first, last in zip(c.index, c["first_name"], c["last_name"], strict=True)}
    rows = []
    for cid, size, first_day, latest_day in zip(g.index.astype(str), g["size"].tolist(),
                                                 g["min"], g["max"], strict=True):
        row: dict[str, Any] = {"client_id": cid}
        if with_names:
            row["client"] = names.get(cid, "")
        row.update({"their_source": sources.get(cid), "clients_referred": int(size),
                    "first": _day(first_day), "latest": _day(latest_day)})
        rows.append(row)
    rows.sort(key=lambda r: (-r["clients_referred"], r["client_id"]))
    columns = [Column("client_id", "Client id")]
    if with_names:
        columns.append(Column("client", "Client"))
    columns += [Column("their_source", "How they came themselves"),
                Column("clients_referred", "New clients they referred", "int"),
                Column("first", "First referred client's first visit", "date"),
                Column("latest", "Latest", "date")]
    return StatTable("client_referrers", "Clients who referred other clients", columns, rows,
                     total={"client_id": f"{len(rows)} clients",
                            "clients_referred": int(g["size"].sum()) if len(g) else 0},
                     note="" if with_names else "Client names are left out; add --with-names "
                     "to show them.")


def _diagnoses(in_range: pd.DataFrame) -> StatTable:
    from refdesk.merge.data import icd_description

    codes = (in_range["diagnosis"].dropna().astype(str).str.split(LIST_SEPARATOR).explode()
             .str.strip())
    codes = codes[codes != ""]
    counts = codes.value_counts()
    total = len(in_range)
    rows = [{"code": str(code), "description": icd_description(str(code)),
             "referrals": int(n), "share": _round(_ratio(n, total), 4)}
            for code, n in counts.items()]
    rows.sort(key=lambda r: (-r["referrals"], r["code"]))
    return StatTable("diagnoses", "Diagnoses on the referrals (ICD-10-CM)", [
        Column("code", "Code"), Column("description", "Description"),
        Column("referrals", "Referrals", "int"),
        Column("share", "Share of referrals", "pct")], rows,
        note="Shown because of --with-names: keep this report private.")


# -- the headline ------------------------------------------------------------------------------

def _headline(stats: Stats, in_range: pd.DataFrame, new: pd.DataFrame) -> dict[str, Any]:
    referrals = stats.tables["referrals"].total or {}
    sources = stats.tables["sources"].total or {}
    activity = stats.tables["activity"].rows
    doctor_share = sources.get("doctor_share")
    return {"new_clients": int(len(new)), "referrals": int(len(in_range)),
            "reached": referrals.get("reached", 0),
            "conversion": referrals.get("conversion"),
            "median_days": referrals.get("median_days"),
            "visits_per_referral": referrals.get("visits_per_referral"),
            "doctor_share": doctor_share,
            "referring_providers": len(stats.tables["providers"].rows),
            "active_referrers": sum(r["activity"] == "active" for r in activity),
            "dormant_referrers": sum(r["activity"] == "dormant" for r in activity),
            "providers": len(stats.tables["pipeline_providers"].rows)}
