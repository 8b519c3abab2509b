"""Sheet rules: unique ids, repeated rows, and the same provider typed twice."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pandas as pd
from rapidfuzz import fuzz, process

from refdesk.book import Book, Table
from refdesk.check.problem import Context, Problem, Severity, emit, problem

#: Names at least this similar (0-100) are compared further; see near_duplicate_providers.
NAME_SIMILARITY = 85
#: Names this similar are the same person even at another practice and phone.
NAME_SAME = 95
#: Practice names this similar are one practice typed twice ("Clinic 12" and "Clinic 13" not).
PRACTICE_SAME = 92


def rules(book: Book, ctx: Context) -> Iterator[Problem]:
    for table in book:
        if not table.present or not len(table):
            continue
        yield from unique_ids(table)
        yield from repeated_rows(table)
    yield from near_duplicate_providers(book["Providers"])


def unique_ids(table: Table) -> Iterator[Problem]:
    key = table.schema.key
    if not key or key in table.missing_columns:
        return
    ids = table.df[key]
    repeated = ids.duplicated(keep="first") & ids.notna()
    if not repeated.any():
        return
    first_row = ids[ids.notna()].reset_index().drop_duplicates(key).set_index(key)["row"]
    yield from emit(table, repeated, key, "unique-id",
                    lambda v, _r: f"{key} {v} is already used in row {first_row[v]}; give each "
                                  "row its own id")


def repeated_rows(table: Table) -> Iterator[Problem]:
    """The same record typed twice: every column equal apart from the id."""
    key = table.schema.key
    columns = [c for c in table.schema.column_names
               if c != key and c not in table.missing_columns]
    content = table.df[columns]
    filled = content.notna().sum(axis=1) >= 2  # a lone value repeated is not a record twice
    again = content.duplicated(keep="first") & filled
    if not again.any():
        return
    # The first row of each group, to name it in the message.
    groups = content[filled].reset_index().groupby(columns, dropna=False)["row"].transform("min")
    first = pd.Series(groups.to_numpy(), index=content[filled].index)
    has_ids = bool(key) and key not in table.missing_columns and table.df[key].notna().any()
    anchor = key if has_ids else columns[0]
    yield from emit(table, again, anchor, "duplicate-row",
                    lambda _v, r: f"row {r.name} repeats row {first[r.name]} (same values"
                                  f"{' apart from the id' if has_ids else ''}); delete one of "
                                  "them", severity=Severity.WARNING)


def _norm(text: object) -> str:
    return re.sub(r"[^a-z0-9 ]+", "", str(text).lower()).strip() if isinstance(text, str) else ""


def likely_same(names: list[object], practices: list[object], phones: list[object],
                npis: list[object]) -> Iterator[tuple[int, int]]:
    """Pairs (i, j), i < j, of providers that look like one person typed twice: similar names
    (rapidfuzz) at the same practice or phone, or nearly the same name; two different NPIs
    mean two people. `check` warns of them, and no packet goes to the later one."""
    if len(names) < 2:
        return
    name = [_norm(n) for n in names]
    practice = [_norm(p) for p in practices]
    phone = [re.sub(r"\D", "", p) if isinstance(p, str) else "" for p in phones]
    npi = [n if isinstance(n, str) else "" for n in npis]
    scores = process.cdist(name, name, scorer=fuzz.ratio, score_cutoff=NAME_SIMILARITY,
                           workers=-1, dtype="uint8")
    for i, j in zip(*scores.nonzero(), strict=True):
        if j <= i or not name[i]:
            continue
        same_place = (practice[i] and fuzz.ratio(practice[i], practice[j]) >= PRACTICE_SAME
                      ) or (phone[i] and phone[i] == phone[j])
        if not (same_place or scores[i, j] >= NAME_SAME):
            continue
        if npi[i] and npi[j] and npi[i] != npi[j]:
            continue
        yield int(i), int(j)


def near_duplicate_providers(table: Table) -> Iterator[Problem]:
    """The same person typed twice with a small difference (see likely_same)."""
    df = table.df
    rows = list(df.index)
    for i, j in likely_same(list(df["name"]), list(df["practice"]), list(df["phone"]),
                            list(df["npi"])):
        later, earlier = rows[j], rows[i]
        yield problem(table, later, "name", "near-duplicate",
                      f"{df.at[later, 'name']} looks like {df.at[earlier, 'name']} in row "
                      f"{earlier} (similar name, same practice or phone); if they are one "
                      "person, keep one row and move its referrals to that provider_id",
                      severity=Severity.WARNING, value=df.at[later, "name"])
