"""The numpy shortcuts of ``local.workers.count`` give what the pandas formulations they replace give.

Each shortcut relies on records ordered by person then start date (``_by_person``), where a person's records and
a spell's records are adjacent; these tests build such orderings from random people and dates (fixed seeds) and
compare every value, including missing dates, the fallbacks, and empty inputs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmark.local.workers import DAY, FAR, _bands, _distinct, _earliest_per_run, _first_is, _spells

REF = pd.Timestamp("2024-09-30")


def ordered_records(seed: int, n: int = 3000, people: int = 900) -> pd.DataFrame:
    """Records of ``people`` people ordered by person, then start date (as ``count`` orders them)."""
    rng = np.random.default_rng(seed)
    start = REF - pd.to_timedelta(rng.integers(0, 3000, n), unit="D")
    end = pd.Series(start + pd.to_timedelta(rng.integers(0, 900, n), unit="D"))
    end[rng.random(n) < 0.4] = pd.NaT
    frame = pd.DataFrame({"pid": rng.integers(0, people, n), "start": start.astype("datetime64[us]"),
                          "end": end.astype("datetime64[us]")})
    return frame.sort_values(["pid", "start"], kind="stable").reset_index(drop=True)


def reference_spells(la: pd.DataFrame) -> pd.Series:
    end = la.end.fillna(FAR)
    same = la.pid.eq(la.pid.shift())
    prev_end = end.groupby(la.pid.to_numpy()).cummax().shift()
    return (~same | (la.start > prev_end + DAY)).cumsum()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_spells_are_those_of_the_groupby(seed):
    la = ordered_records(seed)
    expected = reference_spells(la)
    got = _spells(la.pid, la.start, la.end.fillna(FAR))
    assert got.tolist() == expected.tolist()
    assert 1 < got.iloc[-1] < len(la)  # some records join a spell, some start one


def test_spells_fall_back_to_the_groupby_for_a_time_of_day():
    la = ordered_records(4)
    la.loc[5, "start"] += pd.Timedelta(hours=9)  # not a whole day: the running maximum over days would not do
    assert _spells(la.pid, la.start, la.end.fillna(FAR)).tolist() == reference_spells(la).tolist()


def test_spells_of_no_records():
    la = ordered_records(5).iloc[:0]
    assert _spells(la.pid, la.start, la.end.fillna(FAR)).tolist() == []


@pytest.mark.parametrize("dropna", [True, False])
def test_earliest_date_per_person_is_the_groupby_min(dropna):
    la = ordered_records(6)
    dates = la.end  # 40 % missing: some people have none
    expected = dates.groupby(la.pid).min()
    expected = expected.dropna() if dropna else expected
    got = _earliest_per_run(dates.to_numpy(), la.pid.to_numpy(), dropna=dropna)
    assert pd.Series(got).tolist() == expected.tolist()
    assert expected.isna().any() != dropna
    assert len(_earliest_per_run(dates.to_numpy()[:0], la.pid.to_numpy()[:0])) == 0


def test_bands_count_as_the_comparisons_did():
    la = ordered_records(7)
    since = la.end  # NaT: band 0, as NaT <= edge is False
    edges = [REF - pd.DateOffset(years=k) + DAY for k in (2, 5, 10)]
    got: dict = {}
    _bands(got, "pqe", "headcount", ["a", "b", "c", "d"], since.to_numpy(), edges)
    band = sum((since <= e).astype(int) for e in edges)
    assert got == {f"pqe_{name}_headcount": int((band == i).sum()) for i, name in enumerate("abcd")}
    assert sum(got.values()) == len(la) and got["pqe_a_headcount"] >= since.isna().sum()


def test_distinct_people_is_nunique():
    la = ordered_records(8)
    assert _distinct(la.pid.to_numpy()) == la.pid.nunique()
    assert _distinct(la.pid.to_numpy()[:0]) == 0


@pytest.mark.parametrize("codes", [["1", "2", "", "1"], ["2", "3", ""]])
def test_first_code_of_each_spell_is_the_groupby_transform(codes):
    la = ordered_records(9)
    spells = reference_spells(la).to_numpy()
    origin = pd.Series(np.random.default_rng(9).choice(codes, len(la)), dtype="category")
    expected = origin.groupby(spells).transform("first") == "1"
    assert _first_is(origin, spells, "1").tolist() == expected.tolist()
    with_missing = origin.cat.add_categories(["9"]).where(origin != "", None)  # NaN: first() skips it
    assert _first_is(with_missing, spells, "1").tolist() == \
        (with_missing.groupby(spells).transform("first") == "1").tolist()
