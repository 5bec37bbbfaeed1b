"""csww build on bad DfE files (issue 14 items 3 and 4): a message naming file, row, column and value, a
non-zero exit, no traceback and the output folder exactly as it was; an unknown column is named in a warning."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FIXTURES, SHARED, value

from benchmark.build import build
from benchmark.cli import cli

GOOD = FIXTURES / "indicators_2025_small.csv"
HEADER, *ROWS = GOOD.read_text(encoding="utf-8").splitlines()
DARLINGTON = 3  # index in ROWS; file row 5


def _snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(folder.rglob("*"))}


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    """An output folder holding an earlier good build, which a failed build must leave as it was."""
    folder = tmp_path_factory.mktemp("earlier") / "out"
    build([FIXTURES / "indicators_2024_small.csv"], folder)
    return folder


def _fails(out: Path, source: Path, *expected: str) -> str:
    before = _snapshot(out)
    result = CliRunner().invoke(cli, ["build", "--from", str(source), "--out", str(out), "-q"])
    assert result.exit_code == 1, result.output
    assert result.exc_info[0] is SystemExit  # a message, not an exception escaping the command
    assert "Traceback" not in result.output
    assert "nothing was written" in result.output
    for text in expected:
        assert text in result.output, result.output
    assert _snapshot(out) == before
    return result.output


def _with_cell(tmp_path: Path, column: str, new: str, row: int = DARLINGTON) -> Path:
    """The good fixture with one cell of Darlington's row replaced."""
    cols = HEADER.split(",")
    rows = [r.split(",") for r in ROWS]
    rows[row][cols.index(column)] = new
    p = tmp_path / "bad.csv"
    p.write_text("\n".join([HEADER, *(",".join(r) for r in rows)]) + "\n", encoding="utf-8")
    return p


@pytest.mark.skipif(not (SHARED.parent / "cases").exists(), reason="../shared/cases is missing")
def test_extra_column_case_is_named_in_a_warning_and_the_known_columns_load(tmp_path):
    case = SHARED.parent / "cases" / "build" / "extra_column.csv"
    result = CliRunner().invoke(cli, ["build", "--from", str(case), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (f"warning: {case}: column 'agency_cover_headcount' is not part of the EES indicators layout "
            "(2023 release onwards); loaded as the catalogue's measure agency_cover_headcount") in result.output
    db = tmp_path / "csww.db"
    assert value(db, 2025, "841", "inpost_fte") == (95.6, None)
    assert value(db, 2025, "841", "turnover_rate_fte") == (15.4, None)
    assert value(db, 2025, "841", "agency_cover_headcount") == (None, "x")


def test_column_no_catalogue_measure_names_is_skipped_with_a_warning(tmp_path):
    p = tmp_path / "extra.csv"
    p.write_text("\n".join([HEADER + ",bonus_rate_fte", *(r + ",1.5" for r in ROWS)]) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["build", "--from", str(p), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert (f"warning: {p}: column 'bonus_rate_fte' is not part of the EES indicators layout (2023 release "
            "onwards) and not a measure this toolkit knows; not loaded") in result.output
    assert value(tmp_path / "o" / "csww.db", 2025, "841", "inpost_fte") == (80.5, None)


def test_duplicated_column_is_an_error(tmp_path, out):
    p = tmp_path / "dup.csv"
    p.write_text("\n".join([HEADER + ",inpost_fte", *(r + ",1" for r in ROWS)]) + "\n", encoding="utf-8")
    _fails(out, p, f"{p}, row 1, column inpost_fte: column 'inpost_fte' appears more than once "
                   "(columns 11 and 33)")


def test_unknown_council_code_is_an_error(tmp_path, out):
    p = _with_cell(tmp_path, "old_la_code", "999")
    _fails(out, p, f"{p}, row 5, column old_la_code, value '999': not a DfE local authority number this toolkit "
                   "knows")


def test_rate_above_100_is_an_error_in_validates_words(tmp_path, out):
    p = _with_cell(tmp_path, "turnover_rate_fte", "250")
    _fails(out, p, f"{p}, row 5, column turnover_rate_fte, value '250': rate-range: turnover_rate_fte is 250, "
                   "above 100 (a percentage) (csww validate: error)",
           "rate-components: turnover_rate_fte for 841 2025 (release 2025) is 250 but its components "
           "(leavers_fte=10.1, inpost_fte=80.5) give 12.55")


def test_impossible_fte_is_an_error_in_validates_words(tmp_path, out):
    p = _with_cell(tmp_path, "inpost_fte", "1e9")
    _fails(out, p, f"{p}, row 5, column turnover_rate_fte, value '12.5': rate-components: turnover_rate_fte for "
                   "841 2025 (release 2025) is 12.5 but its components (leavers_fte=10.1, inpost_fte=1e+09) give 0.00")


def test_byte_neither_utf8_nor_cp1252_names_file_and_row(tmp_path, out):
    p = tmp_path / "bytes.csv"
    data = GOOD.read_bytes().replace(b"Darlington", b"Darl\x81ngton")
    p.write_bytes(data)
    _fails(out, p, f"{p}, row 5: byte 0x81 is neither UTF-8 nor Windows-1252 text")


def test_header_only_file_is_a_message(tmp_path, out):
    p = tmp_path / "empty.csv"
    p.write_text(HEADER + "\n", encoding="utf-8")
    _fails(out, p, f"{p}, row 2: the file has a header but no data rows")


def test_sfr_files_alone_build(tmp_path):
    """Only the 2015-2016 SFR files: no rate can be an error there (their differences are warnings)."""
    build([FIXTURES / "sfr"], tmp_path)
    assert value(tmp_path / "csww.db", 2015, "841", "inpost_fte") == (71.8, None)


def test_semicolon_copy_and_lock_file_are_messages(tmp_path, out):
    """Before: pandas' "Error tokenizing data. C error: Expected 1 fields in line 55, saw 2" and, for Excel's lock
    file, 'header is not a CSWW layout' with the file's bytes as the value."""
    semi = tmp_path / "semi.csv"
    semi.write_text(GOOD.read_text(encoding="utf-8").replace(",", ";"), encoding="utf-8")
    _fails(out, semi, f"{semi}, row 1: the columns are separated by ';', not commas (a CSV saved with a semicolon "
                      "list separator; its header is the EES indicators layout (2023 release onwards)): save it "
                      "again as CSV (comma delimited)")
    lock = tmp_path / "~$csww.xlsx"
    lock.write_bytes(b"\x06jsmith".ljust(54, b" ") + b"\x06\x00" + "jsmith".encode("utf-16-le").ljust(109, b"\x00"))
    _fails(out, lock, f"{lock}: Excel's lock file for an open workbook, not data: close the workbook or leave this "
                      "file out")
