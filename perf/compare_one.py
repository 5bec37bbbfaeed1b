"""Time ``csww compare --la 841`` (the fast path: SQLite straight to text, no pandas) against the floor and the
old pandas path, each in a fresh interpreter, measured in the same run (issue 14, item 7: target 0.15 s).

    PYTHONPATH=. python perf/compare_one.py [--db build/csww.db] [--runs 7]

Without --db it builds a database from ../shared/dfe (the 2025 and 2024 releases and the SFR files) first.
Prints the best of --runs for: ``python -c pass`` (the floor), the fast path, and the old path
(``compare.council_view`` + ``compare_format.render``, which imports pandas), with the ratios between them.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OLD = ("import sys; from benchmark import compare, compare_format, store; conn = store.connect(sys.argv[1]); "
       "a, r, g = compare.council_view(conn, '841'); print(compare_format.render(a, r, g, 'table'))")


def best(cmd: list[str], runs: int) -> float:
    # as an installed package runs: byte-code cached (a first run writes it), whatever PYTHONDONTWRITEBYTECODE says
    env = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}, "PYTHONPATH": str(ROOT)}
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
        times.append(time.perf_counter() - t)
    return min(times)


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
        fast = best([py, "-m", "benchmark", "compare", "--la", "841", "--db", db], args.runs)
        old = best([py, "-c", OLD, db], args.runs)
    print(f"python -c pass (floor):          {floor:6.3f} s")
    print(f"csww compare --la 841 (fast):    {fast:6.3f} s  = {fast / floor:4.1f} x the floor, "
          f"{fast - floor:.3f} s above it (target: 0.15 s in all)")
    print(f"old path (pandas):               {old:6.3f} s  = {old / floor:4.1f} x the floor; "
          f"the fast path takes {fast / old:.0%} of it")


if __name__ == "__main__":
    main()
