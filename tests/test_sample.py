"""The sample workbook: rebuilt byte for byte, the promised size, and clean except for exactly
the mistakes refdesk.sample says it planted."""

from __future__ import annotations

import difflib
import importlib.util
import re
import zipfile
from collections import Counter

import openpyxl
import pandas as pd
import pytest

from refdesk.book import Book, Table
from refdesk.npi import is_valid_npi
from refdesk.sample import AS_OF, PLANTED_MISTAKES, START, sample_rows
from refdesk.sample.data import ICD10_CODES
from refdesk.schema import LIST_SEPARATOR, MEASURE_RANGES, PAIN_RANGE, SHEETS, STAGES, Kind
from refdesk.sources.excel import ExcelSource
from tests.conftest import ROOT

COMMITTED = ROOT / "workbooks" / "referrals.xlsx"
PHONE = re.compile(r"\(\d{3}\) \d{3}-\d{4}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}")
ZIP = re.compile(r"\d{5}(-\d{4})?")
CPT = {"97124", "97140", "97112"}
#: Date columns that may lie after the day the sample describes.
FUTURE_OK = {"next_follow_up", "follow_up_on", "expires_on"}
#: Where each planted mistake sits, as `check` will report it.
PLANTED_CELLS = {
    "npi": "Providers!F9", "spelling": "Providers!O14",
    "type": "Providers!U27", "near-duplicate": "Providers!B41",
    "phone": "Clients!E151", "visit-before-referral": "Referrals!M110",
    "icd10": "Referrals!E142", "unknown-reference": "Referrals!C251",
    "over-authorized": "Visits!D1425", "no-release": "Letters!H9",
    "pain-range": "Visits!K1601", "score-range": "Visits!M1968",
}


def build_script():
    spec = importlib.util.spec_from_file_location("build_sample",
                                                  ROOT / "scripts" / "build_sample.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def book() -> Book:
    return ExcelSource(COMMITTED).read()


def value(x):
    return None if x is None or x is pd.NA or (not isinstance(x, str) and pd.isna(x)) else x


def rows(table: Table):
    key = table.schema.key
    for row, record in table.df.iterrows():
        yield row, value(record[key]), {k: value(v) for k, v in record.items()}


def find(table: Table, row_id: str) -> tuple[int, dict]:
    found = [(row, rec) for row, rid, rec in rows(table) if rid == row_id]
    assert len(found) == 1, f"{table.name}: {len(found)} rows with id {row_id}"
    return found[0]


def test_committed_workbook_is_rebuilt_byte_for_byte(tmp_path):
    fresh = tmp_path / "referrals.xlsx"
    counts = build_script().build(fresh)
    assert counts["Referrals"] == 250
    with zipfile.ZipFile(COMMITTED) as old, zipfile.ZipFile(fresh) as new:
        assert old.namelist() == new.namelist()
        for name in old.namelist():
            assert old.read(name) == new.read(name), f"{name} differs: rebuild the sample"


def test_script_replaces_its_output_and_reports_counts(tmp_path, capsys):
    target = tmp_path / "book.xlsx"
    target.write_bytes(b"an older sample")
    assert build_script().main(["--output", str(target)]) == 0
    err = capsys.readouterr().err
    assert f"Wrote {target}" in err
    assert re.search(r"Clients\s+300 rows", err) and re.search(r"Referrals\s+250 rows", err)
    assert zipfile.is_zipfile(target)
    assert [p.name for p in tmp_path.iterdir()] == ["book.xlsx"]  # no scratch left behind


def test_sizes_and_span(book):
    assert 38 <= len(book["Providers"]) <= 42
    assert len(book["Clients"]) == 300
    assert len(book["Referrals"]) == 250
    received = book["Referrals"].df["received_on"]
    assert received.min() >= pd.Timestamp(START) and received.max() <= pd.Timestamp(AS_OF)
    assert 540 <= (received.max() - received.min()).days <= 549
    assert set(book["Providers"].df["stage"].str.strip().str.lower()) == set(STAGES)
    assert 12 <= len(book["Testimonials"]) <= 16
    assert book["Testimonials"].df["permission_on"].notna().sum() > len(book["Testimonials"]) / 2
    assert set(book["Letters"].df["status"]) <= {"produced", "emailed"}
    assert all(len(t) for t in book), "every sheet has rows"


def test_ids_and_codes_stay_text(book):
    for table in book:
        key = table.schema.key
        assert str(table.df[key].dtype) == "string"
        assert table.df[key].str.fullmatch(r"[A-Z]{1,2}\d{3,4}").all(), table.name
    providers, clients = book["Providers"].df, book["Clients"].df
    assert providers["npi"].dropna().str.fullmatch(r"\d{10}").all()
    assert clients["zip"].str.fullmatch(r"\d{5}").all()
    # Member ids with leading zeros survive: they are text in the file and in the table.
    assert clients["member_id"].dropna().str.startswith("0").sum() >= 5


@pytest.mark.parametrize("mistake", PLANTED_MISTAKES, ids=lambda m: m.rule)
def test_planted_mistake_is_in_the_book(book, mistake):
    table = book[mistake.sheet]
    row, record = find(table, mistake.id)
    assert table.cell(row, mistake.column) == PLANTED_CELLS[mistake.rule]
    got = record[mistake.column]
    ids = {name: set(book[name].df[book[name].schema.key]) for name in book.tables}
    match mistake.rule:
        case "type":
            assert got is None
            bad = [(b.cell, b.value, b.kind) for b in table.bad_values]
            assert bad == [(PLANTED_CELLS[mistake.rule], mistake.value, Kind.DATE)]
        case "spelling":
            ws = openpyxl.load_workbook(COMMITTED, read_only=True)[mistake.sheet]
            assert ws[PLANTED_CELLS[mistake.rule].split("!")[1]].value == mistake.value
            assert got == mistake.value.strip().lower() and got in STAGES
            assert [(r.cell, r.typed, r.canonical) for r in table.respelled] == [
                (PLANTED_CELLS[mistake.rule], mistake.value, got)]
        case "npi":
            assert got == mistake.value and not is_valid_npi(got)
        case "near-duplicate":
            twin = find(table, "P004")[1]
            assert got != twin["name"]
            assert difflib.SequenceMatcher(None, got, twin["name"]).ratio() >= 0.85
            assert (record["practice"], record["phone"]) == (twin["practice"], twin["phone"])
        case "phone":
            assert got == mistake.value and not PHONE.fullmatch(got)
        case "visit-before-referral":
            assert got == pd.Timestamp(mistake.value) and got < record["received_on"]
        case "icd10":
            assert got == mistake.value and got not in ICD10_CODES
        case "unknown-reference":
            assert got == mistake.value and got not in ids["Providers"]
        case "over-authorized":
            referral = find(book["Referrals"], mistake.value)[1]
            visits = book["Visits"].df[book["Visits"].df["referral_id"] == mistake.value]
            assert len(visits) == referral["visits_authorized"] + 1
            assert visits["date"].idxmax() == row
        case "pain-range":
            assert got == mistake.value and not 0 <= got <= 10
        case "score-range":
            referral = find(book["Referrals"], record["referral_id"])[1]
            low, high = MEASURE_RANGES[referral["measure"].lower()]
            assert got == mistake.value and not low <= got <= high
        case "no-release":
            releases = book["Releases"].df
            pair = (releases["client_id"] == record["client_id"]) & (
                releases["provider_id"] == record["provider_id"])
            assert got is None and record["job"] == "progress-report" and not pair.any()
        case _:
            pytest.fail(f"no assertion for planted rule {mistake.rule}")


def test_nothing_is_wrong_but_the_planted_mistakes(book):
    found = schema_problems(book) | logic_problems(book)
    assert found == {(m.sheet, m.id, m.column) for m in PLANTED_MISTAKES}


def schema_problems(book: Book) -> set[tuple[str, str, str]]:
    """What `check` will look at cell by cell: kinds, lists, references, required values."""
    ids = {name: set(book[name].df[book[name].schema.key]) for name in book.tables}
    found = set()
    for table in book:
        key = table.schema.key
        by_row = table.df[key].to_dict()
        found |= {(table.name, by_row[b.row], b.column) for b in table.bad_values}
        found |= {(table.name, by_row[r.row], r.column) for r in table.respelled}
        counts = Counter(table.df[key])
        found |= {(table.name, k, key) for k, n in counts.items() if n > 1}
        for _, rid, rec in rows(table):
            for col in table.schema.columns:
                v = rec[col.name]
                if v is None:
                    if col.required:
                        found.add((table.name, rid, col.name))
                    continue
                if not cell_ok(col, v, ids):
                    found.add((table.name, rid, col.name))
                if (col.kind is Kind.DATE and col.name not in FUTURE_OK
                        and v > pd.Timestamp(AS_OF)):
                    found.add((table.name, rid, col.name))
    npis = Counter(book["Providers"].df["npi"].dropna())
    assert max(npis.values()) == 1
    return found


def cell_ok(col, v, ids) -> bool:
    parts = [p.strip() for p in str(v).split(LIST_SEPARATOR)]
    checks = {
        Kind.CHOICE: lambda: v in col.choices,
        Kind.CHOICES: lambda: set(parts) <= set(col.choices),
        Kind.PHONE: lambda: bool(PHONE.fullmatch(v)),
        Kind.EMAIL: lambda: bool(EMAIL.fullmatch(v)),
        Kind.STATE: lambda: v == "OR",
        Kind.ZIP: lambda: bool(ZIP.fullmatch(v)),
        Kind.NPI: lambda: is_valid_npi(v),
        Kind.ICD10: lambda: set(parts) <= set(ICD10_CODES),
        Kind.CPT: lambda: v in CPT,
    }
    if col.ref:
        return v in ids[col.ref]
    return checks.get(col.kind, lambda: True)()


def releases_of(book: Book) -> dict[tuple[str, str], list[dict]]:
    found: dict[tuple[str, str], list[dict]] = {}
    for _, _, rec in rows(book["Releases"]):
        found.setdefault((rec["client_id"], rec["provider_id"]), []).append(rec)
    return found


def released(releases, client, provider, day, topic="treatment plan") -> str | None:
    for r in releases.get((client, provider), []):
        if (r["signed_on"] <= day and (r["expires_on"] is None or day <= r["expires_on"])
                and (r["revoked_on"] is None or day < r["revoked_on"])
                and topic in r["scope"].split("; ")):
            return r["release_id"]
    return None


def logic_problems(book: Book) -> set[tuple[str, str, str]]:
    """Rules across columns and sheets: dates in order, consent, authorizations, duplicates."""
    found = set()
    releases = releases_of(book)
    referrals = {rid: rec for _, rid, rec in rows(book["Referrals"])}
    for rid, r in referrals.items():
        if r["per_week"] * r["weeks"] != r["visits_authorized"]:
            found.add(("Referrals", rid, "visits_authorized"))
        first = r["first_visit"]
        if (first is None) != (r["status"] in ("received", "scheduled", "declined")):
            found.add(("Referrals", rid, "status"))
        if first is not None and first < r["received_on"]:
            found.add(("Referrals", rid, "first_visit"))
        for col, topic in (("thank_you_sent", "treatment plan"), ("last_report_sent", "progress")):
            day = r[col]
            if day is not None and (first is None or day <= first or not released(
                    releases, r["client_id"], r["provider_id"], day, topic)):
                found.add(("Referrals", rid, col))
    seen: Counter[str] = Counter()
    for _, vid, v in sorted(rows(book["Visits"]), key=lambda x: x[2]["date"]):
        if not (v["units"] * 15 <= v["minutes"] < v["units"] * 15 + 15):
            found.add(("Visits", vid, "units"))
        if v["paid"] is not None and v["paid"] > v["fee"]:
            found.add(("Visits", vid, "paid"))
        ref = referrals.get(v["referral_id"])
        if ref is None:
            continue
        seen[v["referral_id"]] += 1
        if (v["client_id"] != ref["client_id"] or seen[v["referral_id"]] > ref["visits_authorized"]
                or v["date"] < ref["received_on"]):
            found.add(("Visits", vid, "referral_id"))
    for _, cid, c in rows(book["Clients"]):
        if (c["source"] == "doctor") != (c["referred_by_provider"] is not None) or (
                c["source"] == "client") != (c["referred_by_client"] is not None):
            found.add(("Clients", cid, "source"))
        if c["phone"] is None and c["email"] is None:
            found.add(("Clients", cid, "phone"))
    for _, sid, s in rows(book["Sent"]):
        told = s["provider_told_on"]
        if told is not None and (told < s["sent_on"] or not released(
                releases, s["client_id"], s["provider_id"], told)):
            found.add(("Sent", sid, "provider_told_on"))
    for _, lid, letter in rows(book["Letters"]):
        if letter["client_id"] is None:
            continue
        topic = "progress" if letter["job"] == "progress-report" else "treatment plan"
        day = letter["when"].normalize()
        valid = released(releases, letter["client_id"], letter["provider_id"], day, topic)
        if valid is None or letter["release_id"] != valid:
            found.add(("Letters", lid, "release_id"))
    found |= outcome_problems(book, referrals)
    names = list(rows(book["Providers"]))
    for i, (_, _, a) in enumerate(names):
        for _, bid, b in names[i + 1:]:
            if difflib.SequenceMatcher(None, a["name"], b["name"]).ratio() >= 0.85:
                found.add(("Providers", bid, "name"))
    return found


def outcome_problems(book: Book, referrals: dict[str, dict]) -> set[tuple[str, str, str]]:
    """Pain 0-10, scores and goals within their measure's range, every score measured."""
    found = set()

    def scale(measure):
        return MEASURE_RANGES.get(" ".join(measure.lower().split()), (0, float("inf")))

    for rid, r in referrals.items():
        if r["goal"] is not None and (r["measure"] is None
                                      or not scale(r["measure"])[0] <= r["goal"]
                                      <= scale(r["measure"])[1]):
            found.add(("Referrals", rid, "goal"))
    for _, vid, v in rows(book["Visits"]):
        for column in ("pain_before", "pain_after"):
            if v[column] is not None and not PAIN_RANGE[0] <= v[column] <= PAIN_RANGE[1]:
                found.add(("Visits", vid, column))
        score = v["measure_score"]
        ref = referrals.get(v["referral_id"])
        if score is not None and (ref is None or ref["measure"] is None
                                  or not scale(ref["measure"])[0] <= score
                                  <= scale(ref["measure"])[1]):
            found.add(("Visits", vid, "measure_score"))
    return found


def test_diagnoses_come_from_the_verified_codes(book):
    used = {code.strip() for cell in book["Referrals"].df["diagnosis"].dropna()
            for code in cell.split(LIST_SEPARATOR)}
    assert used - set(ICD10_CODES) == {"G44.290"}
    assert len(used) >= 25
    assert all(re.fullmatch(r"[A-TV-Z]\d[0-9A-Z](\.[0-9A-Z]{1,4})?", c) for c in ICD10_CODES)


def test_rows_use_the_schema_columns_exactly():
    made = sample_rows()
    assert list(made) == [s.name for s in SHEETS]
    for sheet in SHEETS:
        assert all(list(r) == sheet.column_names for r in made[sheet.name]), sheet.name
