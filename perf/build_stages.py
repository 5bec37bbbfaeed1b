"""Time each step of a build (read + check, database, comparisons, package) against the pandas -> SQLite floor.

    python perf/build_stages.py [--repeat 2] [--no-package]

Issue 14 item 6, stage by stage. For the quick-tour sources and the whole ../shared/dfe folder (the cases of
``perf/build_full.py``), each run in a fresh process in this run: the floor (``build_full.floor``: the same
CSVs read with pandas, melted and written with ``to_sql``) and ``benchmark.build.build`` with its ``stage``
callback timing each step. Prints the best seconds of each step and its ratio to the floor, so a step's cost
can be followed from run to run on a busy machine (compare ratios, not seconds).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_full import CASES, ROOT, SHARED, floor  # noqa: E402  (the same floor and cases as build_full)

STEPS = {"Reading": "read + check", "Writing the database": "database", "Comparing": "comparisons",
         "Finishing the data package": "package", "Starting the data package": "package",
         "Checking": "read + check"}


def child(kind: str, out: str, package: bool, sources: list[str]) -> None:
    sys.path.insert(0, str(ROOT))
    paths = [Path(s) for s in sources]
    if kind == "floor":
        t0 = time.perf_counter()
        floor(paths, Path(out) / "floor.db")
        print(json.dumps({"floor": time.perf_counter() - t0}))
        return
    from benchmark import build as build_module

    if not package:
        class NoPackage:  # begin_package's result, writing nothing
            def finish(self, *a, **k):
                return None

            def abort(self):
                return None
        build_module.package.begin_package = lambda *a, **k: NoPackage()
    marks: list[tuple[str, float]] = []
    t0 = time.perf_counter()
    build_module.build(paths, out, stage=lambda m: marks.append((m, time.perf_counter())),
                       fingerprint={"perf": time.time()})
    end = time.perf_counter()
    times = {}
    for (message, start), (_, stop) in zip(marks, marks[1:] + [("", end)]):
        step = next((v for k, v in STEPS.items() if message.startswith(k)), message)
        times[step] = times.get(step, 0.0) + stop - start
    times["total"] = end - t0
    print(json.dumps(times))


def run(kind: str, out: Path, package: bool, sources: list[Path]) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", kind, str(out), str(int(package)), *map(str, sources)],
                          check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--no-package", action="store_true", help="skip the package step (not timed)")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.child[2] == "1", args.child[3:])
        return
    if not SHARED.exists():
        sys.exit(f"{SHARED} not found")
    for label, names in CASES.items():
        sources = [SHARED / n for n in names]
        floors, builds = [], []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as tmp:
                floors.append(run("floor", Path(tmp), True, sources)["floor"])
            with tempfile.TemporaryDirectory() as tmp:
                builds.append(run("build", Path(tmp) / "OUT", not args.no_package, sources))
        base = min(floors)
        print(f"{label}: floor {base:.2f} s (best of {args.repeat})")
        for step in builds[0]:
            best = min(b[step] for b in builds)
            print(f"  {step:14s} {best:6.2f} s = {best / base:5.2f} x the floor")


if __name__ == "__main__":
    main()
