"""csww report: council and partnership packs in HTML, XLSX and Markdown, checked against the database."""

from __future__ import annotations

import html
import re
import shutil
import sqlite3
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import ROOT, value
from report_html import PackHTML

from benchmark import charts, measures, report
from benchmark.build import build
from benchmark.cli import cli
from benchmark.local import align, export
from benchmark.local.store import load_files
from benchmark.report import narrative

FX = Path(__file__).resolve().parent / "fixtures" / "report"
KEY = [m.id for m in measures.key_measures()]


@pytest.fixture(scope="module")
def report_db(tmp_path_factory) -> Path:
    """Eight North East councils, their region and England, 2021-2025 (hand-made; no ../shared needed)."""
    out = tmp_path_factory.mktemp("report")
    build([FX / "indicators_north_east.csv"], out)
    return out / "csww.db"


@pytest.fixture(scope="module")
def packs(report_db, tmp_path_factory):
    """Darlington 2025 and the fixture partnership in every format, written through the CLI."""
    out = tmp_path_factory.mktemp("packs")
    files = {}
    for fmt in ("html", "xlsx", "md"):  # Word and PDF: tests/test_report_formats.py
        for kind, args in (("council", ["--la", "841", "--year", "2025"]),
                           ("group", ["--group", str(FX / "tees_tyne.yml")])):
            path = out / f"{kind}.{fmt}"
            result = CliRunner().invoke(cli, ["report", *args, "--db", str(report_db), "-o", str(path)])
            assert result.exit_code == 0, result.output
            assert f"wrote {path}" in result.output
            files[kind, fmt] = path
    return files


def rows_by_header(t) -> list[dict]:
    names = t.header_texts()
    out, group = [], None
    for r in t.rows:
        cells = [c[1] for c in r]
        if len(cells) == len(names) - 1:  # a row inside a rowgroup: the group header spans it
            cells = [group] + cells
        group = cells[0]
        out.append(dict(zip(names, cells)))
    return out


def db_value(db, year, area, measure):
    v, sym = value(db, year, area, measure)
    return v if v is not None else sym


# ---------------------------------------------------------------------------------------------------------------
# HTML


def test_html_is_one_self_contained_file(packs):
    for kind in ("council", "group"):
        text = packs[kind, "html"].read_text(encoding="utf-8")
        page = PackHTML(text)
        assert page.lang == "en"
        for tag, attrs in page.tags:
            assert tag not in ("script", "img", "iframe", "link", "object", "embed"), tag
            assert "src" not in attrs
            href = attrs.get("href", "")
            assert not href or href.startswith("#"), href
        assert "@import" not in text and "url(" not in text


def test_element_ids_are_unique_and_links_resolve(packs):
    for kind in ("council", "group"):
        page = PackHTML(packs[kind, "html"].read_text(encoding="utf-8"))
        ids = [a["id"] for _, a in page.tags if "id" in a]
        assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]
        for _, a in page.tags:
            if a.get("href", "").startswith("#"):
                assert a["href"][1:] in ids, a["href"]
            for ref in a.get("aria-labelledby", "").split():
                assert ref in ids, ref


def test_every_table_has_a_caption_and_column_headers(packs):
    for kind in ("council", "group"):
        page = PackHTML(packs[kind, "html"].read_text(encoding="utf-8"))
        assert len(page.tables) >= 8
        for t in page.tables:
            assert t.caption, t.id
            assert t.head and all(scope == "col" for _, scope in t.head), t.id
            for r in t.rows:
                assert len(r) > 0
                assert any(tag == "th" and scope in ("row", "rowgroup") for tag, _, scope in r), (t.id, r)


def test_every_chart_has_alt_text_and_its_data_table(packs):
    for kind in ("council", "group"):
        page = PackHTML(packs[kind, "html"].read_text(encoding="utf-8"))
        assert len(page.figures) == len(KEY)
        assert len(page.svgs) == len(KEY)
        for f in page.figures:
            assert len(f.svgs) == 1 and len(f.tables) == 1, f.id
            svg = f.svgs[0]
            assert svg["role"] == "img"
            assert svg["_titles"][:2] == ["title", "desc"] and set(svg["_titles"][2:]) <= {"title"}  # points' tooltips
            title_id, desc_id = svg["aria-labelledby"].split()
            assert page.ids[title_id] and len(page.ids[desc_id]) > 40
            assert "table beside the chart" in page.ids[desc_id]
        # the XLSX pack's native charts carry the same text alternatives (Excel's Alt Text: the drawing frame's
        # descr), each on the sheet of its table; openpyxl alone wrote none
        charts = xlsx_chart_alt_texts(packs[kind, "xlsx"])
        descs = {page.ids[f.svgs[0]["aria-labelledby"].split()[1]] for f in page.figures}
        assert len(charts) == len(KEY) and set(charts.values()) == descs
        wb = openpyxl.load_workbook(packs[kind, "xlsx"])
        for sheet, alt in charts.items():
            assert re.split(r":| by member council", wb[sheet]["A1"].value)[0] in alt, sheet  # its own chart's


def xlsx_chart_alt_texts(path) -> dict[str, str]:
    """Sheet name -> the text alternative (``descr``) of the chart drawn on it, read from the XLSX's parts."""
    with zipfile.ZipFile(path) as z:
        def rels(part):
            text = z.read(part).decode("utf-8")
            return {m[1]: m[0].lstrip("/") for m in re.findall(r'Target="([^"]+)"[^>]*Id="([^"]+)"', text)}
        book = rels("xl/_rels/workbook.xml.rels")
        out = {}
        for name, rid in re.findall(r'<sheet [^>]*name="([^"]+)"[^>]*r:id="([^"]+)"', z.read("xl/workbook.xml").decode()):
            sheet = book[rid]
            part = f"{sheet.rsplit('/', 1)[0]}/_rels/{sheet.rsplit('/', 1)[1]}.rels"
            if part not in z.namelist():
                continue
            for target in rels(part).values():
                if "drawings/drawing" in target:
                    descr = re.search(r'<cNvPr [^>]*descr="([^"]*)"', z.read(target).decode("utf-8"))
                    out[html.unescape(name)] = html.unescape(descr.group(1)) if descr else None
        return out


def test_headline_table_values_come_from_the_database(packs, report_db):
    page = PackHTML(packs["council", "html"].read_text(encoding="utf-8"))
    t = page.table("headline-table")
    assert t.header_texts()[:6] == ["Measure", "Year", "Darlington", "Neighbour median", "North East", "England"]
    assert "Quartile band" in t.header_texts() and "Direction of travel" in t.header_texts()
    rows = rows_by_header(t)
    assert len(rows) == 3 * len(KEY)
    assert {r["Year"] for r in rows} == {"2023", "2024", "2025"}
    for r in rows:
        m = next(m for m in measures.key_measures() if m.label == r["Measure"])
        y = int(r["Year"])
        unit = "%" if m.unit == "percent" else ""
        expect = db_value(report_db, y, "841", m.id)
        assert r["Darlington"] == (f"{expect:,.{m.decimals}f}{unit}" if isinstance(expect, float) else expect)
        eng = db_value(report_db, y, "E92000001", m.id)
        assert r["England"] == f"{eng:,.{m.decimals}f}{unit}"
        reg = db_value(report_db, y, "E12000001", m.id)
        assert r["North East"] == f"{reg:,.{m.decimals}f}{unit}"
    turnover = next(r for r in rows if r["Measure"] == "Turnover rate (FTE)" and r["Year"] == "2025")
    assert turnover["Darlington"] == "15.4%"
    assert turnover["Change on last year"] == "\u22124.0 pts"


def _fmt(v, decimals, unit=""):
    from benchmark.formatting import fmt_number
    return fmt_number(v, decimals) + unit if v is not None else ""


def test_headline_comparators_come_from_the_comparison_engine(packs, report_db):
    rows = rows_by_header(PackHTML(packs["council", "html"].read_text(encoding="utf-8")).table("headline-table"))
    with sqlite3.connect(report_db) as conn:
        comp = {(m, y): (med, rank, of, q, d) for m, y, med, rank, of, q, d in conn.execute(
            "select measure_id, time_period, sn_median, rank, rank_of, quartile, direction from comparisons "
            "where area_code = '841' and provisional = 0")}
    assert comp, "the build writes the comparisons table"
    for r in rows:
        m = next(m for m in measures.key_measures() if m.label == r["Measure"])
        med, rank, of, q, d = comp[m.id, int(r["Year"])]
        assert r["Neighbour median"] == _fmt(med, m.decimals, "%" if m.unit == "percent" else "")
        assert (r["Rank (1 = lowest)"], r["Councils ranked"]) == (str(rank), str(of))
        assert r["Quartile band"] == (q or "") and r["Direction of travel"] == (d or "")
    agency = next(r for r in rows if r["Measure"] == "Agency worker rate (FTE)" and r["Year"] == "2025")
    assert (agency["Darlington"], agency["Quartile band"]) == ("28.8%", "D")


def test_summary_leads_with_quartile_exceptions(packs):
    summary = PackHTML(packs["council", "html"].read_text(encoding="utf-8")).ids["summary"]
    assert ("Agency worker rate 28.8% is in the highest quartile nationally, 20.8 points above the neighbour median "
            "(8.0%); band D") in summary


def test_neighbour_list_is_the_models_list(packs, report_db):
    page = PackHTML(packs["council", "html"].read_text(encoding="utf-8"))
    rows = rows_by_header(page.table("neighbour-table"))
    with sqlite3.connect(report_db) as conn:
        model = conn.execute("select sn_model from comparisons where area_code='841' and time_period=2025").fetchone()[0]
        listed = conn.execute("select neighbour_code, closeness from neighbours where model=? and area_code='841' "
                              "order by position", (model,)).fetchall()
    assert [(r["Code"], r["Closeness"]) for r in rows] == listed and len(listed) == 10
    assert {r["Code"] for r in rows if r["Figures published for 2025"] == "yes"} == {"390", "808"}
    assert "(not the mean)" in page.ids["neighbours"]


def test_group_pack_pooled_figures_come_from_the_engine(packs, report_db):
    from benchmark import compare, store

    rows = rows_by_header(PackHTML(packs["group", "html"].read_text(encoding="utf-8")).table("members-table"))
    pooled = next(r for r in rows if r["Council"] == "Partnership (pooled)")
    conn = store.connect(report_db)
    _, members, gc = compare.group_tables(conn, compare.read_groups(FX / "tees_tyne.yml"))
    conn.close()
    assert len(members) == 8
    want = gc[(gc["time_period"] == 2025) & (gc["measure_id"] == "agency_rate_fte")]["pooled"].iloc[0]
    assert pooled["Agency worker rate (FTE)"] == _fmt(want, 1, "%")
    assert [r["Code"] for r in rows[:8]] == ["841", "806", "807", "808", "805", "390", "391", "392"]


def test_pack_reads_a_database_without_comparisons(report_db, tmp_path):
    db = tmp_path / "old.db"
    db.write_bytes(report_db.read_bytes())
    with sqlite3.connect(db) as conn:
        conn.execute("delete from comparisons")
        conn.execute("delete from neighbours")
    pack = report.make(db, la="841", year=2025)
    page = PackHTML(report.render(pack, "html").decode())
    rows = rows_by_header(page.table("headline-table"))
    turnover = next(r for r in rows if r["Measure"] == "Turnover rate (FTE)" and r["Year"] == "2025")
    assert (turnover["Darlington"], turnover["England"], turnover["Neighbour median"]) == ("15.4%", "11.8%", "")
    assert turnover["Change on last year"] == "\u22124.0 pts"
    assert "comparison engine has not been run" in " ".join(pack.sections[0].tables[0].notes)
    assert "No statistical neighbour list" in page.ids["neighbours"]


def test_trend_tables_cover_every_year(packs, report_db):
    page = PackHTML(packs["council", "html"].read_text(encoding="utf-8"))
    t = page.table("trend-agency_rate_fte")
    rows = rows_by_header(t)
    assert [r["Year"] for r in rows] == ["2021", "2022", "2023", "2024", "2025"]
    assert rows[-1]["Darlington"] == "28.8%" == f"{db_value(report_db, 2025, '841', 'agency_rate_fte')}%"
    assert "Highest 28.8% in 2025" in page.ids["chart-agency_rate_fte-d"]


def test_definitions_neighbours_and_provenance_are_shown(packs, report_db):
    page = PackHTML(packs["council", "html"].read_text(encoding="utf-8"))
    defs = rows_by_header(page.table("definitions-table"))
    assert [d["Measure id"] for d in defs] == KEY
    assert all(len(d["Definition"]) > 30 for d in defs)
    # the catalogue's formula set as a fraction (read out as its one-line text)
    assert next(d for d in defs if d["Measure id"] == "turnover_rate_fte")["How it is calculated"] == (
        "Leavers (FTE)Social workers in post (FTE) × 100")
    assert ('role="math" aria-label="Leavers (FTE) ÷ Social workers in post (FTE) × 100"'
            in packs["council", "html"].read_text(encoding="utf-8"))
    files = rows_by_header(page.table("files-table"))
    with sqlite3.connect(report_db) as conn:
        sha = conn.execute("select sha256 from source_files").fetchone()[0]
    assert files[0]["SHA-256 checksum"] == sha and files[0]["File"] == "indicators_north_east.csv"
    assert rows_by_header(page.table("releases-table"))[0]["Release"] == "2025"
    text = packs["council", "html"].read_text(encoding="utf-8")
    assert "csww-benchmark 0.1.0" in text
    assert 'id="neighbours"' in text


def test_summary_is_generated_from_the_numbers(packs):
    page = PackHTML(packs["council", "html"].read_text(encoding="utf-8"))
    summary = page.ids["summary"]
    assert "Turnover rate fell by 4.0 points since 2024, from 19.4% to 15.4% (an improvement" in summary
    assert "Agency worker rate rose by 3.0 points since 2024, from 25.8% to 28.8%" in summary


def test_html_prints_on_a4():
    css = (ROOT / "benchmark" / "report" / "templates" / "pack.html.j2").read_text(encoding="utf-8")
    assert re.search(r"@page\s*{\s*size:\s*A4", css)
    assert "@media print" in css and "thead { display: table-header-group; }" in css


# ---------------------------------------------------------------------------------------------------------------
# Contrast


def _luminance(hex_colour: str) -> float:
    rgb = [int(hex_colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_colours_have_sufficient_contrast():
    css = (ROOT / "benchmark" / "report" / "templates" / "pack.html.j2").read_text(encoding="utf-8")
    var = dict(re.findall(r"--(\w+):\s*(#[0-9a-fA-F]{6})", css))
    for text in ("ink", "muted", "accent", "warn"):
        assert contrast(var[text], "#ffffff") >= 4.5, text
        assert contrast(var[text], var["head"]) >= 4.5, text
    for style in charts.STYLES:
        assert contrast(style["colour"], "#ffffff") >= 4.5


# ---------------------------------------------------------------------------------------------------------------
# XLSX


def test_xlsx_has_a_sheet_per_table_frozen_headers_and_numbers(packs, report_db):
    path = packs["council", "xlsx"]
    with zipfile.ZipFile(path) as z:
        assert not [n for n in z.namelist() if "vba" in n.lower()]
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[0] == "Contents"
    for name in ("Headline", "Definitions", "Releases", "Source files"):
        assert name in wb.sheetnames, wb.sheetnames
    with sqlite3.connect(report_db) as conn:
        has_neighbours = conn.execute("select 1 from sqlite_master where name = 'neighbours'").fetchone()
    assert ("Neighbours" in wb.sheetnames) == bool(has_neighbours)
    assert sum(n.startswith("Trend ") for n in wb.sheetnames) == len(KEY)
    ws = wb["Headline"]
    assert ws.freeze_panes == "B3"
    headers = [c.value for c in ws[2]]
    assert headers[:6] == ["Measure", "Year", "Darlington", "Neighbour median", "North East", "England"]
    found = {}
    for row in ws.iter_rows(min_row=3, values_only=False):
        if row[0].value is None:
            break
        found[row[0].value, row[1].value] = row
    cell = found["Turnover rate (FTE)", 2025][2]
    assert cell.value == 15.4 == db_value(report_db, 2025, "841", "turnover_rate_fte")
    assert cell.number_format == '#,##0.0"%"'
    assert found["Social workers in post (FTE)", 2025][5].value == db_value(report_db, 2025, "E92000001", "inpost_fte")
    assert isinstance(found["Agency worker rate (FTE)", 2024][2].value, float)
    assert ws.tables, "the headline range is an Excel table"
    defs = wb["Definitions"]
    ids = [r[1] for r in defs.iter_rows(min_row=3, values_only=True) if r[1]]
    assert ids == KEY
    for name in wb.sheetnames[1:]:
        assert wb[name].freeze_panes in ("A3", "B3")


def test_group_xlsx_compares_every_member(packs, report_db):
    wb = openpyxl.load_workbook(packs["group", "xlsx"])
    ws = wb["Members compared"]
    rows = {r[1]: r for r in ws.iter_rows(min_row=3, values_only=True) if r[0]}
    assert set(rows) >= {"841", "806", "807", "808", "805", "390", "391", "392", "E92000001"}
    headers = [c.value for c in ws[2]]
    col = headers.index("Turnover rate (FTE)")
    assert rows["841"][col] == 15.4
    assert rows["805"][headers.index("Sickness absence rate (FTE)")] == "c"
    assert rows["E92000001"][col] == db_value(report_db, 2025, "E92000001", "turnover_rate_fte")


# ---------------------------------------------------------------------------------------------------------------
# Markdown


def test_markdown_pastes_as_tables(packs):
    text = packs["council", "md"].read_text(encoding="utf-8")
    assert text.startswith("# Children's social work workforce: Darlington\n")
    assert "## Summary" in text and "## Definitions" in text and "## Where the figures come from" in text
    header = "| Measure | Year | Darlington | Neighbour median | North East | England |"
    assert header in text
    line = next(ln for ln in text.splitlines() if ln.startswith("| Turnover rate (FTE) | 2025 |"))
    assert "| 15.4% |" in line
    for block in re.findall(r"((?:^\|.*\|\n)+)", text, flags=re.M):
        widths = {ln.count("|") - ln.count("\\|") for ln in block.splitlines()}
        assert len(widths) == 1, block  # every row has the same number of cells
    group = packs["group", "md"].read_text(encoding="utf-8")
    assert "| Darlington | 841 |" in group and "| Hartlepool | 805 |" in group


# ---------------------------------------------------------------------------------------------------------------
# Narrative rules on hand-made records (quartiles and neighbour medians come from the comparison engine)


def _records(rows):
    cols = ["time_period", "measure_id", "value", "symbol", "quartile", "rank", "rank_of", "sn_median", "england",
            "change", "direction"]
    return pd.DataFrame([dict(zip(cols, r)) for r in rows])


def test_narrative_names_quartile_extremes_with_the_neighbour_gap():
    rec = _records([(2025, "agency_rate_fte", 28.8, None, "D", 140, 152, 17.8, 13.0, 3.0, "worsening"),
                    (2025, "caseload_fte", 12.0, None, "A", 3, 152, 16.0, 15.2, None, "improving"),
                    (2025, "turnover_rate_fte", 12.1, None, "B", 60, 152, 12.0, 11.8, 0.1, "little change"),
                    (2025, "absence_rate_fte", None, "c", None, None, None, 3.9, 3.5, None, None)])
    lines = narrative.council_summary(rec, 2025, KEY, "Darlington")
    assert lines[0].startswith("Agency worker rate 28.8% is in the highest quartile nationally, 11.0 points above "
                               "the neighbour median (17.8%); band D, the least favourable 25% of councils, rank 140 "
                               "of 152")
    assert lines[1].startswith("Average caseload 12.0 is in the lowest quartile nationally, 4.0 cases per FTE below")
    assert "Agency worker rate rose by 3.0 points since 2024, from 25.8% to 28.8% (a deterioration" in lines[2]
    assert not any("Turnover" in ln for ln in lines)  # ordinary figures are not narrated
    assert "Sickness absence rate is not published for Darlington in 2025 (symbol 'c': suppressed" in " ".join(lines)
    assert "Vacancy rate: DfE published no figure" in " ".join(lines)


def test_narrative_says_when_nothing_is_exceptional():
    rec = _records([(2025, "turnover_rate_fte", 12.1, None, "B", 60, 152, 12.0, 11.8, 0.1, "little change")])
    lines = narrative.council_summary(rec, 2025, ["turnover_rate_fte"], "Darlington")
    assert lines == ["No key measure for Darlington is in the best or worst quartile band nationally in 2025.",
                     "No key measure changed by 10% or more since 2024."]


def test_neighbour_gaps_are_narrated_for_measures_not_already_named():
    rec = _records([(2025, "vacancy_rate_fte", 22.0, None, "C", 100, 152, 13.5, 14.2, 0.5, None),
                    (2025, "inpost_fte", 80.5, None, None, 9, 149, 207.5, 36186.3, 0.5, None)])
    lines = narrative.council_summary(rec, 2025, ["inpost_fte", "vacancy_rate_fte"], "Darlington")
    assert "Vacancy rate 22.0% is 8.5 points above the neighbour median (13.5%); England 14.2%." in lines
    assert not any(ln.startswith("Social workers in post") for ln in lines)  # a size, not an exception


def test_group_summary_names_extremes_and_bands():
    table = pd.DataFrame([("Darlington", "agency_rate_fte", 28.8, "D"), ("Gateshead", "agency_rate_fte", 6.0, "A"),
                          ("Darlington", "inpost_fte", 80.5, None), ("Gateshead", "inpost_fte", 150.0, None)],
                         columns=["area_name", "measure_id", "value", "quartile"])
    pooled = {"agency_rate_fte": {"pooled": 15.1, "england": 13.0}, "inpost_fte": {"pooled": 230.5, "england": 36186.3}}
    lines = narrative.group_summary(table, 2025, ["inpost_fte", "agency_rate_fte"], pooled)
    assert lines == [
        "Social workers in post: highest Gateshead 150.0, lowest Darlington 80.5.",
        "Agency worker rate: highest Darlington 28.8%, lowest Gateshead 6.0%; the partnership as a whole 15.1% "
        "against England 13.0%.",
        "In band D nationally (least favourable 25% of councils) in 2025: Darlington (agency worker rate).",
        "In band A nationally (most favourable 25% of councils) in 2025: Gateshead (agency worker rate)."]


# ---------------------------------------------------------------------------------------------------------------
# CLI


def test_report_errors_are_one_clear_message(report_db, tmp_path):
    out = tmp_path / "x.html"
    run = CliRunner().invoke
    r = run(cli, ["report", "--la", "nowhere", "--db", str(report_db), "-o", str(out)])
    assert r.exit_code == 1 and "no area matches 'nowhere'" in r.output
    r = run(cli, ["report", "--la", "841", "--year", "2019", "--db", str(report_db), "-o", str(out)])
    assert r.exit_code == 1 and "no figures for Darlington in 2019; the database has 2021-2025" in r.output
    r = run(cli, ["report", "--la", "E12000001", "--db", str(report_db), "-o", str(out)])
    assert r.exit_code == 1 and "not a council" in r.output
    r = run(cli, ["report", "--db", str(report_db), "-o", str(out)])
    assert r.exit_code == 1 and "either a council (--la) or a group file (--group)" in r.output
    r = run(cli, ["report", "--la", "841", "--db", str(tmp_path / "none.db"), "-o", str(out)])
    assert r.exit_code == 1 and "run 'csww build' first" in r.output
    assert not out.exists()


def test_bad_group_files_are_one_message_naming_the_file(report_db, tmp_path):
    """A group file that is not YAML, whose top level is a list of codes, or that names several unknown members:
    one message naming the file (the YAML error's line and column; every bad member with its line), exit 1, for
    'report --group' and 'compare --group' alike."""
    run, db = CliRunner().invoke, str(report_db)
    broken, codes, unknown = tmp_path / "broken.yml", tmp_path / "list.yml", tmp_path / "unknown.yml"
    broken.write_text("members: [841\n")
    codes.write_text("- 841\n- 840\n")
    unknown.write_text("groups:\n  - id: x\n    members:\n      - 841\n      - 999\n      - nowhere\n")
    for args in (["report", "-o", str(tmp_path / "b.md")], ["compare", "--la", "841"]):
        r = run(cli, [*args, "--db", db, "--group", str(broken)])
        assert r.exit_code == 1 and isinstance(r.exception, SystemExit), r.output  # no traceback
        assert (f"{broken}, row 2, column 1: not valid YAML: expected ',' or ']', but got '<stream end>'"
                in r.output), r.output
        r = run(cli, [*args, "--db", db, "--group", str(codes)])
        assert r.exit_code == 1 and f"{codes}: the top level is a list of 2 items, not groups" in r.output, r.output
        r = run(cli, [*args, "--db", db, "--group", str(unknown)])
        assert r.exit_code == 1 and "2 problems found" in r.output, r.output
        assert f"{unknown}, row 5, column members, value '999': group x: no area matches '999'" in r.output
        assert f"{unknown}, row 6, column members, value 'nowhere': group x: no area matches 'nowhere'" in r.output
    assert not (tmp_path / "b.md").exists()


def test_contradictory_options_are_refused(report_db, tmp_path):
    """--format that contradicts -o's extension, and --la with --group (the help: --group is 'Instead of --la'),
    are usage errors; a missing output folder is created and said."""
    run, db = CliRunner().invoke, str(report_db)
    r = run(cli, ["report", "--la", "841", "--format", "pdf", "-o", str(tmp_path / "x.html"), "--db", db])
    assert r.exit_code == 1 and "x.html: --format pdf contradicts the .html extension (html)" in r.output
    r = run(cli, ["report", "--la", "841", "--group", str(FX / "tees_tyne.yml"), "-o", str(tmp_path / "g.md"),
                  "--db", db])
    assert r.exit_code == 1 and "--la and --group exclude each other" in r.output
    assert not (tmp_path / "x.html").exists() and not (tmp_path / "g.md").exists()
    r = run(cli, ["report", "--la", "841", "--format", "md", "-o", str(tmp_path / "new" / "sub" / "x.markdown"),
                  "--db", db])
    assert r.exit_code == 0 and f"created folder {tmp_path / 'new'}\n" in r.output, r.output
    assert (tmp_path / "new" / "sub" / "x.markdown").read_text().startswith("# ")


def test_output_is_written_atomically(report_db, tmp_path):
    """A pack that cannot be made leaves the previous one as it was; a place that cannot be written to is one
    message naming it. Either way no temporary file is left behind (fileio's rollback: tests/test_errors.py)."""
    out = tmp_path / "pack.html"
    out.write_text("previous pack")
    run = CliRunner().invoke
    r = run(cli, ["report", "--la", "841", "--year", "2019", "--db", str(report_db), "-o", str(out)])
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit), r.exception  # a message, not a traceback
    r = run(cli, ["report", "--la", "841", "--db", str(report_db), "-o", str(out / "pack.html")])
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit), r.exception
    assert f"{out / 'pack.html'}: cannot write here (File exists: {out})" in r.output  # a file, not a folder
    assert out.read_text() == "previous pack"
    assert [p.name for p in tmp_path.iterdir()] == ["pack.html"]


def test_pack_files_get_ordinary_permissions(packs):
    import os

    mask = os.umask(0)
    os.umask(mask)
    assert packs["council", "html"].stat().st_mode & 0o777 == 0o666 & ~mask


def test_format_follows_the_output_suffix(report_db, tmp_path):
    r = CliRunner().invoke(cli, ["report", "--la", "darlington", "--db", str(report_db), "-o", str(tmp_path / "d.md")])
    assert r.exit_code == 0 and "(md)" in r.output
    assert (tmp_path / "d.md").read_text(encoding="utf-8").startswith("# ")
    r = CliRunner().invoke(cli, ["report", "--la", "841", "--format", "xlsx", "--db", str(report_db),
                                 "-o", str(tmp_path / "d.out")])
    assert r.exit_code == 0
    assert zipfile.is_zipfile(tmp_path / "d.out")


def test_local_figures_are_shown_beside_reported_values_and_labelled_provisional(report_db, tmp_path):
    local = ROOT / "examples" / "darlington.csv"
    out = tmp_path / "local.html"
    r = CliRunner().invoke(cli, ["report", "--la", "841", "--local", str(local), "--db", str(report_db),
                                 "-o", str(out)])
    assert r.exit_code == 0, r.output
    page = PackHTML(out.read_text(encoding="utf-8"))
    tables = [t for t in page.tables if (t.id or "").startswith("local-table")]
    assert [t.caption for t in tables] == [
        "Provisional: Darlington's own figures for 1 April 2016 to 31 July 2016, aligned to DfE definitions, beside "
        "its reported values",
        "Provisional: Darlington's own figures for 1 April 2015 to 31 March 2016, aligned to DfE definitions, beside "
        "its reported values"]
    rows = rows_by_header(tables[0])
    assert [r["Measure"] for r in rows[:3]] == ["Social workers in post (FTE)", "Agency worker rate (FTE)",
                                                "Vacancy rate (FTE)"]  # key measures first
    vacancy = next(r for r in rows if r["Measure"] == "Vacancy rate (FTE)")
    # 25.91 vacancies / (25.91 + 68.39 in post) on DfE's formula, beside the council's own 26.73% by headcount
    # the council's own figure keeps the precision it gave (26.73 stays 26.73)
    assert (vacancy["Aligned to DfE definition"], vacancy["Council's reported figure"]) == ("27.5%", "26.73%")
    assert vacancy["Comparable with DfE"] == "no"
    assert vacancy["Darlington DfE 2016"] == ""  # the fixture has no 2016: nothing is set against another year
    # a caveat shared by several figures is stated once under the table, numbered, with the rows it applies to
    note = re.search(r"Note (\d+): snapshot at 31 July 2016, not 30 September[^(]*\(applies to \d+ figures: (.*?)\)\.",
                     page.ids["local"])
    assert note and f"note {note[1]}" in vacancy["Caveats"] and "Vacancy rate (FTE)" in note[2]
    assert "PROVISIONAL" in page.ids["local-h"]
    assert "Every figure for 1 April 2016 to 31 July 2016: council's note: Report paragraphs 7" in page.ids["local"]
    defs = [d["Measure id"] for d in rows_by_header(page.table("definitions-table"))]
    assert defs[:len(KEY)] == KEY and "stability_index_rate" in defs

    xl = tmp_path / "local.xlsx"
    r = CliRunner().invoke(cli, ["report", "--la", "841", "--local", str(local), "--db", str(report_db),
                                 "-o", str(xl)])
    ws = openpyxl.load_workbook(xl)["Local 2016-07-31 provisional"]
    assert ws["A1"].value.startswith("Provisional:")
    headers = [c.value for c in ws[2]]
    vac = next(r for r in ws.iter_rows(min_row=3, values_only=True) if r[0] == "Vacancy rate (FTE)")
    assert vac[headers.index("Aligned to DfE definition")] == 27.5


def test_local_figures_meet_dfe_figures_of_the_same_year(real_db, tmp_path):
    out = tmp_path / "local.md"
    r = CliRunner().invoke(cli, ["report", "--la", "841", "--local", str(ROOT / "examples" / "darlington.csv"),
                                 "--db", str(real_db), "-o", str(out)])
    assert r.exit_code == 0, r.output
    line = next(ln for ln in out.read_text(encoding="utf-8").splitlines()
                if ln.startswith("| Vacancy rate (FTE) | 27.5% |"))
    assert f"| {value(real_db, 2016, '841', 'vacancy_rate_fte')[0]}% | {value(real_db, 2016, 'E92000001', 'vacancy_rate_fte')[0]}% |" in line


def test_a_group_file_with_several_groups_needs_a_group_id(report_db, tmp_path):
    many = tmp_path / "groups.yml"
    many.write_text("groups:\n  - {id: tees, name: Tees, members: [841, 806, 807, 808, 805]}\n"
                    "  - {id: tyne, name: Tyne, members: [390, 391, 392]}\n")
    out = tmp_path / "g.md"
    run = CliRunner().invoke
    r = run(cli, ["report", "--group", str(many), "--db", str(report_db), "-o", str(out)])
    assert r.exit_code == 1 and "has 2 groups (tees, tyne); choose one with --group-id" in r.output
    r = run(cli, ["report", "--group", str(many), "--group-id", "wear", "--db", str(report_db), "-o", str(out)])
    assert r.exit_code == 1 and "no group 'wear'" in r.output
    r = run(cli, ["report", "--group", str(many), "--group-id", "tyne", "--db", str(report_db), "-o", str(out)])
    assert r.exit_code == 0, r.output
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Children's social work workforce: Tyne\n") and "| Darlington |" not in text


def test_local_goes_with_a_council_only(report_db, tmp_path):
    r = CliRunner().invoke(cli, ["report", "--group", str(FX / "tees_tyne.yml"), "--local",
                                 str(ROOT / "examples" / "darlington.csv"), "--db", str(report_db),
                                 "-o", str(tmp_path / "x.html")])
    assert r.exit_code == 1 and "--local goes with --la" in r.output


# ---------------------------------------------------------------------------------------------------------------
# Real DfE files


def test_real_darlington_2025_pack(real_db, tmp_path):
    out = tmp_path / "darlington.html"
    r = CliRunner().invoke(cli, ["report", "--la", "841", "--year", "2025", "--db", str(real_db), "-o", str(out)])
    assert r.exit_code == 0, r.output
    rows = rows_by_header(PackHTML(out.read_text(encoding="utf-8")).table("headline-table"))
    turnover = next(r for r in rows if r["Measure"] == "Turnover rate (FTE)" and r["Year"] == "2025")
    assert turnover["Darlington"] == "15.4%" == f"{value(real_db, 2025, '841', 'turnover_rate_fte')[0]}%"
    assert turnover["England"] == "11.8%"
    # the chart's text alternative and tooltips at the table's decimals, year by year: DfE published 2015's rate
    # as a whole number (SFR07/2016: 19), later ones to one decimal, kept when it is 0 (2021: 16.0)
    page = out.read_text(encoding="utf-8")
    trend = {r["Year"]: r["Darlington"] for r in rows_by_header(PackHTML(page).table("trend-turnover_rate_fte"))}
    assert (trend["2015"], trend["2021"], trend["2024"]) == ("19%", "16.0%", "11.5%")
    assert [value(real_db, y, "841", "turnover_rate_fte")[0] for y in (2015, 2021, 2024)] == [19.0, 16.0, 11.5]
    desc = re.search(r'<desc id="chart-turnover_rate_fte-d">([^<]*)</desc>', page).group(1)
    assert "Darlington: 19% in 2015, 15.4% in 2025. Highest 33.7% in 2016." in desc
    assert all(f"<title>Darlington, {y}: {v}</title>" in page for y, v in trend.items())
    assert "<title>England, 2015: 16%</title>" in page and "<title>England, 2024: 13.9%</title>" in page


def test_real_london_borough_pack_shows_inner_or_outer_london_and_london(real_db, tmp_path):
    out = tmp_path / "kingston.html"
    r = CliRunner().invoke(cli, ["report", "--la", "Kingston upon Thames", "--year", "2025", "--db", str(real_db),
                                 "-o", str(out)])
    assert r.exit_code == 0, r.output
    rows = rows_by_header(PackHTML(out.read_text(encoding="utf-8")).table("headline-table"))
    agency = next(r for r in rows if r["Measure"] == "Agency worker rate (FTE)" and r["Year"] == "2025")
    assert agency["Outer London"] == f"{value(real_db, 2025, 'E13000002', 'agency_rate_fte')[0]}%"
    assert agency["London"] == f"{value(real_db, 2025, 'E12000007', 'agency_rate_fte')[0]}%"
    assert agency["Outer London"] != agency["London"]
    # a council outside London has no London column
    out2 = tmp_path / "darlington.html"
    CliRunner().invoke(cli, ["report", "--la", "841", "--db", str(real_db), "-o", str(out2)])
    assert "London" not in rows_by_header(PackHTML(out2.read_text(encoding="utf-8")).table("headline-table"))[0]


def test_real_north_east_partnership_pack(real_db, tmp_path):
    out = tmp_path / "ne.xlsx"
    r = CliRunner().invoke(cli, ["report", "--group", str(ROOT / "examples" / "north_east.yml"), "--year", "2025",
                                 "--db", str(real_db), "-o", str(out)])
    assert r.exit_code == 0, r.output
    ws = openpyxl.load_workbook(out)["Members compared"]
    codes = [r[1] for r in ws.iter_rows(min_row=3, values_only=True) if r[1]]
    assert {"841", "840", "390", "805", "806", "391", "392", "929", "807", "393", "808", "394"} <= set(codes)
    headers = [c.value for c in ws[2]]
    darlington = next(r for r in ws.iter_rows(min_row=3, values_only=True) if r[1] == "841")
    assert darlington[headers.index("Turnover rate (FTE)")] == value(real_db, 2025, "841", "turnover_rate_fte")[0]


def test_docs_excerpts_match_a_fresh_run(real_db, tmp_path):
    """docs/report.md shows real output: every excerpt in it must be what the commands shown there produce."""
    doc = (ROOT / "docs" / "report.md").read_text(encoding="utf-8")
    fresh = {}
    for name, args in (("darlington", ["--la", "841"]),
                       ("darlington-local", ["--la", "841", "--local", str(ROOT / "examples" / "darlington.csv")]),
                       ("north-east", ["--group", str(ROOT / "examples" / "north_east.yml")])):
        out = tmp_path / f"{name}.md"
        r = CliRunner().invoke(cli, ["report", *args, "--year", "2025", "--db", str(real_db), "-o", str(out)])
        assert r.exit_code == 0, r.output
        fresh[name] = out.read_text(encoding="utf-8")
    blocks = re.findall(r"<!-- excerpt: ([\w-]+) .*?-->\n\n(.*?)\n<!-- end excerpt -->", doc, flags=re.S)
    assert len(blocks) == 7
    for name, text in blocks:
        source = fresh[next(k for k in ("darlington-local", "north-east", "darlington") if name.startswith(k))]
        assert text.strip() in source, f"docs/report.md excerpt {name} differs from a fresh run"
    for command in ("csww report --la 841 --year 2025 -o darlington-2025.html",
                    "csww report --la 841 --year 2025 --local examples/darlington.csv -o darlington-local.html",
                    "csww report --group examples/north_east.yml --year 2025 -o north-east-2025.html"):
        assert command in doc


def test_partnership_pack_shows_each_member_return_once_and_no_private_return_unless_asked(mini_db, tmp_path):
    """A member's return loaded both as its own file and as its 'csww align --export' is one return; the builder's
    private returns stay out of the pack sent to partners unless --include-private (docs/align.md)."""
    here = ROOT / "tests" / "fixtures" / "partnership"
    raw, group = here / "redcar_2024.csv", here / "tees_valley.yml"
    shared = export.write(tmp_path / "redcar.json", align(raw), "shared", "Tees Valley")
    both, private = tmp_path / "both.db", tmp_path / "private.db"
    for db, files in ((both, [raw, shared]), (private, [raw])):
        shutil.copy(mini_db, db)
        with sqlite3.connect(db) as conn:
            load_files(conn, files)

    def redcar(db, **kw):
        pack = report.make(db, group=group, year=2024, **kw)
        section = next(s for s in pack.sections if s.id == "member-returns")
        rows = [[c.text for c in r] for t in section.tables for r in t.rows if r[1].text == "Redcar and Cleveland"]
        return section, rows

    for kw in ({}, {"include_private": True}):
        _, rows = redcar(both, **kw)
        turnover = [r for r in rows if r[0] == "Turnover rate (FTE)"]
        assert turnover == [["Turnover rate (FTE)", "Redcar and Cleveland", "1 October 2023 to 30 September 2024",
                             "21.6%", "yes", "2024", "24.4%", "21.6%", "shared with the partnership"]]
        assert len(rows) == len({r[0] for r in rows})  # one row per measure: the export, not the file twice
    section, rows = redcar(private)
    assert rows == [] and section.intro == [
        "1 private return of this build is left out: a partnership's pack goes to its partners. Share it ('csww align "
        "FILE --export RETURN.json --partnership NAME') or give --include-private to show it."]
    _, rows = redcar(private, include_private=True)
    assert rows and {r[-1] for r in rows} == {"this build's own (private)"}
    r = CliRunner().invoke(cli, ["report", "--la", "841", "--include-private", "--db", str(private),
                                 "-o", str(tmp_path / "x.md")])
    assert r.exit_code != 0 and "--include-private goes with --group" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "x.md").exists()
