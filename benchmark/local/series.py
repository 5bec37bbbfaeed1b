"""A council's own figures as a series, and the in-year views between DfE's censuses.

Several returns for one council (quarterly, monthly snapshots) are kept side by side in ``local_observations``,
one return per period (``period_start``-``period_end``; ``local.store``). From them, and from a worker-level
extract, this module derives the in-year views a council tracks between DfE's 30 September censuses (measures
in ``catalogue/measures.yml``, group ``local``):

* **rolling 12-month turnover** at a date E: leavers in the 12 months to E / social workers in post at E, on
  DfE's turnover formula (reference section 6.3: leavers / in post at the snapshot; *not* HR's average
  headcount), FTE and headcount (``rolling_12m_leavers_*``, ``rolling_12m_turnover_rate_*``). At 30 September it
  is DfE's turnover rate.
* **year to date** at E: leavers from 1 October (the start of DfE's reporting year) to E / in post at E
  (``ytd_leavers_*``, ``ytd_turnover_rate_*``); part of a year, never annualised.

Two sources:

* ``in_year(rows)``: from stored returns that give leavers by period, the periods that exactly cover the 12
  months (the year to date) ending on a return's ``period_end`` are summed (e.g. the last four quarters). A gap
  or an overlap gives no figure; a suppressed period (``c``) suppresses the sum.
* ``from_extract(path, ends)``: from a worker-level extract, for any dates up to its reference date, counted on
  DfE's leaver rules (``workers.count``). Small counts are suppressed by ``rules.build`` (``rules.protect``), and
  further so that no count of 1-4 leavers can be worked out by subtracting figures of one date from another's
  (the year to date from the 12 months; one date's figures from the previous date's).

``chart`` draws the council's local series on its DfE series with ``charts.line_chart`` (dates on the x axis,
one line per series) and returns the chart's table, for the site's profile page and the pack.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from .. import charts, measures
from ..formatting import fmt_date, fmt_number, suffix
from ..measures import round_half_up
from ..problems import UsageError
from . import parse, rules, workers
from .problems import InputError, Problem
from .result import AlignedFigure

ROLLING = {"fte": "rolling_12m_leavers_fte", "headcount": "rolling_12m_leavers_headcount"}
YTD = {"fte": "ytd_leavers_fte", "headcount": "ytd_leavers_headcount"}
RATES = {"rolling_12m_turnover_rate_fte": ("rolling_12m_leavers_fte", "inpost_fte"),
         "rolling_12m_turnover_rate_headcount": ("rolling_12m_leavers_headcount", "inpost_headcount"),
         "ytd_turnover_rate_fte": ("ytd_leavers_fte", "inpost_fte"),
         "ytd_turnover_rate_headcount": ("ytd_leavers_headcount", "inpost_headcount")}
#: The in-year measure ids, in the catalogue's order.
IN_YEAR = [*ROLLING.values(), *list(RATES)[:2], *YTD.values(), *list(RATES)[2:]]


def year_before(end: date) -> date:
    """The first day of the 12 months ending on ``end`` (31 Mar 2024 -> 1 Apr 2023; 29 Feb 2024 -> 1 Mar 2023)."""
    return (pd.Timestamp(end) - pd.DateOffset(years=1)).date() + timedelta(days=1)


def year_start(end: date) -> date:
    """1 October of the DfE reporting year containing ``end``."""
    return date(rules.reporting_year(end) - 1, 10, 1)


# ---------------------------------------------------------------------------------------------------------------
# From stored returns


def _cover(periods: list[tuple[date, date]], start: date, end: date) -> list[tuple[date, date]] | None:
    """Periods that exactly tile ``start``-``end`` (back to back, no gap, no overlap), latest first, or None."""
    for p in sorted((p for p in periods if p[1] == end and p[0] >= start), key=lambda p: p[0]):
        if p[0] == start:
            return [p]
        rest = _cover(periods, start, p[0] - timedelta(days=1))
        if rest is not None:
            return [p, *rest]
    return None


def in_year(rows: pd.DataFrame) -> pd.DataFrame:
    """The in-year views derivable from one council's whole-council ``local_observations`` rows (columns
    period_start, period_end (dates or ISO text), measure_id, value, symbol).

    For each snapshot ``period_end`` E with in post figures, and for 12 months to E (rolling) and for 1 October to E
    (year to date), the returns whose periods exactly tile that span are summed: leavers (FTE, headcount), then
    divided by in post at E. Returns a frame with columns period_end (date), measure_id, value (None when
    suppressed), symbol ("c" or None), basis and caveat, one row per figure; empty when no span is covered. A
    figure a return gives itself (``rolling_12m_leavers_fte`` in the return) is left as given, not derived again.
    """
    cols = ["period_end", "measure_id", "value", "symbol", "basis", "caveat"]
    if rows is None or rows.empty:
        return pd.DataFrame(columns=cols)
    r = rows.assign(period_start=pd.to_datetime(rows["period_start"]).dt.date,
                    period_end=pd.to_datetime(rows["period_end"]).dt.date)
    cell = {}
    for x in r.itertuples(index=False):
        cell.setdefault((x.period_start, x.period_end, x.measure_id),
                        (None if pd.isna(x.value) else float(x.value),
                         x.symbol if isinstance(x.symbol, str) and x.symbol else None))
    given = {(e, m) for (_, e, m) in cell}
    out = []
    for end in sorted(set(r["period_end"])):
        stock = {m: cell[(s, e, m)] for (s, e, m) in cell if e == end and m in ("inpost_fte", "inpost_headcount")}
        for names, start, what in ((ROLLING, year_before(end), "the 12 months"),
                                   (YTD, year_start(end), "the reporting year to date")):
            for basis_kind, mid in names.items():
                flow = f"leavers_{basis_kind}"
                periods = sorted({(s, e) for (s, e, m) in cell if m == flow})
                chain = _cover(periods, start, end)
                if chain is None or (end, mid) in given:
                    continue
                parts = [cell[(s, e, flow)] for s, e in reversed(chain)]
                hidden = any(sym == "c" for _, sym in parts)
                if not hidden and any(v is None for v, _ in parts):
                    continue
                total = None if hidden else sum(v for v, _ in parts)
                span = " + ".join(f"{fmt_date(s)} to {fmt_date(e)}" for s, e in reversed(chain))
                basis = f"sum of the returns' leavers for {span} ({what} to {fmt_date(end)})"
                caveat = _caveat(end, names is YTD)
                m = measures.get(mid)
                out.append({"period_end": end, "measure_id": mid, "symbol": "c" if hidden else None, "basis": basis,
                            "caveat": caveat, "value": None if total is None else round_half_up(total, m.decimals)})
                rate_id = next(k for k, (n, _) in RATES.items() if n == mid)
                den = stock.get(RATES[rate_id][1])
                if den is None or (den[0] is None and den[1] is None):
                    continue
                rm = measures.get(rate_id)
                suppressed = hidden or den[1] == "c"
                value = None if suppressed else measures.rate(rate_id, {mid: total, RATES[rate_id][1]: den[0]})
                if value is None and not suppressed:  # no one in post: the rate is undefined
                    continue
                out.append({"period_end": end, "measure_id": rate_id, "symbol": "c" if suppressed else None,
                            "basis": f"DfE formula {mid} / {RATES[rate_id][1]} at {fmt_date(end)}; {basis}",
                            "caveat": caveat, "value": None if value is None else round_half_up(value, rm.decimals)})
    return pd.DataFrame(out, columns=cols)


def _caveat(end: date, ytd: bool) -> str:
    census = rules.dfe_year(rules.reporting_year(end))[1]
    if ytd:
        return ("" if end == census else f"1 October {census.year - 1} to {fmt_date(end)} only: part of the reporting "
                "year, not annualised, not comparable with DfE's turnover rate")
    return "" if end == census else (f"the 12 months to {fmt_date(end)}, not DfE's reporting year to 30 September: "
                                     "an in-year view, not comparable with DfE's published rate")


def stored(conn, area_code: str) -> pd.DataFrame:
    """The whole-council ``local_observations`` rows of a council, every return in ``conn`` (the caller serves a
    database ``publication`` has already stripped, or applies its rule), oldest snapshot first; of two returns for
    the same snapshot (a revised file), the one loaded last comes first, and is the one ``in_year`` and the charts
    use."""
    cur = conn.execute("SELECT o.*, r.input_kind FROM local_observations o JOIN local_returns r USING (return_id) "
                       "WHERE o.area_code = ? AND o.team = '' ORDER BY o.period_end, r.loaded_at DESC, o.rowid",
                       (area_code,))
    names = [c[0] for c in cur.description]
    return pd.DataFrame([tuple(r) for r in cur], columns=names)


# ---------------------------------------------------------------------------------------------------------------
# From a worker-level extract


def from_extract(path: str | Path, ends: list[date], la: str | None = None, *,
                 min_count: int = rules.SUPPRESS_BELOW, salt: bytes | None = None,
                 warnings: list[Problem] | None = None) -> list[AlignedFigure]:
    """Rolling 12-month and year-to-date leavers and turnover for each date of ``ends`` (on or before the
    extract's reference date), counted from a worker-level extract on DfE's rules, as ``AlignedFigure`` records
    (``IN_YEAR`` measures; period = the 12 months to the date). Figures resting on 1 to ``min_count - 1`` people
    are ``c``, and so is any date whose leavers could otherwise be worked out to be 1 to ``min_count - 1`` people
    by subtraction (the year to date from its 12 months; one date's figures from those of any date published
    before it, starting with the extract's reference date, whose figures ``csww align`` publishes). A row repeating
    an earlier row exactly is counted once, as ``csww align`` counts it, and named in ``warnings``. Raises ``InputError`` (the file's problems, as ``csww align`` names them) or
    ``UsageError`` (a date after the reference date, no dates)."""
    path = Path(path)
    if not ends:
        raise UsageError("give at least one date for the in-year view")
    if not path.is_file():
        raise InputError([Problem(str(path), "no such file", None, None, None)])
    df = parse.read_table(path)
    if not workers.is_extract(df.columns):
        raise InputError([Problem(str(path), "not a worker-level extract: rolling turnover at any date needs one row "
                                  "per worker with start and end dates (worker_id, start_date, end_date ...)", 1,
                                  None, None)])
    at_ref = workers.read(path, df.copy(), la, min_count, salt, warnings=warnings)  # every check csww align makes
    ref = at_ref[0].period_end
    late = [d for d in ends if d > ref]
    if late:
        raise UsageError(f"{path.name}: {', '.join(d.isoformat() for d in late)} is after the extract's reference "
                         f"date {ref.isoformat()}; it cannot tell who left after it")
    names = {workers.CENSUS_COLUMNS[c]: c for c in df.columns if c in workers.CENSUS_COLUMNS}
    cols = {c: names.get(c, c) for c in [*workers.REQUIRED, *workers.OPTIONAL] if names.get(c, c) in df.columns}
    problems: list[Problem] = []
    frame = workers.typed(df, cols, str(path), pd.Timestamp(ref), problems, salt, end_within_year=False)
    area = at_ref[0].area_code
    dates = sorted(set(ends) | {ref})
    counts = {d: _counts(frame, d, area, str(path)) for d in dates}
    unsafe = _unsafe_dates(frame, ref, dates, area, str(path), min_count)
    out = []
    for d in sorted(set(ends)):
        out += _figures(counts[d], d, ref, area, path.name, min_count, unsafe.get(d))
    return out


def _leavers(frame: pd.DataFrame, after: date, upto: date, area: str, file: str) -> tuple[int, float]:
    """Leavers (headcount, FTE) whose spell ended in ``after`` < day <= ``upto`` (at most a year apart), on DfE's
    leaver rules: ``workers.count`` at ``upto`` over the records that end after ``after`` (a spell ending later
    keeps every record that ends later, so dropping the records that end earlier never splits one)."""
    keep = frame["end"].isna() | (frame["end"] > pd.Timestamp(after))
    c = workers.count(frame[keep], upto, area, file, "worker")
    return int(c.values["leavers_headcount"]), float(c.values["leavers_fte"])


def _counts(frame: pd.DataFrame, d: date, area: str, file: str) -> dict[str, float]:
    c = workers.count(frame, d, area, file, "worker")
    ytd_h, ytd_f = _leavers(frame, year_start(d) - timedelta(days=1), d, area, file)
    return {"inpost_headcount": c.values["inpost_headcount"], "inpost_fte": c.values["inpost_fte"],
            ROLLING["headcount"]: c.values["leavers_headcount"], ROLLING["fte"]: c.values["leavers_fte"],
            YTD["headcount"]: ytd_h, YTD["fte"]: ytd_f, "_rows": c.rows_used}


def _unsafe_dates(frame, ref: date, dates: list[date], area: str, file: str, min_count: int) -> dict[date, str]:
    """Dates whose leavers must be hidden so that no 1 to ``min_count - 1`` leavers can be worked out from two
    dates' figures. The reference date's figures are published by ``csww align``; then, nearest it first, a date is
    published only if, against every date already published, the leavers between the two dates (added to the 12
    months and to the year to date) and those a year before (dropped from the 12 months) are each 0 or at least
    ``min_count``."""
    small = lambda n: 0 < n < min_count  # noqa: E731
    out, published = {}, [ref]
    for d in sorted((x for x in dates if x != ref), key=lambda x: abs((ref - x).days)):
        for p in published:
            a, b = min(p, d), max(p, d)
            slices = [(a, b), (year_before(a) - timedelta(days=1), year_before(b) - timedelta(days=1))]
            if any(small(_leavers(frame, x, y, area, file)[0]) for x, y in slices if (y - x).days <= 366):
                out[d] = (f"suppressed so that no count of fewer than {min_count} leavers can be worked out by "
                          f"subtracting the figures at {fmt_date(p)}")
                break
        else:
            published.append(d)
    return out


def _figures(v: dict, d: date, ref: date, area: str, file: str, min_count: int,
             unsafe: str | None) -> list[AlignedFigure]:
    c = rules.Components(area_code=area, period_start=year_before(d), period_end=d, input_kind="worker",
                         source_file=file, rows_used=v["_rows"],
                         values={k: x for k, x in v.items() if not k.startswith("_")})
    for mid, what in ((ROLLING["headcount"], "the 12 months"), (YTD["headcount"], "the reporting year to date")):
        start = year_before(d) if mid in ROLLING.values() else year_start(d)
        for k in (mid, mid.replace("_headcount", "_fte")):
            c.basis[k] = f"leavers counted from worker records on DfE's rules, {fmt_date(start)} to {fmt_date(d)}"
    if d < ref:
        for k in (*ROLLING.values(), *YTD.values(), "inpost_fte", "inpost_headcount"):
            c.note(k, f"counted from an extract at {fmt_date(ref)}: complete only if it keeps every record of the "
                   f"12 months to {fmt_date(d)}", False)
    built = {f.measure_id: f for f in rules.build(c, min_count)}
    hide: dict[str, str] = {}
    if unsafe:
        hide.update({k: unsafe for k in IN_YEAR})
    rest = v[ROLLING["headcount"]] - v[YTD["headcount"]]
    if 0 < rest < min_count:
        reason = f"suppressed so that no count of fewer than {min_count} leavers can be worked out by subtraction"
        hide.update({k: reason for k in IN_YEAR if k.startswith("ytd_")})
    out = []
    for mid in IN_YEAR:
        f = built.get(mid)
        if f is None:
            continue
        caveat = "; ".join(filter(None, [f.caveat, _caveat(d, mid.startswith("ytd_"))]))
        if mid in hide and f.value is not None:
            f = replace(f, value=None, symbol="c", comparable=False)
            caveat = "; ".join(filter(None, [caveat, hide[mid]]))
        out.append(replace(f, caveat="; ".join(dict.fromkeys(caveat.split("; ")))))
    return out


# ---------------------------------------------------------------------------------------------------------------
# The chart: the local series on the DfE series


def chart(chart_id: str, measure_id: str, name: str, dfe: dict[int, float | None],
          local: list[tuple[str, list[tuple[date, float | None, str | None]]]],
          dfe_decimals: dict[int, int | None] | None = None) -> dict | None:
    """The council's local series drawn on its DfE series for one measure, dates on the x axis (DfE's figures at
    30 September of each year), one line per series: ``dfe`` maps DfE years to the council's published value;
    ``local`` is (series name, [(snapshot date, value, symbol)]). Returns None when no local point has a value,
    else ``{"svg", "alt", "title", "headers", "rows", "raw", "measure_id", "label"}`` where rows (date text,
    then each series' figure as the formatter writes it, its symbol, or "" where the series has no point) are the
    chart's table, and raw the same as (date, [(value or None, symbol or None) per series]). ``dfe_decimals``
    (year -> decimals, None for the catalogue's) gives the decimals DfE published a year's figure with (2015 rates
    as whole numbers: ``formatting.dfe_decimals``); the table, tooltips and text alternative show the DfE series
    at them, and ``"decimals"`` (per series, per date) says so for a caller building its own table."""
    m = measures.get(measure_id)
    if not any(v is not None for _, pts in local for _, v, _ in pts):
        return None
    first = min(d for _, pts in local for d, _, _ in pts)
    years = {y: v for y, v in dfe.items() if date(y, 9, 30) >= year_before(first) - timedelta(days=366)}
    dates = sorted({date(y, 9, 30) for y in years} | {d for _, pts in local for d, _, _ in pts})
    at = {d: i for i, d in enumerate(dates)}
    dfe_name = f"{name} (DfE)"
    series = [(dfe_name, [years.get(d.year) if (d.month, d.day) == (9, 30) else None for d in dates])]
    symbols = [{}]
    for label, pts in local:
        vals: list = [None] * len(dates)
        syms = {}
        for d, v, s in pts:
            vals[at[d]] = v
            if v is None and s:
                syms[at[d]] = s
        series.append((label, vals))
        symbols.append(syms)
    places = [[(dfe_decimals or {}).get(d.year) if (d.month, d.day) == (9, 30) else None for d in dates]]
    places += [[None] * len(dates) for _ in series[1:]]
    span = (dates[-1] - dates[0]).days or 1
    positions = [(d - dates[0]).days / span for d in dates]
    labels = [f"{d:%b %Y}" for d in dates]
    unit = suffix(m)
    span_words = f"{dates[0]:%B %Y} to {dates[-1]:%B %Y}"  # in full, as fmt_date; the axis keeps "Sep 2015"
    title = f"{m.label}: {name}'s own returns (provisional) on DfE's series, {span_words}"
    last = [(label, next(((dates[i], v, dec[i]) for i, v in reversed(list(enumerate(vals))) if v is not None), None))
            for (label, vals), dec in zip(series, places)]
    alt = (f"Line chart of {m.label} for {name}: DfE's published figures at 30 September and the council's own "
           f"provisional figures at each snapshot, {span_words}. "
           + " ".join(f"Latest {label}: {fmt_number(p[1], m.decimals if p[2] is None else p[2])}{unit} at {fmt_date(p[0])}."
                      for label, p in last if p)
           + " The figures are in the table beside the chart.")
    svg = charts.line_chart(chart_id, title, alt, labels, series, m.decimals, unit, positions=positions, join_gaps=True,
                            point_decimals=places)
    rows = [[fmt_date(d), *[fmt_number(vals[i], m.decimals if dec[i] is None else dec[i]) if vals[i] is not None
                            else syms.get(i, "") for (_, vals), syms, dec in zip(series, symbols, places)]]
            for i, d in enumerate(dates)]
    raw = [(d, [(vals[i], syms.get(i)) for (_, vals), syms in zip(series, symbols)]) for i, d in enumerate(dates)]
    return {"svg": svg, "alt": alt, "title": title, "headers": ["Date", *[s for s, _ in series]], "rows": rows,
            "raw": raw, "measure_id": measure_id, "label": m.label, "decimals": places}


#: Local series drawn beside a DfE measure besides its own figures: the in-year views of turnover.
IN_YEAR_LINES = {
    "turnover_rate_fte": [("Rolling 12 months (own)", "rolling_12m_turnover_rate_fte"),
                          ("Year to date (own)", "ytd_turnover_rate_fte")],
    "turnover_rate_headcount": [("Rolling 12 months (own)", "rolling_12m_turnover_rate_headcount"),
                                ("Year to date (own)", "ytd_turnover_rate_headcount")],
}


def charts_for(rows: pd.DataFrame, name: str, dfe: dict[str, dict[int, float | None]],
               measure_ids: list[str], prefix: str = "local-series",
               dfe_decimals: dict[str, dict[int, int | None]] | None = None) -> list[dict]:
    """The series charts of a council with returns at two or more snapshot dates: for each of ``measure_ids``
    with a local figure, its own returns' figures on its DfE series (``dfe``: measure id -> {year: value}); a
    flow-based figure (turnover, absence) is drawn only from returns covering 12 months, and turnover gets the
    rolling 12-month and year-to-date lines (``in_year``) instead. ``rows`` are the council's whole-council
    ``local_observations`` rows (``stored``); empty when fewer than two snapshots. ``dfe_decimals`` (measure id
    -> {year: decimals}) as for :func:`chart`."""
    if rows is None or rows.empty:
        return []
    rows = rows.assign(period_start=pd.to_datetime(rows["period_start"]).dt.date,
                       period_end=pd.to_datetime(rows["period_end"]).dt.date)
    if rows["period_end"].nunique() < 2:
        return []
    derived = in_year(rows)
    out = []
    for mid in measure_ids:
        own = rows[rows["measure_id"] == mid]
        if rules.is_flow(mid):
            year = [rules.months(s, e) == 12 for s, e in zip(own["period_start"], own["period_end"])]
            own = own[pd.Series(year, index=own.index, dtype=bool)]
        local = [("Own returns (provisional)", _points(own.drop_duplicates("period_end")))]
        for label, lid in IN_YEAR_LINES.get(mid, []):
            both = pd.concat([rows[rows["measure_id"] == lid], derived[derived["measure_id"] == lid]])
            local.append((label, _points(both.drop_duplicates("period_end"))))
        local = [(label, pts) for label, pts in local if pts]
        got = chart(f"{prefix}-{mid}", mid, name, dfe.get(mid, {}), local,
                    (dfe_decimals or {}).get(mid)) if local else None
        if got:
            out.append(got)
    return out


def _points(df: pd.DataFrame) -> list[tuple[date, float | None, str | None]]:
    return [(pd.Timestamp(r.period_end).date(), None if pd.isna(r.value) else float(r.value),
             r.symbol if isinstance(r.symbol, str) and r.symbol else None)
            for r in df.sort_values("period_end").itertuples(index=False)]
