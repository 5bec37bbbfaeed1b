"""``csww align``: formats, atomic output, bad input, and loading into the local tables."""

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from benchmark.cli import cli
from benchmark.local import InputError, align
from benchmark.local.store import load_files, load_local

ROOT = Path(__file__).parent.parent
EXAMPLES = ROOT / "examples"
FIXTURES = Path(__file__).parent / "fixtures"


def run(*args):
    return CliRunner().invoke(cli, ["align", *map(str, args)])


def test_table_shows_dfe_basis_beside_reported():
    result = run(EXAMPLES / "darlington.csv")
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.strip().startswith("Vacancy rate (FTE)"))
    assert line.split()[3:6] == ["27.5", "26.73", "no"]
    assert "note: snapshot at 31 July 2016, not 30 September" in result.output


def test_json_records_have_the_agreed_fields():
    result = run(EXAMPLES / "middlesbrough.csv", "--format", "json")
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    turnover = next(r for r in records if r["measure_id"] == "turnover_rate_fte")
    assert {k: turnover[k] for k in ("area_code", "period", "value", "symbol", "comparable", "reported_value")} == {
        "area_code": "806", "period": "2018-10-01/2019-09-30", "value": None, "symbol": "x", "comparable": False,
        "reported_value": 20.8}
    assert "leavers_fte not given" in turnover["caveat"] and turnover["basis"] == ""


def test_csv_output_written_atomically(tmp_path):
    out = tmp_path / "aligned.csv"
    result = run(FIXTURES / "csww_census_2023_valid.xml", "--format", "csv", "-o", out)
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert lines[0].startswith("area_code,team,period,time_period,measure_id,value,symbol")
    inpost = next(x for x in lines if ",inpost_fte," in x)
    assert inpost.startswith("841,,2022-10-01/2023-09-30,2023,inpost_fte,4.4,")
    assert list(tmp_path.iterdir()) == [out]          # no temporary file left behind


def test_bad_input_prints_every_problem_and_fails(tmp_path):
    result = run(FIXTURES / "csww_census_2023_invalid.xml")
    assert result.exit_code == 1
    assert "5 problems found; nothing was written" in result.output
    assert "'1.5'" not in result.output and "'2023-13-01'" not in result.output   # worker cells are masked
    for piece in ["row 2, column FTE: must", "row 3, column RoleEndDate", "row 4, column AgencyWorker",
                  "row 5, column RoleStartDate", "LALevelVacancies/NoAgencyFTE: missing"]:
        assert piece in result.output
    out = tmp_path / "never.json"
    assert run(FIXTURES / "csww_census_2023_invalid.xml", "-o", out).exit_code == 1 and not out.exists()


def test_unknown_file_kind_and_missing_file(tmp_path):
    odd = tmp_path / "odd.csv"
    odd.write_text("a,b\n1,2\n")
    result = run(odd)
    assert result.exit_code == 1 and "cannot tell what this file is" in result.output
    assert "no such file" in run(tmp_path / "nope.csv").output


def test_help_has_an_example():
    result = CliRunner().invoke(cli, ["align", "--help"])
    assert result.exit_code == 0 and "Example:" in result.output and "csww align examples/darlington.csv" in result.output


def test_load_local_fills_both_tables():
    conn = sqlite3.connect(":memory:")
    path = EXAMPLES / "darlington.csv"
    ids = load_local(conn, align(path), path)
    assert len(ids) == 2
    rows = dict(conn.execute("SELECT return_id, input_kind FROM local_returns").fetchall())
    assert set(rows.values()) == {"aggregate"}
    (value, reported, comparable), = conn.execute(
        "SELECT value, reported_value, comparable FROM local_observations WHERE measure_id = 'vacancy_rate_fte'"
        " AND team = '' AND period_end = '2016-07-31'").fetchall()
    assert (value, reported, comparable) == (27.5, 26.73, 0)
    conn.execute("UPDATE local_returns SET published = 1")
    load_local(conn, align(path), path)                  # reloading replaces figures, keeps the flag
    assert conn.execute("SELECT count(*) FROM local_returns WHERE published = 1").fetchone() == (2,)
    n = conn.execute("SELECT count(*) FROM local_observations").fetchone()[0]
    assert n == len(align(path))


def test_nothing_loaded_when_any_file_is_bad():
    conn = sqlite3.connect(":memory:")
    with pytest.raises(InputError) as err:
        load_files(conn, [EXAMPLES / "darlington.csv", FIXTURES / "csww_census_2023_invalid.xml"])
    assert len(err.value.problems) == 5
    assert conn.execute("SELECT name FROM sqlite_master WHERE name LIKE 'local_%'").fetchall() == []
    load_files(conn, [EXAMPLES / "darlington.csv", FIXTURES / "csww_census_2023_valid.xml"])
    kinds = {k for (k,) in conn.execute("SELECT input_kind FROM local_returns")}
    assert kinds == {"aggregate", "census_xml"}


def test_blank_template_is_an_error_not_silence():
    for name in ("template.csv", "template.xlsx"):
        result = run(EXAMPLES / name)
        assert result.exit_code == 1 and f"{EXAMPLES / name}, row 2: no data rows" in result.output


def test_in_year_view_of_a_worker_extract():
    # tests/fixtures/workers_841_2024-03-31.csv (described in test_series.py): at 31 Mar 2024, 13 leavers in the
    # 12 months (FTE 12.6) over 41 in post (FTE 40.0) -> 31.5 % FTE, 31.7 % headcount; year to date from 1 Oct 2023
    # 8 leavers (FTE 7.6) -> 19.0 % and 19.5 %. At 31 Dec 2023: 17.9 % FTE and a year to date of 3 leavers: c.
    extract = FIXTURES / "workers_841_2024-03-31.csv"
    result = run(extract, "--in-year", "2024-03-31", "--in-year", "2023-12-31", "--format", "json")
    assert result.exit_code == 0, result.output
    got = {(r["period_end"], r["measure_id"]): (r["value"], r["symbol"]) for r in json.loads(result.output)}
    assert got[("2024-03-31", "rolling_12m_leavers_headcount")] == (13, None)
    assert got[("2024-03-31", "rolling_12m_turnover_rate_fte")] == (31.5, None)
    assert got[("2024-03-31", "rolling_12m_turnover_rate_headcount")] == (31.7, None)
    assert got[("2024-03-31", "ytd_turnover_rate_fte")] == (19.0, None)
    assert got[("2023-12-31", "rolling_12m_turnover_rate_fte")] == (17.9, None)
    assert got[("2023-12-31", "ytd_leavers_headcount")] == (None, "c")
    table = run(extract, "--in-year", "2024-03-31")
    assert table.exit_code == 0, table.output
    line = next(x for x in table.output.splitlines() if x.strip().startswith("Rolling 12-month turnover rate (FTE)"))
    assert line.split()[5] == "31.5"
    late = run(extract, "--in-year", "2024-06-30")  # after the reference date: a clear message, no traceback
    assert late.exit_code == 1 and "after the extract's reference date 2024-03-31" in late.output
    assert isinstance(late.exception, SystemExit) and "Traceback" not in late.output
    aggregate = run(EXAMPLES / "darlington.csv", "--in-year", "2016-07-31")
    assert aggregate.exit_code == 1 and "not a worker-level extract" in aggregate.output


# --- Only councils DfE publishes (review item 2) -----------------------------------------------------------------

RETURN_999 = ("area_code,la_name,period_start,period_end,inpost_fte,inpost_headcount,leavers_fte,leavers_headcount,"
              "agency_fte,vacancy_fte,cases,case_holders_fte\n999,Nowhere,2023-10-01,2024-09-30,90,95,10,11,5,3,1000,0\n")


def test_an_la_number_no_council_has_stops_align_validate_and_build(tmp_path):
    # 999 was aligned (exit 0) and made 'csww build --local' fail with a foreign key traceback
    path = tmp_path / "a999.csv"
    path.write_text(RETURN_999)
    why = "row 2, column area_code, value '999': not a DfE LA number"
    result = run(path)
    assert result.exit_code == 1 and f"{path}, {why}" in result.output
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 1 and "a999.csv, row 2, column area_code, value '999': local-return (error): " \
        "not a DfE LA number" in result.output and "INVALID: 1 error" in result.output
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["build", "--from", str(FIXTURES / "indicators_2025_small.csv"),
                                      "--local", str(path), "--out", str(out)])
    assert result.exit_code == 1 and f"{path}, {why}" in result.output and result.exception.__class__ is SystemExit
    assert not out.exists()
    # a whole number Excel wrote as a float is the council's number, as 'csww compare --la 841.0' reads it
    path.write_text(RETURN_999.replace("\n999,", "\n841.0,"))
    assert {f.area_code for f in align(path)} == {"841"}
    # every kind of input: an HR extract's area_code, a census return's LEA, --la for an extract without one
    extract = tmp_path / "hr.csv"
    extract.write_text("area_code,worker_id,agency,fte,start_date,end_date,reference_date\n"
                       "999,AB0000000001,0,1,2020-01-01,,2024-09-30\n")
    with pytest.raises(InputError) as err:
        align(extract)
    assert "column area_code, value '999': not a DfE LA number" in str(err.value)
    extract.write_text("worker_id,agency,fte,start_date,end_date,reference_date\nAB0000000001,0,1,2020-01-01,,2024-09-30\n")
    with pytest.raises(InputError) as err:
        align(extract, la="999")
    assert "column area_code, value '999': not a DfE LA number" in str(err.value)
    census = tmp_path / "census.xml"
    census.write_text((FIXTURES / "csww_census_2023_valid.xml").read_text().replace("<LEA>841</LEA>", "<LEA>999</LEA>"))
    with pytest.raises(InputError) as err:
        align(census)
    assert "column LEA, value '999': not a DfE LA number" in str(err.value)


def test_a_return_for_a_council_the_database_does_not_have_is_a_problem(mini_db, tmp_path):
    # 201 (City of London) is a DfE LA number, but the hand-made build has 8 councils only
    import shutil
    db = shutil.copyfile(mini_db, tmp_path / "csww.db")
    path = tmp_path / "a201.csv"
    path.write_text(RETURN_999.replace("\n999,", "\n201,"))
    with sqlite3.connect(db) as conn:
        with pytest.raises(InputError) as err:
            load_files(conn, [path])
        assert str(err.value.problems[0]).startswith(f"{path}, column area_code, value '201': the DfE files this "
                                                     "database was built from have no council with this LA number")
        assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name LIKE 'local_%'").fetchone() == (0,)


def test_table_labels_are_whole_so_a_count_and_its_rate_read_apart():
    # review item 5: labels were cut at 48 characters, so "In post with 2 to less than 5 years of service" and
    # its "(%)" row read the same
    from benchmark import measures
    result = run(FIXTURES / "csww_census_2023_valid.xml")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    header = next(x for x in lines if x.lstrip().startswith("measure "))
    rows = lines[lines.index(header) + 1:]
    labels = [measures.get(f.measure_id).label for f in align(FIXTURES / "csww_census_2023_valid.xml")]
    width = header.index("DfE basis") - 4             # "  ", the label column, " ", then 10 right-aligned
    assert width == max(len(x) for x in labels) == 89                 # the longest label, whole
    cells = [x[2:2 + width].rstrip() for x in rows if x.startswith("  ") and not x.startswith("    ")]
    assert cells == labels and len(set(cells)) == len(cells)
    assert "  In post with 2 to less than 5 years of service (%)" in result.output


def test_lock_files_and_files_that_are_not_workbooks_are_messages(tmp_path):
    """Before: BadZipFile for Excel's lock file, a CSV renamed .xlsx and an empty file. The lock file rule is the
    DfE readers' (readers.is_lock_file): the same message as 'csww build' gives."""
    lock = tmp_path / "~$extract.xlsx"
    lock.write_bytes(b"\x06jsmith".ljust(54, b" ") + b"\x06\x00" + "jsmith".encode("utf-16-le").ljust(109, b"\x00"))
    renamed = tmp_path / "extract.xlsx"
    renamed.write_bytes((FIXTURES / "workers_841_2024-03-31.csv").read_bytes())
    empty = tmp_path / "empty.xlsx"
    empty.write_bytes(b"")
    old = tmp_path / "old.xlsx"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    pdf = tmp_path / "return.csv"  # before: "cannot tell what this file is", its first bytes shown as a header
    pdf.write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n")
    out = tmp_path / "out.json"
    for path, message in [
        (lock, "Excel's lock file for an open workbook, not data: close the workbook or leave this file out"),
        (renamed, "named .xlsx but holds text (a CSV file renamed?), not an Excel workbook: give a CSV file its "
                  ".csv name, or open it in Excel and save it as Excel Workbook (.xlsx)"),
        (empty, "an empty file (0 bytes): export or save it again"),
        (old, "named .xlsx but is an Excel 97-2003 workbook (.xls) or other Office document, not a CSV file, an "
              "Excel workbook (.xlsx) or a census XML return: export or save it again as Excel Workbook (.xlsx)"),
        (pdf, "is a PDF document, not a CSV file, an Excel workbook (.xlsx) or a census XML return: export or save "
              "it again as CSV UTF-8 (Comma delimited) or Excel Workbook (.xlsx)")]:
        result = run(path, "--format", "json", "-o", out)
        assert result.exit_code == 1, result.output
        assert f"{path}: {message}" in result.output and "Traceback" not in result.output
        assert not out.exists()


def test_validate_lists_a_repeated_worker_row_as_a_warning(tmp_path):
    """A row given twice leaves the extract valid (counted once): csww validate --warnings names both rows."""
    lines = (FIXTURES / "workers_841_2024-03-31.csv").read_text(encoding="utf-8").splitlines()
    path = tmp_path / "extract.csv"
    path.write_text("\n".join(lines + [lines[5]]) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", str(path), "--warnings"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "extract.csv, row 60: local-return (warning): repeats row 6 exactly: counted once, as a copy (a worker's "
        "several posts differ in some item: role, FTE, dates, cases)",
        f"{path}: valid: 0 errors, 1 warning"]
    census = tmp_path / "census.xlsx"  # a census return named .xlsx is still told by its content
    census.write_bytes((FIXTURES / "csww_census_2023_valid.xml").read_bytes())
    assert run(census).exit_code == 0
