"""Readers for the tidy EES layouts: 2023+ "indicators" and the 2022 "headline measures" file."""

from __future__ import annotations

import pandas as pd

from .. import measures
from . import breakdowns
from .base import (
    EES_SYMBOLS,
    LEVELS,
    OBSERVATION_COLUMNS,
    InputError,
    Problem,
    ReadResult,
    la_codes,
    parse_separated,
    separated_warning,
    to_observations,
    unknown_councils,
)

GEOGRAPHY_COLUMNS = ["time_period", "time_identifier", "geographic_level", "country_code", "country_name",
                     "region_code", "region_name", "old_la_code", "new_la_code", "la_name"]

#: 2023, 2024 and 2025 releases: the column names are the canonical measure ids.
INDICATORS = {c: c for c in [
    "inpost_fte", "inpost_headcount", "starters_fte", "starters_headcount", "leavers_fte", "leavers_headcount",
    "turnover_rate_fte", "turnover_rate_headcount", "agency_fte", "agency_headcount", "agency_rate_fte",
    "agency_rate_headcount", "agency_cover_fte", "agency_cover_rate_fte", "vacancy_fte", "vacancy_rate_fte",
    "vacancy_agency_cover_rate_fte", "case_holders_fte", "cases", "caseload_fte", "working_days_lost_fte",
    "absence_rate_fte"]}

#: 2022 release: other names, no starters (reference section 2.4).
HEADLINE_2022 = {
    "social_worker_fte": "inpost_fte", "social_worker_headcount": "inpost_headcount",
    "leaver_fte": "leavers_fte", "leaver_headcount": "leavers_headcount",
    "turnover_rate_fte_%": "turnover_rate_fte", "turnover_rate_headcount_%": "turnover_rate_headcount",
    "agency_fte": "agency_fte", "agency_headcount": "agency_headcount",
    "agency_worker_rate_fte_%": "agency_rate_fte", "agency_worker_rate_headcount_%": "agency_rate_headcount",
    "agency_cover_fte": "agency_cover_fte", "agency_cover_rate_fte_%": "agency_cover_rate_fte",
    "vacancy_fte": "vacancy_fte", "vacancy_rate_fte_%": "vacancy_rate_fte",
    "vacancy_agency_cover_rate_fte_%": "vacancy_agency_cover_rate_fte",
    "case_holders_fte": "case_holders_fte", "cases": "cases", "caseload_fte": "caseload_fte",
    "working_days_lost_fte": "working_days_lost_fte", "absence_rate_fte_%": "absence_rate_fte",
}

LAYOUTS = {
    "ees-indicators": ("EES indicators layout (2023 release onwards)", INDICATORS),
    "ees-headline-2022": ("EES headline measures layout (2022 release)", HEADLINE_2022),
}


def extra_columns(columns, layout: str) -> tuple[dict[str, str], list[str]]:
    """Columns beyond ``layout``: those named as a catalogue measure (loaded as it), and warnings naming each."""
    title, mapping = LAYOUTS[layout]
    cat = measures.catalogue()
    loaded, warnings = {}, []
    for col in columns:
        name = str(col).strip()
        if not name or col in GEOGRAPHY_COLUMNS or col in mapping:
            continue
        if name in cat and name not in mapping.values() and name not in loaded.values():
            loaded[col] = name
            warnings.append(f"column {name!r} is not part of the {title}; loaded as the catalogue's measure "
                            f"{name} ({cat[name].label})")
        elif name in cat:
            warnings.append(f"column {name!r} repeats a measure the {title} already gives; not loaded")
        else:
            warnings.append(f"column {name!r} is not part of the {title} and not a measure this toolkit knows; "
                            "not loaded")
    return loaded, warnings


def read(df: pd.DataFrame, source: str, layout: str, release_id: str | None = None) -> ReadResult:
    """Read a tidy EES frame (all cells as text) already recognised as ``layout``.

    Columns beyond the layout are loaded when the catalogue knows them by name and otherwise skipped, each
    named in ``ReadResult.warnings``. A council code this toolkit does not know is an error.
    """
    _, mapping = LAYOUTS[layout]
    extra, warnings = extra_columns(df.columns, layout)
    mapping = {**mapping, **extra}
    problems: list[Problem] = []
    rows = pd.Series(df.index + 2, index=df.index)  # file line numbers, header = 1
    check_geography(df, source, rows, problems)

    parsed, separated = parse_separated(df, list(mapping), EES_SYMBOLS, source, rows, problems)
    values = {measure: v for measure, (v, _) in zip(mapping.values(), parsed)}
    symbols = {measure: s for measure, (_, s) in zip(mapping.values(), parsed)}
    if problems:
        raise InputError(problems)
    if separated:
        warnings.append(separated_warning(separated))

    geo = geography_frame(df)

    # 2022-style joint returns: member rows appear separately, one with the figures, the rest all "z".
    observations, keep, notes = to_observations(geo, mapping, values, symbols, rows, source)

    data_year = int(geo["time_period"].max())
    rid = release_id or str(data_year)
    sightings = geo[keep].assign(data_year=data_year, release_id=rid)
    return ReadResult(source=source, layout=layout, release_id=rid,
                      release_title=f"Children's social work workforce {rid} (EES)", release_kind="ees",
                      data_year=data_year, observations=observations, sightings=sightings, notes=notes,
                      warnings=warnings)


def read_breakdowns(df: pd.DataFrame, source: str, release_id: str | None = None) -> ReadResult:
    """Read an EES file of breakdowns (filter columns: role, breakdown topic, breakdown) into
    ``ReadResult.breakdowns`` (see :mod:`benchmark.readers.breakdowns`); it has no indicator observations."""
    problems: list[Problem] = []
    rows = pd.Series(df.index + 2, index=df.index)
    check_geography(df, source, rows, problems)
    if problems:
        raise InputError(problems)
    geo = geography_frame(df)
    warnings: list[str] = []
    tidy, keep, notes = breakdowns.read_ees(df, geo, rows, source, GEOGRAPHY_COLUMNS, problems, warnings)
    if problems:
        raise InputError(problems)
    data_year = int(geo["time_period"].max())
    rid = release_id or str(data_year)
    observations = pd.DataFrame({c: pd.Series(dtype=object) for c in OBSERVATION_COLUMNS})
    return ReadResult(source=source, layout="ees-breakdowns", release_id=rid,
                      release_title=f"Children's social work workforce {rid} (EES)", release_kind="ees",
                      data_year=data_year, observations=observations,
                      sightings=geo[keep].assign(data_year=data_year, release_id=rid), notes=notes, breakdowns=tidy,
                      warnings=warnings)


def check_geography(df: pd.DataFrame, source: str, rows: pd.Series, problems: list[Problem]) -> None:
    """Append a problem for each row whose year, level or codes (the EES geography columns) cannot be read."""
    years = pd.to_numeric(df["time_period"], errors="coerce")
    for idx in df.index[years.isna() | (years < 2000) | (years > 2100)]:
        problems.append(Problem(source, "time_period must be a four-digit reporting year", int(rows[idx]),
                                "time_period", df.at[idx, "time_period"]))
    bad_level = ~df["geographic_level"].isin(LEVELS)
    for idx in df.index[bad_level]:
        problems.append(Problem(source, "geographic_level must be one of " + ", ".join(LEVELS), int(rows[idx]),
                                "geographic_level", df.at[idx, "geographic_level"]))
    la_rows = df["geographic_level"].eq("Local authority")
    for col in ("old_la_code", "la_name"):
        for idx in df.index[la_rows & df[col].str.strip().eq("")]:
            problems.append(Problem(source, f"local authority row without {col}", int(rows[idx]), col, ""))
    unknown_councils(la_codes(df["old_la_code"]), la_rows, source, "old_la_code", rows,
                     problems)
    reg_rows = df["geographic_level"].eq("Regional")
    for idx in df.index[reg_rows & df["region_code"].str.strip().eq("")]:
        problems.append(Problem(source, "regional row without region_code", int(rows[idx]), "region_code", ""))


def geography_frame(df: pd.DataFrame) -> pd.DataFrame:
    """One row per file row: ``time_period``, ``level``, ``old_la_code``, ``new_la_code``, ``area_name``,
    ``region_code``, ``region_name``, ``country_code`` and the DfE ``area_code`` (3-digit LA code, else the
    region's or England's ONS code). Call after :func:`check_geography` found no problem."""
    years = pd.to_numeric(df["time_period"], errors="coerce")
    la_rows = df["geographic_level"].eq("Local authority")
    reg_rows = df["geographic_level"].eq("Regional")
    geo = pd.DataFrame({
        "time_period": years.astype(int),
        "level": df["geographic_level"],
        "old_la_code": la_codes(df["old_la_code"]).where(la_rows, ""),
        "new_la_code": df["new_la_code"].str.strip().where(la_rows, ""),
        "area_name": df["la_name"].str.strip(),
        "region_code": df["region_code"].str.strip(),
        "region_name": df["region_name"].str.strip(),
        "country_code": df["country_code"].str.strip(),
    })
    geo["area_code"] = geo["old_la_code"].where(la_rows, geo["region_code"].where(reg_rows, geo["country_code"]))
    geo.loc[reg_rows, "area_name"] = geo.loc[reg_rows, "region_name"]
    geo.loc[df["geographic_level"].eq("National"), "area_name"] = df["country_name"]
    return geo
