"""The national NPI registry (NPPES): look providers up, verify the Providers sheet, fill it.

    client.py    the registry's API, version 2.1 (HTTP, errors, the query), with a disk cache
    cache.py     answers kept on disk for 30 days, keyed by the query
    record.py    one registry answer as a Match: name, credential, taxonomy, address, phone
    verify.py    `check --registry`: each NPI exists, is active, and agrees with its row
    fill.py      `providers fill`: the empty cells of rows with an NPI, from the registry

The registry is public and needs no key; its address can be changed (REFDESK_NPI_REGISTRY)
so that tests talk to a loopback server.
"""

from __future__ import annotations

from refdesk.registry.client import (
    DEFAULT_URL,
    ENV_URL,
    MAX_LIMIT,
    RegistryClient,
    RegistryError,
    RegistryUnreachable,
)
from refdesk.registry.record import Match

__all__ = ["DEFAULT_URL", "ENV_URL", "MAX_LIMIT", "Match", "RegistryClient", "RegistryError",
           "RegistryUnreachable"]
