"""`providers fill`: the empty cells of Providers rows that have an NPI, from the registry.

Only empty cells are filled: name, credentials, specialty, street, city, state, zip, phone
and fax. A cell that holds anything is never touched; an NPI the registry does not list, or
lists as deactivated, fills nothing. The changes are SetField changes by provider_id, written
through the source's safe write (a backup first, for a workbook file).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from refdesk.book import Book
from refdesk.npi import is_valid_npi
from refdesk.registry.client import RegistryClient, RegistryError
from refdesk.registry.record import Match
from refdesk.registry.taxonomy import specialty_for
from refdesk.xlsxpatch import Change, SetField

SHEET, KEY = "Providers", "provider_id"
#: The columns `fill` may complete, in the sheet's order.
FILLED = ("name", "credentials", "specialty", "phone", "fax", "street", "city", "state", "zip")


@dataclass(frozen=True)
class Fill:
    """One empty cell and the value the registry gives it."""

    cell: str
    provider_id: str
    npi: str
    column: str
    value: str

    def change(self) -> Change:
        return SetField(SHEET, KEY, self.provider_id, self.column, self.value)

    def record(self) -> dict[str, str]:
        return {"cell": self.cell, "provider_id": self.provider_id, "npi": self.npi,
                "column": self.column, "value": self.value}


@dataclass
class Plan:
    fills: list[Fill]
    #: Rows with an NPI that fill nothing, and why (not listed, deactivated, refused).
    skipped: list[str]

    @property
    def changes(self) -> list[Change]:
        return [f.change() for f in self.fills]


def _empty(value: object) -> bool:
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float) and pd.isna(value):
        return True
    return isinstance(value, str) and not value.strip()


def values_from(match: Match) -> dict[str, str]:
    """What the registry gives each fillable column."""
    return {"name": match.name, "credentials": match.credential,
            "specialty": specialty_for(match.taxonomy) or match.taxonomy,
            "phone": match.phone, "fax": match.fax, "street": match.street, "city": match.city,
            "state": match.state, "zip": match.zip}


def plan_fill(book: Book, client: RegistryClient,
              progress: Callable[[str], None] = lambda _m: None) -> Plan:
    """The cells to fill; raises RegistryUnreachable (nothing is written) without a network."""
    table = book.tables.get(SHEET)
    plan = Plan([], [])
    if table is None or "npi" not in table.letters or KEY not in table.letters:
        return plan
    columns = [c for c in FILLED if c in table.letters]
    wanting = []
    for row, record in table.df.iterrows():
        npi = "" if _empty(record.get("npi")) else str(record.get("npi")).strip()
        ident = "" if _empty(record.get(KEY)) else str(record.get(KEY)).strip()
        empty = [c for c in columns if _empty(record.get(c))]
        if is_valid_npi(npi) and ident and empty:
            wanting.append((int(row), ident, npi, empty))
    if wanting:
        progress(f"Asking the NPI registry about {len({w[2] for w in wanting})} NPI(s) ...")
    for row, ident, npi, empty in wanting:
        try:
            match = client.by_number(npi)
        except RegistryError as exc:
            plan.skipped.append(f"{table.cell(row, 'npi')}: {exc.message}")
            continue
        if match is None:
            plan.skipped.append(f"{table.cell(row, 'npi')}: NPI {npi} is not in the NPI "
                                "registry; nothing filled for this row.")
            continue
        if not match.active:
            plan.skipped.append(f"{table.cell(row, 'npi')}: NPI {npi} is deactivated in the "
                                "NPI registry; nothing filled for this row.")
            continue
        given = values_from(match)
        record = table.df.loc[row]
        if not _same_address(record, given):
            # An address is one thing: the registry's city beside the row's own street would
            # make an address that is neither.
            cut = [c for c in empty if c in ADDRESS]
            if cut:
                plan.skipped.append(f"{table.cell(row, cut[0])}: the row's address is not the "
                                    "registry's practice location; its empty parts "
                                    f"({', '.join(cut)}) are left for you to fill.")
            empty = [c for c in empty if c not in ADDRESS]
        plan.fills.extend(Fill(table.cell(row, c), ident, npi, c, given[c])
                          for c in empty if given.get(c))
    return plan


#: The parts of an address, filled together or not at all.
ADDRESS = ("street", "city", "state", "zip")


def _plain(column: str, value: object) -> str:
    text = "".join(ch for ch in str(value).lower() if ch.isalnum())
    return text[:5] if column == "zip" else text


def _same_address(record: pd.Series, given: dict[str, str]) -> bool:
    """Whether the address parts the row already holds agree with the registry's (all empty
    agrees): only then are its empty parts completed from the registry."""
    return all(_plain(c, record.get(c)) == _plain(c, given.get(c) or "")
               for c in ADDRESS if c in record.index and not _empty(record.get(c)))
