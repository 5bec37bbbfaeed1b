"""``csww build``: read DfE files into the canonical tables of ``OUT/csww.db``."""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from . import __version__, buildstate, compare, councils, geography, measures, package, store, tables
from . import cache as download_cache
from .local import census
from .local.store import list_returns, load_files, set_published
from .problems import DatabaseError, NotFoundError
from .readers import InputError, Problem, ReadResult, read_sources
from .readers import max_values as _max_values

KEY = tables.OBSERVATION_KEY
#: The tables whose writing ``progress`` follows.
LONG_TABLES = ("observations", "observation_revisions")


@dataclass
class BuildReport:
    database: Path
    files: list[ReadResult]
    observations: int
    revisions: int
    areas: int
    skipped: list[str] = field(default_factory=list)
    local_returns: list[str] = field(default_factory=list)
    package: Path | None = None
    build_id: str | None = None
    kept: list[str] = field(default_factory=list)  # build tables copied unchanged from the previous build
    previous_id: str | None = None

    #: (values, breakdown values or None) read from each of ``files``: the build lets go of their frames
    #: once combined, so the counts are kept here
    counts: list[tuple[int, int | None]] | None = None
    #: releases the build this one replaced had and this one has not (newest first), and that build's id
    dropped: list[str] = field(default_factory=list)
    replaced_id: str | None = None
    #: what aligning the council's own returns warned of (``local.align``: a repeated record, counted once)
    local_warnings: list = field(default_factory=list)

    def lines(self) -> list[str]:
        counts = self.counts or [_counts(r) for r in self.files]
        out = [f"{r.source}: {r.layout}, release {r.release_id}, " + ", ".join(filter(None, [
                   f"{values:,} values" if values or breakdowns is None else "",
                   f"{breakdowns:,} breakdown values" if breakdowns else ""]))
               for r, (values, breakdowns) in zip(self.files, counts)]
        out += [f"warning: {r.source}: {w}" for r in self.files for w in r.warnings]
        out += [f"skipped {name}: not a CSWW indicator file" for name in self.skipped]
        out += [f"local return {rid}: aligned to DfE definitions (provisional)" for rid in self.local_returns]
        out += [f"warning: {w}" for w in self.local_warnings]
        if self.package:
            out.append(f"wrote {self.package}: the data package (csww validate {self.package})")
        if self.kept:
            out.append(f"unchanged since build {self.previous_id}, so not written again: {', '.join(self.kept)}")
        if self.dropped:
            out.append(self.dropped_warning())
        out.append(f"wrote {self.database} (build {self.build_id}): {self.observations:,} observations, {self.revisions:,} release values, "
                   f"{self.areas} areas")  # the last line: all that --quiet prints
        return out


    def dropped_warning(self) -> str | None:
        """"warning: the previous build ... also had releases 2024, 2022: ..." when this build replaced one with
        releases it lacks (an offline 'csww build' after a build from more files); None otherwise."""
        if not self.dropped:
            return None
        n = len(self.dropped)
        has = ", ".join(dict.fromkeys(r.release_id for r in sorted(self.files, key=lambda r: -r.data_year)))
        return (f"warning: the previous build ({self.replaced_id}) also had release{'s' * (n > 1)} "
                f"{', '.join(self.dropped)}: give --from for {'them' if n > 1 else 'it'} to keep "
                f"{'them' if n > 1 else 'it'} (this build has {has})")


def _counts(r: ReadResult) -> tuple[int, int | None]:
    return len(r.observations), (len(r.breakdowns) if r.breakdowns is not None else None)


def _let_go(results: list[ReadResult]) -> None:
    """Replace each result's frames by empty ones of the same columns once combined: the build holds every
    value once (in the combined frames), not twice, through the comparisons and the package."""
    for r in results:
        r.observations, r.sightings = r.observations.iloc[:0], r.sightings.iloc[:0]
        if r.breakdowns is not None:
            r.breakdowns = r.breakdowns.iloc[:0]


def use_jemalloc() -> None:
    """Make Arrow's jemalloc pool the default for the rest of the process, where this pyarrow has one (Linux and
    macOS wheels; elsewhere the default stays). pandas keeps text columns (its ``str`` dtype) in Arrow memory;
    jemalloc hands freed memory back sooner than the default mimalloc pool, so a build's peak is lower: the
    quick tour 298-300 MB against 328-337 MB, the same CPU time (measured in the same run, two runs each)."""
    if pa.default_memory_pool().backend_name == "jemalloc":
        return
    with contextlib.suppress(NotImplementedError):
        pa.set_memory_pool(pa.jemalloc_memory_pool())


def file_name(source: str) -> str:
    """A source's file name without the local folders it was read from (``x.zip!data/y.csv`` kept whole)."""
    archive, sep, member = source.partition("!")
    return Path(archive).name + sep + member


def combine(results: list[ReadResult]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All releases' values (``observation_revisions``) and the newest release's value for each key."""
    frames = []
    for r in results:
        frames.append(r.observations.assign(release_id=r.release_id, data_year=r.data_year,
                                            source_file=file_name(r.source)))
    allobs = pd.concat(frames, ignore_index=True)
    # The same release given twice (e.g. a file and a ZIP holding it) agrees with itself: keep one copy.
    allobs = allobs.drop_duplicates(KEY + ["release_id", "value", "symbol"])
    clash = allobs[allobs.duplicated(KEY + ["release_id"], keep=False)]
    if len(clash):
        first = clash.sort_values(KEY).head(10)
        raise InputError([Problem(r.source_file, f"release {r.release_id} gives two different values for "
                                  f"{r.area_code} {r.measure_id} {r.time_period}", int(r.source_row), r.source_column,
                                  "" if pd.isna(r.value) else str(r.value)) for r in first.itertuples()])
    revisions = allobs.sort_values(KEY + ["data_year"], kind="stable")
    latest = revisions.drop_duplicates(KEY, keep="last")
    return revisions, latest


def combine_breakdowns(results: list[ReadResult]) -> pd.DataFrame:
    """Every file's breakdowns (``readers.breakdowns``), the newest release's row for each key."""
    frames = [r.breakdowns.assign(release_id=r.release_id, data_year=r.data_year, source_file=file_name(r.source))
              for r in results if r.breakdowns is not None and len(r.breakdowns)]
    if not frames:
        return pd.DataFrame(columns=tables.columns("breakdowns"))
    key = tables.key("breakdowns")
    allrows = pd.concat(frames, ignore_index=True).sort_values(key + ["data_year"], kind="stable")
    return allrows.drop_duplicates(key, keep="last")


def _as_text(labels: list[str], codes: np.ndarray):
    """``labels`` taken at ``codes``, typed as pandas types a column of those strings (its ``str`` dtype where
    pandas infers it), without making a Python string per row."""
    return pd.Series(np.array(labels, dtype=object)).array.take(codes)


def _column(series: pd.Series):
    """A column's cells for a new frame with a fresh row index: pandas text stays pandas text."""
    return series.array if isinstance(series.dtype, pd.StringDtype) else series.to_numpy()


def package_cells(revisions: pd.DataFrame) -> pd.DataFrame:
    """``observation_revisions`` as the package's CSV holds it, for :func:`benchmark.package.check_values`:
    text cells (a value as :func:`benchmark.package.number_text` writes it; a symbol in place of its value, and in
    ``symbol``; ``""`` for no symbol), ``source_file`` as the file's own name; rows numbered from 0 in
    ``revisions``' order. Each distinct value, year and file is written once (counts, rates and years repeat)."""
    if not len(revisions):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in (
            "time_period", "area_code", "measure_id", "value", "symbol", "release_id", "source_file")})
    sym = revisions["symbol"]
    codes, uniques = pd.factorize(revisions["value"], use_na_sentinel=False)
    numbers = [package.number_text(v) for v in uniques.tolist()]
    sym_codes, sym_uniques = pd.factorize(sym)  # -1 where there is no symbol
    value_codes = np.where(sym_codes >= 0, len(numbers) + sym_codes, codes)
    year_codes, years = pd.factorize(revisions["time_period"].astype(int))
    file_codes, files = pd.factorize(revisions["source_file"])
    return pd.DataFrame({
        "time_period": _as_text([str(y) for y in years.tolist()], year_codes),
        "area_code": _column(revisions["area_code"]), "measure_id": _column(revisions["measure_id"]),
        "value": _as_text(numbers + [str(s) for s in sym_uniques.tolist()], value_codes),
        "symbol": _as_text([""] + [str(s) for s in sym_uniques.tolist()], sym_codes + 1),
        "release_id": _column(revisions["release_id"]),
        "source_file": _as_text([Path(f.partition("!")[2] or f).name for f in files.tolist()], file_codes)})


def check_values(results: list[ReadResult], revisions: pd.DataFrame, areas: pd.DataFrame) -> None:
    """Raise InputError for what ``csww validate`` would call an error in these values, in its words.

    The checks are :func:`benchmark.package.check_values` (rates above 100 % where the catalogue does not
    allow it; LA rates in the EES files outside rounding of their published components) run on
    ``observation_revisions`` as the package would write it, so a build never makes a package that
    validate calls INVALID; each problem names the source file, row, column and value.
    """
    df = package_cells(revisions)
    kinds = {r.release_id: r.release_kind for r in results}
    levels = dict(zip(areas["area_code"], areas["level"]))
    found = package.check_values("observation_revisions", df, levels, kinds)
    if not found:
        return
    sources = {file_name(r.source): r.source for r in results}
    problems = []
    for p in found:
        row = revisions.iloc[p.row - 2]
        problems.append(Problem(sources.get(row["source_file"], row["source_file"]),
                                f"{p.type}: {p.message} (csww validate: error)", int(row["source_row"]),
                                row["source_column"], df.at[p.row - 2, "value"]))
    raise InputError(problems)


def build(sources: list[str | Path], out: str | Path = "build", progress=None,
          local_files: list[str | Path] = (), stage=None, fingerprint: dict | None = None,
          wait: float = 600.0, sn_method: str | None = None, max_values: int | None = None) -> BuildReport:
    """Read every source and write ``OUT/csww.db`` and ``OUT/datapackage/`` as one unit. Raises InputError
    listing every problem (nothing written), OutputError when ``OUT`` cannot be written or another build
    holds it longer than ``wait`` seconds.

    The database and the package are written into a new build directory ``OUT/builds/<build id>/`` and
    made current together by one atomic link swap (see :mod:`benchmark.buildstate`); ``build_info.build_id``
    and ``datapackage.json``'s ``x-csww.build_id`` name the build, and ``build.json`` beside them records
    ``fingerprint`` (default: :func:`benchmark.buildstate.fingerprint` of the inputs) so an unchanged
    rebuild can be skipped. ``local_files`` are a council's own returns (aggregate, HR extract or census
    XML): they are aligned to DfE's definitions into ``local_returns``/``local_observations`` and compared,
    as provisional, with the latest published comparators. ``progress(done, total)`` follows the database
    writes and ``stage(message)`` names each step as it starts. ``sn_method`` is the neighbour median method
    stored in ``comparisons``: ``toolkit`` (default) or ``dashboard`` (see ``compare``). ``max_values`` is the
    most values read from all the sources together (default ``$CSWW_MAX_VALUES`` or
    :data:`benchmark.readers.MAX_VALUES`): past it the build stops while reading, with an InputError naming the
    file and row reached, before holding more than 2 GB.
    """
    stage = stage or (lambda message: None)
    use_jemalloc()
    fingerprint = fingerprint or buildstate.fingerprint(sources, local_files, {"sn_method": sn_method or "toolkit"})
    stage("Reading the DfE files")
    skipped: list[str] = []
    results = read_sources(sources, on_skip=skipped.append, ceiling=_max_values(max_values))
    if not results:
        raise InputError([Problem(", ".join(map(str, sources)), "no CSWW indicator files found")])
    revisions, latest = combine(results)
    breakdowns = combine_breakdowns(results)

    areas, area_codes, changes = geography.build_areas(pd.concat([r.sightings for r in results], ignore_index=True))
    counts = [_counts(r) for r in results]
    _let_go(results)
    unknown = sorted(set(latest["measure_id"]) - set(measures.catalogue()))
    if unknown:  # a reader mapping a column to a measure the catalogue lacks is a bug, not bad input
        raise RuntimeError(f"measures missing from the catalogue: {unknown}")
    out = Path(out)
    with buildstate.lock(out, wait, echo=stage):
        build_id = buildstate.new_build_id()
        unit = buildstate.new_build_dir(out, build_id)
        pending = None  # the package, once begun
        try:
            db_path = unit / buildstate.DATABASE
            frames = _frames(results, revisions, latest, areas, area_codes, changes, build_id)
            frames["source_files"]["breakdowns"] = [b or 0 for _, b in counts]  # read before _let_go emptied them
            frames["breakdowns"] = breakdowns.reindex(columns=tables.columns("breakdowns"))
            del breakdowns, latest  # the frames hold what is written
            # Every table the workbook's big sheets come from is final now: their CSVs are written from the frames
            # and the workbook's process started on them, so that it writes alongside the database and the
            # comparisons (the comparisons' tables and a council's returns follow, from the database).
            stage("Starting the data package (its Excel workbook in a second process, alongside the rest of the build)")
            pending = package.begin_package(db_path, unit, previous=out / buildstate.PACKAGE, frames=frames,
                                            later=package.COMPARISON_TABLES, before_database=True,
                                            local_returns=bool(local_files))
            stage("Checking the values as csww validate does")
            check_values(results, revisions, areas)  # before anything is made current; a failure leaves nothing
            del revisions
            local_warnings: list = []  # what aligning the local returns warned of
            published_before = _published_before(out / buildstate.DATABASE) if local_files else set()
            previous, previous_id = _reusable(out, fingerprint)
            replaced = buildstate.current(out)  # the build this one replaces: which releases it loses
            dropped = _releases_of(out / buildstate.DATABASE, exclude={r.release_id for r in results}) if replaced else []
            if previous:
                shutil.copyfile(out / buildstate.DATABASE, db_path)
            conn = sqlite3.connect(db_path)
            store.bulk_load(conn)  # a new file in a new build directory, made current only when complete
            try:
                hashes = {t: table_hash(t, df) for t, df in frames.items()}
                keep = {t for t, h in hashes.items() if previous and previous.get(t) == h}
                if previous:
                    _drop_all_but(conn, keep)
                store.create(conn, tables_only=True)
                stage("Writing the database" if not keep else
                      f"Writing the database (kept {len(keep)} unchanged tables of the previous build)")
                _write(conn, {t: df for t, df in frames.items() if t not in keep}, progress)
                store.create_rest(conn)  # the indexes, built once over the loaded rows
                councils.write_lookup(conn)
                if local_files:
                    stage("Aligning the council's own returns")
                local_ids = load_files(conn, list(local_files), warnings=local_warnings) if local_files else []
                if local_ids:
                    set_published(conn, [rid for rid in local_ids if rid in published_before], True)
                stage("Comparing every council with England, its region and its statistical neighbours")
                # the comparison tables join the frames the package writes from (not read back)
                frames.update(compare.write_comparisons(conn, method=sn_method, frames=frames))
                conn.commit()
                problems = conn.execute("PRAGMA foreign_key_check").fetchall()
                if problems:
                    raise RuntimeError(f"foreign key check failed: {problems[:5]}")
            finally:
                conn.close()
            stage("Finishing the data package (the comparisons' tables; waiting for the workbook)")
            pending.finish(frames)  # the comparisons' tables, then waits for the workbook; nothing read back
            buildstate.make_current(out, unit, {"build_id": build_id, "fingerprint": fingerprint, "tables": hashes,
                                                "kept": sorted(keep), "previous": previous_id if keep else None})
        except BaseException:
            if pending is not None:
                pending.abort()  # ends the workbook's process
            shutil.rmtree(unit, ignore_errors=True)
            with contextlib.suppress(OSError):
                unit.parent.rmdir()  # builds/ when this was the first
            raise
    return BuildReport(out / buildstate.DATABASE, results, len(frames["observations"]),
                       len(frames["observation_revisions"]), len(areas), skipped, local_ids, out / buildstate.PACKAGE,
                       build_id, [t for t in frames if t in keep], previous_id if keep else None, counts,
                       dropped=dropped, replaced_id=(replaced or {}).get("build_id"), local_warnings=local_warnings)


def _releases_of(db_path: Path, exclude: set[str]) -> list[str]:
    """The release ids of the database at ``db_path`` not in ``exclude``, newest census first ([] when it cannot
    be read: nothing to warn about)."""
    try:
        conn = store.connect(db_path)
    except (DatabaseError, NotFoundError):
        return []
    try:
        rows = conn.execute("SELECT release_id FROM releases ORDER BY data_year DESC, release_id").fetchall()
    except sqlite3.DatabaseError:
        return []
    finally:
        conn.close()
    return [r[0] for r in rows if r[0] not in exclude]


def _published_before(db_path: Path) -> set[str]:
    """Returns the previous build had marked published: a rebuild keeps the council's decision."""
    if not db_path.exists():
        return set()
    try:
        conn = store.connect(db_path)
    except DatabaseError:  # not a database we can read: nothing to keep
        return set()
    try:
        return {r["return_id"] for r in list_returns(conn) if r["published"]}
    finally:
        conn.close()


def table_hash(table: str, df: pd.DataFrame) -> str:
    """SHA-256 of a table as the build writes it: its DDL, column names and every cell (pandas' row hashes
    in order). Equal hashes mean the rows a build would write equal those already in the table."""
    h = hashlib.sha256(tables.ddl(table).encode())
    h.update("\0".join(map(str, df.columns)).encode())
    h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return h.hexdigest()


def _reusable(out: Path, fingerprint: dict) -> tuple[dict | None, str | None]:
    """The table hashes and build id of ``OUT``'s current build when its database can be copied and only the
    changed tables replaced: built by this toolkit and schemas (same code digest), with its tables' hashes
    recorded; else (None, None)."""
    state = buildstate.current(out)
    if not state or not isinstance(state.get("tables"), dict):
        return None, None
    before = state.get("fingerprint") or {}
    if any(before.get(k) != fingerprint.get(k) for k in ("toolkit_version", "toolkit", "schema_dir")):
        return None, None
    return state["tables"], state.get("build_id")


def _drop_all_but(conn: sqlite3.Connection, keep: set[str]) -> None:
    """Drop every table and view of a copied database except the build tables in ``keep`` (their indexes go
    with them): what is dropped is written again, exactly as into a new database."""
    objects = conn.execute("SELECT type, name FROM sqlite_master WHERE type IN ('table', 'view') "
                           "AND name NOT LIKE 'sqlite_%'").fetchall()
    for kind, name in objects:
        if name not in keep:
            conn.execute(f'DROP {kind.upper()} IF EXISTS "{name}"')
    conn.commit()


def _frames(results, revisions, latest, areas, area_codes, changes, build_id) -> dict[str, pd.DataFrame]:
    """Every build table (``store.BUILD_TABLES``) as the rows to insert, columns as the schema names them."""
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    frames = {"build_info": pd.DataFrame(
        {"key": ["build_id", "toolkit_version", "built_at", "latest_release", "years"],
         "value": [build_id, __version__, now, max(results, key=lambda r: r.data_year).release_id,
                   f"{int(latest.time_period.min())}-{int(latest.time_period.max())}"]})}
    releases = {}
    for r in results:
        meta = r.release_meta or {}
        releases.setdefault(r.release_id, {
            "release_id": r.release_id, "title": meta.get("release_title") or r.release_title, "kind": r.release_kind,
            "data_year": r.data_year, "release_version_id": meta.get("release_version_id"),
            "published": meta.get("published") or _catalogue_date(r.data_year), "url": meta.get("release_url")})
    frames["releases"] = pd.DataFrame(list(releases.values()))
    counts = revisions.groupby("source_file").size()
    frames["source_files"] = pd.DataFrame([{
        "sha256": r.sha256, "release_id": r.release_id, "file_name": file_name(r.source), "layout": r.layout,
        "size": r.size,
        "url": (r.release_meta or {}).get("url"), "downloaded_at": _downloaded_at(r.release_meta or {}),
        "observations": int(counts.get(file_name(r.source), 0))} for r in results])
    frames["measures"] = pd.DataFrame([{
        "measure_id": m.id, "label": m.label, "unit": m.unit, "polarity": m.polarity,
        "definition": " ".join(m.definition.split()), "numerator": m.numerator, "denominator": m.denominator,
        "decimals": m.decimals, "measure_group": m.group, "key_measure": int(m.key)}
        for m in measures.catalogue().values()])
    frames["areas"], frames["area_codes"], frames["area_changes"] = areas, area_codes, changes
    frames["observations"] = latest.reindex(columns=tables.columns("observations"))
    frames["observation_revisions"] = revisions.reindex(columns=tables.columns("observation_revisions"))
    return frames


def _downloaded_at(meta: dict) -> str | None:
    """``source_files.downloaded_at``: the download time ``csww fetch`` recorded, or for a file of the offline
    snapshot shipped with the toolkit (never downloaded; caches filled before this was recorded too) that."""
    return download_cache.obtained(meta) if meta.get("from_snapshot") else meta.get("downloaded_at")


def _catalogue_date(data_year: int) -> str | None:
    """The publication date catalogue/releases.yml records for a census year's release (a file given with --from
    carries none), as ISO text; None when not recorded there."""
    day = census.publication_dates().get(int(data_year))
    return day.isoformat() if day else None


def _write(conn, frames: dict[str, pd.DataFrame], progress) -> None:
    """Insert ``frames`` (table -> rows), the long tables 20,000 rows at a time, telling ``progress``.

    When both are written, ``observations`` (the newest release's row of each key) is copied inside SQLite from
    the ``observation_revisions`` just written rather than sent again from Python: the revisions are written
    in key and reporting-year order, so the newest row of a key is its last (highest rowid), as in
    :func:`combine`."""
    total = sum(len(df) for t, df in frames.items() if t in LONG_TABLES)
    derived = "observations" in frames and "observation_revisions" in frames
    done = 0
    for table, df in frames.items():
        if table == "observations" and derived:
            continue
        for start in range(0, max(len(df), 1), 20000):
            part = df.iloc[start:start + 20000]
            store.insert_frame(conn, table, part)
            if progress and table in LONG_TABLES:
                done += len(part)
                progress(done, total)
    if derived:
        cols = ", ".join(tables.columns("observations"))
        with store.checks_off(conn):  # rows of observation_revisions, which has the same CHECKs: tested there
            copied = conn.execute(f"INSERT INTO observations ({cols}) SELECT {cols} FROM observation_revisions WHERE "
                                  f"rowid IN (SELECT max(rowid) FROM observation_revisions GROUP BY {', '.join(KEY)}) "
                                  "ORDER BY rowid").rowcount
        if copied != len(frames["observations"]):  # the revisions were not written in key order: a bug
            raise RuntimeError(f"observations: copied {copied} rows, expected {len(frames['observations'])}")
        if progress:
            progress(total, total)
