"""Issue 11 item 1: each local return is set beside the DfE census nearest its snapshot, with the distance stated;
``--as-at`` uses only the releases DfE had published by then; flows are annualised only when asked."""

import json
import shutil
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from benchmark.cli import cli
from benchmark.compare import write_comparisons
from benchmark.local import align, census
from benchmark.local.store import load_files
from benchmark.problems import UsageError

EXAMPLES = Path(__file__).parent.parent / "examples"


def by_id(figures, team=""):
    return {(f.period_end, f.measure_id): f for f in figures if f.team == team}


@pytest.mark.parametrize("day, year, months, words", [
    (date(2018, 10, 31), 2018, 1, "1 month after DfE's 30 September 2018 census"),     # Leicestershire, Oct 2018
    (date(2022, 11, 30), 2022, 2, "2 months after DfE's 30 September 2022 census"),    # Worcestershire, Nov 2022
    (date(2016, 7, 31), 2016, -2, "2 months before DfE's 30 September 2016 census"),   # Darlington, July 2016
    (date(2024, 9, 30), 2024, 0, "at DfE's 30 September 2024 census"),
    (date(2016, 3, 31), 2015, 6, "6 months after DfE's 30 September 2015 census"),     # half-way: the earlier census
    (date(2017, 4, 1), 2017, -6, "6 months before DfE's 30 September 2017 census"),
])
def test_nearest_census(day, year, months, words):
    m = census.nearest(day)
    assert (m.dfe_year, m.months_from_census, m.describe()) == (year, months, words)


def test_as_at_uses_only_releases_published_by_then():
    assert census.published_by(date(2016, 7, 31)) == [2015]          # SFR07/2016, 25 Feb 2016
    assert census.published_by(date(2017, 2, 16))[-1] == 2016         # SFR08/2017 on its publication day
    m = census.match(date(2016, 7, 31), as_at=date(2016, 7, 31))
    assert (m.dfe_year, m.months_from_census) == (2015, 10)
    assert census.match(date(2016, 7, 31), as_at=date(2020, 1, 1)).dfe_year == 2016  # published by then: nearest
    assert census.match(date(2016, 7, 31), as_at=date(2016, 7, 31), known={2016: date(2016, 6, 1)}).dfe_year == 2016
    with pytest.raises(UsageError, match="no DfE census had been published by then"):
        census.match(date(2015, 7, 31), as_at=date(2015, 7, 31))


def test_release_catalogue_has_a_date_and_source_for_every_past_release():
    rows = census.releases()
    assert [r["data_year"] for r in rows] == list(range(2015, 2026))
    for r in rows:  # every CSWW release is published in February of the year after its census
        assert r["source"]
        assert r["published"] is None or (r["published"].year, r["published"].month) == (r["data_year"] + 1, 2)
    assert [r["data_year"] for r in rows if r["published"] is None] == [2025]  # no source for its day offline
    assert {r["data_year"]: r["published"] for r in rows}[2023] == date(2024, 2, 29)  # reference doc, section 1


def test_seed_returns_are_matched_to_the_nearest_census():
    leic = by_id(align(EXAMPLES / "leicestershire.csv"))[(date(2018, 10, 31), "agency_headcount")]
    assert (leic.value, leic.dfe_year, leic.months_from_census) == (49, 2018, 1)   # not 2019
    assert ("snapshot at 31 October 2018, not 30 September: 1 month after DfE's 30 September 2018 census"
            in leic.caveat)
    worc = by_id(align(EXAMPLES / "worcestershire.csv"))[(date(2022, 11, 30), "vacancy_fte")]
    assert (worc.value, worc.dfe_year, worc.months_from_census) == (37.9, 2022, 2)  # not 2023
    darl = by_id(align(EXAMPLES / "darlington.csv"))[(date(2016, 7, 31), "vacancy_fte")]
    assert (darl.value, darl.dfe_year, darl.months_from_census) == (25.91, 2016, -2)  # the council's decimals
    then = by_id(align(EXAMPLES / "darlington.csv", as_at=date(2016, 7, 31)))[(date(2016, 7, 31), "vacancy_fte")]
    assert (then.dfe_year, then.months_from_census) == (2015, 10)
    assert "the latest DfE had published by 31 July 2016" in then.caveat


def test_flows_annualised_only_when_asked():
    ytd = by_id(align(EXAMPLES / "darlington.csv"))[(date(2016, 7, 31), "turnover_rate_headcount")]
    assert ytd.value == 8.1 and "4 months, not annualised" in ytd.caveat          # 6 leavers / 74 in post
    ann = by_id(align(EXAMPLES / "darlington.csv", annualise=True))
    assert ann[(date(2016, 7, 31), "leavers_headcount")].value == 18            # 6 x 365.25 / 122 days = 17.96
    rate = ann[(date(2016, 7, 31), "turnover_rate_headcount")]
    assert rate.value == 24.3 and "annualised: flows x 12/4" in rate.caveat and not rate.comparable
    stock = ann[(date(2016, 7, 31), "inpost_headcount")]
    assert stock.value == 74                                                    # stocks are never scaled
    year = ann[(date(2016, 3, 31), "leavers_headcount")]
    assert year.value == 13 and "annualised" not in year.caveat                 # a 12-month period as given


def test_align_json_records_carry_the_census_and_the_cli_takes_as_at():
    runner = CliRunner()
    result = runner.invoke(cli, ["align", str(EXAMPLES / "darlington.csv"), "--format", "json"])
    assert result.exit_code == 0, result.output
    rec = next(r for r in json.loads(result.output) if r["measure_id"] == "vacancy_fte" and not r["team"]
               and r["period_end"] == "2016-07-31")
    assert (rec["dfe_year"], rec["months_from_census"]) == (2016, -2)
    result = runner.invoke(cli, ["align", str(EXAMPLES / "darlington.csv"), "--format", "json", "--as-at", "2016-07-31"])
    rec = next(r for r in json.loads(result.output) if r["measure_id"] == "vacancy_fte" and not r["team"]
               and r["period_end"] == "2016-07-31")
    assert (rec["dfe_year"], rec["months_from_census"]) == (2015, 10)
    result = runner.invoke(cli, ["align", str(EXAMPLES / "darlington.csv"), "--as-at", "2014-01-01"])
    assert result.exit_code != 0 and "no DfE census had been published by then" in result.output
    assert "Traceback" not in result.output


def test_provisional_rows_use_the_matched_year_and_say_when_it_is_missing(real_db, tmp_path):
    db = tmp_path / "csww.db"
    shutil.copy(real_db, db)
    with sqlite3.connect(db) as conn:
        load_files(conn, [EXAMPLES / "leicestershire.csv", EXAMPLES / "worcestershire.csv"])
        conn.execute("DELETE FROM observations WHERE time_period = 2022")  # as if 2022 were not in the database
        write_comparisons(conn)
        got = dict(conn.execute("SELECT area_code || ':' || measure_id, comparator_year FROM comparisons "
                                "WHERE provisional = 1 AND return_id LIKE '%2018-10-31%'").fetchall())
        dfe = conn.execute("SELECT value FROM comparisons WHERE provisional = 0 AND area_code = '855' AND "
                           "time_period = 2018 AND measure_id = 'vacancy_fte'").fetchone()
        worc = conn.execute("SELECT comparator_year, england, rank, series_note FROM comparisons WHERE provisional = 1"
                            " AND area_code = '885' AND return_id LIKE '%2022-11-30%' AND measure_id = 'vacancy_fte'"
                            ).fetchone()
    assert got["855:agency_headcount"] == 2018 and dfe == (37.0,)   # Leicestershire's 37 beside DfE's 2018 37.0
    assert worc[:3] == (2022, None, None)                            # not ranked against 2021 or 2023
    assert "2022 census, which is not in this database" in worc[3]
