"""Measured outcomes: pain ratings and scores within their scales, each visit's score read
against the measure its referral names (schema.MEASURE_RANGES).

Pain ratings, scores and goals are health information: a message names the scale, the referral
and the cell holding the measure, never the value (the Problem hides the value as well)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from refdesk.book import Book, Table
from refdesk.check.links import positions
from refdesk.check.problem import Context, Problem, Severity, emit
from refdesk.schema import MEASURE_RANGES, PAIN_RANGE

#: Columns whose range these rules check; the cell rules' plain "negative" rule skips them
#: (its message would quote the value).
RANGED = {("Visits", "pain_before"), ("Visits", "pain_after"), ("Visits", "measure_score"),
          ("Referrals", "goal")}
PAIN_COLUMNS = ("pain_before", "pain_after")


def rules(book: Book, ctx: Context) -> Iterator[Problem]:
    visits, referrals = book["Visits"], book["Referrals"]
    if visits.present and len(visits):
        yield from pain(visits)
    if referrals.present and len(referrals) and "goal" not in referrals.missing_columns:
        yield from goals(referrals)
    if (visits.present and len(visits) and "measure_score" not in visits.missing_columns
            and visits.df["measure_score"].notna().any()):
        yield from scores(visits, referrals)


def _span(low: float, high: float) -> str:
    return f"{low:g}-{high:g}"


def scale(measure: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The lowest and highest score each measure allows, looked up lower-cased with spaces
    collapsed; a measure not in the table allows 0 and up, no measure gives NaN."""
    # Few distinct measures even in a million rows: each is looked up once (Arrow's dictionary).
    encoded = pc.dictionary_encode(pa.array(measure.array, type=pa.large_string(),
                                            from_pandas=True))
    lows, highs = [], []
    for text in encoded.dictionary.to_pylist():
        key = " ".join(text.lower().split())
        low, high = MEASURE_RANGES.get(key, (0.0, np.inf)) if key else (np.nan, np.nan)
        lows.append(low)
        highs.append(high)
    at = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)
    lows.append(np.nan)  # at -1: no measure
    highs.append(np.nan)
    return np.asarray(lows, dtype=float)[at], np.asarray(highs, dtype=float)[at]


def _outside(values: pd.Series, low: np.ndarray, high: np.ndarray) -> pd.Series:
    """Where a value lies outside its range; a missing value or range is never outside."""
    numbers = values.to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(invalid="ignore"):
        out = (numbers < low) | (numbers > high)
    return pd.Series(out, index=values.index)


def pain(visits: Table) -> Iterator[Problem]:
    low, high = PAIN_RANGE
    for column in PAIN_COLUMNS:
        if column in visits.missing_columns:
            continue
        values = visits.df[column]
        yield from emit(visits, (values < low) | (values > high), column, "pain-range",
                        lambda _v, _r, column=column:
                        f"{column} is outside {_span(low, high)}; rate pain from {low:g} (no "
                        f"pain) to {high:g} (the worst imaginable) and retype it")


def goals(referrals: Table) -> Iterator[Problem]:
    df = referrals.df
    goal = df["goal"]
    if "measure" in referrals.missing_columns:
        yield from emit(referrals, goal.notna(), "goal", "goal-without-measure",
                        lambda _v, _r: "goal has no measure to aim at; add a measure column "
                                       "to Referrals and name the measure there",
                        severity=Severity.WARNING)
        return
    low, high = scale(df["measure"])
    span = _ranges(df.index, low, high)
    yield from emit(referrals, _outside(goal, low, high), "goal", "goal-range",
                    lambda _v, r: f"goal is outside {span(r.name)}, "
                                  f"the range of the measure in "
                                  f"{referrals.cell(r.name, 'measure')}; type the score the "
                                  "plan aims for within it, or correct the measure")
    yield from emit(referrals, goal.notna() & df["measure"].isna(), "goal",
                    "goal-without-measure",
                    lambda _v, r: f"goal has no measure to aim at; name the measure in "
                                  f"{referrals.cell(r.name, 'measure')}",
                    severity=Severity.WARNING)


def scores(visits: Table, referrals: Table) -> Iterator[Problem]:
    df = visits.df
    score = df["measure_score"]
    at = positions(df["referral_id"], referrals.df["referral_id"])
    found = at >= 0
    has_measure = "measure" not in referrals.missing_columns
    # Each referral's range, then each visit's through its referral (NaN where none is found).
    low, high = scale(referrals.df["measure"])
    low = np.where(found, np.append(low, np.nan)[at], np.nan)
    high = np.where(found, np.append(high, np.nan)[at], np.nan)
    span = _ranges(df.index, low, high)
    ref_rows = referrals.df.index.to_numpy()

    def where(r: pd.Series) -> str:
        return referrals.cell(int(ref_rows[at[df.index.get_loc(r.name)]]), "measure")

    yield from emit(visits, _outside(score, low, high), "measure_score", "score-range",
                    lambda _v, r: f"measure_score is outside {span(r.name)}, the range of the "
                                  f"measure referral {r['referral_id']} names in {where(r)}; "
                                  "check the score, or the measure there")
    # A referral_id not in Referrals is the links rules' unknown reference: nothing more here.
    unmeasured = score.notna() & found & np.isnan(low)
    yield from emit(visits, unmeasured, "measure_score", "score-without-measure",
                    lambda _v, r: f"measure_score has no measure to be read against: referral "
                                  f"{r['referral_id']} names none; name the measure in "
                                  + (f"Referrals.measure ({where(r)})" if has_measure else
                                     "Referrals.measure (add a measure column to Referrals)"),
                    severity=Severity.WARNING)
    yield from emit(visits, score.notna() & df["referral_id"].isna(), "measure_score",
                    "score-without-measure",
                    lambda _v, _r: "measure_score has no measure to be read against: this visit "
                                   "has no referral_id; put its referral in referral_id and name "
                                   "the measure in Referrals.measure",
                    severity=Severity.WARNING)


def _ranges(index: pd.Index, low: np.ndarray, high: np.ndarray) -> Callable[[int], str]:
    """The range of the row numbered `row`, in words, for a message."""
    def words(row: int) -> str:
        i = index.get_loc(row)
        return "0 or more" if np.isinf(high[i]) else _span(low[i], high[i])
    return words
