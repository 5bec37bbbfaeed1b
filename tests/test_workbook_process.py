"""The package's workbook written by a process of its own alongside the build (issue 14 item 6): the same cells
as the CSVs, a failure of the process fails the package (a message, or the traceback of a bug), and the process
never outlives the build that started it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT
from openpyxl import load_workbook

from benchmark import package, workbook
from benchmark.problems import OutputError

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
FIELDS = [{"name": "area_code", "type": "string"}, {"name": "value", "type": "number"}]
ABOUT = {"title": "t", "version": "1.0.0", "description": "d", "licenses": [{"title": "OGL", "path": "u"}],
         "resources": [{"name": "t", "type": "table", "path": "t.csv", "title": "T", "description": "",
                        "schema": {"fields": FIELDS}}]}


def _gone(pid: int) -> bool:
    """The process has ended (a zombie left for a parent that never reaps it counts as ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def _wait_gone(pid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while not _gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)  # polling the kernel's process table, not a timed wait
    return True


def test_real_build_workbook_holds_the_csvs_values(real_db):
    """The quick-tour build's workbook, written by its own process: each sheet has its CSV's rows, numbers as
    numbers and DfE's symbols as text (Darlington's 2025 FTE in post from the 2025 file; the 2015 SFR's 'x')."""
    pkg = real_db.parent / package.PACKAGE_DIR
    wb = load_workbook(pkg / package.WORKBOOK, read_only=True)
    assert wb.sheetnames[:3] == ["About", "observations", "measures"] and "comparisons" not in wb.sheetnames
    obs = {r[:3]: r[3:5] for r in wb["observations"].iter_rows(min_row=2, values_only=True)}
    assert len(obs) == 38_889 == sum(1 for _ in open(pkg / "observations.csv", encoding="utf-8")) - 1
    assert obs[(2025, "841", "inpost_fte")] == (95.6, None) and obs[(2025, "841", "turnover_rate_fte")] == (15.4, None)
    assert obs[(2015, "201", "leavers_fte")] == (None, "x")
    assert wb["neighbours"].max_row == sum(1 for _ in open(pkg / "neighbours.csv", encoding="utf-8")) > 3000
    about = {r[0]: r[4] for r in wb["About"].iter_rows(min_row=2, values_only=True) if r[0] == "CSV only"}
    assert "observation_revisions.csv, comparisons.csv, consistency_checks.csv" in about["CSV only"]


def test_the_workbook_process_needs_neither_pandas_nor_the_database():
    code = ("import sys, benchmark.workbook; "
            "print(sorted(m for m in ('pandas', 'numpy', 'sqlite3', 'benchmark.store') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def _csv(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(["area_code,value", *rows]) + "\n", encoding="utf-8")
    return path


def test_a_bug_in_the_workbook_process_fails_with_its_traceback(tmp_path):
    proc = workbook.WorkbookProcess(tmp_path / "x.xlsx", ABOUT, ["t"])
    proc.table("t", FIELDS, 3, _csv(tmp_path / "t.csv", ["841,95.6", "842,x"]))  # says 3 rows, holds 2
    with pytest.raises(RuntimeError) as exc:
        proc.wait()
    assert "Traceback" in str(exc.value) and "t.csv: 2 rows, not the 3 the package wrote" in str(exc.value)


def test_a_table_never_handed_over_fails_rather_than_waits(tmp_path):
    proc = workbook.WorkbookProcess(tmp_path / "x.xlsx", ABOUT, ["t", "u"])
    proc.table("t", FIELDS, 1, _csv(tmp_path / "t.csv", ["841,95.6"]))
    with pytest.raises(RuntimeError, match=r"the workbook's tables ended before all of \['t', 'u'\] came"):
        proc.wait()


def test_a_workbook_that_cannot_be_written_is_an_output_error(tmp_path):
    target = tmp_path / "gone" / "x.xlsx"  # its folder does not exist
    proc = workbook.WorkbookProcess(target, ABOUT, ["t"])
    proc.table("t", FIELDS, 1, _csv(tmp_path / "t.csv", ["841,95.6"]))
    with pytest.raises(OutputError) as exc:
        proc.wait()
    assert str(exc.value).startswith(f"{target}: cannot write here (")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="a file size limit (RLIMIT_FSIZE) the child inherits")
def test_a_disk_that_fills_while_rows_are_written_is_an_output_error(tmp_path):
    """The Rust writer fails a write of its rows' temporary file with a panic, not an OSError: still a message."""
    import resource

    src = _csv(tmp_path / "t.csv", [f"{800 + i % 100},{i}.5" for i in range(60_000)])
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, hard))  # files past 200 kB cannot grow: a full disk
    try:
        proc = workbook.WorkbookProcess(tmp_path / "x.xlsx", ABOUT, ["t"])  # the child inherits the limit
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    proc.table("t", FIELDS, 60_000, src)
    with pytest.raises(OutputError) as exc:
        proc.wait()
    assert str(exc.value) == f"{tmp_path / 'x.xlsx'}: cannot write here ([Errno 27] File too large)"


def test_the_workbook_written_by_the_process_has_the_csv_cells(tmp_path):
    proc = workbook.WorkbookProcess(tmp_path / "x.xlsx", ABOUT, ["t"], row_limit=3)
    proc.table("t", FIELDS, 3, _csv(tmp_path / "t.csv", ["841,95.6", "=1+2,x", ",3"]))
    proc.wait()
    wb = load_workbook(tmp_path / "x.xlsx", read_only=True)
    assert wb.sheetnames == ["About", "t", "t (2)"]  # two rows below the header per sheet
    assert [r for r in wb["t"].iter_rows(values_only=True)] == [("area_code", "value"), ("841", 95.6), ("'=1+2", "x")]
    assert [r for r in wb["t (2)"].iter_rows(values_only=True)] == [("area_code", "value"), (None, 3)]
    assert any(r[0] == "split" for r in wb["About"].iter_rows(values_only=True))


def test_an_abandoned_package_ends_its_workbook_process_and_leaves_nothing(mini_db, tmp_path):
    pending = package.begin_package(mini_db, tmp_path)
    assert pending.child is not None  # a first package: its workbook is being written
    pid, folder = pending.child.proc.pid, pending.tmp
    pending.abort()
    assert _gone(pid) and not folder.exists() and os.listdir(tmp_path) == []


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc to see the process end")
def test_the_workbook_process_dies_with_its_parent(tmp_path):
    """A build killed (SIGKILL) while its workbook is being written leaves no process writing."""
    parent = subprocess.Popen([sys.executable, "-c", (
        "import sys, json; from pathlib import Path; from benchmark import workbook\n"
        f"p = workbook.WorkbookProcess(Path({str(tmp_path / 'x.xlsx')!r}), json.loads(sys.argv[1]), ['t'])\n"
        "print(p.proc.pid, flush=True)\n"
        "sys.stdin.read()  # the table never comes\n"), __import__("json").dumps(ABOUT)],
        env=ENV, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    pid = int(parent.stdout.readline())
    assert not _gone(pid)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    assert _wait_gone(pid)
