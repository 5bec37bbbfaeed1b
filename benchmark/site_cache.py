"""Pages of the public site drawn once per build and served from memory (issue 12 item 3, fast pages).

The council profile page (``/la/<code>``, ``/la/<code>.json``) costs tens of milliseconds to draw (a dozen SQL
queries and an SVG chart per key measure; 200-300 ms on a busy machine), a table page with 100 rows of 37 columns
as much again (Datasette renders every cell), yet neither changes until the site is rebuilt. :func:`asgi_wrapper`
keeps each such page an anonymous visitor was sent, exactly as Datasette sent it (status, headers, body), in the
Datasette instance's :class:`PageCache`, and answers the next request for the same page with the same bytes
before Datasette's router: no SQLite, pandas or Jinja.

* **What**: for an immutable database only, the profile page (the route marks it, :func:`mark_cacheable`) and the public database's own pages
  (database, tables, rows, canned queries; ``.json``/``.csv`` too) whose response Datasette marked
  ``Cache-Control: max-age=N`` — its mark of a page any shared cache (a CDN) may keep, which it gives pages of
  immutable databases for anonymous visitors. Never arbitrary ``?sql=`` (a key per query typed), streamed
  downloads (``_stream``), errors, redirects, or responses that set a cookie.
* **Key**: for the profile page ``(database, "la", code as in the URL, format, year, from)`` (:func:`page_key`):
  ``?year=`` and ``?from=`` are the only arguments it reads, so each variant is its own entry and any other
  argument is ignored, as the page ignores it. For other pages the path and the whole query string.
* **Build**: the served file's identity (device, inode, size, modification time; one ``os.stat`` per request),
  the database's ``build_info.build_id`` and Datasette's hash of it (:func:`current_build`). A different file
  empties the cache, so a new build is never answered with pages of the old one. (Datasette serves the site's
  databases immutable: restart ``csww serve`` after ``csww build`` to serve the new figures; the check is the
  safety net.)
* **Public only**: only requests with no cookie and no ``Authorization`` header (:func:`anonymous`) are stored or
  answered from memory: Datasette would answer them the same for everyone, and marks any other response
  ``private, no-store``. The private instance needs a signed-in actor for every page, so its pages are never
  stored; each Datasette instance has its own cache, so a public and a private instance share nothing.
* **Revalidated**: a stored page carries an ``ETag`` (a hash of its bytes) from its first answer on; a request
  whose ``If-None-Match`` names it gets ``304 Not Modified`` with no body (a browser or CDN whose copy has passed
  its ``max-age``).
* **Bounded**: least recently used pages are dropped past :data:`MAX_BYTES` (64 MB; a profile page is about
  85 kB, its JSON 20 kB), and no page over a sixteenth of that is kept.
"""

from __future__ import annotations

import functools
import hashlib
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
    """One stored response as Datasette sent it: status, ASGI headers ((name, value) bytes; with the ``ETag`` this
    module adds, :func:`etag`) and body."""
    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes

    @property
    def etag(self) -> bytes | None:
        return next((v for k, v in self.headers if k == b"etag"), None)


def etag(body: bytes) -> bytes:
    """The strong entity tag of a stored page: a hash of its bytes (``"`` + 24 hex digits + ``"``), so the same
    page of a rebuild with the same figures keeps its tag and any changed byte changes it."""
    return b'"' + hashlib.blake2b(body, digest_size=12).hexdigest().encode() + b'"'


def matches(if_none_match: bytes | None, tag: bytes | None) -> bool:
    """True when an ``If-None-Match`` header value (``*`` or a comma-separated list of tags, weak ``W/`` ones
    included: RFC 9110 13.1.2 compares them weakly) names ``tag``."""
    if not if_none_match or not tag:
        return False
    wanted = [t.strip() for t in if_none_match.split(b",")]
    return b"*" in wanted or tag in (t[2:] if t.startswith(b"W/") else t for t in wanted)


def not_modified(page: Page) -> list[tuple[bytes, bytes]]:
    """The headers of a 304 answer for ``page``: its own less the body's length and type (RFC 9110 15.4.5 keeps
    ``ETag``, ``Cache-Control`` and ``Vary``)."""
    return [(k, v) for k, v in page.headers if k not in (b"content-length", b"content-type")]


def page_key(database: str, code: str, fmt: str | None, args) -> tuple:
    """The cache key of the profile page of ``code`` (as in the URL) in ``fmt`` ('.json' or None) for the query
    arguments ``args`` (a mapping of name to first value, as ``request.args``)."""
    return (database, "la", code, fmt or "", *((args.get(a) or "").strip() for a in PAGE_ARGS))


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
    """Responses of one Datasette instance for one build, least recently used dropped past ``max_bytes``.

    Thread-safe. ``build`` is (file identity, build id) of the database the pages were drawn from; ``reset``
    empties the cache for another build. ``hits`` and ``misses`` count lookups (for tests and perf)."""

    def __init__(self, max_bytes: int = MAX_BYTES, max_page_bytes: int | None = None):
        self.max_bytes = max_bytes
        self.max_page_bytes = max_bytes // 16 if max_page_bytes is None else max_page_bytes
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
        """Store ``page`` drawn from ``build``; ignored when the cache has moved to another build meanwhile, or
        when the page is larger than ``max_page_bytes`` (a sixteenth of the budget: one big download never empties
        the cache)."""
        size = len(page.body)
        if size > self.max_page_bytes:
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
    cache = _caches.get(datasette)
    if cache is None:                       # (setdefault would build a PageCache on every request)
        cache = _caches.setdefault(datasette, PageCache())
    return cache


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


def max_age(headers) -> int:
    """Seconds a response with these ASGI ``headers`` says any cache may keep it: N for ``Cache-Control: max-age=N``
    alone, 0 for anything else (``private``, ``no-store``, no header)."""
    values = [v.decode("latin-1").strip().lower() for k, v in headers if k.lower() == b"cache-control"]
    m = re.fullmatch(r"max-age=(\d+)", values[0]) if len(values) == 1 else None
    return int(m[1]) if m else 0


def request_key(datasette, db, scope) -> tuple | None:
    """The cache key of an anonymous GET ``scope``, or None when its response is never stored: a mutable database
    (the site serves its databases immutable), not the first database's pages (``/la/…``, ``/<db>``, ``/<db>/…``,
    ``/<db>.json``), arbitrary ``?sql=`` (a key per query typed) or a streamed download (``_stream``)."""
    if (scope["type"] != "http" or scope.get("method") != "GET" or db.is_mutable
            or not anonymous(scope.get("headers") or [])):
        return None                       # a mutable database may change under a kept page: never kept
    raw = scope.get("raw_path")
    return _path_key(db.name, raw.partition(b"?")[0] if raw else scope.get("path", "").encode("utf-8"),
                     scope.get("query_string", b""))


@functools.lru_cache(maxsize=4096)
def _path_key(database: str, raw_path: bytes, query_string: bytes) -> tuple | None:
    """:func:`request_key` for a path and query string of ``database`` (remembered: the same few pages are asked
    for again and again)."""
    path = raw_path.decode("ascii", "replace")
    query = query_string.decode("latin-1")
    args = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
    m = PROFILE_PATH.match(path)
    if m is not None:
        return page_key(database, m["code"], m["format"], args)
    base = f"/{database}"
    if not (path == base or path.startswith((base + "/", base + "."))) or "sql" in args or "_stream" in args:
        return None
    return (database, "data", path, query)


def asgi_wrapper(datasette):
    """ASGI middleware: answers an anonymous GET for a page of the public database from memory before Datasette's
    router, and otherwise stores the response Datasette sends when it may: status 200, whole body, no cookie set,
    ``Cache-Control: max-age`` (Datasette's own mark of a page any shared cache may keep, given to pages of
    immutable databases for anonymous visitors), and for the profile page the route's :func:`mark_cacheable`.

    A stored page carries an ``ETag`` (:func:`etag`; from its first answer on, so every answer of it is the same);
    a request naming it in ``If-None-Match`` gets ``304 Not Modified`` with no body."""

    def wrap(app):
        async def fast(scope, receive, send):
            if scope["type"] != "http" or scope.get("method") != "GET":
                return await app(scope, receive, send)
            try:
                db = datasette.get_database()
            except (IndexError, KeyError):      # an instance serving no database: nothing of ours to keep
                return await app(scope, receive, send)
            key = request_key(datasette, db, scope)
            if key is None:
                return await app(scope, receive, send)
            cache = cache_for(datasette)
            build = await current_build(datasette, db)
            page = cache.get(key)
            if page is not None:
                if matches(_header(scope, b"if-none-match"), page.etag):
                    await send({"type": "http.response.start", "status": 304, "headers": not_modified(page)})
                    await send({"type": "http.response.body", "body": b""})
                    return
                await send({"type": "http.response.start", "status": page.status, "headers": list(page.headers)})
                await send({"type": "http.response.body", "body": page.body})
                return
            holder: dict = {}
            held: list[dict] = []               # the response start, sent with the first body message

            async def recording(message):
                if message["type"] == "http.response.start":
                    held.append(message)
                    return
                if held and message["type"] == "http.response.body":
                    start = held.pop()
                    body = message.get("body", b"")
                    if not message.get("more_body", False) and len(body) <= cache.max_page_bytes:  # whole: kept
                        stored = storable(start, body, key, holder, build)                        # when it may be
                        if stored is not None:
                            await send({**start, "headers": list(stored.headers)})
                            await send(message)
                            cache.put(build, key, stored)
                            return
                    await send(start)           # streamed (the .db file, CSV) or not storable: passed on as it is
                await send(message)

            await app({**scope, SCOPE_KEY: holder}, receive, recording)
            if held:                            # a start with no body (an app error): let the server see it
                await send(held.pop())

        return fast

    return wrap


def storable(start: dict, body: bytes, key: tuple, holder: dict, build: tuple) -> Page | None:
    """The :class:`Page` (with its :func:`etag`) to keep for a response that began with ``start`` (an ASGI
    ``http.response.start`` message) and whose whole body is ``body``; None when it may not be kept."""
    headers = tuple((bytes(k), bytes(v)) for k, v in start.get("headers") or [])
    if (start.get("status") != 200 or max_age(headers) <= 0 or any(k.lower() == b"set-cookie" for k, _ in headers)
            or (key[1] == "la" and holder.get("build") != build)):
        return None
    if not any(k.lower() == b"etag" for k, _ in headers):
        headers += ((b"etag", etag(body)),)
    return Page(200, tuple((k.lower(), v) for k, v in headers), body)


def _header(scope, name: bytes) -> bytes | None:
    """The value of request header ``name`` (lower case) in ASGI ``scope``; None when absent."""
    return next((v for k, v in scope.get("headers") or [] if k.lower() == name), None)
