from benchmark import measures


def test_catalogue_has_the_dfe_indicator_columns():
    cat = measures.catalogue()
    for mid in ["inpost_fte", "turnover_rate_fte", "agency_rate_fte", "vacancy_rate_fte", "caseload_fte",
                "absence_rate_fte", "cin_per_sw_fte"]:
        assert mid in cat
    assert [m.id for m in measures.key_measures()] == [
        "inpost_fte", "turnover_rate_fte", "agency_rate_fte", "vacancy_rate_fte", "caseload_fte", "absence_rate_fte"]


def test_rates_reproduce_england_2025():
    # England 2025, csww_indicators_2017_to_2025.csv (reference section 6.3)
    c = {"inpost_fte": 36186.3, "leavers_fte": 4276.3, "agency_fte": 5415.9, "vacancy_fte": 5965.4,
         "cases": 321661, "case_holders_fte": 21105.4, "working_days_lost_fte": 322786.3, "agency_cover_fte": 4390.8}
    assert round(measures.rate("turnover_rate_fte", c), 1) == 11.8
    assert round(measures.rate("agency_rate_fte", c), 1) == 13.0
    assert round(measures.rate("vacancy_rate_fte", c), 1) == 14.2
    assert round(measures.rate("caseload_fte", c), 1) == 15.2
    assert round(measures.rate("absence_rate_fte", c, 2025), 1) == 3.5
    assert round(measures.rate("agency_cover_rate_fte", c), 1) == 81.1
    assert round(measures.rate("vacancy_agency_cover_rate_fte", c), 1) == 73.6


def test_working_days_leap_years():
    assert measures.working_days(2024) == 254
    assert measures.working_days(2020) == 254
    assert measures.working_days(2025) == 253
    assert measures.working_days(2023) == 253
