"""`refdesk disclosures CLIENT`: the accounting of disclosures (45 CFR 164.528), on a copy of
the sample practice after a month's merges and on small workbooks built for each rule."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from refdesk.config import load_config
from refdesk.disclosures import account
from refdesk.merge.data import Data
from refdesk.merge.jobs import load_jobs
from refdesk.sources.excel import ExcelSource
from tests.conftest import run
from tests.helpers import headers, make_xlsx, row

TO = "2026-11-23"
LISTED = {"emailed", "faxed", "drafted"}  # and produced, by mail or fax


# -- the sample practice ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample practice after the month's merges: thank-you letters, progress reports and
    super bills, so that some clients have several Letters rows."""
    from tests.conftest import copy_practice

    config = copy_practice(tmp_path_factory.mktemp("practice"))
    for job in ("thank-you", "progress-report", "super-bill", "sent-referral"):
        done = run("-q", "merge", job, "-c", config, "--today", TO)
        assert done.exit_code == 0, done.output
    return config


def _letters(config: Path) -> list[dict[str, Any]]:
    book = ExcelSource(load_config(config).excel).read()
    df = book["Letters"].df
    return [{k: (None if v != v else v) for k, v in r.items()} for r in df.to_dict("records")]


def _json(*args: Any) -> dict[str, Any]:
    done = run("-q", "disclosures", *args, "--to", TO, "--json")
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout)


def _is_listed(letter: dict[str, Any]) -> bool:
    status, delivery = letter["status"], letter["delivery"]
    return status in LISTED or (status == "produced" and delivery in ("mail", "fax"))


def test_a_client_with_several_letters_gets_each_one_sent_and_nothing_else(sample: Path
                                                                          ) -> None:
    letters = _letters(sample)
    by_client: dict[str, list[dict[str, Any]]] = {}
    for letter in letters:
        if letter["client_id"]:
            by_client.setdefault(letter["client_id"], []).append(letter)
    # the client with the most documents to providers and to themself
    cid = max(sorted(by_client), key=lambda c: (
        sum(bool(r["provider_id"]) for r in by_client[c]), len(by_client[c])))
    theirs = by_client[cid]
    to_providers = [r for r in theirs if r["provider_id"]]
    assert len(to_providers) >= 2 and len(theirs) > len(to_providers), "a useful client"

    result = _json(cid, "-c", sample)
    assert result["client_id"] == cid
    sources = [d["source"] for d in result["disclosures"]]
    expected = sorted(f"Letters {r['letter_id']}" for r in to_providers if _is_listed(r))
    assert sorted(s for s in sources if s.startswith("Letters")) == expected
    assert result["count"] == len(sources) == len(result["disclosures"])
    assert result["to_client"] == len(theirs) - len(to_providers)  # super bills: exempt
    by_id = {r["letter_id"]: r for r in letters}
    for d in result["disclosures"]:
        if d["source"].startswith("Letters"):
            letter = by_id[d["source"].split()[1]]
            assert letter["client_id"] == cid and letter["provider_id"] == d["provider_id"]
            assert d["date"] == letter["when"].date().isoformat()
            assert d["recipient"] and d["address"] and d["information"] and d["purpose"]


def test_every_accounting_of_the_sample_holds_only_its_own_client(sample: Path) -> None:
    """For each client with a document or a Sent row, every row listed is theirs, and no other
    client's name or id appears anywhere in the output."""
    config = load_config(sample)
    book = ExcelSource(config.excel).read()
    clients = book["Clients"].df
    names = {r.client_id: f"{r.first_name} {r.last_name}" for r in clients.itertuples()}
    letters = book["Letters"].df.set_index("letter_id")
    sent = book["Sent"].df.set_index("sent_id")
    involved = sorted(set(letters["client_id"].dropna()) | set(sent["client_id"].dropna()))
    assert len(involved) > 20
    listed = 0
    data = Data.of(book, dt.date(2026, 11, 23))
    jobs = load_jobs(config)
    for cid in involved:
        result = account(data, jobs, cid, dt.date(2020, 11, 23), dt.date(2026, 11, 23))
        text = json.dumps(result.record(), ensure_ascii=False)
        for d in result.disclosures:
            sheet, key = d.source.split()
            owner = (letters if sheet == "Letters" else sent).loc[key, "client_id"]
            assert owner == cid, (cid, d.source)
        others = [o for o in names if o != cid and (names[o] in text or f'"{o}"' in text)]
        assert not others, (cid, others)
        listed += len(result.disclosures)
    assert listed > len(involved) // 2


def test_a_sent_row_and_its_note_are_one_disclosure(sample: Path) -> None:
    letters = [r for r in _letters(sample) if r["job"] == "sent-referral"]
    assert letters, "the merge told providers of clients sent to them"
    letter = letters[0]
    result = _json(letter["client_id"], "-c", sample)
    sources = [d["source"] for d in result["disclosures"]]
    assert f"Letters {letter['letter_id']}" in sources
    assert f"Sent {letter['record']}" not in sources
    note = next(d for d in result["disclosures"] if d["source"] == f"Letters "
                f"{letter['letter_id']}")
    assert note["document"] == "Note of a referral to their office"
    assert "reason" in note["information"]


def test_the_terminal_table_and_a_name(sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    done = run("disclosures", "Nadia Lund", "-c", sample, "--to", TO)
    assert done.exit_code == 0, done.output
    assert "Disclosures of Nadia Lund (C056), 2020-11-23 to 2026-11-23: 2" in done.stdout
    assert "Kevin Morrow, PhD" in done.stdout and "Sent S016" in done.stdout
    assert "Letters L011" in done.stdout


# -- small workbooks ----------------------------------------------------------------------------
PROVIDERS = [
    row("Providers", provider_id="P1", name="Helen Okafor", credentials="MD",
        practice="Okafor Family Medicine", street="1 Main St", city="Portland", state="OR",
        zip="97201", stage="referring", delivery="fax"),
    row("Providers", provider_id="P2", name="Sam Berg", credentials="DC", stage="referring"),
]
CLIENTS = [
    row("Clients", client_id="C1", first_name="Ana", last_name="Ruiz", dob=dt.date(1980, 3, 2)),
    row("Clients", client_id="C2", first_name="Ana", last_name="Ruiz"),
    row("Clients", client_id="C3", first_name="Ben", last_name="Cole"),
]
REFERRALS = [
    row("Referrals", referral_id="R1", received_on=dt.date(2026, 9, 1), provider_id="P1",
        client_id="C1", status="in care"),
    row("Referrals", referral_id="R3", received_on=dt.date(2026, 9, 1), provider_id="P1",
        client_id="C3", status="in care"),
]
RELEASES = [row("Releases", release_id="RL1", client_id="C1", provider_id="P1",
                signed_on=dt.date(2026, 8, 30), scope="treatment plan; progress")]


def _letter(lid: str, job: str, record: str, status: str, delivery: str = "fax", *,
            client: str | None = "C1", provider: str | None = "P1",
            when: dt.datetime = dt.datetime(2026, 10, 5, 9, 30)) -> list[Any]:
    return row("Letters", letter_id=lid, when=when, job=job, record=record,
               provider_id=provider, client_id=client, release_id="RL1" if provider else None,
               delivery=delivery, status=status)


def _book(tmp_path: Path, letters: list[list[Any]], sent: list[list[Any]] = ()) -> Path:
    return make_xlsx(tmp_path / "book.xlsx", {
        "Providers": [headers("Providers"), *PROVIDERS],
        "Clients": [headers("Clients"), *CLIENTS],
        "Releases": [headers("Releases"), *RELEASES],
        "Referrals": [headers("Referrals"), *REFERRALS],
        "Sent": [headers("Sent"), *sent],
        "Letters": [headers("Letters"), *letters]})


def _call(practice: Path, book: Path, *args: str) -> Any:
    return run("-q", "disclosures", *args, "-c", practice, "-w", book)


def test_each_status_is_listed_or_left_out_with_its_reason(practice: Path,
                                                           tmp_path: Path) -> None:
    book = _book(tmp_path, [
        _letter("L1", "progress-report", "R1", "emailed", "email"),
        _letter("L2", "progress-report", "R1", "faxed"),
        _letter("L3", "thank-you", "R1", "produced", "fax"),
        _letter("L4", "thank-you", "R1", "produced", "mail"),
        _letter("L5", "progress-report", "R1", "drafted", "email"),
        _letter("L6", "progress-report", "R1", "produced", "email"),
        _letter("L7", "progress-report", "R1", "failed", "email"),
        _letter("L8", "progress-report", "R1", "sending", "email"),
        _letter("L9", "super-bill", "C1 2026-09", "produced", "mail", provider=None),
        _letter("L10", "intro-packet", "P1", "emailed", "email", client=None),
        _letter("L11", "thank-you", "R3", "emailed", "email", client="C3"),
    ])
    done = _call(practice, book, "C1", "--to", TO, "--json")
    assert done.exit_code == 0, done.output
    result = json.loads(done.stdout)
    assert [(d["source"], d["status"]) for d in result["disclosures"]] == [
        ("Letters L1", "sent"), ("Letters L2", "sent"), ("Letters L3", "by hand"),
        ("Letters L4", "by hand"), ("Letters L5", "by hand")]
    assert {o["source"]: o["reason"] for o in result["left_out"]} == {
        "Letters L6": "made for email and never emailed",
        "Letters L7": "not sent: the delivery failed",
        "Letters L8": "in doubt: settle it with refdesk merge JOB (--mark-sent or --retry), "
                      "then run this again"}
    assert result["to_client"] == 1
    first = result["disclosures"][0]
    assert first == {
        "date": "2026-10-05", "recipient": "Helen Okafor, MD",
        "practice": "Okafor Family Medicine", "address": "1 Main St, Portland, OR 97201",
        "document": "Progress report",
        "information": "your name and date of birth, the referral and the services "
                       "requested; your visits, pain ratings, measured progress and latest "
                       "session notes",
        "purpose": "Treatment coordination: keeping the provider who referred you informed; "
                   "under your release signed August 30, 2026",
        "delivery": "email", "status": "sent", "source": "Letters L1", "cell": "Letters!A2",
        "provider_id": "P1"}
    assert "One document given to you" in result["notes"][0]
    assert "Not listed: Letters!A7 (Letters L6 of 2026-10-05): made for email and never " \
        "emailed." in done.stderr
    assert "Not listed: 1 document that went to the client themself" in done.stderr


def test_a_row_without_client_id_is_found_by_its_record(practice: Path, tmp_path: Path) -> None:
    book = _book(tmp_path, [_letter("L1", "thank-you", "R1", "emailed", client=None),
                            _letter("L2", "thank-you", "R3", "emailed", client=None)])
    c1 = json.loads(_call(practice, book, "C1", "--to", TO, "--json").stdout)
    c3 = json.loads(_call(practice, book, "C3", "--to", TO, "--json").stdout)
    assert [d["source"] for d in c1["disclosures"]] == ["Letters L1"]
    assert [d["source"] for d in c3["disclosures"]] == ["Letters L2"]


def test_sent_rows_count_once_the_provider_was_told(practice: Path, tmp_path: Path) -> None:
    sent = [row("Sent", sent_id="S1", sent_on=dt.date(2026, 6, 1), client_id="C1",
                provider_id="P2", reason="Low back pain", provider_told_on=dt.date(2026, 6, 2)),
            row("Sent", sent_id="S2", sent_on=dt.date(2026, 7, 1), client_id="C1",
                provider_id="P2", reason="Low back pain"),
            row("Sent", sent_id="S3", sent_on=dt.date(2026, 8, 1), client_id="C1",
                provider_id="P2", provider_told_on=dt.date(2026, 8, 3)),
            row("Sent", sent_id="S4", sent_on=dt.date(2026, 8, 1), client_id="C3",
                provider_id="P2", provider_told_on=dt.date(2026, 8, 3))]
    book = _book(tmp_path, [_letter("L1", "sent-referral", "S3", "emailed", "email",
                                    provider="P2", when=dt.datetime(2026, 8, 3, 10))], sent)
    result = json.loads(_call(practice, book, "C1", "--to", TO, "--json").stdout)
    assert [(d["date"], d["source"]) for d in result["disclosures"]] == [
        ("2026-06-02", "Sent S1"), ("2026-08-03", "Letters L1")]
    told = result["disclosures"][0]
    assert told["recipient"] == "Sam Berg, DC" and told["address"] == "address not known"
    assert told["information"] == "your name and the reason we suggested you see them " \
        "(\u201cLow back pain\u201d)"
    assert [o["source"] for o in result["left_out"]] == ["Sent S2"]


def test_the_period_is_six_years_back_unless_chosen(practice: Path, tmp_path: Path) -> None:
    old = dt.datetime(2020, 11, 22, 12)
    book = _book(tmp_path, [_letter("L1", "thank-you", "R1", "emailed", when=old),
                            _letter("L2", "thank-you", "R1", "emailed",
                                    when=dt.datetime(2020, 11, 23, 8)),
                            _letter("L3", "thank-you", "R1", "emailed"),
                            _letter("L4", "thank-you", "R1", "failed", when=old),
                            _letter("L5", "super-bill", "C1 2019-01", "produced", "mail",
                                    provider=None, when=old)])
    result = json.loads(_call(practice, book, "C1", "--to", TO, "--json").stdout)
    assert (result["from"], result["to"]) == ("2020-11-23", TO)
    assert [d["source"] for d in result["disclosures"]] == ["Letters L2", "Letters L3"]
    assert result["left_out"] == [] and result["to_client"] == 0, "outside the period"
    chosen = json.loads(_call(practice, book, "C1", "--from", "2026-01-01", "--to", TO,
                              "--json").stdout)
    assert [d["source"] for d in chosen["disclosures"]] == ["Letters L3"]
    backwards = _call(practice, book, "C1", "--from", "2026-02-01", "--to", "2026-01-01")
    assert backwards.exit_code == 2
    assert "--from 2026-02-01 is after --to 2026-01-01" in backwards.stderr


def test_names_unique_ambiguous_and_unknown(practice: Path, tmp_path: Path) -> None:
    book = _book(tmp_path, [])
    assert json.loads(_call(practice, book, "ben cole", "--json").stdout)["client_id"] == "C3"
    assert json.loads(_call(practice, book, "c1", "--json").stdout)["client_id"] == "C1"
    both = _call(practice, book, "Ana Ruiz")
    assert both.exit_code == 2 and both.stdout == ""
    assert both.stderr.splitlines() == [
        "Error: 2 clients are named 'Ana Ruiz'; give the client_id of the one you mean:",
        "  C1  Ana Ruiz", "  C2  Ana Ruiz"]
    unknown = _call(practice, book, "Zoe Park")
    assert unknown.exit_code == 2
    assert unknown.stderr.startswith("Error: no client 'Zoe Park' in the Clients sheet")


def test_csv_has_its_header_even_when_empty_and_its_file_is_private(practice: Path,
                                                                    tmp_path: Path) -> None:
    book = _book(tmp_path, [_letter("L1", "thank-you", "R1", "emailed")])
    empty = _call(practice, book, "C3", "--csv", "-")
    assert empty.exit_code == 0
    assert empty.stdout == "date,recipient,practice,address,document,information,purpose," \
        "delivery,status,source,cell,provider_id\n"
    out = tmp_path / "c1.csv"
    done = _call(practice, book, "C1", "--to", TO, "--csv", str(out))
    assert done.exit_code == 0, done.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [(r["date"], r["recipient"], r["source"]) for r in rows] == [
        ("2026-10-05", "Helen Okafor, MD", "Letters L1")]
    if os.name == "posix":
        assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_the_word_document_for_the_client(practice: Path, tmp_path: Path) -> None:
    import docx

    book = _book(tmp_path, [_letter("L1", "progress-report", "R1", "emailed", "email"),
                            _letter("L2", "thank-you", "R3", "emailed", client="C3")])
    out = tmp_path / "ana.docx"
    done = _call(practice, book, "C1", "--to", TO, "--docx", str(out))
    assert done.exit_code == 0, done.output
    document = docx.Document(str(out))
    text = "\n".join(p.text for p in document.paragraphs)
    cells = "\n".join(c.text for t in document.tables for r in t.rows for c in r.cells)
    assert "Accounting of Disclosures" in text and "1 disclosure is listed." in text
    assert "Ana Ruiz" in cells and "March 2, 1980" in cells
    assert "November 23, 2020 to November 23, 2026" in cells
    assert "Helen Okafor, MD" in cells and "Okafor Family Medicine, 1 Main St" in cells
    assert "Ben Cole" not in text + cells
    assert "Cedar Lane Massage Therapy" in document.sections[0].header.paragraphs[0].text
    if os.name == "posix":
        assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_the_pdf_for_the_client(sample: Path, tmp_path: Path, soffice: str) -> None:
    from pypdf import PdfReader

    out = tmp_path / "nadia.pdf"
    done = run("-q", "disclosures", "C056", "-c", sample, "--to", TO, "--pdf", out)
    assert done.exit_code == 0, done.output
    assert out.read_bytes().startswith(b"%PDF")
    if os.name == "posix":
        assert stat.S_IMODE(out.stat().st_mode) == 0o600
    text = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(out).pages)
    for words in ("Cedar Lane Massage Therapy", "Accounting of Disclosures", "Nadia Lund",
                  "March 12, 1964", "November 23, 2020 to November 23, 2026",
                  "David Okafor, DO", "Kevin Morrow, PhD", "2 disclosures are listed.",
                  "YOUR RIGHT TO THIS ACCOUNTING", "Office for Civil Rights"):
        assert words in text, words


def test_a_row_whose_client_and_record_disagree_is_listed_for_its_client(
        practice: Path, tmp_path: Path) -> None:
    book = _book(tmp_path, [_letter("L1", "thank-you", "R3", "emailed", client="C1")])
    c1 = _call(practice, book, "C1", "--to", TO, "--json")
    assert [d["source"] for d in json.loads(c1.stdout)["disclosures"]] == ["Letters L1"]
    assert "Warning: Letters!A2: client_id C1 and the client of record R3 disagree; listed " \
        "for C1, the client the document was made about." in c1.stderr
    assert "C3" not in c1.stdout + c1.stderr
    c3 = json.loads(_call(practice, book, "C3", "--to", TO, "--json").stdout)
    assert c3["disclosures"] == []


def test_nothing_to_list_says_so(practice: Path, tmp_path: Path) -> None:
    done = _call(practice, _book(tmp_path, []), "C3", "--to", TO)
    assert done.exit_code == 0
    assert done.stdout == "No disclosure of Ben Cole (C3) is recorded from 2020-11-23 to " \
        "2026-11-23.\n"


def test_the_document_needs_the_practice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    monkeypatch.chdir(tmp_path)  # no config.toml here, none registered (conftest)
    done = run("disclosures", "C1", "-w", _book(tmp_path, []), "--docx", tmp_path / "a.docx")
    assert done.exit_code == 2
    assert "the document for the client carries the practice's letterhead" in done.stderr
    assert not (tmp_path / "a.docx").exists()


def test_a_practice_without_the_template_uses_the_shipped_one(practice: Path,
                                                              tmp_path: Path) -> None:
    import docx

    (practice.parent / "templates" / "disclosures.docx").unlink()
    out = tmp_path / "ana.docx"
    done = _call(practice, _book(tmp_path, []), "C1", "--to", TO, "--docx", str(out))
    assert done.exit_code == 0, done.output
    text = "\n".join(p.text for p in docx.Document(str(out)).paragraphs)
    assert "No disclosure of your health information is recorded in this period." in text

