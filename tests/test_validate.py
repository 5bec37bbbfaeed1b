"""csww validate: Frictionless plus our own checks, on packages with planted faults."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd
import pkgdata
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmark import package
from benchmark.cli import cli


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("clean")
    return package.write_package(pkgdata.make_db(tmp), tmp, created="2026-01-01T00:00:00+00:00")


def copy(clean: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "pkg"
    shutil.copytree(clean, dest)
    return dest


def plant(pkg: Path, resource: str, edit, rehash: bool = True) -> None:
    """Edit a resource's CSV lines with ``edit(lines) -> lines``; re-record its size and hash so that the
    planted fault is the only thing wrong."""
    path = pkg / f"{resource}.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(edit(lines)), encoding="utf-8")
    if rehash:
        d = json.loads((pkg / "datapackage.json").read_text())
        for r in d["resources"]:
            if r["name"] == resource:
                data = path.read_bytes()
                r["bytes"], r["hash"] = len(data), "sha256:" + hashlib.sha256(data).hexdigest()
        (pkg / "datapackage.json").write_text(json.dumps(d, indent=2))


def line_of(pkg: Path, resource: str, match: str) -> int:
    """Row number (header = 1) of the one line starting with ``match``."""
    lines = (pkg / f"{resource}.csv").read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.startswith(match))


def replace_row(match: str, new: str):
    def edit(lines):
        hits = [i for i, line in enumerate(lines) if line.startswith(match)]
        assert len(hits) == 1, match
        lines[hits[0]] = new + "\n"
        return lines
    return edit


def errors(problems):
    return [p for p in problems if p.severity == "error"]


def types(problems):
    return {p.type for p in errors(problems)}


SRC = "2025,csww_indicators_2017_to_2025.csv"


def test_clean_package_is_valid(clean):
    problems = package.validate(clean)
    assert errors(problems) == []
    assert package.is_valid(problems)
    # aggregates that do not reproduce from their counts are warnings, never errors (reference 6.5)
    warned = {(p.file, p.type) for p in problems}
    assert warned == {("observations", "rate-components"), ("observation_revisions", "rate-components")}


def test_a_rate_of_140(clean, tmp_path):
    pkg = copy(clean, tmp_path)
    row = line_of(pkg, "observations", "2025,301,turnover_rate_fte,")
    plant(pkg, "observations", replace_row("2025,301,turnover_rate_fte,", f"2025,301,turnover_rate_fte,140,,{SRC},20"))
    problems = package.validate(pkg)
    hit = [p for p in errors(problems) if p.type == "rate-range"]
    assert len(hit) == 1
    assert hit[0].file == "observations" and hit[0].column == "value" and hit[0].row == row
    assert "turnover_rate_fte is 140, above 100" in hit[0].message


def test_a_negative_fte(clean, tmp_path):
    pkg = copy(clean, tmp_path)
    plant(pkg, "observations", replace_row("2025,301,inpost_fte,", f"2025,301,inpost_fte,-5.0,,{SRC},20"))
    problems = package.validate(pkg)
    hit = [p for p in errors(problems) if p.type == "constraint-error"]
    assert hit and hit[0].column == "value" and hit[0].file == "observations"
    assert "minimum" in hit[0].message


def test_an_unknown_symbol(clean, tmp_path):
    pkg = copy(clean, tmp_path)
    plant(pkg, "observations", replace_row("2025,302,leavers_fte,", f"2025,302,leavers_fte,q,q,{SRC},21"))
    problems = package.validate(pkg)
    assert "unknown-symbol" in types(problems)
    hit = next(p for p in problems if p.type == "unknown-symbol")
    assert hit.column == "value" and "'q'" in hit.message and "low" in hit.message
    # and the symbol column's enum names it too
    assert any(p.type == "constraint-error" and p.column == "symbol" for p in problems)


def test_a_blank_value_without_a_symbol_is_an_error(clean, tmp_path):
    pkg = copy(clean, tmp_path)
    plant(pkg, "observations", replace_row("2025,302,leavers_fte,", f"2025,302,leavers_fte,,,{SRC},21"))
    hit = [p for p in package.validate(pkg) if p.type == "symbol-mismatch"]
    assert len(hit) == 1 and "blank value needs DfE's symbol" in hit[0].message


def test_a_blank_value_is_an_error_in_the_labelled_form(tmp_path):
    pkg = package.write_package(pkgdata.make_db(tmp_path / "b"), tmp_path / "b", symbols_in_value=True)
    plant(pkg, "observations", replace_row("2025,302,leavers_fte,", f"2025,302,leavers_fte,,,{SRC},21"))
    assert "unknown-symbol" in types(package.validate(pkg))


def test_a_duplicate_key(clean, tmp_path):
    pkg = copy(clean, tmp_path)
    plant(pkg, "observations", lambda lines: lines + [lines[5]])
    problems = package.validate(pkg)
    assert "primary-key" in types(problems)
    assert not any(p.type == "duplicate-key" for p in problems), "reported once, by Frictionless"


def test_a_duplicate_key_with_a_blank_in_it(clean, tmp_path):
    pkg = copy(clean, tmp_path)
    row = f"2025,301,,1.0,,{SRC},20\n"
    plant(pkg, "observations", lambda lines: lines + [row, row])
    problems = package.validate(pkg)
    last = len(pkgdata._csv("observations")) + 3
    dup = [p for p in problems if p.type in ("primary-key", "duplicate-key")]
    assert [p.row for p in dup] == [last], "the duplicate is reported, once"
    assert {(p.row, p.column) for p in problems if p.type == "constraint-error"} == {(last - 1, "measure_id"),
                                                                                    (last, "measure_id")}


def test_duplicate_keys_with_nulls_in_a_table_without_required_keys():
    df = pd.DataFrame({"a": ["1", "1", "2", ""], "b": ["", "", "x", "y"]})
    problems = package._duplicate_keys("t", df, ["a", "b"], set())
    assert [(p.type, p.row) for p in problems if p.type == "duplicate-key"] == [("duplicate-key", 3)]
    assert sorted((p.row, p.column) for p in problems if p.type == "blank-key") == [(2, "b"), (3, "b"), (5, "a")]


def test_a_broken_foreign_key(clean, tmp_path):
    pkg = copy(clean, tmp_path)
    plant(pkg, "observations", replace_row("2025,301,inpost_fte,", f"2025,999,inpost_fte,100.0,,{SRC},20"))
    problems = package.validate(pkg)
    hit = [p for p in errors(problems) if p.type == "foreign-key"]
    assert hit and hit[0].file == "observations" and "999" in hit[0].message


def test_a_wrong_checksum(clean, tmp_path):
    pkg = copy(clean, tmp_path)
    d = json.loads((pkg / "datapackage.json").read_text())
    d["resources"][0]["hash"] = "sha256:" + "0" * 64
    (pkg / "datapackage.json").write_text(json.dumps(d))
    problems = package.validate(pkg)
    assert types(problems) == {"hash-count"}
    assert problems[0].file == "observations"


def test_an_edited_file_without_a_new_checksum(clean, tmp_path):
    pkg = copy(clean, tmp_path)
    plant(pkg, "areas", lambda lines: [line.replace("Barnet", "Barnett") for line in lines], rehash=False)
    assert {"hash-count"} <= types(package.validate(pkg))


def test_a_rate_that_does_not_match_its_components(clean, tmp_path):
    pkg = copy(clean, tmp_path)
    plant(pkg, "observations", replace_row("2025,301,agency_rate_fte,", f"2025,301,agency_rate_fte,18.0,,{SRC},20"))
    hit = [p for p in errors(package.validate(pkg)) if p.type == "rate-components"]
    assert len(hit) == 1 and "agency_rate_fte for 301 2025 is 18" in hit[0].message and "16.67" in hit[0].message


def test_a_year_out_of_range(clean, tmp_path):
    pkg = copy(clean, tmp_path)
    plant(pkg, "observations", replace_row("2025,301,inpost_fte,", f"2031,301,inpost_fte,100.0,,{SRC},20"))
    hit = [p for p in errors(package.validate(pkg)) if p.type == "year-range"]
    assert hit and hit[0].column == "time_period" and "2031" in hit[0].message


def test_a_symbol_that_disagrees(clean, tmp_path):
    pkg = copy(clean, tmp_path)
    plant(pkg, "observations", replace_row("2025,302,leavers_fte,", f"2025,302,leavers_fte,x,c,{SRC},21"))
    assert "symbol-mismatch" in types(package.validate(pkg))


def test_a_broken_descriptor(clean, tmp_path):
    pkg = copy(clean, tmp_path)
    (pkg / "datapackage.json").write_text("{not json")
    problems = package.validate(pkg)
    assert problems and not package.is_valid(problems)


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_a_local_return_is_recognised_by_content_not_suffix(tmp_path):
    f = tmp_path / "return.txt"
    f.write_text((EXAMPLES / "darlington.csv").read_text(encoding="utf-8"), encoding="utf-8")
    assert package.validate(f) == []
    f.write_text("a,b\n1,2\n")
    problems = package.validate(f)
    assert [(p.type, p.file, p.row, p.value) for p in problems] == [("local-return", "return.txt", 1, "a, b")]
    assert "cannot tell what this file is" in problems[0].message


def test_a_local_return_that_aligns_is_valid():
    assert package.validate(EXAMPLES / "darlington.csv") == []
    res = CliRunner().invoke(cli, ["validate", str(EXAMPLES / "darlington.csv")])
    assert res.exit_code == 0, res.output
    assert "valid: 0 errors" in res.output


def test_a_local_return_with_problems_lists_every_one_and_exits_1(tmp_path):
    lines = (EXAMPLES / "darlington.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[0].split(",")
    col = header.index("inpost_fte")
    bad = []
    for i, line in enumerate(lines[3:5], 4):  # the Team A and Team B rows (spreadsheet rows 4 and 5)
        cells = line.split(",")
        cells[col] = "lots" if i == 4 else "-3"
        bad.append(",".join(cells))
    f = tmp_path / "darlington_bad.csv"
    f.write_text("".join(lines[:3] + bad + lines[5:]), encoding="utf-8")
    problems = package.validate(f)
    assert {(p.file, p.row, p.column) for p in problems} >= {("darlington_bad.csv", 4, "inpost_fte"),
                                                                 ("darlington_bad.csv", 5, "inpost_fte")}
    assert all(p.type == "local-return" and p.severity == "error" for p in problems)
    res = CliRunner().invoke(cli, ["validate", str(f)])
    assert res.exit_code == 1
    assert "row 4, column inpost_fte, value 'lots': local-return (error)" in res.output
    assert "row 5, column inpost_fte, value '-3': local-return (error)" in res.output
    assert "INVALID" in res.output


def test_a_file_that_is_no_local_return(tmp_path):
    f = tmp_path / "return.csv"
    f.write_text("a,b\n1,2\n")
    problems = package.validate(f)
    assert [p.type for p in problems] == ["local-return"] and "cannot tell what this file is" in problems[0].message


# ------------------------------------------------------------------ the rounding allowance
@settings(max_examples=200, deadline=None)
@given(inpost=st.integers(10, 50000), share=st.floats(0, 1), year=st.integers(2017, 2025))
def test_any_correctly_rounded_rate_passes(inpost, share, year):
    """A rate computed from unrounded counts and rounded as DfE does is never flagged."""
    inpost_exact = inpost / 10 + 0.03
    leavers_exact = inpost_exact * share
    rate = round(leavers_exact / inpost_exact * 100, 1)
    df = pd.DataFrame({"time_period": [str(year)] * 3, "area_code": ["301"] * 3,
                       "measure_id": ["inpost_fte", "leavers_fte", "turnover_rate_fte"],
                       "value": [f"{inpost_exact:.1f}", f"{leavers_exact:.1f}", f"{rate:.1f}"],
                       "symbol": [""] * 3, "release_id": ["2025"] * 3, "source_file": ["f.csv"] * 3})
    assert package._rate_components("observations", df) == []


# ------------------------------------------------------------------ the command
def test_cli_validate_clean(clean):
    res = CliRunner().invoke(cli, ["validate", str(clean)])
    assert res.exit_code == 0, res.output
    assert "valid: 0 errors" in res.output and "--warnings lists them" in res.output


def test_cli_validate_lists_every_problem_and_exits_1(clean, tmp_path):
    pkg = copy(clean, tmp_path)
    plant(pkg, "observations", replace_row("2025,301,inpost_fte,", f"2025,999,inpost_fte,-5.0,,{SRC},20"))
    res = CliRunner().invoke(cli, ["validate", str(pkg / "datapackage.json")])
    assert res.exit_code == 1
    assert "foreign-key" in res.output and "constraint-error" in res.output and "INVALID" in res.output
    js = CliRunner().invoke(cli, ["validate", str(pkg), "--json"])
    assert js.exit_code == 1
    report = json.loads(js.output)
    assert report["valid"] is False and report["errors"] >= 2
    assert {"file", "row", "column", "value", "type", "message", "severity"} <= set(report["problems"][0])


def test_cli_validate_a_build_folder(clean):
    res = CliRunner().invoke(cli, ["validate", str(clean.parent)])
    assert res.exit_code == 0, res.output


def test_cli_validate_missing_package(tmp_path):
    res = CliRunner().invoke(cli, ["validate", str(tmp_path)])
    assert res.exit_code != 0 and "csww package" in res.output


def test_real_package_is_valid(real_db):
    problems = package.validate(real_db.parent / "datapackage")
    assert errors(problems) == [], "\n".join(map(str, errors(problems)[:20]))


def test_agency_cover_rates_may_exceed_100_as_dfe_publishes_them():
    # Sutton (319) 2017 vacancy agency-cover rate was published as 166.7 in the 2022 and 2023 releases;
    # such values are DfE's published figures, not faults.
    assert package.rate_maximum("vacancy_agency_cover_rate_fte") is None
    assert package.rate_maximum("agency_cover_rate_fte") is None
    assert package.rate_maximum("turnover_rate_fte") == 100.0
    assert package.rate_maximum("inpost_fte") is None


def test_whole_shared_folder_package_has_no_errors(whole_build):
    problems = package.validate(whole_build.package)
    assert package.is_valid(problems), [str(p) for p in problems if p.severity == "error"][:5]
