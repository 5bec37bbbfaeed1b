"""Loading aligned figures into the SQLite database beside DfE's published ones.

``csww build --local FILE`` calls ``load_files(conn, [FILE, ...])``, which aligns every file and then
loads them all in one transaction. Each council and period in a file is one return (``local_returns``); its figures go to ``local_observations`` under the canonical measure ids.
Loading the same file again replaces its figures; the ``published`` flag is kept.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from itertools import groupby
from pathlib import Path

from .. import publication, tables
from ..fileio import sha256_file
from ..problems import NotFoundError
from . import align, check_quoted, export
from .problems import InputError, Problem
from .result import AlignedFigure

#: The local tables, in order; their columns and constraints come from the Table Schemas (``benchmark.tables``).
TABLES = ["local_returns", "local_observations"]
INDEXES = ("CREATE INDEX IF NOT EXISTS local_observations_measure"
           " ON local_observations (measure_id, area_code, time_period);\n")


def create_tables(conn: sqlite3.Connection) -> None:
    conn.executescript("".join(tables.ddl(t) for t in TABLES) + INDEXES + publication.TRIGGERS)


def load_local(conn: sqlite3.Connection, figures: list[AlignedFigure], source: str | Path) -> list[str]:
    """Create the local tables if needed and load ``figures`` (from ``align(source)``) in one transaction.
    Returns the return ids loaded."""
    create_tables(conn)
    with conn:
        return _insert(conn, figures, source)


def load_files(conn: sqlite3.Connection, paths: list[str | Path], la: str | None = None, *,
               as_at=None, warnings: list[Problem] | None = None) -> list[str]:
    """Align every file, then load them all in one transaction. If any file has problems, ``InputError`` lists
    the problems of every file and nothing is loaded. ``as_at`` (a date) sets each return beside the latest
    census DfE had published by then (``local.align``). A return for a council the database's DfE figures do not
    have (its ``areas``: a valid LA number, but not in the files built from) is a problem too: it could be
    neither compared nor loaded beside them. ``warnings``, a list, receives each file's warnings (``align``: a
    record repeating an earlier one, counted once)."""
    aligned, problems = [], []
    for path in paths:
        try:
            aligned.append((path, check_quoted(align(path, la, as_at=as_at, warnings=warnings), conn)))
        except InputError as exc:
            problems += exc.problems
    known = _areas(conn)
    for path, figures in aligned if known is not None else ():
        problems += [Problem(str(path), "the DfE files this database was built from have no council with this LA "
                             "number; build from a release that publishes it, or leave this return out", None,
                             "area_code", area) for area in sorted({f.area_code for f in figures} - known)]
    if problems:
        raise InputError(problems)
    create_tables(conn)
    with conn:
        ids = []
        for path, figures in aligned:
            loaded = _insert(conn, figures, path)
            export.apply_level(conn, path, loaded)  # an exported return brings its publication level
            ids += loaded
        return ids


def _areas(conn: sqlite3.Connection) -> set[str] | None:
    """The area codes of the database's ``areas`` table, or None when it has none (a database of local returns
    only)."""
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'areas'").fetchone():
        return None
    return {a for (a,) in conn.execute("SELECT area_code FROM areas")}


def _insert(conn: sqlite3.Connection, figures: list[AlignedFigure], source: str | Path) -> list[str]:
    if not figures:
        raise ValueError(f"{source}: no figures to load")
    sha = sha256_file(source)
    loaded_at = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    ids = []
    key = lambda f: (f.area_code, f.period_start, f.period_end)  # noqa: E731
    for (area, start, end), group in groupby(sorted(figures, key=key), key=key):
        group = list(group)
        rid = f"{area}:{start.isoformat()}:{end.isoformat()}:{sha[:12]}"
        ids.append(rid)
        conn.execute(
            "INSERT INTO local_returns (return_id, area_code, period_start, period_end, time_period, input_kind,"
            " source_file, sha256, loaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (return_id) DO UPDATE SET source_file = excluded.source_file,"
            " loaded_at = excluded.loaded_at",
            (rid, area, start.isoformat(), end.isoformat(), group[0].time_period, group[0].input_kind,
             Path(source).name, sha, loaded_at))  # the base name only: a council's folders are not published
        conn.execute("DELETE FROM local_observations WHERE return_id = ?", (rid,))
        cols = tables.columns("local_observations")
        rows = [{**f.record(), "return_id": rid, "comparable": int(f.comparable), "provisional": int(f.provisional)}
                for f in group]
        conn.executemany(f"INSERT INTO local_observations ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                         [tuple(r.get(c) for c in cols) for r in rows])
    return ids


def list_returns(conn: sqlite3.Connection) -> list[dict]:
    """Every local return loaded, with its publication flag (and level and partnership, where the database has
    them) and how many figures it holds."""
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'local_returns'").fetchone():
        return []
    levels = ("r.publication, r.partnership, " if "publication" in {c[1] for c in conn.execute(
        "PRAGMA table_info(local_returns)")} else "")  # publication levels: databases built since they came
    cur = conn.execute("SELECT r.return_id, r.area_code, r.period_start, r.period_end, r.time_period, r.input_kind, "
                       f"r.source_file, r.published, {levels}count(o.measure_id) AS figures FROM local_returns r "
                       "LEFT JOIN local_observations o USING (return_id) GROUP BY r.return_id ORDER BY r.return_id")
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, row)) for row in cur]


def set_published(conn: sqlite3.Connection, return_ids: list[str], published: bool) -> None:
    """Mark returns published (or not). Unknown ids are an error and nothing changes."""
    known = {r["return_id"] for r in list_returns(conn)}
    unknown = [rid for rid in return_ids if rid not in known]
    if unknown:
        raise NotFoundError(f"no local return {', '.join(map(repr, unknown))}; 'csww returns' lists them")
    with conn:  # public, or back to private (``publication`` keeps the levels and the older flag in step)
        publication.set_level(conn, return_ids, "public" if published else "private")
