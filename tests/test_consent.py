"""Consent fails closed: a release whose signed_on, expires_on or revoked_on does not read as a
date (`yes`, `?`, `13/13/2026`, a year 9999, a `01.03.2026` the practice's country cannot
order), whose revocation is dated after today or whose signing is, allows no document. Every
merge option is run on one workbook holding every such release, through the command line; no
document, Letters row or draft is made for those pairs, and each skip names the cell. `check`
reports the same cells, by the same rules (refdesk.consent)."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import docx
import pytest
from click.testing import CliRunner, Result

from refdesk.check import links, logic
from refdesk.cli import cli
from refdesk.config import load_config
from refdesk.consent import Consent
from refdesk.merge.data import Data
from refdesk.sources.excel import ExcelSource
from tests.conftest import ROOT
from tests.helpers import check_sheets, headers, make_xlsx, row

TODAY = dt.date(2026, 11, 23)
D = dt.datetime
GOOD_SIGNED, GOOD_EXPIRES = D(2026, 1, 5), D(2027, 6, 30)
#: The release's columns: release_id A, client_id B, provider_id C, signed_on D, expires_on E,
#: scope F, revoked_on G.
LETTER = {"signed_on": "D", "expires_on": "E", "revoked_on": "G"}

#: Text no one can read as a date, in any country.
UNREADABLE = ["yes", "revoked", "?", "13/13/2026", "0", "9999-12-31", "12/31/9999"]
#: Under US (month-first for `/`): dotted and dashed dates whose two numbers could both be the
#: month.
AMBIGUOUS_US = ["01.03.2026", "3-4-2026"]

CASES: list[tuple[str, object, str]] = (
    [(column, value, "unreadable") for column in LETTER for value in UNREADABLE]
    + [(column, value, "ambiguous") for column in LETTER for value in AMBIGUOUS_US]
    + [("revoked_on", D(2027, 3, 1), "revoked ahead"),
       ("signed_on", D(2027, 1, 5), "signed ahead"),
       ("expires_on", D(9999, 12, 31), "beyond")]  # a real date cell, past what dates hold
)
JOBS = ("thank-you", "progress-report", "sent-referral")


def _bad(i: int) -> dict[str, str]:
    n = f"{i:02d}"
    return {"client": f"CBAD{n}", "provider": f"PBAD{n}", "release": f"RLBAD{n}",
            "referral": f"RBAD{n}", "sent": f"SBAD{n}", "last": f"Withheld{n}"}


def _practice_sheets() -> dict[str, list[list[object]]]:
    """One client and provider per bad release, each with a referral (thank-you, progress
    report) and a Sent row (sent-referral); and one good pair that does get its documents."""
    sheets: dict[str, list[list[object]]] = {name: [headers(name)] for name in (
        "Providers", "Clients", "Releases", "Referrals", "Sent", "Visits", "Letters")}
    pairs = [("CGOOD", "PGOOD", "RLGOOD", "RGOOD", "SGOOD", "Keeper", {})]
    for i, (column, value, _kind) in enumerate(CASES, start=1):
        b = _bad(i)
        pairs.append((b["client"], b["provider"], b["release"], b["referral"], b["sent"],
                      b["last"], {column: value}))
    for client, provider, release, referral, sent, last, dates in pairs:
        sheets["Providers"].append(row(
            "Providers", provider_id=provider, name=f"Dana {provider}", credentials="MD",
            stage="referring", delivery="email", email=f"{provider.lower()}@clinic.example",
            wants="progress reports", street="1 Main St", city="Portland", state="OR",
            zip="97202"))
        sheets["Clients"].append(row("Clients", client_id=client, first_name="Ann",
                                     last_name=last, source="doctor",
                                     referred_by_provider=provider))
        values = {"signed_on": GOOD_SIGNED, "expires_on": GOOD_EXPIRES, **dates}
        sheets["Releases"].append(row("Releases", release_id=release, client_id=client,
                                      provider_id=provider, scope="treatment plan; progress",
                                      **values))
        sheets["Referrals"].append(row(
            "Referrals", referral_id=referral, received_on=D(2026, 11, 1), provider_id=provider,
            client_id=client, status="in care", first_visit=D(2026, 11, 10), per_week=1,
            weeks=6, visits_authorized=6))
        sheets["Sent"].append(row("Sent", sent_id=sent, sent_on=D(2026, 11, 15),
                                  client_id=client, provider_id=provider))
        # a noted visit: the progress report has something new to say (require "new notes")
        sheets["Visits"].append(row("Visits", visit_id=f"V{referral}", client_id=client,
                                    date=D(2026, 11, 10), referral_id=referral,
                                    subjective="Fewer headaches."))
    return sheets


def _cell(i: int) -> str:
    column = CASES[i - 1][0]
    return f"Releases!{LETTER[column]}{i + 2}"  # the good release is row 2


def _practice(folder: Path, country: str = "US", sheets: dict | None = None) -> Path:
    """config.toml, templates and a workbook built here; the practice in `country`."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "templates", folder / "templates")
    (folder / "workbooks").mkdir()
    make_xlsx(folder / "workbooks" / "referrals.xlsx", sheets or _practice_sheets())
    config = (ROOT / "config.toml").read_text()
    (folder / "config.toml").write_text(config.replace('country = "US"',
                                                       f'country = "{country}"'))
    return folder / "config.toml"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The practice, built once; each test works on a copy."""
    return _practice(tmp_path_factory.mktemp("consent") / "practice")


@pytest.fixture
def practice(built: Path, tmp_path: Path) -> Path:
    shutil.copytree(built.parent, tmp_path / "practice")
    return tmp_path / "practice" / "config.toml"


def _merge(config: Path, job: str, *options: str) -> Result:
    # A wide console: every skip reason on one line.
    runner = CliRunner(env={"COLUMNS": "1000"})
    return runner.invoke(cli, ["--quiet", "merge", job, "--config", str(config), "--today",
                               TODAY.isoformat(), *options], catch_exceptions=False)


def _skips(stdout: str) -> dict[str, str]:
    """The Skipped table merge prints: record -> why."""
    found = {}
    table = stdout[stdout.find("\nSkipped "):] if "\nSkipped " in stdout else ""
    for line in table.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) == 4 and re.fullmatch(r"[RS](BAD\d\d|GOOD)", cells[1]):
            found[cells[1]] = cells[2]
    return found


def _assert_nothing_for_the_bad(config_path: Path, job: str, result: Result, *,
                                made_good: bool, logged_good: bool) -> None:
    assert result.exit_code == 0, result.stderr
    config = load_config(config_path)
    key = "sent" if job == "sent-referral" else "referral"
    bad = [_bad(i) for i in range(1, len(CASES) + 1)]
    skips = _skips(result.stdout)
    for i, b in enumerate(bad, start=1):
        reason = skips.get(b[key])
        assert reason is not None, f"{b[key]} ({CASES[i - 1]}) was not skipped"
        column, value, kind = CASES[i - 1]
        assert _cell(i) in reason, (CASES[i - 1], reason)
        if kind == "ambiguous":
            assert "could be" in reason and "treated as" in reason, reason
        if kind == "unreadable" and value not in ("9999-12-31", "12/31/9999"):
            assert "not a date" in reason and "year-month-day" in reason, reason
        if kind == "revoked ahead":
            assert "after today" in reason and "treated as revoked" in reason, reason
        if kind == "signed ahead":
            assert "not signed yet" in reason, reason
        if "9999" in str(value):  # text or a real date cell
            assert "year 9999" in reason, reason
        assert b["last"] not in reason and "Ann" not in reason  # ids, cells, dates only
    assert "GOOD" not in "".join(skips), "the good pair is not skipped"

    # No file of any kind (document, PDF, draft, fax) names a bad record.
    out = config.output
    files = [p for p in out.rglob("*") if p.is_file()] if out.exists() else []
    names = " ".join(p.name for p in files)
    for b in bad:
        assert b[key] not in names, (b[key], names)
    for path in files:
        if path.suffix == ".docx":  # a combined document holds every letter in one file
            text = "\n".join(p.text for p in docx.Document(path).paragraphs)
            assert not re.search(r"Withheld\d\d", text), path.name
    good = f"{key[0].upper()}GOOD"
    assert (good in names) == made_good, names

    letters = ExcelSource(config.excel).read()["Letters"].df
    assert not letters["client_id"].str.startswith("CBAD").any()
    assert list(letters["record"]) == ([good] if logged_good else [])


@pytest.mark.parametrize("job", JOBS)
@pytest.mark.parametrize(("options", "made_good", "logged_good"), [
    ((), True, True),
    (("--dry-run",), False, False),
    (("--preview", "1"), True, False),
    (("--force",), True, True),
    (("--combine",), False, True),
], ids=["run", "dry-run", "preview", "force", "combine"])
def test_no_document_under_a_release_whose_dates_do_not_read(
        practice: Path, job: str, options: tuple[str, ...], made_good: bool,
        logged_good: bool) -> None:
    result = _merge(practice, job, *options)
    _assert_nothing_for_the_bad(practice, job, result, made_good=made_good,
                                logged_good=logged_good)
    if "--dry-run" in options:
        assert "would make 1 document" in result.stdout
    if "--combine" in options:
        assert list((load_config(practice).output / job).glob("*.docx")), "the combined file"


@pytest.mark.parametrize("job", JOBS)
def test_deliver_drafts_nothing_for_the_bad(practice: Path, job: str, soffice: str) -> None:
    result = _merge(practice, job, "--deliver", "--drafts")
    _assert_nothing_for_the_bad(practice, job, result, made_good=True, logged_good=True)
    drafts = list(load_config(practice).output.rglob("*.eml"))
    assert [p.name.split(".")[0] for p in drafts] == [
        "SGOOD" if job == "sent-referral" else "RGOOD"]


def test_the_release_form_goes_to_each_client_whose_release_does_not_read(
        practice: Path) -> None:
    """Fail closed for `missing_release` too: those clients are asked to sign again."""
    result = _merge(practice, "release-form", "--dry-run")
    assert result.exit_code == 0, result.stderr
    for i in range(1, len(CASES) + 1):
        assert _bad(i)["client"] in result.stdout
    assert "CGOOD" not in result.stdout


def test_merge_and_check_share_the_rules(built: Path) -> None:
    """The reason merge gives and the rule check applies come from one place."""
    config = load_config(built)
    book = ExcelSource(config.excel).read()
    data = Data.of(book, TODAY)
    assert isinstance(data.consent, Consent)
    release, why = data.valid_release("CGOOD", "PGOOD", ["progress"])
    assert release is not None and release["release_id"] == "RLGOOD" and why == ""
    for i in range(1, len(CASES) + 1):
        b = _bad(i)
        release, why = data.valid_release(b["client"], b["provider"], [])
        assert release is None and _cell(i) in why, (CASES[i - 1], why)


@pytest.mark.parametrize(("country", "expected"), [
    ("GB", "release RLGOOD was revoked on 2026-03-01"),
    ("DE", "release RLGOOD was revoked on 2026-03-01"),
    ("US", "Releases!G2 (revoked_on) reads '01.03.2026', which could be 1 March 2026 or 3 "
           "January 2026; type it as 2026-03-01 or 2026-01-03, whichever is meant; until then "
           "this release is treated as revoked"),
    ("CA", "could be 1 March 2026 or 3 January 2026"),
])
def test_the_practices_country_orders_day_and_month(tmp_path: Path, country: str,
                                                    expected: str) -> None:
    """`01.03.2026` is 1 March where the day comes first (the release was revoked then); in
    the US and Canada it could be either, so the release counts as revoked until retyped. The
    country goes from config.toml through the command line to the Book."""
    sheets = _practice_sheets()
    sheets["Releases"][1][6] = "01.03.2026"  # RLGOOD's revoked_on
    config = _practice(tmp_path / "practice", country, sheets)
    result = _merge(config, "thank-you", "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert expected in _skips(result.stdout)["RGOOD"]


# -- check ---------------------------------------------------------------------------------
def test_check_reports_each_letter_under_a_release_that_does_not_read(tmp_path: Path) -> None:
    sheets = _practice_sheets()
    sheets["Letters"] += [
        row("Letters", letter_id=f"L{i:02d}", when=D(2026, 11, 12, 9), job="thank-you",
            record=_bad(i)["referral"], provider_id=_bad(i)["provider"],
            client_id=_bad(i)["client"], release_id=_bad(i)["release"], status="produced")
        for i in range(1, len(CASES) + 1)]
    found = check_sheets(tmp_path / "w.xlsx", sheets, families=[logic, links])
    consent = {cell: (rule, message) for cell, _sev, rule, message in found
               if cell.startswith("Letters!")}
    for i, (_column, _value, kind) in enumerate(CASES, start=1):
        rule, message = consent.pop(f"Letters!H{i + 1}")
        expected = {"signed ahead": "release-not-yet-signed",
                    "revoked ahead": "release-revoked"}.get(kind, "release-date-unreadable")
        assert rule == expected, (CASES[i - 1], rule, message)
        if kind != "signed ahead":
            assert _cell(i) in message, (CASES[i - 1], message)
        assert _bad(i)["last"] not in message
    assert consent == {}, "no other letter is reported"
    # The Releases cells themselves: unreadable, or in the future.
    cells = {cell for cell, *_ in check_sheets(tmp_path / "w2.xlsx", sheets)}
    for i in range(1, len(CASES) + 1):
        assert _cell(i) in cells


def test_check_says_why_an_ambiguous_date_is_not_read(tmp_path: Path) -> None:
    sheets = _practice_sheets()
    found = check_sheets(tmp_path / "w.xlsx", sheets)
    messages = {cell: message for cell, _sev, rule, message in found if rule == "type"}
    i = CASES.index(("revoked_on", "01.03.2026", "ambiguous")) + 1
    assert messages[_cell(i)] == (
        "revoked_on '01.03.2026' could be 1 March 2026 or 3 January 2026; type it as "
        "2026-03-01 or 2026-01-03, whichever is meant")
    i = CASES.index(("expires_on", "9999-12-31", "unreadable")) + 1
    assert messages[_cell(i)] == (
        "expires_on '9999-12-31' is in the year 9999, outside the years refdesk reads (1800 to "
        "2199); correct the year")
    i = CASES.index(("signed_on", "yes", "unreadable")) + 1
    assert messages[_cell(i)] == "signed_on 'yes' is not a date (e.g. 2025-03-14); retype it"


@pytest.mark.parametrize(("column", "value", "words"), [
    ("revoked_on", "yes", "in doubt: Releases!G3 (revoked_on) reads 'yes'"),
    ("expires_on", "01.03.2027", "in doubt: Releases!E3 (expires_on) reads '01.03.2027'"),
    ("signed_on", "?", "in doubt: Releases!D3 (signed_on) reads '?'"),
    ("revoked_on", D(2026, 6, 1), "release RLNEW was revoked on 2026-06-01"),
])
def test_a_second_release_of_the_pair_does_not_reopen_it(tmp_path: Path, column: str,
                                                         value: object, words: str) -> None:
    """The client's older release is whole, the newer one's date does not read (or it was
    revoked): the older one does not let the letter out either. A revocation withdraws every
    release signed by its day; a date in doubt leaves every release of the pair in doubt."""
    sheets = _practice_sheets()
    releases = sheets["Releases"]
    releases[:] = releases[:2]  # the good pair's release only (row 2)
    newer = {"signed_on": D(2026, 3, 1), "expires_on": GOOD_EXPIRES, column: value}
    releases.append(row("Releases", release_id="RLNEW", client_id="CGOOD", provider_id="PGOOD",
                        scope="treatment plan; progress", **newer))
    config = _practice(tmp_path / "practice", sheets=sheets)
    for job in JOBS:
        result = _merge(config, job)
        assert result.exit_code == 0, result.stderr
        why = _skips(result.stdout).get({"sent-referral": "SGOOD"}.get(job, "RGOOD"), "")
        assert words in why, (job, result.stdout)
        assert not list((tmp_path / "practice" / "letters").rglob("*GOOD*.docx"))
