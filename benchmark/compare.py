"""Comparators for every council, year and measure: England, region, statistical neighbours, ranks,
quartiles, change, direction of travel and gaps in workforce terms.

Conventions (all stated once, here):

- **England and region** are DfE's published figures, never recomputed. A London borough's region is Inner or
  Outer London as DfE publishes it; ``london`` is London as a whole (E12000007).
- **Statistical neighbours**: median and mean of the neighbours' published values, ignoring symbols;
  ``sn_count`` says how many had a value and ``sn_codes`` which. Two methods (``neighbours.METHODS``):
  ``toolkit`` (default) takes the model current for the year, maps a joint-return neighbour to the joint row
  and keeps the median to one more decimal than the measure; ``dashboard`` reproduces the median DfE's CSC
  outcomes and enablers dashboard shows (2025 model every year, joint returns dropped, 940/941 before 2022 and
  942/943 up to 2023 trimmed, rounded half-up to 1 dp). See ``neighbours.py``.
- **Rank**: 1 = lowest value among councils with a value that year; ties share the lowest rank (1, 2, 2, 4).
  DfE's ``low`` (a rate that rounds to zero, published without a number) counts as the lowest value: every
  ``low`` council shares rank 1 and the best band for a lower-is-better measure. ``region_rank`` is within
  the English region (London as a whole for boroughs).
- **Quartile**: A best ... D worst by polarity (lower-is-better: lowest values in A). A council's band is
  ``floor(4 * (position - 1) / n)`` where position is its rank counted from the best end, so bands hold
  n/4 councils each and tied councils share a band. Neutral measures and counts (``Measure.is_count``, e.g.
  vacancy_fte, working_days_lost_fte: a small council would look best) have no band.
- **Change and direction** (one rule, used by the CLI, the site and the packs): both compare the value with the
  previous year for the same council code. ``change`` is the difference; ``direction`` is "little change" when
  the change is within 5 % of last year's value, otherwise improving or worsening by polarity
  ("increasing"/"decreasing" for neutral measures), so a direction word never disagrees with the change
  beside it. A reorganised council
  has a new code, so its series starts afresh; ``series_note`` says so.
- **Gaps in FTE** (FTE rates and caseload): ``numerator - comparator% x denominator`` on the council's own
  published components, e.g. agency FTE above what the comparator agency rate would give with the same
  workforce, or vacancies to fill to reach the comparator vacancy rate. For caseload:
  ``cases / comparator - case_holders_fte``, the case-holding FTE short of the comparator caseload.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from . import compare_one, councils, geography, measures, neighbours, store, tables
from .problems import InputError, NotFoundError, Problem, UsageError

LA = "Local authority"
KEY = tables.OBSERVATION_KEY
RKEY = KEY + ["return_id"]  # a provisional row's key: its local return too
BANDS = np.array(["A", "B", "C", "D"])
LITTLE_CHANGE = 0.05
LOW = "low"  # DfE's symbol for a rate that rounds to zero: ranked as the lowest value
DIRECTION_RULE = ("Change and direction of travel both compare with the previous year: within 5% of last year's "
                  "value is 'little change'; otherwise improving or worsening by whether lower or higher is better.")
GAP_MEASURES = ("turnover_rate_fte", "agency_rate_fte", "vacancy_rate_fte", "agency_cover_rate_fte",
                "vacancy_agency_cover_rate_fte", "caseload_fte")


# ---------------------------------------------------------------------------------------------------------------
# Loading


def load(conn: sqlite3.Connection) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Published observations (with each area's level) and the areas table."""
    obs = store.query(conn, "SELECT o.time_period, o.area_code, o.measure_id, o.value, o.symbol, a.level "
                            "FROM observations o JOIN areas a USING (area_code)")
    areas = store.query(conn, "SELECT * FROM areas")
    return obs, areas


def _polarity(measure_ids: pd.Series) -> pd.Series:
    return measure_ids.map({m.id: m.polarity for m in measures.catalogue().values()})


def _banded(df: pd.DataFrame) -> pd.Series:
    """Rows that get a quartile band: a polarity and not a count (``measures.Measure.banded``)."""
    counts = {m.id for m in measures.catalogue().values() if m.is_count}
    ok = df["polarity"] != "neutral"
    return ok & ~df["measure_id"].isin(counts) if "measure_id" in df else ok


def _decimals(measure_ids: pd.Series) -> pd.Series:
    """Each row's measure's decimals (1 for a measure the catalogue lacks), looked up once per measure."""
    codes, ids = pd.factorize(measure_ids)
    cat = measures.catalogue()
    per_measure = np.array([cat[m].decimals if m in cat else 1 for m in ids] + [1], dtype=int)
    return pd.Series(per_measure[codes], index=measure_ids.index, name=measure_ids.name)


def _unique(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.unique(keys, return_index=True, return_inverse=True)`` by one stable sort: the sorted distinct
    keys, each one's first position and each key's place among them."""
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    first = np.r_[True, ordered[1:] != ordered[:-1]] if len(keys) else np.zeros(0, dtype=bool)
    inverse = np.empty(len(keys), dtype=np.int64)
    inverse[order] = np.cumsum(first) - 1
    return ordered[first], order[first], inverse


def _round(values: pd.Series, decimals: pd.Series) -> pd.Series:
    """Round each value to its measure's decimals (removes float noise from differences)."""
    out = np.array(values, dtype=float)  # a copy
    dec = np.asarray(decimals)
    for d in np.unique(dec):
        m = dec == d
        out[m] = np.round(out[m], int(d))
    return pd.Series(out, index=values.index, name=getattr(values, "name", None))


def joined(df: pd.DataFrame, by: list[str], text: pd.Series) -> pd.Series:
    """``text`` joined with ', ' per ``by`` key, keeping row order within a key (no Python call per group)."""
    if df.empty:
        return pd.Series([], index=pd.MultiIndex.from_frame(df[by]), dtype=object)
    g = df.groupby(by, sort=False).ngroup().to_numpy()
    order = np.argsort(g, kind="stable")
    g, t = g[order], text.to_numpy(dtype=object)[order]
    starts = np.r_[0, np.flatnonzero(np.diff(g)) + 1]
    ends = np.r_[starts[1:], len(g)]
    return pd.Series([", ".join(t[i:j]) for i, j in zip(starts, ends)],
                     index=pd.MultiIndex.from_frame(df[by].iloc[order[starts]]), dtype=object)


# ---------------------------------------------------------------------------------------------------------------
# Ranks and quartiles


def rank_frame(df: pd.DataFrame, by: list[str], prefix: str = "") -> pd.DataFrame:
    """Add ``{prefix}rank`` and ``{prefix}rank_of`` (and ``quartile`` when prefix is empty) within ``by``.

    ``df`` needs ``value`` and ``polarity``. Rank 1 = lowest value, ties share the lowest rank; rows without a
    value get no rank, except DfE's ``low`` (when ``df`` has ``symbol``), ranked as the lowest value (tied).
    The quartile counts position from the best end for the measure's polarity.
    """
    key = df["value"].astype(float).to_numpy(copy=True)
    if "symbol" in df:
        key[df["symbol"].eq(LOW).to_numpy(dtype=bool) & np.isnan(key)] = -np.inf
    group = np.zeros(len(df), dtype=np.int64)
    for c in by:  # one integer per group; -1: a key is missing, so no group (as groupby's dropna)
        codes, uniques = pd.factorize(df[c])
        group = np.where((group < 0) | (codes < 0), -1, group * (len(uniques) + 1) + codes)
    # ranks by one sort of (group, value): ties share the lowest rank from either end (rank(method="min"))
    n = len(df)
    best_low, best_high, size = np.full(n, np.nan), np.full(n, np.nan), np.zeros(n, dtype=np.int64)
    rows = np.flatnonzero((group >= 0) & ~np.isnan(key))
    if len(rows):
        rows = rows[np.lexsort((key[rows], group[rows]))]
        g, k = group[rows], key[rows]
        at = np.arange(len(rows))
        new_group = np.r_[True, g[1:] != g[:-1]]
        new_value = new_group | np.r_[True, k[1:] != k[:-1]]
        group_start = np.maximum.accumulate(np.where(new_group, at, 0))
        tie_start = np.maximum.accumulate(np.where(new_value, at, 0))
        tie_end = np.minimum.accumulate(np.where(np.r_[new_value[1:], True], at, len(rows))[::-1])[::-1]
        group_id = np.cumsum(new_group) - 1
        group_size = np.bincount(group_id)
        best_low[rows] = tie_start - group_start + 1                         # 1 + values below
        best_high[rows] = group_size[group_id] - (tie_end - group_start)     # 1 + values above
        ranked_groups = g[new_group]  # ascending: every row of a ranked group gets its count
        i = np.minimum(np.searchsorted(ranked_groups, group), len(ranked_groups) - 1)
        size = np.where((group >= 0) & (ranked_groups[i] == group), group_size[i], 0)
    df[prefix + "rank"] = pd.arrays.IntegerArray(np.nan_to_num(best_low).astype(np.int64), np.isnan(best_low))
    df[prefix + "rank_of"] = pd.arrays.IntegerArray(size, size == 0)  # nobody ranked: no "of 0"
    if not prefix:
        pos = np.where(df["polarity"] == "higher", best_high, best_low)
        band = np.floor((pos - 1) * 4 / df["rank_of"].astype(float).to_numpy())
        ok = _banded(df).to_numpy() & ~np.isnan(band)
        df["quartile"] = np.where(ok, BANDS[np.nan_to_num(band, nan=0).clip(0, 3).astype(int)], None)
    return df


def direction(value: pd.Series, earlier: pd.Series, polarity: pd.Series) -> pd.Series:
    """Direction of travel from ``earlier`` (last year's value) by polarity (module note, ``DIRECTION_RULE``);
    None when either year is missing."""
    delta = (value - earlier).round(9)  # 15.2 - 16.0 is -0.8, exactly 5% of 16.0: little change
    small = delta.abs() <= (LITTLE_CHANGE * earlier.abs()).round(9)
    up = delta > 0
    word = np.select([small, polarity == "neutral", (polarity == "lower") ^ up], [
        "little change", np.where(up, "increasing", "decreasing"), "improving"], "worsening")
    return pd.Series(np.where(delta.isna(), None, word), index=value.index, dtype=object)


# ---------------------------------------------------------------------------------------------------------------
# Components, pooling and gaps


def wide(obs: pd.DataFrame) -> pd.DataFrame:
    """Values by (time_period, area_code), one column per measure."""
    return obs.pivot_table(index=["time_period", "area_code"], columns="measure_id", values="value", aggfunc="first")


def components(w: pd.DataFrame, measure_id: str) -> tuple[pd.Series, pd.Series]:
    """Numerator (scaled: x100 for a percentage) and denominator of a rate on DfE's formula
    (``measures.rate_parts``), from a wide frame; NaN where a component is missing."""
    m = measures.get(measure_id)
    nan = pd.Series(np.nan, index=w.index)
    values = {c: (w[c] if c in w else nan) for c in (m.numerator, *m.denominator_ids)}
    num, den, scale = measures.rate_parts(measure_id, values, w.index.get_level_values("time_period"))
    return num * scale, den


def pooled(num: pd.Series, den: pd.Series, by) -> pd.Series:
    """Sum of numerators over sum of denominators within ``by``, over rows where both are present."""
    ok = num.notna() & den.notna()
    n = num.where(ok).groupby(by).sum(min_count=1)
    d = den.where(ok).groupby(by).sum(min_count=1)
    return n / d.where(d != 0)


def low_wide(frame: pd.DataFrame) -> pd.DataFrame:
    """True where DfE published ``low`` for the measure (shaped like :func:`wide`; the frame needs ``symbol``)."""
    lows = frame[frame["symbol"].eq(LOW)]
    if lows.empty:
        return pd.DataFrame()
    return lows.assign(flag=True).pivot_table(index=["time_period", "area_code"], columns="measure_id",
                                              values="flag", aggfunc="first")


def zero_low_counts(w: pd.DataFrame, lows: pd.DataFrame) -> pd.DataFrame:
    """``w`` with counts DfE published as ``low`` (agency FTE that rounds to zero) set to 0, so the council's
    published counts still enter a pooled rate or a sum, as in DfE's own regional and England figures."""
    if lows.empty:
        return w
    w = w.copy()
    cat = measures.catalogue()
    for m in lows.columns:
        if m in w and m in cat and not cat[m].is_rate:
            w[m] = w[m].mask(lows[m].reindex(w.index).eq(True).to_numpy() & w[m].isna(), 0.0)
    return w


def rate_published(w: pd.DataFrame, lows: pd.DataFrame, measure_id: str) -> pd.Series:
    """Rows of ``w`` whose rate DfE published: a number, or ``low`` (its counts still count in a pooled rate)."""
    has = w[measure_id].notna()
    if measure_id in lows:
        has |= lows[measure_id].reindex(w.index).eq(True).to_numpy()
    return has


def fte_gap(w: pd.DataFrame, measure_id: str, comparator: pd.Series) -> pd.Series:
    """FTE separating a council from a comparator rate on its own components (module note)."""
    num, den = components(w, measure_id)
    if measure_id == "caseload_fte":
        return w["cases"] / comparator.where(comparator != 0) - den
    return (num - comparator * den) / 100


# ---------------------------------------------------------------------------------------------------------------
# The comparison records


def _attributes(areas: pd.DataFrame) -> pd.DataFrame:
    a = areas[["area_code", "area_name", "region_code", "london_region_code"]].copy()
    a["region_name"] = a["region_code"].map(geography.regions())
    a["english_region"] = a["london_region_code"].fillna(a["region_code"])
    return a


def _published(obs: pd.DataFrame, col: str, on: str) -> pd.DataFrame:
    return obs[KEY + ["value"]].rename(columns={"area_code": on, "value": col})


def series_notes(areas: pd.DataFrame, changes: pd.DataFrame) -> pd.DataFrame:
    """(time_period, area_code, series_note) for years next to a reorganisation or a code change."""
    names = areas.set_index("area_code")["area_name"].to_dict()
    rows = []
    for s, grp in changes.groupby("successor_code"):
        if (grp["kind"] != "joint return").any():  # 928 -> 940 / 941 is the reorganisation; 940 -> joint is naming
            grp = grp[grp["kind"] != "joint return"]
        first = int(grp["first_year"].iloc[0])
        preds = ", ".join(f"{p} {names.get(p, '')}".strip() for p in grp["predecessor_code"])
        kind = grp["kind"].iloc[0]
        text = (f"Joint return from {first} of {preds}" if kind == "joint return" else f"New from {first}, replacing {preds}")
        for y in (first, first + 1, first + 2):
            rows.append((y, s, f"{text}: the series starts in {first} and is not joined to the earlier "
                                "councils' figures, so change and direction need years from then on."))
    for p, grp in changes[changes["kind"] != "joint return"].groupby("predecessor_code"):
        first = int(grp["first_year"].iloc[0])
        succ = ", ".join(f"{s} {names.get(s, '')}".strip() for s in grp["successor_code"])
        rows.append((first - 1, p, f"Last year before reorganisation: replaced from {first} by {succ}."))
    for c in geography.config()["code_changes"]:
        d = pd.Timestamp(c["from"])
        year = d.year + (d.month >= 10)
        rows.append((year, str(c["code"]), f"ONS code changed from {c['old']} to {c['new']} ({c['note']}); same "
                                           "council and DfE number, so the series continues."))
    notes = pd.DataFrame(rows, columns=["time_period", "area_code", "series_note"])
    return notes.groupby(["time_period", "area_code"], as_index=False)["series_note"].agg(" ".join)


class _Keys:
    """Rows of a frame found by (time_period, area, measure) integer codes: one sorted int64 key instead of a
    merge. ``rows`` are the frame positions the keys belong to; :meth:`find` gives the position of each asked
    key or -1. Codes below 0 (an unknown area or measure) never match."""

    def __init__(self, years, areas, measures_, rows, n_areas: int, n_measures: int):
        self.n_areas, self.n_measures = n_areas, n_measures
        key = self.key(years, areas, measures_)
        order = np.argsort(key, kind="stable")
        self.sorted, self.rows = key[order], np.asarray(rows)[order]

    def key(self, years, areas, measures_=0):
        areas, measures_ = np.asarray(areas), np.asarray(measures_)
        key = (np.asarray(years, dtype=np.int64) * (self.n_areas + 1) + areas) * (self.n_measures + 1) + measures_
        return np.where((areas < 0) | (measures_ < 0), -1, key)

    def find(self, years, areas, measures_=0) -> np.ndarray:
        key = self.key(years, areas, measures_)
        if not len(self.sorted):
            return np.full(key.shape, -1)
        i = np.minimum(np.searchsorted(self.sorted, key), len(self.sorted) - 1)
        return np.where((self.sorted[i] == key) & (key >= 0), self.rows[i], -1)


def _take(values: np.ndarray, pos: np.ndarray, fill=np.nan) -> np.ndarray:
    """``values[pos]``, ``fill`` where ``pos`` is -1."""
    if not len(values):
        return np.full(pos.shape, fill, dtype=values.dtype if fill is None else float)
    return np.where(pos >= 0, values[np.maximum(pos, 0)], fill)


def _per_year(lists: pd.DataFrame, model: str | None, method: str) -> pd.DataFrame:
    """Per (time_period, area_code) with a list: sn_model, sn_dropped, sn_dropped_codes and sn_note."""
    per_year = lists.groupby(["time_period", "area_code"]).agg(sn_model=("sn_model", "first"))
    absent = lists[lists["status"] == "absent"]
    trimmed = set(lists.loc[lists["status"] == "trimmed", ["time_period", "area_code"]].itertuples(index=False, name=None))
    per_year["sn_dropped"] = absent.groupby(["time_period", "area_code"]).size()
    per_year["sn_dropped_codes"] = joined(absent, ["time_period", "area_code"], absent["neighbour_code"])
    per_year["sn_dropped"] = per_year["sn_dropped"].fillna(0).astype(int)
    first_choice = [neighbours.model_for_year(tp, model) for tp in per_year.index.get_level_values(0)]
    notes = []
    for key, m, f, codes in zip(per_year.index, per_year["sn_model"], first_choice, per_year["sn_dropped_codes"]):
        parts = ["DfE dashboard method." if method == "dashboard" else "",
                 "No median: the dashboard leaves this council out this year." if key in trimmed else "",
                 f"{neighbours.model_words(m)} used, as {neighbours.model_words(f)} do not list this "
                 "council." if m != f else "",
                 f"Dropped, no row that year: {codes}." if isinstance(codes, str) else ""]
        notes.append(" ".join(p for p in parts if p) or None)
    per_year["sn_note"] = notes
    return per_year.reset_index()


def _lists(la_years: pd.DataFrame, model: str | None, table: pd.DataFrame | None, method: str):
    """The year's neighbour lists for each council-year (``neighbours.year_lists`` or ``dashboard_lists``) and
    the model actually used (the dashboard method's own)."""
    if method == "dashboard":
        if model and model != neighbours.DASHBOARD_MODEL:
            raise UsageError(f"the dashboard method uses {neighbours.DASHBOARD_MODEL} for every year; "
                             f"drop --sn-model {model}")
        return neighbours.dashboard_lists(la_years, table), neighbours.DASHBOARD_MODEL
    return neighbours.year_lists(la_years, table, model), model


def _kahan_mean(values: np.ndarray) -> np.ndarray:
    """Row means of ``values`` (rows x neighbours, NaN = no value) summed left to right with Kahan's compensation,
    as pandas' group mean does, so each mean is the same float as ``groupby(...).mean()`` gives."""
    total = np.zeros(len(values))
    comp = np.zeros(len(values))
    count = np.zeros(len(values))
    for k in range(values.shape[1]):
        v = values[:, k]
        ok = ~np.isnan(v)
        y = v - comp
        t = total + y
        c = t - total - y
        comp = np.where(ok, np.where(np.isnan(c), 0.0, c), comp)
        total = np.where(ok, t, total)
        count += ok
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


def _sorted_median(values: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Row medians over the non-NaN values: the middle one, or the two middle ones' sum halved (as pandas)."""
    if not values.shape[1]:
        return np.full(len(values), np.nan)
    s = np.sort(values, axis=1)  # NaN last
    n = count.astype(np.int64)
    rows = np.arange(len(values))
    lo = s[rows, np.maximum((n - 1) // 2, 0)]
    hi = s[rows, np.maximum(n // 2, 0) - (n == 0)]
    return np.where(n > 0, (lo + hi) / 2, np.nan)


def _joined_rows(names: np.ndarray, codes: np.ndarray, take: np.ndarray, group: np.ndarray,
                 suffix: np.ndarray | None = None) -> np.ndarray:
    """Per row, ``names[codes[row, k]]`` (+ ``suffix[row, k]``) for the ``k`` where ``take`` holds, joined with
    ', ' in ``k`` order; NaN for a row with none. Without suffixes, rows of one ``group`` with the same pattern
    share one joined text (built once)."""
    out = np.full(len(codes), np.nan, dtype=object)
    any_ = take.any(axis=1)
    if not any_.any():
        return out
    rows = np.flatnonzero(any_)
    if suffix is None and take.shape[1] <= 40:  # a pattern of up to 40 neighbours fits beside the group in 64 bits
        bits = (take[rows].astype(np.int64) << np.arange(take.shape[1], dtype=np.int64)).sum(axis=1)
        _, first, inverse = _unique(group[rows] * (1 << take.shape[1]) + bits)
        texts = np.array([", ".join(names[codes[r][take[r]]]) for r in rows[first]] + [""], dtype=object)[:-1]
        out[rows] = texts[inverse.ravel()]
        return out
    if suffix is None:
        out[rows] = [", ".join(names[codes[r][take[r]]]) for r in rows]
        return out
    # every taken cell's text at once, row by row and in k order within a row (a boolean mask's order), then
    # each row's run of them joined
    cells = (names[codes[take]] + suffix[take]).tolist()
    ends = np.cumsum(take.sum(axis=1)[rows]).tolist()
    out[rows] = [", ".join(cells[i:j]) for i, j in zip([0] + ends[:-1], ends)]
    return out


def compute(obs: pd.DataFrame, areas: pd.DataFrame, changes: pd.DataFrame | None = None,
            model: str | None = None, table: pd.DataFrame | None = None, method: str | None = None) -> pd.DataFrame:
    """One comparison record per published council row (time_period, area_code, measure_id), ordered by that
    key, columns as the ``comparisons`` schema names them; ``method`` is the neighbour method (``toolkit`` by
    default, or ``dashboard``: see the module notes).

    Every comparator is found by integer codes for areas and measures (:class:`_Keys`) and every column is
    made once, in record order, as an array: no merge of the records with the comparators.
    """
    method = neighbours.check_method(method)
    obs = obs.reset_index(drop=True)
    a_code, area_index = pd.factorize(obs["area_code"], sort=True)
    m_code, measure_index = pd.factorize(obs["measure_id"], sort=True)
    years = obs["time_period"].to_numpy(np.int64)
    values = obs["value"].to_numpy(float)
    level = obs["level"].to_numpy(dtype=object)
    n_a, n_m = len(area_index), len(measure_index)

    def keys(rows):
        return _Keys(years[rows], a_code[rows], m_code[rows], rows, n_a, n_m)

    la_rows = np.flatnonzero(level == LA)
    la_keys = keys(la_rows)
    rec = la_rows[np.lexsort((m_code[la_rows], a_code[la_rows], years[la_rows]))]  # KEY order (sorted codes)
    n = len(rec)
    t, a, m = years[rec], a_code[rec], m_code[rec]
    value = values[rec]
    out: dict[str, object] = {"time_period": t, "area_code": obs["area_code"].array.take(rec),
                              "measure_id": obs["measure_id"].array.take(rec), "value": value,
                              "symbol": obs["symbol"].array.take(rec), "provisional": np.zeros(n, dtype=np.int64),
                              "return_id": np.full(n, None, dtype=object), "comparator_year": t}

    attrs = _attributes(areas).drop_duplicates("area_code").set_index("area_code").reindex(area_index)
    for col in ("area_name", "region_code", "region_name"):
        out[col] = attrs[col].array.take(a)
    cat = measures.catalogue()
    ids = measure_index.to_numpy(dtype=object)
    polarity = np.array([cat[i].polarity if i in cat else np.nan for i in ids] + [None], dtype=object)[:-1][m]
    decimals = np.array([cat[i].decimals if i in cat else 1 for i in ids] + [1], dtype=np.int64)[:-1][m]
    decimals = pd.Series(decimals)

    eng = area_index.get_indexer([geography.ENGLAND])[0]
    out["england"] = _take(values, keys(np.arange(len(obs))).find(t, np.full(n, eng), m))
    reg_keys = keys(np.flatnonzero(level == "Regional"))
    for col, code in (("region", "region_code"), ("london", "london_region_code")):
        code_of_area = area_index.get_indexer(attrs[code])  # -1: none (or not published)
        out[col] = _take(values, reg_keys.find(t, code_of_area[a], m))

    # ranks and quartiles within the year and measure, and within the English region (London as a whole)
    region_code, _ = pd.factorize(attrs["english_region"])
    region_code = np.where(region_code >= 0, region_code, np.nan)  # no region: no region rank
    ranked = pd.DataFrame({"time_period": t, "m": m, "english_region": _take(region_code, a),
                           "measure_id": out["measure_id"], "value": value, "symbol": out["symbol"],
                           "polarity": polarity})
    rank_frame(ranked, ["time_period", "m"])
    rank_frame(ranked, ["time_period", "m", "english_region"], prefix="region_")
    for col in ("rank", "rank_of", "region_rank", "region_rank_of", "quartile"):
        out[col] = ranked[col].array

    previous = pd.Series(_take(values, la_keys.find(t - 1, a, m)))
    value_s = pd.Series(value)
    out["change"] = _round(value_s - previous, decimals).to_numpy()
    out["direction"] = direction(value_s, previous, pd.Series(polarity)).to_numpy()

    out.update(_neighbour_columns(obs, la_keys, area_index, t, a, m, values, model, table, method))
    sn_median = out.pop("sn_median_raw")
    if method == "dashboard":  # half-up to 1 dp on the unrounded median, as DfE does
        note = out["sn_note"]
        out["sn_note"] = note.where(note.notna(), "DfE dashboard method. No median: the 2025 model has no list "
                                    "for this code (a joint return or a former council).").array
        # the median of 1-dp values is exact at 2 dp: round(v, 9) first removes float noise (14.649999... -> 14.65)
        uniq, _, inverse = _unique(sn_median)
        half_up = np.array([measures.round_half_up(round(v, 9), 1) if v == v else np.nan for v in uniq.tolist()],
                           dtype=float)
        out["sn_median"] = half_up[inverse] if len(uniq) else sn_median
    else:
        out["sn_median"] = _round(pd.Series(sn_median), decimals + 1).to_numpy()
        out["sn_note"] = out["sn_note"].array
    out["sn_mean"] = _round(pd.Series(out["sn_mean"]), decimals + 1).to_numpy()
    for col, comp in (("diff_england", "england"), ("diff_region", "region"), ("diff_london", "london"),
                      ("diff_sn_median", "sn_median")):
        out[col] = _round(value_s - out[comp], decimals + 1).to_numpy()

    out.update(_gap_columns(la_keys, area_index, measure_index, t, a, m, values, out))
    ta = t * (n_a + 1) + a
    if changes is not None and len(changes):
        notes = series_notes(areas, changes)
        code = area_index.get_indexer(notes["area_code"])
        notes.index = np.where(code >= 0, notes["time_period"].to_numpy(np.int64) * (n_a + 1) + code, -1)
        out["series_note"] = notes.loc[notes.index >= 0, "series_note"].reindex(ta).array
    else:
        out["series_note"] = np.full(n, None, dtype=object)
    return pd.DataFrame({c: _column(out[c]) if c in out else np.full(n, np.nan) for c in tables.columns("comparisons")})


def _column(values):
    """A column for a new frame: an object array stays object (pandas would infer ``str`` from it)."""
    if isinstance(values, np.ndarray) and values.dtype == object:
        return pd.Series(values, dtype=object)
    return values


def _neighbour_columns(obs, la_keys: _Keys, area_index: pd.Index, t, a, m, values, model, table, method) -> dict:
    """The sn_* columns of each record (time_period ``t``, area code ``a``, measure code ``m``): the median
    (``sn_median_raw``, unrounded), mean, count, codes with a value and codes with a symbol of the year's
    neighbours (``neighbours.year_lists`` or ``dashboard_lists``, by ``method``), and per council-year the
    model, the dropped neighbours and the note."""
    n_a = len(area_index)
    names = area_index.to_numpy(dtype=object)
    pairs = _unique(t * (n_a + 1) + a)[0]
    la_years = pd.DataFrame({"time_period": pairs // (n_a + 1), "area_code": names[pairs % (n_a + 1)]})
    lists, model = _lists(la_years, model, table, method)
    per_year = _per_year(lists, model, method)
    per_year.index = (per_year["time_period"].to_numpy(np.int64) * (n_a + 1)
                      + area_index.get_indexer(per_year["area_code"]))
    ta = t * (n_a + 1) + a
    cols = per_year.drop(columns=["time_period", "area_code"]).reindex(ta)
    out = {c: cols[c].reset_index(drop=True) for c in cols}

    used = lists[lists["status"] == "used"]
    ukey = used["time_period"].to_numpy(np.int64) * (n_a + 1) + area_index.get_indexer(used["area_code"])
    order = np.lexsort((used["position"].to_numpy(), ukey))
    ukey, upub = ukey[order], area_index.get_indexer(used["published_code"])[order]
    start, end = np.searchsorted(ukey, ta, "left"), np.searchsorted(ukey, ta, "right")
    k_max = int((end - start).max()) if len(ta) else 0
    code = np.full((len(ta), k_max), -1, dtype=np.int64)
    row = np.full((len(ta), k_max), -1, dtype=np.int64)
    for k in range(k_max):
        has = start + k < end
        code[:, k] = np.where(has, upub[np.minimum(start + k, len(upub) - 1)], -1)
        row[:, k] = np.where(code[:, k] >= 0, la_keys.find(t, code[:, k], m), -1)
    exists = row >= 0
    vals = _take(values, row) if k_max else np.empty((len(ta), 0))
    has = exists & ~np.isnan(vals)
    count = has.sum(axis=1)
    out["sn_median_raw"] = _sorted_median(vals, count)
    out["sn_mean"] = _kahan_mean(vals)
    out["sn_count"] = count.astype(np.int64)
    out["sn_codes"] = _joined_rows(names, code, has, start)
    missing = exists & ~has
    suffix = np.full(row.shape, "", dtype=object)
    symbols = obs["symbol"].to_numpy(dtype=object)[row[missing]]
    suffix[missing] = [f" ({s})" if isinstance(s, str) else " ()" for s in symbols]
    out["sn_missing"] = _joined_rows(names, code, missing, start, suffix)
    return out


def _gap_columns(la_keys: _Keys, area_index, measure_index, t, a, m, values, out) -> dict:
    """gap_fte_sn and gap_fte_england of each record for the FTE rates (:func:`fte_gap` on the council's own
    components, found by code); NaN where the council published no value."""
    gap_sn, gap_eng = np.full(len(t), np.nan), np.full(len(t), np.nan)
    value = np.asarray(out["value"])
    done = False
    for mid in GAP_MEASURES:
        mc = measure_index.get_indexer([mid])[0]
        sel = np.flatnonzero((m == mc) & ~np.isnan(value)) if mc >= 0 else np.array([], dtype=int)
        if not len(sel):
            continue
        done = True
        spec = measures.get(mid)
        index = pd.Index(t[sel], name="time_period")  # what components() needs of a wide frame's index
        parts = dict.fromkeys([mid, spec.numerator, *spec.denominator_ids] + (["cases"] if mid == "caseload_fte" else []))
        w = pd.DataFrame({p: _take(values, la_keys.find(t[sel], a[sel], np.full(len(sel), measure_index.get_indexer([p])[0])))
                          for p in parts}, index=index)
        gap_sn[sel] = fte_gap(w, mid, pd.Series(out["sn_median"][sel], index=index)).round(1).to_numpy()
        gap_eng[sel] = fte_gap(w, mid, pd.Series(out["england"][sel], index=index)).round(1).to_numpy()
    if not done:  # no FTE rate at all: as an empty gaps frame merged in (object columns)
        return {"gap_fte_sn": np.full(len(t), np.nan, dtype=object), "gap_fte_england": np.full(len(t), np.nan, dtype=object)}
    return {"gap_fte_sn": gap_sn, "gap_fte_england": gap_eng}


# ---------------------------------------------------------------------------------------------------------------
# Provisional local figures


def local_comparisons(conn: sqlite3.Connection, published: pd.DataFrame, obs: pd.DataFrame) -> pd.DataFrame:
    """Compare a council's aligned local figures (``local_observations``) with published comparators.

    A local figure is set beside the comparators of the census it was matched to (``time_period``, the census
    nearest its snapshot: ``local.census``); when that year is not in the database it has none and no rank, and
    its note says so. A change from the year before is given only for a figure on DfE's basis (``comparable``).

    One row per local return, council, year and measure, keyed by ``return_id`` (``local_returns``), so that
    what may be published is a filter on stored rows (``publication``), never a recomputation. Team rows
    are left out. Empty when the table does not exist. The rank and quartile say where the local figure
    would fall among the other councils' published values for that year.
    """
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'local_observations'").fetchone():
        return pd.DataFrame(columns=tables.columns("comparisons"))
    local = store.query(conn, "SELECT * FROM local_observations")
    if local.empty:
        return pd.DataFrame(columns=tables.columns("comparisons"))
    local["time_period"] = local["time_period"].astype(int)
    if "team" in local:  # team rows stay in local_observations; the council compares as a whole
        local = local[local["team"].fillna("") == ""]
    # one row per return and key (a return covers one council and period)
    local = local.sort_values([c for c in ("period_end", "provisional") if c in local]).drop_duplicates(
        RKEY, keep="last")
    # The comparators of the census the return was matched to (local.census), never of another year: when that
    # year is not in this database the row says so and has no comparators or rank.
    years = set(published["time_period"].astype(int))
    local["comparator_year"] = local["time_period"]
    base = published.drop(columns=["value", "symbol", "comparator_year"]).rename(columns={"time_period": "comparator_year"})
    keep = ["england", "region_code", "region_name", "region", "london", "sn_model", "sn_median",
            "sn_mean", "sn_count", "sn_codes", "sn_missing", "sn_dropped", "sn_dropped_codes", "sn_note"]
    rec = local[RKEY + ["value", "symbol", "comparator_year"]].merge(
        base[["comparator_year", "area_code", "area_name", "measure_id"] + keep],
        on=["comparator_year", "area_code", "measure_id"], how="left")
    rec["polarity"] = _polarity(rec["measure_id"])
    dec = _decimals(rec["measure_id"])
    others = published[KEY + ["value"]].assign(value=published["value"].mask(
        published["symbol"].eq(LOW) & published["value"].isna(), -np.inf)).dropna()  # low: the lowest value
    ranks = []
    for r in rec.itertuples():
        vals = others.loc[(others["time_period"] == r.comparator_year) & (others["measure_id"] == r.measure_id)
                          & (others["area_code"] != r.area_code), "value"]
        if pd.isna(r.value) or vals.empty:
            ranks.append((None, None, None))
            continue
        n = len(vals) + 1
        rank = int((vals < r.value).sum()) + 1
        pos = int((vals > r.value).sum()) + 1 if r.polarity == "higher" else rank
        banded = r.polarity != "neutral" and not (r.measure_id in measures.catalogue()
                                                   and measures.catalogue()[r.measure_id].is_count)
        ranks.append((rank, n, BANDS[min(3, (pos - 1) * 4 // n)] if banded else None))
    rec[["rank", "rank_of", "quartile"]] = pd.DataFrame(ranks, index=rec.index, dtype=object)
    prev = obs[KEY + ["value"]].rename(columns={"value": "previous"})
    rec = rec.merge(prev.assign(time_period=prev["time_period"] + 1), on=KEY, how="left")
    rec["change"] = _round(rec["value"] - rec["previous"], dec)
    if "comparable" in local:  # never a change across definitions: only a figure on DfE's basis has one
        basis = local.set_index(RKEY)["comparable"].reindex(pd.MultiIndex.from_frame(rec[RKEY])).to_numpy()
        rec.loc[basis != 1, "change"] = None
    for col, comp in (("diff_england", "england"), ("diff_region", "region"), ("diff_london", "london"),
                      ("diff_sn_median", "sn_median")):
        rec[col] = _round(rec["value"] - rec[comp], dec + 1)
    # the FTE gaps use the return's own components: wide by return (its id stands in for the area code)
    w = wide(local[KEY + ["value"]].assign(area_code=local["return_id"]))
    gap = []
    for m in GAP_MEASURES:
        sel = rec[rec["measure_id"] == m].set_index(["time_period", "return_id"])
        if m in w and len(sel):
            ww = w.reindex(sel.index.rename(["time_period", "area_code"]))
            ww.index = sel.index
            gap.append(pd.DataFrame({"gap_fte_sn": fte_gap(ww, m, sel["sn_median"]).round(1),
                                     "gap_fte_england": fte_gap(ww, m, sel["england"]).round(1)})
                       .assign(measure_id=m).reset_index())
    if gap:
        rec = rec.merge(pd.concat(gap), on=["time_period", "return_id", "measure_id"], how="left")
    caveat = local.set_index(RKEY).reindex(pd.MultiIndex.from_frame(rec[RKEY]))
    notes = [f"Provisional: the council's own figure, compared with DfE's published {y} comparators." if y in years
             else f"Provisional: the council's own figure, matched to DfE's {y} census, which is not in this database:"
                  " not compared or ranked (no other year is used)." for y in rec["comparator_year"]]
    if "caveat" in caveat:
        notes = [n + (f" {c}" if isinstance(c, str) and c else "") for n, c in zip(notes, caveat["caveat"])]
    if "comparable" in caveat:
        notes = [n + (" Not on DfE's basis." if c == 0 else "") for n, c in zip(notes, caveat["comparable"])]
    rec["series_note"] = notes
    rec["provisional"] = 1
    return rec.reindex(columns=tables.columns("comparisons"))


# ---------------------------------------------------------------------------------------------------------------
# Custom groups


def _member_lines(node) -> dict[int, list[int]]:
    """Line numbers (1-based) of each group's members in a composed YAML document: group index -> lines."""
    seq = node
    if isinstance(node, yaml.MappingNode):
        seq = next((v for k, v in node.value if getattr(k, "value", None) == "groups"), None)
    lines: dict[int, list[int]] = {}
    if not isinstance(seq, yaml.SequenceNode):
        return lines
    for i, g in enumerate(seq.value):
        if isinstance(g, yaml.MappingNode):
            members = next((v for k, v in g.value if getattr(k, "value", None) == "members"), None)
            if isinstance(members, yaml.SequenceNode):
                lines[i] = [m.start_mark.line + 1 for m in members.value]
    return lines


def read_groups(path: str | Path) -> list[dict]:
    """Groups from a YAML file: ``groups: [{id, name, kind?, description?, members: [codes or names]}]`` (or the
    list of groups itself at the top level). Each group gets ``source_file`` and ``member_lines`` (the file's line
    of each member, for messages). Raises ``InputError`` naming the file (and the line and column of a YAML
    syntax error, or each group that lacks an id or members) for a file that is not such a list."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)  # parsed once: the nodes give the members' lines
        data = (yaml.SafeLoader("").construct_document(node) if node is not None else None) or {}
        lines = _member_lines(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        what = " ".join(str(getattr(exc, "problem", None) or exc).split())
        raise InputError([Problem(str(path), f"not valid YAML: {what}", mark.line + 1 if mark else None,
                                  str(mark.column + 1) if mark else None)]) from None
    groups = data.get("groups") if isinstance(data, dict) else data
    shape = ("a group file is 'groups:', a list of groups each with an id and members (see "
             "examples/north_east.yml)")
    if isinstance(data, list) and not all(isinstance(g, dict) for g in data):
        raise InputError([Problem(str(path), f"the top level is a list of {len(data)} items, not groups: {shape}")])
    if not groups or not isinstance(groups, list):
        found = "no 'groups' list" if isinstance(data, dict) else \
            f"the top level is {'text' if isinstance(data, str) else 'a ' + type(data).__name__}"
        raise InputError([Problem(str(path), f"{found}: {shape}")])
    bad = []
    for i, g in enumerate(groups):
        if not isinstance(g, dict):
            bad.append(Problem(str(path), f"group {i + 1} is not a mapping with an id and members", value=str(g)))
        elif not g.get("id") or not g.get("members"):
            bad.append(Problem(str(path), "every group needs an id and members", i + 1,
                               "members" if g.get("id") else "id", str(g.get("id") or "")))
        elif not isinstance(g["members"], list):
            bad.append(Problem(str(path), "members must be a list of council codes or names", i + 1, "members",
                               str(g["members"])))
    if bad:
        raise InputError(bad)
    for i, g in enumerate(groups):
        g.setdefault("name", g["id"])
        g["source_file"] = str(path)
        g["member_lines"] = lines.get(i, [])
    return groups


def resolve_members(conn: sqlite3.Connection, group: dict, councils_only: bool = False) -> list[dict]:
    """The ``areas`` row of each member of ``group`` (as :func:`read_groups` gives it), in order. Every member
    that matches no area, several areas, or (``councils_only``) an area that is not a council is reported at once:
    ``InputError`` naming the file, the member's line and the member as written."""
    found, bad = [], []
    lines = group.get("member_lines") or []
    for i, m in enumerate(group["members"]):
        row = lines[i] if i < len(lines) else None
        try:
            a = councils.resolve(conn, str(m))
        except councils.AreaNotFound as exc:
            bad.append(Problem(group.get("source_file"), f"group {group['id']}: {exc}", row, "members", str(m)))
            continue
        if councils_only and a.get("level") != LA:
            bad.append(Problem(group.get("source_file"), f"group {group['id']}: {a['area_name']} is not a "
                               "council; give a local authority", row, "members", str(m)))
            continue
        found.append(a)
    if bad:
        raise InputError(bad)
    return found


def group_tables(conn: sqlite3.Connection, groups: list[dict], obs: pd.DataFrame | None = None):
    """``groups``, ``group_members`` and ``group_comparisons`` frames for the given groups.

    Members are resolved like any council the user types; a joint-return member (314) stands for the joint
    row in the years DfE publishes one. ``pooled`` is the sum of numerators over the sum of denominators
    (counts: the sum) over members with a value; ``member_median``/``member_mean`` are of members' values.
    """
    obs = load(conn)[0] if obs is None else obs
    meta, members, problems = [], [], []
    resolved = []
    for g in groups:  # every unknown member of every group named at once
        try:
            resolved.append(resolve_members(conn, g))
        except InputError as exc:
            problems += exc.problems
    if problems:
        raise InputError(problems)
    for g, areas in zip(groups, resolved):
        meta.append({k: g.get(k) for k in ("id", "name", "kind", "description", "source_file")})
        for m, a in zip(g["members"], areas):
            members.append({"group_id": g["id"], "member": str(m), "area_code": a["area_code"], "area_name": a["area_name"]})
    meta = pd.DataFrame(meta).rename(columns={"id": "group_id"})
    members = pd.DataFrame(members).drop_duplicates(["group_id", "area_code"])
    la = obs[obs["level"] == LA]
    years = sorted(la["time_period"].unique())
    rows = members.merge(pd.DataFrame({"time_period": years}), how="cross")
    rows["published_code"] = [geography.joint_return_of(c, tp) or c for c, tp in zip(rows["area_code"], rows["time_period"])]
    rows = rows.drop_duplicates(["group_id", "time_period", "published_code"])
    present = la[["time_period", "area_code"]].drop_duplicates().rename(columns={"area_code": "published_code"})
    rows = rows.merge(present.assign(exists=True), on=["time_period", "published_code"], how="left")
    vals = rows[rows["exists"].notna()].merge(la.rename(columns={"area_code": "published_code"}),
                                              on=["time_period", "published_code"])
    by = ["group_id", "time_period", "measure_id"]
    g = vals.groupby(by)
    out = g["value"].agg(member_median="median", member_mean="mean", members_with_value="count")
    out["members"] = g["published_code"].nunique()
    w = wide(vals[["time_period", "published_code", "measure_id", "value"]].drop_duplicates()
             .rename(columns={"published_code": "area_code"}))
    lows = low_wide(vals[["time_period", "published_code", "measure_id", "symbol"]]
                    .rename(columns={"published_code": "area_code"}))
    w = zero_low_counts(w, lows)
    link = rows.loc[rows["exists"].notna(), ["group_id", "time_period", "published_code"]]
    pooled_rows = []
    for m in vals["measure_id"].unique():
        spec = measures.get(m)
        frame = link.merge(w.reset_index().rename(columns={"area_code": "published_code"}),
                           on=["time_period", "published_code"])
        if m not in frame:
            continue
        fw = frame.set_index(["time_period", "published_code"]).rename_axis(["time_period", "area_code"])
        has = rate_published(fw, lows, m).to_numpy() if spec.is_rate else fw[m].notna().to_numpy()
        if spec.is_rate:
            num, den = components(fw, m)
            num, den = num.where(has), den.where(has)
            key = [fw["group_id"].to_numpy(), fw.index.get_level_values("time_period")]
            p = pooled(num, den, key)
            n = (num.notna() & den.notna()).groupby(key).sum()
        elif spec.unit in ("FTE", "headcount", "cases", "days"):
            key = [fw["group_id"].to_numpy(), fw.index.get_level_values("time_period")]
            p = fw[m].groupby(key).sum(min_count=1)
            n = fw[m].notna().groupby(key).sum()
        else:
            continue
        pooled_rows.append(pd.DataFrame({"pooled": p, "pooled_count": n}).rename_axis(["group_id", "time_period"])
                           .reset_index().assign(measure_id=m))
    out = out.reset_index()
    if pooled_rows:
        out = out.merge(pd.concat(pooled_rows), on=by, how="left")
    missing = rows[rows["exists"].isna()].assign(why="no row")
    sym = vals[vals["value"].isna()]
    miss = joined(sym, by, sym["published_code"] + " (" + sym["symbol"] + ")")
    out = out.merge(miss.rename("missing").reset_index(), on=by, how="left")
    gone = missing.groupby(["group_id", "time_period"])["published_code"].agg(lambda s: ", ".join(s) + " (no row)")
    out = out.merge(gone.rename("gone").reset_index(), on=["group_id", "time_period"], how="left")
    out["missing"] = [", ".join(x for x in (a, b) if isinstance(x, str)) or None for a, b in zip(out["missing"], out["gone"])]
    eng = _published(obs[obs["area_code"] == geography.ENGLAND], "england", "x").drop(columns="x")
    out = out.merge(eng, on=["time_period", "measure_id"], how="left")
    dec = _decimals(out["measure_id"])
    out["pooled"] = _round(out["pooled"], dec + 1)
    out["member_median"] = _round(out["member_median"], dec + 1)
    out["member_mean"] = _round(out["member_mean"], dec + 1)
    is_rate = out["measure_id"].map(lambda m: measures.get(m).is_rate).astype(bool)
    out["diff_england"] = _round(out["pooled"] - out["england"], dec + 1).where(is_rate)   # a sum is not a rate
    return (meta.reindex(columns=tables.columns("groups")), members.reindex(columns=tables.columns("group_members")),
            out.reindex(columns=tables.columns("group_comparisons")).sort_values(by).reset_index(drop=True))


# ---------------------------------------------------------------------------------------------------------------
# Consistency of published aggregates


def consistency(obs: pd.DataFrame, areas: pd.DataFrame) -> pd.DataFrame:
    """Recompute England and each region from the council rows and compare with DfE's published figure; and
    recompute each council's published rates from its own published counts (see :func:`_council_consistency`).

    Counts are summed over councils with a value. Rates are pooled (sum of numerators over sum of
    denominators) over councils with a published rate and all its components, which is how DfE's aggregates
    appear to be made (an inference from the figures, reference section 6.5). Averages without components
    (children per social worker) are not recomputable.
    """
    cat = measures.catalogue()
    out = _aggregate_recomputed(obs.reset_index(drop=True), areas)
    pub = obs[obs["level"] != LA][KEY + ["value", "symbol"]].rename(
        columns={"value": "published", "symbol": "published_symbol"})
    out = pub.merge(out, on=KEY, how="inner")
    dec = _decimals(out["measure_id"])
    rounded = _round(out["recomputed"], dec)
    out["difference"] = _round(out["published"] - rounded, dec)
    unit = 10.0 ** -dec
    is_rate = out["measure_id"].map(lambda m: cat[m].is_rate)
    tol = np.where(is_rate, unit, np.maximum(unit, 0.5 * unit * out["councils_with_value"]))
    out["status"] = np.select([out["recomputed"].isna() | out["published"].isna(), out["difference"].abs() <= tol + 1e-9],
                              ["not recomputable", "matches"], "differs")
    out["reason"] = [_reason(s, miss, pub) for s, miss, pub in zip(
        out["status"].to_numpy(dtype=object), out["missing"].to_numpy(dtype=object),
        out["published_symbol"].to_numpy(dtype=object))]
    out["area_name"] = out["area_code"].map(areas.set_index("area_code")["area_name"])
    out["recomputed"] = _round(out["recomputed"], dec + 2)
    cols = tables.columns("consistency_checks")
    out = pd.concat([out.reindex(columns=cols), _council_consistency(obs, areas).reindex(columns=cols)],
                    ignore_index=True)
    return out.sort_values(KEY).reset_index(drop=True)


POOLED = ("pooled: sum of numerators / sum of denominators over councils with a published rate "
          "(a number or 'low')")
SUMMED = "sum of council values"


def _aggregate_recomputed(obs: pd.DataFrame, areas: pd.DataFrame) -> pd.DataFrame:
    """Per (time_period, aggregate, measure) over the councils in England, each region and London as a whole:
    ``councils``, ``councils_with_value``, ``missing`` ("code (symbol)" of those without a value), ``recomputed``
    and its ``method`` (:func:`consistency`); ``area_code`` names the aggregate. Ordered by that key.

    The councils' rows are found by integer codes; the sums are pandas' group sums (compensated, councils in
    code order within each aggregate) over one council x measure matrix per aggregate, so each recomputed
    figure is the same float a pivot of the council rows gives."""
    attrs = _attributes(areas).drop_duplicates("area_code").set_index("area_code")
    a_code, area_index = pd.factorize(obs["area_code"], sort=True)
    m_code, measure_index = pd.factorize(obs["measure_id"], sort=True)
    n_a, n_m = len(area_index), len(measure_index)
    listed = area_index.isin(attrs.index)
    la = np.flatnonzero(obs["level"].to_numpy(dtype=object) == LA)
    la = la[listed[a_code[la]]]  # councils in the areas table (as an inner join with it)
    attrs = attrs.reindex(area_index)
    region = attrs["region_code"].to_numpy(dtype=object)
    london = attrs["london_region_code"].to_numpy(dtype=object)
    in_london = pd.notna(london[a_code[la]])
    # the members of each aggregate, in the order England, regions, London as a whole (council rows in order)
    rows = np.concatenate([la, la, la[in_london]])
    agg = np.concatenate([np.full(len(la), geography.ENGLAND, dtype=object), region[a_code[la]],
                          london[a_code[la][in_london]]])
    g_code, agg_index = pd.factorize(agg, sort=True)
    rows, g_code = rows[g_code >= 0], g_code[g_code >= 0]
    n_g = len(agg_index)
    t = obs["time_period"].to_numpy(np.int64)[rows]
    a, m = a_code[rows], m_code[rows]
    value = obs["value"].to_numpy(float)[rows]
    symbol = obs["symbol"].to_numpy(dtype=object)[rows]

    group_key = (t * (n_g + 1) + g_code) * (n_m + 1) + m
    groups, _, group = _unique(group_key)
    n_groups = len(groups)
    councils = np.bincount(_unique(group * (n_a + 1) + a)[0] // (n_a + 1), minlength=n_groups)
    with_value = np.bincount(group, weights=~np.isnan(value), minlength=n_groups).astype(np.int64)
    missing = np.full(n_groups, np.nan, dtype=object)
    miss = np.flatnonzero(np.isnan(value))
    miss = miss[np.argsort(group[miss], kind="stable")]
    names = area_index.to_numpy(dtype=object)
    text = [f"{c} ({s})" if isinstance(s, str) else f"{c} ()" for c, s in zip(names[a[miss]], symbol[miss])]
    cut = np.flatnonzero(np.diff(group[miss])) + 1
    for g, piece in zip(group[miss][np.r_[0, cut]] if len(miss) else [], np.split(np.array(text, dtype=object), cut)):
        missing[g] = ", ".join(piece)
    g_t = groups // ((n_g + 1) * (n_m + 1))
    g_agg = groups // (n_m + 1) % (n_g + 1)
    g_m = groups % (n_m + 1)

    # one row per council, year and aggregate (as the pivot: rows with at least one value), councils in the
    # order of "code|aggregate" within each (year, aggregate)
    member = (t * (n_a + 1) + a) * (n_g + 1) + g_code
    member_key, _, member_row = _unique(member)
    w_t = member_key // ((n_a + 1) * (n_g + 1))
    w_a = member_key // (n_g + 1) % (n_a + 1)
    w_g = member_key % (n_g + 1)
    values = np.full((len(member_key), n_m), np.nan)
    values[member_row, m] = value
    low = np.zeros((len(member_key), n_m), dtype=bool)
    low[member_row, m] = symbol == LOW
    code_order = np.argsort(np.argsort([c + "|" for c in names.tolist()], kind="stable"))
    keep = ~np.isnan(values).all(axis=1)
    keep_rows = np.flatnonzero(keep)
    keep_rows = keep_rows[np.lexsort((code_order[w_a[keep_rows]], w_g[keep_rows], w_t[keep_rows]))]
    values, low, w_t, w_g = values[keep_rows], low[keep_rows], w_t[keep_rows], w_g[keep_rows]
    in_w = ~np.isnan(values).all(axis=0)  # the measures with a value (the pivot's columns)
    cat = measures.catalogue()
    ids = measure_index.to_numpy(dtype=object).tolist()
    col = {mid: j for j, mid in enumerate(ids)}
    for j, mid in enumerate(ids):  # counts published as 'low' count as 0 (zero_low_counts)
        if in_w[j] and low[:, j].any() and mid in cat and not cat[mid].is_rate:
            values[:, j] = np.where(low[:, j] & np.isnan(values[:, j]), 0.0, values[:, j])
    nan = np.full(len(values), np.nan)

    def column(mid):
        return values[:, col[mid]] if mid in col and in_w[col[mid]] else nan

    pairs = w_t * (n_g + 1) + w_g
    pair_keys, _, pair_of_row = _unique(pairs)
    computed: dict[int, str] = {}
    nums, dens, sums = {}, {}, {}
    for mid, spec in cat.items():
        if mid not in col or not in_w[col[mid]]:
            continue
        j = col[mid]
        if spec.is_rate:
            num, den, scale = measures.rate_parts(mid, {c: column(c) for c in (spec.numerator, *spec.denominator_ids)},
                                                  w_t)
            num = np.asarray(num * scale, dtype=float)
            den = np.asarray(den, dtype=float)
            has = ~np.isnan(values[:, j]) | low[:, j]
            ok = has & ~np.isnan(num) & ~np.isnan(den)
            nums[j], dens[j] = np.where(ok, num, np.nan), np.where(ok, den, np.nan)
            computed[j] = POOLED
        elif spec.unit in ("FTE", "headcount", "cases", "days"):
            sums[j] = values[:, j]
            computed[j] = SUMMED
    result = np.full((len(pair_keys), n_m), np.nan)

    def group_sums(block: dict) -> np.ndarray:
        frame = pd.DataFrame(np.column_stack(list(block.values())) if block else np.empty((len(values), 0)))
        return frame.groupby(pair_of_row).sum(min_count=1).reindex(range(len(pair_keys))).to_numpy()

    if nums:
        n_sum, d_sum = group_sums(nums), group_sums(dens)
        with np.errstate(invalid="ignore", divide="ignore"):
            result[:, list(nums)] = n_sum / np.where(d_sum != 0, d_sum, np.nan)
    if sums:
        result[:, list(sums)] = group_sums(sums)
    pair_of_group = np.searchsorted(pair_keys, g_t * (n_g + 1) + g_agg)
    found = (pair_of_group < len(pair_keys)) & (pair_keys[np.minimum(pair_of_group, len(pair_keys) - 1)] == g_t * (n_g + 1) + g_agg)
    pair_of_group = np.minimum(pair_of_group, max(len(pair_keys) - 1, 0))
    recomputed = np.where(found, result[pair_of_group, g_m] if len(pair_keys) else np.nan, np.nan)
    method = np.array([computed.get(j) for j in range(n_m)] + [None], dtype=object)[:-1][g_m]
    method = np.where(found & pd.notna(method), method, np.nan)
    return pd.DataFrame({"time_period": g_t, "area_code": agg_index.take(g_agg), "measure_id": measure_index.take(g_m),
                         "councils": councils.astype(np.int64), "councils_with_value": with_value,
                         "missing": pd.Series(missing, dtype=object), "recomputed": recomputed,
                         "method": pd.Series(method, dtype="str")})


def _published_decimals(obs: pd.DataFrame) -> pd.Series:
    """Decimal places DfE published each measure to in each year, read from the values themselves (the 2015
    SFR gives rates as whole numbers, later files one decimal place): (time_period, measure_id) -> 0-4."""
    v = obs["value"].astype(float)
    dec = pd.Series(4, index=obs.index)
    for d in range(3, -1, -1):
        dec[(v - v.round(d)).abs() < 1e-9] = d
    return dec[v.notna()].groupby([obs["time_period"], obs["measure_id"]]).max()


def _value_decimals(values: np.ndarray) -> np.ndarray:
    """Decimal places (0-4) each value is written to: the fewest that give it back within 1e-9."""
    dec = np.full(len(values), 4, dtype=np.int64)
    for d in range(3, -1, -1):
        with np.errstate(invalid="ignore"):
            dec[np.abs(values - np.round(values, d)) < 1e-9] = d
    return dec


def _council_consistency(obs: pd.DataFrame, areas: pd.DataFrame) -> pd.DataFrame:
    """Each council's published rate against the rate its own published counts give (reference section 6.5).

    A rate matches when it lies within the widest rate the rounded counts allow (each count +/- half its last
    published digit) widened by half the rate's own last digit; otherwise DfE's rate and counts disagree.
    """
    la = obs[obs["level"] == LA].reset_index(drop=True)
    cat = measures.catalogue()
    present = set(la["measure_id"].unique())  # not the column itself: one Python string per row
    rate_ids = [m for m, spec in cat.items() if spec.is_rate and m in present]
    a_code, area_index = pd.factorize(la["area_code"], sort=True)
    m_code, measure_index = pd.factorize(la["measure_id"], sort=True)
    years = la["time_period"].to_numpy(np.int64)
    values = la["value"].to_numpy(float)
    keys = _Keys(years, a_code, m_code, np.arange(len(la)), len(area_index), len(measure_index))
    # half the last published digit of each measure in each year (``_published_decimals``; 1 dp when unknown)
    digits = _value_decimals(values)
    shown = ~np.isnan(values)
    tm = years * (len(measure_index) + 1) + m_code
    tm_keys, _, tm_of = _unique(tm[shown])
    most = np.full(len(tm_keys), -1, dtype=np.int64)
    np.maximum.at(most, tm_of, digits[shown])
    records = np.flatnonzero(la["measure_id"].isin(rate_ids).to_numpy())
    t, a = years[records], a_code[records]
    recomputed, low, high, half = (np.full(len(records), np.nan) for _ in range(4))
    in_w = {mid: bool(shown[m_code == j].any()) for j, mid in enumerate(measure_index)}  # a column of the pivot
    for m in rate_ids:
        spec = cat[m]
        parts = list(dict.fromkeys([spec.numerator, *spec.denominator_ids]))
        if not all(in_w.get(p_) for p_ in parts):
            continue
        sel = np.flatnonzero(m_code[records] == measure_index.get_loc(m))
        ys = t[sel]

        def halves(mid, ys=ys):
            k = ys * (len(measure_index) + 1) + measure_index.get_loc(mid)
            i = np.minimum(np.searchsorted(tm_keys, k), max(len(tm_keys) - 1, 0))
            d = np.where((tm_keys[i] == k) if len(tm_keys) else False, most[i] if len(tm_keys) else 0, 1)
            return 0.5 * 10.0 ** -d.astype(float)

        half_of = {p_: halves(p_) for p_ in (m, *parts)}
        value = {p_: _take(values, keys.find(ys, a[sel], np.full(len(sel), measure_index.get_loc(p_))))
                 for p_ in parts}
        bound = {sign: measures.rates(m, {p_: np.maximum(value[p_] + (sign if p_ == spec.numerator else -sign)
                                                         * half_of[p_], 0.0) for p_ in parts}, ys)
                 for sign in (-1, 1)}
        recomputed[sel] = measures.rates(m, value, ys)
        low[sel] = np.nan_to_num(bound[-1], nan=0.0)
        high[sel] = np.where(np.isnan(bound[1]), np.inf, bound[1])
        half[sel] = half_of[m]
    out = pd.DataFrame({"time_period": t, "area_code": la["area_code"].array.take(records),
                        "measure_id": la["measure_id"].array.take(records), "published": values[records],
                        "published_symbol": la["symbol"].array.take(records), "recomputed": recomputed,
                        "low": low, "high": high, "half": half})
    dec = _decimals(out["measure_id"])
    out["difference"] = _round(out["published"] - _round(out["recomputed"], dec), dec)
    nothing = out["recomputed"].isna() | out["published"].isna()
    slack = out["half"] + 1e-9  # half the rate's last published digit
    inside = (out["published"] >= out["low"] - slack) & (out["published"] <= out["high"] + slack)
    out["status"] = np.select([nothing, inside], ["not recomputable", "matches"], "differs")
    out["reason"] = [(f"published as {sym}" if isinstance(sym, str) else "no components to recompute from")
                     if st == "not recomputable" else
                     "DfE's published rate and its published counts disagree beyond rounding (its rounded counts "
                     f"give {lo:.3f} to {hi:.3f})" if st == "differs" else None
                     for st, sym, lo, hi in zip(out["status"].to_numpy(dtype=object),
                                                out["published_symbol"].to_numpy(dtype=object),
                                                out["low"].to_numpy(), out["high"].to_numpy())]
    out["recomputed"] = _round(out["recomputed"], dec + 2)
    out["councils"] = 1
    out["councils_with_value"] = out["published"].notna().astype(int)
    out["missing"] = None
    out["method"] = "the council's own published counts on DfE's formula"
    out["area_name"] = out["area_code"].map(areas.set_index("area_code")["area_name"])
    return out


def _reason(status: str, missing, symbol) -> str | None:
    if status == "not recomputable":
        return f"published as {symbol}" if isinstance(symbol, str) else "no components to recompute from"
    if status == "matches":
        return (f"matches over the councils with a value; without a value: {missing}"
                if isinstance(missing, str) else None)
    if isinstance(missing, str):
        return f"councils without a published value: {missing}; DfE's figure includes data not published for them"
    return "every council has a value: rounding of published components or a DfE revision"


# ---------------------------------------------------------------------------------------------------------------
# Writing


def write_comparisons(conn: sqlite3.Connection, groups=None, model: str | None = None,
                      neighbour_table: pd.DataFrame | None = None, method: str | None = None,
                      frames: dict[str, pd.DataFrame] | None = None) -> dict[str, pd.DataFrame]:
    """(Re)write ``neighbours``, ``comparisons``, ``consistency_checks`` and the group tables in ``conn``, and
    return what was written: table name -> the DataFrame given to ``store.insert_frame`` (its rows in order,
    columns as the schema names them), e.g. for ``package.write_package(frames=...)``.

    ``groups`` is a YAML path, a list of paths or a list of group dicts (see :func:`read_groups`). Safe to call
    again on a built database (e.g. after local figures are loaded): every table it owns is replaced.
    ``model`` overrides the neighbour model for every year; ``neighbour_table`` replaces the shipped lists. Local
    figures in ``local_observations`` are added as provisional rows when that table exists. ``method`` is the
    neighbour method: ``toolkit`` (default) or ``dashboard`` (DfE's dashboard median; see the module notes).
    ``frames`` are the build's tables just written to ``conn`` (``observations``, ``areas``, ``area_changes``
    as given to ``store.insert_frame``): used as they are instead of reading them back.
    """
    store.create_compare(conn)
    if frames is not None and all(t in frames for t in ("observations", "areas", "area_changes")):
        obs, areas, changes = _observations(frames["observations"], frames["areas"]), frames["areas"], frames["area_changes"]
    else:
        obs, areas = load(conn)
        changes = store.query(conn, "SELECT * FROM area_changes")
    table = neighbours.shipped() if neighbour_table is None else neighbour_table
    published = compute(obs, areas, changes, model, table, method)
    local = local_comparisons(conn, published, obs)
    checks = consistency(obs, areas)
    written = {"neighbours": table,  # no local rows (the usual build): the computed frame as it is, not a copy
               "comparisons": pd.concat([published, local], ignore_index=True) if len(local) else published,
               "consistency_checks": checks}
    if groups:
        if isinstance(groups, (str, Path)):
            groups = [groups]
        parsed = [g for item in groups for g in (read_groups(item) if isinstance(item, (str, Path)) else [item])]
        meta, members, gc = group_tables(conn, parsed, obs)
        written.update({"groups": meta, "group_members": members, "group_comparisons": gc})
    for t in ("group_comparisons", "group_members", "groups", "neighbours", "comparisons", "consistency_checks"):
        conn.execute(f"DELETE FROM {t}")
    for t, df in written.items():
        store.insert_frame(conn, t, df)
    return written


def _observations(observations: pd.DataFrame, areas: pd.DataFrame) -> pd.DataFrame:
    """:func:`load`'s observations (with each area's level) from the frames a build wrote, as the JOIN reads them."""
    level = observations["area_code"].map(areas.drop_duplicates("area_code").set_index("area_code")["level"])
    obs = observations[["time_period", "area_code", "measure_id", "value", "symbol"]].assign(level=level)
    return obs[level.notna().to_numpy()].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------------------------
# One council's view (``csww compare``)


def all_rows(conn: sqlite3.Connection, model: str | None = None, method: str | None = None) -> pd.DataFrame:
    """Every comparison record: as the build stored them, or recomputed when ``model`` or ``method`` is given."""
    have = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'comparisons'").fetchone()
    if have and model is None and method is None:
        return store.query(conn, "SELECT * FROM comparisons")
    obs, areas = load(conn)
    return compute(obs, areas, store.query(conn, "SELECT * FROM area_changes"), model, method=method)


def councils_view(conn: sqlite3.Connection, las, year: int | None = None, measure_ids=(),
                  model: str | None = None, method: str | None = None) -> pd.DataFrame:
    """The published comparison records of several councils (``las``: codes or names, or ``["all"]`` for every
    council with figures that year) for one year (default: the latest year in the database), key measures by
    default, ordered by council and measure. Computed once for all councils."""
    for m in measure_ids:
        measures.get(m)
    ids = list(measure_ids) or [m.id for m in measures.key_measures()]
    rows = all_rows(conn, model, method)
    published = rows[rows["provisional"] == 0]
    if published.empty:
        raise NotFoundError("no published council figures in this database; run 'csww build'")
    year = int(published["time_period"].max()) if year is None else year
    sel = published[(published["time_period"] == year) & published["measure_id"].isin(ids)]
    if sel.empty:
        raise NotFoundError(f"no figures for {year} for {', '.join(ids)}; years: "
                            f"{int(published['time_period'].min())}-{int(published['time_period'].max())}")
    if [str(x).lower() for x in las] != ["all"]:
        codes = []
        for la in las:
            area = councils.resolve(conn, la)
            if area["level"] != LA:
                raise councils.AreaNotFound(f"{la!r} is {area['area_name']}, not a council; give a local authority")
            codes.append(councils.published_code(conn, area, year))
        missing = [la for la, c in zip(las, codes) if c not in set(sel["area_code"])]
        if missing:
            raise NotFoundError(f"no figures in {year} for {', '.join(map(str, missing))}")
        sel = sel[sel["area_code"].isin(codes)].assign(_c=lambda d: d["area_code"].map({c: i for i, c in
                                                                                        enumerate(codes)}))
    else:
        sel = sel.assign(_c=sel["area_code"])
    sel = sel.assign(_m=sel["measure_id"].map({m: i for i, m in enumerate(ids)}))
    return sel.sort_values(["_c", "_m"]).drop(columns=["_c", "_m"]).reset_index(drop=True)


def council_view(conn: sqlite3.Connection, la: str, year: int | None = None, measure_ids=(), group_file=None,
                 model: str | None = None, method: str | None = None) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """The comparison records for one council and year (default: its latest), key measures by default.

    Returns the resolved area, the records (published and any provisional rows compared with that year)
    and, when ``group_file`` is given, the group figures for the same year and measures. A joint-return
    member (314) shows its joint return. ``model`` recomputes with another neighbour model, ``method`` with
    another neighbour method (``toolkit`` or ``dashboard``).
    """
    area, code = compare_one.council_code(conn, la, measure_ids, year)
    have = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'comparisons'").fetchone()
    if have and model is None and method is None:
        rows = store.query(conn, "SELECT * FROM comparisons WHERE area_code = ?", (code,))
    else:
        rows = all_rows(conn, model, method)
        rows = rows[rows["area_code"] == code]
    published = rows[rows["provisional"] == 0]
    if published.empty:
        raise councils.AreaNotFound(f"no published figures for {area['area_name']} ({code}) in this database")
    year = int(published["time_period"].max()) if year is None else year
    if year not in set(published["time_period"]):
        raise councils.AreaNotFound(compare_one.missing_year(conn, area, year, published["time_period"]))
    ids = list(measure_ids) or [m.id for m in measures.key_measures()]
    sel = rows[((rows["time_period"] == year) & (rows["provisional"] == 0))
               | ((rows["provisional"] == 1) & (rows["comparator_year"] == year))]
    sel = sel[sel["measure_id"].isin(ids)].copy()
    if sel.empty:  # e.g. a measure only the 2015-2016 SFR files carry, asked for a later year
        have = published[published["measure_id"].isin(ids)]["time_period"]
        when = f"this database has no {', '.join(ids)} figures for {area['area_name']}"
        if len(have):
            span = f"{int(have.min())}" + (f"-{int(have.max())}" if have.max() > have.min() else "")
            when = f"this database has {', '.join(ids)} for {area['area_name']} in {span} only"
        raise NotFoundError(f"no figures for {area['area_name']} in {year} for the measures asked for: {when}")
    # several local returns for one year: the latest period's figure (return ids are area:start:end:sha)
    sel["_end"] = [r.split(":")[2] if isinstance(r, str) and r.count(":") >= 3 else "" for r in sel["return_id"]]
    sel = sel.sort_values("_end", kind="stable").drop_duplicates(KEY + ["provisional"], keep="last").drop(columns="_end")
    sel["order"] = sel["measure_id"].map({m: i for i, m in enumerate(ids)})
    sel = sel.sort_values(["order", "provisional", "time_period"]).drop(columns="order").reset_index(drop=True)
    groups = pd.DataFrame()
    if group_file:
        meta, _, gc = group_tables(conn, read_groups(group_file))
        groups = gc[(gc["time_period"] == year) & gc["measure_id"].isin(ids)].merge(
            meta[["group_id", "name"]], on="group_id")
    return area, sel, groups
