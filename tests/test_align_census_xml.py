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
                  "row 4, column AgencyWorker, value '2': must be one of 0, 1",  # a code: shown
                  "row 5, column RoleStartDate: not a date",
                  "column LALevelVacancies/NoAgencyFTE: missing"]:
        assert piece in text
    assert all(p.file == str(INVALID) for p in err.value.problems)


def test_malformed_xml_names_the_line(tmp_path):
    bad = tmp_path / "broken.xml"
    bad.write_text("<Message>\n  <Header>\n</Message>\n")
    with pytest.raises(InputError) as err:
        align(bad)
    (p,) = err.value.problems  # a line and character of the text: not "row 3", which means the 3rd CSWWWorker
    assert str(p) == f"{bad}: not well-formed XML at line 3, character 3: mismatched tag"
    bad.write_text("<Message>\n  <CSWWWorker><FTE>0.5</FTE><QualInst>Universit\u00e9 de Gen\u00e8ve</Qual></CSWWWorker>\n",
                   encoding="utf-8")
    with pytest.raises(InputError) as err:
        align(bad)
    assert err.value.problems[0].message == "not well-formed XML at line 2, character 61: mismatched tag"  # é counts 1, not 2 bytes


def test_la_must_match_the_return(tmp_path):
    with pytest.raises(InputError) as err:
        align(VALID, la="806")
    assert "LEA, value '841': does not match --la 806" in str(err.value)


# --- Files as councils save them (issue 11 item 6) -------------------------------------------------------------

CASES = Path(__file__).resolve().parent.parent.parent / "shared" / "cases" / "local"
JOINT = CASES / "census_joint_return_lea314.xml"
needs_cases = pytest.mark.skipif(not JOINT.exists(), reason="../shared/cases/local is missing")


@needs_cases
def test_joint_return_member_is_aligned_as_the_joint_return():
    f = by_id(align(JOINT))
    # LEA 314 (Kingston upon Thames) is published by DfE inside the joint return 314 / 318 (Achieving for Children)
    assert {x.area_code for x in f.values()} == {"314 / 318"}
    assert "314 is part of the joint return 314 / 318" in f["inpost_fte"].caveat
    assert f["inpost_fte"].comparable and f["inpost_fte"].time_period == 2024
    assert by_id(align(JOINT, la="314 / 318"))["inpost_fte"].value == f["inpost_fte"].value  # --la either way
    assert by_id(align(JOINT, la="314"))["inpost_fte"].value == f["inpost_fte"].value


@needs_cases
def test_joint_return_member_is_set_beside_the_joint_returns_comparators(real_db, tmp_path):
    import shutil
    import sqlite3

    from benchmark.compare import write_comparisons
    from benchmark.local.store import load_files

    db = tmp_path / "csww.db"
    shutil.copy(real_db, db)
    with sqlite3.connect(db) as conn:
        load_files(conn, [JOINT])
        write_comparisons(conn)
        row = conn.execute("SELECT area_name, comparator_year, england, region, sn_median, sn_count FROM comparisons "
                           "WHERE provisional = 1 AND area_code = '314 / 318' AND measure_id = 'inpost_fte'").fetchone()
        published = conn.execute("SELECT england, region, sn_median FROM comparisons WHERE provisional = 0 AND "
                                 "area_code = '314 / 318' AND time_period = 2024 AND measure_id = 'inpost_fte'").fetchone()
        assert conn.execute("SELECT count(*) FROM comparisons WHERE provisional = 1 AND area_code = '314'"
                            ).fetchone() == (0,)
        assert conn.execute("SELECT source_file FROM local_returns").fetchall() == [(JOINT.name,)]  # base name only
    assert row[1] == 2024 and row[5] > 0
    assert row[0] and all(v is not None for v in row[2:5])           # with its neighbours, region and England
    assert tuple(row[2:5]) == published


def _census(tmp_path, year="2023", ref="2023-09-30", lea="841"):
    text = VALID.read_text(encoding="utf-8")
    text = text.replace("<Year>2023</Year>", f"<Year>{year}</Year>").replace(
        "<ReferenceDate>2023-09-30</ReferenceDate>", f"<ReferenceDate>{ref}</ReferenceDate>").replace(
        "<LEA>841</LEA>", f"<LEA>{lea}</LEA>")
    return text


def test_year_that_contradicts_the_reference_date_is_a_problem(tmp_path):
    assert "<Year>2023</Year>" in VALID.read_text() and "<ReferenceDate>2023-09-30</ReferenceDate>" in VALID.read_text()
    bad = tmp_path / "census.xml"
    bad.write_text(_census(tmp_path, year="2024"), encoding="utf-8")
    with pytest.raises(InputError) as err:
        align(bad)
    assert "column Year, value '2024': does not agree with ReferenceDate 2023-09-30" in str(err.value)
    bad.write_text(_census(tmp_path, year="2024", ref="2023-10-31"), encoding="utf-8")  # Oct 2023 is in year 2024
    late = by_id(align(bad, min_count=0))["inpost_headcount"]   # set beside the nearest census: 30 Sep 2023
    assert (late.time_period, late.months_from_census) == (2023, 1)


@pytest.mark.parametrize("encoding,declared", [
    ("utf-8-sig", "UTF-8"), ("utf-16", "UTF-16"), ("cp1252", "UTF-8"), ("cp1252", "windows-1252")])
def test_census_xml_in_every_encoding_councils_save(tmp_path, encoding, declared):
    text = _census(tmp_path).replace('encoding="UTF-8"', f'encoding="{declared}"')
    assert f'encoding="{declared}"' in text
    text = text.replace("<CSWWWorker>", "<!-- caf\u00e9 \u2019 \u00a3 --><CSWWWorker>", 1)
    path = tmp_path / "census.xml"
    path.write_bytes(text.encode(encoding))
    assert by_id(align(path, min_count=0))["inpost_fte"].value == 4.4


def test_undecodable_census_xml_names_the_record_and_element(tmp_path):
    text = _census(tmp_path)
    i = text.index("<SWENo>", text.index("<CSWWWorker>", text.index("<CSWWWorker>") + 1))
    path = tmp_path / "census.xml"
    data = text.encode("utf-8")
    pos = len(text[:i + len("<SWENo>")].encode("utf-8"))
    path.write_bytes(data[:pos] + b"\x81\x8d" + data[pos:])        # bytes neither UTF-8 nor Windows-1252
    with pytest.raises(InputError) as err:
        align(path)
    (p,) = err.value.problems
    assert (p.row, p.column, p.value) == (2, "SWENo", None)          # the 2nd worker record; the id is not shown
    assert "cannot be read as UTF-8 or Windows-1252" in p.message and "save it as UTF-8" in p.message


def test_no_message_about_a_census_return_shows_a_worker_records_value(tmp_path):
    # The first CSWWWorker is row 1, as the header row of a CSV is: its values were once printed (review, item 1).
    text = VALID.read_text(encoding="utf-8")
    for good, bad in (("<RoleStartDate>2016-04-01<", "<RoleStartDate>Jane Doe<"),       # record 1
                      ("<Cases30>17<", "<Cases30>ZZ9000000002<"),                      # record 1
                      ("<RoleStartDate>2022-11-14<", "<RoleStartDate>John Roe<"),      # record 2
                      ("<Cases30>0<", "<Cases30>AB1000000004<")):                     # record 4
        assert good in text
        text = text.replace(good, bad, 1)
    path = tmp_path / "leaky.xml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as err:
        align(path)
    got = sorted((p.row, p.column, p.value, p.message) for p in err.value.problems)
    assert got == [(1, "Cases30", None, "not a number"),
                   (1, "RoleStartDate", None, "not a date (use YYYY-MM-DD or DD/MM/YYYY)"),
                   (2, "RoleStartDate", None, "not a date (use YYYY-MM-DD or DD/MM/YYYY)"),
                   (4, "Cases30", None, "not a number")]
    for secret in ("Jane", "John", "ZZ9000000002", "AB1000000004"):
        assert secret not in str(err.value)


def test_agency_cover_of_so_few_people_is_suppressed_and_a_contradiction_is_caveated(tmp_path):
    # review item 4: NoAgencyFTE was published beside NoAgencyHeadcount 1 (an FTE of one person)
    f = by_id(align(VALID))
    assert [f[m].symbol for m in ("agency_cover_fte", "vacancy_agency_cover_rate_fte", "agency_cover_rate_fte")] \
        == ["c"] * 3                                            # NoAgencyHeadcount 2: an FTE of 2 people
    assert f["vacancy_fte"].value == 3.5                        # vacancies are posts, not people
    # covering vacancies are some of the agency workers: 3 FTE covering beside 1.5 agency FTE contradicts itself
    path = tmp_path / "contradiction.xml"
    path.write_text(VALID.read_text().replace("<NoAgencyFTE>1.5<", "<NoAgencyFTE>3<")
                    .replace("<NoAgencyHeadcount>2<", "<NoAgencyHeadcount>6<"))
    f = by_id(align(path, min_count=0))
    assert (f["agency_cover_fte"].value, f["agency_fte"].value, f["agency_cover_fte"].comparable) == (3, 1.5, False)
    assert "the input contradicts itself (LALevelVacancies/NoAgencyFTE against the CSWWWorker records with " \
           "AgencyWorker 1)" in f["vacancy_agency_cover_rate_fte"].caveat
    assert f["agency_fte"].comparable and by_id(align(VALID, min_count=0))["agency_cover_fte"].comparable


@needs_cases
def test_the_joint_return_case_shows_no_agency_cover_of_one_person():
    f = by_id(align(JOINT))       # NoAgencyFTE 1, NoAgencyHeadcount 1 and no AgencyWorker 1 record
    assert (f["agency_cover_fte"].symbol, f["vacancy_agency_cover_rate_fte"].symbol) == ("c", "c")
    assert "contradicts itself" in f["agency_cover_fte"].caveat and f["agency_headcount"].value == 0


def test_a_decimal_comma_in_the_la_level_block_names_its_element(tmp_path):
    # review item 3 in a census return; the block is no worker record: no "row 0", its value (an aggregate) shown
    path = tmp_path / "comma.xml"
    path.write_text(VALID.read_text().replace("<NumberOfVacancies>3.5<", "<NumberOfVacancies>3,5<"))
    with pytest.raises(InputError) as err:
        align(path)
    (p,) = err.value.problems
    assert (p.row, p.column, p.value) == (None, "LALevelVacancies/NumberOfVacancies", "3,5")
    assert p.message.startswith("not a number: a comma is read only as a thousands separator")


def test_coded_items_are_checked_against_their_code_lists(tmp_path):
    """Before: OrgRole (read) and LeaverDestination, QualLevel, Ethnicity ... (not read) were never checked: a
    return DfE's validation refuses aligned silently. A code-shaped value is shown; free text and special
    category items (Ethnicity) never are."""
    text = VALID.read_text(encoding="utf-8")
    text = text.replace("<OrgRole>3</OrgRole>", "<OrgRole>9</OrgRole>", 1)
    text = text.replace("<OrgRole>5</OrgRole>", "<OrgRole>Team manager</OrgRole>", 1)
    text = text.replace("<Ethnicity>WBRI</Ethnicity>", "<Ethnicity>wbri</Ethnicity>", 1)
    text = text.replace("<QualLevel>1</QualLevel>", "<QualLevel>4</QualLevel>", 1)
    second = text.index("<SWENo>AB1000000002</SWENo>")  # a repeating item: its second occurrence is off the list
    text = text[:second] + "<CFKSSstatus>1</CFKSSstatus><CFKSSstatus>7</CFKSSstatus>" + text[second:]
    bad = tmp_path / "codes.xml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as err:
        align(bad)
    roles = "1 senior manager, 2 middle manager, 3 first-line manager, 4 senior practitioner, 5 case holder, 6 " \
            "qualified without cases"
    assert [str(p) for p in err.value.problems] == [
        f"{bad}, row 1, column Ethnicity: must be one of ABAN, AIND, AOTH, APKN, BAFR, BCRB, BOTH, CHNE, MOTH, MWAS, "
        "MWBA, MWBC, NOBT, OOTH, REFU, WBRI, WIRI, WOTH",
        f"{bad}, row 1, column QualLevel, value '4': must be one of 1, 2, 3",
        f"{bad}, row 1, column OrgRole: must be one of 1, 2, 3, 4, 5, 6 (DfE census OrgRole: {roles})",
        f"{bad}, row 2, column CFKSSstatus, value '7': must be one of 1, 2, 3, 4",
        f"{bad}, row 4, column OrgRole, value '9': must be one of 1, 2, 3, 4, 5, 6 (DfE census OrgRole: {roles})"]


def test_a_worker_record_given_twice_is_counted_once_and_named(tmp_path):
    """Before: the first CSWWWorker (SWENo AB1000000001, FTE 1, 17 cases, 4.5 days lost) pasted again at the end
    raised in-post FTE 4.4 -> 5.4, cases 81 -> 98 and days lost 20.5 -> 25.0 silently. Now the copy counts once
    and is named by record number; the same worker in a second post (OrgRole 4: an item differs) still counts as
    DfE counts several posts (reference section 6.2): one person, FTE and cases summed."""
    text = VALID.read_text(encoding="utf-8")
    first = text[text.index("  <CSWWWorker>"):text.index("</CSWWWorker>") + len("</CSWWWorker>\n")]
    end = text.rindex("</CSWWWorker>") + len("</CSWWWorker>\n")
    path = tmp_path / "census.xml"
    keys = ("inpost_fte", "inpost_headcount", "cases", "working_days_lost_fte")
    path.write_text(text[:end] + first + text[end:], encoding="utf-8")
    warnings = []
    f = by_id(align(path, min_count=1, warnings=warnings))
    assert [f[k].value for k in keys] == [4.4, 5, 81, 20.5]
    assert [str(w) for w in warnings] == [f"{path}, row 9: repeats CSWWWorker record 1 exactly: counted once, as a "
                                          "copy (a worker's several posts differ in some item: role, FTE, dates, "
                                          "cases)"]
    path.write_text(text[:end] + first.replace("<OrgRole>5</OrgRole>", "<OrgRole>4</OrgRole>") + text[end:],
                    encoding="utf-8")
    warnings = []
    f = by_id(align(path, min_count=1, warnings=warnings))
    assert ([f[k].value for k in keys], warnings) == ([5.4, 5, 98, 25.0], [])
