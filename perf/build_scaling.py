"""The build's scaling curve: time and peak memory at 1x, 10x and 30x the data (issue 14 item 6).

    python perf/build_scaling.py [--sizes 1 10 30]

The data are the quick tour's files (../shared/dfe: the 2025 and 2024 indicator files and the SFR folder).
At N x, every council row of the two indicator files is there N times: the real council and N - 1
synthetic councils (codes ``<copy><code>``, e.g. 3841 for the third copy of Darlington, names
``Darlington (copy 3)``, ONS codes ``Z<copy><code>``). A synthetic council's code is not one DfE uses, so the
run adds the synthetic codes to the toolkit's known council codes (``readers.base.known_la_codes``) for its
own process; nothing else in the toolkit is changed. Each size is built in a fresh process (read, check,
database, comparisons, package with its workbook) and the script prints its wall time, the peak resident
memory (``VmHWM``), the rows written and the ratios to 1x, beside the pandas -> SQLite floor of the same
files (perf/build_full.py's floor) measured in the same run.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "dfe"
FILES = ["csww_indicators_2017_to_2025.csv", "csww_indicators_2017_to_2024.csv"]


def synthesise(size: int, folder: Path) -> tuple[list[Path], list[str]]:
    """The quick tour's files with every council ``size`` times; the sources and the synthetic codes."""
    folder.mkdir(parents=True, exist_ok=True)
    codes: set[str] = set()
    for name in FILES:
        with open(SHARED / name, newline="", encoding="utf-8-sig") as src, \
                open(folder / name, "w", newline="", encoding="utf-8") as dst:
            reader = csv.DictReader(src)
            writer = csv.DictWriter(dst, reader.fieldnames, lineterminator="\n")
            writer.writeheader()
            rows = list(reader)
            writer.writerows(rows)
            for copy in range(2, size + 1):
                for row in rows:
                    if row["geographic_level"] != "Local authority":
                        continue
                    code = "/".join(f"{copy}{c.strip()}" for c in row["old_la_code"].split("/"))
                    code = " / ".join(code.split("/"))
                    codes.update(c.strip() for c in code.split("/"))
                    codes.add(code)
                    writer.writerow({**row, "old_la_code": code, "la_name": f"{row['la_name']} (copy {copy})",
                                     "new_la_code": f"Z{copy}{row['new_la_code'][1:]}" if row["new_la_code"] else ""})
    shutil.copytree(SHARED / "sfr", folder / "sfr", dirs_exist_ok=True)
    return [folder / n for n in FILES] + [folder / "sfr"], sorted(codes)


def child(kind: str, out: str, codes_file: str, sources: list[str]) -> None:
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "perf"))
    paths = [Path(s) for s in sources]
    t0 = time.perf_counter()
    if kind == "floor":
        from build_full import floor

        extra = {"rows": floor(paths, Path(out) / "floor.db")}
    else:
        from benchmark.readers import base

        known = base.known_la_codes() | frozenset(json.loads(Path(codes_file).read_text()))
        base.known_la_codes = lambda: known  # the synthetic councils, for this process only
        from benchmark.build import build

        # the larger sizes pass the build's ceiling on values read (readers.MAX_VALUES) on purpose: the curve
        # measures what a build costs past it
        report = build(paths, out, max_values=10**12)
        extra = {"observations": report.observations, "revisions": report.revisions, "areas": report.areas}
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb(), **extra}))


def peak_mb() -> float:
    """This process's peak resident memory in MB: ``VmHWM`` where /proc has it (``ru_maxrss`` can carry the
    parent's peak across fork/exec), else ``ru_maxrss``."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(kind: str, out: Path, codes_file: Path, sources: list[Path]) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", kind, str(out), str(codes_file), *map(str, sources)],
                          capture_output=True, text=True, cwd=ROOT)
    if done.returncode:
        sys.exit(f"{kind} failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 30])
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.child[2], args.child[3:])
        return
    if not SHARED.exists():
        sys.exit(f"{SHARED} not found")
    first = None
    print("size  build s  peak MB  floor s  floor MB  build/floor time  build/floor memory  observations  "
          "release values  areas")
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            sources, codes = synthesise(size, tmp / "src")
            codes_file = tmp / "codes.json"
            codes_file.write_text(json.dumps(codes))
            f = measure("floor", tmp, codes_file, sources)
            b = measure("build", tmp / "OUT", codes_file, sources)
        first = first or b
        print(f"{size:>3}x  {b['seconds']:7.2f}  {b['peak_mb']:7.0f}  {f['seconds']:7.2f}  {f['peak_mb']:8.0f}  "
              f"{b['seconds'] / f['seconds']:16.2f}  {b['peak_mb'] / f['peak_mb']:18.2f}  {b['observations']:12,}  "
              f"{b['revisions']:14,}  {b['areas']:5}", flush=True)
    print(f"(time and memory per size relative to {args.sizes[0]}x are the ratios of the rows above)")


if __name__ == "__main__":
    main()
