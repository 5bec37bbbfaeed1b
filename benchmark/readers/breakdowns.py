"""Breakdowns: DfE's workforce figures split by a characteristic (ethnicity, age, time in service, role).

Three shapes, one tidy result (the ``breakdowns`` table: time_period, area_code, measure_id,
breakdown_topic, breakdown, role, value, symbol, source_row, source_column):

* **Long EES files** (2023 release onwards, e.g. ``csww_role_by_characteristics_inpost_2019_to_2025.csv``):
  the file's own filter columns (text) and indicator columns (numbers or DfE symbols) are told apart by
  their cells, so a new characteristics file loads without code. ``breakdown_topic``/``breakdown`` columns
  are used as they are; a role filter (``role``, ``OrgRole``) fills ``role``; any other filter becomes the
  topic (its column name) and the breakdown (its value). The indicator's name, in lower case, is the
  ``measure_id`` (``inpost_FTE_percentage`` → ``inpost_fte_percentage``).
* **The 2019-2022 role-by-ethnicity file** (2022 release), whose ethnic groups are columns: described in
  ``catalogue/breakdowns.yml`` (``ethnicity_by_role``).
* **The 2015-2016 SFR files**: the age, time-in-service and role columns of the in-post workforce, and the
  age and time-in-service columns of starters and leavers (band letters in ``catalogue/breakdowns.yml``).

A joint return's member rows are folded into the joint return (:func:`base.fold_joint_returns`, as for
the indicators; a member row that is all symbols is dropped).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from .base import (
    EES_SYMBOLS,
    SFR_SYMBOLS,
    InputError,
    Problem,
    fold_joint_returns,
    has_thousands_separator,
    parse_columns,
    parse_separated,
    separated_warning,
    stacked,
    thousands_columns,
)

CATALOGUE = Path(__file__).resolve().parent.parent / "catalogue" / "breakdowns.yml"

#: Columns of the tidy frame a breakdown reader returns.
COLUMNS = ["time_period", "area_code", "measure_id", "breakdown_topic", "breakdown", "role", "value", "symbol",
           "source_row", "source_column"]
#: Filter columns naming the role a row describes.
ROLE_FILTERS = {"role", "orgrole", "social_worker_role"}
#: Filter columns whose values say nothing beyond the geography and year (EES's time identifier).
_NOT_FILTERS = {"time_identifier"}


@lru_cache(maxsize=1)
def catalogue() -> dict:
    """``catalogue/breakdowns.yml``: role labels and the wide layouts."""
    return yaml.safe_load(CATALOGUE.read_text(encoding="utf-8"))


def all_roles() -> str:
    """DfE's label for the whole workforce in a role breakdown."""
    return catalogue()["all_roles"]


def is_ethnicity_by_role(columns) -> bool:
    return set(catalogue()["ethnicity_by_role"]["detect"]) <= set(columns)


def _finish(cells: list[tuple], geo: pd.DataFrame, keep: pd.Series, rows: pd.Series, source: str) -> pd.DataFrame:
    """The tidy frame of ``cells`` (column, measure_id, topic, breakdown, role, values, symbols) over the rows
    kept, without blank cells, with a unique key (else InputError)."""
    if not cells:
        return pd.DataFrame(columns=COLUMNS)
    out = pd.DataFrame(stacked(geo, rows, keep, [
        (col, {"measure_id": measure_id, "breakdown_topic": topic, "breakdown": breakdown, "role": role,
               "value": values, "symbol": symbols})
        for col, measure_id, topic, breakdown, role, values, symbols in cells]))
    out = out[out["value"].notna() | out["symbol"].notna()]
    check_unique(out, source)
    return out[COLUMNS].reset_index(drop=True)


def check_unique(tidy: pd.DataFrame, source: str) -> None:
    """InputError naming the rows when a key (year, area, measure, topic, breakdown, role) appears twice."""
    key = ["time_period", "area_code", "measure_id", "breakdown_topic", "breakdown", "role"]
    dup = tidy[tidy.duplicated(key, keep=False)].drop_duplicates(key)
    if len(dup):
        raise InputError([Problem(source, f"more than one {r.measure_id} for {r.area_code} {r.time_period}, "
                                  f"{r.breakdown_topic} {r.breakdown!r}, {r.role}", int(r.source_row), r.source_column)
                          for r in dup.head(20).itertuples()])


def _folded(cells: list[tuple], geo: pd.DataFrame, rows: pd.Series, source: str):
    """Fold joint-return members (``base.fold_joint_returns``) and make the tidy frame from ``cells``:
    (column, measure_id, topic, breakdown, role, values, symbols) for each column read."""
    if not cells:
        return pd.DataFrame(columns=COLUMNS), pd.Series(True, index=geo.index), []
    all_symbols = pd.Series(np.logical_and.reduce([(c[6].notna() | c[5].isna()).to_numpy(dtype=bool) for c in cells]),
                            index=geo.index)
    keep, notes = fold_joint_returns(geo, all_symbols, rows)
    return _finish(cells, geo, keep, rows, source), keep, notes


def _is_indicator(cells: pd.Series) -> bool:
    """A column whose every cell is a number, a DfE symbol or blank (an indicator, not a filter); numbers may have
    thousands separators when the whole column is written with them (:func:`base.thousands_columns`)."""
    text = cells.fillna("").astype(str).str.strip()
    text = text[text.ne("") & ~text.isin(list(EES_SYMBOLS))]
    if not len(text):
        return False
    numeric = pd.to_numeric(text, errors="coerce").notna()
    if numeric.all():
        return True
    return bool(thousands_columns(pd.DataFrame({"c": text}), ["c"])) and bool(
        (numeric | text.map(has_thousands_separator)).all())


def has_filters(df: pd.DataFrame, geography_columns) -> bool:
    """Whether an EES file (all cells text) has at least one filter column (text) and one indicator column."""
    others = [c for c in df.columns if c not in geography_columns and str(c).strip() and c not in _NOT_FILTERS]
    indicators = [c for c in others if _is_indicator(df[c])]
    return bool(indicators) and len(indicators) < len(others)


def read_ees(df: pd.DataFrame, geo: pd.DataFrame, rows: pd.Series, source: str, geography_columns,
             problems: list[Problem], warnings: list[str] | None = None) -> tuple[pd.DataFrame, pd.Series, list[str]]:
    """Breakdowns of an EES file with filter columns (all cells text; ``geo`` from ``ees.geography_frame``,
    changed in place as joint-return members are folded).

    Returns the tidy frame, the mask of file rows kept and notes; unreadable cells are appended to
    ``problems`` (file, row, column, value) and nothing is returned for them. Indicator columns written wholly
    with thousands separators are read as the numbers shown, named in ``warnings``.
    """
    warnings = [] if warnings is None else warnings
    if is_ethnicity_by_role(df.columns):
        return _read_ethnicity_by_role(df, geo, rows, source, problems, warnings)
    others = [c for c in df.columns if c not in geography_columns and str(c).strip()
              and c not in _NOT_FILTERS]
    indicators = [c for c in others if _is_indicator(df[c])]
    filters = [c for c in others if c not in indicators]
    roles = [c for c in filters if c.lower() in ROLE_FILTERS]
    role = df[roles[0]].str.strip() if roles else all_roles()
    rest = [c for c in filters if c not in roles]
    if "breakdown_topic" in rest and "breakdown" in rest:
        topic, breakdown = df["breakdown_topic"].str.strip(), df["breakdown"].str.strip()
        rest = [c for c in rest if c not in ("breakdown_topic", "breakdown")]
        for c in rest:  # any further filter refines the breakdown
            breakdown = breakdown + ", " + _label(c) + ": " + df[c].str.strip()
    elif rest:
        topic = " and ".join(_label(c) for c in rest)
        breakdown = df[rest[0]].str.strip()
        for c in rest[1:]:
            breakdown = breakdown + " / " + df[c].str.strip()
    elif roles:
        topic, breakdown, role = "Role", df[roles[0]].str.strip(), all_roles()
    else:
        indicators = []
    parsed, separated = parse_separated(df, indicators, EES_SYMBOLS, source, rows, problems, allow_blank=True)
    if separated:
        warnings.append(separated_warning(separated))
    cells = [(col, col.strip().lower(), topic, breakdown, role, values, symbols) for col, (values, symbols) in
             zip(indicators, parsed)]
    return _folded([] if problems else cells, geo, rows, source)


def _label(column: str) -> str:
    """A filter column's name as a topic: ``ethnicity_major`` → ``Ethnicity major``."""
    text = re.sub(r"[_\s]+", " ", str(column)).strip()
    return text[:1].upper() + text[1:]


def _read_ethnicity_by_role(df, geo, rows, source, problems, warnings):
    spec = catalogue()["ethnicity_by_role"]
    role = df[spec["role_column"]].str.strip()
    wanted = [(name, measure, label) for col, label in spec["columns"].items()
              for name, measure in ((col, spec["measure"]),
                                    (col + spec["percentage_suffix"], spec["measure"] + "_percentage"))
              if name in df.columns]
    parsed, separated = parse_separated(df, [name for name, _, _ in wanted], EES_SYMBOLS, source, rows, problems)
    if separated:
        warnings.append(separated_warning(separated))
    cells = [(name, measure, spec["topic"], label, role, values, symbols)
             for (name, measure, label), (values, symbols) in zip(wanted, parsed)]
    return _folded([] if problems else cells, geo, rows, source)


# SFR column names, lower case without spaces and year (``sfr.normalise``): what each breakdown column holds.
_SFR_PATTERNS = [
    # in post by age / time in service (band letter), and their "data not available" (not known) column
    (re.compile(r"^a1a([a-e])_(fte|headcount)_(number|percentage)_+childrenssocialworkers_age"), "inpost", "age"),
    (re.compile(r"^a1b([a-f])_(fte|headcount)_(number|percentage)_+childrenssocialworkers_timeinservice"),
     "inpost", "time_in_service"),
    (re.compile(r"^a1a_(fte|headcount)_(number)_childrenssocialworkers_age_datanotavailable"), "inpost", "age"),
    (re.compile(r"^a1b_(fte|headcount)_(number)_childrenssocialworkers_timeinservice_datanotavailable"),
     "inpost", "time_in_service"),
    # in post by role
    (re.compile(r"^a1([a-f])_(fte|headcount)_(?:seniormanager|senior_practitioner|middle_manager|first_line_manager"
                r"|case_holder|qualified_without_cases)(_percentage)?_\d{4}$"), "inpost", "roles"),
    # starters and leavers by age, leavers by time in service
    (re.compile(r"^b1c([a-e])_(fte|headcount)_+(percentage_)?ageofstarters"), "starters", "age"),
    (re.compile(r"^b2c([a-e])_(fte|headcount)_+(percentage_)?age_leavers"), "leavers", "age"),
    (re.compile(r"^b2a([a-f])_(fte|headcount)_+(percentage_)?timeinserviceleavers"), "leavers", "time_in_service"),
]
_SFR_TOPICS = {"age": "Age", "time_in_service": "Time in service", "roles": "Role"}


def sfr_column(normalised: str) -> tuple[str, str, str] | None:
    """``(measure_id, breakdown_topic, breakdown)`` of an SFR breakdown column (name as ``sfr.normalise`` gives
    it), or None when the column is not one. E.g. ``a1ab_fte_percentage_childrenssocialworkers_age_2016`` →
    ``("inpost_fte_percentage", "Age", "30 to 39")``."""
    labels = catalogue()["sfr"]
    for pattern, flow, kind in _SFR_PATTERNS:
        m = pattern.match(normalised)
        if not m:
            continue
        groups = m.groups()
        if "datanotavailable" in normalised:
            unit, band = groups[0], "Not known"
            percentage = False
        else:
            letter, unit = groups[0], groups[1]
            percentage = any(g and "percentage" in g for g in groups[2:])
            band = labels[kind][letter]
        return f"{flow}_{unit}" + ("_percentage" if percentage else ""), _SFR_TOPICS[kind], band
    return None


def parse_sfr(df: pd.DataFrame, columns: dict[str, tuple[str, str, str]], rows: pd.Series, source: str,
              problems: list[Problem]) -> list[tuple]:
    """The cells of an SFR file's breakdown columns (``columns``: column -> :func:`sfr_column`'s answer), for
    :func:`sfr_breakdowns`; unreadable cells are appended to ``problems``."""
    parsed = parse_columns(df, list(columns), SFR_SYMBOLS, source, rows, problems, allow_thousands=True,
                           allow_blank=True)
    return [(col, measure, topic, band, all_roles(), values, symbols)
            for (col, (measure, topic, band)), (values, symbols) in zip(columns.items(), parsed)]


def sfr_breakdowns(cells: list[tuple], geo: pd.DataFrame, keep: pd.Series, rows: pd.Series,
                   source: str) -> pd.DataFrame:
    """The tidy breakdowns of an SFR file whose rows ``geo`` the indicator reader has already folded (joint
    returns) and kept (``keep``)."""
    return _finish(cells, geo, keep, rows, source)
