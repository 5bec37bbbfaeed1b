"""Packs in print and in plain words (issue #13 items 7 and 8): round axis ticks, labels no line crosses,
no stranded heading and no page more than a third blank in the printed PDF, formulas set as formulas,
caveats once with footnote marks, an em dash where DfE has no figure, the quartile-movement sentence;
and Darlington's July 2016 report reproduced as a pack from the real DfE files."""

from __future__ import annotations

import io
import math
import re
import shutil
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import pytest
from conftest import ROOT, one
from report_html import PackHTML
from test_report import FX, KEY, rows_by_header

from benchmark import charts, measures, report
from benchmark.build import build
from benchmark.report import narrative, packs
from benchmark.report.render import html

EXAMPLES = ROOT / "examples"
SVG = "{http://www.w3.org/2000/svg}"
HAS_CHROMIUM = Path("/usr/bin/chromium").exists() or shutil.which("chromium") is not None


@pytest.fixture(scope="module")
def fx_db(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("print")
    build([FX / "indicators_north_east.csv"], out)
    return out / "csww.db"


@pytest.fixture(scope="module")
def council(fx_db):
    return report.make(fx_db, la="841", year=2025, local=EXAMPLES / "darlington.csv")


@pytest.fixture(scope="module")
def group(fx_db):
    return report.make(fx_db, group=FX / "tees_tyne.yml", la="841")


# ---------------------------------------------------------------------------------------------------------------
# Axis ticks at round numbers


def is_nice(step: float) -> bool:
    """A step of 1, 2, 2.5 or 5 times a power of ten."""
    k = math.floor(math.log10(step))
    return any(math.isclose(step, m * 10 ** k, rel_tol=1e-9) for m in charts.NICE_STEPS)


@pytest.mark.parametrize("top, ticks", [
    (28.8, [0, 10, 20, 30]),            # Darlington's agency rate 2025: not 0/8/15/23/30 as before
    (30.0, [0, 10, 20, 30]),
    (9.1, [0, 2, 4, 6, 8, 10]),
    (17.2, [0, 5, 10, 15, 20]),
    (112.5, [0, 25, 50, 75, 100, 125]),
    (0.37, [0, 0.1, 0.2, 0.3, 0.4]),
    (1.0, [0, 0.2, 0.4, 0.6, 0.8, 1.0]),
])
def test_axis_ticks_are_round_numbers(top, ticks):
    assert charts.nice_ticks(top) == pytest.approx(ticks)


def test_nice_ticks_hold_for_any_top():
    for i in range(1, 3000):
        v = i * 0.137
        t = charts.nice_ticks(v)
        step = t[1] - t[0]
        assert is_nice(step) and t[0] == 0 and t[-1] >= v > t[-2] and len(t) <= 6, (v, t)


def tick_labels(svg: str) -> list[float]:
    """The y-axis tick labels of a line chart (right-aligned at the axis) or the x-axis ones of a bar chart."""
    root = ET.fromstring(svg)
    texts = [t for t in root.iter(f"{SVG}text")]
    left = [t for t in texts if t.get("text-anchor") == "end" and t.get("x") == str(charts.LEFT - 8)]
    if not left:  # a bar chart: the labels under the axis, centred on each tick
        left = [t for t in texts if t.get("text-anchor") == "middle"]
    return [float(re.sub(r"[^\d.]", "", t.text)) for t in left]


def test_every_chart_in_the_packs_ticks_at_round_numbers(council, group):
    figures = [f for p in (council, group) for s in p.sections for f in s.figures]
    assert len(figures) >= 12
    for f in figures:
        ticks = tick_labels(f.svg)
        steps = {round(b - a, 9) for a, b in zip(ticks, ticks[1:])}
        assert len(ticks) >= 2 and ticks[0] == 0 and len(steps) == 1 and is_nice(steps.pop()), (f.id, ticks)


# ---------------------------------------------------------------------------------------------------------------
# Labels never crossed by lines


def crossings(svg: str) -> list[str]:
    """Labels a vertical reference line crosses: the line's x inside the label's estimated extent (12 px Arial,
    ``charts.CHAR_W`` a character) and its y range over the label's row."""
    root = ET.fromstring(svg)
    lines = [(float(ln.get("x1")), float(ln.get("y1")), float(ln.get("y2"))) for ln in root.iter(f"{SVG}line")
             if ln.get("x1") == ln.get("x2") and ln.get("stroke-dasharray") and ln.get("stroke") != "#d0d0d0"]
    out = []
    for t in root.iter(f"{SVG}text"):
        if t.get("class") != "bar-label":
            continue
        x, y = float(t.get("x")), float(t.get("y"))
        left, right = charts.text_span(x, t.text, t.get("text-anchor") or "start")
        out += [f"{t.text} at {left:.0f}-{right:.0f} crossed at x={lx:.0f}" for lx, y1, y2 in lines
                if left - 1 <= lx <= right + 1 and y1 <= y - 4 <= y2]
    return out


def test_reference_lines_never_cross_a_bar_label(group):
    svgs = [f.svg for s in group.sections for f in s.figures]
    assert svgs and all('class="bar-label"' in s for s in svgs)
    assert [c for s in svgs for c in crossings(s)] == []


def test_a_label_on_a_reference_line_is_moved_clear_and_the_check_can_fail():
    bars = [("Darlington", 10.0, "10.0%"), ("Hartlepool", 9.6, "9.6%"), ("Stockton-on-Tees", 2.0, "2.0%")]
    refs = [("Partnership", 10.3), ("England", 9.9)]  # both run through where "10.0%" and "9.6%" would sit
    svg = charts.bar_chart("c", "t", "alt", bars, refs, 1, "%")
    assert crossings(svg) == []
    naive = re.sub(r'<text x="[\d.]+" (y="[\d.]+" font-size="12" text-anchor="start" fill="#222" class="bar-label">'
                   r'10\.0%)', lambda m: f'<text x="{190 + 374 * 10 / 15 + 4:.1f}" {m[1]}', svg)
    assert naive != svg and crossings(naive)  # the old place, just past the bar's end: crossed
    # near the top of the axis a label that would run off the chart is set on the bar's end, on white
    svg = charts.bar_chart("c", "t", "alt", [("A", 14.9, "14.9% (reported)"), ("B", 1.0, "1.0%")],
                           [("England", 15.0)], 1, "%")
    assert crossings(svg) == [] and 'text-anchor="end" fill="#222" class="bar-label">14.9% (reported)' in svg


# ---------------------------------------------------------------------------------------------------------------
# The printed pack: no heading without its content, no page more than a third blank but the last


def text_lines(pdf: bytes) -> list[list[tuple[float, str]]]:
    """For each page, (y from the top of the page in points, text) of every piece of text pypdf finds."""
    pypdf = pytest.importorskip("pypdf", reason="pypdf (a test dependency) is not installed")
    pages = []
    for page in pypdf.PdfReader(io.BytesIO(pdf)).pages:
        height = float(page.mediabox.height)
        found: list[tuple[float, str]] = []

        def visit(text, cm, tm, font, size, found=found, height=height):
            if text.strip():
                y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
                found.append((height - y, text.strip()))
        page.extract_text(visitor_text=visit)
        pages.append(found)
    return pages


A4_HEIGHT, TOP_MARGIN, BOTTOM_MARGIN = 842.0, 14 / 25.4 * 72, 16 / 25.4 * 72  # the pack's @page margins


def blank_below(page: list[tuple[float, str]]) -> float:
    """The share of the page's text area left blank below its last line (the footer, in the margin, excluded)."""
    body = [y for y, _ in page if y < A4_HEIGHT - BOTTOM_MARGIN]
    area = A4_HEIGHT - TOP_MARGIN - BOTTOM_MARGIN
    return (A4_HEIGHT - BOTTOM_MARGIN - max(body)) / area if body else 1.0


@pytest.mark.skipif(not HAS_CHROMIUM, reason="Debian chromium is not installed: the PDF pack needs it")
def test_printed_pack_has_no_stranded_heading_and_no_page_a_third_blank(council):
    from benchmark.report import pdf_out

    pdf = pdf_out.pdf_bytes(html(council), council.title)
    pages = text_lines(pdf)
    assert len(pages) >= 4
    blank = [round(blank_below(p), 2) for p in pages]
    assert all(b <= 1 / 3 for b in blank[:-1]), blank
    headings = ["Summary"] + [s.heading for s in council.sections] + [f.title for s in council.sections
                                                                      for f in s.figures]
    body = [[(y, t) for y, t in p if y < A4_HEIGHT - BOTTOM_MARGIN] for p in pages]
    stranded = []
    for h in headings:
        where = [(n, y) for n, p in enumerate(body) for y, t in p if t.startswith(h[:30])]
        assert where, f"heading {h!r} not found in the PDF"
        n, y = where[-1] if h == "Summary" else where[0]  # "Summary" is in the contents list too
        below = {round(yy) for yy, _ in body[n] if yy > y + 2}
        if len(below) < 3:  # at least three lines of its content under it on its page
            stranded.append((h, n + 1))
    assert stranded == []
    # every table is kept with its caption: the caption and the table's first row on one page
    apart = []
    for t in council.tables():
        first = next((c.text for c in t.rows[0] if c.text), None) if t.rows else None
        cap = [(n, y) for n, p in enumerate(body) for y, tx in p
               if len(tx) >= 35 and t.caption.startswith(tx)]  # a caption line, not a wrapped row label
        if not first or not cap:
            continue
        n, y = cap[0]
        if not any(yy > y and tx.startswith(first.split(" (")[0][:12]) for yy, tx in body[n]):
            apart.append((t.caption, n + 1, first))
    assert apart == []


def test_blank_space_measure_can_fail():
    half = [(TOP_MARGIN + 10 * i, "line") for i in range(30)]  # text over the top of the page only
    assert blank_below(half) > 1 / 3 > blank_below(half + [(A4_HEIGHT - BOTTOM_MARGIN - 5, "end")])


# ---------------------------------------------------------------------------------------------------------------
# Plain words


def test_every_rate_has_its_formula_in_the_catalogue():
    rates = [m for m in measures.catalogue().values() if m.is_rate]
    assert len(rates) >= 25 and all(m.formula and m.formula["over"] and m.formula["under"] for m in rates)
    assert measures.get("turnover_rate_fte").formula_line == "Leavers (FTE) ÷ Social workers in post (FTE) × 100"
    assert measures.get("caseload_fte").formula_line == "Cases held ÷ Case-holding social workers (FTE)"
    assert measures.get("absence_rate_fte").formula_line == (
        "Working days lost to sickness (FTE) ÷ (Social workers in post (FTE) × working days in the year) × 100")


def test_a_denominator_that_is_a_sum_is_bracketed_in_every_rate_formula():
    # the new-user review: "Agency workers (FTE) ÷ Agency workers (FTE) + Social workers in post (FTE) × 100" reads
    # as A ÷ A + S; DfE computes A ÷ (A + S)
    assert measures.get("agency_rate_fte").formula_line == (
        "Agency workers (FTE) ÷ (Agency workers (FTE) + Social workers in post (FTE)) × 100")
    assert measures.get("agency_rate_headcount").formula_line == (
        "Agency workers (headcount) ÷ (Agency workers (headcount) + Social workers in post (headcount)) × 100")
    assert measures.bracketed("Starters - experienced (2 years' experience or more)") == (
        "Starters - experienced (2 years' experience or more)")  # a label's own dash and brackets: no brackets
    summed = 0
    for m in (m for m in measures.catalogue().values() if m.is_rate):
        line, under = m.formula_line, m.formula["under"]
        assert not under.startswith("("), (m.id, "the catalogue writes the term; formula_line brackets it")
        if " + " in under or " × " in under:  # a sum (or a product) below the line, written out
            summed += 1
            assert f" ÷ ({under})" in line, (m.id, line)
        else:
            assert f" ÷ {under}" in line and f"({under})" not in line, (m.id, line)
    assert summed >= 6


def test_definitions_set_the_formula_as_a_fraction_in_html_and_a_line_elsewhere(council, tmp_path):
    page = html(council)
    fracs = re.findall(r'<span class="formula" role="math" aria-label="([^"]+)"><span class="frac"><span class="over">'
                       r'([^<]+)</span><span class="under">([^<]+)</span></span><span class="times"> × 100</span>', page)
    assert len(fracs) >= 5 and fracs[0][0] == "Leavers (FTE) ÷ Social workers in post (FTE) × 100"
    assert ("Vacancies (FTE) ÷ (Vacancies (FTE) + Social workers in post (FTE)) × 100",
            "Vacancies (FTE)", "Vacancies (FTE) + Social workers in post (FTE)") in fracs
    md = report.render(council, "md").decode()
    assert "| Agency workers (FTE) ÷ (Agency workers (FTE) + Social workers in post (FTE)) × 100 |" in md
    assert "sn_20" not in md and "DfE's May 2025 statistical neighbours" in md


def test_each_caveat_is_stated_once_with_the_figures_it_applies_to(council):
    local = next(s for s in council.sections if s.id == "local")
    t = local.tables[0]
    notes = [n for n in t.notes if n.startswith("Note ")]
    texts = [re.sub(r"^Note \d+: | \(applies to .*$", "", n) for n in notes]
    assert notes and len(texts) == len(set(texts))
    col = t.headers.index("Caveats")
    for n in notes:
        k, applies = re.match(r"Note (\d+): .* \(applies to \d+ figures?: (.*)\)\.$", n).groups()
        marked = [r[0].text for r in t.rows if f"note {k}" in (r[col].text or "").split("; ")]
        assert ", ".join(marked) == applies
    # no caveat is written out in a row: only its mark
    assert all(re.fullmatch(r"(note \d+(; )?)*", r[col].text or "") for r in t.rows)


def test_an_em_dash_with_the_symbol_explained_where_dfe_has_no_figure(group):
    main = next(t for t in group.tables() if t.id == "members-table")
    cells = [c for r in main.rows for c in r if c.value == "c"]
    assert cells and all(c.text == "\u2014 (c)" for c in cells)  # Middlesbrough's suppressed absence rate
    assert any("\u2014 (c) means DfE published no figure (its symbol c: suppressed for confidentiality)" in n
               for n in main.notes)


def test_quartile_movement_has_a_sentence_of_its_own(fx_db):
    import sqlite3

    conn = sqlite3.connect(fx_db)
    conn.row_factory = sqlite3.Row
    rec = report.gather.records(conn, ["841"])
    conn.close()
    by = {(r.measure_id, int(r.time_period)): r.quartile for r in rec.itertuples()}
    moved = [m for m in KEY if by.get((m, 2024)) in tuple("ABCD") and by.get((m, 2025)) in tuple("ABCD")
             and by[(m, 2024)] != by[(m, 2025)]]
    sentence = narrative.quartile_summary(rec, 2025, KEY)
    story = packs.council_story(rec, 2025, KEY, "Darlington")
    assert sentence in story
    if not moved:
        assert sentence == "No key measure changed quartile band nationally since 2024."
        return
    for mid in moved:
        a, b = by[(mid, 2024)], by[(mid, 2025)]
        word = "more favourable" if b < a else "less favourable"
        assert f"{narrative.short_label(mid).lower()} moved from {a} to {b} ({word})" in sentence
    # one rule, said once, beside the others
    assert narrative.QUARTILE_RULE in narrative.RULES
    # the check can fail: the sentence follows the records it is given
    swapped = rec.copy()
    swapped.loc[swapped["time_period"] == 2024, "quartile"] = swapped.loc[swapped["time_period"] == 2024,
                                                                          "quartile"].map(
        {"A": "D", "B": "C", "C": "B", "D": "A"})
    assert narrative.quartile_summary(swapped, 2025, KEY) != sentence


# ---------------------------------------------------------------------------------------------------------------
# Darlington's July 2016 report (../shared/seeds) reproduced as a pack


@pytest.fixture(scope="module")
def july_2016(real_db):
    return report.make(real_db, la="841", year=2015, local=EXAMPLES / "darlington.csv",
                       measure_ids=[*KEY, "cin_per_sw_fte"], as_at=date(2016, 7, 31))


def _rows(t) -> dict[str, dict[str, str]]:
    return {r[0].text: dict(zip(t.headers, (c.text for c in r))) for r in t.rows}


def test_darlington_july_2016_team_table(july_2016):
    teams = next(s for s in july_2016.sections if s.id == "teams").tables[0]
    rows = _rows(teams)
    front = rows["TOTAL FRONT LINE"]
    # the report's table (paragraph 22): front line 30 in post, 28.0 FTE, vacancies 19.4, agency 23 / 22.4
    assert (front["In post (headcount)"], front["In post FTE"], front["Vacancies FTE"],
            front["Agency (headcount)"], front["Agency FTE"]) == ("30", "28.0", "19.4", "23", "22.4")
    assert rows["COUNCIL RETURN"]["In post (headcount)"] == "74"
    assert (rows["MASH/CAP"]["Caseload 18 or fewer"], rows["Team A"]["Caseload 25 or more"]) == ("11", "1")


def test_darlington_july_2016_bands_and_26_73_as_given(july_2016):
    local = next(s for s in july_2016.sections if s.id == "local")
    t = next(t for t in local.tables if "31 July 2016" in t.caption)
    assert "Darlington DfE 2015" in t.headers  # read on 31 July 2016, the latest census was 2015's
    rows = _rows(t)
    # 26.73% as the report gives it, beside DfE's definition (FTE, managers in): 25.91 / (25.91 + 68.39)
    assert (rows["Vacancy rate (FTE)"]["Council's reported figure"],
            rows["Vacancy rate (FTE)"]["Aligned to DfE definition"]) == ("26.73%", "27.5%")
    def shown(*ids):
        labels = [measures.get(m).label for m in ids]
        return [(rows[k]["Aligned to DfE definition"], rows[k]["Council's reported figure"]) for k in labels]

    # caseload bands (paragraph 24): 41, 9 and 4 of the 54 case-carrying social workers
    assert shown("caseload_18_or_less_headcount", "caseload_19_to_24_headcount", "caseload_25_plus_headcount") == [
        ("41", ""), ("9", ""), ("4", "")]
    assert shown("caseload_18_or_less_rate", "caseload_19_to_24_rate", "caseload_25_plus_rate") == [
        ("75.9%", "75.93%"), ("16.7%", "16.67%"), ("7.4%", "7.41%")]
    # post-qualifying experience bands (paragraph 30): 5, 18, 26 and 19 of 68
    assert shown("pqe_under_2_years_headcount", "pqe_2_to_5_years_headcount", "pqe_5_to_10_years_headcount",
                 "pqe_10_plus_years_headcount") == [("5", ""), ("18", ""), ("26", ""), ("19", "")]
    assert shown("pqe_under_2_years_rate", "pqe_2_to_5_years_rate", "pqe_5_to_10_years_rate",
                 "pqe_10_plus_years_rate") == [("7.4%", "7.35%"), ("26.5%", "26.47%"), ("38.2%", "38.24%"),
                                               ("27.9%", "27.94%")]


def test_darlington_2015_charts_say_dfe_s_whole_numbers_as_their_tables_do(july_2016, real_db):
    """The review: a chart's text alternative gave the SFR's whole-number 2015 rates to one decimal ("19.0% in
    2015"; DfE published 19%). The alt text, the points' tooltips and the series chart use the decimals of the
    table beside them, per year: SFR07/2016 gives Darlington's 2015 FTE turnover 19 and England's 16."""
    assert [one(real_db, "SELECT value FROM observations WHERE area_code = ? AND time_period = 2015 AND "
                         "measure_id = 'turnover_rate_fte'", a)[0] for a in ("841", "E92000001")] == [19.0, 16.0]
    figs = {f.id: f for s in july_2016.sections for f in s.figures}
    turnover = figs["chart-turnover_rate_fte"]
    assert [c.text for c in turnover.table.rows[0]][:5] == ["2015", "19%", "13.0%", "13%", "16%"]
    assert turnover.alt.startswith("Line chart of Turnover rate (FTE) for Darlington in 2015, with")
    assert ("Darlington: 19% in 2015. In 2015: Neighbour median 13.0%, North East 13%, England 16%."
            in turnover.alt)  # the neighbour median is csww-benchmark's own, at the catalogue's one decimal
    assert "<title>Darlington, 2015: 19%</title>" in turnover.svg and "<title>England, 2015: 16%</title>" in turnover.svg
    assert "19.0%" not in turnover.alt + turnover.svg and "16.0%" not in turnover.alt + turnover.svg
    # the council's own series on DfE's: DfE's 2015 agency rate 12 (SFR07/2016) in its table, tooltip and alt text
    series = figs["local-series-agency_rate_fte"]
    assert [c.text for c in series.table.rows[0]] == ["30 September 2015", "12%", ""]
    assert "Latest Darlington (DfE): 12% at 30 September 2015. Latest Own returns (provisional): 26.9% at 31 July 2016." \
        in series.alt and "<title>Darlington (DfE), Sep 2015: 12%</title>" in series.svg
    # and the provisional table's DfE 2015 columns
    local = next(s for s in july_2016.sections if s.id == "local")
    rows = _rows(next(t for t in local.tables if "31 July 2016" in t.caption))
    assert (rows["Agency worker rate (FTE)"]["Darlington DfE 2015"],
            rows["Agency worker rate (FTE)"]["England DfE 2015"]) == ("12%", "16%")


def test_darlington_july_2016_north_east_ranks_of_2015(july_2016, real_db):
    head = next(s for s in july_2016.sections if s.id == "headline").tables[0]
    assert july_2016.facts["years"][-1] == 2015 and head.headers[2] == "Darlington"
    rank, of = "Rank in North East (1 = lowest)", "Councils ranked in North East"
    rows = {(r["Measure"], r["Year"]): r for r in
            [dict(zip(head.headers, [c.text for c in row])) for row in _fill(head)]}
    fte = rows["Social workers in post (FTE)", "2015"]
    cin = rows[measures.get("cin_per_sw_fte").label, "2015"]
    db = one(real_db, "SELECT region_rank, region_rank_of FROM comparisons WHERE area_code = '841' AND "
             "time_period = 2015 AND measure_id = 'cin_per_sw_fte'")
    # paragraph 10: "the smallest number of social workers in the North-East region" and "the fourth lowest
    # number of CiN per children's social worker in the region" (2015)
    assert (fte[rank], fte[of]) == ("1", "12")
    assert (cin[rank], cin[of]) == ("4", "12") == (str(db[0]), str(db[1]))


def _fill(t):
    """Rows of a grouped table with the group's first cell repeated (as a reader sees the rowspan)."""
    out, first = [], None
    for i, r in enumerate(t.rows):
        if t.group_rows > 1 and i % t.group_rows == 0:
            first = r[0]
        out.append([first if t.group_rows > 1 else r[0], *r[1:]])
    return out


def test_darlington_july_2016_pack_in_word(july_2016, tmp_path):
    docx = pytest.importorskip("docx")
    out = tmp_path / "darlington-july-2016.docx"
    report.write(july_2016, out)
    doc = docx.Document(out)
    cells = {c.text for t in doc.tables for row in t.rows for c in row.cells}
    assert {"26.73%", "TOTAL FRONT LINE", "19.4", "22.4", "75.93%", "38.24%"} <= cells
    assert "Darlington DfE 2015" in cells and not [c for c in cells if re.fullmatch(r".* DfE 20(1[6-9]|2\d)", c)]


def test_darlington_july_2016_html_shows_no_year_after_2015(july_2016):
    page = PackHTML(html(july_2016))
    years = {r["Year"] for r in rows_by_header(page.table("headline-table"))}
    assert max(years) == "2015"
    assert not re.search(r"\b20(1[6-9]|2\d)\b", " ".join(july_2016.summary))
