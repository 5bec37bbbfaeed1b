"""The offline snapshot shipped in the wheel: DfE's latest CSWW release files and the 2015-2016 SFR files.

``csww build`` on a machine with no network and an empty download cache builds from this snapshot (issue 15,
item 5) and says which release it used and how to update (``csww fetch`` when online).

Layout (package data, ``benchmark/snapshot/``):

- ``dfe-csww.zip``: the data files, byte for byte as DfE published them, LZMA-compressed (about 110 kB);
- ``manifest.json``: for each release its slug (the cache folder name), release id, reporting year, publication
  date (None when not recorded), page URL and licence (Open Government Licence v3.0), and for each file its name,
  size, data rows and SHA-256; and the SHA-256 of ``dfe-csww.zip`` itself.

Every SHA-256 is checked on use: a damaged snapshot is an ``InputError`` naming the file and the checksum, and
nothing enters the cache. The snapshot is made only by ``scripts/refresh_snapshot.py`` (``csww fetch`` plus a
copy), never by hand; these are the only DfE files kept in the repository.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .. import __version__, ees
from ..cache import obtained
from ..fileio import sha256_file
from ..formatting import fmt_date
from ..local.census import assumed_published
from ..problems import InputError, Problem

FOLDER = Path(__file__).parent
ARCHIVE = "dfe-csww.zip"
MANIFEST = "manifest.json"
LICENCE = "Open Government Licence v3.0"
LICENCE_URL = "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"


@dataclass
class Used:
    """What :func:`install` put into the cache: the release folders and one line per release for the user."""

    folders: list[Path]
    releases: list[dict]

    def lines(self) -> list[str]:
        out = ["No network and an empty download cache: building from the offline snapshot of DfE's "
               "Children's social work workforce statistics bundled with csww-benchmark:"]
        for r in self.releases:
            when = f"published {fmt_date(r['published'][:10])}" if r.get("published") else (
                f"publication date not recorded; --as-at counts it as out by {fmt_date(assumed_published(r['data_year']))}")
            names = ", ".join(f"{f['filename']} (sha256 {f['sha256'][:12]}…)" for f in r["files"])
            out.append(f"  release {r['release_id']} (reporting year {r['data_year']}, {when}): {names}")
        out.append("Newer figures may have been published since: when online, run 'csww fetch' and then "
                   "'csww build' to update.")
        return out


def manifest(folder: Path = FOLDER) -> dict | None:
    """The snapshot's manifest, or None when this installation has no snapshot."""
    p = Path(folder) / MANIFEST
    return json.loads(p.read_text(encoding="utf-8")) if p.exists() else None


def _damaged(name: str, message: str, actual: str | None = None) -> InputError:
    return InputError([Problem(name, f"{message}; the offline snapshot is damaged: reinstall csww-benchmark, or "
                                     "run 'csww fetch' when online", None, "sha256", actual)])


def read(folder: Path = FOLDER) -> tuple[dict, dict[str, bytes]]:
    """The manifest and every data file's bytes (file name -> bytes), each checked against its SHA-256.

    Raises InputError naming the file (column ``sha256``, value the checksum found) when the manifest or the
    archive is missing or the archive or a member does not match the manifest.
    """
    folder = Path(folder)
    meta = manifest(folder)
    if meta is None:
        raise _damaged(str(folder / MANIFEST), "the manifest is missing")
    archive = folder / meta["archive"]["filename"]
    if not archive.exists():
        raise _damaged(str(archive), "the archive is missing")
    actual = sha256_file(archive)
    if actual != meta["archive"]["sha256"]:
        raise _damaged(str(archive), f"SHA-256 is not the {meta['archive']['sha256']} the manifest records", actual)
    files: dict[str, bytes] = {}
    try:
        with zipfile.ZipFile(archive) as z:
            for release in meta["releases"]:
                for f in release["files"]:
                    data = z.read(f["filename"])
                    digest = hashlib.sha256(data).hexdigest()
                    if digest != f["sha256"]:
                        raise _damaged(f"{archive}!{f['filename']}",
                                       f"SHA-256 is not the {f['sha256']} the manifest records", digest)
                    files[f["filename"]] = data
    except (zipfile.BadZipFile, KeyError) as exc:
        raise _damaged(str(archive), f"the archive does not open ({exc})") from None
    return meta, files


def install(cache: ees.Cache, folder: Path = FOLDER) -> Used:
    """Put the snapshot's releases into ``cache`` as ``csww fetch`` would (one folder per release, with a
    ``manifest.json`` marked ``"from_snapshot": true``, with the snapshot's date and the toolkit's version; each
    file's ``downloaded_at`` says it was not downloaded: :func:`benchmark.cache.obtained`), after checking every
    SHA-256.

    Raises InputError when the snapshot is damaged (nothing enters the cache) and OutputError when the cache
    cannot be written. Releases already in the cache are left as they are.
    """
    meta, files = read(folder)
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    folders = []
    for release in meta["releases"]:
        slug = release["release_slug"]
        if (cache.release_dir(slug) / MANIFEST).exists():
            folders.append(cache.release_dir(slug))
            continue
        staged = cache.staging(slug)
        try:
            for f in release["files"]:
                (staged / f["filename"]).write_bytes(files[f["filename"]])
            info = {k: v for k, v in release.items() if k != "files"}
            info.update(publication=ees.PUBLICATION, fetched_at=now, from_snapshot=True,
                        snapshot_made_at=meta.get("made_at"), snapshot_version=__version__, licence=LICENCE)
            # never downloaded: each file says where it came from (source_files.downloaded_at, the pack's table)
            info["files"] = [{**f, "size": len(files[f["filename"]]), "downloaded_at": obtained(info)}
                             for f in release["files"]]
            folders.append(cache.install(slug, staged, info))
        except OSError as exc:
            raise cache.unwritable(exc) from None
        finally:
            shutil.rmtree(staged, ignore_errors=True)
            cache.finished(staged)  # its lock (and lock file) let go
    return Used(folders, meta["releases"])
