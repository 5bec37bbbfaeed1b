"""What may be published: the one rule the data package, the site's public database and the report share.

A council's own figures stay private until the council marks their return published
(``local_returns.published = 1``, ``csww returns --publish``). So, table by table:

* ``local_returns``: the rows marked published.
* ``local_observations``: the rows whose return is published (none when ``local_returns`` is absent: we
  cannot tell such rows are published).
* ``comparisons``: DfE's rows (``provisional = 0``), and a provisional row when its return (``return_id``,
  stored by ``csww build --local``) is published. Provisional rows are never recomputed for publication.
* any table of worker-level records (``worker`` in its name): never, whatever its rows.
* every other table: all of its rows (DfE's published statistics and what the toolkit derives from them).

``where(conn, table)`` gives the rule as a SQL condition; ``strip`` deletes every other row in place.
"""

from __future__ import annotations

import sqlite3

#: Tables holding a council's own figures, public only row by row.
LOCAL_TABLES = ("local_returns", "local_observations")
#: Every row of these tables is public.
ALL_ROWS = "1"
#: A database with no ``local_returns`` table has no published return.
_PUBLISHED_RETURNS = "SELECT return_id FROM local_returns WHERE published = 1"


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]


def tables(conn: sqlite3.Connection) -> list[str]:
    """The tables of ``conn`` (not views, not SQLite's own)."""
    return [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]


def is_private_table(table: str) -> bool:
    """Worker-level records never leave the database, whatever schema someone writes for them."""
    return "worker" in table.lower()


def where(conn: sqlite3.Connection, table: str) -> str | None:
    """The SQL condition selecting the public rows of ``table`` in ``conn``.

    Returns ``None`` when no row of the table may be published (worker-level tables; local figures whose
    publication cannot be told), ``ALL_ROWS`` ("1") when every row may.
    """
    if is_private_table(table):
        return None
    cols = _columns(conn, table)
    has_returns = "published" in _columns(conn, "local_returns")
    if table in LOCAL_TABLES:
        if "published" in cols:
            return "published = 1"
        if "return_id" in cols and has_returns:
            return f"return_id IN ({_PUBLISHED_RETURNS})"
        return None
    if table == "comparisons" and "provisional" in cols:
        if "return_id" in cols and has_returns:
            return f"provisional = 0 OR return_id IN ({_PUBLISHED_RETURNS})"
        return "provisional = 0"
    return ALL_ROWS


def has_unpublished(conn: sqlite3.Connection) -> bool:
    """True when some row of some table of ``conn`` may not be published."""
    for table in tables(conn):
        rule = where(conn, table)
        if rule is None:
            if conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone():
                return True
        elif rule != ALL_ROWS and conn.execute(f"SELECT 1 FROM {table} WHERE NOT ({rule}) LIMIT 1").fetchone():
            return True
    return False


def strip(conn: sqlite3.Connection) -> None:
    """Delete, in place, every row that may not be published (with ``secure_delete``, so the freed pages are
    zeroed; VACUUM afterwards to drop them from the file). Tables no row of which is public are dropped,
    except the local tables, which stay (empty) so the site's queries find them."""
    conn.execute("PRAGMA secure_delete = ON")
    # comparisons first: their rule reads local_returns, which loses its unpublished rows below
    order = sorted(tables(conn), key=lambda t: (t == "local_returns", t))
    rules = {t: where(conn, t) for t in order}
    for table in order:
        rule = rules[table]
        if rule is None and table not in LOCAL_TABLES:
            conn.execute(f"DROP TABLE {table}")
        elif rule is None:
            conn.execute(f"DELETE FROM {table}")
        elif rule != ALL_ROWS:
            conn.execute(f"DELETE FROM {table} WHERE NOT ({rule})")
