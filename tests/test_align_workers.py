"""Worker-level HR extracts, on small generated data whose DfE figures are counted by hand below.

Reference date 30 September 2024, so the year runs 1 October 2023 to 30 September 2024 and contains
29 February 2024: the absence rate uses 254 working days.
"""

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmark.cli import cli
from benchmark.local import InputError, align
from benchmark.local.output import render
from benchmark.local.workers import pseudonymise

COLUMNS = ["worker_id", "agency", "fte", "start_date", "end_date", "reference_date", "start_origin",
           "leave_reason", "cases", "working_days_lost", "qualification_date", "covers_vacancy"]
REF = "2024-09-30"
# worker, agency, fte, start, end, origin, reason, cases, days lost, qualified, covers vacancy
ROWS = [
    ("AB0000000001", 0, "1", "2015-01-05", "", "2", "", 15, 10, "2010-06-30", ""),    # W1 long-serving
    ("AB0000000002", 0, "0.5", "2020-03-01", "2024-09-30", "2", "1", 0, 4, "", ""),  # W2 leaves on 30 September
    ("AB0000000003", 0, "0.8", "2023-11-01", "2024-05-31", "1", "5", 0, 1, "", ""),  # W3 starts and leaves in-year
    ("AB0000000004", 0, "0.6", "2019-06-01", "", "2", "", 10, 2.3, "2019-01-01", ""),  # W4 post A
    ("ab0000000004 ", 0, "0.4", "2022-01-01", "", "2", "", 5, 0, "2019-01-01", ""),   # W4 post B (same person)
    ("AB0000000005", 1, "1", "2024-06-01", "", "", "", 20, "", "", "1"),              # W5 agency case holder
    ("AB0000000006", 0, "", "2021-01-01", "", "2", "", 12, 5, "", ""),                # W6 missing FTE
    ("AB0000000007", 0, "1", "2018-01-01", "2024-03-31", "2", "", 0, 0, "", ""),      # W7 internal move: post A
    ("AB0000000007", 0, "1", "2024-04-01", "", "2", "", 18, 5, "", ""),               #    post B the next day
    ("AB0000000008", 0, "1", "2024-02-29", "", "1", "", 25, 3, "2024-01-15", ""),     # W8 starts on the leap day
    ("AB0000000009", 0, "1", "2016-05-01", "2023-09-30", "2", "1", 0, 0, "", ""),     # W9 left last year
    ("AB0000000010", 1, "1", "2024-01-01", "2024-08-31", "", "", 0, "", "", "0"),     # W10 agency, gone by 30 Sep
    ("AB0000000011", 0, "1", "2022-10-03", "2023-06-30", "1", "1", 0, 0, "", ""),     # W11 NQSW, left within a year
    ("AB0000000012", 0, "1", "2023-01-09", "", "1", "", 0, 7, "2022-07-01", ""),      # W12 NQSW, still in post
]


def write(path: Path, rows=ROWS, columns=COLUMNS, ref=REF) -> Path:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["area_code", *columns])
        for r in rows:
            full = dict(zip(["worker_id", "agency", "fte", "start_date", "end_date", "start_origin", "leave_reason",
                             "cases", "working_days_lost", "qualification_date", "covers_vacancy"], r))
            full["reference_date"] = ref
            w.writerow(["841", *[full.get(c, "") for c in columns]])
    return path


def values(figures):
    return {f.measure_id: f.value for f in figures}


@pytest.fixture
def extract(tmp_path):
    return write(tmp_path / "hr_extract.csv")


def test_stocks_and_flows_on_dfe_rules(extract):
    v = values(align(extract, min_count=0))
    # In post at 30 Sep 2024: W1 1.0, W4 0.6 + 0.4 (one person), W6 (no FTE), W7 post B 1.0, W8 1.0, W12 1.0.
    # W2 left on 30 September: a leaver, not in post.
    assert v["inpost_headcount"] == 6
    assert v["inpost_fte"] == 5.0
    # Starters: W3 (0.8) and W8 (1.0). W7's second post follows the first the next day: not a starter.
    assert (v["starters_headcount"], v["starters_fte"]) == (2, 1.8)
    # Leavers: W2 (0.5) on 30 September and W3 (0.8), who also started in the year. W9 and W11 left before.
    assert (v["leavers_headcount"], v["leavers_fte"]) == (2, 1.3)
    assert v["turnover_rate_fte"] == 26.0        # 1.3 / 5.0
    assert v["turnover_rate_headcount"] == 33.3  # 2 / 6
    # Agency: W5 only (W10 ended in August); not in post.
    assert (v["agency_headcount"], v["agency_fte"], v["agency_cover_fte"]) == (1, 1.0, 1.0)
    assert v["agency_rate_fte"] == 16.7          # 1 / (1 + 5)
    assert v["agency_rate_headcount"] == 14.3    # 1 / (1 + 6)


def test_caseload_includes_agency_and_excludes_missing_fte(extract):
    v = values(align(extract, min_count=0))
    # Case holders: W1 15, W4 10 + 5, W7 18, W8 25, agency W5 20. W6 holds 12 cases but has no FTE.
    assert v["cases"] == 93
    assert v["case_holders_fte"] == 5.0
    assert v["caseload_fte"] == 18.6
    # Per worker: W1 15, W4 15, W7 18 (18 or less); W5 20 (19-24); W8 25 (25+).
    assert [v[f"caseload_{b}_headcount"] for b in ("18_or_less", "19_to_24", "25_plus")] == [3, 1, 1]


def test_absence_uses_254_days_in_a_leap_year(extract):
    figures = {f.measure_id: f for f in align(extract, min_count=0)}
    # Days lost by LA workers in post: 10 + 2.3 + 0 + 5 + 5 + 3 + 7 = 32.3 (W2's 4 days: not in post).
    assert figures["working_days_lost_fte"].value == 32.3
    # 32.3 / (5.0 x 254) = 2.543 % -> 2.5 (with 253 days it would be 2.553 -> 2.6)
    assert figures["absence_rate_fte"].value == 2.5
    assert "254 working days" in figures["absence_rate_fte"].basis
    assert figures["absence_rate_fte"].comparable


def test_absence_uses_253_days_otherwise(tmp_path):
    rows = [("AB0000000001", 0, "1", "2015-01-05", "", "", "", 0, 6.4, "", "")]
    figures = {f.measure_id: f for f in align(write(tmp_path / "x.csv", rows, ref="2023-09-30"), min_count=0)}
    assert figures["absence_rate_fte"].value == 2.5   # 6.4 / 253
    assert "253 working days" in figures["absence_rate_fte"].basis


def test_missing_fte_is_left_out_of_fte_only(extract):
    f = {x.measure_id: x for x in align(extract, min_count=0)}
    assert "fewer than 5 record(s) in post with no FTE left out of FTE figures" in f["inpost_fte"].caveat  # 1, banded
    assert f["inpost_fte"].comparable      # DfE does the same


def test_local_measures(extract):
    v = values(align(extract, min_count=0))
    # Service at 30 Sep 2024: W1 9.7y, W4 5.3y, W7 6.7y (5-10); W6 3.7y (2-5); W8 0.6y, W12 1.7y (under 2)
    assert [v[f"service_{b}_years_headcount"] for b in ("under_2", "2_to_5", "5_to_10")] == [2, 1, 3]
    assert v["stability_index_rate"] == 83.3            # 5 of 6 with a year's service (not W8)
    # Post-qualifying experience, for the 4 in post with a date: W1 14y, W4 5.7y, W12 2.2y, W8 0.7y
    assert [v[f"pqe_{b}_years_headcount"] for b in ("under_2", "2_to_5", "5_to_10", "10_plus")] == [1, 1, 1, 1]
    assert v["leavers_reason_resignation_headcount"] == 1  # W2
    assert v["leavers_reason_retired_headcount"] == 1      # W3
    assert v["starters_origin_newly_qualified_headcount"] == 2
    # 12-month cohort: NQSWs starting 1 Oct 2022-30 Sep 2023: W11 (left after 9 months), W12 (stayed)
    assert (v["nqsw_cohort_12m_headcount"], v["nqsw_retained_12m_headcount"], v["nqsw_retention_12m_rate"]) == (2, 1, 50.0)


def test_small_counts_suppressed_and_ids_never_output(extract):
    figures = align(extract)
    f = {x.measure_id: x for x in figures}
    assert f["agency_headcount"].symbol == "c" and f["agency_headcount"].value is None
    assert f["agency_rate_fte"].symbol == "c"
    assert f["inpost_headcount"].value == 6
    for fmt in ("json", "csv", "table"):
        text = render(figures, fmt)
        assert "AB00000000" not in text and "ab00000000" not in text
    # provenance: the number of records only as a band, so that nothing can be subtracted from it
    assert json.loads(render(figures, "json"))[0]["rows_used"] == "fewer than 50 records"
    assert json.loads(render(figures, "json"))[0]["source_file"] == extract.name   # the base name, never the path


def test_worker_ids_hashed_with_salt():
    import pandas as pd
    codes, uniques = pd.factorize(pd.Series(["AB1", "ab1 ", "CD2"]))
    a = pseudonymise(codes, uniques, b"salt-one")
    assert a[0] == a[1] != a[2]
    assert list(pseudonymise(codes, uniques, b"salt-two")) == list(a)  # codes, not hashes: only equality survives


def test_two_extracts_same_figures_whatever_the_salt(extract, monkeypatch):
    monkeypatch.setenv("CSWW_SALT", "one")
    first = values(align(extract, min_count=0))
    monkeypatch.setenv("CSWW_SALT", "two")
    assert values(align(extract, min_count=0)) == first


def test_bad_worker_extract_reports_every_problem(tmp_path):
    rows = [
        ("AB0000000001", 0, "-0.5", "2015-01-05", "", "", "", 3, 1, "", ""),
        ("AB0000000002", 0, "1.2", "2020-03-01", "2019-01-01", "", "", 3, 1, "", ""),
        ("AB0000000003", 2, "1", "2024-11-01", "", "", "", 3, 1, "", ""),
        ("AB0000000004", 0, "1", "31/02/2020", "2025-01-31", "", "11", 3.5, 1, "", ""),
    ]
    path = write(tmp_path / "bad.csv", rows)
    with pytest.raises(InputError) as err:
        align(path)
    text = str(err.value)
    f = str(path)
    for piece in [
        f"{f}, row 2, column fte: must not be below 0",
        f"{f}, row 3, column fte: must not be above 1",
        f"{f}, row 3, column end_date: is before start_date",
        f"{f}, row 4, column agency, value '2': must be one of 0, 1",     # codes are shown, nothing else
        f"{f}, row 4, column start_date: is after the reference date 2024-09-30",
        f"{f}, row 5, column start_date: not a date",
        f"{f}, row 5, column end_date: is after the reference date",
        f"{f}, row 5, column leave_reason, value '11': must be one of",
        f"{f}, row 5, column cases: must be a whole number",
    ]:
        assert piece in text, piece
    # a worker-level file's cells are never echoed: not the ids, not the values
    assert text.count("value") == 2 and "AB000" not in text and "31/02/2020" not in text
    assert len(err.value.problems) == 9


def test_a_name_in_the_area_code_column_is_never_shown(tmp_path):
    """A worker-level file's area_code cell may hold anything (a name pasted one column off): the messages give the
    DfE LA numbers among the codes and count the rest."""
    path = write(tmp_path / "x.csv")
    text = path.read_text().splitlines()
    text[1] = "Mary Jane Watson" + text[1][len("841"):]
    path.write_text("\n".join(text) + "\n")
    with pytest.raises(InputError) as err:
        align(path)
    assert str(err.value).splitlines()[1:] == [
        f"{path}, column area_code: more than one council in one extract: 841, 1 value that is not a DfE LA number "
        "(not shown: a worker-level file)",
        f"{path}, column area_code: must be a DfE 3-digit LA number (old_la_code), e.g. 841 or 314 / 318"]
    assert "Mary" not in str(err.value)


def test_missing_and_unknown_columns(tmp_path):
    path = tmp_path / "cols.csv"
    path.write_text("area_code,worker_id,agency,fte,start_date,reference_date,salary\n841,AB1,0,1,2020-01-01,2024-09-30,30000\n")
    with pytest.raises(InputError) as err:
        align(path)
    text = str(err.value)
    assert f"{path}, row 1, column end_date: required column is missing" in text
    assert f"{path}, row 1, column salary: unknown column" in text


def test_xlsx_extract_reads_like_csv(extract, tmp_path):
    import pandas as pd
    df = pd.read_csv(extract, dtype=str, keep_default_na=False)
    xlsx = tmp_path / "hr_extract.xlsx"
    df.to_excel(xlsx, index=False)
    assert values(align(xlsx, min_count=0)) == values(align(extract, min_count=0))


def test_rejoiner_is_a_leaver_and_a_starter(tmp_path):
    rows = [("AB0000000001", 0, "1", "2015-01-05", "2023-12-31", "2", "1", 0, 0, "", ""),
            ("AB0000000001", 0, "0.5", "2024-03-01", "", "2", "", 0, 0, "", "")]
    v = values(align(write(tmp_path / "x.csv", rows), min_count=0))
    assert (v["leavers_headcount"], v["starters_headcount"], v["inpost_headcount"]) == (1, 1, 1)
    assert (v["leavers_fte"], v["starters_fte"], v["inpost_fte"]) == (1.0, 0.5, 0.5)
    assert v["stable_headcount"] == 0          # continuous service restarts on 1 March 2024


@settings(max_examples=30, deadline=None)
@given(st.permutations(ROWS), st.sampled_from(["lower", "pad", "same"]))
def test_row_order_and_id_spelling_do_not_change_figures(tmp_path_factory, rows, spelling):
    respell = {"lower": str.lower, "pad": lambda s: f"  {s} ", "same": str}[spelling]
    rows = [(respell(r[0]), *r[1:]) for r in rows]
    path = write(tmp_path_factory.mktemp("h") / "x.csv", rows)
    assert values(align(path, min_count=0)) == values(align(write(path.with_name("y.csv")), min_count=0))


# --- Census element names as columns (issue 11 item 6) ---------------------------------------------------------

def test_flat_census_file_reads_like_the_census_xml(tmp_path):
    import xml.etree.ElementTree as ET
    census = Path(__file__).parent / "fixtures" / "csww_census_2023_valid.xml"
    root = ET.parse(census).getroot()
    items = ["SWENo", "AgencyWorker", "FTE", "FTE30", "QualInst", "RoleStartDate", "RoleEndDate", "StartOrigin",
             "ReasonLeave", "Cases30", "WorkingDaysLost"]
    path = tmp_path / "flat_census.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["LEA", "ReferenceDate", *items])
        for r in root.findall("CSWWWorker"):
            w.writerow(["841", "2023-09-30", *[(r.findtext(i) or "").strip() for i in items]])
    flat, xml = values(align(path, min_count=0)), values(align(census, min_count=0))
    same = ["inpost_fte", "inpost_headcount", "starters_fte", "leavers_fte", "leavers_headcount", "agency_fte",
            "agency_headcount", "cases", "case_holders_fte", "working_days_lost_fte", "stability_index_rate",
            "leavers_reason_resignation_headcount", "starters_origin_newly_qualified_headcount"]
    assert {k: flat[k] for k in same} == {k: xml[k] for k in same}
    assert flat["leavers_fte"] == 0.6                                  # the leaver's FTE 0 read from FTE30
    path.write_text(path.read_text().replace("RoleStartDate", "RoleStartdate"))
    with pytest.raises(InputError) as err:
        align(path)
    assert "column RoleStartdate: unknown column" in str(err.value)


# --- Nothing personal derivable (issue 11 item 7) --------------------------------------------------------------

CASE = Path(__file__).resolve().parent.parent.parent / "shared" / "cases" / "local" / "hr_extract_one_suppressed_reason.csv"
needs_case = pytest.mark.skipif(not CASE.exists(), reason="../shared/cases/local is missing")


def _catalogue_group(prefix):
    from benchmark import measures
    return [m for m in measures.catalogue() if m.startswith(prefix) and m.endswith("_headcount")]


def attack(figures) -> dict[str, float]:
    """Every count a reader can work out from the published figures: a table's one unknown cell by subtracting
    the others from its total (or the total by adding its parts), a rate's count from the rate and its
    denominator, a denominator from a rate and its count; repeated until nothing new is found."""
    from benchmark import measures
    known = {f.measure_id: f.value for f in figures if f.value is not None}
    tables = [("leavers_headcount", _catalogue_group("leavers_reason_")),
              ("starters_headcount", _catalogue_group("starters_origin_")),
              ("inpost_headcount", _catalogue_group("service_")), ("inpost_headcount", _catalogue_group("pqe_")),
              ("case holders", _catalogue_group("caseload_")),
              ("inpost_headcount", ["stable_2y_headcount", "service_under_2_years_headcount"]),
              ("inpost_headcount", ["stable_5y_headcount", "service_under_2_years_headcount",
                                    "service_2_to_5_years_headcount"])]
    rates = [measures.get(f.measure_id) for f in figures if f.value is not None and measures.get(f.measure_id).is_rate]
    found = True
    while found:
        found = False
        for m in rates:
            den = m.denominator_ids[0] if len(m.denominator_ids) == 1 else "case holders" \
                if m.numerator.startswith("caseload_") else "+".join(m.denominator_ids)
            rate = known[m.id]
            if m.numerator in known and den not in known and rate:
                known[den], found = round(known[m.numerator] * 100 / rate), True
            if den in known and m.numerator not in known and len(m.denominator_ids) == 1:
                known[m.numerator], found = round(rate * known[den] / 100), True
        for total, parts in tables:
            parts = [p for p in parts if any(f.measure_id == p for f in figures)]
            missing = [p for p in parts if p not in known]
            if total in known and len(missing) == 1:
                known[missing[0]] = known[total] - sum(known[p] for p in parts if p in known)
                found = True
            elif total not in known and not missing and parts:
                known[total], found = sum(known[p] for p in parts), True
    return known


def bounds(figures) -> dict[str, float]:
    """Lower bounds on agency counts from published pairs that count council and agency workers together beside
    a council-only figure: case holders' FTE less FTE in post, case holders by caseload band less headcount in
    post. A bound above zero tells something about a suppressed agency count."""
    known = {f.measure_id: f.value for f in figures if f.value is not None}
    out = {}
    if {"case_holders_fte", "inpost_fte"} <= set(known):
        out["agency_fte"] = known["case_holders_fte"] - known["inpost_fte"]
    bands = _catalogue_group("caseload_")
    if "inpost_headcount" in known and any(b in known for b in bands):
        out["agency_headcount"] = sum(known.get(b, 0) for b in bands) - known["inpost_headcount"]
    return out


@needs_case
def test_no_suppressed_count_can_be_recovered_by_subtraction():
    figures = align(CASE)
    f = {x.measure_id: x for x in figures}
    # the breakdowns of the issue: leavers 9 (resignation 8, deceased 1); starters 7 (newly qualified 5, other LA 2)
    assert (f["leavers_headcount"].value, f["leavers_reason_deceased_headcount"].symbol) == (9, "c")
    assert (f["starters_headcount"].value, f["starters_origin_other_la_headcount"].symbol) == (7, "c")
    assert f["leavers_reason_retired_headcount"].value == 0             # zeros are published, and add nothing
    suppressed = [x.measure_id for x in figures if x.symbol == "c"]
    assert {"leavers_reason_deceased_headcount", "leavers_reason_resignation_headcount",
            "starters_origin_other_la_headcount", "starters_origin_newly_qualified_headcount",
            "agency_headcount"} <= set(suppressed)
    recovered = attack(figures)
    assert not set(recovered) & set(suppressed), sorted(set(recovered) & set(suppressed))
    # the attack does find what is published: it would catch a single suppressed cell
    unprotected = [x if x.measure_id != "leavers_reason_resignation_headcount" else
                   type(x)(**{**x.__dict__, "value": 8, "symbol": None}) for x in figures]
    assert attack(unprotected)["leavers_reason_deceased_headcount"] == 1
    assert "by subtraction" in f["leavers_reason_resignation_headcount"].caveat
    # The agency FTE (3 agency case holders, every council worker in post holds cases) is suppressed; case
    # holders' FTE 42.0 less FTE in post 39.0 would give it exactly, so case holders' FTE is suppressed too.
    assert f["agency_fte"].symbol == "c" and f["case_holders_fte"].symbol == "c"
    assert "includes agency workers" in f["case_holders_fte"].caveat
    assert all(b <= 0 for a, b in bounds(figures).items() if f[a].symbol == "c"), bounds(figures)
    assert f["cases"].value == 588 and f["inpost_fte"].value == 39.0  # what does not bound it stays published
    # the bound is found when the pair is published
    leaky = [x if x.measure_id != "case_holders_fte" else type(x)(**{**x.__dict__, "value": 42.0, "symbol": None})
             for x in figures]
    assert bounds(leaky)["agency_fte"] == 3.0
    assert f["nqsw_starters_rate"].symbol == "c"                      # 5 of 7 would give the newly qualified 5
    # one person's 123.5 days lost is a sum of one contributor: dominance, and every rate built on it
    assert [f[m].symbol for m in ("working_days_lost_fte", "absence_rate_fte", "days_lost_per_fte")] == ["c"] * 3
    # "52 of 52 records" gave the agency headcount away: only a band is published; the path never
    assert {x.rows_used for x in figures} == {"50 to 99 records"}
    assert {x.source_file for x in figures} == {CASE.name}
    for fmt in ("json", "csv", "table"):
        text = render(figures, fmt)
        assert "Jane" not in text and "SWQX" not in text and "123.5" not in text and str(CASE.parent) not in text


def test_dominance_rule_for_days_lost_and_cases(tmp_path):
    rows = [(f"AB00000000{i:02d}", 0, "1", "2015-01-05", "", "2", "", 10, 1, "", "") for i in range(1, 7)]
    even = values(align(write(tmp_path / "even.csv", rows)))
    assert (even["working_days_lost_fte"], even["cases"]) == (6, 60)          # six contributors, none dominant
    rows[0] = rows[0][:7] + (60, 7) + rows[0][9:]                           # one holds 60 of 110 cases, 7 of 12 days
    heavy = {x.measure_id: x for x in align(write(tmp_path / "heavy.csv", rows))}
    for m in ("working_days_lost_fte", "cases", "caseload_fte", "absence_rate_fte"):
        assert heavy[m].symbol == "c", m
    assert "one person accounts for more than half" in heavy["cases"].caveat
    assert heavy["inpost_headcount"].value == 6
    rows = [r[:8] + (0,) + r[9:] for r in rows[:6]]
    rows[1] = rows[1][:8] + (3,) + rows[1][9:]
    few = values(align(write(tmp_path / "few.csv", rows)))
    assert few["working_days_lost_fte"] is None                            # 3 days, all one person's


def test_error_messages_about_worker_files_mask_the_value(tmp_path):
    rows = [("Jane Q. Doe", 0, "1", "2015-01-05", "", "2", "", 10, "lots", "", "")]
    with pytest.raises(InputError) as err:
        align(write(tmp_path / "x.csv", rows))
    (p,) = err.value.problems
    assert (p.row, p.column, p.value) == (2, "working_days_lost", None)
    assert "lots" not in str(err.value) and "Jane" not in str(err.value)


def test_no_message_about_a_worker_file_shows_a_cell_first_record_or_later(tmp_path):
    import pandas as pd
    rows = [("AB0000000001", 0, "1", "Jane Doe", "", "2", "", "ZZ9000000002", 1, "", ""),      # first record
            *ROWS[1:4],
            ("AB0000000005", 0, "1", "John Roe", "", "2", "", "XY1234567890", 1, "", "")]      # a later one
    path = write(tmp_path / "leaky.csv", rows)
    xlsx = tmp_path / "leaky.xlsx"
    pd.read_csv(path, dtype=str, keep_default_na=False).to_excel(xlsx, index=False)
    for f in (path, xlsx):
        with pytest.raises(InputError) as err:
            align(f)
        assert sorted((p.row, p.column, p.value) for p in err.value.problems) == [
            (2, "cases", None), (2, "start_date", None), (6, "cases", None), (6, "start_date", None)]
        for secret in ("Jane", "John", "ZZ9000000002", "XY1234567890"):
            assert secret not in str(err.value)


def test_a_decimal_comma_in_a_comma_separated_extract_is_a_problem_never_a_number(tmp_path):
    # review item 3: "2,5" days were read as 25, "1.234,5" as 1.2345 and an FTE "0,8" as 8 (then "above 1")
    rows = [ROWS[0][:8] + ("2,5",) + ROWS[0][9:], ROWS[1][:8] + ("1.234,5",) + ROWS[1][9:],
            ROWS[2][:2] + ("0,8",) + ROWS[2][3:], *ROWS[3:]]
    with pytest.raises(InputError) as err:
        align(write(tmp_path / "comma.csv", rows))
    assert sorted((p.row, p.column, p.value) for p in err.value.problems) == [
        (2, "working_days_lost", None), (3, "working_days_lost", None), (4, "fte", None)]
    assert all("a comma is read only as a thousands separator" in p.message for p in err.value.problems)


def test_zeros_beside_a_suppressed_total_do_not_give_away_everyones_category(tmp_path):
    # review item 4: one leaver, 'c' for the total and for compulsory redundancy, 0 for every other reason told
    # a reader that every leaver was made compulsorily redundant. W2 stays in post; W3 leaves, reason 3.
    rows = [ROWS[0], ROWS[1][:4] + ("",) + ROWS[1][5:6] + ("",) + ROWS[1][7:], ROWS[2][:6] + ("3",) + ROWS[2][7:],
            *ROWS[3:]]
    f = {x.measure_id: x for x in align(write(tmp_path / "one_leaver.csv", rows))}
    reasons = [m for m in f if m.startswith("leavers_reason_")]
    assert len(reasons) == 10 and f["leavers_headcount"].symbol == "c"
    assert {f[m].symbol for m in reasons} == {"c"} and all(f[m].value is None for m in reasons)
    assert "a 0 would show which category every one of its people is in" in f["leavers_reason_retired_headcount"].caveat
    assert values(align(write(tmp_path / "shown.csv", rows), min_count=0))["leavers_reason_compulsory_redundancy_headcount"] == 1


def test_unquoted_comma_in_a_worker_extract_is_one_problem_per_row(tmp_path):
    """Before: a comma in row 6 (not the first data row) gave pandas' "Error tokenizing data. C error: Expected 9
    fields in line 6, saw 10"; now one problem per long row, naming it, without its cells (personal data)."""
    lines = (Path(__file__).parent / "fixtures" / "workers_841_2024-03-31.csv").read_text(encoding="utf-8").splitlines()
    lines = [lines[0] + ",QualInst"] + [line + ",Teesside" for line in lines[1:]]
    lines[4] = lines[4].replace("Teesside", "London, Goldsmiths")
    lines[40] = lines[40].replace("Teesside", "Open University, Milton Keynes")
    path = tmp_path / "extract.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        align(path)
    assert [(p.row, p.column, p.value) for p in err.value.problems] == [(5, None, None), (41, None, None)]
    assert str(err.value.problems[0]).startswith(f"{path}, row 5: has 9 cells but the header row has 8: is there an "
                                                 "unquoted comma in a text cell")
    assert "Goldsmiths" not in str(err.value) and "W04" not in str(err.value)
    # blank cells beyond the last column, an unclosed quote, and every row long: one problem each, or ten and the rest
    lines[4] = lines[4].replace("London, Goldsmiths", "Teesside,,")
    lines[40] = lines[40].replace("Open University, Milton Keynes", '"Open University')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        align(path)
    assert [str(p) for p in err.value.problems] == [
        f"{path}, row 5: has 10 cells but the header row has 8; the last 2 are blank: delete the blank cells beyond "
        "the last column"]
    path.write_text("\n".join(lines[:4] + lines[5:]) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        align(path)
    assert [str(p) for p in err.value.problems] == [
        f"{path}, row 40: a double quote opens a cell in this row and is never closed, so every line after it is "
        "read as one cell: close the quote, or delete it"]
    path.write_text("\n".join([lines[0]] + [line + ",Smith, Jo" for line in lines[1:30]]) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        align(path)
    assert [p.row for p in err.value.problems] == [*range(2, 12), 12]
    assert str(err.value.problems[-1]) == f"{path}, row 12: this row and 18 more after it have more cells than the " \
                                          "header row too"


def test_coded_columns_of_a_flat_extract_are_checked(tmp_path):
    """Before: ``role`` (OrgRole) and a flat census file's LeaverDestination were accepted whatever they held."""
    lines = (Path(__file__).parent / "fixtures" / "workers_841_2024-03-31.csv").read_text(encoding="utf-8").splitlines()
    ours = [lines[0] + ",role"] + [line + (",7" if i == 3 else ",Social worker" if i == 9 else ",5")
                                   for i, line in enumerate(lines[1:], start=2)]
    path = tmp_path / "extract.csv"
    path.write_text("\n".join(ours) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        align(path)
    assert [(p.row, p.column, p.value) for p in err.value.problems] == [(3, "role", "7"), (9, "role", None)]
    census = ["SWENo,LEA,AgencyWorker,FTE,RoleStartDate,RoleEndDate,ReferenceDate,LeaverDestination,GenderCurrent"]
    census += [line + (",10,3" if i == 5 else ",,2") for i, line in enumerate(lines[1:], start=2)]
    path.write_text("\n".join(census) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        align(path)
    assert [str(p) for p in err.value.problems] == [
        f"{path}, row 5, column LeaverDestination, value '10': must be one of 1, 2, 3, 4, 5, 6, 7, 8, 9",
        f"{path}, row 5, column GenderCurrent: must be one of 0, 1, 2, 9"]  # special category: no value


def test_a_row_given_twice_is_counted_once_with_a_warning_naming_the_rows(tmp_path):
    """Before: the copy of row 2 (W01, FTE 1, in post) raised in-post FTE from 40 to 41, silently, headcount
    staying 41 (distinct ids). Now it is counted once and named; a second post of the same worker (same id, FTE
    0.5: it differs) is counted as DfE counts several posts: FTE summed, one person."""
    lines = (Path(__file__).parent / "fixtures" / "workers_841_2024-03-31.csv").read_text(encoding="utf-8").splitlines()
    path = tmp_path / "extract.csv"
    path.write_text("\n".join(lines + [lines[1]]) + "\n", encoding="utf-8")
    warnings = []
    f = {x.measure_id: x for x in align(path, min_count=1, warnings=warnings)}
    assert (f["inpost_fte"].value, f["inpost_headcount"].value) == (40.0, 41)  # as without the copy
    assert [str(w) for w in warnings] == [
        f"{path}, row 60: repeats row 2 exactly: counted once, as a copy (a worker's several posts differ in some "
        "item: role, FTE, dates, cases)"]
    assert warnings[0].severity == "warning" and "W01" not in str(warnings[0])
    assert "fewer than 5 records repeating an earlier record exactly counted once" in f["leavers_fte"].caveat
    path.write_text("\n".join(lines + [lines[1].replace(",1,2015-01-01", ",0.5,2015-01-01")]) + "\n", encoding="utf-8")
    warnings = []
    f = {x.measure_id: x for x in align(path, min_count=1, warnings=warnings)}
    assert (f["inpost_fte"].value, f["inpost_headcount"].value, warnings) == (40.5, 41, [])
    # the in-year view counts the copy once too, and csww align prints the warning on stderr
    path.write_text("\n".join(lines + [lines[1]] * 22) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["align", str(path), "--in-year", "2024-03-31", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert result.stderr.count("warning: ") == 21 and f"warning: {path}: and 2 more records repeat" in result.stderr
    rolling = {r["measure_id"]: r["value"] for r in json.loads(result.stdout)}
    assert rolling["rolling_12m_turnover_rate_fte"] == 31.5  # 12.6 / 40, as without the copies
