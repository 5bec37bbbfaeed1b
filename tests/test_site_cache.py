"""Council pages drawn once per build and served from memory (issue 12 item 3, ``benchmark/site_cache.py``):
the cached page is the page drawn fresh, ``?year=`` variants are separate entries, a rebuild is never answered
with the old build's page, and signed-in (private) pages are never stored. On the hand-made fixture build."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sqlite3

import pytest
from test_site import SECRET_VALUE, add_local_returns

from benchmark import site, site_cache


class Client:
    """Datasette's in-process HTTPX client (through the plugin's ASGI wrappers), on one event loop."""

    def __init__(self, ds):
        self.ds = ds
        self.cache = site_cache.cache_for(ds)
        self.loop = asyncio.new_event_loop()

    def get(self, path, **kw):
        return self.loop.run_until_complete(self.ds.client.get(path, **kw))

    def close(self):
        self.loop.close()


@pytest.fixture(scope="module")
def fixture_site(mini_db, tmp_path_factory):
    """The mini build with Darlington's local returns: one published (14.1), one not (``SECRET_VALUE``)."""
    out = tmp_path_factory.mktemp("cache_fx")
    shutil.copy(mini_db, out / "csww.db")
    add_local_returns(out / "csww.db")
    return site.prepare(out / "csww.db")


@pytest.fixture(scope="module")
def pub(fixture_site):
    c = Client(site.datasette(fixture_site))
    yield c
    c.close()


def turnover(payload: dict, year: int):
    m = next(m for m in payload["measures"] if m["measure_id"] == "turnover_rate_fte")
    return next(y["value"] for y in m["years"] if y["time_period"] == year)


@pytest.mark.parametrize("path", ["/la/841", "/la/841.json", "/la/841?year=2022", "/la/841.json?year=2022"])
def test_cached_page_is_the_page_drawn_fresh(pub, path):
    first = pub.get(path)                                   # drawn, then stored
    hits = pub.cache.hits
    second = pub.get(path)                                  # from memory
    assert pub.cache.hits == hits + 1
    fresh = pub.get(path, cookies={"consent": "1"})         # any cookie: drawn again, never from memory
    assert pub.cache.hits == hits + 1
    assert first.status_code == second.status_code == fresh.status_code == 200
    assert second.content == first.content == fresh.content            # byte for byte
    assert sorted(second.headers.items()) == sorted(first.headers.items())
    assert second.headers["cache-control"] == "max-age=3600"
    assert second.headers["x-frame-options"] == "DENY"      # the security headers reach cached pages too
    if path.startswith("/la/841.json"):
        payload = second.json()
        assert turnover(payload, 2024) == 20.0 and turnover(payload, 2022) == 15.0   # Darlington, fixture CSV
        assert payload["year"] == (2022 if "year=" in path else 2024)
    else:
        assert "Darlington" in second.text and "14.1" in second.text   # the published local return


def test_a_stored_page_answers_its_etag_with_304(pub):
    """A browser or CDN revalidating its copy (``If-None-Match``) gets 304 with no body; any other tag, or a
    request with a cookie (never answered from memory), gets the page."""
    first, second = pub.get("/la/841.json?year=2023"), pub.get("/la/841.json?year=2023")
    tag = second.headers["etag"]
    assert first.headers["etag"] == tag and re.fullmatch(r'"[0-9a-f]{24}"', tag)
    assert tag != pub.get("/la/841.json").headers["etag"]          # each page its own tag
    hits = pub.cache.hits
    for sent in (tag, f'W/{tag}', f'"0", {tag}', "*"):
        r = pub.get("/la/841.json?year=2023", headers={"If-None-Match": sent})
        assert r.status_code == 304 and r.content == b"", sent
        assert r.headers["etag"] == tag and r.headers["cache-control"] == "max-age=3600"
        assert r.headers["x-frame-options"] == "DENY" and "content-type" not in r.headers
    assert pub.cache.hits == hits + 4
    stale = pub.get("/la/841.json?year=2023", headers={"If-None-Match": '"0123"'})
    assert stale.status_code == 200 and stale.content == first.content
    signed = pub.get("/la/841.json?year=2023", headers={"If-None-Match": tag}, cookies={"consent": "1"})
    assert signed.status_code == 200 and signed.content == first.content and "etag" not in signed.headers


def test_year_variants_are_cached_separately(pub):
    latest, y2022 = pub.get("/la/841"), pub.get("/la/841?year=2022")
    assert latest.content != y2022.content
    assert '<tr class="csww-selected"><th scope="row">2022</th>' in y2022.text
    assert '<tr class="csww-selected"><th scope="row">2022</th>' not in latest.text
    assert '<tr class="csww-selected"><th scope="row">2024</th>' in latest.text
    hits = pub.cache.hits
    # arguments the page does not read share the entry; the year's spacing is ignored as the page ignores it
    assert pub.get("/la/841?year=2022&utm_source=x").content == y2022.content
    assert pub.get("/la/841?year=%202022%20").content == y2022.content
    assert pub.get("/la/841?year=2023").content not in (latest.content, y2022.content)
    assert pub.cache.hits == hits + 2
    assert pub.get("/la/841?year=1999").status_code == 404              # errors are drawn each time, never stored
    assert pub.get("/la/841?year=1999").status_code == 404
    assert pub.cache.hits == hits + 2


def test_signed_in_pages_are_never_stored_or_served_from_memory(fixture_site, pub, monkeypatch):
    from datasette_auth_passwords.utils import hash_password

    assert pub.get("/la/841").status_code == 200            # the public page is in the public cache
    public_keys = len(pub.cache)
    signed = {"ds_actor": pub.ds.sign({"a": {"id": site.PRIVATE_USER}}, "actor")}
    r = pub.get("/la/841", cookies=signed)
    assert r.headers["cache-control"] == "private, no-store" and len(pub.cache) == public_keys

    monkeypatch.setenv(site.PRIVATE_HASH_ENV, hash_password("correct horse"))
    priv = Client(site.datasette(fixture_site, private=True))
    try:
        cookies = {"ds_actor": priv.ds.sign({"a": {"id": site.PRIVATE_USER}}, "actor")}
        for _ in range(2):
            page = priv.get("/la/841", cookies=cookies)
            assert page.status_code == 200 and f"{SECRET_VALUE:.1f}" in page.text
            assert page.headers["cache-control"] == "private, no-store"
        assert len(priv.cache) == 0 and priv.cache is not pub.cache
        assert priv.get("/la/841").status_code == 403       # no sign-in: nothing served from any memory
    finally:
        priv.close()
    public = pub.get("/la/841")
    assert f"{SECRET_VALUE:.1f}" not in public.text and "14.1" in public.text


def test_a_rebuild_with_a_changed_value_changes_the_served_page(mini_db, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    shutil.copy(mini_db, out / "csww.db")
    old = Client(site.datasette(site.prepare(out / "csww.db")))
    try:
        assert turnover(old.get("/la/841.json").json(), 2024) == 20.0
        assert turnover(old.get("/la/841.json").json(), 2024) == 20.0 and old.cache.hits == 1
        old_page = old.get("/la/841").content
        old_build = old.cache.build

        # a new build: Darlington's 2024 turnover published as 23.8 % (19 leavers / 80 FTE), a new build id
        with sqlite3.connect(out / "csww.db") as conn:
            for table in ("observations", "comparisons"):
                conn.execute(f"update {table} set value = 23.8 where area_code = '841' and time_period = 2024 "
                             "and measure_id = 'turnover_rate_fte'")
            conn.execute("update build_info set value = value || '-rebuilt' where key = 'build_id'")
        new = Client(site.datasette(site.prepare(out / "csww.db")))     # the same site folder, as 'csww serve'
        try:
            assert turnover(new.get("/la/841.json").json(), 2024) == 23.8
            assert new.get("/la/841").content != old_page and "23.8" in new.get("/la/841").text
            assert new.cache.build[1] == old_build[1] + "-rebuilt"
        finally:
            new.close()
        # the old instance's memory no longer answers for the replaced file: its next request is drawn again
        hits = old.cache.hits
        old.get("/la/841.json")
        assert old.cache.hits == hits
        assert old.cache.build[0] == site_cache.file_identity(os.fspath(out / "site" / "csww.db")) != old_build[0]
    finally:
        old.close()


def test_least_recently_used_pages_are_dropped_past_the_byte_budget():
    cache = site_cache.PageCache(max_bytes=250, max_page_bytes=250)
    cache.reset(("file", "build-1", None))
    build1 = cache.build
    for n in range(3):
        cache.put(build1, ("csww", str(n), "", "", ""), site_cache.Page(200, (), b"x" * 100))
    assert len(cache) == 2 and cache.get(("csww", "0", "", "", "")) is None       # the oldest went
    cache.put(("file", "build-0", None), ("csww", "9", "", "", ""), site_cache.Page(200, (), b"y"))
    assert cache.get(("csww", "9", "", "", "")) is None     # drawn from an older build: never stored
    cache.reset(("file", "build-2", None))
    assert len(cache) == 0 and cache.get(("csww", "1", "", "", "")) is None


def timeless(body: bytes) -> bytes:
    """``body`` without the time Datasette's queries took (its footer and ``query_ms``), which differs per draw."""
    return re.sub(rb'Queries took [0-9.]+ms|"query_ms": [0-9.e-]+', b"", body)


@pytest.mark.parametrize("path", ["/csww/comparisons?measure_id=turnover_rate_fte&time_period=2024",
                                  "/csww/comparisons.json?measure_id=turnover_rate_fte&time_period=2024&_shape=array",
                                  "/csww/council_profile.json?la=841&_shape=array", "/csww/councils"])
def test_table_and_query_pages_are_stored_as_datasette_drew_them(pub, path):
    first = pub.get(path)
    hits = pub.cache.hits
    second = pub.get(path)
    assert pub.cache.hits == hits + 1
    fresh = pub.get(path, cookies={"consent": "1"})
    assert first.status_code == second.status_code == fresh.status_code == 200
    assert second.content == first.content and timeless(second.content) == timeless(fresh.content)
    assert sorted(second.headers.items()) == sorted(first.headers.items())
    if path.startswith("/csww/comparisons.json"):
        assert [r["value"] for r in second.json() if r["area_code"] == "841"] == [20.0]   # Darlington, fixture CSV


def test_arbitrary_sql_streams_downloads_and_errors_are_never_stored(pub):
    before = len(pub.cache)
    for path in ("/csww.json?sql=select+1", "/csww/observations.csv?_stream=on&_size=1000", "/csww.db",
                 "/la/999999"):      # (Datasette's own error pages log a slow traceback: not asked for here)
        for _ in range(2):
            pub.get(path)
    assert len(pub.cache) == before


def test_a_mutable_database_is_never_kept(mini_db, tmp_path):
    """Only immutable databases (as the site serves them) are kept: a mutable one may change under a page."""
    from datasette.app import Datasette

    shutil.copy(mini_db, tmp_path / "csww.db")
    c = Client(Datasette([str(tmp_path / "csww.db")]))
    try:
        for _ in range(2):
            assert c.get("/csww/areas").status_code == c.get("/la/841.json").status_code == 200
        assert len(c.cache) == 0 and c.cache.hits == 0
    finally:
        c.close()


def test_warming_draws_every_council_page_once(mini_db, tmp_path):
    """``csww serve --warm``: every council's page is drawn and kept before anyone asks; asking again is a hit."""
    shutil.copy(mini_db, tmp_path / "csww.db")
    c = Client(site.datasette(site.prepare(tmp_path / "csww.db")))
    try:
        drawn = c.loop.run_until_complete(site.warm_pages(c.ds))
        kept, hits = len(c.cache), c.cache.hits
        profiles = [r["profile"] for r in c.get("/csww/councils.json?_shape=array&_size=max").json()]
        answered = [p for p in profiles if c.get(p, follow_redirects=False).status_code == 200]
        assert drawn == len(answered) == kept > 0          # each page that answers 200 kept, nothing else
        assert c.cache.hits == hits + len(answered)         # and every one of them then answered from memory
        assert "Darlington" in c.get("/la/841").text
    finally:
        c.close()
