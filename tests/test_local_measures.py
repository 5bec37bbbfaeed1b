"""Issue #11 items 4 and 5: the richer local measures, the council's own categories, internal and quoted
comparators, and local counts kept at the precision the council gave.

The worker extract below is hand-made in groups of identical workers (5 or more each, so that nothing is
suppressed); every expected value is counted by hand in the comments. Reference date 30 September 2024: the
year runs 1 October 2023 to 30 September 2024.
"""

import csv
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from benchmark.cli import cli
from benchmark.local import InputError, align, check_quoted
from benchmark.local.store import load_files

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
REF = "2024-09-30"
COLUMNS = ["worker_id", "agency", "fte", "start_date", "end_date", "reference_date", "qualification_date",
           "asye_start_date", "asye_end_date", "asye_deferred", "leave_reason"]
# (group, size, agency, start, end, qualified, ASYE started, ASYE completed, deferred, leaving reason)
GROUPS = [
    ("A", 10, 0, "2010-01-01", "", "2005-06-01", "", "", "", ""),              # long-serving, in post
    ("B", 6, 0, "2021-06-01", "", "2015-06-01", "", "", "", ""),               # 3 years 4 months' service
    ("C", 5, 0, "2023-01-15", "", "2022-07-01", "2023-01-15", "2024-01-20", "", ""),  # ASYE completed in-year
    ("D1", 5, 0, "2023-11-01", "", "2023-07-01", "2023-11-01", "", "1", ""),   # NQ starters, ASYE deferred
    ("D2", 2, 0, "2023-11-01", "", "2023-07-01", "2023-11-01", "", "0", ""),   # NQ starters, ASYE under way
    ("E", 5, 0, "2024-02-01", "", "2012-01-01", "", "", "", ""),               # experienced starters
    ("F", 5, 0, "2023-03-01", "2024-05-31", "2022-09-01", "2023-03-01", "", "", "Relocation"),  # left mid-ASYE
    ("G", 5, 0, "2022-01-10", "2024-03-31", "2021-07-01", "2022-01-10", "2023-01-20", "", "Career break"),
    ("H", 6, 0, "2015-01-01", "2024-06-30", "2010-01-01", "", "", "", "Retirement"),  # experienced leavers
    ("I", 5, 1, "2023-01-01", "", "", "", "", "", ""),                          # agency, with us 21 months
    ("J", 5, 1, "2024-03-01", "", "", "", "", "", ""),                          # agency, 7 months
]


def _extract(tmp_path: Path, reasons: bool = False) -> Path:
    path = tmp_path / "hr.csv"
    cols = COLUMNS if reasons else COLUMNS[:-1]
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["area_code", *cols])
        for g, n, agency, start, end, qual, a_start, a_end, deferred, reason in GROUPS:
            for k in range(n):
                row = [f"SW{g}{k:03d}", agency, "1", start, end, REF, qual, a_start, a_end, deferred, reason]
                w.writerow(["841", *row[:len(cols)]])
    return path


def _by_id(figures):
    return {f.measure_id: f for f in figures}


def test_richer_measures_from_a_hand_made_worker_extract(tmp_path):
    f = _by_id(align(_extract(tmp_path)))
    got = lambda i: (f[i].value, f[i].symbol)  # noqa: E731
    # In post (LA): A 10 + B 6 + C 5 + D 7 + E 5 = 33.
    assert got("inpost_headcount") == (33, None)
    # Stability: service since on or before 1 Oct 2023 (1 year): A, B, C = 21; 1 Oct 2022 (2 years): A, B = 16;
    # 1 Oct 2019 (5 years): A = 10. Rates: 16/33 = 48.48 -> 48.5; 10/33 = 30.30 -> 30.3.
    assert got("stable_headcount") == (21, None)
    assert got("stable_2y_headcount") == (16, None) and got("stability_2y_rate") == (48.5, None)
    assert got("stable_5y_headcount") == (10, None) and got("stability_5y_rate") == (30.3, None)
    # ...and they agree with the service bands: under 2 years = 33 - 16 = 17.
    assert got("service_under_2_years_headcount") == (17, None)
    # ASYE funnel: registered in the year D1 + D2 = 7 (C, F, G registered before 1 Oct 2023); completed in the
    # year C = 5 (G completed in January 2023); deferred at 30 Sep: D1 = 5; left before completing: F = 5; left
    # within 24 months after completing: G = 5 (completed 20 Jan 2023, left 31 Mar 2024).
    assert got("asye_registered_headcount") == (7, None)
    assert got("asye_completed_headcount") == (5, None)
    assert got("asye_deferred_headcount") == (5, None)
    assert got("asye_left_before_completing_headcount") == (5, None)
    assert got("asye_left_after_completing_headcount") == (5, None)
    # Starters in the year: D 7 (qualified Jul 2023, < 2 years before starting Nov 2023: newly qualified) and
    # E 5 (qualified 2012: experienced) = 12; newly qualified share 7/12 = 58.33 -> 58.3.
    assert got("starters_headcount") == (12, None)
    assert (got("starters_nq_headcount"), got("starters_experienced_headcount")) == ((7, None), (5, None))
    assert got("starters_nq_rate") == (58.3, None)
    # Leavers in the year: F 5 (qualified Sep 2022, left May 2024: under 2 years, newly qualified), G 5
    # (qualified Jul 2021, left Mar 2024: 2 years 9 months, experienced), H 6 (experienced) = 16;
    # newly qualified share 5/16 = 31.25 -> 31.3 (DfE's round half up).
    assert got("leavers_headcount") == (16, None)
    assert (got("leavers_nq_headcount"), got("leavers_experienced_headcount")) == ((5, None), (11, None))
    assert got("leavers_nq_rate") == (31.3, None)
    # Agency in post: I 5 + J 5 = 10; with the council 12 months or more (started on or before 1 Oct 2023): I = 5;
    # 5/10 = 50.0 %.
    assert got("agency_headcount") == (10, None)
    assert got("agency_over_12m_headcount") == (5, None) and got("agency_tenure_12m_rate") == (50.0, None)
    # Each local measure carries its catalogue caveat; its rate its formula.
    assert "current unbroken spell" in f["stable_2y_headcount"].caveat
    assert "stable_2y_headcount / (inpost_headcount)" in f["stability_2y_rate"].basis


def test_a_small_asye_count_is_suppressed_and_cannot_be_worked_out(tmp_path):
    # Keep one of H's six experienced leavers: leavers 11 = F 5 (left before completing the ASYE) + G 5 (left
    # after completing it) + 1 with no ASYE. Published in full, 11 - 5 - 5 would single out that one leaver,
    # so one of the two ASYE leaver counts is suppressed as well.
    path = _extract(tmp_path)
    rows = path.read_text().splitlines()
    kept = [r for r in rows if not r.startswith("841,SWH") or r.startswith("841,SWH000")]
    path.write_text("\n".join(kept) + "\n")
    f = _by_id(align(path))
    assert f["leavers_headcount"].value == 11
    left = [f["asye_left_before_completing_headcount"], f["asye_left_after_completing_headcount"]]
    assert [x.symbol for x in left].count("c") >= 1, [(x.value, x.symbol) for x in left]
    assert "by subtraction" in " ".join(x.caveat for x in left)


def _mapping(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "categories.csv"
    path.write_text("column,local_category,dfe_code\n"
                    "leave_reason,Relocation,1\n"           # resignation
                    "leave_reason,retirement,5\n"           # matched ignoring case
                    "leave_reason,Career break,\n"          # kept as the council's own
                    "leave_reason,Secondment ended,\n" + extra)  # kept, unused: named all the same
    return path


def test_own_categories_mapped_to_dfe_codes(tmp_path):
    extract = _extract(tmp_path, reasons=True)
    f = _by_id(align(extract, categories=_mapping(tmp_path)))
    # F 5 Relocation -> resignation (1); H 6 Retirement -> retired (5); G 5 Career break kept local.
    assert f["leavers_reason_resignation_headcount"].value == 5
    assert f["leavers_reason_retired_headcount"].value == 6
    assert f["leavers_reason_unmapped_headcount"].value == 5
    assert f["leavers_reason_other_headcount"].value == 0
    assert not f["leavers_reason_unmapped_headcount"].comparable
    assert "Career break, Secondment ended" in f["leavers_reason_unmapped_headcount"].caveat
    # Without a mapping, the categories are problems naming the row and column, pointing at --categories.
    with pytest.raises(InputError) as e:
        align(extract)
    first = e.value.problems[0]
    assert (first.column, first.row) == ("leave_reason", 2 + 10 + 6 + 5 + 7 + 5)  # the first of F's rows
    assert "--categories" in first.message and first.value is None  # a worker-level cell is masked
    # A category neither coded nor in the mapping is named too.
    with pytest.raises(InputError) as e:
        align(extract, categories=_mapping(tmp_path).parent / "missing.csv")
    assert "no such file" in e.value.problems[0].message
    bad = tmp_path / "bad.csv"
    bad.write_text("column,local_category,dfe_code\nleave_reason,Relocation,12\n")
    with pytest.raises(InputError) as e:
        align(extract, categories=bad)
    assert (e.value.problems[0].row, e.value.problems[0].column, e.value.problems[0].value) == (2, "dfe_code", "12")


def test_cli_categories_option(tmp_path):
    extract = _extract(tmp_path, reasons=True)
    res = CliRunner().invoke(cli, ["align", str(extract), "--categories", str(_mapping(tmp_path)),
                                   "--format", "json", "--db", str(tmp_path / "none.db")])
    assert res.exit_code == 0, res.output
    rec = {r["measure_id"]: r for r in json.loads(res.output)}
    assert rec["leavers_reason_unmapped_headcount"]["value"] == 5


def _template(tmp_path: Path, header: str, row: str) -> Path:
    path = tmp_path / "return.csv"
    path.write_text(f"area_code,period_start,period_end,{header}\n841,2023-10-01,2024-09-30,{row}\n")
    return path


def test_template_takes_the_new_measures_comparators_and_keeps_the_councils_precision(tmp_path):
    path = _template(tmp_path, "inpost_fte,inpost_headcount,leavers_fte,stable_2y_headcount,agency_headcount,"
                     "agency_over_12m_headcount,comparator_turnover_rate_fte,comparator_turnover_rate_fte_name",
                     "68.39,80,10.25,40,12,3,15.02,council-wide")
    f = _by_id(align(path))
    assert f["inpost_fte"].value == 68.39          # as the council gave it, not 68.4
    assert f["leavers_fte"].value == 10.25
    # turnover = 10.25 / 68.39 = 14.99 %, at DfE's one decimal: 15.0
    assert f["turnover_rate_fte"].value == 15.0
    assert (f["turnover_rate_fte"].comparator_value, f["turnover_rate_fte"].comparator_name) == (15.02, "council-wide")
    assert f["stability_2y_rate"].value == 50.0     # 40 / 80
    assert f["agency_tenure_12m_rate"].value == 25.0  # 3 / 12: an aggregate return is shown as given
    rec = f["turnover_rate_fte"].record()
    assert rec["comparator_value"] == 15.02 and rec["quoted_match"] == ""


def test_quoted_comparator_without_a_database(tmp_path):
    path = _template(tmp_path, "quoted_vacancy_rate_fte,quoted_vacancy_rate_fte_area", "16.5,England")
    f = _by_id(check_quoted(align(path), tmp_path / "none.db"))
    assert f["vacancy_rate_fte"].quoted_value == 16.5
    assert f["vacancy_rate_fte"].quoted_match.startswith("not checked: no database")


def test_middlesbrough_quoted_comparators_are_england_2018(real_db, tmp_path):
    # Middlesbrough's January 2020 report: "a vacancy rate of 3.95%, compared with the national average of
    # 16.5%" and "3.15% ... agency staff. This figure was 15.4% nationally" (seed 003). DfE's England figures:
    # vacancy 2018 16.5, 2019 16.4; agency 2018 15.4, 2019 15.8, 2020 15.4. The return is set beside 2019.
    res = CliRunner().invoke(cli, ["align", str(EXAMPLES / "middlesbrough.csv"), "--db", str(real_db),
                                   "--format", "json"])
    assert res.exit_code == 0, res.output
    rec = {r["measure_id"]: r for r in json.loads(res.output)}
    vac, agency = rec["vacancy_rate_fte"], rec["agency_rate_fte"]
    assert (vac["dfe_year"], vac["quoted_value"], vac["quoted_area"]) == (2019, 16.5, "England")
    assert vac["quoted_match"].startswith("matches England 2018 (16.5), not 2019")
    assert "DfE's England 2019 is 16.4" in vac["quoted_match"]
    assert agency["quoted_match"].startswith("matches England 2018 and 2020 (15.4), not 2019")
    assert "DfE's England 2019 is 15.8" in agency["quoted_match"]
    # the quoted figures together point at one census: 2018
    assert "all match 2018" in vac["quoted_match"] and "all match 2018" in agency["quoted_match"]
    # A region by name (North East vacancy: 10.0 in 2018, 7.9 in 2019), and an area the database does not know
    figures = [x for x in align(EXAMPLES / "middlesbrough.csv") if x.quoted_value is not None]
    region = {x.measure_id: x.quoted_match for x in
              check_quoted([type(x)(**{**x.__dict__, "quoted_area": "North East"}) for x in figures], real_db)}
    assert region["vacancy_rate_fte"].startswith("matches no North East figure DfE published (2015: 8.0, ")
    assert "2018: 10.0, 2019: 7.9" in region["vacancy_rate_fte"]
    nowhere = check_quoted([type(x)(**{**x.__dict__, "quoted_area": "Atlantis"}) for x in figures], real_db)
    assert nowhere[0].quoted_match == "not checked: no area called 'Atlantis' in the database"
    # csww build --local: checked against the database being built, and stored in local_observations
    db = tmp_path / "csww.db"
    shutil.copy(real_db, db)
    with sqlite3.connect(db) as conn:
        load_files(conn, [EXAMPLES / "middlesbrough.csv"])
        stored = dict(conn.execute("SELECT measure_id, quoted_match FROM local_observations "
                                   "WHERE quoted_value = 16.5").fetchall())
    conn.close()
    assert stored["vacancy_rate_fte"] == vac["quoted_match"]
