"""Links between sheets: every id a row refers to exists, and a client's "who referred you?"
answer agrees with the referrer columns beside it."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from refdesk.book import Book, Table
from refdesk.check.problem import Context, Problem, Severity, emit
from refdesk.schema import Column


def rules(book: Book, ctx: Context) -> Iterator[Problem]:
    for table in book:
        if not len(table):
            continue
        for column in table.schema.references:
            if column.name not in table.missing_columns:
                yield from unknown_references(table, column, book[column.ref or ""])
    yield from referral_source(book["Clients"])


def _noun(sheet: str) -> str:
    """`Providers` -> `provider`: what one row of a sheet is, for messages."""
    return sheet.lower().removesuffix("s")


def unknown_references(table: Table, column: Column, target: Table) -> Iterator[Problem]:
    values = table.df[column.name]
    key = target.schema.key or ""
    sheet, noun = target.schema.name, _noun(target.schema.name)
    if not target.present:
        yield from emit(table, values.notna(), column.name, "unknown-reference",
                        lambda v, _r: f"{column.name} {v} refers to the {sheet} sheet, which "
                                      f"this workbook does not have; add a {sheet} sheet with "
                                      f"this {noun} (`refdesk init` makes one) or clear the id")
        return
    ids = target.df[key].dropna()
    unknown = values.notna() & ~is_in(values, ids)
    if not unknown.any():
        return
    # An id typed in the wrong case (`p041` for `P041`) is worth naming.
    lowered = ids.str.lower()
    wanted = values[unknown].str.lower().unique()
    near = is_in(lowered, pd.Series(wanted, dtype=object))
    by_lower = dict(zip(lowered[near], ids[near], strict=True))

    def message(value: str, _row: pd.Series) -> str:
        close = by_lower.get(value.lower())
        if close:
            return (f"{column.name} {value} is not in the {sheet} sheet, which has {close}; "
                    f"type it as {close}")
        return (f"{column.name} {value} is not in the {sheet} sheet; add the {noun} there or "
                "correct the id")

    yield from emit(table, unknown, column.name, "unknown-reference", message)


def positions(values: pd.Series, ids: pd.Series) -> np.ndarray:
    """Where each value first appears in `ids` (-1: nowhere, or the value is empty): a join on
    ids, done in Arrow. pandas' own isin and get_indexer turn every id into a Python object
    first, which takes seconds against a million referral ids."""
    at = pc.index_in(pa.array(values, type=pa.large_string(), from_pandas=True),
                     value_set=pa.array(ids, type=pa.large_string(), from_pandas=True),
                     skip_nulls=True)
    return at.fill_null(-1).to_numpy(zero_copy_only=False)


def is_in(values: pd.Series, ids: pd.Series) -> pd.Series:
    return pd.Series(positions(values, ids) >= 0, index=values.index)


def referral_source(clients: Table) -> Iterator[Problem]:
    """source doctor needs referred_by_provider, source client needs referred_by_client; an
    id in the other column is likely left over from an earlier answer (a warning)."""
    if not len(clients):
        return
    df = clients.df
    source = df["source"]
    for wanted, column, rule, noun in (
            ("doctor", "referred_by_provider", "source-needs-provider", "provider_id"),
            ("client", "referred_by_client", "source-needs-client", "client_id")):
        by = df[column]
        # Without the column there is no cell to point at: point at source instead.
        anchor = "source" if column in clients.missing_columns else column
        add = f"add a {column} column and " if column in clients.missing_columns else ""
        yield from emit(clients, (source == wanted) & by.isna(), anchor, rule,
                        lambda _v, _r, column=column, noun=noun, add=add, wanted=wanted:
                        f"source is {wanted} but {column} is empty; {add}fill in the {noun} "
                        f"of the {wanted} who referred this client")
        # A source outside the list is reported by the cell rules; no guess at it here.
        other = source.notna() & (source != wanted) & source.isin(
            clients.schema.column("source").choices)
        yield from emit(clients, other & by.notna(), column, "source-mismatch",
                        lambda v, r, column=column, wanted=wanted:
                        f"{column} is {v} but source is {r['source']}; set source to "
                        f"{wanted} or clear {column}", severity=Severity.WARNING)
    yield from emit(clients, df["referred_by_client"] == df["client_id"], "referred_by_client",
                    "self-referral",
                    lambda v, _r: f"client {v} is named as their own referrer; put the "
                                  "client_id of the client who referred them in "
                                  "referred_by_client, or clear it")
