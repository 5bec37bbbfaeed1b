"""Load test for the site, on loopback only: p50/p95/p99 latency and requests/s under 1, 10 and 50 clients.

Serves a build (of ../shared/dfe into a temp folder, or --out) the way ``csww serve`` does (``site.prepare``,
``site.datasette``, ``site.run``: uvicorn with httptools, uvloop when installed) on a free 127.0.0.1 port, in a
child process whose app is wrapped in one timing layer (below). For each target and each concurrency it sends at
most --requests requests or runs for at most --seconds, whichever comes first, then prints one line per run and
the issue 12 item 3 figures beside their targets (printed, never asserted):

* profile page p99 <= 50 ms at 50 clients, and >= 0.5x the requests/s of ``select 1`` (the baseline, run in the
  same process at the same concurrency);
* table page >= 200 requests/s at 10 clients.

The profile page target cycles through every council's page (``/la/<code>``), after one pass that draws each
page once (the cold cost, printed: pages are drawn once per build and then served from memory,
``benchmark/site_cache.py``). "drawn" targets send a cookie, so Datasette draws them every time.

**How the load generator works, and why it does not dominate the measurement.** The old generator (50 Python
threads in one process, ``http.client``) spent more CPU per request than the server and held the GIL while the
server waited for it: at 50 clients most of its p99 was the client's own queue. This one:

* runs the clients in ``--procs`` processes (default: the CPU count; never more than the clients), each an asyncio
  event loop (uvloop when installed) holding its share of the clients, one keep-alive connection per client;
* sends pre-encoded request bytes and parses responses with httptools' C parser (status, Content-Length or
  chunked body); no ``http.client``, no threads, no per-request allocation beyond the response bytes;
* starts every process's clients together (all connections open first, then one start signal) and measures
  each request from the write of its bytes to the last byte of the response (``time.perf_counter``);
* reports its own CPU seconds per request ("client CPU ms"), the server's ("server CPU ms", from /proc), the
  server's own time per request (from the first ASGI call to the last body byte handed to uvicorn, measured
  inside the server and fetched from ``/-/perf-timings`` after each run: "app p99 ms"), and the CPU every other
  process on the machine used meanwhile ("others", in cores, from /proc/stat): a latency far above the app's
  time with the server's CPU under a core is queueing for CPUs, not the server's work.

``--check-wrk`` repeats the 50-client profile page run with ``wrk`` (a C load generator; ``apt-get install wrk``)
when it is on the PATH, as a cross-check of the Python client's figures.

    PYTHONPATH=. python perf/load_site.py                  # build ../shared/dfe into a temp folder
    PYTHONPATH=. python perf/load_site.py --out build --seconds 8 --check-wrk
    PYTHONPATH=. python perf/load_site.py --out build --targets "select 1,profile page" --clients 50
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import multiprocessing
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
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
    "uvicorn floor": "/-/perf-floor",   # uvicorn alone sending a profile page's bytes (see serve_child)
}
#: Targets sent with a cookie: Datasette answers them privately, so they are drawn every time, never from memory
#: (what every request cost before issue 12 item 3, and what a first request costs now).
DRAWN = {"table drawn", "profile drawn"}
BASELINE = "select 1"
PROFILE = "profile page"
TABLE = "table page"
HOST = "127.0.0.1"  # loopback only, never anywhere else
TIMINGS = "/-/perf-timings"
FLOOR = "uvicorn floor"
#: Single requests timed once each before the load runs (review 8, finding 8), printed against the baseline of a
#: statement SQLite itself refuses (a missing table): a statement Datasette refuses for its type must answer as
#: fast; a runaway recursive query must stop at the 2 s sql_time_limit_ms; big pages' first and second hits.
SINGLE = {
    "missing table (baseline)": "/csww?sql=select+*+from+no_such_table",
    "refused: selec 1": "/csww?sql=selec+1",
    "refused: drop table": "/csww?sql=drop+table+comparisons",
    "refused: pragma": "/csww?sql=pragma+table_info(areas)",
    "long search (1000 chars)": "/la?q=" + "a" * 1000,
    "recursive CTE (limit 2 s)": "/csww?sql=with+recursive+c(x)+as+(select+1+union+all+select+x%2B1+from+c)+"
                                 "select+count(*)+from+c",
    "comparisons ?_size=max": "/csww/comparisons?_size=max",
    "comparisons.csv ?_size=max": "/csww/comparisons.csv?_size=max&_dl=1",
    "breakdowns (facets)": "/csww/breakdowns",
}


# ------------------------------------------------------------------------------------------- measuring

def timed(port: int, path: str) -> tuple[int, float]:
    """(status, seconds) of one GET of ``path``, body read, on a fresh connection."""
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    t0 = time.perf_counter()
    conn.request("GET", path)
    resp = conn.getresponse()
    resp.read()
    took = time.perf_counter() - t0
    conn.close()
    return resp.status, took


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds process ``pid`` has used (Linux /proc); nan elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def machine_busy_seconds() -> float:
    """CPU seconds all processes on the machine have used, summed over CPUs (Linux /proc/stat); nan elsewhere."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError):
        return float("nan")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)           # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")          # user..steal, not guest (counted in user)


def percentile(sorted_values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``sorted_values``, nearest rank; nan when empty."""
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(round(q * (len(sorted_values) - 1))))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------------------------------- the client

def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop  # optional: a faster event loop for the clients when installed
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection: ``ask(bytes)`` writes a request and waits for the whole response."""

    def __init__(self):
        import httptools  # a dependency of the site (uvicorn's parser); imported here so the module loads without it

        self.parser = httptools.HttpResponseParser(self)
        self.transport = None
        self.done: asyncio.Future | None = None
        self.lost = False

    # asyncio.Protocol
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        try:
            self.parser.feed_data(data)
        except Exception as e:  # httptools.HttpParserError: a malformed response counts as an error
            if self.done is not None and not self.done.done():
                self.done.set_exception(e)

    def connection_lost(self, exc):
        self.lost = True
        if self.done is not None and not self.done.done():
            self.done.set_exception(ConnectionError("connection closed"))

    # httptools callbacks
    def on_message_complete(self):
        if self.done is not None and not self.done.done():
            self.done.set_result(self.parser.get_status_code())

    async def ask(self, request: bytes) -> int:
        self.done = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.done


async def _clients(port: int, requests: list[bytes], clients: int, budget: int, max_seconds: float,
                   ready, go) -> dict:
    loop = asyncio.get_running_loop()

    async def connect() -> _Connection:
        _, conn = await loop.create_connection(_Connection, HOST, port)
        return conn

    conns = [await connect() for _ in range(clients)]
    ready.put(True)
    await loop.run_in_executor(None, go.wait)
    left = [budget]
    latencies: list[float] = []
    errors = 0
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    deadline = started + max_seconds
    perf = time.perf_counter

    async def client(i: int):
        nonlocal errors
        conn = conns[i]
        n = i
        while left[0] > 0 and time.monotonic() < deadline:
            left[0] -= 1
            request = requests[n % len(requests)]
            n += clients
            t0 = perf()
            try:
                status = await conn.ask(request)
            except Exception:                  # refused, reset, malformed: an error, whatever it was
                status = 0
            dt = perf() - t0
            if status == 200:
                latencies.append(dt)
            else:
                errors += 1
            if conn.lost:
                conn.transport.close()
                conn = await connect()
        conn.transport.close()

    await asyncio.gather(*(client(i) for i in range(clients)))
    ended = time.monotonic()
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    return {"latencies": latencies, "errors": errors, "started": started, "ended": ended, "cpu": cpu}


def _client_process(port, requests, clients, budget, max_seconds, ready, go, results):
    loop = _new_loop()
    try:
        results.put(loop.run_until_complete(_clients(port, requests, clients, budget, max_seconds, ready, go)))
    except BaseException as e:          # cannot connect, or worse: tell the parent at once instead of hanging it
        ready.put(f"{type(e).__name__}: {e}")
        results.put(f"{type(e).__name__}: {e}")
    finally:
        loop.close()


def run(port: int, paths: list[str], clients: int, max_requests: int, max_seconds: float,
        headers: dict[str, str] | None = None, procs: int = 0) -> dict:
    """Send at most ``max_requests`` GETs of ``paths`` (cycled) over ``clients`` keep-alive connections spread
    over ``procs`` client processes (0: the CPU count), for at most ``max_seconds``. Returns requests, errors,
    seconds, rps, p50/p95/p99 (ms), client CPU seconds and the machine's busy CPU seconds meanwhile."""
    procs = max(1, min(clients, procs or os.cpu_count() or 1))
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    requests = [f"GET {p} HTTP/1.1\r\nHost: {HOST}:{port}\r\n{extra}\r\n".encode("latin-1") for p in paths]
    ctx = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    workers = []
    for i in range(procs):
        share = clients // procs + (i < clients % procs)
        budget = max_requests // procs + (i < max_requests % procs)
        mine = requests[i::procs] or requests            # each process cycles through its own part of the pages
        workers.append(ctx.Process(target=_client_process, daemon=True,
                                   args=(port, mine, share, budget, max_seconds, ready, go, results)))
    for w in workers:
        w.start()
    try:
        for _ in workers:
            if (said := ready.get(timeout=60)) is not True:
                raise SystemExit(f"a client process failed: {said}")
        busy0 = machine_busy_seconds()
        go.set()
        parts = [results.get(timeout=max_seconds + 120) for _ in workers]
        if failed := [p for p in parts if not isinstance(p, dict)]:
            raise SystemExit(f"a client process failed: {failed[0]}")
    finally:
        for w in workers:
            if w.is_alive() and not go.is_set():
                w.terminate()
    busy1 = machine_busy_seconds()
    for w in workers:
        w.join(timeout=10)
    latencies = sorted(x for p in parts for x in p["latencies"])
    elapsed = max(p["ended"] for p in parts) - min(p["started"] for p in parts)
    n = len(latencies)
    return {
        "requests": n, "errors": sum(p["errors"] for p in parts), "seconds": elapsed,
        "rps": n / elapsed if elapsed else 0.0, "procs": procs,
        **{f"p{q}": percentile(latencies, q / 100) * 1000 for q in (50, 95, 99)},
        "client_cpu": sum(p["cpu"] for p in parts), "busy": busy1 - busy0,
    }


def wrk(port: int, paths: list[str], clients: int, seconds: float) -> str:
    """The latency distribution and requests/s ``wrk`` reports for ``paths`` (cycled by a Lua script)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write("local paths = {" + ",".join(json.dumps(p) for p in paths) + "}\nlocal i = 0\n"
                "request = function()\n  i = i % #paths + 1\n  return wrk.format('GET', paths[i])\nend\n")
    try:
        out = subprocess.run(["wrk", f"-t{min(clients, os.cpu_count() or 1)}", f"-c{clients}",
                              f"-d{max(1, int(seconds))}s", "--latency", "-s", f.name, f"http://{HOST}:{port}/"],
                             capture_output=True, text=True, timeout=seconds + 60).stdout
    finally:
        os.unlink(f.name)
    return out


# ------------------------------------------------------------------------------------------- the server

def serve_child(db: str, port: int) -> None:
    """The server process: ``csww serve``'s site and uvicorn settings, its app wrapped in one timing layer that
    records each request's time (first ASGI call to the last body byte handed to uvicorn) and answers
    ``/-/perf-timings`` with those recorded since the last ask (milliseconds), then forgets them.
    ``/-/perf-floor?bytes=N`` is answered by that layer alone with N bytes (no Datasette, no middleware): the least
    this machine lets any Python ASGI server behind uvicorn spend on a page of that size (the "uvicorn floor")."""
    sys.path.insert(0, str(ROOT))
    from benchmark import site

    prepared = site.prepare(db)
    app = site.datasette(prepared).app()
    recorded: list[float] = []
    floor: dict[int, bytes] = {}

    async def timed(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        if scope.get("path") == "/-/perf-floor":
            size = int(scope.get("query_string", b"").partition(b"=")[2] or 0)
            body = floor.setdefault(size, b"x" * size)
            t0 = time.perf_counter()
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"text/html"), (b"content-length", str(size).encode())]})
            await send({"type": "http.response.body", "body": body})
            recorded.append(time.perf_counter() - t0)
            return
        if scope.get("path") == TIMINGS:
            body = json.dumps([round(x * 1000, 4) for x in recorded]).encode()
            recorded.clear()
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        t0 = time.perf_counter()

        async def sending(message):
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                recorded.append(time.perf_counter() - t0)

        await app(scope, receive, sending)

    site.run(timed, host=HOST, port=port)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", help="a build folder holding csww.db (default: build ../shared/dfe into a temp folder)")
    ap.add_argument("--requests", type=int, default=20000, help="at most this many requests per run (default 20000)")
    ap.add_argument("--seconds", type=float, default=6.0, help="at most this long per run (default 6)")
    ap.add_argument("--clients", default="1,10,50", help="concurrency levels (default 1,10,50)")
    ap.add_argument("--procs", type=int, default=0, help="client processes (default: the CPU count)")
    ap.add_argument("--targets", help="comma-separated target names (default: all)")
    ap.add_argument("--check-wrk", action="store_true", help="cross-check the 50-client profile run with wrk")
    ap.add_argument("--serve", nargs=2, metavar=("DB", "PORT"), help=argparse.SUPPRESS)  # the server child
    args = ap.parse_args()
    if args.serve:
        serve_child(args.serve[0], int(args.serve[1]))
        return 0
    levels = [int(c) for c in args.clients.split(",")]
    if max(levels) > 200 or args.requests > 50000 or args.seconds > 120:
        ap.error("bounded on purpose: at most 200 clients, 50000 requests and 120 s per run")
    names = [n.strip() for n in args.targets.split(",")] if args.targets else list(TARGETS)
    if unknown := set(names) - set(TARGETS):
        ap.error(f"unknown targets {sorted(unknown)}; known: {', '.join(TARGETS)}")

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out) if args.out else Path(tmp)
        if not args.out:
            sys.path.insert(0, str(ROOT))
            from benchmark.build import build

            build([SHARED / "csww_indicators_2017_to_2025.csv", SHARED / "csww_indicators_2017_to_2024.csv",
                   SHARED / "sfr"], out)
        port = free_port()
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--serve", str(out / "csww.db"),
                                 str(port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    urllib.request.urlopen(f"http://{HOST}:{port}/", timeout=2).read()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit("the server did not start")
                    time.sleep(0.2)

            def get(path: str) -> bytes:
                return urllib.request.urlopen(f"http://{HOST}:{port}{path}", timeout=60).read()

            print("single requests (ms; first and second hit; ratio = first / the missing-table baseline):")
            single = {}
            timed(port, "/csww?sql=select+1")        # the server's first request (startup hooks) is not timed
            for name, path in SINGLE.items():
                single[name] = [timed(port, path) for _ in range(2)]
            base = single["missing table (baseline)"][0][1] or 1e-9
            for name, ((status, first), (_, second)) in single.items():
                print(f"  {name:<28} {status:>4} {first * 1000:>8.0f} {second * 1000:>8.0f} {first / base:>8.1f}x")
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
            size = len(get(pages[0]))               # the floor sends as many bytes as a profile page
            paths[FLOOR] = [f"{TARGETS[FLOOR]}?bytes={size}"]
            for path in [*TARGETS.values(), *paths[FLOOR]]:   # warm up: page caches, templates, SQL statements
                for _ in range(5):
                    get(path)
            json.loads(get(TIMINGS))
            cores = os.cpu_count() or 1
            print(f"server on {HOST}:{port} (uvicorn, one process), {cores} CPUs; clients in "
                  f"{args.procs or cores} processes; at most {args.requests} requests or {args.seconds:g} s per run")
            print(f"cold: {len(rows)} council pages asked for once in {cold:.1f} s ({cold / len(rows) * 1000:.0f} ms "
                  f"a page, one client); {len(pages)} answered 200 (the rest redirect), cycled through below")
            print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
            print("ms per request: p50/p95/p99 as the client saw it; 'app p99' = the server's own time (ASGI call "
                  "to last byte); CPU ms of server and client per request; 'others' = cores used by other processes")
            print(f"{'target':<14} {'clients':>7} {'requests':>8} {'err':>4} {'req/s':>7} {'p50':>7} {'p95':>7} "
                  f"{'p99':>7} {'app p99':>7} {'srv CPU':>7} {'cli CPU':>7} {'others':>6}")
            results: dict[tuple[str, int], dict] = {}
            for name in names:
                for c in levels:
                    cpu = cpu_seconds(proc.pid)
                    r = results[name, c] = run(port, paths[name], c, args.requests, args.seconds,
                                               {"Cookie": "perf=drawn"} if name in DRAWN else None, args.procs)
                    server_cpu = cpu_seconds(proc.pid) - cpu
                    app = sorted(json.loads(get(TIMINGS)))
                    done = max(1, r["requests"] + r["errors"])
                    r["cpu_ms"] = server_cpu * 1000 / done
                    r["client_cpu_ms"] = r["client_cpu"] * 1000 / done
                    r["app_p99"] = percentile(app, 0.99)
                    r["others"] = max(0.0, (r["busy"] - server_cpu - r["client_cpu"]) / r["seconds"]) if r["seconds"] else 0
                    print(f"{name:<14} {c:>7} {r['requests']:>8} {r['errors']:>4} {r['rps']:>7.0f} {r['p50']:>7.1f} "
                          f"{r['p95']:>7.1f} {r['p99']:>7.1f} {r['app_p99']:>7.2f} {r['cpu_ms']:>7.2f} "
                          f"{r['client_cpu_ms']:>7.2f} {r['others']:>6.2f}", flush=True)
            print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
                  f"(others = CPU other processes took during the runs, of {cores} cores)")
            print("issue 12 item 3 (printed, not asserted; 'drawn' = with a cookie, never answered from memory):")
            for c in levels:
                if (BASELINE, c) in results and (PROFILE, c) in results:
                    base, prof = results[BASELINE, c], results[PROFILE, c]
                    ratio = prof["rps"] / base["rps"] if base["rps"] else float("nan")
                    print(f"  {c:>3} clients: profile page {prof['rps']:.0f} req/s = {ratio:.2f}x select 1 "
                          f"({base['rps']:.0f} req/s; target >= 0.5x); profile p99 {prof['p99']:.1f} ms "
                          f"(target <= 50 ms at 50 clients)")
            for c in levels:
                if (FLOOR, c) in results and (PROFILE, c) in results:
                    fl, prof = results[FLOOR, c], results[PROFILE, c]
                    print(f"  {c:>3} clients: uvicorn alone sending the same {size} bytes: {fl['rps']:.0f} req/s, "
                          f"p99 {fl['p99']:.1f} ms (the profile page: {prof['rps']:.0f} req/s, p99 {prof['p99']:.1f} ms)")
            for c in levels:
                if (TABLE, c) in results:
                    drawn = results.get(("table drawn", c))
                    print(f"  {c:>3} clients: table page {results[TABLE, c]['rps']:.0f} req/s"
                          + (f", drawn {drawn['rps']:.0f} req/s" if drawn else "")
                          + " (target >= 200 req/s at 10 clients)")
            if args.check_wrk:
                if shutil.which("wrk"):
                    print("wrk cross-check, profile page, 50 clients:")
                    print(wrk(port, pages, 50, args.seconds))
                else:
                    print("wrk cross-check skipped: wrk is not on the PATH (apt-get install wrk)")
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
