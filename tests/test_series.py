"""A council's own figures as a series, and its in-year views (issue 11 item 3): several returns for one council
kept side by side, rolling 12-month and year-to-date turnover from quarterly returns and from a worker extract,
the series charted on the DfE series in the pack, and nothing unpublished reaching the public side."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import date

import pandas as pd
import pytest
from conftest import FIXTURES

from benchmark import publication
from benchmark.local import series
from benchmark.local import store as local_store
from benchmark.problems import UsageError
from benchmark.report.packs import council_pack

# Four quarterly returns for Darlington (841), in three files: Apr-Jun and Jul-Sep 2023, Oct-Dec 2023, Jan-Mar 2024
# (the last with three team rows in two services).
QUARTERS = [FIXTURES / "local_841_2023q2q3.csv", FIXTURES / "local_841_2023q4.csv", FIXTURES / "local_841_2024q1.csv"]
EXTRACT = FIXTURES / "workers_841_2024-03-31.csv"


def _loaded(path) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row   # as the toolkit opens its database
    local_store.load_files(conn, QUARTERS)
    return conn


def _values(frame: pd.DataFrame) -> dict:
    return {(str(r.period_end), r.measure_id): (r.value, r.symbol) for r in frame.itertuples()}


def test_quarterly_returns_load_side_by_side_as_a_series(tmp_path):
    conn = _loaded(tmp_path / "local.db")
    returns = local_store.list_returns(conn)
    assert sorted(r["period_end"] for r in returns) == ["2023-06-30", "2023-09-30", "2023-12-31", "2024-03-31"]
    rows = series.stored(conn, "841")
    inpost = rows[rows["measure_id"] == "inpost_fte"].set_index("period_end")["value"].to_dict()
    assert inpost == {"2023-06-30": 80.0, "2023-09-30": 81.5, "2023-12-31": 79.0, "2024-03-31": 78.0}
    local_store.load_files(conn, [QUARTERS[1]])  # loading a return again replaces it, and keeps the others
    assert len(local_store.list_returns(conn)) == 4


def test_rolling_and_year_to_date_turnover_from_quarterly_leavers(tmp_path):
    got = _values(series.in_year(series.stored(_loaded(tmp_path / "local.db"), "841")))
    # 12 months to 31 Mar 2024 = the four quarters: leavers FTE 4.0 + 5.5 + 6.0 + 3.5 = 19.0, in post at 31 Mar
    # 78.0 FTE -> 19.0 / 78.0 = 24.36 % -> 24.4; headcount 4 + 6 + 6 + 4 = 20 / 82 = 24.39 % -> 24.4
    assert got[("2024-03-31", "rolling_12m_leavers_fte")] == (19.0, None)
    assert got[("2024-03-31", "rolling_12m_turnover_rate_fte")] == (24.4, None)
    assert got[("2024-03-31", "rolling_12m_turnover_rate_headcount")] == (24.4, None)
    # year to date (from 1 Oct 2023): 6.0 + 3.5 = 9.5 / 78.0 = 12.18 % -> 12.2; at 31 Dec 6.0 / 79.0 = 7.59 -> 7.6
    assert got[("2024-03-31", "ytd_turnover_rate_fte")] == (12.2, None)
    assert got[("2023-12-31", "ytd_turnover_rate_fte")] == (7.6, None)
    # no return covers Jan-Mar 2023 or Oct 2022-Mar 2023: no rolling figure at 31 Dec, no year to date at 30 Jun
    assert ("2023-12-31", "rolling_12m_turnover_rate_fte") not in got
    assert ("2023-06-30", "ytd_turnover_rate_fte") not in got


def test_a_suppressed_period_suppresses_the_sum_and_a_gap_gives_none():
    def row(start, end, mid, value, symbol=None):
        return {"period_start": start, "period_end": end, "measure_id": mid, "value": value, "symbol": symbol}
    rows = pd.DataFrame([row("2023-10-01", "2023-12-31", "leavers_headcount", None, "c"),
                         row("2024-01-01", "2024-03-31", "leavers_headcount", 7.0),
                         row("2024-01-01", "2024-03-31", "inpost_headcount", 90.0),
                         row("2024-05-01", "2024-06-30", "leavers_headcount", 6.0),
                         row("2024-05-01", "2024-06-30", "inpost_headcount", 91.0)])
    got = _values(series.in_year(rows))
    assert got[("2024-03-31", "ytd_leavers_headcount")] == (None, "c")       # c + 7 is not 7
    assert got[("2024-03-31", "ytd_turnover_rate_headcount")] == (None, "c")
    assert not any(k[0] == "2024-06-30" for k in got)                        # April is missing: no sum over a gap


def test_rolling_turnover_from_a_worker_extract_at_any_date():
    figs = series.from_extract(EXTRACT, [date(2024, 3, 31), date(2023, 12, 31), date(2023, 9, 30)], salt=b"test")
    at = {(f.period_end.isoformat(), f.measure_id): (f.value, f.symbol) for f in figs}
    # The extract (reference date 31 Mar 2024): 40 council workers in post throughout (38 at 1.0 FTE, 2 at 0.5);
    # M01 moves between two posts on 1 Dec 2023 (one spell: in post, not a leaver); 13 leavers L01-L13, all 1.0 FTE
    # but L11 at 0.6, leaving 30 Apr, 31 May, 30 Jun, 31 Aug, 30 Sep 2023 (5), 31 Oct, 30 Nov, 15 Dec 2023 (3),
    # 15 Jan, 31 Jan, 29 Feb, 15 Mar, 31 Mar 2024 (5; L11 on 29 Feb); O01 left 30 Nov 2022; 2 agency workers.
    # 31 Mar 2024: leavers in the 12 months = 13, FTE 12.6; in post 41, FTE 39.0 + 1.0 = 40.0
    #   -> turnover FTE 12.6 / 40.0 = 31.5 %; headcount 13 / 41 = 31.71 % -> 31.7
    assert at[("2024-03-31", "rolling_12m_leavers_headcount")] == (13, None)
    assert at[("2024-03-31", "rolling_12m_turnover_rate_fte")] == (31.5, None)
    assert at[("2024-03-31", "rolling_12m_turnover_rate_headcount")] == (31.7, None)
    #   year to date from 1 Oct 2023: 8 leavers, FTE 7.6 -> 7.6 / 40.0 = 19.0 %; 8 / 41 = 19.51 % -> 19.5
    assert at[("2024-03-31", "ytd_turnover_rate_fte")] == (19.0, None)
    assert at[("2024-03-31", "ytd_turnover_rate_headcount")] == (19.5, None)
    # 31 Dec 2023: 12 months from 1 Jan 2023 = 8 leavers (5 + 3), FTE 8.0; in post 40 + M01 + the 5 who leave in
    # 2024 = 46, FTE 39.0 + 1.0 + 4.6 = 44.6 -> 8.0 / 44.6 = 17.94 % -> 17.9; headcount 8 / 46 = 17.39 -> 17.4
    assert at[("2023-12-31", "rolling_12m_turnover_rate_fte")] == (17.9, None)
    assert at[("2023-12-31", "rolling_12m_turnover_rate_headcount")] == (17.4, None)
    #   its year to date is 3 leavers: suppressed, and so is its rate
    assert at[("2023-12-31", "ytd_leavers_headcount")] == (None, "c")
    assert at[("2023-12-31", "ytd_turnover_rate_fte")] == (None, "c")
    # 30 Sep 2023 would give 6 leavers (O01 + 5), but against 31 Mar 2024 it would expose O01 alone (the leavers
    # dropped from the 12 months, Oct 2022-Mar 2023): every leaver figure of that date is suppressed
    assert {at[("2023-09-30", m)] for m in series.IN_YEAR} == {(None, "c")}


def test_an_extract_cannot_say_who_left_after_its_reference_date():
    with pytest.raises(UsageError, match="after the extract's reference date 2024-03-31"):
        series.from_extract(EXTRACT, [date(2024, 6, 30)])


def test_the_pack_charts_the_series_and_the_team_table(mini_db, tmp_path):
    shutil.copy(mini_db, tmp_path / "csww.db")
    conn = _loaded(tmp_path / "csww.db")
    local_store.set_published(conn, [r["return_id"] for r in local_store.list_returns(conn)], True)
    pack = council_pack(conn, "841")
    section = next(s for s in pack.sections if s.id == "local-series")
    fig = next(f for f in section.figures if f.id == "local-series-turnover_rate_fte")
    assert fig.svg.startswith("<svg") and "Year to date (own)" in fig.svg
    rows = {r[0].text: [c.text for c in r[1:]] for r in fig.table.rows}
    # DfE's 2023 turnover for Darlington (fixture) 17.5 at 30 Sep 2023; the rolling and year-to-date lines as above
    assert fig.table.headers[1:] == ["Darlington (DfE)", "Rolling 12 months (own)", "Year to date (own)"]
    assert rows["30 September 2023"][0] == "17.5%"
    assert rows["31 March 2024"][1:] == ["24.4%", "12.2%"] and rows["31 December 2023"][2] == "7.6%"
    teams = next(s for s in pack.sections if s.id == "teams").tables[0]
    fte = teams.headers.index("In post FTE")
    totals = {r[0].text: r[fte].text for r in teams.rows}
    assert totals["TOTAL FRONT LINE"] == "58.0" and totals["COUNCIL RETURN"] == "78.0"


def test_unpublished_returns_give_no_series_on_the_public_side(tmp_path):
    conn = _loaded(tmp_path / "local.db")
    assert not series.stored(conn, "841").empty
    publication.strip(conn)   # what the public site and the package are made from
    assert series.stored(conn, "841").empty
    assert series.charts_for(series.stored(conn, "841"), "Darlington", {}, ["turnover_rate_fte"]) == []
