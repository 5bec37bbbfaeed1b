"""A file too large to build in 2 GB fails early and clearly (issue 14 item 4): past the ceiling on values read
(``readers.MAX_VALUES``, ``--max-values``, ``CSWW_MAX_VALUES``) the build stops while reading, naming the file,
the row reached and the ceiling, exit 1, no traceback, nothing written. Tested with small ceilings; the 1 GB
CSV itself is perf/big_csv.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FIXTURES

from benchmark import readers
from benchmark.cli import cli
from benchmark.problems import UsageError
from benchmark.readers import InputError, SourceFile, max_values, read_file, read_sources

MINI = FIXTURES / "indicators_mini.csv"  # 32 rows of 22 measures: 704 values
SMALL_2024 = FIXTURES / "indicators_2024_small.csv"


def _stops(out, args, env=None) -> str:
    result = CliRunner().invoke(cli, ["build", *args, "--out", str(out), "-q"], env=env)
    assert result.exit_code == 1, result.output
    assert result.exc_info[0] is SystemExit  # a message, not an exception escaping the command
    assert "Traceback" not in result.output
    assert "1 problem found; nothing was written" in result.output
    assert not out.exists()  # not even the build folder or its lock
    return result.output


def test_real_2025_file_past_a_small_ceiling_names_file_row_and_ceiling(shared, tmp_path):
    src = shared / "csww_indicators_2017_to_2025.csv"
    out = _stops(tmp_path / "out", ["--from", str(src), "--from", str(shared / "sfr"), "--max-values", "10000"])
    # 22 values a row: 455 data rows (file rows 2-456) are 10,010 values, the first past 10,000
    assert f"{src}, row 456: more than 10,000 values read" in out
    assert "--max-values or CSWW_MAX_VALUES" in out


def test_hand_made_file_past_the_ceiling_set_in_the_environment(tmp_path):
    out = _stops(tmp_path / "out", ["--from", str(MINI)], env={"CSWW_MAX_VALUES": "100"})
    assert f"{MINI}, row 6: more than 100 values read" in out  # rows 2-6: 110 values


def test_ceiling_counts_every_file_of_the_build_and_names_the_one_reached():
    assert [len(r.observations) for r in read_sources([MINI], ceiling=704)] == [704]  # exactly at it: read
    with pytest.raises(InputError) as exc:
        read_sources([MINI, SMALL_2024], ceiling=704 + 30)
    (problem,) = exc.value.problems
    # indicators_2024_small.csv: its row 2 (England) has 22 values, row 3 takes the count past 734
    assert (problem.file, problem.row) == (str(SMALL_2024), 3)


def test_ceiling_passed_in_a_later_chunk_names_the_row_and_keeps_no_result():
    with pytest.raises(InputError) as exc:
        read_file(SourceFile(str(MINI), path=MINI), chunk_rows=7, ceiling=200)  # chunk 1 is 154 values
    (problem,) = exc.value.problems
    assert problem.row == 11  # rows 2-10 are 198 values, row 11 takes them to 220
    assert "more than 200 values read" in problem.message


def test_ceiling_setting_must_be_a_whole_number_above_zero(monkeypatch):
    monkeypatch.setenv("CSWW_MAX_VALUES", "2e6")
    with pytest.raises(UsageError, match="CSWW_MAX_VALUES='2e6'"):
        max_values()
    monkeypatch.setenv("CSWW_MAX_VALUES", "1500000")
    assert max_values() == 1_500_000
    assert max_values(20) == 20
    result = CliRunner().invoke(cli, ["build", "--from", str(MINI), "--max-values", "0"])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_a_wide_file_is_read_in_fewer_rows_at_a_time_with_the_same_result(shared, monkeypatch):
    path = shared / "sfr" / "SFR08_2017_UD.csv"  # 162 columns, 196 rows, cp1252, ends with comma-only lines
    whole = read_file(SourceFile(str(path), path=path))
    monkeypatch.setattr(readers, "CHUNK_CELLS", 162 * 25)  # pieces of 25 rows
    with readers._chunks(SourceFile(str(path), path=path), readers.CHUNK_ROWS, readers.CHUNK_CELLS) as (_, frames):
        assert [len(f) for f in frames] == [25] * 7 + [21]  # 196 lines below the header
    pieces = read_file(SourceFile(str(path), path=path))
    assert len(whole.observations) == len(pieces.observations) == 3423
    assert len(whole.breakdowns) == len(pieces.breakdowns) == 21516
    assert whole.observations.reset_index(drop=True).equals(pieces.observations.reset_index(drop=True))
    # breakdowns come piece after piece (the build sorts them by key): the same rows
    key = ["time_period", "area_code", "measure_id", "breakdown_topic", "breakdown", "role"]
    a, b = (x.sort_values(key).reset_index(drop=True) for x in (whole.breakdowns, pieces.breakdowns))
    assert a.equals(b)


def test_the_ceiling_the_help_and_readme_state_is_the_one_the_build_uses():
    """``cli.py`` must not import the readers (a quick command stays without pandas), so ``csww build --help``
    states the default by hand, as the README does: both must say ``readers.MAX_VALUES``."""
    stated = f"{readers.MAX_VALUES:,}"
    assert stated == "750,000"
    help_text = " ".join(CliRunner().invoke(cli, ["build", "--help"]).output.split())
    assert f"(default {stated};" in help_text
    readme = " ".join((Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8").split())
    assert f"at most {stated} values" in readme
