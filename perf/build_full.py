"""Time a full build from the shared DfE files against the pandas -> SQLite floor, and print the ratios.

    python perf/build_full.py [--repeat 3]

Issue 14 item 6. For (a) the quick-tour command (the 2025 and 2024 indicator files plus the SFR folder) and
(b) the whole ../shared/dfe folder, each measured in the same run, every figure in a fresh process:

* the floor: the same CSV files read with ``pandas.read_csv``, melted long and written into SQLite with
  ``DataFrame.to_sql`` (nothing checked, no package);
* ``benchmark.build.build`` (read, check, database, comparisons, package with its workbook);
* a rebuild after one input changed (one value of the 2024 file), which rewrites only what changed;
* ``csww build`` run again with unchanged inputs (the up-to-date check, issue 14 item 5: <= 1 s).

The toolkit's modules are compiled to bytecode first, as an installed wheel's are. Prints wall time (best of the repeats), CPU seconds (the process's and its children's: the build writes its
workbook in a process of its own alongside the rest) and peak resident memory (``ru_maxrss`` of the process
plus its workbook process's own peak, summed: an upper bound, as the two peaks need not coincide), and the
ratios the issue asks for: full build / floor (target <= 3x), build peak memory / floor peak (<= 2x),
unchanged rebuild seconds (<= 1 s). For the full builds it also prints where the time goes: the build's
stages (read, package start, check, database, comparisons, package, from its ``stage`` callback; a build
without local returns starts its package, the workbook's CSVs and process, between reading and checking) in
seconds and as shares of the build, each as a multiple of the floor, from the best run.
"""

from __future__ import annotations

import argparse
import compileall
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
#: The build's ``stage`` messages (their first words) -> the stage they start; other messages (a lock wait) do
#: not start a stage.
STAGES = {"Reading": "read", "Writing the database": "database", "Aligning": "database",
          "Comparing": "comparisons", "Finishing the data package": "package",
          "Starting the data package": "package start", "Checking": "check"}
CASES = {
    "quick tour (2025 + 2024 + SFR)": ["csww_indicators_2017_to_2025.csv", "csww_indicators_2017_to_2024.csv", "sfr"],
    "whole ../shared/dfe folder": ["."],
}


def csv_files(sources: list[Path]) -> list[Path]:
    out = []
    for s in sources:
        out += sorted(s.rglob("*.csv")) if s.is_dir() else [s]
    return out


def floor(sources: list[Path], db: Path) -> int:
    """The floor: every CSV read with pandas, melted long (one row per cell) and written with to_sql."""
    import sqlite3

    import pandas as pd

    rows = 0
    conn = sqlite3.connect(db)
    for i, f in enumerate(csv_files(sources)):
        try:
            df = pd.read_csv(f, dtype=str, keep_default_na=False)
        except UnicodeDecodeError:
            df = pd.read_csv(f, dtype=str, keep_default_na=False, encoding="cp1252")
        ids = [c for c in df.columns if "code" in c.lower() or "name" in c.lower() or c in ("time_period",
                                                                                              "geographic_level")]
        long = df.melt(id_vars=ids, var_name="measure", value_name="value")
        long["value"] = pd.to_numeric(long["value"], errors="coerce")
        long.to_sql(f"file{i}", conn, index=False)  # one table per file: their id columns differ
        rows += len(long)
    conn.commit()
    conn.close()
    return rows


def child(kind: str, out: str, sources: list[str]) -> None:
    """Run one measured step in this (fresh) process and print its seconds and peak memory as JSON."""
    sys.path.insert(0, str(ROOT))
    paths = [Path(s) for s in sources]
    t0 = time.perf_counter()
    peaks: list[int] = []  # KiB, of each workbook process
    if kind == "floor":
        extra = {"rows": floor(paths, Path(out) / "floor.db")}
    else:
        from benchmark import workbook
        from benchmark.build import build

        waited = workbook.WorkbookProcess.wait

        def wait(self, *args):  # the workbook process's own peak: ru_maxrss of a child counts its parent's memory
            waited(self, *args)
            peaks.append(self.peak_kib or 0)
        workbook.WorkbookProcess.wait = wait

        marks = []  # (seconds since the start, stage) as each stage starts

        def stage(message: str) -> None:
            name = next((v for k, v in STAGES.items() if message.startswith(k)), None)
            if name and (not marks or marks[-1][1] != name):
                marks.append((time.perf_counter() - t0, name))

        report = build(paths, out, fingerprint={"perf": time.time()}, stage=stage)  # never "up to date"
        end = time.perf_counter() - t0
        stages: dict[str, float] = {}
        for (start, name), (stop, _) in zip(marks, marks[1:] + [(end, "")]):
            stages[name] = stages.get(name, 0.0) + stop - start
        extra = {"observations": report.observations, "revisions": report.revisions, "stages": stages}
    seconds = time.perf_counter() - t0
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    # CPU of this process and of the processes it waited for (the build's workbook process); peak memory as
    # this process's peak plus its workbook process's own (VmHWM, which it reports; not ru_maxrss of
    # RUSAGE_CHILDREN, in which Linux counts the parent's memory at the spawn): an upper bound of the memory in
    # use at once, since the two peaks need not coincide.
    cpu = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
    child_peak = max(peaks, default=0)
    print(json.dumps({"seconds": seconds, "cpu": cpu, "child_cpu": kids.ru_utime + kids.ru_stime, "peak_mb": (me.ru_maxrss + child_peak) / 1024,  # KiB
                      "self_peak_mb": me.ru_maxrss / 1024, "child_peak_mb": child_peak / 1024, **extra}))


def measure(kind: str, out: Path, sources: list[Path]) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", kind, str(out), *map(str, sources)],
                          check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


def best(runs: list[dict]) -> dict:
    return {**min(runs, key=lambda r: r["seconds"]), "peak_mb": min(r["peak_mb"] for r in runs),
            "cpu": min(r["cpu"] for r in runs)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.child[2:])
        return
    if not SHARED.exists():
        sys.exit(f"{SHARED} not found")
    # The toolkit's bytecode, as an installed wheel has it (pip compiles at install): an editable install run
    # with PYTHONDONTWRITEBYTECODE set would compile every module again at every start of a build and of its
    # workbook process (~0.2 CPU s), which the floor (pandas, installed compiled) never pays.
    compileall.compile_dir(ROOT / "benchmark", quiet=1)
    figures = {}
    for label, names in CASES.items():
        sources = [SHARED / n for n in names]
        floors, builds = [], []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as tmp:
                floors.append(measure("floor", Path(tmp), sources))
            with tempfile.TemporaryDirectory() as tmp:
                builds.append(measure("build", Path(tmp) / "OUT", sources))
        f, b = best(floors), best(builds)
        figures[label] = (f, b)
        print(f"{label}: full build {b['seconds']:.2f} s, {b['cpu']:.2f} CPU s ({b['child_cpu']:.2f} of them its "
              f"workbook process's), {b['peak_mb']:.0f} MB peak "
              f"({b['self_peak_mb']:.0f} + {b['child_peak_mb']:.0f} MB of its workbook process, summed: an upper "
              f"bound) ({b['observations']:,} observations, {b['revisions']:,} release values); "
              f"floor {f['seconds']:.2f} s, {f['cpu']:.2f} CPU s, {f['peak_mb']:.0f} MB peak ({f['rows']:,} cells); "
              f"best of {args.repeat}")
        print(f"  full build / floor: {b['seconds'] / f['seconds']:.2f} x time (target <= 3), "
              f"{b['cpu'] / f['cpu']:.2f} x CPU (self + children), "
              f"{b['peak_mb'] / f['peak_mb']:.2f} x peak memory (build + workbook process; target <= 2)")
        parts = {**b["stages"], "imports": b["seconds"] - sum(b["stages"].values())}  # before the first stage
        print("  stages: " + ", ".join(f"{name} {sec:.2f} s ({sec / b['seconds']:.0%}, {sec / f['seconds']:.2f} x floor)"
                                       for name, sec in parts.items()))

    # One input changed: only the tables it feeds are rewritten (the rest copied from the previous build).
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        srcdir = tmp / "src"
        shutil.copytree(SHARED / "sfr", srcdir / "sfr")
        for n in CASES["quick tour (2025 + 2024 + SFR)"][:2]:
            shutil.copy(SHARED / n, srcdir / n)
        sources = [srcdir / n for n in CASES["quick tour (2025 + 2024 + SFR)"]]
        measure("build", tmp / "OUT", sources)
        f2024 = srcdir / "csww_indicators_2017_to_2024.csv"
        text = f2024.read_text(encoding="utf-8")
        line = next(ln for ln in text.splitlines() if ",Darlington," in ln and ln.startswith("2024,"))
        f2024.write_text(text.replace(line, line.replace(",Darlington,", ",Darlington, ", 0), 1), encoding="utf-8")
        changed = [measure("build", tmp / "OUT", sources) for _ in range(1)]
        b = figures["quick tour (2025 + 2024 + SFR)"][1]
        c = best(changed)
        print(f"rebuild after one input changed: {c['seconds']:.2f} s = {c['seconds'] / b['seconds']:.2f} x the full "
              f"build, {c['cpu']:.2f} CPU s, {c['peak_mb']:.0f} MB peak (build + workbook process)")

    sources = [SHARED / n for n in CASES["quick tour (2025 + 2024 + SFR)"]]
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
    print(f"unchanged rebuild (csww build again): {min(again):.2f} s (target <= 1 s), "
          f"{min(again) / min(bare):.1f} x a bare 'python -c pass' ({min(bare):.3f} s), best of {args.repeat}")


if __name__ == "__main__":
    main()
