"""Open the HTML packs in headless Chromium: nothing fetched from the network, prints to A4 PDF, screenshot kept."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import ROOT
from test_report import FX

from benchmark import report
from benchmark.build import build

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None,
                                reason="Debian chromium is not installed (apt-get install -y chromium)")


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def pack_files(tmp_path_factory):
    out = tmp_path_factory.mktemp("browser")
    build([FX / "indicators_north_east.csv"], out)
    db = out / "csww.db"
    files = {"council": report.write(report.make(db, la="841", year=2025, local=ROOT / "examples" / "darlington.csv"),
                                     out / "darlington.html"),
             "group": report.write(report.make(db, group=FX / "tees_tyne.yml"), out / "partnership.html")}
    return files


def pdf_pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", data))


@pytest.mark.parametrize("kind", ["council", "group"])
def test_pack_renders_offline_and_prints_to_a4_pdf(browser, pack_files, kind):
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    outside = []
    page.route(re.compile(r"^(?!file:|data:|about:).*"), lambda route: (outside.append(route.request.url),
                                                                         route.abort()))
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(pack_files[kind].as_uri())
    assert outside == [] and errors == []
    # every chart is drawn with a size, and its table is beside it
    boxes = page.eval_on_selector_all("figure svg", "els => els.map(e => e.getBoundingClientRect().width)")
    key = "#trends figure svg" if kind == "council" else "figure svg"   # the council pack: six key measures
    assert len(page.query_selector_all(key)) == 6 and all(w > 200 for w in boxes)
    assert page.eval_on_selector_all("figure", "els => els.every(f => f.querySelector('table caption'))")
    # on a wide screen the data table sits beside its chart, not below it
    assert page.eval_on_selector_all("figure", """els => els.every(f => {
        const c = f.querySelector('svg').getBoundingClientRect(), t = f.querySelector('table').getBoundingClientRect();
        return t.left >= c.right - 1 && t.top < c.bottom; })""")
    assert page.title().startswith("Children's social work workforce")
    page.screenshot(path=str(ARTIFACTS / f"report_{kind}.png"), full_page=True)
    page.emulate_media(media="print")
    pdf = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    (ARTIFACTS / f"report_{kind}.pdf").write_bytes(pdf)
    assert pdf.startswith(b"%PDF") and pdf_pages(pdf) > 0
    assert (ARTIFACTS / f"report_{kind}.png").stat().st_size > 10_000
    page.close()


def test_print_layout_hides_navigation_and_keeps_tables_inside_the_page(browser, pack_files):
    page = browser.new_page(viewport={"width": 703, "height": 1000})  # A4 less 12 mm margins, at 96 dpi
    page.goto(pack_files["council"].as_uri())
    page.emulate_media(media="print")
    assert page.eval_on_selector("nav", "n => getComputedStyle(n).display") == "none"
    widest = page.eval_on_selector_all("table", "ts => Math.max(...ts.map(t => t.getBoundingClientRect().right))")
    body = page.eval_on_selector("body", "b => b.getBoundingClientRect().right")
    assert widest <= body + 1
    page.close()
