"""``csww compare`` for one council without pandas (issue 14, item 7): the same text as the pandas path in every
format, on the real build; pandas is never imported. Timings are in perf/compare_one.py, not here."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sqlite3
import subprocess
import sys

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from conftest import ROOT

from benchmark import compare, compare_format, compare_one, measures, store, tables
from benchmark.cli import cli
from benchmark.problems import NotFoundError

CASES = [  # council, year, measures: a unitary, a joint return, a London borough, reorganised councils, SFR years
    ("841", None, ()), ("Darlington", 2016, ()), ("314", None, ()), ("Westminster", 2020, ()), ("909", 2022, ()),
    ("942", None, ()), ("Barnet", 2015, ()), ("841", 2025, ("turnover_rate_fte", "caseload_fte", "vacancy_fte")),
]


@pytest.mark.parametrize("la, year, ids", CASES)
def test_fast_path_gives_the_pandas_path_text_in_every_format(real_db, la, year, ids):
    conn = store.connect(real_db)
    area, rows, groups = compare.council_view(conn, la, year, ids)
    found = compare_one.council_rows(conn, la, year, ids)
    assert found is not None
    assert [r["measure_id"] for r in found[1]] == rows["measure_id"].tolist()
    for fmt in ("table", "csv", "json"):  # as the CLI prints them: with DfE's published decimals (show)
        assert compare_format.show(conn, found[0], found[1], None, fmt) == \
            compare_format.show(conn, area, rows, groups, fmt)


def test_the_csv_is_what_pandas_writes(real_db):
    """The CSV writer (no pandas) against pandas' own to_csv of the same records, for every council in two years,
    whole-number columns as nullable integers: a rank is "1" even where its column has gaps (was "1.0" for
    '--la all'), gaps are empty."""
    conn = store.connect(real_db)
    for year in (2016, 2025):
        rows = compare.councils_view(conn, ["all"], year)
        recs = compare_format.records(rows, None)
        frame = pd.DataFrame(recs)
        whole = [c for c in frame if all(isinstance(r[c], int) for r in recs if r[c] is not None)
                 and any(r[c] is not None for r in recs)]
        assert {"rank", "region_rank", "rank_of", "sn_count"} <= set(whole)
        expected = frame.astype({c: "Int64" for c in whole}).to_csv(index=False, lineterminator="\n")
        assert compare_format.csv_text(recs) == expected
        text = compare_format.render({}, rows, None, "csv")
        assert text.count("\n") == len(rows) + 1
        if year == 2025:  # City of London's turnover: rank 1 of 148, 1 of 30 in Inner London (the review's "1.0")
            assert ",turnover_rate_fte,0.0,,0,,2025," in text
            line = next(x for x in text.splitlines() if x.startswith("2025,201,City of London,turnover_rate_fte,"))
            assert ",1,148,1,30,A," in line


def test_csww_compare_for_one_council_never_imports_pandas(real_db):
    """Nor, once the catalogue's parsed copy is kept (the first run keeps it), PyYAML, nor ``buildstate`` (hashlib,
    tempfile, every Table Schema): what 'csww compare --la 841' cost above the floor (issue 14 item 7)."""
    heavy = ('pandas', 'numpy', 'yaml', 'benchmark.buildstate', 'benchmark.fileio')
    code = ("import json, runpy, sys\n"
            "sys.argv = ['csww', 'compare', '--la', '841', '--format', 'json', '--db', sys.argv[1]]\n"
            "try:\n    runpy.run_module('benchmark', run_name='__main__')\nexcept SystemExit as e:\n"
            "    assert not e.code, e.code\n"
            f"print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)), file=sys.stderr)\n")
    for _ in range(2):  # the second run reads the parsed catalogue the first one kept
        run = subprocess.run([sys.executable, "-c", code, str(real_db)], capture_output=True, text=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert run.returncode == 0, run.stderr
    assert json.loads(run.stderr.strip().splitlines()[-1]) == []  # none of them
    recs = json.loads(run.stdout)
    turnover = next(r for r in recs if r["measure_id"] == "turnover_rate_fte")
    assert (turnover["area_code"], turnover["time_period"], turnover["value"]) == ("841", 2025, 15.4)
    conn = store.connect(real_db)
    area, rows, groups = compare.council_view(conn, "841")
    assert run.stdout == compare_format.show(conn, area, rows, groups, "json")


def test_errors_are_the_pandas_path_messages(real_db):
    conn = store.connect(real_db)
    for la, year, ids in [("841", 2014, ()), ("841", 2025, ("starters_fte_nope",)), ("North East", None, ()),
                          ("841", 2025, ("cin_per_sw_fte",))]:
        with pytest.raises(NotFoundError) as slow:
            compare.council_view(conn, la, year, ids)
        with pytest.raises(NotFoundError) as fast:
            compare_one.council_rows(conn, la, year, ids)
        assert (type(fast.value), str(fast.value)) == (type(slow.value), str(slow.value))


def test_a_database_without_comparisons_takes_the_pandas_path(mini_db, tmp_path):
    db = tmp_path / "csww.db"
    db.write_bytes(mini_db.read_bytes())
    before = CliRunner().invoke(cli, ["compare", "--la", "841", "--format", "csv", "--db", str(db)])
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TABLE comparisons")
    assert compare_one.council_rows(store.connect(db), "841") is None
    after = CliRunner().invoke(cli, ["compare", "--la", "841", "--format", "csv", "--db", str(db)])
    assert before.exit_code == after.exit_code == 0, after.output
    assert after.output == before.output


def test_the_parsed_catalogue_is_used_only_while_measures_yml_is_unchanged(tmp_path, monkeypatch):
    """The measure catalogue is parsed from YAML once and kept (catalogue/__pycache__, marshal); a kept copy
    whose YAML differs from the file's, or that is unreadable, is parsed again and rewritten."""
    yml = tmp_path / "measures.yml"
    yml.write_bytes(measures.CATALOGUE.read_bytes())
    monkeypatch.setattr(measures, "CATALOGUE", yml)
    try:
        measures._catalogue_file.cache_clear()
        parsed = measures._catalogue_file()
        kept = measures._compiled(yml)
        assert kept.is_file() and parsed == yaml.safe_load(yml.read_text(encoding="utf-8"))
        turnover = next(m for m in parsed["measures"] if m["id"] == "turnover_rate_fte")
        assert (turnover["label"], turnover["decimals"]) == ("Turnover rate (FTE)", 1)
        measures._catalogue_file.cache_clear()
        assert measures._catalogue_file() == parsed  # read back from the kept copy
        yml.write_text(yml.read_text(encoding="utf-8").replace("label: Turnover rate (FTE)", "label: Churn (FTE)"),
                       encoding="utf-8")
        measures._catalogue_file.cache_clear()
        edited = next(m for m in measures._catalogue_file()["measures"] if m["id"] == "turnover_rate_fte")
        assert edited["label"] == "Churn (FTE)"  # the stale copy was not used
        kept.write_bytes(b"not marshal")
        measures._catalogue_file.cache_clear()
        again = next(m for m in measures._catalogue_file()["measures"] if m["id"] == "turnover_rate_fte")
        assert again["label"] == "Churn (FTE)" and kept.stat().st_size > 1000  # parsed again and rewritten
    finally:
        monkeypatch.undo()
        measures._catalogue_file.cache_clear()
        measures.catalogue.cache_clear()


def _cells(text: str, label: str) -> list[str]:
    """The cells of the table row starting with ``label`` (columns are two or more spaces apart)."""
    line = next(x for x in text.splitlines() if x.startswith(label + " "))
    return re.split(r"\s{2,}", line.strip())


def test_sfr_years_at_the_decimals_dfe_published(real_db):
    """2015 and 2016 (DfE's SFR releases) as DfE published them, as the packs and the site show them
    (``formatting.dfe_decimals``): Darlington's 2015 turnover 19 (England 16, North East 13), England's 2015 social
    workers 26,500 and 2016's 27,700, never 19.0 or 26,500.0; 2016's own rates with their decimal (33.7). The
    change 2015 -> 2016 (33.7 - 19) is the toolkit's figure, at the catalogue's one decimal as the packs show it;
    2025 keeps its decimal (15.4)."""
    run = CliRunner()

    def compare_cmd(*args):
        r = run.invoke(cli, ["compare", "--db", str(real_db), *args])
        assert r.exit_code == 0, r.output
        return r.output
    text = compare_cmd("--la", "841", "--year", "2015")
    assert _cells(text, "Turnover rate (FTE)")[1:4] == ["19", "16", "13"]
    assert _cells(text, "Social workers in post (FTE)")[1:4] == ["71.8", "26,500", "1,680"]
    assert "19.0" not in _cells(text, "Turnover rate (FTE)") and "26,500.0" not in text
    later = _cells(compare_cmd("--la", "841", "--year", "2016"), "Turnover rate (FTE)")
    assert later[1:4] == ["33.7", "15.1", "15.7"] and later[9] == "+14.7"
    assert _cells(compare_cmd("--la", "841", "--year", "2016"), "Social workers in post (FTE)")[2] == "27,700"
    assert _cells(compare_cmd("--la", "841", "--year", "2025"), "Turnover rate (FTE)")[1] == "15.4"
    rows = list(csv.DictReader(io.StringIO(compare_cmd("--la", "841", "--year", "2015", "--format", "csv"))))
    turnover = next(r for r in rows if r["measure_id"] == "turnover_rate_fte")
    inpost = next(r for r in rows if r["measure_id"] == "inpost_fte")
    assert (turnover["value"], turnover["england"], turnover["region"]) == ("19", "16", "13")
    assert (inpost["value"], inpost["england"]) == ("71.8", "26500")
    recs = json.loads(compare_cmd("--la", "841", "--year", "2015", "--format", "json"))
    assert [(repr(r["value"]), repr(r["england"])) for r in recs if r["measure_id"] == "turnover_rate_fte"] \
        == [("19", "16")]
    assert '"england": 26500,' in compare_cmd("--la", "841", "--year", "2015", "--format", "json")
    every = compare_cmd("--la", "all", "--year", "2015", "--format", "csv")
    assert "\n2015,841,Darlington,turnover_rate_fte,19,,0,,2015,16,E12000001,North East,13," in every
    both = compare_cmd("--la", "841", "--la", "390", "--year", "2015")
    assert both.count("26,500") == 2 and "26,500.0" not in both


def test_a_joint_return_says_so_in_the_packs_words(real_db):
    """``csww compare --la 941`` (and 314 in 2024) says the figures are the joint return's, in the packs' sentence
    (``councils.joint_words``); 314 in 2015, when Kingston returned alone, does not; the CSV keeps its columns."""
    run = CliRunner()
    out = run.invoke(cli, ["compare", "--la", "941", "--db", str(real_db)]).output
    assert out.splitlines()[2] == (
        "North Northamptonshire and West Northamptonshire make one joint return to DfE (940 / 941): every figure "
        "here is the joint return's, for North Northamptonshire and West Northamptonshire together.")
    assert out.splitlines()[0].endswith("reporting year to 30 September 2025")
    out = run.invoke(cli, ["compare", "--la", "314", "--year", "2024", "--db", str(real_db)]).output
    assert ("Kingston upon Thames and Richmond upon Thames make one joint return to DfE (314 / 318): every figure "
            "here is the joint return's, for Kingston upon Thames and Richmond upon Thames together.") in out
    out = run.invoke(cli, ["compare", "--la", "314", "--year", "2015", "--db", str(real_db)]).output
    assert out.startswith("Kingston upon Thames (314)") and "joint return to DfE" not in out
    head = run.invoke(cli, ["compare", "--la", "941", "--format", "csv", "--db", str(real_db)]).output.splitlines()[0]
    assert head.split(",") == tables.columns("comparisons")
