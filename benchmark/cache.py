"""The download cache of ``csww fetch``: one folder per release, ``ROOT/<publication>/<release>/``, with its files
and ``manifest.json``.

A module of its own, apart from :mod:`benchmark.ees` (the network and the checks of what it downloads, with the
readers and pandas): ``csww build --offline`` lists the cache and, when the build is up to date, stops there
without importing pandas (issue 14 item 5: an unchanged rebuild in under a second).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from .fileio import atomic_replace_dir
from .formatting import fmt_date
from .problems import CswwError, OutputError

PUBLICATION = "children-s-social-work-workforce"
# What a name from the network must look like before it goes into a URL or a path (see ``benchmark.ees``):
# release slugs are years ("2025") or year ranges ("2024-25"), never "/", "\\", a leading "." or "..".
SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$")
#: A fetch's staging folder is ``ROOT/.partial-<release>-<random>``; its lock file ``ROOT/.lock.partial-<...>``.
PARTIAL, LOCK = ".partial-", ".lock"


def obtained(manifest: dict) -> str:
    """How a cached release's files came, in words for ``csww fetch --offline`` and the build's
    ``source_files.downloaded_at``: "downloaded 30 November 2026 at 03:11 UTC" (``csww fetch``), or, for the
    offline snapshot shipped with the toolkit (``"from_snapshot": true``; never downloaded), "not downloaded: from
    the offline snapshot shipped with csww-benchmark 0.1.0, made 30 November 2026" (dates as
    ``formatting.fmt_date`` writes them)."""
    if not manifest.get("from_snapshot"):
        fetched = manifest.get("fetched_at")
        return f"downloaded {fmt_date(fetched, time=True)}" if fetched else "downloaded at a time not recorded"
    version = manifest.get("snapshot_version")
    made = manifest.get("snapshot_made_at")
    return ("not downloaded: from the offline snapshot shipped with csww-benchmark"
            + (f" {version}" if version else "") + (f", made {fmt_date(made)}" if made else ", made on a day not recorded"))


class FetchError(CswwError):
    """A download or API call that failed after retries, or a file that failed its checks."""


def check_name(value, pattern: re.Pattern, what: str, where: str) -> str:
    """``value`` if it matches ``pattern``; FetchError naming ``where`` (a route or option) otherwise."""
    if not isinstance(value, str) or not pattern.match(value):
        shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
        raise FetchError(f"{where}: {what} {shown} is not a valid {what} (expected {pattern.pattern}); "
                         "nothing was written")
    return value


class Cache:
    """Downloaded releases: ``ROOT/<publication>/<release>/`` with the files and ``manifest.json``.

    A release folder without a manifest is incomplete and ignored.
    """

    def __init__(self, root: str | Path | None = None):
        if root is None:
            root = os.environ.get("CSWW_CACHE") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "csww-benchmark"
        self.root = Path(root)
        self._held: dict[Path, int] = {}  # staging folder -> the descriptor holding its lock

    def release_dir(self, release_slug: str, publication: str = PUBLICATION) -> Path:
        """``ROOT/<publication>/<release>``; FetchError if either is not a plain slug (never a path outside)."""
        check_name(publication, SLUG, "publication slug", str(self.root))
        check_name(release_slug, SLUG, "release slug", str(self.root))
        return self.root / publication / release_slug

    def release_dirs(self, publication: str = PUBLICATION) -> list[Path]:
        base = self.root / publication
        return sorted(d for d in base.iterdir() if SLUG.match(d.name) and (d / "manifest.json").exists()) \
            if base.exists() else []

    def manifest(self, release_slug: str) -> dict | None:
        p = self.release_dir(release_slug) / "manifest.json"
        return json.loads(p.read_text(encoding="utf-8")) if p.exists() else None

    def unwritable(self, exc: OSError) -> OutputError:
        return OutputError(f"{self.root}: cannot write to the download cache here ({exc.strerror or exc}); "
                           "give a folder you can write to with --cache-dir or CSWW_CACHE; nothing was written")

    def staging(self, release_slug: str) -> Path:
        """A new empty folder inside the cache to download ``release_slug`` into (made with the cache root),
        locked until :meth:`finished`: :meth:`remove_stale_partials` never removes the folder of a fetch still running.
        The lock is the operating system's lock of the file beside it, ``ROOT/.lock.partial-<...>``
        (``filelock.lock_descriptor``: ``flock(2)`` on Linux and macOS, ``LockFileEx`` on Windows, where a folder
        cannot be locked); it belongs to the open file, so it is released when the process ends, however it ends.

        Raises OutputError (naming the cache folder and the reason) when the cache cannot be written."""
        check_name(release_slug, SLUG, "release slug", str(self.root))
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            while True:
                path = Path(tempfile.mkdtemp(prefix=f"{PARTIAL}{release_slug}-", dir=self.root))
                fd = _try_lock(_lock_file(path))
                if fd is None:  # another fetch's cleaning is taking it, caught in the act: make another
                    continue
                if path.is_dir() and _is_at(fd, _lock_file(path)):
                    self._held[path] = fd
                    return path
                _let_go(_lock_file(path), fd)  # the same, done before it was locked
        except OSError as exc:
            raise self.unwritable(exc) from None

    def finished(self, staged: Path) -> None:
        """Let go of the lock :meth:`staging` took (the folder is installed or removed by then)."""
        fd = self._held.pop(Path(staged), None)
        if fd is not None:
            _let_go(_lock_file(Path(staged)), fd)

    def remove_stale_partials(self) -> list[Path]:
        """Remove the staging folders (``.partial-*``) of fetches that were killed (SIGTERM, SIGKILL, power cut)
        before they could clean up, with their lock files; a folder whose fetch is still running (its lock held) is
        left alone. Returns the folders removed."""
        removed = []
        if not self.root.is_dir():
            return removed
        for d in sorted(self.root.glob(f"{PARTIAL}*")):
            try:
                fd = _try_lock(_lock_file(d))
            except OSError:
                continue
            if fd is None:  # a live fetch is writing it
                continue
            try:
                if d.is_dir():  # not moved into place meanwhile by the fetch that held it
                    shutil.rmtree(d, ignore_errors=True)
                    removed.append(d)
            finally:
                _let_go(_lock_file(d), fd)
        for lock in sorted(self.root.glob(f"{LOCK}{PARTIAL}*")):  # lock files whose folder has gone
            if not (self.root / lock.name[len(LOCK):]).exists():
                with contextlib.suppress(OSError):
                    if (fd := _try_lock(lock)) is not None:
                        _let_go(lock, fd)
        return removed

    def install(self, release_slug: str, staged: Path, manifest: dict) -> Path:
        """Move a fully downloaded and checked staging folder into place, replacing any older copy
        (``fileio.atomic_replace_dir``: the old copy is deleted only once the new one is in place)."""
        final = self.release_dir(release_slug)
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            (staged / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        except OSError as exc:
            raise self.unwritable(exc) from None
        return atomic_replace_dir(staged, final)


def _lock_file(staged: Path) -> Path:
    """The lock file of the staging folder ``staged``: ``ROOT/.lock.partial-<...>`` beside it."""
    return staged.with_name(LOCK + staged.name)


def _try_lock(path: Path) -> int | None:
    """Open (make) the lock file ``path`` and lock it without waiting: its descriptor, or None when another
    descriptor (another fetch, in this process or another) holds its lock. OSError when it cannot be opened."""
    import filelock  # optional import: some 50 ms of modules, only when a fetch locks (listing the cache never does)

    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o666)
    try:
        if filelock.lock_descriptor(fd, blocking=False):
            return fd
    except BaseException:
        os.close(fd)
        raise
    os.close(fd)
    return None


def _is_at(fd: int, path: Path) -> bool:
    """Whether ``fd`` is still the file at ``path`` (not one a cleaning fetch removed while it waited)."""
    try:
        return os.path.samestat(os.stat(path), os.fstat(fd))
    except FileNotFoundError:
        return False


def _let_go(path: Path, fd: int) -> None:
    """Remove the lock file ``path`` when it is ``fd``'s, and release its lock by closing ``fd``: removed while held
    where the system allows it (Linux, macOS), else (Windows removes no open file) once closed, unless another
    fetch has opened it by then (then it is left: :meth:`Cache.remove_stale_partials` removes it later)."""
    import filelock  # optional import: see _try_lock

    mine, gone = _is_at(fd, path), False
    if mine:
        try:
            path.unlink(missing_ok=True)
            gone = True
        except OSError:
            pass
    try:
        filelock.unlock_descriptor(fd)
    finally:
        os.close(fd)
    if mine and not gone:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
