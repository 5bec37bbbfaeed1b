"""The comparison engine: hand-made fixture (always) and the real DfE files (when ../shared is present)."""

import csv
import json
import shutil
import sqlite3
import statistics

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import FIXTURES, one

from benchmark import compare, councils, store
from benchmark.cli import cli


def comparisons(db, model=None, table=None) -> pd.DataFrame:
    with sqlite3.connect(db) as conn:
        obs, areas = compare.load(conn)
        return compare.compute(obs, areas, store.query(conn, "SELECT * FROM area_changes"), model, table)


def rec(df, year, area, measure) -> dict:
    hit = df[(df.time_period == year) & (df.area_code == area) & (df.measure_id == measure)]
    assert len(hit) == 1
    return hit.iloc[0].to_dict()


def raw_rows(path):
    with open(path, encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


# ---- hand-made fixture ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mini(mini_db, mini_neighbours):
    return comparisons(mini_db, table=mini_neighbours)


def test_one_record_per_published_council_row(mini, mini_db):
    n = one(mini_db, "select count(*) from observations o join areas a using (area_code) "
                     "where a.level = 'Local authority'")[0]
    assert len(mini) == n and not mini.duplicated(compare.KEY).any()
    assert one(mini_db, "select count(*) from comparisons")[0] == n   # build wrote them too


def test_england_region_and_value_as_published(mini):
    rows = raw_rows(FIXTURES / "indicators_mini.csv")
    eng, ne = (next(x["turnover_rate_fte"] for x in rows if x["time_period"] == "2023" and x["region_code"] == code
                    and x["geographic_level"] != "Local authority") for code in ("", "E12000001"))
    r = rec(mini, 2023, "841", "turnover_rate_fte")
    assert (r["value"], r["england"], r["region"], r["region_code"]) == (17.5, float(eng), float(ne), "E12000001")


def test_neighbour_median_mean_count_and_joint_return(mini):
    r = rec(mini, 2022, "841", "turnover_rate_fte")
    # 808 20.0, 806 25.0, 807 20.0, 940/941 20.0 (940 and 941 both listed: counted once), 909 15.0
    assert r["sn_codes"] == "808, 806, 807, 940 / 941, 909"
    assert (r["sn_count"], r["sn_median"], r["sn_mean"]) == (5, 20.0, 20.0)
    assert r["diff_sn_median"] == -5.0


def test_neighbour_that_did_not_exist_is_dropped_and_counted(mini):
    r = rec(mini, 2023, "841", "turnover_rate_fte")
    assert r["sn_dropped"] == 1 and r["sn_dropped_codes"] == "909" and "909" not in r["sn_codes"]
    assert "Dropped, no row that year: 909." in r["sn_note"]


def test_neighbour_with_a_symbol_is_named_not_counted(mini):
    r = rec(mini, 2024, "841", "turnover_rate_fte")
    assert r["sn_missing"] == "806 (x)" and r["sn_count"] == 3


def test_ranks_ties_and_quartiles(mini):
    year = mini[(mini.time_period == 2022) & (mini.measure_id == "turnover_rate_fte")].set_index("area_code")
    # values: 841 15.0, 909 15.0, 807 20.0, 808 20.0, 940/941 20.0, 806 25.0
    assert year["rank"].to_dict() == {"806": 6, "807": 3, "808": 3, "841": 1, "909": 1, "940 / 941": 3}
    assert set(year["rank_of"]) == {6}
    assert year.loc["841", "quartile"] == "A" and year.loc["806", "quartile"] == "D"
    assert year.loc["841", "region_rank"] == 1 and year.loc["841", "region_rank_of"] == 4


def test_no_quartile_for_neutral_measures_and_symbols(mini):
    assert pd.isna(rec(mini, 2022, "841", "inpost_fte")["quartile"])
    r = rec(mini, 2024, "806", "turnover_rate_fte")
    assert r["symbol"] == "x" and pd.isna(r["rank"]) and pd.isna(r["quartile"]) and r["rank_of"] == 6


def test_change_direction_and_gap(mini):
    r = rec(mini, 2024, "841", "turnover_rate_fte")
    assert r["change"] == 2.5                     # 20.0 - 17.5
    assert r["direction"] == "worsening"          # 20.0 against 17.5 last year (the change), lower is better
    # 16 leavers on 80 FTE; England 2024 is 21.6 %: 16 - 0.216 * 80 = -1.28 FTE
    assert r["gap_fte_england"] == -1.3
    v = rec(mini, 2024, "841", "vacancy_rate_fte")   # 8 vacancies, 88 establishment
    assert v["gap_fte_england"] == round(8 - v["england"] / 100 * 88, 1)


def test_reorganisation_is_flagged_not_joined(mini):
    r = rec(mini, 2023, "942", "turnover_rate_fte")
    assert pd.isna(r["change"]) and pd.isna(r["direction"])
    assert "909 Cumbria" in r["series_note"] and "not joined" in r["series_note"]
    assert "Last year before reorganisation" in rec(mini, 2022, "909", "turnover_rate_fte")["series_note"]
    assert rec(mini, 2023, "942", "turnover_rate_fte")["sn_model"] == "sn_2025"


def test_consistency_check_names_missing_councils(mini_db):
    with sqlite3.connect(mini_db) as conn:
        checks = compare.consistency(*compare.load(conn)).set_index(compare.KEY)
    ok = checks.loc[(2023, "E92000001", "inpost_fte")]
    assert ok["status"] == "matches" and ok["recomputed"] == ok["published"]
    rate = checks.loc[(2023, "E12000001", "turnover_rate_fte")]
    assert rate["status"] == "matches"
    bad = checks.loc[(2024, "E12000001", "inpost_fte")]     # Middlesbrough is x in 2024 but in the totals
    assert bad["status"] == "differs" and bad["missing"] == "806 (x)" and bad["difference"] == 120.0
    assert "806 (x)" in bad["reason"]


def test_groups_pooled_and_median(mini_db, tmp_path):
    spec = tmp_path / "groups.yml"
    spec.write_text("groups:\n  - id: tees\n    name: Tees Valley\n    kind: partnership\n"
                    "    members: [841, Redcar and Cleveland, E06000004, 806]\n")
    with sqlite3.connect(mini_db) as conn:
        meta, members, gc = compare.group_tables(conn, compare.read_groups(spec))
    assert members["area_code"].tolist() == ["841", "807", "808", "806"]
    g = gc.set_index(["group_id", "time_period", "measure_id"])
    t = g.loc[("tees", 2022, "turnover_rate_fte")]
    assert t["pooled"] == round((12 + 30 + 18 + 20) / (80 + 120 + 90 + 100) * 100, 2)   # sum leavers / sum in post
    assert t["member_median"] == 20.0 and t["members_with_value"] == 4
    t24 = g.loc[("tees", 2024, "turnover_rate_fte")]
    assert t24["pooled_count"] == 3 and t24["missing"] == "806 (x)"
    assert g.loc[("tees", 2022, "inpost_fte"), "pooled"] == 390


def test_write_comparisons_with_groups_and_local_figures(mini_db, tmp_path):
    db = tmp_path / "csww.db"
    shutil.copy(mini_db, db)
    spec = tmp_path / "g.yml"
    spec.write_text("groups:\n  - id: pair\n    name: Pair\n    members: [841, 808]\n")
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE local_observations (return_id TEXT, area_code TEXT, time_period INTEGER, "
                     "measure_id TEXT, value REAL, symbol TEXT, basis TEXT, comparable INTEGER, caveat TEXT, "
                     "reported_value REAL, provisional INTEGER)")
        conn.executemany("INSERT INTO local_observations VALUES ('r1',?,?,?,?,?,?,?,?,?,?)", [
            ("841", 2025, "turnover_rate_fte", 10.0, None, "dfe", 1, "HR extract at 30 Sep 2025", None, 1),
            ("841", 2025, "leavers_fte", 9.0, None, "dfe", 1, None, None, 1),
            ("841", 2025, "inpost_fte", 90.0, None, "dfe", 1, None, None, 1)])
        conn.executemany("INSERT INTO local_observations VALUES ('r0',?,?,?,?,?,?,?,?,?,?)", [
            ("841", 2024, "turnover_rate_fte", 10.0, None, "dfe", 1, "HR extract at 30 Sep 2024", None, 1),
            ("841", 2024, "leavers_fte", 9.0, None, "dfe", 1, None, None, 1),
            ("841", 2024, "inpost_fte", 90.0, None, "dfe", 1, None, None, 1),
            ("841", 2024, "agency_rate_fte", 5.0, None, "dfe", 0, "4 months", None, 1)])
        written = compare.write_comparisons(conn, groups=spec)
        conn.commit()
    assert len(written["group_comparisons"]) > 0
    row = one(db, "select value, provisional, comparator_year, england, rank, rank_of, quartile, change, "
                  "gap_fte_england, series_note, return_id from comparisons where provisional=1 "
                  "and measure_id='turnover_rate_fte' and return_id = 'r0'")
    prev = one(db, "select value from observations where time_period = 2023 and area_code = '841' "
                   "and measure_id = 'turnover_rate_fte'")[0]
    assert row[:8] == (10.0, 1, 2024, 21.6, 1, 6, "A", round(10.0 - prev, 1))   # change from published 2023
    assert row[8] == round(9 - 0.216 * 90, 1)
    assert row[9].startswith("Provisional") and "HR extract" in row[9]
    assert row[10] == "r0"                                      # keyed by its local return
    # a 2025 return in a database whose latest year is 2024: never compared with 2024, and it says so
    late = one(db, "select comparator_year, england, rank, quartile, series_note from comparisons "
                   "where provisional = 1 and return_id = 'r1' and measure_id = 'turnover_rate_fte'")
    assert late[:4] == (2025, None, None, None) and "2025 census, which is not in this database" in late[4]
    # a figure not on DfE's basis has no change from the year before (never a change across definitions)
    assert one(db, "select change from comparisons where return_id = 'r0' and measure_id = 'agency_rate_fte'") == (None,)
    assert one(db, "select count(*) from group_members")[0] == 2


def test_local_figures_skipped_without_the_table(mini_db):
    assert one(mini_db, "select count(*) from comparisons where provisional = 1")[0] == 0


def test_resolve_area(mini_db):
    with sqlite3.connect(mini_db) as conn:
        assert councils.resolve(conn, "841")["area_name"] == "Darlington"
        assert councils.resolve(conn, " darlington ")["area_code"] == "841"
        assert councils.resolve(conn, "e06000005")["area_code"] == "841"
        assert councils.resolve(conn, "940/941")["area_code"] == "940 / 941"
        assert councils.resolve(conn, "940")["joint_return_code"] == "940 / 941"
        assert councils.resolve(conn, "E12000001")["level"] == "Regional"
        with pytest.raises(councils.AreaNotFound, match="did you mean Darlington"):
            councils.resolve(conn, "Darlingtn")


def test_resolve_historical_ons_code(real_db):
    with sqlite3.connect(real_db) as conn:
        assert councils.resolve(conn, "E10000023")["area_code"] == "815"   # North Yorkshire before 2023
        assert councils.resolve(conn, "E08000016")["area_code"] == "370"   # Barnsley's old code
        assert councils.resolve(conn, "Dorset")["area_code"] == "838"      # the current Dorset


def test_cli_compare_formats(mini_db, tmp_path):
    runner = CliRunner()
    res = runner.invoke(cli, ["compare", "--la", "darlington", "--db", str(mini_db), "--year", "2023"])
    assert res.exit_code == 0, res.output
    assert "Darlington (841), North East" in res.output and "Turnover rate (FTE)" in res.output
    res = runner.invoke(cli, ["compare", "--la", "841", "--db", str(mini_db), "--format", "json",
                              "--measure", "turnover_rate_fte"])
    data = json.loads(res.output)
    need = {"time_period", "area_code", "area_name", "measure_id", "value", "symbol", "england", "region",
            "sn_median", "sn_mean", "sn_count", "rank", "rank_of", "region_rank", "region_rank_of", "quartile",
            "change", "direction"}
    assert len(data) == 1 and need <= set(data[0]) and data[0]["time_period"] == 2024 and data[0]["rank"] == 3
    spec = tmp_path / "g.yml"
    spec.write_text("groups:\n  - id: pair\n    name: Pair\n    members: [841, 808]\n")
    res = runner.invoke(cli, ["compare", "--la", "841", "--db", str(mini_db), "--format", "csv", "--group", str(spec)])
    assert res.exit_code == 0 and "group:pair:pooled" in res.output.splitlines()[0]
    res = runner.invoke(cli, ["compare", "--la", "Darlingtn", "--db", str(mini_db)])
    assert res.exit_code == 1 and "did you mean Darlington (841)" in res.output
    res = runner.invoke(cli, ["compare", "--la", "841", "--db", str(tmp_path / "none.db")])
    assert res.exit_code == 1 and "csww build" in res.output


# ---- real DfE files ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real(real_db):
    with sqlite3.connect(real_db) as conn:
        return store.query(conn, "SELECT * FROM comparisons WHERE provisional = 0")


def test_middlesbrough_2018_england_rates_as_published(real, shared):
    rows = raw_rows(shared / "csww_indicators_2017_to_2025.csv")
    eng = next(r for r in rows if r["time_period"] == "2018" and r["geographic_level"] == "National")
    mid = next(r for r in rows if r["time_period"] == "2018" and r["old_la_code"] == "806")
    vac, agy = rec(real, 2018, "806", "vacancy_rate_fte"), rec(real, 2018, "806", "agency_rate_fte")
    assert (vac["england"], agy["england"]) == (16.5, 15.4)
    assert (vac["england"], agy["england"]) == (float(eng["vacancy_rate_fte"]), float(eng["agency_rate_fte"]))
    assert (vac["value"], agy["value"]) == (float(mid["vacancy_rate_fte"]), float(mid["agency_rate_fte"]))
    assert vac["region_code"] == "E12000001" and vac["region"] == float(next(
        r for r in rows if r["time_period"] == "2018" and r["region_code"] == "E12000001"
        and r["geographic_level"] == "Regional")["vacancy_rate_fte"])


def test_darlington_2024_turnover_neighbours_from_raw_rows(real, shared):
    with open(shared / "New_Statistical_Neighbour_Groupings_April_2021.csv", encoding="utf-8-sig") as f:
        codes = next(r for r in csv.reader(f) if r[0] == "841")[5:25:2]
    rows = {r["old_la_code"]: r["turnover_rate_fte"] for r in raw_rows(shared / "csww_indicators_2017_to_2025.csv")
            if r["time_period"] == "2024" and r["geographic_level"] == "Local authority"}
    values = [float(rows[c]) for c in codes]
    r = rec(real, 2024, "841", "turnover_rate_fte")
    assert r["sn_model"] == "sn_2021" and r["sn_codes"] == ", ".join(codes) and r["sn_count"] == 10
    assert r["sn_median"] == round(statistics.median(values), 2)
    assert r["sn_mean"] == round(statistics.mean(values), 2)


def test_ranks_with_ties_on_real_data(real):
    year = real[(real.time_period == 2024) & (real.measure_id == "caseload_fte") & real.value.notna()]
    values = year["value"].tolist()
    expected = [1 + sum(v < x for v in values) for x in values]
    assert year["rank"].astype(int).tolist() == expected
    assert year["value"].duplicated().any()                    # there are ties to handle
    assert set(year["rank_of"]) == {len(values)}
    assert rec(real, 2024, "330", "caseload_fte")["symbol"] == "u"   # Birmingham: no rank
    assert pd.isna(rec(real, 2024, "330", "caseload_fte")["rank"])


def test_joint_return_as_a_neighbour(real):
    r = rec(real, 2024, "201", "turnover_rate_fte")            # City of London lists 318 and 314
    codes = r["sn_codes"].split(", ")
    assert codes.count("314 / 318") == 1 and "314" not in codes and "318" not in codes
    n = rec(real, 2022, "886", "turnover_rate_fte")            # Kent lists North or West Northamptonshire
    assert "940 / 941" in n["sn_codes"].split(", ")


def test_cumbria_successors_in_2023(real, real_db):
    assert one(real_db, "select count(*) from comparisons where area_code='909' and time_period=2023")[0] == 0
    for code in ("942", "943"):
        r = rec(real, 2023, code, "agency_rate_fte")
        assert r["value"] is not None and pd.isna(r["change"]) and pd.isna(r["direction"])
        assert "909 Cumbria" in r["series_note"]
        assert r["sn_model"] == "sn_2025"  # the models in words (was "sn_2025 used: sn_2021 does not list ...")
        assert ("DfE's May 2025 statistical neighbours used, as DfE's April 2021 statistical neighbours do not list "
                "this council.") in r["sn_note"]
    listing = real[(real.time_period == 2023) & real.sn_dropped_codes.fillna("").str.contains("909")]
    assert len(listing) and (listing["sn_dropped"] >= 1).all()


def test_published_versus_recomputed_when_councils_are_missing(real_db):
    with sqlite3.connect(real_db) as conn:
        checks = store.query(conn, "SELECT * FROM consistency_checks WHERE time_period = 2025").set_index(
            ["area_code", "measure_id"])
    eng = checks.loc[("E92000001", "inpost_fte")]
    assert (eng["published"], eng["recomputed"], eng["status"]) == (36186.3, 35855.4, "differs")
    assert eng["missing"] == "207 (x), 213 (x)"
    inner = checks.loc[("E13000001", "inpost_fte")]
    assert (inner["published"], inner["recomputed"]) == (2844.5, 2513.2)
    assert "207 (x), 213 (x)" in inner["reason"]
    assert checks.loc[("E92000001", "turnover_rate_fte"), "status"] == "matches"
    assert checks.loc[("E12000001", "inpost_fte"), "status"] == "matches"


def test_london_borough_has_london_as_a_whole(real):
    r = rec(real, 2024, "202", "agency_rate_fte")              # Camden: Inner London and London
    assert r["region_code"] == "E13000001" and r["london"] is not None and r["region"] != r["london"]
    assert r["region_rank_of"] > 14                            # ranked among all London boroughs


def test_every_england_and_region_figure_is_the_published_one(real, real_db):
    with sqlite3.connect(real_db) as conn:
        pub = store.query(conn, "SELECT time_period, measure_id, value AS published FROM observations "
                                "WHERE area_code = 'E92000001'")
    merged = real.merge(pub, on=["time_period", "measure_id"], how="left")
    assert ((merged["england"] == merged["published"]) | merged["published"].isna()).all()
