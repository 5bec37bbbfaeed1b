"""A real browser against a real server: Debian's chromium, driven by Playwright, against `csww serve`.

Starts `python -m benchmark serve` as a subprocess on a free loopback port, opens the landing page, picks a
council by name and checks the profile page draws its six charts beside their tables with no console errors
and no request leaving the machine. Screenshots go to tests/artifacts/ (gitignored).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} not installed (apt-get install chromium)"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_responds(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            proc.log.seek(0)
            raise RuntimeError(f"csww serve exited with {proc.returncode}: {proc.log.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not respond within {timeout}s")


@contextlib.contextmanager
def serving(out: Path):
    """``csww serve OUT`` as a real subprocess on a free loopback port; yields its base URL."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "benchmark", "serve", str(out), "--port", str(port)],
                            # a file, not an undrained pipe that Datasette 1.0's long tracebacks could fill
                            cwd=ROOT, env=env, stdout=(log := tempfile.TemporaryFile()), stderr=subprocess.STDOUT)
    proc.log = log
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_responds(base + "/", proc)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def server(real_db):
    """The site of the real-data build (``real_db``): the page checks assert Darlington's published figures."""
    with serving(real_db.parent) as base:
        yield base


@pytest.fixture(scope="module")
def small_server(tmp_path_factory):
    """The site built from the hand-made fixtures (two releases, a few councils, no neighbours' figures)."""
    from benchmark.build import build

    out = tmp_path_factory.mktemp("browser-small")
    build([FIXTURES / "indicators_2025_small.csv", FIXTURES / "indicators_2024_small.csv"], out)
    with serving(out) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.problems = []
    page.on("console", lambda m: m.type in ("error", "warning") and page.problems.append(f"console {m.type}: {m.text}"))
    page.on("pageerror", lambda e: page.problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: page.problems.append(f"request failed: {r.url}"))

    def only_loopback(route):
        if route.request.url.startswith("http://127.0.0.1:"):
            route.continue_()
        else:
            page.problems.append(f"request off the machine: {route.request.url}")
            route.abort()

    context.route("**/*", only_loopback)
    yield page
    context.close()


# Structural accessibility checks: language, one h1, captioned tables with header cells, labelled charts
# and form fields, links with text.
A11Y_CHECK = """() => {
  const problems = [];
  if (document.documentElement.lang !== "en") problems.push("html has no lang");
  if (document.querySelectorAll("h1").length !== 1) problems.push("not exactly one h1");
  document.querySelectorAll("table.csww-table").forEach((t, i) => {
    if (!t.querySelector("caption") || !t.querySelector("caption").textContent.trim()) problems.push("table " + i + " has no caption");
    if (!t.querySelectorAll("thead th[scope=col]").length) problems.push("table " + i + " has no column headers");
  });
  document.querySelectorAll("[role=img]").forEach((el, i) => {
    const labelled = (el.getAttribute("aria-labelledby") || "").split(" ").filter(Boolean)
      .map(id => document.getElementById(id)).filter(Boolean).map(n => n.textContent).join(" ");
    if (!(el.getAttribute("aria-label") || "").trim() && !labelled.trim())
      problems.push("image " + i + " has no text alternative");
  });
  document.querySelectorAll("input:not([type=hidden]), select").forEach(el => {
    if (!(el.labels && el.labels.length) && !el.getAttribute("aria-label")) problems.push("unlabelled field " + (el.name || el.id));
  });
  document.querySelectorAll("a").forEach(a => { if (!a.textContent.trim() && !a.getAttribute("aria-label")) problems.push("empty link " + a.href); });
  return problems;
}"""


def test_pick_a_council_and_see_its_profile(page, server):
    page.goto(server + "/")
    assert page.locator("h1").first.inner_text().startswith("Children's social work workforce")
    page.screenshot(path=str(ARTIFACTS / "landing.png"), full_page=True)
    assert page.evaluate(A11Y_CHECK) == []
    picker = page.get_by_label("Council name or code")
    picker.fill("Darlington")
    page.get_by_role("button", name="Show profile").click()
    page.wait_for_url(server + "/la/841")
    assert page.locator("h1").inner_text() == "Darlington"

    figures = page.locator("section.csww-measure figure.csww-chart")
    assert figures.count() == 6
    for i in range(6):
        fig = figures.nth(i)
        assert fig.locator("svg path").count() >= 2, f"chart {i} drew no lines"
        assert fig.locator("svg[role=img] desc").text_content().startswith("Line chart of ")
        box = fig.locator("svg").first.bounding_box()
        assert box and box["width"] > 200 and box["height"] > 100
        table = fig.locator("xpath=following-sibling::div[1]//table")
        assert table.locator("caption").count() == 1
        assert table.locator("tbody tr").count() >= 5
    turnover = page.locator("#turnover_rate_fte table")
    row_2025 = turnover.locator("tbody tr", has_text="2025").inner_text().split()
    assert row_2025 == ["2025", "15.4", "13.1", "11.7", "11.8"]     # council, neighbour median, region, England
    assert figures.nth(1).locator("svg path[stroke='#a34700']").count() == 1   # the neighbour median line
    assert figures.nth(3).locator("svg title", has_text="Neighbour median, 2025: 10.3%").count() == 1  # 10.25
    page.screenshot(path=str(ARTIFACTS / "council-841.png"), full_page=True)
    assert page.evaluate(A11Y_CHECK) == []
    page.locator("#turnover_rate_fte").screenshot(path=str(ARTIFACTS / "council-841-turnover.png"))
    assert page.problems == []


def test_search_by_part_of_a_name_and_follow_a_query_link(page, server):
    page.goto(server + "/la?q=darling")
    page.wait_for_url(server + "/la/841")
    page.locator("#turnover_rate_fte").get_by_role("link", name="Trend query").click()
    page.wait_for_load_state()
    assert "/csww/trend" in page.url
    assert page.locator("table.rows-and-columns tbody tr").count() >= 9
    page.screenshot(path=str(ARTIFACTS / "trend-query.png"), full_page=True)
    assert page.problems == []


def test_every_council_page_draws_without_errors(page, server):
    """A joint return and a council whose latest figures are all DfE symbols still render cleanly."""
    for code in ("207", "314-318", "940-941"):
        page.goto(f"{server}/la/{code}")
        assert page.locator("section.csww-measure figure.csww-chart svg[role=img]").count() == 6
    assert page.problems == []


def test_ethnicity_by_seniority_on_the_profile(page, server):
    """Darlington's social workers by ethnicity and role (DfE's 2022 role-by-ethnicity file) beside the neighbour
    median, the North East and England, with the share whose ethnicity is not known stated."""
    page.goto(server + "/la/841")
    section = page.locator("#ethnicity")
    assert section.locator("h2").inner_text() == "Ethnicity by seniority, 2022"
    assert ("Ethnicity is recorded for 89 of Darlington's 94 social workers (headcount) in 2022; 5 (5.3%) are not "
            "known") in section.inner_text()
    chart = section.locator("figure.csww-chart svg[role=img]")
    assert chart.locator("rect[height='16']").count() == 7            # a bar per role
    assert "Case holder 2.6%" in chart.locator("desc").text_content()
    table = section.locator("figure.csww-chart + div table")
    assert table.locator("caption").inner_text().startswith("Social workers from ethnic minority groups by role")
    cells = [c.strip() for c in table.locator("tbody tr").nth(0).inner_text().split("\t")]
    assert cells == ["All children and family social workers", "1.1", "5.0", "3.2", "23.9", "89"]
    case = [c.strip() for c in table.locator("tbody tr", has_text="Case holder").inner_text().split("\t")]
    assert case == ["Case holder", "2.6", "4.9", "4.6", "27.3", "38"]      # England: 100 - 72.7 (black 16.3%)
    detail = section.locator("table").nth(1)
    black = [c.strip() for c in detail.locator("tbody tr", has_text="Case holder").inner_text().split("\t")]
    assert black == ["Case holder", "97.4", "0.0", "0.0", "2.6", "0.0"]
    page.locator("#ethnicity").screenshot(path=str(ARTIFACTS / "council-841-ethnicity.png"))
    assert page.evaluate(A11Y_CHECK) == []
    assert page.problems == []


def test_hand_made_build_draws_without_errors(page, small_server):
    """Without ../shared too: a council with few years, no neighbours' figures and DfE symbols (Darlington
    2025 absence is c, agency FTE low) still draws every chart beside its table, cleanly."""
    page.goto(small_server + "/la/841")
    assert page.locator("h1").inner_text() == "Darlington"
    assert page.locator("section.csww-measure figure.csww-chart svg[role=img]").count() == 6
    turnover = page.locator("#turnover_rate_fte table").locator("tbody tr", has_text="2025").inner_text().split()
    assert turnover[:2] == ["2025", "12.5"]  # 10.1 leavers / 80.5 FTE in post, the fixture's own figures
    absence = page.locator("#absence_rate_fte table").locator("tbody tr", has_text="2025").inner_text()
    assert absence.split()[:2] == ["2025", "c"]  # DfE's symbol, never zero
    assert page.evaluate(A11Y_CHECK) == []
    page.screenshot(path=str(ARTIFACTS / "council-841-fixture.png"), full_page=True)
    assert page.problems == []


# Whether anything is wider than the screen: the page's own width, and every table either fits or scrolls
# inside its own box (overflow-x auto), so no column is cut.
FITS_CHECK = """() => {
  const problems = [];
  const width = document.documentElement.clientWidth;
  if (document.scrollingElement.scrollWidth > width) problems.push("page is " + document.scrollingElement.scrollWidth + " px wide");
  document.querySelectorAll("table").forEach((t, i) => {
    let box = t.parentElement;
    while (box && getComputedStyle(box).overflowX !== "auto" && box !== document.body) box = box.parentElement;
    const fits = t.getBoundingClientRect().right <= width + 0.5 && t.getBoundingClientRect().left >= -0.5;
    const scrolls = box && box !== document.body && box.getBoundingClientRect().right <= width + 0.5;
    if (!fits && !scrolls) problems.push("table " + i + " (" + (t.caption ? t.caption.textContent : t.className) + ") is cut");
  });
  return problems;
}"""


@pytest.mark.parametrize("site", ["small_server", "server"])
def test_council_and_query_pages_work_at_phone_width(page, request, site):
    """375 px wide (a small phone): nothing wider than the screen, every table readable, the headline table
    whole (scrolling in its own box), the neighbour model note under the chart."""
    base = request.getfixturevalue(site)
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(base + "/la/841")
    assert page.locator("h1").inner_text() == "Darlington"
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 375
    assert page.evaluate(FITS_CHECK) == []
    headline = page.locator("#headlines table tbody tr").first.locator("th, td")
    assert headline.count() == 7                       # every column there, reachable by scrolling the table's box
    assert page.locator("section.csww-measure figure.csww-chart svg[role=img]").count() == 6
    for svg in page.locator("figure.csww-chart svg").all():
        box = svg.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 375.5
    page.screenshot(path=str(ARTIFACTS / f"council-841-375px-{site}.png"), full_page=True)
    page.goto(base + "/csww/trend?la=841")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 375
    assert page.locator("table.rows-and-columns tbody tr").count() >= 2
    assert page.locator("pre#sql-query").count() == 0     # the SQL is folded away
    assert page.problems == []
