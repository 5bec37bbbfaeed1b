"""The SQLite store: schema and reads; atomic writes are in ``benchmark.fileio``.

The database is built under a temporary name beside its destination and renamed into place only when
complete, so a failed build never leaves a half-written ``csww.db``.
"""

from __future__ import annotations

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
    Python values once, the rows bound as tuples of those)."""
    if df.empty:
        return
    cols = list(df.columns)
    data = [_bindable(df[col]) for col in cols]
    # Rows go first into a bare temporary table (no key, no checks) and then, in the same order, into the
    # table by one INSERT ... SELECT: in the same run ~40 % cheaper than executemany into the table itself,
    # whose key and CHECK constraints SQLite then applies in one statement (a violation fails it whole).
    names = ", ".join(cols)
    conn.execute(f"DROP TABLE IF EXISTS temp.{_STAGE}")
    conn.execute(f"CREATE TEMP TABLE {_STAGE} ({names})")
    try:
        conn.executemany(f"INSERT INTO temp.{_STAGE} VALUES ({', '.join('?' * len(cols))})", zip(*data))
        conn.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM temp.{_STAGE} ORDER BY rowid")
    finally:
        conn.execute(f"DROP TABLE IF EXISTS temp.{_STAGE}")


_NULL = float("nan")


def _bindable(column: pd.Series) -> list:
    """A column as the Python values to bind, a missing cell as the float NaN, which SQLite binds as NULL (its
    ``sqlite3_bind_double`` stores NULL for a NaN), as it does None. Not None: Python's sqlite3 looks for an
    adapter of every None it binds, each time (about 0.8 us a cell: a third of binding ``comparisons``, whose
    cells are a quarter NULL), while a float is bound directly; ``tests/test_store.py`` holds the NULL."""
    if isinstance(column.dtype, np.dtype) and column.dtype.kind == "f":
        return column.to_numpy().tolist()  # NaN already
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
