"""Check that two built databases hold the same tables, cell for cell: for speed work that must change nothing.

    python perf/same_tables.py A/csww.db B/csww.db

For every table and view of either database (``sqlite_master``): the same schema SQL, the same columns, and
the same rows both ways (``EXCEPT`` each way) compared with each row's rowid and the SQLite type (``typeof``)
of every cell, so row order (by rowid), values and storage types all count. Indexes are compared by their SQL.
Only what differs from build to build by design is left out: ``build_info``'s ``build_id`` and ``built_at``
values. Prints one line per difference and exits 1 when there is any, else prints what it compared and exits 0.
"""

from __future__ import annotations

import sqlite3
import sys

#: (table, key column, keys whose other columns differ between any two builds)
VARIES = {"build_info": ("key", {"build_id", "built_at"})}


def _schema(conn: sqlite3.Connection, db: str) -> dict[tuple[str, str], str]:
    return {(t, n): s for t, n, s in conn.execute(
        f"SELECT type, name, sql FROM {db}.sqlite_master WHERE name NOT LIKE 'sqlite_%'")}


def compare(a: str, b: str) -> list[str]:
    """The differences between databases ``a`` and ``b`` (empty when identical), one line each."""
    conn = sqlite3.connect(f"file:{a}?mode=ro", uri=True)
    conn.execute("ATTACH ? AS b", (f"file:{b}?mode=ro",))
    diffs = []
    sa, sb = _schema(conn, "main"), _schema(conn, "b")
    for k in sorted(set(sa) | set(sb)):
        if sa.get(k) != sb.get(k):
            diffs.append(f"{k[0]} {k[1]}: schema differs ({sa.get(k)!r} vs {sb.get(k)!r})")
    rows = 0
    for kind, name in sorted(k for k in set(sa) & set(sb) if k[0] in ("table", "view")):
        cols = [r[1] for r in conn.execute(f'PRAGMA main.table_info("{name}")')]
        # views have no rowid: their rows are compared in the order SQLite gives them
        rowid = "rowid" if kind == "table" else "row_number() OVER ()"
        cells = ", ".join(f'"{c}", typeof("{c}")' for c in cols)
        where = ""
        if name in VARIES:
            col, keys = VARIES[name]
            where = f' WHERE "{col}" NOT IN ({", ".join(repr(k) for k in keys)})'
        sel = f'SELECT {rowid} AS _rowid, {cells} FROM {{db}}."{name}"{where}'
        for x, y in (("main", "b"), ("b", "main")):
            n = conn.execute(f"SELECT count(*) FROM ({sel.format(db=x)} EXCEPT {sel.format(db=y)})").fetchone()[0]
            if n:
                diffs.append(f"{kind} {name}: {n} rows of {x} not in {y} (by rowid, value and type)")
        na = conn.execute(f'SELECT count(*) FROM main."{name}"').fetchone()[0]
        nb = conn.execute(f'SELECT count(*) FROM b."{name}"').fetchone()[0]
        if na != nb:
            diffs.append(f"{kind} {name}: {na} rows vs {nb}")
        rows += na
    if not diffs:
        print(f"same: {len(sa)} objects, {rows:,} rows (values, types and rowids)")
    return diffs


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    diffs = compare(*argv)
    for d in diffs:
        print(d)
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
