"""One rounding everywhere: the site, the pack and the CLI show the same figure for the same value.

A neighbour median is often a half (the median of an even number of 1 dp figures). DfE rounds halves up, so
Darlington's 2025 vacancy-rate neighbour median, 10.25 in ``comparisons``, is 10.3 on the site (a real
``csww serve`` over HTTP), in the pack (HTML) and in ``csww compare``; Python's ``%.1f`` would give 10.2.
"""

from __future__ import annotations

import re
import sqlite3
import urllib.request

import pytest
from click.testing import CliRunner
from conftest import FIXTURES
from report_html import PackHTML
from test_browser import serving
from test_report import rows_by_header

from benchmark import measures
from benchmark.cli import cli
from benchmark.formatting import fmt_number, fmt_value

VACANCY = measures.get("vacancy_rate_fte")


def stored_median(db, year: int) -> float:
    with sqlite3.connect(db) as conn:
        return conn.execute("select sn_median from comparisons where area_code = '841' and time_period = ? and "
                            "measure_id = 'vacancy_rate_fte' and provisional = 0", (year,)).fetchone()[0]


def shown_everywhere(out, year: int) -> dict[str, str]:
    """Darlington's vacancy-rate neighbour median for ``year`` as the site, the pack and the CLI show it."""
    db = out / "csww.db"
    runner = CliRunner()
    res = runner.invoke(cli, ["compare", "--la", "841", "--year", str(year), "--db", str(db)])
    assert res.exit_code == 0, res.output
    cli_row = next(line for line in res.output.splitlines() if line.startswith(VACANCY.label))
    res = runner.invoke(cli, ["report", "--la", "841", "--year", str(year), "--db", str(db),
                              "-o", str(out / "pack.html")])
    assert res.exit_code == 0, res.output
    pack = rows_by_header(PackHTML((out / "pack.html").read_text(encoding="utf-8")).table("headline-table"))
    pack_row = next(r for r in pack if r["Measure"] == VACANCY.label and r["Year"] == str(year))
    with serving(out) as base, urllib.request.urlopen(base + "/la/841") as r:
        page = r.read().decode("utf-8")
    section = page.split('<section class="csww-measure" id="vacancy_rate_fte"')[1].split("</section>")[0]
    site_row = section.split(f'<th scope="row">{year}</th>')[1].split("</tr>")[0]
    site_cells = [c.split("</td>")[0].strip() for c in re.split(r'<td class="num[^>]*>', site_row)[1:]]
    tooltip = section.split(f"<title>Neighbour median, {year}: ")[1].split("</title>")[0]  # the chart's point
    return {"cli": cli_row.split()[len(VACANCY.label.split()) + 3], "pack": pack_row["Neighbour median"],
            "site": site_cells[1], "site_tooltip": tooltip}


def test_darlington_2025_vacancy_neighbour_median_is_10_3_on_site_pack_and_cli(real_db):
    assert stored_median(real_db, 2025) == 10.25          # the database keeps the unrounded median
    assert shown_everywhere(real_db.parent, 2025) == {"cli": "10.3", "pack": "10.3%", "site": "10.3",
                                                "site_tooltip": "10.3%"}


def test_hand_made_neighbour_median_13_35_is_13_4_everywhere(tmp_path):
    """Without ../shared: the fixture's Darlington 2024 vacancy neighbour median is 13.35 (12.8 and 13.9), a
    float just below the half, which ``%.1f`` shows as 13.3."""
    res = CliRunner().invoke(cli, ["build", "--from", str(FIXTURES / "indicators_mini.csv"), "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert stored_median(tmp_path / "csww.db", 2024) == 13.35 and f"{13.35:.1f}" == "13.3"
    assert shown_everywhere(tmp_path, 2024) == {"cli": "13.4", "pack": "13.4%", "site": "13.4",
                                                "site_tooltip": "13.4%"}


@pytest.mark.parametrize("value, decimals, sign, text", [
    (10.25, 1, False, "10.3"), (13.35, 1, False, "13.4"), (-2.25, 1, False, "\u22122.3"), (2.0, 1, True, "+2.0"),
    (-0.04, 1, True, "0.0"), (36186.25, 1, False, "36,186.3"), (2.5, 0, False, "3"), (None, 1, False, ""),
    (float("nan"), 1, False, ""), (True, 1, False, ""),
])
def test_fmt_number_rounds_half_up_with_separators_and_a_real_minus(value, decimals, sign, text):
    assert fmt_number(value, decimals, sign) == text


def test_fmt_value_adds_the_unit_or_shows_dfe_symbol_never_zero():
    assert fmt_value(10.25, VACANCY) == "10.3%"
    assert fmt_value(None, VACANCY, "c") == "c"
    assert fmt_value(None, measures.get("inpost_fte"), "low") == "low"
    assert fmt_value(1234.56, measures.get("inpost_fte")) == "1,234.6"
