"""Maintainer script: remake the offline snapshot in benchmark/snapshot/ (issue 15, item 5). Never edit it by hand.

The snapshot holds the indicator files of DfE's latest CSWW release and the two SFR underlying-data files
(2015 and 2016 census years, published on GOV.UK before EES; they never change, so their SHA-256 are pinned
here). It is made from what ``csww fetch`` downloads, copied with the manifest ``csww fetch`` wrote:

    python scripts/refresh_snapshot.py --sfr ~/Downloads/sfr                 # fetch the latest release from EES
    python scripts/refresh_snapshot.py --release-dir ~/.cache/csww-benchmark/children-s-social-work-workforce/2025 \
        --sfr ~/Downloads/sfr                                                # a release 'csww fetch' cached

Where EES cannot be reached from the maintainer's machine, ``--file CSV --release SLUG`` takes an indicator
file downloaded in a browser from the release page; its publication date then comes from
benchmark/catalogue/releases.yml (None when not listed there) and it has no release version id.

Writes dfe-csww.zip (LZMA) and manifest.json atomically, then reads them back with ``benchmark.snapshot.read``
(every SHA-256 checked) and prints the sizes. Run the tests afterwards (tests/test_snapshot.py).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import sys
import tempfile
import zipfile
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

import yaml

from benchmark import ees, snapshot
from benchmark.fileio import write_text

#: The SFR underlying-data files (GOV.UK, Open Government Licence v3.0) and their SHA-256.
SFR = {
    "SFR07_2016_UD.csv": {
        "sha256": "bed50074c6232d30ac6099a7ed6e88eeeea4762dc6a6b46539d757145ebc1b75", "release_slug": "sfr07-2016",
        "release_id": "SFR07/2016", "data_year": 2015,
        "release_title": "Children's social work workforce: 2015 (SFR 07/2016)",
        "release_url": "https://www.gov.uk/government/statistics/childrens-social-work-workforce-2015"},
    "SFR08_2017_UD.csv": {
        "sha256": "288e22c73a1c412528013320c672f1c81d6c2974fa27ba2fb04e358bd9b940cf", "release_slug": "sfr08-2017",
        "release_id": "SFR08/2017", "data_year": 2016,
        "release_title": "Children's social work workforce: 2016 (SFR 08/2017)",
        "release_url": "https://www.gov.uk/government/statistics/childrens-social-work-workforce-2016"},
}


def _published() -> dict[str, str]:
    text = resources.files("benchmark").joinpath("catalogue/releases.yml").read_text(encoding="utf-8")
    return {str(r["release_id"]): str(r["published"]) for r in yaml.safe_load(text)["releases"]}


def _file_entry(name: str, data: bytes, url: str | None) -> dict:
    rows = csv.reader(io.StringIO(data.decode("utf-8-sig", errors="replace"), newline=""))
    next(rows, None)
    return {"filename": name, "size": len(data), "rows": sum(1 for row in rows if any(c.strip() for c in row)),
            "sha256": hashlib.sha256(data).hexdigest(), "url": url}


def ees_release(args) -> tuple[dict, dict[str, bytes]]:
    """The latest (or given) EES release's indicator files and their ``csww fetch`` manifest."""
    if args.file:
        path = Path(args.file)
        data = path.read_bytes()
        ees.check_csv(path, path.name)
        slug = ees.check_name(args.release, ees.SLUG, "release slug", "--release")
        release = {"release_slug": slug, "release_id": slug, "data_year": int(slug[:4]),
                   "published": _published().get(slug), "release_version_id": None,
                   "release_title": f"Reporting year {slug}",
                   "release_url": f"{ees.PAGE_URL}/{ees.PUBLICATION}/{slug}",
                   "source": args.source or f"{path.name} downloaded from the EES release page",
                   "files": [_file_entry(path.name, data, None)]}
        return release, {path.name: data}
    if args.release_dir:
        folder = Path(args.release_dir)
    else:
        cache = ees.Cache(tempfile.mkdtemp(prefix="csww-snapshot-"))
        folder = ees.fetch(ees.Client(args.ees_url), cache, args.release)
    fetched = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    files = {f["filename"]: (folder / f["filename"]).read_bytes() for f in fetched["files"]}
    for f in fetched["files"]:
        if hashlib.sha256(files[f["filename"]]).hexdigest() != f["sha256"]:
            sys.exit(f"{folder / f['filename']}: SHA-256 differs from its manifest; fetch it again")
    slug = fetched["release_slug"]
    release = {"release_slug": slug, "release_id": slug, "data_year": int(slug[:4]),
               "published": fetched.get("published") or _published().get(slug),
               "release_version_id": fetched.get("release_version_id"), "release_title": fetched.get("release_title"),
               "release_url": fetched.get("release_url"), "source": f"csww fetch from {fetched.get('ees_url')}",
               "files": [_file_entry(f["filename"], files[f["filename"]], f.get("url")) for f in fetched["files"]]}
    return release, files


def sfr_releases(folder: Path) -> tuple[list[dict], dict[str, bytes]]:
    published = _published()
    releases, files = [], {}
    for name, info in SFR.items():
        path = next(iter(sorted(Path(folder).rglob(name))), None)
        if path is None:
            sys.exit(f"{folder}: {name} not found")
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != info["sha256"]:
            sys.exit(f"{path}: SHA-256 is not DfE's published file's {info['sha256']}")
        files[name] = data
        releases.append({**{k: v for k, v in info.items() if k != "sha256"},
                         "published": published.get(info["release_id"]), "release_version_id": None,
                         "source": "GOV.UK statistical first release, underlying data",
                         "files": [_file_entry(name, data, None)]})
    return releases, files


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sfr", required=True, help="Folder holding SFR07_2016_UD.csv and SFR08_2017_UD.csv.")
    parser.add_argument("--release", help="EES release slug (default: the latest).")
    parser.add_argument("--release-dir", help="A release folder 'csww fetch' wrote (with manifest.json).")
    parser.add_argument("--file", help="An indicator CSV downloaded in a browser (with --release).")
    parser.add_argument("--source", help="With --file: where the file came from (recorded in the manifest).")
    parser.add_argument("--ees-url", help="EES content API base URL (default: the live service).")
    parser.add_argument("--out", default=str(snapshot.FOLDER), help="Folder to write (default: benchmark/snapshot).")
    args = parser.parse_args(argv)
    if args.file and not args.release:
        parser.error("--file needs --release")
    latest, files = ees_release(args)
    sfr, sfr_files = sfr_releases(Path(args.sfr))
    files.update(sfr_files)
    out = Path(args.out)
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / snapshot.ARCHIVE
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_LZMA) as z:
            for name in sorted(files):
                info = zipfile.ZipInfo(name, date_time=(2015, 1, 1, 0, 0, 0))  # same bytes for the same files
                info.compress_type = zipfile.ZIP_LZMA
                info.external_attr = 0o644 << 16
                z.writestr(info, files[name])
        data = archive.read_bytes()
    manifest = {
        "about": "Offline snapshot of DfE Children's social work workforce statistics; made by "
                 "scripts/refresh_snapshot.py, never by hand. See benchmark/snapshot/__init__.py.",
        "made_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "licence": snapshot.LICENCE, "licence_url": snapshot.LICENCE_URL,
        "archive": {"filename": snapshot.ARCHIVE, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()},
        "releases": [latest, *sfr],
    }
    write_text(out / snapshot.ARCHIVE, data)
    write_text(out / snapshot.MANIFEST, json.dumps(manifest, indent=2) + "\n")
    snapshot.read(out)  # every checksum, as csww build checks it
    raw = sum(len(d) for d in files.values())
    print(f"wrote {out / snapshot.ARCHIVE}: {len(data):,} bytes ({raw:,} uncompressed) and {out / snapshot.MANIFEST}")
    for r in manifest["releases"]:
        print(f"  release {r['release_id']} ({r['published'] or 'publication date not recorded'}): "
              + ", ".join(f['filename'] for f in r['files']))


if __name__ == "__main__":
    main()
