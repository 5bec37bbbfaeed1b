"""Team rows of an aggregate return: checked against each other and the council row, and rolled up by service.

A return may give, beside its whole-council row (``team`` blank), one row per team with the same period, and
group the teams into services (``service``: front line, specialist services, independent reviewing...). The
checks (``check``) are those a council's own team table must pass before its figures are believed:

- two or more team rows are a team table, and add up to the council row within rounding, for every count the
  council row and all the team rows give (one team row alone is read as a named part of the council: it must
  not exceed the council's figure);
- FTE is at most the headcount (in post, agency, starters, leavers, vacancies) on every row;
- FTE in post + vacancies is the establishment, within max(0.05 FTE, 0.5 %), on every row that gives all three;
- the caseload band counts add up to no more than the case holders (``case_holders_headcount``, else the
  headcount in post plus agency workers).

``rollup`` turns the stored team rows of one return (``local_observations``) into the council's team table
with a subtotal for each service of two or more teams and a total, as Darlington's report sets it out.
"""

from __future__ import annotations

import pandas as pd

from .problems import Problem

FTE_HEADCOUNT = [("inpost_fte", "inpost_headcount"), ("agency_fte", "agency_headcount"),
                 ("starters_fte", "starters_headcount"), ("leavers_fte", "leavers_headcount"),
                 ("vacancy_fte", "vacancy_headcount")]
BANDS = ["caseload_18_or_less_headcount", "caseload_19_to_24_headcount", "caseload_25_plus_headcount"]
# The team table's columns (measure ids of local_observations), in the order a team table shows them.
COLUMNS = ["inpost_headcount", "inpost_fte", "vacancy_fte", "agency_headcount", "agency_fte", *BANDS]


def _decimals(text: str) -> int:
    text = str(text).strip().rstrip("%")
    return len(text.split(".", 1)[1]) if "." in text else 0


def _rows(rows) -> str:
    rows = list(rows)
    return f"row {rows[0]}" if len(rows) == 1 else f"rows {', '.join(map(str, rows))}"


def check(file: str, df: pd.DataFrame, values: dict[str, pd.Series], area: pd.Series, start: pd.Series,
          end: pd.Series, keep: pd.Series) -> list[Problem]:
    """Every problem of the team rows and their council rows among the ``keep`` rows of a parsed aggregate
    return (``values``: column -> numbers, NaN where blank; rows are spreadsheet rows). Returns problems naming
    file, row, column and value; never raises."""
    problems: list[Problem] = []
    rows = [r for r in df.index[keep.to_numpy()] if pd.notna(start[r]) and pd.notna(end[r])]
    given = lambda col, r: col in values and pd.notna(values[col][r])  # noqa: E731
    for r in rows:
        for fte, head in FTE_HEADCOUNT:
            if given(fte, r) and given(head, r) and values[fte][r] > values[head][r] + 0.005:
                problems.append(Problem(file, f"is more than {head} {values[head][r]:g}: an FTE cannot exceed the "
                                        "number of people (or posts) it is counted over", int(r), fte, df.at[r, fte]))
        if all(given(c, r) for c in ("inpost_fte", "vacancy_fte", "establishment_fte")):
            est, total = values["establishment_fte"][r], values["inpost_fte"][r] + values["vacancy_fte"][r]
            if abs(total - est) > max(0.05, 0.005 * est):
                problems.append(Problem(file, f"is not FTE in post + vacancies ({values['inpost_fte'][r]:g} + "
                                        f"{values['vacancy_fte'][r]:g} = {total:.2f})", int(r), "establishment_fte",
                                        df.at[r, "establishment_fte"]))
        bands = [c for c in BANDS if given(c, r)]
        if bands:
            held = sum(values[c][r] for c in bands)
            if given("case_holders_headcount", r):
                limit, what = values["case_holders_headcount"][r], "case_holders_headcount"
            elif given("inpost_headcount", r) and given("agency_headcount", r):
                limit = values["inpost_headcount"][r] + values["agency_headcount"][r]
                what = "inpost_headcount + agency_headcount"
            else:
                limit = None
            if limit is not None and held > limit:
                problems.append(Problem(file, f"the caseload bands ({', '.join(bands)}) count {held:g} case holders, "
                                        f"more than {what} {limit:g}", int(r), bands[0], df.at[r, bands[0]]))
    team = df["team"].str.strip()
    groups: dict[tuple, list] = {}
    for r in rows:
        groups.setdefault((area[r], start[r], end[r]), []).append(r)
    for members in groups.values():
        council = [r for r in members if team[r] == ""]
        teams = [r for r in members if team[r] != ""]
        if len(council) != 1 or not teams:
            continue
        c = council[0]
        for col in values:
            if col.startswith("reported_") or not given(col, c) or not all(given(col, r) for r in teams):
                continue
            total = sum(values[col][r] for r in teams)
            places = max(_decimals(df.at[r, col]) for r in [c, *teams])
            tol = 0.5 * 10 ** -places * (len(teams) + 1) + 1e-9
            if len(teams) == 1 and total > values[col][c] + tol:
                problems.append(Problem(file, f"team row {teams[0]} gives {total:g}, more than the council total",
                                        int(c), col, df.at[c, col]))
            elif len(teams) > 1 and abs(total - values[col][c]) > tol:
                problems.append(Problem(file, f"the team rows ({_rows(teams)}) add up to {total:.{places}f}, not "
                                        f"this council total (more than rounding); correct a team or the total",
                                        int(c), col, df.at[c, col]))
    return problems


def rollup(rows: pd.DataFrame) -> list[dict]:
    """The team table of one return from its ``local_observations`` team rows (columns team, service, measure_id,
    value; a suppressed or missing figure has value None). Returns, in the order the teams were given, one dict per
    team, then after the last team of each service of two or more teams its subtotal, then the total:
    ``{"label", "kind": "team" | "subtotal" | "total", "service", "values": {measure_id: float | None}}``, with
    ``establishment_fte`` = FTE in post + vacancies. A subtotal adds the figures as stored (FTE to one decimal
    place, as DfE publishes); a column no team gives is None, and any suppressed cell makes its sums None."""
    if rows.empty:
        return []
    rows = rows.assign(service=rows["service"].fillna("") if "service" in rows else "")
    teams = list(dict.fromkeys(rows["team"]))
    service = rows.drop_duplicates("team").set_index("team")["service"].to_dict()
    wide = rows.pivot_table(index="team", columns="measure_id", values="value", aggfunc="first", dropna=False)
    symbols = rows[rows.get("symbol", pd.Series(dtype=object)).fillna("") != ""] if "symbol" in rows else rows.iloc[:0]
    hidden = set(zip(symbols["team"], symbols["measure_id"]))

    def line(label, kind, svc, members) -> dict:
        vals = {}
        for col in COLUMNS:
            got = [wide.at[t, col] for t in members if col in wide and pd.notna(wide.at[t, col])]
            vals[col] = None if not got or any((t, col) in hidden for t in members) else round(float(sum(got)), 6)
        fte, vac = vals["inpost_fte"], vals["vacancy_fte"]
        vals["establishment_fte"] = None if fte is None or vac is None else round(fte + vac, 6)
        return {"label": label, "kind": kind, "service": svc, "values": vals}

    out = []
    order = list(dict.fromkeys(service[t] for t in teams))
    for svc in order:
        members = [t for t in teams if service[t] == svc]
        out += [line(t, "team", svc, [t]) for t in members]
        if svc and len(members) > 1:
            out.append(line(f"Total {svc}", "subtotal", svc, members))
    out.append(line("Total of the teams", "total", "", teams))
    return out
