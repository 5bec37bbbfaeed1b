"""A local HTTP server speaking the EES content API routes csww uses (reference section 10.1).

It serves real files (from ../shared/dfe) or the hand-made fixtures in the shapes EES gives them:
publication, data-content, release list, version summary, data-set-files, single files and the
release ZIP. Faults can be queued per route to test retries, timeouts and damaged downloads. This is
the only fake in the test suite: everything on the client side is the real download code.
"""

from __future__ import annotations

import csv
import io
import json
import threading
import time
import uuid
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

PUBLICATION = "children-s-social-work-workforce"


def data_rows(data: bytes) -> int:
    """Data rows of a CSV (header and blank lines not counted): what EES states as numDataFileRows."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig", errors="replace"), newline="")))
    return sum(1 for row in rows[1:] if row)


class Release:
    def __init__(self, slug: str, files: dict[str, bytes], zip_data: bytes | None = None):
        self.slug = slug
        self.zip_data = zip_data  # served as the release ZIP instead of one built from the files
        self.release_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"release/{slug}"))
        self.version_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"release-version/{slug}"))
        self.files = {str(uuid.uuid5(uuid.NAMESPACE_URL, f"file/{slug}/{name}")): (name, data)
                      for name, data in files.items()}

    def zip_bytes(self) -> bytes:
        if self.zip_data is not None:
            return self.zip_data
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in self.files.values():
                z.writestr(f"data/{name}", data)
            z.writestr("data-guidance/data-guidance.txt", "Children's social work workforce: data guidance\n")
        return buf.getvalue()


class EESServer:
    """Start with ``with EESServer(releases) as server: ...``; ``server.url`` is the API base URL.

    ``server.fail(route, *faults)`` queues faults for the next requests whose path contains
    ``route``: "500", "429", "503:<Retry-After value>" (any status, with that header), "slow" (answer
    after ``slow_seconds``), "drip" (send the body a byte every ``drip_seconds``), "cut" (promise the
    full length, send half, close), "truncate" (serve the first half of the body as if it were all of
    it), "rowcut" (the same, cut on a row boundary) and "404".

    ``server.answer(route, obj)`` serves ``obj`` as the JSON answer of every path ending in ``route``
    (unexpected shapes). ``paging`` makes ``/data-set-files`` misbehave after page 1: "empty" pages,
    the first page "repeat"ed, or "endless" distinct pages, each claiming a million pages.
    ``file_size="text"`` lists sizes as EES does ("283 Kb", not bytes); ``rows`` states each data
    set's ``numDataFileRows`` in data-content.
    """

    def __init__(self, releases: list[Release], latest: str | None = None, slow_seconds: float = 3.0,
                 data_content: bool = True, drip_seconds: float = 0.2, paging: str | None = None,
                 file_size: str = "bytes", rows: bool = True):
        self.releases = {r.slug: r for r in releases}
        self.latest = latest or max(self.releases)
        self.slow_seconds = slow_seconds
        self.drip_seconds = drip_seconds
        self.data_content = data_content  # False: answer 404 as services before October 2025 did
        self.paging = paging
        self.file_size = file_size
        self.rows = rows
        self.answers: dict[str, object] = {}
        self.faults: list[tuple[str, str]] = []
        self.log: list[str] = []
        self._lock = threading.Lock()

    # -- control -------------------------------------------------------------------------------
    def fail(self, route: str, *faults: str) -> None:
        with self._lock:
            self.faults.extend((route, f) for f in faults)

    def answer(self, route: str, obj) -> None:
        self.answers[route] = obj

    def _take_fault(self, path: str) -> str | None:
        with self._lock:
            for i, (route, fault) in enumerate(self.faults):
                if route in path:
                    del self.faults[i]
                    return fault
        return None

    def __enter__(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                server.log.append(self.path)
                fault = server._take_fault(self.path)
                if fault == "slow":
                    time.sleep(server.slow_seconds)
                if fault and fault.split(":")[0] in ("500", "503", "429", "404"):
                    code, _, after = fault.partition(":")
                    self.send_response(int(code))
                    if after or code == "429":
                        self.send_header("Retry-After", after or "0")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status, ctype, body, extra = server.route(self.path)
                if fault == "truncate":
                    body = body[: len(body) // 2]
                if fault == "rowcut":
                    body = body[: body.rindex(b"\n", 0, len(body) // 2) + 1]
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in extra.items():
                    self.send_header(k, v)
                self.end_headers()
                if fault == "drip":
                    try:
                        for i in range(len(body)):
                            self.wfile.write(body[i:i + 1])
                            self.wfile.flush()
                            time.sleep(server.drip_seconds)
                    except OSError:
                        pass
                    self.close_connection = True
                    return
                if fault == "cut":
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/api"
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- routes --------------------------------------------------------------------------------
    def route(self, raw_path: str):
        url = urlparse(raw_path)
        parts = [p for p in url.path.split("/") if p][1:]  # drop "api"
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        json_ = lambda obj: (200, "application/json; charset=utf-8", json.dumps(obj).encode(), {})  # noqa: E731
        for route, obj in self.answers.items():
            if url.path.endswith(route):
                return json_(obj)
        not_found = (404, "application/json", b'{"title":"Not Found","status":404}', {})
        by_version = {r.version_id: r for r in self.releases.values()}

        if parts[:2] == ["publications", PUBLICATION]:
            rest = parts[2:]
            if not rest:
                latest = self.releases[self.latest]
                return json_({"id": "pub-csww", "slug": PUBLICATION, "title": "Children's social work workforce",
                              "latestRelease": {"id": latest.release_id, "slug": latest.slug,
                                                "title": f"Reporting year {latest.slug}"},
                              "nextReleaseDate": {"year": 2027, "month": 2}})
            if rest == ["releases"]:
                return json_([{"id": r.version_id, "releaseId": r.release_id, "slug": r.slug,
                               "title": f"Reporting year {r.slug}", "latestRelease": r.slug == self.latest}
                              for r in self.releases.values()])
            if len(rest) == 3 and rest[0] == "releases":
                release = self.releases.get(rest[1])
                if release is None:
                    return not_found
                if rest[2] == "data-content" and self.data_content:
                    return json_({"releaseId": release.release_id, "releaseVersionId": release.version_id,
                                  "dataSets": [{"dataSetFileId": "ds-" + fid, "fileId": fid, "subjectId": "s-" + fid,
                                                "title": name.replace("_", " ").removesuffix(".csv"),
                                                "meta": {"numDataFileRows": data_rows(data)} if self.rows else {}}
                                               for fid, (name, data) in release.files.items()]})
                if rest[2] == "version-summary":
                    return json_({"id": release.version_id, "releaseId": release.release_id, "slug": release.slug,
                                  "title": f"Reporting year {release.slug}", "published": f"{int(release.slug) + 1}-02-26T09:30:00Z",
                                  "isLatestRelease": release.slug == self.latest, "updateCount": 0})
            return not_found
        if parts == ["data-set-files"]:
            release = by_version.get(q.get("releaseId"))
            if release is None:
                return json_({"results": [], "paging": {"page": 1, "pageSize": 40, "totalResults": 0, "totalPages": 0}})
            items = list(release.files.items())
            size, page = int(q.get("pageSize", 40)), int(q.get("page", 1))
            chunk = items[(page - 1) * size: page * size]
            if self.paging and page > 1:
                chunk = {"empty": [], "repeat": items[:size],
                         "endless": [(str(uuid.uuid5(uuid.NAMESPACE_URL, f"page/{page}")), ("notes.csv", b"x\n"))]
                         }[self.paging]
            return json_({"results": [{"id": "ds-" + fid, "fileId": fid, "filename": name,
                                       "fileSize": len(data) if self.file_size == "bytes" else f"{len(data) // 1024} Kb",
                                       "fileExtension": "csv", "title": name, "release": {"id": release.version_id,
                                                                                           "slug": release.slug}}
                                      for fid, (name, data) in chunk],
                          "paging": {"page": page, "pageSize": size, "totalResults": len(items),
                                     "totalPages": 10**6 if self.paging else max(1, -(-len(items) // size))}})
        if len(parts) == 3 and parts[0] == "data-set-files" and parts[2] == "download":
            for release in self.releases.values():
                for fid, (name, data) in release.files.items():
                    if parts[1] == "ds-" + fid:
                        return 200, "text/csv", data, {"Content-Disposition": f'attachment; filename="{name}"'}
            return not_found
        if len(parts) >= 3 and parts[0] == "releases" and parts[2] == "files":
            release = by_version.get(parts[1])
            if release is None:
                return not_found
            if len(parts) == 3:
                body = release.zip_bytes()
                return (200, "application/zip", body,
                        {"Content-Disposition": f'attachment; filename="{PUBLICATION}_{release.slug}.zip"'})
            if len(parts) == 4 and parts[3] in release.files:
                name, data = release.files[parts[3]]
                return 200, "text/csv", data, {"Content-Disposition": f'attachment; filename="{name}"'}
        return not_found
