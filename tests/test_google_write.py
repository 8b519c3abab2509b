"""Writing to a Google Sheet other people edit at the same time: refdesk writes only what it
read. A cell changed between the read and the write keeps the other person's value and is
reported; rows someone added meanwhile stay, refdesk's go after them with ids nobody took;
a failed write removes only the rows refdesk added, while they are empty; a write whose answer
was lost is read back, never undone.

Everything runs against the loopback Sheets server (tests/sheets_server.py) through real
gspread; "someone else" edits the server's state directly, or at a request boundary through
`Hooked`, a gspread HTTP client that runs a step before a request or loses its answer after it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import gspread
import pytest
import requests

from refdesk.book import column_letter
from refdesk.errors import WriteError
from refdesk.schema import SHEETS_BY_NAME
from refdesk.sources.google import GoogleSource, Retry
from refdesk.sources.google import client as google_client
from refdesk.sources.google.plan import WriteInDoubt
from refdesk.xlsxpatch import AppendRows, SetCell, SetField
from tests import sheets_server as fake
from tests.conftest import ROOT, run
from tests.test_gsheets import FAST, _practice, new_sheet, values

REFERRALS = SHEETS_BY_NAME["Referrals"].column_names
LETTERS = SHEETS_BY_NAME["Letters"].column_names
THANKED, NOTES = REFERRALS.index("thank_you_sent"), REFERRALS.index("notes")
#: 2026-11-20 and 2026-11-23 as Google's serial numbers.
NOV20, NOV23 = 46346, 46349
#: Few and short waits: a lasting fault ends the retries at once.
BRIEF = Retry(max_wait=0.3, base=0.01, cap=0.02, timeout=30.0)


class Hooked(gspread.HTTPClient):
    """gspread's HTTP client with steps run right before a request of a kind (someone else's
    edit at that moment), and steps after a request landed whose answer is then lost (a
    timeout, as the client sees it)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.before: dict[str, list[Callable[[], None]]] = {}
        self.lost: dict[str, list[Callable[[], None]]] = {}

    def _around(self, name: str, call: Callable[[], dict]) -> dict:
        steps = self.before.get(name)
        if steps:
            steps.pop(0)()
        answer = call()
        steps = self.lost.get(name)
        if steps:
            steps.pop(0)()
            raise requests.exceptions.ReadTimeout("the answer was lost")
        return answer

    def values_batch_update(self, *args, **kwargs):
        return self._around("values_batch_update",
                            lambda: super(Hooked, self).values_batch_update(*args, **kwargs))

    def batch_update(self, *args, **kwargs):
        return self._around("batch_update",
                            lambda: super(Hooked, self).batch_update(*args, **kwargs))


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setattr(google_client, "_sleep", lambda s: None)
    with fake.SheetsServer() as running:
        yield running


def hooked(server, key, retry=FAST) -> tuple[GoogleSource, Hooked]:
    client = server.client(http_client=Hooked)
    return GoogleSource(key, client=client, retry=retry), client.http_client


def letter(lid: str, job: str = "thank-you") -> dict:
    return {"letter_id": lid, "when": dt.datetime(2026, 11, 23, 9), "job": job,
            "record": "R0000001", "status": "produced"}


def column(server, key, tab, index) -> list:
    return [r[index] if len(r) > index and r[index] != "" else None
            for r in values(server, key, tab)[1:]]


# -- a cell someone changed between the read and the write ---------------------------------------

def test_a_cell_changed_since_the_read_is_kept_and_reported(server):
    key = new_sheet(server, _practice(5))
    src = GoogleSource(key, client=server.client(), retry=FAST)
    src.read()
    tab = server.state(key).tab("Referrals")
    tab.set_values(f"{column_letter(THANKED)}3", [[NOV20]])  # R0000002, a date
    tab.set_values(f"{column_letter(NOTES)}4", [["seen by Dr. Lee"]])  # R0000003, health
    done = src.write([
        SetField("Referrals", "referral_id", f"R000000{i}", "thank_you_sent",
                 dt.date(2026, 11, 23)) for i in (1, 2)] + [
        SetField("Referrals", "referral_id", "R0000003", "notes", "thanked"),
        AppendRows("Letters", [letter("L001"), letter("L002")])])
    assert column(server, key, "Referrals", THANKED)[:3] == [NOV23, NOV20, None]
    assert column(server, key, "Referrals", NOTES)[2] == "seen by Dr. Lee"
    assert column(server, key, "Letters", 0) == ["L001", "L002"]  # the ledger still written
    n, p = column_letter(THANKED), column_letter(NOTES)
    assert [k.line for k in done.kept] == [
        f"Referrals!{n}3 was changed by someone else since refdesk read it (now '2026-11-20'); "
        "left as it is",
        f"Referrals!{p}4 was changed by someone else since refdesk read it; left as it is"]
    assert done.cells == 1


def test_a_cell_changed_to_the_value_refdesk_writes_is_no_conflict(server):
    key = new_sheet(server, _practice(5))
    src = GoogleSource(key, client=server.client(), retry=FAST)
    src.read()
    server.state(key).tab("Referrals").set_values(f"{column_letter(THANKED)}2", [[NOV23]])
    done = src.write([SetField("Referrals", "referral_id", "R0000001", "thank_you_sent",
                               dt.date(2026, 11, 23))])
    assert done.kept == [] and column(server, key, "Referrals", THANKED)[0] == NOV23
    assert server.count("spreadsheets.values.batchUpdate") == 0  # nothing left to write


def test_a_later_write_of_the_same_run_compares_with_what_refdesk_wrote(server):
    """A delivery's confirmation sets the status of the rows its claim appended."""
    key = new_sheet(server, _practice(5))
    src = GoogleSource(key, client=server.client(), retry=FAST)
    src.read()
    src.write([AppendRows("Letters", [{**letter("L001"), "status": "sending"}])])
    done = src.write([SetField("Letters", "letter_id", "L001", "status", "emailed")])
    assert done.kept == [] and column(server, key, "Letters", LETTERS.index("status")) == [
        "emailed"]


def test_merge_reports_the_kept_cell_and_still_logs_the_letter(server, monkeypatch, tmp_path):
    monkeypatch.setattr(google_client, "connect", lambda *a, **k: server.client())
    key = new_sheet(server, _practice(5))
    write = GoogleSource.write

    def someone_first(self, changes, **kwargs):  # the front desk types a date meanwhile
        server.state(key).tab("Referrals").set_values(f"{column_letter(THANKED)}3", [[NOV20]])
        return write(self, changes, **kwargs)

    monkeypatch.setattr(GoogleSource, "write", someone_first)
    done = run("-q", "merge", "thank-you", "--today", "2026-11-23", "--sheet", key,
               "--config", ROOT / "config.toml", "--out", tmp_path)
    assert done.exit_code == 0, done.stderr
    n = column_letter(THANKED)
    assert (f"Referrals!{n}3 was changed by someone else since refdesk read it (now "
            "'2026-11-20'); left as it is") in done.stderr
    assert column(server, key, "Referrals", THANKED)[:3] == [NOV23, NOV20, NOV23]
    assert [r[LETTERS.index("record")] for r in values(server, key, "Letters")[1:]] == [
        "R0000001", "R0000002", "R0000003"]


# -- rows someone added between the read and the write -------------------------------------------

def _with_letters(count: int) -> dict[str, list[list]]:
    tabs = _practice(5)
    tabs["Letters"] += [[f"L{i:03d}", 46340, "thank-you", f"R9{i:06d}"] + [None] * 6 +
                        ["produced"] for i in range(1, count + 1)]
    return tabs


def test_rows_added_meanwhile_stay_and_refdesk_s_go_after_with_free_ids(server):
    key = new_sheet(server, _with_letters(3))
    src = GoogleSource(key, client=server.client(), retry=FAST)
    src.read()
    # The front desk logs a letter by hand while refdesk runs: the id refdesk planned.
    server.state(key).tab("Letters").set_values("A5", [["L004", 46349, "by hand"]])
    done = src.write([AppendRows("Letters", [letter("L004"), letter("L005")])])
    rows = values(server, key, "Letters")[1:]
    assert [(r[0], r[2]) for r in rows] == [
        ("L001", "thank-you"), ("L002", "thank-you"), ("L003", "thank-you"),
        ("L004", "by hand"), ("L005", "thank-you"), ("L006", "thank-you")]
    assert done.renamed == {"Letters": {"L004": "L005", "L005": "L006"}}
    assert done.appended == {"Letters": (6, 2)}


def test_two_writers_each_keep_their_rows(server):
    """Two runs read the same sheet; the second's write finds the first's rows and goes after
    them, renumbered."""
    key = new_sheet(server, _with_letters(2))
    first = GoogleSource(key, client=server.client(), retry=FAST)
    second = GoogleSource(key, client=server.client(), retry=FAST)
    first.read()
    second.read()
    first.write([AppendRows("Letters", [letter("L003", "intro"), letter("L004", "intro")])])
    done = second.write([AppendRows("Letters", [letter("L003"), letter("L004")])])
    rows = values(server, key, "Letters")[1:]
    assert [(r[0], r[2]) for r in rows] == [
        ("L001", "thank-you"), ("L002", "thank-you"), ("L003", "intro"), ("L004", "intro"),
        ("L005", "thank-you"), ("L006", "thank-you")]
    assert done.renamed["Letters"] == {"L003": "L005", "L004": "L006"}


def test_merge_letter_ids_follow_the_rows_there_at_write_time(server, monkeypatch, tmp_path):
    monkeypatch.setattr(google_client, "connect", lambda *a, **k: server.client())
    key = new_sheet(server, _with_letters(1))
    write = GoogleSource.write

    def someone_first(self, changes, **kwargs):
        server.state(key).tab("Letters").set_values("A3", [["L002", 46349, "by hand"]])
        return write(self, changes, **kwargs)

    monkeypatch.setattr(GoogleSource, "write", someone_first)
    done = run("-q", "merge", "thank-you", "--today", "2026-11-23", "--sheet", key,
               "--config", ROOT / "config.toml", "--out", tmp_path)
    assert done.exit_code == 0, done.stderr
    ids = column(server, key, "Letters", 0)
    assert ids == ["L001", "L002", "L003", "L004", "L005"] and len(set(ids)) == len(ids)
    assert column(server, key, "Letters", 2)[1] == "by hand"


# -- growth, and undoing it ---------------------------------------------------------------------

def test_growth_is_relative_and_keeps_rows_someone_added(server):
    """The tab had 4 rows at the read; someone added rows down to 40 meanwhile: refdesk's
    growth adds to that, never sets the count it read (which would cut their rows)."""
    key = new_sheet(server, _with_letters(3), row_count=1)
    src = GoogleSource(key, client=server.client(), retry=FAST)
    src.read()
    server.state(key).tab("Letters").set_values("A40", [["L040", 46349, "by hand"]])
    src.write([AppendRows("Letters", [letter("L041")])])
    assert server.state(key).tab("Letters").row_count == 41
    assert column(server, key, "Letters", 0)[-2:] == ["L040", "L041"]
    grows = [r.body for r in server.requests("spreadsheets.batchUpdate")]
    assert all("updateSheetProperties" not in str(b) for b in grows)


def test_a_failed_write_removes_only_refdesk_s_empty_rows(server):
    key = new_sheet(server, _with_letters(3), row_count=1)
    src, http = hooked(server, key, BRIEF)
    src.read()
    rows_before = server.state(key).tab("Letters").row_count  # 4: the header and 3 letters
    server.fail_next(400, count=1, match="spreadsheets.values.batchUpdate")
    with pytest.raises(WriteError) as caught:
        src.write([AppendRows("Letters", [letter("L004"), letter("L005")])])
    assert "values were not changed" in caught.value.message
    assert server.state(key).tab("Letters").row_count == rows_before
    deletes = [r.body for r in server.requests("spreadsheets.batchUpdate")
               if "deleteDimension" in str(r.body)]
    assert len(deletes) == 1 and deletes[0]["requests"][0]["deleteDimension"]["range"][
        "startIndex"] == rows_before


def test_an_undo_never_removes_rows_someone_added_or_typed_into(server):
    key = new_sheet(server, _with_letters(3), row_count=1)
    src, http = hooked(server, key, BRIEF)
    src.read()
    letters = server.state(key).tab("Letters")

    def someone_types_into_refdesk_s_new_row() -> None:
        letters.set_values("A6", [["L099", 46349, "by hand"]])

    http.before["values_batch_update"] = [someone_types_into_refdesk_s_new_row]
    server.fail_next(400, count=1, match="spreadsheets.values.batchUpdate")
    with pytest.raises(WriteError) as caught:
        src.write([AppendRows("Letters", [letter("L004"), letter("L005")])])
    assert column(server, key, "Letters", 0)[-1] == "L099" and letters.row_count == 6
    assert "keeps the 2 row(s) refdesk added at its end (rows 5-6)" in caught.value.message
    assert "values were not changed" in caught.value.message

    # Someone grows the tab after refdesk did: refdesk's rows are no longer the last ones.
    key = new_sheet(server, _with_letters(3), row_count=1)
    src, http = hooked(server, key, BRIEF)
    src.read()
    letters = server.state(key).tab("Letters")
    http.before["values_batch_update"] = [lambda: letters.set_values("A20", [["L020"]])]
    server.fail_next(400, count=1, match="spreadsheets.values.batchUpdate")
    with pytest.raises(WriteError):
        src.write([AppendRows("Letters", [letter("L004"), letter("L005")])])
    assert letters.row_count == 20 and column(server, key, "Letters", 0)[-1] == "L020"


# -- the answer lost, then errors -----------------------------------------------------------------

def _lost_answer(server, *, read_back_fails: bool = False):
    """A merge's write that landed, whose answer was lost, and whose retries then failed."""
    key = new_sheet(server, _practice(5), row_count=1)  # the write grows Letters
    src, http = hooked(server, key, BRIEF)
    src.read()

    def errors_from_now_on() -> None:
        server.fail_next(503, count=1000, match="spreadsheets.values.batchUpdate")
        if read_back_fails:
            server.fail_next(503, count=1000, match="spreadsheets.values.batchGet")

    http.lost["values_batch_update"] = [errors_from_now_on]
    changes = [SetField("Referrals", "referral_id", "R0000001", "thank_you_sent",
                        dt.date(2026, 11, 23)),
               AppendRows("Letters", [letter("L001")])]
    return key, src, changes


def test_a_write_whose_answer_was_lost_is_read_back_not_undone(server):
    key, src, changes = _lost_answer(server)
    done = src.write(changes)
    assert done.recovered and done.written
    assert column(server, key, "Referrals", THANKED)[0] == NOV23
    assert column(server, key, "Letters", 0) == ["L001"]  # the row and its write-back, both
    assert server.count("spreadsheets.batchUpdate") == 1  # the growth, never undone


def test_when_the_sheet_cannot_be_read_back_the_message_says_so(server):
    key, src, changes = _lost_answer(server, read_back_fails=True)
    with pytest.raises(WriteInDoubt) as caught:
        src.write(changes)
    message = caught.value.message
    assert "cannot tell whether its changes are in it" in message
    assert "Letters row 2" in message and f"Referrals!{column_letter(THANKED)}2" in message
    assert "not changed" not in message
    server.clear_faults()
    assert column(server, key, "Referrals", THANKED)[0] == NOV23  # in the sheet, as it is
    assert column(server, key, "Letters", 0) == ["L001"]  # never removed


def test_a_write_that_did_not_land_says_nothing_changed(server):
    key = new_sheet(server, _practice(5), row_count=1)
    src, http = hooked(server, key, BRIEF)
    src.read()
    server.fail_next(503, count=1000, match="spreadsheets.values.batchUpdate")
    with pytest.raises(WriteError) as caught:
        src.write([AppendRows("Letters", [letter("L001")])])
    assert "values were not changed" in caught.value.message
    assert "did not answer the write of the changes" in caught.value.message
    assert values(server, key, "Letters")[1:] == []
    assert server.state(key).tab("Letters").row_count == 1


def test_merge_whose_answer_was_lost_logs_each_letter_once(server, monkeypatch, tmp_path):
    client = server.client(http_client=Hooked)
    monkeypatch.setattr(google_client, "connect", lambda *a, **k: client)
    monkeypatch.setattr(google_client, "DEFAULT_RETRY", BRIEF)
    key = new_sheet(server, _practice(5), row_count=1)
    client.http_client.lost["values_batch_update"] = [lambda: server.fail_next(
        503, count=1000, match="spreadsheets.values.batchUpdate")]
    args = ("-q", "merge", "thank-you", "--today", "2026-11-23", "--sheet", key, "--config",
            ROOT / "config.toml", "--out", tmp_path)
    done = run(*args)
    assert done.exit_code == 0, done.stderr
    server.clear_faults()
    again = run(*args)
    assert again.exit_code == 0, again.stderr
    assert column(server, key, "Letters", LETTERS.index("record")) == [
        "R0000001", "R0000002", "R0000003"]
    assert column(server, key, "Referrals", THANKED)[:3] == [NOV23] * 3
    assert len(list((tmp_path / "thank-you").glob("*.docx"))) == 3


def test_a_growth_whose_answer_was_lost_says_what_may_be_there(server):
    key = new_sheet(server, _practice(5), row_count=1)
    src, http = hooked(server, key, BRIEF)
    src.read()
    http.lost["batch_update"] = [lambda: server.fail_next(503, count=1000,
                                                          match="spreadsheets.batchUpdate")]
    with pytest.raises(WriteError) as caught:
        src.write([AppendRows("Letters", [letter("L001")])])
    message = caught.value.message
    assert "did not answer the growth of the tabs" in message
    assert "values were not changed (the tabs may have gained empty rows" in message
    assert "nothing was changed" not in message
    assert values(server, key, "Letters")[1:] == []
    assert server.count("spreadsheets.values.batchUpdate") == 0


def test_merge_in_doubt_keeps_its_documents_and_a_rerun_finishes(server, monkeypatch,
                                                                  tmp_path):
    client = server.client(http_client=Hooked)
    monkeypatch.setattr(google_client, "connect", lambda *a, **k: client)
    monkeypatch.setattr(google_client, "DEFAULT_RETRY", BRIEF)
    key = new_sheet(server, _practice(5), row_count=1)

    def google_goes_away() -> None:
        server.fail_next(503, count=1000, match="spreadsheets.values.batchUpdate")
        server.fail_next(503, count=1000, match="spreadsheets.values.batchGet")

    client.http_client.lost["values_batch_update"] = [google_goes_away]
    args = ("-q", "merge", "thank-you", "--today", "2026-11-23", "--sheet", key, "--config",
            ROOT / "config.toml", "--out", tmp_path)
    done = run(*args)
    assert done.exit_code != 0 and "Traceback" not in done.stderr
    assert "cannot tell whether its changes are in it" in done.stderr
    assert "Letters rows 2-4" in done.stderr and "are kept" in done.stderr
    assert len(list((tmp_path / "thank-you").glob("*.docx"))) == 3
    server.clear_faults()
    again = run(*args)
    assert again.exit_code == 0, again.stderr
    assert column(server, key, "Letters", LETTERS.index("record")) == [
        "R0000001", "R0000002", "R0000003"]
    assert column(server, key, "Referrals", THANKED)[:3] == [NOV23] * 3


def test_a_cell_by_address_is_compared_too(server):
    key = new_sheet(server, _practice(5))
    src = GoogleSource(key, client=server.client(), retry=FAST)
    src.read()
    server.state(key).tab("Providers").set_values("B2", [["Dr. Ana Ruiz"]])
    done = src.write([SetCell("Providers", "B2", "Doctor One"),
                      SetCell("Providers", "B3", "Doctor Two")])
    assert column(server, key, "Providers", 1)[:2] == ["Dr. Ana Ruiz", "Doctor Two"]
    assert [k.line for k in done.kept] == [
        "Providers!B2 was changed by someone else since refdesk read it (now 'Dr. Ana Ruiz'); "
        "left as it is"]
    with pytest.raises(WriteError, match="not a cell address"):
        src.write([SetCell("Providers", "B-2", "x")])
