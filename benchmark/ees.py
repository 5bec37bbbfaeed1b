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
know) and only then moves into the cache, with a manifest recording URL, size, SHA-256 and time.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import click
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from . import readers, store
from .problems import CswwError

DEFAULT_URL = "https://content.explore-education-statistics.service.gov.uk/api"
PUBLICATION = "children-s-social-work-workforce"
PAGE_URL = "https://explore-education-statistics.service.gov.uk/find-statistics"
WANTED = re.compile(r"^csww_(indicators|headline_measures)_.*\.csv$", re.I)
RETRY_STATUSES = (429, 500, 502, 503, 504)
USER_AGENT = "csww-benchmark (+https://github.com/csww-benchmark)"


class FetchError(CswwError):
    """A download or API call that failed after retries, or a file that failed its checks."""


class NotFound(FetchError):
    """HTTP 404: a route or release the service does not have."""


@dataclass
class Client:
    """A small EES content API client with timeouts and retries (connection errors, 429, 5xx)."""

    base_url: str | None = None
    timeout: float = 30.0
    retries: int = 4
    backoff: float = 0.5

    def __post_init__(self):
        self.base_url = (self.base_url or os.environ.get("CSWW_EES_URL") or DEFAULT_URL).rstrip("/")
        retry = Retry(total=self.retries, connect=self.retries, read=self.retries, status=self.retries,
                      backoff_factor=self.backoff, status_forcelist=RETRY_STATUSES,
                      allowed_methods=frozenset({"GET"}), respect_retry_after_header=True,
                      raise_on_status=False)
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        self.session.mount("https://", HTTPAdapter(max_retries=retry))

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def get(self, path: str, params=None, stream: bool = False) -> requests.Response:
        url = self.url(path)
        try:
            resp = self.session.get(url, params=params, timeout=self.timeout, stream=stream)
        except requests.exceptions.RetryError as exc:
            raise FetchError(f"{url}: still failing after {self.retries} retries ({_reason(exc)})") from None
        except (requests.exceptions.Timeout, requests.exceptions.ConnectionError) as exc:
            if isinstance(exc, requests.exceptions.Timeout) or "timed out" in str(exc):
                raise FetchError(f"{url}: no answer within {self.timeout:g} s, after {self.retries} retries") from None
            raise FetchError(f"{url}: cannot connect after {self.retries} retries ({_reason(exc)}). "
                             "Behind a firewall? Download the files by hand and use --from.") from None
        if resp.status_code == 404:
            raise NotFound(f"{url}: HTTP 404 Not Found")
        if resp.status_code in RETRY_STATUSES:
            raise FetchError(f"{url}: still failing after {self.retries} retries (HTTP {resp.status_code} {resp.reason})")
        if resp.status_code >= 400:
            raise FetchError(f"{url}: HTTP {resp.status_code} {resp.reason}")
        return resp

    def json(self, path: str, params=None) -> dict | list:
        resp = self.get(path, params)
        try:
            return resp.json()
        except ValueError:
            raise FetchError(f"{resp.url}: expected JSON, got {resp.headers.get('Content-Type', 'something else')}") from None

    def download(self, path: str, dest: Path, params=None, progress: bool = False, label: str = "") -> str:
        """Stream ``path`` into ``dest``; return the final URL. Raises FetchError on a short read."""
        for attempt in range(self.retries + 1):
            resp = self.get(path, params, stream=True)
            expected = int(resp.headers.get("Content-Length") or 0) or None
            try:
                stderr = sys.stderr
                with open(dest, "wb") as fh, click.progressbar(length=expected or 0, label=label or dest.name,
                                                               file=stderr, hidden=not progress) as bar:
                    for chunk in resp.iter_content(64 * 1024):
                        fh.write(chunk)
                        bar.update(len(chunk))
            except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError,
                    requests.exceptions.Timeout) as exc:
                if attempt == self.retries:
                    raise FetchError(f"{resp.url}: download cut short after {self.retries} retries "
                                     f"({_reason(exc)})") from None
                continue
            size = dest.stat().st_size
            if expected is not None and size != expected:
                if attempt == self.retries:
                    raise FetchError(f"{resp.url}: download cut short ({size} of {expected} bytes)")
                continue
            return resp.url
        raise AssertionError("unreachable")


def _reason(exc: Exception) -> str:
    text = str(exc)
    m = re.search(r"Caused by (\w+)\('?(.*?)'?\)", text)
    return (m.group(1) + ": " + m.group(2)[:120]) if m else text[:160]


class Cache:
    """Downloaded releases: ``ROOT/<publication>/<release>/`` with the files and ``manifest.json``.

    A release folder without a manifest is incomplete and ignored.
    """

    def __init__(self, root: str | Path | None = None):
        if root is None:
            root = os.environ.get("CSWW_CACHE") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "csww-benchmark"
        self.root = Path(root)

    def release_dir(self, release_slug: str, publication: str = PUBLICATION) -> Path:
        return self.root / publication / release_slug

    def release_dirs(self, publication: str = PUBLICATION) -> list[Path]:
        base = self.root / publication
        return sorted(d for d in base.iterdir() if (d / "manifest.json").exists()) if base.exists() else []

    def manifest(self, release_slug: str) -> dict | None:
        p = self.release_dir(release_slug) / "manifest.json"
        return json.loads(p.read_text(encoding="utf-8")) if p.exists() else None

    def install(self, release_slug: str, staged: Path, manifest: dict) -> Path:
        """Move a fully downloaded and checked staging folder into place, replacing any older copy."""
        final = self.release_dir(release_slug)
        final.parent.mkdir(parents=True, exist_ok=True)
        (staged / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        old = None
        if final.exists():
            old = final.with_name(final.name + ".old")
            shutil.rmtree(old, ignore_errors=True)
            final.rename(old)
        staged.rename(final)
        if old:
            shutil.rmtree(old, ignore_errors=True)
        return final



def check_csv(path: Path, name: str, listed_size=None) -> str:
    """The layout of a downloaded CSV; FetchError unless it is whole and its header is one we know.

    Whole means: the size EES lists for it (when given in bytes) and every row readable, so a file
    cut short at the server is caught as well as one cut short in transit.
    """
    size = path.stat().st_size
    if isinstance(listed_size, int) and size != listed_size:
        raise FetchError(f"{name}: {size:,} bytes downloaded but EES lists {listed_size:,}; the file is incomplete")
    with open(path, "rb") as fh:
        head = fh.read(64 * 1024)
    text = head.decode("utf-8-sig", errors="replace").splitlines()
    header = next(csv.reader(text[:1]), [])
    layout = readers.detect_layout(header)
    if layout is None:
        raise FetchError(str(readers.header_problem(name, header)))
    try:
        readers.read_file(readers.SourceFile(name, path.read_bytes()))
    except readers.InputError as exc:
        raise FetchError(f"{name}: downloaded file does not read cleanly; it may be incomplete:\n"
                         + exc.summary(limit=5)) from None
    return layout


def check_zip(path: Path, name: str) -> list[str]:
    """The CSV members of a downloaded ZIP; FetchError if it does not open or a member is damaged."""
    try:
        with zipfile.ZipFile(path) as z:
            bad = z.testzip()
            if bad:
                raise FetchError(f"{name}: damaged member {bad} in the ZIP (CRC check failed)")
            return [n for n in z.namelist() if n.lower().endswith(".csv")]
    except zipfile.BadZipFile as exc:
        raise FetchError(f"{name}: the ZIP does not open ({exc}); the download was probably cut short") from None


def find_release(client: Client, release: str | None = None, publication: str = PUBLICATION) -> dict:
    """Release slug, release version id and data files (file id, file name, title) of a release."""
    if release is None:
        pub = client.json(f"publications/{publication}")
        latest = pub.get("latestRelease") or {}
        if not latest.get("slug"):
            raise FetchError(f"{client.url('publications/' + publication)}: no latestRelease in the answer")
        release = latest["slug"]
    info = {"publication": publication, "release_slug": release}
    try:
        content = client.json(f"publications/{publication}/releases/{release}/data-content")
        info["release_version_id"] = content["releaseVersionId"]
        titles = {d["fileId"]: d.get("title") for d in content.get("dataSets", [])}
    except NotFound:
        # Older services: the release list gives the release version id.
        listing = client.json(f"publications/{publication}/releases")
        match = [r for r in listing if r.get("slug") == release]
        if not match:
            raise NotFound(f"publication {publication} has no release {release!r}; "
                           f"known: {', '.join(r.get('slug', '?') for r in listing)}") from None
        info["release_version_id"] = match[0]["id"]
        titles = {}
    files = []
    page = 1
    while True:
        listing = client.json("data-set-files", {"releaseId": info["release_version_id"], "pageSize": 40, "page": page})
        for r in listing.get("results", []):
            files.append({"file_id": r["fileId"], "data_set_file_id": r.get("id"), "filename": r["filename"],
                          "title": r.get("title") or titles.get(r["fileId"]), "size": r.get("fileSize")})
        paging = listing.get("paging") or {}
        if page >= int(paging.get("totalPages") or 1):
            break
        page += 1
    try:
        summary = client.json(f"publications/{publication}/releases/{release}/version-summary")
        info["published"] = summary.get("published")
        info["release_title"] = summary.get("title")
    except NotFound:
        pass
    info["release_url"] = f"{PAGE_URL}/{publication}/{release}"
    info["files"] = files
    return info


def fetch(client: Client, cache: Cache, release: str | None = None, whole_zip: bool = False,
          progress: bool = True, echo=click.echo) -> Path:
    """Download a release's indicator files (or its whole ZIP) into the cache; return the release folder."""
    info = find_release(client, release)
    slug = info["release_slug"]
    wanted = [f for f in info["files"] if WANTED.match(f["filename"])]
    if not whole_zip and not wanted:
        raise FetchError(f"release {slug} lists no indicators file ({', '.join(f['filename'] for f in info['files'])}); "
                         "try --zip to take the whole release")
    cache.root.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".partial-{slug}-", dir=cache.root))
    try:
        entries = []
        now = lambda: datetime.now(timezone.utc).isoformat(timespec="seconds")  # noqa: E731
        rvid = info["release_version_id"]
        if whole_zip:
            name = f"{PUBLICATION}_{slug}.zip"
            url = client.download(f"releases/{rvid}/files", staged / name, {"fromPage": "ReleaseDownloads"},
                                  progress, f"{slug} {name}")
            members = check_zip(staged / name, name)
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
            layout = check_csv(dest, f["filename"], f["size"])
            entries.append({"filename": f["filename"], "url": url, "file_id": f["file_id"],
                            "data_set_file_id": f["data_set_file_id"], "title": f["title"], "layout": layout})
        for e in entries:
            p = staged / e["filename"]
            e.update(size=p.stat().st_size, sha256=store.sha256_file(p), downloaded_at=now())
            echo(f"{slug}: {e['filename']} ({e['size']:,} bytes, sha256 {e['sha256'][:12]}…)")
        manifest = {k: v for k, v in info.items() if k != "files"}
        manifest.update(ees_url=client.base_url, fetched_at=now(), files=entries)
        return cache.install(slug, staged, manifest)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
