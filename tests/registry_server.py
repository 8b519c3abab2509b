"""A loopback stand-in for the NPPES NPI Registry API, version 2.1, for tests.

    with RegistryServer([individual("1234567893", "ELENA", "MARQUEZ", ...)]) as server:
        client = RegistryClient(server.url, cache=AnswerCache(tmp_path))
        assert client.by_number("1234567893").last_name == "Marquez"
        assert server.calls == 1

Answers follow the registry's documented shape: {"result_count": N, "results": [...]}, each
result with `number`, `enumeration_type` (NPI-1 / NPI-2), `basic`, `addresses` (LOCATION and
MAILING, with telephone and fax numbers, nine-digit postal codes), `taxonomies` (code, desc,
primary, state, license) and the lists the registry always sends. A refused query comes back
with HTTP 200 and {"Errors": [{"description", "field", "number"}]}, as the registry does: no
search terms, a malformed number, a limit over 200, a version other than 2.1. At most 200
results a call; `skip` pages on. A trailing * in a name matches its start, as in the registry.
"""

from __future__ import annotations

import json
import socket
import threading
import urllib.parse
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_LIMIT = 200
SEARCH_KEYS = ("number", "enumeration_type", "taxonomy_description", "first_name", "last_name",
               "organization_name", "city", "state", "postal_code")


def _address(purpose: str, street: str, city: str, state: str, postal: str, phone: str,
             fax: str) -> dict[str, Any]:
    return {"country_code": "US", "country_name": "United States", "address_purpose": purpose,
            "address_type": "DOM", "address_1": street, "address_2": "", "city": city,
            "state": state, "postal_code": postal, "telephone_number": phone,
            "fax_number": fax}


def _taxonomy(code: str, desc: str, *, primary: bool, state: str = "OR") -> dict[str, Any]:
    return {"code": code, "taxonomy_group": "", "desc": desc, "state": state,
            "license": "MD12345", "primary": primary}


def individual(npi: str, first: str, last: str, *, credential: str = "M.D.", middle: str = "",
               taxonomy: tuple[str, str] = ("207Q00000X", "Family Medicine"),
               other_taxonomies: Iterable[tuple[str, str]] = (), status: str = "A",
               street: str = "3510 SE HAWTHORNE BLVD", city: str = "PORTLAND",
               state: str = "OR", postal: str = "972141234", phone: str = "503-555-0173",
               fax: str = "503-555-0119") -> dict[str, Any]:
    """An NPI-1 (individual) result as the registry sends it: names in capitals."""
    basic = {"first_name": first, "last_name": last, "middle_name": middle,
             "credential": credential, "sole_proprietor": "NO", "sex": "F",
             "enumeration_date": "2007-07-06", "last_updated": "2024-03-11", "status": status,
             "name_prefix": "--", "name_suffix": "--"}
    return _result(npi, "NPI-1", basic, taxonomy, other_taxonomies, street, city, state, postal,
                   phone, fax)


def organization(npi: str, name: str, *,
                 taxonomy: tuple[str, str] = ("261QP2000X", "Clinic/Center, Physical Therapy"),
                 status: str = "A", street: str = "2225 NE BROADWAY", city: str = "PORTLAND",
                 state: str = "OR", postal: str = "97232", phone: str = "503-555-0146",
                 fax: str = "503-555-0105") -> dict[str, Any]:
    """An NPI-2 (organization) result."""
    basic = {"organization_name": name, "organizational_subpart": "NO",
             "enumeration_date": "2010-01-04", "last_updated": "2023-09-18", "status": status,
             "authorized_official_first_name": "JANE", "authorized_official_last_name": "DOE",
             "authorized_official_telephone_number": phone}
    return _result(npi, "NPI-2", basic, taxonomy, (), street, city, state, postal, phone, fax)


def _result(npi: str, kind: str, basic: dict[str, Any], taxonomy: tuple[str, str],
            others: Iterable[tuple[str, str]], street: str, city: str, state: str, postal: str,
            phone: str, fax: str) -> dict[str, Any]:
    return {
        "created_epoch": "1183680000000", "enumeration_type": kind,
        "last_updated_epoch": "1710115200000", "number": npi,
        "addresses": [_address("LOCATION", street, city, state, postal, phone, fax),
                      _address("MAILING", "PO BOX 100", city, state, postal, phone, "")],
        "practiceLocations": [], "basic": basic,
        "taxonomies": [_taxonomy(*taxonomy, primary=True),
                       *(_taxonomy(*t, primary=False) for t in others)],
        "identifiers": [], "endpoints": [], "other_names": [],
    }


def _error(description: str, field: str, number: str) -> dict[str, Any]:
    return {"Errors": [{"description": description, "field": field, "number": number}]}


def _matches(value: str, wanted: str) -> bool:
    """The registry's matching: case-insensitive, exact, or a prefix with a trailing *."""
    value, wanted = value.upper(), wanted.upper()
    return value.startswith(wanted[:-1]) if wanted.endswith("*") else value == wanted


class RegistryServer:
    """The registry on 127.0.0.1 (a free port), answering from `records`; counts its calls."""

    def __init__(self, records: Iterable[dict[str, Any]] = ()) -> None:
        self.records = list(records)
        self.calls = 0
        #: An HTTP status to answer with instead of the registry's answer (a failing server).
        self.status = 200
        #: The query strings received, and each request's User-Agent.
        self.queries: list[dict[str, str]] = []
        self.agents: list[str] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the http.server spelling)
                parts = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(parts.query))
                with server._lock:
                    server.calls += 1
                    server.queries.append(query)
                    server.agents.append(self.headers.get("User-Agent", ""))
                if server.status != 200:
                    self.send_error(server.status)
                    return
                body = json.dumps(server.answer(query)).encode()
                self.send_response(200)  # refusals too: the registry says so in the body
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/api/"
        # A short poll: shutdown() returns within it, so each test's teardown is quick.
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.01}, daemon=True)

    def __enter__(self) -> RegistryServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def answer(self, query: dict[str, str]) -> dict[str, Any]:
        """The registry's answer to a query string."""
        if query.get("version") != "2.1":
            return _error("Unsupported API version", "version", "01")
        terms = {k: v.strip() for k, v in query.items() if k in SEARCH_KEYS and v.strip()}
        if not terms:
            return _error("No valid search criteria provided", "generic", "04")
        number = terms.get("number", "")
        if number and not (number.isdigit() and len(number) == 10):
            return _error("Field number requires 10 digits", "number", "02")
        try:
            limit = int(query.get("limit", "10"))
            skip = int(query.get("skip", "0"))
        except ValueError:
            return _error("Field limit must be a number", "limit", "05")
        if not 1 <= limit <= MAX_LIMIT:
            return _error(f"Field limit must be between 1 and {MAX_LIMIT}", "limit", "05")
        found = [r for r in self.records if self._fits(r, terms)]
        page = found[skip:skip + limit]
        return {"result_count": len(page), "results": page}

    @staticmethod
    def _fits(record: dict[str, Any], terms: dict[str, str]) -> bool:
        basic = record["basic"]
        location = record["addresses"][0]
        fields = {
            "number": record["number"], "enumeration_type": record["enumeration_type"],
            "first_name": basic.get("first_name", ""), "last_name": basic.get("last_name", ""),
            "organization_name": basic.get("organization_name", ""),
            "city": location["city"], "state": location["state"],
            "postal_code": location["postal_code"][:len(terms.get("postal_code", ""))],
        }
        for key, wanted in terms.items():
            if key == "taxonomy_description":
                if not any(wanted.upper() in t["desc"].upper() for t in record["taxonomies"]):
                    return False
            elif not _matches(fields[key], wanted):
                return False
        return True


def closed_port_url() -> str:
    """An address on loopback where nothing listens: a computer without a network."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/"
