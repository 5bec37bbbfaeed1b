"""Time the package's workbook writer (``benchmark.workbook.write``) against its Rust writer alone, and print ratios.

    python perf/workbook_write.py [--repeat 5]

Issue 14 item 6: the workbook's process (``python -m benchmark.workbook``) is the critical path of a build. This
builds the quick-tour package once (``benchmark.build.build`` on ../shared/dfe's 2025 and 2024 indicator files
and its SFR folder) into a temporary folder, then measures, each run in a fresh process, the runs interleaved
and the best of ``--repeat`` kept:

* ``read``: the csv module only reading the workbook's CSVs (every row, every cell looked at);
* ``writer``: the writer alone (``rvgsrust-xlsxwriter``, each sheet in constant-memory mode, as the toolkit uses
  it) writing exactly the workbook's cells, converted beforehand (not timed), in the same chunks of rows: what
  no reading and conversion at all would cost;
* ``xlsxwriter``: XlsxWriter alone (``constant_memory``, its undecorated typed writers) writing the same cells,
  the toolkit's writer until issue 14's last stop; measured only when XlsxWriter is installed (it is no longer a
  dependency);
* ``write``: :func:`benchmark.workbook.write` on the CSVs (reading, converting, writing; imports not timed);
* ``process``: the whole workbook process as a build runs it (:class:`benchmark.workbook.WorkbookProcess`: start,
  imports, the write, exit), timed from the parent; CPU is the child's (``RUSAGE_CHILDREN``).

Prints wall seconds, CPU seconds, cells per second and peak memory of each, then the ratios: write / writer
(the reading and conversion's own cost; 1.0 is the floor), xlsxwriter / write (what the change of writer saved),
write / read, and process / write (the start-up's). The machine may
be busy: judge by the ratios and the CPU seconds, measured in the same run.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "dfe"
QUICK_TOUR = ["csww_indicators_2017_to_2025.csv", "csww_indicators_2017_to_2024.csv", "sfr"]
try:
    import xlsxwriter  # noqa: F401  (optional: the previous writer, for comparison)
    KINDS = ["read", "writer", "xlsxwriter", "write", "process"]
except ImportError:
    KINDS = ["read", "writer", "write", "process"]
sys.path.insert(0, str(ROOT))


def job(pkg: Path) -> dict:
    """The workbook's job for the package in ``pkg`` as a build hands it over: the descriptor, the sheets, and
    (name, fields, rows, csv path) of each sheet's table."""
    from benchmark import package

    descriptor = json.loads((pkg / "datapackage.json").read_text(encoding="utf-8"))
    resources = [r for r in descriptor["resources"] if r.get("type") == "table"]
    sheets = [r["name"] for r in resources if r["name"] not in package.NOT_IN_WORKBOOK
              and r["name"] not in package.BUILD_ONLY]
    tables = []
    for r in resources:
        if r["name"] in sheets:
            with open(pkg / r["path"], encoding="utf-8") as fh:
                rows = sum(1 for _ in fh) - 1
            tables.append((r["name"], [{"name": f["name"], "type": f["type"]} for f in r["schema"]["fields"]],
                           rows, str(pkg / r["path"])))
    return {"descriptor": descriptor, "sheets": sheets, "tables": tables}


def child(kind: str, job_file: Path, out: Path) -> None:
    """Run one measured step in this (fresh) process and print its figures as JSON (only the workbook's module
    imported: not pandas, as in the workbook's process)."""
    from benchmark import workbook

    given = json.loads(job_file.read_text(encoding="utf-8"))
    descriptor, sheets, tables = given["descriptor"], given["sheets"], given["tables"]

    cells = 0
    if kind in ("writer", "xlsxwriter"):  # the cells converted beforehand, as (row, column, value, is text) per sheet
        ready = []
        for name, fields, _, path in tables:
            convert = [workbook._converter(f) for f in fields]
            with open(path, newline="", encoding="utf-8") as fh:
                reader = csv.reader(fh)
                header = next(reader)
                if kind == "writer":  # rows of values (None: an empty cell), as the writer takes them
                    ready.append((name, header, [[convert[c](cell) for c, cell in enumerate(row)] for row in reader]))
                else:
                    ready.append((name, header, [(r, c, v, type(v) is str) for r, row in enumerate(reader, start=1)
                                                 for c, cell in enumerate(row) if (v := convert[c](cell)) is not None]))
    cpu0, t0 = time.process_time(), time.perf_counter()
    if kind == "read":
        for _, _, _, path in tables:
            with open(path, newline="", encoding="utf-8") as fh:
                for row in csv.reader(fh):
                    cells += sum(1 for cell in row if cell)
    elif kind == "writer":
        from rvgsrust_xlsxwriter import Workbook

        wb = Workbook(str(out))
        wb.set_tempdir(str(out.parent))
        bold = wb.add_format().set_bold()
        wb.add_worksheet("About", constant_memory=True)
        for name, header, values in ready:
            ws = wb.add_worksheet(name, constant_memory=True)
            ws.freeze_panes(1, 0)
            ws.write_row(0, 0, header, bold)
            for start in range(0, len(values), workbook.CHUNK):
                ws.write_rows(start + 1, 0, values[start:start + workbook.CHUNK])
            cells += sum(1 for row in values for v in row if v is not None)
        wb.close()
    elif kind == "xlsxwriter":
        import xlsxwriter

        wb = xlsxwriter.Workbook(str(out), {"constant_memory": True, "strings_to_formulas": False,
                                            "strings_to_urls": False, "strings_to_numbers": False,
                                            "tmpdir": str(out.parent)})
        bold = wb.add_format({"bold": True})
        wb.add_worksheet("About")
        for name, header, values in ready:
            ws = wb.add_worksheet(name)
            ws.freeze_panes(1, 0)
            ws.write_row(0, 0, header, bold)
            number, text = ws._write_number, ws._write_string
            for r, c, v, is_text in values:
                (text if is_text else number)(r, c, v)
            cells += len(values)
        wb.close()
    elif kind == "write":
        workbook.write(out, descriptor, sheets, tables, tmpdir=str(out.parent))
    elif kind == "process":
        proc = workbook.WorkbookProcess(out, descriptor, sheets)
        for t in tables:
            proc.table(*t)
        proc.wait()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    if kind == "process":
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu, peak = kids.ru_utime + kids.ru_stime, (proc.peak_kib or 0) / 1024
    else:
        peak = (workbook._peak_kib() or 0) / 1024  # VmHWM: ru_maxrss would count the parent's memory at the spawn
    print(json.dumps({"seconds": seconds, "cpu": cpu, "peak_mb": peak, "cells": cells}))


def measure(kind: str, job_file: Path, tmp: Path) -> dict:
    out = tmp / f"{kind}.xlsx"
    done = subprocess.run([sys.executable, __file__, "--child", kind, str(job_file), str(out)],
                          check=True, capture_output=True, text=True, cwd=ROOT)
    out.unlink(missing_ok=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return
    if not SHARED.exists():
        sys.exit(f"{SHARED} not found")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        subprocess.run([sys.executable, "-c", "import sys; from benchmark.build import build; "
                        "build(sys.argv[1:-1], sys.argv[-1])", *[str(SHARED / n) for n in QUICK_TOUR],
                        str(tmp / "OUT")], check=True, cwd=ROOT)
        job_file = tmp / "job.json"
        job_file.write_text(json.dumps(job((tmp / "OUT" / "current" / "datapackage").resolve())), encoding="utf-8")
        runs: dict[str, list[dict]] = {k: [] for k in KINDS}
        for _ in range(args.repeat):
            for kind in KINDS:  # interleaved: a busy spell of the machine spreads over every kind
                runs[kind].append(measure(kind, job_file, tmp))
    best = {k: {"seconds": min(r["seconds"] for r in v), "cpu": min(r["cpu"] for r in v),
                "peak_mb": min(r["peak_mb"] for r in v), "cells": v[0]["cells"]} for k, v in runs.items()}
    cells = best["writer"]["cells"]
    print(f"workbook of the quick-tour package: {cells:,} cells (header rows and About sheet aside); best of "
          f"{args.repeat}, each run a fresh process (the writers' peaks hold every cell converted beforehand)")
    for kind in KINDS:
        b = best[kind]
        print(f"  {kind:10s} {b['seconds']:6.2f} s  {b['cpu']:6.2f} CPU s  {cells / b['cpu'] / 1000:7.0f} k cells per "
              f"CPU s  {b['peak_mb']:5.0f} MB peak")
    w, x, rd, p = best["write"], best["writer"], best["read"], best["process"]
    print(f"  write / writer alone: {w['seconds'] / x['seconds']:.2f} x time, {w['cpu'] / x['cpu']:.2f} x CPU "
          f"(the reading and conversion's own cost; 1.00 is the floor)")
    if "xlsxwriter" in best:
        xw = best["xlsxwriter"]
        print(f"  xlsxwriter alone / write: {xw['seconds'] / w['seconds']:.2f} x time, {xw['cpu'] / w['cpu']:.2f} x "
              "CPU (the previous writer, even without reading or converting, against the whole write)")
    print(f"  write / csv read only: {w['cpu'] / rd['cpu']:.1f} x CPU")
    print(f"  process / write: {p['seconds'] / w['seconds']:.2f} x time, {p['cpu'] / w['cpu']:.2f} x CPU "
          f"(the process's start-up and imports)")


if __name__ == "__main__":
    main()
