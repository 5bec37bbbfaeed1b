"""The package written by ``csww build`` from the frames it has just stored (issue 14 item 6) is the package
``csww package`` writes from the database: the same CSV bytes and the same workbook cells."""

from __future__ import annotations

import contextlib
import sqlite3
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from benchmark import package, store

CREATED = "2026-01-01T00:00:00+00:00"


def _same_package(built: Path, written: Path) -> list[str]:
    """Names of the CSVs of ``built`` (the build's package); fails on any CSV byte or workbook cell that
    differs from ``written`` (the package written again from the build's database)."""
    names = sorted(p.name for p in built.glob("*.csv"))
    assert names == sorted(p.name for p in written.glob("*.csv"))
    for name in names:
        assert (built / name).read_bytes() == (written / name).read_bytes(), name
    a = load_workbook(built / package.WORKBOOK, read_only=True)
    b = load_workbook(written / package.WORKBOOK, read_only=True)
    assert a.sheetnames == b.sheetnames
    # every sheet but the About sheet (the first; the package's version and creation time may differ there, the
    # rest is checked above) is the same XML, byte for byte: the same cells, values and types
    with zipfile.ZipFile(built / package.WORKBOOK) as za, zipfile.ZipFile(written / package.WORKBOOK) as zb:
        assert a.sheetnames[0] == "About" and "xl/sharedStrings.xml" not in za.namelist()
        for i, sheet in enumerate(a.sheetnames[1:], start=2):
            part = f"xl/worksheets/sheet{i}.xml"
            assert za.read(part) == zb.read(part), sheet
    return names


def test_build_package_from_frames_is_the_package_from_the_database(mini_db, tmp_path):
    built = mini_db.parent / package.PACKAGE_DIR
    written = package.write_package(mini_db, tmp_path, created=CREATED)
    names = _same_package(built, written)
    assert {"observations.csv", "observation_revisions.csv", "breakdowns.csv", "areas.csv"} <= set(names)
    obs = pd.read_csv(built / "observations.csv", dtype=str, keep_default_na=False)
    with contextlib.closing(sqlite3.connect(mini_db)) as conn:
        assert len(obs) == conn.execute("SELECT count(*) FROM observations").fetchone()[0] > 100


def test_real_build_package_from_frames_is_the_package_from_the_database(real_db, tmp_path):
    """The real quick-tour build (2025, 2024, role-by-ethnicity and SFR files): symbols, blanks, SFR rates."""
    built = real_db.parent / package.PACKAGE_DIR
    written = package.write_package(real_db, tmp_path, created=CREATED)
    _same_package(built, written)
    obs = pd.read_csv(built / "observations.csv", dtype=str, keep_default_na=False)
    assert len(obs) == 38_889  # the 2025 file's and the older releases' values, newest release for each key
    assert (obs["symbol"] != "").any() and (obs.loc[obs["symbol"] != "", "value"] == "").all()


def _joined(batches) -> list[list]:
    """Batches of values by column, as one list per column."""
    cols: list[list] = []
    for batch in batches:
        cols = [list(c) for c in batch] if not cols else [a + list(b) for a, b in zip(cols, batch)]
    return cols


def _batches_from_database(db: Path, table: str) -> tuple[list, list]:
    """A table's package values read back from the database, and from the same rows as a DataFrame."""
    schema = package.schemas()[table]
    with contextlib.closing(store.connect(db)) as conn:
        sql = package._select(conn, table, schema)
        from_db = _joined(package._column_batches(conn, sql, schema))
        frame = pd.read_sql_query(f"SELECT * FROM {table} ORDER BY random()", conn)  # any order: sorted by key
        types = {r[1]: r[2] for r in conn.execute(f"PRAGMA table_info({table})")}
    from_frame = _joined(package._frame_batches(frame, schema, types))
    return from_db, from_frame


@pytest.mark.parametrize("table", ["observations", "observation_revisions", "measures", "areas", "source_files"])
def test_frame_values_are_what_sqlite_gives_back(mini_db, table):
    """pandas' own types (int64, float64 with NaN for NULL, str) turn into what sqlite3 returns, in key order."""
    from_db, from_frame = _batches_from_database(mini_db, table)
    assert len(from_db[0]) > 0
    assert from_frame == from_db
    assert [list(map(type, c)) for c in from_frame] == [list(map(type, c)) for c in from_db]


def test_frame_values_follow_the_column_affinity_and_sort_nulls_first():
    schema = {"fields": [{"name": "k", "type": "string"}, {"name": "n", "type": "integer"},
                         {"name": "x", "type": "number"}], "primaryKey": ["k"]}
    types = {"k": "TEXT", "n": "INTEGER", "x": "REAL"}
    df = pd.DataFrame({"k": ["b", None, "a", "é", "Z"], "n": [2.0, np.nan, 3.5, 1.0, 4.0],
                       "x": [1, 2, 3, 4, 5]})
    (cols,) = list(package._frame_batches(df, schema, types))
    assert cols[0] == [None, "Z", "a", "b", "é"]  # NULL first, then code point order (SQLite's BINARY)
    assert cols[1] == [None, 4, 3.5, 2, 1] and [type(v) for v in cols[1]] == [type(None), int, float, int, int]
    assert cols[2] == [2.0, 5.0, 3.0, 1.0, 4.0] and all(type(v) is float for v in cols[2])
    # a value whose stored form SQLite's affinity would change (text in a number column): read the database
    assert package._frame_batches(df.assign(x=["1", 2, 3, 4, 5]), schema, types) is None
    assert package._frame_batches(df.assign(k=[1, 2, 3, 4, 5]), schema, types) is None
