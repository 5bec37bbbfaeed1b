"""consistency_checks (issue 15 item 3): 2016 absence on 253 working days, and every council's published rates
held against its own published counts, flagging where DfE's rate and counts disagree beyond rounding."""

from __future__ import annotations

import sqlite3

import pytest

from benchmark import compare, measures, store


def test_working_days_come_from_the_catalogue():
    assert [measures.working_days(y) for y in (2015, 2016, 2017, 2020, 2023, 2024, 2025, 2028)] == [
        253, 253, 253, 254, 253, 254, 253, 254]
    assert measures.working_days(2032) == 254 and measures.working_days(2031) == 253  # not listed: the rule


def _checks(db, where: str = "1") -> dict:
    with sqlite3.connect(db) as conn:
        df = store.query(conn, f"SELECT * FROM consistency_checks WHERE {where}")
    return {(r.time_period, r.area_code, r.measure_id): r for r in df.itertuples()}


def test_2016_absence_is_recomputed_on_253_working_days(real_db):
    checks = _checks(real_db, "time_period = 2016 AND measure_id = 'absence_rate_fte' AND area_code LIKE 'E%'")
    assert len(checks) == 12
    eng = checks[(2016, "E92000001", "absence_rate_fte")]
    assert (eng.published, eng.recomputed, eng.status) == (3.5, 3.487, "matches")   # 3.473 on 254 days
    ne = checks[(2016, "E12000001", "absence_rate_fte")]
    assert (ne.published, ne.recomputed) == (4.7, 4.676)
    assert {r.status for r in checks.values()} == {"matches"}


@pytest.mark.parametrize("year, area, measure, published, recomputed", [
    (2016, "314 / 318", "turnover_rate_fte", 17.4, 17.654),
    (2016, "314 / 318", "agency_rate_fte", 5.8, 5.931),
    (2016, "314 / 318", "vacancy_rate_fte", 8.5, 8.641),
    (2016, "213", "agency_rate_fte", 11.8, 12.338),
    (2015, "331", "absence_rate_fte", 3.0, 2.495),
])
def test_council_rates_that_disagree_with_their_counts_are_flagged(real_db, year, area, measure, published,
                                                                   recomputed):
    r = _checks(real_db)[(year, area, measure)]
    assert (r.published, r.recomputed, r.status) == (published, recomputed, "differs")
    assert r.reason.startswith("DfE's published rate and its published counts disagree beyond rounding")
    assert (r.councils, r.councils_with_value) == (1, 1)


def test_every_other_council_rate_matches_its_counts(real_db):
    checks = _checks(real_db, "area_code NOT LIKE 'E%'")
    differs = sorted(k for k, r in checks.items() if r.status == "differs")
    assert differs == [(2015, "331", "absence_rate_fte"), (2016, "213", "agency_rate_fte"),
                       (2016, "314 / 318", "agency_rate_fte"), (2016, "314 / 318", "turnover_rate_fte"),
                       (2016, "314 / 318", "vacancy_rate_fte")]
    darlington = checks[(2017, "841", "turnover_rate_fte")]       # reference 6.5: 19.2 / 73.8 = 26.0 %
    assert (darlington.published, darlington.recomputed, darlington.status) == (26.0, 26.016, "matches")
    assert checks[(2025, "207", "caseload_fte")].status == "not recomputable"  # published as x


def test_council_rows_on_the_hand_made_fixture(mini_db):
    with sqlite3.connect(mini_db) as conn:
        obs, areas = compare.load(conn)
    key = (obs["time_period"] == 2023) & (obs["area_code"] == "841") & (obs["measure_id"] == "turnover_rate_fte")
    [published] = obs.loc[key, "value"]
    checks = compare.consistency(obs, areas).set_index(compare.KEY)
    assert checks.loc[(2023, "841", "turnover_rate_fte"), "status"] == "matches"
    obs.loc[key, "value"] = published + 5     # far beyond the rounding of its (whole-number) counts
    row = compare.consistency(obs, areas).set_index(compare.KEY).loc[(2023, "841", "turnover_rate_fte")]
    assert row["status"] == "differs" and row["published"] == pytest.approx(published + 5)
