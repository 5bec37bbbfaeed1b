"""The SQLite store: schema and reads; atomic writes are in ``benchmark.fileio``.

The database is built under a temporary name beside its destination and renamed into place only when
complete, so a failed build never leaves a half-written ``csww.db``.
"""

from __future__ import annotations

import contextlib
import sqlite3

import numpy as np
import pandas as pd

from . import tables
from .buildstate import connect  # noqa: F401  (store.connect, as every caller knows it)

#: The tables ``csww build`` bulk-loads, in order; their columns and constraints come from the Table Schemas.
BUILD_TABLES = ["build_info", "releases", "source_files", "measures", "areas", "area_codes", "area_changes",
                "observations", "observation_revisions", "breakdowns"]
#: Written by compare.write_comparisons at the end of a build (and again whenever groups or local figures change).
COMPARE_TABLES = ["neighbours", "comparisons", "groups", "group_members", "group_comparisons", "consistency_checks"]

#: Secondary indexes and views (not tables, so not in the schemas); created after a build's bulk load.
INDEXES = """
CREATE INDEX IF NOT EXISTS observations_area ON observations(area_code, measure_id, time_period);
CREATE INDEX IF NOT EXISTS observations_measure ON observations(measure_id, time_period);
CREATE INDEX IF NOT EXISTS revisions_release ON observation_revisions(release_id);
CREATE INDEX IF NOT EXISTS breakdowns_area ON breakdowns(area_code, breakdown_topic, time_period);
CREATE VIEW IF NOT EXISTS revised_values AS
SELECT r.time_period, r.area_code, a.area_name, r.measure_id,
       p.release_id AS earlier_release, p.value AS earlier_value, p.symbol AS earlier_symbol,
       r.release_id AS later_release, r.value AS later_value, r.symbol AS later_symbol
FROM observation_revisions r
JOIN releases rr ON rr.release_id = r.release_id
JOIN observation_revisions p
  ON p.time_period = r.time_period AND p.area_code = r.area_code AND p.measure_id = r.measure_id
JOIN releases pr ON pr.release_id = p.release_id
JOIN areas a ON a.area_code = r.area_code
WHERE pr.data_year = (SELECT max(x.data_year) FROM observation_revisions q JOIN releases x ON x.release_id = q.release_id
                      WHERE q.time_period = r.time_period AND q.area_code = r.area_code
                        AND q.measure_id = r.measure_id AND x.data_year < rr.data_year)
  AND (p.value IS NOT r.value OR p.symbol IS NOT r.symbol);
"""
COMPARE_INDEXES = ("CREATE INDEX IF NOT EXISTS comparisons_measure ON comparisons(measure_id, time_period);\n"
                   # one council's rows (``csww compare --la``, the profile page) without scanning the table
                   "CREATE INDEX IF NOT EXISTS comparisons_area ON comparisons(area_code, measure_id);\n")



def create(conn: sqlite3.Connection, tables_only: bool = False) -> None:
    """Create the schema; with ``tables_only``, the build's tables only (call ``create_rest`` after loading)."""
    conn.executescript("".join(tables.ddl(t) for t in BUILD_TABLES))
    if not tables_only:
        create_rest(conn)


def create_rest(conn: sqlite3.Connection) -> None:
    """The rest of the schema after ``create(conn, tables_only=True)`` and a bulk load: indexes, the view and
    the comparison tables."""
    conn.executescript(INDEXES)
    create_compare(conn)


def create_compare(conn: sqlite3.Connection) -> None:
    """The comparison tables, if missing (also on a database built before they existed)."""
    conn.executescript("".join(tables.ddl(t) for t in COMPARE_TABLES) + COMPARE_INDEXES)


_STAGE = "csww_insert_stage"


def insert_frame(conn: sqlite3.Connection, table: str, df: pd.DataFrame) -> None:
    """Insert a DataFrame's rows, NaN (and None, pd.NA, NaT) as NULL, columns by name (each column converted to
    Python values once, the rows bound as tuples of those). Raises sqlite3.IntegrityError, inserting nothing,
    when a row breaks the table's key, NOT NULL or CHECK constraints (a bug: the rows are ours)."""
    if df.empty:
        return
    cols = list(df.columns)
    data = [_bindable(df[col]) for col in cols]
    # Rows go first into a temporary table (no key, no checks) and then, in the same order, into the table by
    # one INSERT ... SELECT: in the same run ~40 % cheaper than executemany into the table itself, whose key
    # and constraints SQLite then applies in one statement (a violation fails it whole).
    names = ", ".join(cols)
    types, checks = _staging(conn, table, cols)
    conn.execute(f"DROP TABLE IF EXISTS temp.{_STAGE}")
    conn.execute(f"CREATE TEMP TABLE {_STAGE} ({', '.join(f'{c} {types.get(c, _NONE)}'.rstrip() for c in cols)})")
    try:
        conn.executemany(f"INSERT INTO temp.{_STAGE} VALUES ({', '.join('?' * len(cols))})", zip(*data))
        copy = f"INSERT INTO {table} ({names}) SELECT {names} FROM temp.{_STAGE} ORDER BY rowid"
        if not checks:
            conn.execute(copy)
            return
        # The table's CHECK constraints, tested once over the staged rows (their columns of the table's types,
        # so holding the values the table would, after type affinity) and not again row by row in the INSERT:
        # SQLite's own CHECKs cost two thirds of the INSERT ... SELECT (an IN list, from an enum, per row), a
        # WHERE over the stage a tenth of that.
        bad = conn.execute(f"SELECT rowid, {', '.join(f'NOT ({c})' for c in checks)} FROM temp.{_STAGE} WHERE "
                           + " OR ".join(f"NOT ({c})" for c in checks) + " ORDER BY rowid LIMIT 1").fetchone()
        if bad:
            failed = next(c for c, f in zip(checks, bad[1:]) if f)
            raise sqlite3.IntegrityError(f"CHECK constraint failed: {failed} ({table}: row {bad[0]} of the "
                                         f"{len(df)} given)")
        with checks_off(conn):
            conn.execute(copy)
    finally:
        conn.execute(f"DROP TABLE IF EXISTS temp.{_STAGE}")


_NONE = ""


@contextlib.contextmanager
def checks_off(conn: sqlite3.Connection):
    """SQLite's CHECK constraints not tested row by row for the statements run inside (``PRAGMA
    ignore_check_constraints``; back as they were after): only for rows already tested against the same CHECKs,
    e.g. copied from a table with the same ones, or tested by :func:`insert_frame`. An INSERT ... SELECT of
    38,889 rows into ``observations`` takes half the CPU without them (its IN list and table check per row)."""
    before = conn.execute("PRAGMA ignore_check_constraints").fetchone()[0]
    conn.execute("PRAGMA ignore_check_constraints = ON")
    try:
        yield conn
    finally:
        conn.execute(f"PRAGMA ignore_check_constraints = {int(before)}")


def _staging(conn: sqlite3.Connection, table: str, cols: list[str]) -> tuple[dict[str, str], list[str]]:
    """The declared type of each of ``table``'s columns and the expressions of its CHECK constraints
    (:func:`benchmark.tables.checks`), for :func:`insert_frame` to test the rows itself: only when the table in
    the database is the one its schema's DDL creates (``tables.ddl``, the same text), ``cols`` are all its
    columns (no default to check) and it has no COLLATE (a CHECK on the stage would compare by another
    collation); else no types and no checks (SQLite tests the rows itself)."""
    row = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()
    if not row or not row[0] or "COLLATE" in row[0].upper():
        return {}, []
    try:
        made = tables.ddl(table)
    except KeyError:  # not one of the schemas' tables (a council's returns): SQLite tests the rows
        return {}, []  # sqlite_master keeps a CREATE TABLE's text from its "(" on, as it was run
    if row[0].partition("(")[2].strip() != made.partition("(")[2].strip().rstrip(";").strip():
        return {}, []
    types = {r[1]: r[2] for r in conn.execute(f'PRAGMA table_info("{table}")')}
    checks = tables.checks(table)
    if not checks or sorted(types) != sorted(cols):
        return {}, []
    return types, checks


_NULL = float("nan")


def _bindable(column: pd.Series) -> list:
    """A column as the Python values to bind, a missing cell as the float NaN, which SQLite binds as NULL (its
    ``sqlite3_bind_double`` stores NULL for a NaN), as it does None. Not None: Python's sqlite3 looks for an
    adapter of every None it binds, each time (about 0.8 us a cell: a third of binding ``comparisons``, whose
    cells are a quarter NULL), while a float is bound directly; ``tests/test_store.py`` holds the NULL."""
    dtype = column.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "fiub":
        return column.to_numpy().tolist()  # a float column's NaN as it is; ints and booleans are never missing
    if not isinstance(dtype, np.dtype):  # pandas' own (str in Arrow memory, Int64): each distinct value once
        codes, uniques = pd.factorize(column)
        values = np.empty(len(uniques) + 1, dtype=object)
        values[:-1], values[-1] = uniques.to_numpy(dtype=object), _NULL  # code -1: missing
        return values[codes].tolist()
    values = column.to_numpy(dtype=object)
    missing = pd.isna(values)
    return (np.where(missing, _NULL, values) if missing.any() else values).tolist()


def bulk_load(conn: sqlite3.Connection) -> None:
    """Settings for loading a new build's database: no rollback journal and no syncs. Only for a database
    written into a fresh build directory that is made current only once complete (``buildstate``): a failed
    build removes it whole, so nothing needs rolling back and nothing half-written is ever read."""
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    # insert_frame's staging table (and index sorts) in memory, not a temporary file: in the same run the
    # quick tour's inserts take ~20 % less CPU, for ~2 MB more peak (perf/same_tables.py: the same tables)
    conn.execute("PRAGMA temp_store = MEMORY")


def query(conn: sqlite3.Connection, sql: str, params=()) -> pd.DataFrame:
    return pd.read_sql_query(sql, conn, params=params)
