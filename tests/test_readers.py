"""Each DfE layout and each symbol, from the hand-made fixtures (meaningful without ../shared)."""

from __future__ import annotations

import csv
import io
import shutil
import zipfile

import pandas as pd
import pytest
from conftest import FIXTURES, SHARED

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


# --- rows with nothing in them, other separators, files that are not CSV text or not CSWW data -----------------

EMPTY_ROWS = {"blank line": "", "Excel's all-comma line": None, "spaces": "  , ,"}


def _with_empty_rows(data: bytes, after: int = 3) -> bytes:
    """``data`` with a blank line, an all-comma line (as Excel saves an emptied row) and a line of spaces after its
    ``after``-th line, and at its end two blank lines and another all-comma line, CRLF (what editors and Excel add)."""
    lines = data.rstrip(b"\r\n").split(b"\n")
    commas = b"," * lines[0].count(b",")
    return b"\n".join([*lines[:after], b"", commas, b"  , ,", *lines[after:]]) + b"\r\n\r\n\r\n" + commas + b"\r\n"


@pytest.mark.parametrize("name", ["indicators_2025_small.csv", "headline_2022_small.csv", "sfr/sfr_2015_small.csv",
                                  "sfr/sfr_2016_small.csv", "role_by_characteristics_small.csv"])
def test_wholly_empty_rows_are_skipped_in_every_layout(name):
    """Before the fix every such row was a 'time_period must be a four-digit reporting year' and a 'blank cell'
    per column; now the file reads as the clean one does, each row keeping its own line number (3 lines later)."""
    data = (FIXTURES / name).read_bytes()
    clean = readers.read_file(SourceFile(name, data))
    padded = readers.read_file(SourceFile(name, _with_empty_rows(data)))
    assert len(clean.observations) + len(clean.breakdowns if clean.breakdowns is not None else []) > 0
    for a, b in ((clean.observations, padded.observations), (clean.breakdowns, padded.breakdowns)):
        if a is None:
            assert b is None
            continue
        assert len(b) == len(a) and (not len(a) or (a["source_row"].astype(int) > 3).any())
        pd.testing.assert_frame_equal(a.drop(columns="source_row"), b.drop(columns="source_row"))
        shift = b["source_row"].astype(int) - a["source_row"].astype(int)
        assert shift.where(a["source_row"].astype(int) > 3, 3).eq(3).all()  # rows below the empty ones: 3 down
        assert shift.where(a["source_row"].astype(int) <= 3, 0).eq(0).all()


def test_header_and_only_empty_rows_is_still_a_file_without_data(tmp_path):
    p = tmp_path / "cut.csv"
    header = (FIXTURES / "indicators_2025_small.csv").read_text(encoding="utf-8").splitlines()[0]
    p.write_text(header + "\n\n" + "," * header.count(",") + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"cut.csv, row 2: the file has a header but no data rows"):
        readers.read_sources([p])


def test_real_2025_file_with_trailing_blank_lines_and_comma_rows_reads_every_value(shared, tmp_path):
    """The new user's file: DfE's 2025 indicators with blank lines and Excel's ",,,," rows (middle and end)."""
    real = shared / "csww_indicators_2017_to_2025.csv"
    padded = tmp_path / "padded.csv"
    padded.write_bytes(_with_empty_rows(real.read_bytes(), after=10))
    [clean] = readers.read_sources([real])
    [r] = readers.read_sources([padded])
    assert len(clean.observations) == len(r.observations) == 32186
    assert obs(r, 2025, "841", "inpost_fte") == (95.6, None)   # Darlington, file line 15, now line 18
    o = r.observations
    assert o[(o.time_period == 2025) & (o.area_code == "841") & (o.measure_id == "inpost_fte")].source_row.item() == 18


def _separated(tmp_path, shared_or_none, sep: str):
    """A copy of DfE's 2025 indicators file (the fixture without ../shared) saved with ``sep`` between columns,
    as Excel saves "CSV" where the list separator is ';' ("Bristol, City of" is then unquoted)."""
    src = (shared_or_none / "csww_indicators_2017_to_2025.csv") if shared_or_none else FIXTURES / \
        "indicators_2025_small.csv"
    with open(src, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    p = tmp_path / "saved from Excel.csv"
    with open(p, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, delimiter=sep).writerows(rows)
    return p


@pytest.fixture
def shared_or_none():
    return SHARED if (SHARED / "csww_indicators_2017_to_2025.csv").exists() else None


@pytest.mark.parametrize("sep, said, why", [(";", "';'", "a CSV saved with a semicolon list separator"),
                                            ("\t", "tabs", "a tab-delimited text file")])
def test_semicolon_or_tab_separated_copy_says_so(tmp_path, shared_or_none, sep, said, why):
    """Before: "not a readable CSV file: Error tokenizing data. C error: Expected 1 fields in line 55, saw 2"."""
    p = _separated(tmp_path, shared_or_none, sep)
    expected = (f"{p}, row 1: the columns are separated by {said}, not commas ({why}; its header is the EES "
                "indicators layout (2023 release onwards)): save it again as CSV (comma delimited)")
    with pytest.raises(InputError) as e:
        readers.read_sources([p])
    assert [str(x) for x in e.value.problems] == [expected]
    with pytest.raises(InputError) as e:  # a CSWW file inside a folder too: never skipped
        readers.read_sources([tmp_path])
    assert [str(x) for x in e.value.problems] == [expected]


def test_semicolon_file_of_other_columns_is_skipped_inside_a_folder(tmp_path):
    (tmp_path / "notes.csv").write_text("team;count\nNorth;3\n", encoding="utf-8")
    skipped = []
    with pytest.raises(InputError):  # nothing else to read: read_sources itself has no error for that
        readers.read_sources([tmp_path / "notes.csv"])
    assert readers.read_sources([tmp_path], on_skip=skipped.append) == []
    assert skipped == [str(tmp_path / "notes.csv")]


def _excel_lock_file(path):
    """What Excel leaves beside an open workbook: the user's name, padded, then again in UTF-16 (165 bytes)."""
    user = b"jsmith"
    path.write_bytes((bytes([len(user)]) + user).ljust(54, b" ") + bytes([len(user), 0])
                     + "jsmith".encode("utf-16-le").ljust(109, b"\x00"))
    return path


def test_lock_file_named_explicitly_says_what_it_is_and_is_skipped_inside_a_folder(tmp_path):
    lock = _excel_lock_file(tmp_path / "~$indicators.xlsx")
    with pytest.raises(InputError) as e:
        readers.read_sources([lock])
    assert str(e.value.problems[0]) == (f"{lock}: Excel's lock file for an open workbook, not data: close the "
                                        "workbook or leave this file out")
    folder = tmp_path / "downloads"
    folder.mkdir()
    shutil.copy(FIXTURES / "indicators_2025_small.csv", folder)
    _excel_lock_file(folder / "~$indicators_2025_small.csv")  # Excel has the CSV open
    skipped = []
    assert [r.layout for r in readers.read_sources([folder], on_skip=skipped.append)] == ["ees-indicators"]
    assert skipped == [str(folder / "~$indicators_2025_small.csv")]


def test_workbook_parquet_and_utf16_say_what_they_are(tmp_path):
    book = tmp_path / "la_code_list.xlsx"
    with zipfile.ZipFile(book, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
    parquet = tmp_path / "bds.csv"
    parquet.write_bytes(b"PAR1\x15\x04\x15\x80\x01" + bytes(200))
    utf16 = tmp_path / "unicode.csv"
    utf16.write_bytes((FIXTURES / "indicators_2025_small.csv").read_text(encoding="utf-8").encode("utf-16"))
    with pytest.raises(InputError) as e:
        readers.read_sources([book, parquet, utf16])
    save = "csww reads CSV files: save it again as CSV (comma delimited), or give DfE's CSV download"
    assert [str(x) for x in e.value.problems] == [  # in file name order
        f"{parquet}: a Parquet file, not a CSV file; {save}",
        f"{book}: a spreadsheet workbook, not a CSV file; {save}",
        f"{utf16}: UTF-16 text (what Excel's \"Unicode Text\" saves), not a CSV file; {save}"]


def test_other_dfe_files_named_explicitly_say_they_are_not_csww_data(tmp_path, shared_or_none):
    """../shared/dfe's children-looked-after and statistical-neighbour files (made here without ../shared)."""
    if shared_or_none:
        cla, sn = shared_or_none / "la_cla_swcount.csv", shared_or_none / "sn_model_2025_wide.csv"
    else:
        cla, sn = tmp_path / "la_cla_swcount.csv", tmp_path / "sn_model_2025_wide.csv"
        cla.write_text("time_period,time_identifier,geographic_level,country_code,country_name,cla_group,"
                       "sw_stability,number\n2024,Financial year,National,E92000001,England,x,1,5\n")
        sn.write_text("old_la_code,la_name,region_ind,region_name,SN_1,SN_1P,SN_2\n841,Darlington,1,North East,"
                      "806,Extremely Close,807\n")
    with pytest.raises(InputError) as e:
        readers.read_sources([cla, sn])
    first, second = (str(x) for x in e.value.problems)
    assert first == (f"{cla}: not a CSWW data file: DfE's \"Children looked after\" file of children looked after by "
                     "number of social workers in the year (cla_group, sw_stability). csww build reads DfE's CSWW "
                     "indicator and breakdown files: leave this file out (inside a folder it is skipped)")
    assert second.startswith(
        f"{sn}, row 1, value 'old_la_code,la_name,region_ind,region_name,SN_1,SN_1P,...': header is not a CSWW "
        "layout this toolkit knows: not a CSWW data file (it looks like DfE's statistical neighbours table, which "
        "csww ships already: the 2021 and 2025 models), it has none of the layouts' measure columns nor EES's "
        "time_period and geographic_level. Expected a header like: EES indicators layout (2023 release onwards): "
        "time_period, time_identifier, ..., inpost_fte, inpost_headcount, ...;")
    assert second.endswith("A1_FTE_ChildrensSocialWorkers_2015, .... Leave this file out")


def _with_thousands_separators(data: bytes, rows: int | None = None) -> bytes:
    """An EES file as Excel saves it with a "1000 separator" number format: each number of 1,000 or more of the
    measure columns (from the 11th) quoted with separators ("36,186.3"); only the first ``rows`` rows when given."""
    lines = list(csv.reader(data.decode("utf-8-sig").splitlines()))

    def shown(cell: str) -> str:
        whole, dot, decimals = cell.partition(".")
        return f"{int(whole):,}{dot}{decimals}" if whole.isdigit() and int(whole) >= 1000 else cell
    out = [lines[0]] + [r[:10] + [shown(c) for c in r[10:]] if rows is None or i < rows else r
                        for i, r in enumerate(lines[1:])]
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(out)
    return text.getvalue().encode("utf-8")


def test_column_wholly_written_with_thousands_separators_reads_the_same_figures(tmp_path, shared_or_none):
    real = (shared_or_none / "csww_indicators_2017_to_2025.csv") if shared_or_none else \
        FIXTURES / "indicators_2025_small.csv"
    p = tmp_path / "formatted.csv"
    p.write_bytes(_with_thousands_separators(real.read_bytes()))
    assert '"36,186.3","38,292"' in p.read_text()  # England 2025, inpost_fte and inpost_headcount
    [clean], [r] = readers.read_sources([real]), readers.read_sources([p])
    pd.testing.assert_frame_equal(clean.observations, r.observations)
    assert obs(r, 2025, "E92000001", "inpost_fte") == (36186.3, None)
    if shared_or_none:
        assert len(r.observations) == 32186
    assert r.warnings == ["13 columns (inpost_fte, inpost_headcount, starters_fte, starters_headcount, ...) with "
                          "thousands separators (Excel's number format), not DfE's plain numbers; read as the "
                          "numbers they show"] if shared_or_none else len(r.warnings) == 1


def test_breakdown_column_wholly_written_with_separators_stays_a_measure(tmp_path):
    """Before, "25,500" made inpost_headcount look like a filter: its figures were lost and every breakdown label
    gained ", Inpost headcount: 25,500"."""
    src = FIXTURES / "role_by_characteristics_small.csv"
    lines = list(csv.reader(src.read_text(encoding="utf-8-sig").splitlines()))
    col = lines[0].index("inpost_headcount")
    for row in lines[1:]:
        row[col] = f"{int(row[col]):,}" if row[col].isdigit() else row[col]
    p = tmp_path / "formatted.csv"
    with open(p, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(lines)
    assert '"25,500"' in p.read_text()
    [clean], [r] = readers.read_sources([src]), readers.read_sources([p])
    pd.testing.assert_frame_equal(clean.breakdowns, r.breakdowns)
    b = r.breakdowns.set_index(["time_period", "area_code", "measure_id", "breakdown_topic", "breakdown", "role"])
    assert b.loc[(2024, "E92000001", "inpost_headcount", "Ethnicity", "White",
                  "All children and family social workers"), "value"] == 25500
    assert r.warnings == ["1 column (inpost_headcount) with thousands separators (Excel's number format), not DfE's "
                          "plain numbers; read as the numbers they show"]


def test_thousands_separators_in_part_of_a_column_are_errors(tmp_path):
    p = tmp_path / "mixed.csv"
    p.write_bytes(_with_thousands_separators((FIXTURES / "indicators_2025_small.csv").read_bytes(), rows=1))
    with pytest.raises(InputError) as e:
        readers.read_sources([p])
    first = e.value.problems[0]
    assert (first.row, first.column, first.value) == (2, "inpost_fte", "36,186.3")
    assert first.message == ("a thousands separator, which DfE's files do not have (csww reads them only in an "
                             "indicator column whose every number of 1,000 or more has one, as Excel's number "
                             "format writes them): save the file again without separators")


def test_empty_file_or_blank_first_line_names_the_missing_header(tmp_path):
    """Before: pandas' "not a readable CSV file: No columns to parse from file"."""
    empty, late = tmp_path / "empty.csv", tmp_path / "late.csv"
    empty.write_bytes(b"\xef\xbb\xbf")
    late.write_text("\n" + (FIXTURES / "indicators_2025_small.csv").read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(InputError) as e:
        readers.read_sources([empty, late])
    why = ("row 1: no header on line 1 (the file is empty or starts with a blank line): DfE's files have their "
           "column names on the first line; was the download cut short?")
    assert [str(x) for x in e.value.problems] == [f"{empty}, {why}", f"{late}, {why}"]
