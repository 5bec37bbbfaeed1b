"""The Datasette site in process: canned queries, pages, metadata, CSV, caching and the private database."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import FIXTURES, ROOT

from benchmark import compare, site
from benchmark.build import build
from benchmark.cli import cli
from benchmark.local import store as local_store
from benchmark.problems import UsageError

EXAMPLES = ROOT / "examples"
SECRET = "unpublished-return-SECRET.csv"
SECRET_VALUE = 42.4242


class Client:
    """Datasette's in-process HTTPX client, driven from synchronous tests on one event loop."""

    def __init__(self, ds):
        self.ds = ds
        self.loop = asyncio.new_event_loop()

    def get(self, path, **kw):
        r = self.loop.run_until_complete(self.ds.client.get(path, **kw))
        if r.status_code == 302 and "/-/query" in r.headers.get("location", ""):   # Datasette 1.0 moved ?sql= there
            r = self.loop.run_until_complete(self.ds.client.get(r.headers["location"]))
        return r

    def post(self, path, **kw):
        return self.loop.run_until_complete(self.ds.client.post(path, **kw))

    def close(self):
        self.loop.close()


def add_local_returns(db: Path) -> None:
    """One published and one unpublished local return for Darlington, as csww align would load them."""
    conn = sqlite3.connect(db)
    local_store.create_tables(conn)
    for rid, published, source, value, period_end in (
            ("841:2024-10-01:2025-03-31:aaaa", 1, "darlington-q2-published.csv", 14.1, "2025-03-31"),
            ("841:2025-04-01:2025-09-30:bbbb", 0, SECRET, SECRET_VALUE, "2025-09-30")):
        conn.execute("insert into local_returns (return_id, area_code, period_start, period_end, time_period, "
                     "input_kind, source_file, sha256, loaded_at, published) values (?, '841', '2024-10-01', ?, 2025, "
                     "'aggregate', ?, 'ff', '2025-10-01T00:00:00+00:00', ?)", (rid, period_end, source, published))
        conn.execute("insert into local_observations (return_id, team, area_code, time_period, period_start, "
                     "period_end, measure_id, value, symbol, basis, comparable, caveat, reported_value, "
                     "reported_definition, provisional, source_file, rows_used) values (?, '', '841', 2025, '2024-10-01', ?, "
                     "'turnover_rate_fte', ?, null, 'DfE definition', 1, '', ?, 'leavers / in post', 1, ?, '1-20')",
                     (rid, period_end, value, value, source))
    compare.write_comparisons(conn)          # as csww build does after loading local figures
    conn.commit()
    conn.close()


@pytest.fixture(scope="module")
def fixture_site(mini_db, tmp_path_factory):
    out = tmp_path_factory.mktemp("site_fx")
    shutil.copy(mini_db, out / "csww.db")          # the session's mini build (tests/fixtures/indicators_mini.csv)
    add_local_returns(out / "csww.db")
    return site.prepare(out / "csww.db")


@pytest.fixture(scope="module")
def fx(fixture_site):
    c = Client(site.datasette(fixture_site))
    yield c
    c.close()


@pytest.fixture(scope="module")
def real_site(real_db, tmp_path_factory):
    out = tmp_path_factory.mktemp("site_real")
    shutil.copy(real_db, out / "csww.db")
    return site.prepare(out / "csww.db")


@pytest.fixture(scope="module")
def real(real_site):
    c = Client(site.datasette(real_site))
    yield c
    c.close()


QUERY_EXAMPLES = {
    "council_profile": "la=841&year=2025",
    "league_table": "measure=turnover_rate_fte&year=2025",
    "council_vs_neighbours": "la=Darlington&measure=turnover_rate_fte",
    "region_councils": "region=North East&year=2025",
    "trend": "la=841&measure=turnover_rate_fte",
    "local_vs_published": "la=841",
}


def rows(client, path):
    r = client.get(path)
    assert r.status_code == 200, (path, r.text[:500])
    data = r.json()
    if path.startswith("/-/databases.json") and isinstance(data, dict):   # Datasette 1.0: {"ok": ..., "databases": [...]}
        return data["databases"]
    return data


# ------------------------------------------------------------------ queries and metadata

def test_every_query_file_is_in_the_metadata_with_its_parameters():
    queries = site.query_files()
    assert set(queries) == set(QUERY_EXAMPLES)
    meta = site.metadata()["databases"]["csww"]["queries"]
    assert meta["council_profile"]["params"] == ["la", "year"]
    assert meta["league_table"]["params"] == ["measure", "year"]
    assert meta["council_vs_neighbours"]["params"] == ["la", "measure"]
    assert meta["region_councils"]["params"] == ["region", "year"]
    assert meta["trend"]["params"] == ["la", "measure"]
    assert meta["local_vs_published"]["params"] == ["la"]
    for q in meta.values():
        assert q["title"] and q["description_html"] and "coalesce(nullif(:" in q["sql"]


def test_metadata_file_is_datasette_065_yaml_with_licence_and_source(fixture_site):
    meta = yaml.safe_load(fixture_site.metadata.read_text())
    assert meta["license"] == "OGL-UK-3.0" and "nationalarchives" in meta["license_url"]
    assert meta["source_url"].startswith("https://explore-education-statistics.service.gov.uk/")
    tables = meta["databases"]["csww"]["tables"]
    assert tables["comparisons"]["label_column"] == "area_name"
    assert "measure_id" in tables["comparisons"]["facets"]
    assert set(meta["databases"]["csww"]["queries"]) == set(QUERY_EXAMPLES)


@pytest.mark.parametrize("name", sorted(QUERY_EXAMPLES))
def test_every_canned_query_answers_on_the_fixture_db(fx, name):
    params = QUERY_EXAMPLES[name].replace("&year=2025", "")       # the fixture's latest year is 2024
    data = rows(fx, f"/csww/{name}.json?{params}&_shape=array")
    assert data, f"{name} returned no rows"


@pytest.mark.parametrize("name", sorted(QUERY_EXAMPLES))
def test_every_canned_query_answers_with_no_parameters(fx, name):
    assert fx.get(f"/csww/{name}").status_code == 200
    assert fx.get(f"/csww/{name}.json").status_code == 200


def test_query_sql_runs_on_plain_sqlite(fixture_site, fx):
    """Each canned query gives the same rows from plain SQLite as from the site (a reader of the published file
    needs no Datasette), and no rows at all when every parameter is blank."""
    conn = sqlite3.connect(fixture_site.public)
    for name, q in site.query_files().items():
        example = QUERY_EXAMPLES[name].replace("&year=2025", "")
        params = dict.fromkeys(q["params"], "") | dict(p.split("=") for p in example.split("&"))
        got = [list(r) for r in conn.execute(q["sql"], params).fetchall()]
        assert got and got == [list(r.values()) for r in rows(fx, f"/csww/{name}.json?{example}&_shape=array")], name
    conn.close()


def test_council_found_by_name_code_or_ons_code(fx):
    for la in ("841", "Darlington", "darlington", "E06000005"):
        data = rows(fx, f"/csww/trend.json?la={la}&_shape=array")
        assert {r["area_code"] for r in data} == {"841"}


# ------------------------------------------------------------------ real DfE figures

@pytest.mark.parametrize("name", sorted(QUERY_EXAMPLES))
def test_every_canned_query_returns_real_values(real, name):
    data = rows(real, f"/csww/{name}.json?{QUERY_EXAMPLES[name]}&_shape=array&_size=max")
    if name == "local_vs_published":
        return  # the real build has no local returns; the fixture tests cover this query's rows
    assert data
    darlington = [r for r in data if r.get("area_code") == "841"]
    assert darlington, f"{name}: Darlington missing"


def test_darlington_2025_turnover_everywhere(real):
    profile = rows(real, "/csww/council_profile.json?la=841&year=2025&_shape=array")
    turnover = next(r for r in profile if r["measure_id"] == "turnover_rate_fte")
    assert (turnover["value"], turnover["england"], turnover["region"]) == (15.4, 11.8, 11.7)
    assert (turnover["sn_median"], turnover["sn_count"], turnover["quartile"]) == (13.1, 10, "D")
    assert (turnover["rank"], turnover["rank_of"]) == (112, 148)
    trend = rows(real, "/csww/trend.json?la=Darlington&measure=turnover_rate_fte&_shape=array")
    assert {r["time_period"]: r["value"] for r in trend}[2025] == 15.4
    assert {r["time_period"]: r["value"] for r in trend}[2017] == 26.0
    league = rows(real, "/csww/league_table.json?measure=turnover_rate_fte&year=2025&_shape=array&_size=max")
    assert next(r for r in league if r["area_code"] == "841")["value"] == 15.4
    neighbours = rows(real, "/csww/council_vs_neighbours.json?la=841&_shape=array")
    assert neighbours[0]["area_code"] == "841" and neighbours[0]["value"] == 15.4
    assert [r["area_code"] for r in neighbours[1:4]] == ["390", "808", "332"]   # 2025 model, nearest first
    assert len(neighbours) == 11 and {r["sn_median"] for r in neighbours} == {13.1}
    import statistics
    assert statistics.median(r["value"] for r in neighbours[1:] if r["value"] is not None) == 13.1
    region = rows(real, "/csww/region_councils.json?region=North+East&year=2025&_shape=array")
    assert next(r for r in region if r["area_code"] == "841")["turnover_rate_fte"] == 15.4
    assert len(region) == 12


def test_latest_comparison_is_one_row_per_council(real):
    data = rows(real, "/csww/latest_comparison.json?area_code=841&_shape=array")
    assert len(data) == 1
    assert data[0]["time_period"] == 2025 and data[0]["turnover_rate_fte"] == 15.4
    assert data[0]["turnover_rate_fte_england"] == 11.8
    assert data[0]["turnover_rate_fte_sn_median"] == 13.1 and data[0]["turnover_rate_fte_quartile"] == "D"


def test_column_descriptions_appear(real):
    from markupsafe import escape

    tables = site.metadata()["databases"]["csww"]["tables"]
    checked = 0
    for table, column in (("latest_comparison", "turnover_rate_fte_sn_median"), ("comparisons", "sn_median"),
                          ("comparisons", "quartile"), ("observations", "symbol")):
        description = tables[table].get("columns", {}).get(column)
        if description is None:
            continue
        html = real.get(f"/csww/{table}").text
        assert str(escape(description)) in html, (table, column)
        assert "OGL-UK-3.0" in html
        checked += 1
    assert checked >= 3


def test_csv_export(real):
    r = real.get("/csww/league_table.csv?measure=turnover_rate_fte&year=2025")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain") or "csv" in r.headers[
        "content-type"]
    lines = r.text.splitlines()
    assert lines[0].startswith("rank,rank_of,area_code,area_name")
    assert any(line.split(",")[2] == "841" and ",15.4," in line for line in lines[1:])
    r = real.get("/csww/comparisons.csv?area_code=841&_stream=on&_size=max")
    assert r.status_code == 200 and len(r.text.splitlines()) > 100


def test_full_text_search_on_area_names(real):
    data = rows(real, "/csww/areas.json?_search=darlington&_shape=array")
    assert [r["area_code"] for r in data] == ["841"]


def test_production_settings_and_cache_headers(real):
    r = real.get("/csww/comparisons.json")
    assert r.headers["cache-control"] == "max-age=3600"
    settings = rows(real, "/-/settings.json")
    assert settings["sql_time_limit_ms"] == 2000 and settings["max_returned_rows"] == 2000
    assert real.get("/la/841").headers["cache-control"] == "max-age=3600"
    # arbitrary SQL stays open to analysts, inside the time limit
    assert real.get("/csww.json?sql=select+count(*)+from+observations").status_code == 200
    slow = real.get("/csww.json", params={"sql": "with recursive r(i) as (select 1 union all select i+1 from r) "
                                             "select count(*) from r"})
    assert slow.status_code == 400 and ("interrupted" in slow.text.lower() or "took too long" in slow.text)  # 0.65/1.0


def test_no_sql_closes_arbitrary_sql_but_not_the_queries(real_site):
    c = Client(site.datasette(real_site, allow_sql=False))
    try:
        assert c.get("/csww.json?sql=select+1").status_code == 403
        assert c.get("/csww/trend.json?la=841").status_code == 200
        assert c.get("/la/841").status_code == 200
    finally:
        c.close()


def test_robots_allow_only_the_home_page(real):
    text = real.get("/robots.txt").text
    assert "Disallow: /csww" in text


def test_databases_are_immutable_with_inspect_data(real):
    dbs = rows(real, "/-/databases.json")
    assert [(d["name"], d["is_mutable"]) for d in dbs] == [("csww", False)]
    assert dbs[0]["hash"]


# ------------------------------------------------------------------ pages

def test_landing_page_offers_every_council(real):
    html = real.get("/").text
    assert '<html lang="en">' in html
    assert 'action="/la"' in html and '<label for="council-q">' in html
    assert '<option value="Darlington">' in html
    assert 'href="/la/841"' in html


def test_picking_a_council_by_name_redirects_to_its_profile(real):
    r = real.get("/la?q=Darlington")
    assert r.status_code == 302 and r.headers["location"] == "/la/841"
    r = real.get("/la?q=darling")
    assert r.status_code == 302 and r.headers["location"] == "/la/841"
    r = real.get("/la?q=York")                          # an exact name, though North Yorkshire contains it
    assert r.status_code == 302 and r.headers["location"] == "/la/816"
    r = real.get("/la?q=nowhere-at-all")
    assert r.status_code == 200 and "No council matches" in r.text


def test_council_profile_page(real):
    r = real.get("/la/841")
    assert r.status_code == 200
    html = r.text
    assert "<h1>Darlington</h1>" in html
    measures_part = html.split('<section id="ethnicity"')[0]   # the six key measures; ethnicity by seniority after
    assert measures_part.count('class="csww-chart"') == 6
    assert measures_part.count("<caption>") == 7                 # headline table plus one table per chart
    assert '<th scope="col">Year</th>' in html
    assert "15.4" in html and "13.1" in html and 'role="img"' in html
    assert "/csww/trend.csv?la=841&amp;measure=turnover_rate_fte" in html
    assert measures_part.count('<svg xmlns="http://www.w3.org/2000/svg"') == 6    # drawn by the server: no JavaScript
    assert "Neighbour median, 2025: 13.1%" in html                       # each point's tooltip
    assert "https://" not in html.split("<footer")[0].replace("https://www.nationalarchives", "")


def test_joint_return_and_unknown_council(fx):
    r = fx.get("/la/940-941")
    assert r.status_code == 200 and "North Northamptonshire / West Northamptonshire" in r.text
    assert fx.get("/la/999").status_code == 404
    r = fx.get("/la/E06000005")
    assert r.status_code == 302 and r.headers["location"] == "/la/841"


def test_static_files_are_local(real):
    assert real.get("/csww-static/csww.css").status_code == 200


# ------------------------------------------------------------------ unpublished local figures

def test_public_database_never_holds_unpublished_figures(fixture_site):
    assert SECRET.encode() not in fixture_site.public.read_bytes()
    conn = sqlite3.connect(fixture_site.public)
    assert conn.execute("select count(*), sum(published) from local_returns").fetchone() == (1, 1)
    assert conn.execute("select count(*) from local_observations where value = ?", (SECRET_VALUE,)).fetchone() == (0,)
    conn.close()
    # the provisional comparison row for Darlington 2025 comes from the published return only
    assert conn_rows(fixture_site.public, "select value from comparisons where provisional = 1 and area_code = '841' "
                                          "and measure_id = 'turnover_rate_fte'") == [(14.1,)]
    assert fixture_site.private is not None
    assert SECRET.encode() in fixture_site.private.read_bytes()
    assert (SECRET_VALUE,) in conn_rows(fixture_site.private, "select value from comparisons where provisional = 1")


def conn_rows(db, sql):
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_public_instance_cannot_reach_private_figures(fx, fixture_site):
    assert [d["name"] for d in rows(fx, "/-/databases.json")] == ["csww"]
    assert fx.get("/private").status_code == 404
    assert fx.get("/private/local_returns.json").status_code == 404
    assert fx.get("/private.json?sql=select+*+from+local_returns").status_code == 404
    for sql in ("select * from local_returns", "select * from local_observations",
                "select * from comparisons where provisional = 1",
                "select name, file from pragma_database_list"):
        r = fx.get("/csww.json", params={"sql": sql, "_shape": "array"})
        assert r.status_code == 200
        assert SECRET not in r.text and str(SECRET_VALUE) not in r.text and "private.db" not in r.text
    attach = fx.get("/csww.json", params={"sql": f"attach database '{fixture_site.private}' as p"})
    assert attach.status_code == 400
    local = rows(fx, "/csww/local_vs_published.json?la=841&_shape=array")
    assert [r["local_value"] for r in local] == [14.1]
    page = fx.get("/la/841").text
    assert "The council's own figures (provisional)" in page and "14.1" in page and "42.4" not in page


def test_private_instance_needs_a_password(fixture_site, monkeypatch):
    from datasette_auth_passwords.utils import hash_password

    monkeypatch.delenv(site.PRIVATE_HASH_ENV, raising=False)
    with pytest.raises(UsageError, match=site.PRIVATE_HASH_ENV):
        site.datasette(fixture_site, private=True)
    monkeypatch.setenv(site.PRIVATE_HASH_ENV, hash_password("correct horse"))
    c = Client(site.datasette(fixture_site, private=True))
    try:
        for path in ("/", "/private", "/private/local_returns.json", "/private.json?sql=select+1",
                     "/private/local_vs_published.json?la=841", "/la/841"):
            assert c.get(path).status_code == 403, path
        cookies = {"ds_actor": c.ds.sign({"a": {"id": site.PRIVATE_USER}}, "actor")}
        r = c.get("/private/local_vs_published.json?la=841&_shape=array", cookies=cookies)
        assert r.status_code == 200
        assert sorted(row["local_value"] for row in r.json()) == [14.1, SECRET_VALUE]
        page = c.get("/la/841", cookies=cookies)
        assert page.status_code == 200 and "42.4" in page.text and "provisional" in page.text
        assert page.headers["cache-control"] == "private, no-store"
        # signing in with the password works; a wrong one does not
        login = c.get("/-/login")
        token = login.cookies.get("ds_csrftoken")
        bad = c.post("/-/login", data={"username": site.PRIVATE_USER, "password": "wrong", "csrftoken": token},
                     cookies={"ds_csrftoken": token})
        assert "ds_actor" not in bad.cookies
        good = c.post("/-/login", data={"username": site.PRIVATE_USER, "password": "correct horse",
                                        "csrftoken": token}, cookies={"ds_csrftoken": token})
        assert good.status_code == 302 and "ds_actor" in good.cookies
    finally:
        c.close()


def test_local_returns_from_build_stay_private_until_published(tmp_path):
    """csww build --local loads a council's return unpublished: only the private database holds it."""
    build([FIXTURES / "indicators_mini.csv"], tmp_path, local_files=[EXAMPLES / "darlington.csv"])
    built = conn_rows(tmp_path / "csww.db", "select count(*) from local_observations")[0][0]
    assert built > 0 and conn_rows(tmp_path / "csww.db", "select count(*) from comparisons where provisional = 1")
    s = site.prepare(tmp_path / "csww.db")
    assert conn_rows(s.public, "select count(*) from local_observations") == [(0,)]
    assert conn_rows(s.public, "select count(*) from comparisons where provisional = 1") == [(0,)]
    assert b"darlington.csv" not in s.public.read_bytes()
    assert conn_rows(s.private, "select count(*) from local_observations") == [(built,)]
    # once the council marks the return published, the next site build carries it publicly
    with sqlite3.connect(tmp_path / "csww.db") as conn:
        conn.execute("update local_returns set published = 1")
    s = site.prepare(tmp_path / "csww.db")
    assert s.private is None
    assert conn_rows(s.public, "select count(*) from local_observations") == [(built,)]
    assert conn_rows(s.public, "select count(*) from comparisons where provisional = 1")[0][0] > 0


def test_prepare_reuses_an_up_to_date_site(tmp_path):
    build([FIXTURES / "indicators_mini.csv"], tmp_path)
    first = site.prepare(tmp_path / "csww.db")
    inode = first.public.stat().st_ino
    assert site.prepare(tmp_path / "csww.db").public.stat().st_ino == inode    # nothing changed: same file
    with sqlite3.connect(tmp_path / "csww.db") as conn:
        conn.execute("update observations set value = 99.9 where area_code = '841' and time_period = 2024 "
                     "and measure_id = 'turnover_rate_fte'")
    again = site.prepare(tmp_path / "csww.db")
    assert again.public.stat().st_ino != inode
    assert conn_rows(again.public, "select value from observations where area_code = '841' and time_period = 2024 "
                                   "and measure_id = 'turnover_rate_fte'") == [(99.9,)]


def test_no_private_database_when_everything_is_published(tmp_path):
    build([FIXTURES / "indicators_mini.csv"], tmp_path)
    s = site.prepare(tmp_path / "csww.db")
    assert s.private is None and not (tmp_path / "site" / "private.db").exists()


# ------------------------------------------------------------------ CLI and bundle

def test_publish_bundle(fixture_site, tmp_path):
    db = fixture_site.folder.parent / "csww.db"
    result = CliRunner().invoke(cli, ["publish", "--out", str(db.parent), "--bundle", str(tmp_path / "dist")])
    assert result.exit_code == 0, result.output
    dist = tmp_path / "dist"
    for name in ("csww.db", "metadata.yml", "inspect-data.json", "requirements.txt", "Dockerfile", "run.sh",
                 "README.md", "datasette-1.0/datasette.yaml", "datasette-1.0/metadata.yaml", "templates/csww_council.html", "static/csww.css", "csww-benchmark/pyproject.toml",
                 "csww-benchmark/benchmark/site_plugin.py"):
        assert (dist / name).exists(), name
    assert SECRET.encode() not in (dist / "csww.db").read_bytes()
    assert not (dist / "private.db").exists()
    assert (dist / "requirements.txt").read_text().splitlines()[:2] == ["./csww-benchmark", "datasette>=0.65.5,<0.66"]
    assert 'csww = "benchmark.site_plugin"' in (dist / "csww-benchmark" / "pyproject.toml").read_text()
    assert "--plugins-dir" not in (dist / "run.sh").read_text()
    readme = (dist / "README.md").read_text()
    assert "datasette package" in readme and "datasette publish cloudrun" in readme
    # the bundle serves as its command line says, with the package's plugin installed (as requirements.txt does)
    from datasette.app import Datasette

    ds = Datasette(immutables=[str(dist / "csww.db")],
                   **site.datasette_kwargs(yaml.safe_load((dist / "metadata.yml").read_text())),
                   template_dir=str(dist / "templates"),
                   static_mounts=[("csww-static", str(dist / "static"))])
    c = Client(ds)
    try:
        assert c.get("/la/841").status_code == 200
        assert c.get("/csww/trend.json?la=841").status_code == 200
    finally:
        c.close()


def test_split_for_datasette_1_0_moves_queries_and_permissions_to_config():
    md, cfg = site.split_for_1_0(site.metadata(private=True))
    assert set(cfg["databases"]["private"]["queries"]) == set(QUERY_EXAMPLES)
    assert cfg["allow"] == {"id": "*"} and cfg["allow_sql"] == {"id": "*"}
    assert cfg["settings"]["default_cache_ttl"] == 3600
    assert "datasette-auth-passwords" in cfg["plugins"]
    assert cfg["databases"]["private"]["tables"]["comparisons"]["label_column"] == "area_name"
    assert "queries" not in md["databases"]["private"] and "allow" not in md and "plugins" not in md
    comparisons = md["databases"]["private"]["tables"]["comparisons"]
    assert comparisons["license"] == "OGL-UK-3.0" and "sn_median" in comparisons["columns"]
    assert "facets" not in comparisons


def test_serve_and_publish_fail_clearly_without_a_database(tmp_path):
    for args in (["serve", str(tmp_path)], ["publish", "--out", str(tmp_path), "--bundle", str(tmp_path / "d")]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 1 and "run 'csww build" in result.output


def test_serve_private_without_password_hash_fails_clearly(fixture_site, monkeypatch):
    monkeypatch.delenv(site.PRIVATE_HASH_ENV, raising=False)
    result = CliRunner().invoke(cli, ["serve", str(fixture_site.folder.parent), "--private"])
    assert result.exit_code == 1 and site.PRIVATE_HASH_ENV in result.output


def test_root_metadata_serves_the_canned_queries_on_a_plain_build(real_db):
    """``datasette build/csww.db -m metadata.yml``: the generated metadata's queries work on the build itself."""
    from datasette.app import Datasette

    ds = Datasette([str(real_db)], **site.datasette_kwargs(yaml.safe_load((ROOT / "metadata.yml").read_text())))
    c = Client(ds)
    try:
        rows = c.get("/csww/council_profile.json?la=Darlington&year=2025&_shape=array").json()
        turnover = next(r for r in rows if r["measure_id"] == "turnover_rate_fte")
        assert (turnover["area_code"], turnover["value"], turnover["england"]) == ("841", 15.4, 11.8)
        # a historical ONS code finds the council too (North Yorkshire before 2023)
        trend = c.get("/csww/trend.json?la=E10000023&measure=caseload_fte&_shape=array").json()
        assert {r["area_code"] for r in trend} == {"815"}
    finally:
        c.close()


# ------------------------------------------------------------------ one council resolver everywhere

COUNCIL_NAMES = ROOT.parent / "shared" / "cases" / "site" / "council_names.csv"


def council_names() -> list[tuple[str, str]]:
    import csv

    if not COUNCIL_NAMES.exists():
        return []
    with COUNCIL_NAMES.open(encoding="utf-8") as fh:
        return [(r["name_as_written"], r["expected_area_code"]) for r in csv.DictReader(fh)]


@pytest.mark.skipif(not COUNCIL_NAMES.exists(), reason="../shared/cases/site/council_names.csv is missing")
@pytest.mark.parametrize("name,code", council_names())
def test_council_names_as_dfe_and_ons_write_them_reach_the_council(real, real_db, name, code):
    """../shared/cases/site/council_names.csv: the resolver, csww compare, the site search, /la/NAME and every
    canned query taking :la all reach the same council."""
    from urllib.parse import quote

    from benchmark import councils

    with sqlite3.connect(real_db) as conn:
        assert councils.resolve(conn, name)["area_code"] == code
    res = CliRunner().invoke(cli, ["compare", "--la", name, "--db", str(real_db), "--format", "json"])
    assert res.exit_code == 0, res.output
    assert f'"area_code": "{code}"' in res.output
    r = real.get("/la", params={"q": name})
    assert r.status_code == 302 and r.headers["location"] == f"/la/{code}"
    r = real.get(f"/la/{quote(name)}")
    if r.status_code == 302 and "~" in r.headers["location"]:     # Datasette's own tilde-encoding hop first
        r = real.get(r.headers["location"])
    assert r.status_code == 302 and r.headers["location"] == f"/la/{code}"
    for query in ("council_profile", "trend", "council_vs_neighbours"):
        got = rows(real, f"/csww/{query}.json?" + f"la={quote(name)}&_shape=array")
        assert got and got[0]["area_code"] == code, query


@pytest.mark.parametrize("typed,member", [("940", "940"), ("941", "941"), ("314", "314"), ("318", "318"),
                                          ("E06000061", "940")])
def test_joint_return_members_redirect_to_the_joint_page_saying_why(real, typed, member):
    joint = "940-941" if member.startswith("94") else "314-318"
    r = real.get(f"/la/{typed}")
    assert r.status_code == 302 and r.headers["location"] == f"/la/{joint}?from={member}"
    page = real.get(r.headers["location"]).text
    assert 'id="came-from"' in page and "has no figures of its own: DfE publishes them within this joint return" in page
    got = rows(real, f"/csww/trend.json?la={typed}&_shape=array")
    assert got and {g["area_code"] for g in got} == {joint.replace("-", " / ")}


def test_prepare_writes_the_datasette_1_0_pair_and_pages_declare_english(fixture_site, fx):
    """site/datasette-1.0/: queries, permissions and settings in datasette.yaml, descriptions in metadata.yaml
    (1.0 ignores queries left in metadata). Every page is <html lang="en"> on 0.65 (site_compat.html_lang) as on 1.0."""
    one_oh = fixture_site.config_1_0.parent
    cfg = yaml.safe_load(fixture_site.config_1_0.read_text())
    md = yaml.safe_load((one_oh / "metadata.yaml").read_text())
    assert set(cfg["databases"]["csww"]["queries"]) == set(QUERY_EXAMPLES)
    assert cfg["settings"]["sql_time_limit_ms"] == 2000 and "allow" not in cfg
    assert "queries" not in md["databases"]["csww"] and md["license"] == "OGL-UK-3.0"
    private = yaml.safe_load((one_oh / "private-datasette.yaml").read_text())
    assert private["allow"] == {"id": "*"} and set(private["databases"]["private"]["queries"]) == set(QUERY_EXAMPLES)
    for path in ("/", "/la/841", "/csww/trend?la=841", "/csww/councils", "/la?q=north"):
        r = fx.get(path)
        assert r.status_code == 200 and '<html lang="en">' in r.text[:300], path
        if "content-length" in r.headers:
            assert int(r.headers["content-length"]) == len(r.content), path


def test_breakdowns_facets_are_counted_from_an_index(fixture_site):
    """Each facet Datasette counts on the breakdowns page reads an index in its order, not all 79,000 rows sorted
    (review 8, finding 8: 1.9 s on the page's first hit; the timings are in perf/load_site.py)."""
    meta = yaml.safe_load(fixture_site.metadata.read_text())
    facets = meta["databases"]["csww"]["tables"]["breakdowns"]["facets"]
    assert facets == ["breakdown_topic", "role", "time_period", "measure_id"]
    conn = sqlite3.connect(fixture_site.public)
    for col in facets:   # Datasette 0.65's facet SQL (facets.py ColumnFacet)
        plan = " ".join(r[3] for r in conn.execute(
            f"explain query plan select {col} as value, count(*) as count from (select * from breakdowns) "
            f"where {col} is not null group by {col} order by count desc, value limit 31"))
        assert "COVERING INDEX" in plan and "TEMP B-TREE FOR GROUP BY" not in plan, (col, plan)
    conn.close()
