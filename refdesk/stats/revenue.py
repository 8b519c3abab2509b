"""Revenue and the cost of outreach: which sources and which relationships pay.

What counts (the README's "stats" section says the same in plain words):

- **Visits** are the Visits rows dated in the range (both ends included); a visit with no date
  is left out. **Charged** is the sum of their `fee`, **revenue** the sum of their `paid`
  (an empty cell counts as 0).
- A visit's **source** is its client's Clients.source (doctor, client, other; another answer
  counts as other, as in the `sources` table), or "not recorded" when the cell is empty or the
  client is not on the Clients sheet.
- A **new client** is a Clients row whose first_visit falls in the range (as in `sources`);
  **new clients' revenue** is what their visits in the range paid, and **revenue per new
  client** that divided by the number of new clients.
- A provider's **revenue** is what the visits of the referrals they sent (Visits.referral_id,
  referrals received on or before the end) paid in the range, whenever the referral came.
  Their **new clients** are the new clients of the range who have a referral from them; their
  new clients' revenue is what those clients' visits under the provider's referrals paid.
  A **specialty** adds up its providers (a new client counted once per specialty).
- The **cost of outreach** is, for each Contacts row dated in the range, its `cost` plus its
  `minutes` at [program] hourly_rate (config.toml; 0 by default, so only the cost counts).
  Contacts are with providers, so the whole cost belongs to the doctor source. **Cost per new
  client** is the cost divided by the new clients; **return** is revenue minus cost.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd

from refdesk.schema import SOURCES
from refdesk.stats.compute import NOT_RECORDED, NOT_SET, _Inputs, _ratio
from refdesk.stats.model import Column, StatTable

KINDS = [*SOURCES, NOT_RECORDED]


def money(value: Any) -> float | None:
    """An amount to the cent, or None."""
    return None if value is None or pd.isna(value) else round(float(value), 2)


def referral_owners(ref_upto: pd.DataFrame) -> pd.Series:
    """The provider id of each referral id (the first row of an id given twice), to find
    whose referral a visit belongs to. Read once for the revenue tables and the scorecard."""
    known = ref_upto[ref_upto["provider_id"].notna() & ref_upto["referral_id"].notna()]
    ids = pd.Index(known["referral_id"].array)
    if not ids.is_unique:  # check reports the twice-used id; the quick path is the usual one
        known = known[~known["referral_id"].duplicated()]
        ids = pd.Index(known["referral_id"].array)
    return pd.Series(known["provider_id"].array, index=ids)


def _records(frame: pd.DataFrame) -> Iterator[tuple[Any, dict[str, Any]]]:
    """(index, row as a dictionary) per row: far quicker than iterrows over thousands."""
    return zip(frame.index, frame.to_dict("records"), strict=True)


def _per(part: Any, whole: Any) -> float | None:
    value = _ratio(part, whole)
    return None if value is None else round(value, 2)


class Money:
    """The visits and contacts of the range, read once for the revenue, outreach and
    scorecard tables."""

    def __init__(self, data: _Inputs, ref_upto: pd.DataFrame, new_clients: pd.DataFrame,
                 start: pd.Timestamp, end: pd.Timestamp, hourly_rate: float,
                 owners: pd.Series) -> None:
        self.data = data
        v = data.visits
        v = v[v["date"].notna() & (v["date"] >= start) & (v["date"] <= end)]
        c = data.clients.drop_duplicates("client_id")
        c = c[c["client_id"].notna()]
        src = c["source"].astype("string")
        src = src.where(src.isna() | src.isin(SOURCES), "other").fillna(NOT_RECORDED)
        source_of = pd.Series(src.astype(str).to_numpy(), index=c["client_id"].astype(str))
        self.new_ids = set(new_clients["client_id"].dropna().astype(str))
        visits = pd.DataFrame({
            "client_id": v["client_id"].astype("string").to_numpy(),
            "referral_id": v["referral_id"].astype("string").to_numpy(),
            "fee": v["fee"].astype("Float64").fillna(0).to_numpy(dtype=float),
            "paid": v["paid"].astype("Float64").fillna(0).to_numpy(dtype=float)})
        visits["src"] = visits["client_id"].map(source_of).fillna(NOT_RECORDED)
        visits["new"] = visits["client_id"].isin(self.new_ids)
        self.visits = visits
        # The visits of the referrals each provider sent.
        linked = visits[visits["referral_id"].notna()]
        linked = linked.assign(provider_id=linked["referral_id"].map(owners).astype(object))
        self.linked = linked[linked["provider_id"].notna()]
        # New clients per provider: a new client of the range with a referral from them.
        refs = ref_upto[ref_upto["provider_id"].notna()]
        pairs = refs[refs["client_id"].isin(self.new_ids)]
        self.new_pairs = pd.DataFrame({
            "provider_id": pairs["provider_id"].astype(str).to_numpy(),
            "client_id": pairs["client_id"].astype(str).to_numpy()}).drop_duplicates()
        self.new_clients = new_clients
        k = data.contacts
        k = k[k["provider_id"].notna() & k["date"].notna() & (k["date"] >= start)
              & (k["date"] <= end)]
        cost = (k["cost"].astype("Float64").fillna(0).to_numpy(dtype=float)
                + k["minutes"].astype("Float64").fillna(0).to_numpy(dtype=float)
                / 60.0 * float(hourly_rate))
        self.contacts = pd.DataFrame({"provider_id": k["provider_id"].astype(str).to_numpy(),
                                      "cost": cost})

    # -- per source ------------------------------------------------------------------------

    def by_source(self) -> StatTable:
        v = self.visits
        g = v.groupby("src", observed=True)
        figures = pd.DataFrame({"visits": g.size(), "clients": g["client_id"].nunique(),
                                "charged": g["fee"].sum(), "revenue": g["paid"].sum()})
        new_v = v[v["new"]].groupby("src", observed=True)["paid"].sum()
        src = self.new_clients["src"] if len(self.new_clients) else pd.Series(dtype=str)
        new_count = src.value_counts()
        outreach = float(self.contacts["cost"].sum())
        rows = []
        for kind in KINDS:
            f = figures.loc[kind] if kind in figures.index else None
            revenue = float(f["revenue"]) if f is not None else 0.0
            new = int(new_count.get(kind, 0))
            new_revenue = float(new_v.get(kind, 0.0))
            cost = outreach if kind == "doctor" else None
            rows.append({
                "source": kind, "clients": int(f["clients"]) if f is not None else 0,
                "new_clients": new, "visits": int(f["visits"]) if f is not None else 0,
                "charged": money(f["charged"] if f is not None else 0.0),
                "revenue": money(revenue), "new_client_revenue": money(new_revenue),
                "revenue_per_new_client": _per(new_revenue, new),
                "outreach_cost": money(cost),
                "cost_per_new_client": _per(cost, new) if cost is not None else None,
                "return": money(revenue - cost) if cost is not None else None})
        total_new = len(self.new_clients)
        total_new_revenue = float(v.loc[v["new"], "paid"].sum())
        revenue = float(v["paid"].sum())
        total = {"source": "All", "clients": int(v["client_id"].nunique()),
                 "new_clients": total_new, "visits": len(v),
                 "charged": money(v["fee"].sum()), "revenue": money(revenue),
                 "new_client_revenue": money(total_new_revenue),
                 "revenue_per_new_client": _per(total_new_revenue, total_new),
                 "outreach_cost": money(outreach),
                 "cost_per_new_client": _per(outreach, total_new),
                 "return": money(revenue - outreach)}
        columns = [
            Column("source", "Source", "text", "Clients.source: who referred the client."),
            Column("clients", "Clients seen", "int", "Clients with a visit in the range."),
            Column("new_clients", "New clients", "int",
                   "Clients whose first visit fell in the range."),
            Column("visits", "Visits", "int", "Visits dated in the range."),
            Column("charged", "Charged", "money", "The fees of those visits."),
            Column("revenue", "Revenue", "money", "What those visits paid."),
            Column("new_client_revenue", "New clients' revenue", "money",
                   "What the new clients' visits in the range paid."),
            Column("revenue_per_new_client", "Revenue per new client", "money",
                   "New clients' revenue divided by new clients."),
            Column("outreach_cost", "Cost of outreach", "money",
                   "Contacts in the range: cost plus minutes at hourly_rate. Contacts are "
                   "with providers, so all of it is the doctor source's."),
            Column("cost_per_new_client", "Cost per new client", "money",
                   "Cost of outreach divided by new clients."),
            Column("return", "Return", "money", "Revenue minus the cost of outreach."),
        ]
        return StatTable("revenue", "Revenue and visits by source", columns, rows, total=total,
                         note="Visits dated in the range; a client's source is Clients.source. "
                              "Revenue is what was paid; charged is the fees.")

    # -- per provider ----------------------------------------------------------------------

    def provider_frame(self, in_range: pd.DataFrame) -> pd.DataFrame:
        """Referrals, new clients, visits, charged, revenue, new clients' revenue, contacts
        and cost per provider id, on whole columns."""
        lk = self.linked
        g = lk.groupby("provider_id", observed=True)
        keys = {"provider_id": str, "client_id": str}  # an empty column has no type
        mine = lk[lk["new"]].astype(keys).merge(self.new_pairs.astype(keys),
                                                on=["provider_id", "client_id"])
        new_rev = mine.groupby("provider_id", observed=True)["paid"].sum()
        known = in_range[in_range["provider_id"].notna()]
        k = self.contacts.groupby("provider_id", observed=True)["cost"]
        frame = pd.DataFrame({
            "referrals": known["provider_id"].astype(str).value_counts(),
            "new_clients": self.new_pairs.groupby("provider_id").size(),
            "visits": g.size(), "charged": g["fee"].sum(), "revenue": g["paid"].sum(),
            "new_client_revenue": new_rev, "contacts": k.size(), "cost": k.sum()})
        for column in ("referrals", "new_clients", "visits", "contacts"):
            frame[column] = frame[column].fillna(0).astype("int64")
        for column in ("charged", "revenue", "new_client_revenue", "cost"):
            frame[column] = frame[column].fillna(0.0).astype(float)
        return frame

    def by_provider(self, frame: pd.DataFrame) -> StatTable:
        data = self.data
        shown = frame[(frame["referrals"] > 0) | (frame["visits"] > 0)
                      | (frame["new_clients"] > 0)]
        rows = []
        for pid, f in _records(shown):
            pid = str(pid)
            rows.append({"provider_id": pid, "provider": data.provider_name(pid),
                         "practice": data.provider_field(pid, "practice"),
                         "specialty": data.provider_field(pid, "specialty"),
                         "referrals": int(f["referrals"]), "new_clients": int(f["new_clients"]),
                         "visits": int(f["visits"]), "charged": money(f["charged"]),
                         "revenue": money(f["revenue"]),
                         "revenue_per_new_client": _per(f["new_client_revenue"],
                                                        f["new_clients"])})
        rows.sort(key=lambda r: (-(r["revenue"] or 0), r["provider"].lower(), r["provider_id"]))
        total_new = self.new_pairs["client_id"].nunique()
        new_revenue = float(shown["new_client_revenue"].sum())
        columns = [
            Column("provider_id", "Id"), Column("provider", "Provider"),
            Column("practice", "Practice"), Column("specialty", "Specialty"),
            Column("referrals", "Referrals", "int", "Referrals received from them in the range."),
            Column("new_clients", "New clients", "int",
                   "New clients of the range with a referral from them."),
            Column("visits", "Visits", "int",
                   "Visits in the range under referrals they sent (whenever sent)."),
            Column("charged", "Charged", "money", "The fees of those visits."),
            Column("revenue", "Revenue", "money", "What those visits paid."),
            Column("revenue_per_new_client", "Revenue per new client", "money",
                   "What their new clients' visits under their referrals paid, divided by "
                   "their new clients."),
        ]
        return StatTable(
            "revenue_providers", "Revenue by referring provider", columns, rows,
            total={"provider": "All", "referrals": int(shown["referrals"].sum()),
                   "new_clients": int(total_new), "visits": int(shown["visits"].sum()),
                   "charged": money(shown["charged"].sum()),
                   "revenue": money(shown["revenue"].sum()),
                   "revenue_per_new_client": _per(new_revenue, total_new)},
            note="A provider's revenue is what the visits of the referrals they sent paid in "
                 "the range.")

    def by_specialty(self, frame: pd.DataFrame) -> StatTable:
        specialty_of = self.data.provider["specialty"].astype("string")
        specialty_of.index = specialty_of.index.astype(str)

        def spec(ids: pd.Series) -> pd.Series:
            return ids.map(specialty_of).fillna(NOT_SET).astype(str)

        f = frame.assign(specialty=spec(pd.Series(frame.index.astype(str),
                                                  index=frame.index)))
        f = f[(f["referrals"] > 0) | (f["visits"] > 0) | (f["new_clients"] > 0)]
        pairs = self.new_pairs.assign(specialty=spec(self.new_pairs["provider_id"]))
        new = pairs.drop_duplicates(["specialty", "client_id"]).groupby("specialty").size()
        g = f.groupby("specialty", observed=True)
        sums = g[["referrals", "visits", "charged", "revenue", "new_client_revenue"]].sum()
        providers = g.size()
        rows = []
        for s, r in _records(sums):
            n = int(new.get(s, 0))
            rows.append({"specialty": str(s), "providers": int(providers[s]),
                         "referrals": int(r["referrals"]), "new_clients": n,
                         "visits": int(r["visits"]), "charged": money(r["charged"]),
                         "revenue": money(r["revenue"]),
                         "revenue_per_new_client": _per(r["new_client_revenue"], n)})
        rows.sort(key=lambda r: (-(r["revenue"] or 0), r["specialty"]))
        columns = [Column("specialty", "Specialty"),
                   Column("providers", "Referring providers", "int"),
                   Column("referrals", "Referrals", "int", "Referrals received in the range."),
                   Column("new_clients", "New clients", "int",
                          "New clients of the range with a referral from the specialty."),
                   Column("visits", "Visits", "int",
                          "Visits in the range under the specialty's referrals."),
                   Column("charged", "Charged", "money", "The fees of those visits."),
                   Column("revenue", "Revenue", "money", "What those visits paid."),
                   Column("revenue_per_new_client", "Revenue per new client", "money",
                          "What the new clients' visits under these referrals paid, divided "
                          "by the new clients.")]
        return StatTable("revenue_specialties", "Revenue by the referring provider's specialty",
                         columns, rows)

    # -- outreach --------------------------------------------------------------------------

    def outreach(self, frame: pd.DataFrame) -> StatTable:
        data = self.data
        shown = frame[(frame["contacts"] > 0) | (frame["referrals"] > 0)
                      | (frame["visits"] > 0) | (frame["new_clients"] > 0)]
        rows = []
        for pid, f in _records(shown):
            pid = str(pid)
            cost = float(f["cost"])
            rows.append({"provider_id": pid, "provider": data.provider_name(pid),
                         "practice": data.provider_field(pid, "practice"),
                         "contacts": int(f["contacts"]), "cost": money(cost),
                         "referrals": int(f["referrals"]), "new_clients": int(f["new_clients"]),
                         "revenue": money(f["revenue"]),
                         "cost_per_new_client": _per(cost, f["new_clients"]),
                         "return": money(float(f["revenue"]) - cost)})
        rows.sort(key=lambda r: (-(r["return"] or 0), r["provider"].lower(), r["provider_id"]))
        total_cost = float(self.contacts["cost"].sum())
        total_revenue = float(shown["revenue"].sum())
        total_new = int(self.new_pairs["client_id"].nunique())
        columns = [
            Column("provider_id", "Id"), Column("provider", "Provider"),
            Column("practice", "Practice"),
            Column("contacts", "Contacts", "int", "Contacts with them dated in the range."),
            Column("cost", "Cost of outreach", "money",
                   "Those contacts' cost plus their minutes at hourly_rate."),
            Column("referrals", "Referrals", "int", "Referrals received from them in the range."),
            Column("new_clients", "New clients", "int",
                   "New clients of the range with a referral from them."),
            Column("revenue", "Revenue", "money",
                   "What the visits of their referrals paid in the range."),
            Column("cost_per_new_client", "Cost per new client", "money",
                   "Cost of outreach divided by new clients."),
            Column("return", "Return", "money", "Revenue minus the cost of outreach."),
        ]
        return StatTable(
            "outreach", "The cost of outreach and what it brought, per provider", columns, rows,
            total={"provider": "All providers (the doctor source)",
                   "contacts": int(shown["contacts"].sum()), "cost": money(total_cost),
                   "referrals": int(shown["referrals"].sum()), "new_clients": total_new,
                   "revenue": money(total_revenue),
                   "cost_per_new_client": _per(total_cost, total_new),
                   "return": money(total_revenue - total_cost)},
            note="Cost: Contacts.cost plus Contacts.minutes at [program] hourly_rate in "
                 "config.toml. The revenue table compares the sources.")
