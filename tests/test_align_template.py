"""Aggregate local returns: the template, the seed-report examples and bad input."""

from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from benchmark import measures
from benchmark.local import InputError, align
from benchmark.local.template import TEMPLATE_COLUMNS, write_template

ROOT = Path(__file__).parent.parent
EXAMPLES = ROOT / "examples"


def pick(figures, measure_id, team=""):
    (f,) = [f for f in figures if f.measure_id == measure_id and f.team == team]
    return f


def test_full_dfe_year_return_is_comparable(tmp_path):
    # Darlington 2017 as DfE published it (reference section 6.5): turnover 19.2 / 73.8 = 26.0 %,
    # caseload 730 / 58.4 = 12.5, absence 453.7 / (73.8 x 253) = 2.4 %.
    path = tmp_path / "darlington_2017.csv"
    path.write_text("area_code,period_start,period_end,inpost_fte,leavers_fte,case_holders_fte,cases,working_days_lost_fte,"
                    "reported_turnover_rate_fte,reported_turnover_rate_fte_definition\n"
                    "841,2016-10-01,2017-09-30,73.8,19.2,58.4,730,453.7,26,DfE census\n")
    figures = align(path)
    turnover = pick(figures, "turnover_rate_fte")
    assert (turnover.value, turnover.reported_value, turnover.comparable, turnover.caveat) == (26.0, 26.0, True, "")
    assert turnover.time_period == 2017 and turnover.period == "2016-10-01/2017-09-30"
    assert pick(figures, "caseload_fte").value == 12.5
    assert pick(figures, "absence_rate_fte").value == 2.4
    assert pick(figures, "turnover_rate_fte").basis.startswith("DfE formula leavers_fte / (inpost_fte)")


def test_darlington_example_sets_dfe_basis_beside_reported():
    figures = align(EXAMPLES / "darlington.csv")
    vacancy = pick([f for f in figures if f.period_end == date(2016, 7, 31)], "vacancy_rate_fte")
    # DfE: 25.91 / (25.91 + 68.39) = 27.5 %; the council reported 26.73 % (27 of 101 posts, headcount)
    assert (vacancy.value, vacancy.reported_value) == (27.5, 26.73)
    assert not vacancy.comparable and "snapshot at 31 July 2016, not 30 September" in vacancy.caveat
    ytd = pick([f for f in figures if f.period_end == date(2016, 7, 31)], "turnover_rate_headcount")
    assert ytd.value == 8.1 and "4 months, not annualised" in ytd.caveat          # 6 / 74
    fy = pick([f for f in figures if f.period_end == date(2016, 3, 31)], "turnover_rate_headcount")
    assert (fy.value, fy.symbol, fy.reported_value) == (None, "x", 18.44)
    assert "inpost_headcount not given" in fy.caveat
    band = pick([f for f in figures if f.period_end == date(2016, 7, 31)], "caseload_18_or_less_rate")
    assert (band.value, band.reported_value) == (75.9, 75.93)                      # 41 / 54
    team_a = pick(figures, "agency_rate_fte", team="Team A")
    assert team_a.value == 72.2                                                    # 7.81 / (7.81 + 3.00)


@pytest.mark.parametrize("council,measure,value,reported", [
    ("middlesbrough", "inpost_fte", 170, None),
    ("worcestershire", "vacancy_rate_fte", 13.3, None),     # 37.9 / 284.3, in post derived from establishment
    ("leicestershire", "nqsw_starters_rate", 87.5, 87),     # 28 / 32
    ("nottingham", "agency_headcount", 23, None),
])
def test_every_seed_example_aligns(council, measure, value, reported):
    figures = align(EXAMPLES / f"{council}.csv")
    f = next(f for f in figures if f.measure_id == measure and f.value is not None)
    assert (f.value, f.reported_value) == (value, reported)


def test_establishment_derivation_is_caveated():
    f = next(f for f in align(EXAMPLES / "worcestershire.csv") if f.measure_id == "inpost_fte")
    assert f.value == 246.4 and not f.comparable
    assert "derived from the establishment" in f.caveat and "establishment_fte - vacancy_fte" in f.basis


def test_headcount_only_vacancies_shown_beside_not_computed():
    f = next(f for f in align(EXAMPLES / "leicestershire.csv") if f.measure_id == "vacancy_fte")
    assert (f.value, f.symbol, f.reported_value) == (None, "x", 37)
    assert "only a headcount was given" in f.caveat


def test_headcount_vacancy_rate_when_no_fte(tmp_path):
    path = tmp_path / "hc.csv"
    path.write_text("area_code,period_start,period_end,inpost_headcount,vacancy_headcount\n"
                    "841,2023-10-01,2024-09-30,90,10\n")
    f = pick(align(path), "vacancy_rate_fte")
    assert f.value == 10.0 and not f.comparable and "computed on headcount" in f.caveat


def test_la_picks_one_council(tmp_path):
    path = tmp_path / "two.csv"
    path.write_text("area_code,period_start,period_end,inpost_fte\n841,2023-10-01,2024-09-30,80\n"
                    "806,2023-10-01,2024-09-30,160\n")
    assert {f.area_code for f in align(path)} == {"841", "806"}
    assert [f.value for f in align(path, la="806")] == [160]


def test_bad_aggregate_return_reports_every_problem(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("area_code,period_start,period_end,inpost_fte,leavers_headcount,reported_turnover_rate_fte,colour\n"
                    "84,2024-09-30,2023-10-01,-3,2.5,130,blue\n")
    with pytest.raises(InputError) as err:
        align(path)
    assert "column colour: unknown column" in str(err.value)        # columns are checked first
    path.write_text("area_code,period_start,period_end,inpost_fte,leavers_headcount,reported_turnover_rate_fte\n"
                    "84,2024-09-30,2023-10-01,-3,2.5,130\n"
                    "841,2023-10-01,2024-09-31,80,,\n")
    with pytest.raises(InputError) as err:
        align(path)
    text, f = str(err.value), str(path)
    for piece in [
        f"{f}, row 2, column area_code, value '84': must be a DfE 3-digit LA number",
        f"{f}, row 2, column period_end, value '2023-10-01': is before period_start",
        f"{f}, row 2, column inpost_fte, value '-3': must not be below 0",
        f"{f}, row 2, column leavers_headcount, value '2.5': must be a whole number",
        f"{f}, row 2, column reported_turnover_rate_fte, value '130': must not be above 100",
        f"{f}, row 3, column period_end, value '2024-09-31': not a date",
    ]:
        assert piece in text, piece


def test_unreadable_xlsx(tmp_path):
    path = tmp_path / "return.xlsx"
    path.write_bytes(b"PK\x03\x04 this is not really a workbook")
    with pytest.raises(InputError) as err:
        align(path)
    assert f"{path}: not a readable XLSX workbook" in str(err.value)


def test_xlsx_return_with_date_cells(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["area_code", "period_start", "period_end", "inpost_fte", "leavers_fte"])
    ws.append(["841", datetime(2016, 10, 1), datetime(2017, 9, 30), 73.8, 19.2])
    path = tmp_path / "return.xlsx"
    wb.save(path)
    assert pick(align(path), "turnover_rate_fte").value == 26.0


def test_template_files_match_the_code(tmp_path):
    csv_path, xlsx_path = write_template(tmp_path)
    assert csv_path.read_text() == (EXAMPLES / "template.csv").read_text()
    assert [c.value for c in load_workbook(EXAMPLES / "template.xlsx")["return"][1]] == TEMPLATE_COLUMNS
    doc = {r[0]: r[1] for r in load_workbook(xlsx_path)["columns"].iter_rows(min_row=2, values_only=True)}
    assert doc["inpost_fte"] == measures.get("inpost_fte").definition
    assert not list(EXAMPLES.glob("*.xlsm"))


def test_local_measures_are_catalogued_last():
    cat = list(measures.catalogue().values())
    local = [m for m in cat if m.group == "local"]
    assert local and cat[-len(local):] == local
    assert {"caseload_18_or_less_rate", "stability_index_rate", "nqsw_retention_12m_rate",
            "pqe_10_plus_years_headcount", "leavers_reason_resignation_headcount"} <= {m.id for m in local}


def test_docs_describe_every_column():
    from benchmark.local.workers import OPTIONAL, REQUIRED
    text = (ROOT / "docs" / "align.md").read_text()
    for column in [*TEMPLATE_COLUMNS[:26], *REQUIRED, *OPTIONAL]:
        assert f"`{column}`" in text or column.startswith("reported_"), column
    assert "`reported_<measure_id>`" in text and "Example" in text


def test_absence_over_a_12_month_period_other_than_dfe_year(tmp_path):
    # December 2023 to November 2024 contains 29 February 2024: 254 days although 2025 is not a leap year.
    path = tmp_path / "dec_nov.csv"
    path.write_text("area_code,period_start,period_end,inpost_fte,working_days_lost_fte\n"
                    "885,2023-12-01,2024-11-30,100,2540\n885,2024-12-01,2025-11-30,100,2530\n")
    rates = [f for f in align(path) if f.measure_id == "absence_rate_fte"]
    assert [r.value for r in rates] == [10.0, 10.0]
    assert "254 working days" in rates[0].basis and "253 working days" in rates[1].basis
    assert not rates[0].comparable


# --- Files as councils save them (issue 11 item 6) -------------------------------------------------------------

CASES = ROOT.parent / "shared" / "cases" / "local"
needs_cases = pytest.mark.skipif(not CASES.exists(), reason="../shared/cases/local is missing")
ROW = ("area_code,period_start,period_end,inpost_fte,leavers_fte,notes\n"
       "841,2016-10-01,2017-09-30,73.8,19.2,\"Agency premium of £18 excluded; the council’s HR system\"\n")


@needs_cases
def test_excel_cp1252_csv_aligns_and_keeps_its_notes():
    path = CASES / "template_cp1252_excel.csv"
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")                           # the case is really not UTF-8
    figures = align(path)
    assert pick(figures, "inpost_fte").value == 90.5
    assert pick(figures, "vacancy_rate_fte").value == 4.2             # 4.0 / (4.0 + 90.5)
    assert pick(figures, "turnover_rate_fte").value == 13.3           # 12.0 / 90.5
    assert "Agency premium of £18 an hour excluded, figures from the council’s HR system" in \
        pick(figures, "inpost_fte").caveat


@needs_cases
def test_xlsx_percent_cells_are_read_as_shown():
    figures = align(CASES / "template_percent_cells.xlsx")
    assert pick(figures, "vacancy_rate_fte").reported_value == 4.2   # Excel stores 0.042, formatted 0.0%
    assert pick(figures, "turnover_rate_fte").reported_value == 13.3  # stores 0.133
    assert pick(figures, "vacancy_rate_fte").reported_definition == "vacant FTE over establishment FTE"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "utf-16"])
@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_csv_in_every_encoding_and_separator(tmp_path, encoding, sep):
    text = ROW.replace(",", sep) if sep != ";" else ROW.replace(",", ";").replace("73.8", "73,8").replace("19.2", "19,2")
    path = tmp_path / "return.csv"
    path.write_bytes(text.replace("\n", "\r\n").encode(encoding))
    figures = align(path)
    assert pick(figures, "turnover_rate_fte").value == 26.0           # 19.2 / 73.8, decimal comma when ;-separated
    assert "£18" in pick(figures, "inpost_fte").caveat and "council’s" in pick(figures, "inpost_fte").caveat


def test_unquoted_separator_in_a_cell_is_a_problem_not_an_index(tmp_path):
    path = tmp_path / "return.csv"
    path.write_text("area_code;period_start;period_end;inpost_fte;notes\n841;2016-10-01;2017-09-30;73,8;a; b\n")
    with pytest.raises(InputError) as err:
        align(path)
    assert [str(p) for p in err.value.problems] == [
        f"{path}, row 2: has 6 cells but the header row has 5: is there an unquoted semicolon in a text cell (a name "
        "such as Smith; Jo)? Put that cell in double quotes, or save the file again from Excel, which quotes such cells"]



def test_unreadable_encoding_names_row_and_column_and_says_how_to_save(tmp_path):
    path = tmp_path / "return.csv"
    path.write_bytes(ROW.encode("cp1252").replace(b"HR system", b"HR \x81system"))   # 0x81: no character in either
    with pytest.raises(InputError) as err:
        align(path)
    (p,) = err.value.problems
    assert (p.row, p.column) == (2, "notes")
    assert "CSV UTF-8" in p.message and "Save As" in p.message
    path.write_bytes(ROW.encode("utf-16-le"))                                          # UTF-16 without its mark
    with pytest.raises(InputError) as err:
        align(path)
    assert "UTF-16 text without a byte-order mark" in str(err.value)


def test_csv_percentages_and_excel_dates(tmp_path):
    path = tmp_path / "return.csv"
    path.write_text("area_code,period_start,period_end,inpost_fte,leavers_fte,reported_turnover_rate_fte\n"
                    "841,2016-10-01 00:00:00,43008,73.8,19.2,26.0%\n")             # 43008 = 30 Sep 2017
    f = pick(align(path), "turnover_rate_fte")
    assert (f.value, f.reported_value, f.period) == (26.0, 26.0, "2016-10-01/2017-09-30")
    path.write_text("area_code,period_start,period_end,inpost_fte\n841,01/10/2016 00:00,30/09/2017,7.5%\n")
    with pytest.raises(InputError) as err:
        align(path)
    assert "row 2, column inpost_fte, value '7.5%': a percentage where a count is expected" in str(err.value)


def _workbook(tmp_path, **changes):
    wb = Workbook()
    ws = wb.active
    ws.title = "return"
    ws.append(["area_code", "period_start", "period_end", "inpost_fte", "leavers_fte", "reported_turnover_rate_fte"])
    ws.append(["841", 42644, datetime(2017, 9, 30), 73.8, 19.2, 0.26])           # 42644 = 1 Oct 2016, General
    ws["F2"].number_format = "0%"
    for cell, value in changes.items():
        ws[cell] = value
    return wb


def test_xlsx_serial_dates_and_percent(tmp_path):
    path = tmp_path / "return.xlsx"
    _workbook(tmp_path).save(path)
    f = pick(align(path), "turnover_rate_fte")
    assert (f.value, f.reported_value, f.period) == (26.0, 26.0, "2016-10-01/2017-09-30")


def test_xlsx_formula_without_a_saved_value_is_a_problem(tmp_path):
    path = tmp_path / "return.xlsx"
    _workbook(tmp_path, D2="=70+3.8").save(path)                   # openpyxl saves no cached value, like many tools
    with pytest.raises(InputError) as err:
        align(path)
    (p,) = err.value.problems
    assert (p.row, p.column) == (2, "inpost_fte") and "formula with no saved value" in p.message


def test_xlsx_hidden_sheets_are_problems(tmp_path):
    path = tmp_path / "return.xlsx"
    wb = _workbook(tmp_path)
    wb.create_sheet("old figures").sheet_state = "hidden"
    wb.save(path)
    with pytest.raises(InputError) as err:
        align(path)
    assert "sheet 'old figures' is hidden" in str(err.value)
    wb = _workbook(tmp_path)
    wb.create_sheet("notes")
    wb["return"].sheet_state = "hidden"
    wb.active = 1
    wb.save(path)
    with pytest.raises(InputError) as err:
        align(path)
    assert "the first sheet 'return', which holds the return, is hidden" in str(err.value)


def test_joint_return_member_in_a_template_row(tmp_path):
    path = tmp_path / "return.csv"
    path.write_text("area_code,period_start,period_end,inpost_fte\n314,2023-10-01,2024-09-30,80\n")
    f = pick(align(path), "inpost_fte")
    assert f.area_code == "314 / 318" and "314 is part of the joint return 314 / 318" in f.caveat
    path.write_text("area_code,period_start,period_end,inpost_fte\n314,2023-10-01,2024-09-30,80\n"
                    "318,2023-10-01,2024-09-30,60\n")
    with pytest.raises(InputError) as err:
        align(path)
    assert "row 3, column area_code, value '318'" in str(err.value) and "314 / 318" in str(err.value)
