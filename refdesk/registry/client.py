"""The NPPES NPI Registry API, version 2.1: one GET per query, JSON back.

    GET https://npiregistry.cms.hhs.gov/api/?version=2.1&number=1234567893
    GET ...&first_name=ELENA&last_name=MARQUEZ&state=OR&limit=10

The answer is {"result_count": N, "results": [...]}. A query the registry refuses still comes
back with HTTP 200, as {"Errors": [{"description", "field", "number"}]}. At most 200 results
come back a call (`limit`); `skip` pages on. Answers are cached on disk (refdesk.registry.cache).
"""

from __future__ import annotations

import http.client
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

from refdesk import __version__
from refdesk.errors import RefdeskError
from refdesk.registry.cache import AnswerCache, query_key
from refdesk.registry.record import Match, parse_result

DEFAULT_URL = "https://npiregistry.cms.hhs.gov/api/"
#: Another address for the registry (a mirror, or a loopback server in tests).
ENV_URL = "REFDESK_NPI_REGISTRY"
VERSION = "2.1"
MAX_LIMIT = 200
TIMEOUT_SECONDS = 15.0
USER_AGENT = f"refdesk/{__version__} (NPI registry lookup)"
#: The query keys the API takes (besides version, limit and skip).
QUERY_KEYS = ("number", "enumeration_type", "taxonomy_description", "first_name", "last_name",
              "organization_name", "city", "state", "postal_code")


class RegistryUnreachable(RefdeskError):
    """No answer from the registry: no network, a timeout, or a server error."""


class RegistryError(RefdeskError):
    """The registry answered but refused the query (its `Errors` list) or sent no JSON."""


class RegistryClient:
    """Queries the registry, answering repeated queries from the disk cache."""

    def __init__(self, base_url: str | None = None, *, cache: AnswerCache | None = None,
                 timeout: float = TIMEOUT_SECONDS,
                 opener: Callable[..., Any] | None = None) -> None:
        self.base_url = base_url or os.environ.get(ENV_URL) or DEFAULT_URL
        self.cache = cache if cache is not None else AnswerCache()
        self.timeout = timeout
        self._open = opener or urllib.request.urlopen
        #: Calls that went over the network (not answered by the cache).
        self.calls = 0

    def __str__(self) -> str:
        return self.base_url

    def query(self, params: Mapping[str, str | int]) -> dict[str, Any]:
        """The registry's answer to `params` (cached); raises RegistryError on its Errors."""
        clean = {k: str(v).strip() for k, v in params.items()
                 if v is not None and str(v).strip()}
        clean["version"] = VERSION
        key = query_key(self.base_url, clean)
        answer = self.cache.get(key)
        if answer is None:
            answer = self._fetch(clean)
            _raise_errors(answer)  # a refusal is never cached
            self.cache.put(key, answer)
        return answer

    def by_number(self, npi: str) -> Match | None:
        """The provider with this NPI, or None when the registry does not list it (never
        issued, or deactivated: the registry leaves deactivated NPIs out of its answers)."""
        answer = self.query({"number": npi})
        for result in _results(answer):
            match = parse_result(result)
            if match.npi == npi:
                return match
        return None

    def search(self, *, limit: int = 10, skip: int = 0, **terms: str | None) -> list[Match]:
        """Providers matching the terms (first_name, last_name, organization_name, state,
        city, taxonomy_description, enumeration_type ...), at most `limit` (up to 200)."""
        unknown = sorted(set(terms) - set(QUERY_KEYS))
        if unknown:
            raise ValueError(f"not a registry query key: {', '.join(unknown)}")
        params: dict[str, str | int] = {k: v for k, v in terms.items() if v}
        params["limit"] = max(1, min(int(limit), MAX_LIMIT))
        if skip:
            params["skip"] = int(skip)
        return [parse_result(r) for r in _results(self.query(params))]

    def _fetch(self, params: Mapping[str, str]) -> dict[str, Any]:
        url = f"{self.base_url}?{urllib.parse.urlencode(params)}"
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT,
                                                       "Accept": "application/json"})
        self.calls += 1
        try:
            with self._open(request, timeout=self.timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            raise RegistryUnreachable(unreachable(self.base_url, f"it answered HTTP {exc.code}")
                                      ) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise RegistryUnreachable(unreachable(self.base_url, str(reason) or
                                                  type(exc).__name__)) from None
        try:
            answer = json.loads(body)
        except ValueError:
            raise RegistryError(f"the NPI registry at {self.base_url} answered with something "
                                "other than JSON; try again later. Nothing was changed.") from None
        if not isinstance(answer, dict):
            raise RegistryError(f"the NPI registry at {self.base_url} answered with an "
                                "unexpected shape; try again later. Nothing was changed.")
        return answer


def unreachable(base_url: str, reason: str) -> str:
    return (f"could not reach the NPI registry at {base_url} ({reason}); nothing was changed. "
            "Check the internet connection and run the command again.")


def _results(answer: dict[str, Any]) -> list[dict[str, Any]]:
    results = answer.get("results")
    return [r for r in results if isinstance(r, dict)] if isinstance(results, list) else []


def _raise_errors(answer: dict[str, Any]) -> None:
    """The registry's refusals come with HTTP 200 and an Errors list: make them an error."""
    errors = answer.get("Errors")
    if not errors:
        return
    items = errors if isinstance(errors, list) else [errors]
    words = []
    for item in items:
        if isinstance(item, dict):
            field = str(item.get("field") or "").strip()
            text = str(item.get("description") or "refused").strip()
            words.append(f"{text} ({field})" if field and field != "generic" else text)
        else:
            words.append(str(item))
    raise RegistryError("the NPI registry refused the query: " + "; ".join(words) +
                        ". Nothing was changed.")
