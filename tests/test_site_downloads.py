"""Every table and view of the site downloads completely, each row once: CSV streamed, JSON paged (issue 12)."""

from __future__ import annotations

import asyncio
import csv
import io
import shutil
import sqlite3
from collections import Counter
from urllib.parse import urlsplit

import pytest
from conftest import SHARED

from benchmark import site, tables
from benchmark.build import build

CASE = SHARED.parent / "cases" / "site" / "ees_2025_small.csv"


def _prepared(db, tmp_path_factory, name):
    out = tmp_path_factory.mktemp(name)
    shutil.copy(db, out / "csww.db")
    return site.prepare(out / "csww.db")


@pytest.fixture(scope="module")
def mini_site(mini_db, tmp_path_factory):
    return _prepared(mini_db, tmp_path_factory, "dl_mini")


@pytest.fixture(scope="module")
def real_site(real_db, tmp_path_factory):
    return _prepared(real_db, tmp_path_factory, "dl_real")


def _get(ds, loop, path):
    r = loop.run_until_complete(ds.client.get(path))
    assert r.status_code == 200, (path, r.text[:300])
    return r


def _relations(db) -> list[tuple[str, list[str], bool]]:
    """Every table and view Datasette serves (FTS shadow tables aside) with the columns that identify a row
    (the primary key for tables, every column for views and key-less tables) and whether that is a key."""
    conn = sqlite3.connect(db)
    try:
        out = []
        for name, kind in conn.execute("select name, type from sqlite_master where type in ('table', 'view') "
                                       "and name not like 'sqlite_%' and name not like 'areas_fts%' order by name"):
            pk = [r[1] for r in sorted(conn.execute(f"pragma table_info([{name}])"), key=lambda r: r[5]) if r[5]]
            cols = [r[1] for r in conn.execute(f"pragma table_info([{name}])")]
            out.append((name, pk or cols, bool(pk)))
        return out
    finally:
        conn.close()


def _expected(db, name, key) -> tuple[int, Counter]:
    conn = sqlite3.connect(db)
    try:
        n = conn.execute(f"select count(*) from [{name}]").fetchone()[0]
        keys = Counter(tuple("" if v is None else str(v) for v in row)
                       for row in conn.execute(f"select {', '.join(f'[{c}]' for c in key)} from [{name}]"))
        return n, keys
    finally:
        conn.close()


def _check_downloads(prepared, pages: int = 6):
    """Stream every relation's CSV and page its JSON with ``next``, each in about ``pages`` pages (at most
    2,000 rows, Datasette's ``max_returned_rows``); compare both with SQLite's own count and keys. Returns
    {relation: rows} for the caller to assert real totals."""
    ds = site.datasette(prepared)
    loop = asyncio.new_event_loop()
    counts = {}
    try:
        for name, key, is_key in _relations(prepared.public):
            n, expected = _expected(prepared.public, name, key)
            size = min(2000, max(5, -(-n // pages)))
            # only the key columns (Datasette always sends a table's key), to keep the full build's test short
            cols = f"&_col={key[0]}" if is_key else ""
            text = _get(ds, loop, f"/csww/{name}.csv?_stream=on&_nocount=1&_nofacet=1&_size={size}{cols}").text
            got = Counter(tuple(r[c] for c in key) for r in csv.DictReader(io.StringIO(text)))
            assert sum(got.values()) == n, (name, "CSV rows", sum(got.values()), "table rows", n)
            assert got == expected, (name, "CSV repeated", +(got - expected), "CSV missing", +(expected - got))
            paged: Counter = Counter()
            path, fetched = f"/csww/{name}.json?_shape=objects&_nocount=1&_nofacet=1&_size={size}{cols}", 0
            while path:
                body = _get(ds, loop, path).json()
                paged.update(tuple("" if r[c] is None else str(r[c]) for c in key) for r in body["rows"])
                nxt = body.get("next_url")
                path = (urlsplit(nxt).path + "?" + urlsplit(nxt).query) if nxt else None
                fetched += 1
                assert fetched <= n // size + 2, (name, "JSON paging does not end")
            assert paged == expected, (name, "JSON repeated", +(paged - expected), "JSON missing", +(expected - paged))
            counts[name] = n
    finally:
        loop.close()
    return counts


def test_no_default_sort_on_a_column_that_is_not_a_unique_key():
    """The cause of the lost rows: a default sort on a non-unique column (Datasette leaves the key tie-breaker
    off the first page). Only a single-column primary key may be a default sort."""
    for private in (False, True):
        for name, opts in site.metadata(private=private)["databases"]["private" if private else "csww"][
                "tables"].items():
            col = opts.get("sort") or opts.get("sort_desc")
            if col:
                assert tables.key(name) == [col], (name, col)


def test_every_table_and_view_downloads_completely_on_the_fixture_build(mini_site):
    counts = _check_downloads(mini_site)
    # the hand-made fixture: 10 councils (Cumbria and its successors, the Northamptonshire joint return and its
    # members), 7 of them with figures in the latest year; every relation spans several pages
    assert {"observations", "comparisons", "areas", "councils", "latest_comparison", "neighbours"} <= set(counts)
    assert (counts["councils"], counts["latest_comparison"], counts["areas"]) == (10, 7, 14)
    assert (counts["observations"], counts["comparisons"], counts["neighbours"]) == (704, 440, 3090)


def test_every_table_and_view_downloads_completely_on_the_full_build(real_site):
    counts = _check_downloads(real_site)
    assert counts["observations"] == 38_889           # the figure: the stream gave 39,302 rows, 1,586 missing
    assert counts["comparisons"] == 36_021


def test_stream_case_returns_every_row_once(tmp_path):
    """../shared/cases/site/stream_csv.sh: observations.csv?_stream=on&_size=10 on a build of ees_2025_small.csv."""
    if not CASE.exists():
        pytest.skip(f"the case is not present: {CASE} is missing")
    build([CASE], tmp_path)
    prepared = site.prepare(tmp_path / "csww.db")
    ds = site.datasette(prepared)
    loop = asyncio.new_event_loop()
    try:
        text = _get(ds, loop, "/csww/observations.csv?_stream=on&_size=10").text
    finally:
        loop.close()
    keys = [(r["time_period"], r["area_code"], r["measure_id"]) for r in csv.DictReader(io.StringIO(text))]
    n = sqlite3.connect(prepared.public).execute("select count(*) from observations").fetchone()[0]
    assert n > 10 * 3                                   # several pages, so the page joins are exercised
    assert len(keys) == len(set(keys)) == n
    assert ("2025", "841", "turnover_rate_fte") in keys  # Darlington, a row of the case file
