"""One build, one unit (issue 14 item 2), incremental rebuild (item 5): the database and the package of
``OUT`` always come from one build, whatever moment a build is killed at; a second build into the same
``OUT`` waits or fails clearly; an unchanged rebuild is up to date without importing pandas."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FIXTURES, ROOT

from benchmark import buildstate
from benchmark.build import build
from benchmark.cli import cli
from benchmark.problems import OutputError

MINI = FIXTURES / "indicators_mini.csv"
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def csww(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *kw.pop("py", []), "-m", "benchmark", *args], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def ids(out: Path) -> tuple[str, str, str] | None:
    """(database, package, build.json) build ids of the current build of ``out``; None when there is none."""
    if not (out / "csww.db").exists():
        assert not (out / "datapackage").exists() or not (out / "current").exists()
        return None
    with sqlite3.connect(f"file:{out / 'csww.db'}?mode=ro", uri=True) as conn:
        (db_id,) = conn.execute("select value from build_info where key='build_id'").fetchone()
        assert conn.execute("select count(*) from observations").fetchone() == (704,)
    pkg = json.loads((out / "datapackage" / "datapackage.json").read_text())
    state = json.loads((out / "current" / "build.json").read_text())
    return db_id, pkg["x-csww"]["build_id"], state["build_id"]


@pytest.fixture(scope="module")
def first(tmp_path_factory) -> tuple[Path, float]:
    """OUT after one whole build of the hand-made fixture by the command line, and how long it took."""
    out = tmp_path_factory.mktemp("unit") / "OUT"
    start = time.monotonic()
    p = csww("build", "--from", str(MINI), "--out", str(out), "-q")
    stdout, stderr = p.communicate(timeout=120)
    assert p.returncode == 0, stderr
    return out, time.monotonic() - start


def test_database_and_package_carry_one_build_id(first):
    out, _ = first
    db_id, pkg_id, state_id = ids(out)
    assert db_id == pkg_id == state_id and len(os.listdir(out / "builds")) == 1
    assert os.readlink(out / "current") == f"builds/{db_id}"
    assert os.readlink(out / "csww.db") == "current/csww.db"


def _forked_build(out: Path) -> multiprocessing.Process:
    """A build of the hand-made fixture in a forked child (the toolkit already imported, so each of the 20
    builds costs only its own work), as ``csww build --force`` runs it."""
    p = multiprocessing.get_context("fork").Process(target=build, args=([MINI], out), daemon=True)
    p.start()
    return p


def test_killed_at_random_moments_the_current_database_and_package_are_one_build(first):
    """20 builds, each killed (SIGKILL) at a random moment of a whole build's time: after every kill the
    current database and package carry the same build id (the previous build's, or the new one's)."""
    out, _ = first
    start = time.monotonic()
    p = _forked_build(out)
    p.join(120)
    took = time.monotonic() - start
    assert p.exitcode == 0
    rng = random.Random(14)
    seen, finished = {ids(out)[0]}, 0
    for _ in range(20):
        p = _forked_build(out)
        time.sleep(rng.uniform(0, took))
        os.kill(p.pid, signal.SIGKILL)
        p.join()
        finished += p.exitcode == 0
        db_id, pkg_id, state_id = ids(out)
        assert db_id == pkg_id == state_id
        seen.add(db_id)
    assert finished < 20  # most were killed part way
    # the next whole build removes what the killed ones left
    p = _forked_build(out)
    p.join(120)
    assert p.exitcode == 0
    (only,) = os.listdir(out / "builds")
    assert ids(out)[0] == only and only not in seen
    assert sorted(os.listdir(out)) == [".lock", "builds", "csww.db", "current", "datapackage"]


def test_a_second_build_into_a_locked_out_fails_clearly_and_changes_nothing(first):
    out, _ = first
    before = ids(out)
    with buildstate.lock(out):
        r = CliRunner().invoke(cli, ["build", "--from", str(MINI), "--out", str(out), "--force", "--wait", "0"])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert (f"{out}: another csww build (process {os.getpid()}) is writing here; nothing was written. "
            "Try again when it has finished.") in r.output
    assert ids(out) == before and len(os.listdir(out / "builds")) == 1


def test_a_failed_first_build_leaves_no_folder_and_a_waiting_build_locks_the_new_lock_file(tmp_path):
    out, events = tmp_path / "OUT", []

    def second():
        with buildstate.lock(out, wait=30, echo=events.append):
            events.append(("held", (out / buildstate.LOCK).read_text()))
            try:  # what it holds is the lock of the file at OUT/.lock, not of the one the first build removed
                with buildstate.lock(out, wait=0):
                    events.append("a third build got in")
            except OutputError as exc:
                events.append(str(exc))

    with pytest.raises(RuntimeError, match="the first build failed"):
        with buildstate.lock(out):
            waiter = threading.Thread(target=second)
            waiter.start()
            while not events:  # the second build is waiting
                time.sleep(0.01)
            raise RuntimeError("the first build failed")
    waiter.join(30)
    assert events == [f"waiting for another csww build (process {os.getpid()}) writing {out}",
                      ("held", str(os.getpid())),
                      f"{out}: another csww build (process {os.getpid()}) is writing here; nothing was written. "
                      "Try again when it has finished."]
    assert not out.exists()  # the second made OUT again and, holding nothing but its lock, removed it too


def test_another_processs_lock_names_its_process_and_goes_when_it_is_killed(tmp_path):
    """The lock (filelock's flock / LockFileEx) of a build in another process: the message names that process's id
    (read from OUT/.lock while it holds it), and SIGKILL, which runs no clean-up, lets the next build in."""
    out = tmp_path / "OUT"
    holder = subprocess.Popen([sys.executable, "-c", "import sys; from benchmark import buildstate\n"
                               f"with buildstate.lock({str(out)!r}):\n    print('held', flush=True); sys.stdin.read()"],
                              cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        with pytest.raises(OutputError) as e:
            with buildstate.lock(out, wait=0):
                pass
        assert str(e.value) == (f"{out}: another csww build (process {holder.pid}) is writing here; nothing was "
                                "written. Try again when it has finished.")
    finally:
        holder.kill()
        holder.wait(10)
    with buildstate.lock(out, wait=5):
        assert (out / buildstate.LOCK).read_text() == str(os.getpid())
    assert os.listdir(out) == [buildstate.LOCK]  # the killed holder made it, this lock did not: left as it was


def test_two_builds_at_once_both_succeed_one_after_the_other(tmp_path):
    out = tmp_path / "OUT"
    runs = [csww("build", "--from", str(MINI), "--out", str(out), "-q") for _ in range(2)]
    results = [p.communicate(timeout=180) for p in runs]
    assert [p.returncode for p in runs] == [0, 0], results
    db_id, pkg_id, _ = ids(out)
    assert db_id == pkg_id and os.listdir(out / "builds") == [db_id]
    # one waited for the other, then built: the current build is the one that finished last
    assert sum(f"(build {db_id})" in stdout for stdout, _ in results) == 1


def test_an_unchanged_rebuild_is_up_to_date_without_pandas(first):
    out, _ = first
    before = ids(out)
    p = csww("build", "--from", str(MINI), "--out", str(out), py=["-X", "importtime"])
    stdout, stderr = p.communicate(timeout=60)
    assert p.returncode == 0, stderr
    assert stdout.startswith(f"{out} is up to date: build {before[0]} has the same inputs, toolkit and options")
    imported = {line.split("|")[-1].strip() for line in stderr.splitlines() if line.startswith("import time:")}
    assert "benchmark.buildstate" in imported and "click" in imported  # the walk works
    assert not {"pandas", "numpy", "benchmark.build", "benchmark.readers"} & imported
    assert "filelock" not in imported  # some 50 ms of modules: imported when a build locks OUT, never when up to date
    assert ids(out) == before


def test_the_fingerprint_follows_every_input_byte(tmp_path):
    data = tmp_path / "in" / "a.csv"
    data.parent.mkdir()
    data.write_bytes(MINI.read_bytes())
    one = buildstate.fingerprint([data.parent])
    assert buildstate.fingerprint([data]) == one  # a folder is the files under it
    data.write_bytes(MINI.read_bytes() + b"\n")
    assert buildstate.fingerprint([data.parent]) != one
    assert buildstate.fingerprint([data.parent], [MINI]) != buildstate.fingerprint([data.parent])
    assert buildstate.fingerprint([tmp_path / "missing.csv"])["inputs"] == [str(tmp_path / "missing.csv")]
