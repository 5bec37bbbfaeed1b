"""store.insert_frame: every missing cell stored as NULL, every other cell with its type, rows in frame order;
and perf/same_tables.py, the check that a speed change left every table the same, tells a difference."""

from __future__ import annotations

import importlib.util
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, one

from benchmark import store, tables

_spec = importlib.util.spec_from_file_location("same_tables", ROOT / "perf" / "same_tables.py")
same_tables = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(same_tables)


def test_missing_cells_are_null_whatever_the_dtype():
    """NaN, None, pd.NA and NaT are bound as the float NaN, which SQLite stores as NULL: in typed columns and
    in an untyped one (no affinity to hide a NaN stored as a real)."""
    df = pd.DataFrame({
        "f": np.array([1.5, np.nan, -0.0]),
        "i": np.array([1, 2, 3], dtype=np.int64),
        "n": pd.array([7, None, 9], dtype="Int64"),
        "s": pd.array(["a", None, "c"], dtype="str"),
        "o": np.array(["p", None, np.nan], dtype=object),
        "u": np.array([2.25, np.nan, 4], dtype=object),
        "t": pd.to_datetime(["2024-03-31", None, "2025-03-31"]).strftime("%Y-%m-%d"),
    })
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE x (f REAL, i INTEGER, n INTEGER, s TEXT, o TEXT, u, t TEXT)")
    store.insert_frame(conn, "x", df)
    rows = conn.execute("SELECT f, typeof(f), i, typeof(i), n, typeof(n), s, typeof(s), o, typeof(o), "
                        "u, typeof(u), t, typeof(t) FROM x ORDER BY rowid").fetchall()
    assert rows == [
        (1.5, "real", 1, "integer", 7, "integer", "a", "text", "p", "text", 2.25, "real", "2024-03-31", "text"),
        (None, "null", 2, "integer", None, "null", None, "null", None, "null", None, "null", None, "null"),
        (-0.0, "real", 3, "integer", 9, "integer", "c", "text", None, "null", 4, "integer", "2025-03-31", "text"),
    ]
    assert conn.execute("SELECT count(*) FROM sqlite_temp_master").fetchone() == (0,)  # the stage is gone


def _comparisons_frame(**changes) -> pd.DataFrame:
    row = {c: None for c in tables.columns("comparisons")}
    row.update(time_period=2024, area_code="841", measure_id="turnover_rate_fte", value=17.8, provisional=0,
               quartile="B", direction="improving")
    rows = [dict(row), dict(row, area_code="840", **changes)]
    return pd.DataFrame(rows, columns=tables.columns("comparisons"))


@pytest.mark.parametrize("change, failed", [
    ({"quartile": "E"}, "quartile IN ('A', 'B', 'C', 'D')"),                      # constraints.enum
    ({"symbol": "q", "value": None}, "symbol IN ('c', 'x', 'z', 'u', 'low', ':', '~', '..', '.', '-')"),
    ({"provisional": 2}, "provisional IN (0, 1)"),
])
def test_a_broken_check_inserts_nothing(change, failed):
    """insert_frame tests the table's CHECKs itself (once over the staged rows, SQLite's per-row CHECKs off for
    the copy): a row that breaks one fails the whole frame, naming the check, the table and the row."""
    conn = sqlite3.connect(":memory:")
    store.create(conn)
    with pytest.raises(sqlite3.IntegrityError) as err:
        store.insert_frame(conn, "comparisons", _comparisons_frame(**change))
    assert str(err.value) == f"CHECK constraint failed: {failed} (comparisons: row 2 of the 2 given)"
    assert conn.execute("SELECT count(*) FROM comparisons").fetchone() == (0,)
    assert conn.execute("PRAGMA ignore_check_constraints").fetchone() == (0,)  # SQLite's own CHECKs back on
    with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed: provisional IN"):  # and working
        conn.execute("INSERT INTO comparisons (time_period, area_code, measure_id, provisional) "
                     "VALUES (2024, '841', 'x', 5)")
    # observations' table check (x-sql.checks): a value and a symbol together
    obs = pd.DataFrame({"time_period": [2024], "area_code": ["841"], "measure_id": ["turnover_rate_fte"],
                        "value": [17.8], "symbol": ["c"], "release_id": ["2025"], "source_file": ["f.csv"],
                        "source_row": [2]})
    with pytest.raises(sqlite3.IntegrityError, match=r"failed: \(value IS NULL\) <> \(symbol IS NULL\)"):
        store.insert_frame(conn, "observations", obs)


def test_checks_see_values_as_the_table_stores_them():
    """The staged rows have the table's column types, so a CHECK sees a value after SQLite's type affinity, as
    the table's own CHECK would: '1' given for an INTEGER column in (0, 1) is the integer 1."""
    conn = sqlite3.connect(":memory:")
    store.create(conn)
    store.insert_frame(conn, "comparisons", _comparisons_frame(provisional="1", return_id="r"))
    assert conn.execute("SELECT area_code, provisional, typeof(provisional) FROM comparisons ORDER BY rowid"
                        ).fetchall() == [("841", 0, "integer"), ("840", 1, "integer")]


def test_checks_are_the_schemas_and_only_for_tables_made_by_them():
    """insert_frame tests the rows itself only with the CHECKs the schema's DDL wrote (tables.checks), and only
    into a table that DDL made: another table's rows SQLite checks itself."""
    assert "provisional IN (0, 1)" in tables.checks("comparisons")
    # build._write copies observations from observation_revisions with the CHECKs off: theirs must be the same
    assert tables.checks("observations") == tables.checks("observation_revisions")
    assert all(f"CHECK ({c})" in tables.ddl("comparisons") for c in tables.checks("comparisons"))
    conn = sqlite3.connect(":memory:")
    store.create(conn)
    types, checks = store._staging(conn, "comparisons", tables.columns("comparisons"))
    assert checks == tables.checks("comparisons") and types["value"] == "REAL"
    other = sqlite3.connect(":memory:")
    other.execute("CREATE TABLE comparisons (area_code TEXT CHECK (area_code <> 'x'))")
    assert store._staging(other, "comparisons", ["area_code"]) == ({}, [])
    with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
        store.insert_frame(other, "comparisons", pd.DataFrame({"area_code": ["841", "x"]}))
    assert other.execute("SELECT count(*) FROM comparisons").fetchone()[0] == 0


def test_real_build_keeps_nulls_and_values(real_db):
    """Kingston upon Thames / Richmond upon Thames (joint return 314 / 318), 2016 (the SFR file): turnover 17.4
    published, 17.654 from its own counts; its vacancy FTE has no FTE gap (not a rate)."""
    row = "SELECT value, typeof(symbol), gap_fte_sn, typeof(sn_missing), typeof(return_id) FROM comparisons " \
          "WHERE time_period = 2016 AND area_code = '314 / 318' AND measure_id = ?"
    assert one(real_db, row, "turnover_rate_fte") == (17.4, "null", -6.7, "null", "null")
    assert one(real_db, row, "vacancy_fte") == (15.0, "null", None, "null", "null")
    assert one(real_db, "SELECT published, recomputed, typeof(missing), status FROM consistency_checks WHERE "
                        "time_period = 2016 AND area_code = '314 / 318' AND measure_id = 'turnover_rate_fte'") == (
        17.4, 17.654, "null", "differs")
    assert one(real_db, "SELECT count(*) = sum(return_id IS NULL) FROM comparisons") == (1,)


def test_same_tables_tells_a_difference(mini_db, tmp_path):
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    shutil.copyfile(mini_db, a)
    shutil.copyfile(mini_db, b)
    assert same_tables.compare(str(a), str(b)) == []
    with sqlite3.connect(b) as conn:  # the same rows, one moved to the end: a rowid differs
        conn.execute("CREATE TEMP TABLE r AS SELECT * FROM comparisons WHERE rowid = 2")
        conn.execute("DELETE FROM comparisons WHERE rowid = 2")
        conn.execute("INSERT INTO comparisons SELECT * FROM r")
    assert same_tables.compare(str(a), str(b)) == [
        "table comparisons: 1 rows of main not in b (by rowid, value and type)",
        "table comparisons: 1 rows of b not in main (by rowid, value and type)"]
    shutil.copyfile(mini_db, b)
    with sqlite3.connect(b) as conn:  # one float a rounding step away; and what differs by design, ignored
        conn.execute("UPDATE comparisons SET sn_mean = sn_mean + 1e-12 WHERE rowid = (SELECT min(rowid) FROM "
                     "comparisons WHERE sn_mean IS NOT NULL)")
        conn.execute("UPDATE build_info SET value = 'x' WHERE key IN ('built_at', 'build_id')")
    assert same_tables.compare(str(a), str(b)) == [
        "table comparisons: 1 rows of main not in b (by rowid, value and type)",
        "table comparisons: 1 rows of b not in main (by rowid, value and type)"]


@pytest.mark.parametrize("pragma, expected", [("journal_mode", "off"), ("synchronous", 0), ("temp_store", 2)])
def test_bulk_load_settings(tmp_path, pragma, expected):
    conn = sqlite3.connect(Path(tmp_path) / "x.db")
    store.bulk_load(conn)
    assert conn.execute(f"PRAGMA {pragma}").fetchone()[0] == expected


def test_checks_off_puts_them_back():
    """store.checks_off: SQLite's CHECKs off inside (for rows already tested), on again after, error or not."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE x (k TEXT CHECK (k IN ('a', 'b')))")
    with store.checks_off(conn):
        conn.execute("INSERT INTO x VALUES ('c')")  # not tested here: the caller has tested its rows
    with pytest.raises(ZeroDivisionError), store.checks_off(conn):
        1 / 0
    assert conn.execute("PRAGMA ignore_check_constraints").fetchone() == (0,)
    with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
        conn.execute("INSERT INTO x VALUES ('d')")
