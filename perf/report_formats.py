"""Time every council's pack in HTML, DOCX and PDF (and XLSX), from a database ``csww build`` wrote.

    PYTHONPATH=. python perf/report_formats.py [build/csww.db] [--year 2025] [--limit N]

For each council with figures in the year: assembling the pack (``packs.council_pack``), then rendering it as
HTML, DOCX (charts drawn to PNG by CairoSVG), XLSX and PDF (the HTML printed by one Chromium kept open for the
run, as a batch would; the PDF prints the HTML already rendered, as ``csww report`` would not render it twice).
Prints the mean and total seconds of each stage and each format's ratio to the HTML
render measured in the same run (the baseline), and the bytes of each file. ``--limit N`` times the first N
councils only (by DfE code), for a quick look.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from benchmark import store
from benchmark.report import docx_out
from benchmark.report.packs import council_pack
from benchmark.report.pdf_out import Printer
from benchmark.report.render import html, xlsx


def councils(conn, year: int) -> list[str]:
    rows = conn.execute("SELECT DISTINCT o.area_code FROM observations o JOIN areas a ON a.area_code = o.area_code "
                        "WHERE o.time_period = ? AND a.level = 'Local authority' AND o.value IS NOT NULL "
                        "ORDER BY o.area_code", (year,)).fetchall()
    return [r[0] for r in rows]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("db", nargs="?", default="build/csww.db")
    ap.add_argument("--year", type=int, default=2025)
    ap.add_argument("--limit", type=int)
    args = ap.parse_args()
    conn = store.connect(Path(args.db))
    codes = councils(conn, args.year)
    every = len(codes)
    if args.limit:
        codes = codes[:args.limit]
    times: dict[str, list[float]] = {k: [] for k in ("pack", "html", "docx", "xlsx", "pdf")}
    sizes: dict[str, list[int]] = {k: [] for k in ("html", "docx", "xlsx", "pdf")}
    start = time.perf_counter()
    with Printer() as printer:
        for code in codes:
            t = time.perf_counter()
            pack = council_pack(conn, code, args.year)
            times["pack"].append(time.perf_counter() - t)
            t = time.perf_counter()
            page = html(pack)
            times["html"].append(time.perf_counter() - t)
            sizes["html"].append(len(page.encode()))
            for fmt, fn in (("docx", lambda: docx_out.docx(pack)), ("xlsx", lambda: xlsx(pack)),
                            ("pdf", lambda: printer.pdf(page, pack.title))):  # the HTML rendered above
                t = time.perf_counter()
                data = fn()
                times[fmt].append(time.perf_counter() - t)
                sizes[fmt].append(len(data))
            done = len(times["pack"])
            if done % 10 == 0:
                print(f"{done}/{len(codes)} councils, {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    wall = time.perf_counter() - start
    conn.close()
    print(f"packs for {len(codes)} of {every} councils, {args.year}"
          + (" (--limit: a subset)" if len(codes) < every else "") + f"; wall {wall:.1f} s")
    base = statistics.mean(times["html"])
    print(f"{'stage':<8}{'mean s':>10}{'total s':>10}{'x HTML':>10}{'mean KB':>10}")
    for k, v in times.items():
        kb = f"{statistics.mean(sizes[k]) / 1024:.0f}" if k in sizes else ""
        print(f"{k:<8}{statistics.mean(v):>10.3f}{sum(v):>10.1f}{statistics.mean(v) / base:>10.1f}{kb:>10}")
    if len(codes) < every:
        per = wall / len(codes)
        print(f"estimated for all {every} councils at this rate: {per * every / 60:.1f} min")


if __name__ == "__main__":
    main()
