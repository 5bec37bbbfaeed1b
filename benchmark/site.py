"""The Datasette site: a public database fit to publish, its metadata, and serving and bundling it.

``prepare(db, site_dir)`` turns a built ``csww.db`` into a site folder:

* ``csww.db`` — the **public** database. A copy of the build with every unpublished local figure removed
  (local returns not marked published, and the provisional comparison rows made from them), then
  vacuumed so no trace of them survives in free pages. It gains indexes for every comparison path,
  full-text search on area names and readable views (``latest_comparison``).
* ``private.db`` — only when the build holds unpublished local figures: the whole build, for a separate
  instance that asks for a password (``serve(..., private=True)``). Datasette's table-level ``allow``
  does not stop ``?sql=``, so unpublished figures are never put in a publicly served file.
* ``metadata.yml`` / ``private-metadata.yml`` — Datasette 0.65 metadata: title, licence, source, table and
  column descriptions, facets, sort orders, label columns, and the canned queries in ``publish/queries``.
* ``datasette-1.0/`` — the same site in Datasette 1.0's split (``split_for_1_0``): ``datasette.yaml`` (settings,
  queries, permissions, plugins, table options) and ``metadata.yaml`` (descriptions), and their ``private-``
  pair. ``datasette_kwargs`` passes the configuration the way the installed Datasette expects.
* ``inspect-data.json`` — hashes and row counts, so the databases are served immutable with fast start-up.

Templates and static files live in ``publish/``; the pages are the Datasette plugin ``site_plugin``, registered
through the ``datasette`` entry point, so a bundle (``publish_bundle``) installs the package itself.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import os
import re
import shlex
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from . import __version__, councils, measures, publication, store
from .fileio import atomic_dir, atomic_write, sha256_file, write_text
from .local import store as local_store
from .problems import NotFoundError, UsageError
from .tables import key as table_key
from .tables import metadata as schema_metadata
from .tables import schemas

PUBLISH = Path(__file__).resolve().parent / "publish"
SOURCE_TREE = Path(__file__).resolve().parents[1]          # pyproject.toml is here in a checkout
QUERIES = PUBLISH / "queries"

OGL = "OGL-UK-3.0"
OGL_URL = "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"
SOURCE = "Department for Education, Children's social work workforce (Explore Education Statistics)"
SOURCE_URL = "https://explore-education-statistics.service.gov.uk/find-statistics/children-s-social-work-workforce"
TITLE = "Children's social work workforce benchmarks (England)"

# Production settings (Datasette 0.65 names). The data change only when the site is redeployed, so
# responses may be cached for an hour; arbitrary read-only SQL stays open to analysts within limits.
SETTINGS = {
    "sql_time_limit_ms": 2000,
    "max_returned_rows": 2000,
    "default_page_size": 100,
    "default_cache_ttl": 3600,
    "facet_time_limit_ms": 500,
    "suggest_facets": False,
    "allow_download": True,
    "allow_csv_stream": True,
    "max_csv_mb": 50,
    "num_sql_threads": 4,
}

# Plugins installed from PyPI, pinned to ranges tested here (also in pyproject.toml).
REQUIREMENTS = [
    "datasette>=0.65.5,<0.66",
    "datasette-auth-passwords>=1.1.1,<1.2",
    "datasette-block-robots>=1.1.1,<1.2",
]

#: Rows on a page of the big, wide tables (thousands of rows, up to 37 columns) unless ``?_size=`` asks for more:
#: Datasette draws every cell, so 100 rows of comparisons cost ~400 kB of HTML (issue 12 item 3).
BIG_TABLE_PAGE = 30

PRIVATE_HASH_ENV = "CSWW_PRIVATE_PASSWORD_HASH"
PRIVATE_USER = "council"

INDEXES = [
    ("comparisons", ["area_code", "measure_id", "time_period"]),
    ("comparisons", ["measure_id", "time_period", "value"]),
    ("comparisons", ["time_period", "region_code"]),
    ("neighbours", ["area_code", "model"]),
    ("areas", ["region_code"]),
    ("areas", ["london_region_code"]),
    ("areas", ["area_name"]),
    ("areas", ["new_la_code"]),
    ("local_observations", ["area_code", "time_period", "measure_id"]),
    # breakdowns' facets (metadata): each facet count scanned 79,000 rows and sorted them, 80-290 ms a facet on a
    # table page's first hit (review 8, finding 8); with these 10-40 ms, for 7 MB more database
    ("breakdowns", ["breakdown_topic"]),
    ("breakdowns", ["role"]),
    ("breakdowns", ["measure_id"]),
]


@dataclass
class Site:
    folder: Path
    public: Path
    private: Path | None
    metadata: Path
    private_metadata: Path | None
    inspect: Path
    config_1_0: Path | None = None          # datasette-1.0/datasette.yaml (with metadata.yaml beside it)

    def lines(self) -> list[str]:
        out = [f"public database {self.public} (metadata {self.metadata})"]
        if self.private:
            out.append(f"private database {self.private}: unpublished local figures, served only with "
                       f"'csww serve --private' behind a password")
        return out


# --------------------------------------------------------------------------------------------- database

def has_unpublished(conn: sqlite3.Connection) -> bool:
    """True when the database holds rows that may not be published (``publication``)."""
    return publication.has_unpublished(conn)


def strip_unpublished(conn: sqlite3.Connection) -> None:
    """Delete every row ``publication`` does not make public: unpublished local returns, their figures and
    the provisional comparison rows built on them (stored by return at build time, never recomputed here)."""
    publication.strip(conn)


def enhance(conn: sqlite3.Connection) -> None:
    """Indexes, full-text search on area names, stand-in tables and the readable views."""
    import sqlite_utils  # optional import: only when a site is prepared

    local_store.create_tables(conn)              # empty when the build had no local returns
    for table, cols in INDEXES:
        conn.execute(f"CREATE INDEX IF NOT EXISTS site_{table}_{'_'.join(cols)} ON {table} ({', '.join(cols)})")
    db = sqlite_utils.Database(conn)
    if "areas_fts" not in db.table_names():
        db["areas"].enable_fts(["area_name"], create_triggers=False)
    conn.execute("DROP VIEW IF EXISTS latest_comparison")
    conn.execute(latest_comparison_sql())
    conn.execute("DROP VIEW IF EXISTS councils")
    conn.execute("""CREATE VIEW councils AS
        SELECT area_code, area_name, new_la_code AS ons_code, region_name, status, first_year, last_year,
               is_joint_return, '/la/' || replace(area_code, ' / ', '-') AS profile
        FROM areas WHERE level = 'Local authority' ORDER BY area_name, area_code""")
    councils.write_lookup(conn)  # databases built before build wrote it
    conn.execute("INSERT OR REPLACE INTO build_info (key, value) VALUES ('site_version', ?)", (__version__,))


def latest_comparison_sql() -> str:
    """One row per council in the latest published year: each key measure's value, symbol, neighbour median,
    England figure and quartile side by side."""
    parts = []
    for m in measures.key_measures():
        for col, suffix in (("value", ""), ("symbol", "_symbol"), ("sn_median", "_sn_median"),
                            ("england", "_england"), ("quartile", "_quartile")):
            parts.append(f"max(CASE WHEN c.measure_id = '{m.id}' THEN c.{col} END) AS {m.id}{suffix}")
    return ("CREATE VIEW latest_comparison AS\nSELECT c.area_code, c.area_name, c.region_name, c.time_period,\n  "
            + ",\n  ".join(parts)
            + "\nFROM comparisons c\nWHERE c.provisional = 0 AND c.time_period = "
              "(SELECT max(time_period) FROM comparisons WHERE provisional = 0)\n"
              "GROUP BY c.area_code, c.area_name, c.region_name, c.time_period\n"
              "ORDER BY c.area_name, c.area_code")


def _copy(src: Path, dst: Path) -> sqlite3.Connection:
    source = store.connect(src)
    target = sqlite3.connect(dst)
    try:
        source.backup(target)
    finally:
        source.close()
    target.execute("PRAGMA journal_mode = DELETE")
    return target


# --------------------------------------------------------------------------------------------- metadata

def query_files(folder: Path = QUERIES) -> dict[str, dict]:
    """Canned queries from ``publish/queries/*.sql``: a ``-- title:``, ``-- description:`` and ``-- example:``
    header, then the SQL."""
    out = {}
    for path in sorted(folder.glob("*.sql")):
        text = path.read_text(encoding="utf-8").replace("{{pick_council}}", councils.pick_sql())
        head = dict(re.findall(r"^--\s*(\w+):\s*(.*)$", text, flags=re.M))
        sql = "\n".join(line for line in text.splitlines() if not line.startswith("--")).strip()
        out[path.stem] = {"title": head.get("title", path.stem), "description": head.get("description", ""),
                          "example": head.get("example", ""), "sql": sql,
                          "params": re.findall(r"(?<!:):(\w+)", sql)}
    for q in out.values():
        q["params"] = list(dict.fromkeys(q["params"]))
    return out


def _measure_columns() -> dict[str, str]:
    out = {}
    for m in measures.key_measures():
        unit = {"percent": "%"}.get(m.unit, m.unit)
        out[m.id] = f"{m.label}, this council ({unit}). Blank when DfE published a symbol instead."
        out[f"{m.id}_symbol"] = f"DfE's symbol for {m.label} when no number was published (c, x, z, low, u)."
        out[f"{m.id}_sn_median"] = f"{m.label}: median of the council's statistical neighbours ({unit})."
        out[f"{m.id}_england"] = f"{m.label}: England ({unit})."
        out[f"{m.id}_quartile"] = f"{m.label}: quartile among councils, A best to D worst (blank for neutral measures)."
    return out


def metadata(private: bool = False, allow_sql: bool = True) -> dict:
    """Datasette 0.65 metadata for the site (``private``: the authenticated instance's)."""
    queries = query_files()
    db_name = "private" if private else "csww"
    canned = {}
    for name, q in queries.items():
        example = f"/{db_name}/{name}?{q['example']}" if q["example"] else f"/{db_name}/{name}"
        canned[name] = {
            "title": q["title"],
            "description_html": (f"<p>{_html(q['description'])}</p><p>Example: <a href=\"{_html(example)}\">"
                                 f"{_html(example)}</a>. Add <code>.csv</code> or <code>.json</code> before the "
                                 f"<code>?</code> to download.</p>"),
            "sql": q["sql"],
            "params": q["params"],
            "hide_sql": True,   # results first; "(show)" unfolds the SQL
        }
    licence = {"license": OGL, "license_url": OGL_URL, "source": SOURCE, "source_url": SOURCE_URL}
    tables = {
        "comparisons": {"facets": ["measure_id", "time_period", "region_name", "quartile"],
                        "label_column": "area_name", "size": BIG_TABLE_PAGE, **licence},
        "latest_comparison": {
            "description": "The latest year's key measures for every council, one row per council.",
            "facets": ["region_name"], "columns": _measure_columns(), **licence},
        "councils": {"description": "Every council, with a link to its profile page.",
                     "facets": ["region_name", "status"], **licence},
        "observations": {"facets": ["measure_id", "time_period", "symbol"], "size": BIG_TABLE_PAGE, **licence},
        "observation_revisions": {"facets": ["release_id", "measure_id"], "size": BIG_TABLE_PAGE, **licence},
        "areas": {"label_column": "area_name", "facets": ["level", "region_name", "status"],
                  "fts_table": "areas_fts", "fts_pk": "rowid", **licence},
        "measures": {"label_column": "label", "facets": ["measure_group", "unit", "polarity"], **licence},
        "releases": {"label_column": "title", **licence},
        "neighbours": {"facets": ["model", "closeness"], **licence},
        "local_returns": {"description": ("Local returns loaded with csww align. " + (
            "This private database holds returns not yet cleared for publication." if private else
            "Only returns the council has marked published appear here.")), "facets": ["area_code", "published"]},
        "local_observations": {"description": "Local figures aligned to DfE definitions.",
                               "facets": ["measure_id", "area_code", "comparable"], "size": BIG_TABLE_PAGE},
        "areas_fts": {"hidden": True},
    }
    for suffix in ("_config", "_data", "_docsize", "_idx"):
        tables[f"areas_fts{suffix}"] = {"hidden": True}
    # Table and column descriptions come from the Table Schemas (benchmark/datapackages), the single source.
    generated = schema_metadata().get("databases", {}).get("csww", {}).get("tables", {})
    db = {**licence, "tables": _stable_sorts(_merge(tables, generated)),
          "queries": canned}
    meta = {
        "title": TITLE + (" — private preview" if private else ""),
        "description_html": _site_description(private),
        **licence,
        "about": f"csww-benchmark {__version__}",
        "databases": {db_name: db},
        "plugins": {"datasette-block-robots": {"allow_only_index": True}},
    }
    if not allow_sql:
        meta["allow_sql"] = False
    if private:
        meta["allow"] = {"id": "*"}          # everything needs a signed-in actor
        meta["allow_sql"] = {"id": "*"}
        meta["plugins"]["datasette-auth-passwords"] = {
            f"{PRIVATE_USER}_password_hash": {"$env": PRIVATE_HASH_ENV}}
        meta["plugins"]["datasette-block-robots"] = {"literal": "User-agent: *\nDisallow: /"}
    return meta


def _stable_sorts(tables: dict) -> dict:
    """``tables`` unchanged, after checking no default sort can lose or repeat rows in a download.

    Datasette 0.65 pages a sorted table by (sort value, primary key) but leaves the key tie-breaker off the
    first page, so a default ``sort``/``sort_desc`` on a column that is not the whole, single-column key
    returns some rows twice and others never (issue 12). Such tables keep the key order; views set their
    order in SQL on a unique column list. A violation is a bug here, so it raises ``RuntimeError``."""
    known = schemas()
    for name, opts in tables.items():
        col = opts.get("sort") or opts.get("sort_desc")
        if col and (name not in known or table_key(name) != [col]):
            raise RuntimeError(f"metadata for {name} sorts on {col}, not a unique key: downloads would lose rows")
    return tables


TABLE_OPTIONS = {"hidden", "sort", "sort_desc", "size", "sortable_columns", "label_column", "facets", "facet_size",
                 "fts_table", "fts_pk", "searchmode"}
DESCRIPTIVE = {"title", "description", "description_html", "license", "license_url", "source", "source_url",
               "about", "about_url"}


def split_for_1_0(meta: dict) -> tuple[dict, dict]:
    """The same site as Datasette 1.0's pair of files: ``metadata.yaml`` (descriptive only, licence on every
    table since 1.0 drops inheritance) and ``datasette.yaml`` (settings, plugins, permissions, queries, table
    options). Left in metadata, 1.0 silently ignores ``queries`` and ``allow_sql``."""
    md = {k: v for k, v in meta.items() if k in DESCRIPTIVE}
    cfg: dict = {"settings": dict(SETTINGS)}
    for key in ("allow", "allow_sql", "plugins"):
        if key in meta:
            cfg[key] = meta[key]
    licence = {k: meta[k] for k in ("license", "license_url", "source", "source_url") if k in meta}
    for name, db in meta.get("databases", {}).items():
        md_db = {k: v for k, v in db.items() if k in DESCRIPTIVE}
        cfg_db: dict = {}
        if db.get("queries"):
            cfg_db["queries"] = db["queries"]
        for key in ("allow", "allow_sql"):
            if key in db:
                cfg_db[key] = db[key]
        for table, opts in db.get("tables", {}).items():
            descriptive = {k: v for k, v in opts.items() if k in DESCRIPTIVE or k == "columns"}
            if descriptive and not opts.get("hidden"):
                md_db.setdefault("tables", {})[table] = {**licence, **descriptive}
            options = {k: v for k, v in opts.items() if k in TABLE_OPTIONS}
            if options:
                cfg_db.setdefault("tables", {})[table] = options
        md.setdefault("databases", {})[name] = md_db
        if cfg_db:
            cfg.setdefault("databases", {})[name] = cfg_db
    return md, cfg


def _merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _site_description(private: bool) -> str:
    intro = ("DfE's published children's social work workforce statistics for every English council, beside its "
             "statistical neighbours, region and England. Pick a council on the <a href=\"/\">home page</a> for its "
             "profile, or use the canned queries: council profile, league table, neighbours, region, trend, local "
             "against published. Every table and query downloads as CSV.")
    if private:
        intro = ("<strong>Private preview.</strong> Unpublished local figures, for signed-in council staff only. "
                 "Do not share outside the council. ") + intro
    return f"<p>{intro}</p>"


# --------------------------------------------------------------------------------------------- prepare

def prepare(db_path: str | Path, site_dir: str | Path | None = None) -> Site:
    """Write the site folder (public db, private db when needed, metadata, inspect data) from a built db.

    The databases are rebuilt only when the build (or this module) changed since the last time, so a public
    and a private instance can be started from the same folder without replacing files under each other.
    """
    db_path = Path(db_path)
    folder = Path(site_dir) if site_dir else db_path.parent / "site"
    folder.mkdir(parents=True, exist_ok=True)
    public, private_path = folder / "csww.db", folder / "private.db"
    stamp_path = folder / "source.json"
    stamp = {"source_sha256": sha256_file(db_path), "toolkit_version": __version__,
             "site_code_sha256": sha256_file(__file__)}
    current = stamp_path.exists() and public.exists() and json.loads(stamp_path.read_text()) == stamp
    src = store.connect(db_path)
    try:
        unpublished = has_unpublished(src)
    finally:
        src.close()
    if not current or (unpublished and not private_path.exists()):
        _write_public(db_path, public)
        if unpublished:
            _write_private(db_path, private_path)
        write_text(stamp_path, json.dumps(stamp, indent=2))
    if not unpublished and private_path.exists():
        private_path.unlink()
    meta_path = folder / "metadata.yml"
    _write_yaml(meta_path, metadata())
    private_meta = folder / "private-metadata.yml"
    _write_yaml(private_meta, metadata(private=True))
    one_oh = folder / "datasette-1.0"
    for prefix, meta in (("", metadata()), ("private-", metadata(private=True))):
        md, cfg = split_for_1_0(meta)
        _write_yaml(one_oh / f"{prefix}metadata.yaml", md)
        _write_yaml(one_oh / f"{prefix}datasette.yaml", cfg)
    inspect = folder / "inspect-data.json"
    data = inspect_data([p for p in (public, private_path) if p.exists()])
    write_text(inspect, json.dumps(data, indent=2))
    return Site(folder, public, private_path if unpublished else None, meta_path, private_meta, inspect,
                one_oh / "datasette.yaml")


def _write_public(db_path: Path, public: Path) -> None:
    with atomic_write(public) as tmp:
        conn = _copy(db_path, tmp)
        try:
            strip_unpublished(conn)
            enhance(conn)
            conn.commit()
            if has_unpublished(conn):        # belt and braces: never write a public file holding them
                raise RuntimeError("unpublished local figures survived into the public database")
            conn.execute("VACUUM")
        finally:
            conn.close()


def _write_private(db_path: Path, private_path: Path) -> None:
    with atomic_write(private_path) as tmp:
        conn = _copy(db_path, tmp)
        try:
            enhance(conn)
            conn.commit()
            conn.execute("VACUUM")
        finally:
            conn.close()


def _write_yaml(path: Path, data: dict) -> None:
    text = "# Generated by csww-benchmark (benchmark/site.py); do not edit by hand.\n" + yaml.safe_dump(
        data, sort_keys=False, allow_unicode=True, width=110)
    write_text(path, text)


def inspect_data(paths: list[Path]) -> dict:
    """What ``datasette inspect`` writes: hash, size and table counts per database."""
    from datasette.cli import inspect_  # optional heavy import: only when a site is prepared

    data = asyncio.run(inspect_([str(p) for p in paths], sqlite_extensions=None))
    for entry in data.values():
        entry["file"] = Path(entry["file"]).name
    return data


# --------------------------------------------------------------------------------------------- serve

def datasette(site: Site, private: bool = False, allow_sql: bool = True):
    """A configured ``Datasette`` for the public instance (or the private one)."""
    from datasette.app import Datasette  # optional heavy import: only when a site is served

    db = site.private if private else site.public
    if db is None:
        raise NotFoundError(f"{site.folder}: no private.db; the build holds no unpublished local figures")
    if private and not os.environ.get(PRIVATE_HASH_ENV):
        raise UsageError(f"the private instance needs a password: set {PRIVATE_HASH_ENV} to a hash from "
                         f"'datasette hash-password'")
    inspect = json.loads(site.inspect.read_text(encoding="utf-8"))
    for entry in inspect.values():
        entry["file"] = str(site.folder / entry["file"])
    meta = metadata(private=private, allow_sql=allow_sql)
    return Datasette(
        immutables=[str(db)], inspect_data=inspect, **datasette_kwargs(meta),
        template_dir=str(PUBLISH / "templates"),
        static_mounts=[("csww-static", str(PUBLISH / "static"))], version_note=f"csww-benchmark {__version__}",
    )


def datasette_1() -> bool:
    """True when the installed Datasette is on the 1.0 line (alphas included)."""
    return not importlib.metadata.version("datasette").startswith("0.")


def datasette_kwargs(meta: dict) -> dict:
    """The site's configuration (``metadata()``'s shape) as the installed Datasette takes it: 0.65 reads everything
    from ``metadata=`` with ``settings=``; 1.0 reads settings, queries, permissions, plugins and table options
    from ``config=`` (``datasette.yaml``) and only descriptions from ``metadata=`` (``split_for_1_0``)."""
    if datasette_1():
        md, cfg = split_for_1_0(meta)
        return {"metadata": md, "config": cfg}
    return {"metadata": meta, "settings": dict(SETTINGS)}


def serve(db_path: str | Path, port: int = 8001, host: str = "127.0.0.1", private: bool = False,
          allow_sql: bool = True, echo=print, warm: bool = False) -> None:
    """Prepare the site folder beside the database and serve it with uvicorn until interrupted (:func:`run`).
    ``warm``: once serving, draw every council's profile page (:func:`warm_pages`) so no visitor waits for one."""
    site = prepare(db_path)
    ds = datasette(site, private=private, allow_sql=allow_sql)
    for line in site.lines():
        echo(line)
    echo(f"serving {'private' if private else 'public'} site on http://{host}:{port}/")

    async def warming():
        started = time.perf_counter()
        drawn = await warm_pages(ds)
        echo(f"drew {drawn} council pages in {time.perf_counter() - started:.1f} s: served from memory from now on")

    run(ds.app(), host=host, port=port, on_startup=warming if warm and not private else None)


async def warm_pages(ds) -> int:
    """Ask the public instance ``ds`` for every council's profile page (``councils.profile``) once, as an anonymous
    visitor, so each is drawn and kept in memory (``site_cache``) before anyone asks; one page at a time, so
    visitors' requests are answered in between. Returns how many pages answered 200 (the others redirect)."""
    db = ds.get_database()
    paths = [r[0] for r in (await db.execute("select distinct profile from councils order by profile")).rows]
    drawn = 0
    for path in paths:
        drawn += (await ds.client.get(path)).status_code == 200
    return drawn


def run(app, host: str = "127.0.0.1", port: int = 8001, on_startup=None) -> None:
    """Serve the ASGI ``app`` with uvicorn until interrupted: httptools' HTTP parser and uvloop's event loop when
    installed (uvicorn's "auto"; both are dependencies on Linux and macOS), no access log (a line per request
    costs more CPU than answering a page from memory, ``perf/load_site.py``), warnings and errors logged."""
    import uvicorn  # optional import: only when a site is served

    if on_startup is not None:
        app = _on_startup(app, on_startup)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, http="auto", loop="auto")


def _on_startup(app, job):
    """``app`` that starts the coroutine function ``job`` as a task once the server has started (ASGI lifespan)."""
    tasks = set()

    async def lifespan(scope, receive, send):
        if scope["type"] != "lifespan":
            return await app(scope, receive, send)

        async def receiving():
            message = await receive()
            if message["type"] == "lifespan.startup":
                task = asyncio.get_running_loop().create_task(job())
                tasks.add(task)                     # kept until done (the loop holds tasks weakly)
                task.add_done_callback(tasks.discard)
            return message

        return await app(scope, receiving, send)

    return lifespan


# --------------------------------------------------------------------------------------------- bundle

def serve_command(db_file: str = "csww.db", metadata_file: str = "metadata.yml", port: str = "8001",
                  host: str = "0.0.0.0", allow_sql: bool = True) -> list[str]:
    cmd = ["datasette", "serve", "-i", db_file, "--inspect-file", "inspect-data.json", "-m", metadata_file,
           "--template-dir", "templates", "--static", "csww-static:static",
           "--host", host, "--port", port]
    for k, v in SETTINGS.items():
        cmd += ["--setting", k, str(v).lower() if isinstance(v, bool) else str(v)]
    if not allow_sql:
        cmd += ["--setting", "default_allow_sql", "off"]
    return cmd


def publish_bundle(db_path: str | Path, out_dir: str | Path) -> Path:
    """Everything needed to run the public site as stateless replicas of the immutable database."""
    site = prepare(db_path)
    out = Path(out_dir)
    with atomic_dir(out) as tmp:
        shutil.copy2(site.public, tmp / "csww.db")
        shutil.copy2(site.metadata, tmp / "metadata.yml")
        inspect = json.loads(site.inspect.read_text(encoding="utf-8"))
        (tmp / "inspect-data.json").write_text(json.dumps({"csww": inspect["csww"]}, indent=2), encoding="utf-8")
        for name in ("templates", "static"):
            shutil.copytree(PUBLISH / name, tmp / name, ignore=shutil.ignore_patterns("__pycache__"))
        package = f"csww-benchmark=={__version__}"      # the council pages are the package's plugin: install it
        if (SOURCE_TREE / "pyproject.toml").exists():   # from this checkout, so the bundle runs the code that built it
            package = "./csww-benchmark"
            shutil.copytree(SOURCE_TREE / "benchmark", tmp / package / "benchmark",
                            ignore=shutil.ignore_patterns("__pycache__"))
            for name in ("pyproject.toml", "README.md"):
                shutil.copy2(SOURCE_TREE / name, tmp / package / name)
        one_oh = tmp / "datasette-1.0"           # for a canary run on the 1.0 line: datasette serve -m ... -c ...
        one_oh.mkdir()
        md, cfg = split_for_1_0(yaml.safe_load(site.metadata.read_text(encoding="utf-8")))
        for name, data in (("metadata.yaml", md), ("datasette.yaml", cfg)):
            (one_oh / name).write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110),
                                       encoding="utf-8")
        (tmp / "requirements.txt").write_text("\n".join([package, *REQUIREMENTS]) + "\n", encoding="utf-8")
        cmd = " ".join(shlex.quote(p) for p in serve_command(port="8001"))
        (tmp / "Dockerfile").write_text(DOCKERFILE, encoding="utf-8")
        statics = "--static csww-static:static --template-dir templates"
        installs = " ".join(f"--install {shlex.quote(r)}" for r in [f"csww-benchmark=={__version__}", *REQUIREMENTS[1:]])
        extra = " ".join(f"--setting {k} {str(v).lower() if isinstance(v, bool) else v}" for k, v in SETTINGS.items())
        (tmp / "README.md").write_text(BUNDLE_README.format(
            cmd=cmd, statics=statics, installs=installs, extra=extra, version=__version__), encoding="utf-8")
        run = " ".join(shlex.quote(p) for p in serve_command(port="PORT", host="HOST"))
        run = run.replace("--port PORT", '--port "${PORT:-8001}"').replace("--host HOST", '--host "${HOST:-127.0.0.1}"')
        (tmp / "run.sh").write_text(f"#!/bin/sh\nset -e\ncd \"$(dirname \"$0\")\"\nexec {run}\n", encoding="utf-8")
        os.chmod(tmp / "run.sh", 0o755)
    return out


DOCKERFILE = """\
# The public csww-benchmark site: an immutable SQLite database served read-only by Datasette.
# Stateless: run as many replicas as needed behind a CDN; redeploy to change the data.
FROM python:3.12-slim
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir -r requirements.txt
# run.sh holds the datasette serve command line; Cloud Run, Fly and others set PORT.
ENV PORT=8001 HOST=0.0.0.0
EXPOSE 8001
CMD ["sh", "run.sh"]
"""

BUNDLE_README = """\
# csww-benchmark site bundle (csww-benchmark {version})

Everything here serves the public site: `csww.db` (published figures only, immutable), `metadata.yml`,
`inspect-data.json`, `templates/`, `static/`, pinned `requirements.txt` (with csww-benchmark itself, from
`csww-benchmark/` when bundled from a checkout: its Datasette plugin draws the council pages) and a `Dockerfile`.

Run locally:

    pip install -r requirements.txt
    ./run.sh                       # http://127.0.0.1:8001/ (HOST and PORT override)
    # which runs: {cmd}

Build and run a container (one replica; run more behind a load balancer or CDN):

    docker build -t csww-site . && docker run -p 8001:8001 csww-site

Or let Datasette build the container:

    datasette package csww.db -m metadata.yml {statics} {installs} --extra-options "{extra}"
    datasette publish cloudrun csww.db -m metadata.yml {statics} {installs} --service csww --max-instances 10 --extra-options "{extra}"

`datasette-1.0/` holds the same site split into `metadata.yaml` and `datasette.yaml` for a Datasette 1.0 canary
(1.0 ignores canned queries and `allow_sql` left in `metadata.yml`).
"""
