"""The SQLite store: schema and reads; atomic writes are in ``benchmark.fileio``.

The database is built under a temporary name beside its destination and renamed into place only when
complete, so a failed build never leaves a half-written ``csww.db``.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pandas as pd

from .problems import DatabaseError, NotFoundError

SCHEMA = """
CREATE TABLE build_info (
    key TEXT PRIMARY KEY,
    value TEXT
);
CREATE TABLE releases (
    release_id TEXT PRIMARY KEY,      -- EES release slug ('2025') or SFR number ('SFR07/2016')
    title TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('ees', 'sfr')),
    data_year INTEGER NOT NULL,       -- latest reporting year the release covers; orders releases
    release_version_id TEXT,          -- EES release version id, when fetched from EES
    published TEXT,
    url TEXT
);
CREATE TABLE source_files (
    sha256 TEXT PRIMARY KEY,
    release_id TEXT NOT NULL REFERENCES releases(release_id),
    file_name TEXT NOT NULL,
    layout TEXT NOT NULL,
    size INTEGER,
    url TEXT,
    downloaded_at TEXT,
    observations INTEGER
);
CREATE TABLE measures (
    measure_id TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    unit TEXT NOT NULL,
    polarity TEXT NOT NULL CHECK (polarity IN ('lower', 'higher', 'neutral')),
    definition TEXT NOT NULL,
    numerator TEXT,
    denominator TEXT,
    decimals INTEGER NOT NULL,
    measure_group TEXT NOT NULL,
    key_measure INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE areas (
    area_code TEXT PRIMARY KEY,
    level TEXT NOT NULL CHECK (level IN ('National', 'Regional', 'Local authority')),
    area_name TEXT NOT NULL,
    old_la_code TEXT,
    new_la_code TEXT,
    region_code TEXT,
    region_name TEXT,
    london_region_code TEXT,
    joint_return_code TEXT REFERENCES areas(area_code),
    is_joint_return INTEGER NOT NULL DEFAULT 0,
    first_year INTEGER,
    last_year INTEGER,
    status TEXT NOT NULL CHECK (status IN ('current', 'former')),
    predecessor_codes TEXT,
    successor_codes TEXT,
    note TEXT
);
CREATE TABLE area_codes (
    area_code TEXT NOT NULL REFERENCES areas(area_code),
    ons_code TEXT NOT NULL,
    first_year INTEGER,
    last_year INTEGER,
    releases TEXT,
    PRIMARY KEY (area_code, ons_code)
);
CREATE TABLE area_changes (
    predecessor_code TEXT NOT NULL REFERENCES areas(area_code),
    successor_code TEXT NOT NULL REFERENCES areas(area_code),
    first_year INTEGER NOT NULL,
    kind TEXT NOT NULL,
    note TEXT,
    PRIMARY KEY (predecessor_code, successor_code)
);
CREATE TABLE observations (
    time_period INTEGER NOT NULL,
    area_code TEXT NOT NULL REFERENCES areas(area_code),
    measure_id TEXT NOT NULL REFERENCES measures(measure_id),
    value REAL,
    symbol TEXT,
    release_id TEXT NOT NULL REFERENCES releases(release_id),
    source_file TEXT NOT NULL,
    source_row INTEGER,
    PRIMARY KEY (time_period, area_code, measure_id),
    CHECK ((value IS NULL) <> (symbol IS NULL))
);
CREATE TABLE observation_revisions (
    time_period INTEGER NOT NULL,
    area_code TEXT NOT NULL REFERENCES areas(area_code),
    measure_id TEXT NOT NULL REFERENCES measures(measure_id),
    release_id TEXT NOT NULL REFERENCES releases(release_id),
    value REAL,
    symbol TEXT,
    source_file TEXT NOT NULL,
    source_row INTEGER,
    PRIMARY KEY (time_period, area_code, measure_id, release_id),
    CHECK ((value IS NULL) <> (symbol IS NULL))
);
CREATE INDEX observations_area ON observations(area_code, measure_id, time_period);
CREATE INDEX observations_measure ON observations(measure_id, time_period);
CREATE INDEX revisions_release ON observation_revisions(release_id);
CREATE VIEW revised_values AS
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

# Written by compare.write_comparisons at the end of a build (and again whenever groups or local figures
# change); IF NOT EXISTS so it can also be applied to a database built before these tables existed.
COMPARE_SCHEMA = """
CREATE TABLE IF NOT EXISTS neighbours (
    model TEXT NOT NULL,              -- sn_2021 (April 2021 groupings) or sn_2025 (May 2025 model)
    area_code TEXT NOT NULL,          -- DfE 3-digit code of the council the list belongs to
    position INTEGER NOT NULL,        -- 1 = nearest
    neighbour_code TEXT NOT NULL,     -- as DfE lists it (joint-return members separately)
    closeness TEXT NOT NULL,          -- Extremely close, Very close, Close, Somewhat close, Not close
    PRIMARY KEY (model, area_code, position)
);
CREATE TABLE IF NOT EXISTS comparisons (
    time_period INTEGER NOT NULL,
    area_code TEXT NOT NULL,
    area_name TEXT,
    measure_id TEXT NOT NULL,
    value REAL,
    symbol TEXT,
    provisional INTEGER NOT NULL DEFAULT 0,   -- 1: a council's own aligned figure, not yet published
    return_id TEXT,                           -- provisional rows: the local return (local_returns) behind the figure
    comparator_year INTEGER,                  -- year the comparators come from (differs for provisional rows)
    england REAL,
    region_code TEXT,                 -- as DfE publishes it: Inner/Outer London for London boroughs
    region_name TEXT,
    region REAL,
    london REAL,                      -- London as a whole (E12000007), London boroughs only
    sn_model TEXT,
    sn_median REAL,
    sn_mean REAL,
    sn_count INTEGER,                 -- neighbours with a value
    sn_codes TEXT,                    -- neighbours with a value, nearest first
    sn_missing TEXT,                  -- neighbours with a row that year but a symbol instead of a value
    sn_dropped INTEGER,               -- listed neighbours with no row that year (dropped)
    sn_dropped_codes TEXT,
    sn_note TEXT,
    rank INTEGER,                     -- among all councils with a value, 1 = lowest value, ties share the lowest rank
    rank_of INTEGER,
    region_rank INTEGER,              -- the same within the English region (London as a whole for boroughs)
    region_rank_of INTEGER,
    quartile TEXT,                    -- A best ... D worst by polarity; NULL for neutral measures
    change REAL,                      -- from the previous year, same council code
    direction TEXT,                   -- three-year direction of travel
    diff_england REAL,
    diff_region REAL,
    diff_london REAL,
    diff_sn_median REAL,
    gap_fte_sn REAL,                  -- FTE above (+) or below (-) the neighbour median rate, on the council's own base
    gap_fte_england REAL,
    series_note TEXT,                 -- reorganisations and code changes
    PRIMARY KEY (time_period, area_code, measure_id, provisional, return_id)
);
CREATE INDEX IF NOT EXISTS comparisons_measure ON comparisons(measure_id, time_period);
CREATE TABLE IF NOT EXISTS groups (
    group_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT,
    description TEXT,
    source_file TEXT
);
CREATE TABLE IF NOT EXISTS group_members (
    group_id TEXT NOT NULL REFERENCES groups(group_id),
    member TEXT NOT NULL,             -- as written in the YAML file
    area_code TEXT NOT NULL,
    area_name TEXT,
    PRIMARY KEY (group_id, area_code)
);
CREATE TABLE IF NOT EXISTS group_comparisons (
    group_id TEXT NOT NULL,
    time_period INTEGER NOT NULL,
    measure_id TEXT NOT NULL,
    pooled REAL,                      -- rates: sum of numerators / sum of denominators; counts: sum
    pooled_count INTEGER,             -- members contributing to the pooled figure
    member_median REAL,               -- median of members' published values
    member_mean REAL,
    members INTEGER,                  -- members with a row that year
    members_with_value INTEGER,
    missing TEXT,                     -- members without a value (symbol) or without a row that year
    england REAL,
    diff_england REAL,                -- pooled minus England (rates only)
    PRIMARY KEY (group_id, time_period, measure_id)
);
CREATE TABLE IF NOT EXISTS consistency_checks (
    time_period INTEGER NOT NULL,
    area_code TEXT NOT NULL,          -- England or a region
    area_name TEXT,
    measure_id TEXT NOT NULL,
    published REAL,
    published_symbol TEXT,
    recomputed REAL,
    difference REAL,                  -- published minus recomputed
    councils INTEGER,                 -- councils with a row that year in the area
    councils_with_value INTEGER,
    missing TEXT,                     -- councils without a value, with their symbols
    status TEXT NOT NULL,             -- matches, differs, not recomputable
    method TEXT,
    reason TEXT,
    PRIMARY KEY (time_period, area_code, measure_id)
);
"""
SCHEMA += COMPARE_SCHEMA



def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


#: ``SCHEMA`` in two parts, in order: the tables ``csww build`` bulk-loads, then their secondary indexes, the view
#: and the comparison tables. A build creates the indexes after loading the rows (a little faster than keeping
#: them up to date row by row), and the schema comes out the same, in the same order, as ``create`` makes it.
_SPLIT = SCHEMA.index("CREATE INDEX observations_area")
SCHEMA_TABLES, SCHEMA_REST = SCHEMA[:_SPLIT], SCHEMA[_SPLIT:]


def create(conn: sqlite3.Connection, tables_only: bool = False) -> None:
    """Create the schema; with ``tables_only``, the first part only (call ``create_rest`` after loading)."""
    conn.executescript(SCHEMA_TABLES if tables_only else SCHEMA)


def create_rest(conn: sqlite3.Connection) -> None:
    """The rest of the schema after ``create(conn, tables_only=True)`` and a bulk load."""
    conn.executescript(SCHEMA_REST)


def insert_frame(conn: sqlite3.Connection, table: str, df: pd.DataFrame) -> None:
    """Insert a DataFrame's rows, NaN as NULL, columns by name."""
    if df.empty:
        return
    cols = list(df.columns)
    rows = df.to_numpy(dtype=object)
    rows[pd.isna(rows)] = None
    conn.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                     rows.tolist())


def connect(path: str | Path) -> sqlite3.Connection:
    """Open a built database read-only. Raises NotFoundError when there is no file at ``path`` and
    DatabaseError when the file is not a database ``csww build`` wrote (not SQLite, or no observations table)."""
    path = Path(path)
    if not path.is_file():
        raise NotFoundError(f"{path}: no database here; run 'csww build' first (or pass --db)")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'observations'").fetchone():
            return conn
        why = "it has no observations table"
    except sqlite3.DatabaseError as exc:
        why = str(exc)
    conn.close()
    raise DatabaseError(f"{path}: not a CSWW database ({why}); give the csww.db that 'csww build' wrote")


def query(conn: sqlite3.Connection, sql: str, params=()) -> pd.DataFrame:
    return pd.read_sql_query(sql, conn, params=params)
