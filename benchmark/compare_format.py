"""Render one council's comparison records as a terminal table, JSON records or CSV (``csww compare``)."""

from __future__ import annotations

import json
import math

import pandas as pd

from . import measures, tables
from .formatting import fmt_number

GROUP_FIELDS = ["group_id", "name", "pooled", "pooled_count", "member_median", "member_mean", "members",
                "members_with_value", "missing"]


def _clean(v):
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return None
    if hasattr(v, "item"):
        v = v.item()
    return v


def records(rows: pd.DataFrame, groups: pd.DataFrame) -> list[dict]:
    """One JSON-ready dict per comparison row, its keys in the order of the ``comparisons`` Table Schema, plus
    ``groups`` (the custom groups' figures for the row's measure) when ``groups`` has rows."""
    out, fields = [], tables.columns("comparisons")
    for r in rows.to_dict("records"):
        rec = {k: _clean(r.get(k)) for k in fields}
        for k in ("rank", "rank_of", "region_rank", "region_rank_of", "sn_count", "sn_dropped", "provisional",
                  "time_period", "comparator_year"):
            rec[k] = None if rec[k] is None else int(rec[k])
        if len(groups):
            g = groups[groups["measure_id"] == r["measure_id"]]
            rec["groups"] = [{k: _clean(x.get(k)) for k in GROUP_FIELDS} for x in g.to_dict("records")]
        out.append(rec)
    return out


def _num(v, decimals: int, sign: bool = False) -> str:
    """As the packs and the site show it (``formatting.fmt_number``), with an ASCII minus for any terminal."""
    return fmt_number(_clean(v), decimals, sign, minus="-")


def table(area: dict, rows: pd.DataFrame, groups: pd.DataFrame) -> str:
    first = rows.iloc[0]
    year = int(first["comparator_year"])
    region = first["region_name"] or ""
    head = [f"{first['area_name']} ({first['area_code']}), {region}: reporting year to 30 September {year}",
            f"Neighbours: DfE model {first['sn_model']}; SN = median of neighbours with a value (n); "
            "rank 1 = lowest of all councils; quartile A best ... D worst."]
    cols = ["measure", "value", "England", "region", *(["London"] if _clean(first["london"]) is not None else []),
            "SN median (n)", "SN mean", "rank", "region rank", "quartile", "change", "direction",
            "FTE gap to SN"]
    body = []
    for r in rows.to_dict("records"):
        m = measures.get(r["measure_id"])
        d = m.decimals
        value = _num(r["value"], d) if _clean(r["value"]) is not None else (r["symbol"] or "")
        cells = [m.label + (" [provisional %d]" % r["time_period"] if r["provisional"] else ""), value,
                 _num(r["england"], d), _num(r["region"], d)]
        if "London" in cols:
            cells.append(_num(r["london"], d))
        sn = "" if _clean(r["sn_median"]) is None else f"{_num(r['sn_median'], d)} ({int(r['sn_count'])})"
        rank = "" if _clean(r["rank"]) is None else f"{int(r['rank'])}/{int(r['rank_of'])}"
        rrank = "" if _clean(r["region_rank"]) is None else f"{int(r['region_rank'])}/{int(r['region_rank_of'])}"
        cells += [sn, _num(r["sn_mean"], d), rank, rrank, _clean(r["quartile"]) or "", _num(r["change"], d, True),
                  _clean(r["direction"]) or "", _num(r["gap_fte_sn"], 1, True)]
        body.append(cells)
    out = head + [""] + _grid(cols, body)
    if len(groups):
        order = {m: i for i, m in enumerate(rows["measure_id"])}
        gbody = []
        for g in sorted(groups.to_dict("records"), key=lambda g: (g["name"], order.get(g["measure_id"], 99))):
            d = measures.get(g["measure_id"]).decimals
            gbody.append([g["name"], measures.get(g["measure_id"]).label, _num(g["pooled"], d),
                          f"{_num(g['member_median'], d)} ({int(g['members_with_value'])}/{int(g['members'])})",
                          _num(g["member_mean"], d), _num(g["england"], d), _num(g["diff_england"], d, True)])
        out += ["", "Custom groups:"] + _grid(["group", "measure", "pooled", "member median (n/of)", "member mean",
                                                "England", "pooled - England"], gbody)
    notes = []
    codes = rows["sn_codes"].dropna()
    if len(codes):
        notes.append(f"Neighbours with a value ({first['sn_model']}): {codes.iloc[0]}")
    missing = rows["sn_missing"].dropna()
    if len(missing):
        notes.append(f"Neighbours without a value: {missing.iloc[0]}")
    for col in ("sn_note", "series_note"):
        notes += [n for n in dict.fromkeys(rows[col].dropna()) if n]
    if len(groups):
        notes.append("Groups: pooled = sum of numerators / sum of denominators across members (sum for counts); "
                     "median = median of members' published values.")
    return "\n".join(out + ([""] + notes if notes else []))


def _grid(cols: list[str], body: list[list]) -> list[str]:
    widths = [max(len(str(c)) for c in col) for col in zip(cols, *body)]

    def line(cells):
        return "  ".join(str(c).ljust(w) if i == 0 or (i == 1 and cols[0] == "group") else str(c).rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths)))
    return [line(cols), line(["-" * w for w in widths])] + [line(b) for b in body]


def render(area: dict, rows: pd.DataFrame, groups: pd.DataFrame | None, fmt: str) -> str:
    """``rows`` (and the custom ``groups``' figures, or None) as ``fmt``: table, json or csv text."""
    groups = pd.DataFrame() if groups is None else groups
    if fmt == "json":
        return json.dumps(records(rows, groups), indent=2) + "\n"
    if fmt == "csv":
        flat = pd.DataFrame(records(rows, pd.DataFrame()))
        for g in groups.to_dict("records") if len(groups) else []:
            for k in ("pooled", "member_median"):
                flat.loc[flat["measure_id"] == g["measure_id"], f"group:{g['group_id']}:{k}"] = g[k]
        return flat.to_csv(index=False, lineterminator="\n")
    return table(area, rows, groups)
