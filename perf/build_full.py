"""Time a full build from the shared DfE files and print the figures.

    python perf/build_full.py [--repeat 3]

Builds (a) the issue's command: the 2025 and 2024 indicator files plus the SFR folder, and (b) every
layout in ../shared/dfe (four EES releases and both SFR files). Prints wall time per build, best of
the repeats, with the stages split out (reading vs writing the database). Then times ``csww build`` run
again on unchanged inputs (the up-to-date check: issue 14 item 5, <= 1 s), against a bare interpreter
start measured in the same run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmark import readers  # noqa: E402
from benchmark.build import build  # noqa: E402

SHARED = ROOT.parent / "shared" / "dfe"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if not SHARED.exists():
        sys.exit(f"{SHARED} not found")
    cases = {
        "issue command (2025 + 2024 + SFR)": [SHARED / "csww_indicators_2017_to_2025.csv",
                                              SHARED / "csww_indicators_2017_to_2024.csv", SHARED / "sfr"],
        "whole ../shared/dfe folder": [SHARED],
    }
    for label, sources in cases.items():
        reads, builds = [], []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            readers.read_sources(sources)
            reads.append(time.perf_counter() - t0)
            with tempfile.TemporaryDirectory() as out:
                t0 = time.perf_counter()
                report = build(sources, out)
                builds.append(time.perf_counter() - t0)
        print(f"{label}: build {min(builds):.2f} s (read {min(reads):.2f} s), "
              f"{report.observations:,} observations, {report.revisions:,} release values, best of {args.repeat}")
    sources = cases["issue command (2025 + 2024 + SFR)"]
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "benchmark", "build", "-q", "--out", out,
               *[a for s in sources for a in ("--from", str(s))]]
        subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True)
        again, bare = [], []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            done = subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True, text=True)
            again.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", "pass"], check=True)
            bare.append(time.perf_counter() - t0)
        assert "is up to date" in done.stdout, done.stdout
    print(f"unchanged rebuild (csww build again): {min(again):.2f} s = {min(again) / min(builds):.3f} x the full "
          f"build, {min(again) / min(bare):.1f} x a bare 'python -c pass' ({min(bare):.3f} s), best of {args.repeat}")


if __name__ == "__main__":
    main()
