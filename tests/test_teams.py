"""Issue 11 item 2: team rows kept, checked against the council row, and rolled up by service."""

import json
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from benchmark import report
from benchmark.cli import cli
from benchmark.local import align, teams

EXAMPLES = Path(__file__).parent.parent / "examples"
HEADER = ("area_code,team,service,period_start,period_end,inpost_fte,inpost_headcount,vacancy_fte,establishment_fte,"
          "caseload_18_or_less_headcount,caseload_19_to_24_headcount,agency_headcount\n")


def validate(path):
    return CliRunner().invoke(cli, ["validate", str(path), "--json"])


def test_darlington_team_table_is_valid_and_keeps_its_services():
    result = validate(EXAMPLES / "darlington.csv")
    assert result.exit_code == 0, result.output
    figures = align(EXAMPLES / "darlington.csv")
    services = {f.team: f.service for f in figures if f.team}
    assert len(services) == 11 and services["MASH/CAP"] == "Front line" and services["IRO"] == "Independent reviewing"
    assert {f.service for f in figures if not f.team} == {""}


def test_teams_that_do_not_add_up_and_30_fte_held_by_3_people_fail_validate(tmp_path):
    bad = tmp_path / "teams.csv"
    bad.write_text(HEADER + "841,,,2024-10-01,2025-09-30,60.0,70,10.0,70.0,,,\n"
                   "841,Team A,Front line,2024-10-01,2025-09-30,30.0,3,5.0,35.0,4,3,2\n"
                   "841,Team B,Front line,2024-10-01,2025-09-30,20.0,25,5.0,40.0,,,\n")
    result = validate(bad)
    assert result.exit_code == 1 and "Traceback" not in result.output
    got = {(p["row"], p["column"]): p["message"] for p in json.loads(result.output)["problems"]}
    assert "the team rows (rows 3, 4) add up to 50.0" in got[(2, "inpost_fte")]          # 30 + 20, not 60
    assert "add up to 28" in got[(2, "inpost_headcount")]                              # 3 + 25, not 70
    assert "more than inpost_headcount 3" in got[(3, "inpost_fte")]                    # 30 FTE, 3 people
    assert "count 7 case holders, more than inpost_headcount + agency_headcount 5" in got[(3, "caseload_18_or_less_headcount")]
    assert "is not FTE in post + vacancies (20 + 5 = 25.00)" in got[(4, "establishment_fte")]
    assert (2, "vacancy_fte") not in got and (3, "establishment_fte") not in got       # 5 + 5 = 10; 30 + 5 = 35
    assert len(got) == 6


def test_within_rounding_passes_and_a_single_team_is_a_part(tmp_path):
    ok = tmp_path / "ok.csv"  # teams at two decimals summing 0.02 off the total: rounding
    ok.write_text(HEADER + "841,,,2024-10-01,2025-09-30,10.02,,,,,,\n"
                  "841,A,,2024-10-01,2025-09-30,3.33,,,,,,\n841,B,,2024-10-01,2025-09-30,3.33,,,,,,\n"
                  "841,C,,2024-10-01,2025-09-30,3.34,,,,,,\n")
    assert validate(ok).exit_code == 0
    part = tmp_path / "part.csv"  # Worcestershire's one frontline team row is part of its 284.3 FTE
    part.write_text(HEADER + "885,,,2021-12-01,2022-11-30,,,37.9,284.3,,,\n"
                    "885,Frontline,,2021-12-01,2022-11-30,,,,185.8,,,\n")
    assert validate(part).exit_code == 0
    part.write_text(HEADER + "885,,,2021-12-01,2022-11-30,,,37.9,284.3,,,\n"
                    "885,Frontline,,2021-12-01,2022-11-30,,,,300,,,\n")
    assert "more than the council total" in validate(part).output


def _darlington_rollup():
    figures = [f for f in align(EXAMPLES / "darlington.csv") if f.team]
    rows = pd.DataFrame([{"team": f.team, "service": f.service, "measure_id": f.measure_id, "value": f.value,
                          "symbol": f.symbol} for f in figures])
    return {t["label"]: t for t in teams.rollup(rows)}


def test_rollup_matches_darlingtons_report():
    t = _darlington_rollup()
    front = t["Total Front line"]["values"]  # report para 22: TOTAL FRONT LINE 30 / 28.04 in post, 19.41 vacant, 23 / 22.41 agency
    assert (front["inpost_headcount"], front["inpost_fte"], front["vacancy_fte"]) == (30, 28.04, 19.41)
    assert (front["agency_headcount"], front["agency_fte"], front["establishment_fte"]) == (23, 22.41, 47.45)
    assert (front["caseload_18_or_less_headcount"], front["caseload_19_to_24_headcount"],
            front["caseload_25_plus_headcount"]) == (35, 7, 3)                        # para 24: TEAMS A-D, CAP, MASH
    spec = t["Total Specialist services"]["values"]  # TOTAL SPECIALIST 34 / 31.16, 4.5 vacant, 1 agency
    assert (spec["inpost_headcount"], spec["vacancy_fte"], spec["agency_headcount"]) == (34, 4.5, 1)
    assert spec["inpost_fte"] == 31.17                    # the teams' own figures, kept as given, sum to 31.17
    assert "Total Independent reviewing" not in t                                       # one team: no subtotal
    total = t["Total of the teams"]["values"]
    assert (total["inpost_headcount"], total["agency_fte"]) == (74, 25.22)              # the council row: 74, 25.22
    kinds = [v["kind"] for v in t.values()]
    assert kinds.count("subtotal") == 2 and kinds[-1] == "total"


def test_darlington_pack_shows_the_team_table(real_db, tmp_path):
    import shutil

    db = tmp_path / "csww.db"
    shutil.copy(real_db, db)
    pack = report.make(db, la="841", year=2016, local=EXAMPLES / "darlington.csv")
    section = next(s for s in pack.sections if s.id == "teams")
    table = section.tables[0]
    rows = {r[0].text: [c.text for c in r] for r in table.rows}
    head = table.headers
    front = dict(zip(head, rows["TOTAL FRONT LINE"]))
    assert (front["In post (headcount)"], front["In post FTE"], front["Vacancies FTE"], front["Agency FTE"]) == \
        ("30", "28.0", "19.4", "22.4")
    assert "TOTAL SPECIALIST SERVICES" in rows and "COUNCIL RETURN" in rows
    assert dict(zip(head, rows["COUNCIL RETURN"]))["In post (headcount)"] == "74"
    assert list(rows)[:6] == ["Team A", "Team B", "Team C", "Team D", "MASH/CAP", "TOTAL FRONT LINE"]
    assert section.provisional
