"""Reader for the wide SFR underlying data of the 2015 and 2016 collections (aggregate LA return).

One row per geography, one column per measure suffixed with the year, numbers with thousands
separators inside quotes, symbols x, .., . and -. Column names are inconsistent in case and spacing,
so they are matched after normalising (lower case, no spaces).
"""

from __future__ import annotations

import re

import pandas as pd

from .. import geography
from . import breakdowns
from .base import (
    SFR_SYMBOLS,
    InputError,
    Problem,
    ReadResult,
    la_codes,
    parse_columns,
    to_observations,
    unknown_councils,
)

GEOGRAPHY_COLUMNS = ["Country_code", "Country_name", "Region_code", "Region_name", "LA_code (9 digit)", "LA_name",
                     "LA_code (3 digit)"]

#: normalised column name (year suffix removed) -> canonical measure id
MEASURES = {
    "a1_fte_childrenssocialworkers": "inpost_fte",
    "a1_headcount_childrenssocialworkers": "inpost_headcount",
    "b1_fte_starters": "starters_fte",
    "b1_headcount_starters": "starters_headcount",
    "b2_fte_leavers": "leavers_fte",
    "b2_headcount_leavers": "leavers_headcount",
    "b3_fte_turnoverrate": "turnover_rate_fte",
    "b3_headcount_turnoverrate": "turnover_rate_headcount",
    "d1_fte_agencyworkers": "agency_fte",
    "d1_headcount_agencyworkers": "agency_headcount",
    "d1a_fte_agencyworkers": "agency_cover_fte",
    "d1a_headcount_agencyworkers": "agency_cover_headcount",
    "d2_fte_agencyworkerrate": "agency_rate_fte",
    "d2_headcount_agencyworkerrate": "agency_rate_headcount",
    "a2_fte_vacancies": "vacancy_fte",
    "a3_fte_vacancyrate": "vacancy_rate_fte",
    "c1_fte_absence": "working_days_lost_fte",
    "c2_fte_absencerate": "absence_rate_fte",
    "cinpercsw_fte": "cin_per_sw_fte",
    "cinpercsw_headcount": "cin_per_sw_headcount",
    "number_of_cases": "cases_aggregate",
    "number_of_cases_held_by_front_line_social_workers": "cases_frontline_aggregate",
    "average_caseload": "caseload_aggregate",
}
_ANCHOR = re.compile(r"^a1_fte_childrenssocialworkers_(\d{4})$")
_YEAR_SUFFIX = re.compile(r"_(\d{4})$")


def normalise(column: str) -> str:
    return re.sub(r"\s+", "", column).lower()


def data_year(columns) -> int | None:
    """The collection year of an SFR file, from its A1 column; None when this is not an SFR file."""
    for c in columns:
        m = _ANCHOR.match(normalise(c))
        if m:
            return int(m.group(1))
    return None


# SFR publication that carried each year's underlying data
PUBLICATIONS = {2015: "SFR07/2016", 2016: "SFR08/2017"}


def read(df: pd.DataFrame, source: str, layout: str = "sfr", release_id: str | None = None) -> ReadResult:
    year = data_year(df.columns)
    problems: list[Problem] = []
    # SFR08/2017's comma-only lines are dropped by read_file (filled_rows) before this sees them.
    rows = pd.Series(df.index + 2, index=df.index)

    mapping: dict[str, str] = {}
    breakdown_columns: dict[str, tuple[str, str, str]] = {}
    ignored = 0
    for col in df.columns:
        if col.strip() == "" or col in GEOGRAPHY_COLUMNS:
            continue
        norm = normalise(col)
        m = _YEAR_SUFFIX.search(norm)
        if m and int(m.group(1)) != year:
            problems.append(Problem(source, f"column for {m.group(1)} in a file of {year} data", None, col))
            continue
        base = norm[: m.start()] if m else norm
        if base in MEASURES:
            mapping[col] = MEASURES[base]
        elif breakdowns.sfr_column(norm):
            breakdown_columns[col] = breakdowns.sfr_column(norm)
        else:
            ignored += 1

    la = df["LA_code (3 digit)"].str.strip()
    region = df["Region_code"].str.strip()
    level = pd.Series("National", index=df.index)
    level[region.ne("")] = "Regional"
    level[la.ne("")] = "Local authority"
    unknown_councils(la_codes(la), level.eq("Local authority"), source,
                     "LA_code (3 digit)", rows, problems)
    for idx in df.index[df["Country_code"].str.strip().eq("")]:
        problems.append(Problem(source, "row without Country_code", int(rows[idx]), "Country_code", ""))

    values, symbols = {}, {}
    for (col, measure), parsed in zip(mapping.items(), parse_columns(df, list(mapping), SFR_SYMBOLS, source, rows,
                                                                     problems, allow_thousands=True)):
        values[measure], symbols[measure] = parsed
    cells = breakdowns.parse_sfr(df, breakdown_columns, rows, source, problems)
    if problems:
        raise InputError(problems)

    is_la = level.eq("Local authority")
    geo = pd.DataFrame({
        "time_period": year,
        "level": level,
        "old_la_code": la_codes(la).where(is_la, ""),
        "new_la_code": df["LA_code (9 digit)"].str.strip().where(is_la, ""),
        "area_name": df["LA_name"].str.strip(),
        "region_code": region,
        "region_name": df["Region_name"].str.strip(),
    })
    geo["area_code"] = geo["old_la_code"].where(is_la, region.where(level.eq("Regional"), geography.ENGLAND))
    geo.loc[level.eq("Regional"), "area_name"] = geo["region_code"].map(geography.regions())
    geo.loc[level.eq("National"), "area_name"] = "England"

    notes = [f"{ignored} columns not loaded (not a measure or breakdown this toolkit knows)"] if ignored else []
    observations, keep, folded = to_observations(geo, mapping, values, symbols, rows, source)
    notes += folded
    tidy = breakdowns.sfr_breakdowns(cells, geo, keep, rows, source)
    rid = release_id or PUBLICATIONS.get(year, f"SFR {year}")
    return ReadResult(source=source, layout=layout, release_id=rid,
                      release_title=f"{rid}: children's social work workforce at 30 September {year} (underlying data)",
                      release_kind="sfr", data_year=year, observations=observations,
                      sightings=geo[keep].assign(data_year=year, release_id=rid), notes=notes, breakdowns=tidy)
