"""Cell rules: required values, kinds, closed lists and formats, column by column."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from refdesk.book import Book, Table
from refdesk.check.formats import VALIDATORS, Finding
from refdesk.check.outcomes import RANGED
from refdesk.check.problem import Context, Problem, Severity, emit, problem
from refdesk.schema import LIST_SEPARATOR, Column, Kind

KIND_WORDS = {
    Kind.DATE: "a date (e.g. 2025-03-14)",
    Kind.DATETIME: "a date and time (e.g. 2025-03-14 09:30)",
    Kind.INT: "a whole number",
    Kind.NUMBER: "a number (e.g. 7.5)",
    Kind.MONEY: "an amount (e.g. 95.00)",
}


def rules(book: Book, ctx: Context) -> Iterator[Problem]:
    for table in book:
        if not table.present or not len(table):
            continue
        yield from unreadable(table)
        yield from respelled(table)
        for column in table.schema.columns:
            if column.name in table.missing_columns:
                continue
            if column.required:
                yield from required(table, column)
            if column.closed:
                yield from closed_list(table, column)
            elif column.kind in VALIDATORS:
                yield from formats(table, column, ctx)
            elif (column.kind in (Kind.INT, Kind.MONEY)
                  and (table.schema.name, column.name) not in RANGED):
                yield from not_negative(table, column)


def unreadable(table: Table) -> Iterator[Problem]:
    for bad in table.bad_values:
        value = "this value" if table.schema.column(bad.column).health else repr(bad.value)
        why = bad.reason or f"is not {KIND_WORDS[bad.kind]}; retype it"
        yield problem(table, bad.row, bad.column, "type", f"{bad.column} {value} {why}",
                      value=bad.value)


def respelled(table: Table) -> Iterator[Problem]:
    for fix in table.respelled:
        yield problem(table, fix.row, fix.column, "spelling",
                      f"{fix.column} {fix.typed!r} is read as {fix.canonical!r}; pick it from "
                      "the drop-down to spell it so", severity=Severity.WARNING, value=fix.typed)


def required(table: Table, column: Column) -> Iterator[Problem]:
    unreadable_rows = {b.row for b in table.bad_values if b.column == column.name}
    missing = table.df[column.name].isna()
    if unreadable_rows:
        missing &= ~table.df.index.isin(list(unreadable_rows))
    yield from emit(table, missing, column.name, "required",
                    lambda _v, _r: f"{column.name} is required; fill it in")


def closed_list(table: Table, column: Column) -> Iterator[Problem]:
    values = table.df[column.name]
    allowed = set(column.choices)

    def outside(text: str) -> list[str]:
        items = text.split(LIST_SEPARATOR) if column.multi else [text]
        return [i.strip() for i in items if i.strip() and i.strip() not in allowed]

    wrong = {v: outside(v) for v in values.dropna().unique()}
    wrong = {v: items for v, items in wrong.items() if items}
    if not wrong:
        return
    options = ", ".join(column.choices)

    def message(value: str, _row: pd.Series) -> str:
        items = wrong[value]
        quoted = ", ".join(repr(i) for i in items)
        return (f"{column.name} {quoted} {'is' if len(items) == 1 else 'are'} not in the list; "
                f"use {'one' if not column.multi else 'any'} of: {options}")

    yield from emit(table, values.isin(list(wrong)), column.name, "allowed-values", message)


def formats(table: Table, column: Column, ctx: Context) -> Iterator[Problem]:
    validate = VALIDATORS[column.kind]
    values = table.df[column.name]
    findings: dict[str, Finding] = {}
    for value in values.dropna().unique():
        found = validate(value, ctx.region)
        if found:
            findings[value] = found
    for severity in (Severity.ERROR, Severity.WARNING):
        for rule in sorted({f.rule for f in findings.values() if f.severity is severity}):
            these = {v: f for v, f in findings.items()
                     if f.rule == rule and f.severity is severity}
            yield from emit(table, values.isin(list(these)), column.name, rule,
                            lambda v, _r, these=these: these[v].message, severity=severity)


def not_negative(table: Table, column: Column) -> Iterator[Problem]:
    values = table.df[column.name]
    yield from emit(table, values < 0, column.name, "negative",
                    lambda v, _r: f"{column.name} {v} is negative; enter it as a positive "
                                  "number")
