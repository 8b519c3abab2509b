"""Ledger: the Letters sheet, newest first, filtered by provider, client or job.

The filter's values in the address are ids (P003, C274) and job names, never a client's name;
the names show in the page only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pandas as pd
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from refdesk.book import Book
from refdesk.desk.context import load
from refdesk.desk.render import page

NAV = ("Ledger", "/ledger")
PER_PAGE = 100


@dataclass(frozen=True)
class Entry:
    """One Letters row as the page shows it."""

    row: int
    cell: str  # where the row's id is: Letters!A7
    letter_id: str
    when: str
    job: str
    record: str
    provider: str
    client: str
    delivery: str
    status: str
    detail: str
    file: str


def _text(value: Any) -> str:
    return "" if value is None or value is pd.NA or (isinstance(value, float)
                                                     and math.isnan(value)) else str(value)


def provider_names(book: Book) -> dict[str, str]:
    """Provider id -> name (the id where the row has none)."""
    df = book["Providers"].df
    return {_text(pid): _text(name) or _text(pid)
            for pid, name in zip(df["provider_id"], df["name"], strict=True) if _text(pid)}


def client_names(book: Book) -> dict[str, str]:
    """Client id -> first and last name (the id where the row has none)."""
    df = book["Clients"].df
    names = {}
    for cid, first, last in zip(df["client_id"], df["first_name"], df["last_name"],
                                strict=True):
        if _text(cid):
            names[_text(cid)] = " ".join(p for p in (_text(first), _text(last)) if p) or _text(cid)
    return names


def ledger(book: Book, *, provider: str = "", client: str = "", job: str = ""
           ) -> list[Entry]:
    """The Letters rows matching every filter given, newest first."""
    df = book["Letters"].df
    if provider:
        df = df[df["provider_id"] == provider]
    if client:
        df = df[df["client_id"] == client]
    if job:
        df = df[df["job"] == job]
    # Newest first; rows without a time last; the later row first on a tie.
    df = df.assign(_row=df.index).sort_values(["when", "_row"], ascending=False,
                                              na_position="last")
    providers, clients = provider_names(book), client_names(book)
    table = book["Letters"]
    entries = []
    for row, r in zip(df.index, df.to_dict("records"), strict=True):
        when = r["when"]
        pid, cid = _text(r["provider_id"]), _text(r["client_id"])
        entries.append(Entry(
            row=int(row), cell=table.cell(int(row), "letter_id"), letter_id=_text(r["letter_id"]),
            when=when.strftime("%Y-%m-%d %H:%M") if not pd.isna(when) else "",
            job=_text(r["job"]), record=_text(r["record"]),
            provider=f"{providers.get(pid, pid)} ({pid})" if pid else "",
            client=f"{clients.get(cid, cid)} ({cid})" if cid else "",
            delivery=_text(r["delivery"]), status=_text(r["status"]),
            detail=_text(r["detail"]), file=_text(r["file"])))
    return entries


def _choice(value: str | None, allowed: dict[str, str] | set[str]) -> str:
    """A filter value from the address, kept only when it is one of the choices."""
    value = (value or "").strip()
    return value if value in allowed else ""


def ledger_page(request: Request) -> Response:
    loaded = load(request)
    book = loaded.book
    letters = book["Letters"].df
    providers, clients = provider_names(book), client_names(book)
    jobs = sorted({*(loaded.config.jobs if loaded.config else {}),
                   *(_text(j) for j in letters["job"] if _text(j))})
    # Only the providers and clients the ledger names are offered.
    used_p = {_text(p) for p in letters["provider_id"] if _text(p)}
    used_c = {_text(c) for c in letters["client_id"] if _text(c)}
    provider_choices = sorted(((pid, providers.get(pid, pid)) for pid in used_p),
                              key=lambda p: (p[1].lower(), p[0]))
    client_choices = sorted(((cid, clients.get(cid, cid)) for cid in used_c),
                            key=lambda c: (c[1].lower(), c[0]))
    query = request.query_params
    chosen = {"provider": _choice(query.get("provider"), used_p),
              "client": _choice(query.get("client"), used_c),
              "job": _choice(query.get("job"), set(jobs))}
    entries = ledger(book, **chosen)
    pages = max(1, math.ceil(len(entries) / PER_PAGE))
    try:
        number = min(max(1, int(query.get("page", "1"))), pages)
    except ValueError:
        number = 1
    shown = entries[(number - 1) * PER_PAGE:number * PER_PAGE]
    kept = {k: v for k, v in chosen.items() if v}

    def link(to: int) -> str:
        return urlencode({**kept, "page": to}) if 1 <= to <= pages and to != number else ""

    return page(request, "ledger.html", title="Ledger", entries=shown, total=len(entries),
                all_rows=len(letters), number=number, pages=pages, chosen=chosen,
                filters=kept, provider_choices=provider_choices,
                client_choices=client_choices, jobs=jobs, first=(number - 1) * PER_PAGE + 1,
                newer=link(number - 1), older=link(number + 1))


routes: list[BaseRoute] = [Route("/ledger", ledger_page, methods=["GET"])]
