"""Accessibility of the site's pages, checked in headless Chromium (issue 12, item 7), on whichever Datasette is
installed (.ci/run runs this module on 0.65 and on the newest 1.0 alpha):

* axe-core with the WCAG 2.2 AA rule tags finds 0 violations on the landing page, a council's profile
  (Darlington, 841), a joint return (Kingston and Richmond, 314-318), a London borough (Camden, 202), a canned
  query page and a table page;
* the keyboard alone (Tab) reaches every control of a page, in order, and each shows where the focus is;
* every chart has a text alternative and a table of the same figures beside it.

One server (``csww serve`` on the real build) and one browser for the whole module.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import ROOT
from test_browser import CHROMIUM, browser, serving  # noqa: F401  (browser: test_browser's fixture)

AXE = Path(os.environ.get("CSWW_AXE_JS", ROOT / ".cache" / "axe" / "node_modules" / "axe-core" / "axe.min.js"))
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} not installed (apt-get install chromium)"),
    pytest.mark.skipif(not AXE.exists(), reason=f"axe-core is not installed at {AXE} (.ci/run installs it: "
                                                "npm install axe-core into .cache/axe)"),
]

PAGES = {
    "landing": "/",
    "council": "/la/841",
    "joint-return": "/la/314-318",
    "london-borough": "/la/202",
    "canned-query": "/csww/trend?la=841&measure=turnover_rate_fte",
    "table": "/csww/councils",
    "find": "/la?q=north",
}


@pytest.fixture(scope="module")
def server(real_db):
    with serving(real_db.parent) as base:
        yield base



@pytest.fixture
def page(browser):  # noqa: F811  (test_browser's fixture)
    # bypass_csp: the site's Content-Security-Policy rightly refuses the injected axe-core script
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    yield page
    context.close()


def axe_violations(page) -> list:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, "
                           "resultTypes: ['violations']})", WCAG_22_AA)
    assert result["testEngine"]["version"].startswith("4.")
    assert len(result["passes"]) > 10          # axe did check the page
    return [(v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]]


@pytest.mark.parametrize("name", list(PAGES))
def test_page_passes_axe_core_wcag_2_2_aa(page, server, name):
    response = page.goto(server + PAGES[name])
    assert response.status == 200
    assert page.evaluate("document.documentElement.lang") == "en"
    assert axe_violations(page) == []


# Every control a keyboard user needs, in document order, and what Tab visits. An element counts as showing
# focus when :focus-visible matches and it has an outline (or a box-shadow) at that moment.
CONTROLS = """() => Array.from(document.querySelectorAll(
    'a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select, textarea, summary, [tabindex]'))
  .filter(el => el.tabIndex >= 0 && el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden')
  .filter(el => { const d = el.closest('details:not([open])');      // folded: only its summary until opened
                  return !d || (el.tagName === 'SUMMARY' && el.parentElement === d); })
  .map(el => el.outerHTML.slice(0, 120))"""
FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const s = getComputedStyle(el);
  const shown = el.matches(':focus-visible') && ((s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0)
                || (s.boxShadow && s.boxShadow !== 'none'));
  return {html: el.outerHTML.slice(0, 120), shown: shown};
}"""


def tab_through(page, limit: int = 400) -> list[dict]:
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = page.evaluate(FOCUSED)
        if now is None or (seen and now["html"] == seen[0]["html"]):
            break
        seen.append(now)
    return seen


@pytest.mark.parametrize("name", ["landing", "council", "canned-query"])
def test_keyboard_reaches_every_control_with_focus_visible(page, server, name):
    page.goto(server + PAGES[name])
    controls = page.evaluate(CONTROLS)
    visited = tab_through(page)
    assert [v["html"] for v in visited] == controls
    assert [v["html"] for v in visited if not v["shown"]] == []
    if name == "landing":     # the search box, its button and the folded list of councils, opened by keyboard
        assert any('id="council-q"' in c for c in controls)
        summary = page.locator("summary", has_text="All councils by region")
        summary.focus()
        page.keyboard.press("Enter")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Derby"    # East Midlands comes first
    if name == "council":     # the year picker's links and the links under each chart
        assert any("?year=2017" in c for c in controls) and any("Trend query" in c for c in controls)


def test_every_chart_has_a_text_alternative_and_a_table(page, server):
    for name in ("council", "joint-return", "london-borough"):
        page.goto(server + PAGES[name])
        charts = page.locator("section.csww-measure figure.csww-chart svg[role=img]")   # the six key measures
        assert charts.count() == 6, name
        for i in range(6):
            svg = charts.nth(i)
            assert svg.locator("desc").text_content().startswith("Line chart of ")
            label = page.evaluate("el => (el.getAttribute('aria-labelledby') || '').split(' ').map(id => "
                                  "document.getElementById(id)).filter(Boolean).map(n => n.textContent).join(' ')",
                                  svg.element_handle())
            assert label.strip() or svg.get_attribute("aria-label")
            table = svg.locator("xpath=ancestor::figure/following-sibling::div[1]//table")
            assert table.locator("caption").count() == 1 and table.locator("thead th[scope=col]").count() == 5
    page.goto(server + PAGES["council"])
    row = page.locator("#turnover_rate_fte table tbody tr", has_text="2025").inner_text().split()
    assert row == ["2025", "15.4", "13.1", "11.7", "11.8"]   # Darlington, neighbour median, North East, England
