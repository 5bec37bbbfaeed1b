"""A build that costs little (issue 14 items 4, 5 and 6): files read in chunks give the rows of the whole file
read at once; a rebuild after one input changed keeps the unchanged tables of the previous build and ends
with the tables a --force build writes; the workbook is copied when its tables are unchanged and split past
Excel's row limit. Timings and memory are in perf/build_full.py and perf/build_scaling.py, not here."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pandas as pd
import pkgdata
import pytest
from conftest import FIXTURES
from openpyxl import load_workbook

from benchmark import package, workbook
from benchmark.build import build
from benchmark.readers import SourceFile, read_file

MINI = FIXTURES / "indicators_mini.csv"


def _read(path: Path, rows: int):
    return read_file(SourceFile(str(path), path=path), chunk_rows=rows)


def _same(a, b) -> None:
    assert (a.release_id, a.data_year, a.layout, a.notes, a.warnings) == (b.release_id, b.data_year, b.layout,
                                                                          b.notes, b.warnings)
    pd.testing.assert_frame_equal(a.observations.reset_index(drop=True), b.observations.reset_index(drop=True))
    pd.testing.assert_frame_equal(a.sightings.reset_index(drop=True), b.sightings.reset_index(drop=True))


@pytest.mark.parametrize("name, rows, values", [
    ("csww_indicators_2017_to_2025.csv", 500, 32186),  # the README's quick tour: 32,186 values
    ("sfr/SFR08_2017_UD.csv", 40, 3423),  # ends with comma-only lines, cp1252
])
def test_chunked_read_gives_the_rows_of_the_whole_file(shared, name, rows, values):
    whole, chunked = _read(shared / name, 10**9), _read(shared / name, rows)
    assert len(whole.observations) == values
    _same(whole, chunked)
    # line numbers carry on from chunk to chunk: the last value comes from the file's last data line
    assert chunked.observations["source_row"].max() == whole.observations["source_row"].max() > rows


def test_chunked_read_of_the_hand_made_file():
    whole, chunked = _read(MINI, 10**9), _read(MINI, 7)
    assert len(whole.observations) == 32 * 22  # 32 rows of 22 measures
    _same(whole, chunked)


def test_problems_in_every_chunk_are_reported_together(tmp_path):
    lines = MINI.read_text(encoding="utf-8").splitlines()
    bad = [i for i in (5, 25) if lines[i].split(",")[10]]
    for i in bad:
        cells = lines[i].split(",")
        cells[10] = "lots"
        lines[i] = ",".join(cells)
    path = tmp_path / "two_bad.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(package.InputError) as exc:
        _read(path, 7)  # the two bad cells are in different chunks
    assert [(p.row, p.column, p.value) for p in exc.value.problems] == [(i + 1, "inpost_fte", "lots") for i in bad]


def _dump(db: Path) -> dict[str, list]:
    """Every table's rows in rowid order, the build's id and time left out."""
    with sqlite3.connect(db) as conn:
        names = [r[0] for r in conn.execute("select name from sqlite_master where type='table' order by name")]
        out = {t: conn.execute(f"select * from {t} order by rowid").fetchall() for t in names}
    out["build_info"] = [r for r in out["build_info"] if r[0] not in ("build_id", "built_at")]
    return out


def test_rebuild_after_one_input_changed_keeps_the_unchanged_tables(tmp_path):
    src = tmp_path / "indicators_mini.csv"
    src.write_bytes(MINI.read_bytes())
    out = tmp_path / "OUT"
    first = build([src], out)
    assert first.kept == []
    before = _dump(out / "csww.db")
    xlsx_before = hashlib.sha256((out / "datapackage" / package.WORKBOOK).read_bytes()).hexdigest()

    lines = src.read_text(encoding="utf-8").splitlines()
    i = next(k for k, line in enumerate(lines) if ",841," in line and line.startswith("2024,"))
    cells = lines[i].split(",")
    was, cells[12] = cells[12], "x"  # starters_fte of Darlington in 2024 (18): now suppressed
    lines[i] = ",".join(cells)
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    again = build([src], out)

    assert again.previous_id == first.build_id
    assert again.kept == ["releases", "measures", "areas", "area_codes", "area_changes", "breakdowns"]
    state = json.loads((out / "current" / "build.json").read_text())
    assert state["kept"] == sorted(again.kept) and state["previous"] == first.build_id
    after = _dump(out / "csww.db")
    for t in again.kept:
        assert after[t] == before[t], t
    with sqlite3.connect(out / "csww.db") as conn:
        assert conn.execute("select value, symbol from observations where time_period=2024 and area_code='841' "
                            "and measure_id='starters_fte'").fetchone() == (None, "x")
        assert conn.execute("select value from build_info where key='build_id'").fetchone() == (again.build_id,)
    assert float(was) == 18 == next(r[3] for r in before["observations"] if r[:3] == (2024, "841", "starters_fte"))
    # the same tables as a whole build of the changed file
    forced = build([src], tmp_path / "FORCED")
    assert forced.kept == []
    assert after == _dump(tmp_path / "FORCED" / "csww.db")
    assert (json.loads((out / "datapackage" / "datapackage.json").read_text())["x-csww"]["build_id"]
            == again.build_id)
    # a value changed, so the workbook was written again
    assert hashlib.sha256((out / "datapackage" / package.WORKBOOK).read_bytes()).hexdigest() != xlsx_before


def test_unchanged_tables_leave_the_workbook_as_it_was(tmp_path):
    out = tmp_path / "OUT"
    build([MINI], out)
    pkg = out / "datapackage"
    first = (json.loads((pkg / "datapackage.json").read_text()),
             hashlib.sha256((pkg / package.WORKBOOK).read_bytes()).hexdigest())
    again = build([MINI], out)  # as --force: every input the same
    second = (json.loads((pkg / "datapackage.json").read_text()),
              hashlib.sha256((pkg / package.WORKBOOK).read_bytes()).hexdigest())
    assert len(again.kept) == 9  # every build table but build_info
    assert first[0]["x-csww"]["build_id"] != second[0]["x-csww"]["build_id"] == again.build_id
    assert first[0]["x-csww"]["workbook"] == second[0]["x-csww"]["workbook"]
    assert first[1] == second[1]  # the same file, copied
    about = [r for r in load_workbook(pkg / package.WORKBOOK, read_only=True)["About"].iter_rows(values_only=True)]
    assert any(r[0] == "build" and "build_info.csv" in r[4] for r in about)


def test_sheet_parts_split_past_the_row_limit():
    assert workbook.sheet_parts("observations", 38889) == [("observations", 0, 38889)]
    assert workbook.sheet_parts("observations", 1_048_575) == [("observations", 0, 1_048_575)]
    assert workbook.sheet_parts("observations", 1_048_576) == [("observations", 0, 1_048_575),
                                                              ("observations (2)", 1_048_575, 1_048_576)]
    assert workbook.sheet_parts("x" * 31, 5, row_limit=3) == [("x" * 31, 0, 2), ("x" * 27 + " (2)", 2, 4),
                                                              ("x" * 27 + " (3)", 4, 5)]


def test_a_table_longer_than_a_sheet_is_split_over_sheets(tmp_path):
    db = pkgdata.make_db(tmp_path)
    pkg = package.write_package(db, tmp_path, row_limit=11)  # ten rows below the header per sheet
    csv_rows = pd.read_csv(pkg / "observations.csv", dtype=str, keep_default_na=False).to_numpy().tolist()
    wb = load_workbook(pkg / package.WORKBOOK, read_only=True)
    sheets = [n for n in wb.sheetnames if n == "observations" or n.startswith("observations (")]
    assert len(sheets) == -(-len(csv_rows) // 10) > 1
    got = []
    for n in sheets:
        rows = list(wb[n].iter_rows(values_only=True))
        assert rows[0][:3] == ("time_period", "area_code", "measure_id") and len(rows) <= 11
        got += rows[1:]
    # a number cell holds the number (the Rust writer stores a whole number as "2024.0", which Excel shows as 2024)
    assert [(r[0], r[1], r[2]) for r in got] == [(int(r[0]), r[1], r[2]) for r in csv_rows]
    about = [r for r in wb["About"].iter_rows(values_only=True)]
    note = next(r for r in about if r[0] == "split" and r[2].startswith("observations:"))
    assert ", ".join(sheets) in note[4]
