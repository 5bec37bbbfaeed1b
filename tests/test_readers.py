"""Each DfE layout and each symbol, from the hand-made fixtures (meaningful without ../shared)."""

from __future__ import annotations

import shutil
import zipfile

import pandas as pd
import pytest
from conftest import FIXTURES

from benchmark import readers
from benchmark.readers import InputError, SourceFile
from benchmark.readers.base import EES_SYMBOLS, SFR_SYMBOLS, parse_cells, parse_columns


def read(name: str):
    path = FIXTURES / name
    return readers.read_file(SourceFile(str(path), path.read_bytes()))


def obs(result, year, area, measure):
    o = result.observations
    row = o[(o.time_period == year) & (o.area_code == area) & (o.measure_id == measure)]
    assert len(row) == 1, (year, area, measure)
    r = row.iloc[0]
    return (None if r.value != r.value else float(r.value)), (r.symbol if isinstance(r.symbol, str) else None)


@pytest.mark.parametrize("name, layout, release", [
    ("indicators_2025_small.csv", "ees-indicators", "2025"),
    ("headline_2022_small.csv", "ees-headline-2022", "2022"),
    ("sfr/sfr_2015_small.csv", "sfr", "SFR07/2016"),
    ("sfr/sfr_2016_small.csv", "sfr", "SFR08/2017"),
])
def test_layout_chosen_by_header_not_name(tmp_path, name, layout, release):
    renamed = tmp_path / "download (3).csv"
    shutil.copy(FIXTURES / name, renamed)
    result = readers.read_file(SourceFile(str(renamed), renamed.read_bytes()))
    assert (result.layout, result.release_id) == (layout, release)


def test_indicators_values_and_every_ees_symbol():
    r = read("indicators_2025_small.csv")
    assert obs(r, 2025, "E92000001", "inpost_fte") == (36186.3, None)
    assert obs(r, 2025, "E12000001", "turnover_rate_fte") == (11.7, None)
    assert obs(r, 2025, "841", "agency_fte") == (None, "low")
    assert obs(r, 2025, "841", "absence_rate_fte") == (None, "c")
    assert obs(r, 2024, "841", "caseload_fte") == (None, "u")
    assert obs(r, 2025, "207", "inpost_fte") == (None, "x")
    assert obs(r, 2025, "314 / 318", "agency_cover_rate_fte") == (None, "z")
    assert obs(r, 2025, "314 / 318", "inpost_fte") == (150.2, None)


def test_headline_2022_maps_names_and_folds_joint_return_rows():
    r = read("headline_2022_small.csv")  # has a BOM
    assert obs(r, 2022, "E92000001", "inpost_fte") == (31634.1, None)       # social_worker_fte
    assert obs(r, 2022, "E92000001", "agency_rate_fte") == (17.6, None)     # agency_worker_rate_fte_%
    assert obs(r, 2022, "841", "absence_rate_fte") == (None, "c")
    assert obs(r, 2022, "314 / 318", "inpost_fte") == (125.4, None)         # Kingston's row carries the joint return
    assert not (r.observations.area_code.isin(["314", "318"])).any()        # Richmond's all-z row is not loaded
    assert "starters_fte" not in set(r.observations.measure_id)
    assert any("Richmond upon Thames" in n for n in r.notes)


def test_sfr_2015_thousands_separators_symbols_and_older_measures():
    r = read("sfr/sfr_2015_small.csv")
    assert obs(r, 2015, "E92000001", "inpost_fte") == (26500.0, None)       # "26,500"
    assert obs(r, 2015, "E92000001", "working_days_lost_fte") == (236760.0, None)
    assert obs(r, 2015, "841", "inpost_fte") == (71.8, None)
    assert obs(r, 2015, "841", "cin_per_sw_fte") == (12.0, None)
    assert obs(r, 2015, "E12000001", "cin_per_sw_headcount") == (13.0, None)
    assert obs(r, 2015, "318", "agency_cover_fte") == (None, "-")
    assert obs(r, 2015, "314", "inpost_fte") == (67.6, None)                # before the joint return
    b = r.breakdowns.set_index(["area_code", "measure_id", "breakdown_topic", "breakdown"])
    assert b.loc[("841", "inpost_fte_percentage", "Age", "60 and over"), "symbol"] == "x"   # a symbol, never zero
    assert b.loc[("841", "inpost_fte", "Time in service", "30 years or more"), "value"] == 0.0


def test_sfr_2016_blank_lines_joint_return_and_aggregate_caseload():
    r = read("sfr/sfr_2016_small.csv")
    assert obs(r, 2016, "E92000001", "cases_aggregate") == (326770.0, None)
    assert obs(r, 2016, "E92000001", "caseload_aggregate") == (16.1, None)
    assert obs(r, 2016, "E12000001", "cases_frontline_aggregate") == (None, ".")
    assert obs(r, 2016, "841", "caseload_aggregate") == (None, "..")
    assert obs(r, 2016, "841", "working_days_lost_fte") == (1297.3, None)  # "1,297.3"
    assert obs(r, 2016, "314 / 318", "inpost_fte") == (158.6, None)
    assert "caseload_fte" not in set(r.observations.measure_id)             # not comparable with 2017+


def _copy_with(tmp_path, name, old, new):
    text = (FIXTURES / name).read_text(encoding="utf-8-sig")
    assert old in text
    p = tmp_path / "bad.csv"
    p.write_text(text.replace(old, new, 1), encoding="utf-8")
    return p


def test_unexpected_value_names_file_row_column_and_value(tmp_path):
    p = _copy_with(tmp_path, "indicators_2025_small.csv", "80.5,86,", "80.5,eighty-six,")
    with pytest.raises(InputError) as e:
        readers.read_sources([p])
    [problem] = e.value.problems
    assert (problem.file, problem.row, problem.column, problem.value) == (str(p), 5, "inpost_headcount", "eighty-six")
    assert "not a number and not a known DfE symbol" in str(problem)


def test_every_problem_is_reported_at_once(tmp_path):
    p = _copy_with(tmp_path, "indicators_2025_small.csv", "80.5,86,15.2", "80.5,,-15.2")
    with pytest.raises(InputError) as e:
        readers.read_sources([p])
    found = {(x.row, x.column): x.message for x in e.value.problems}
    assert "blank cell" in found[(5, "inpost_headcount")]
    assert "negative" in found[(5, "starters_fte")]


def test_unknown_symbol_in_sfr_is_an_error(tmp_path):
    p = _copy_with(tmp_path, "sfr/sfr_2015_small.csv", "71.8,12", "71.8,n/a")
    with pytest.raises(InputError, match=r"row 4, column CiNperCSW_FTE_2015, value 'n/a'"):
        readers.read_sources([p])


def test_unknown_header_explains_the_closest_layout(tmp_path):
    p = tmp_path / "mystery.csv"
    p.write_text("time_period,geographic_level,la_name,inpost_fte\n2025,National,,1\n")
    with pytest.raises(InputError, match="not a CSWW layout.*closest is the EES indicators layout.*also needs"):
        readers.read_sources([p])


def test_folder_skips_files_that_are_not_indicator_data(tmp_path):
    shutil.copy(FIXTURES / "indicators_2025_small.csv", tmp_path)
    (tmp_path / "notes.csv").write_text("a,b\n1,2\n")
    skipped = []
    results = readers.read_sources([tmp_path], on_skip=skipped.append)
    assert [r.layout for r in results] == ["ees-indicators"]
    assert skipped == [str(tmp_path / "notes.csv")]


def test_zip_release_and_damaged_zip(tmp_path):
    z = tmp_path / "children-s-social-work-workforce_2025.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(FIXTURES / "indicators_2025_small.csv", "data/csww_indicators_2017_to_2025.csv")
        zf.writestr("data-guidance/data-guidance.txt", "guidance")
    [result] = readers.read_sources([z])
    assert result.source.endswith("!data/csww_indicators_2017_to_2025.csv")
    cut = tmp_path / "cut.zip"
    cut.write_bytes(z.read_bytes()[:200])
    with pytest.raises(InputError, match="cut.zip: not a readable ZIP file"):
        readers.read_sources([cut])


def test_same_file_twice_is_read_once(tmp_path):
    z = tmp_path / "r.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(FIXTURES / "indicators_2025_small.csv", "data/x.csv")
    assert len(readers.read_sources([FIXTURES / "indicators_2025_small.csv", z])) == 1


def test_missing_path_and_binary_garbage(tmp_path):
    junk = tmp_path / "junk.csv"
    junk.write_bytes(b"\x00\xff\xfe" * 50)
    with pytest.raises(InputError) as e:
        readers.read_sources([tmp_path / "nope.csv", junk])
    text = str(e.value)
    assert "nope.csv: no such file or folder" in text
    assert "junk.csv" in text


def _both_ways(df, columns, symbols, **flags):
    """parse_columns (one pass over all columns) and parse_cells column by column: values, symbols, problems."""
    rows = pd.Series(df.index + 2, index=df.index)
    one, many = [], []
    singly = [parse_cells(df[c], symbols, "f.csv", c, rows, one, **flags) for c in columns]
    together = parse_columns(df, columns, symbols, "f.csv", rows, many, **flags)
    for (v1, s1), (v2, s2) in zip(singly, together, strict=True):
        pd.testing.assert_series_equal(v1, v2, check_exact=True)
        pd.testing.assert_series_equal(s1, s2, check_exact=True)
    assert one == many
    return together, many


def test_parse_columns_is_parse_cells_column_by_column_on_real_files(shared):
    """The one-pass parser gives the 2025 indicators and the 2016 SFR file exactly what the per-column one does."""
    ees = pd.read_csv(shared / "csww_indicators_2017_to_2025.csv", dtype=str, keep_default_na=False)
    cols = [c for c in ees.columns if c.endswith(("_fte", "_headcount"))]
    parsed, problems = _both_ways(ees, cols, EES_SYMBOLS)
    assert not problems
    assert parsed[cols.index("inpost_fte")][0].iloc[0] == 36186.3  # England 2025, the file's first row
    sfr = next((shared / "sfr").rglob("SFR08*.csv"), None) or next((shared / "sfr").rglob("*.csv"))
    frame = pd.read_csv(sfr, dtype=str, keep_default_na=False, encoding="cp1252")
    _both_ways(frame, [c for c in frame.columns if c[:1].lower() in "abcd"], SFR_SYMBOLS, allow_thousands=True,
               allow_blank=True)


def test_parse_columns_dtypes_and_problems_in_column_order():
    """Whole-number columns stay int64, problems come column by column (bad cells, then negatives)."""
    df = pd.DataFrame({"a": ["1", "2", "3"], "b": ["1", "x", "-3"], "c": ["1.5", "oops", ""],
                       "d": ["12345678901234567890", "1", "2"], "e": ["1,234", "..", "-0"]}, dtype="str")
    parsed, problems = _both_ways(df, list(df.columns), SFR_SYMBOLS, allow_thousands=True)
    assert str(parsed[0][0].dtype) == "int64" and str(parsed[1][0].dtype) == "float64"
    assert parsed[4][0].iloc[0] == 1234 and parsed[4][1].iloc[1] == ".."
    assert [(p.column, p.row, p.value) for p in problems] == [("b", 4, "-3"), ("c", 3, "oops"), ("c", 4, "")]
