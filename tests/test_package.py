"""csww package: the Frictionless data package written from csww.db."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pkgdata
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from benchmark import docs, measures, package, store
from benchmark.cli import cli
from benchmark.readers.base import SYMBOLS
from benchmark.tables import metadata as schema_metadata

FRICTIONLESS = Path(sys.executable).with_name("frictionless")
CREATED = "2026-01-01T00:00:00+00:00"


@pytest.fixture
def tiny(tmp_path) -> Path:
    """A package written from the hand-made fixture tables."""
    db = pkgdata.make_db(tmp_path / "build")
    return package.write_package(db, tmp_path / "build", created=CREATED)


def descriptor(pkg: Path) -> dict:
    return json.loads((pkg / "datapackage.json").read_text(encoding="utf-8"))


def rows(pkg: Path, name: str) -> list[dict]:
    with open(pkg / f"{name}.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def frictionless_validate(pkg: Path) -> subprocess.CompletedProcess:
    """Run frictionless as a user would: its own command, in the package folder."""
    exe = str(FRICTIONLESS) if FRICTIONLESS.exists() else "frictionless"
    return subprocess.run([exe, "validate", "datapackage.json"], cwd=pkg, capture_output=True, text=True)


# ------------------------------------------------------------------ the schemas are the source of truth
def _all_tables() -> sqlite3.Connection:
    """An empty database with every table a build can write: the store's, the comparisons' and the local ones."""
    from benchmark.local.store import create_tables

    conn = sqlite3.connect(":memory:")
    store.create(conn)
    create_tables(conn)
    return conn


def test_every_store_table_has_a_schema():
    conn = _all_tables()
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"comparisons", "neighbours", "groups", "group_members", "group_comparisons", "consistency_checks",
            "local_returns", "local_observations"} <= tables
    assert tables <= set(package.schemas())


def test_schemas_describe_every_field():
    for name, schema in package.schemas().items():
        assert schema.get("title") and schema.get("description"), name
        assert schema.get("primaryKey"), name
        for f in schema["fields"]:
            assert f.get("title") and f.get("description") and f.get("type"), (name, f["name"])


def test_schemas_follow_the_store_columns():
    conn = _all_tables()
    for name, schema in package.schemas().items():
        info = list(conn.execute(f"PRAGMA table_info({name})"))
        assert info, f"{name}.json describes a table no build writes"
        assert [f["name"] for f in schema["fields"]] == [r[1] for r in info], name
        key = sorted(info, key=lambda r: r[5])
        assert schema["primaryKey"] == [r[1] for r in key if r[5]], name


def test_foreign_keys_point_at_packaged_tables_and_columns():
    found = package.schemas()
    for name, schema in found.items():
        for fk in schema.get("foreignKeys", []):
            target = found[fk["reference"]["resource"] or name]
            assert set(fk["reference"]["fields"]) <= {f["name"] for f in target["fields"]}, (name, fk)


def test_measure_groups_enum_matches_the_catalogue():
    group = next(f for f in package.schemas()["measures"]["fields"] if f["name"] == "measure_group")
    assert {m.group for m in measures.catalogue().values()} == set(group["constraints"]["enum"])


def test_symbols_are_labelled_missing_values_and_an_enum():
    schema = package.schemas()["observations"]
    value = next(f for f in schema["fields"] if f["name"] == "value")
    symbol = next(f for f in schema["fields"] if f["name"] == "symbol")
    labelled = {m["value"]: m["label"] for m in value["missingValues"]}
    assert set(labelled) == set(SYMBOLS) == set(symbol["constraints"]["enum"])
    assert "" not in labelled, "a blank value must stay an error (DfE forbids blank indicator cells)"
    assert schema["$schema"].endswith("/2.0/tableschema.json"), "labelled missing values need Data Package v2"


def test_measure_units_enum_matches_the_catalogue():
    unit = next(f for f in package.schemas()["measures"]["fields"] if f["name"] == "unit")
    assert set(unit["constraints"]["enum"]) == measures.UNITS


def test_every_percentage_is_capped_at_100_unless_dfe_publishes_more():
    for m in measures.catalogue().values():
        capped = m.unit == "percent" and not m.may_exceed_100
        assert package.rate_maximum(m.id) == (100 if capped else None)
    assert [m.id for m in measures.catalogue().values() if m.may_exceed_100] == [
        "agency_cover_rate_fte", "vacancy_agency_cover_rate_fte"]


# ------------------------------------------------------------------ what the package holds
def test_descriptor_version_licence_sources(tiny):
    d = descriptor(tiny)
    assert d["version"] == "1.0.0"
    assert d["created"] == CREATED
    assert d["$schema"] == "https://datapackage.org/profiles/2.0/datapackage.json"
    assert d["licenses"][0]["name"] == "OGL-UK-3.0"
    by_release = {s.get("x-release-id"): s for s in d["sources"]}
    assert by_release["2025"]["path"].endswith("/find-statistics/children-s-social-work-workforce/2025")
    assert by_release["2024"]["path"].endswith("/children-s-social-work-workforce/2024")  # built from a local file
    assert by_release["2025"]["x-files"][0]["name"] == "csww_indicators_2017_to_2025.csv"


def test_every_resource_has_bytes_and_sha256(tiny):
    for r in descriptor(tiny)["resources"]:
        data = (tiny / r["path"]).read_bytes()
        assert r["bytes"] == len(data)
        assert r["hash"] == "sha256:" + hashlib.sha256(data).hexdigest()


def test_values_are_numbers_and_symbols_travel_in_the_symbol_column(tiny):
    obs = {(r["time_period"], r["area_code"], r["measure_id"]): r for r in rows(tiny, "observations")}
    assert obs[("2024", "301", "agency_fte")]["value"] == "" and obs[("2024", "301", "agency_fte")]["symbol"] == "low"
    assert obs[("2025", "302", "leavers_fte")]["value"] == "" and obs[("2025", "302", "leavers_fte")]["symbol"] == "x"
    assert obs[("2025", "301", "inpost_fte")]["value"] == "100" and obs[("2025", "301", "inpost_fte")]["symbol"] == ""
    assert obs[("2024", "301", "turnover_rate_fte")]["value"] == "10.5"
    for r in descriptor(tiny)["resources"]:  # one schema-level missing value, none per field on numbers
        if r.get("type") == "table":
            assert r["schema"]["missingValues"] == [""], r["name"]
            assert not [f["name"] for f in r["schema"]["fields"] if f["type"] == "number" and "missingValues" in f]
    assert package.is_valid(package.validate(tiny))


def test_pandas_reads_value_columns_as_floats(tiny):
    import pandas as pd

    for name in ("observations", "observation_revisions"):
        df = pd.read_csv(tiny / f"{name}.csv")
        assert df["value"].dtype == "float64", name
    df = pd.read_csv(tiny / "observations.csv", dtype={"area_code": str})
    row = df[(df["time_period"] == 2024) & (df["area_code"] == "301") & (df["measure_id"] == "agency_fte")].iloc[0]
    assert pd.isna(row["value"]) and row["symbol"] == "low"
    wb = load_workbook(tiny / package.WORKBOOK, read_only=True)
    ws = wb["observations"]
    kinds = {type(r[3]) for r in ws.iter_rows(min_row=2, values_only=True)}
    assert kinds <= {float, int, type(None)} and float in kinds  # Excel sees numbers, symbols only in column E


def test_symbols_in_value_keeps_the_labelled_missing_values_form(tmp_path):
    db = pkgdata.make_db(tmp_path / "build")
    pkg = package.write_package(db, tmp_path / "build", created=CREATED, symbols_in_value=True)
    obs = {(r["time_period"], r["area_code"], r["measure_id"]): r for r in rows(pkg, "observations")}
    assert obs[("2024", "301", "agency_fte")]["value"] == "low" == obs[("2024", "301", "agency_fte")]["symbol"]
    assert obs[("2025", "302", "leavers_fte")]["value"] == "x"
    assert obs[("2025", "301", "inpost_fte")]["value"] == "100" and obs[("2025", "301", "inpost_fte")]["symbol"] == ""
    assert obs[("2024", "301", "turnover_rate_fte")]["value"] == "10.5"
    assert obs[("2025", "301", "inpost_fte")]["source_file"] == "csww_indicators_2017_to_2025.csv"
    value = next(f for r in descriptor(pkg)["resources"] if r["name"] == "observations"
                 for f in r["schema"]["fields"] if f["name"] == "value")
    assert {m["value"] for m in value["missingValues"]} == set(SYMBOLS)
    assert package.is_valid(package.validate(pkg))
    res = CliRunner().invoke(cli, ["package", "--db", str(db), "--out", str(tmp_path / "v2"), "--symbols-in-value"])
    assert res.exit_code == 0, res.output
    assert rows(tmp_path / "v2" / "datapackage", "observations") == rows(pkg, "observations")


def test_validate_finds_a_value_beside_a_symbol(tiny):
    text = (tiny / "observations.csv").read_text(encoding="utf-8")
    lines = text.splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith("2024,301,agency_fte,,low"))
    lines[i] = lines[i].replace("agency_fte,,low", "agency_fte,7,low")
    (tiny / "observations.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    found = [p for p in package.validate(tiny) if p.type == "symbol-mismatch"]
    assert [(p.row, p.column) for p in found] == [(i + 1, "symbol")]


def test_frictionless_loads_symbols_as_null(tiny):
    import frictionless

    res = frictionless.Package(str(tiny / "datapackage.json")).get_resource("observations")
    with res:
        got = {(r["time_period"], r["area_code"], r["measure_id"]): r["value"] for r in res.row_stream}
    assert got[(2024, "301", "agency_fte")] is None
    assert float(got[(2025, "301", "agency_rate_fte")]) == 16.7


def test_tiny_package_passes_frictionless_on_its_own(tiny):
    done = frictionless_validate(tiny)
    assert done.returncode == 0, done.stdout + done.stderr


def test_workbook_has_frozen_headers_and_no_macros(tiny):
    wb = load_workbook(tiny / package.WORKBOOK, read_only=False)
    assert wb.sheetnames[0] == "About"
    assert "observations" in wb.sheetnames and "observation_revisions" not in wb.sheetnames
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2", ws.title
    obs = wb["observations"]
    header = [c.value for c in obs[1]]
    assert header[:5] == ["time_period", "area_code", "measure_id", "value", "symbol"]
    values = {(r[0], r[1], r[2]): r[3:5] for r in obs.iter_rows(min_row=2, values_only=True)}
    assert values[(2025, "301", "inpost_fte")][0] == 100 and values[(2024, "301", "agency_fte")] == (None, "low")
    names = zipfile.ZipFile(tiny / package.WORKBOOK).namelist()
    assert not any("vba" in n.lower() for n in names)


def test_first_changelog_says_so(tiny):
    assert "First package" in (tiny / package.CHANGELOG).read_text(encoding="utf-8")


# ------------------------------------------------------------------ which tables go in
def test_tables_missing_from_the_database_are_left_out(tmp_path):
    db = pkgdata.make_db(tmp_path)
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TABLE build_info")
    pkg = package.write_package(db, tmp_path)
    names = [r["name"] for r in descriptor(pkg)["resources"]]
    assert "build_info" not in names and "observations" in names


def _schema_dir_with(tmp_path, name, fields):
    d = tmp_path / "schemas"
    shutil.copytree(package.SCHEMAS, d)
    (d / f"{name}.json").write_text(json.dumps({
        "title": name, "description": name, "missingValues": [""], "primaryKey": [fields[0]],
        "fields": [{"name": f, "type": "string", "title": f, "description": f} for f in fields]}))
    return d


def test_local_returns_are_never_packaged_unless_marked_published(tmp_path):
    db = pkgdata.make_db(tmp_path)
    schemas = _schema_dir_with(tmp_path, "local_observations", ["id", "value"])
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE local_observations (id TEXT, value TEXT)")
        conn.execute("INSERT INTO local_observations VALUES ('a', 'secret')")
    pkg = package.write_package(db, tmp_path, schema_dir=schemas)
    assert "local_observations" not in [r["name"] for r in descriptor(pkg)["resources"]]
    assert not (pkg / "local_observations.csv").exists()

    with sqlite3.connect(db) as conn:  # the hook: a published column, and only rows marked 1 leave
        conn.execute("ALTER TABLE local_observations ADD COLUMN published INTEGER")
        conn.execute("INSERT INTO local_observations VALUES ('b', 'public', 1)")
    pkg = package.write_package(db, tmp_path, schema_dir=schemas)
    assert [r["id"] for r in rows(pkg, "local_observations")] == ["b"]


def test_worker_level_tables_are_never_packaged(tmp_path):
    db = pkgdata.make_db(tmp_path)
    schemas = _schema_dir_with(tmp_path, "local_workers", ["worker_id", "fte"])
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE local_workers (worker_id TEXT, fte TEXT)")
        conn.execute("INSERT INTO local_workers VALUES ('w1', '1.0')")
    pkg = package.write_package(db, tmp_path, schema_dir=schemas)
    assert "local_workers" not in [r["name"] for r in descriptor(pkg)["resources"]]


# ------------------------------------------------------------------ atomic, versioned
def test_a_failed_write_leaves_the_previous_package_whole(tmp_path):
    db = pkgdata.make_db(tmp_path)
    pkg = package.write_package(db, tmp_path, created=CREATED)
    before = {p.name: p.read_bytes() for p in pkg.iterdir()}
    with sqlite3.connect(db) as conn:
        conn.execute("ALTER TABLE releases DROP COLUMN url")  # the schema now names a column the table lacks
    with pytest.raises(RuntimeError, match="url"):
        package.write_package(db, tmp_path)
    assert {p.name: p.read_bytes() for p in pkg.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_version_follows_the_changes(tmp_path):
    old = pkgdata.make_db(tmp_path / "old", releases=("2024",))
    new = pkgdata.make_db(tmp_path / "new")
    out = tmp_path / "out"
    assert descriptor(package.write_package(old, out))["version"] == "1.0.0"
    assert descriptor(package.write_package(old, out))["version"] == "1.0.0"  # nothing changed
    pkg = package.write_package(new, out)  # 2025 values added, 2024 revised
    assert descriptor(pkg)["version"] == "1.1.0"
    log = (pkg / package.CHANGELOG).read_text(encoding="utf-8")
    assert "## 1.1.0" in log and "| 2024 | E92000001 | turnover_rate_fte | 11.1 | 11.2 | 2024 → 2025 |" in log
    assert descriptor(package.write_package(new, out, version="2.0.0"))["version"] == "2.0.0"


def test_cli_package(tmp_path):
    db = pkgdata.make_db(tmp_path)
    res = CliRunner().invoke(cli, ["package", "--db", str(db), "--version", "3.1.4"])
    assert res.exit_code == 0, res.output
    assert "version 3.1.4" in res.output
    assert descriptor(tmp_path / "datapackage")["version"] == "3.1.4"
    bad = CliRunner().invoke(cli, ["package", "--db", str(db), "--version", "v3"])
    assert bad.exit_code != 0 and "semantic version" in bad.output
    missing = CliRunner().invoke(cli, ["package", "--db", str(tmp_path / "nope.db")])
    assert missing.exit_code != 0 and "csww build" in missing.output


# ------------------------------------------------------------------ generated docs
def test_generated_docs_are_up_to_date():
    assert docs.stale() == [], "run 'csww docs' (python -m benchmark.docs) and commit the result"


def test_metadata_has_every_column_with_units():
    meta = schema_metadata()
    assert meta["license"] == "OGL-UK-3.0"
    tables = meta["databases"]["csww"]["tables"]
    assert set(tables) == set(package.schemas())
    assert "Unit: year." in tables["observations"]["columns"]["time_period"]
    for t in tables.values():
        assert t["license"] == "OGL-UK-3.0" and t["description"] and t["columns"]


def test_cli_docs_check():
    res = CliRunner().invoke(cli, ["docs", "--check"])
    assert res.exit_code == 0, res.output


# ------------------------------------------------------------------ the real files
def test_real_package_passes_frictionless_on_its_own(real_db):
    pkg = real_db.parent / "datapackage"  # csww build writes it beside the database
    names = [r["name"] for r in descriptor(pkg)["resources"]]
    assert names[:2] == ["observations", "observation_revisions"]
    done = frictionless_validate(pkg)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_real_package_matches_the_database(real_db):
    pkg = real_db.parent / "datapackage"
    obs = rows(pkg, "observations")
    with sqlite3.connect(real_db) as conn:
        assert len(obs) == conn.execute("select count(*) from observations").fetchone()[0]
    england = {(r["time_period"], r["measure_id"]): r["value"] for r in obs if r["area_code"] == "E92000001"}
    assert england[("2025", "turnover_rate_fte")] == "11.8"
    assert england[("2024", "turnover_rate_fte")] == "13.9"
    sources = {s.get("x-release-id"): s.get("path") for s in descriptor(pkg)["sources"]}
    assert sources["SFR08/2017"].startswith("https://www.gov.uk/")


def test_new_tables_bump_minor_and_changed_columns_bump_major():
    before = {"observations": ["a", "b"]}
    assert package._bump("1.2.3", None, before, {"observations": ["a", "b"], "comparisons": ["x"]}) == "1.3.0"
    assert package._bump("1.2.3", None, before, {"observations": ["a", "c"]}) == "2.0.0"
    assert package._bump("1.2.3", None, before, {}) == "2.0.0"
    assert package._bump("1.2.3", None, before, before) == "1.2.3"


def test_datasette_shows_the_generated_descriptions(tmp_path):
    import asyncio

    import yaml
    from datasette.app import Datasette

    db = pkgdata.make_db(tmp_path)
    meta = yaml.safe_load(docs.METADATA_YML.read_text(encoding="utf-8"))
    ds = Datasette([str(db)], metadata=meta)

    async def get(path):
        return await ds.client.get(path)

    page = asyncio.run(get("/csww/observations"))
    assert page.status_code == 200
    assert "labelled missing value" in page.text and "OGL-UK-3.0" in page.text
    data = asyncio.run(get("/csww/areas.json?_shape=array"))
    assert {r["area_code"] for r in data.json()} == {"E92000001", "E12000007", "301", "302"}


# ------------------------------------------------------------------ a council's local returns
FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_a_build_with_a_local_return_packages_none_of_it_until_published(tmp_path):
    from benchmark.build import build

    out = tmp_path / "build"
    report = build([FIXTURES / "indicators_mini.csv"], out, local_files=[EXAMPLES / "darlington.csv"])
    pkg = report.package
    assert len(report.local_returns) == 2  # Darlington's 2015/16 and April-July 2016 returns, both for 2016
    assert rows(pkg, "local_returns") == [] and rows(pkg, "local_observations") == []
    published = rows(pkg, "comparisons")
    assert published and {r["provisional"] for r in published} == {"0"}
    for name in ("local_returns", "local_observations", "comparisons"):
        assert "Darlington Borough Council" not in (pkg / f"{name}.csv").read_text(encoding="utf-8")

    with sqlite3.connect(report.database) as conn:
        n_local = conn.execute("SELECT count(*) FROM local_observations").fetchone()[0]
        n_provisional = conn.execute("SELECT count(*) FROM comparisons WHERE provisional = 1").fetchone()[0]
        assert n_local and n_provisional
        # one of the council's two returns for 2016 published: its own rows go out, and so do the provisional
        # comparisons built on it (stored by return), never those of the other return
        conn.execute("UPDATE local_returns SET published = 1 WHERE period_end = '2016-07-31'")
        one = conn.execute("SELECT return_id FROM local_returns WHERE published = 1").fetchone()[0]
        n_one = conn.execute("SELECT count(*) FROM local_observations WHERE return_id = ?", (one,)).fetchone()[0]
        n_one_comp = conn.execute("SELECT count(*) FROM comparisons WHERE return_id = ?", (one,)).fetchone()[0]
        inpost = conn.execute("SELECT value FROM comparisons WHERE return_id = ? AND measure_id = 'inpost_fte'",
                              (one,)).fetchone()[0]
    pkg = package.write_package(report.database, out)
    assert [r["return_id"] for r in rows(pkg, "local_returns")] == [one]
    assert {r["return_id"] for r in rows(pkg, "local_observations")} == {one}
    assert len(rows(pkg, "local_observations")) == n_one
    provisional = [r for r in rows(pkg, "comparisons") if r["provisional"] == "1"]
    assert n_one_comp and len(provisional) == n_one_comp and {r["return_id"] for r in provisional} == {one}
    assert {r["return_id"] for r in rows(pkg, "comparisons") if r["provisional"] == "0"} == {""}
    assert [r["value"] for r in provisional if r["measure_id"] == "inpost_fte"] == [f"{inpost:g}"]

    with sqlite3.connect(report.database) as conn:
        conn.execute("UPDATE local_returns SET published = 1")
    pkg = package.write_package(report.database, out)
    assert len(rows(pkg, "local_returns")) == 2
    local = rows(pkg, "local_observations")
    assert len(local) == n_local
    assert {r["source_file"] for r in local} == {"darlington.csv"}  # the file's name, never its folder
    whole = [r for r in local if r["team"] == "" and r["measure_id"] == "inpost_fte"]
    assert [r["value"] for r in whole] == ["68.39"]  # as the council gave it
    comps = rows(pkg, "comparisons")
    assert sum(r["provisional"] == "1" for r in comps) == n_provisional
    # The mini fixture's own made-up rows break some checks (a 106.7 % rate, reorganised councils it lacks);
    # the council's rows and the provisional comparisons must pass every one.
    bad = [p for p in package.validate(pkg) if p.severity == "error" and p.file in
           {"local_returns", "local_observations", None, "comparisons"} and "106.7" not in p.message]
    assert bad == [], "\n".join(map(str, bad))


def test_provisional_comparisons_need_local_returns_to_be_packaged(tmp_path):
    """A provisional comparison row with no local_returns table behind it is never packaged."""
    db = pkgdata.make_db(tmp_path)
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO comparisons (time_period, area_code, measure_id, value, provisional) "
                     "VALUES (2025, '301', 'inpost_fte', 100, 0), (2025, '301', 'inpost_fte', 90, 1)")
    pkg = package.write_package(db, tmp_path)
    assert [(r["value"], r["provisional"]) for r in rows(pkg, "comparisons")] == [("100", "0")]


def test_local_observations_without_their_returns_are_never_packaged(tmp_path):
    from benchmark.local.store import create_tables

    db = pkgdata.make_db(tmp_path)
    with sqlite3.connect(db) as conn:
        create_tables(conn)
        conn.execute("DROP TABLE local_returns")
    pkg = package.write_package(db, tmp_path)
    names = [r["name"] for r in descriptor(pkg)["resources"]]
    assert "local_observations" not in names and "local_returns" not in names


def test_workbook_leaves_the_long_tables_to_csv_and_says_so(tmp_path):
    db = pkgdata.make_db(tmp_path)
    pkg = package.write_package(db, tmp_path)
    wb = load_workbook(pkg / package.WORKBOOK, read_only=True)
    assert "comparisons" not in wb.sheetnames and "consistency_checks" not in wb.sheetnames
    assert "neighbours" in wb.sheetnames and "observations" in wb.sheetnames
    about = [r for r in wb["About"].iter_rows(values_only=True)]
    note = next(r for r in about if r[0] == "CSV only")
    assert all(f"{t}.csv" in note[4] for t in ("comparisons", "observation_revisions", "consistency_checks"))
    # the CSV-only tables' columns are still described, under their file's name
    assert ("consistency_checks.csv (CSV only)", "recomputed") in {r[:2] for r in about}
    res = next(r for r in descriptor(pkg)["resources"] if r["name"] == "workbook")
    assert "comparisons" in res["description"] and "consistency_checks" in res["description"]


def test_package_from_a_single_small_file_is_valid(tmp_path):
    """A build from one file (regions where no council has a value) still makes a valid package."""
    from benchmark.build import build

    build([FIXTURES / "indicators_2025_small.csv"], tmp_path)
    problems = package.validate(tmp_path / "datapackage")
    assert package.is_valid(problems), [str(p) for p in problems if p.severity == "error"][:5]
