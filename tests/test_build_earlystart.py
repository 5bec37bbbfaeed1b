"""``csww build`` starts its workbook's process as soon as the read stage has its frames (issue 14 item 6): before
the values are checked and the database written, the About sheet's parts sent once the database is written; a
failed check ends the process and leaves nothing; the stages it prints are the README's quick tour."""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT
from openpyxl import load_workbook

from benchmark import buildstate, package
from benchmark.build import build
from benchmark.local.store import set_published
from benchmark.problems import InputError

MINI = FIXTURES / "indicators_mini.csv"
pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc to see the workbook's process")


def _workbook_children() -> list[int]:
    """Process ids of this process's children running ``python -m benchmark.workbook``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue  # ended meanwhile
        if ppid == os.getpid() and b"benchmark.workbook" in cmd:
            found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


@pytest.fixture(scope="module")
def watched(tmp_path_factory):
    """A build of the hand-made fixture, with each stage message and the workbook processes running as it began."""
    out = tmp_path_factory.mktemp("early") / "OUT"
    seen: list[tuple[str, list[int], list[str]]] = []

    def stage(message: str) -> None:
        csvs = sorted(p.name for p in (out / buildstate.BUILDS).glob(f"*/.*{package.PACKAGE_DIR}*/*.csv"))
        seen.append((message, _workbook_children(), csvs))
    build([MINI], out, stage=stage)
    return out, seen


def test_the_workbook_process_writes_before_the_values_are_checked_and_the_database_written(watched):
    out, seen = watched
    messages = [m for m, _, _ in seen]
    assert messages.index("Checking the values as csww validate does") < messages.index("Writing the database")
    _, at_check, csvs = seen[messages.index("Checking the values as csww validate does")]
    assert len(at_check) == 1  # started on the frames, before the database exists
    # its sheets' CSVs (and the long revisions table) are written from the frames; the comparisons' are not yet
    assert {"observations.csv", "measures.csv", "areas.csv", "breakdowns.csv", "observation_revisions.csv"} <= set(csvs)
    assert "neighbours.csv" not in csvs and "comparisons.csv" not in csvs
    _, at_database, _ = seen[messages.index("Writing the database")]
    assert at_database == at_check  # the same process, still writing
    assert not _alive(at_check[0])  # waited for: the build has ended it


def test_the_about_sheet_sent_last_is_the_one_written_from_the_database(watched, tmp_path):
    """The About sheet's parts (version, every table and column) reach the process after the database is written:
    the sheet is the one ``csww package`` writes from that database, row for row (both first packages, 1.0.0)."""
    out, _ = watched
    again = package.write_package(out / buildstate.DATABASE, tmp_path)
    built = load_workbook(out / package.PACKAGE_DIR / package.WORKBOOK, read_only=True)
    about = [tuple(r) for r in built["About"].iter_rows(values_only=True)]
    assert about == [tuple(r) for r in load_workbook(again / package.WORKBOOK, read_only=True)["About"].iter_rows(
        values_only=True)]
    assert about[1][2] == "version 1.0.0" and ("observations", "area_code") == about[
        next(i for i, r in enumerate(about) if r[:2] == ("observations", "area_code"))][:2]
    obs = sum(1 for _ in open(out / package.PACKAGE_DIR / "observations.csv", encoding="utf-8")) - 1
    assert obs == built["observations"].max_row - 1 == 704  # 32 rows of 22 measures


def test_the_readme_quick_tour_shows_the_stages_a_build_prints(watched):
    """The README's quick tour (a build without local returns) prints the stages this build announces, in order."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    tour = readme[readme.index("## A quick tour"):]
    block = tour[tour.index("```console"):tour.index("```", tour.index("```console") + 3)]
    printed = [line[:-3] for line in block.splitlines() if re.fullmatch(r"[A-Z][^:]*\.\.\.", line)]
    assert printed == [m for m, _, _ in watched[1]]


def test_a_failed_check_ends_the_started_workbook_process_and_leaves_nothing(tmp_path):
    lines = MINI.read_text(encoding="utf-8").splitlines()
    col = lines[0].split(",").index("turnover_rate_fte")
    row = next(i for i, line in enumerate(lines) if i and line.split(",")[col] not in ("", "x"))
    cells = lines[row].split(",")
    cells[col] = "250"
    lines[row] = ",".join(cells)
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out, started = tmp_path / "OUT", []
    with pytest.raises(InputError, match=r"turnover_rate_fte is 250, above 100"):
        build([bad], out, stage=lambda m: started.extend(_workbook_children()) if m.startswith("Checking") else None)
    assert len(started) == 1 and not _alive(started[0])
    assert not out.exists()  # the build made it: no lock file, build directory, database or package left


def test_a_build_with_a_published_local_return_packages_what_its_database_holds(tmp_path):
    """With a council's return the workbook's process still starts before the database is written. A rebuild
    keeping the return published (the first build's database says so): only the return's tables change, so the
    workbook is written again (not copied) once they are, and they are in the package exactly as ``csww package``
    writes them from that database."""
    local_file = FIXTURES / "local_841_2024q1.csv"
    out, seen = tmp_path / "OUT", []
    first = build([MINI], out, local_files=[local_file], stage=lambda m: seen.append((m, _workbook_children())))
    at = dict(seen)
    assert len(at["Writing the database"]) == 1 and at["Aligning the council's own returns"] == at["Writing the database"]
    assert (out / package.PACKAGE_DIR / "local_returns.csv").read_text(encoding="utf-8").count("\n") == 1  # private
    conn = sqlite3.connect(out / buildstate.DATABASE)
    set_published(conn, first.local_returns, True)
    conn.commit()
    conn.close()
    build([MINI], out, local_files=[local_file], fingerprint={"rebuild": 1})
    built, again = out / package.PACKAGE_DIR, package.write_package(out / buildstate.DATABASE, tmp_path / "again")
    names = sorted(p.name for p in built.glob("*.csv"))
    assert names == sorted(p.name for p in again.glob("*.csv"))
    for name in names:
        assert (built / name).read_bytes() == (again / name).read_bytes(), name
    returns = (built / "local_returns.csv").read_text(encoding="utf-8").splitlines()
    assert len(returns) == 2 and returns[1].startswith(first.local_returns[0] + ",")  # the published return
    sheet = load_workbook(built / package.WORKBOOK, read_only=True)["local_returns"]
    assert [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)] == first.local_returns
