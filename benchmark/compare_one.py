"""``csww compare`` for one council, straight from SQLite and without pandas (issue 14, item 7: an answer in
0.15 s, when importing pandas alone takes 0.3 s).

:func:`council_rows` gives what :func:`benchmark.compare.council_view` gives for the stored comparisons (no
``--group``, ``--sn-model`` or ``--sn-method``): the same records, in the same order, with each column's values
of the type pandas would have read (a whole-number column with a gap becomes floats), so
:func:`benchmark.compare_format.render` prints the same text from either. ``tests/test_compare_one.py`` holds
the two paths equal on the real build for every format; ``perf/compare_one.py`` times them.
"""

from __future__ import annotations

import sqlite3

from . import councils, measures, tables
from .problems import NotFoundError

LA = "Local authority"


def _as_pandas_reads(columns: list[str], rows: list[tuple]) -> list[dict]:
    """Rows as dicts, each column's values as ``pandas.read_sql_query`` types them across all ``rows``: a column of
    numbers with a gap (or any fraction) holds floats and None, whole numbers alone stay int, text as it is."""
    out = [dict(zip(columns, r)) for r in rows]
    for i, c in enumerate(columns):
        kinds = {type(r[i]) for r in rows}  # sqlite3 gives None, int, float, str or bytes
        numbers = kinds - {type(None)}
        if numbers and numbers <= {int, float} and (float in numbers or type(None) in kinds):
            for rec in out:
                if rec[c] is not None:
                    rec[c] = float(rec[c])
    return out


def council_code(conn: sqlite3.Connection, la: str, measure_ids=(), year: int | None = None) -> tuple[dict, str]:
    """The council ``la`` names (any code or name ``councils.resolve`` takes) and the code its published figures
    are under in ``year`` (``councils.published_code``: a joint-return member's joint return, or its own code in a
    year it returned alone, as Kingston upon Thames in 2015). Raises ``councils.AreaNotFound`` for a place that is
    not a council and ``measures.get``'s error for an unknown measure id. The pandas and the fast path both start
    here."""
    area = councils.resolve(conn, la)
    if area["level"] != LA:
        raise councils.AreaNotFound(f"{la!r} is {area['area_name']}, not a council; give a local authority")
    for m in measure_ids:
        measures.get(m)
    return area, councils.published_code(conn, area, year)


def missing_year(conn: sqlite3.Connection, area: dict, year: int, years) -> str:
    """"no figures for NAME in YEAR; years: FIRST-LAST", then where they are (``councils.year_pointer``: the
    members' own returns, a predecessor or successor council)."""
    pointer = councils.year_pointer(conn, area, year)
    return (f"no figures for {area['area_name']} in {year}; years: {int(min(years))}-{int(max(years))}"
            + (f". {pointer}" if pointer else ""))


def council_rows(conn: sqlite3.Connection, la: str, year: int | None = None,
                 measure_ids=()) -> tuple[dict, list[dict]] | None:
    """The resolved area and one council's stored comparison records for ``year`` (default: its latest),
    key measures by default, as ``compare.council_view`` orders them: by measure as asked, published before
    provisional. None when the database has no ``comparisons`` table (the caller computes them instead).

    Raises ``councils.AreaNotFound`` for an unknown place, a region or England, or a year without figures, and
    NotFoundError for an unknown measure or no figures for the measures asked for (the messages of the pandas
    path).
    """
    area, code = council_code(conn, la, measure_ids, year)
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'comparisons'").fetchone():
        return None
    cur = conn.execute("SELECT * FROM comparisons WHERE area_code = ?", (code,))
    rows = _as_pandas_reads([d[0] for d in cur.description], [tuple(r) for r in cur.fetchall()])
    published = [r for r in rows if r["provisional"] == 0]
    if not published:
        raise councils.AreaNotFound(f"no published figures for {area['area_name']} ({code}) in this database")
    years = [r["time_period"] for r in published]
    year = int(max(years)) if year is None else year
    if year not in set(years):
        raise councils.AreaNotFound(missing_year(conn, area, year, years))
    ids = list(measure_ids) or [m.id for m in measures.key_measures()]
    sel = [r for r in rows if r["measure_id"] in ids and ((r["time_period"] == year and r["provisional"] == 0)
                                                          or (r["provisional"] == 1 and r["comparator_year"] == year))]
    if not sel:  # e.g. a measure only the 2015-2016 SFR files carry, asked for a later year
        have = [r["time_period"] for r in published if r["measure_id"] in ids]
        when = f"this database has no {', '.join(ids)} figures for {area['area_name']}"
        if have:
            span = f"{int(min(have))}" + (f"-{int(max(have))}" if max(have) > min(have) else "")
            when = f"this database has {', '.join(ids)} for {area['area_name']} in {span} only"
        raise NotFoundError(f"no figures for {area['area_name']} in {year} for the measures asked for: {when}")

    # several local returns for one year: the latest period's figure (return ids are area:start:end:sha)
    def end(r):
        rid = r["return_id"]
        return rid.split(":")[2] if isinstance(rid, str) and rid.count(":") >= 3 else ""

    latest, key = {}, tables.OBSERVATION_KEY
    for r in sorted(sel, key=end):
        latest[tuple(r[k] for k in key) + (r["provisional"],)] = r
    order = {m: i for i, m in enumerate(ids)}
    return area, sorted(latest.values(), key=lambda r: (order[r["measure_id"]], r["provisional"], r["time_period"]))
