"""Render one council's comparison records as a terminal table, JSON records or CSV (``csww compare``).

Plain Python, without pandas: the records come as a list of dicts (``compare_one``, straight from SQLite) or
as a DataFrame (``compare.council_view`` / ``councils_view``); the CSV is written as pandas' ``to_csv`` writes
the same records with whole-number columns as nullable integers (a rank is "2" with or without gaps in its column),
so both give the same text.
"""

from __future__ import annotations

import csv
import io
import json
import math

from . import measures, tables
from .formatting import fmt_number

GROUP_FIELDS = ["group_id", "name", "pooled", "pooled_count", "member_median", "member_mean", "members",
                "members_with_value", "missing"]


def _clean(v):
    """A plain Python value: None for a gap (None, NaN, pandas' NA), numpy scalars as int/float/str."""
    if v is None or (isinstance(v, float) and math.isnan(v)) or type(v).__name__ == "NAType":
        return None
    if hasattr(v, "item"):
        v = v.item()
        if isinstance(v, float) and math.isnan(v):
            return None
    return v


def _dicts(rows) -> list[dict]:
    """Rows as a list of dicts: a DataFrame's records, or the list itself (None: no rows)."""
    if rows is None:
        return []
    return rows.to_dict("records") if hasattr(rows, "to_dict") else list(rows)


def records(rows, groups) -> list[dict]:
    """One JSON-ready dict per comparison row (``rows``: a DataFrame or a list of dicts), its keys in the order of
    the ``comparisons`` Table Schema, plus ``groups`` (the custom groups' figures for the row's measure) when
    ``groups`` has rows."""
    out, fields = [], tables.columns("comparisons")
    groups = _dicts(groups)
    for r in _dicts(rows):
        rec = {k: _clean(r.get(k)) for k in fields}
        for k in ("rank", "rank_of", "region_rank", "region_rank_of", "sn_count", "sn_dropped", "provisional",
                  "time_period", "comparator_year"):
            rec[k] = None if rec[k] is None else int(rec[k])
        if groups:
            rec["groups"] = [{k: _clean(x.get(k)) for k in GROUP_FIELDS} for x in groups
                             if x["measure_id"] == r["measure_id"]]
        out.append(rec)
    return out


def _num(v, decimals: int, sign: bool = False) -> str:
    """As the packs and the site show it (``formatting.fmt_number``), with an ASCII minus for any terminal."""
    return fmt_number(_clean(v), decimals, sign, minus="-")


def table(area: dict, rows, groups) -> str:
    """The terminal table of one council's records (``rows``, a DataFrame or list of dicts) and its groups."""
    rows = [{k: _clean(v) for k, v in r.items()} for r in _dicts(rows)]
    groups = [{k: _clean(v) for k, v in g.items()} for g in _dicts(groups)]
    first = rows[0]
    year = int(first["comparator_year"])
    region = first["region_name"] or ""
    borough = any(r["london"] is not None for r in rows)  # ranked among all London councils, not its region's
    head = [f"{first['area_name']} ({first['area_code']}), {region}: reporting year to 30 September {year}",
            f"Neighbours: DfE model {first['sn_model']}; SN = median of neighbours with a value (n); "
            "rank 1 = lowest of all councils; "
            + ("London rank among all London councils (Inner and Outer London together); " if borough else "")
            + "quartile A best ... D worst."]
    cols = ["measure", "value", "England", "region", *(["London"] if borough else []),
            "SN median (n)", "SN mean", "rank", "London rank" if borough else "region rank", "quartile", "change",
            "direction", "FTE gap to SN"]
    body = []
    for r in rows:
        m = measures.get(r["measure_id"])
        d = m.decimals
        value = _num(r["value"], d) if _clean(r["value"]) is not None else (r["symbol"] or "")
        cells = [m.label + (" [provisional %d]" % r["time_period"] if r["provisional"] else ""), value,
                 _num(r["england"], d), _num(r["region"], d)]
        if borough:
            cells.append(_num(r["london"], d))
        sn = "" if _clean(r["sn_median"]) is None else f"{_num(r['sn_median'], d)} ({int(r['sn_count'])})"
        rank = "" if _clean(r["rank"]) is None else f"{int(r['rank'])}/{int(r['rank_of'])}"
        rrank = "" if _clean(r["region_rank"]) is None else f"{int(r['region_rank'])}/{int(r['region_rank_of'])}"
        cells += [sn, _num(r["sn_mean"], d), rank, rrank, _clean(r["quartile"]) or "", _num(r["change"], d, True),
                  _clean(r["direction"]) or "", _num(r["gap_fte_sn"], 1, True)]
        body.append(cells)
    out = head + [""] + _grid(cols, body)
    if groups:
        order = {r["measure_id"]: i for i, r in enumerate(rows)}
        gbody = []
        for g in sorted(groups, key=lambda g: (g["name"], order.get(g["measure_id"], 99))):
            d = measures.get(g["measure_id"]).decimals
            gbody.append([g["name"], measures.get(g["measure_id"]).label, _num(g["pooled"], d),
                          f"{_num(g['member_median'], d)} ({int(g['members_with_value'])}/{int(g['members'])})",
                          _num(g["member_mean"], d), _num(g["england"], d), _num(g["diff_england"], d, True)])
        out += ["", "Custom groups:"] + _grid(["group", "measure", "pooled", "member median (n/of)", "member mean",
                                                "England", "pooled - England"], gbody)
    notes = _neighbour_notes(rows, first["sn_model"])
    for col in ("sn_note", "series_note"):
        notes += [n for n in dict.fromkeys(r[col] for r in rows if r[col] is not None) if n]
    if groups:
        notes.append("Groups: pooled = sum of numerators / sum of denominators across members (sum for counts); "
                     "median = median of members' published values.")
    return "\n".join(out + ([""] + notes if notes else []))


def _neighbour_notes(rows: list[dict], model) -> list[str]:
    """Which neighbours had a value (``sn_codes``) and which a symbol (``sn_missing``), each list once for the
    measures it is true of: one line for all measures when they agree, else one per distinct list naming its
    measures (a neighbour with a value for one measure may have DfE's symbol for another)."""
    out = []
    for col, words in (("sn_codes", f"Neighbours with a value ({model})"), ("sn_missing", "Neighbours without a value")):
        by: dict[str, list[str]] = {}
        for r in rows:
            if r[col] is not None and not r["provisional"]:
                by.setdefault(r[col], []).append(measures.get(r["measure_id"]).label)
        if col == "sn_codes" and len(by) == 1 and len(next(iter(by.values()))) == sum(
                not r["provisional"] for r in rows):
            out.append(f"{words}: {next(iter(by))}")
        else:
            out += [f"{words}, for {', '.join(labels)}: {codes}" for codes, labels in by.items()]
    return out


def _grid(cols: list[str], body: list[list]) -> list[str]:
    widths = [max(len(str(c)) for c in col) for col in zip(cols, *body)]

    def line(cells):
        return "  ".join(str(c).ljust(w) if i == 0 or (i == 1 and cols[0] == "group") else str(c).rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths)))
    return [line(cols), line(["-" * w for w in widths])] + [line(b) for b in body]


def _csv_cells(values: list) -> list[str]:
    """One column's cells as pandas writes them with nullable integer columns (``Int64``): a column of whole
    numbers stays whole with or without gaps (a rank 2, never "2.0"; the gap ""), a column with any float is a
    float column (3 -> "3.0"), text and mixed columns as they are."""
    present = [v for v in values if v is not None]
    numeric = bool(present) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present)
    as_float = numeric and any(isinstance(v, float) for v in present)
    return ["" if v is None else repr(float(v)) if as_float else str(v) if not isinstance(v, float) else repr(v)
            for v in values]


def csv_text(recs: list[dict]) -> str:
    """``recs`` (dicts with the same keys) as CSV text, exactly as ``pandas.DataFrame(recs).to_csv(index=False,
    lineterminator="\\n")`` writes them once the whole-number columns are ``Int64`` (tests/test_compare_one.py
    holds the two equal)."""
    if not recs:
        return "\n"
    cols = list(dict.fromkeys(k for r in recs for k in r))
    cells = [_csv_cells([r.get(c) for r in recs]) for c in cols]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(cols)
    writer.writerows(zip(*cells))
    return buf.getvalue()


def render(area: dict, rows, groups, fmt: str) -> str:
    """``rows`` (a DataFrame or list of dicts; and the custom ``groups``' figures, or None) as ``fmt``: table,
    json or csv text."""
    if fmt == "json":
        return json.dumps(records(rows, groups), indent=2) + "\n"
    if fmt == "csv":
        flat = records(rows, None)
        for g in _dicts(groups):
            for k in ("pooled", "member_median"):
                col = f"group:{g['group_id']}:{k}"
                for rec in flat:
                    if rec["measure_id"] == g["measure_id"]:
                        rec[col] = _clean(g[k])
                    else:
                        rec.setdefault(col, None)
        return csv_text(flat)
    return table(area, rows, groups)
