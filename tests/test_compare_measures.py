"""csww compare handles every measure it lists (issue 13 item 10): a figure, or an error with a non-zero exit
in every format when there is nothing to show, never a traceback and never an empty answer with exit 0."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner
from conftest import FIXTURES

from benchmark import measures
from benchmark.build import build
from benchmark.cli import cli

FORMATS = ["table", "json", "csv"]


@pytest.fixture(scope="module")
def layouts_db(tmp_path_factory):
    """Every layout's fixture, SFR 2015-2016 included, so the older measures have figures too."""
    out = tmp_path_factory.mktemp("layouts")
    build([FIXTURES / "indicators_2025_small.csv", FIXTURES / "indicators_2024_small.csv",
           FIXTURES / "headline_2022_small.csv", FIXTURES / "sfr"], out)
    return out / "csww.db"


def _compare(db, *args):
    return CliRunner().invoke(cli, ["compare", "--la", "841", "--db", str(db), *args])


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_listed_measure_answers_or_says_why_not(layouts_db, fmt):
    answered = []
    for m in measures.catalogue():
        for year in ("2025", "2015"):
            r = _compare(layouts_db, "--measure", m, "--year", year, "--format", fmt)
            assert r.exc_info[0] is SystemExit, (m, year, r.output)   # no traceback, whatever the measure
            if r.exit_code == 0:
                assert m in r.output or measures.get(m).label in r.output, (m, year, r.output)
                assert r.output.strip() not in ("", "[]")
                answered.append((m, year))
            else:
                assert r.exit_code == 1
                assert f"no figures for Darlington in {year} for the measures asked for" in r.output, r.output
    assert ("turnover_rate_fte", "2025") in answered and ("cin_per_sw_fte", "2015") in answered
    assert ("cin_per_sw_fte", "2025") not in answered


@pytest.mark.parametrize("fmt", FORMATS)
def test_measure_of_other_years_is_an_error_naming_them(layouts_db, fmt):
    r = _compare(layouts_db, "--measure", "cin_per_sw_fte", "--format", fmt)
    assert r.exit_code == 1
    assert ("no figures for Darlington in 2025 for the measures asked for: this database has cin_per_sw_fte for "
            "Darlington in 2015 only") in r.output


def test_older_measure_in_its_own_year(layouts_db):
    r = _compare(layouts_db, "--measure", "cin_per_sw_fte", "--year", "2015", "--format", "json")
    assert r.exit_code == 0, r.output
    [row] = json.loads(r.output)
    assert (row["measure_id"], row["time_period"], row["value"]) == ("cin_per_sw_fte", 2015, 12.0)


def test_sfr_figures_at_the_decimals_dfe_published(layouts_db):
    """The SFR fixture's 2015 figures as DfE published them (whole rates, England's count in tens), in the table,
    the CSV and the JSON; 2025 keeps its one decimal (without ../shared: tests/test_compare_one.py has the real
    files)."""
    def rows(*args):
        r = _compare(layouts_db, *args)
        assert r.exit_code == 0, r.output
        return {line.split("  ")[0]: re.split(r"\s{2,}", line.strip()) for line in r.output.splitlines()}
    old = rows("--year", "2015")
    assert old["Turnover rate (FTE)"][1:4] == ["19", "16", "13"]
    assert old["Social workers in post (FTE)"][1:4] == ["71.8", "26,500", "1,680"]
    assert rows("--year", "2025")["Turnover rate (FTE)"][1:4] == ["12.5", "11.8", "11.7"]
    text = _compare(layouts_db, "--year", "2015", "--format", "csv").output
    assert "\n2015,841,Darlington,turnover_rate_fte,19,,0,,2015,16,E12000001,North East,13," in text
    assert "\n2015,841,Darlington,inpost_fte,71.8,,0,,2015,26500,E12000001,North East,1680," in text
    out = _compare(layouts_db, "--year", "2015", "--format", "json").output  # numbers still, whole: 19, not 19.0
    assert [(repr(r["value"]), repr(r["england"])) for r in json.loads(out) if r["measure_id"] == "turnover_rate_fte"] \
        == [("19", "16")]
    assert '"england": 26500,' in out
