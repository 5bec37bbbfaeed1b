"""``compare.write_comparisons`` returns the frames it wrote, and a build hands them to the package (issue 14
item 6): the comparison tables are written from memory, never read back, with the same values and types the
database holds; given the build's frames it computes what it computes from the database."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from pathlib import Path

import pandas as pd

from benchmark import compare, package, store, tables

TABLES = ("neighbours", "comparisons", "consistency_checks")


def _copy(db: Path, tmp_path: Path) -> Path:
    out = tmp_path / "csww.db"
    shutil.copy(db, out)
    return out


def _build_frames(conn: sqlite3.Connection) -> dict[str, pd.DataFrame]:
    """The build's tables as ``build._frames`` holds them (the rows it inserted, in order)."""
    return {t: store.query(conn, f"SELECT * FROM {t} ORDER BY rowid") for t in ("observations", "areas", "area_changes")}


def _package_values(conn: sqlite3.Connection, table: str, frame: pd.DataFrame):
    """Every row of a table as the package reads values back from the database (key order), and the same
    from ``frame`` (None when the package could not write them from the frame)."""
    schema = package.schemas()[table]
    sql = f"SELECT {', '.join(tables.columns(table))} FROM {table} ORDER BY {', '.join(tables.key(table))}"
    types = {r[1]: r[2] for r in conn.execute(f"PRAGMA table_info({table})")}
    batches = package._frame_batches(frame, schema, types)
    joined = (lambda bs: [sum((list(b[i]) for b in bs), []) for i in range(len(schema["fields"]))])
    return joined(list(package._column_batches(conn, sql, schema))), None if batches is None else joined(list(batches))


def _assert_written(db: Path, written: dict[str, pd.DataFrame]) -> None:
    with contextlib.closing(store.connect(db)) as conn:
        for t in TABLES:
            assert len(written[t]) == conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] > 0, t
            from_db, from_frame = _package_values(conn, t, written[t])
            assert from_frame is not None, f"{t}: the package would read the database again"
            assert from_frame == from_db, t
            assert [list(map(type, c)) for c in from_frame] == [list(map(type, c)) for c in from_db], t


def test_write_comparisons_returns_the_frames_it_wrote(mini_db, tmp_path):
    db = _copy(mini_db, tmp_path)
    with contextlib.closing(sqlite3.connect(db)) as conn:
        written = compare.write_comparisons(conn)
        conn.commit()
    assert set(written) == set(TABLES)  # no groups asked for: no group tables
    assert list(written["comparisons"].columns) == tables.columns("comparisons")
    _assert_written(db, written)


def test_given_the_build_frames_it_computes_what_it_reads_back(mini_db, tmp_path):
    db = _copy(mini_db, tmp_path)
    with contextlib.closing(sqlite3.connect(db)) as conn:
        read_back = compare.write_comparisons(conn)
        given = compare.write_comparisons(conn, frames=_build_frames(conn))
        given_dashboard = compare.write_comparisons(conn, frames=_build_frames(conn), method="dashboard")
        read_dashboard = compare.write_comparisons(conn, method="dashboard")
    for t in TABLES:
        pd.testing.assert_frame_equal(given[t], read_back[t], check_exact=True)
        pd.testing.assert_frame_equal(given_dashboard[t], read_dashboard[t], check_exact=True)


def test_real_comparison_frames_are_the_database_rows(real_db, tmp_path):
    """The quick-tour build: its comparison tables (computed from the build's frames) equal a recomputation
    from the database, and the frames hold them value for value, e.g. DfE's published 2016 turnover rates
    against the rates their own published counts give (reference section 6.5)."""
    db = _copy(real_db, tmp_path)
    with contextlib.closing(sqlite3.connect(db)) as conn:
        built = {t: store.query(conn, f"SELECT * FROM {t} ORDER BY rowid") for t in TABLES}
        written = compare.write_comparisons(conn)  # read back from the database this time
        conn.commit()
        again = {t: store.query(conn, f"SELECT * FROM {t} ORDER BY rowid") for t in TABLES}
    for t in TABLES:
        pd.testing.assert_frame_equal(again[t], built[t], check_exact=True)
    _assert_written(db, written)
    checks = written["consistency_checks"].set_index(["time_period", "area_code", "measure_id"])
    england = checks.loc[(2016, "E92000001", "turnover_rate_fte")]
    assert (england["published"], england["recomputed"], england["councils"], england["councils_with_value"],
            england["missing"], england["status"]) == (15.1, 15.399, 151, 149, "835 (..), 925 (..)", "differs")
    joint = checks.loc[(2016, "314 / 318", "turnover_rate_fte")]
    assert (joint["published"], joint["recomputed"], joint["status"]) == (17.4, 17.654, "differs")
    assert "17.617 to 17.692" in joint["reason"]
    rows = written["comparisons"].set_index(["time_period", "area_code", "measure_id"])
    darlington = rows.loc[(2025, "841", "turnover_rate_fte")]
    assert (darlington["value"], darlington["rank"], darlington["rank_of"], darlington["quartile"],
            darlington["sn_median"], darlington["sn_count"]) == (15.4, 112, 148, "D", 13.1, 10)
    assert darlington["sn_codes"] == "390, 808, 332, 384, 888, 894, 372, 357, 840, 371"
