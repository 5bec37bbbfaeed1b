"""``csww compare`` for one council without pandas (issue 14, item 7): the same text as the pandas path in every
format, on the real build; pandas is never imported. Timings are in perf/compare_one.py, not here."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from conftest import ROOT

from benchmark import compare, compare_format, compare_one, measures, store
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
    for fmt in ("table", "csv", "json"):
        assert compare_format.render(found[0], found[1], None, fmt) == compare_format.render(area, rows, groups, fmt)


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
    assert run.stdout == compare_format.render(area, rows, groups, "json")


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
