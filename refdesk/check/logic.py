"""Logic and consent: dates that cannot be in the future or out of order, visits within what a
referral authorized, and every document about a client sent under a valid release.

Messages name ids, dates and document kinds only, never a client's condition."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pandas as pd

from refdesk.book import Book, Table
from refdesk.check.links import positions
from refdesk.check.problem import Context, Problem, Severity, emit
from refdesk.consent import (
    RELEASE_COLUMNS,
    date_faults,
    day,
    fails,
    granted_scopes,
    needed_scopes,
    revocations,
    why,
    withdrawals,
)
from refdesk.schema import RELEASE_SCOPE

__all__ = ["PAST_DATES", "consent", "needed_scopes", "rules"]

#: Dates that record something that has happened, so cannot lie after today. Follow-up dates
#: (next_follow_up, follow_up_on) and a release's expires_on are plans: they may.
PAST_DATES: dict[str, tuple[str, ...]] = {
    "Referrals": ("received_on", "first_visit", "thank_you_sent", "last_report_sent"),
    "Clients": ("dob", "first_visit", "card_sent"),
    "Releases": ("signed_on", "revoked_on"),
    "Sent": ("sent_on", "provider_told_on"),
    "Contacts": ("date",),
    "Visits": ("date",),
    "Testimonials": ("permission_on",),
    "Letters": ("when",),
}


def rules(book: Book, ctx: Context) -> Iterator[Problem]:
    yield from future_dates(book, ctx.today)
    yield from referral_dates(book["Referrals"])
    yield from release_dates(book["Releases"])
    yield from visits(book["Visits"], book["Referrals"])
    yield from consent(book["Letters"], book["Releases"], ctx.today)


def future_dates(book: Book, today: dt.date) -> Iterator[Problem]:
    # `when` holds a time of day: anything on or after tomorrow's midnight is in the future.
    tomorrow = pd.Timestamp(today) + pd.Timedelta(days=1)
    for sheet, columns in PAST_DATES.items():
        table = book[sheet]
        for column in columns:
            yield from emit(table, table.df[column] >= tomorrow, column, "future-date",
                            lambda v, _r, column=column:
                            f"{column} {day(v)} is in the future (today is {today}); correct "
                            "the date")


def referral_dates(table: Table) -> Iterator[Problem]:
    df = table.df
    yield from emit(table, df["first_visit"] < df["received_on"], "first_visit",
                    "visit-before-referral",
                    lambda v, r: f"first visit {day(v)} is before the referral was received "
                                 f"({day(r['received_on'])}); correct one of the two dates")
    yield from emit(table, df["thank_you_sent"] < df["first_visit"], "thank_you_sent",
                    "thanks-before-visit",
                    lambda v, r: f"thank-you sent {day(v)} is before the first visit "
                                 f"({day(r['first_visit'])}); correct one of the two dates")
    yield from emit(table, df["thank_you_sent"].notna() & df["first_visit"].isna(),
                    "thank_you_sent", "thanks-without-visit",
                    lambda v, _r: f"thank-you sent {day(v)} but no first visit is recorded; "
                                  "fill in first_visit", severity=Severity.WARNING)
    planned = df["per_week"] * df["weeks"]
    yield from emit(table, df["visits_authorized"] != planned, "visits_authorized",
                    "authorized-mismatch",
                    lambda v, r: f"visits_authorized is {v} but {r['per_week']} a week for "
                                 f"{r['weeks']} weeks makes {r['per_week'] * r['weeks']}; "
                                 "correct whichever is wrong", severity=Severity.WARNING)


def release_dates(table: Table) -> Iterator[Problem]:
    df = table.df
    # A release ending the day it is signed is no more plausible than one ending before.
    yield from emit(table, df["expires_on"] <= df["signed_on"], "expires_on",
                    "expires-before-signed",
                    lambda v, r: f"the release expires on {day(v)}, not after it was signed "
                                 f"({day(r['signed_on'])}); correct one of the two dates")
    yield from emit(table, df["revoked_on"] < df["signed_on"], "revoked_on",
                    "revoked-before-signed",
                    lambda v, r: f"the release is revoked on {day(v)}, before it was signed "
                                 f"({day(r['signed_on'])}); correct one of the two dates")


def visits(table: Table, referrals: Table) -> Iterator[Problem]:
    df = table.df
    if not len(df) or not len(referrals):
        return
    # A repeated referral_id is reported by the sheet rules; its first row stands here.
    at = positions(df["referral_id"], referrals.df["referral_id"])

    def of_referral(column: str) -> pd.Series:
        return pd.Series(referrals.df[column].array.take(at, allow_fill=True), index=df.index)

    authorized = of_referral("visits_authorized")
    received = of_referral("received_on")
    client = of_referral("client_id")
    # Visits past the limit are those latest in date; the row number breaks a tie.
    billed = (df.loc[at >= 0, ["referral_id", "date"]].reset_index()
              .sort_values(["date", "row"], kind="stable"))
    nth = billed.groupby("referral_id", sort=False).cumcount().add(1)
    nth = pd.Series(nth.to_numpy(), index=billed["row"].to_numpy()).reindex(df.index).astype(
        "Int64")
    yield from emit(table, nth > authorized, "referral_id", "over-authorized",
                    lambda v, r: f"visit {nth[r.name]} of referral {v}, which authorized "
                                 f"{authorized[r.name]}; ask the provider for a new referral "
                                 "or bill this visit without the referral")
    yield from emit(table, df["date"] < received, "date", "visit-before-referral",
                    lambda v, r: f"visit on {day(v)} is before referral {r['referral_id']} was "
                                 f"received ({day(received[r.name])}); correct the date or the "
                                 "referral_id")
    yield from emit(table, df["client_id"].notna() & (df["client_id"] != client), "referral_id",
                    "visit-wrong-client",
                    lambda v, r: f"visit for client {r['client_id']} is billed to referral {v}, "
                                 f"which is for client {client[r.name]}; correct the client_id "
                                 "or the referral_id")


SIGN = "have the client sign a release naming this provider before sending more"


def consent(letters: Table, releases: Table, today: dt.date) -> Iterator[Problem]:
    """A document about a client sent to a provider needs, on its date, a release signed by
    then, not expired, not revoked, naming both, with the scope of what was sent, and whose
    dates all read as dates (refdesk.consent: the rules merge applies too)."""
    df = letters.df
    about = df["client_id"].notna() & df["provider_id"].notna() & df["when"].notna()
    if not about.any():
        return
    sent = df.loc[about, ["client_id", "provider_id", "release_id", "job"]].copy()
    sent["on"] = df.loc[about, "when"].dt.normalize()
    needs = needed_scopes(sent["job"])
    rel = releases.df[releases.df["release_id"].notna()].drop_duplicates("release_id")
    rel = (rel[RELEASE_COLUMNS].join(granted_scopes(rel["scope"]).add_prefix("grants "))
           .join(date_faults(releases, today)))
    revoked = revocations(releases, today)
    suggestion = _suggestions(sent.join(needs), rel, revoked)

    def what(r: pd.Series) -> str:
        job = r["job"] if isinstance(r["job"], str) else "document"
        return (f"{job} to provider {r['provider_id']} about client {r['client_id']} on "
                f"{day(r['when'])}")

    def fix(r: pd.Series) -> str:
        valid = suggestion.get(r.name)
        return f"release {valid} covers it: put {valid} in release_id" if valid else SIGN

    yield from emit(letters, about & df["release_id"].isna(), "release_id", "no-release",
                    lambda _v, r: f"no release recorded for the {what(r)}; {fix(r)}")

    # The named release; an id not in Releases is the links rules' unknown reference.
    named = (sent[sent["release_id"].notna()].reset_index()
             .merge(rel, on="release_id", suffixes=("", " of release")).set_index("row"))
    wrong = pd.Series(False, index=named.index)
    for who in ("client", "provider"):
        column = f"{who}_id"
        # A release with this id left empty names nobody: it cannot cover the letter either.
        mask = (named[column] != named[f"{column} of release"]).fillna(True).astype(bool)
        wrong |= mask
        yield from emit(letters, _spread(df, mask), "release_id", f"release-wrong-{who}",
                        lambda v, r, who=who, column=column: f"release {v} "
                        f"{_names(who, named.at[r.name, f'{column} of release'], r[column])}, "
                        f"so it does not cover the {what(r)}; {fix(r)}")
    # Dates and scope matter only once the release names the right people.
    named = named[~wrong]
    named = named.assign(withdrawn=withdrawals(named, revoked))
    for rule, failed in fails(named["on"], named["signed_on"], named["expires_on"],
                              named["revoked_on"], named["rule"], named["withdrawn"]).items():
        yield from emit(letters, _spread(df, failed), "release_id", rule,
                        lambda v, r, rule=rule: f"release {v} {why(rule, named.loc[r.name])}, "
                        f"so it does not cover the {what(r)}; {fix(r)}")
    lacking = pd.DataFrame({scope: needs.loc[named.index, scope] & ~named[f"grants {scope}"]
                            for scope in RELEASE_SCOPE}, index=named.index)
    yield from emit(letters, _spread(df, lacking.any(axis=1)), "release_id", "release-scope",
                    lambda v, r: f"release {v} does not allow sharing "
                    f"{_listed(lacking.loc[r.name])} ({_scope(named.at[r.name, 'scope'])}), "
                    f"which the {what(r)} carries; {fix(r)}")


def _suggestions(sent: pd.DataFrame, rel: pd.DataFrame, revoked: pd.DataFrame) -> pd.Series:
    """By letter row, a release valid for it (same client and provider, valid on the day,
    scope enough), the latest signed: what to put in release_id."""
    pairs = sent.drop(columns="release_id").reset_index().merge(
        rel, on=["client_id", "provider_id"])
    ok = ~pd.concat(fails(pairs["on"], pairs["signed_on"], pairs["expires_on"],
                          pairs["revoked_on"], pairs["rule"], withdrawals(pairs, revoked)),
                    axis=1).any(axis=1)
    for scope in RELEASE_SCOPE:
        ok &= ~pairs[scope] | pairs[f"grants {scope}"]
    return (pairs[ok].sort_values(["signed_on", "release_id"])
            .drop_duplicates("row", keep="last").set_index("row")["release_id"])


def _spread(df: pd.DataFrame, mask: pd.Series) -> pd.Series:
    """A mask over some rows, spread to the whole table."""
    return mask.reindex(df.index, fill_value=False).astype(bool)


def _names(who: str, named: object, wanted: str) -> str:
    return f"names {who} {named}, not {wanted}" if isinstance(named, str) else f"names no {who}"


def _scope(scope: object) -> str:
    return f"its scope: {scope}" if isinstance(scope, str) else "its scope is empty"


def _listed(flags: pd.Series) -> str:
    return " and ".join(scope for scope, flagged in flags.items() if flagged)
