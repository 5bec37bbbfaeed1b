"""Read what a pack needs from the database, through ``store``.

The pack reads a *comparison record set*: one row per (time_period, council, measure) with the council's
value and its comparators (the ``comparisons`` schema's columns). When the comparison engine has written
the ``comparisons`` table, that is the record set. A database built before the engine existed still gives a
pack: the council, its region and England come from ``observations`` (and the change on last year), and the
neighbour, rank and quartile columns stay empty, with a note saying so. Ranks, quartiles and neighbour
medians are never computed here.
"""

from __future__ import annotations

import sqlite3

import pandas as pd

from .. import councils, neighbours, publication, store, tables
from ..database import has_table
from ..local import store as local_store
from ..problems import CswwError

ENGLAND = "E92000001"
LA = "Local authority"

SN_MODELS = {"sn_2021": "DfE children's services statistical neighbours, April 2021 groupings",
             "sn_2025": "DfE children's services statistical neighbours, May 2025 model"}


class ReportError(CswwError):
    """The pack cannot be made from what was given (unknown council, year not in the database, ...)."""


def has_comparisons(conn: sqlite3.Connection) -> bool:
    return has_table(conn, "comparisons") and conn.execute("SELECT 1 FROM comparisons LIMIT 1").fetchone() is not None


def resolve(conn: sqlite3.Connection, text: str) -> dict:
    """The areas row for a council as a user types it (``councils.resolve``: code, ONS code or any spelling)."""
    area = councils.resolve(conn, text)  # AreaNotFound, with suggestions, when nothing matches
    if area.get("level") != LA:
        raise ReportError(f"{text!r} is {area['area_name']}, not a council; give a local authority")
    return area


def published_code(area: dict, conn: sqlite3.Connection | None = None, year: int | None = None) -> str:
    """The code DfE publishes the council's figures under (a joint return for its members; with ``conn`` and
    ``year``, a member's own code in a year it returned alone: ``councils.published_code``)."""
    if conn is not None:
        return councils.published_code(conn, area, year)
    return area.get("joint_return_code") or area["area_code"]


def area_name(conn: sqlite3.Connection, code: str) -> str:
    """The ``areas`` name of ``code`` (the code itself when the build has no such area)."""
    row = conn.execute("SELECT area_name FROM areas WHERE area_code = ?", (code,)).fetchone()
    return row[0] if row else code


def year_pointer(conn: sqlite3.Connection, area: dict, year: int) -> str:
    """Where ``area``'s figures for ``year`` are when none are under its code (``councils.year_pointer``) as
    ". SENTENCES" to end a message with, or ""."""
    text = councils.year_pointer(conn, area, year)
    return f". {text}" if text else ""


def records(conn: sqlite3.Connection, codes: list[str]) -> pd.DataFrame:
    """The published comparison records of the given councils, all years and measures (``comparisons`` columns)."""
    marks = ",".join("?" * len(codes))
    if has_comparisons(conn):
        df = store.query(conn, f"SELECT * FROM comparisons WHERE area_code IN ({marks}) AND provisional = 0",
                         tuple(codes))
        return df.reindex(columns=tables.columns("comparisons"))
    return _records_from_observations(conn, codes)


def _records_from_observations(conn: sqlite3.Connection, codes: list[str]) -> pd.DataFrame:
    marks = ",".join("?" * len(codes))
    df = store.query(conn, f"""
        SELECT o.time_period, o.area_code, a.area_name, o.measure_id, o.value, o.symbol, 0 AS provisional,
               e.value AS england, a.region_code, r.area_name AS region_name, rv.value AS region,
               lv.value AS london
        FROM observations o
        JOIN areas a ON a.area_code = o.area_code
        LEFT JOIN observations e ON e.area_code = '{ENGLAND}' AND e.time_period = o.time_period
             AND e.measure_id = o.measure_id
        LEFT JOIN areas r ON r.area_code = a.region_code
        LEFT JOIN observations rv ON rv.area_code = a.region_code AND rv.time_period = o.time_period
             AND rv.measure_id = o.measure_id
        LEFT JOIN observations lv ON lv.area_code = a.london_region_code AND lv.time_period = o.time_period
             AND lv.measure_id = o.measure_id
        WHERE o.area_code IN ({marks})""", tuple(codes))
    prev = df[tables.OBSERVATION_KEY + ["value"]].rename(columns={"value": "previous"})
    prev = prev.assign(time_period=prev["time_period"] + 1)
    df = df.merge(prev, on=tables.OBSERVATION_KEY, how="left")
    df["change"] = (df["value"] - df["previous"]).round(3)
    df["diff_england"] = (df["value"] - df["england"]).round(3)
    df["diff_region"] = (df["value"] - df["region"]).round(3)
    return df.reindex(columns=tables.columns("comparisons"))


def neighbour_list(conn: sqlite3.Connection, area: dict, model: str | None, year: int,
                   method: str | None = None) -> pd.DataFrame:
    """The council's statistical neighbours in ``year`` under ``model``, as its neighbour median takes them
    (``neighbours.council_list`` on the code its figures are published under that year): position, code, name,
    closeness, whether DfE published figures for them in ``year`` (a joint-return member counts through its joint
    return), ``status`` (``used``, ``absent``, ``self``: a member of the council's own joint return, left out;
    ``duplicate``: the second member of one joint return, counted once), ``published_code`` and ``note``."""
    cols = ["position", "neighbour_code", "area_name", "closeness", "published", "status", "published_code", "note"]
    if not model or not has_table(conn, "neighbours"):
        return pd.DataFrame(columns=cols)
    code = published_code(area, conn, year)
    nb = neighbours.council_list(conn, code, year, model, method)
    nb["published"] = nb["status"].isin(["used", "duplicate"])
    return nb[cols]


def provenance(conn: sqlite3.Connection) -> dict[str, pd.DataFrame | dict]:
    info = {r["key"]: r["value"] for r in conn.execute("SELECT key, value FROM build_info")}
    releases = store.query(conn, "SELECT release_id, title, data_year, published, url FROM releases ORDER BY data_year")
    files = store.query(conn, "SELECT * FROM source_files ORDER BY release_id, file_name")
    return {"build": info, "releases": releases, "files": files}


def areas(conn: sqlite3.Connection) -> pd.DataFrame:
    return store.query(conn, "SELECT * FROM areas")


def local_figures(conn: sqlite3.Connection, area: dict, path=None, as_at=None) -> pd.DataFrame:
    """The council's whole-council local figures (``local_observations`` rows, dates as ``date``).

    With ``path`` (``csww report --local FILE``), the file is loaded into ``conn`` exactly as ``csww build
    --local`` loads it (``local.store.load_files``; ``conn`` should be a copy) and its returns are read; ``as_at``
    (a date) sets each return beside the latest census DfE had published by then (``--as-at``).
    Without, the council's returns already in the database that ``publication`` makes public.
    Raises ReportError when the file holds no whole-council figure for the council.
    """
    if path is not None:
        ids = local_store.load_files(conn, [path], la=area["area_code"], as_at=as_at)
        where, params = f"return_id IN ({','.join('?' * len(ids))})", tuple(ids)
    elif has_table(conn, "local_observations"):
        rule = publication.where(conn, "local_observations")
        if rule is None:
            return pd.DataFrame()
        codes = [area["area_code"], published_code(area)]
        where, params = f"({rule}) AND area_code IN (?, ?)", tuple(codes)
    else:
        return pd.DataFrame()
    df = store.query(conn, f"SELECT * FROM local_observations WHERE {where} AND team = '' ORDER BY rowid", params)
    if path is not None and df.empty:
        raise ReportError(f"{path}: no whole-council figures for {area['area_name']} ({area['area_code']})")
    for col in ("period_start", "period_end"):
        df[col] = pd.to_datetime(df[col]).dt.date
    df["comparable"] = df["comparable"].astype(bool)
    return df.astype(object).where(df.notna(), None)


LEVEL_ORDER = {"public": 0, "shared": 1, "private": 2}


def partnership_local_figures(conn: sqlite3.Connection, group: dict, include_private: bool = False) -> pd.DataFrame:
    """The members' whole-council local figures a partnership's pack shows (``publication.partnership_where``:
    public returns and those shared with this partnership, by its id or name; the builder's own private ones
    only with ``include_private``, since the pack goes to partners), with each return's ``publication`` and
    ``partnership``; dates as ``date``. One copy of each return: the same council, period and source file loaded
    twice (the council's file and its ``csww align --export``) is shown once, the most public copy (then the
    latest loaded). ``attrs["private_left_out"]`` counts the private returns left out. Empty when none is loaded."""
    if not has_table(conn, "local_observations") or not has_table(conn, "local_returns"):
        return pd.DataFrame()
    rule = publication.partnership_where(conn, "local_observations", [str(group["id"]), str(group["name"])])
    if rule is None:
        return pd.DataFrame()
    codes = sorted({c for a in group["areas"] for c in (a["area_code"], published_code(a))})
    sql, params = rule
    df = store.query(conn, f"SELECT * FROM local_observations WHERE ({sql}) AND team = '' AND area_code IN "
                           f"({','.join('?' * len(codes))}) ORDER BY rowid", params + tuple(codes))
    if df.empty:
        return df
    have = {r[1] for r in conn.execute("PRAGMA table_info(local_returns)")}
    cols = [c for c in ("publication", "partnership") if c in have]
    levels = store.query(conn, f"SELECT return_id, loaded_at, {', '.join(cols) or 'NULL AS publication'} "
                               "FROM local_returns")
    df = df.merge(levels, on="return_id", how="left")
    # one copy of each return: rank the copies of a (council, period, source file) and keep the first
    copies = df.drop_duplicates("return_id").assign(
        level=lambda d: d["publication"].map(LEVEL_ORDER).fillna(len(LEVEL_ORDER)))
    copies = copies.sort_values(["level", "loaded_at"], ascending=[True, False], kind="stable")
    kept = copies.drop_duplicates(["area_code", "period_start", "period_end", "source_file"])
    private = set(kept.loc[kept["publication"].eq("private"), "return_id"])
    left_out = 0 if include_private else len(private)
    shown = set(kept["return_id"]) - (set() if include_private else private)
    df = df[df["return_id"].isin(shown)].drop(columns="loaded_at")
    if not df.empty:
        for col in ("period_start", "period_end"):
            df[col] = pd.to_datetime(df[col]).dt.date
        df["comparable"] = df["comparable"].astype(bool)
        df = df.astype(object).where(df.notna(), None)
    df.attrs["private_left_out"] = left_out
    return df
