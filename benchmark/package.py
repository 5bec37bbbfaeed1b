"""The Frictionless data package: write it from ``csww.db``, validate it, and compare two builds.

The Table Schemas in ``benchmark/datapackages/schemas/<table>.json`` are the source of truth for every published
table: a table is packaged when its schema exists and the table exists in the database. The package is
``OUT/datapackage/``: ``datapackage.json``, one CSV per table, ``csww.xlsx`` for Excel users and
``CHANGELOG.md`` (what changed since the package that was there before).

DfE's symbols travel in the ``symbol`` column and the ``value`` cell of a symbol row is blank: ``value`` columns
are plain numbers and the only missing value is the schema-level ``missingValues: [""]``, so every reader takes
the package as it is (frictionless v5, the Data Package v1 ``datapackage`` library, frictionless-r, pandas
``read_csv`` with default options giving float ``value`` columns, Excel seeing numbers). With
``symbols_in_value=True`` (``csww package --symbols-in-value``) the symbol is also written into the ``value`` cell
and declared there as a labelled missing value (per-field ``missingValues``, a Data Package v2 feature), as the
schema files in ``benchmark/datapackages/schemas`` state it.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import hashlib
import json
import math
import shutil
import sqlite3
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from . import __version__, cells, local, measures, publication, readers, store, workbook
from .ees import PAGE_URL
from .fileio import atomic_dir, sha256_file
from .local import store as local_store
from .problems import CswwError, InputError, NotFoundError, Problem
from .tables import BASE, OBSERVATION_KEY, SCHEMAS, schemas, without_sql  # noqa: F401

PACKAGE_DIR = "datapackage"
WORKBOOK = "csww.xlsx"
CHANGELOG = "CHANGELOG.md"
DEFAULT_VERSION = "1.0.0"

#: Resource order in the package (tables with a schema but not listed here follow, alphabetically).
ORDER = ["observations", "observation_revisions", "measures", "areas", "area_codes", "area_changes", "releases",
         "source_files", "build_info"]
#: Council data: only the rows ``publication`` says are public leave the database.
PUBLISHED_ONLY = set(publication.LOCAL_TABLES)
#: Tables too big for a comfortable Excel sheet (and slow to write: comparisons alone, 36,000 rows by 36
#: columns, took openpyxl about 20 s), and the consistency_checks audit table (17,000 rows by 14 columns, a
#: quarter of the workbook's cells and of its writing time); they are in the package as CSV only, and the
#: About sheet says so.
NOT_IN_WORKBOOK = {"observation_revisions", "comparisons", "consistency_checks"}
#: The build's id and time: in build_info.csv and datapackage.json, not in the workbook, so that the workbook of
#: a build whose tables are unchanged is the same file and is copied rather than written again (issue 14 item 6).
BUILD_ONLY = workbook.BUILD_ONLY
#: Rows of one Excel sheet (header included); a longer table is split over several sheets.
EXCEL_ROWS = workbook.EXCEL_ROWS
#: The tables ``compare.write_comparisons`` (re)writes: ``csww build`` starts its package before the comparisons
#: (:func:`begin_package`) and hands these over after them (:meth:`PendingPackage.finish`).
COMPARISON_TABLES = ("neighbours", "comparisons", "consistency_checks", "groups", "group_members",
                     "group_comparisons")
#: First reporting year in any DfE file we read.
FIRST_YEAR = 2015
#: Rates whose published value must reproduce from its published components at LA level (reference 6.5).
#: With the rounding of the components allowed for, every LA row of the 2017+ EES files reproduces,
#: the agency-cover rates and Isles of Scilly's 2023 caseload included.
RATE_CHECKS = {
    "turnover_rate_fte": "error", "turnover_rate_headcount": "error",
    "agency_rate_fte": "error", "agency_rate_headcount": "error",
    "vacancy_rate_fte": "error", "caseload_fte": "error", "absence_rate_fte": "error",
    "agency_cover_rate_fte": "error", "vacancy_agency_cover_rate_fte": "error",
}


def rate_maximum(measure_id: str) -> float | None:
    """Largest value a measure may take: 100 for a percentage, unless the catalogue says DfE's own figures
    can exceed it (the agency-cover rates: 2022 and 2023 releases publish values up to 166.7)."""
    m = measures.catalogue().get(measure_id)
    return 100.0 if m is not None and m.unit == "percent" and not m.may_exceed_100 else None


def _table_columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]


#: Neighbour lists name every council DfE lists; the package keeps the entries whose council and neighbour
#: are both areas of this build, so that the foreign keys to ``areas`` hold for builds of a few files.
NEIGHBOURS_IN_AREAS = ("area_code IN (SELECT area_code FROM areas) "
                       "AND neighbour_code IN (SELECT area_code FROM areas)")


def _select(conn: sqlite3.Connection, table: str, schema: dict) -> str | None:
    """The SELECT giving the rows of ``table`` that may be published, or None to leave the table out."""
    cols = _table_columns(conn, table)
    if not cols:
        return None  # the table is not in this database (yet)
    names = [f["name"] for f in schema["fields"]]
    missing = [n for n in names if n not in cols]
    if missing:
        raise RuntimeError(f"benchmark/datapackages/schemas/{table}.json names columns the table lacks: {missing}")
    where = publication.where(conn, table)
    if where is None:
        return None
    if where == publication.ALL_ROWS:
        where = NEIGHBOURS_IN_AREAS if table == "neighbours" else None
    order = ", ".join(schema.get("primaryKey") or names[:1])
    return f"SELECT {', '.join(names)} FROM {table}{f' WHERE {where}' if where else ''} ORDER BY {order}"


# ---------------------------------------------------------------------------------------------- writing
#: Columns holding a DfE symbol, and the number column whose CSV cell carries it with ``symbols_in_value``
#: (a labelled missing value).
SYMBOL_COLUMNS = {"symbol": "value", "published_symbol": "published"}


def symbol_value_fields(schema: dict) -> set[str]:
    """Names of the number fields whose cell may carry a DfE symbol (``value``, ``published``)."""
    names = {f["name"] for f in schema["fields"]}
    return {v for s, v in SYMBOL_COLUMNS.items() if s in names and v in names}


def numeric_schema(schema: dict) -> dict:
    """``schema`` for the default package: the per-field labelled ``missingValues`` of the symbol-carrying number
    fields removed, so only the schema-level ``missingValues`` (``[""]``) applies and a v1 reader casts every
    ``value`` cell as a number (blank = missing; the reason is in the ``symbol`` column). ``schema`` is not changed."""
    drop = symbol_value_fields(schema)
    return {**schema, "fields": [{k: v for k, v in f.items() if not (k == "missingValues" and f["name"] in drop)}
                                 for f in schema["fields"]]}


#: Rows fetched, formatted and written at a time: memory follows this, not the table's length.
BATCH_ROWS = 50_000


def _column_batches(conn: sqlite3.Connection, sql: str, schema: dict, symbols_in_value: bool = False):
    """The query's values by column (:func:`_column_values`), ``BATCH_ROWS`` rows at a time."""
    cur = conn.execute(sql)
    while rows := cur.fetchmany(BATCH_ROWS):
        yield _column_values(rows, schema, symbols_in_value)


def _column_values(rows: list[tuple], schema: dict, symbols_in_value: bool = False) -> list[list]:
    """Rows' values by column, as they go into the package: source files by name only, and with
    ``symbols_in_value`` the symbols in the value cell too. Transposed in C; the cells are then
    formatted a column at a time."""
    names = [f["name"] for f in schema["fields"]]
    cols = [list(c) for c in zip(*rows)] if rows else [[] for _ in names]
    return _package_columns(cols, schema, symbols_in_value)


def _package_columns(cols: list[list], schema: dict, symbols_in_value: bool = False) -> list[list]:
    """:func:`_column_values` of values already by column (changed in place and returned)."""
    names = [f["name"] for f in schema["fields"]]
    for s, v in SYMBOL_COLUMNS.items() if symbols_in_value else ():
        if s in names and v in names:
            vi, si = names.index(v), names.index(s)
            cols[vi] = [val if sym is None else sym for val, sym in zip(cols[vi], cols[si])]
    if "source_file" in names:
        fi = names.index("source_file")

        def name_only(x):
            if not x:
                return x
            return Path((x if type(x) is str else str(x)).replace("\\", "/")).name

        try:  # each distinct file named once (a table's rows come from a handful of files)
            names_of = {x: name_only(x) for x in set(cols[fi])}
            cols[fi] = list(map(names_of.__getitem__, cols[fi]))
        except (TypeError, KeyError):  # a value that cannot be a dict key (or NaN, never equal to itself)
            cols[fi] = [name_only(x) for x in cols[fi]]
    return cols


def _reader(conn: sqlite3.Connection, name: str, sql: str, schema: dict, symbols_in_value: bool,
            frame: pd.DataFrame | None):
    """A function giving the table's package values in batches, each time it is called: from ``frame`` (the
    rows just written to the table) when the table is published whole (no ``WHERE``, or one that selects every
    row of the table and the frame holds them all) and the frame's values reproduce, else from the database
    with ``sql``."""
    if frame is not None and _selects_all(conn, name, sql, len(frame)):
        read = _frame_reader(conn, name, schema, symbols_in_value, frame)
        if read is not None:
            return read
    return lambda: _column_batches(conn, sql, schema, symbols_in_value)


def _frame_reader(conn: sqlite3.Connection, name: str, schema: dict, symbols_in_value: bool, frame: pd.DataFrame):
    """A function giving the package values of ``frame`` (all of the table's rows) in batches each time it is
    called (:func:`_frame_batches`, the column types as declared in ``conn``), or None when the frame's values do
    not reproduce what the database would give back."""
    types = {r[1]: r[2] for r in conn.execute(f"PRAGMA table_info({name})")}
    first = _frame_batches(frame, schema, types, symbols_in_value)
    if first is None:
        return None

    def from_frame():  # the first call takes these batches; a later one converts the frame again
        nonlocal first
        batches, first = first or _frame_batches(frame, schema, types, symbols_in_value), None
        return batches
    return from_frame


def _build_schema(local_returns: bool = False) -> sqlite3.Connection:
    """An empty database in memory with the schema of a build (``store.create``; with ``local_returns`` the local
    tables too, as ``csww build --local`` creates them): what :func:`_select` (``publication``'s rule and the
    declared column types) says of its tables is what it says of that build's database, before it is written."""
    conn = sqlite3.connect(":memory:")
    store.create(conn)
    if local_returns:
        local_store.create_tables(conn)
    return conn


def _selects_all(conn: sqlite3.Connection, name: str, sql: str, rows: int) -> bool:
    """Whether ``sql`` (a :func:`_select`) gives every row of ``name`` and the table holds ``rows`` rows: true
    without a ``WHERE``; with one (``comparisons`` publishes its non-provisional rows, ``neighbours`` those of
    known areas) when the count it selects is the table's whole count, as in a build with no local returns."""
    total = conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
    if total != rows:
        return False
    if " WHERE " not in sql:
        return True
    where = sql.split(" WHERE ", 1)[1].rsplit(" ORDER BY ", 1)[0]
    return conn.execute(f'SELECT count(*) FROM "{name}" WHERE {where}').fetchone()[0] == total


#: SQLite's type affinity of a declared column type (https://sqlite.org/datatype3.html 3.1), for the types
#: ``tables.ddl`` declares.
_AFFINITY = {"INTEGER": "integer", "REAL": "real", "TEXT": "text"}


def _frame_batches(df: pd.DataFrame, schema: dict, types: dict[str, str], symbols_in_value: bool = False):
    """The rows of a table the build has just written from ``df``, as :func:`_column_batches` would read them
    back from the database, ``BATCH_ROWS`` at a time; or None when ``df`` holds a value whose stored form this
    does not reproduce (then the caller reads the database). ``types`` maps each column to its declared SQL type.

    The order is the package's ``ORDER BY`` (the primary key; NULLs first, text by code point as SQLite's
    BINARY collation orders UTF-8), and each value is what ``sqlite3`` returns after ``store.insert_frame``
    (NaN as NULL) and the column's type affinity: in an INTEGER column a whole float is an int, in a REAL column
    an int is a float, text stays text in a TEXT column. A column with anything else (text in a number column,
    a number in a text column, dates, ...) makes the whole table come from the database."""
    fields = schema["fields"]
    names = [f["name"] for f in fields]
    if any(n not in df.columns for n in names):
        return None
    cols = []
    for name in names:
        affinity = _AFFINITY.get(types.get(name, "").upper())
        values = df[name].to_numpy(dtype=object, copy=True)
        values[pd.isna(values)] = None
        kinds = set(map(type, values)) - {type(None)}
        if affinity == "text" and kinds <= {str}:
            cols.append(values)
        elif affinity == "integer" and kinds <= {int, float, bool}:
            cols.append(np.array([v if v is None or type(v) is int else int(v) if float(v).is_integer()
                                  and abs(v) < 2 ** 63 else v for v in values] if kinds - {int} else values,
                                 dtype=object))
        elif affinity == "real" and kinds <= {int, float, bool}:
            cols.append(np.array([None if v is None else float(v) for v in values] if kinds - {float} else values,
                                 dtype=object))
        else:
            return None
    key = schema.get("primaryKey") or names[:1]
    order = pd.DataFrame({k: cols[names.index(k)] for k in key}).sort_values(
        key, kind="stable", na_position="first").index.to_numpy() if len(df) else np.arange(0)
    return _frame_batch_iter([c[order] for c in cols], schema, symbols_in_value)


def _frame_batch_iter(cols: list[np.ndarray], schema: dict, symbols_in_value: bool):
    for start in range(0, len(cols[0]), BATCH_ROWS):
        yield _package_columns([c[start:start + BATCH_ROWS].tolist() for c in cols], schema, symbols_in_value)


def number_text(v: float) -> str:
    """A number as the package's CSV holds it: a whole number without ".0" (``3.0`` -> ``"3"``), any other by
    its ``repr`` (``13.9`` -> ``"13.9"``). :func:`_cells` gives ``csv.writer`` what makes it write this text."""
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def _cells(col: list, fld: dict) -> list:
    """A column's values as the CSV writer takes them, to give the package's text: NULL empty, numbers as
    :func:`number_text` gives them (a float in an integer field as its whole part). ``csv.writer`` writes None
    as an empty cell, ints and text by ``str`` and floats by ``repr`` in C, so only the floats of a column are
    looked at here (a column without any is handed on as it is)."""
    if float not in set(map(type, col)):
        return col
    if fld["type"] == "integer":
        return [int(v) if type(v) is float else v for v in col]
    return [int(v) if type(v) is float and v.is_integer() else v for v in col]


def _file_meta(path: Path) -> dict:
    return {"bytes": path.stat().st_size, "hash": f"sha256:{sha256_file(path)}"}


def _sources(conn: sqlite3.Connection, base: dict) -> list[dict]:
    """The base descriptor's sources, then one per release with its EES (or GOV.UK) page and its files."""
    out = list(base.get("sources", []))
    known = base.get("x-release-urls", {})
    files = {}
    for f in conn.execute("SELECT release_id, file_name, url, sha256 FROM source_files ORDER BY file_name"):
        files.setdefault(f[0], []).append(
            {k: v for k, v in {"name": Path(str(f[1])).name, "path": f[2], "sha256": f[3]}.items() if v})
    for r in conn.execute("SELECT release_id, title, kind, release_version_id, published, url FROM releases "
                          "ORDER BY data_year DESC, release_id"):
        url = r[5] or known.get(r[0]) or (f"{PAGE_URL}/children-s-social-work-workforce/{r[0]}" if r[2] == "ees"
                                          else None)
        src = {"title": r[1], "path": url, "version": r[3], "x-release-id": r[0], "x-published": r[4],
               "x-files": files.get(r[0])}
        out.append({k: v for k, v in src.items() if v})
    return out


def _bump(previous: str, change: "Diff | None", before: dict, after: dict) -> str:
    """Semantic version after ``previous``: major when a published table or column went or changed, minor
    when tables or values were added or values removed, patch when values were only revised."""
    try:
        major, minor, patch = (int(x) for x in previous.split("."))
    except ValueError:
        return DEFAULT_VERSION
    if any(after.get(name) != cols for name, cols in before.items()):
        return f"{major + 1}.0.0"
    if set(after) - set(before) or (change is not None and (len(change.added) or len(change.removed))):
        return f"{major}.{minor + 1}.0"
    if change is None or not change.has_changes:
        return previous
    return f"{major}.{minor}.{patch + 1}"


def write_package(db_path: str | Path, out_dir: str | Path, version: str | None = None,
                  created: str | None = None, schema_dir: str | Path | None = None,
                  previous: str | Path | None = None, symbols_in_value: bool = False,
                  row_limit: int = EXCEL_ROWS, frames: dict[str, pd.DataFrame] | None = None) -> Path:
    """Write ``OUT_DIR/datapackage/`` from ``db_path`` atomically and return its path.

    ``version`` is the package's semantic version. Without it: 1.0.0 for a first package; otherwise the
    package already at ``OUT_DIR/datapackage`` is bumped (major when the published columns changed, minor
    when values were added or removed, patch when values were only revised, unchanged when nothing changed).
    The change log (``CHANGELOG.md``) compares with that previous package. ``created`` (ISO 8601) defaults
    to now; ``schema_dir`` to ``benchmark/datapackages/schemas``; ``previous`` (a package folder) is the
    package to bump and compare with instead of the one being replaced (a build writes its package into a
    new build directory). ``x-csww.build_id`` is the database's ``build_info.build_id``. When
    ``OUT_DIR/datapackage`` is a link into a build directory (``csww build``), that build's package is
    the one replaced, so it stays beside its database. ``symbols_in_value`` writes DfE's symbols into the
    ``value`` cells as labelled missing values (readable by Data Package v2 readers only); by default
    ``value`` columns hold numbers only and the symbol is in ``symbol`` alone. ``frames`` (``csww build``) are
    tables the caller has just written into ``db_path``, table name -> the DataFrame given to
    ``store.insert_frame``: a table published whole is then written from its frame rather than read back
    (:func:`_frame_batches`; the same rows, values and order), the others from the database.

    The workbook (``csww.xlsx``) is written from the CSVs by a process of its own
    (:class:`benchmark.workbook.WorkbookProcess`) while the other CSVs are written; it is copied from the
    previous package instead when :func:`workbook_key` says its content is unchanged. Raises ``OutputError``
    when the package cannot be written (nothing is replaced then).
    """
    return begin_package(db_path, out_dir, version, created, schema_dir, previous, symbols_in_value, row_limit,
                         frames).finish()


def begin_package(db_path: str | Path, out_dir: str | Path, version: str | None = None,
                  created: str | None = None, schema_dir: str | Path | None = None,
                  previous: str | Path | None = None, symbols_in_value: bool = False,
                  row_limit: int = EXCEL_ROWS, frames: dict[str, pd.DataFrame] | None = None,
                  later: Iterable[str] = (), before_database: bool = False,
                  local_returns: bool = False) -> "PendingPackage":
    """:func:`write_package` in two steps, so that the workbook's process starts before the caller has written
    the tables named in ``later`` (``csww build``: :data:`COMPARISON_TABLES`, before its comparisons stage).

    Writes every table's CSV but those in ``later`` (which must be in the database, committed, when
    :meth:`PendingPackage.finish` is called, and may be absent now) and starts the workbook's process with
    them unless the workbook's content is surely the previous one's. The database must hold every other table,
    committed. Call :meth:`PendingPackage.finish` (which writes the rest and puts the package in place) or
    :meth:`PendingPackage.abort` (which ends the workbook's process and removes what was written).

    With ``before_database`` (``csww build``, as soon as its read stage has its frames) ``db_path`` need not
    exist yet: only the tables of ``frames`` that the package publishes whole (no ``WHERE`` in :func:`_select` on
    an empty database of the build's schema, :func:`_build_schema`, with the local tables when ``local_returns``
    says the build loads a council's returns) and whose values reproduce (:func:`_frame_batches`) are written
    now, and the workbook's process is started on them; :meth:`PendingPackage.finish` writes every other table
    from the database, which by then must hold exactly these frames in those tables (a table of other rows would
    disagree with its CSV) and the local tables only with ``local_returns`` (a ``RuntimeError`` when its
    published tables are not the ones begun with)."""
    pending = PendingPackage(db_path, out_dir, version, created, schema_dir, previous, symbols_in_value,
                             row_limit, frames, before_database)
    try:
        pending._begin(later, before_database, local_returns)
    except BaseException:
        pending.abort()
        raise
    return pending


class PendingPackage:
    """A package being written (see :func:`begin_package`)."""

    def __init__(self, db_path, out_dir, version, created, schema_dir, previous, symbols_in_value, row_limit,
                 frames, before_database=False):
        self.db_path, out_dir = Path(db_path), Path(out_dir)
        if not before_database:
            store.connect(self.db_path).close()  # a clear error when there is no database
        final = out_dir / PACKAGE_DIR
        if final.is_symlink():
            final = final.resolve()
        self.final = final
        self.before = Path(previous) if previous is not None else final
        self.version, self.schema_dir, self.row_limit = version, schema_dir, row_limit
        self.symbols_in_value, self.frames = symbols_in_value, frames if frames is not None else {}
        self.created = created or datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.resources: dict[str, dict] = {}  # table -> its resource, as each CSV is written
        self.rows: dict[str, int] = {}
        self.child: workbook.WorkbookProcess | None = None
        self._stack = contextlib.ExitStack()
        self.tmp = self._stack.enter_context(atomic_dir(final))

    def _begin(self, later: Iterable[str], before_database: bool = False, local_returns: bool = False) -> None:
        self.previous = _previous(self.before)
        self.schemas = schemas(self.schema_dir)
        self.later = [n for n in self.schemas if n in set(later)]
        self.from_frames: list[str] = []  # the tables written from frames before the database was written
        conn = _build_schema(local_returns) if before_database else store.connect(self.db_path)
        try:
            selects = {n: _select(conn, n, self.schemas[n]) for n in self.schemas if n not in self.later}
            self.present = [n for n in self.schemas if n in self.later or selects.get(n) is not None]
            self.sheets = [n for n in self.present if _in_workbook(n)]
            now = [n for n in self.present if n not in self.later]
            if before_database:  # the tables published whole, from their frames; finish writes the rest
                now = [n for n in now if n in self.frames and " WHERE " not in selects[n]]

            def write(name: str) -> None:
                if not before_database:
                    return self._write_table(conn, name, selects[name])
                read = _frame_reader(conn, name, self.schemas[name], self.symbols_in_value, self.frames[name])
                if read is not None:  # else written by finish, from the database
                    self._write_table(conn, name, selects[name], read)
                    self.from_frames.append(name)
            if not self._copyable():  # a workbook to write whatever the tables: its process starts at once
                self._start_workbook()
            for name in now:  # the workbook's tables first, so that its process can start sooner
                if _in_workbook(name):
                    write(name)
            if self.child is None and self._new_workbook():
                self._start_workbook()
            for name in now:
                if not _in_workbook(name):
                    write(name)
        finally:
            conn.close()

    def _new_workbook(self) -> bool:
        """Whether the workbook surely differs from the previous package's (or there is none to copy): its key
        with the tables not written yet as they were in the previous package and the previous version (the
        version changes only with the values or columns, which change the key anyway) differs from the previous
        workbook's key, and so will the final key."""
        if not self._copyable():
            return True
        old_hashes = {r.get("name"): r.get("hash") for r in self.previous.get("resources", [])}
        guess = self._key(self.version or self.previous.get("version"), [
            r if r["name"] in self.resources else {**r, "hash": old_hashes.get(r["name"])}
            for r in self._resources(final=False)])
        return guess != self._old_key()

    @functools.cached_property
    def base(self) -> dict:
        """The package's base descriptor (``tables.BASE``: title, description, licence, sources), read once."""
        return json.loads(BASE.read_text(encoding="utf-8"))

    def _about(self, version: str | None, resources: list[dict]) -> dict:
        """What the workbook's About sheet and its key are made of: the base descriptor's title, description and
        licence, ``version`` and the table ``resources``."""
        return {**{k: self.base.get(k) for k in ("title", "description", "licenses")}, "version": version,
                "resources": resources}

    def _key(self, version: str | None, resources: list[dict]) -> str:
        """:func:`workbook_key` of this package's sheets with ``version`` and the table ``resources``."""
        return workbook_key(self._about(version, resources), self.sheets, self.row_limit)

    def finish(self, frames: dict[str, pd.DataFrame] | None = None) -> Path:
        """Write the tables not written yet (the ``later`` ones; from ``frames``, table -> rows written, where
        given), the workbook (its About sheet's parts handed to its process as soon as its last sheet's table is
        written, so that the process finishes the workbook while the tables only in CSV are written), the change
        log and ``datapackage.json``; put the package in place and return its path."""
        try:
            if frames:
                self.frames = {**self.frames, **frames}
            conn = store.connect(self.db_path)
            try:
                selects = {n: _select(conn, n, self.schemas[n]) for n in self.schemas}
                present = [n for n in self.schemas if selects[n] is not None]
                if present != self.present:
                    raise RuntimeError(f"{self.db_path} publishes the tables {present}, not the {self.present} the "
                                       "package was begun with")
                for name in self.from_frames:  # the rows the database was to be written with, every one
                    count = conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
                    if count != self.rows[name]:
                        raise RuntimeError(f"{name}: {count} rows in {self.db_path}, not the {self.rows[name]} "
                                           "written to its CSV before the database")
                pending = [n for n in present if n not in self.resources]
                for name in (n for n in pending if _in_workbook(n)):
                    self._write_table(conn, name, selects[name])
                key = self._workbook(conn)  # every sheet's table is written: the workbook can be finished
                for name in (n for n in pending if not _in_workbook(n)):
                    self._write_table(conn, name, selects[name])
                descriptor = self._descriptor(conn)
            finally:
                conn.close()
            resources = descriptor["resources"]
            if self.child is not None:
                self.child.wait()
            descriptor["x-csww"]["workbook"] = key
            (self.tmp / CHANGELOG).write_text(changelog(self.change, descriptor["version"], self.created,
                                                        self.previous), encoding="utf-8")
            descriptor["resources"] += [
                {"name": "workbook", "type": "file", "title": "Excel workbook",
                 "description": "Every table as a sheet, with an About sheet describing each column, except "
                                + (", ".join(sorted(r["name"] for r in resources if r["name"] not in self.sheets))
                                   or "none") + " (CSV only). Frozen headers, no macros.",
                 "path": WORKBOOK, "format": "xlsx",
                 "mediatype": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                 **_file_meta(self.tmp / WORKBOOK)},
                {"name": "changelog", "type": "file", "title": "Change log",
                 "description": "Values added, removed and revised since the previous package.",
                 "path": CHANGELOG, "format": "md", "mediatype": "text/markdown", "encoding": "utf-8",
                 **_file_meta(self.tmp / CHANGELOG)}]
            (self.tmp / "datapackage.json").write_text(json.dumps(descriptor, indent=2, ensure_ascii=False) + "\n",
                                                       encoding="utf-8")
        except BaseException:
            self.abort()
            raise
        self._stack.close()  # the finished folder replaces the package
        return self.final

    def _workbook(self, conn: sqlite3.Connection) -> str:
        """Once every sheet's table is written: the package's version (:meth:`_version`), then the workbook's key
        (:func:`workbook_key`; the tables only in CSV do not enter it), and the workbook under way: its process
        (started now if none is running and the previous workbook cannot be copied) given the About sheet's
        parts, or the previous package's workbook copied when its key is the same. Returns the key."""
        resources = list(self._resources(final=False))
        self._version(conn, resources)
        key = self._key(self.package_version, resources)
        about = self._about(self.package_version, [
            {k: r.get(k) for k in ("name", "type", "path", "title", "description")}
            | {"schema": {"fields": r["schema"]["fields"]}} for r in resources])
        if self.child is None and key == self._old_key() and (self.before / WORKBOOK).is_file():
            shutil.copyfile(self.before / WORKBOOK, self.tmp / WORKBOOK)  # the same tables: the same workbook
        else:
            if self.child is None:  # only tables written since the package began changed: written now
                self._start_workbook()
            self.child.finish(about)
        return key

    def _version(self, conn: sqlite3.Connection, resources: list[dict]) -> None:
        """The package's version (:attr:`package_version`): the one asked for, else the previous package's bumped
        by :attr:`change`, what changed from it to the database, and by the columns of the table ``resources``
        (:func:`_bump`), else 1.0.0."""
        self.change = None
        if self.previous:
            try:
                self.change = diff(self.before, self.db_path)
            except (OSError, KeyError, ValueError, CswwError):
                self.change = None  # an old package we cannot read values from: log it as a fresh start
        self.package_version = self.version or (
            _bump(self.previous.get("version", ""), self.change, _columns(self.previous),
                  _columns({"resources": resources}))
            if self.previous else DEFAULT_VERSION)

    def _descriptor(self, conn: sqlite3.Connection) -> dict:
        """``datapackage.json`` but for its file resources: the version (:meth:`_version`), the sources and the
        build id from the database."""
        descriptor = {k: v for k, v in self.base.items() if not k.startswith("x-")}
        descriptor.update(version=self.package_version, created=self.created, sources=_sources(conn, self.base))
        descriptor["x-csww"] = {"toolkit_version": __version__, "database": self.db_path.name,
                                "build_id": _build_id(conn)}
        descriptor["resources"] = list(self._resources(final=True))
        return descriptor

    def abort(self) -> None:
        """End the workbook's process and remove everything written; the previous package stays."""
        try:
            if self.child is not None:
                self.child.abort()
        finally:
            self._stack.__exit__(RuntimeError, RuntimeError("package abandoned"), None)  # removes the folder

    def _copyable(self) -> bool:
        """Whether there is a previous workbook, with its key, that this package might copy."""
        return self._old_key() is not None and (self.before / WORKBOOK).is_file()

    def _old_key(self) -> str | None:
        return (self.previous or {}).get("x-csww", {}).get("workbook")

    def _start_workbook(self) -> None:
        """Start the workbook's process on the sheets' CSVs written so far (the About sheet's parts follow
        with :meth:`benchmark.workbook.WorkbookProcess.wait`, once the descriptor is known)."""
        self.child = workbook.WorkbookProcess(self.tmp / WORKBOOK, None, self.sheets, self.row_limit)
        for name in self.sheets:
            if name in self.rows:
                self.child.table(name, self.schemas[name]["fields"], self.rows[name], self.tmp / f"{name}.csv")

    def _write_table(self, conn: sqlite3.Connection, name: str, sql: str, read=None) -> None:
        """Write a table's CSV from ``sql`` (:func:`_select`), or from ``read`` (a :func:`_frame_reader`) where
        given, and note its resource (and hand it to the workbook's process when it is a sheet of a workbook
        being written)."""
        schema = self.schemas[name]
        fields = schema["fields"]
        path = self.tmp / f"{name}.csv"
        rows = 0
        read = read or _reader(conn, name, sql, schema, self.symbols_in_value, self.frames.get(name))
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow([f["name"] for f in fields])
            for values in read():
                w.writerows(zip(*[_cells(col, f) for col, f in zip(values, fields)]))
                rows += len(values[0])
        self.rows[name] = rows
        self.resources[name] = self._resource(name, path)
        if self.child is not None and _in_workbook(name):
            self.child.table(name, fields, rows, path)

    def _resource(self, name: str, path: Path | None) -> dict:
        schema = self.schemas[name]
        res_schema = {k: v for k, v in without_sql(schema if self.symbols_in_value else numeric_schema(schema))
                      .items() if k not in ("$schema", "title", "description")}
        return {"name": name, "type": "table", "title": schema.get("title", name),
                "description": schema.get("description", ""), "path": f"{name}.csv",
                "scheme": "file", "format": "csv", "mediatype": "text/csv", "encoding": "utf-8",
                **(_file_meta(path) if path is not None else {}), "schema": res_schema}

    def _resources(self, final: bool):
        """The table resources in the package's order; with ``final=False`` those of tables not written yet
        without their bytes and hash."""
        for name in self.present:
            if name in self.resources:
                yield self.resources[name]
            elif not final:
                yield self._resource(name, None)
            else:  # every table present was written before the package is finished
                raise RuntimeError(f"{name}: no CSV written")


def _in_workbook(name: str) -> bool:
    return name not in NOT_IN_WORKBOOK and name not in BUILD_ONLY


#: The code that turns tables into the workbook: a change to it (without a new version) writes a new workbook.
_WORKBOOK_CODE = hashlib.sha256(Path(cells.__file__).read_bytes() + Path(__file__).read_bytes()
                                + Path(workbook.__file__).read_bytes()).hexdigest()


def workbook_key(descriptor: dict, tables: dict, row_limit: int) -> str:
    """What the workbook is made from: the toolkit version, the package's title, version, description and
    licence, each table resource's name, title, description, schema and path, the CSV hash of each table that
    is a sheet (a sheet holds its CSV file's rows), and the row limit. Equal keys give the same workbook."""
    parts = {"toolkit": __version__, "code": _WORKBOOK_CODE, "row_limit": row_limit, "sheets": sorted(tables),
             **{k: descriptor.get(k) for k in ("title", "version", "description", "licenses")},
             "resources": [{k: r.get(k) for k in ("name", "title", "description", "schema", "path")
                            + (("hash",) if r["name"] in tables else ())}
                           for r in descriptor["resources"] if r.get("type") == "table"]}
    return "sha256:" + hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _build_id(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT value FROM build_info WHERE key = 'build_id'").fetchone()
    except sqlite3.OperationalError:  # a database without build_info
        return None
    return row[0] if row else None


def _previous(final: Path) -> dict | None:
    try:
        return json.loads((final / "datapackage.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _columns(descriptor: dict) -> dict:
    return {r["name"]: [f["name"] for f in r["schema"]["fields"]]
            for r in descriptor.get("resources", []) if r.get("type") == "table"}


# ---------------------------------------------------------------------------------------------- validate
def validate_local_return(path: Path) -> list[Problem]:
    """Every problem ``benchmark.local.align`` finds in a council's return (aggregate return, HR extract or
    census XML), each of type "local-return"; none when the file aligns to DfE's definitions, but its warnings
    (severity "warning": a worker record given twice, counted once)."""
    found: list[Problem] = []
    try:
        local.align(path, warnings=found)
    except InputError as exc:
        layout = _dfe_layout(path)
        if layout:  # a DfE file given to validate: say what it is and where it goes
            return [Problem(path.name, f"a DfE CSWW file (layout {layout}), not a data package or a council's "
                            f"own return: give it to 'csww build --from {path}', then check the package "
                            "the build writes with 'csww validate build/datapackage'", 1, None, None, "dfe-file")]
        found = exc.problems
    return [replace(p, file=Path(p.file).name, type="local-return") for p in found]


def _dfe_layout(path: Path) -> str | None:
    """The DfE layout (``readers.detect_layout``) of a CSV file's header, or None (not a CSV, or not DfE's)."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            header = next(csv.reader(fh), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    return readers.detect_layout([c.strip() for c in header])


def _locate(path: Path) -> Path:
    """datapackage.json for a package folder, a build folder holding one, or the descriptor itself."""
    for cand in (path, path / "datapackage.json", path / PACKAGE_DIR / "datapackage.json"):
        if cand.is_file() and cand.name.endswith(".json"):
            return cand
    raise NotFoundError(f"{path}: no datapackage.json here; run 'csww package' first")


def validate(path: str | Path, checks: bool = True) -> list[Problem]:
    """Validate a built package (or a local return file) and return every problem found.

    Runs Frictionless on the whole package (schema types and constraints, labelled missing values,
    primary and foreign keys, byte counts and SHA-256), then our own checks: rate ranges per measure,
    published rates against their components, duplicate keys even with blank cells, years in range, and
    symbols agreeing between the value and symbol columns. Problems with severity "warning" do not make
    the package invalid.
    """
    path = Path(path)
    if path.is_file() and (not path.name.endswith(".json") or local.export.declares_export(path)):
        return validate_local_return(path)  # a council's file, or a return exported with csww align --export
    descriptor_path = _locate(path)
    problems = _frictionless(descriptor_path)
    if checks:
        problems += _custom(descriptor_path, problems)
    return problems


def check_values(name: str, df: pd.DataFrame, levels: dict, kinds: dict) -> list[Problem]:
    """:func:`validate`'s checks on values (rate ranges, rates against their components) for a table not yet
    packaged: ``df`` as the package's CSV holds it (text cells; ``measure_id``, ``value``, ``symbol``,
    ``time_period``, ``area_code``, ``release_id``, ``source_file``), ``levels`` area code -> level and
    ``kinds`` release id -> "ees"/"sfr". Rows are numbered as in the CSV (header = 1). Only errors are returned:
    a rate-components difference outside LA rows of the EES files is a warning, so those rows are not checked."""
    may_err = (df["area_code"].map(levels).fillna("Local authority").eq("Local authority")
               & df["release_id"].map(kinds).fillna("ees").eq("ees"))
    found = _rate_ranges(name, df)
    if may_err.any():
        found += _rate_components(name, df[may_err], levels=levels, kinds=kinds, decimals=_decimals(df))
    return [p for p in found if p.severity == "error"]


def is_valid(problems: list[Problem]) -> bool:
    return not any(p.severity == "error" for p in problems)


def _frictionless(descriptor_path: Path) -> list[Problem]:
    import frictionless  # optional heavy import (about 1 s): only when a package is validated

    try:
        package = frictionless.Package(str(descriptor_path))
        report = package.validate()
    except frictionless.FrictionlessException as exc:
        return [Problem(None, exc.error.message, type=exc.error.type)]
    out = [Problem(None, e.message, type=e.type) for e in report.errors]
    raw = json.loads(descriptor_path.read_text(encoding="utf-8"))
    symbol_fields = {(r.get("name"), f.get("name")): [m["value"] if isinstance(m, dict) else m
                                                      for m in f["missingValues"]]
                     for r in raw.get("resources", []) for f in (r.get("schema") or {}).get("fields", [])
                     if isinstance(f, dict) and f.get("missingValues")}
    in_symbol_column = {}  # the default package: (resource, value field) -> (symbol field, DfE's symbols)
    for r in raw.get("resources", []):
        fields = {f.get("name"): f for f in (r.get("schema") or {}).get("fields", []) if isinstance(f, dict)}
        for s, v in SYMBOL_COLUMNS.items():
            if s in fields and v in fields and (r.get("name"), v) not in symbol_fields:
                in_symbol_column[(r.get("name"), v)] = (s, fields[s].get("constraints", {}).get("enum", []))
    for task in report.tasks:
        for e in task.errors:
            fname = getattr(e, "field_name", None) or None
            kind, message = e.type, e.message
            symbols = symbol_fields.get((task.name, fname))
            if kind == "type-error" and symbols is not None:
                kind = "unknown-symbol"
                message = (f"{getattr(e, 'cell', '')!r} in row {e.row_number} is neither a number nor one of DfE's "
                           f"symbols ({', '.join(symbols)})")
            elif kind == "type-error" and (task.name, fname) in in_symbol_column:
                scol, symbols = in_symbol_column[(task.name, fname)]
                kind = "unknown-symbol"
                message = (f"{getattr(e, 'cell', '')!r} in row {e.row_number} is not a number: a DfE symbol "
                           f"({', '.join(symbols)}) goes in the {scol} column, with this cell blank")
            out.append(Problem(task.name, message, getattr(e, "row_number", None), fname, type=kind))
    return out


def _read(descriptor_path: Path, name: str) -> tuple[pd.DataFrame, dict] | None:
    desc = json.loads(descriptor_path.read_text(encoding="utf-8"))
    for r in desc.get("resources", []):
        if r.get("name") == name and r.get("type", "table") == "table":
            try:
                df = pd.read_csv(descriptor_path.parent / r["path"], dtype=str, keep_default_na=False)
            except (OSError, ValueError):
                return None
            return df, r.get("schema", {})
    return None


def _custom(descriptor_path: Path, found: list[Problem]) -> list[Problem]:
    try:
        desc = json.loads(descriptor_path.read_text(encoding="utf-8"))
    except ValueError:
        return []  # Frictionless has reported the broken descriptor
    out: list[Problem] = []
    reported_keys = {(p.file, p.row) for p in found if p.type == "primary-key"}
    reported_keys |= {(p.file, p.row, p.column) for p in found if p.type == "constraint-error"}
    releases = _read(descriptor_path, "releases")
    release_year = {}
    if releases is not None:
        release_year = {r: int(y) for r, y in zip(releases[0]["release_id"], releases[0]["data_year"])
                        if y.isdigit()}
    last_year = max(release_year.values(), default=datetime.now().year)
    for res in desc.get("resources", []):
        if res.get("type", "table") != "table":
            continue
        got = _read(descriptor_path, res["name"])
        if got is None:
            continue
        df, schema = got
        name = res["name"]
        blank_ok = {f["name"] for f in schema.get("fields", [])
                    if isinstance(f.get("missingValues"), list) and "" not in f["missingValues"]}
        out += _duplicate_keys(name, df, schema.get("primaryKey") or [], reported_keys, blank_ok)
        out += _years(name, df, release_year, last_year)
        if {"measure_id", "value", "symbol"} <= set(df.columns):
            labelled = any(f.get("name") == "value" and f.get("missingValues") for f in schema.get("fields", []))
            out += _symbols(name, df, labelled)
            out += _rate_ranges(name, df)
            key = schema.get("primaryKey") or []
            if "release_id" in df.columns and set(key) <= {*OBSERVATION_KEY, "release_id"}:
                # DfE's published rates (observations and their revisions; comparisons repeat their values and
                # breakdowns are shares, not rates with components)
                out += _rate_components(name, df, descriptor_path)
    return out


def _duplicate_keys(name: str, df: pd.DataFrame, key: list[str], reported: set,
                    blank_ok: set[str] = frozenset()) -> list[Problem]:
    """Duplicate primary keys, blank cells compared as equal, and blank key cells.

    Frictionless 5.16 let NULLs in composite keys through (frictionless-py #1623); this check does not rely
    on it, and stays quiet where Frictionless has already reported the same row. A key field in ``blank_ok``
    declares that a blank cell is a value, not missing (``local_observations.team``: the whole council).
    """
    if isinstance(key, str):
        key = [key]
    key = [k for k in key if k in df.columns]
    if not key:
        return []
    out = []
    dup = df.duplicated(key, keep="first")
    for i in df.index[dup]:
        if (name, i + 2) in reported:
            continue
        vals = ", ".join(f"{k}={df.at[i, k]!r}" for k in key)
        out.append(Problem(name, row=i + 2, column=",".join(key), type="duplicate-key", message=f"the key ({vals}) appears more than once"))
    for k in key:
        if k in blank_ok:
            continue
        for i in df.index[df[k] == ""]:
            if (name, i + 2, k) not in reported:  # Frictionless names blanks in required fields itself
                out.append(Problem(name, row=i + 2, column=k, type="blank-key", message="a primary-key cell is blank"))
    return out


def _years(name: str, df: pd.DataFrame, release_year: dict, last_year: int) -> list[Problem]:
    out = []
    # A council's own figures may be for a year DfE has not published yet (an in-year return).
    if name in PUBLISHED_ONLY:
        local = pd.Series(True, index=df.index)
    elif "provisional" in df.columns:
        local = df["provisional"] == "1"
    else:
        local = pd.Series(False, index=df.index)
    for col in ("time_period", "first_year", "last_year", "data_year"):
        if col not in df.columns:
            continue
        years = pd.to_numeric(df[col], errors="coerce")
        bad = years.notna() & ((years < FIRST_YEAR) | ((years > last_year) & ~local))
        for i in df.index[bad]:
            out.append(Problem(name, row=i + 2, column=col, type="year-range", message=
                               f"year {df.at[i, col]} is outside {FIRST_YEAR}-{last_year}, the years the releases cover"))
        if col == "time_period" and "release_id" in df.columns and release_year:
            ry = df["release_id"].map(release_year).astype(float)  # float even when empty (pandas 3 keeps str)
            late = years.notna() & ry.notna() & (years > ry)
            for i in df.index[late]:
                out.append(Problem(name, row=i + 2, column=col, type="year-range", message=
                                   f"year {df.at[i, col]} is later than release {df.at[i, 'release_id']} covers "
                                   f"({int(ry[i])})"))
    if {"first_year", "last_year"} <= set(df.columns):
        a, b = pd.to_numeric(df["first_year"], errors="coerce"), pd.to_numeric(df["last_year"], errors="coerce")
        for i in df.index[a.notna() & b.notna() & (a > b)]:
            out.append(Problem(name, row=i + 2, column="first_year", type="year-range", message=
                               f"first_year {df.at[i, 'first_year']} is after last_year {df.at[i, 'last_year']}"))
    return out


def _numeric(df: pd.DataFrame) -> pd.Series:
    return pd.to_numeric(df["value"], errors="coerce")


def _symbols(name: str, df: pd.DataFrame, labelled: bool = True) -> list[Problem]:
    """``labelled`` (symbols in the value cell): the value cell holds the symbol exactly when the symbol column
    does. Otherwise (the default package): the value cell is blank exactly when the symbol column is not."""
    if not labelled:
        bad = (df["value"] == "") != (df["symbol"] != "")
    else:
        num = _numeric(df)
        text = df["value"].where(num.isna(), "")
        bad = (text != df["symbol"]) & (text != "")  | ((text == "") & (df["symbol"] != ""))
    out = []
    for i in df.index[bad]:
        v, sym = df.at[i, "value"], df.at[i, "symbol"]
        why = ("a blank value needs DfE's symbol saying why" if not labelled and v == "" and sym == ""
               else "a value beside a symbol" if not labelled else "disagree")
        out.append(Problem(name, row=i + 2, column="symbol", type="symbol-mismatch",
                           message=f"value cell {v!r} and symbol {sym!r}: {why}"))
    return out


def _rate_ranges(name: str, df: pd.DataFrame) -> list[Problem]:
    num = _numeric(df)
    out = []
    for mid in df["measure_id"].unique():
        top = rate_maximum(mid)
        if top is None:
            continue
        sel = (df["measure_id"] == mid) & (num > top)
        for i in df.index[sel]:
            out.append(Problem(name, row=i + 2, column="value", type="rate-range", message=
                               f"{mid} is {df.at[i, 'value']}, above {top:g} (a percentage)"))
    return out


def _decimals(df: pd.DataFrame) -> dict[tuple[str, str], int]:
    """Decimal places each source file publishes each measure to, read from the cells themselves.

    The 2015 SFR gives rates as whole numbers and the EES files to one decimal place, so the rounding a
    check allows comes from the data rather than from the catalogue.
    """
    codes, uniques = pd.factorize(df["value"], use_na_sentinel=False)  # each distinct cell text looked at once
    places = pd.Series(uniques, dtype=object).str.extract(r"\.(\d+)$")[0].str.len().fillna(0).astype(int)
    dec = pd.Series(places.to_numpy()[codes] if len(codes) else np.zeros(0, int), index=df.index)
    src = df["source_file"] if "source_file" in df.columns else pd.Series("", index=df.index)
    return dec.groupby([src, df["measure_id"]]).max().to_dict()


def _rate_components(name: str, df: pd.DataFrame, descriptor_path: Path | None = None,
                     levels: dict | None = None, kinds: dict | None = None,
                     decimals: dict | None = None) -> list[Problem]:
    """Each published rate lies within rounding of the rate recomputed from its published components.

    Components and the rate are rounded, so the check takes the widest rate the rounded components allow
    (each component +/- half its last published digit) and widens it by half the rate's last digit. At LA
    level a rate outside that band is an error; for England and the regions DfE computes rates over the LAs
    with valid data (reference 6.5), so a difference there is a warning. So is one in the 2015-2016 SFR
    files, whose rates used other working days and joint-return rows than the 2017+ EES definitions.
    """
    levels, kinds = dict(levels or {}), dict(kinds or {})  # area level and release kind, when not in a package
    releases = _read(descriptor_path, "releases") if descriptor_path else None
    if releases is not None:
        kinds = dict(zip(releases[0]["release_id"], releases[0]["kind"]))
    areas = _read(descriptor_path, "areas") if descriptor_path else None
    if areas is not None:
        levels = dict(zip(areas[0]["area_code"], areas[0]["level"]))
    keys = ["time_period", "area_code"] + (["release_id"] if name == "observation_revisions" else [])
    decimals = _decimals(df) if decimals is None else decimals  # of the whole table, when df is part of it
    src = df["source_file"] if "source_file" in df.columns else pd.Series("", index=df.index)
    codes, pairs = pd.MultiIndex.from_arrays([src, df["measure_id"]]).factorize()  # each (file, measure) once
    half = pd.Series(np.array([0.5 * 10 ** -decimals.get(k, 1) for k in pairs] or [0.0])[codes], index=df.index)
    d = df.assign(num=_numeric(df), row=df.index + 2, half=half,
                  rel=df["release_id"] if "release_id" in df.columns else "")
    d = d[d["num"].notna()].drop_duplicates([*keys, "measure_id"])  # duplicates are reported elsewhere
    # One row per year and area (and release): each measure's value, row number, rounding and release.
    wide = d.pivot(index=keys, columns="measure_id", values=["num", "row", "half", "rel"])
    out = []
    cat = measures.catalogue()
    for rid, severity in RATE_CHECKS.items():
        m = cat[rid]
        parts = list(dict.fromkeys([m.numerator, *m.denominator_ids]))
        if any(p not in wide["num"].columns for p in (rid, *parts)):
            continue
        sub = wide[wide["num"][[rid, *parts]].notna().all(axis=1)]
        value = {p: sub["num"][p].to_numpy(float) for p in (rid, *parts)}
        halves = {p: sub["half"][p].to_numpy(float) for p in (rid, *parts)}
        rows, rels = sub["row"][rid].to_numpy(), sub["rel"][rid].to_numpy()
        # The same bounds for every row at once; only rows outside them are looked at one by one below.
        bound = {sign: measures.rates(rid, {p: np.maximum(value[p] + (sign if p == m.numerator else -sign) * halves[p],
                                                          0.0) for p in parts},
                                      sub.index.get_level_values(0).to_numpy(int)) for sign in (-1, 1)}
        slack = halves[rid] + 1e-9
        inside = ((np.nan_to_num(bound[-1], nan=0.0) - slack <= value[rid])
                  & (value[rid] <= np.where(np.isnan(bound[1]), np.inf, bound[1]) + slack))
        for i in np.flatnonzero(~inside):
            idx = sub.index[i]
            year = int(idx[0])
            comp = {p: value[p][i] for p in parts}
            h = {p: halves[p][i] for p in parts}
            lo = measures.rate(rid, {p: max(comp[p] - h[p] if p == m.numerator else comp[p] + h[p], 0.0)
                                     for p in parts}, year)
            hi = measures.rate(rid, {p: max(comp[p] + h[p] if p == m.numerator else comp[p] - h[p], 0.0)
                                     for p in parts}, year)
            lo = 0.0 if lo is None else lo
            hi = math.inf if hi is None else hi
            slack = halves[rid][i] + 1e-9
            published = value[rid][i]
            if lo - slack <= published <= hi + slack:
                continue
            point = measures.rate(rid, comp, year)
            level = levels.get(idx[1], "Local authority")
            ees = kinds.get(rels[i], "ees") == "ees"
            sev = severity if level == "Local authority" and ees else "warning"
            release_note = f" (release {idx[2]})" if len(idx) > 2 else ""
            shown = "?" if point is None else f"{point:.2f}"
            out.append(Problem(name, row=int(rows[i]), column="value", type="rate-components", message=
                               f"{rid} for {idx[1]} {year}{release_note} is {published:g} but its components "
                               f"({', '.join(f'{p}={comp[p]:g}' for p in parts)}) give {shown}", severity=sev))
    return out


# ---------------------------------------------------------------------------------------------- diff
KEY = OBSERVATION_KEY


@dataclass
class Diff:
    old: str
    new: str
    added: pd.DataFrame = field(default_factory=pd.DataFrame)
    removed: pd.DataFrame = field(default_factory=pd.DataFrame)
    revised: pd.DataFrame = field(default_factory=pd.DataFrame)
    common: int = 0

    @property
    def has_changes(self) -> bool:
        return bool(len(self.added) or len(self.removed) or len(self.revised))

    def summary(self) -> str:
        return (f"{len(self.added):,} values added, {len(self.removed):,} removed, {len(self.revised):,} revised "
                f"(of {self.common:,} in both)")

    def to_dict(self) -> dict:
        def recs(df):
            return json.loads(df.to_json(orient="records")) if len(df) else []
        return {"old": self.old, "new": self.new, "common": self.common, "added": recs(self.added),
                "removed": recs(self.removed), "revised": recs(self.revised)}


def load_values(path: str | Path) -> pd.DataFrame:
    """The observations of a build: a csww.db, a build folder, a package folder or its datapackage.json."""
    path = Path(path)
    cols = KEY + ["value", "symbol", "release_id"]
    db = path if path.is_file() and path.suffix == ".db" else path / "csww.db"
    if db.is_file():
        with contextlib.closing(store.connect(db)) as conn:
            df = store.query(conn, f"SELECT {', '.join(cols)} FROM observations")
        df["symbol"] = df["symbol"].fillna("")
        return df
    got = _read(_locate(path), "observations")
    if got is None:
        raise NotFoundError(f"{path}: the package has no observations resource")
    df = got[0][cols].copy()
    df["value"] = pd.to_numeric(df["value"], errors="coerce")
    df["time_period"] = df["time_period"].astype(int)
    return df


def diff(old: str | Path, new: str | Path) -> Diff:
    """Values added, removed and revised between two builds (newest release's value per year, area, measure)."""
    a, b = load_values(old), load_values(new)
    m = a.merge(b, on=KEY, how="outer", suffixes=("_old", "_new"), indicator=True)
    added = m[m["_merge"] == "right_only"]
    removed = m[m["_merge"] == "left_only"]
    both = m[m["_merge"] == "both"]
    same_value = (both["value_old"] - both["value_new"]).abs().le(1e-9) | (both["value_old"].isna()
                                                                         & both["value_new"].isna())
    revised = both[~(same_value & (both["symbol_old"] == both["symbol_new"]))]

    def pick(df, side):
        cols = KEY + [f"value_{side}", f"symbol_{side}", f"release_id_{side}"]
        return df[cols].rename(columns=lambda c: c.replace(f"_{side}", "")).sort_values(KEY).reset_index(drop=True)

    rev = revised[KEY + ["value_old", "symbol_old", "release_id_old", "value_new", "symbol_new",
                         "release_id_new"]].sort_values(KEY).reset_index(drop=True)
    return Diff(str(old), str(new), pick(added, "new"), pick(removed, "old"), rev, len(both))


def _show(value, symbol) -> str:
    if isinstance(symbol, str) and symbol:
        return symbol
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:,.1f}".rstrip("0").rstrip(".") if float(value) != int(value) else f"{int(value):,}"


def changelog(change: Diff | None, version: str, created: str, previous: dict | None = None,
              heading: str | None = None) -> str:
    """The package's CHANGELOG.md: what changed since the previous package (or that this is the first)."""
    lines = ["# Change log", "", f"## {heading or version} ({created[:10]})", ""]
    if change is None:
        lines += ["First package: no earlier package to compare with.", ""]
        return "\n".join(lines)
    was = f" {previous['version']}" if previous and previous.get("version") else ""
    lines += [f"Compared with {'the previous package' + was if heading is None else 'the old build'}: "
              f"{change.summary()}.", ""]
    if not change.has_changes:
        return "\n".join(lines)
    if len(change.revised):
        lines += ["### Revised values", "", "| year | area | measure | was | now | release |", "|---|---|---|---|---|---|"]
        for r in change.revised.itertuples():
            lines.append(f"| {r.time_period} | {r.area_code} | {r.measure_id} | {_show(r.value_old, r.symbol_old)} | "
                         f"{_show(r.value_new, r.symbol_new)} | {r.release_id_old} → {r.release_id_new} |")
        lines.append("")
    for title, df in (("Added values", change.added), ("Removed values", change.removed)):
        if not len(df):
            continue
        lines += [f"### {title}", "", "| year | measures | areas | values |", "|---|---|---|---|"]
        for year, g in df.groupby("time_period"):
            lines.append(f"| {year} | {g['measure_id'].nunique()} | {g['area_code'].nunique()} | {len(g):,} |")
        lines.append("")
    return "\n".join(lines)
