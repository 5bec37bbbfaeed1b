"""Opening a built database to read it: the one ``connect``, light enough for ``csww compare --la`` to start fast.

It imports only ``sqlite3`` and the error classes: ``buildstate`` (which re-exports it, as ``store`` does) also
brings hashlib, tempfile and the Table Schemas, a fifth of ``csww compare --la 841`` (issue 14 item 7).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .problems import DatabaseError, NotFoundError


def connect(path: str | Path) -> sqlite3.Connection:
    """Open a built database read-only (rows as ``sqlite3.Row``). Here, not in ``store``, so that commands that
    only read (``csww compare`` for one council) open it without pandas. Raises NotFoundError when there is no file at ``path`` and
    DatabaseError when the file is not a database ``csww build`` wrote (not SQLite, or no observations table)."""
    path = Path(path)
    if not path.is_file():
        raise NotFoundError(f"{path}: no database here; run 'csww build' first (or pass --db)")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'observations'").fetchone():
            return conn
        why = "it has no observations table"
    except sqlite3.DatabaseError as exc:
        why = str(exc)
    conn.close()
    raise DatabaseError(f"{path}: not a CSWW database ({why}); give the csww.db that 'csww build' wrote")


def has_table(conn: sqlite3.Connection, name: str) -> bool:
    """Whether the database ``conn`` has a table (or view) ``name``: a database of local returns only, or one built
    by an older toolkit, lacks some."""
    return conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)).fetchone() is not None
