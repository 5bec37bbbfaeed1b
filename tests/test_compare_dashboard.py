"""--sn-method dashboard: the neighbour median DfE's CSC outcomes and enablers dashboard shows, and `csww compare`
for several councils or all of them in one call."""

from __future__ import annotations

import io
import sqlite3
import statistics

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import ROOT

from benchmark import compare, measures, neighbours
from benchmark.cli import cli
from benchmark.problems import UsageError

CASE = ROOT.parent / "shared" / "cases" / "data" / "dashboard_sn_medians_odd_years.csv"
MEASURES = ["turnover_rate_fte", "agency_rate_fte", "vacancy_rate_fte", "caseload_fte"]


def dfe_dashboard() -> pd.DataFrame:
    """DfE's committed dashboard output, long: time_period, area_code, measure_id, dfe."""
    if not CASE.exists():
        pytest.skip(f"DfE's dashboard output not present: {CASE} is missing")
    case = pd.read_csv(CASE, dtype={"old_la_code": str})
    assert list(case.columns) == ["old_la_code", "la_name", "time_period", *MEASURES]
    return case.melt(id_vars=["old_la_code", "time_period"], value_vars=MEASURES, var_name="measure_id",
                     value_name="dfe").rename(columns={"old_la_code": "area_code"})


def csv_rows(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), dtype={"area_code": str})


def against(dfe: pd.DataFrame, got: pd.DataFrame) -> pd.DataFrame:
    both = dfe.merge(got[["time_period", "area_code", "measure_id", "sn_median"]],
                     on=["time_period", "area_code", "measure_id"], how="left")
    return both[~((both["dfe"] - both["sn_median"]).abs() < 1e-9)]


# ---------------------------------------------------------------- DfE's committed output, real files
@pytest.fixture(scope="module")
def dashboard_rows(real_db) -> pd.DataFrame:
    with sqlite3.connect(real_db) as conn:
        rows = compare.all_rows(conn, method="dashboard")
    return rows[rows["provisional"] == 0]


def test_cli_all_councils_matches_dfe_dashboard_2023(real_db):
    dfe = dfe_dashboard()
    args = ["compare", "--db", str(real_db), "--la", "all", "--year", "2023", "--sn-method", "dashboard",
            "--format", "csv"] + [a for m in MEASURES for a in ("--measure", m)]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    got = csv_rows(res.output)
    dfe23 = dfe[dfe["time_period"] == 2023]
    assert len(dfe23) == 147 * 4
    assert against(dfe23, got).empty
    # every council DfE shows is in the export; the ones it leaves out have no median
    extra = got.merge(dfe23, on=["time_period", "area_code", "measure_id"], how="left", indicator=True)
    extra = extra[extra["_merge"] == "left_only"]
    assert set(extra["area_code"]) == {"314 / 318", "940 / 941", "942", "943"}
    assert extra["sn_median"].isna().all()
    kingston = got[(got["area_code"] == "314 / 318")]
    assert (kingston["sn_note"].str.startswith("DfE dashboard method.")).all()


def test_dashboard_method_matches_every_row_of_dfe_output(dashboard_rows):
    dfe = dfe_dashboard()
    assert len(dfe) == 2940 and sorted(dfe["time_period"].unique()) == [2017, 2019, 2021, 2023, 2025]
    bad = against(dfe, dashboard_rows)
    assert bad.empty, bad.head(10).to_string()
    # the rows that hinge on each rule: half-up (Westminster 2019 turnover: neighbours' median 14.65 -> 14.7),
    # 2025 model in 2017 (Newham), a joint-return neighbour dropped (Richmond's 318 in Kingston's place)
    got = dashboard_rows.set_index(["time_period", "area_code", "measure_id"])["sn_median"]
    assert got[(2019, "213", "turnover_rate_fte")] == 14.7
    assert got[(2017, "316", "turnover_rate_fte")] == 15.7
    assert got[(2023, "811", "agency_rate_fte")] == 13.4


def test_toolkit_default_is_not_the_dashboard_figure(real_db, dashboard_rows):
    """The correction of the old claim: the toolkit median agrees with the dashboard on a minority of rows."""
    dfe = dfe_dashboard()
    with sqlite3.connect(real_db) as conn:
        toolkit = pd.read_sql("SELECT time_period, area_code, measure_id, sn_median, sn_model FROM comparisons "
                              "WHERE provisional = 0", conn)
    differ = len(against(dfe, toolkit))
    assert 2000 < differ < len(dfe)  # 2,528 of 2,940 odd-year rows differ
    assert set(toolkit[toolkit["time_period"] == 2023]["sn_model"].dropna()) >= {"sn_2021"}
    assert set(dashboard_rows["sn_model"].dropna()) == {"sn_2025"}


# ---------------------------------------------------------------- the rules, on hand-made lists
@pytest.fixture(scope="module")
def lists_table() -> pd.DataFrame:
    rows = [("841", ["806", "807", "808", "940", "942"]), ("942", ["841", "943", "909"]), ("806", ["807", "808"])]
    return pd.DataFrame([{"model": "sn_2025", "area_code": a, "position": i + 1, "neighbour_code": n,
                          "closeness": "Close"} for a, nbs in rows for i, n in enumerate(nbs)]
                        + [{"model": "sn_2021", "area_code": "841", "position": 1, "neighbour_code": "909",
                            "closeness": "Close"}])


def test_dashboard_lists_follow_the_dashboard_rules(mini_db, lists_table):
    with sqlite3.connect(mini_db) as conn:
        ly = pd.read_sql("SELECT DISTINCT o.time_period, o.area_code FROM observations o JOIN areas a "
                         "USING (area_code) WHERE a.level = 'Local authority'", conn)
    got = neighbours.dashboard_lists(ly, lists_table)
    status = got.set_index(["time_period", "area_code", "neighbour_code"])["status"]
    assert set(got["sn_model"]) == {"sn_2025"}                        # 2025 model in 2022 too
    assert status[(2022, "841", "940")] == "absent"                   # joint return "940 / 941": no match
    assert status[(2023, "841", "942")] == "used"                     # Cumberland counts as a neighbour in 2023
    assert (got[(got["area_code"] == "942") & (got["time_period"] <= 2023)]["status"] == "trimmed").all()
    assert set(got[(got["area_code"] == "942") & (got["time_period"] == 2024)]["status"]) >= {"used"}
    assert "940 / 941" not in set(got["area_code"])                   # a joint return has no list
    toolkit = neighbours.year_lists(ly, lists_table, model="sn_2025")
    assert toolkit.set_index(["time_period", "area_code", "neighbour_code"])["published_code"][
        (2022, "841", "940")] == "940 / 941"                          # the toolkit maps it to the joint row


def test_dashboard_median_is_rounded_half_up_to_1dp(mini_db, lists_table):
    with sqlite3.connect(mini_db) as conn:
        obs, areas = compare.load(conn)
    rows = compare.compute(obs, areas, None, table=lists_table, method="dashboard")
    values = obs.set_index(["time_period", "area_code", "measure_id"])["value"]
    r = rows.set_index(["time_period", "area_code", "measure_id"])
    for year in (2022, 2023, 2024):
        for m in MEASURES:
            codes = ["806", "807", "808"] + (["942"] if year >= 2023 else [])
            vals = [values.get((year, c, m)) for c in codes]
            vals = [v for v in vals if v is not None and pd.notna(v)]
            expect = measures.round_half_up(round(statistics.median(vals), 9), 1) if vals else None
            got = r.loc[(year, "841", m), "sn_median"]
            assert (pd.isna(got) and expect is None) or got == expect, (year, m, vals, got)
    assert pd.isna(r.loc[(2023, "942", "turnover_rate_fte"), "sn_median"])
    assert "leaves this council out" in r.loc[(2023, "942", "turnover_rate_fte"), "sn_note"]
    with pytest.raises(UsageError):
        compare.compute(obs, areas, None, model="sn_2021", table=lists_table, method="dashboard")


# ---------------------------------------------------------------- several councils in one call
def test_compare_several_councils_and_all(mini_db):
    run = CliRunner().invoke
    res = run(cli, ["compare", "--db", str(mini_db), "--la", "841", "--la", "middlesbrough", "--year", "2024",
                    "--format", "csv", "--measure", "turnover_rate_fte"])
    assert res.exit_code == 0, res.output
    got = csv_rows(res.output)
    assert list(got["area_code"]) == ["841", "806"] and set(got["time_period"]) == {2024}
    res = run(cli, ["compare", "--db", str(mini_db), "--la", "all", "--year", "2024", "--format", "csv"])
    assert res.exit_code == 0, res.output
    got = csv_rows(res.output)
    with sqlite3.connect(mini_db) as conn:
        n = conn.execute("SELECT count(DISTINCT area_code) FROM comparisons WHERE time_period = 2024 "
                         "AND provisional = 0").fetchone()[0]
    assert got["area_code"].nunique() == n and len(got) == n * len(measures.key_measures())
    res = run(cli, ["compare", "--db", str(mini_db), "--la", "841", "--la", "806", "--year", "2024"])
    assert res.exit_code == 0 and "Darlington" in res.output and "Middlesbrough" in res.output
    res = run(cli, ["compare", "--db", str(mini_db), "--la", "841", "--la", "nowhere", "--year", "2024"])
    assert res.exit_code != 0 and "Traceback" not in res.output and "nowhere" in res.output
