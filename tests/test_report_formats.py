"""csww report in Word and PDF, the output format rules, the XLSX's formats and native charts, and accessibility
measured: python-docx's checks on the DOCX, axe-core on the HTML pack (in headless Chromium)."""

from __future__ import annotations

import os
import re
import shutil
import zipfile
from pathlib import Path

import docx
import openpyxl
import pytest
from click.testing import CliRunner
from conftest import ROOT, value
from docx.oxml.ns import qn
from test_report import FX, KEY

from benchmark import report
from benchmark.build import build
from benchmark.cli import cli

CHROMIUM = "/usr/bin/chromium"
HAS_CHROMIUM = Path(CHROMIUM).exists() or shutil.which("chromium") is not None
needs_chromium = pytest.mark.skipif(not HAS_CHROMIUM, reason="Debian chromium is not installed (apt-get install "
                                                             "-y chromium): PDF packs and the axe test need it")
AXE = Path(os.environ.get("CSWW_AXE_JS", ROOT / ".cache" / "axe" / "node_modules" / "axe-core" / "axe.min.js"))


@pytest.fixture(scope="module")
def fx_db(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("formats")
    build([FX / "indicators_north_east.csv"], out)
    return out / "csww.db"


def run(*args):
    return CliRunner().invoke(cli, ["report", *map(str, args)])


@pytest.fixture(scope="module")
def word(fx_db, tmp_path_factory):
    out = tmp_path_factory.mktemp("word")
    files = {}
    for kind, args in (("council", ["--la", "841", "--year", "2025"]), ("group", ["--group", FX / "tees_tyne.yml"])):
        path = out / f"{kind}.docx"
        r = run(*args, "--db", fx_db, "-o", path)
        assert r.exit_code == 0, r.output
        assert f"wrote {path} (docx)" in r.output
        files[kind] = path
    return files


# ---------------------------------------------------------------------------------------------------------------
# Word


def heading_levels(d) -> list[int]:
    return [int(p.style.name.split()[-1]) for p in d.paragraphs if p.style.name.startswith("Heading ")]


def docx_problems(path: Path) -> list[str]:
    """The accessibility checks python-docx can make: a text alternative on every picture, a repeated header
    row on every table, headings in Word's heading styles starting at 1 and never skipping a level."""
    d = docx.Document(path)
    problems = []
    for k, shape in enumerate(d.inline_shapes):
        if not (shape._inline.docPr.get("descr") or "").strip():
            problems.append(f"picture {k + 1} has no alt text")
    for k, t in enumerate(d.tables):
        tr_pr = t.rows[0]._tr.trPr
        if tr_pr is None or tr_pr.find(qn("w:tblHeader")) is None:
            problems.append(f"table {k + 1} has no header row")
        if t._tbl.tblPr.find(qn("w:tblCaption")) is None:
            problems.append(f"table {k + 1} has no title")
    levels = heading_levels(d)
    if not levels or levels[0] != 1:
        problems.append(f"the first heading is level {levels[:1]}, not 1")
    for a, b in zip(levels, levels[1:]):
        if b > a + 1:
            problems.append(f"heading level {b} follows level {a}")
    if d.core_properties.title == "":
        problems.append("no document title")
    return problems


@pytest.mark.parametrize("kind", ["council", "group"])
def test_docx_passes_the_accessibility_checks(word, kind):
    assert docx_problems(word[kind]) == []
    d = docx.Document(word[kind])
    assert len(d.inline_shapes) == len(KEY)  # one chart picture per key measure
    assert all(s._inline.docPr.get("descr").startswith(("Line chart of", "Bar chart of")) for s in d.inline_shapes)
    assert heading_levels(d)[:2] == [1, 2]


def test_docx_accessibility_check_can_fail(word, tmp_path):
    """The checker finds what it looks for: strip an alt text and a header row, skip a heading level."""
    d = docx.Document(word["council"])
    d.inline_shapes[0]._inline.docPr.set("descr", "")
    tr_pr = d.tables[0].rows[0]._tr.trPr
    tr_pr.remove(tr_pr.find(qn("w:tblHeader")))
    d.add_heading("Deep", level=4)
    bad = tmp_path / "bad.docx"
    d.save(bad)
    assert docx_problems(bad) == ["picture 1 has no alt text", "table 1 has no header row",
                                  "heading level 4 follows level 2"]


def test_docx_tables_hold_the_databases_figures(word, fx_db):
    d = docx.Document(word["council"])
    assert d.paragraphs[0].style.name == "Heading 1"
    assert d.paragraphs[0].text == "Children's social work workforce: Darlington"
    headline = next(t for t in d.tables if t.rows[0].cells[0].text == "Measure")
    headers = [c.text for c in headline.rows[0].cells]
    assert headers[:6] == ["Measure", "Year", "Darlington", "Neighbour median", "North East", "England"]
    rows = [[c.text for c in r.cells] for r in headline.rows[1:]]
    turnover = next(r for r in rows if r[0] == "Turnover rate (FTE)" and r[1] == "2025")
    assert turnover[2] == "15.4%" == f"{value(fx_db, 2025, '841', 'turnover_rate_fte')[0]}%"
    # the measure heads its group of years: one merged cell, as the HTML's rowspan
    first = headline.rows[1].cells[0]._tc
    assert first.tcPr.find(qn("w:vMerge")) is not None
    # numbers are right-aligned
    assert headline.rows[1].cells[2].paragraphs[0].style.paragraph_format.alignment == 2


def test_group_docx_compares_every_member(word):
    d = docx.Document(word["group"])
    members = next(t for t in d.tables if [c.text for c in t.rows[0].cells][:2] == ["Council", "Code"])
    codes = {r.cells[1].text for r in members.rows[1:]}
    assert {"841", "806", "807", "808", "805", "390", "391", "392"} <= codes


# ---------------------------------------------------------------------------------------------------------------
# Output formats


def test_format_comes_from_the_extension_and_an_unknown_one_is_an_error(fx_db, tmp_path):
    for name in ("pack.txt", "pack.doc", "pack"):
        out = tmp_path / name
        r = run("--la", "841", "--db", fx_db, "-o", out)
        assert r.exit_code == 1 and isinstance(r.exception, SystemExit), r.output
        assert f"{out}: " in r.output and ("not a pack format" in r.output or "no extension" in r.output)
        assert not out.exists()
    assert report.format_for("a.DOCX", None) == "docx" and report.format_for("a.pdf", None) == "pdf"
    r = run("--la", "841", "--db", fx_db, "--format", "docx", "-o", tmp_path / "named.anything")
    assert r.exit_code == 0 and zipfile.is_zipfile(tmp_path / "named.anything")
    assert [p.name for p in tmp_path.iterdir()] == ["named.anything"]


def test_dash_writes_text_formats_to_stdout_and_refuses_binary_ones(fx_db, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = run("--la", "841", "--year", "2025", "--db", fx_db, "--format", "md", "-o", "-")
    assert r.exit_code == 0, r.output
    assert r.output.startswith("# Children's social work workforce: Darlington") and "wrote" not in r.output
    r = run("--la", "841", "--year", "2025", "--db", fx_db, "-o", "-")
    assert r.exit_code == 0 and r.output.startswith("<!doctype html>")
    for fmt in ("docx", "pdf", "xlsx"):
        r = run("--la", "841", "--db", fx_db, "--format", fmt, "-o", "-")
        assert r.exit_code == 1 and "is binary and is not written to standard output" in r.output
    assert list(tmp_path.iterdir()) == []  # no file named "-"


# ---------------------------------------------------------------------------------------------------------------
# XLSX


def chart_parts(path: Path) -> dict[str, int]:
    """Sheet name -> number of native charts drawn on it (read from the package: openpyxl drops charts on load)."""
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        wb = z.read("xl/workbook.xml").decode()
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
        target = dict(re.findall(r'Id="(rId\d+)"[^>]*Target="/?(?:xl/)?([^"]+)"', rels)
                      + [(b, a) for a, b in re.findall(r'Target="/?(?:xl/)?([^"]+)"[^>]*Id="(rId\d+)"', rels)])
        out = {}
        for name, rid in re.findall(r'<sheet [^>]*name="([^"]+)"[^>]*r:id="(rId\d+)"', wb):
            sheet = target[rid]
            srels = f"xl/worksheets/_rels/{Path(sheet).name}.rels"
            count = 0
            if srels in names:
                for drawing in re.findall(r'Target="([^"]*drawing\d+\.xml)"', z.read(srels).decode()):
                    drels = f"xl/drawings/_rels/{Path(drawing).name}.rels"
                    count += len(re.findall(r"charts/chart\d+\.xml", z.read(drels).decode()))
            out[name.replace("&amp;", "&").replace("&apos;", "'")] = count
        return out


def test_xlsx_has_native_charts_beside_their_tables_and_unit_formats(fx_db, tmp_path):
    for kind, args in (("council", ["--la", "841", "--year", "2025"]), ("group", ["--group", FX / "tees_tyne.yml"])):
        out = tmp_path / f"{kind}.xlsx"
        assert run(*args, "--db", fx_db, "-o", out).exit_code == 0
        charts = chart_parts(out)
        drawn = {n for n, c in charts.items() if c}
        assert len(drawn) == len(KEY), charts
        assert all(n.startswith("Trend " if kind == "council" else "Chart ") for n in drawn)
        assert not [n for n in charts if n.startswith("Chart ") and not charts[n]]  # no "Chart" sheet without one
    wb = openpyxl.load_workbook(tmp_path / "council.xlsx")
    ws = wb["Headline"]
    rows = {(r[0].value, r[1].value): r for r in ws.iter_rows(min_row=3) if r[0].value}
    turnover = rows["Turnover rate (FTE)", 2025]
    assert turnover[2].value == 15.4 and turnover[2].number_format == '#,##0.0"%"'  # shows 15.4%, is DfE's 15.4
    change_col = [c.value for c in ws[2]].index("Change on last year")
    assert turnover[change_col].number_format == '+#,##0.0" pts";-#,##0.0" pts";0.0" pts"'
    assert rows["Social workers in post (FTE)", 2025][2].number_format == "#,##0.0"
    assert rows["Average caseload (per case-holding FTE)", 2025][2].number_format == "#,##0.0"


# ---------------------------------------------------------------------------------------------------------------
# PDF and axe-core (headless Chromium)


def test_pdf_without_chromium_is_one_message_and_no_file(fx_db, tmp_path, monkeypatch):
    monkeypatch.setenv("CSWW_CHROMIUM", str(tmp_path / "no-chromium"))
    out = tmp_path / "d.pdf"
    r = run("--la", "841", "--year", "2025", "--db", fx_db, "-o", out)
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit)
    assert f"CSWW_CHROMIUM={tmp_path / 'no-chromium'}: no such file; a PDF pack needs Chromium" in r.output
    assert list(tmp_path.iterdir()) == []


@needs_chromium
def test_pdf_pack_is_the_html_printed_to_a4(fx_db, tmp_path):
    out = tmp_path / "darlington.pdf"
    r = run("--la", "841", "--year", "2025", "--db", fx_db, "-o", out)
    assert r.exit_code == 0, r.output
    assert "(pdf)" in r.output
    data = out.read_bytes()
    assert data.startswith(b"%PDF-")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", data))
    assert 2 <= pages <= 12
    assert b"/StructTreeRoot" in data  # tagged: headings and tables reach a screen reader
    assert b"/Outlines" in data        # bookmarks from the headings
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)
    assert boxes and all(abs(float(w) - 595.92) < 1 and abs(float(h) - 842.88) < 1 for w, h in boxes)  # A4


@needs_chromium
@pytest.mark.skipif(not AXE.exists(), reason=f"axe-core is not installed at {AXE} (.ci/run installs it: "
                                             "npm install axe-core into .cache/axe)")
def test_html_packs_pass_axe_core_with_no_violations(fx_db, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    from benchmark.report.pdf_out import ARGS, chromium_path

    files = []
    for kind, args in (("council", ["--la", "841", "--year", "2025", "--local", ROOT / "examples" / "darlington.csv"]),
                       ("group", ["--group", FX / "tees_tyne.yml"])):
        out = tmp_path / f"{kind}.html"
        assert run(*args, "--db", fx_db, "-o", out).exit_code == 0
        files.append(out)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=ARGS)
        try:
            for path in files:
                page = browser.new_page()
                page.goto(path.as_uri())
                page.add_script_tag(path=str(AXE))
                result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
                assert result["testEngine"]["version"].startswith("4.")
                assert len(result["passes"]) > 10  # axe did check the page
                found = [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]]
                assert found == [], f"{path.name}: {found}"
                page.close()
        finally:
            browser.close()


# ---------------------------------------------------------------------------------------------------------------
# Real DfE files


def test_real_darlington_and_north_east_word_packs(real_db, tmp_path):
    out = tmp_path / "d.docx"
    r = run("--la", "841", "--year", "2025", "--db", real_db, "-o", out)
    assert r.exit_code == 0, r.output
    assert docx_problems(out) == []
    d = docx.Document(out)
    headline = next(t for t in d.tables if t.rows[0].cells[0].text == "Measure")
    rows = [[c.text for c in row.cells] for row in headline.rows[1:]]
    turnover = next(r for r in rows if r[0] == "Turnover rate (FTE)" and r[1] == "2025")
    assert turnover[2] == "15.4%" == f"{value(real_db, 2025, '841', 'turnover_rate_fte')[0]}%"
    assert turnover[5] == "11.8%"  # England
    ne = tmp_path / "ne.docx"
    r = run("--group", ROOT / "examples" / "north_east.yml", "--year", "2025", "--db", real_db, "-o", ne)
    assert r.exit_code == 0, r.output
    assert docx_problems(ne) == []
    members = next(t for t in docx.Document(ne).tables if [c.text for c in t.rows[0].cells][:2] == ["Council", "Code"])
    codes = {row.cells[1].text for row in members.rows[1:]}
    assert {"841", "840", "390", "805", "806", "391", "392", "929", "807", "393", "808", "394"} <= codes


def test_the_cli_offers_every_pack_format():
    """The report command lists its formats without importing the report package (``csww build`` stays light)."""
    option = next(p for p in cli.commands["report"].params if p.name == "fmt")
    assert tuple(option.type.choices) == report.FORMATS
