"""The issue's must-show figures, from the real DfE files."""

import sqlite3

from conftest import one, value


def test_england_2025_headline(real_db):
    assert value(real_db, 2025, "E92000001", "inpost_fte") == (36186.3, None)
    assert value(real_db, 2025, "E92000001", "turnover_rate_fte") == (11.8, None)


def test_darlington_2017_turnover(real_db):
    assert value(real_db, 2017, "841", "turnover_rate_fte") == (26.0, None)


def test_kensington_and_chelsea_2025_all_x(real_db):
    rows = one(real_db, "select count(*), count(value), group_concat(distinct symbol) from observations "
                        "where area_code='207' and time_period=2025")
    assert rows == (22, 0, "x")


def test_darlington_2015_from_sfr(real_db):
    assert value(real_db, 2015, "841", "inpost_fte") == (71.8, None)
    assert one(real_db, "select release_id from observations where area_code='841' and time_period=2015 "
                        "and measure_id='inpost_fte'") == ("SFR07/2016",)


def test_revision_of_england_2024_turnover(real_db):
    assert value(real_db, 2024, "E92000001", "turnover_rate_fte") == (13.9, None)
    with sqlite3.connect(real_db) as conn:
        rows = conn.execute("select release_id, value from observation_revisions where time_period=2024 "
                            "and area_code='E92000001' and measure_id='turnover_rate_fte' order by release_id").fetchall()
    assert rows == [("2024", 13.8), ("2025", 13.9)]


def test_revised_values_view_counts_dfe_revisions(real_db):
    # 19 of 28,270 comparable cells changed between the 2024 and 2025 files (reference section 5)
    assert one(real_db, "select count(*) from revised_values where earlier_release='2024' and later_release='2025'") == (19,)


def test_reorganisations_link_predecessors_and_successors(real_db):
    with sqlite3.connect(real_db) as conn:
        assert conn.execute("select successor_code, first_year, kind from area_changes where predecessor_code='909' "
                            "order by 1").fetchall() == [("942", 2023, "split"), ("943", 2023, "split")]
        assert conn.execute("select successor_codes, status, last_year from areas where area_code='909'"
                            ).fetchone() == ("942, 943", "former", 2022)
        assert conn.execute("select predecessor_codes, first_year from areas where area_code='942'"
                            ).fetchone() == ("909", 2023)
        # North Yorkshire keeps one series across its 2023 ONS code change
        assert conn.execute("select group_concat(ons_code, ',') from (select ons_code from area_codes "
                            "where area_code='815' order by ons_code)").fetchone() == ("E06000065,E10000023",)


def test_source_files_count_breakdown_values(real_db):
    """A file that gave only breakdown values (the 2019-2022 role-by-ethnicity file: 49,896) is not 'Values 0':
    source_files.breakdowns counts them, and the pack's 'Source files and checksums' shows every value read."""
    from benchmark.report.packs import provenance_section

    with sqlite3.connect(real_db) as conn:
        got = dict(((f, (o, b)) for f, o, b in conn.execute(
            "SELECT file_name, observations, breakdowns FROM source_files")))
        conn.row_factory = sqlite3.Row
        table = next(t for t in provenance_section(conn).tables if t.id == "files-table")
    assert got["csww_workforce_role_by_ethnicity_2019_to_2022.csv"] == (0, 49896)
    assert got["SFR07_2016_UD.csv"] == (3280, 7872) and got["SFR08_2017_UD.csv"] == (3423, 21516)
    assert got["csww_indicators_2017_to_2025.csv"] == (32186, 0)
    read = {row[0].text: row[-1].text for row in table.rows}
    assert read["csww_workforce_role_by_ethnicity_2019_to_2022.csv"] == "49,896"
    assert read["SFR08_2017_UD.csv"] == "24,939"
