"""Issue 13 items 2-6: right years, one story, DfE's ``low``, region rank, --measure, the council's precision.

Real values come from the real build (``real_db``: ../shared/dfe, skipped when absent); the hand-made
fixtures keep ranking and --measure covered without it.
"""

from __future__ import annotations

import io
import re
import sqlite3

import numpy as np
import openpyxl
import pandas as pd
from click.testing import CliRunner
from conftest import ROOT, one

from benchmark import compare, formatting, measures, report
from benchmark.cli import cli
from benchmark.report import gather, narrative, packs
from benchmark.report.narrative import short_label

NE = ROOT / "examples" / "north_east.yml"
KEY = [m.id for m in measures.key_measures()]
YEAR_TOKEN = re.compile(r"\b(20[12]\d)\b")


def num(text: str) -> float:
    return float(text.replace(",", "").replace("%", "").replace("\u2212", "-"))


# ---------------------------------------------------------------------------------------------------------------
# `low` ranked as the lowest value, tied (hand-made: no ../shared needed)


def test_low_is_ranked_the_lowest_value_tied():
    df = pd.DataFrame({"time_period": 2025, "measure_id": "agency_rate_fte", "polarity": "lower",
                       "value": [np.nan, 1.4, 2.9, np.nan, np.nan, 8.0, 25.6, 5.8],
                       "symbol": ["low", None, None, "low", "x", None, None, None]})
    compare.rank_frame(df, ["time_period", "measure_id"])
    assert pd.isna(df["rank"].iloc[4])                          # 'x' (not published) has no rank
    assert [int(r) for r in df["rank"].dropna()] == [1, 3, 4, 1, 6, 7, 5]
    assert set(df["rank_of"].dropna()) == {7}                   # the two lows count; 'x' does not
    # floor(4 * (rank - 1) / 7): ranks 1, 1 -> A; 3, 4 -> B
    assert df["quartile"].tolist()[:4] == ["A", "B", "B", "A"] and pd.isna(df["quartile"].iloc[4])


def test_measure_option_chooses_the_measures(mini_db, tmp_path):
    out = tmp_path / "p.md"
    r = CliRunner().invoke(cli, ["report", "--la", "841", "--measure", "caseload_fte", "--measure", "agency_rate_fte",
                                 "--db", str(mini_db), "-o", str(out)])
    assert r.exit_code == 0, r.output
    pack = report.make(mini_db, la="841", measure_ids=["caseload_fte", "agency_rate_fte"])
    head = next(t for t in pack.tables() if t.id == "headline-table")
    assert list(dict.fromkeys(row[0].text for row in head.rows)) == ["Average caseload (per case-holding FTE)",
                                                                    "Agency worker rate (FTE)"]
    assert "Sickness absence rate" not in out.read_text(encoding="utf-8").split("## Definitions")[0]
    bad = CliRunner().invoke(cli, ["report", "--la", "841", "--measure", "no_such_measure", "--db", str(mini_db),
                                   "-o", str(tmp_path / "q.md")])
    assert bad.exit_code != 0 and "no_such_measure" in bad.output and "Traceback" not in bad.output
    assert not (tmp_path / "q.md").exists()


# ---------------------------------------------------------------------------------------------------------------
# Years right (real build)


def test_a_2016_pack_shows_no_year_after_2016(real_db):
    pack = report.make(real_db, la="841", year=2016)
    assert pack.facts["years"] == [2015, 2016] and pack.facts["headline_years"] == [2015, 2016]
    for section in pack.sections:
        if section.id in ("provenance", "definitions"):  # releases by their own years; definitions' history
            continue
        texts = section.intro + section.bullets + [f.svg + f.alt for f in section.figures]
        for t in section.tables + [f.table for f in section.figures]:
            texts += [t.caption, *t.headers, *t.notes] + [c.text for row in t.rows for c in row]
        years = {int(y) for text in texts for y in YEAR_TOKEN.findall(text.replace("April 2021 statistical", ""))}
        assert years and max(years) <= 2016, (section.id, sorted(years))
    assert not any(int(y) > 2016 for s in pack.summary for y in YEAR_TOKEN.findall(s))
    # Darlington 2015: the NE region ranks of the comparison engine, in the headline table
    head = next(t for t in pack.tables() if t.id == "headline-table")
    col = head.headers.index("Rank in North East (1 = lowest)")
    of = head.headers.index("Councils ranked in North East")
    row = next(r for r in head.rows if r[0].text == "Vacancy rate (FTE)" and r[1].value == 2015)
    rank, rank_of = one(real_db, "select region_rank, region_rank_of from comparisons where time_period = 2015 "
                                 "and area_code = '841' and measure_id = 'vacancy_rate_fte' and provisional = 0")
    assert (row[col].value, row[of].value) == (rank, rank_of) and rank_of == 12


def test_years_sets_the_trend_window(real_db, tmp_path):
    out = tmp_path / "w.md"
    r = CliRunner().invoke(cli, ["report", "--la", "841", "--year", "2020", "--years", "3", "--db", str(real_db),
                                 "-o", str(out)])
    assert r.exit_code == 0, r.output
    text = out.read_text(encoding="utf-8")
    assert "**Agency worker rate (FTE): Darlington, neighbour median, North East and England, 2018 to 2020**" in text
    trend = text.split("## Trends")[1].split("## Statistical neighbours")[0]
    assert {int(y) for y in YEAR_TOKEN.findall(trend)} == {2018, 2019, 2020}


# ---------------------------------------------------------------------------------------------------------------
# One story: every council, 2019-2025, every sentence's direction word against its numbers


LABELS = {short_label(m): m for m in KEY}
MOVE = re.compile(r"^(?P<label>.+?) (?P<verb>rose|fell) by (?P<amt>[\d,.]+)(?: [a-zA-Z ]+?)? since (?P<y0>\d{4}), "
                  r"from (?P<a>[\d,.]+%?) to (?P<b>[\d,.]+%?)(?: \((?P<judge>an improvement|a deterioration); "
                  r"(?P<better>lower|higher) is better\))?\.$")
QUART = re.compile(r"^(?P<label>.+?) (?P<v>[\d,.]+%?) is in the (?P<hl>highest|lowest) quartile nationally"
                   r"(?P<sn>.*); band (?P<band>[AD]), the (?:most|least) favourable 25% of councils")
GAP = re.compile(r"^(?P<label>.+?) (?P<v>[\d,.]+%?) is (?P<amt>[\d,.]+)(?: [a-zA-Z ]+?)? (?P<side>above|below) "
                 r"the neighbour median \((?P<m>[\d,.]+%?)\)")
SAME = re.compile(r"^(?P<label>.+?) (?P<v>[\d,.]+%?) is the same as the neighbour median")
TRAVEL = re.compile(r"^Direction of travel since (?P<y0>\d{4}) \(the same comparison as the change above\) — "
                    r"(?P<parts>.+)\.$")


def _agrees(word: str, change: float, previous: float, polarity: str) -> bool:
    small = abs(change) <= compare.LITTLE_CHANGE * abs(previous)
    if word == "little change":
        return small
    if small:
        return False
    if word in ("increasing", "decreasing"):
        return polarity == "neutral" and (change > 0) == (word == "increasing")
    return polarity != "neutral" and ((change < 0) == (polarity == "lower")) == (word == "improving")


def check_sentence(s: str, now: dict, year: int) -> str | None:
    """The problem with one summary sentence, or None when its words agree with its numbers."""
    if m := MOVE.match(s):
        mid = LABELS[m["label"]]
        pol, d = measures.get(mid).polarity, measures.get(mid).decimals
        a, b, amt = num(m["a"]), num(m["b"]), num(m["amt"])
        r = now[mid]
        if int(m["y0"]) != year - 1 or (m["verb"] == "rose") != (b > a) or round(abs(b - a), d) != amt:
            return "verb or amount"
        if b != round(r["value"], d) or round(r["change"], d) != round(b - a, d):
            return "numbers differ from the record"
        if pol != "neutral" and ((m["judge"] == "an improvement") != ((b < a) == (pol == "lower"))
                                 or m["better"] != pol):
            return "judgement"
        if r["direction"] not in ({"improving"} if m["judge"] == "an improvement" else {"worsening"}
                                  if m["judge"] else {"increasing", "decreasing"}):
            return f"direction {r['direction']!r} beside {m['judge'] or m['verb']}"
        return None
    if m := QUART.match(s):
        mid = LABELS[m["label"]]
        pol = measures.get(mid).polarity
        if now[mid]["quartile"] != m["band"] or (m["hl"] == "highest") != ((m["band"] == "D") == (pol == "lower")):
            return "quartile words"
        sn = m["sn"]
        return check_sentence(f"{m['label']} {m['v']} is {sn[2:]}", now, year) if sn else None
    if m := GAP.match(s):
        v, med, amt = num(m["v"]), num(m["m"]), num(m["amt"])
        d = measures.get(LABELS[m["label"]]).decimals
        if (m["side"] == "above") != (v > med) or round(abs(v - med), d) != amt:
            return "neighbour side or amount"
        return None
    if SAME.match(s):
        return None
    if m := TRAVEL.match(s):
        if int(m["y0"]) != year - 1:
            return "travel year"
        for part in m["parts"].split("; "):
            word, names = part.split(": ")
            for name in names.split(", "):
                mid = next(k for lab, k in LABELS.items() if lab.lower() == name)
                r = now[mid]
                if not _agrees(word, r["change"], r["value"] - r["change"], measures.get(mid).polarity):
                    return f"{word} for {mid} with change {r['change']}"
        return None
    return None  # sentences without a direction word (quartile-free notes, symbols)


def test_every_sentence_agrees_with_its_numbers_for_every_council_2019_to_2025(real_db):
    conn = sqlite3.connect(real_db)
    conn.row_factory = sqlite3.Row
    codes = [r[0] for r in conn.execute("SELECT DISTINCT area_code FROM comparisons WHERE provisional = 0")]
    rec_all = gather.records(conn, codes)
    conn.close()
    rec_all = rec_all[rec_all["time_period"].between(2019, 2025)]
    cols = ["measure_id", "value", "change", "quartile", "direction"]
    checked, problems, seen_moves, packs_made = 0, [], 0, 0
    # A pack's summary reads only its own year's records (change and direction carry last year): each
    # (council, year) slice gives the sentences of that council's pack for that year, at a fraction of the cost.
    for (code, year), now_rec in rec_all.groupby(["area_code", "time_period"]):
        name = now_rec["area_name"].dropna().iloc[0]
        now = {row[0]: dict(zip(cols, row)) for row in now_rec[cols].to_numpy(dtype=object)}
        packs_made += 1
        for s in packs.council_story(now_rec, int(year), KEY, name):
            seen_moves += bool(MOVE.match(s))
            problem = check_sentence(s, now, int(year))
            checked += 1
            if problem:
                problems.append(f"{code} {year}: {problem}: {s}")
    assert packs_made > 1000 and checked > 5000 and seen_moves > 500
    assert not problems, problems[:10]
    # the headline tables: the direction word beside each change agrees with it (the records they show)
    key = rec_all[rec_all["measure_id"].isin(KEY) & rec_all["direction"].notna()]
    wrong = [f"{r['area_code']} {r['time_period']} {r['measure_id']}: {r['change']} beside {r['direction']}"
             for r in key.to_dict("records")
             if not _agrees(r["direction"], r["change"], r["value"] - r["change"],
                            measures.get(r["measure_id"]).polarity)]
    assert len(key) > 5000 and not wrong, wrong[:10]
    darlington = rec_all[rec_all["area_code"] == "841"]
    head = packs.headline_table(darlington, KEY, list(range(2019, 2026)), "Darlington", "North East")
    col_d = head.headers.index("Direction of travel")
    by = {(r["measure_id"], r["time_period"]): r["direction"] for r in darlington.to_dict("records")}
    assert [row[col_d].text for row in head.rows] == [by.get((m, y)) or "" for m in KEY for y in range(2019, 2026)]


# ---------------------------------------------------------------------------------------------------------------
# North East 2025: Sunderland's `low`, the pooled rate, sorted and highlighted bars


def test_north_east_2025_ranks_sunderland_lowest_and_pools_to_dfes_regional_rate(real_db):
    assert one(real_db, "select value, symbol from observations where time_period = 2025 and area_code = '394' "
                        "and measure_id = 'agency_rate_fte'") == (None, "low")
    pack = report.make(real_db, group=NE, year=2025, la="Darlington")
    dfe_region = one(real_db, "select value from observations where time_period = 2025 "
                              "and area_code = 'E12000001' and measure_id = 'agency_rate_fte'")[0]
    assert dfe_region == 8.2
    assert round(pack.facts["pooled"]["agency_rate_fte"]["pooled"], 1) == dfe_region
    assert ("Agency worker rate: highest Middlesbrough 25.6%, lowest Sunderland below 0.05%; the partnership as a "
            "whole 8.2% against England 13.0%.") in pack.summary
    t = next(t for t in pack.tables() if t.id == "group-agency_rate_fte")
    rows = {r[0].text: r for r in t.rows}
    assert rows["Sunderland"][1].text == "below 0.05%" and rows["Sunderland"][2].value == 1
    assert rows["Sunderland"][t.headers.index("Rank in region (1 = lowest)")].value == 1
    below, lows = one(real_db, "select sum(value < 1.4), sum(symbol = 'low') from comparisons where time_period = "
                               "2025 and measure_id = 'agency_rate_fte' and provisional = 0")
    assert rows["Northumberland"][2].value == below + lows + 1  # every low council ranks below 1.4%
    # bars highest first (Sunderland's low last), Darlington highlighted
    values = [r[1].value for r in t.rows]
    assert [r[0].text for r in t.rows][0] == "Middlesbrough" and t.rows[-1][0].text == "Sunderland"
    numbers = [v for v in values if isinstance(v, float)]
    assert numbers == sorted(numbers, reverse=True)
    svg = next(f.svg for s in pack.sections for f in s.figures if f.id == "chart-agency_rate_fte")
    assert 'font-weight="bold">Darlington<' in svg
    change = next(t for t in pack.tables() if t.id == "change-table")
    dar = next(r for r in change.rows if r[0].text == "Darlington")
    turnover = one(real_db, "select change from comparisons where time_period = 2025 and area_code = '841' "
                            "and measure_id = 'turnover_rate_fte' and provisional = 0")[0]
    assert dar[2 + KEY.index("turnover_rate_fte")].value == turnover == 3.9
    # Sunderland: no change where DfE published a symbol, and why (turnover 2024 'u'; agency 2025 'low')
    sun = next(r for r in change.rows if r[0].text == "Sunderland")
    assert sun[2 + KEY.index("turnover_rate_fte")].text == "— (2024: u)"
    assert sun[2 + KEY.index("agency_rate_fte")].text == "— (2025: low)"
    assert any(n.startswith("— (YEAR: symbol): no change on last year") and "u: low reliability" in n
               for n in change.notes)
    # the XLSX keeps numbers numeric: DfE's symbol 'low', never the words 'below 0.05%', in the value column
    book = openpyxl.load_workbook(io.BytesIO(report.render_mod.render(pack, "xlsx")))
    sheet = book["Members compared"]
    texts = [c.value for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]
    assert "low" in texts and not any("below 0.05" in t for t in texts if len(t) < 40)


def test_low_ranks_in_the_real_build(real_db):
    with sqlite3.connect(real_db) as conn:
        lows = conn.execute("select count(*), min(rank), max(rank) from comparisons where time_period = 2025 and "
                            "measure_id = 'agency_rate_fte' and provisional = 0 and symbol = 'low'").fetchone()
        first = conn.execute("select min(rank) from comparisons where time_period = 2025 and measure_id = "
                             "'agency_rate_fte' and provisional = 0 and value is not null").fetchone()[0]
    assert lows[0] >= 1 and lows[1] == lows[2] == 1 and first == lows[0] + 1


# ---------------------------------------------------------------------------------------------------------------
# The council's own precision (Darlington's July 2016 report)


def test_the_councils_own_figures_keep_their_precision(real_db):
    pack = report.make(real_db, la="841", year=2016, local=ROOT / "examples" / "darlington.csv")
    local = next(t for t in pack.tables() if t.caption.startswith("Provisional") and "July 2016" in t.caption)
    vacancy = next(r for r in local.rows if r[0].text == "Vacancy rate (FTE)")
    reported = local.headers.index("Council's reported figure")
    assert (vacancy[reported].text, vacancy[reported].value) == ("26.73%", 26.73)
    assert vacancy[reported].number_format == '#,##0.00"%"'  # two decimals in the XLSX cell too
    dfe = local.headers.index("Darlington DfE 2016")
    dfe_2016 = one(real_db, "select value from observations where time_period = 2016 and area_code = '841' "
                            "and measure_id = 'vacancy_rate_fte'")[0]
    assert vacancy[dfe].text == f"{dfe_2016}%"
    assert "Darlington DfE 2016" in local.headers  # the census the figure is set beside, not a later one
    book = openpyxl.load_workbook(io.BytesIO(report.render(pack, "xlsx")))
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value == 26.73]
    assert cells and all(c.data_type == "n" for c in cells)


# ---------------------------------------------------------------------------------------------------------------
# New-user review (packs7): labels that say what the figure is


def test_a_london_borough_is_ranked_in_london_and_every_format_says_so(real_db):
    pack = report.make(real_db, la="Kensington and Chelsea", year=2025)
    head = next(t for t in pack.tables() if t.id == "headline-table")
    assert "Inner London" in head.headers and "London" in head.headers  # the comparators DfE publishes
    assert not any(h.startswith(("Rank in Inner", "Councils ranked in Inner")) for h in head.headers)
    col, of = head.headers.index("Rank in London (1 = lowest)"), head.headers.index("Councils ranked in London")
    row = next(r for r in head.rows if r[0].text == "Vacancy rate (FTE)" and r[1].value == 2024)
    assert (row[col].value, row[of].value) == (2, 32) == one(
        real_db, "SELECT region_rank, region_rank_of FROM comparisons WHERE area_code = '207' AND time_period = 2024 "
                 "AND measure_id = 'vacancy_rate_fte' AND provisional = 0")  # 32 London councils, Inner has 14
    assert any("Rank in London is among all London councils (Inner and Outer London together), not only those of "
               "Inner London" in n for n in head.notes)
    md = report.render(pack, "md").decode()
    assert "| Rank in London (1 = lowest) | Councils ranked in London |" in md and "Rank in Inner London" not in md
    xlsx = openpyxl.load_workbook(io.BytesIO(report.render(pack, "xlsx")))["Headline"]
    cells = {str(c.value) for r in xlsx.iter_rows() for c in r if c.value is not None}
    assert "Rank in London (1 = lowest)" in cells and not any("Rank in Inner London" in c for c in cells)
    # csww compare: the rank beside the Inner London figure is London's
    text = CliRunner().invoke(cli, ["compare", "--la", "207", "--year", "2024", "--db", str(real_db)]).output
    assert "London rank among all London councils (Inner and Outer London together)" in text
    assert "  London rank  " in text and "region rank" not in text
    assert re.search(r"^Vacancy rate \(FTE\) .* 10/151 +2/32 +A ", text, flags=re.M)
    # a council outside London keeps its region's rank and label
    darlington = next(t for t in report.make(real_db, la="841", year=2025).tables() if t.id == "headline-table")
    assert "Rank in North East (1 = lowest)" in darlington.headers


def test_headline_names_the_neighbour_model_of_each_year(real_db):
    pack = report.make(real_db, la="841", year=2025)
    intro = next(s for s in pack.sections if s.id == "headline").intro[0]
    words = "DfE's April 2021 statistical neighbours for 2023 to 2024; DfE's May 2025 statistical neighbours for 2025"
    assert f"median of its statistical neighbours ({words})" in intro
    head = next(t for t in pack.tables() if t.id == "headline-table")
    assert head.notes[0] == f"Neighbour median from the model for each year: {words}."
    med = head.headers.index("Neighbour median")
    row = next(r for r in head.rows if r[0].text == "Turnover rate (FTE)" and r[1].value == 2024)
    sn_2021 = one(real_db, "SELECT sn_model, sn_median FROM comparisons WHERE area_code = '841' AND time_period = 2024 "
                           "AND measure_id = 'turnover_rate_fte' AND provisional = 0")
    assert sn_2021 == ("sn_2021", 13.35) and row[med].text == "13.4%"  # sn_2025 would give 13.6
    xlsx = openpyxl.load_workbook(io.BytesIO(report.render(pack, "xlsx")))["Headline"]
    assert any(c.value == head.notes[0] for r in xlsx.iter_rows() for c in r)
    one_model = next(t for t in report.make(real_db, la="841", year=2020).tables() if t.id == "headline-table")
    assert one_model.notes[0] == "Neighbour median: DfE's April 2021 statistical neighbours."


def test_a_2015_pack_words_what_dfe_does_not_publish_and_shows_its_whole_numbers(real_db):
    pack = report.make(real_db, la="841", year=2015)
    assert "Average caseload: DfE does not publish this measure for councils for 2015." in pack.summary
    assert not any("DfE published no figure" in s for s in pack.summary)
    intro = next(s for s in pack.sections if s.id == "headline").intro[0]
    assert intro.startswith("Key measures for Darlington in 2015 (the year to 30 September), beside")
    head = next(t for t in pack.tables() if t.id == "headline-table")
    assert "\u2014 Average caseload (per case-holding FTE): DfE does not publish this measure for councils for " \
           "2015." in head.notes and packs.NO_FIGURE_NOTE not in head.notes
    # SFR07/2016 publishes England's and regions' figures rounded (26500, 1680) and 2015 rates whole (19, 16)
    assert one(real_db, "SELECT value FROM observations WHERE area_code = 'E92000001' AND time_period = 2015 "
                        "AND measure_id = 'inpost_fte'") == (26500.0,)
    rows = {r[0].text: [c.text for c in r] for r in head.rows}
    cols = {h: i for i, h in enumerate(head.headers)}
    fte, turnover = rows["Social workers in post (FTE)"], rows["Turnover rate (FTE)"]
    assert (fte[cols["Darlington"]], fte[cols["North East"]], fte[cols["England"]]) == ("71.8", "1,680", "26,500")
    assert (turnover[cols["Darlington"]], turnover[cols["England"]]) == ("19%", "16%")
    assert turnover[cols["Neighbour median"]] == "13.0%"  # a median csww-benchmark computed: catalogue decimals
    later = next(t for t in report.make(real_db, la="841", year=2017).tables() if t.id == "headline-table")
    assert [r[cols["England"]].text for r in later.rows if r[0].text == "Turnover rate (FTE)"] == [
        "16%", "15.1%", "13.4%"]  # 2015 whole, 2016-2017 as published to one decimal
    group = report.make(real_db, group=NE, year=2015)
    members = {r[0].text: [c.text for c in r] for r in next(t for t in group.tables() if t.id == "members-table").rows}
    labels = next(t for t in group.tables() if t.id == "members-table").headers
    turnover = labels.index("Turnover rate (FTE)")
    assert (members["Darlington"][turnover], members["England"][turnover]) == ("19%", "16%")
    assert "Turnover rate: highest Darlington 19%, lowest South Tyneside 7%; the partnership as a whole 12.6% " \
           "against England 16%." in group.summary
    published, _ = formatting.published_figures(sqlite3.connect(real_db))
    assert narrative.not_published("stability_index_rate", "Darlington", 2025, published) == (
        "Stability index (%): DfE does not publish this measure for councils.")
    assert narrative.not_published("turnover_rate_fte", "Darlington", 2025, published) == (
        "Turnover rate: DfE published no figure for Darlington in 2025.")


def test_compare_lists_each_measures_neighbours_with_and_without_a_value(real_db):
    text = CliRunner().invoke(cli, ["compare", "--la", "207", "--year", "2024", "--db", str(real_db)]).output
    notes = [line for line in text.splitlines() if line.startswith("Neighbours with")]
    assert notes[1] == ("Neighbours with a value (sn_2021), for Agency worker rate (FTE): "
                        "205, 212, 202, 302, 201, 315, 870, 846, 206")  # 213 published 'x' for it
    assert notes[0].endswith(": 213, 205, 212, 202, 302, 201, 315, 870, 846, 206")
    assert "Agency worker rate" not in notes[0]
    assert "Neighbours without a value, for Agency worker rate (FTE): 213 (x)" in text.splitlines()
    plain = CliRunner().invoke(cli, ["compare", "--la", "841", "--year", "2025", "--db", str(real_db)]).output
    assert "Neighbours with a value (sn_2025): 390, 808, 332, 384, 888, 894, 372, 357, 840, 371" in plain.splitlines()
