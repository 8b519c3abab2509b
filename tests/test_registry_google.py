"""`providers fill` into a Google Sheet: the same SetField changes through the Google source,
against the loopback Sheets server and the loopback registry."""

from __future__ import annotations

import pytest

from refdesk.schema import SHEETS_BY_NAME
from refdesk.sources.google import Retry
from refdesk.sources.google import client as google_client
from tests import sheets_server as fake
from tests.conftest import run
from tests.registry_server import RegistryServer, individual

BELL = "1374370892"


@pytest.fixture
def sheets(monkeypatch):
    with fake.SheetsServer() as running:
        monkeypatch.setattr(google_client, "connect", lambda *a, **k: running.client())
        monkeypatch.setattr(google_client, "DEFAULT_RETRY", Retry(max_wait=2.0, base=0.01,
                                                                  cap=0.05, timeout=30.0))
        monkeypatch.setattr(google_client, "_sleep", lambda s: None)
        yield running


def test_fill_writes_a_google_sheets_empty_cells(sheets, monkeypatch, tmp_path) -> None:
    columns = SHEETS_BY_NAME["Providers"].column_names
    provider = dict.fromkeys(columns)
    provider.update(provider_id="P1", name="Marcus Bell", npi=BELL, stage="referring",
                    phone="(971) 555-0100")
    tabs = {"Providers": [columns, [provider[c] for c in columns]],
            "Clients": [SHEETS_BY_NAME["Clients"].column_names],
            "Referrals": [SHEETS_BY_NAME["Referrals"].column_names]}
    key = sheets.create_spreadsheet("Practice", tabs).id
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with RegistryServer([individual(BELL, "MARCUS", "BELL", credential="D.C.",
                                    taxonomy=("111N00000X", "Chiropractor"))]) as registry:
        monkeypatch.setenv("REFDESK_NPI_REGISTRY", registry.url)
        done = run("providers", "fill", "--sheet", key, "--yes")
    assert done.exit_code == 0, done.output
    assert "Wrote 7 cell(s) into" in done.stdout
    [header, written] = sheets.state(key).tab("Providers").values(value_render="FORMATTED_VALUE")
    got = dict(zip(header, written, strict=False))
    assert (got["credentials"], got["specialty"], got["fax"], got["street"], got["zip"]) == (
        "DC", "chiropractic", "(503) 555-0119", "3510 SE Hawthorne Blvd", "97214-1234")
    assert got["phone"] == "(971) 555-0100"  # never overwritten
