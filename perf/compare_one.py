"""Time ``csww compare --la 841`` (the fast path: SQLite straight to text, no pandas) against the floor and the
old pandas path, each in a fresh interpreter, measured in the same run (issue 14, item 7: target 0.15 s).

    PYTHONPATH=. python perf/compare_one.py [--db build/csww.db] [--runs 7]

Without --db it builds a database from ../shared/dfe (the 2025 and 2024 releases and the SFR files) first.
Prints the best wall and CPU time of --runs for: ``python -c pass`` (the floor), the interpreter plus the
sqlite3 query (floor 2, the issue's floor), the fast path, and the old path (``compare.council_view`` +
``compare_format.render``, which imports pandas), with the ratios between them. On a loaded machine judge by
the CPU ratios: waiting for a core inflates wall times.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUERY = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
         "print(c.execute('SELECT * FROM comparisons WHERE area_code = ?', ('841',)).fetchall())")
OLD = ("import sys; from benchmark import compare, compare_format, store; conn = store.connect(sys.argv[1]); "
       "a, r, g = compare.council_view(conn, '841'); print(compare_format.render(a, r, g, 'table'))")


def best(cmd: list[str], runs: int) -> tuple[float, float]:
    """The best wall time and the best CPU time (user + system, the child's own) of ``runs`` runs of ``cmd``.
    CPU time is what to compare on a loaded machine: waiting for a core inflates the wall time only."""
    # as an installed package runs: byte-code cached (a first run writes it), whatever PYTHONDONTWRITEBYTECODE says
    env = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}, "PYTHONPATH": str(ROOT)}
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
        walls.append(time.perf_counter() - t)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return min(walls), min(cpus)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db
        if db is None:
            from benchmark.build import build  # only to make a database when none is given

            shared = ROOT.parent / "shared" / "dfe"
            build([shared / "csww_indicators_2017_to_2025.csv", shared / "csww_indicators_2017_to_2024.csv",
                   shared / "sfr"], tmp)
            db = str(Path(tmp) / "csww.db")
        py = sys.executable
        floor = best([py, "-c", "pass"], args.runs)
        query = best([py, "-c", QUERY, db], args.runs)
        fast = best([py, "-m", "benchmark", "compare", "--la", "841", "--db", db], args.runs)
        old = best([py, "-c", OLD, db], args.runs)
    print("                                   wall s   CPU s   (best of each; CPU = user + system)")
    for name, (w, c) in [("python -c pass (floor)", floor), ("python + sqlite3 query (floor 2)", query),
                         ("csww compare --la 841 (fast)", fast), ("old path (pandas)", old)]:
        print(f"{name:34} {w:6.3f}  {c:6.3f}")
    print(f"fast path: {fast[0] / query[0]:.1f} x floor 2 by wall time, {fast[1] / query[1]:.1f} x by CPU time; "
          f"{fast[0] - query[0]:.3f} s (wall) above it (target: 0.15 s in all, on an idle machine)")
    print(f"old path:  {old[0] / query[0]:.1f} x floor 2 by wall time; the fast path takes {fast[0] / old[0]:.0%} of "
          f"its wall time and {fast[1] / old[1]:.0%} of its CPU time")

if __name__ == "__main__":
    main()
