"""The merge's rows: a sheet's cells read when asked, a block at a time, and grouped or keyed
without a row object for every row. Each must give what a dictionary per row would."""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pandas as pd
import pytest

from refdesk.book import TEXT_DTYPE
from refdesk.merge import rows as rows_module
from refdesk.merge.data import _column, clean
from refdesk.merge.rows import Groups, Keyed, Rows


def _frame(n: int, seed: int = 1) -> pd.DataFrame:
    rng = random.Random(seed)
    names = [rng.choice(["Ann", " Bo ", "Cy\r\nDee", "", None, "Eve", "Ann"]) for _ in range(n)]
    days = [rng.choice([None, dt.datetime(2026, 1, 1) + dt.timedelta(days=rng.randrange(60)),
                        dt.datetime(2026, 2, 1, 9, 30)]) for _ in range(n)]
    keys = [rng.choice([None, "", "R1", "R2", "R3", "R10"]) for _ in range(n)]
    df = pd.DataFrame({"name": pd.Series(names, dtype=TEXT_DTYPE),
                       "day": pd.Series(pd.to_datetime(days)),
                       "key": pd.Series(keys, dtype=TEXT_DTYPE),
                       "count": pd.Series([rng.choice([None, 1, 2]) for _ in range(n)],
                                          dtype="Int64")})
    df.index = pd.RangeIndex(2, n + 2, name="row")  # sheet rows: the header is row 1
    return df


def _by_hand(df: pd.DataFrame) -> list[dict]:
    """A dictionary per row, every cell cleaned one at a time."""
    return [{**{c: clean(v) for c, v in zip(df.columns, values, strict=True)}, "_row": row}
            for row, values in zip(df.index, df.itertuples(index=False), strict=True)]


@pytest.mark.parametrize("block", [3, 7, 8192])
def test_rows_read_in_blocks_give_every_cell_as_cleaned(monkeypatch, block):
    monkeypatch.setattr(rows_module, "BLOCK", block)
    df = _frame(50)
    expected = _by_hand(df)
    rows = Rows(df, _column)
    order = list(range(len(df)))
    random.Random(block).shuffle(order)  # blocks converted in any order
    for i in order:
        assert dict(rows.row(i)) == expected[i]
    assert rows.columns.full("name") == [e["name"] for e in expected]
    assert rows.row(5) is rows.row(5)  # one object per row
    assert rows.position(df.index[5]) == 5 and rows.position(999) is None


def test_a_value_set_on_a_row_is_its_own_and_a_copy_does_not_share_it():
    rows = Rows(_frame(10), _column)
    row = rows.row(3)
    copy = row.with_values(extra=1)
    row["name"] = "changed"
    assert rows.row(3)["name"] == "changed" and copy["name"] != "changed"
    assert copy["extra"] == 1 and "extra" not in row
    del row["count"]
    assert "count" not in row and "count" in copy


def test_groups_keep_the_given_order_and_leave_out_empty_values():
    df = _frame(200, seed=2)
    rows = Rows(df, _column)
    positions = np.array(sorted(range(len(df)), key=lambda i: (str(df["day"].iloc[i]), i)))
    groups = Groups(rows, "key", positions)
    expected: dict[str, list[int]] = {}
    for i in positions.tolist():
        key = clean(df["key"].iloc[i])
        if key:
            expected.setdefault(key, []).append(i)
    assert list(groups) == list(expected)  # each value where it first appears
    for key, found in expected.items():
        assert [r["_row"] for r in groups[key]] == [int(df.index[i]) for i in found]
        assert groups.size(key) == len(found)
        assert groups.positions(key).tolist() == found
    assert "" not in groups and groups.get("") is None and groups.size("none") == 0
    months = df["day"].to_numpy().astype("datetime64[M]").astype(np.int64)
    for key, distinct in groups.distinct(months):
        assert distinct == sorted({int(months[i]) for i in expected[key]})


def test_keyed_keeps_the_first_place_and_the_last_row_of_a_repeated_value():
    df = _frame(60, seed=3)
    rows = Rows(df, _column)
    keyed = Keyed(rows, "key")
    by_hand: dict[str, int] = {}
    for i, value in enumerate(df["key"].tolist()):
        if isinstance(value, str) and value:
            by_hand[value] = i
    assert list(keyed) == list(by_hand)
    assert all(keyed[k] is rows.row(i) for k, i in by_hand.items())
    assert keyed.get("missing") is None and len(keyed) == len(by_hand)
    assert len(Keyed(rows, "no such column")) == 0


def test_a_column_of_repeated_values_holds_one_object_per_value():
    values = pd.Series(["Portland", "Salem", None, "Portland"] * 1000, dtype=TEXT_DTYPE)
    converted = _column(values)
    assert converted[:4] == ["Portland", "Salem", None, "Portland"]
    assert len({id(v) for v in converted if v is not None}) == 2
