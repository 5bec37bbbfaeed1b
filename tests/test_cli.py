"""The ``csww`` command line itself (benchmark/cli.py): Ctrl-C, its help examples, the build's report lines."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys

from click.testing import CliRunner
from conftest import FIXTURES, ROOT

from benchmark import buildstate
from benchmark.cli import cli


def test_ctrl_c_during_build_exits_130_with_one_line_and_changes_nothing(tmp_path):
    """SIGINT while 'csww build' waits for the build lock (held here, so the moment is certain): exit 130 and
    one line, no traceback, no build written."""
    out = tmp_path / "out"
    with buildstate.lock(out):
        proc = subprocess.Popen([sys.executable, "-m", "benchmark", "build", "--from",
                                 str(FIXTURES / "indicators_2025_small.csv"), "--out", str(out), "--wait", "60"],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        seen = []
        for line in proc.stderr:
            seen.append(line)
            if line.startswith("waiting for another csww build"):
                break
        assert seen and seen[-1].startswith("waiting for another csww build"), seen
        os.kill(proc.pid, signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
        assert sorted(p.name for p in out.iterdir()) == [buildstate.LOCK]  # no builds/, no csww.db
    assert proc.returncode == 130
    assert stderr == "interrupted: nothing was changed\n"
    assert stdout == ""


RETURN_2025 = ("area_code,la_name,period_start,period_end,inpost_fte,inpost_headcount\n"
               "841,Darlington,2024-10-01,2025-09-30,90,95\n")


def test_as_at_counts_a_release_with_no_recorded_date_from_the_end_of_february(tmp_path):
    """The new-user review: a 2024-25 return read at 1 Nov 2026 was set beside DfE 2024, because the catalogue had
    no 2025 release. Its day is not recorded offline: taken as the end of February 2026, and said so."""
    ret = tmp_path / "a25.csv"
    ret.write_text(RETURN_2025, encoding="utf-8")
    no_db = ["--db", str(tmp_path / "none.db")]
    runner = CliRunner()
    res = runner.invoke(cli, ["align", str(ret), "--as-at", "2026-11-01", *no_db])
    assert res.exit_code == 0, res.output
    assert res.output.splitlines()[:2] == [
        "841: 01 Oct 2024 to 30 Sep 2025 (set beside DfE 2025: at DfE's 30 Sep 2025 census), a25.csv row 2",
        "  note: DfE's publication date of the 2025 census is not recorded: taken as published by 28 Feb 2026, as "
        "every release so far was published in late February of the year after its census"]
    res = runner.invoke(cli, ["align", str(ret), "--as-at", "2026-01-31", *no_db])     # before it was due
    assert "(set beside DfE 2024: 12 months after DfE's 30 Sep 2024 census)" in res.output.splitlines()[0]
    res = runner.invoke(cli, ["align", str(ret), "--as-at", "2026-02-15", *no_db])     # when it was due: ask
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert res.output.startswith("Error: --as-at 2026-02-15: DfE's publication date of the 2025 census is not "
                                 "recorded")
    assert "or give an --as-at before 1 Feb 2026 or from 1 Mar 2026" in res.output


def test_as_at_takes_the_date_a_fetched_build_recorded(mini_db, tmp_path):
    """EES's 'published' date, stored by 'csww fetch' in the build's releases table, wins over the assumption."""
    db = tmp_path / "csww.db"
    shutil.copyfile(mini_db, db)
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO releases (release_id, title, kind, data_year, published) "
                     "VALUES ('2025', 'Reporting year 2025', 'ees', 2025, '2026-02-26T09:30:00')")
    ret = tmp_path / "a25.csv"
    ret.write_text(RETURN_2025, encoding="utf-8")
    runner = CliRunner()
    res = runner.invoke(cli, ["align", str(ret), "--as-at", "2026-02-26", "--db", str(db)])
    assert res.exit_code == 0, res.output
    assert "(set beside DfE 2025: at DfE's 30 Sep 2025 census)" in res.output and "not recorded" not in res.output
    res = runner.invoke(cli, ["align", str(ret), "--as-at", "2026-02-25", "--db", str(db)])
    assert res.exit_code == 0 and "(set beside DfE 2024: 12 months after" in res.output
    # a build from files given with --from records the catalogue's dates
    with sqlite3.connect(mini_db) as conn:
        assert conn.execute("SELECT published FROM releases WHERE data_year = 2024").fetchone() == ("2025-02-27",)


def test_a_build_with_fewer_releases_than_the_one_it_replaces_warns(tmp_path):
    """The new-user review: an offline 'csww build' after the quick tour silently dropped release 2024. A build
    missing releases the current build had says which (a warning: exit 0), also with --quiet (on stderr)."""
    out = str(tmp_path / "out")
    runner = CliRunner()
    both = runner.invoke(cli, ["build", "-q", "--from", str(FIXTURES / "sfr"), "--out", out])
    assert both.exit_code == 0, both.output
    first = buildstate.current(out)["build_id"]
    with sqlite3.connect(tmp_path / "out" / "csww.db") as conn:
        assert conn.execute("SELECT release_id FROM releases ORDER BY data_year").fetchall() == [
            ("SFR07/2016",), ("SFR08/2017",)]
    res = runner.invoke(cli, ["build", "-q", "--from", str(FIXTURES / "sfr" / "sfr_2015_small.csv"), "--out", out])
    assert res.exit_code == 0, res.output
    assert res.stderr == (f"warning: the previous build ({first}) also had release SFR08/2017: give --from for it to "
                          "keep it (this build has SFR07/2016)\n")
    assert res.stdout.startswith(f"wrote {out}/csww.db (build ") and len(res.stdout.splitlines()) == 1
    assert buildstate.current(out)["build_id"] != first                     # a warning: the build was made
