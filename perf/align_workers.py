"""Time ``csww align`` on 1,000,000 generated worker records (target: under 10 s on a 2-core machine).

    PYTHONPATH=. python perf/align_workers.py [N]

Generates a worker-level HR extract (CSV) in a temporary directory (not timed), then times
``benchmark.local.align`` on it: reading, validating, hashing the ids, counting and building the figures.
Not run by the test suite.
"""

from __future__ import annotations

import gc
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.local import align

REF = pd.Timestamp("2024-09-30")


def generate(n: int, seed: int = 2024) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    people = rng.integers(0, int(n * 0.9), n)                        # about 10 % of people hold two posts
    agency = rng.random(n) < 0.1
    start = REF - pd.to_timedelta(rng.integers(0, 30 * 365, n), unit="D")
    leaves = rng.random(n) < 0.15
    end = start + pd.to_timedelta(rng.integers(0, 3 * 365, n), unit="D")
    end = end.where(leaves & (end <= REF))
    fte = np.round(rng.uniform(0.2, 1.0, n), 2).astype(str)
    fte[rng.random(n) < 0.01] = ""                                  # some missing FTEs
    return pd.DataFrame({
        "area_code": "841",
        "worker_id": [f"SW{p:010d}" for p in people],
        "agency": agency.astype(int),
        "fte": fte,
        "start_date": start.strftime("%Y-%m-%d"),
        "end_date": pd.Series(end).dt.strftime("%Y-%m-%d").fillna(""),
        "reference_date": REF.strftime("%Y-%m-%d"),
        "start_origin": rng.integers(1, 11, n),
        "leave_reason": np.where(leaves, rng.integers(1, 11, n).astype(str), ""),
        "cases": rng.integers(0, 30, n),
        "working_days_lost": np.round(rng.exponential(5, n), 1),
        "qualification_date": (start - pd.to_timedelta(rng.integers(0, 5 * 365, n), unit="D")).strftime("%Y-%m-%d"),
    })


def main(n: int = 1_000_000) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "workers.csv"
        t0 = time.perf_counter()
        generate(n).to_csv(path, index=False)
        print(f"generated {n:,} worker records in {time.perf_counter() - t0:.1f} s ({path.stat().st_size / 1e6:.0f} MB)")
        gc.collect()
        t0, c0 = time.perf_counter(), time.process_time()
        figures = align(path)
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    inpost = next(f for f in figures if f.measure_id == "inpost_headcount")
    print(f"aligned {n:,} worker records into {len(figures)} figures in {elapsed:.2f} s "
          f"(CPU {cpu:.2f} s; in post: {inpost.value:,.0f}; target under 10 s)")
    return elapsed


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
