"""Council profile pages drawn once per build and served from memory (issue 12 item 3, fast pages).

``/la/<code>`` and ``/la/<code>.json`` cost tens of milliseconds to draw (a dozen SQL queries and an SVG chart per
key measure; 200-300 ms under load) yet change only when the site is rebuilt. :func:`asgi_wrapper` keeps each
page an anonymous visitor was sent, exactly as Datasette sent it (status, headers, body), in the Datasette
instance's :class:`PageCache`, and answers the next request for the same page with the same bytes before
Datasette's router: no SQLite, pandas or Jinja.

* **Key**: ``(database name, code as in the URL, format, year, from)`` (:func:`page_key`) within one build.
  ``?year=`` and ``?from=`` are the only arguments the page reads, so each variant is its own entry and any other
  argument is ignored, as the page ignores it. Only whole 200 responses that set no cookie are stored; redirects
  and errors are drawn each time.
* **Build**: the served file's identity (device, inode, size, modification time; one ``os.stat`` per request),
  the database's ``build_info.build_id`` and Datasette's hash of it. A different file empties the cache, so a
  new build is never answered with pages of the old one. (Datasette serves the site's databases immutable:
  restart ``csww serve`` after ``csww build`` to serve the new figures; the check is the safety net.)
* **Public only**: the profile route marks a response storable (:func:`mark_cacheable`) only for a request with
  no actor, after Datasette's permission checks passed; the middleware stores and answers only requests with no
  cookie and no ``Authorization`` header (:func:`anonymous`), which Datasette would answer the same for everyone.
  The private instance needs a signed-in actor for every page, so its pages are never stored; each Datasette
  instance has its own cache, so a public and a private instance in one process share nothing.
* **Bounded**: least recently used pages are dropped past :data:`MAX_BYTES` (64 MB; a profile page is about
  85 kB, its JSON 20 kB, so every council's latest page and data fit several times over).
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import parse_qs

#: Most bytes of page bodies one instance keeps.
MAX_BYTES = 64 * 1024 * 1024
#: The profile route (``site_plugin.register_routes``), for the path as Datasette routes it.
PROFILE_PATH = re.compile(r"^/la/(?P<code>[0-9A-Za-z~._-]+?)(?P<format>\.json)?$")
#: Where the ASGI scope carries the route's "may be stored" mark (:func:`mark_cacheable`) to the middleware.
SCOPE_KEY = "csww.page_cache"
#: The query arguments the profile page reads; every other argument leaves the page unchanged.
PAGE_ARGS = ("year", "from")


@dataclass(frozen=True)
class Page:
    """One stored response exactly as Datasette sent it: status, ASGI headers ((name, value) bytes) and body."""
    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes


def page_key(database: str, code: str, fmt: str | None, args) -> tuple:
    """The cache key of the profile page of ``code`` (as in the URL) in ``fmt`` ('.json' or None) for the query
    arguments ``args`` (a mapping of name to first value, as ``request.args``)."""
    return (database, code, fmt or "", *((args.get(a) or "").strip() for a in PAGE_ARGS))


def file_identity(path: str | None) -> tuple | None:
    """(device, inode, size, mtime in ns) of the served database file; None for an in-memory database."""
    if not path:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class PageCache:
    """Rendered pages of one Datasette instance for one build, least recently used dropped past ``max_bytes``.

    Thread-safe. ``build`` is (file identity, build id) of the database the pages were drawn from; ``reset``
    empties the cache for another build. ``hits`` and ``misses`` count lookups (for tests and perf)."""

    def __init__(self, max_bytes: int = MAX_BYTES):
        self.max_bytes = max_bytes
        self.build: tuple | None = None
        self.hits = self.misses = 0
        self._pages: OrderedDict[tuple, Page] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._pages)

    def reset(self, build: tuple | None) -> None:
        with self._lock:
            self.build = build
            self._pages.clear()
            self._bytes = 0

    def get(self, key: tuple) -> Page | None:
        with self._lock:
            page = self._pages.get((self.build, key))
            if page is None:
                self.misses += 1
                return None
            self._pages.move_to_end((self.build, key))
            self.hits += 1
            return page

    def put(self, build: tuple, key: tuple, page: Page) -> None:
        """Store ``page`` drawn from ``build``; ignored when the cache has moved to another build meanwhile."""
        size = len(page.body)
        if size > self.max_bytes:
            return
        with self._lock:
            if build != self.build:
                return
            old = self._pages.pop((build, key), None)
            if old is not None:
                self._bytes -= len(old.body)
            self._pages[(build, key)] = page
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, dropped = self._pages.popitem(last=False)
                self._bytes -= len(dropped.body)


_caches: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def cache_for(datasette) -> PageCache:
    """The page cache of ``datasette`` (one per instance, made on first use)."""
    return _caches.setdefault(datasette, PageCache())


def anonymous(headers) -> bool:
    """True when a request with these ASGI ``headers`` ([(name, value) bytes]) has no cookie and no
    ``Authorization`` header: the only requests a cached page may answer (Datasette marks any other response
    ``private, no-store``, and a cookie may carry a signed-in actor or a message for the page)."""
    return not any(name.lower() in (b"cookie", b"authorization") for name, _ in headers)


async def current_build(datasette, db) -> tuple:
    """(file identity, build id, Datasette's hash) of ``db``; empties the instance's cache when it differs from the
    cached build. Reads ``build_info`` only when the file's identity changed."""
    cache = cache_for(datasette)
    identity = file_identity(db.path)
    if cache.build is not None and cache.build[0] == identity and identity is not None:
        return cache.build
    try:
        row = (await db.execute("select value from build_info where key = 'build_id'")).first()
    except sqlite3.OperationalError:  # a database without build_info (a bare instance): the file identity alone
        row = None
    build = (identity, row[0] if row else None, db.hash)
    if build != cache.build:
        cache.reset(build)
    return build


def mark_cacheable(request, build: tuple) -> None:
    """Tell :func:`asgi_wrapper` that the response to ``request`` (drawn from ``build``) may be stored: called by
    the profile route for an anonymous visitor who passed the permission checks."""
    holder = request.scope.get(SCOPE_KEY)
    if holder is not None:
        holder["build"] = build


def asgi_wrapper(datasette):
    """ASGI middleware: answers a cached profile page for an anonymous GET before Datasette's router, and stores
    the response Datasette sends when the route marked it cacheable (status 200, whole body, no cookie set)."""

    def wrap(app):
        async def fast(scope, receive, send):
            if scope["type"] != "http" or scope.get("method") != "GET":
                return await app(scope, receive, send)
            raw = scope.get("raw_path")
            path = raw.decode("ascii", "replace").partition("?")[0] if raw else scope.get("path", "")
            m = PROFILE_PATH.match(path)
            if m is None or not anonymous(scope.get("headers") or []):
                return await app(scope, receive, send)
            db = datasette.get_database()
            cache = cache_for(datasette)
            args = {k: v[0] for k, v in parse_qs(scope.get("query_string", b"").decode("latin-1"),
                                                  keep_blank_values=True).items()}
            key = page_key(db.name, m["code"], m["format"], args)
            if cache.build is not None and file_identity(db.path) == cache.build[0]:
                page = cache.get(key)
                if page is not None:
                    await send({"type": "http.response.start", "status": page.status, "headers": list(page.headers)})
                    await send({"type": "http.response.body", "body": page.body})
                    return
            holder: dict = {}
            start: dict = {}
            chunks: list[bytes] = []
            whole = [True]

            async def recording(message):
                if message["type"] == "http.response.start":
                    start.update(message)
                elif message["type"] == "http.response.body":
                    chunks.append(message.get("body", b""))
                    whole[0] = whole[0] and not message.get("more_body", False)
                await send(message)

            await app({**scope, SCOPE_KEY: holder}, receive, recording)
            headers = tuple((bytes(k), bytes(v)) for k, v in start.get("headers") or [])
            if (holder.get("build") is not None and start.get("status") == 200 and whole[0] and len(chunks) == 1
                    and not any(k.lower() == b"set-cookie" for k, _ in headers)):
                cache.put(holder["build"], key, Page(200, headers, chunks[0]))

        return fast

    return wrap
