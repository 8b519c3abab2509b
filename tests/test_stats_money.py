"""Revenue and the cost of outreach (`refdesk stats`), on a small practice whose every figure is
worked out by hand below.

Seen on 2026-11-30, from 2026-09-01 (the range: September to November), [program]
hourly_rate 60 (a minute costs $1).

Clients (source, first visit; "new" when it falls in the range):
  C1 doctor 09-10 new    C2 doctor 10-05 new    C3 doctor 06-01 (before: not new)
  C4 client 10-20 new    C5 other 11-02 new     C6 (no source) 08-01, not new
  C8 doctor 11-15 new    C9 "a flyer" (counts as other), no visit
Referrals (received, provider, client):
  R1 09-01 P1 C1   R2 09-25 P2 C2   R3 05-20 P1 C3 (before the range)   R4 11-10 P3 C8
  R6 11-12 P1 C8 (a second referral for C8: C8 is a new client of P1 and of P3)
  R7 12-03 P2 C9 (after the end: ignored)
Providers: P1 neurology, P2 chiropractic, P3 neurology, P4 no referrals (contacts only).

Visits (date, client, referral, fee, paid):
  V1 09-10 C1 R1 100 100    V2 09-17 C1 R1 100  80    V3 10-05 C2 R2 120 120
  V4 10-12 C2 R2 120 (unpaid: 0)                      V5 08-25 C3 R3  90  90 (before: out)
  V6 09-05 C3 R3  90  90    V7 10-20 C4 --  80  80    V8 11-02 C5 --  70  70
  V9 11-03 C5 --  70  70    V10 11-15 C8 R4 110 110   V11 12-01 C8 R4 110 110 (after: out)
  V12 09-15 C6 -- 60  60

By source (visits in the range, the client's source):
  doctor: V1 V2 V3 V4 V6 V10: 6 visits, clients C1 C2 C3 C8 = 4, charged 100+100+120+120+90+110
    = 640, revenue 100+80+120+0+90+110 = 500; new clients C1 C2 C8 = 3, their revenue
    100+80+120+0+110 = 410, per new client 410/3 = 136.67.
  client: V7: 1 visit, 1 client, 80 / 80; 1 new client, 80 a new client.
  other: V8 V9: 2 visits, 1 client, 140 / 140; 1 new (C5), 140 a new client.
  not recorded: V12: 1 visit, 1 client, 60 / 60; no new client.
  All: 10 visits, 7 clients, charged 920, revenue 780; 5 new clients, their revenue 630,
    126.00 a new client.

Contacts (date, provider, cost, minutes -> cost at $1 a minute):
  K1 09-01 P1 85.50 60 -> 145.50    K2 10-15 P2 -- 15 -> 15.00    K3 11-20 P4 6.25 30 -> 36.25
  K4 08-01 P1 120 (before: out)     K5 12-05 P2 -- 10 (after: out)     K6 11-01 P3 -- -- -> 0
  Cost of outreach 145.50 + 15 + 36.25 + 0 = 196.75, all of it the doctor source's:
  doctor cost per new client 196.75/3 = 65.58, return 500 - 196.75 = 303.25; all sources:
  196.75/5 = 39.35 a new client, return 780 - 196.75 = 583.25.

Per provider (visits of the referrals they sent, dated in the range):
  P1: referrals in the range R1 R6 = 2; new clients C1 (R1), C8 (R6) = 2; visits V1 V2 V6 = 3,
      charged 290, revenue 270; new clients' revenue under P1's referrals V1 + V2 = 180 -> 90.00
      a new client. Outreach: 1 contact, 145.50; 72.75 a new client; return 270 - 145.50 =
      124.50.
  P2: R2 = 1; C2 = 1; V3 V4 = 2, charged 240, revenue 120; 120.00 a new client. Outreach 1
      contact, 15.00; 15.00 a new client; return 105.00.
  P3: R4 = 1; C8 = 1; V10 = 1, 110 / 110; 110.00 a new client. Outreach 1 contact (K6), 0.00;
      0.00 a new client; return 110.00.
  P4: only outreach: 1 contact, 36.25, nothing back: return -36.25, no cost per new client.
  All: 4 referrals, new clients C1 C2 C8 = 3, 6 visits, charged 640, revenue 500, new clients'
      revenue 180+120+110 = 410 -> 136.67 a new client; outreach 4 contacts, 196.75, 65.58 a
      new client, return 303.25.
Per specialty: neurology (P1, P3): 2 providers, 3 referrals, new clients C1 and C8 (C8 once,
  though both sent them) = 2, visits 4, charged 400, revenue 380, new clients' revenue
  180 + 110 = 290 -> 145.00. chiropractic (P2): 1, 1, 1, 2, 240, 120, 120.00.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from refdesk.config import load_config
from refdesk.errors import ConfigError
from refdesk.sources.excel import ExcelSource
from refdesk.stats import Stats, compute
from refdesk.stats.model import cell_text
from tests.conftest import run
from tests.helpers import headers, make_xlsx, minimal_sheets, row

D = dt.datetime
END = dt.date(2026, 11, 30)
START = dt.date(2026, 9, 1)


def money_sheets() -> dict[str, list[list]]:
    s = minimal_sheets()
    s["Providers"] += [
        row("Providers", provider_id="P1", name="Ann Ames", specialty="neurology",
            stage="referring"),
        row("Providers", provider_id="P2", name="Bo Burke", specialty="chiropractic",
            stage="referring"),
        row("Providers", provider_id="P3", name="Cy Cole", specialty="neurology",
            stage="referring"),
        row("Providers", provider_id="P4", name="Di Dunn", stage="contacted")]
    clients = [("C1", "doctor", D(2026, 9, 10)), ("C2", "doctor", D(2026, 10, 5)),
               ("C3", "doctor", D(2026, 6, 1)), ("C4", "client", D(2026, 10, 20)),
               ("C5", "other", D(2026, 11, 2)), ("C6", None, D(2026, 8, 1)),
               ("C8", "doctor", D(2026, 11, 15)), ("C9", "a flyer", None)]
    s["Clients"] += [row("Clients", client_id=cid, first_name=cid, last_name="Lee",
                         source=source, first_visit=first) for cid, source, first in clients]
    referrals = [("R1", D(2026, 9, 1), "P1", "C1"), ("R2", D(2026, 9, 25), "P2", "C2"),
                 ("R3", D(2026, 5, 20), "P1", "C3"), ("R4", D(2026, 11, 10), "P3", "C8"),
                 ("R6", D(2026, 11, 12), "P1", "C8"), ("R7", D(2026, 12, 3), "P2", "C9")]
    s["Referrals"] += [row("Referrals", referral_id=rid, received_on=day, provider_id=pid,
                           client_id=cid, status="in care") for rid, day, pid, cid in referrals]
    visits = [("V1", D(2026, 9, 10), "C1", "R1", 100, 100),
              ("V2", D(2026, 9, 17), "C1", "R1", 100, 80),
              ("V3", D(2026, 10, 5), "C2", "R2", 120, 120),
              ("V4", D(2026, 10, 12), "C2", "R2", 120, None),
              ("V5", D(2026, 8, 25), "C3", "R3", 90, 90),
              ("V6", D(2026, 9, 5), "C3", "R3", 90, 90),
              ("V7", D(2026, 10, 20), "C4", None, 80, 80),
              ("V8", D(2026, 11, 2), "C5", None, 70, 70),
              ("V9", D(2026, 11, 3), "C5", None, 70, 70),
              ("V10", D(2026, 11, 15), "C8", "R4", 110, 110),
              ("V11", D(2026, 12, 1), "C8", "R4", 110, 110),
              ("V12", D(2026, 9, 15), "C6", None, 60, 60)]
    s["Visits"] = [headers("Visits")] + [
        row("Visits", visit_id=vid, date=day, client_id=cid, referral_id=rid, fee=fee, paid=paid)
        for vid, day, cid, rid, fee, paid in visits]
    contacts = [(D(2026, 9, 1), "P1", "visit", 85.5, 60),
                (D(2026, 10, 15), "P2", "phone", None, 15),
                (D(2026, 11, 20), "P4", "letter", 6.25, 30),
                (D(2026, 8, 1), "P1", "visit", 120, None),
                (D(2026, 12, 5), "P2", "phone", None, 10),
                (D(2026, 11, 1), "P3", "email", None, None)]
    s["Contacts"] = [headers("Contacts")] + [
        row("Contacts", date=day, provider_id=pid, channel=channel, cost=cost, minutes=minutes)
        for day, pid, channel, cost, minutes in contacts]
    return s


@pytest.fixture(scope="module")
def book_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_xlsx(tmp_path_factory.mktemp("money") / "money.xlsx", money_sheets())


@pytest.fixture(scope="module")
def stats(book_path: Path) -> Stats:
    return compute(ExcelSource(book_path).read(), start=START, end=END, hourly_rate=60)


def by(table, key: str) -> dict:
    return {r[key]: r for r in table.rows}


def test_revenue_by_source(stats: Stats) -> None:
    rows = by(stats.tables["revenue"], "source")
    assert list(rows) == ["doctor", "client", "other", "not recorded"]
    assert rows["doctor"] == {
        "source": "doctor", "clients": 4, "new_clients": 3, "visits": 6, "charged": 640.0,
        "revenue": 500.0, "new_client_revenue": 410.0, "revenue_per_new_client": 136.67,
        "outreach_cost": 196.75, "cost_per_new_client": 65.58, "return": 303.25}
    assert rows["client"] == {
        "source": "client", "clients": 1, "new_clients": 1, "visits": 1, "charged": 80.0,
        "revenue": 80.0, "new_client_revenue": 80.0, "revenue_per_new_client": 80.0,
        "outreach_cost": None, "cost_per_new_client": None, "return": None}
    assert (rows["other"]["visits"], rows["other"]["revenue"], rows["other"]["new_clients"],
            rows["other"]["revenue_per_new_client"]) == (2, 140.0, 1, 140.0)
    assert (rows["not recorded"]["visits"], rows["not recorded"]["revenue"],
            rows["not recorded"]["new_clients"],
            rows["not recorded"]["revenue_per_new_client"]) == (1, 60.0, 0, None)
    assert stats.tables["revenue"].total == {
        "source": "All", "clients": 7, "new_clients": 5, "visits": 10, "charged": 920.0,
        "revenue": 780.0, "new_client_revenue": 630.0, "revenue_per_new_client": 126.0,
        "outreach_cost": 196.75, "cost_per_new_client": 39.35, "return": 583.25}


def test_revenue_by_provider(stats: Stats) -> None:
    table = stats.tables["revenue_providers"]
    assert [r["provider_id"] for r in table.rows] == ["P1", "P2", "P3"]  # by revenue; P4 none
    rows = by(table, "provider_id")
    assert rows["P1"] == {"provider_id": "P1", "provider": "Ann Ames", "practice": None,
                          "specialty": "neurology", "referrals": 2, "new_clients": 2,
                          "visits": 3, "charged": 290.0, "revenue": 270.0,
                          "revenue_per_new_client": 90.0}
    assert [rows["P2"][k] for k in ("referrals", "new_clients", "visits", "charged", "revenue",
                                    "revenue_per_new_client")] == [1, 1, 2, 240.0, 120.0, 120.0]
    assert [rows["P3"][k] for k in ("referrals", "new_clients", "visits", "charged", "revenue",
                                    "revenue_per_new_client")] == [1, 1, 1, 110.0, 110.0, 110.0]
    assert table.total == {"provider": "All", "referrals": 4, "new_clients": 3, "visits": 6,
                           "charged": 640.0, "revenue": 500.0,
                           "revenue_per_new_client": 136.67}


def test_revenue_by_specialty_counts_a_shared_new_client_once(stats: Stats) -> None:
    table = stats.tables["revenue_specialties"]
    assert table.rows == [
        {"specialty": "neurology", "providers": 2, "referrals": 3, "new_clients": 2,
         "visits": 4, "charged": 400.0, "revenue": 380.0, "revenue_per_new_client": 145.0},
        {"specialty": "chiropractic", "providers": 1, "referrals": 1, "new_clients": 1,
         "visits": 2, "charged": 240.0, "revenue": 120.0, "revenue_per_new_client": 120.0}]


def test_outreach_cost_and_return_per_provider(stats: Stats) -> None:
    table = stats.tables["outreach"]
    assert [(r["provider_id"], r["contacts"], r["cost"], r["referrals"], r["new_clients"],
             r["revenue"], r["cost_per_new_client"], r["return"]) for r in table.rows] == [
        ("P1", 1, 145.5, 2, 2, 270.0, 72.75, 124.5),
        ("P3", 1, 0.0, 1, 1, 110.0, 0.0, 110.0),
        ("P2", 1, 15.0, 1, 1, 120.0, 15.0, 105.0),
        ("P4", 1, 36.25, 0, 0, 0.0, None, -36.25)]
    assert table.total == {"provider": "All providers (the doctor source)", "contacts": 4,
                           "cost": 196.75, "referrals": 4, "new_clients": 3, "revenue": 500.0,
                           "cost_per_new_client": 65.58, "return": 303.25}
    assert cell_text(table.rows[-1]["return"], "money") == "\u2212$36.25"


def test_without_an_hourly_rate_only_the_cost_counts(book_path: Path) -> None:
    # K1 85.50 + K3 6.25 = 91.75; the minutes cost nothing.
    stats = compute(ExcelSource(book_path).read(), start=START, end=END)
    assert stats.tables["outreach"].total["cost"] == 91.75
    assert by(stats.tables["outreach"], "provider_id")["P2"]["cost"] == 0.0
    assert by(stats.tables["revenue"], "source")["doctor"]["return"] == 408.25


def test_money_columns_are_money(stats: Stats) -> None:
    for key in ("revenue", "revenue_providers", "revenue_specialties", "outreach"):
        table = stats.tables[key]
        kinds = {c.key: c.kind for c in table.columns}
        assert kinds["revenue"] == "money"
        assert all(c.help for c in table.columns if c.kind == "money")


def test_the_command_reads_hourly_rate_from_config(tmp_path: Path, book_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[practice]\nname = "P"\ntherapist = "T"\n[source]\nexcel = '
                      f'"{book_path.as_posix()}"\n[program]\nhourly_rate = 60\n',
                      encoding="utf-8")
    result = run("--quiet", "stats", "--config", config, "--from", "2026-09-01", "--to",
                 "2026-11-30", "--json")
    assert result.exit_code == 0, result.output
    total = json.loads(result.stdout)["tables"]["outreach"]["total"]
    assert (total["cost"], total["return"]) == (196.75, 303.25)


@pytest.mark.parametrize(("value", "fix"), [
    ("-1", "is -1; use a number of dollars an hour from 0 to 10000, e.g. hourly_rate = 0."),
    ("nan", "is nan; use a number of dollars an hour from 0 to 10000, e.g. hourly_rate = 0."),
    ('"80"', "must be a number, not str '80'."),
])
def test_a_wrong_hourly_rate_is_refused(tmp_path: Path, value: str, fix: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[practice]\nname = "P"\ntherapist = "T"\n[program]\n'
                      f"hourly_rate = {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert info.value.message.startswith("config.toml line 5: program.hourly_rate ")
    assert info.value.message.endswith(fix)


def test_a_decimal_hourly_rate_is_taken(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[practice]\nname = "P"\ntherapist = "T"\n[program]\n'
                      "hourly_rate = 72.5\n", encoding="utf-8")
    assert load_config(config).program["hourly_rate"] == 72.5
