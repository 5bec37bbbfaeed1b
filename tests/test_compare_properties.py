"""Property tests for the comparison arithmetic: pooling, ranks, quartiles, direction."""

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmark import compare

counts = st.floats(min_value=0, max_value=5000, allow_nan=False).map(lambda x: round(x, 1))
positive = st.floats(min_value=0.1, max_value=5000, allow_nan=False).map(lambda x: round(x, 1))

# No per-example deadline: the properties are about results, and a shared CI machine makes timings noisy.
settings.register_profile("no-deadline", deadline=None)
settings.load_profile("no-deadline")


@given(st.lists(st.tuples(counts, positive), min_size=1, max_size=30))
def test_pooled_rate_lies_between_members_min_and_max(members):
    num = pd.Series([n for n, _ in members], dtype=float)
    den = pd.Series([d for _, d in members], dtype=float)
    rates = num / den
    got = compare.pooled(num, den, np.zeros(len(members), dtype=int)).iloc[0]
    assert rates.min() - 1e-9 <= got <= rates.max() + 1e-9


@given(st.lists(st.tuples(counts, positive | st.none()), min_size=1, max_size=20))
def test_pooled_ignores_members_without_a_denominator(members):
    num = pd.Series([n for n, _ in members], dtype=float)
    den = pd.Series([np.nan if d is None else d for _, d in members], dtype=float)
    got = compare.pooled(num, den, np.zeros(len(members), dtype=int)).iloc[0]
    ok = den.notna()
    if ok.any():
        assert np.isclose(got, num[ok].sum() / den[ok].sum())
    else:
        assert np.isnan(got)


def ranked(values, polarity="lower"):
    df = pd.DataFrame({"value": values, "polarity": polarity, "g": 0})
    return compare.rank_frame(df, ["g"])


# few distinct values so ties are common
tied_values = st.lists(st.sampled_from([1.0, 2.5, 2.5, 3.0, 7.1, 9.9]) | st.none(), min_size=1, max_size=40)


@given(tied_values)
def test_ranks_are_competition_ranks(values):
    df = ranked(values)
    have = df["value"].notna()
    vals = df.loc[have, "value"].tolist()
    assert df.loc[have, "rank"].tolist() == [1 + sum(v < x for v in vals) for x in vals]
    assert df.loc[~have, "rank"].isna().all()
    assert (df["rank_of"] == len(vals)).all()


@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=60, unique=True))
def test_ranks_of_distinct_values_are_a_permutation(values):
    assert sorted(ranked(values)["rank"].tolist()) == list(range(1, len(values) + 1))


@settings(max_examples=200)
@given(st.lists(st.floats(0, 100, allow_nan=False), min_size=4, max_size=160, unique=True),
       st.sampled_from(["lower", "higher"]))
def test_quartiles_split_evenly_and_best_first(values, polarity):
    df = ranked(values, polarity)
    sizes = df["quartile"].value_counts().reindex(list("ABCD"), fill_value=0)
    assert sizes.max() - sizes.min() <= 1
    best_to_worst = df.sort_values("value", ascending=polarity == "lower")["quartile"].tolist()
    assert best_to_worst == sorted(best_to_worst)


@given(tied_values)
def test_tied_values_share_a_quartile(values):
    df = ranked(values).dropna(subset=["value"])
    assert (df.groupby("value")["quartile"].nunique() <= 1).all()


def test_neutral_measures_have_no_quartile():
    assert ranked([1.0, 2.0, 3.0, 4.0], "neutral")["quartile"].isna().all()


@given(st.floats(0.1, 100), st.floats(0.1, 100))
def test_direction_flips_with_polarity(now, before):
    args = (pd.Series([now]), pd.Series([before]))
    low = compare.direction(*args, pd.Series(["lower"])).iloc[0]
    high = compare.direction(*args, pd.Series(["higher"])).iloc[0]
    swap = {"improving": "worsening", "worsening": "improving", "little change": "little change"}
    assert swap[low] == high
    if abs(now - before) <= 0.05 * before:
        assert low == "little change"
