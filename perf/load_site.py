"""Load test for the site, on loopback only: requests/s and p50/p99 latency under 1, 10 and 50 clients.

Starts `csww serve` on a free 127.0.0.1 port (from a build of ../shared/dfe, or --out), then for each
target and each concurrency sends at most --requests requests or runs for at most --seconds, whichever
comes first, each client on its own keep-alive connection. Prints one line per run, then the issue 12
item 3 figures beside their targets (printed, never asserted):

* profile page p99 <= 50 ms at 50 clients, and >= 0.5x the requests/s of `select 1` (the baseline, run
  in the same process at the same concurrency);
* table page >= 200 requests/s at 10 clients.

The profile page target cycles through every council's page (`/la/<code>`), after one pass that draws
each page once (the cold cost, printed: pages are drawn once per build and then served from memory,
`benchmark/site_cache.py`). The load generator shares the machine's CPUs with the server.

    PYTHONPATH=. python perf/load_site.py                  # build ../shared/dfe into a temp folder
    PYTHONPATH=. python perf/load_site.py --out build --requests 500 --seconds 10
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "dfe"

TARGETS = {
    "select 1": "/csww.json?sql=select+1",
    "table page": "/csww/comparisons?measure_id=turnover_rate_fte&time_period=2025",
    "table drawn": "/csww/comparisons?measure_id=turnover_rate_fte&time_period=2025",
    "profile query": "/csww/council_profile.json?la=841&year=2025",
    "profile page": "/la/841",        # cycles through every council's page (see the module docstring)
    "profile drawn": "/la/841",
}
#: Targets sent with a cookie: Datasette answers them privately, so they are drawn every time, never from memory
#: (what every request cost before issue 12 item 3, and what a first request costs now).
DRAWN = {"table drawn", "profile drawn"}
BASELINE = "select 1"
PROFILE = "profile page"
TABLE = "table page"
HOST = "127.0.0.1"  # loopback only, never anywhere else


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds process ``pid`` has used (Linux /proc); nan elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def run(port: int, paths: list[str], clients: int, max_requests: int, max_seconds: float,
        headers: dict[str, str] | None = None) -> dict:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    budget = [max_requests]
    deadline = time.monotonic() + max_seconds

    def take() -> str | None:
        with lock:
            if budget[0] <= 0 or time.monotonic() > deadline:
                return None
            budget[0] -= 1
            return paths[budget[0] % len(paths)]

    def client():
        nonlocal errors
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        try:
            while path := take():
                t0 = time.perf_counter()
                try:
                    conn.request("GET", path, headers=headers or {})
                    resp = conn.getresponse()
                    resp.read()
                    ok = resp.status == 200
                except (OSError, http.client.HTTPException):
                    ok = False
                    conn.close()
                    conn = http.client.HTTPConnection(HOST, port, timeout=30)
                dt = time.perf_counter() - t0
                with lock:
                    if ok:
                        latencies.append(dt)
                    else:
                        errors += 1
        finally:
            conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    n = len(latencies)
    return {
        "requests": n, "errors": errors, "seconds": elapsed, "rps": n / elapsed if elapsed else 0.0,
        "p50": statistics.median(latencies) * 1000 if n else float("nan"),
        "p99": latencies[min(n - 1, int(round(0.99 * (n - 1))))] * 1000 if n else float("nan"),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", help="a build folder holding csww.db (default: build ../shared/dfe into a temp folder)")
    ap.add_argument("--requests", type=int, default=400, help="at most this many requests per run (default 400)")
    ap.add_argument("--seconds", type=float, default=8.0, help="at most this long per run (default 8)")
    ap.add_argument("--clients", default="1,10,50", help="concurrency levels (default 1,10,50)")
    args = ap.parse_args()
    levels = [int(c) for c in args.clients.split(",")]
    if max(levels) > 200 or args.requests > 20000 or args.seconds > 120:
        ap.error("bounded on purpose: at most 200 clients, 20000 requests and 120 s per run")

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out) if args.out else Path(tmp)
        if not args.out:
            sys.path.insert(0, str(ROOT))
            from benchmark.build import build

            build([SHARED / "csww_indicators_2017_to_2025.csv", SHARED / "csww_indicators_2017_to_2024.csv",
                   SHARED / "sfr"], out)
        port = free_port()
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen([sys.executable, "-m", "benchmark", "serve", str(out), "--port", str(port)],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(f"http://{HOST}:{port}/", timeout=2).read()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit("csww serve did not start")
                    time.sleep(0.2)
            def get(path: str) -> bytes:
                return urllib.request.urlopen(f"http://{HOST}:{port}{path}", timeout=30).read()

            rows = json.loads(get("/csww/councils.json?_shape=array&_size=max&_col=profile"))
            pages = []
            conn = http.client.HTTPConnection(HOST, port, timeout=60)
            t0 = time.perf_counter()
            for page in sorted({r["profile"] for r in rows}):   # cold: each page drawn once, then kept
                conn.request("GET", page)
                resp = conn.getresponse()
                resp.read()
                if resp.status == 200:               # joint-return members and former codes redirect
                    pages.append(page)
            cold = time.perf_counter() - t0
            conn.close()
            paths = {name: [path] for name, path in TARGETS.items()}
            paths[PROFILE] = paths["profile drawn"] = pages
            for path in TARGETS.values():          # warm up: page caches, templates, SQL statements
                for _ in range(5):
                    get(path)
            print(f"csww serve on {HOST}:{port}, {os.cpu_count()} CPUs; at most {args.requests} requests "
                  f"or {args.seconds:g} s per run")
            print(f"cold: {len(rows)} council pages asked for once in {cold:.1f} s ({cold / len(rows) * 1000:.0f} ms "
                  f"a page, one client); {len(pages)} answered 200 (the rest redirect), cycled through below")
            print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} (other processes share the CPUs: "
                  "'server CPU ms' per request is the figure least moved by them)")
            print(f"{'target':<15} {'clients':>7} {'requests':>8} {'errors':>6} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
                  f"{'server CPU ms':>13}")
            results: dict[tuple[str, int], dict] = {}
            for name in TARGETS:
                for c in levels:
                    cpu = cpu_seconds(proc.pid)
                    r = results[name, c] = run(port, paths[name], c, args.requests, args.seconds,
                                               {"Cookie": "perf=drawn"} if name in DRAWN else None)
                    r["cpu_ms"] = (cpu_seconds(proc.pid) - cpu) * 1000 / max(1, r["requests"] + r["errors"])
                    print(f"{name:<15} {c:>7} {r['requests']:>8} {r['errors']:>6} {r['rps']:>8.1f} "
                          f"{r['p50']:>8.1f} {r['p99']:>8.1f} {r['cpu_ms']:>13.2f}", flush=True)
            print("issue 12 item 3 (printed, not asserted; 'drawn' = with a cookie, never answered from memory):")
            for c in levels:
                base, prof = results[BASELINE, c], results[PROFILE, c]
                ratio = prof["rps"] / base["rps"] if base["rps"] else float("nan")
                print(f"  {c:>3} clients: profile page {prof['rps']:.0f} req/s = {ratio:.2f}x select 1 "
                      f"({base['rps']:.0f} req/s; target >= 0.5x); profile p99 {prof['p99']:.1f} ms "
                      f"(target <= 50 ms at 50 clients)")
            for name in (PROFILE, "profile drawn", TABLE, "table drawn", BASELINE):
                cpu = min(results[name, c]["cpu_ms"] for c in levels)
                print(f"  {name}: {cpu:.2f} server CPU ms a request = at most {1000 / cpu:.0f} req/s per core "
                      "(one server process uses one core)" if cpu > 0 else f"  {name}: server CPU not measured")
            for c in levels:
                print(f"  {c:>3} clients: table page {results[TABLE, c]['rps']:.0f} req/s, drawn "
                      f"{results['table drawn', c]['rps']:.0f} req/s (target >= 200 req/s at 10 clients)")
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
