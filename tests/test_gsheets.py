"""refdesk on a Google Sheet: unmodified gspread, over real HTTP, against the Sheets API v4
server on loopback in tests/sheets_server.py.

The sample practice imported into the sheet gives the same check, stats and todo as the
Excel file, and merge writes back the same changes; the number of requests per command does
not grow with the rows; injected 429, 5xx, timeouts and dropped connections are retried, or
the command fails clearly with the sheet unchanged; text that looks like a formula stays text.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil

import gspread
import pytest
from requests.exceptions import ReadTimeout

from refdesk.errors import SourceError, WriteError
from refdesk.schema import SHEETS_BY_NAME
from refdesk.sources.excel import ExcelSource
from refdesk.sources.google import GoogleSource, Retry, spreadsheet_key
from refdesk.sources.google import auth as google_auth
from refdesk.sources.google import client as google_client
from refdesk.sources.google.importer import import_workbook
from refdesk.sources.google.setup import export_sheet, init_sheet
from refdesk.xlsxpatch import AppendRows, SetField
from tests import sheets_server as fake
from tests.conftest import ROOT, run

SAMPLE = ROOT / "workbooks" / "referrals.xlsx"
#: Short waits between attempts; a timeout long enough that a busy test machine never makes a
#: request time out by itself (the timeout faults use IMPATIENT, with a delay longer than it).
FAST = Retry(max_wait=120.0, base=0.01, cap=0.05, timeout=30.0)
IMPATIENT = Retry(max_wait=120.0, base=0.01, cap=0.05, timeout=3.0)
#: Where Referrals' columns sit in a tab refdesk set up.
STATUS, THANKED, NOTES = (SHEETS_BY_NAME["Referrals"].column_names.index(c)
                          for c in ("status", "thank_you_sent", "notes"))


# -- the few places that know the loopback server's API ----------------------------------------

@pytest.fixture
def server():
    with fake.SheetsServer() as running:
        yield running


def new_sheet(server, tabs=None, title="Practice", row_count=1000) -> str:
    return server.create_spreadsheet(title, tabs or None, row_count=row_count).id


def values(server, key, tab):
    return server.state(key).tab(tab).values(value_render="UNFORMATTED_VALUE")


def kind(server, key, tab, a1):
    return server.state(key).tab(tab).cell(a1).kind


def requests(server):
    return server.requests()


def source(server, key, retry=FAST) -> GoogleSource:
    return GoogleSource(key, client=server.client(), retry=retry)


@pytest.fixture
def google(server, monkeypatch):
    """Commands given --sheet talk to the loopback server, with short retry waits."""
    monkeypatch.setattr(google_client, "connect", lambda *a, **k: server.client())
    # Short waits between retries, but time enough for a 100,000-row answer.
    monkeypatch.setattr(google_client, "DEFAULT_RETRY", Retry(max_wait=2.0, base=0.01,
                                                              cap=0.05, timeout=120.0))
    monkeypatch.setattr(google_client, "_sleep", lambda s: None)
    return server


def imported(server) -> str:
    key = new_sheet(server)
    import_workbook(ExcelSource(SAMPLE).read(), source(server, key))
    return key


# -- the sample practice, on Excel and on Google --------------------------------------------------

def _json(result):
    assert result.exit_code in (0, 1), result.stderr
    return json.loads(result.stdout)


def test_the_sample_practice_reads_the_same(google, tmp_path):
    key = imported(google)
    common = [("check", "--json", "--today", "2026-11-23"),
              ("stats", "--json", "--to", "2026-10-31"),
              ("todo", "--json", "--on", "2026-11-23"),
              ("summary", "--json")]
    for args in common:
        excel = _json(run("-q", *args, "--workbook", SAMPLE))
        sheet = _json(run("-q", *args, "--sheet", key))
        if args[0] == "summary":  # each names its source
            assert {r.pop("source") for r in sheet} == {"Google Sheet 'Practice'"}
            assert {r.pop("source") for r in excel} == {str(SAMPLE)}
        assert sheet == excel, args


def test_merge_writes_back_the_same_changes(google, tmp_path):
    key = imported(google)
    copy = tmp_path / "practice.xlsx"
    shutil.copyfile(SAMPLE, copy)
    for where, what in (("--workbook", copy), ("--sheet", key)):
        done = run("-q", "merge", "thank-you", where, what, "--today", "2026-11-23", "--out",
                   tmp_path / where.strip("-"))
        assert done.exit_code == 0, done.stderr
    excel = ExcelSource(copy).read()
    sheet = source(google, key).read()
    for name in ("Referrals", "Providers", "Clients"):
        assert excel[name].df.equals(sheet[name].df), name
    letters = [excel["Letters"].df, sheet["Letters"].df]
    for df in letters:
        assert len(df) > 0
    columns = ["letter_id", "job", "record", "template", "provider_id", "client_id",
               "release_id", "delivery", "status", "detail"]
    assert letters[0][columns].reset_index(drop=True).equals(
        letters[1][columns].reset_index(drop=True))
    assert (letters[0]["when"].dt.date.tolist() == letters[1]["when"].dt.date.tolist())


def test_export_gives_back_the_workbook(google, tmp_path):
    key = imported(google)
    out = tmp_path / "exported.xlsx"
    export_sheet(source(google, key), out)
    again = ExcelSource(out).read()
    original = ExcelSource(SAMPLE).read()
    for table in original:
        a, b = table.df.reset_index(drop=True), again[table.name].df.reset_index(drop=True)
        columns = [c.name for c in table.schema.columns]
        assert len(a) == len(b), table.name
        assert {(x.column, x.value) for x in table.bad_values} == {
            (x.column, x.value) for x in again[table.name].bad_values}, table.name
        for column in columns:
            assert a[column].astype(str).tolist() == b[column].astype(str).tolist(), \
                (table.name, column)


def test_import_refuses_a_sheet_with_records(google):
    key = imported(google)
    with pytest.raises(WriteError, match="already hold records"):
        import_workbook(ExcelSource(SAMPLE).read(), source(google, key))


# -- requests per command ------------------------------------------------------------------------

def _practice(referrals: int) -> dict[str, list[list]]:
    """Providers, clients and `referrals` referral rows, of which exactly three are owed a
    thank-you on 2026-11-23 (first visits in November, none sent)."""
    def header(name):
        return list(SHEETS_BY_NAME[name].column_names)

    providers = [header("Providers")] + [
        [f"P{i:03d}", f"Doctor {i}", "MD", "neurology", f"Clinic {i}", None, None, None, None,
         f"{i} Main St", "Portland", "OR", "97214", None, "referring", "mail"]
        for i in range(1, 21)]
    clients = [header("Clients")] + [
        [f"C{i:06d}", f"First{i}", f"Last{i}", None, None, None, None, None, None, None,
         "doctor"] for i in range(1, 101)]
    rows = [header("Referrals")]
    for i in range(1, referrals + 1):
        recent = i <= 3
        received = 46300 + (i % 30) if not recent else 46330
        first = 46337 if recent else received + 5
        rows.append([f"R{i:07d}", received, f"P{(i % 20) + 1:03d}", f"C{(i % 100) + 1:06d}",
                     "G43.909", "deep tissue", 1, 6, 6, None, None, "in care", first,
                     None if recent else first + 2, None, f"intake {i}"])  # no two alike
    # Client j is referred by provider P((j - 1) % 20 + 1), and has signed a release for it.
    releases = [header("Releases")] + [
        [f"L{j:03d}", f"C{j:06d}", f"P{(j - 1) % 20 + 1:03d}", 46000, 47000,
         "progress; diagnosis"] for j in range(1, 101)]
    return {"Providers": providers, "Clients": clients, "Referrals": rows,
            "Releases": releases, "Letters": [header("Letters")]}


COMMANDS = {"summary": ("summary",), "check": ("check", "--today", "2026-11-23"),
            "stats": ("stats", "--to", "2026-11-23"), "todo": ("todo", "--on", "2026-11-23"),
            "merge": ("merge", "thank-you", "--today", "2026-11-23")}
#: Reading is two requests (the tabs, then every tab's rows); merge adds three to write back
#: (the ids again, the Letters tab's date formats, the values), and the writing lease two (its
#: claim and its release; refdesk.sources.google.lease), plus one the first time, to make the
#: lease's tab on a sheet no writing command has touched yet.
EXPECTED = {"summary": 2, "check": 2, "stats": 2, "todo": 2, "merge": 5 + 2 + 1}


def test_requests_per_command_do_not_grow_with_rows(google, tmp_path):
    counts: dict[int, dict[str, list[str]]] = {}
    for size in (100, 100_000):
        key = new_sheet(google, _practice(size))
        counts[size] = {}
        for command, args in COMMANDS.items():
            extra = ("--out", tmp_path / str(size)) if command == "merge" else ()
            google.clear_log()
            done = run("-q", *args, *extra, "--sheet", key, "--config", ROOT / "config.toml")
            assert done.exit_code in (0, 1), done.stderr
            counts[size][command] = [r.endpoint for r in requests(google)]
        written = values(google, key, "Referrals")
        assert sum(1 for r in written[1:] if len(r) > THANKED and r[THANKED] == 46349) == 3
        assert len(values(google, key, "Letters")) == 4
    assert counts[100] == counts[100_000], counts
    assert {c: len(r) for c, r in counts[100].items()} == EXPECTED, counts[100]


# -- writing: rows found by id, text stays text ----------------------------------------------------

def _small(server):
    key = new_sheet(server, _practice(5))
    src = source(server, key)
    src.read()
    return key, src


def test_a_formula_looking_value_stays_text(server):
    key, src = _small(server)
    src.write([SetField("Referrals", "referral_id", "R0000002", "notes", "=1+1"),
               SetField("Referrals", "referral_id", "R0000003", "notes", "0123"),
               AppendRows("Letters", [{"letter_id": "L1", "when": dt.datetime(2026, 11, 23, 9),
                                       "job": "=HYPERLINK(\"x\")", "status": "produced"}])])
    cells = values(server, key, "Referrals")
    assert cells[2][NOTES] == "=1+1" and cells[3][NOTES] == "0123"
    assert kind(server, key, "Referrals", f"{chr(65 + NOTES)}3") == "string"
    assert kind(server, key, "Referrals", f"{chr(65 + NOTES)}4") == "string"
    assert kind(server, key, "Letters", "C2") == "string"
    assert src.read()["Referrals"].df.loc[3, "notes"] == "=1+1"


def test_rows_sorted_meanwhile_get_their_own_update(server):
    key, src = _small(server)
    rows = values(server, key, "Referrals")
    server.state(key).tab("Referrals").set_values("A1", [rows[0], *reversed(rows[1:])])
    src.write([SetField("Referrals", "referral_id", "R0000002", "status", "completed")])
    after = {r[0]: r[STATUS] for r in values(server, key, "Referrals")[1:]}
    assert after["R0000002"] == "completed"
    assert [v for k, v in after.items() if k != "R0000002"] == ["in care"] * 4


def test_a_row_gone_meanwhile_writes_nothing(server):
    key, src = _small(server)
    server.state(key).tab("Referrals").set_values("A5", [["R0000004-old"]])  # id changed
    before = values(server, key, "Referrals")
    with pytest.raises(WriteError) as caught:
        src.write([SetField("Referrals", "referral_id", "R0000002", "status", "completed"),
                   SetField("Referrals", "referral_id", "R0000004", "status", "completed")])
    assert "R0000004" in " ".join(caught.value.lines())
    assert values(server, key, "Referrals") == before


def test_appended_rows_grow_the_tab(server):
    key = new_sheet(server, _practice(5), row_count=1)
    src = source(server, key)
    src.read()
    src.write([AppendRows("Letters", [{"letter_id": f"L{i}", "job": "thank-you",
                                       "status": "produced"} for i in range(3)])])
    assert [r[0] for r in values(server, key, "Letters")[1:]] == ["L0", "L1", "L2"]
    assert server.state(key).tab("Letters").row_count == 4


# -- faults --------------------------------------------------------------------------------------

#: Every request of a read and of a write, in order.
CALLS = [("read", "spreadsheets.get"), ("read", "spreadsheets.values.batchGet"),
         ("write", "spreadsheets.values.batchGet"), ("write", "spreadsheets.batchUpdate"),
         ("write", "spreadsheets.values.batchUpdate")]


@pytest.mark.parametrize("fault", ["429", "500", "503", "timeout", "drop"])
@pytest.mark.parametrize("call", range(len(CALLS)))
def test_faults_are_retried(server, fault, call):
    key = new_sheet(server, _practice(5), row_count=1)  # the write grows Letters
    phase, endpoint = CALLS[call]
    armed: list[str] = []
    # A timeout is the client giving up on an answer: raised by the client at once (nothing
    # waits on the clock), the request never reaching the server.
    src = (GoogleSource(key, client=server.client(http_client=_times_out(endpoint, armed)),
                        retry=FAST) if fault == "timeout" else source(server, key))
    if phase == "read":
        _inject(server, fault, endpoint, armed)
    src.read()
    if phase == "write":
        _inject(server, fault, endpoint, armed)
    server.clear_log()
    src.write([SetField("Referrals", "referral_id", "R0000002", "status", "completed"),
               AppendRows("Letters", [{"letter_id": "L9", "job": "thank-you",
                                       "status": "produced"}])])
    after = {r[0]: r[STATUS] for r in values(server, key, "Referrals")[1:]}
    assert after["R0000002"] == "completed"
    assert values(server, key, "Letters")[1][0] == "L9"
    if phase == "write":  # the faulted request, then its retry
        expected = 1 if fault == "timeout" else 2  # a timed-out request never reached it
        assert [r.endpoint for r in requests(server)].count(endpoint) == expected
    if fault == "timeout":
        assert armed == ["timed out"], "the timeout was raised once"


def _times_out(name: str, armed: list[str]) -> type[gspread.HTTPClient]:
    """A gspread HTTP client whose first request to `name` (once armed) times out."""

    def hit(method: str, url: str) -> bool:
        tail = url.rsplit("/spreadsheets/", 1)[-1]
        return {"spreadsheets.get": method == "get" and "/" not in tail and ":" not in tail,
                "spreadsheets.values.batchGet": tail.endswith("/values:batchGet"),
                "spreadsheets.batchUpdate": tail.endswith(":batchUpdate") and "/values" not in tail,
                "spreadsheets.values.batchUpdate": tail.endswith("/values:batchUpdate"),
                }[name]

    class TimesOut(gspread.HTTPClient):
        def request(self, method, endpoint, *args, **kwargs):
            if armed == ["armed"] and hit(method.lower(), endpoint):
                armed[0] = "timed out"
                raise ReadTimeout("no answer within the timeout")
            return super().request(method, endpoint, *args, **kwargs)

    return TimesOut


def test_the_client_waits_as_long_as_the_retry_policy_says(server):
    """Each request waits at most Retry.timeout for its answer (the timeout itself is shown
    above without waiting for it)."""
    src = source(server, new_sheet(server), IMPATIENT)
    assert src.api.http.timeout == IMPATIENT.timeout


@pytest.mark.parametrize("fault", ["503", "drop"])
def test_a_lasting_fault_fails_clearly_and_changes_nothing(server, fault, monkeypatch):
    monkeypatch.setattr(google_client, "_sleep", lambda s: None)
    key = new_sheet(server, _practice(5))
    src = source(server, key, Retry(max_wait=0.2, base=0.05, cap=0.05, timeout=1.0))
    src.read()
    before = {t: values(server, key, t) for t in ("Referrals", "Letters")}
    _inject(server, fault, "spreadsheets.values.batchUpdate", count=1000)
    with pytest.raises(WriteError) as caught:
        src.write([SetField("Referrals", "referral_id", "R0000002", "status", "completed"),
                   AppendRows("Letters", [{"letter_id": "L9", "job": "x", "status": "produced"}])])
    message = " ".join(caught.value.lines())
    assert "did not answer" in message and "not changed" in message
    assert {t: values(server, key, t) for t in ("Referrals", "Letters")} == before


def test_a_lasting_fault_fails_the_command_clearly(google):
    key = new_sheet(google, _practice(5))
    _inject(google, "503", "spreadsheets.values.batchGet", count=1000)
    done = run("-q", "check", "--sheet", key)
    assert done.exit_code == 2
    assert done.stderr.startswith("Error: Google Sheets did not answer") and "Traceback" \
        not in done.stderr


def _inject(server, fault, match, armed=None, count=1):
    if fault in ("429", "500", "503"):
        server.fail_next(status=int(fault), count=count, match=match)
    elif fault == "timeout":
        armed.append("armed")  # the client raises it (see _times_out)
    else:
        server.drop_next(count=count, match=match)


# -- errors and setup ----------------------------------------------------------------------------

def test_missing_sheet_and_permission_messages(google):
    done = run("-q", "summary", "--sheet", "1" * 44)
    assert done.exit_code == 2 and "no Google Sheet with the key" in done.stderr
    key = new_sheet(google, _practice(5))
    google.set_private(key)
    done = run("-q", "summary", "--sheet", key)
    assert done.exit_code == 2 and "Share the sheet" in done.stderr


def test_missing_credentials_say_how_to_fix(monkeypatch, tmp_path):
    monkeypatch.delenv(google_auth.CREDENTIALS_ENV, raising=False)
    with pytest.raises(SourceError, match="credentials"):
        google_auth.connect(None)
    with pytest.raises(SourceError, match="does not exist"):
        google_auth.connect(tmp_path / "nowhere.json")
    bad = tmp_path / "key.json"
    bad.write_text("{}")
    with pytest.raises(SourceError, match="service-account key"):
        google_auth.connect(bad)


def test_addresses():
    key = "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms"
    assert spreadsheet_key(f"https://docs.google.com/spreadsheets/d/{key}/edit#gid=0") == key
    assert spreadsheet_key(key) == key
    with pytest.raises(SourceError, match="not a Google Sheets address"):
        spreadsheet_key("my sheet")


def test_init_sets_up_the_tabs_in_two_requests(server):
    key = new_sheet(server)
    server.clear_log()
    done = init_sheet(source(server, key))  # the tabs, then one atomic :batchUpdate
    assert done.requests == 2 and len(requests(server)) == 2
    state = server.state(key)
    titles = [t.title for t in state.tabs]
    for name in SHEETS_BY_NAME:
        assert name in titles
        assert values(server, key, name)[0] == list(SHEETS_BY_NAME[name].column_names)
    providers = state.tab("Providers")
    assert providers.frozen_row_count == 1
    assert providers.protected_ranges and providers.protected_ranges[0]["warningOnly"]
    stage = SHEETS_BY_NAME["Providers"].column_names.index("stage")
    rule = providers.validation(f"{chr(65 + stage)}2")
    assert rule["condition"]["type"] == "ONE_OF_LIST"
    received = state.tab("Referrals").cell("B2").number_format
    assert received["type"] == "DATE"
    visits = SHEETS_BY_NAME["Visits"].column_names
    score = chr(65 + visits.index("measure_score"))
    # A score keeps the automatic format (a number typed stays a number), never text.
    assert state.tab("Visits").cell(f"{score}2").number_format is None
    pain = state.tab("Visits").validation(f"{chr(65 + visits.index('pain_after'))}2")
    assert pain["condition"] == {"type": "NUMBER_BETWEEN", "values": [
        {"userEnteredValue": "0"}, {"userEnteredValue": "10"}]} and pain["strict"]
    again = init_sheet(source(server, key))
    assert again.created == [] and len(again.existing) == len(SHEETS_BY_NAME)


def test_init_whose_answer_is_lost_finishes_on_the_retry(server, monkeypatch):
    """The tab-creating request lands but its answer never comes (the client times out on
    it, at once here): the retry is refused as "already exists", the tabs are looked up, and
    init counts them as its own, each with its header."""
    monkeypatch.setattr(google_client, "_sleep", lambda s: None)
    key = new_sheet(server)
    lost: list[str] = []

    class AnswerLost(gspread.HTTPClient):
        def request(self, method, endpoint, *args, **kwargs):
            response = super().request(method, endpoint, *args, **kwargs)
            if endpoint.endswith(":batchUpdate") and "/values" not in endpoint and not lost:
                lost.append(endpoint)  # applied by the server; the answer goes missing
                raise ReadTimeout("no answer within the timeout")
            return response

    src = GoogleSource(key, client=server.client(http_client=AnswerLost), retry=FAST)
    done = init_sheet(src)
    assert lost
    assert [r.status for r in server.requests("spreadsheets.batchUpdate")] == [200, 400]
    assert sorted(done.created) == sorted(SHEETS_BY_NAME)
    for name in SHEETS_BY_NAME:
        assert values(server, key, name)[0] == list(SHEETS_BY_NAME[name].column_names)


def test_a_service_account_key_gives_a_client(tmp_path, monkeypatch):
    """A key file as Google's console downloads it (a fresh RSA key here) is accepted, and a
    403 names that account's email, the one to share the sheet with."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    key_file = tmp_path / "key.json"
    key_file.write_text(json.dumps({
        "type": "service_account", "project_id": "practice", "private_key_id": "1",
        "private_key": pem, "client_email": "refdesk@practice.iam.gserviceaccount.com",
        "client_id": "1", "token_uri": "https://oauth2.googleapis.com/token"}))
    monkeypatch.setenv(google_auth.CREDENTIALS_ENV, str(key_file))
    client = google_auth.connect(None)
    assert client.http_client.auth.service_account_email == \
        "refdesk@practice.iam.gserviceaccount.com"
    assert google_auth.service_account_email(None) == "refdesk@practice.iam.gserviceaccount.com"


def test_the_init_import_and_export_commands(google, tmp_path):
    key = new_sheet(google)
    done = run("-q", "init", "--sheet", key)
    assert done.exit_code == 0 and "Added the tabs Providers" in done.stdout, done.stderr
    done = run("-q", "import", SAMPLE, "--sheet", key)
    assert done.exit_code == 0 and "Copied into Google Sheet 'Practice'" in done.stdout, \
        done.stderr
    out = tmp_path / "practice.xlsx"
    done = run("-q", "export", out, "--sheet", key)
    assert done.exit_code == 0 and out.exists() and "40 Providers" in done.stdout, done.stderr
    done = run("-q", "export", out, "--sheet", key)
    assert done.exit_code == 2 and "never overwrites" in done.stderr
    done = run("-q", "import", SAMPLE, "--sheet", key)
    assert done.exit_code == 2 and "already hold records" in done.stderr
