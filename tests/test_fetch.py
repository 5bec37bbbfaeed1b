"""The real download code against a local server speaking the EES routes."""

from __future__ import annotations

import json
import zipfile

import pytest
from click.testing import CliRunner
from conftest import FIXTURES, value
from ees_server import EESServer, Release

from benchmark import ees
from benchmark.build import build
from benchmark.cli import cli


def fixture_releases():
    return [Release("2024", {"csww_indicators_2017_to_2024.csv": (FIXTURES / "indicators_2024_small.csv").read_bytes()}),
            Release("2025", {"csww_indicators_2017_to_2025.csv": (FIXTURES / "indicators_2025_small.csv").read_bytes(),
                             "csww_role_by_characteristics_inpost_2019_to_2025.csv": b"time_period,OrgRole\n2025,x\n"})]


def client(server, **kw):
    return ees.Client(server.url, **{"timeout": 2.0, "retries": 2, "backoff": 0, **kw})


def cache_is_clean(cache: ees.Cache) -> bool:
    """Nothing half-written: no staging folders, no release folder without a manifest."""
    if not cache.root.exists():
        return True
    leftovers = [p for p in cache.root.rglob("*") if p.name.startswith(".partial") or p.name.endswith(".old")]
    pub = cache.root / ees.PUBLICATION
    incomplete = [d for d in pub.iterdir() if not (d / "manifest.json").exists()] if pub.exists() else []
    return not leftovers and not incomplete


def test_clean_download_caches_latest_release_with_manifest(tmp_path):
    cache = ees.Cache(tmp_path / "cache")
    with EESServer(fixture_releases()) as server:
        folder = ees.fetch(client(server), cache, progress=False, echo=lambda m: None)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["release_slug"] == "2025"
    assert manifest["release_version_id"]
    assert manifest["published"] == "2026-02-26T09:30:00Z"
    [entry] = manifest["files"]  # only the indicators file is wanted
    data = (FIXTURES / "indicators_2025_small.csv").read_bytes()
    assert entry["filename"] == "csww_indicators_2017_to_2025.csv"
    assert entry["size"] == len(data)
    assert entry["sha256"] == __import__("hashlib").sha256(data).hexdigest()
    assert entry["url"].endswith(f"/files/{entry['file_id']}")
    assert entry["layout"] == "ees-indicators" and entry["downloaded_at"]
    assert (folder / entry["filename"]).read_bytes() == data
    assert cache_is_clean(cache)
    # and the build reads the cache, recording the release details from the manifest
    build(cache.release_dirs(), tmp_path / "out")
    db = tmp_path / "out" / "csww.db"
    assert value(db, 2025, "841", "inpost_fte") == (80.5, None)
    import sqlite3
    with sqlite3.connect(db) as conn:
        assert conn.execute("select release_version_id, published from releases").fetchone() == (
            manifest["release_version_id"], "2026-02-26T09:30:00Z")
        assert conn.execute("select url, downloaded_at is not null from source_files").fetchone() == (entry["url"], 1)


def test_named_release_and_old_service_without_data_content(tmp_path):
    cache = ees.Cache(tmp_path / "cache")
    with EESServer(fixture_releases(), data_content=False) as server:
        folder = ees.fetch(client(server), cache, "2024", progress=False, echo=lambda m: None)
        assert any(p.endswith(f"/publications/{ees.PUBLICATION}/releases") for p in server.log)
    assert folder.name == "2024"
    assert (folder / "csww_indicators_2017_to_2024.csv").exists()


def test_data_catalogue_route_when_the_release_file_route_is_gone(tmp_path):
    cache = ees.Cache(tmp_path / "cache")
    with EESServer(fixture_releases()) as server:
        server.fail("/api/releases/", "404")
        folder = ees.fetch(client(server), cache, progress=False, echo=lambda m: None)
        assert any(p.endswith("/download") for p in server.log)
    [entry] = json.loads((folder / "manifest.json").read_text())["files"]
    assert entry["url"].endswith(f"/data-set-files/{entry['data_set_file_id']}/download")
    assert (folder / entry["filename"]).read_bytes() == (FIXTURES / "indicators_2025_small.csv").read_bytes()


def test_500_then_success_is_retried(tmp_path):
    cache = ees.Cache(tmp_path / "cache")
    with EESServer(fixture_releases()) as server:
        server.fail("/files/", "500")
        server.fail("data-set-files", "429")
        ees.fetch(client(server), cache, progress=False, echo=lambda m: None)
        file_requests = [p for p in server.log if "/files/" in p]
    assert len(file_requests) == 2  # the 500, then the good answer
    assert cache.manifest("2025")["files"][0]["sha256"]
    assert cache_is_clean(cache)


def test_timeout_fails_clearly_and_leaves_cache_untouched(tmp_path):
    cache = ees.Cache(tmp_path / "cache")
    with EESServer(fixture_releases(), slow_seconds=1.5) as server:
        server.fail("/files/", "slow", "slow", "slow")
        with pytest.raises(ees.FetchError, match="no answer within 0.5 s|Read timed out|timed out"):
            ees.fetch(client(server, timeout=0.5), cache, progress=False, echo=lambda m: None)
    assert cache.release_dirs() == []
    assert cache_is_clean(cache)


def test_persistent_server_error_names_the_url(tmp_path):
    cache = ees.Cache(tmp_path / "cache")
    with EESServer(fixture_releases()) as server:
        server.fail(f"publications/{ees.PUBLICATION}", "500", "500", "500")
        with pytest.raises(ees.FetchError, match=rf"{server.url}/publications/{ees.PUBLICATION}: still failing"):
            ees.fetch(client(server), cache, progress=False, echo=lambda m: None)
    assert cache_is_clean(cache)


def test_truncated_zip_is_rejected_and_not_cached(tmp_path):
    cache = ees.Cache(tmp_path / "cache")
    with EESServer(fixture_releases()) as server:
        server.fail("/files?", "truncate")
        with pytest.raises(ees.FetchError, match="ZIP does not open"):
            ees.fetch(client(server), cache, whole_zip=True, progress=False, echo=lambda m: None)
        assert cache.release_dirs() == [] and cache_is_clean(cache)
        # the next attempt succeeds and the ZIP feeds the build
        folder = ees.fetch(client(server), cache, whole_zip=True, progress=False, echo=lambda m: None)
    [entry] = json.loads((folder / "manifest.json").read_text())["files"]
    assert entry["filename"] == f"{ees.PUBLICATION}_2025.zip"
    assert "data/csww_indicators_2017_to_2025.csv" in entry["members"]
    assert zipfile.ZipFile(folder / entry["filename"]).testzip() is None
    build([folder], tmp_path / "out")
    assert value(tmp_path / "out" / "csww.db", 2025, "E92000001", "inpost_fte") == (36186.3, None)


def test_connection_cut_mid_download_is_retried(tmp_path):
    cache = ees.Cache(tmp_path / "cache")
    with EESServer(fixture_releases()) as server:
        server.fail("/files/", "cut")
        ees.fetch(client(server), cache, progress=False, echo=lambda m: None)
    data = (FIXTURES / "indicators_2025_small.csv").read_bytes()
    assert (cache.release_dir("2025") / "csww_indicators_2017_to_2025.csv").read_bytes() == data


def test_unknown_csv_header_is_rejected_and_not_cached(tmp_path):
    cache = ees.Cache(tmp_path / "cache")
    bad = Release("2025", {"csww_indicators_2017_to_2025.csv": b"time_period,la_name,sw_count\n2025,Darlington,80\n"})
    with EESServer([bad]) as server:
        with pytest.raises(ees.FetchError, match="csww_indicators_2017_to_2025.csv.*not a CSWW layout"):
            ees.fetch(client(server), cache, progress=False, echo=lambda m: None)
    assert cache.release_dirs() == [] and cache_is_clean(cache)


def test_failed_refetch_keeps_the_good_cached_copy(tmp_path):
    cache = ees.Cache(tmp_path / "cache")
    with EESServer(fixture_releases()) as server:
        ees.fetch(client(server), cache, progress=False, echo=lambda m: None)
        before = cache.manifest("2025")
        server.fail("/files/", "truncate", "truncate", "truncate")
        with pytest.raises(ees.FetchError):
            ees.fetch(client(server), cache, progress=False, echo=lambda m: None)
    assert cache.manifest("2025") == before
    assert cache_is_clean(cache)


def test_cli_fetch_then_offline_build(tmp_path, monkeypatch):
    runner = CliRunner()
    with EESServer(fixture_releases()) as server:
        env = {"CSWW_EES_URL": server.url, "CSWW_CACHE": str(tmp_path / "cache")}
        result = runner.invoke(cli, ["fetch", "--release", "2024", "--release", "2025"], env=env)
        assert result.exit_code == 0, result.output
        assert "cached" in result.output
    # the server is gone: the offline build uses the cache only
    result = runner.invoke(cli, ["build", "--offline", "--out", str(tmp_path / "out")], env=env)
    assert result.exit_code == 0, result.output
    db = tmp_path / "out" / "csww.db"
    assert value(db, 2024, "E92000001", "turnover_rate_fte") == (13.9, None)
    assert value(db, 2024, "E92000001", "turnover_rate_fte", "observation_revisions") in [(13.8, None), (13.9, None)]
    listing = runner.invoke(cli, ["fetch", "--offline"], env=env)
    assert listing.exit_code == 0 and "release 2024" in listing.output and "release 2025" in listing.output


def test_cli_build_without_from_fetches_latest(tmp_path):
    runner = CliRunner()
    with EESServer(fixture_releases()) as server:
        env = {"CSWW_EES_URL": server.url, "CSWW_CACHE": str(tmp_path / "cache")}
        result = runner.invoke(cli, ["build", "--out", str(tmp_path / "out")], env=env)
    assert result.exit_code == 0, result.output
    assert value(tmp_path / "out" / "csww.db", 2025, "E92000001", "turnover_rate_fte") == (11.8, None)


def test_cli_network_failure_is_one_clear_message(tmp_path):
    runner = CliRunner()
    env = {"CSWW_EES_URL": "http://127.0.0.1:9/api", "CSWW_CACHE": str(tmp_path / "cache")}
    result = runner.invoke(cli, ["fetch", "--retries", "0", "--timeout", "1"], env=env)
    assert result.exit_code != 0
    assert "cannot connect" in result.output and "--from" in result.output
    assert "Traceback" not in result.output


def test_real_releases_served_in_ees_shapes(shared, tmp_path):
    """All four EES releases in ../shared/dfe, fetched through the real routes, build the real figures."""
    releases = [Release("2022", {"csww_headline_measures_2017_to_2022.csv": (shared / "csww_headline_measures_2017_to_2022.csv").read_bytes(),
                                 "csww_workforce_role_by_ethnicity_2019_to_2022.csv": (shared / "csww_workforce_role_by_ethnicity_2019_to_2022.csv").read_bytes()}),
                *[Release(y, {f"csww_indicators_2017_to_{y}.csv": (shared / f"csww_indicators_2017_to_{y}.csv").read_bytes()})
                  for y in ("2023", "2024", "2025")]]
    cache = ees.Cache(tmp_path / "cache")
    with EESServer(releases) as server:
        for slug in ("2022", "2023", "2024"):
            ees.fetch(client(server), cache, slug, progress=False, echo=lambda m: None)
        ees.fetch(client(server), cache, whole_zip=True, progress=False, echo=lambda m: None)  # latest, as a ZIP
    assert [d.name for d in cache.release_dirs()] == ["2022", "2023", "2024", "2025"]
    assert [f["filename"] for f in cache.manifest("2022")["files"]] == ["csww_headline_measures_2017_to_2022.csv"]
    report = build(cache.release_dirs(), tmp_path / "out")
    db = tmp_path / "out" / "csww.db"
    assert sorted({r.release_id for r in report.files}) == ["2022", "2023", "2024", "2025"]
    assert value(db, 2025, "E92000001", "inpost_fte") == (36186.3, None)
    assert value(db, 2023, "E12000002", "absence_rate_fte") == (3.9, None)  # North West: 3.7 in 2023 release, 3.9 in 2025
    import sqlite3
    with sqlite3.connect(db) as conn:
        nw = conn.execute("select release_id, value from observation_revisions where time_period=2023 and "
                          "area_code='E12000002' and measure_id='absence_rate_fte' order by release_id").fetchall()
        assert nw[0] == ("2023", 3.7) and nw[-1] == ("2025", 3.9)
        # 2022 release: national leavers FTE 2022 was 5,421 in the 2023 release and 5,422 later (reference section 5)
        assert conn.execute("select value from observation_revisions where time_period=2022 and area_code='E92000001' "
                            "and measure_id='leavers_fte' and release_id='2023'").fetchone() == (5421,)


def test_cli_build_offline_hint_when_the_network_fails_but_the_cache_has_releases(tmp_path):
    runner = CliRunner()
    with EESServer(fixture_releases()) as server:
        env = {"CSWW_EES_URL": server.url, "CSWW_CACHE": str(tmp_path / "cache")}
        assert runner.invoke(cli, ["fetch"], env=env).exit_code == 0
    env["CSWW_EES_URL"] = "http://127.0.0.1:9/api"  # now unreachable
    result = runner.invoke(cli, ["build", "--out", str(tmp_path / "out")], env=env)
    assert result.exit_code == 1
    assert "cannot connect" in result.output and "'csww build --offline' builds from them" in result.output
    assert "(2025)" in result.output
