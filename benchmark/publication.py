"""What may be published: the one rule the data package, the site's public database and the report share.

A council's return is at one of three publication levels (``local_returns.publication``, ``LEVELS``):
``private`` (when loaded from the council's own file: its own build only), ``shared`` with a named partnership
(``local_returns.partnership``; set by the exported return, ``csww align --export``: the partnership's build,
pack and private site) or ``public`` (``csww returns --publish``, or an export made public). The older flag
``local_returns.published`` is 1 exactly when the level is public, and is read where there is no level
(a database written before levels). What is public, table by table:

* ``local_returns``: the public returns.
* ``local_observations``: the rows whose return is published (none when ``local_returns`` is absent: we
  cannot tell such rows are published).
* ``comparisons``: DfE's rows (``provisional = 0``), and a provisional row when its return (``return_id``,
  stored by ``csww build --local``) is published. Provisional rows are never recomputed for publication.
* any table of worker-level records (``worker`` in its name): never, whatever its rows.
* every other table: all of its rows (DfE's published statistics and what the toolkit derives from them).

``where(conn, table)`` gives the rule as a SQL condition; ``strip`` deletes every other row in place.
``partnership_where(conn, table, names)`` is what a partnership's own pack may show: public returns, the
builder's own private ones and those shared with that partnership (never those shared with another). The pack
itself leaves the builder's private ones out unless asked (``csww report --group ... --include-private``;
``report.gather.partnership_local_figures``), and says how many it left out.
"""

from __future__ import annotations

import sqlite3

#: Tables holding a council's own figures, public only row by row.
LOCAL_TABLES = ("local_returns", "local_observations")
#: A return's publication levels, least public first.
LEVELS = ("private", "shared", "public")
#: Every row of these tables is public.
ALL_ROWS = "1"
#: A database with no ``local_returns`` table has no published return.
_PUBLISHED_RETURNS = "SELECT return_id FROM local_returns WHERE published = 1"
_PUBLIC_RETURNS = "SELECT return_id FROM local_returns WHERE publication = 'public' AND published = 1"
#: Keep the older flag and the level in step whichever one a statement sets (``csww returns``, a script, an
#: ``UPDATE ... SET published = 1`` written before levels): 1 is public; 0 takes a public return back to private.
#: On insert, either one saying public makes the return public. (Created with the local tables, ``local.store``.)
TRIGGERS = """
CREATE TRIGGER IF NOT EXISTS local_returns_flag AFTER UPDATE OF published ON local_returns
WHEN NEW.published IS NOT (NEW.publication = 'public') BEGIN
  UPDATE local_returns SET publication = CASE WHEN NEW.published = 1 THEN 'public' ELSE 'private' END,
    partnership = NULL WHERE return_id = NEW.return_id;
END;
CREATE TRIGGER IF NOT EXISTS local_returns_level AFTER UPDATE OF publication ON local_returns
WHEN NEW.published IS NOT (NEW.publication = 'public') BEGIN
  UPDATE local_returns SET published = (NEW.publication = 'public') WHERE return_id = NEW.return_id;
END;
CREATE TRIGGER IF NOT EXISTS local_returns_insert AFTER INSERT ON local_returns
WHEN NEW.published IS NOT (NEW.publication = 'public') BEGIN
  UPDATE local_returns SET publication = 'public', published = 1, partnership = NULL WHERE return_id = NEW.return_id;
END;
"""


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
    return_cols = _columns(conn, "local_returns")
    levelled = "publication" in return_cols
    has_returns = levelled or "published" in return_cols
    public_returns = _PUBLIC_RETURNS if levelled else _PUBLISHED_RETURNS
    if table in LOCAL_TABLES:
        if table == "local_returns" and levelled:  # both must say so (the triggers keep them in step)
            return "publication = 'public' AND published = 1"
        if "published" in cols:
            return "published = 1"
        if "return_id" in cols and has_returns:
            return f"return_id IN ({public_returns})"
        return None
    if table == "comparisons" and "provisional" in cols:
        if "return_id" in cols and has_returns:
            return f"provisional = 0 OR return_id IN ({public_returns})"
        return "provisional = 0"
    return ALL_ROWS


def partnership_where(conn: sqlite3.Connection, table: str, names: list[str]) -> tuple[str, tuple] | None:
    """The SQL condition (and its parameters) selecting the rows of a local table (``local_returns``,
    ``local_observations``) that a partnership's own pack may show: public returns, the builder's own private
    ones (a private return is only ever in the build of the council that loaded it; the pack shows them only
    with ``--include-private``, counting those it leaves out) and those shared with the partnership called one
    of ``names`` (a group file's id and name; compared case-insensitively). ``None``
    when no row may be shown (a worker-level table, a table with no return to tell by). A database without
    publication levels shows its published returns only."""
    if is_private_table(table) or table not in LOCAL_TABLES:
        return None
    if "publication" not in _columns(conn, "local_returns"):
        rule = where(conn, table)
        return (rule, ()) if rule else None
    marks = ", ".join("?" * len(names))
    own = (f"publication IN ('public', 'private') OR (publication = 'shared' AND lower(partnership) IN ({marks}))")
    params = tuple(n.lower() for n in names)
    if table == "local_returns":
        return own, params
    if "return_id" not in _columns(conn, table):
        return None
    return f"return_id IN (SELECT return_id FROM local_returns WHERE {own})", params


def set_level(conn: sqlite3.Connection, return_ids: list[str], level: str, partnership: str | None = None) -> None:
    """Set the publication level of returns (in the caller's transaction): ``public``, ``private`` or
    ``shared`` with ``partnership`` (required then, and only then). ``published`` follows (1 for public).
    A database written before levels has only the flag: there ``shared`` is a ``ValueError``."""
    if level not in LEVELS:
        raise ValueError(f"unknown publication level {level!r}; one of {', '.join(LEVELS)}")
    if (level == "shared") != bool(partnership):
        raise ValueError("a shared return names its partnership, and only a shared one")
    if "publication" not in _columns(conn, "local_returns"):
        if level == "shared":
            raise ValueError("this database was written before publication levels; rebuild it to share returns")
        conn.executemany("UPDATE local_returns SET published = ? WHERE return_id = ?",
                         [(int(level == "public"), rid) for rid in return_ids])
        return
    conn.executemany("UPDATE local_returns SET publication = ?, partnership = ?, published = ? WHERE return_id = ?",
                     [(level, partnership or None, int(level == "public"), rid) for rid in return_ids])


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
