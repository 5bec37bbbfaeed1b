"""The census XML reader, on a realistic return written for the tests (tests/fixtures/csww_census_2023_*.xml).

Expected figures are counted by hand from the fixture (reference date 30 September 2023, year from
1 October 2022):
  LA in post: workers 1 (1.0), 2 (0.8), 4 (1.0), 7 (0.6), 8 (1.0) -> 5 people, 4.4 FTE
  starters: 2 (14 Nov 2022, 0.8), 8 (5 Jun 2023, 1.0); leaver: 3 (31 Mar 2023, FTE 0 so FTE30 0.6)
  agency: 5 (1.0, 21 cases), 6 (0.5, 9 cases); LALevelVacancies: 3.5 vacancies, 1.5 agency FTE covering
  case holders: 1 (17), 2 (12), 7 (14), 8 (8), 5 (21), 6 (9) -> 81 cases over 4.9 FTE
  working days lost by LA workers in post: 4.5 + 0 + 10 + 6 + 0 = 20.5, over 4.4 x 253 days
"""

from pathlib import Path

import pytest

from benchmark.local import InputError, align

FIXTURES = Path(__file__).parent / "fixtures"
VALID = FIXTURES / "csww_census_2023_valid.xml"
INVALID = FIXTURES / "csww_census_2023_invalid.xml"


def by_id(figures):
    return {f.measure_id: f for f in figures}


def test_census_return_gives_dfe_measures():
    f = by_id(align(VALID, min_count=0))
    expected = {
        "inpost_fte": 4.4, "inpost_headcount": 5, "starters_fte": 1.8, "starters_headcount": 2,
        "leavers_fte": 0.6, "leavers_headcount": 1, "turnover_rate_fte": 13.6, "turnover_rate_headcount": 20.0,
        "agency_fte": 1.5, "agency_headcount": 2, "agency_rate_fte": 25.4, "agency_rate_headcount": 28.6,
        "agency_cover_fte": 1.5, "agency_cover_rate_fte": 100.0, "vacancy_fte": 3.5, "vacancy_rate_fte": 44.3,
        "vacancy_agency_cover_rate_fte": 42.9, "case_holders_fte": 4.9, "cases": 81, "caseload_fte": 16.5,
        "working_days_lost_fte": 20.5, "absence_rate_fte": 1.8,
    }
    assert {k: f[k].value for k in expected} == expected
    first = f["inpost_fte"]
    assert (first.area_code, first.time_period, first.period) == ("841", 2023, "2022-10-01/2023-09-30")
    assert first.input_kind == "census_xml" and first.comparable and first.caveat == ""
    assert first.rows_used == "fewer than 50 CSWWWorker records"      # a band, never a count (issue 11 item 7)
    assert "253 working days" in f["absence_rate_fte"].basis
    assert "FTE30" in f["leavers_fte"].caveat


def test_census_local_measures():
    f = by_id(align(VALID, min_count=0))
    assert f["leavers_reason_resignation_headcount"].value == 1
    assert f["starters_origin_newly_qualified_headcount"].value == 1
    assert f["nqsw_starters_rate"].value == 50.0
    # in post since: 2016 (7 years), 2022-11 (<1), 2010 (13), 2020-02 (3), 2023-06 (<1)
    assert f["service_under_2_years_headcount"].value == 2
    assert f["service_10_to_20_years_headcount"].value == 1
    assert f["stability_index_rate"].value == 60.0


def test_census_small_counts_are_suppressed_by_default():
    f = by_id(align(VALID))
    assert f["leavers_headcount"].symbol == "c" and f["leavers_headcount"].value is None
    assert f["turnover_rate_fte"].symbol == "c"      # built on 1 leaver
    assert f["inpost_headcount"].value == 5           # 5 people: shown


def test_invalid_census_return_reports_every_problem():
    with pytest.raises(InputError) as err:
        align(INVALID)
    text = str(err.value)
    assert len(err.value.problems) == 5
    for piece in ["row 2, column FTE: must not be above 1", "row 3, column RoleEndDate: is before",
                  "row 4, column AgencyWorker: must be one of 0, 1", "row 5, column RoleStartDate: not a date",
                  "column LALevelVacancies/NoAgencyFTE: missing"]:
        assert piece in text
    assert all(p.file == str(INVALID) for p in err.value.problems)


def test_malformed_xml_names_the_line(tmp_path):
    bad = tmp_path / "broken.xml"
    bad.write_text("<Message>\n  <Header>\n</Message>\n")
    with pytest.raises(InputError) as err:
        align(bad)
    assert err.value.problems[0].row == 3
    assert "not well-formed XML" in str(err.value)


def test_la_must_match_the_return(tmp_path):
    with pytest.raises(InputError) as err:
        align(VALID, la="806")
    assert "LEA, value '841': does not match --la 806" in str(err.value)
