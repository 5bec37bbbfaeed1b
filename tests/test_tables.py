"""The Table Schemas are the one definition of every table (issue 10 item 1): SQL, column lists, ``csww compare``
output, the data package and docs/tables.md all follow them."""

from __future__ import annotations

import ast
import csv
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from benchmark import compare, docs, store, tables
from benchmark.cli import cli
from benchmark.local import store as local_store

FIXTURES = Path(__file__).resolve().parent / "fixtures"
BENCHMARK = Path(__file__).resolve().parent.parent / "benchmark"
EXTRA = {"name": "note_extra", "type": "string", "title": "Extra note",
         "description": "A column added in a test fixture, to show a schema change reaches everything."}


def test_a_column_added_to_a_schema_reaches_sql_compare_package_and_docs(tmp_path, monkeypatch):
    folder = tmp_path / "schemas"
    shutil.copytree(tables.SCHEMAS, folder)
    path = folder / "comparisons.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    schema["fields"].append(EXTRA)
    path.write_text(json.dumps(schema, indent=2), encoding="utf-8")
    monkeypatch.setenv(tables.SCHEMA_DIR_ENV, str(folder))
    runner = CliRunner()

    res = runner.invoke(cli, ["build", "--from", str(FIXTURES / "indicators_mini.csv"), "--out", str(tmp_path), "-q"])
    assert res.exit_code == 0, res.output
    # SQL: the table the build created has the column, last, as the schema says
    with sqlite3.connect(tmp_path / "csww.db") as conn:
        cols = [r[1] for r in conn.execute("PRAGMA table_info(comparisons)")]
    assert cols[-2:] == ["series_note", "note_extra"]
    # csww compare --format json: every schema field, in schema order, and the real figures unchanged
    res = runner.invoke(cli, ["compare", "--la", "841", "--db", str(tmp_path / "csww.db"), "--format", "json",
                              "--measure", "turnover_rate_fte"])
    assert res.exit_code == 0, res.output
    (row,) = json.loads(res.output)
    assert list(row) == cols and row["note_extra"] is None
    # fixture 2024: Darlington 20.0; with a value 17.5, 17.9, 20.0, 21.6, 24.0, 24.4 (Middlesbrough 'x')
    assert (row["time_period"], row["value"], row["rank"], row["rank_of"]) == (2024, 20.0, 3, 6)
    # the data package: in the resource's schema and the CSV header
    pkg = tmp_path / "datapackage"
    descriptor = json.loads((pkg / "datapackage.json").read_text(encoding="utf-8"))
    res_fields = next(r["schema"]["fields"] for r in descriptor["resources"] if r["name"] == "comparisons")
    assert res_fields[-1]["name"] == "note_extra"
    assert "x-sql" not in (pkg / "datapackage.json").read_text(encoding="utf-8"), "storage details stay out"
    with open(pkg / "comparisons.csv", newline="", encoding="utf-8") as fh:
        assert next(csv.reader(fh)) == cols
    # docs/tables.md as csww docs would write it
    assert "| `note_extra` | string |  | Extra note: A column added in a test fixture" in docs.tables_markdown()

    monkeypatch.delenv(tables.SCHEMA_DIR_ENV)
    assert "note_extra" not in tables.columns("comparisons") and "note_extra" not in docs.tables_markdown()


def _db() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    store.create(conn)
    local_store.create_tables(conn)
    return conn


def test_ddl_carries_keys_not_null_enums_defaults_and_table_checks():
    conn = _db()
    obs = "INSERT INTO observations VALUES (2024, '841', 'turnover_rate_fte', ?, ?, '2025', 'f.csv', 2)"
    conn.execute(obs, (17.8, None))
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):          # primary key from primaryKey
        conn.execute(obs, (17.8, None))
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):           # x-sql.checks: value xor symbol
        conn.execute(obs.replace("2024", "2023"), (17.8, "c"))
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):           # constraints.enum on symbol
        conn.execute(obs.replace("2024", "2023"), (None, "q"))
    with pytest.raises(sqlite3.IntegrityError, match="NOT NULL"):        # constraints.required
        conn.execute("INSERT INTO releases (release_id, title, kind, data_year) VALUES ('2025', NULL, 'ees', 2025)")
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        conn.execute("INSERT INTO releases (release_id, title, kind, data_year) VALUES ('2025', 'x', 'pdf', 2025)")
    conn.execute("INSERT INTO local_returns (return_id, area_code, period_start, period_end, time_period, input_kind,"
                 " source_file, sha256, loaded_at) VALUES ('r', '841', '2023-10-01', '2024-09-30', 2024, 'aggregate',"
                 " 'a.csv', 'ab', 'now')")
    assert conn.execute("SELECT published FROM local_returns").fetchone() == (0,)   # x-sql.default
    fks = {(r[2], r[3], r[4]) for r in conn.execute("PRAGMA foreign_key_list(observations)")}
    assert fks == {("areas", "area_code", "area_code"), ("measures", "measure_id", "measure_id"),
                   ("releases", "release_id", "release_id")}
    assert not list(conn.execute("PRAGMA foreign_key_list(neighbours)"))  # x-sql.inDatabase: false


def test_every_table_a_build_writes_is_made_from_its_schema():
    conn = _db()
    made = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid")]
    assert sorted(made) == sorted(tables.schemas())
    for name in made:
        assert [r[1] for r in conn.execute(f"PRAGMA table_info({name})")] == tables.columns(name)


def test_observation_key_is_the_schemas_primary_key():
    assert tables.OBSERVATION_KEY == ["time_period", "area_code", "measure_id"] == tables.key("observations")
    assert compare.KEY is tables.OBSERVATION_KEY
    assert tables.key("comparisons") == [*tables.OBSERVATION_KEY, "provisional", "return_id"]


def test_unknown_table_names_the_schema_folder():
    with pytest.raises(KeyError, match="no Table Schema nope.json in .*schemas"):
        tables.columns("nope")


def _imports(module: str) -> set[str]:
    tree = ast.parse((BENCHMARK / f"{module}.py").read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            out |= {node.module} if node.module else {a.name for a in node.names}
    return out


def test_docs_and_site_do_not_import_each_other():
    assert "site" in _imports("docs") and "docs" not in _imports("site")
    assert _imports("tables") == {"publication"}, "tables.py sits at the bottom: only the publication rule below it"
    assert not _imports("publication"), "publication.py imports no benchmark module"
