"""csww diff: values added, removed and revised between two builds."""

from __future__ import annotations

import json
import math

import pkgdata
import pytest
from click.testing import CliRunner

from benchmark import package
from benchmark.build import build
from benchmark.cli import cli


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("diff")
    return pkgdata.make_db(tmp / "old", releases=("2024",)), pkgdata.make_db(tmp / "new")


def revised(d, year, area, measure):
    r = d.revised[(d.revised.time_period == year) & (d.revised.area_code == area) & (d.revised.measure_id == measure)]
    assert len(r) == 1, (year, area, measure)
    return r.iloc[0]


def test_added_removed_revised(builds):
    old, new = builds
    d = package.diff(old, new)
    assert len(d.revised) == 2 and d.common == 4
    turnover = revised(d, 2024, "E92000001", "turnover_rate_fte")
    assert (turnover.value_old, turnover.value_new) == (11.1, 11.2)
    assert (turnover.release_id_old, turnover.release_id_new) == ("2024", "2025")
    agency = revised(d, 2024, "302", "agency_fte")  # a symbol replaced by a number is a revision
    assert agency.symbol_old == "x" and agency.value_new == 4.0 and math.isnan(agency.value_old)
    assert len(d.added) == 48 - 4 and len(d.removed) == 0
    back = package.diff(new, old)
    assert len(back.removed) == 44 and len(back.added) == 0 and len(back.revised) == 2


def test_no_changes(builds):
    d = package.diff(builds[1], builds[1])
    assert not d.has_changes and d.summary().startswith("0 values added, 0 removed, 0 revised")


def test_a_package_compares_like_its_database(builds, tmp_path):
    old, new = builds
    pkg = package.write_package(new, tmp_path)
    from_db, from_pkg = package.diff(old, new), package.diff(old, pkg)
    assert from_db.to_dict()["revised"] == from_pkg.to_dict()["revised"]
    assert len(from_db.added) == len(from_pkg.added)


def test_changelog_lists_revisions_and_summarises_additions(builds):
    text = package.changelog(package.diff(*builds), "1.1.0", "2026-02-01T00:00:00+00:00", {"version": "1.0.0"})
    assert "## 1.1.0 (2026-02-01)" in text
    assert "previous package 1.0.0: 44 values added, 0 removed, 2 revised" in text
    assert "| 2024 | 302 | agency_fte | x | 4 | 2024 → 2025 |" in text
    assert "| 2024 | 7 | 4 | 18 |" in text and "| 2025 | 7 | 4 | 26 |" in text


def test_cli_diff(builds, tmp_path):
    old, new = builds
    out = tmp_path / "CHANGES.md"
    res = CliRunner().invoke(cli, ["diff", str(old.parent), str(new), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "2 revised" in res.output and "| 2024 | E92000001 | turnover_rate_fte | 11.1 | 11.2 |" in res.output
    assert out.read_text(encoding="utf-8").startswith("# Change log")
    js = CliRunner().invoke(cli, ["diff", str(old), str(new), "--json"])
    assert js.exit_code == 0
    assert len(json.loads(js.output)["revised"]) == 2


def test_cli_diff_needs_builds(tmp_path):
    res = CliRunner().invoke(cli, ["diff", str(tmp_path), str(tmp_path)])
    assert res.exit_code != 0 and "csww package" in res.output


def test_real_2024_and_2025_releases(shared, tmp_path):
    """Each release re-publishes every year; 19 of the cells both files hold changed (reference 5)."""
    old = build([shared / "csww_indicators_2017_to_2024.csv"], tmp_path / "b24").database
    new = build([shared / "csww_indicators_2017_to_2025.csv"], tmp_path / "b25").database
    d = package.diff(old, new)
    assert len(d.revised) == 19 and len(d.removed) == 0
    assert set(d.added.time_period) == {2025}
    england = revised(d, 2024, "E92000001", "turnover_rate_fte")
    assert (england.value_old, england.value_new) == (13.8, 13.9)
    wdl = revised(d, 2024, "E92000001", "working_days_lost_fte")
    assert (wdl.value_old, wdl.value_new) == (287194.9, 285778.4)
    # the 2025 build's package, rebuilt over the 2024 one, logs the same revisions
    pkg = package.write_package(new, tmp_path / "b24")
    log = (pkg / package.CHANGELOG).read_text(encoding="utf-8")
    assert "19 revised" in log and "| 2024 | E92000001 | turnover_rate_fte | 13.8 | 13.9 | 2024 → 2025 |" in log
    assert json.loads((pkg / "datapackage.json").read_text())["version"] == "1.1.0"
