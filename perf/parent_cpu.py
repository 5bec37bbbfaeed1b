"""The build process's own CPU per stage, against the floor's CPU and the workbook process's, in the same run.

    python perf/parent_cpu.py [--repeat 3] [--case quick|whole] [--baseline ../main]

Issue 14 item 6: once the workbook's process starts after the read stage, the build process's own path (the
database, the comparisons and the rest of the package) runs beside it and should take no longer. CPU seconds,
not wall seconds, so that the figures mean something on a busy machine: for each case of
``perf/build_full.py``, each run in a fresh process, the floor (``build_full.floor``) and
``benchmark.build.build`` with its ``stage`` callback reading this process's CPU time (``time.process_time``)
as each step starts; the workbook process's CPU is what the build waited for (``RUSAGE_CHILDREN``). Prints the
least CPU of each step over the repeats, as seconds and as a multiple of the floor's CPU, and the build
process's CPU after the read stage against the workbook process's. ``perf/same_tables.py`` checks that a
speed change left every table the same. With ``--baseline``, the same build from another checkout (e.g. the
main branch's) is measured too, interleaved with this one's, for a before/after in the same run.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_full import CASES, ROOT, SHARED, STAGES, floor  # noqa: E402  (the same floor and cases)


def child(kind: str, root: str, out: str, sources: list[str]) -> None:
    sys.path.insert(0, root)
    paths = [Path(s) for s in sources]
    if kind == "floor":
        t0 = time.process_time()
        floor(paths, Path(out) / "floor.db")
        print(json.dumps({"floor": time.process_time() - t0}))
        return
    from benchmark.build import build

    marks: list[tuple[str, float]] = []
    build(paths, out, stage=lambda m: marks.append((m, time.process_time())), fingerprint={"perf": time.time()})
    end = time.process_time()
    cpu: dict[str, float] = {}
    for (message, start), (_, stop) in zip(marks, marks[1:] + [("", end)]):
        step = next((v for k, v in STAGES.items() if message.startswith(k)), "other")
        cpu[step] = cpu.get(step, 0.0) + stop - start
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu["after read"] = end - marks[1][1] if len(marks) > 1 else 0.0
    cpu["workbook process"] = kids.ru_utime + kids.ru_stime
    print(json.dumps(cpu))


def measure(kind: str, sources: list[str], root: Path = ROOT) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        run = subprocess.run([sys.executable, __file__, "--child", kind, str(root), tmp, *sources],
                             capture_output=True, text=True, check=True)
    return json.loads(run.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--case", choices=["quick", "whole"], help="one case only (default: both)")
    ap.add_argument("--baseline", type=Path, help="another checkout to measure the same way (before/after)")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.child[2], args.child[3:])
        return
    roots = {"this checkout": ROOT} | ({f"baseline {args.baseline}": args.baseline.resolve()} if args.baseline else {})
    if not SHARED.exists():
        sys.exit(f"{SHARED} is missing: these timings need the real DfE files")
    for name, files in CASES.items():
        if args.case and not name.startswith({"quick": "quick", "whole": "whole"}[args.case]):
            continue
        sources = [str(SHARED / f) for f in files]
        floors, builds = [], {label: [] for label in roots}
        for _ in range(args.repeat):  # interleaved, so that all see the same machine
            floors.append(measure("floor", sources)["floor"])
            for label, root in roots.items():
                builds[label].append(measure("build", sources, root))
        f = min(floors)
        print(f"{name}: floor {f:.2f} CPU s (least of {args.repeat})")
        for label, runs in builds.items():
            best = {k: min(b.get(k, 0.0) for b in runs) for k in runs[0]}
            print(f"  {label}:")
            for step in ("read", "database", "comparisons", "package", "after read", "workbook process"):
                if step in best:
                    print(f"    {step:<17} {best[step]:6.2f} CPU s  {best[step] / f:5.2f} x floor")
            print(f"    the build process after the read stage / the workbook process: "
                  f"{best['after read'] / best['workbook process']:.2f} (<= 1: the workbook's is the critical path)")

if __name__ == "__main__":
    main()
