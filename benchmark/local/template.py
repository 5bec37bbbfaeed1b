"""The aggregate local return: one row per council (or team) and period, with the components DfE's formulas
need and, optionally, the figures the council itself reported and how it defined them.

``python -m benchmark.local.template DIR`` writes the blank template as ``DIR/template.csv`` and
``DIR/template.xlsx`` (a data sheet plus a sheet describing every column).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from .. import measures
from ..fileio import atomic_write, write_text
from . import parse, rules, teams
from .problems import InputError, Problem

IDENTITY = {
    "area_code": "DfE 3-digit LA number (old_la_code), e.g. 841; joint returns as 314 / 318. Required.",
    "la_name": "Council name (free text).",
    "team": "Blank for the whole council; a team name for a team row. Two or more team rows must add up to the council row (within rounding).",
    "service": "For a team row, the service it belongs to (e.g. Front line, Specialist services, Independent reviewing); team tables are subtotalled by service.",
    "period_start": "First day of the period the flows (starters, leavers, days lost) cover. Required. DfE: 1 October.",
    "period_end": "Last day of that period, and the date of the snapshot (in post, agency, vacancies, cases). Required. DfE: 30 September.",
    "notes": "Free text shown as a caveat on every figure of the row (e.g. what the council's counts include).",
}
STAND_INS = {
    "establishment_fte": "Funded establishment, FTE. Used to derive vacancies (establishment - in post) or FTE in post (establishment - vacancies) when one is missing.",
    "vacancy_headcount": "Vacancies counted as posts, when FTE is not known.",
    "agency_cover_headcount": "Agency workers covering vacancies, headcount.",
    "case_holders_headcount": "Case-holding workers, headcount, when their FTE is not known (caseload per head).",
}
# The columns of the blank template, in order; any other measure id of the catalogue is accepted too.
TEMPLATE_COLUMNS = [
    *IDENTITY, "inpost_fte", "inpost_headcount", "starters_fte", "starters_headcount", "leavers_fte",
    "leavers_headcount", "agency_fte", "agency_headcount", "agency_cover_fte", "vacancy_fte", "vacancy_headcount",
    "establishment_fte", "case_holders_fte", "case_holders_headcount", "cases", "working_days_lost_fte",
    "caseload_18_or_less_headcount", "caseload_19_to_24_headcount", "caseload_25_plus_headcount",
    "stable_headcount",
    *[f"reported_{m}{s}" for m in ("turnover_rate_fte", "agency_rate_fte", "vacancy_rate_fte", "caseload_fte",
                                   "absence_rate_fte") for s in ("", "_definition")],
    "stable_2y_headcount", "stable_5y_headcount", "asye_registered_headcount", "asye_completed_headcount",
    "asye_deferred_headcount", "asye_left_before_completing_headcount", "asye_left_after_completing_headcount",
    "starters_nq_headcount", "starters_experienced_headcount", "leavers_nq_headcount",
    "leavers_experienced_headcount", "agency_over_12m_headcount",
    "comparator_turnover_rate_fte", "comparator_turnover_rate_fte_name",
    *[f"quoted_{m}{s}" for m in ("turnover_rate_fte", "vacancy_rate_fte", "agency_rate_fte", "absence_rate_fte")
      for s in ("", "_area")],
]
# Named figures kept beside a measure: an internal comparator ("council-wide turnover 15.02") and a comparator
# the council's report quotes ("national vacancy 16.5"), each with the text column naming it.
EXTRAS = {"comparator_": "_name", "quoted_": "_area"}


def _extra(col: str) -> tuple[str, str] | None:
    """(prefix, measure id) of a comparator_ or quoted_ value column, else None."""
    for prefix, text in EXTRAS.items():
        if col.startswith(prefix) and not col.endswith(text):
            return prefix, col.removeprefix(prefix)
    return None


def components() -> list[str]:
    """Measure ids a return may give directly: every count (not rate) DfE publishes or we compute locally."""
    return [m.id for m in rules.aligned_measures() if not m.is_rate]


def allowed_columns() -> set[str]:
    ids = [m.id for m in rules.aligned_measures()]
    return {*IDENTITY, *STAND_INS, *components(), *(f"reported_{i}" for i in ids),
            *(f"reported_{i}_definition" for i in ids),
            *(f"{p}{i}{s}" for p, text in EXTRAS.items() for i in ids for s in ("", text))}


def column_descriptions() -> dict[str, str]:
    out = dict(IDENTITY)
    for c in TEMPLATE_COLUMNS[len(IDENTITY):]:
        if c in STAND_INS:
            out[c] = STAND_INS[c]
        elif c.startswith("comparator_"):
            mid = c.removeprefix("comparator_").removesuffix("_name")
            out[c] = (f"What the internal reference figure for {mid} is, e.g. 'council-wide' or 'whole directorate'."
                      if c.endswith("_name") else f"An internal reference figure for {mid} (rates 0-100), e.g. "
                      "the council-wide turnover, shown beside the figure.")
        elif c.startswith("quoted_"):
            mid = c.removeprefix("quoted_").removesuffix("_area")
            out[c] = (f"The area the report says its quoted {mid} is for: England (blank), or a region's name."
                      if c.endswith("_area") else f"A comparator for {mid} the council's report quotes (rates "
                      "0-100), e.g. national vacancy 16.5; csww align --db checks which DfE year and area it matches.")
        elif c.startswith("reported_"):
            mid = c.removeprefix("reported_").removesuffix("_definition")
            out[c] = (f"How the council defined its own figure for {mid}." if c.endswith("_definition")
                      else f"The council's own figure for {mid}, as it reported it (rates 0-100).")
        else:
            out[c] = measures.get(c).definition
    return out


def read(path: Path, df: pd.DataFrame, la: str | None, min_count: int, **match) -> list:
    file = str(path)
    problems = parse.check_columns(df, file, ["area_code", "period_start", "period_end"], allowed_columns())
    if problems:
        raise InputError(problems)
    for col in ("team", "service", "la_name", "notes"):
        if col not in df.columns:
            df[col] = ""
    area = df["area_code"].map(rules.normalise_area)
    wrong = area.map(rules.area_problem)
    for message in wrong.dropna().unique():
        parse.report(file, "area_code", df["area_code"], wrong == message, message, problems)
    start = parse.dates(df, "period_start", file, problems)
    end = parse.dates(df, "period_end", file, problems)
    for col, s in (("period_start", start), ("period_end", end)):
        parse.report(file, col, df[col], s.isna() & (df[col].str.strip() == ""), "required", problems)
    parse.report(file, "period_end", df["period_end"], end < start, "is before period_start", problems)
    parse.report(file, "period_end", df["period_end"], (end - start).dt.days > 365,
                  "period is longer than a year; DfE flows cover 1 October to 30 September", problems)
    member = area.copy()
    ok = area.str.fullmatch(r"\d{3}") & end.notna()
    area[ok] = [rules.joint_area(a, e.date()) for a, e in zip(area[ok], end[ok])]
    key = pd.DataFrame({"a": area, "t": df["team"].str.strip(), "s": start, "e": end})
    second = key.duplicated(keep="first")
    joint = second & (area != member)
    parse.report(file, "area_code", df["area_code"], joint,
                 "DfE publishes this council with its partner as one joint return; give one row for the joint "
                 "return (e.g. 314 / 318), not one per member", problems)
    parse.report(file, "team", df["team"], second & ~joint,
                  "a second row for the same area_code, team and period", problems)
    values = {}
    for col in df.columns:
        if col in IDENTITY or col.endswith("_definition") or (col.startswith(tuple(EXTRAS)) and not _extra(col)):
            continue
        mid = _extra(col)[1] if _extra(col) else col.removeprefix("reported_")
        unit = measures.get(mid).unit if mid in measures.catalogue() else "FTE"
        values[col] = parse.numbers(df, col, file, problems, high=100 if unit == "percent" else None,
                                    integer=unit in {"headcount", "cases"} and not col.startswith("reported_")
                                    and not _extra(col),
                                    what=" (rates are percentages 0-100)" if unit == "percent" else "",
                                    percent=unit == "percent")
    if la is not None:
        la = rules.normalise_area(la)
        keep = (area == la) | (member == la)
        if not keep.any():
            problems.append(Problem(file, "no rows for this area_code (--la)", None, "area_code", la))
    else:
        keep = pd.Series(True, index=area.index)
    problems += teams.check(file, df, {k: s for k, s in values.items() if not _extra(k)}, area, start, end, keep)
    if problems:
        raise InputError(problems)
    out = []
    for row in df.index[keep.to_numpy()]:
        c = rules.Components(area_code=area[row], team=df.at[row, "team"].strip(),
                             service=df.at[row, "service"].strip() if df.at[row, "team"].strip() else "",
                             period_start=start[row].date(),
                             period_end=end[row].date(), input_kind="aggregate", source_file=file,
                             rows_used=f"row {row}")
        for col, s in values.items():
            v = s[row]
            if pd.isna(v):
                continue
            if _extra(col):
                prefix, mid = _extra(col)
                text = col + EXTRAS[prefix]
                named = df.at[row, text].strip() if text in df.columns else ""
                (c.quoted if prefix == "quoted_" else c.comparators)[mid] = (float(v), named)
            elif col.startswith("reported_"):
                c.reported[col.removeprefix("reported_")] = (float(v), df.at[row, col + "_definition"].strip()
                                                             if col + "_definition" in df.columns else "")
            elif col in STAND_INS:
                c.stand_ins[col] = float(v)
            else:
                c.values[col] = float(v)
        for col in df.columns:  # a definition without a value still tells the reader what the council meant
            mid = col.removeprefix("reported_").removesuffix("_definition")
            if col.endswith("_definition") and df.at[row, col].strip() and mid not in c.reported:
                c.reported[mid] = (None, df.at[row, col].strip())
        if area[row] != member[row]:
            c.general.append((rules.joint_caveat(member[row], area[row]), False))
        if df.at[row, "notes"].strip():
            c.general.append((f"council's note: {df.at[row, 'notes'].strip().replace(';', ',')}", False))
        problems += _derive(c, file, row)
        out.append(c)
    if problems:
        raise InputError(problems)
    return [f for c in out for f in rules.build(c, min_count, **match)]


def _derive(c: rules.Components, file: str, row: int) -> list[Problem]:
    """Vacancies or FTE in post from the establishment, when the council gave one but not the other."""
    est = c.stand_ins.get("establishment_fte")
    if est is None:
        return []
    if "vacancy_fte" not in c.values and "inpost_fte" in c.values:
        if est < c.values["inpost_fte"]:
            return [Problem(file, f"is below inpost_fte {c.values['inpost_fte']:g}", row, "establishment_fte", f"{est:g}")]
        c.values["vacancy_fte"] = round(est - c.values["inpost_fte"], 6)
        c.basis["vacancy_fte"] = "derived as establishment_fte - inpost_fte"
        c.note("vacancy_fte", "vacancies derived from the establishment (establishment - FTE in post); an establishment "
               "list may count agency-covered posts twice")
    elif "inpost_fte" not in c.values and "vacancy_fte" in c.values:
        if est < c.values["vacancy_fte"]:
            return [Problem(file, f"is below vacancy_fte {c.values['vacancy_fte']:g}", row, "establishment_fte", f"{est:g}")]
        c.values["inpost_fte"] = round(est - c.values["vacancy_fte"], 6)
        c.basis["inpost_fte"] = "derived as establishment_fte - vacancy_fte"
        c.note("inpost_fte", "FTE in post derived from the establishment (establishment - vacancies), not counted "
               "from staff records; it may include posts DfE does not count")
    return []


def write_template(directory: Path) -> tuple[Path, Path]:
    """Write the blank template as CSV and XLSX (no macros) into ``directory``."""
    from openpyxl import Workbook  # optional heavy import: only when the template is written
    from openpyxl.styles import Font

    directory.mkdir(parents=True, exist_ok=True)
    csv_path, xlsx_path = directory / "template.csv", directory / "template.xlsx"
    write_text(csv_path, ",".join(TEMPLATE_COLUMNS) + "\n")
    wb = Workbook()
    ws = wb.active
    ws.title = "return"
    ws.append(TEMPLATE_COLUMNS)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    doc = wb.create_sheet("columns")
    doc.append(["column", "meaning"])
    for col, text in column_descriptions().items():
        doc.append([col, text])
    doc.append(["(any other count id)", "Any count in benchmark/catalogue/measures.yml, and reported_<id> / "
                "reported_<id>_definition for any measure id, are accepted too."])
    with atomic_write(xlsx_path) as tmp:
        wb.save(tmp)
    return csv_path, xlsx_path


if __name__ == "__main__":
    for p in write_template(Path(sys.argv[1] if len(sys.argv) > 1 else "examples")):
        print(p)
