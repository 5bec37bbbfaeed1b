"""The offline snapshot in the wheel (issue 15, item 5): the README's first command with no network and an empty
cache builds from it, says which release it used, and a damaged snapshot is a clear error."""

from __future__ import annotations

import csv
import fnmatch
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tomllib
import zipfile
from datetime import date

import pytest
from click.testing import CliRunner
from conftest import ROOT

from benchmark import __version__, ees, snapshot
from benchmark.cache import obtained
from benchmark.cli import cli
from benchmark.formatting import fmt_date
from benchmark.problems import InputError


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens there


@pytest.fixture(scope="module")
def offline_build(tmp_path_factory):
    """``csww build`` (the README's first command) in an empty folder, EES at a closed port, an empty cache."""
    work = tmp_path_factory.mktemp("offline")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CSWW_EES_URL": f"http://127.0.0.1:{_closed_port()}/api",
           "CSWW_CACHE": str(work / "cache"), "CSWW_RETRIES": "0"}
    run = subprocess.run([sys.executable, "-m", "benchmark", "build"], capture_output=True, text=True, env=env,
                         cwd=work, timeout=600)
    return work, run, env


def test_the_readme_first_command_builds_from_the_snapshot_with_no_network(offline_build):
    work, run, _ = offline_build
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert "EES could not be reached" in run.stderr and "cannot connect" in run.stderr
    # the underlying error whole, its quotes balanced (was: '(NewConnectionError: "HTTPConnection(host=..., port=N')
    assert ("cannot connect after 0 retries (NewConnectionError: Failed to establish a new connection: [Errno 111] "
            "Connection refused). Behind a firewall?") in run.stderr
    out = run.stdout
    assert "building from the offline snapshot" in out
    assert ("release 2025 (reporting year 2025, publication date not recorded; --as-at counts it as out by 28 "
            "February 2026): csww_indicators_2017_to_2025.csv (sha256 9e058bac193c…)") in out
    assert "release SFR07/2016 (reporting year 2015, published 25 February 2016): SFR07_2016_UD.csv" in out
    assert "release SFR08/2017 (reporting year 2016, published 16 February 2017): SFR08_2017_UD.csv" in out
    assert "when online, run 'csww fetch' and then 'csww build' to update" in out
    assert "wrote build/csww.db" in out and "38,889 observations" in out
    conn = sqlite3.connect(work / "build" / "csww.db")
    files = dict(conn.execute("SELECT file_name, sha256 FROM source_files").fetchall())
    assert files == {"csww_indicators_2017_to_2025.csv": "9e058bac193cc5b03f0d21ebe4259c8935d236dbf59f09d90b3e0916bfbca95f",
                     "SFR07_2016_UD.csv": "bed50074c6232d30ac6099a7ed6e88eeeea4762dc6a6b46539d757145ebc1b75",
                     "SFR08_2017_UD.csv": "288e22c73a1c412528013320c672f1c81d6c2974fa27ba2fb04e358bd9b940cf"}
    assert conn.execute("SELECT published FROM releases WHERE release_id = 'SFR08/2017'").fetchone() == ("2017-02-16",)
    turnover = conn.execute("SELECT value FROM observations WHERE area_code = '841' AND time_period = 2025 "
                            "AND measure_id = 'turnover_rate_fte'").fetchone()[0]
    assert turnover == 15.4  # Darlington, 2025
    # 2016 (the SFR 08/2017 file): Darlington's FTE turnover as DfE published it
    assert conn.execute("SELECT value FROM observations WHERE area_code = '841' AND time_period = 2016 "
                        "AND measure_id = 'turnover_rate_fte'").fetchone()[0] is not None
    # the cache now holds the snapshot as 'csww fetch' would have left it, marked as such
    m = ees.Cache(work / "cache").manifest("2025")
    assert m["from_snapshot"] is True and m["files"][0]["sha256"].startswith("9e058bac")
    # never downloaded: the files say they came with the toolkit (the pack's "Source files and checksums" table)
    # the day in words, as every date for people (was "made 2026-11-30T03:11:47+00:00")
    shipped = (f"not downloaded: from the offline snapshot shipped with csww-benchmark {__version__}, "
               "made 30 November 2026")
    assert snapshot.manifest()["made_at"] == "2026-11-30T03:11:47+00:00"
    assert conn.execute("SELECT DISTINCT downloaded_at FROM source_files").fetchall() == [(shipped,)]
    listed = CliRunner().invoke(cli, ["fetch", "--offline", "--cache-dir", str(work / "cache")])
    assert listed.exit_code == 0, listed.output
    assert f"2025: release 2025, {shipped}, csww_indicators_2017_to_2025.csv" in listed.output
    assert "fetched" not in listed.output


def test_run_again_offline_it_uses_the_snapshot_in_the_cache(offline_build):
    """The second 'csww build' on the same offline machine: the cache holds only the snapshot, so it says so and
    finds the build up to date (no error telling it to use --offline)."""
    work, first, env = offline_build
    assert first.returncode == 0, first.stderr
    run = subprocess.run([sys.executable, "-m", "benchmark", "build"], capture_output=True, text=True, env=env,
                         cwd=work, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "EES could not be reached" in run.stderr
    assert run.stdout.startswith("Building from the offline snapshot put in the cache earlier (2025, sfr07-2016, "
                                 "sfr08-2017, in ")
    assert "build is up to date: build " in run.stdout


def test_an_unchanged_offline_rebuild_is_up_to_date_without_pandas(offline_build):
    """'csww build --offline' (the README's offline path) with the build up to date lists the download cache and
    stops there: no pandas, no readers, no network module (issue 14 item 5: under a second)."""
    work, first, env = offline_build
    assert first.returncode == 0, first.stderr
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "benchmark", "build", "--offline"],
                         capture_output=True, text=True, env=env, cwd=work, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("build is up to date: build ")
    imported = {line.split("|")[-1].strip() for line in run.stderr.splitlines() if line.startswith("import time:")}
    assert "benchmark.cache" in imported and "benchmark.buildstate" in imported  # the walk works
    assert not {"pandas", "numpy", "benchmark.readers", "benchmark.ees", "requests"} & imported


def test_snapshot_values_equal_the_real_files(offline_build, shared):
    """Darlington 2025 turnover from the snapshot build equals the value in ../shared/dfe's 2025 file."""
    work, run, _ = offline_build
    with open(shared / "csww_indicators_2017_to_2025.csv", encoding="utf-8", newline="") as fh:
        row = next(r for r in csv.DictReader(fh) if r["time_period"] == "2025" and r["old_la_code"] == "841")
    conn = sqlite3.connect(work / "build" / "csww.db")
    for measure in ("turnover_rate_fte", "agency_rate_fte", "vacancy_rate_fte", "caseload_fte"):
        got = conn.execute("SELECT value FROM observations WHERE area_code = '841' AND time_period = 2025 "
                           "AND measure_id = ?", (measure,)).fetchone()[0]
        assert got == float(row[measure]), measure
    assert row["turnover_rate_fte"] == "15.4"


def test_snapshot_files_are_the_published_files(shared):
    meta, files = snapshot.read()
    for name, path in {"csww_indicators_2017_to_2025.csv": shared / "csww_indicators_2017_to_2025.csv",
                       "SFR07_2016_UD.csv": shared / "sfr" / "SFR07_2016_UD.csv",
                       "SFR08_2017_UD.csv": shared / "sfr" / "SFR08_2017_UD.csv"}.items():
        assert files[name] == path.read_bytes(), name


def test_dates_for_people_are_written_one_way():
    """The review: "snapshot at 30 Sep 2025, not 30 September". Every date a person reads has the full month and
    no leading zero ("30 September 2025", as DfE writes its census day): ``formatting.fmt_date``, for the cache
    listing and the snapshot's label in source_files (its ``made_at`` stays ISO in the manifest)."""
    made = snapshot.manifest()["made_at"]
    assert made == "2026-11-30T03:11:47+00:00"
    assert (fmt_date(date(2025, 9, 30)), fmt_date("2016-02-25"), fmt_date(date(2015, 10, 1))) == (
        "30 September 2025", "25 February 2016", "1 October 2015")
    assert fmt_date(made) == "30 November 2026" and fmt_date(made, time=True) == "30 November 2026 at 03:11 UTC"
    assert fmt_date("2026-11-30T05:11:47+02:00", time=True) == "30 November 2026 at 03:11 UTC"  # in UTC
    assert fmt_date("not recorded") == "not recorded" and fmt_date(None) == ""
    assert obtained({"from_snapshot": True, "snapshot_version": "0.1.0", "snapshot_made_at": made}) == (
        "not downloaded: from the offline snapshot shipped with csww-benchmark 0.1.0, made 30 November 2026")
    assert obtained({"fetched_at": "2026-11-30T18:02:05+00:00"}) == "downloaded 30 November 2026 at 18:02 UTC"
    assert obtained({}) == "downloaded at a time not recorded"


def test_snapshot_is_small_package_data_with_a_manifest():
    meta = snapshot.manifest()
    assert meta["licence"] == "Open Government Licence v3.0"
    assert [r["release_id"] for r in meta["releases"]] == ["2025", "SFR07/2016", "SFR08/2017"]
    assert [r["published"] for r in meta["releases"]] == [None, "2016-02-25", "2017-02-16"]
    assert [f["rows"] for r in meta["releases"] for f in r["files"]] == [1463, 164, 164]
    size = (snapshot.FOLDER / snapshot.ARCHIVE).stat().st_size
    assert size == meta["archive"]["size"] and size < 150_000
    with zipfile.ZipFile(snapshot.FOLDER / snapshot.ARCHIVE) as z:
        assert {i.compress_type for i in z.infolist()} == {zipfile.ZIP_LZMA}
        assert sorted(z.namelist()) == ["SFR07_2016_UD.csv", "SFR08_2017_UD.csv", "csww_indicators_2017_to_2025.csv"]
    # the wheel carries it: pyproject's package-data patterns match both files (perf/snapshot_wheel.py builds one)
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["benchmark"]
    for name in (snapshot.ARCHIVE, snapshot.MANIFEST):
        assert any(fnmatch.fnmatch(f"snapshot/{name}", p) for p in patterns), name


def test_a_damaged_snapshot_is_a_clear_error_and_nothing_enters_the_cache(tmp_path):
    folder = tmp_path / "snap"
    shutil.copytree(snapshot.FOLDER, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    archive = folder / snapshot.ARCHIVE
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    archive.write_bytes(bytes(data))
    cache = ees.Cache(tmp_path / "cache")
    with pytest.raises(InputError) as err:
        snapshot.install(cache, folder)
    text = str(err.value.problems[0])
    assert text.startswith(f"{archive}, column sha256, value '")
    assert f"SHA-256 is not the {snapshot.manifest()['archive']['sha256']} the manifest records" in text
    assert "the offline snapshot is damaged: reinstall csww-benchmark, or run 'csww fetch' when online" in text
    assert not (tmp_path / "cache").exists()

    # a member that does not match its own checksum (the archive's is made to match)
    shutil.copy(snapshot.FOLDER / snapshot.ARCHIVE, archive)
    meta = json.loads((folder / snapshot.MANIFEST).read_text())
    meta["releases"][1]["files"][0]["sha256"] = "0" * 64
    (folder / snapshot.MANIFEST).write_text(json.dumps(meta))
    with pytest.raises(InputError) as err:
        snapshot.install(cache, folder)
    assert str(err.value.problems[0]).startswith(f"{archive}!SFR07_2016_UD.csv, column sha256, value 'bed50074c623")
    assert not cache.release_dirs()


def test_without_shared_the_snapshot_still_gives_real_values():
    """The snapshot keeps a real value checkable where ../shared is absent (issue 15, item 5)."""
    _, files = snapshot.read()
    rows = csv.DictReader(files["csww_indicators_2017_to_2025.csv"].decode("utf-8").splitlines())
    row = next(r for r in rows if r["time_period"] == "2025" and r["old_la_code"] == "841")
    assert (row["la_name"], row["turnover_rate_fte"], row["agency_rate_fte"]) == ("Darlington", "15.4", "12.3")
