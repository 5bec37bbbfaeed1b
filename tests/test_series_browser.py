"""Two quarterly returns for one council chart as a local series on the private site's profile page, beside the
council's team table with service subtotals (issue 11 item 3, Playwright and Debian's chromium against `csww serve
--private`; one server and one browser for the module)."""

from __future__ import annotations

import os
import shutil
import sqlite3

import pytest
from conftest import FIXTURES
from datasette_auth_passwords.utils import hash_password
from test_browser import A11Y_CHECK, ARTIFACTS, CHROMIUM, browser, page  # noqa: F401  (test_browser's fixtures)
from test_site_security import start, stop

from benchmark import site
from benchmark.local import store as local_store

PASSWORD = "series test password"
# The Oct-Dec 2023 and Jan-Mar 2024 returns (the second with three teams in two services), not published.
RETURNS = [FIXTURES / "local_841_2023q4.csv", FIXTURES / "local_841_2024q1.csv"]

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} not installed")


@pytest.fixture(scope="module")
def private_site(mini_db, tmp_path_factory):
    out = tmp_path_factory.mktemp("series-site")
    shutil.copy(mini_db, out / "csww.db")
    conn = sqlite3.connect(out / "csww.db")
    local_store.load_files(conn, RETURNS)
    conn.close()
    env = {**os.environ, site.PRIVATE_HASH_ENV: hash_password(PASSWORD, iterations=1000)}
    proc, base = start(out, "--private", env=env)
    yield base
    stop(proc)



def test_two_quarterly_returns_chart_as_a_local_series_with_the_team_table(page, private_site):  # noqa: F811
    page.goto(private_site + "/-/login")
    page.fill("input[name=username]", site.PRIVATE_USER)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation(wait_until="load"):  # the page after login loads whole before the next goto,
        page.click("form [type=submit]")            # so its styles and script are not cut off mid-request
    page.goto(private_site + "/la/841")
    section = page.locator("#local-series")
    assert section.count() == 1
    chart = section.locator("#local-series-turnover_rate_fte")
    svg = chart.locator("svg[role=img]")
    assert svg.count() == 1
    assert "Year to date (own)" in svg.inner_html()
    # the chart's table: DfE's 30 Sep 2023 turnover for Darlington (fixture 17.5) and the year-to-date turnover of
    # the returns, 6.0 / 79.0 = 7.6 % at 31 Dec 2023 and (6.0 + 3.5) / 78.0 = 12.2 % at 31 Mar 2024
    table = {r[0]: r[1:] for r in chart.locator("table tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.children].map(c => c.textContent.trim()))")}
    assert table["30 September 2023"][0] == "17.5"
    assert table["31 December 2023"][-1] == "7.6" and table["31 March 2024"][-1] == "12.2"
    # in post FTE from both snapshots, on the DfE series
    inpost = {r[0]: r[1:] for r in section.locator("#local-series-inpost_fte table tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.children].map(c => c.textContent.trim()))")}
    assert inpost["31 December 2023"][-1] == "79.0" and inpost["31 March 2024"][-1] == "78.0"
    # the team table with service subtotals, as the pack shows it
    teams = page.locator("#teams table")
    assert teams.count() == 1
    heads = teams.locator("thead th").all_inner_texts()
    fte = heads.index("In post FTE")
    rows = {r[0]: r for r in teams.locator("tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.children].map(c => c.textContent.trim()))")}
    assert rows["TOTAL FRONT LINE"][fte] == "58.0"          # Assessment North 30.0 + Assessment South 28.0
    assert rows["Children in care"][fte] == "20.0" and rows["COUNCIL RETURN"][fte] == "78.0"
    assert page.evaluate(A11Y_CHECK) == []
    assert page.problems == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "council-841-local-series.png"), full_page=True)
