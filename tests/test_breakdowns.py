"""DfE's breakdowns (ethnicity by role, age, time in service, role) in the ``breakdowns`` table, and what the
council page and pack make of them (ethnicity by seniority; DfE's own inconsistencies stated).

Real values come from ../shared/dfe (``real_db``: the 2019-2022 role-by-ethnicity file and the 2015-2016 SFR
files); the 2024-2025 ``role_by_characteristics`` layout, whose real file is not in ../shared, is a hand-made
fixture in that layout.
"""

from __future__ import annotations

import sqlite3

import pytest
from conftest import FIXTURES, one

from benchmark import consistency, ethnicity, readers
from benchmark.build import build
from benchmark.report import packs

BLACK = "Black / African / Caribbean / Black British"
ALL = "All children and family social workers"


def breakdown(db, year, area, measure, topic, group, role=ALL):
    return one(db, "select value, symbol from breakdowns where time_period=? and area_code=? and measure_id=? and "
                   "breakdown_topic=? and breakdown=? and role=?", year, area, measure, topic, group, role)


def test_role_by_ethnicity_file_values(real_db):
    """England 2022 (DfE's 2022 release): white 76.1%, black 13.3%; case holders black 16.3%; senior managers 5.6%."""
    pct = "inpost_headcount_percentage"
    assert breakdown(real_db, 2022, "E92000001", pct, "Ethnicity", "White") == (76.1, None)
    assert breakdown(real_db, 2022, "E92000001", pct, "Ethnicity", BLACK) == (13.3, None)
    assert breakdown(real_db, 2022, "E92000001", pct, "Ethnicity", BLACK, "Case holder") == (16.3, None)
    assert breakdown(real_db, 2022, "E92000001", pct, "Ethnicity", BLACK, "Senior manager") == (5.6, None)
    assert breakdown(real_db, 2022, "E92000001", "inpost_headcount", "Ethnicity", "Known") == (27373, None)
    assert one(real_db, "select release_id, source_file from breakdowns where time_period=2022 and "
                        "area_code='E92000001' limit 1") == ("2022", "csww_workforce_role_by_ethnicity_2019_to_2022.csv")


def test_joint_return_members_fold_into_the_joint_return(real_db):
    """Kingston (314) carries the joint return's figures; Richmond's (318) all-'z' row is not loaded. In 2015,
    before the joint return, each borough has its own figures."""
    assert breakdown(real_db, 2022, "314 / 318", "inpost_headcount", "Ethnicity", "Known") == (50, None)
    assert one(real_db, "select count(*) from breakdowns where area_code in ('314', '318', '940', '941') and "
                        "time_period >= 2016") == (0,)
    assert breakdown(real_db, 2015, "318", "inpost_fte", "Age", "30 to 39")[0] > 0


def test_sfr_age_time_in_service_and_role_columns(real_db):
    """SFR 08/2017 (30 Sep 2016): Darlington's case holders 45.3 FTE, 70.2% of 64.5; SFR 07/2016 (2015): ages."""
    assert breakdown(real_db, 2016, "841", "inpost_fte", "Role", "Case holder") == (45.3, None)
    assert breakdown(real_db, 2016, "841", "inpost_fte_percentage", "Role", "Case holder") == (70.2, None)
    assert breakdown(real_db, 2016, "E92000001", "inpost_headcount", "Age", "30 to 39") == (8940, None)
    assert breakdown(real_db, 2016, "841", "inpost_fte", "Time in service", "Less than 2 years") == (18.6, None)
    assert breakdown(real_db, 2015, "841", "inpost_fte", "Age", "30 to 39") == (20.1, None)
    assert breakdown(real_db, 2015, "E92000001", "inpost_fte", "Age", "Not known") == (250, None)
    assert one(real_db, "select count(distinct measure_id) from breakdowns where time_period=2016 and "
                        "measure_id like 'leavers%'") == (4,)
    assert one(real_db, "select release_id from breakdowns where time_period=2015 limit 1") == ("SFR07/2016",)


def test_a_new_characteristics_layout_loads_without_code(tmp_path):
    """The 2024-2025 role_by_characteristics layout: filters and indicators read from the file itself."""
    [result] = readers.read_sources([FIXTURES / "role_by_characteristics_small.csv"])
    assert result.layout == "ees-breakdowns" and len(result.observations) == 0
    b = result.breakdowns
    assert set(b["measure_id"]) == {"inpost_fte", "inpost_fte_percentage", "inpost_headcount",
                                    "inpost_headcount_percentage"}
    assert set(b["breakdown_topic"]) == {"Ethnicity", "Age"}
    dar = b[(b.area_code == "841") & (b.breakdown == BLACK) & (b.role == "Case holder")]
    assert set(dar["symbol"]) == {"c"} and dar["value"].isna().all()      # DfE's symbol kept, never zero

    build([FIXTURES / "indicators_2025_small.csv", FIXTURES / "indicators_2024_small.csv",
           FIXTURES / "role_by_characteristics_small.csv"], tmp_path)
    db = tmp_path / "csww.db"
    assert breakdown(db, 2024, "841", "inpost_headcount", "Ethnicity", "Not known") == (3, None)
    assert breakdown(db, 2024, "E92000001", "inpost_fte_percentage", "Age", "Under 30") == (20.4, None)
    with sqlite3.connect(db) as conn:
        view = ethnicity.by_seniority(conn, "841")
    assert view["year"] == 2024
    assert view["unknown"] == {"known": 77, "total": 80, "not_known": 3, "share": 3.8}  # DfE's own Not known/Total
    rows = {r["role"]: r for r in view["rows"]}
    assert rows[ALL]["council"] == 3.9 and rows[ALL]["england"] == 25.0 and rows[ALL]["region"] == 5.0
    assert rows["Case holder"]["council"] == 2.3


def test_ethnicity_by_seniority_view(real_db):
    """Darlington 2022: 1.1% of 89 from ethnic minority groups (England 23.9%), case holders 2.6% (England 27.3%);
    the neighbour median is the median of the ten 2021-model neighbours' shares."""
    with sqlite3.connect(real_db) as conn:
        view = ethnicity.by_seniority(conn, "841", 2025)
        assert ethnicity.by_seniority(conn, "841", 2018) is None      # nothing published before 2019
    assert view["year"] == 2022 and view["neighbour_model"] == "sn_2021" and len(view["neighbours"]) == 10
    first = view["rows"][0]
    assert (first["role"], first["council"], first["sn_median"], first["region"], first["england"], first["known"]) \
        == (ALL, 1.1, 5.0, 3.2, 23.9, 89)
    assert [r["role"] for r in view["rows"]] == ethnicity.roles()
    assert view["unknown"] == {"known": 89, "total": 94, "not_known": 5, "share": 5.3}


def test_consistency_notes_for_a_council(real_db):
    """Kingston/Richmond 2016: DfE published turnover 17.4, its counts give 17.65; agency 5.8 vs 5.93."""
    with sqlite3.connect(real_db) as conn:
        notes = consistency.notes(conn, "314 / 318")
        assert consistency.notes(conn, "314 / 318", up_to=2015) == {}
    assert [n["text"] for n in notes["turnover_rate_fte"]] == [
        "2016: DfE published 17.4, but its own published counts give 17.65, more than rounding explains."]
    assert notes["agency_rate_fte"][0]["recomputed"] == pytest.approx(5.931, abs=0.001)


def test_pack_shows_ethnicity_and_dfes_inconsistencies(real_db):
    with sqlite3.connect(real_db) as conn:
        conn.row_factory = sqlite3.Row
        pack = packs.council_pack(conn, "841", 2025)
        kr = packs.council_pack(conn, "314 / 318", 2016)
        early = packs.council_pack(conn, "841", 2018)
    section = next(s for s in pack.sections if s.id == "ethnicity")
    assert section.heading == "Ethnicity by seniority, 2022"
    assert any("89 of Darlington's 94 social workers" in t for t in section.intro)
    fig = section.figures[0]
    assert [c.text for c in fig.table.rows[5]] == ["Case holder", "2.6%", "4.9%", "4.6%", "27.3%", "38"]
    assert not any(s.id == "ethnicity" for s in early.sections)   # a 2018 pack has no later breakdown
    turnover = next(f for s in kr.sections for f in s.figures if f.id == "chart-turnover_rate_fte")
    assert "DfE published 17.4, but its own published counts give 17.65" in turnover.note


def test_an_ees_file_with_unnamed_filter_columns_loads_generically(tmp_path):
    """A release file this toolkit has no name for (a caseload-band filter) is read from its own columns; an EES
    file with no filter column and an unknown indicator is still an unknown layout."""
    geo = "2024,Reporting year,Local authority,E92000001,England,E12000001,North East,841,E06000005,Darlington"
    head = ("time_period,time_identifier,geographic_level,country_code,country_name,region_code,region_name,"
            "old_la_code,new_la_code,la_name")
    p = tmp_path / "csww_caseload_groups_2024.csv"
    p.write_text(f"{head},caseload_band,case_holders_headcount\n{geo},Under 15,12\n{geo},15 to 20,c\n")
    [r] = readers.read_sources([p])
    assert r.layout == "ees-breakdowns"
    rows = r.breakdowns.sort_values("breakdown")[["breakdown_topic", "breakdown", "role", "value", "symbol"]]
    assert rows.values.tolist()[1][:3] == ["Caseload band", "Under 15", ALL] and rows.values.tolist()[1][3] == 12
    assert rows.values.tolist()[0][4] == "c"
    q = tmp_path / "odd.csv"
    q.write_text(f"{head},mystery_measure\n{geo},12\n")
    with pytest.raises(readers.InputError, match="not a CSWW layout"):
        readers.read_sources([q])


def test_breakdowns_read_in_chunks_equal_the_whole_file(shared):
    """Large files are read in pieces (bounded memory); the pieces give exactly the whole file's breakdowns."""
    p = shared / "csww_workforce_role_by_ethnicity_2019_to_2022.csv"
    whole = readers.read_file(readers.SourceFile(str(p), path=p)).breakdowns
    parts = readers.read_file(readers.SourceFile(str(p), path=p), chunk_rows=500).breakdowns
    key = ["time_period", "area_code", "measure_id", "breakdown_topic", "breakdown", "role"]
    assert len(whole) == 49896
    assert whole.sort_values(key).reset_index(drop=True).equals(parts.sort_values(key).reset_index(drop=True))
