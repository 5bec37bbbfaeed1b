"""The data package read by other readers than ours: the Data Package v1 ``datapackage`` library (in its own
virtual environment, as analysts with older Frictionless tooling have it) and pandas with default options."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

import pandas as pd
import pkgdata
import pytest

from benchmark import package

V1 = "datapackage==1.15.4"
#: Reads every resource as ../shared/cases/data/read_with_v1_reader.py does: tables row by row as typed values;
#: the non-table files (the markdown change log) as bytes, the only way the v1 library reads a non-table file.
READER = r"""
import json, sys
import datapackage
pkg = datapackage.Package(sys.argv[1])
out = {"valid": pkg.valid, "errors": [str(e) for e in pkg.errors], "resources": {}}
for res in pkg.resources:
    try:
        if res.tabular:
            rows = res.read(keyed=True)
            out["resources"][res.name] = {"rows": len(rows), "sample": [
                {k: (None if v is None else str(v) if not isinstance(v, (int, float, str)) else v)
                 for k, v in r.items()} for r in rows if r.get("area_code") in ("E92000001", "301")
                and r.get("measure_id") in ("turnover_rate_fte", "agency_fte")][:50]}
        else:
            out["resources"][res.name] = {"bytes": len(res.raw_read())}
    except Exception as exc:
        out["resources"][res.name] = {"error": type(exc).__name__ + ": "
                                      + "; ".join(str(e) for e in getattr(exc, "errors", [])[:1]) + str(exc)}
print(json.dumps(out))
"""


@pytest.fixture(scope="session")
def v1_python(tmp_path_factory) -> Path:
    """A virtual environment with the v1 ``datapackage`` library, made once per session."""
    env = tmp_path_factory.mktemp("v1reader") / "venv"
    venv.create(env, with_pip=True)
    py = env / ("Scripts" if sys.platform == "win32" else "bin") / "python"
    done = subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", V1],
                          capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        pytest.skip(f"pip could not install {V1} (offline without a local index?): {done.stderr[-300:]}")
    return py


def read_v1(py: Path, pkg: Path) -> dict:
    done = subprocess.run([str(py), "-c", READER, str(pkg / "datapackage.json")], capture_output=True, text=True,
                          timeout=600, cwd=pkg)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def table_rows(pkg: Path) -> dict[str, int]:
    desc = json.loads((pkg / "datapackage.json").read_text(encoding="utf-8"))
    return {r["name"]: len(pd.read_csv(pkg / r["path"], dtype=str)) for r in desc["resources"]
            if r.get("type") == "table"}


def test_v1_reader_reads_every_resource_of_the_fixture_package(v1_python, tmp_path):
    pkg = package.write_package(pkgdata.make_db(tmp_path / "build"), tmp_path / "build")
    got = read_v1(v1_python, pkg)
    assert got["valid"], got["errors"]
    errors = {n: r["error"] for n, r in got["resources"].items() if "error" in r}
    assert not errors
    tables = table_rows(pkg)
    assert {n: got["resources"][n]["rows"] for n in tables} == tables
    assert got["resources"]["changelog"]["bytes"] > 0
    sample = {(r["time_period"], r["area_code"], r["measure_id"]): r for r in got["resources"]["observations"]["sample"]}
    assert sample[(2024, "301", "agency_fte")]["value"] is None and sample[(2024, "301", "agency_fte")]["symbol"] == "low"
    assert float(sample[(2024, "301", "turnover_rate_fte")]["value"]) == 10.5


def test_the_labelled_form_is_what_v1_readers_cannot_read(v1_python, tmp_path):
    """The reason for the default: with --symbols-in-value a v1 reader fails on the first symbol."""
    pkg = package.write_package(pkgdata.make_db(tmp_path / "build"), tmp_path / "build", symbols_in_value=True)
    got = read_v1(v1_python, pkg)
    assert "CastError" in got["resources"]["observations"].get("error", "")


def test_v1_reader_reads_every_resource_of_the_real_package(v1_python, real_db):
    pkg = real_db.parent / "datapackage"
    got = read_v1(v1_python, pkg)
    assert got["valid"], got["errors"]
    assert not {n: r["error"] for n, r in got["resources"].items() if "error" in r}
    tables = table_rows(pkg)
    assert {n: got["resources"][n]["rows"] for n in tables} == tables
    england = {(r["time_period"], r["measure_id"]): r["value"] for r in got["resources"]["observations"]["sample"]
               if r["area_code"] == "E92000001"}
    assert float(england[(2025, "turnover_rate_fte")]) == 11.8
    assert float(england[(2024, "turnover_rate_fte")]) == 13.9


def test_pandas_reads_the_real_package_values_as_floats(real_db):
    pkg = real_db.parent / "datapackage"
    for name in ("observations", "observation_revisions", "comparisons"):
        assert pd.read_csv(pkg / f"{name}.csv", usecols=["value"])["value"].dtype == "float64", name
    obs = pd.read_csv(pkg / "observations.csv", dtype={"area_code": str})
    eng = obs[(obs["area_code"] == "E92000001") & (obs["measure_id"] == "turnover_rate_fte")]
    assert eng.set_index("time_period")["value"][2025] == 11.8
    symbol_rows = obs[obs["symbol"].notna()]
    assert len(symbol_rows) and symbol_rows["value"].isna().all()
    consistency = pd.read_csv(pkg / "consistency_checks.csv")
    assert consistency["published"].dtype == "float64"
