"""Statistical neighbour models: reading DfE's files, the shipped copy, the model per year, a year's list."""

import csv

import pandas as pd
import pytest
from conftest import FIXTURES

from benchmark import neighbours, tables
from benchmark.problems import UsageError


def test_model_rule_and_override():
    assert [neighbours.model_for_year(y) for y in (2015, 2021, 2024, 2025, 2026)] == \
        ["sn_2021"] * 3 + ["sn_2025"] * 2
    assert neighbours.model_for_year(2022, "sn_2025") == "sn_2025"
    with pytest.raises(UsageError, match="unknown statistical neighbour model"):
        neighbours.model_for_year(2022, "sn_2007")


@pytest.mark.parametrize("label, band", [("Not Close", "Not close"), ("Close ", "Close"),
                                         ("Extremely  Close", "Extremely close"), ("very close", "Very close")])
def test_bands_normalised(label, band):
    assert neighbours.normalise_band(label) == band


def test_unknown_band_is_an_error():
    with pytest.raises(ValueError, match="unknown closeness band"):
        neighbours.normalise_band("Near")


def test_reads_both_layouts_by_header(tmp_path):
    old = tmp_path / "a.csv"
    old.write_text("\ufeffLA num,LA Name,LA number,GOInd,GOReg," + ",".join(f"SN{i},SNP" for i in range(1, 11)) + ",\n"
                   "841,Darlington,841,4,North East," + ",".join(f"{800 + i},Very Close" for i in range(1, 11)) + ",\n"
                   ",,,,\n,Old SNs:,,,\n"
                   "928,Northamptonshire,928,1,East Midlands," + ",".join(f"{880 + i},Close" for i in range(1, 11)) + ",\n",
                   encoding="utf-8")
    new = tmp_path / "b.csv"
    new.write_text("\ufeffold_la_code,la_name,region_ind,region_name," + ",".join(f"SN_{i},SN_{i}P" for i in range(1, 11))
                   + "\n841,Darlington,4,North East," + ",".join(f"{800 + i},Close " for i in range(1, 11)) + "\n",
                   encoding="utf-8")
    a, b = neighbours.read_model(old), neighbours.read_model(new)
    assert list(a.columns) == tables.columns("neighbours")
    assert set(a["area_code"]) == {"841", "928"} and set(a["model"]) == {"sn_2021"}
    assert a[a["area_code"] == "841"]["position"].tolist() == list(range(1, 11))
    assert set(b["closeness"]) == {"Close"} and set(b["model"]) == {"sn_2025"}
    (tmp_path / "c.csv").write_text("code,name\n1,x\n")
    with pytest.raises(ValueError, match="not a known statistical neighbour layout"):
        neighbours.read_model(tmp_path / "c.csv")


def test_shipped_copy_equals_dfe_files(shared):
    got = neighbours.read_models(shared)
    pd.testing.assert_frame_equal(neighbours.shipped(), got)
    assert got.groupby("model")["area_code"].nunique().to_dict() == {"sn_2021": 156, "sn_2025": 153}


def test_shipped_copy_is_not_a_byte_copy():
    text = (FIXTURES.parent.parent / "benchmark" / neighbours.CATALOGUE).read_text()
    assert text.startswith("model,area_code,position,neighbour_code,closeness\n")


def test_darlington_list_as_dfe_gives_it(shared):
    with open(shared / "New_Statistical_Neighbour_Groupings_April_2021.csv", encoding="utf-8-sig") as f:
        raw = next(r for r in csv.reader(f) if r[0] == "841")
    listed = neighbours.shipped().query("model == 'sn_2021' and area_code == '841'")
    assert listed["neighbour_code"].tolist() == raw[5:25:2]


def test_year_lists_statuses(mini_neighbours):
    la_years = pd.DataFrame({"time_period": [2022, 2022, 2022, 2022, 2023, 2023],
                             "area_code": ["841", "806", "909", "940 / 941", "841", "942"]})
    got = neighbours.year_lists(la_years, mini_neighbours)
    d841 = got.query("time_period == 2022 and area_code == '841'").set_index("neighbour_code")
    assert d841.loc["940", "published_code"] == "940 / 941" and d841.loc["940", "status"] == "used"
    assert d841.loc["941", "status"] == "duplicate"       # the other half of the same joint return
    assert d841.loc["909", "status"] == "used"
    assert d841.loc["808", "status"] == "absent"          # no row for 808 in this toy year
    joint = got.query("time_period == 2022 and area_code == '940 / 941'").set_index("neighbour_code")
    assert joint.loc["941", "status"] == "self"            # 940's list names 941: the joint row itself
    later = got.query("time_period == 2023 and area_code == '841'").set_index("neighbour_code")
    assert later.loc["909", "status"] == "absent"          # Cumbria has no row after 2022
    # a council the year's model does not list takes the nearest model that does
    assert got.query("area_code == '942'")["sn_model"].unique().tolist() == ["sn_2025"]
