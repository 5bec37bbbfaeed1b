"""Assemble a council pack or a partnership pack from the database (see ``gather``) into a ``Pack``."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from .. import __version__, charts, compare, consistency, ethnicity, measures, neighbours, store
from ..councils import joint_words  # the joint-return sentence: one home, shared with csww compare
from ..formatting import (
    AREA,
    COUNCIL,
    SYMBOL_MEANINGS,
    dfe_decimals,
    fmt_date,
    fmt_number,
    is_number,
    published_figures,
    suffix,
)
from ..local import series as local_series
from ..local import teams
from . import gather, narrative
from .gather import ReportError
from .model import (
    LOW,
    NO_FIGURE,
    NO_FIGURE_NOTE,
    Cell,
    Figure,
    Pack,
    Section,
    Table,
    excel_format,
    given_decimals,
    int_cell,
    measure_info,
    no_figure_text,
    text_cell,
    value_cell,
    year_cell,
)

HEADLINE_YEARS = 3
DIRECTION_NOTE = compare.DIRECTION_RULE  # one rule for change and direction: CLI, site and packs
QUARTILE_NOTE = ("Quartile band: A is the most favourable 25% of councils nationally for that measure, D the least "
                 "favourable (for turnover, agency, vacancy, caseload and absence, lower is more favourable). "
                 "Rank 1 is the lowest value; DfE's 'low' (below 0.05%) counts as the lowest, tied. Region rank is "
                 "among the councils of the same English region; a London borough's is among all London councils "
                 "(Inner and Outer London together). FTE in post has no band.")
LONDON = "London"


def quartile_note(region_name: str, rank_area: str) -> str:
    """``QUARTILE_NOTE`` for a council's pack: where its rank's group (``rank_area``, London for a borough) is not
    the region it is compared with (Inner or Outer London), the note says which councils it is ranked among."""
    if rank_area == region_name:
        return QUARTILE_NOTE
    return QUARTILE_NOTE.replace(
        "Region rank is among the councils of the same English region; a London borough's is among all London "
        "councils (Inner and Outer London together).",
        f"Rank in {rank_area} is among all {rank_area} councils (Inner and Outer London together), not only those of "
        f"{region_name}, whose figure DfE publishes beside the council's.")


def rank_area(rec: pd.DataFrame, region_name: str) -> str:
    """The area a council's region rank is within (``compare``: the English region, London as a whole for a
    London borough): "London" for a borough, whose comparison region is Inner or Outer London; else
    ``region_name``."""
    return LONDON if _is_borough(rec) else region_name


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _num(v):
    return float(v) if is_number(v) else None


def _key_ids(measure_ids=None) -> list[str]:
    """The measures a pack shows: those asked for (``--measure``, catalogue ids, in the order given) or the
    catalogue's key measures. Raises NotFoundError (naming the known ids) for an unknown id."""
    if measure_ids:
        return list(dict.fromkeys(measures.get(m).id for m in measure_ids))
    return [m.id for m in measures.key_measures()]


def window(years_all: list[int], year: int, years: int | None) -> list[int]:
    """The years a pack for ``year`` shows: those up to ``year`` only, the last ``years`` of them (all when None)."""
    upto = [y for y in years_all if y <= year]
    if years is not None:
        if years < 1:
            raise ReportError(f"--years {years}: give a number of years, 1 or more")
        upto = upto[-years:]
    return upto


def _symbol_note(symbols) -> list[str]:
    """The footnote for DfE's symbols in a table, each once, in words: "— (c): DfE published no figure, its
    symbol c: suppressed for confidentiality"; DfE's ``low`` is shown as "below 0.05%" and said so."""
    used = sorted({s for s in symbols if isinstance(s, str)})
    if not used:
        return []
    return ["Where DfE published no number: " + "; ".join(
        (f"'below 0.05%' is DfE's 'low': {SYMBOL_MEANINGS.get(s, 'no figure')}" if s == LOW else
         f"{no_figure_text(s)} means DfE published no figure (its symbol {s}: {SYMBOL_MEANINGS.get(s, 'no figure')})")
        for s in used) + "."]


# ---------------------------------------------------------------------------------------------------------------
# Council pack


def council_pack(conn: sqlite3.Connection, la: str, year: int | None = None, local: str | Path | None = None,
                 measure_ids=None, years: int | None = None, as_at=None) -> Pack:
    """The pack for one council and ``year`` (default the latest): DfE figures up to ``year`` only, trends over
    the last ``years`` years to ``year`` (all when None), for ``measure_ids`` (default the key measures); a
    ``local`` file's returns set beside the census DfE had published by ``as_at`` (a date) when given."""
    key = _key_ids(measure_ids)
    area = gather.resolve(conn, la)
    code = gather.published_code(area, conn, year)  # a joint-return member's own code in a year it returned alone
    rec = gather.records(conn, [code])
    if rec.empty:
        raise ReportError(f"no published figures for {area['area_name']} ({code}) in this database")
    years_all = sorted(int(y) for y in rec["time_period"].unique())
    year = years_all[-1] if year is None else int(year)
    if year not in years_all:
        raise ReportError(f"no figures for {area['area_name']} in {year}; the database has "
                          f"{years_all[0]}-{years_all[-1]}" + gather.year_pointer(conn, area, year))
    name = rec["area_name"].dropna().iloc[0] if rec["area_name"].notna().any() else area["area_name"]
    shown_years = window(years_all, year, years)
    rec = rec[rec["time_period"].isin(shown_years)]  # a pack for year Y shows nothing after Y
    now = rec[rec["time_period"] == year]
    region_name = now["region_name"].dropna().iloc[0] if now["region_name"].notna().any() else "Region"
    engine = gather.has_comparisons(conn)
    model = now["sn_model"].dropna().iloc[0] if now["sn_model"].notna().any() else None

    published, whole = published_figures(conn)
    summary = council_story(rec, year, key, name, published, whole)
    ranked_in = rank_area(rec, region_name)

    headline_years = shown_years[-HEADLINE_YEARS:]
    sections = [Section("headline", "Headline figures", intro=[
        f"Key measures for {name} in "
        + (f"the {len(headline_years)} years to {year} (years to 30 September)" if len(headline_years) > 1 else
           f"{year} (the year to 30 September)") + ", beside the "
        f"median of its statistical neighbours ({models_words(rec, headline_years, model)}), {region_name} and "
        f"England as DfE publishes them, with its rank nationally and in {ranked_in}"
        f"{' (all London councils, Inner and Outer London together)' if ranked_in != region_name else ''}."],
        tables=[headline_table(rec, key, headline_years, name, region_name, published, whole)])]
    sections.append(Section("trends", "Trends for each key measure", intro=[
        f"Each chart shows {name} against the neighbour median, {region_name} and England for "
        f"{_span(shown_years[0], year)}; its data table sits beside it.", *filter(None, [model_note(rec)])],
        figures=trend_figures(rec, key, name, region_name, whole)))
    add_consistency_notes(sections[-1].figures, consistency.notes(conn, code, year))
    sections += filter(None, [ethnicity_section(conn, code, year)])
    local_rows = gather.local_figures(conn, area, local, as_at)
    if len(local_rows) and year != years_all[-1]:  # an earlier year's pack: no local figure from a later year
        local_rows = local_rows[local_rows["time_period"].astype(int) <= year]
    if len(local_rows):
        sections.append(local_section(area, code, local_rows, rec, whole))
        sections += team_sections(conn, area, local_rows)
        sections += series_sections(name, local_rows, rec, key, whole)
    sections.append(neighbour_section(conn, area, model, year, rec))
    sections.append(definitions_section(_shown_measures(sections, key)))
    sections.append(provenance_section(conn))

    notes = []
    if not engine:
        notes.append("The comparison engine has not been run on this database: neighbour median, rank, quartile and "
                     "direction of travel are empty. Rebuild with a version that writes the comparisons table.")
    series_notes = sorted({n for n in now["series_note"].dropna()})
    notes += series_notes
    joint = joint_words(conn, area, year)
    if joint:  # said once at the top, and the rank of a count among single councils caveated
        sections[0].intro.insert(0, joint)
        counts = [measure_info(mid).label for mid in key if measure_info(mid).is_count]
        if counts:
            notes.append(f"Joint return: {', '.join(counts)} {'is' if len(counts) == 1 else 'are'} the councils' "
                         "combined count, ranked (as DfE's figures stand) among single councils; its rank says more "
                         "about size than about the workforce. Compare the rates.")
    sections[0].tables[0].notes = notes + sections[0].tables[0].notes
    return Pack(kind="council", title=f"Children's social work workforce: {name}",
                subtitle=f"Benchmarking pack for the year to 30 September {year}", year=year, summary=summary,
                sections=sections, generated_at=_now(), toolkit_version=__version__,
                facts={"area_code": code, "area_name": name, "region_name": region_name, "sn_model": model,
                       "years": shown_years, "headline_years": headline_years, "engine": engine,
                       "measures": key})


def council_story(rec: pd.DataFrame, year: int, key: list[str], name: str, published=None, whole=None) -> list[str]:
    """The pack's summary for one council and year from its comparison records (``gather.records``): the
    exception sentences and the direction-of-travel sentence, on one rule (``compare.DIRECTION_RULE``);
    ``published`` and ``whole`` (``formatting.published_figures``) say which measures DfE publishes for councils and
    which figures it published as whole numbers."""
    rows = narrative.year_rows(rec, year, key)
    summary = narrative.council_summary(rec, year, key, name, rows, published, whole)
    travel = narrative.direction_summary(rows, year)
    bands = narrative.quartile_summary(rec, year, key)  # needs last year's records: absent from a one-year slice
    return summary + [s for s in (travel, bands) if s]


def change_cell(r, prev, m, year: int) -> Cell:
    """The change on last year of record ``r`` (``prev``: the same council and measure a year earlier, or None);
    where there is none because DfE published no number in one of the two years, why: "— (2024: u)", DfE's
    symbol and its year (``_change_note`` under the table), or "— (no 2024 figure)". Blank without ``r``."""
    if r is None:
        return Cell(None, "")
    cell = value_cell(_num(r.change), m, sign=True, unit=False)
    if cell.value is not None:
        return cell
    if isinstance(r.symbol, str) and r.symbol:
        return Cell(None, f"{NO_FIGURE} ({year}: {r.symbol})")
    if prev is not None and isinstance(prev.symbol, str) and prev.symbol:
        return Cell(None, f"{NO_FIGURE} ({year - 1}: {prev.symbol})")
    if prev is None or not is_number(prev.value):
        return Cell(None, f"{NO_FIGURE} (no {year - 1} figure)")
    return cell


def _change_note(cells, year: int) -> list[str]:
    """The footnote for change cells that say why there is no change (``change_cell``), each kind once, with the
    meaning of DfE's symbols they show."""
    why = [c.text for c in cells if c.value is None and c.text.startswith(f"{NO_FIGURE} (")]
    if not why:
        return []
    symbols = sorted({t.rsplit(": ", 1)[1].rstrip(")") for t in why if ": " in t})
    out = []
    if symbols:
        out.append(f"{NO_FIGURE} (YEAR: symbol): no change on last year, as DfE published no number that year, only "
                   "its symbol: " + "; ".join(f"{s}: {SYMBOL_MEANINGS.get(s, 'no figure')}" for s in symbols) + ".")
    if any("(no " in t for t in why):
        out.append(f"{NO_FIGURE} (no {year - 1} figure): no change on last year, as DfE published nothing for the "
                   f"council in {year - 1}.")
    return out


def _cell_for(r, col: str, m, whole=None) -> Cell:
    if r is None:
        return Cell(None, "")
    level = AREA if col in ("region", "london", "england") else None
    return value_cell(_num(getattr(r, col)), m, decimals=dfe_decimals(whole, m.id, r.time_period, level))


def _is_borough(rec: pd.DataFrame) -> bool:
    """A London borough: DfE publishes its Inner or Outer London region and London as a whole; show both."""
    return "london" in rec and rec["london"].notna().any()


def headline_table(rec: pd.DataFrame, key: list[str], years: list[int], name: str, region_name: str,
                   published=None, whole=None) -> Table:
    """The headline table: each key measure in each of ``years`` beside its comparators, ranks, band and change.
    ``published`` and ``whole`` (``formatting.published_figures``) say which measures DfE does not publish for
    councils in a year (footnoted) and which figures DfE published as whole numbers (shown so)."""
    shown = rec[rec["time_period"].isin(years) & rec["measure_id"].isin(key)]
    by = {(r.measure_id, int(r.time_period)): r for r in shown.itertuples()}
    every = {(r.measure_id, int(r.time_period)): r for r in rec[rec["measure_id"].isin(key)].itertuples()}
    london = _is_borough(rec)
    ranked_in = rank_area(rec, region_name)
    rows, unpublished = [], {}
    for mid in key:
        m = measure_info(mid)
        for y in years:
            r = by.get((mid, y))
            change = change_cell(r, every.get((mid, y - 1)), m, y) if r is not None else Cell()
            if r is not None and change.value is not None and m.unit == "percent":
                change = Cell(change.value, change.text + " pts", change.number_format)
            if r is None and published is not None and (mid, y) not in published:
                unpublished.setdefault(m.label, []).append(y)
            rows.append([
                Cell(m.label, m.label), year_cell(y),
                value_cell(_num(r.value), m, r.symbol, decimals=dfe_decimals(whole, mid, y, COUNCIL))
                if r is not None else Cell(None, NO_FIGURE),
                _cell_for(r, "sn_median", m), _cell_for(r, "region", m, whole),
                *([_cell_for(r, "london", m, whole)] if london else []), _cell_for(r, "england", m, whole),
                int_cell(r.rank if r is not None else None), int_cell(r.rank_of if r is not None else None),
                int_cell(r.region_rank if r is not None else None),
                int_cell(r.region_rank_of if r is not None else None),
                text_cell(r.quartile if r is not None else None), change,
                text_cell(r.direction if r is not None else None)])
    return Table("headline-table", f"Headline figures: {name} against neighbours, {region_name}"
                 f"{', London' if london else ''} and England, {_span(years[0], years[-1])}",
                 ["Measure", "Year", name, "Neighbour median", region_name, *(["London"] if london else []),
                  "England", "Rank (1 = lowest)", "Councils ranked", f"Rank in {ranked_in} (1 = lowest)",
                  f"Councils ranked in {ranked_in}", "Quartile band", "Change on last year",
                  "Direction of travel"],
                 rows, sheet="Headline", row_header=0, group_rows=len(years),
                 notes=[*filter(None, [model_note(rec, years, always=True)]), quartile_note(region_name, ranked_in),
                        DIRECTION_NOTE, *_change_note([row[-2] for row in rows], years[-1]),
                        "Region and England are DfE's published figures; for FTE in post they are totals."]
                 + _symbol_note(rec[rec["time_period"].isin(years)]["symbol"])
                 + _no_figure_notes(rows, unpublished))


def _no_figure_notes(rows: list[list[Cell]], unpublished: dict[str, list[int]]) -> list[str]:
    """The footnotes for the table's em dashes: a measure DfE does not publish for any council that year says
    so; any other em dash is a figure DfE did not publish for this council."""
    notes = [f"{NO_FIGURE} {label}: DfE does not publish this measure for councils for "
             f"{' and '.join(', '.join(map(str, ys)).rsplit(', ', 1))}." for label, ys in unpublished.items()]
    others = sum(c.text == NO_FIGURE for row in rows for c in row) - sum(len(ys) for ys in unpublished.values())
    return notes + ([NO_FIGURE_NOTE] if others > 0 else [])


def _span(first: int, last: int) -> str:
    return str(first) if first == last else f"{first} to {last}"


def model_spans(rec: pd.DataFrame, years=None) -> list[tuple[str, int, int]]:
    """The neighbour models of ``rec``'s rows (of ``years`` only, when given) with the first and last year each
    serves, earliest first: [("sn_2021", 2023, 2024), ("sn_2025", 2025, 2025)]."""
    rows = rec.dropna(subset=["sn_model"])
    if years is not None:
        rows = rows[rows["time_period"].isin(list(years))]
    models = rows.groupby("sn_model")["time_period"].agg(["min", "max"]).sort_values("min")
    return [(k, int(r["min"]), int(r["max"])) for k, r in models.iterrows()]


def models_words(rec: pd.DataFrame, years, model: str | None) -> str:
    """The neighbour model(s) of ``years`` in words: one model by name ("DfE's May 2025 statistical neighbours");
    several, each with its years ("DfE's April 2021 statistical neighbours for 2023 to 2024; DfE's May 2025
    statistical neighbours for 2025"); ``model`` when ``rec`` names none."""
    spans = model_spans(rec, years)
    if len(spans) <= 1:
        return neighbours.model_words(spans[0][0] if spans else model)
    return "; ".join(f"{neighbours.model_words(k)} for {_span(a, b)}" for k, a, b in spans)


def model_note(rec: pd.DataFrame, years=None, always: bool = False) -> str:
    """Which neighbour model each year's median comes from, in words (of ``years`` only, when given); empty when
    one model serves every year, unless ``always``."""
    spans = model_spans(rec, years)
    if len(spans) > 1:
        return ("Neighbour median from the model for each year: "
                + "; ".join(f"{neighbours.model_words(k)} for {_span(a, b)}" for k, a, b in spans) + ".")
    return f"Neighbour median: {neighbours.model_words(spans[0][0])}." if always and spans else ""


def trend_figures(rec: pd.DataFrame, key: list[str], name: str, region_name: str, whole=None) -> list[Figure]:
    """A chart and its table for each key measure over ``rec``'s years; ``whole`` as for :func:`headline_table`."""
    figs = []
    for mid in key:
        m = measure_info(mid)
        t = rec[rec["measure_id"] == mid].sort_values("time_period")
        if t.empty:
            continue
        years = [int(y) for y in t["time_period"]]
        cols = [("value", name), ("sn_median", "Neighbour median"), ("region", region_name), ("england", "England")]
        is_count = m.unit in ("FTE", "headcount")
        london = _is_borough(t)
        area = {r.time_period: dfe_decimals(whole, mid, r.time_period, AREA) for r in t.itertuples()}
        rows = [[year_cell(r.time_period),
                 value_cell(_num(r.value), m, r.symbol, decimals=dfe_decimals(whole, mid, r.time_period, COUNCIL)),
                 value_cell(_num(r.sn_median), m), value_cell(_num(r.region), m, decimals=area[r.time_period]),
                 *([value_cell(_num(r.london), m, decimals=area[r.time_period])] if london else []),
                 value_cell(_num(r.england), m, decimals=area[r.time_period]),
                 int_cell(r.sn_count)] for r in t.itertuples()]
        table = Table(f"trend-{mid}", f"{m.label}: {name}, neighbour median, {region_name}"
                      f"{', London' if london else ''} and England, {_span(years[0], years[-1])}",
                      ["Year", name, "Neighbour median", region_name, *(["London"] if london else []), "England",
                       "Neighbours with a figure"],
                      rows, sheet=f"Trend {short_sheet(m.label)}", notes=_symbol_note(t["symbol"]))
        svg, alt = charts.trend(f"chart-{mid}", m, name, t, cols, places=lambda c, y, mid=mid, area=area: (
            dfe_decimals(whole, mid, y, COUNCIL) if c == "value" else area.get(y) if c in ("region", "england")
            else None))  # the decimals the table shows each figure with
        note = ""
        if is_count:
            note = (f"{region_name} and England are totals of every council, so the chart shows only {name} and "
                    "the neighbour median; the totals are in the table.")
        if years[0] <= 2015 and m.unit == "percent":
            note = (note + " " if note else "") + "2015 rates were published as whole numbers."
        figs.append(Figure(f"chart-{mid}", m.label, svg, alt, table, note))
    return figs


def short_sheet(label: str) -> str:
    return label.replace(" (FTE)", "").replace(" (per case-holding FTE)", "")


# ---------------------------------------------------------------------------------------------------------------
# Local figures


def _own_decimals(v, m, f=None) -> int:
    """The decimals to show a council's own figure with: as many as it gave (26.73 stays 26.73, 53 stays 53).
    An aligned figure (``f`` given) keeps the council's precision when it is a count from the return or equals
    the council's reported figure; a rate csww-benchmark computed from counts is shown at DfE's decimals."""
    if f is not None and m.is_rate and not (is_number(f.reported_value) and is_number(v)
                                            and float(v) == float(f.reported_value)):
        return m.decimals
    given = given_decimals(v)
    return given if given is not None else m.decimals


def local_section(area: dict, code: str, local: pd.DataFrame, rec: pd.DataFrame, whole=None) -> Section:
    """The council's own figures on DfE's definitions beside what it reported, each with its caveats.

    ``local`` holds whole-council ``local_observations`` rows (``gather.local_figures``). Each figure is set
    beside DfE's published value for the reporting year its period falls in (when DfE has published that
    year), so a July 2016 snapshot is read against 2016, not the latest year. Caveats shared by every figure
    of a period (the council's own note, a snapshot date) are stated once under the table. ``whole`` as for
    :func:`headline_table` (DfE's figures at the decimals DfE published).
    """
    figures = list(local.itertuples(index=False))
    sources = sorted({Path(f.source_file).name for f in figures})
    pub = {(r.measure_id, int(r.time_period)): r for r in rec.itertuples()}
    order = {mid: i for i, mid in enumerate(list(measures.catalogue()))}
    key = _key_ids()
    figures.sort(key=lambda f: (-f.period_end.toordinal(), f.measure_id not in key, order.get(f.measure_id, 999),
                                f.measure_id))

    def parts(f) -> list[str]:
        return [p.strip() for p in (f.caveat or "").split("; ") if p.strip()]

    def period_text(f) -> str:
        return f"{fmt_date(f.period_start)} to {fmt_date(f.period_end)}"

    shared: dict[str, list[str]] = {}
    for per in dict.fromkeys(period_text(f) for f in figures):
        group = [set(parts(f)) for f in figures if period_text(f) == per]
        common = set.intersection(*group) if group else set()
        shared[per] = [p for p in parts(next(f for f in figures if period_text(f) == per)) if p in common]

    ids: list[str] = []
    tables = []
    periods = list(dict.fromkeys((f.period_start, f.period_end) for f in figures))
    for n, (start, end) in enumerate(periods, start=1):
        group = [f for f in figures if (f.period_start, f.period_end) == (start, end)]
        per = period_text(group[0])
        dfe_year = int(group[0].time_period)
        rows = []
        # each caveat not shared by every figure is stated once under the table, numbered, with the figures it
        # applies to; a figure's row carries the numbers (footnote marks) of its caveats
        counts: dict[str, list[str]] = {}
        for f in group:
            for x in parts(f):
                if x not in shared[per]:
                    counts.setdefault(x, []).append(measure_info(f.measure_id).label)
        numbered = {x: i for i, x in enumerate(counts, start=1)}
        for f in group:
            m = measure_info(f.measure_id)
            ids.append(f.measure_id)
            p = pub.get((f.measure_id, dfe_year))
            own = [f"note {numbered[x]}" for x in parts(f) if x not in shared[per]]
            rows.append([
                Cell(m.label, m.label), value_cell(f.value, m, f.symbol, decimals=_own_decimals(f.value, m, f)),
                value_cell(f.reported_value, m, decimals=_own_decimals(f.reported_value, m))
                if f.reported_value is not None else Cell(None, ""),
                text_cell(f.reported_definition or None),
                Cell("yes" if f.comparable else "no", "yes" if f.comparable else "no"),
                value_cell(_num(p.value), m, p.symbol, decimals=dfe_decimals(whole, m.id, dfe_year, COUNCIL))
                if p is not None else Cell(None, ""),
                value_cell(_num(p.england), m, decimals=dfe_decimals(whole, m.id, dfe_year, AREA))
                if p is not None else Cell(None, ""),
                text_cell(f.basis or None), text_cell("; ".join(own) or None)])
        notes = ["Provisional: the council's own figures, re-derived on DfE's definitions by csww-benchmark. DfE has "
                 "not validated or published them. Team rows are in the team table below.",
                 f"DfE {dfe_year}: the council's and England's published figures for the DfE reporting year to 30 "
                 f"September {dfe_year}, the census nearest the end of this period (blank where this database has none)."]
        if shared[per]:
            notes.append(f"Every figure for {per}: " + "; ".join(shared[per]).rstrip(".") + ".")
        notes += [f"Note {i}: {x.rstrip('.')} (applies to {len(counts[x])} "
                  f"figure{'s' if len(counts[x]) > 1 else ''}: {', '.join(counts[x])})." for x, i in numbered.items()]
        tables.append(Table(
            f"local-table-{n}", f"Provisional: {area['area_name']}'s own figures for {per}, aligned to DfE "
            "definitions, beside its reported values",
            ["Measure", "Aligned to DfE definition", "Council's reported figure", "Council's definition",
             "Comparable with DfE", f"{area['area_name']} DfE {dfe_year}", f"England DfE {dfe_year}",
             "How it was calculated", "Caveats"], rows, sheet=f"Local {end:%Y-%m-%d} provisional", notes=notes))
    return Section("local", "Local figures", intro=[
        f"From {', '.join(sources)}. Each figure is recalculated on DfE's definition and shown beside the figure the "
        "council reported, with every way it departs from DfE's basis. One table per period, latest first."],
        tables=tables, provisional=True,
        measure_ids=list(dict.fromkeys(ids)))


def team_sections(conn: sqlite3.Connection, area: dict, local: pd.DataFrame) -> list[Section]:
    """The council's team table for each of its local returns that has team rows (``local_observations`` rows
    with a team), one row per team with a subtotal for each service of two or more teams and the total of the
    teams beside the council's own whole-council figures, as the council's report sets them out
    (``local.teams.rollup``). Empty when no return has team rows."""
    ids = list(dict.fromkeys(local["return_id"]))
    rows = store.query(conn, f"SELECT * FROM local_observations WHERE return_id IN ({','.join('?' * len(ids))}) "
                       "AND team != '' ORDER BY rowid", tuple(ids))
    if rows.empty:
        return []
    heads = {"inpost_headcount": "In post (headcount)", "inpost_fte": "In post FTE", "vacancy_fte": "Vacancies FTE",
             "establishment_fte": "Establishment FTE (in post + vacancies)", "agency_headcount": "Agency (headcount)",
             "agency_fte": "Agency FTE", "caseload_18_or_less_headcount": "Caseload 18 or fewer",
             "caseload_19_to_24_headcount": "Caseload 19 to 24", "caseload_25_plus_headcount": "Caseload 25 or more"}
    tables = []
    for n, rid in enumerate(dict.fromkeys(rows["return_id"]), start=1):
        table = teams.rollup(rows[rows["return_id"] == rid])
        whole = local[local["return_id"] == rid].set_index("measure_id")["value"].to_dict()
        cols = [c for c in heads if any(t["values"].get(c) is not None for t in table)]
        body = []
        for t in table:
            label = t["label"] if t["kind"] == "team" else t["label"].upper()
            body.append([Cell(label, label), text_cell(t["service"] or None)]
                        + [value_cell(t["values"][c], measure_info("inpost_fte" if c == "establishment_fte" else c))
                           for c in cols])
        own = {**whole, "establishment_fte": None if whole.get("inpost_fte") is None or whole.get("vacancy_fte")
               is None else whole["inpost_fte"] + whole["vacancy_fte"]}
        body.append([Cell("COUNCIL RETURN", "COUNCIL RETURN"), Cell(None, "")]
                    + [value_cell(own.get(c), measure_info("inpost_fte" if c == "establishment_fte" else c))
                       for c in cols])
        end = rows.loc[rows["return_id"] == rid, "period_end"].iloc[0]
        tables.append(Table(
            f"team-table-{n}", f"Provisional: {area['area_name']}'s teams at {fmt_date(pd.Timestamp(end))}, with "
            "subtotals by service", ["Team", "Service", *[heads[c] for c in cols]], body,
            sheet=f"Teams {pd.Timestamp(end):%Y-%m-%d}", notes=[
                "Provisional: the council's own team figures. Subtotals add the team figures as shown (FTE to one "
                "decimal place, as DfE publishes), so they may differ from the council's own by a tenth.",
                "COUNCIL RETURN is the council's whole-council row; csww validate checks that the teams add up to it."]))
    return [Section("teams", "Teams and services", intro=[
        f"{area['area_name']}'s figures team by team, grouped into services with subtotals, as in its own report."],
        tables=tables, provisional=True)]


def series_sections(name: str, local: pd.DataFrame, rec: pd.DataFrame, key: list[str], whole=None) -> list[Section]:
    """The council's own returns over two or more snapshots drawn on its DfE series, with the rolling 12-month
    and year-to-date turnover (``local.series.charts_for``), each chart beside its table. Empty with fewer than
    two snapshots. ``whole`` as for :func:`headline_table`: DfE's series at the decimals DfE published."""
    dfe = {mid: {int(r.time_period): _num(r.value) for r in t.itertuples()} for mid, t in rec.groupby("measure_id")}
    places = {mid: {y: dfe_decimals(whole, mid, y, COUNCIL) for y in years} for mid, years in dfe.items()}
    figs = []
    for c in local_series.charts_for(local, name, dfe, key, prefix="local-series", dfe_decimals=places):
        m = measure_info(c["measure_id"])
        rows = [[Cell(fmt_date(d), fmt_date(d)),
                 *[value_cell(v, m, s, decimals=dec[i]) if v is not None or s else text_cell(None)
                   for (v, s), dec in zip(points, c["decimals"])]]
                for i, (d, points) in enumerate(c["raw"])]
        table = Table(f"{c['measure_id']}-series", c["title"], c["headers"], rows,
                      sheet=f"Series {short_sheet(m.label)}"[:31])
        figs.append(Figure(f"local-series-{c['measure_id']}", m.label, c["svg"], c["alt"], table,
                           "Provisional: the council's own figures at each snapshot. Rolling 12-month and year-to-date "
                           "turnover are in-year views; only at 30 September are they DfE's turnover rate."))
    if not figs:
        return []
    return [Section("local-series", "The council's own series", intro=[
        f"{name}'s own returns at each snapshot date on DfE's published series (30 September each year)."],
        figures=figs, provisional=True,
        measure_ids=[lid for f in figs
                     for _, lid in local_series.IN_YEAR_LINES.get(f.id.removeprefix("local-series-"), [])])]


# ---------------------------------------------------------------------------------------------------------------
# Neighbours, definitions, provenance


def add_consistency_notes(figures: list[Figure], flagged: dict[str, list[dict]]) -> None:
    """Say under a measure's chart where DfE's published rate and its own published counts disagree
    (``consistency.notes``), so the pack and the site say the same."""
    for f in figures:
        found = flagged.get(f.id.removeprefix("chart-"), [])
        if found:
            f.note = " ".join(filter(None, [f.note, "DfE's rate and its own counts disagree:",
                                            *(c["text"] for c in found), "The rate is shown as DfE published it."]))


def ethnicity_section(conn: sqlite3.Connection, code: str, year: int) -> Section | None:
    """Ethnicity by seniority (:func:`benchmark.ethnicity.by_seniority`): a chart with its table of the share from
    ethnic minority groups by role beside the neighbour median, region and England, and the council's
    ethnic groups by role; None when the database has no ethnicity breakdown for the council up to ``year``."""
    view = ethnicity.by_seniority(conn, code, year)
    if view is None:
        return None
    name, y = view["area_name"], view["year"]
    region = view["region_name"] or "Region"

    def pct(v, symbol=None) -> Cell:
        return Cell(v, fmt_number(v, 1) + "%", excel_format(1, "%")) if v is not None else Cell(None, symbol or NO_FIGURE)

    rows = [[text_cell(r["role"]), pct(r["council"], r["council_symbol"]), pct(r["sn_median"]), pct(r["region"]),
             pct(r["england"]), int_cell(r["known"])] for r in view["rows"]]
    table = Table("ethnicity-by-role", f"Social workers from ethnic minority groups by role, % of those whose "
                  f"ethnicity is known: {name}, neighbour median, {region} and England, {y}",
                  ["Role", name, "Neighbour median", region, "England", f"Ethnicity known ({name}, headcount)"],
                  rows, sheet="Ethnicity by role")
    svg, alt = ethnicity.chart(view)
    detail = Table("ethnic-groups-by-role", f"{name}: social workers by ethnic group and role, % of those whose "
                   f"ethnicity is known, {y}", ["Role", *view["groups"]],
                   [[text_cell(d["role"]), *(pct(*d["values"][g]) for g in view["groups"])] for d in view["detail"]],
                   sheet="Ethnic groups by role")
    intro = [view["definition"]]
    if y != year:
        intro.append(f"{y} is the latest year DfE published this breakdown for, up to {year}.")
    if view["note"]:
        intro.append(view["note"])
    return Section("ethnicity", f"Ethnicity by seniority, {y}", intro=intro, tables=[detail], figures=[
        Figure("chart-ethnicity", f"Social workers from ethnic minority groups by role, {y}", svg, alt, table,
               "The lines are England, the region and the neighbour median for all social workers; the table gives "
               "each of them by role.")])


def neighbour_section(conn, area: dict, model: str | None, year: int, rec: pd.DataFrame) -> Section:
    now = rec.loc[rec["time_period"] == year]
    method = "dashboard" if any(str(n).startswith("DfE dashboard method") for n in now["sn_note"].dropna()) else None
    nb = gather.neighbour_list(conn, area, model, year, method)
    joint = joint_words(conn, area, year)
    if nb.empty:
        return Section("neighbours", "Statistical neighbours", intro=[*filter(None, [joint]),
            "No statistical neighbour list is in this database for this council, so no neighbour median is shown."])
    shown = nb[nb["status"] != "self"]  # a member of the council's own joint return is not its neighbour
    rows = [[int_cell(r.position), text_cell(r.neighbour_code), text_cell(r.area_name), text_cell(r.closeness),
             Cell("yes" if r.published else "no", "yes" if r.published else "no"), text_cell(r.note)]
            for r in shown.itertuples()]
    notes = sorted({n for n in now["sn_note"].dropna()})
    own = nb[nb["status"] == "self"]
    code = gather.published_code(area, conn, year)
    name = gather.area_name(conn, code)
    intro = [*filter(None, [joint])]
    lead = f"{neighbours.model_words(model)}: the councils most similar to {name}, nearest first."
    if " / " in code and len(nb):
        first = code.split(" / ")[0]
        first_name = gather.area_name(conn, first)
        lead = (f"{neighbours.model_words(model)} list the members of a joint return separately; this joint return takes the "
                f"list of its first member, {first_name} ({first}), by the toolkit's documented rule (DfE's dashboard "
                "gives a joint return no neighbour median). Nearest first.")
        if len(own):
            lead += (" " + " and ".join(f"{r.area_name} ({r.neighbour_code})" for r in own.itertuples())
                     + ", on that list, is part of this joint return itself and is left out.")
    intro.append(lead + " The neighbour figure in this pack is the median of the published values of those with a "
                 f"figure for the year (not the mean); councils DfE did not publish for {year} are left out, and a "
                 "neighbour that returns jointly counts with its joint return's value, once.")
    return Section("neighbours", "Statistical neighbours", intro=intro,
                   tables=[Table("neighbour-table", f"Statistical neighbours of {name} ({neighbours.model_words(model)})",
                                 ["Position", "Code", "Council", "Closeness", f"Figures published for {year}", "Note"],
                                 rows, sheet="Neighbours", row_header=2, notes=notes)])


def _shown_measures(sections: list[Section], key: list[str]) -> list[str]:
    ids = list(key)
    for s in sections:
        for mid in s.measure_ids:
            if mid not in ids:
                ids.append(mid)
    return ids


def definitions_section(ids: list[str]) -> Section:
    """Each measure's definition in DfE's words and, for a rate, its formula from the catalogue (``formula``):
    a fraction in HTML, one line ("Leavers (FTE) ÷ Social workers in post (FTE) × 100") elsewhere."""
    rows = []
    for mid in ids:
        m = measure_info(mid)
        better = {"lower": "Lower", "higher": "Higher", "neutral": "Neither"}[m.polarity]
        calc = Cell(m.formula_line, m.formula_line, formula=m.formula) if m.formula else Cell(None, "")
        rows.append([Cell(m.label, m.label), Cell(mid, mid),
                     text_cell(" ".join((m.definition + (" Caveat: " + m.caveat if m.caveat else "")).split())),
                     calc, text_cell(m.unit), Cell(better, better)])
    return Section("definitions", "Definitions", intro=[
        "DfE's definitions in plain words. Figures are at 30 September, or for the year to 30 September. A rate "
        "is the count above the line divided by the count below it; percentages are then multiplied by 100."],
        tables=[Table("definitions-table", "Definitions of every measure in this pack",
                      ["Measure", "Measure id", "Definition", "How it is calculated", "Unit", "Better when"], rows,
                      sheet="Definitions")])


def provenance_section(conn) -> Section:
    p = gather.provenance(conn)
    build = p["build"]
    rel_rows = [[text_cell(r.release_id), text_cell(r.title), year_cell(r.data_year),
                 text_cell(fmt_date(r.published) if isinstance(r.published, str) else None),
                 text_cell(r.url)] for r in p["releases"].itertuples()]
    file_rows = [[text_cell(r.file_name), text_cell(r.release_id), text_cell(r.sha256),
                  text_cell(fmt_date(r.downloaded_at, time=True)
                            if r.downloaded_at else "not recorded (read from a local file)"),
                  int_cell(r.observations + (getattr(r, "breakdowns", 0) or 0))]  # 0: a database built before that column
                 for r in p["files"].itertuples()]
    intro = [f"Database built by csww-benchmark {build.get('toolkit_version', '?')} on {fmt_date(build.get('built_at'), time=True) or '?'}, "
             f"latest release {build.get('latest_release', '?')}; this pack made by csww-benchmark {__version__}. "
             "Every figure is DfE's published statistic from the releases below (the newest release that has it), "
             "except those labelled provisional. Check a file against its SHA-256 checksum with "
             "'sha256sum FILE'."]
    return Section("provenance", "Where the figures come from", intro=intro, tables=[
        Table("releases-table", "DfE releases read", ["Release", "Title", "Latest year", "Published", "Address"],
              rel_rows, sheet="Releases"),
        Table("files-table", "Source files and checksums",
              ["File", "Release", "SHA-256 checksum", "Downloaded", "Values read"], file_rows, sheet="Source files")])


# ---------------------------------------------------------------------------------------------------------------
# Partnership pack


def read_group(conn, path: str | Path, group_id: str | None = None) -> dict:
    """One group from a YAML group file (the only one, or ``group_id``), with members resolved to areas."""
    groups = compare.read_groups(path)
    ids = [str(g["id"]) for g in groups]
    if group_id is None and len(groups) > 1:
        raise ReportError(f"{path} has {len(groups)} groups ({', '.join(ids)}); choose one with --group-id")
    if group_id is not None and str(group_id) not in ids:
        raise ReportError(f"{path} has no group {group_id!r}; its groups: {', '.join(ids)}")
    g = dict(groups[ids.index(str(group_id)) if group_id is not None else 0])
    g["areas"] = compare.resolve_members(conn, g, councils_only=True)  # every unknown member named at once
    return g


def _group_stats(conn, group: dict) -> pd.DataFrame:
    """Pooled and member median figures from the comparison engine."""
    spec = {k: v for k, v in group.items() if k != "areas"}
    _, _, gc = compare.group_tables(conn, [spec])
    return gc


def group_pack(conn: sqlite3.Connection, group_file: str | Path, year: int | None = None,
               group_id: str | None = None, measure_ids=None, la: str | None = None,
               include_private: bool = False) -> Pack:
    """The partnership pack for ``year`` (default the latest): members compared on ``measure_ids`` (default the
    key measures), bars sorted highest first with ``la`` (a member, as a user types it) highlighted; the
    members' shared and public returns, and this build's private ones only with ``include_private``."""
    key = _key_ids(measure_ids)
    group = read_group(conn, group_file, group_id)
    members = group["areas"]
    codes = list(dict.fromkeys(gather.published_code(a, conn, year) for a in members))  # one per return to DfE
    rec = gather.records(conn, codes)
    if rec.empty:
        raise ReportError(f"no published figures for any member of {group['name']}")
    years_all = sorted(int(y) for y in rec["time_period"].unique())
    year = years_all[-1] if year is None else int(year)
    if year not in years_all:
        raise ReportError(f"no figures for {group['name']} in {year}; the database has {years_all[0]}-{years_all[-1]}")
    dfe_all = rec  # members' returns are set beside DfE's year for their snapshot, whatever the pack's year
    rec = rec[rec["time_period"] <= year]  # nothing after the pack's year
    focus = None
    if la:
        area = gather.resolve(conn, la)
        focus = gather.published_code(area, conn, year)
        if focus not in codes:
            raise ReportError(f"--la {la}: {area['area_name']} is not a member of {group['name']}")
    names = {c: (rec.loc[rec["area_code"] == c, "area_name"].dropna().iloc[0]
                 if rec.loc[rec["area_code"] == c, "area_name"].notna().any()
                 else next(a["area_name"] for a in members if gather.published_code(a, conn, year) == c)) for c in codes}
    now = rec[(rec["time_period"] == year) & rec["measure_id"].isin(key)].copy()
    now["area_name"] = now["area_code"].map(names)
    stats = _group_stats(conn, group)
    st = stats[stats["time_period"] == year].set_index("measure_id") if len(stats) else pd.DataFrame()
    england = {r.measure_id: r.england for r in now.itertuples()}
    pooled = {mid: {"pooled": _num(st.loc[mid, "pooled"]) if mid in st.index else None,
                    "median": _num(st.loc[mid, "member_median"]) if mid in st.index else None,
                    "england": _num(england.get(mid))} for mid in key}

    _, whole = published_figures(conn)
    summary = narrative.group_summary(now, year, key, pooled, whole)
    by = {(r.area_code, r.measure_id): r for r in now.itertuples()}
    labels = [measure_info(mid).label for mid in key]

    def member_rows(fn) -> list[list[Cell]]:
        rows = []
        for c in codes:
            rows.append([Cell(names[c], names[c]), Cell(c, c)]
                        + [fn(by.get((c, mid)), measure_info(mid)) for mid in key])
        return rows

    def value_of(r, m):  # as DfE published it (whole numbers in 2015)
        return (value_cell(_num(r.value), m, r.symbol, decimals=dfe_decimals(whole, m.id, year, COUNCIL))
                if r is not None else Cell(None, NO_FIGURE))

    rows = member_rows(value_of)
    if any(p["pooled"] is not None for p in pooled.values()):
        rows.append([Cell("Partnership (pooled)", "Partnership (pooled)"), Cell("", "")]
                    + [value_cell(pooled[mid]["pooled"], measure_info(mid)) for mid in key])
        rows.append([Cell("Partnership (median of members)", "Partnership (median of members)"), Cell("", "")]
                    + [value_cell(pooled[mid]["median"], measure_info(mid)) for mid in key])
    rows.append([Cell("England", "England"), Cell("E92000001", "E92000001")]
                + [value_cell(pooled[mid]["england"], measure_info(mid),
                              decimals=dfe_decimals(whole, mid, year, AREA)) for mid in key])
    gone = []  # members with no figures this year because they were replaced, or not yet formed
    for a in members:
        c = gather.published_code(a, conn, year)
        if not any(k[0] == c for k in by):
            pointer = gather.year_pointer(conn, a, year)
            if pointer:
                gone.append(f"{a['area_name']} ({a['area_code']}): no figures for {year}{pointer}")
    main = Table("members-table", f"{group['name']}: member councils compared, {year}",
                 ["Council", "Code"] + labels, rows, sheet="Members compared",
                 notes=["Pooled: the partnership taken as one workforce (sum of numerators ÷ sum of denominators; "
                        "FTE in post is the total; a member whose rate DfE shows as 'low' counts with its published "
                        "counts). Median: the middle member value."]
                 + _symbol_note(now["symbol"]) + ([NO_FIGURE_NOTE] if any(c.text == NO_FIGURE for row in rows
                                                                         for c in row) else []) + gone)
    bands = Table("bands-table", f"{group['name']}: quartile band nationally and rank, {year}",
                  ["Council", "Code"] + labels,
                  member_rows(lambda r, m: text_cell(
                      (f"{r.quartile} ({int(r.rank)} of {int(r.rank_of)})" if isinstance(r.quartile, str)
                       and is_number(r.rank) else (r.quartile if r is not None else None)) if r is not None else None)),
                  sheet="Quartile bands", notes=[QUARTILE_NOTE])
    before = {(r.area_code, r.measure_id): r for r in rec[rec["time_period"] == year - 1].itertuples()}
    change_rows = member_rows(lambda r, m: change_cell(r, before.get((r.area_code, r.measure_id)) if r is not None
                                                       else None, m, year))
    change = Table("change-table", f"{group['name']}: change on last year, {year - 1} to {year}",
                   ["Council", "Code"] + labels, change_rows, sheet="Change on last year",
                   notes=["Rates change in percentage points."]
                   + _change_note([c for row in change_rows for c in row[2:]], year))
    figures = []
    for mid in key:
        m = measure_info(mid)
        bars = []
        for c in codes:
            r = by.get((c, mid))
            v = _num(r.value) if r is not None else None
            sym = r.symbol if r is not None else None
            bars.append((names[c], 0.0 if v is None and sym == LOW else v,
                         value_cell(v, m, sym, decimals=dfe_decimals(whole, mid, year, COUNCIL)).text
                         or "no figure"))
        bars.sort(key=lambda b: (b[1] is None, -(b[1] or 0.0)))  # highest first, no figure last
        refs = [(n, pooled[mid][k]) for n, k in (("Partnership", "pooled"), ("England", "england"))
                if pooled[mid][k] is not None and m.unit not in ("FTE", "headcount")]
        order = {n: i for i, (n, _, _) in enumerate(bars)}
        t = Table(f"group-{mid}", f"{m.label} by member council, {year}", ["Council", m.label, "Rank (1 = lowest)",
                  "Councils ranked", "Rank in region (1 = lowest)", "Councils ranked in region", "Quartile band"],
                  [[Cell(names[c], names[c]), value_of(by.get((c, mid)), m),
                    int_cell(by[(c, mid)].rank if (c, mid) in by else None),
                    int_cell(by[(c, mid)].rank_of if (c, mid) in by else None),
                    int_cell(by[(c, mid)].region_rank if (c, mid) in by else None),
                    int_cell(by[(c, mid)].region_rank_of if (c, mid) in by else None),
                    text_cell(by[(c, mid)].quartile if (c, mid) in by else None)]
                   for c in sorted(codes, key=lambda c: order[names[c]])],
                  sheet=f"Chart {short_sheet(m.label)}",
                  notes=["Rank in region: a London borough's is among all London councils (Inner and Outer London "
                         "together)."] if _is_borough(now) else [])
        shown = [b for b in bars if b[1] is not None]
        alt = (f"Bar chart of {m.label} for the {len(codes)} member councils of {group['name']} in {year}"
               + (", with reference lines for " + " and ".join(n for n, _ in refs) if refs else "") + ". ")
        if shown:
            hi = max(shown, key=lambda b: b[1])
            lo = min(shown, key=lambda b: b[1])
            alt += f"Highest {hi[0]} {hi[2]}; lowest {lo[0]} {lo[2]}. "
        alt += "The figures are in the table beside the chart."
        figures.append(Figure(f"chart-{mid}", m.label, charts.bar_chart(
            f"chart-{mid}", f"{m.label} by member council, {year}", alt, bars, refs, m.decimals, suffix(m),
            highlight=names[focus] if focus else None, reference_decimals=[  # as the table shows England
                dfe_decimals(whole, mid, year, AREA) if n == "England" else None for n, _ in refs]), alt, t))
    member_list = Table("group-members-table", f"Members of {group['name']}", ["As written in the group file",
                        "Council", "DfE code", "Figures published under"],
                        [[text_cell(str(w)), text_cell(a["area_name"]), text_cell(a["area_code"]),
                          text_cell(gather.published_code(a, conn, year))] for w, a in zip(group["members"], members)],
                        sheet="Members", row_header=1)
    sections = [
        Section("members", "Member councils compared", intro=[
            f"The key measures for every member of {group['name']} in the year to 30 September {year}, with the "
            "partnership as a whole and England."], tables=[main, bands, change]),
        Section("charts", "Each measure by member council", figures=figures),
        *member_returns_section(conn, group, codes, names, dfe_all, key, include_private),
        Section("group", "The partnership", intro=[group.get("description") or
                                                    f"{group['name']}: {members_words(members, codes)}."],
                tables=[member_list]),
        definitions_section(key),
        provenance_section(conn),
    ]
    if not gather.has_comparisons(conn):
        main.notes.insert(0, "The comparison engine has not been run on this database: ranks, quartile bands and "
                             "the pooled partnership figures are empty.")
    return Pack(kind="group", title=f"Children's social work workforce: {group['name']}",
                subtitle=f"Partnership benchmarking pack for the year to 30 September {year}", year=year,
                summary=summary, sections=sections, generated_at=_now(), toolkit_version=__version__,
                facts={"group_id": group["id"], "group_name": group["name"], "members": codes,
                       "years": [y for y in years_all if y <= year], "measures": key, "pooled": pooled,
                       "focus": focus})


def members_words(members: list[dict], codes: list[str]) -> str:
    """"15 councils", or "12 returns to DfE from 15 councils" when members return jointly (314 and 318 make one
    return) or one member is the other's predecessor: the members counted as councils and as DfE returns."""
    n = len({a["area_code"] for a in members})
    councils_ = f"{n} council{'s' if n != 1 else ''}"
    if len(codes) == n:
        return councils_
    return f"{len(codes)} return{'s' if len(codes) != 1 else ''} to DfE from {councils_}"


def member_returns_section(conn: sqlite3.Connection, group: dict, codes: list[str], names: dict,
                           dfe: pd.DataFrame, key: list[str], include_private: bool = False) -> list[Section]:
    """The members' own returns (``gather.partnership_local_figures``: shared with this partnership or public;
    the builder's own private ones only with ``include_private``; each return once), each figure beside DfE's
    published figure for the council and England in the DfE year its snapshot is set beside. One row per measure
    and member return, measures in catalogue order (key measures first). No section when no member return is
    shown; a private return left out is said so, in the section when there is one."""
    local = gather.partnership_local_figures(conn, group, include_private)
    left_out = local.attrs.get("private_left_out", 0)
    left_note = (f"{left_out} private return{'s' if left_out != 1 else ''} of this build "
                 f"{'are' if left_out != 1 else 'is'} left out: a partnership's pack goes to its partners. Share "
                 f"{'them' if left_out != 1 else 'it'} ('csww align FILE --export RETURN.json --partnership NAME') "
                 f"or give --include-private to show {'them' if left_out != 1 else 'it'}.")
    if local.empty:
        return [] if not left_out else [Section("member-returns", "Members' own returns", intro=[left_note])]
    member_of = {}
    for a in group["areas"]:
        member_of[a["area_code"]] = member_of[gather.published_code(a)] = gather.published_code(a)
    pub = {(r.area_code, r.measure_id, int(r.time_period)): r for r in dfe.itertuples()}
    order = {mid: i for i, mid in enumerate(list(measures.catalogue()))}
    figures = sorted(local.itertuples(index=False), key=lambda f: (
        f.measure_id not in key, order.get(f.measure_id, 999), f.measure_id, codes.index(member_of[f.area_code]),
        -f.period_end.toordinal()))
    level_words = {"shared": "shared with the partnership", "private": "this build's own (private)",
                   "public": "public"}
    rows = []
    for f in figures:
        m = measure_info(f.measure_id)
        code = member_of[f.area_code]
        year = int(f.time_period)
        p = pub.get((code, f.measure_id, year))
        rows.append([
            Cell(m.label, m.label), text_cell(names.get(code, code)),
            text_cell(f"{fmt_date(f.period_start)} to {fmt_date(f.period_end)}"),
            value_cell(f.value, m, f.symbol, decimals=_own_decimals(f.value, m, f)),
            Cell("yes" if f.comparable else "no", "yes" if f.comparable else "no"),
            year_cell(year),
            value_cell(_num(p.value), m, p.symbol) if p is not None else Cell(None, NO_FIGURE),
            value_cell(_num(p.england), m) if p is not None else Cell(None, NO_FIGURE),
            text_cell(level_words.get(getattr(f, "publication", None) or "", None))])
    table = Table("member-returns-table", f"{group['name']}: members' own figures (provisional) beside DfE's",
                  ["Measure", "Council", "Return period", "Provisional figure (aligned to DfE definition)",
                   "Comparable with DfE", "DfE year set beside", "Council, DfE published", "England, DfE published",
                   "Return"], rows, sheet="Members' returns provisional",
                  notes=["Provisional: each member council's own figures, re-derived on DfE's definitions by "
                         "csww-benchmark from the return it exported (csww align --export). DfE has not validated or "
                         "published them.",
                         "DfE year set beside: the DfE census (30 September) nearest the end of the return's period; "
                         f"'{NO_FIGURE}' where this database has no DfE figure for that year.",
                         "Shared returns appear only in this partnership's pack and private site, never in the data "
                         "package or the public site. A return loaded twice (the council's file and its export) "
                         "is shown once.", *([left_note] if left_out else [])])
    return [Section("member-returns", "Members' own returns", intro=[
        f"The returns members of {group['name']} have shared, each figure on DfE's definition beside DfE's published "
        "figure for the same council and England."], tables=[table], provisional=True,
        measure_ids=list(dict.fromkeys(f.measure_id for f in figures)))]
