"""Time every comparison for every council, year and measure against the build that produces the database.

    PYTHONPATH=. python perf/compare_all.py [../shared/dfe]

Prints the build time (which now includes writing the comparisons), the time to compute all comparison
records in memory, the consistency check, and a full write_comparisons on the built database (best of 3;
it replaces the tables the build wrote, so it includes deleting them).
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from benchmark import build, compare, store


def timed(fn, repeat: int = 3):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main(shared: Path) -> None:
    sources = [shared / "csww_indicators_2017_to_2025.csv", shared / "csww_indicators_2017_to_2024.csv", shared / "sfr"]
    with tempfile.TemporaryDirectory() as tmp:
        t_build, report = timed(lambda: build.build(sources, tmp))
        conn = sqlite3.connect(report.database)
        obs, areas = compare.load(conn)
        changes = store.query(conn, "SELECT * FROM area_changes")
        t_compute, recs = timed(lambda: compare.compute(obs, areas, changes))
        t_check, checks = timed(lambda: compare.consistency(obs, areas))
        t_write, _ = timed(lambda: compare.write_comparisons(conn))
        conn.close()
    rest = t_build - t_write   # reading the files and storing observations
    councils = recs["area_code"].nunique()
    print(f"build (read, store, comparisons):  {t_build:6.2f} s  ({report.observations:,} observations)")
    print(f"compute all comparisons in memory: {t_compute:6.2f} s  ({len(recs):,} records: {councils} councils, "
          f"{recs['time_period'].nunique()} years, {recs['measure_id'].nunique()} measures)")
    print(f"consistency checks:                {t_check:6.2f} s  ({len(checks):,} published aggregates)")
    print(f"write_comparisons (all tables):    {t_write:6.2f} s  = {t_write / t_build:.0%} of the build "
          f"({t_write / rest:.2f} x the read-and-store part, {rest:.2f} s)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1].parent / "shared" / "dfe")
