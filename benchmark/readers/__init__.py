"""One reader per DfE file generation, chosen by the file's header (never by its name).

``read_sources(paths)`` takes CSV files, folders (searched recursively) and EES release ZIPs and
returns one :class:`ReadResult` per CSWW data file found.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import dataclasses
import hashlib
import io
import itertools
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterator

import numpy as np
import pandas as pd

from ..problems import UsageError
from . import breakdowns, ees, sfr
from .base import InputError, Problem, ReadResult, check_repeated_rows, filled_rows

__all__ = ["InputError", "Problem", "ReadResult", "SourceFile", "detect_layout", "read_file", "read_sources",
           "iter_source_files", "MAX_VALUES", "max_values"]

#: Files from CSWW releases that are not indicator data; recognised so a folder can hold them.
KNOWN_OTHER = {
    "cla-sw-count": {"cla_group", "sw_stability"},
}
#: What each of :data:`KNOWN_OTHER` is, for the message when one is given to ``csww build --from`` by name.
KNOWN_OTHER_TITLES = {
    "cla-sw-count": "DfE's \"Children looked after\" file of children looked after by number of social workers "
                    "in the year (cla_group, sw_stability)",
}
#: Header columns of files often found beside DfE's CSWW files (lower case) -> what such a file is.
NOT_CSWW = [
    ({"sn1"}, "DfE's statistical neighbours table, which csww ships already: the 2021 and 2025 models"),
    ({"sn_1"}, "DfE's statistical neighbours table, which csww ships already: the 2021 and 2025 models"),
    ({"short desc", "data item"}, "a LAIT (Local Authority Interactive Tool) extract"),
]
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


#: Rows read at a time: a file of any size is read in pieces of this many rows, so memory follows the
#: tidy values kept rather than the file's text (issue 14 item 4).
CHUNK_ROWS = 50_000
#: ... and of at most this many cells, so a very wide file is read in fewer rows at a time (50,000 rows of the
#: 32-column EES indicators file): a piece's memory is bounded before the values in it are counted.
CHUNK_CELLS = 1_600_000
#: Bytes read at a time when checking a file's encoding or hashing it.
BLOCK = 1 << 20
#: A file with this many problems stops being read: the first ones say what is wrong.
MAX_PROBLEMS = 1000
#: The most values (observations plus breakdown values) one build reads from all its files together; past it
#: the build stops while reading, with an InputError naming the file and row reached (issue 14 item 4: a 1 GB
#: CSV, about 100 million values, must fail or succeed within 2 GB). Derivation: the read, the comparisons and
#: the package hold every value in pandas frames; ``perf/build_scaling.py`` measured a build's peak at
#: 272 MB at 1x the quick tour (67,489 values read: 38,889 observations) growing about 82 MB per copy of it,
#: i.e. about 2.1 kB per observation when each value read is an observation of its own (one file, as the
#: 1 GB CSV is). 2,048 MB less the 272 MB at 1x and a 10 % margin (~205 MB) leaves ~1,570 MB: 750,000 values.
#: DfE's own files are far below it: every CSWW file in ../shared/dfe together is 111,983 values.
#: ``CSWW_MAX_VALUES`` (or ``csww build --max-values``) raises or lowers it for a machine with more memory.
MAX_VALUES = 750_000
#: The environment variable that overrides :data:`MAX_VALUES`.
MAX_VALUES_ENV = "CSWW_MAX_VALUES"


def _stopped(exc: InputError) -> InputError:
    """``exc`` marked as the ceiling's: :func:`read_file` and :func:`read_sources` stop reading on it."""
    exc.stopped = True
    return exc


def max_values(given: int | None = None) -> int:
    """The ceiling on values one build reads: ``given``, else ``$CSWW_MAX_VALUES``, else :data:`MAX_VALUES`.
    A setting that is not a whole number above zero raises UsageError."""
    text = str(given) if given is not None else os.environ.get(MAX_VALUES_ENV, "").strip()
    if not text:
        return MAX_VALUES
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise UsageError(f"{MAX_VALUES_ENV if given is None else '--max-values'}={text!r}: the most values a build "
                         "reads must be a whole number above zero")
    return n


def _past_ceiling(name: str, result: ReadResult, before: int, ceiling: int) -> Problem | None:
    """The problem to stop on when ``result`` (one chunk read) takes the values read past ``ceiling``, naming
    the file row at which the count passed it; None while within it."""
    counted = len(result.observations) + (len(result.breakdowns) if result.breakdowns is not None else 0)
    if before + counted <= ceiling:
        return None
    rows = pd.concat([result.observations["source_row"]] + (
        [result.breakdowns["source_row"]] if result.breakdowns is not None else []), ignore_index=True)
    per_row = rows.astype("int64").value_counts().sort_index().cumsum()
    row = int(per_row.index[np.searchsorted(per_row.to_numpy(), ceiling - before, side="right")])
    return Problem(name, f"more than {ceiling:,} values read (observations and breakdown values, all files "
                   f"together) by this row, the most a build reads: it holds every value in memory, and the "
                   f"default ceiling, {MAX_VALUES:,}, keeps it within 2 GB. DfE's CSWW files from 2015 to 2025 hold "
                   "111,983 values together; split this file by reporting year or council and build the parts you "
                   f"need, or, on a machine with more memory, raise the ceiling with --max-values or "
                   f"{MAX_VALUES_ENV}. Stopped reading here", row)


@dataclass
class SourceFile:
    """One CSV to read: its bytes in memory (``data``), a file on disk (``path``), or a member of a ZIP
    (``path`` and ``member``). Files on disk and in ZIPs are streamed, never held whole in memory."""

    name: str  # display name: a path, or "archive.zip!data/file.csv"
    data: bytes | None = None
    release_meta: dict | None = None  # from a fetch manifest, when the file came from the cache
    path: Path | None = None
    member: str | None = None
    _sha256: str | None = field(default=None, repr=False)
    _size: int | None = field(default=None, repr=False)

    @contextlib.contextmanager
    def stream(self) -> Iterator[IO[bytes]]:
        """The file's bytes as a binary stream, closed on leaving the ``with`` block."""
        if self.data is not None:
            yield io.BytesIO(self.data)
        elif self.member is not None:
            with zipfile.ZipFile(self.path) as z, z.open(self.member) as fh:
                yield fh
        else:
            with open(self.path, "rb") as fh:
                yield fh

    def _digest(self) -> None:
        h, size = hashlib.sha256(), 0
        with self.stream() as fh:
            while block := fh.read(BLOCK):
                h.update(block)
                size += len(block)
        self._sha256, self._size = h.hexdigest(), size

    @property
    def sha256(self) -> str:
        if self._sha256 is None:
            self._digest()
        return self._sha256

    @property
    def size(self) -> int:
        if self._size is None:
            self._digest()
        return self._size


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
    """Explain an unknown header: a header with none of the measure columns of the layouts we know is not a CSWW
    data file (said so, with what each layout's header starts with); otherwise, what the closest layout also
    needs."""
    cols = set(columns)
    value = ",".join(columns[:6]) + (",..." if len(columns) > 6 else "")
    measures_known = {c for _, mapping in ees.LAYOUTS.values() for c in mapping}
    if not cols & measures_known and not sfr.data_year(columns) and not {"time_period", "geographic_level"} <= cols:
        lower = {str(c).strip().lower() for c in cols}
        what = next((f" (it looks like {title})" for needed, title in NOT_CSWW if needed <= lower), "")
        expected = "; ".join(f"{title}: {', '.join([*ees.GEOGRAPHY_COLUMNS[:2], '...', *list(mapping)[:2]])}, ..."
                             for title, mapping in ees.LAYOUTS.values())
        msg = (f"header is not a CSWW layout this toolkit knows: not a CSWW data file{what}, it has none of the "
               f"layouts' measure columns nor EES's time_period and geographic_level. Expected a header like: "
               f"{expected}; SFR underlying data (2015-2016): {', '.join(sfr.GEOGRAPHY_COLUMNS[:2])}, ..., "
               "A1_FTE_ChildrensSocialWorkers_2015, .... Leave this file out")
        return Problem(name, msg, 1, None, value)
    title, mapping = max(ees.LAYOUTS.values(), key=lambda tm: len(cols & set(tm[1])))
    expected = set(ees.GEOGRAPHY_COLUMNS) | set(mapping)
    missing = sorted(expected - cols)
    msg = (f"header is not a CSWW layout this toolkit knows; closest is the {title}, "
           f"which also needs: {', '.join(missing[:12])}{' ...' if len(missing) > 12 else ''}")
    return Problem(name, msg, 1, None, value)


#: The first bytes of files that are not CSV text -> what the file is.
MAGIC = [
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel 97-2003 workbook (.xls) or other Office document"),
    (b"PK\x03\x04", "a ZIP archive or an Excel workbook (.xlsx)"),
    (b"PAR1", "a Parquet file"),
    (b"%PDF", "a PDF document"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\xff\xfe", "UTF-16 text (what Excel's \"Unicode Text\" saves)"),
    (b"\xfe\xff", "UTF-16 text"),
]
#: Excel's lock files (``~$name.xlsx``) are 162 or 165 bytes; a file named like one and this big is read as data.
LOCK_FILE_MAX = 4096
#: Ask for the file again as CSV: the end of every message about a file that is not CSV text.
SAVE_AS_CSV = "csww reads CSV files: save it again as CSV (comma delimited), or give DfE's CSV download"


def _base_name(name: str) -> str:
    """The file name of a display name (a path, or ``archive.zip!folder/file.csv``)."""
    return name.rsplit("!", 1)[-1].replace("\\", "/").rsplit("/", 1)[-1]


def is_lock_file(source: SourceFile) -> bool:
    """An office program's lock file for an open document (Excel's ``~$x.xlsx``, LibreOffice's ``.~lock.x#``):
    told by its name and its size (a few hundred bytes), never data."""
    base = _base_name(source.name)
    return base.startswith(("~$", ".~lock.")) and source.size < LOCK_FILE_MAX


def not_csv_text(source: SourceFile, head: bytes) -> str | None:
    """Why ``source`` is not CSV text at all (a lock file, a workbook, a Parquet, PDF or database file, UTF-16
    text, other binary data: told by its name and ``head``, its first bytes), or None when it may be. The message
    says what the file is and what to do."""
    if is_lock_file(source):
        office = "LibreOffice" if _base_name(source.name).startswith(".~lock.") else "Excel"
        return (f"{office}'s lock file for an open workbook, not data: close the workbook or leave this file out")
    for magic, what in MAGIC:
        if head.startswith(magic):
            return f"{what}, not a CSV file; {SAVE_AS_CSV}"
    if b"\x00" in head[:8192]:
        return f"binary data (NUL bytes), not CSV text; {SAVE_AS_CSV}"
    return None


def _workbook(p: Path) -> bool:
    """Whether the ZIP at ``p`` is a spreadsheet (an Excel .xlsx/.xlsm/.xlsb or an OpenDocument .ods file)."""
    try:
        with zipfile.ZipFile(p) as z:
            names = set(z.namelist())
    except (zipfile.BadZipFile, OSError):
        return False
    return bool(names & {"xl/workbook.xml", "xl/workbook.bin"}) or {"mimetype", "content.xml"} <= names


def _other_separator(source: SourceFile, head: bytes) -> tuple[Problem, bool] | None:
    """A problem when the header (on the first line of ``head``, the file's first bytes) splits into more columns on ';' or a tab than on commas (a CSV saved with a
    semicolon list separator, or a tab-delimited text file), and whether the header so split is a CSWW layout;
    else None. Such a file is refused, never re-read with that separator: where ';' separates the columns, ',' is
    usually the decimal mark, and a figure must never change."""
    line = head.decode("utf-8-sig", errors="replace").splitlines()[:1] or [""]
    name, line = source.name, line[0]
    commas = len(next(csv.reader([line]), []))
    for sep, said, why in ((";", "';'", "a CSV saved with a semicolon list separator"),
                           ("\t", "tabs", "a tab-delimited text file")):
        split = next(csv.reader([line], delimiter=sep), [])
        if len(split) > max(commas, 1):
            known = detect_layout([c.strip() for c in split])
            return Problem(name, f"the columns are separated by {said}, not commas ({why}"
                                 f"{'; its header is the ' + _layout_title(known) if known else ''}): save it again "
                                 "as CSV (comma delimited)", 1), known is not None
    return None


def _layout_title(layout: str) -> str:
    if layout in ees.LAYOUTS:
        return ees.LAYOUTS[layout][0]
    return {"sfr": "SFR underlying data layout (2015-2016)", BREAKDOWNS: "EES breakdowns layout"}.get(
        layout, f"{layout} layout")


def _encoding(source: SourceFile) -> str:
    """The file's encoding: UTF-8 (with or without a BOM), else Windows-1252 (what Excel's "CSV" saves).
    Checked over the whole file a block at a time; a byte that is neither raises InputError naming its row."""
    for enc in ("utf-8-sig", "cp1252"):
        bad = _first_bad_byte(source, enc)
        if bad is None:
            return enc
    row, byte = bad
    raise InputError([Problem(source.name, f"byte 0x{byte.hex()} is neither UTF-8 nor Windows-1252 text; "
                              "save the file as UTF-8 CSV", row)])


def _first_bad_byte(source: SourceFile, enc: str) -> tuple[int, bytes] | None:
    """(row, byte) of the first byte that is not ``enc`` text, or None when the whole file is."""
    decoder = codecs.getincrementaldecoder(enc)()
    lines = 0
    with source.stream() as fh:
        while block := fh.read(BLOCK):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                # the decoder may hold back up to 3 bytes of the block before: count rows to the byte
                start = max(exc.start - (len(exc.object) - len(block)), 0)
                return lines + block.count(b"\n", 0, start) + 1, block[start:start + 1]
            lines += block.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:  # a sequence cut short at the end of the file
        return lines + 1, b""
    return None


@contextlib.contextmanager
def _chunks(source: SourceFile, rows: int = CHUNK_ROWS,
            cells: int | None = None) -> Iterator[tuple[list[str], Iterator[pd.DataFrame]]]:
    """The file's header exactly as written (pandas renames repeated names) and its cells as text, ``rows``
    rows at a time, fewer when ``cells`` caps the cells of a piece (row labels continue from chunk to chunk:
    file line = label + 2). A file with a header and no rows gives one empty frame with the header's columns."""
    enc = _encoding(source)
    with source.stream() as raw, io.TextIOWrapper(raw, encoding=enc, newline="") as text:
        try:
            header = next(csv.reader(text), [])
        except csv.Error as exc:
            raise InputError([Problem(source.name, f"not a readable CSV file: {exc}")]) from None
    if not any(c.strip() for c in header):
        raise InputError([Problem(source.name, "no header on line 1 (the file is empty or starts with a blank line): "
                                  "DfE's files have their column names on the first line; was the download cut "
                                  "short?", 1)])
    if cells:
        rows = max(1, min(rows, cells // max(len(header), 1)))
    with source.stream() as raw, io.TextIOWrapper(raw, encoding=enc, newline="") as text:
        try:
            reader = pd.read_csv(text, dtype=str, keep_default_na=False, skip_blank_lines=False, chunksize=rows)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as exc:
            raise InputError([Problem(source.name, f"not a readable CSV file: {exc}")]) from None

        def frames():
            any_chunk = False
            try:
                for chunk in reader:
                    any_chunk = True
                    yield chunk
            except (pd.errors.ParserError, csv.Error) as exc:
                raise InputError([Problem(source.name, f"not a readable CSV file: {exc}")]) from None
            if not any_chunk:
                yield pd.DataFrame(columns=_pandas_names(header))
        with reader:
            yield header, frames()


def _pandas_names(header: list[str]) -> list[str]:
    """The column names pandas gives ``header`` (a repeated name ``x`` becomes ``x.1``)."""
    line = io.StringIO()
    csv.writer(line).writerow(header)
    line.seek(0)
    return list(pd.read_csv(line, dtype=str).columns)


def _frame(source: SourceFile) -> tuple[pd.DataFrame, list[str]]:
    """The whole file's cells as text, and its header exactly as written (the reference the chunked path
    :func:`read_file` is tested against)."""
    with _chunks(source, rows=10**12) as (header, frames):
        return next(frames), header


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


def read_file(source: SourceFile, strict: bool = True, chunk_rows: int = CHUNK_ROWS, values_before: int = 0,
              ceiling: int | None = None) -> ReadResult | None:
    """Read one CSV, ``chunk_rows`` rows at a time. Unknown headers raise (strict) or return None (files met
    while walking a folder). A file that is not CSV text (:func:`not_csv_text`), whose columns are separated by
    ';' or tabs, or that is another DfE file (:data:`KNOWN_OTHER`) raises an InputError saying what it is when
    named (strict); inside a folder a lock file, another DfE file or a ';'/tab file of other columns is skipped
    (None). Wholly empty rows (blank lines, ",,,," lines) are skipped wherever they are, in every layout.

    A DfE layout whose header repeats a column, or with a header and no data rows, raises InputError
    listing every problem (reading stops after ``MAX_PROBLEMS``). The result is the same whatever
    ``chunk_rows``: each piece is read by the layout's reader and the tidy pieces joined. When the values read
    (``values_before`` from earlier files plus this file's) pass ``ceiling`` (default :func:`max_values`),
    reading stops at once with an InputError naming the file, the row reached and the ceiling, so memory
    stays bounded whatever the file's size.
    """
    ceiling = max_values() if ceiling is None else ceiling
    with source.stream() as fh:
        head = fh.read(64 * 1024)  # what tells a file that is not CSV text, or not comma-separated
    why = not_csv_text(source, head)
    if why:
        if not strict and is_lock_file(source):
            return None  # skipped (and listed) inside a folder
        raise InputError([Problem(source.name, why)])
    other = _other_separator(source, head)
    if other:
        problem, csww = other
        if not strict and not csww:
            return None  # a file of other columns separated by ';' or tabs, inside a folder: skipped and listed
        raise InputError([problem])
    with _chunks(source, chunk_rows, CHUNK_CELLS) as (header, frames):
        first = next(frames)
        columns = [str(c) for c in first.columns]
        layout = detect_layout(columns)
        if layout is None and set(ees.GEOGRAPHY_COLUMNS) <= set(columns) and breakdowns.has_filters(
                first, ees.GEOGRAPHY_COLUMNS):
            layout = BREAKDOWNS  # an EES file with filter columns this toolkit has no name for: read them generically
        if layout is None or layout in KNOWN_OTHER:
            if strict and layout is None:
                raise InputError([header_problem(source.name, columns)])
            if strict:
                raise InputError([Problem(source.name, f"not a CSWW data file: {KNOWN_OTHER_TITLES[layout]}. csww "
                                          "build reads DfE's CSWW indicator and breakdown files: leave this file "
                                          "out (inside a folder it is skipped)")])
            return None
        repeated = _repeated_columns(source.name, header)
        if repeated:
            raise InputError(repeated)
        release_id = (source.release_meta or {}).get("release_slug")
        parts: list[ReadResult] = []
        problems: list[Problem] = []
        has_data = False
        counted = values_before
        for chunk in itertools.chain([first], frames):
            # A wholly empty row (no cell with any text but spaces: a blank line, or Excel's ",,,," line) is
            # skipped wherever it is, in every layout: editors and Excel add them at the end of a file, and
            # SFR08/2017 ends with comma-only lines. The row labels are kept, so the rows read keep their
            # file line numbers.
            chunk = chunk[filled_rows(chunk)] if len(chunk) else chunk
            has_data |= bool(len(chunk))
            if not len(chunk):
                continue
            try:
                if layout == "sfr":
                    part = sfr.read(chunk, source.name, release_id=None)
                elif layout == BREAKDOWNS:
                    part = ees.read_breakdowns(chunk, source.name, release_id=release_id)
                else:
                    part = ees.read(chunk, source.name, layout, release_id=release_id)
                past = _past_ceiling(source.name, part, counted, ceiling)
                if past:
                    raise _stopped(InputError([*problems, past]))  # the pieces read so far go with this frame
                counted += len(part.observations) + (len(part.breakdowns) if part.breakdowns is not None else 0)
                parts.append(part)
            except InputError as exc:
                if getattr(exc, "stopped", False):
                    raise
                problems.extend(exc.problems)
                if len(problems) >= MAX_PROBLEMS:
                    problems.append(Problem(source.name, f"stopped reading after {len(problems):,} problems; "
                                            "mend these and run again", int(chunk.index[-1]) + 2))
                    break
            del chunk
    if not has_data:  # nothing below the header but blank lines
        raise InputError([Problem(source.name, "the file has a header but no data rows; was the download cut "
                                  "short?", 2)])
    if problems:
        raise InputError(problems)
    return _join(parts, release_id if layout != "sfr" else None)


def _join(parts: list[ReadResult], release_id: str | None) -> ReadResult:
    """One file's result from the results of its pieces: the reporting year and release are the file's."""
    if len(parts) == 1:
        return parts[0]
    head = max(parts, key=lambda r: r.data_year)
    data_year = head.data_year
    observations = pd.concat([r.observations for r in parts], ignore_index=True)
    # In the order of the whole file read at once: measure by measure, each in file order.
    rank = {m: i for i, m in enumerate(pd.unique(observations["measure_id"]))}
    observations = (observations.assign(_rank=observations["measure_id"].map(rank))
                    .sort_values(["_rank", "source_row"], kind="stable").drop(columns="_rank")
                    .reset_index(drop=True))
    check_repeated_rows(observations, head.source)  # an area and year repeated in two pieces
    sightings = pd.concat([r.sightings for r in parts], ignore_index=True).assign(
        data_year=data_year, release_id=head.release_id)
    pieces = [r.breakdowns for r in parts if r.breakdowns is not None]
    tidy = pd.concat(pieces, ignore_index=True) if pieces else None
    if tidy is not None:
        breakdowns.check_unique(tidy, head.source)  # a row repeated in two pieces
    return dataclasses.replace(head, observations=observations, sightings=sightings, breakdowns=tidy,
                               notes=list(dict.fromkeys(n for r in parts for n in r.notes)),
                               warnings=list(dict.fromkeys(w for r in parts for w in r.warnings)))


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
                files.append(SourceFile(str(f), release_meta=_manifest_for(f), path=f))
            elif f.suffix.lower() == ".zip" and f.is_file():
                files.extend(_zip_members(f, _manifest_for(f), limits))
        return files, False
    if zipfile.is_zipfile(p) and _workbook(p):
        raise InputError([Problem(str(p), f"a spreadsheet workbook, not a CSV file; {SAVE_AS_CSV}")])
    if p.suffix.lower() == ".zip" or zipfile.is_zipfile(p):
        return _zip_members(p, None, limits), False
    return [SourceFile(str(p), release_meta=_manifest_for(p), path=p)], True


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
            return [SourceFile(f"{p}!{name}", release_meta=meta, path=p, member=name) for name in sorted(z.namelist())
                    if name.lower().endswith(".csv") and not name.endswith("/")]
    except zipfile.BadZipFile as exc:
        raise InputError([Problem(str(p), f"not a readable ZIP file ({exc}); was the download cut short?")]) from None


def read_sources(paths, on_skip=None, limits: ZipLimits = ZIP_LIMITS, ceiling: int | None = None) -> list[ReadResult]:
    """Read every CSWW data file behind ``paths``; identical files (same SHA-256) are read once. ZIPs must keep
    within ``limits`` (:class:`ZipLimits`).

    Every problem in every file is collected before raising, so one run reports them all; except that past
    ``ceiling`` values read from all the files together (default :func:`max_values`) reading stops at once
    with an InputError naming the file and row reached (memory stays bounded whatever the files' size).
    """
    ceiling = max_values() if ceiling is None else ceiling
    counted = 0
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
                result = read_file(source, strict=explicit, values_before=counted, ceiling=ceiling)
            except InputError as exc:
                if getattr(exc, "stopped", False):  # past the ceiling: no further file is read
                    raise InputError(problems + exc.problems) from None
                problems.extend(exc.problems)
                continue
            if result is None:
                if on_skip:
                    on_skip(source.name)
                continue
            result.sha256 = source.sha256
            result.size = source.size
            result.release_meta = source.release_meta
            results.append(result)
            counted += len(result.observations) + (len(result.breakdowns) if result.breakdowns is not None else 0)
    if problems:
        raise InputError(problems)
    return results
