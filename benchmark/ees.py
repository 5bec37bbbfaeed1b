"""Talking to Explore Education Statistics (EES): find a release, download its files, cache them.

Uses the EES content API (reference section 10.1):

1. ``GET /publications/{slug}`` gives the latest release's slug;
2. ``GET /publications/{slug}/releases/{release}/data-content`` gives the release version id and the
   data sets' file ids (falling back to ``GET /publications/{slug}/releases`` on older services);
3. ``GET /data-set-files?releaseId={releaseVersionId}`` gives each file id's file name;
4. ``GET /releases/{releaseVersionId}/files/{fileId}`` downloads one CSV (falling back to the data
   catalogue's ``GET /data-set-files/{dataSetFileId}/download``), or
   ``GET /releases/{releaseVersionId}/files?fromPage=ReleaseDownloads`` the whole release ZIP.

Every download goes to a temporary file, is checked (the ZIP opens, the CSV header is a layout we
know, every row reads, the row count is the one EES states) and only then moves into the cache, with
a manifest recording URL, size, rows, SHA-256 and time. A failed fetch leaves the cache as it was.

Against a hostile or broken network (issue 14): every request runs under a total deadline (per
download and per command, enforced by a watchdog that cuts the connection, not only per read);
``Retry-After`` is honoured up to ``MAX_RETRY_AFTER`` seconds with a message, beyond that it is a
FetchError; paging stops on an empty or repeated page and at ``MAX_PAGES``; slugs, ids and file
names are checked against strict patterns before any URL or path is built; ZIP members are capped
in size and compression ratio before extraction; every JSON answer is checked against the shape
EES documents (:data:`SHAPES`), so a surprise is a FetchError naming the URL and the field.
"""

from __future__ import annotations

import csv
import email.utils
import functools
import io
import json
import math
import os
import re
import shutil
import socket
import sys
import threading
import time
import weakref
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from . import readers
from .cache import PUBLICATION, SLUG, Cache, FetchError, check_name  # noqa: F401  (ees.Cache, ees.FetchError as known)
from .fileio import sha256_file

# requests, urllib3, jsonschema and click are imported where used ("optional heavy import"): a build from local
# files imports this module (for PAGE_URL and the caps) and needs none of them (issue 14 item 6: import time).
if TYPE_CHECKING:
    import requests

DEFAULT_URL = "https://content.explore-education-statistics.service.gov.uk/api"
PAGE_URL = "https://explore-education-statistics.service.gov.uk/find-statistics"
#: The data files ``csww fetch`` downloads from a release: the indicators (headline measures in 2022) and the
#: breakdowns by role and characteristics (``benchmark.readers.breakdowns``).
WANTED = re.compile(r"^csww_(indicators|headline_measures|workforce_role_by_ethnicity|role_by_characteristics)_.*\.csv$",
                    re.I)
RETRY_STATUSES = (429, 500, 502, 503, 504)
USER_AGENT = "csww-benchmark (+https://github.com/csww-benchmark)"

# What a name from the network must look like before it goes into a URL or a path. Release slugs
# are years ("2025") or year ranges ("2024-25"); ids are EES GUIDs; data file names are plain CSV
# names. None can hold "/", "\\", a leading "." or "..", so no answer can point outside the cache.
ID = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?$")
FILENAME = re.compile(r"^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9_.-]{0,150}\.csv$", re.I)

#: Default budgets, in seconds: the whole command's network work, one download (or API call), and
#: the longest ``Retry-After`` we wait before giving up.
DEFAULT_DEADLINE = 600.0
DEFAULT_DOWNLOAD_DEADLINE = 300.0
MAX_RETRY_AFTER = 60.0
#: Paging through ``/data-set-files`` stops after this many pages (40 files each).
MAX_PAGES = 20
#: Size caps, in bytes: one download, one JSON answer, one ZIP member (uncompressed), all members.
MAX_DOWNLOAD_BYTES = 512 * 2**20
MAX_JSON_BYTES = 16 * 2**20
MAX_MEMBER_BYTES = readers.ZIP_LIMITS.member
MAX_ZIP_TOTAL_BYTES = readers.ZIP_LIMITS.total
#: Largest uncompressed:compressed ratio of a ZIP member (see ``readers.ZipLimits``, the same caps for --from).
MAX_RATIO = readers.ZIP_LIMITS.ratio


class NotFound(FetchError):
    """HTTP 404: a route or release the service does not have."""


# -- expected JSON shapes (reference section 10.1); only the fields csww reads are checked ----------
_ID = {"type": "string", "pattern": ID.pattern}
_OPT_STR = {"type": ["string", "null"]}
_META = {"type": "object", "properties": {"numDataFileRows": {"type": "integer", "minimum": 0}}}
SHAPES = {
    "publication": {"type": "object", "required": ["latestRelease"], "properties": {
        "latestRelease": {"type": "object", "required": ["slug"],
                          "properties": {"slug": {"type": "string", "pattern": SLUG.pattern}}}}},
    "data-content": {"type": "object", "required": ["releaseVersionId"], "properties": {
        "releaseVersionId": _ID,
        "dataSets": {"type": "array", "items": {"type": "object", "required": ["fileId"], "properties": {
            "fileId": _ID, "title": _OPT_STR, "meta": _META}}}}},
    "releases": {"type": "array", "items": {"type": "object", "required": ["slug"], "properties": {
        "slug": {"type": "string"}}}},
    "data-set-files": {"type": "object", "required": ["results"], "properties": {
        "results": {"type": "array", "items": {"type": "object", "required": ["fileId", "filename"], "properties": {
            "id": {"anyOf": [_ID, {"type": "null"}]}, "fileId": _ID, "filename": {"type": "string"},
            "title": _OPT_STR, "meta": _META}}},
        "paging": {"type": "object", "properties": {"totalPages": {"type": "integer", "minimum": 0}}}}},
    "version-summary": {"type": "object", "properties": {"published": _OPT_STR, "title": _OPT_STR}},
}
_JSON_TYPES = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "a number",
               float: "a number", type(None): "null"}


def check_shape(obj, shape: str, url: str):
    """``obj`` if it has the fields csww reads in the shape EES documents; FetchError naming ``url`` and the field."""
    import jsonschema  # optional heavy import: only when an EES answer is checked

    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(SHAPES[shape]).iter_errors(obj))
    if error is None:
        return obj
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    kind = _JSON_TYPES.get(type(error.instance), "something else")
    if error.validator == "required":
        missing = next((k for k in error.validator_value if not isinstance(error.instance, dict) or k not in error.instance), "?")
        what = f"field {(where + '.' + missing).lstrip('.')} is missing"
    elif error.validator == "type" or error.validator == "anyOf":
        expected = error.schema.get("type") or "a string"
        what = (f"field {where.lstrip('.')} is {kind}, expected {expected}" if where
                else f"the answer is {kind}, expected {expected}")
    elif error.validator == "pattern":
        shown = repr(error.instance) if len(repr(error.instance)) <= 80 else repr(error.instance)[:77] + "..."
        what = f"field {where.lstrip('.')} is {shown}, which is not a safe slug or id (expected {error.validator_value})"
    else:
        what = f"field {where.lstrip('.') or '(the answer)'}: {error.message[:120]}"
    raise FetchError(f"{url}: unexpected answer from EES: {what}")


# -- a total deadline for a request, not only for each read ----------------------------------------
def _cut(sock) -> None:
    """Shut a socket down from another thread, so a read blocked on it returns at once."""
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain call, also under TLS
    except (OSError, TypeError):
        pass


class _Sockets:
    """The sockets a client has opened; :meth:`cut` shuts them all (and any opened after) down."""

    def __init__(self):
        self._lock = threading.Lock()
        self._socks: weakref.WeakSet = weakref.WeakSet()
        self._cutting = False

    def add(self, sock) -> None:
        with self._lock:
            self._socks.add(sock)
            cutting = self._cutting
        if cutting:
            _cut(sock)

    def cut(self) -> None:
        with self._lock:
            self._cutting = True
            socks = list(self._socks)
        for s in socks:
            _cut(s)

    def reset(self) -> None:
        with self._lock:
            self._cutting = False


def _tracked(base: type, sockets: _Sockets) -> type:
    class Connection(base):
        def _new_conn(self):
            sock = super()._new_conn()
            sockets.add(sock)
            return sock

        def connect(self):
            super().connect()
            sockets.add(self.sock)

    return Connection


@functools.cache
def _deadline_adapter() -> type:
    """requests' adapter class whose connections are registered, so a watchdog can cut them at a deadline
    (made on first use, so that importing this module imports neither requests nor urllib3).

    Neither requests nor urllib3 has a total deadline (their timeouts are per read: a server
    dripping a byte a second never trips them), hence this.
    """
    # optional heavy imports: only when a client is made
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
    from urllib3.poolmanager import ProxyManager

    class _DeadlineAdapter(HTTPAdapter):
        def __init__(self, sockets: _Sockets, **kw):
            self._sockets = sockets
            super().__init__(**kw)

        def _track(self, manager):
            manager.pool_classes_by_scheme = {
                "http": type("Pool", (HTTPConnectionPool,),
                             {"ConnectionCls": _tracked(HTTPConnection, self._sockets)}),
                "https": type("Pool", (HTTPSConnectionPool,),
                              {"ConnectionCls": _tracked(HTTPSConnection, self._sockets)}),
            }
            return manager

        def init_poolmanager(self, *args, **kw):
            super().init_poolmanager(*args, **kw)
            self._track(self.poolmanager)

        def proxy_manager_for(self, proxy, **kw):
            manager = super().proxy_manager_for(proxy, **kw)
            return self._track(manager) if isinstance(manager, ProxyManager) else manager

    return _DeadlineAdapter


def _echo(message: str, err: bool = False) -> None:
    """``click.echo``: a message on standard output (standard error with ``err``)."""
    import click  # optional heavy import: only when there is something to say

    click.echo(message, err=err)


class _Watch:
    """One budget being spent: seconds left, and whether the watchdog has fired."""

    def __init__(self, seconds: float, label: str):
        self.end = time.monotonic() + seconds
        self.label = label
        self.fired = threading.Event()

    def left(self) -> float:
        return self.end - time.monotonic()


@dataclass
class Client:
    """A small EES content API client: timeouts, retries, a total deadline, caps on what it reads.

    ``timeout``: seconds for each connect and read. ``deadline``: seconds for everything this
    client does (one command; None for no limit), counted from construction.
    ``download_deadline``: seconds for one download or API call, retries included.
    ``max_wait``: the longest ``Retry-After`` honoured (seconds); a longer one is a FetchError.
    Connection errors, 429 and 5xx are retried ``retries`` times. ``notify`` gets the messages
    printed while waiting (default: standard error).
    """

    base_url: str | None = None
    timeout: float = 30.0
    retries: int = 4
    backoff: float = 0.5
    deadline: float | None = DEFAULT_DEADLINE
    download_deadline: float = DEFAULT_DOWNLOAD_DEADLINE
    max_wait: float = MAX_RETRY_AFTER
    notify: Callable[[str], None] = field(default=functools.partial(_echo, err=True), repr=False)

    def __post_init__(self):
        self.base_url = (self.base_url or os.environ.get("CSWW_EES_URL") or DEFAULT_URL).rstrip("/")
        if not re.match(r"^https?://[^/?#\s]+", self.base_url):
            raise FetchError(f"EES URL {self.base_url!r} (--ees-url or CSWW_EES_URL) must start with http:// or "
                             "https://, e.g. " + DEFAULT_URL)
        self._end = time.monotonic() + self.deadline if self.deadline else math.inf
        self._sockets = _Sockets()
        self._watch: _Watch | None = None
        import requests  # optional heavy import: only when a client is made

        # urllib3 retries connection and read errors; statuses (and Retry-After) are handled in get()
        retry = _retry_type()(total=self.retries, connect=self.retries, read=self.retries, status=0,
                      backoff_factor=self.backoff, allowed_methods=frozenset({"GET"}),
                      respect_retry_after_header=False, raise_on_status=False)
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        adapter = _deadline_adapter()(self._sockets, max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    @contextmanager
    def watch(self, url: str):
        """Spend at most the smaller budget (this download, or what is left of the command) on ``url``.

        A watchdog cuts the connection when the budget runs out; the FetchError says which budget.
        Nested calls share the outer watch.
        """
        if self._watch is not None:
            yield self._watch
            return
        left = self._end - time.monotonic()
        if self.download_deadline < left:
            seconds, label = self.download_deadline, f"the per-download deadline of {self.download_deadline:g} s"
        else:
            seconds, label = left, f"the deadline of {self.deadline:g} s for this command"
        if seconds <= 0:
            raise FetchError(f"{url}: not started: {label} has passed")
        watch = _Watch(seconds, label)
        self._sockets.reset()

        def fire():
            watch.fired.set()
            self._sockets.cut()

        timer = threading.Timer(seconds, fire)
        timer.daemon = True
        self._watch = watch
        timer.start()
        try:
            yield watch
        except FetchError:
            raise
        except Exception:
            if watch.fired.is_set():
                raise FetchError(f"{url}: not finished within {watch.label}") from None
            raise
        finally:
            timer.cancel()
            self._watch = None
        if watch.fired.is_set():
            raise FetchError(f"{url}: not finished within {watch.label}")

    def _expired(self, url: str, watch: _Watch) -> None:
        if watch.fired.is_set() or watch.left() <= 0:
            raise FetchError(f"{url}: not finished within {watch.label}")

    def get(self, path: str, params=None, stream: bool = False) -> requests.Response:
        import requests  # optional heavy import (loaded already by the client's session)

        url = self.url(path)
        with self.watch(url) as watch:
            for attempt in range(self.retries + 1):
                self._expired(url, watch)
                timeout = max(0.001, min(self.timeout, watch.left()))
                try:
                    resp = self.session.get(url, params=params, timeout=timeout, stream=stream)
                except requests.exceptions.RetryError as exc:
                    self._expired(url, watch)
                    raise FetchError(f"{url}: still failing after {self.retries} retries ({_reason(exc)})") from None
                except (requests.exceptions.Timeout, requests.exceptions.ConnectionError) as exc:
                    self._expired(url, watch)
                    if isinstance(exc, requests.exceptions.Timeout) or "timed out" in str(exc):
                        raise FetchError(f"{url}: no answer within {self.timeout:g} s, after {self.retries} retries") from None
                    tried = "" if _no_such_host(exc) else f" after {self.retries} retries"
                    raise FetchError(f"{url}: cannot connect{tried} ({_reason(exc)}). "
                                     "Behind a firewall? Download the files by hand and use --from.") from None
                except requests.exceptions.RequestException as exc:  # a bad URL, a redirect loop, ...
                    self._expired(url, watch)
                    raise FetchError(f"{url}: {_reason(exc)}") from None
                if resp.status_code not in RETRY_STATUSES:
                    break
                status = f"HTTP {resp.status_code} {resp.reason}"
                if attempt == self.retries:
                    raise FetchError(f"{url}: still failing after {self.retries} retries ({status})")
                wait, asked = self._retry_wait(resp, attempt, url, status)
                resp.close()
                if wait > watch.left():
                    raise FetchError(f"{url}: the server asks to wait {wait:g} s ({status}), longer than is left "
                                     f"of {watch.label}")
                if asked:
                    self.notify(f"{url}: {status}; the server asks to wait {wait:g} s, waiting "
                                f"(retry {attempt + 1} of {self.retries})")
                time.sleep(wait)
        if resp.status_code == 404:
            raise NotFound(f"{url}: HTTP 404 Not Found")
        if resp.status_code >= 400:
            raise FetchError(f"{url}: HTTP {resp.status_code} {resp.reason}")
        return resp

    def _retry_wait(self, resp, attempt: int, url: str, status: str) -> tuple[float, bool]:
        """Seconds to wait before retry ``attempt + 1`` and whether the server asked for them."""
        header = resp.headers.get("Retry-After")
        if header is None:
            return min(self.backoff * 2 ** attempt, self.max_wait), False
        header = header.strip()
        if header.isdigit():
            wait = float(header)
        else:
            try:
                when = email.utils.parsedate_to_datetime(header)
                wait = max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
            except (TypeError, ValueError):
                return min(self.backoff * 2 ** attempt, self.max_wait), False
        if wait > self.max_wait:
            raise FetchError(f"{url}: {status} and the server asks to retry after {wait:,.0f} s, more than the "
                             f"{self.max_wait:g} s csww waits; try again later")
        return wait, True

    def json(self, path: str, params=None, shape: str | None = None) -> dict | list:
        """The JSON answer of ``path``, checked against ``SHAPES[shape]`` when given."""
        import requests  # optional heavy import (loaded already by the client's session)

        url = self.url(path)
        with self.watch(url) as watch:
            for attempt in range(self.retries + 1):
                resp = self.get(path, params, stream=True)
                body = bytearray()
                try:
                    for chunk in resp.iter_content(64 * 1024):
                        body += chunk
                        if len(body) > MAX_JSON_BYTES:
                            resp.close()
                            raise FetchError(f"{resp.url}: answer larger than {MAX_JSON_BYTES:,} bytes; "
                                             "not a CSWW API answer")
                    break
                except requests.exceptions.RequestException as exc:  # cut short: ask again
                    self._expired(url, watch)
                    if attempt == self.retries:
                        raise FetchError(f"{resp.url}: answer cut short after {self.retries} retries "
                                         f"({_reason(exc)})") from None
        try:
            obj = json.loads(bytes(body))
        except ValueError:
            raise FetchError(f"{resp.url}: expected JSON, got {resp.headers.get('Content-Type', 'something else')}") from None
        return check_shape(obj, shape, resp.url) if shape else obj

    def download(self, path: str, dest: Path, params=None, progress: bool = False, label: str = "",
                 max_bytes: int = MAX_DOWNLOAD_BYTES) -> str:
        """Stream ``path`` into ``dest``; return the final URL. FetchError on a short read, past the
        deadline or beyond ``max_bytes``."""
        import click  # optional heavy imports (loaded already by the client's session, and by the CLI)
        import requests

        url = self.url(path)
        with self.watch(url) as watch:
            for attempt in range(self.retries + 1):
                resp = self.get(path, params, stream=True)
                length = resp.headers.get("Content-Length", "").strip()
                expected = int(length) if length.isdigit() and int(length) > 0 else None
                if expected is not None and expected > max_bytes:
                    resp.close()
                    raise FetchError(f"{resp.url}: {expected:,} bytes, more than the {max_bytes:,} csww accepts")
                try:
                    stderr = sys.stderr
                    written = 0
                    with open(dest, "wb") as fh, click.progressbar(length=expected or 0, label=label or dest.name,
                                                                   file=stderr, hidden=not progress) as bar:
                        for chunk in resp.iter_content(64 * 1024):
                            written += len(chunk)
                            if written > max_bytes:
                                resp.close()
                                raise FetchError(f"{resp.url}: more than {max_bytes:,} bytes; stopped")
                            fh.write(chunk)
                            bar.update(len(chunk))
                except requests.exceptions.RequestException as exc:  # cut, reset, timed out, bad encoding
                    self._expired(url, watch)
                    if attempt == self.retries:
                        raise FetchError(f"{resp.url}: download cut short after {self.retries} retries "
                                         f"({_reason(exc)})") from None
                    continue
                self._expired(url, watch)
                size = dest.stat().st_size
                if expected is not None and size != expected:
                    if attempt == self.retries:
                        raise FetchError(f"{resp.url}: download cut short ({size} of {expected} bytes)")
                    continue
                return resp.url
        raise AssertionError("unreachable")


def _no_such_host(error: BaseException | None) -> bool:
    """Whether ``error`` (urllib3's, or requests' wrapping it) is DNS saying the host does not exist (EAI_NONAME:
    no network at all, or a mistyped --ees-url): asking again gives the same answer, so it is not retried. A
    temporary failure (EAI_AGAIN) is."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, socket.gaierror):
            return error.errno == socket.EAI_NONAME
        inner = getattr(error, "reason", None)
        if not isinstance(inner, BaseException) and error.args and isinstance(error.args[0], BaseException):
            inner = error.args[0]
        error = inner if isinstance(inner, BaseException) else error.__cause__
    return False


def _retry_type():
    """urllib3's ``Retry``, except that a host DNS says does not exist (:func:`_no_such_host`) fails at once: an
    offline 'csww build' goes on to the cache without waiting through the backoff of every retry."""
    from urllib3.exceptions import MaxRetryError
    from urllib3.util.retry import Retry

    class _Retry(Retry):
        def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
            if _no_such_host(error):
                raise MaxRetryError(_pool, url, error) from error
            return super().increment(method, url, response, error, _pool, _stacktrace)
    return _Retry


def _reason(exc: BaseException) -> str:
    """The underlying error of a requests exception, as "NameResolutionError: Failed to resolve 'host' (...)": the
    innermost cause (urllib3's ``MaxRetryError.reason``, a wrapped exception's first argument), its text without
    the connection it names (the URL in the message names it), cut at a word past 200 characters."""
    cause, seen = exc, {id(exc)}
    while True:
        inner = getattr(cause, "reason", None)
        if not isinstance(inner, BaseException) and cause.args and isinstance(cause.args[0], BaseException):
            inner = cause.args[0]
        if not isinstance(inner, BaseException) or id(inner) in seen:
            break
        cause = inner
        seen.add(id(cause))
    text = " ".join(str(cause).split())
    text = re.sub(r"^(?:<[^>]*>|\w+\(host='[^']*', port=\d+\)): ", "", text)  # "HTTPSConnection(host=..., port=443): "
    if len(text) > 200:
        text = text[:200].rsplit(" ", 1)[0] + " …"
    return f"{type(cause).__name__}: {text}" if text else type(cause).__name__


def _count_rows(text: io.TextIOBase, name: str) -> int:
    """Data rows of a CSV (header and blank lines not counted), as EES counts ``numDataFileRows``."""
    try:
        reader = csv.reader(text)
        next(reader, None)
        return sum(1 for row in reader if row)
    except csv.Error as exc:
        raise FetchError(f"{name}: not a readable CSV ({exc}); nothing was written") from None


def _check_csv_bytes(data: bytes, name: str, listed_rows=None, required: bool = True) -> tuple[str | None, int]:
    """Layout and data rows of a CSV held in memory; FetchError unless its header is a CSWW data
    layout (``required``; otherwise an unknown header is let through as a file the build skips),
    every row reads and the row count is the one EES states."""
    header = next(csv.reader(data[:64 * 1024].decode("utf-8-sig", errors="replace").splitlines()[:1]), [])
    layout = readers.detect_layout(header)
    if layout is None or layout in readers.KNOWN_OTHER:
        if required:
            if layout is None:
                raise FetchError(str(readers.header_problem(name, header)))
            raise FetchError(f"{name}: a {layout} file, not the indicator data csww needs")
        return layout, 0
    rows = _count_rows(io.StringIO(data.decode("utf-8-sig", errors="replace"), newline=""), name)
    if isinstance(listed_rows, int) and rows != listed_rows:
        raise FetchError(f"{name}: {rows:,} data rows downloaded but EES states {listed_rows:,} "
                         "(numDataFileRows); the file is incomplete")
    try:
        readers.read_file(readers.SourceFile(name, data))
    except readers.InputError as exc:
        raise FetchError(f"{name}: downloaded file does not read cleanly; it may be incomplete:\n"
                         + exc.summary(limit=5)) from None
    return layout, rows


def check_csv(path: Path, name: str, listed_size=None, listed_rows=None) -> str:
    """The layout of a downloaded CSV; FetchError unless it is whole and its header is one we know.

    Whole means: the size EES lists for it (when given in bytes), the data rows EES states
    (``numDataFileRows``, when given: a file cut on a row boundary reads cleanly, so only the
    count catches it) and every row readable.
    """
    size = path.stat().st_size
    if isinstance(listed_size, int) and not isinstance(listed_size, bool) and size != listed_size:
        raise FetchError(f"{name}: {size:,} bytes downloaded but EES lists {listed_size:,}; the file is incomplete")
    layout, _ = _check_csv_bytes(path.read_bytes(), name, listed_rows)
    return layout


def count_csv_rows(path: Path) -> int:
    """Data rows of a CSV file (header and blank lines not counted)."""
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
        return _count_rows(fh, path.name)


def check_zip(path: Path, name: str, listed_rows: dict[str, int] | None = None) -> list[str]:
    """The CSV members of a downloaded ZIP; FetchError if it does not open, a member is damaged, too
    big (``MAX_MEMBER_BYTES``, ``MAX_ZIP_TOTAL_BYTES``) or compressed beyond ``MAX_RATIO`` (sizes
    are checked from the directory before anything is extracted), or holds no CSWW data file.

    Members named like the indicator files must have a known header; every member with a CSWW data
    header must read cleanly and have the data rows ``listed_rows`` (file name -> numDataFileRows)
    states. Other members (characteristics, guidance) are kept as they are; the build skips them.
    """
    listed_rows = listed_rows or {}
    try:
        with zipfile.ZipFile(path) as z:
            infos = [i for i in z.infolist() if not i.is_dir()]
            refused = readers.ZipLimits(MAX_MEMBER_BYTES, MAX_ZIP_TOTAL_BYTES, MAX_RATIO).problem(infos)
            if refused:
                raise FetchError(f"{name}: {refused}; nothing was written")
            bad = z.testzip()
            if bad:
                raise FetchError(f"{name}: damaged member {bad} in the ZIP (CRC check failed)")
            members = [i.filename for i in infos if i.filename.lower().endswith(".csv")]
            data_files = 0
            for member in members:
                base = member.rsplit("/", 1)[-1]
                layout, _ = _check_csv_bytes(z.read(member), f"{name}!{member}", listed_rows.get(base),
                                             required=bool(WANTED.match(base)))
                data_files += layout is not None and layout not in readers.KNOWN_OTHER
            if not data_files:
                raise FetchError(f"{name}: the ZIP holds no CSWW data file ({', '.join(members) or 'no CSV at all'})")
            return members
    except zipfile.BadZipFile as exc:
        raise FetchError(f"{name}: the ZIP does not open ({exc}); the download was probably cut short") from None


def find_release(client: Client, release: str | None = None, publication: str = PUBLICATION) -> dict:
    """Release slug, release version id and data files (file id, file name, title, size, stated rows)
    of a release. Every answer is checked against the shapes in :data:`SHAPES`; slugs and ids
    against :data:`SLUG` and :data:`ID` before they go into a URL."""
    check_name(publication, SLUG, "publication slug", "csww")
    if release is None:
        pub = client.json(f"publications/{publication}", shape="publication")
        release = pub["latestRelease"]["slug"]
    check_name(release, SLUG, "release slug", "--release")
    info = {"publication": publication, "release_slug": release}
    rows: dict[str, int] = {}
    try:
        content = client.json(f"publications/{publication}/releases/{release}/data-content", shape="data-content")
        info["release_version_id"] = content["releaseVersionId"]
        titles = {d["fileId"]: d.get("title") for d in content.get("dataSets", [])}
        rows = {d["fileId"]: d["meta"]["numDataFileRows"] for d in content.get("dataSets", [])
                if isinstance((d.get("meta") or {}).get("numDataFileRows"), int)}
    except NotFound:
        # Older services: the release list gives the release version id.
        route = f"publications/{publication}/releases"
        listing = client.json(route, shape="releases")
        match = [r for r in listing if r.get("slug") == release]
        if not match:
            shown = ", ".join(str(r.get("slug"))[:20] for r in listing[:30])
            raise NotFound(f"publication {publication} has no release {release!r}; known: {shown}") from None
        info["release_version_id"] = check_name(match[0].get("id"), ID, "release version id",
                                                f"{client.url(route)} (field id of release {release})")
        titles = {}
    files = []
    seen_pages: set[tuple] = set()
    seen_files: set[str] = set()
    page = 1
    while True:
        if page > MAX_PAGES:
            raise FetchError(f"{client.url('data-set-files')}: still more pages after {MAX_PAGES} "
                             f"({MAX_PAGES * 40} files); a CSWW release has a dozen. Stopped; nothing was written")
        listing = client.json("data-set-files", {"releaseId": info["release_version_id"], "pageSize": 40, "page": page},
                              shape="data-set-files")
        results = listing.get("results", [])
        key = tuple(r["fileId"] for r in results)
        if not results or key in seen_pages:  # an empty or repeated page: the listing is over
            break
        seen_pages.add(key)
        for r in results:
            if r["fileId"] in seen_files:
                continue
            seen_files.add(r["fileId"])
            stated = (r.get("meta") or {}).get("numDataFileRows")
            files.append({"file_id": r["fileId"], "data_set_file_id": r.get("id"), "filename": r["filename"],
                          "title": r.get("title") or titles.get(r["fileId"]), "size": r.get("fileSize"),
                          "rows": rows.get(r["fileId"], stated if isinstance(stated, int) else None)})
        paging = listing.get("paging") or {}
        if page >= int(paging.get("totalPages") or 1):
            break
        page += 1
    try:
        summary = client.json(f"publications/{publication}/releases/{release}/version-summary", shape="version-summary")
        info["published"] = summary.get("published")
        info["release_title"] = summary.get("title")
    except NotFound:
        pass
    info["release_url"] = f"{PAGE_URL}/{publication}/{release}"
    info["files"] = files
    return info


def _up_to_date(cache: Cache, info: dict, wanted: list[dict], whole_zip: bool) -> bool:
    """Whether the cached copy of the release ``info`` (``find_release``) is what EES lists now: the same release
    version (EES makes a new one when a release is amended) and publication date, every wanted file (or the ZIP)
    there with the file id EES lists and, where EES states them, its size in bytes and its data rows, and each
    file on disk still of the size and SHA-256 the manifest records."""
    manifest = cache.manifest(info["release_slug"])
    if not manifest or manifest.get("from_snapshot") or manifest.get("release_version_id") != info["release_version_id"]:
        return False
    if manifest.get("published") != info.get("published"):
        return False
    entries = {e.get("filename"): e for e in manifest.get("files", [])}
    if whole_zip:
        names = [f"{PUBLICATION}_{info['release_slug']}.zip"]
    else:
        names = [f["filename"] for f in wanted]
        for f in wanted:
            e = entries.get(f["filename"])
            if e is None or e.get("file_id") != f["file_id"]:
                return False
            if isinstance(f["size"], int) and e.get("size") != f["size"]:  # EES lists "283 Kb" too: not compared
                return False
            if isinstance(f["rows"], int) and e.get("rows") != f["rows"]:
                return False
    folder = cache.release_dir(info["release_slug"])
    for name in names:
        e, p = entries.get(name), folder / name
        if e is None or not p.is_file() or p.stat().st_size != e.get("size") or sha256_file(p) != e.get("sha256"):
            return False
    return True


def fetch(client: Client, cache: Cache, release: str | None = None, whole_zip: bool = False,
          progress: bool = True, echo=_echo, force: bool = False) -> Path:
    """Download a release's indicator files (or its whole ZIP) into the cache; return the release folder.

    A release whose cached copy is what EES lists (``_up_to_date``) is not downloaded again ("up to date"),
    unless ``force``. Staging folders that killed fetches left behind are removed first (never a running
    fetch's: ``Cache.remove_stale_partials``). Nothing in the cache changes unless every file downloaded and
    passed its checks: a failure (FetchError) leaves it byte for byte as it was.
    """
    if release is not None:
        check_name(release, SLUG, "release slug", "--release")
    info = find_release(client, release)
    slug = info["release_slug"]
    data_route = client.url("data-set-files")
    wanted = [f for f in info["files"] if WANTED.match(f["filename"])]
    for f in wanted:
        check_name(f["filename"], FILENAME, "file name", f"{data_route} (file {f['file_id']})")
    if not whole_zip and not wanted:
        raise FetchError(f"release {slug} lists no indicators file "
                         f"({', '.join(str(f['filename'])[:60] for f in info['files'][:20])}); "
                         "try --zip to take the whole release")
    for d in cache.remove_stale_partials():
        echo(f"removed {d}: left by a fetch that was stopped before it finished")
    if not force and _up_to_date(cache, info, wanted, whole_zip):
        echo(f"{slug}: up to date in {cache.release_dir(slug)} (release version {info['release_version_id']}: "
             "the files EES lists, same sizes and checksums); --force downloads it again")
        return cache.release_dir(slug)
    made_root = not cache.root.exists()
    staged = cache.staging(slug)
    try:
        entries = []
        now = lambda: datetime.now(timezone.utc).isoformat(timespec="seconds")  # noqa: E731
        rvid = info["release_version_id"]
        if whole_zip:
            name = f"{PUBLICATION}_{slug}.zip"
            url = client.download(f"releases/{rvid}/files", staged / name, {"fromPage": "ReleaseDownloads"},
                                  progress, f"{slug} {name}")
            members = check_zip(staged / name, name, {f["filename"]: f["rows"] for f in info["files"]
                                                      if isinstance(f["filename"], str) and f["rows"] is not None})
            entries.append({"filename": name, "url": url, "members": members})
        for f in ([] if whole_zip else wanted):
            dest = staged / f["filename"]
            label = f"{slug} {f['filename']}"
            try:
                url = client.download(f"releases/{rvid}/files/{f['file_id']}", dest, None, progress, label)
            except NotFound:
                if not f["data_set_file_id"]:
                    raise
                # the data catalogue's route serves the same CSV (the newest version of the data set)
                url = client.download(f"data-set-files/{f['data_set_file_id']}/download", dest, None, progress, label)
            layout = check_csv(dest, f["filename"], f["size"], f["rows"])
            entries.append({"filename": f["filename"], "url": url, "file_id": f["file_id"],
                            "data_set_file_id": f["data_set_file_id"], "title": f["title"], "layout": layout,
                            "rows": count_csv_rows(dest)})
        for e in entries:
            p = staged / e["filename"]
            e.update(size=p.stat().st_size, sha256=sha256_file(p), downloaded_at=now())
            echo(f"{slug}: {e['filename']} ({e['size']:,} bytes, sha256 {e['sha256'][:12]}…)")
        manifest = {k: v for k, v in info.items() if k != "files"}
        manifest.update(ees_url=client.base_url, fetched_at=now(), files=entries)
        return cache.install(slug, staged, manifest)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
        cache.finished(staged)
        if made_root and not any(cache.root.iterdir()):
            cache.root.rmdir()
