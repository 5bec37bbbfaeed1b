"""The download cache of ``csww fetch``: one folder per release, ``ROOT/<publication>/<release>/``, with its files
and ``manifest.json``.

A module of its own, apart from :mod:`benchmark.ees` (the network and the checks of what it downloads, with the
readers and pandas): ``csww build --offline`` lists the cache and, when the build is up to date, stops there
without importing pandas (issue 14 item 5: an unchanged rebuild in under a second).
"""

from __future__ import annotations

import fcntl
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
        locked (``fcntl.flock`` on the folder, released by the kernel when the process ends, however it ends) until
        :meth:`finished`: :meth:`remove_stale_partials` never removes the folder of a fetch still running.

        Raises OutputError (naming the cache folder and the reason) when the cache cannot be written."""
        check_name(release_slug, SLUG, "release slug", str(self.root))
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            while True:
                path = Path(tempfile.mkdtemp(prefix=f".partial-{release_slug}-", dir=self.root))
                try:
                    fd = os.open(path, os.O_RDONLY)
                except FileNotFoundError:  # another fetch's cleaning took it before it was locked: make another
                    continue
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:  # the same, caught in the act
                    os.close(fd)
                    continue
                if path.is_dir():
                    self._held[path] = fd
                    return path
                os.close(fd)
        except OSError as exc:
            raise self.unwritable(exc) from None

    def finished(self, staged: Path) -> None:
        """Let go of the lock :meth:`staging` took (the folder is installed or removed by then)."""
        fd = self._held.pop(Path(staged), None)
        if fd is not None:
            os.close(fd)

    def remove_stale_partials(self) -> list[Path]:
        """Remove the staging folders (``.partial-*``) of fetches that were killed (SIGTERM, SIGKILL, power cut)
        before they could clean up; a folder whose fetch is still running (its lock held) is left alone. Returns
        the folders removed."""
        removed = []
        for d in sorted(self.root.glob(".partial-*")) if self.root.is_dir() else []:
            try:
                fd = os.open(d, os.O_RDONLY)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # a live fetch is writing it
                os.close(fd)
                continue
            try:
                shutil.rmtree(d, ignore_errors=True)
                removed.append(d)
            finally:
                os.close(fd)
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
