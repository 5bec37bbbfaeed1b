"""The Table Schemas are the one definition of every table; this module reads them and derives the rest.

``benchmark/datapackages/schemas/<table>.json`` (Frictionless Table Schema, Data Package v2) gives each table's
columns in order, their types, primary and foreign keys, ``constraints.required`` and ``constraints.enum``.
From them come the SQL DDL (:func:`ddl`), the column lists code uses (:func:`columns`, :func:`key`), the field
order of ``csww compare --format json/csv``, the report's record columns, the data package, Datasette's
``metadata.yml`` (:func:`metadata`) and ``docs/tables.md`` (``docs.py``). Add a column to a schema and it
appears in all of them.

What SQL needs beyond Table Schema is a custom ``x-sql`` property: on a field ``{"default": 0}`` and
``{"notNull": true}`` (a column that is never NULL although its CSV cell may be blank); on a foreign key
``{"onDelete": "CASCADE"}``, or ``{"inDatabase": false}`` for a key only the package holds to (the database
keeps every neighbour DfE lists; the package only those that are areas of the build); on a schema
``{"checks": ["(value IS NULL) <> (symbol IS NULL)"]}``.

Set the environment variable ``CSWW_SCHEMA_DIR`` to a folder of schemas to use those instead of the shipped
ones (for trying a schema change without touching the package).
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

from .publication import is_private_table

#: Shipped inside the ``benchmark`` package (package data), so an installed copy finds its schemas too.
DATAPACKAGES = Path(__file__).resolve().parent / "datapackages"
SCHEMAS = DATAPACKAGES / "schemas"
BASE = DATAPACKAGES / "datapackage.base.json"
SCHEMA_DIR_ENV = "CSWW_SCHEMA_DIR"
DATABASE = "csww"  # Datasette names a database after its file stem: csww.db

#: Schema order (the package's resource order); tables with a schema but not listed here follow, alphabetically.
ORDER = ["observations", "observation_revisions", "measures", "areas", "area_codes", "area_changes", "releases",
         "source_files", "build_info"]
#: Table Schema field types as SQLite column types.
SQL_TYPES = {"string": "TEXT", "integer": "INTEGER", "number": "REAL", "boolean": "INTEGER", "date": "TEXT",
             "datetime": "TEXT", "time": "TEXT", "year": "INTEGER"}


def schema_dir() -> Path:
    """The folder the schemas are read from: ``$CSWW_SCHEMA_DIR`` when set, else the shipped one."""
    return Path(os.environ.get(SCHEMA_DIR_ENV) or SCHEMAS)


def schemas(folder: str | Path | None = None) -> dict[str, dict]:
    """Every Table Schema in ``folder`` (default :func:`schema_dir`) by table name, in package order.

    Parsed once per folder and file version (a changed ``CSWW_SCHEMA_DIR`` or an edited file takes effect at
    once); the schemas returned are shared, so treat them as read-only."""
    return dict(_read(tuple((str(p), p.stat().st_mtime_ns) for p in Path(folder or schema_dir()).glob("*.json"))))


@lru_cache(maxsize=8)
def _read(files: tuple[tuple[str, int], ...]) -> dict[str, dict]:
    found = {Path(p).stem: json.loads(Path(p).read_text(encoding="utf-8")) for p, _ in files}
    return {n: found[n] for n in [n for n in ORDER if n in found] + sorted(set(found) - set(ORDER))}


def schema(table: str) -> dict:
    """One table's schema; ``KeyError`` naming the folder when there is none. Reads that one file (parsed once
    per file version, shared: read-only), not the folder: ``csww compare --la`` needs one or two."""
    path = schema_dir() / f"{table}.json"
    try:
        return _read_one(str(path), path.stat().st_mtime_ns)
    except FileNotFoundError:
        raise KeyError(f"no Table Schema {table}.json in {schema_dir()}") from None


@lru_cache(maxsize=64)
def _read_one(path: str, mtime_ns: int) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def columns(table: str) -> list[str]:
    """The table's column names, in order (e.g. ``columns("comparisons")``)."""
    return [f["name"] for f in schema(table)["fields"]]


def key(table: str) -> list[str]:
    """The table's primary key columns."""
    pk = schema(table).get("primaryKey") or []
    return [pk] if isinstance(pk, str) else list(pk)


def __getattr__(name: str):
    """``OBSERVATION_KEY``, the observation key (one published figure per reporting year, area and measure), read
    from its schema when first asked for, not at import (PEP 562), then kept: one list, the same object for all."""
    if name == "OBSERVATION_KEY":
        globals()[name] = key("observations")
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def without_sql(schema: dict) -> dict:
    """A copy of ``schema`` without its ``x-sql`` properties (how our SQLite stores it is no concern of the
    package's users); ``schema`` itself is not changed."""
    def strip(d: dict) -> dict:
        return {k: v for k, v in d.items() if k != "x-sql"}
    return {**strip(schema), "fields": [strip(f) for f in schema["fields"]],
            **({"foreignKeys": [strip(fk) for fk in schema["foreignKeys"]]} if "foreignKeys" in schema else {})}


def _literal(v) -> str:
    return "'" + v.replace("'", "''") + "'" if isinstance(v, str) else str(int(v) if isinstance(v, bool) else v)


def _column(f: dict) -> str:
    c, sql = f.get("constraints", {}), f.get("x-sql", {})
    parts = [f["name"], SQL_TYPES[f.get("type", "string")]]
    if c.get("required") or sql.get("notNull"):
        parts.append("NOT NULL")
    if "default" in sql:
        parts.append(f"DEFAULT {_literal(sql['default'])}")
    if "enum" in c:
        parts.append(f"CHECK ({_enum_check(f)})")
    return " ".join(parts)


def _enum_check(f: dict) -> str:
    return f"{f['name']} IN ({', '.join(_literal(v) for v in f['constraints']['enum'])})"


def checks(table: str) -> list[str]:
    """The expressions of ``table``'s CHECK constraints as :func:`ddl` writes them, in its order: each enum
    field's ``IN`` list, then the schema's ``x-sql.checks``."""
    s = schema(table)
    return ([_enum_check(f) for f in s["fields"] if "enum" in f.get("constraints", {})]
            + list(s.get("x-sql", {}).get("checks", [])))


def ddl(table: str) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for ``table`` from its schema: SQLite types, NOT NULL for required
    fields, CHECK for enums and the schema's ``x-sql.checks``, the primary key and foreign keys."""
    s = schema(table)
    lines = [_column(f) for f in s["fields"]]
    if key(table):
        lines.append(f"PRIMARY KEY ({', '.join(key(table))})")
    for fk in s.get("foreignKeys", []):
        if not fk.get("x-sql", {}).get("inDatabase", True):
            continue
        ref = fk["reference"]
        on_delete = fk.get("x-sql", {}).get("onDelete")
        lines.append(f"FOREIGN KEY ({', '.join(fk['fields'])}) REFERENCES {ref['resource'] or table}"
                     f"({', '.join(ref['fields'])})" + (f" ON DELETE {on_delete}" if on_delete else ""))
    lines += [f"CHECK ({check})" for check in s.get("x-sql", {}).get("checks", [])]
    return f"CREATE TABLE IF NOT EXISTS {table} (\n    " + ",\n    ".join(lines) + "\n);\n"


def _column_text(f: dict) -> str:
    return f.get("description", "") + (f" Unit: {f['unit']}." if f.get("unit") else "")


def metadata() -> dict:
    """Datasette 0.65 metadata from the schemas: instance, database and per-table titles, descriptions,
    licence, ``x-datasette`` options and column descriptions (``site.metadata`` adds queries and pages)."""
    base = json.loads(BASE.read_text(encoding="utf-8"))
    lic, src = base["licenses"][0], base["sources"][0]
    common = {"license": lic["name"], "license_url": lic["path"], "source": src["title"], "source_url": src["path"]}
    tables = {}
    for name, s in schemas().items():
        if is_private_table(name):
            continue
        tables[name] = {"title": s.get("title", name), "description": s.get("description", ""), **common,
                        **s.get("x-datasette", {}), "columns": {f["name"]: _column_text(f) for f in s["fields"]}}
    return {"title": base["title"], "description": base["description"], **common,
            "databases": {DATABASE: {**common, "tables": tables}}}
