"""Ethnicity by seniority: a council's social workers by ethnic group and role, beside its region, England and
its statistical neighbours' median, from the ``breakdowns`` table.

DfE publishes each ethnic group's share of the workers *whose ethnicity is known* (headcount), for all children
and family social workers and for each role (2019-2022 "role by ethnicity" file; the 2023 release onwards
"role by characteristics"). The comparison figure here is the share from ethnic minority groups: every group
other than White, i.e. ``100 - White %`` of DfE's published White percentage, so it keeps DfE's one decimal.
The neighbour median is the median of the neighbours' shares (the model the council's comparisons use in
that year), rounded half up to one decimal as DfE rounds. The share whose ethnicity is not known is stated
from DfE's own counts: its "Not known" row where the file has one, otherwise the known headcount against the
in-post headcount of the indicator file.

Used by the site's council page and the committee pack, so both say the same.
"""

from __future__ import annotations

import sqlite3
import statistics

from . import charts, geography
from .formatting import fmt_number
from .measures import round_half_up
from .readers.breakdowns import all_roles, catalogue

TOPIC = "Ethnicity"
WHITE = "White"
MEASURE = "inpost_headcount_percentage"
COUNT = "inpost_headcount"
#: What the comparison figure is called wherever it is shown.
LABEL = "Social workers from ethnic minority groups (% of those whose ethnicity is known)"
DEFINITION = ("The share of children and family social workers (headcount) from ethnic minority groups, that is "
              "from every group other than White, among those whose ethnicity is known: 100 minus DfE's published "
              "White percentage. Source: DfE, Children's social work workforce, role by ethnicity.")


def _has_breakdowns(conn: sqlite3.Connection) -> bool:
    return conn.execute("select 1 from sqlite_master where type = 'table' and name = 'breakdowns'").fetchone() \
        is not None


def groups() -> list[str]:
    """DfE's ethnic groups in its order (White first)."""
    return [g for g in catalogue()["ethnicity_by_role"]["columns"].values() if g != "Known"]


def roles() -> list[str]:
    """All social workers, then DfE's roles from most to least senior."""
    return [all_roles(), *catalogue()["roles"]]


def _minority(white: float | None) -> float | None:
    return None if white is None else round_half_up(100.0 - white, 1)


def by_seniority(conn: sqlite3.Connection, area_code: str, year: int | None = None) -> dict | None:
    """The council's ethnicity by seniority in the latest year with figures up to ``year`` (default: latest).

    Returns None when the database holds no ethnicity breakdown for the council, else a dict:
    ``year``; ``area_name``, ``region_name``; ``neighbour_model`` and ``neighbours`` (codes used);
    ``rows`` — one per role (:func:`roles`, those published): ``role``, ``council``, ``region``, ``england``,
    ``sn_median`` (percentages from ethnic minority groups, one decimal, None where DfE gives a symbol),
    ``council_symbol``, ``sn_count`` (neighbours with a figure), ``known`` (headcount whose ethnicity is known);
    ``detail`` — per role, each group's published % for the council (``groups``: the group labels);
    ``unknown`` — ``{"known", "total", "not_known", "share"}`` for all social workers, or None where DfE gives
    no total; ``note`` — the sentence stating the unknown share.
    """
    if not _has_breakdowns(conn):
        return None
    got = conn.execute("select max(time_period) from breakdowns where breakdown_topic = ? and area_code = ? "
                       "and time_period <= ?", [TOPIC, area_code, year or 9999]).fetchone()
    if not got or got[0] is None:
        return None
    y = int(got[0])
    area = conn.execute("select area_name, region_code, region_name from areas where area_code = ?",
                        [area_code]).fetchone()
    if area is None:
        return None
    area_name, region_code, region_name = area
    model_row = conn.execute("select sn_model from comparisons where area_code = ? and time_period = ? and "
                             "sn_model is not null limit 1", [area_code, y]).fetchone() \
        if conn.execute("select 1 from sqlite_master where name = 'comparisons'").fetchone() else None
    model = model_row[0] if model_row else None
    neighbours = [r[0] for r in conn.execute(
        "select neighbour_code from neighbours where area_code = ? and model = ? order by position",
        [area_code, model])] if model else []

    def cells(codes: list[str], breakdown: str, measure: str) -> dict[tuple[str, str], tuple]:
        if not codes:
            return {}
        marks = ",".join("?" * len(codes))
        return {(r[0], r[1]): (r[2], r[3]) for r in conn.execute(
            f"select area_code, role, value, symbol from breakdowns where breakdown_topic = ? and time_period = ? "
            f"and breakdown = ? and measure_id = ? and area_code in ({marks})", [TOPIC, y, breakdown, measure, *codes])}

    places = [area_code, *([region_code] if region_code else []), geography.ENGLAND]
    white = cells(places + neighbours, WHITE, MEASURE)
    known = cells([area_code], "Known", COUNT)
    rows = []
    for role in roles():
        mine = white.get((area_code, role))
        if mine is None:
            continue
        shares = [_minority(white[(n, role)][0]) for n in neighbours if white.get((n, role), (None,))[0] is not None]
        rows.append({
            "role": role, "council": _minority(mine[0]), "council_symbol": mine[1],
            "region": _minority(white.get((region_code, role), (None,))[0]),
            "england": _minority(white.get((geography.ENGLAND, role), (None,))[0]),
            "sn_median": round_half_up(statistics.median(shares), 1) if shares else None, "sn_count": len(shares),
            "known": known.get((area_code, role), (None,))[0]})
    mine = {(r[0], r[1]): (r[2], r[3]) for r in conn.execute(
        "select role, breakdown, value, symbol from breakdowns where breakdown_topic = ? and time_period = ? "
        "and area_code = ? and measure_id = ?", [TOPIC, y, area_code, MEASURE])}   # one query, every role and group
    detail = [{"role": r["role"], "values": {g: mine.get((r["role"], g), (None, None)) for g in groups()}}
              for r in rows]
    unknown = _unknown(conn, area_code, y, rows)
    note = None
    if unknown:
        note = (f"Ethnicity is recorded for {unknown['known']:,.0f} of {area_name}'s {unknown['total']:,.0f} social "
                f"workers (headcount) in {y}; {unknown['not_known']:,.0f} ({unknown['share']}%) are not known and are "
                "left out of the percentages.")
    return {"year": y, "area_code": area_code, "area_name": area_name, "region_name": region_name,
            "neighbour_model": model, "neighbours": neighbours, "rows": rows, "groups": groups(), "detail": detail,
            "unknown": unknown, "note": note, "label": LABEL, "definition": DEFINITION}


def _unknown(conn: sqlite3.Connection, area_code: str, year: int, rows: list[dict]) -> dict | None:
    """Known, not known and total headcount of all social workers: DfE's "Not known"/"Total" rows where the file
    has them, else the known headcount against the indicator file's in-post headcount."""
    def one(breakdown: str):
        r = conn.execute("select value from breakdowns where breakdown_topic = ? and time_period = ? and "
                         "area_code = ? and role = ? and breakdown = ? and measure_id = ?",
                         [TOPIC, year, area_code, all_roles(), breakdown, COUNT]).fetchone()
        return r[0] if r else None
    known = one("Known")
    total = one("Total")
    not_known = one("Not known")
    if total is None:
        r = conn.execute("select value from observations where time_period = ? and area_code = ? and measure_id = ?",
                         [year, area_code, COUNT]).fetchone()
        total = r[0] if r else None
    if known is None and total is not None and not_known is not None:
        known = total - not_known
    if known is None or not total:
        return None
    not_known = total - known if not_known is None else not_known
    return {"known": known, "total": total, "not_known": not_known,
            "share": round_half_up(100.0 * not_known / total, 1)}


def chart(view: dict, chart_id: str = "chart-ethnicity") -> tuple[str, str]:
    """Bars of the council's share from ethnic minority groups in each role, with England's, the region's and the
    neighbour median's share for all social workers as reference lines: ``(svg, alt)`` (the alt text gives the
    numbers; the table beside the chart gives every comparator by role)."""
    name = view["area_name"]
    bars = [("All social workers" if r["role"] == all_roles() else r["role"], r["council"], "" if r["council"] is None else f"{fmt_number(r['council'], 1)}%")
            for r in view["rows"]]
    first = view["rows"][0] if view["rows"] else {}
    refs = [(label, first.get(key)) for label, key in (("England", "england"), (view["region_name"] or "Region", "region"),
                                                       ("Neighbour median", "sn_median"))
            if first.get("role") == all_roles() and first.get(key) is not None]
    parts = [f"{r['role']} {fmt_number(r['council'], 1)}%" for r in view["rows"] if r["council"] is not None]
    alt = (f"{name}, {view['year']}: social workers from ethnic minority groups by role, % of those whose ethnicity "
           f"is known: " + "; ".join(parts) + "."
           + ("" if not refs else " All social workers: " + ", ".join(f"{n} {fmt_number(v, 1)}%" for n, v in refs) + "."))
    title = f"Social workers from ethnic minority groups by role, {name}, {view['year']}"
    return charts.bar_chart(chart_id, title, alt, bars, refs, decimals=1, unit="%"), alt
