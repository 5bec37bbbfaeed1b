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

from . import councils, measures, tables
from .formatting import AREA, COUNCIL, dfe_decimals, fmt_number, published_figures
from .measures import round_half_up

#: The columns holding DfE's published figures, and the level DfE rounded each at (``formatting.dfe_decimals``);
#: every other figure (neighbour median and mean, change, differences, gaps) is the toolkit's, at the catalogue's
#: decimals, as the packs show them.
PUBLISHED = {"value": COUNCIL, "england": AREA, "region": AREA, "london": AREA}

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


def places(whole, r: dict, col: str, decimals: int) -> int:
    """The decimals to show record ``r``'s published figure ``col`` (a ``PUBLISHED`` column) with: those DfE
    published it with (``formatting.dfe_decimals``, ``whole`` from ``formatting.published_figures``: 19 for a 2015
    rate, 26,500 for 2015's England count), else ``decimals`` (the catalogue's). A council's own provisional
    figure (a local return) is not DfE's: the catalogue's; its England and region are DfE's for its comparator
    year."""
    if col == "value" and r.get("provisional"):
        return decimals
    year = r.get("comparator_year") if col != "value" else r.get("time_period")
    year = r.get("time_period") if year is None else year
    d = None if year is None else dfe_decimals(whole, r["measure_id"], year, PUBLISHED[col])
    return decimals if d is None else d


def as_published(recs: list[dict], whole, text: bool = False) -> list[dict]:
    """``recs`` (from :func:`records`) with each DfE figure DfE published as a whole number (``places``) made
    one: 19 for the 2015 rate stored as 19.0, 26500 for 26,500.0; as text ("19") with ``text``, for the CSV,
    whose writer would give a float column's int "19.0" again. Other figures as they are stored. In place."""
    for r in recs:
        for col in PUBLISHED:
            v = r.get(col)
            if isinstance(v, float) and v == v and places(whole, r, col, 1) == 0:
                v = round_half_up(v, 0)
                r[col] = str(v) if text else v
    return recs


def table(area: dict, rows, groups, whole=None, joint: str | None = None) -> str:
    """The terminal table of one council's records (``rows``, a DataFrame or list of dicts) and its groups.
    DfE's figures (value, England, region, London) at the decimals DfE published them with (``whole``:
    ``formatting.published_figures``' groups; None: the catalogue's); ``joint`` (``councils.joint_words``), when
    the figures are a joint return's, is said under the heading."""
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
            + "quartile A best ... D worst."] + ([joint] if joint else [])
    cols = ["measure", "value", "England", "region", *(["London"] if borough else []),
            "SN median (n)", "SN mean", "rank", "London rank" if borough else "region rank", "quartile", "change",
            "direction", "FTE gap to SN"]
    body = []
    for r in rows:
        m = measures.get(r["measure_id"])
        d = m.decimals
        value = _num(r["value"], places(whole, r, "value", d)) if _clean(r["value"]) is not None \
            else (r["symbol"] or "")
        cells = [m.label + (" [provisional %d]" % r["time_period"] if r["provisional"] else ""), value,
                 _num(r["england"], places(whole, r, "england", d)), _num(r["region"], places(whole, r, "region", d))]
        if borough:
            cells.append(_num(r["london"], places(whole, r, "london", d)))
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
            eng = places(whole, {"measure_id": g["measure_id"], "time_period": year}, "england", d)
            gbody.append([g["name"], measures.get(g["measure_id"]).label, _num(g["pooled"], d),
                          f"{_num(g['member_median'], d)} ({int(g['members_with_value'])}/{int(g['members'])})",
                          _num(g["member_mean"], d), _num(g["england"], eng), _num(g["diff_england"], d, True)])
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


def render(area: dict, rows, groups, fmt: str, whole=None, joint: str | None = None) -> str:
    """``rows`` (a DataFrame or list of dicts; and the custom ``groups``' figures, or None) as ``fmt``: table,
    json or csv text. ``whole`` (``formatting.published_figures``' groups, None for none) says which of DfE's
    figures DfE published as whole numbers: the table shows them so, the JSON as whole numbers (still numbers),
    the CSV as "19" and "26500" (:func:`as_published`). ``joint``: the table's joint-return sentence."""
    if fmt == "json":
        return json.dumps(as_published(records(rows, groups), whole), indent=2) + "\n"
    if fmt == "csv":
        flat = as_published(records(rows, None), whole, text=True)
        for g in _dicts(groups):
            for k in ("pooled", "member_median"):
                col = f"group:{g['group_id']}:{k}"
                for rec in flat:
                    if rec["measure_id"] == g["measure_id"]:
                        rec[col] = _clean(g[k])
                    else:
                        rec.setdefault(col, None)
        return csv_text(flat)
    return table(area, rows, groups, whole, joint)


def show(conn, area: dict, rows, groups, fmt: str) -> str:
    """What ``csww compare`` prints: :func:`render` with DfE's published decimals looked up in ``conn`` (a
    ``sqlite3.Connection``) for the rows' years and measures only (``formatting.published_figures``: an indexed
    look-up, no pandas), and, in a table, each council's joint-return sentence (``councils.joint_words``). Rows
    of several councils as a table: one table per council, in the order they come, a blank line between."""
    recs = [{k: _clean(v) for k, v in r.items()} for r in _dicts(rows)]
    years = {int(y) for r in recs for y in (r.get("time_period"), r.get("comparator_year")) if y is not None}
    ids = {r["measure_id"] for r in recs}
    whole = published_figures(conn, years, ids)[1] if recs else set()
    if fmt != "table":
        return render(area, rows, groups, fmt, whole)
    by: dict[str, list[dict]] = {}
    for r in recs:
        by.setdefault(r["area_code"], []).append(r)
    return "\n\n".join(
        render(area, part, groups, fmt, whole,
               councils.joint_words(conn, {"area_code": code},
                                    int(part[0].get("comparator_year") or part[0]["time_period"])))
        for code, part in by.items())
