"""The sample practice's measured outcomes, SOAP notes, own diagnoses, client cards and
quotes: filled where a practice would fill them, and shaped for the demo day (2026-11-23)."""

from __future__ import annotations

import pandas as pd
import pytest

from refdesk.book import Book
from refdesk.check.formats import _icd
from refdesk.sample.data import FOCUS_CODES, ICD10_CODES
from refdesk.sample.outcomes import HEADACHE_DAYS, NDI, ODI, PSFS, measure_for
from refdesk.schema import LIST_SEPARATOR
from refdesk.sources.excel import ExcelSource
from tests.conftest import ROOT

SAMPLE = ROOT / "workbooks" / "referrals.xlsx"
CONFIG = ROOT / "config.toml"
DEMO_DAY = pd.Timestamp("2026-11-23")
SOAP = ["subjective", "objective", "assessment", "plan"]


@pytest.fixture(scope="module")
def book() -> Book:
    return ExcelSource(SAMPLE).read()


def test_every_code_the_sample_uses_is_a_billable_icd10_cm_code():
    icd = _icd()  # the code set `check` reads, loaded as check loads it
    for code, title in ICD10_CODES.items():
        assert icd.is_valid_item(code) and icd.is_leaf(code), code
        assert icd.get_description(code) == title, code
    for codes in FOCUS_CODES.values():
        assert {c.strip() for c in codes.split(LIST_SEPARATOR)} <= set(ICD10_CODES)


@pytest.mark.parametrize(("diagnosis", "measure"), [
    ("G43.909", HEADACHE_DAYS), ("G44.229; M62.838", HEADACHE_DAYS),
    ("Z33.1; G43.909", HEADACHE_DAYS), ("M54.2", NDI), ("S13.4XXA; M54.2", NDI),
    ("Z33.1; M54.50", ODI), ("M26.609", PSFS), ("M25.511", PSFS), ("M79.7", PSFS)])
def test_a_measure_fits_the_diagnosis(diagnosis, measure):
    assert measure_for(diagnosis) == measure


def test_every_referral_has_a_measure_and_most_a_goal_in_range(book):
    df = book["Referrals"].df
    assert df["measure"].notna().all()
    assert 0.75 <= df["goal"].notna().mean() < 1
    goals = df.dropna(subset="goal").groupby("measure")["goal"].agg(["min", "max"])
    assert goals.loc[HEADACHE_DAYS].tolist() == [1, 2]
    assert goals.loc[NDI].tolist() == [10, 10]
    assert goals.loc[ODI, "min"] >= 10 and goals.loc[ODI, "max"] <= 20
    assert goals.loc[PSFS].tolist() == [7, 8]


def test_visits_of_referrals_carry_pain_scores_and_notes(book):
    visits = book["Visits"].df
    care = visits[visits["referral_id"].notna()]
    assert visits.loc[visits["referral_id"].isna(), ["pain_before", "measure_score"]].isna().all(
        axis=None)
    rated = care.dropna(subset=["pain_before", "pain_after"])
    assert 0.8 <= len(rated) / len(care) < 1
    drop = rated["pain_before"] - rated["pain_after"]
    # A planted 54 aside, pain falls by 0-3 in a session, by 1-3 mostly.
    assert (drop[rated["pain_before"] <= 10].between(0, 3)).all() and drop.median() >= 1
    assert 0.65 <= care["measure_score"].notna().mean() < 0.95
    noted = care[SOAP].notna().all(axis=1)
    assert 0.65 <= noted.mean() < 0.95
    assert care[SOAP].notna().any(axis=1).equals(noted)  # a note has all four parts
    notes = care.loc[noted, "subjective"] + care.loc[noted, "objective"]
    assert notes.nunique() > 0.9 * len(notes)  # notes differ
    text = " ".join(care.loc[noted, "objective"].head(400))
    assert "rotation" in text and "trigger points" in text
    assessments = " ".join(care.loc[noted, "assessment"])
    assert all(name in assessments for name in ("NDI", "Headache days/week", "PSFS"))
    assert "home care" in " ".join(care.loc[noted, "plan"])


def test_scores_and_pain_move_toward_the_goal(book):
    visits = book["Visits"].df.dropna(subset="referral_id").sort_values("date")
    referrals = book["Referrals"].df.set_index("referral_id")
    closer = reached = count = 0
    for rid, group in visits.groupby("referral_id"):
        scores = group["measure_score"].dropna()
        scores = scores[scores <= 100]
        goal = referrals.at[rid, "goal"]
        if len(scores) < 4 or pd.isna(goal):
            continue
        count += 1
        first, last = scores.iloc[0], scores.iloc[-1]
        closer += abs(goal - last) < abs(goal - first)
        reached += (last <= goal) if first > goal else (last >= goal)
    assert count > 100
    assert closer / count > 0.85 and 0.1 < reached / count < 0.9  # not always reached
    pain = visits.dropna(subset="pain_before").groupby("referral_id")["pain_before"]
    fell = (pain.first() > pain.last())[pain.count() >= 4]
    assert fell.mean() > 0.7


def test_self_paid_visits_have_a_diagnosis_but_two_in_the_billing_month(book):
    clients = book["Clients"].df.set_index("client_id")
    visits = book["Visits"].df
    own = visits[visits["referral_id"].isna()]
    without = clients.loc[own["client_id"].unique(), "diagnosis"].isna()
    missing = sorted(without[without].index)
    assert len(missing) == 2
    october = own[own["date"].dt.strftime("%Y-%m") == "2026-10"]
    assert set(missing) <= set(october["client_id"])
    only_referred = set(clients.index) - set(own["client_id"])
    assert clients.loc[sorted(only_referred), "diagnosis"].isna().all()
    for cid, codes in clients["diagnosis"].dropna().items():
        assert codes == FOCUS_CODES[clients.at[cid, "focus"]]


def test_clients_paying_by_insurance_name_their_carrier(book):
    clients = book["Clients"].df.set_index("client_id")
    visits = book["Visits"].df
    insured = visits.loc[visits["payment_method"] == "insurance", "client_id"].unique()
    assert len(insured) > 10
    assert clients.loc[insured, ["insurance_carrier", "member_id"]].notna().all(axis=None)


def test_recent_doctor_referred_clients_agreed_to_write_a_card(book):
    clients = book["Clients"].df
    recent = clients[(clients["source"] == "doctor")
                     & (clients["first_visit"] >= DEMO_DAY - pd.Timedelta(days=30))]
    assert len(recent) >= 2 and (recent["client_card"] == "yes").all()
    assert recent["card_sent"].isna().all()
    answered = clients.dropna(subset="client_card")
    assert set(answered["client_card"]) == {"yes", "no"}
    assert (answered["source"] == "doctor").all()
    sent = clients.dropna(subset="card_sent")
    assert len(sent) >= 3 and (sent["client_card"] == "yes").all()
    assert (sent["card_sent"] >= sent["first_visit"]).all()


def test_quotes_speak_to_conditions_and_never_name_a_client(book):
    quotes = book["Testimonials"].df
    clients = book["Clients"].df
    assert 12 <= len(quotes) <= 16 and quotes["permission_on"].isna().sum() == 2
    conditions = quotes["condition"].str.split(LIST_SEPARATOR)
    assert conditions.map(len).between(1, 2).all()
    said = {c.strip() for cs in conditions for c in cs}
    practice = {"migraine", "tension-type headache", "neck pain and whiplash", "jaw pain (TMJ)",
                "upper-back and shoulder tension"}
    assert practice <= said
    assert {"prenatal back pain", "low back pain", "sports recovery", "TMJ"} <= said
    names = set(clients["first_name"]) | set(clients["last_name"])
    for quote in quotes["quote"]:
        assert not names & set(quote.replace(".", " ").replace(",", " ").split())
    assert quotes["client_id"].is_unique


def test_the_demo_day_shows_each_jobs_skip(tmp_path):
    from tests.conftest import run

    reports = run("--quiet", "merge", "progress-report", "--dry-run", "--today", "2026-11-23",
                  "--config", CONFIG, "--out", tmp_path)
    assert reports.exit_code == 0, reports.stderr
    assert "no visit notes" in reports.stdout and "R241" in reports.stdout
    bills = run("--quiet", "merge", "super-bill", "--dry-run", "--today", "2026-11-23",
                "--config", CONFIG, "--out", tmp_path)
    assert bills.exit_code == 0, bills.stderr
    assert bills.stdout.count("with no diagnosis") == 2
    # the others with notes since their last report (none yet, for most) are made
    assert "progress-report: would make" in reports.stdout
