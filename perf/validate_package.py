"""Time validating the full data package built from the real DfE files.

    PYTHONPATH=. python perf/validate_package.py [PACKAGE_DIR]

Without PACKAGE_DIR it builds one from ../shared/dfe (2025 and 2024 indicator files and the 2015-2016 SFR
files) in a temporary folder. Prints the rows validated and the seconds taken: Frictionless alone (types,
constraints, labelled missing values, keys, foreign keys, hashes), csww's own checks, and the whole of
``csww validate``, each the best of three runs.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmark import package  # noqa: E402
from benchmark.build import build  # noqa: E402

SHARED = ROOT.parent / "shared" / "dfe"


def best(fn, runs=3):
    times, result = [], None
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return min(times), result


def main() -> None:
    if len(sys.argv) > 1:
        measure(Path(sys.argv[1]))
        return
    with tempfile.TemporaryDirectory(prefix="csww-perf-") as tmp:
        t = time.perf_counter()
        report = build([SHARED / "csww_indicators_2017_to_2025.csv", SHARED / "csww_indicators_2017_to_2024.csv",
                        SHARED / "sfr"], tmp)
        print(f"build + package: {time.perf_counter() - t:.1f} s")
        measure(report.package)


def measure(pkg: Path) -> None:
    desc = json.loads((pkg / "datapackage.json").read_text())
    rows = sum(sum(1 for _ in open(pkg / r["path"], encoding="utf-8")) - 1
               for r in desc["resources"] if r.get("type") == "table")
    mb = sum(r["bytes"] for r in desc["resources"]) / 1e6
    t_fl, _ = best(lambda: package.validate(pkg, checks=False))
    t_all, problems = best(lambda: package.validate(pkg))
    t_custom = t_all - t_fl
    errors = sum(p.severity == "error" for p in problems)
    print(f"package: {rows:,} rows in {len(desc['resources'])} resources, {mb:.1f} MB")
    print(f"frictionless validate: {t_fl:.2f} s ({rows / t_fl:,.0f} rows/s)")
    print(f"csww checks:           {t_custom:.2f} s (all less Frictionless alone)")
    print(f"csww validate (all):   {t_all:.2f} s, {errors} errors, {len(problems) - errors} warnings")


if __name__ == "__main__":
    main()
