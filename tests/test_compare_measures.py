"""csww compare handles every measure it lists (issue 13 item 10): a figure, or an error with a non-zero exit
in every format when there is nothing to show, never a traceback and never an empty answer with exit 0."""

from __future__ import annotations

import json

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
