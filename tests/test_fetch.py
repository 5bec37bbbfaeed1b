"""The real download code against a local server speaking the EES routes."""

from __future__ import annotations

import email.utils
import io
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FIXTURES, ROOT, one, value
from ees_server import EESServer, Release, data_rows

from benchmark import ees, readers
from benchmark.build import build
from benchmark.cli import cli
from benchmark.problems import InputError, OutputError


def fixture_releases():
    return [Release("2024", {"csww_indicators_2017_to_2024.csv": (FIXTURES / "indicators_2024_small.csv").read_bytes()}),
            Release("2025", {"csww_indicators_2017_to_2025.csv": (FIXTURES / "indicators_2025_small.csv").read_bytes(),
                             "csww_data_guidance_2025.csv": b"time_period,OrgRole\n2025,x\n"})]


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
    [entry] = manifest["files"]  # only the data file is wanted
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


def test_breakdown_files_are_fetched_with_the_indicators(tmp_path):
    """A release's role-by-characteristics file is downloaded with the indicators and loads into breakdowns."""
    files = {"csww_indicators_2017_to_2025.csv": (FIXTURES / "indicators_2025_small.csv").read_bytes(),
             "csww_role_by_characteristics_inpost_2019_to_2025.csv":
                 (FIXTURES / "role_by_characteristics_small.csv").read_bytes()}
    cache = ees.Cache(tmp_path / "cache")
    with EESServer([Release("2025", files)]) as server:
        folder = ees.fetch(client(server), cache, progress=False, echo=lambda m: None)
    layouts = {e["filename"]: e["layout"] for e in json.loads((folder / "manifest.json").read_text())["files"]}
    assert layouts == {"csww_indicators_2017_to_2025.csv": "ees-indicators",
                       "csww_role_by_characteristics_inpost_2019_to_2025.csv": "ees-breakdowns"}
    build(cache.release_dirs(), tmp_path / "out")
    assert one(tmp_path / "out" / "csww.db", "select value, release_id from breakdowns where area_code='841' and "
               "breakdown='Not known' and role='Case holder' and measure_id='inpost_headcount'") == (1, "2025")


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
        with pytest.raises(ees.FetchError):  # force: the cached copy is up to date, so only --force refetches
            ees.fetch(client(server), cache, progress=False, echo=lambda m: None, force=True)
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
    assert sorted(f["filename"] for f in cache.manifest("2022")["files"]) == [
        "csww_headline_measures_2017_to_2022.csv", "csww_workforce_role_by_ethnicity_2019_to_2022.csv"]
    report = build(cache.release_dirs(), tmp_path / "out")
    db = tmp_path / "out" / "csww.db"
    assert sorted({r.release_id for r in report.files}) == ["2022", "2023", "2024", "2025"]
    assert value(db, 2025, "E92000001", "inpost_fte") == (36186.3, None)
    assert value(db, 2023, "E12000002", "absence_rate_fte") == (3.9, None)  # North West: 3.7 in 2023 release, 3.9 in 2025
    assert one(db, "select value, release_id from breakdowns where time_period=2022 and area_code='E92000001' and "
                   "role='Case holder' and breakdown like 'Black%' and measure_id='inpost_headcount_percentage'") \
        == (16.3, "2022")  # the breakdown file fetched with its release
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


# -- hostile network (issue 14 item 1): one test per fault class, through the CLI ------------------
# Each asserts the exit code, the message, that the cache (indeed everything under tmp_path) is byte
# for byte as it was, and that no traceback escaped.

def snapshot(root) -> dict:
    """Every folder and file under ``root``, with the files' bytes."""
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else "<dir>") for p in sorted(root.rglob("*"))}


def primed(tmp_path) -> ees.Cache:
    """A cache holding good copies of releases 2024 and 2025."""
    cache = ees.Cache(tmp_path / "cache")
    with EESServer(fixture_releases()) as server:
        for slug in ("2024", "2025"):
            ees.fetch(client(server), cache, slug, progress=False, echo=lambda m: None)
    assert [d.name for d in cache.release_dirs()] == ["2024", "2025"]
    return cache


def run_fetch(server, tmp_path, *args):
    env = {"CSWW_EES_URL": server.url, "CSWW_CACHE": str(tmp_path / "cache")}
    # --force: these tests refetch what primed() cached, to see a failed download change nothing
    return CliRunner().invoke(cli, ["fetch", "--force", "--retries", "1", "--timeout", "5", *args], env=env)


def assert_failed_cleanly(result, message: str, tmp_path, before: dict):
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert re.search(message, result.output), result.output
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("route", ["/files/", "data-set-files"])
def test_server_dripping_a_byte_at_a_time_is_cut_at_the_command_deadline(tmp_path, route):
    primed(tmp_path)
    before = snapshot(tmp_path)
    with EESServer(fixture_releases(), drip_seconds=0.1) as server:
        server.fail(route, "drip")
        start = time.monotonic()
        result = run_fetch(server, tmp_path, "--deadline", "2", "--timeout", "1")
        elapsed = time.monotonic() - start
    # each byte comes well within the 1 s read timeout; only the total deadline stops it
    assert_failed_cleanly(result, r"not finished within the deadline of 2 s for this command", tmp_path, before)
    assert 1.9 < elapsed < 8


def test_per_download_deadline_bounds_one_download(tmp_path):
    cache = primed(tmp_path)
    before = snapshot(tmp_path)
    with EESServer(fixture_releases(), drip_seconds=0.1) as server:
        server.fail("/files/", "drip")
        start = time.monotonic()
        with pytest.raises(ees.FetchError, match=r"/files/.*: not finished within the per-download deadline of 1.5 s"):
            ees.fetch(client(server, download_deadline=1.5, deadline=None), cache, progress=False, echo=lambda m: None,
                      force=True)
        assert time.monotonic() - start < 6
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("retry_after", ["3600", "http-date"])
def test_retry_after_beyond_the_cap_fails_at_once(tmp_path, retry_after):
    primed(tmp_path)
    before = snapshot(tmp_path)
    if retry_after == "http-date":
        retry_after = email.utils.formatdate(time.time() + 3600, usegmt=True)
    with EESServer(fixture_releases()) as server:
        server.fail("/files/", f"429:{retry_after}")
        start = time.monotonic()
        result = run_fetch(server, tmp_path)
        assert time.monotonic() - start < 5  # not an hour's silence
    assert_failed_cleanly(result, r"/files/\S+: HTTP 429 .*asks to retry after 3,[56]\d\d s, more than the 60 s "
                                  r"csww waits; try again later", tmp_path, before)


def test_retry_after_longer_than_the_deadline_left_fails_at_once(tmp_path):
    primed(tmp_path)
    before = snapshot(tmp_path)
    with EESServer(fixture_releases()) as server:
        server.fail("/files/", "503:30")
        result = run_fetch(server, tmp_path, "--deadline", "10")
    assert_failed_cleanly(result, r"asks to wait 30 s \(HTTP 503 .*\), longer than is left of the deadline of 10 s",
                          tmp_path, before)


def test_retry_after_within_the_cap_is_honoured_with_a_message(tmp_path):
    with EESServer(fixture_releases()) as server:
        server.fail("/files/", "503:1")
        start = time.monotonic()
        result = run_fetch(server, tmp_path)
        elapsed = time.monotonic() - start
        assert len([p for p in server.log if "/files/" in p]) == 2
    assert result.exit_code == 0, result.output
    assert re.search(r"/files/\S+: HTTP 503 .*; the server asks to wait 1 s, waiting \(retry 1 of 1\)", result.stderr)
    assert elapsed >= 1
    assert (tmp_path / "cache" / ees.PUBLICATION / "2025" / "csww_indicators_2017_to_2025.csv").read_bytes() == \
        (FIXTURES / "indicators_2025_small.csv").read_bytes()


@pytest.mark.parametrize("paging", ["empty", "repeat"])
def test_paging_stops_on_an_empty_or_repeated_page(tmp_path, paging):
    with EESServer(fixture_releases(), paging=paging) as server:
        result = run_fetch(server, tmp_path)
        pages = [p for p in server.log if "/data-set-files?" in p]
    assert result.exit_code == 0, result.output
    assert len(pages) == 2  # page 1, then the empty or repeated page 2 (the server claims a million)
    assert [f["filename"] for f in ees.Cache(tmp_path / "cache").manifest("2025")["files"]] == [
        "csww_indicators_2017_to_2025.csv"]


def test_endless_distinct_pages_stop_at_the_page_limit(tmp_path):
    primed(tmp_path)
    before = snapshot(tmp_path)
    with EESServer(fixture_releases(), paging="endless") as server:
        result = run_fetch(server, tmp_path)
        pages = [p for p in server.log if "/data-set-files?" in p]
    assert_failed_cleanly(result, r"data-set-files: still more pages after 20 \(800 files\)", tmp_path, before)
    assert len(pages) == ees.MAX_PAGES == 20


@pytest.mark.parametrize("slug", [".", "..", "../2024", "2025/..", "a/b", "2025\\..", ""])
def test_hostile_release_slug_touches_nothing(tmp_path, slug):
    primed(tmp_path)
    before = snapshot(tmp_path)
    with EESServer(fixture_releases()) as server:
        server.answer(f"/publications/{ees.PUBLICATION}", {"latestRelease": {"id": "x", "slug": slug}})
        result = run_fetch(server, tmp_path)
        assert not [p for p in server.log if "/releases/" in p]  # no URL was built from it either
    assert_failed_cleanly(result, rf"{server.url}/publications/{ees.PUBLICATION}: unexpected answer from EES: "
                                  r"field latestRelease.slug is .*not a safe slug or id", tmp_path, before)


@pytest.mark.parametrize("slug", ["..", ".", "2025/../../x"])
def test_hostile_release_option_is_refused_before_any_request(tmp_path, slug):
    primed(tmp_path)
    before = snapshot(tmp_path)
    with EESServer(fixture_releases()) as server:
        result = run_fetch(server, tmp_path, "--release", slug)
        assert server.log == []
    assert_failed_cleanly(result, r"--release: release slug .* is not a valid release slug", tmp_path, before)


def test_hostile_file_name_and_file_id_touch_nothing(tmp_path):
    primed(tmp_path)
    before = snapshot(tmp_path)
    with EESServer(fixture_releases()) as server:
        release = server.releases["2025"]
        fid = next(iter(release.files))
        server.answer("/data-set-files", {"results": [{"id": "ds-1", "fileId": fid,
                                                       "filename": "csww_indicators_/../../../evil.csv"}]})
        result = run_fetch(server, tmp_path)
    assert_failed_cleanly(result, rf"{server.url}/data-set-files \(file {fid}\): file name "
                                  r"'csww_indicators_/../../../evil.csv' is not a valid file name", tmp_path, before)
    with EESServer(fixture_releases()) as server:
        server.answer("/data-set-files", {"results": [{"id": "ds-1", "fileId": "../../../x",
                                                       "filename": "csww_indicators_2017_to_2025.csv"}]})
        result = run_fetch(server, tmp_path)
        assert not [p for p in server.log if "/files/" in p]
    assert_failed_cleanly(result, r"data-set-files\?\S+: unexpected answer from EES: field results\[0\].fileId is "
                                  r"'../../../x', which is not a safe slug or id", tmp_path, before)


def test_zip_whose_indicators_csv_has_the_wrong_header_never_replaces_the_good_copy(tmp_path):
    primed(tmp_path)
    before = snapshot(tmp_path)
    bad = Release("2025", {"csww_indicators_2017_to_2025.csv": b"time_period,la_name,sw_count\n2025,Darlington,80\n"})
    with EESServer([bad]) as server:
        result = run_fetch(server, tmp_path, "--zip")
    assert_failed_cleanly(result, r"children-s-social-work-workforce_2025.zip!data/csww_indicators_2017_to_2025.csv, "
                                  r"row 1.*header is not a CSWW layout", tmp_path, before)


def _zip(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _claims_2_gib(zip_data: bytes) -> bytes:
    """The ZIP with its (only) member's uncompressed size in the central directory set to 2 GiB."""
    at = zip_data.rindex(b"PK\x01\x02") + 24
    return zip_data[:at] + struct.pack("<I", 2**31) + zip_data[at + 4:]


@pytest.mark.parametrize("bomb, message", [
    ("2 GiB member", r"member data/csww_indicators_2017_to_2025.csv is 2,147,483,648 bytes uncompressed, more than "
                     r"the 268,435,456 csww accepts; not extracted"),
    ("ratio", r"member data/csww_indicators_2017_to_2025.csv expands [\d,]+:1, beyond the 100:1 csww accepts"),
])
def test_zip_bomb_is_refused_before_extraction(tmp_path, bomb, message):
    primed(tmp_path)
    before = snapshot(tmp_path)
    good = (FIXTURES / "indicators_2025_small.csv").read_bytes()
    name = "data/csww_indicators_2017_to_2025.csv"
    data = (_claims_2_gib(_zip({name: good}, zipfile.ZIP_STORED)) if bomb == "2 GiB member"
            else _zip({name: good + b"\n" * (20 * 2**20)}))
    release = Release("2025", {"csww_indicators_2017_to_2025.csv": good}, zip_data=data)
    with EESServer([release]) as server:
        result = run_fetch(server, tmp_path, "--zip")
    assert_failed_cleanly(result, message, tmp_path, before)


@pytest.mark.parametrize("whole_zip", [False, True])
def test_csv_cut_on_a_row_boundary_without_a_byte_size_is_caught_by_the_row_count(tmp_path, whole_zip):
    primed(tmp_path)
    before = snapshot(tmp_path)
    good = (FIXTURES / "indicators_2025_small.csv").read_bytes()
    cut = good[: good.rindex(b"\n", 0, len(good) // 2) + 1]
    listed, kept = data_rows(good), data_rows(cut)
    assert (listed, kept) == (12, 5)  # tests/fixtures/indicators_2025_small.csv: 12 data rows
    release = Release("2025", {"csww_indicators_2017_to_2025.csv": good},
                      zip_data=_zip({"data/csww_indicators_2017_to_2025.csv": cut}) if whole_zip else None)
    with EESServer([release], file_size="text") as server:  # sizes as EES lists them: "4 Kb"
        server.fail("/files/", "rowcut", "rowcut")
        result = run_fetch(server, tmp_path, *(["--zip"] if whole_zip else []))
    assert_failed_cleanly(result, rf"csww_indicators_2017_to_2025.csv: {kept} data rows downloaded but EES states "
                                  rf"{listed} \(numDataFileRows\); the file is incomplete", tmp_path, before)


SHAPES = [  # route the answer replaces, the answer, what the message must name
    (f"/publications/{ees.PUBLICATION}", [], "the answer is an array, expected object"),
    (f"/publications/{ees.PUBLICATION}", {"latestRelease": "2025"}, "field latestRelease is a string, expected object"),
    ("/data-content", {"releaseId": "x"}, "field releaseVersionId is missing"),
    ("/data-content", None, "the answer is null, expected object"),
    ("/data-content", {"releaseVersionId": "abc", "dataSets": {"fileId": "x"}},
     "field dataSets is an object, expected array"),
    ("/data-set-files", {"results": [{"fileId": "abc"}]}, r"field results\[0\].filename is missing"),
    ("/data-set-files", {"results": [{"fileId": "abc", "filename": "a.csv"}], "paging": {"totalPages": "many"}},
     "field paging.totalPages is a string, expected integer"),
    ("/version-summary", {"published": 20260226}, r"field published is a number, expected \['string', 'null'\]"),
    (f"/{ees.PUBLICATION}/releases", {"results": []}, "the answer is an object, expected array"),
]


@pytest.mark.parametrize("route, answer, message", SHAPES)
def test_unexpected_json_shape_is_a_message_naming_the_route_and_field(tmp_path, route, answer, message):
    primed(tmp_path)
    before = snapshot(tmp_path)
    with EESServer(fixture_releases(), data_content=not route.endswith("/releases")) as server:
        server.answer(route, answer)
        result = run_fetch(server, tmp_path)
    assert_failed_cleanly(result, rf"{re.escape(server.url)}\S*{re.escape(route)}(\?\S*)?: unexpected answer from EES: "
                                  rf"{message}",
                          tmp_path, before)


def test_fetch_records_the_row_count_ees_states(shared, tmp_path):
    """The real 2025 indicators file: 1,463 data rows, as the reference lists and EES states."""
    cache = ees.Cache(tmp_path / "cache")
    data = (shared / "csww_indicators_2017_to_2025.csv").read_bytes()
    with EESServer([Release("2025", {"csww_indicators_2017_to_2025.csv": data})], file_size="text") as server:
        ees.fetch(client(server), cache, progress=False, echo=lambda m: None)
    [entry] = cache.manifest("2025")["files"]
    assert entry["rows"] == 1463 and entry["size"] == len(data)


def test_json_answer_cut_short_is_retried_then_a_message(tmp_path):
    primed(tmp_path)
    before = snapshot(tmp_path)
    with EESServer(fixture_releases()) as server:
        server.fail("/data-content", "cut")
        assert run_fetch(server, tmp_path, "--release", "2024").exit_code == 0  # cut once: asked again
        assert len([p for p in server.log if p.endswith("/data-content")]) == 2
    before = snapshot(tmp_path)
    with EESServer(fixture_releases()) as server:
        server.fail("/data-content", "cut", "cut")
        result = run_fetch(server, tmp_path)
    assert_failed_cleanly(result, r"/releases/2025/data-content: answer cut short after 1 retries", tmp_path, before)


def test_malformed_ees_url_is_a_message(tmp_path):
    result = CliRunner().invoke(cli, ["fetch", "--retries", "0"],
                                env={"CSWW_EES_URL": "localhost:8000/api", "CSWW_CACHE": str(tmp_path / "cache")})
    assert_failed_cleanly(result, r"EES URL 'localhost:8000/api' \(--ees-url or CSWW_EES_URL\) must start with "
                                  r"http:// or https://", tmp_path, {})


# ------------------------------------------------------------------ small fetch fixes (issue 14/15, offline branch)

def test_an_unwritable_cache_is_one_message_not_a_traceback(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    cache_dir = blocker / "cache"  # under a file: cannot be made, whoever runs the test (root too)
    with EESServer(fixture_releases()) as server:
        result = CliRunner().invoke(cli, ["fetch", "--ees-url", server.url, "--cache-dir", str(cache_dir),
                                          "--retries", "0"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    assert (f"Error: {cache_dir}: cannot write to the download cache here (Not a directory); give a folder you can "
            "write to with --cache-dir or CSWW_CACHE; nothing was written") in result.output
    with pytest.raises(OutputError):
        ees.Cache(cache_dir).staging("2025")


def test_install_replaces_an_older_copy_whole(tmp_path):
    """Cache.install goes through fileio.atomic_replace_dir: the new copy in place, the old one gone, no leftovers."""
    cache = ees.Cache(tmp_path / "cache")
    with EESServer(fixture_releases()) as server:
        first = ees.fetch(client(server), cache, progress=False, echo=lambda m: None)
        (first / "stale.txt").write_text("from the older copy")
        again = ees.fetch(client(server), cache, progress=False, echo=lambda m: None, force=True)
    assert again == first and not (again / "stale.txt").exists()
    assert (again / "csww_indicators_2017_to_2025.csv").read_bytes() == (FIXTURES / "indicators_2025_small.csv").read_bytes()
    assert cache_is_clean(cache) and sorted(p.name for p in (cache.root / ees.PUBLICATION).iterdir()) == ["2025"]


def test_zip_caps_hold_for_build_from(tmp_path):
    """A ZIP given to 'csww build --from' meets the same caps as one from EES: checked from its directory before
    anything is read, the build stops with one message and nothing is written."""
    good = (FIXTURES / "indicators_2025_small.csv").read_bytes()
    bomb = tmp_path / "bomb.zip"  # 3 MiB of blank lines after a real file: about 1,000:1
    bomb.write_bytes(_zip({"csww_indicators_2017_to_2025.csv": good + b"\n" * (3 * 2**20)}))
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["build", "--from", str(bomb), "--out", str(out)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert re.search(rf"{re.escape(str(bomb))}: member csww_indicators_2017_to_2025.csv expands [\d,]+:1, beyond the "
                     r"100:1 csww accepts \(a ZIP bomb\?\); not extracted", result.output), result.output
    assert not out.exists()
    # the caps are a parameter: a plain 4 kB ZIP against a 1,000-byte member cap
    small = tmp_path / "small.zip"
    small.write_bytes(_zip({"data/csww_indicators_2017_to_2025.csv": good}))
    with pytest.raises(InputError) as err:
        readers.read_sources([small], limits=readers.ZipLimits(member=1000))
    assert str(err.value.problems[0]) == (f"{small}: member data/csww_indicators_2017_to_2025.csv is {len(good):,} "
                                          "bytes uncompressed, more than the 1,000 csww accepts; not extracted")
    assert [r.release_id for r in readers.read_sources([small])] == ["2025"]  # within the default caps


def test_a_host_dns_says_does_not_exist_is_asked_for_once_not_retried(monkeypatch):
    """Offline, 'csww build' waited through every retry's backoff (about 8 s) for a host name that cannot resolve
    before building from the cache. A name DNS says does not exist (EAI_NONAME; '.invalid' never resolves, RFC
    2606) is looked up once; the error says so, without "after 4 retries"."""
    looked_up, real = [], socket.getaddrinfo

    def getaddrinfo(host, *args, **kw):
        if host == "csww-test.invalid":
            looked_up.append(host)
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    client = ees.Client(base_url="http://csww-test.invalid/api", retries=4, notify=lambda m: None)
    with pytest.raises(ees.FetchError) as err:
        client.get("publications/children-s-social-work-workforce")
    assert looked_up == ["csww-test.invalid"]
    assert str(err.value) == (
        "http://csww-test.invalid/api/publications/children-s-social-work-workforce: cannot connect (NameResolutionError: "
        "Failed to resolve 'csww-test.invalid' ([Errno -2] Name or service not known)). Behind a firewall? Download "
        "the files by hand and use --from.")
    # a temporary failure (EAI_AGAIN) is still retried
    looked_up.clear()
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: looked_up.append(host) or (_ for _ in ()).throw(
        socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")))
    with pytest.raises(ees.FetchError, match="cannot connect after 2 retries"):
        ees.Client(base_url="http://csww-test.invalid/api", retries=2, backoff=0, notify=lambda m: None).get("x")
    assert len(looked_up) == 3


def test_a_cached_release_that_is_what_ees_lists_is_up_to_date_and_force_fetches_it_again(tmp_path):
    """'csww fetch' twice: the second asks EES what the release holds (3 JSON routes) but downloads nothing and
    says "up to date"; --force downloads again; a cached file changed on disk is fetched again."""
    env = {"CSWW_CACHE": str(tmp_path / "cache")}
    with EESServer(fixture_releases()) as server:
        env["CSWW_EES_URL"] = server.url
        first = CliRunner().invoke(cli, ["fetch"], env=env)
        assert first.exit_code == 0 and len([p for p in server.log if "/files/" in p]) == 1, first.output
        server.log.clear()
        again = CliRunner().invoke(cli, ["fetch"], env=env)
        assert again.exit_code == 0, again.output
        assert not [p for p in server.log if "/files/" in p or "/download" in p], server.log
        assert "2025: up to date in " in again.output and "--force downloads it again" in again.output
        server.log.clear()
        forced = CliRunner().invoke(cli, ["fetch", "--force"], env=env)
        assert forced.exit_code == 0 and "up to date" not in forced.output
        assert len([p for p in server.log if "/files/" in p]) == 1
        cached = tmp_path / "cache" / ees.PUBLICATION / "2025" / "csww_indicators_2017_to_2025.csv"
        cached.write_bytes(cached.read_bytes().replace(b"80.5", b"80.6"))  # same size, another checksum
        server.log.clear()
        changed = CliRunner().invoke(cli, ["fetch"], env=env)
        assert changed.exit_code == 0 and "up to date" not in changed.output
        assert len([p for p in server.log if "/files/" in p]) == 1
    assert cached.read_bytes() == (FIXTURES / "indicators_2025_small.csv").read_bytes()


def test_a_killed_fetchs_partial_folder_goes_at_the_next_fetch_but_never_a_live_one(tmp_path):
    """SIGTERM ends a fetch without its clean-up: its .partial-* folder stays until the next fetch removes it (and
    says so). A staging folder a running fetch holds (its lock) is never removed."""
    cache = ees.Cache(tmp_path / "cache")
    env = {**os.environ, "CSWW_CACHE": str(cache.root)}
    with EESServer(fixture_releases(), drip_seconds=0.2) as server:
        server.fail("/files/", "drip")
        env["CSWW_EES_URL"] = server.url
        proc = subprocess.Popen([sys.executable, "-m", "benchmark", "fetch", "--timeout", "5"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 20
            # killed once its download is under way (its staging folder made and the dripping file asked for), so
            # that the drip is spent on it, not left for the fetch below
            while (not (list(cache.root.glob(".partial-*")) and any("/files/" in p for p in server.log))
                   and time.monotonic() < deadline and proc.poll() is None):
                time.sleep(0.05)
            [left] = list(cache.root.glob(".partial-2025-*"))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)
        assert left.is_dir()  # SIGTERM: no clean-up ran
        live = cache.staging("2024")  # a fetch of this process, still running
        try:
            said = []
            folder = ees.fetch(client(server), cache, progress=False, echo=said.append)
            assert f"removed {left}: left by a fetch that was stopped before it finished" in said
            assert not left.exists() and live.is_dir() and (folder / "manifest.json").exists()
        finally:
            shutil.rmtree(live)
            cache.finished(live)
    assert cache_is_clean(cache)


def test_staging_locks_are_another_processs_until_it_dies_and_leave_no_lock_file(tmp_path):
    """The staging lock (a lock file beside each .partial-* folder, since Windows cannot lock a folder) is held by
    the process that made it: another process's cleaning leaves its folder alone while it lives, and removes the
    folder and its lock file once it is killed (SIGKILL: no clean-up ran; the system let go of the lock)."""
    cache = ees.Cache(tmp_path / "cache")
    holder = subprocess.Popen([sys.executable, "-c", "import sys; from benchmark import ees; "
                               f"print(ees.Cache({str(cache.root)!r}).staging('2025'), flush=True); sys.stdin.read()"],
                              cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        held = Path(holder.stdout.readline().strip())
        assert held.is_dir() and held.name.startswith(".partial-2025-")
        assert cache.remove_stale_partials() == [] and held.is_dir()  # alive: left alone
    finally:
        holder.kill()
        holder.wait(10)
    assert sorted(p.name for p in cache.root.iterdir()) == [".lock" + held.name, held.name]
    assert cache.remove_stale_partials() == [held]
    mine = cache.staging("2024")
    cache.install("2024", mine, {"release_slug": "2024"})
    (cache.root / ".lock.partial-2023-killedafterinstall").write_bytes(b"")  # its folder had been installed
    assert cache.remove_stale_partials() == []  # mine is held, the other's folder is gone: its lock file goes
    assert sorted(p.name for p in cache.root.iterdir()) == [".lock" + mine.name, ees.PUBLICATION]
    cache.finished(mine)
    assert [p.name for p in cache.root.iterdir()] == [ees.PUBLICATION]
