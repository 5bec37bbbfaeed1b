"""csww build from the hand-made fixtures: canonical tables, newest release wins, atomic writes."""

from __future__ import annotations

import csv
import sqlite3

import pytest
from click.testing import CliRunner
from conftest import FIXTURES, ROOT, one, value

from benchmark.build import build, combine, package_cells
from benchmark.cli import cli
from benchmark.readers import read_sources

# one file of each layout, two EES releases
LAYOUT_FIXTURES = [FIXTURES / "indicators_2025_small.csv", FIXTURES / "indicators_2024_small.csv",
                   FIXTURES / "headline_2022_small.csv", FIXTURES / "sfr"]


@pytest.fixture(scope="module")
def fixture_db(tmp_path_factory):
    out = tmp_path_factory.mktemp("fx")
    build(LAYOUT_FIXTURES, out)
    return out / "csww.db"


def test_the_values_a_build_checks_are_the_cells_its_package_holds(fixture_db):
    """build.check_values runs validate's checks on package_cells(revisions): it must be the package's text."""
    revisions, _ = combine(read_sources(LAYOUT_FIXTURES))
    checked = package_cells(revisions)
    cols = list(checked.columns)
    with open(fixture_db.parent / "datapackage" / "observation_revisions.csv", newline="", encoding="utf-8") as fh:
        # a symbol stands in its row's empty value there, where validate's checks skip it as not a number
        packaged = sorted(tuple(r["symbol"] if c == "value" and r["symbol"] else r[c] for c in cols)
                          for r in csv.DictReader(fh))
    assert sorted(map(tuple, checked.astype(str).itertuples(index=False))) == packaged
    england = {r[:6] for r in packaged if r[1] == "E92000001" and r[2] == "turnover_rate_fte"}
    assert {("2015", "E92000001", "turnover_rate_fte", "16", "", "SFR07/2016"),  # 16.0 without ".0"
            ("2024", "E92000001", "turnover_rate_fte", "13.8", "", "2024"),
            ("2024", "E92000001", "turnover_rate_fte", "13.9", "", "2025")} <= england
    assert any(r[3] == r[4] == "x" for r in packaged) and any(r[3].isdigit() for r in packaged)


def test_newest_release_wins_and_every_release_is_kept(fixture_db):
    assert value(fixture_db, 2024, "E92000001", "turnover_rate_fte") == (13.9, None)
    with sqlite3.connect(fixture_db) as conn:
        assert conn.execute("select release_id, value from observation_revisions where time_period=2024 and "
                            "area_code='E92000001' and measure_id='turnover_rate_fte' order by release_id"
                            ).fetchall() == [("2024", 13.8), ("2025", 13.9)]
        assert conn.execute("select earlier_release, earlier_value, later_release, later_value from revised_values"
                            ).fetchall() == [("2024", 13.8, "2025", 13.9)]


def test_symbols_are_null_values_never_zero(fixture_db):
    assert value(fixture_db, 2025, "841", "agency_fte") == (None, "low")
    assert value(fixture_db, 2025, "207", "cases") == (None, "x")
    assert value(fixture_db, 2016, "841", "caseload_aggregate") == (None, "..")
    assert one(fixture_db, "select count(*) from observations where (value is null) = (symbol is null)") == (0,)


def test_every_value_records_its_release_and_file(fixture_db):
    assert one(fixture_db, "select release_id, source_file, source_row from observations where time_period=2015 "
                           "and area_code='841' and measure_id='inpost_fte'") == (
        "SFR07/2016", "sfr_2015_small.csv", 4)
    assert one(fixture_db, "select group_concat(release_id, ',') from (select release_id from releases "
                           "order by data_year)") == ("SFR07/2016,SFR08/2017,2022,2024,2025",)
    assert one(fixture_db, "select count(*), sum(length(sha256) = 64) from source_files") == (5, 5)


def test_areas_joint_returns_and_london(fixture_db):
    assert one(fixture_db, "select area_name, is_joint_return, region_code, london_region_code from areas "
                           "where area_code='314 / 318'") == (
        "Kingston upon Thames / Richmond upon Thames", 1, "E13000002", "E12000007")
    # a member of a joint return still exists: it takes the joint return's status, never "former" (review 8)
    assert one(fixture_db, "select joint_return_code, status from areas where area_code='318'") == ("314 / 318", "current")
    assert one(fixture_db, "select region_code from areas where area_code='E13000001'") == ("E12000007",)
    assert one(fixture_db, "select group_concat(predecessor_code, ',') from area_changes "
                           "where successor_code='314 / 318'") == ("314,318",)
    # reorganisations appear only between areas the build has: no Cumbria here, so no Cumbria row
    assert one(fixture_db, "select count(*) from area_changes where predecessor_code='909'") == (0,)


def test_measures_table_comes_from_the_catalogue(fixture_db):
    assert one(fixture_db, "select unit, polarity, numerator, denominator, decimals from measures "
                           "where measure_id='agency_rate_fte'") == ("percent", "lower", "agency_fte",
                                                                   "agency_fte+inpost_fte", 1)


def test_bad_file_fails_with_location_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text((FIXTURES / "indicators_2025_small.csv").read_text().replace("80.5,86,", "80.5,8 6,", 1))
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["build", "--from", str(bad), "--out", str(out)])
    assert result.exit_code == 1
    assert f"{bad}, row 5, column inpost_headcount, value '8 6'" in result.output
    assert "nothing was written" in result.output
    assert not out.exists() or list(out.iterdir()) == []


def test_failed_build_keeps_the_previous_database(tmp_path):
    out = tmp_path / "out"
    build([FIXTURES / "indicators_2025_small.csv"], out)
    before = (out / "csww.db").read_bytes()
    bad = tmp_path / "bad.csv"
    bad.write_text((FIXTURES / "indicators_2024_small.csv").read_text().replace("75.3", "75.3.1", 1))
    result = CliRunner().invoke(cli, ["build", "--from", str(bad), "--out", str(out)])
    assert result.exit_code == 1 and "75.3.1" in result.output
    assert (out / "csww.db").read_bytes() == before
    # no temporary files left behind: the lock, the one current build and the links to it
    assert sorted(p.name for p in out.iterdir()) == [".lock", "builds", "csww.db", "current", "datapackage"]
    assert len(list((out / "builds").iterdir())) == 1


def test_cli_issue_command_on_real_files(shared, tmp_path):
    out = tmp_path / "OUT"
    result = CliRunner().invoke(cli, ["build", "--from", str(shared / "csww_indicators_2017_to_2025.csv"),
                                      "--from", str(shared / "csww_indicators_2017_to_2024.csv"),
                                      "--from", str(shared / "sfr"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "38,889 observations" in result.output
    assert value(out / "csww.db", 2015, "841", "inpost_fte") == (71.8, None)


def test_whole_shared_folder_builds_with_every_release(whole_build):
    report = whole_build
    assert sorted({r.release_id for r in report.files}) == ["2022", "2023", "2024", "2025", "SFR07/2016", "SFR08/2017"]
    db = report.database
    # Each value from the newest release that has it: 2017-2025 from the 2025 file
    assert one(db, "select count(distinct release_id) from observations where time_period >= 2017") == (1,)
    # 2022 release joint return folded: 2021 North/West Northamptonshire kept once
    assert one(db, "select count(*) from observation_revisions where area_code='940 / 941' and time_period=2021 "
                   "and measure_id='inpost_fte'") == (4,)  # 2022, 2023, 2024, 2025 releases


def test_build_with_local_returns_compares_them_as_provisional(shared, tmp_path):
    examples = ROOT / "examples"
    report = build([shared / "csww_indicators_2017_to_2025.csv", shared / "sfr"], tmp_path,
                   local_files=[examples / "darlington.csv"])
    assert len(report.local_returns) == 2  # the 2015-16 financial year and April-July 2016
    db = tmp_path / "csww.db"
    # Darlington's July 2016 figures on DfE's formula, beside DfE's published 2016 comparators (SFR08/2017)
    assert one(db, "select value, england, comparator_year, provisional from comparisons where provisional = 1 "
                   "and area_code = '841' and measure_id = 'vacancy_rate_fte'") == (27.5, 16.7, 2016, 1)
    assert one(db, "select count(*) from local_observations where team != ''") > (0,)  # team rows kept, not compared
    assert one(db, "select count(*) from comparisons where provisional = 1 and area_code != '841'") == (0,)


def test_bad_local_return_stops_the_build(tmp_path):
    bad = tmp_path / "return.csv"
    bad.write_text("area_code,period_start,period_end,inpost_fte\n841,2024-10-01,2025-09-30,-3\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["build", "--from", str(FIXTURES / "indicators_2025_small.csv"),
                                      "--local", str(bad), "--out", str(out)])
    assert result.exit_code == 1
    assert f"{bad}, row 2, column inpost_fte, value '-3'" in result.output
    assert not (out / "csww.db").exists()


def test_a_local_return_s_warnings_are_printed_by_the_build(tmp_path):
    """A worker extract with a row given twice builds (the copy counted once), and csww build says so, as csww
    align does, naming the rows and never the worker (review 8: the build printed no warning)."""
    lines = (FIXTURES / "workers_841_2024-03-31.csv").read_text(encoding="utf-8").splitlines()
    extract = tmp_path / "extract.csv"
    extract.write_text("\n".join(lines + [lines[1]]) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["build", "--from", str(FIXTURES / "indicators_2025_small.csv"),
                                      "--local", str(extract), "--out", str(tmp_path / "out"), "--offline"])
    assert result.exit_code == 0, result.output
    assert (f"warning: {extract}, row 60: repeats row 2 exactly: counted once, as a copy (a worker's several posts "
            "differ in some item: role, FTE, dates, cases)") in result.output
    assert "W01" not in result.output


def test_outputs_are_readable_by_others_as_the_umask_allows(tmp_path):
    import os

    old = os.umask(0o022)
    try:
        build([FIXTURES / "indicators_2025_small.csv"], tmp_path)
    finally:
        os.umask(old)
    assert (tmp_path / "csww.db").stat().st_mode & 0o777 == 0o644
