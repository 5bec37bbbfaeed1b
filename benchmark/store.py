"""The SQLite store: schema, atomic writes and reads. Every later stage reads through here.

The database is built under a temporary name beside its destination and renamed into place only when
complete, so a failed build never leaves a half-written ``csww.db``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import tempfile
from pathlib import Path

import pandas as pd

from . import tables

#: The tables ``csww build`` bulk-loads, in order; their columns and constraints come from the Table Schemas.
BUILD_TABLES = ["build_info", "releases", "source_files", "measures", "areas", "area_codes", "area_changes",
                "observations", "observation_revisions"]
#: Written by compare.write_comparisons at the end of a build (and again whenever groups or local figures change).
COMPARE_TABLES = ["neighbours", "comparisons", "groups", "group_members", "group_comparisons", "consistency_checks"]

#: Secondary indexes and views (not tables, so not in the schemas); created after a build's bulk load.
INDEXES = """
CREATE INDEX IF NOT EXISTS observations_area ON observations(area_code, measure_id, time_period);
CREATE INDEX IF NOT EXISTS observations_measure ON observations(measure_id, time_period);
CREATE INDEX IF NOT EXISTS revisions_release ON observation_revisions(release_id);
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
COMPARE_INDEXES = "CREATE INDEX IF NOT EXISTS comparisons_measure ON comparisons(measure_id, time_period);\n"

#: How the canned queries turn ``:la`` into a council: its DfE code, any ONS code DfE has used for it, or
#: its name, in any case. ``preference`` 0 wins: current councils before former ones of the same name.
AREA_LOOKUP_SQL = """
DROP TABLE IF EXISTS area_lookup;
CREATE TABLE area_lookup (lookup_key TEXT NOT NULL, area_code TEXT NOT NULL REFERENCES areas(area_code),
                          preference INTEGER NOT NULL, PRIMARY KEY (lookup_key, area_code));
INSERT OR IGNORE INTO area_lookup
  SELECT lower(k), area_code, status != 'current' FROM (
    SELECT area_code AS k, area_code, status FROM areas WHERE level = 'Local authority'
    UNION ALL SELECT area_name, area_code, status FROM areas WHERE level = 'Local authority'
    UNION ALL SELECT new_la_code, area_code, status FROM areas WHERE level = 'Local authority' AND new_la_code IS NOT NULL
    UNION ALL SELECT c.ons_code, c.area_code, a.status FROM area_codes c JOIN areas a USING (area_code)
  );
"""


def write_area_lookup(conn: sqlite3.Connection) -> None:
    """(Re)write ``area_lookup`` from ``areas`` and ``area_codes``."""
    conn.executescript(AREA_LOOKUP_SQL)


@contextlib.contextmanager
def atomic_path(final: str | Path, suffix: str = ""):
    """Yield a temporary path beside ``final``; move it into place only if the block succeeds."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=suffix + ".tmp", dir=final.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes the file private; outputs are meant to be shared
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | Path, content) -> Path:
    """Write ``content`` (text, bytes, or a function that saves to a path) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        if callable(content):
            content(str(tmp))
        else:
            tmp.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return Path(path)


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


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


def insert_frame(conn: sqlite3.Connection, table: str, df: pd.DataFrame) -> None:
    """Insert a DataFrame's rows, NaN as NULL, columns by name."""
    if df.empty:
        return
    cols = list(df.columns)
    rows = df.to_numpy(dtype=object)
    rows[pd.isna(rows)] = None
    conn.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                     rows.tolist())


def connect(path: str | Path, must_exist: bool = True) -> sqlite3.Connection:
    """Open a built database read-only; a clear error when it is missing."""
    path = Path(path)
    if must_exist and not path.exists():
        raise FileNotFoundError(f"{path}: no database here; run 'csww build' first (or pass --db)")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    return conn


def query(conn: sqlite3.Connection, sql: str, params=()) -> pd.DataFrame:
    return pd.read_sql_query(sql, conn, params=params)
