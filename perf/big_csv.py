"""A 1 GB DfE indicator CSV through ``csww build``: does it succeed or fail with a message within 2 GB of memory?
(issue 14 item 4: "large inputs are read in chunks so memory stays bounded").

    python perf/big_csv.py [--gb 1.0] [--limit-mb 2048] [--timeout 3600] [--keep DIR] [--as-is] [--csv FILE]

It writes, in a temporary folder removed afterwards (unless --keep), the 2025 indicator file
(../shared/dfe/csww_indicators_2017_to_2025.csv) with its council rows repeated under synthetic councils until
the file is --gb gigabytes, as perf/build_scaling.py makes its larger sizes (codes ``<copy><code>``, names
``<council> (copy N)``, ONS codes ``Z<copy>...``). Then it runs ``csww build --from BIG.csv --out OUT`` in a
fresh process (the synthetic codes added to ``readers.base.known_la_codes`` for that process only, so the build
gets past the unknown-council check, the rest of the toolkit as shipped) and prints its wall time, its peak
resident memory (``VmHWM``, sampled from /proc every 0.1 s, and the child's own ``ru_maxrss`` from ``wait4``)
against --limit-mb, and its outcome: success (with the build's summary line) or failure (with its message).

The peak is watched while the build runs: past --limit-mb (or --timeout seconds) the build is stopped, after
its Python stack is written (``faulthandler`` on SIGUSR1), and the script prints the step the build had reached
(its "...": stage lines) and where in the code it was, so that the step holding the memory is named.
Not part of the test suite (it needs ~1 GB of disk and minutes); ``tests/test_readers*`` hold the chunked
path equal to the whole-file path on small inputs.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT.parent / "shared" / "dfe" / "csww_indicators_2017_to_2025.csv"

# The child: csww build, with the synthetic councils known, its stack dumpable on SIGUSR1.
CHILD = """
import faulthandler, json, signal, sys
from pathlib import Path
faulthandler.register(signal.SIGUSR1, all_threads=True)
from benchmark.readers import base
known = base.known_la_codes() | frozenset(json.loads(Path(sys.argv[1]).read_text()))
base.known_la_codes = lambda: known  # the synthetic councils, for this process only
from benchmark.cli import cli
cli(sys.argv[2:], prog_name="csww")
"""


def synthesise(target_bytes: int, path: Path) -> tuple[int, int, list[str]]:
    """The 2025 file, then its council rows again under synthetic councils until ``path`` holds
    ``target_bytes``; returns (rows, copies, the synthetic codes)."""
    with open(SOURCE, newline="", encoding="utf-8-sig") as src:
        reader = csv.DictReader(src)
        fields, rows = reader.fieldnames, list(reader)
    councils = [r for r in rows if r["geographic_level"] == "Local authority"]
    codes: set[str] = set()
    written, copy = 0, 1
    with open(path, "w", newline="", encoding="utf-8") as dst:
        writer = csv.DictWriter(dst, fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        written = len(rows)
        while dst.tell() < target_bytes:
            copy += 1
            for row in councils:
                code = " / ".join(f"{copy}{c.strip()}" for c in row["old_la_code"].split("/"))
                codes.update(c.strip() for c in code.split("/"))
                codes.add(code)
                writer.writerow({**row, "old_la_code": code, "la_name": f"{row['la_name']} (copy {copy})",
                                 "new_la_code": f"Z{copy}{row['new_la_code'][1:]}" if row["new_la_code"] else ""})
            written += len(councils)
    return written, copy, sorted(codes)


def _status(pid: int, field: str) -> int | None:
    """A ``/proc/<pid>/status`` memory field in kB (VmRSS, VmHWM), None once the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def run(cmd: list[str], log: Path, limit_kb: int, timeout: float) -> dict:
    """Run ``cmd`` (stdout and stderr into ``log``), watching its peak memory; stop it past the limits."""
    t0 = time.perf_counter()
    with open(log, "wb") as out:
        child = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        peak, stopped = 0, None
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, _status(child.pid, "VmHWM") or 0)
            elapsed = time.perf_counter() - t0
            if stopped is None and (peak > limit_kb or elapsed > timeout):
                stopped = f"peak memory {peak / 1024:,.0f} MB > {limit_kb / 1024:,.0f} MB" if peak > limit_kb else \
                    f"still running after {timeout:,.0f} s"
                child.send_signal(signal.SIGUSR1)  # its Python stack into the log: where the memory went
                time.sleep(1.0)
                child.kill()
            time.sleep(0.1)
        child.returncode = os.waitstatus_to_exitcode(status)
    return {"seconds": time.perf_counter() - t0, "peak_mb": peak / 1024, "ru_maxrss_mb": usage.ru_maxrss / 1024,
            "exit": child.returncode, "stopped": stopped}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gb", type=float, default=1.0, help="size of the CSV to write (default 1.0 GB = 10**9 bytes)")
    ap.add_argument("--limit-mb", type=int, default=2048, help="stop the build past this peak memory")
    ap.add_argument("--timeout", type=float, default=3600, help="stop the build after this many seconds")
    ap.add_argument("--keep", help="write the CSV and the build here and keep them (default: a temporary folder)")
    ap.add_argument("--as-is", action="store_true",
                    help="build with the toolkit exactly as shipped: the synthetic councils are unknown codes, so "
                         "this measures how (and how soon) csww build refuses the file")
    ap.add_argument("--csv", help="use this CSV (e.g. one --keep wrote) instead of writing one; its synthetic "
                                  "councils stay unknown codes, as with --as-is")
    args = ap.parse_args()
    if not SOURCE.exists():
        sys.exit(f"{SOURCE} not found: this script needs the real DfE file")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        big = Path(args.csv) if args.csv else folder / "csww_indicators_big.csv"
        t = time.perf_counter()
        if args.csv:
            codes = []  # the synthetic councils stay unknown
            print(f"using {big}: {big.stat().st_size / 10**9:.2f} GB", flush=True)
        else:
            rows, copies, codes = synthesise(int(args.gb * 10**9), big)
            print(f"wrote {big.name}: {big.stat().st_size / 10**9:.2f} GB, {rows:,} rows ({copies:,} copies of the "
                  f"councils) in {time.perf_counter() - t:.0f} s", flush=True)
        (folder / "codes.json").write_text(json.dumps([] if args.as_is else codes))
        cmd = [sys.executable, "-c", CHILD, str(folder / "codes.json"), "build", "--from", str(big),
               "--out", str(folder / "OUT"), "--force"]
        log = folder / "build.log"
        r = run(cmd, log, args.limit_mb * 1024, args.timeout)
        text = log.read_text(encoding="utf-8", errors="replace")
        stages = [line for line in text.splitlines() if line.endswith("...")]
        print(f"csww build: {r['seconds']:,.0f} s, peak memory {r['peak_mb']:,.0f} MB (VmHWM; ru_maxrss "
              f"{r['ru_maxrss_mb']:,.0f} MB) against {args.limit_mb:,} MB: "
              f"{r['peak_mb'] / args.limit_mb:.2f} x the limit; exit {r['exit']}")
        if r["stopped"]:
            print(f"outcome: STOPPED ({r['stopped']}) during: {stages[-1] if stages else '(before the first step)'}")
            stack = text[text.find("Current thread") if "Current thread" in text else len(text):]
            ours = [line.strip() for line in stack.splitlines() if "benchmark" in line or "pandas" in line]
            print("  where (innermost first):\n    " + "\n    ".join(ours[:12]))
        elif r["exit"] == 0:
            print("outcome: SUCCESS: " + (text.strip().splitlines() or [""])[-1])
        else:
            lines = [line for line in text.strip().splitlines() if not line.endswith("...")]
            tail = lines if len(lines) <= 8 else [*lines[:4], "...", *lines[-3:]]
            traceback = "Traceback (most recent call last)" in text
            print(f"outcome: FAILED ({'a traceback: a bug' if traceback else 'a message'}) during: "
                  f"{stages[-1] if stages else '(before the first step)'}\n    " + "\n    ".join(tail))
        print("steps reached: " + "; ".join(s.removesuffix("...") for s in stages))


if __name__ == "__main__":
    main()
