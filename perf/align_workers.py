"""Time ``csww align`` on 1,000,000 generated worker records (targets: at least 250,000 records/s and under
700 MiB peak memory on a 2-core machine).

    PYTHONPATH=. python perf/align_workers.py [N] [RUNS]

Generates a worker-level HR extract (CSV, with the ASYE columns) in a temporary directory (not timed), then, each
in a fresh process, times the baseline (pandas reading the same file as text, which every CSV reader must do) and
``benchmark.local.align`` on it: reading, validating, hashing the ids, counting and building the figures. Prints
records/s and peak memory (the child's own maximum resident set, VmHWM), each also as a ratio to the baseline measured in
the same run. With RUNS (default 1), the baseline and the align are timed RUNS times, one after the other, and every
run is printed, then the slowest and the median: the target holds only if it holds on every run. Not run by the test
suite.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

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
    asye = (rng.random(n) < 0.05) & ~agency                           # newly qualified: on the ASYE
    asye_end = start + pd.Timedelta(days=365)
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
        "asye_start_date": np.where(asye, start.strftime("%Y-%m-%d"), ""),
        "asye_end_date": np.where(asye & (asye_end <= REF), asye_end.strftime("%Y-%m-%d"), ""),
        "asye_deferred": np.where(asye, (rng.random(n) < 0.05).astype(int).astype(str), ""),
    })


CHILD = """
import json, resource, sys, time
import pandas as pd
from benchmark.local import align
t0, c0 = time.perf_counter(), time.process_time()  # imports are not timed
if sys.argv[1] == "baseline":
    out = len(pd.read_csv(sys.argv[2], dtype=object, keep_default_na=False))
else:
    out = len(align(sys.argv[2]))
try:  # this process's own peak: ru_maxrss keeps the parent's across fork and exec (Linux), VmHWM does not
    peak = next(int(x.split()[1]) for x in open("/proc/self/status") if x.startswith("VmHWM:")) / 1024
except (OSError, StopIteration):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0, "out": out,
                  "peak_mib": peak}))
"""


def _child(kind: str, path: Path) -> dict:
    """Run ``kind`` (baseline or align) on ``path`` in a fresh Python, so that its peak memory is its own."""
    done = subprocess.run([sys.executable, "-c", CHILD, kind, str(path)], capture_output=True, text=True,
                          check=True, cwd=Path(__file__).resolve().parent.parent)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(n: int = 1_000_000, runs: int = 1) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "workers.csv"
        t0 = time.perf_counter()
        generate(n).to_csv(path, index=False)
        print(f"generated {n:,} worker records in {time.perf_counter() - t0:.1f} s ({path.stat().st_size / 1e6:.0f} MB)")
        gc.collect()
        pairs = []
        for i in range(runs):
            pairs.append((_child("baseline", path), _child("align", path)))
            if runs > 1:
                _report(n, *pairs[-1], prefix=f"run {i + 1}: ")
    if runs > 1:
        rates = sorted(n / run["seconds"] for _, run in pairs)
        print(f"{runs} runs: slowest {rates[0]:,.0f} records/s, median {rates[len(rates) // 2]:,.0f} "
              f"(target >= 250,000 on every run); CPU median "
              f"{sorted(run['cpu'] for _, run in pairs)[len(pairs) // 2]:.2f} s; peak at most "
              f"{max(run['peak_mib'] for _, run in pairs):.0f} MiB")
        return sorted(run["seconds"] for _, run in pairs)[len(pairs) // 2]
    return _report(n, *pairs[0])


def _report(n: int, base: dict, run: dict, prefix: str = "") -> float:
    rate, base_rate = n / run["seconds"], n / base["seconds"]
    print(prefix, end="")
    print(f"baseline (pandas reads the file as text): {base['seconds']:.2f} s, {base_rate:,.0f} records/s, "
          f"peak {base['peak_mib']:.0f} MiB")
    print(f"align: {n:,} worker records into {run['out']} figures in {run['seconds']:.2f} s (CPU {run['cpu']:.2f} s), "
          f"{rate:,.0f} records/s (target >= 250,000), peak {run['peak_mib']:.0f} MiB (target < 700)")
    print(f"ratio to baseline: time x{run['seconds'] / base['seconds']:.2f}, peak memory x"
          f"{run['peak_mib'] / base['peak_mib']:.2f}")
    return run["seconds"]


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000, int(sys.argv[2]) if len(sys.argv) > 2 else 1)
