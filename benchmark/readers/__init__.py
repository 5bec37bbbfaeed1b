"""One reader per DfE file generation, chosen by the file's header (never by its name).

``read_sources(paths)`` takes CSV files, folders (searched recursively) and EES release ZIPs and
returns one :class:`ReadResult` per CSWW data file found.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import breakdowns, ees, sfr
from .base import InputError, Problem, ReadResult

__all__ = ["InputError", "Problem", "ReadResult", "SourceFile", "detect_layout", "read_file", "read_sources",
           "iter_source_files"]

#: Files from CSWW releases that are not indicator data; recognised so a folder can hold them.
KNOWN_OTHER = {
    "cla-sw-count": {"cla_group", "sw_stability"},
}
#: EES files of breakdowns (filter columns), loaded into the ``breakdowns`` table.
BREAKDOWNS = "ees-breakdowns"


@dataclass(frozen=True)
class ZipLimits:
    """Caps on a ZIP's members, checked from its directory before any member is read, so a ZIP bomb is refused
    unopened. Bytes: ``member`` (one member uncompressed), ``total`` (all members); ``ratio``: the largest
    uncompressed:compressed ratio of a member bigger than ``ratio_from`` bytes (small files may compress well;
    DfE CSVs deflate 3:1 to 11:1). The same caps hold for a ZIP from EES (``csww fetch``) and one given to
    ``csww build --from``."""

    member: int = 256 * 2**20
    total: int = 1024 * 2**20
    ratio: float = 100
    ratio_from: int = 2**20

    def problem(self, infos: list[zipfile.ZipInfo]) -> str | None:
        """Why these members (``ZipFile.infolist()``) are refused, or None when they are within the caps."""
        total = 0
        for i in infos:
            ratio = i.file_size / max(i.compress_size, 1)
            if i.file_size > self.member:
                return (f"member {i.filename} is {i.file_size:,} bytes uncompressed, more than the {self.member:,} "
                        "csww accepts; not extracted")
            if i.file_size > self.ratio_from and ratio > self.ratio:
                return (f"member {i.filename} expands {ratio:,.0f}:1, beyond the {self.ratio:g}:1 csww accepts "
                        "(a ZIP bomb?); not extracted")
            total += i.file_size
        if total > self.total:
            return f"members total {total:,} bytes uncompressed, more than the {self.total:,} csww accepts"
        return None


ZIP_LIMITS = ZipLimits()


@dataclass
class SourceFile:
    name: str  # display name: a path, or "archive.zip!data/file.csv"
    data: bytes
    release_meta: dict | None = None  # from a fetch manifest, when the file came from the cache

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def detect_layout(columns: list[str]) -> str | None:
    """Name the layout a header belongs to, or None if it is not one we know."""
    cols = set(columns)
    if set(ees.GEOGRAPHY_COLUMNS) <= cols:
        for layout, (_, mapping) in ees.LAYOUTS.items():
            if set(mapping) <= cols:
                return layout
        if not any(needed <= cols for needed in KNOWN_OTHER.values()) and (
                {"breakdown_topic", "breakdown"} <= cols or breakdowns.is_ethnicity_by_role(cols)
                or {c.lower() for c in cols} & breakdowns.ROLE_FILTERS):
            return BREAKDOWNS
    if set(sfr.GEOGRAPHY_COLUMNS) <= cols and sfr.data_year(columns):
        return "sfr"
    for layout, needed in KNOWN_OTHER.items():
        if needed <= cols:
            return layout
    return None


def header_problem(name: str, columns: list[str]) -> Problem:
    """Explain an unknown header against the closest layout we know."""
    cols = set(columns)
    title, mapping = max(ees.LAYOUTS.values(), key=lambda tm: len(cols & set(tm[1])))
    expected = set(ees.GEOGRAPHY_COLUMNS) | set(mapping)
    missing = sorted(expected - cols)
    msg = (f"header is not a CSWW layout this toolkit knows; closest is the {title}, "
           f"which also needs: {', '.join(missing[:12])}{' ...' if len(missing) > 12 else ''}")
    return Problem(name, msg, 1, None, ",".join(columns[:6]) + (",..." if len(columns) > 6 else ""))


def _text(source: SourceFile) -> str:
    """The file as text: UTF-8 (with or without a BOM), else Windows-1252 (what Excel's "CSV" saves)."""
    try:
        return source.data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return source.data.decode("cp1252")
    except UnicodeDecodeError as exc:
        row = source.data.count(b"\n", 0, exc.start) + 1
        byte = source.data[exc.start:exc.start + 1]
        raise InputError([Problem(source.name, f"byte 0x{byte.hex()} is neither UTF-8 nor Windows-1252 text; "
                                  "save the file as UTF-8 CSV", row)]) from None


def _frame(source: SourceFile) -> tuple[pd.DataFrame, list[str]]:
    """The file's cells as text, and its header exactly as written (pandas renames repeated names)."""
    text = _text(source)
    try:
        header = next(csv.reader(io.StringIO(text)), [])
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=False), header
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as exc:
        raise InputError([Problem(source.name, f"not a readable CSV file: {exc}")]) from None


def _repeated_columns(name: str, header: list[str]) -> list[Problem]:
    """A column named twice: which one holds the figures cannot be told, so neither is guessed."""
    seen: dict[str, int] = {}
    out = []
    for i, col in enumerate(header, start=1):
        key = col.strip()
        if not key:
            continue
        if key in seen:
            out.append(Problem(name, f"column {key!r} appears more than once (columns {seen[key]} and {i}); "
                                     "remove the copy that is wrong", 1, key))
        else:
            seen[key] = i
    return out


def read_file(source: SourceFile, strict: bool = True) -> ReadResult | None:
    """Read one CSV. Unknown headers raise (strict) or return None (files met while walking a folder).

    A DfE layout whose header repeats a column, or with a header and no data rows, raises InputError.
    """
    df, header = _frame(source)
    columns = [str(c) for c in df.columns]
    layout = detect_layout(columns)
    if layout is None and set(ees.GEOGRAPHY_COLUMNS) <= set(columns) and breakdowns.has_filters(df, ees.GEOGRAPHY_COLUMNS):
        layout = BREAKDOWNS  # an EES file with filter columns this toolkit has no name for: read them generically
    if layout is None or layout in KNOWN_OTHER:
        if strict and layout is None:
            raise InputError([header_problem(source.name, columns)])
        return None
    repeated = _repeated_columns(source.name, header)
    if repeated:
        raise InputError(repeated)
    if not (df.to_numpy() != "").any():  # nothing below the header but blank lines
        raise InputError([Problem(source.name, "the file has a header but no data rows; was the download cut "
                                  "short?", 2)])
    release_id = (source.release_meta or {}).get("release_slug")
    if layout == "sfr":
        return sfr.read(df, source.name, release_id=None)
    if layout == BREAKDOWNS:
        return ees.read_breakdowns(df, source.name, release_id=release_id)
    return ees.read(df, source.name, layout, release_id=release_id)


def iter_source_files(path: str | Path, limits: ZipLimits = ZIP_LIMITS) -> tuple[list[SourceFile], bool]:
    """The CSV files behind ``path`` and whether they were named explicitly (a file) or found (folder, ZIP).
    ZIPs (given, or found in a folder) are refused with an InputError when they break ``limits``."""
    p = Path(path)
    if not p.exists():
        raise InputError([Problem(str(path), "no such file or folder")])
    if p.is_dir():
        files = []
        for f in sorted(p.rglob("*")):
            if f.suffix.lower() == ".csv" and f.is_file():
                files.append(SourceFile(str(f), f.read_bytes(), _manifest_for(f)))
            elif f.suffix.lower() == ".zip" and f.is_file():
                files.extend(_zip_members(f, _manifest_for(f), limits))
        return files, False
    if p.suffix.lower() == ".zip" or zipfile.is_zipfile(p):
        return _zip_members(p, None, limits), False
    return [SourceFile(str(p), p.read_bytes(), _manifest_for(p))], True


def _manifest_for(f: Path) -> dict | None:
    """Release details recorded by ``csww fetch`` beside a cached file."""
    manifest = f.parent / "manifest.json"
    if not manifest.exists():
        return None
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    for entry in data.get("files", []):
        if entry.get("filename") == f.name:
            return {**{k: v for k, v in data.items() if k != "files"}, **entry}
    return None


def _zip_members(p: Path, meta: dict | None = None, limits: ZipLimits = ZIP_LIMITS) -> list[SourceFile]:
    try:
        with zipfile.ZipFile(p) as z:
            refused = limits.problem([i for i in z.infolist() if not i.is_dir()])
            if refused:
                raise InputError([Problem(str(p), refused)])
            bad = z.testzip()
            if bad:
                raise InputError([Problem(f"{p}!{bad}", "damaged member in ZIP file (CRC check failed)")])
            return [SourceFile(f"{p}!{name}", z.read(name), meta) for name in sorted(z.namelist())
                    if name.lower().endswith(".csv") and not name.endswith("/")]
    except zipfile.BadZipFile as exc:
        raise InputError([Problem(str(p), f"not a readable ZIP file ({exc}); was the download cut short?")]) from None


def read_sources(paths, on_skip=None, limits: ZipLimits = ZIP_LIMITS) -> list[ReadResult]:
    """Read every CSWW data file behind ``paths``; identical files (same SHA-256) are read once. ZIPs must keep
    within ``limits`` (:class:`ZipLimits`).

    Every problem in every file is collected before raising, so one run reports them all.
    """
    results: list[ReadResult] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for path in paths:
        try:
            files, explicit = iter_source_files(path, limits)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        if not files and not problems:
            problems.append(Problem(str(path), "no CSV files found here"))
        for source in files:
            if source.sha256 in seen:
                continue
            seen.add(source.sha256)
            try:
                result = read_file(source, strict=explicit)
            except InputError as exc:
                problems.extend(exc.problems)
                continue
            if result is None:
                if on_skip:
                    on_skip(source.name)
                continue
            result.sha256 = source.sha256
            result.size = len(source.data)
            result.release_meta = source.release_meta
            results.append(result)
    if problems:
        raise InputError(problems)
    return results
