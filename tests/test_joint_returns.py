"""Joint returns (314 / 318, 940 / 941) and reorganised councils (928, 909), on the real build (review8 findings 1,
2 and 6): a member's own years reachable, neighbours listed as the median takes them, the joint value shown where
it is used, and messages that point to predecessors, successors and members. Reuses the session's ``real_db``."""

from __future__ import annotations

import csv
import shutil
import sqlite3
import statistics

import pytest
from conftest import SHARED

from benchmark import compare, compare_one, councils, neighbours, site
from benchmark.report import packs
from benchmark.report.packs import council_pack, group_pack


def sfr_2015(code: str) -> dict:
    """The 2015 row of council ``code`` in DfE's SFR underlying data (SFR07_2016_UD.csv), as DfE wrote it."""
    with open(SHARED / "sfr" / "SFR07_2016_UD.csv", encoding="utf-8-sig", newline="") as f:
        return next(r for r in csv.DictReader(f) if r["LA_code (3 digit)"] == code)


@pytest.fixture(scope="module")
def conn(real_db):
    c = sqlite3.connect(real_db)
    c.row_factory = sqlite3.Row
    yield c
    c.close()


def test_members_keep_their_own_2015_returns_and_are_not_former(conn):
    kingston, richmond = sfr_2015("314"), sfr_2015("318")
    area, rows = compare.council_view(conn, "314", 2015)[:2]
    assert area["area_code"] == "314" and set(rows["area_code"]) == {"314"}
    got = rows.set_index("measure_id")["value"]
    assert got["inpost_fte"] == float(kingston["A1_FTE_ChildrensSocialWorkers_2015"]) == 67.6
    assert got["turnover_rate_fte"] == float(kingston["B3_FTE_TurnoverRate_2015"]) == 14.0
    _, fast = compare_one.council_rows(conn, "Richmond upon Thames", 2015)
    assert {r["measure_id"]: r["value"] for r in fast}["inpost_fte"] == float(richmond["A1_FTE_ChildrensSocialWorkers_2015"])
    pack = council_pack(conn, "318", 2015)
    assert pack.facts["area_code"] == "318" and pack.facts["area_name"] == "Richmond upon Thames"
    status = dict(conn.execute("select area_code, status from areas where area_code in ('314', '318', '928')").fetchall())
    assert status == {"314": "current", "318": "current", "928": "former"}
    # without a year, the member still shows its joint return (the latest figures)
    assert compare_one.council_rows(conn, "314")[1][0]["area_code"] == "314 / 318"


@pytest.mark.parametrize("la,year,message", [
    ("928", 2025, "no figures for Northamptonshire in 2025; years: 2015-2020. Northamptonshire (928) was replaced from "
                  "2021 by North Northamptonshire / West Northamptonshire (940 / 941): ask for 940 / 941."),
    ("941", 2020, "no figures for West Northamptonshire in 2020; years: 2021-2025. West Northamptonshire replaced "
                  "Northamptonshire (928) from 2021: ask for 928 for 2020 and earlier."),
    ("909", 2024, "no figures for Cumbria in 2024; years: 2015-2022. Cumbria (909) was replaced from 2023 by Cumberland "
                  "(942) and Westmorland and Furness (943): ask for 942 or 943."),
    ("314/318", 2015, "no figures for Kingston upon Thames / Richmond upon Thames in 2015; years: 2016-2025. Kingston "
                      "upon Thames (314) and Richmond upon Thames (318) returned separately in 2015, before their joint "
                      "return: ask for 314 or 318."),
])
def test_no_figures_messages_point_to_successors_predecessors_and_members(conn, la, year, message):
    for path in (compare.council_view, compare_one.council_rows):
        with pytest.raises(councils.AreaNotFound) as e:
            path(conn, la, year)
        assert str(e.value) == message
    with pytest.raises(packs.ReportError) as e:
        council_pack(conn, la, year)
    assert message.split(". ", 1)[1] in str(e.value)


def test_a_joint_returns_neighbours_are_its_first_members_list_less_itself(conn):
    nb = neighbours.council_list(conn, "940 / 941", 2025, "sn_2025")
    assert nb.loc[nb["status"] == "self", "neighbour_code"].tolist() == ["941"]
    used = nb[nb["status"] == "used"]
    stored = conn.execute("select sn_median, sn_count from comparisons where area_code = '940 / 941' and "
                          "time_period = 2025 and measure_id = 'turnover_rate_fte'").fetchone()
    values = [conn.execute("select value from observations where area_code = ? and time_period = 2025 and "
                           "measure_id = 'turnover_rate_fte'", (c,)).fetchone()[0] for c in used["published_code"]]
    assert (len(used), statistics.median(values)) == (stored["sn_count"], stored["sn_median"]) == (9, 11.9)
    pack = council_pack(conn, "940", 2025)
    section = next(s for s in pack.sections if s.id == "neighbours")
    text = " ".join(section.intro)
    assert ("North Northamptonshire and West Northamptonshire make one joint return to DfE (940 / 941)" in text
            and "takes the list of its first member, North Northamptonshire (940)" in text
            and "West Northamptonshire (941), on that list, is part of this joint return itself and is left out" in text)
    assert [r[1].text for r in section.tables[0].rows] == used["neighbour_code"].tolist()
    headline = pack.sections[0]
    assert headline.intro[0].startswith("North Northamptonshire and West Northamptonshire make one joint return")
    assert any(n.startswith("Joint return: Social workers in post (FTE) is the councils' combined count, ranked")
               for n in headline.tables[0].notes)


def test_a_joint_member_as_a_neighbour_shows_the_joint_value_in_the_pack(conn):
    pack = council_pack(conn, "822", 2025)
    rows = next(s for s in pack.sections if s.id == "neighbours").tables[0].rows
    west = next(r for r in rows if r[1].text == "941")
    assert (west[4].text, west[5].text) == ("yes", "joint return with North Northamptonshire (940): the value used is "
                                                   "the joint return's (940 / 941)")


def test_group_pack_counts_returns_and_says_who_was_replaced(conn, tmp_path):
    path = tmp_path / "g.yml"
    path.write_text("groups:\n  - id: mixed\n    name: Mixed\n    members: [314, 318, 940, 941, 928, 909]\n")
    pack = group_pack(conn, path, 2025)
    assert next(s for s in pack.sections if s.id == "group").intro == ["Mixed: 4 returns to DfE from 6 councils."]
    notes = pack.sections[0].tables[0].notes
    assert ("Northamptonshire (928): no figures for 2025. Northamptonshire (928) was replaced from 2021 by North "
            "Northamptonshire / West Northamptonshire (940 / 941): ask for 940 / 941.") in notes
    assert any(n.startswith("Cumbria (909): no figures for 2025. Cumbria (909) was replaced from 2023 by Cumberland "
                            "(942) and Westmorland and Furness (943)") for n in notes)


@pytest.fixture(scope="module")
def client(real_db, tmp_path_factory):
    from test_site import Client

    out = tmp_path_factory.mktemp("site_joint")
    shutil.copy(real_db, out / "csww.db")
    c = Client(site.datasette(site.prepare(out / "csww.db")))
    yield c
    c.close()


def test_site_member_pages_neighbours_and_the_joint_value(client):
    r = client.get("/la/314?year=2015")
    assert r.status_code == 200 and "67.6" in r.text and "(former)" not in client.get("/").text.split("Kingston")[1][:80]
    r = client.get("/la/314-318?year=2015")
    assert r.status_code == 404 and "returned separately in 2015, before their joint return: ask for 314 or 318" in r.text
    page = client.get("/la/940-941.json").json()
    assert [n["code"] for n in page["neighbours"]][:2] == ["866", "935"] and "941" not in {
        n["code"] for n in page["neighbours"]} and len(page["neighbours"]) == 9
    assert "North Northamptonshire's (940) list" in page["joint_note"]
    rows = client.get("/csww/council_vs_neighbours.json?la=940&measure=turnover_rate_fte&_shape=array").json()
    assert len(rows) == 10 and "941" not in {r["area_code"] for r in rows}
    assert statistics.median(r["value"] for r in rows[1:]) == rows[0]["sn_median"] == 11.9
    rows = client.get("/csww/council_vs_neighbours.json?la=822&measure=turnover_rate_fte&_shape=array").json()
    west = next(r for r in rows if r["area_code"] == "941")
    assert (west["value"], west["note"]) == (10.4, "joint return with North Northamptonshire (940): the value used in "
                                                   "the median is the joint return's (940 / 941)")
    assert statistics.median(r["value"] for r in rows[1:]) == rows[0]["sn_median"] == 15.15
