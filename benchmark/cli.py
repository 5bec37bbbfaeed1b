"""The ``csww`` command line: a thin face over the library modules.

Each command parses its options, calls one library function and prints.
"""

from __future__ import annotations

import json
import re
import sqlite3
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import click

from . import __version__, database
from .problems import CswwError, InputError, NotFoundError, UsageError


class _Lazy:
    """A module of ours imported on first use, so that a command loads only what it needs (pandas is
    0.3 s): ``csww build`` decides an unchanged build is up to date without it."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr):
        # the interpreter's own import statement (``-X importtime`` reports it; importlib.import_module it does not)
        return getattr(__import__(self._name.lstrip("."), globals(), None, ["__name__"], 1), attr)


if TYPE_CHECKING:  # what the names below are; at run time each is imported on first use
    from . import build as build_mod
    from . import compare, compare_format, compare_one, ees, local, package, report, site, snapshot, store
    from . import docs as docs_mod
    from . import measures as measures_mod
    from .local import census as local_census
    from .local import export as local_export
    from .local import output
    from .local import series as local_series
    from .local import store as local_store
else:
    build_mod, docs_mod = _Lazy(".build"), _Lazy(".docs")
    compare, compare_format = _Lazy(".compare"), _Lazy(".compare_format")
    ees, local, package, report, site, store = (_Lazy(f".{m}") for m in ("ees", "local", "package", "report",
                                                                         "site", "store"))
    output, local_store = _Lazy(".local.output"), _Lazy(".local.store")
    local_export = _Lazy(".local.export")
    local_series = _Lazy(".local.series")
    local_census = _Lazy(".local.census")
    measures_mod = _Lazy(".measures")
    snapshot, compare_one = _Lazy(".snapshot"), _Lazy(".compare_one")
if TYPE_CHECKING:
    from . import buildstate, fileio, formatting
    from . import cache as download_cache
else:  # hashlib, tempfile and the Table Schemas, left out of 'csww compare --la' and '--help'
    buildstate, fileio, formatting = _Lazy(".buildstate"), _Lazy(".fileio"), _Lazy(".formatting")
    download_cache = _Lazy(".cache")  # without ees (the readers, pandas): 'csww build --offline' up to date

_SEMVER = re.compile(r"^\d+\.\d+\.\d+$")
INTERRUPTED = 130  # exit status after Ctrl-C (SIGINT): 128 + 2, as the shell reports it


def _as_at(day: datetime | None, db: str | Path):
    """--as-at as a ``census.AsAt`` carrying the publication dates ``db``'s releases record (EES's date, for a
    release 'csww fetch' downloaded), which win over catalogue/releases.yml; None without --as-at."""
    if day is None:
        return None
    dates: dict[int, object] = {}
    if Path(db).is_file():
        conn = database.connect(db)
        try:
            for year, published in conn.execute("SELECT data_year, published FROM releases"):
                if published:
                    dates[int(year)] = datetime.fromisoformat(str(published)[:10]).date()
                else:
                    dates.setdefault(int(year), None)
        finally:
            conn.close()
    return local_census.AsAt(day.date(), dates)


def _missing_folder(path: str | Path) -> Path | None:
    """The outermost folder of ``path`` that does not exist yet (the command will create it and say so)."""
    missing = None
    for folder in Path(path).parents:
        if folder.exists():
            break
        missing = folder
    return missing


class CLIError(click.ClickException):
    """An error shown to the user as one clear message with a non-zero exit."""


class _Group(click.Group):
    """Shows a ``CswwError`` (an expected failure) as its message with exit status 1, never a traceback;
    every other exception is a bug and propagates with its traceback. Ctrl-C (SIGINT) ends a command with one
    line and exit status 130, the shell's convention: every output is written atomically, so nothing was changed."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            newline = "\n" if sys.stderr.isatty() else ""  # after the terminal's ^C
            click.echo(f"{newline}interrupted: nothing was changed", err=True)
            raise click.exceptions.Exit(INTERRUPTED) from None
        except InputError as exc:
            n = len(exc.problems)
            raise CLIError(f"{n} problem{'s' if n != 1 else ''} found; nothing was written.\n" + exc.summary()) from None
        except CswwError as exc:
            raise CLIError(str(exc)) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="csww")
def cli():
    """Children's social work workforce benchmarks for English councils.

    \b
    Example:
        csww build --from ./downloads/csww_indicators_2017_to_2025.csv
    """


@cli.command()
@click.option("--from", "sources", multiple=True, type=click.Path(),
              help="A DfE CSV file, a folder (searched recursively) or an EES release ZIP. Repeatable. "
                   "Without it, the latest release is fetched from EES.")
@click.option("--out", default="build", show_default=True, type=click.Path(file_okay=False),
              help="Output folder; the database is OUT/csww.db.")
@click.option("--ees-url", envvar="CSWW_EES_URL", default=None, help="EES content API base URL (env CSWW_EES_URL).")
@click.option("--cache-dir", envvar="CSWW_CACHE", default=None, type=click.Path(file_okay=False),
              help="Download cache (env CSWW_CACHE).")
@click.option("--offline", is_flag=True, help="Without --from: build from the download cache only, never the network.")
@click.option("--local", "local_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A council's own return (aggregate CSV/XLSX, HR extract or census XML) to align and compare, "
                   "as provisional figures, or a member's return exported with 'csww align --export' (checksum "
                   "checked; it keeps its publication level). Repeatable.")
@click.option("--quiet", "-q", is_flag=True, help="Print only the summary line.")
@click.option("--deadline", default=600.0, show_default=True,
              help="Most seconds the fetch from EES may take in all (without --from and --offline).")
@click.option("--retries", envvar="CSWW_RETRIES", default=4, show_default=True,
              help="Retries on connection errors, 429 and 5xx when fetching (env CSWW_RETRIES).")
@click.option("--force", is_flag=True, help="Rebuild even when the inputs, toolkit and options are unchanged.")
@click.option("--wait", default=600.0, show_default=True,
              help="Most seconds to wait for another build writing to the same --out.")
@click.option("--sn-method", type=click.Choice(["toolkit", "dashboard"]), default="toolkit", show_default=True,
              help="Neighbour median stored in comparisons: toolkit (model current for the year, joint-return "
                   "neighbours as the joint row, one more decimal) or dashboard (exactly DfE's dashboard median). "
                   "See docs/compare.md.")
@click.option("--max-values", envvar="CSWW_MAX_VALUES", type=click.IntRange(min=1), default=None,
              help="Most values (observations and breakdown values) read from all the files; past it the build "
                   "stops with a message before needing more than 2 GB of memory (default 750,000; env "
                   "CSWW_MAX_VALUES).")
def build(sources, out, ees_url, cache_dir, offline, local_files, quiet, deadline, retries, force, wait, sn_method,
          max_values):
    """Build OUT/csww.db and the data package OUT/datapackage/ from DfE CSWW files.

    Reads every DfE layout (2023+ indicators, 2022 headline measures, 2015 and 2016 SFR underlying
    data), keeps DfE's symbols apart from zero, takes each value from the newest release that has it
    and keeps every release's value in observation_revisions. Then writes the Frictionless data
    package beside the database (see 'csww package'). Both are written into OUT/builds/<build id>/
    and made current together; OUT/csww.db and OUT/datapackage lead to the current build. When the
    inputs (by checksum), the toolkit and the options are those of the current build, nothing is
    done (--force rebuilds). With no network and an empty download cache, it builds from the offline
    snapshot of DfE's files bundled with csww-benchmark and says which releases it used.

    \b
    Examples:
        csww build --from ~/Downloads/csww_indicators_2017_to_2025.csv --from ~/Downloads/sfr
        csww build --from children-s-social-work-workforce_2025.zip --out build
        csww build                      # fetch the latest release from EES first
        csww build --offline            # use what 'csww fetch' cached earlier
        csww build --from ~/Downloads/sfr --from data.zip --local examples/darlington.csv
    """
    if not sources:
        cache = download_cache.Cache(cache_dir)
        failed = None
        if not offline:
            client = ees.Client(ees_url, deadline=deadline, retries=retries)
            try:
                ees.fetch(client, cache, progress=not quiet, echo=(lambda m: None) if quiet else click.echo)
            except ees.FetchError as exc:
                cached = cache.release_dirs()
                from_snapshot = [d for d in cached if (cache.manifest(d.name) or {}).get("from_snapshot")]
                if cached and from_snapshot != cached:  # say what the user can do now
                    raise ees.FetchError(f"{exc}\nThe cache holds {len(cached)} release(s) fetched earlier "
                                         f"({', '.join(d.name for d in cached)}): 'csww build --offline' "
                                         "builds from them.") from None
                if not cached and snapshot.manifest() is None:
                    raise
                failed = exc
        if failed is not None:
            click.echo(f"EES could not be reached: {str(failed).splitlines()[0]}", err=True)
        sources = cache.release_dirs()
        if not sources:
            if snapshot.manifest() is None:
                raise CLIError(f"{cache.root}: the download cache is empty; run 'csww fetch' or give --from")
            used = snapshot.install(cache)
            click.echo("\n".join(used.lines()))
            sources = used.folders
        elif failed is not None:  # only the snapshot, installed by an earlier offline build
            click.echo(f"Building from the offline snapshot put in the cache earlier ({', '.join(d.name for d in sources)}"
                       f", in {cache.root}); when online, run 'csww fetch' and then 'csww build' to update.")
    started = time.monotonic()
    fingerprint = buildstate.fingerprint(sources, local_files, {"sn_method": sn_method})
    state = None if force else buildstate.up_to_date(out, fingerprint)
    if state:
        click.echo(f"{out} is up to date: build {state['build_id']} has the same inputs, toolkit and options "
                   f"(checked in {time.monotonic() - started:.2f} s; --force rebuilds)")
        return
    created = _missing_folder(Path(out) / buildstate.DATABASE)
    stderr = sys.stderr
    with click.progressbar(length=1, label="  rows written", file=stderr,
                           hidden=quiet or not stderr.isatty()) as bar:
        def progress(done, total):
            bar.length = total
            bar.update(done - bar.pos)
        result = build_mod.build(list(sources), out, progress=progress, local_files=local_files, sn_method=sn_method,
                                 stage=None if quiet else lambda message: click.echo(f"{message}...", err=True),
                                 fingerprint=fingerprint, wait=wait, max_values=max_values)
    lines = ([f"created folder {created}"] if created is not None else []) + result.lines()
    for line in lines if not quiet else lines[-1:]:
        click.echo(line)
    if quiet and result.dropped:  # a warning --quiet does not hide: releases the previous build had are gone
        click.echo(result.dropped_warning(), err=True)


@cli.command()
@click.option("--release", "releases", multiple=True,
              help="Release slug to fetch, e.g. 2024 (repeatable). Default: the latest release.")
@click.option("--zip", "whole_zip", is_flag=True, help="Download the whole release ZIP instead of the indicator CSVs.")
@click.option("--ees-url", envvar="CSWW_EES_URL", default=None, help="EES content API base URL (env CSWW_EES_URL).")
@click.option("--cache-dir", envvar="CSWW_CACHE", default=None, type=click.Path(file_okay=False),
              help="Download cache (env CSWW_CACHE).")
@click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait for the server on each request.")
@click.option("--retries", default=4, show_default=True, help="Retries on connection errors, 429 and 5xx.")
@click.option("--offline", is_flag=True, help="Do not touch the network: list what the cache holds.")
@click.option("--deadline", default=600.0, show_default=True,
              help="Most seconds the whole command may spend on the network, however slowly the server answers.")
@click.option("--force", is_flag=True,
              help="Download a release again even when the cached copy is what EES lists (else: 'up to date').")
def fetch(releases, whole_zip, ees_url, cache_dir, timeout, retries, offline, deadline, force):
    """Download DfE CSWW release files from Explore Education Statistics into the cache.

    Each release is cached with a manifest.json recording every file's URL, size, SHA-256 and
    download time. Files are checked (the ZIP opens, the CSV header is a known DfE layout) before
    they enter the cache; a failed download leaves the cache as it was.

    \b
    Examples:
        csww fetch                          # the latest release
        csww fetch --release 2024 --release 2025
        csww fetch --zip --cache-dir ./downloads
        CSWW_EES_URL=http://localhost:8000/api csww fetch
        csww fetch --offline                # list the cache
    """
    cache = ees.Cache(cache_dir)
    if not offline:
        client = ees.Client(ees_url, timeout=timeout, retries=retries, deadline=deadline)
        for release in releases or [None]:
            folder = ees.fetch(client, cache, release, whole_zip=whole_zip, force=force)
            click.echo(f"cached {folder}")
    dirs = cache.release_dirs()
    if offline and not dirs:
        raise CLIError(f"{cache.root}: the download cache is empty")
    for d in dirs if offline else []:
        m = cache.manifest(d.name)
        click.echo(f"{d}: release {m['release_slug']}, {download_cache.obtained(m)}, "
                   + ", ".join(f["filename"] for f in m["files"]))


@cli.command()
@click.argument("out", default="build", type=click.Path(file_okay=False))
@click.option("--port", default=8001, show_default=True, help="Port on localhost.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to listen on; the default serves this machine only.")
@click.option("--private", is_flag=True,
              help="Serve the private database of unpublished local figures instead, behind a password "
                   "(set CSWW_PRIVATE_PASSWORD_HASH; sign in as 'council').")
@click.option("--no-sql", is_flag=True, help="Turn off arbitrary SQL; canned queries still work.")
@click.option("--warm", is_flag=True, help="Once serving, draw every council's page so no visitor waits for one.")
def serve(out, port, host, private, no_sql, warm):
    """Serve OUT/csww.db as a Datasette site: council profiles, charts, canned queries, CSV.

    Prepares OUT/site/ first: the public database (published figures only, with indexes, search and
    views), metadata.yml and inspect data; unpublished local figures go only to OUT/site/private.db.
    The database is served immutable with SQL time and row limits and cache headers.

    \b
    Examples:
        csww serve                         # build/csww.db on http://127.0.0.1:8001/
        csww serve out --port 8080
        CSWW_PRIVATE_PASSWORD_HASH="$(datasette hash-password --no-confirm <<< "$PW")" \\
            csww serve --private --port 8002
    """
    db = Path(out) / "csww.db"
    if not db.exists():
        raise NotFoundError(f"{db}: no database here; run 'csww build --out {out}' first")
    site.serve(db, port=port, host=host, private=private, allow_sql=not no_sql, echo=click.echo, warm=warm)


@cli.command()
@click.option("--out", default="build", show_default=True, type=click.Path(file_okay=False),
              help="Build folder holding csww.db.")
@click.option("--bundle", "bundle_dir", required=True, type=click.Path(file_okay=False),
              help="Folder to write the deployable site to (replaced if it exists).")
def publish(out, bundle_dir):
    """Write a deployable bundle of the public site: database, metadata, templates, plugins, Dockerfile.

    The bundle holds published figures only. Run it with ./run.sh, 'docker build', or the
    'datasette package' / 'datasette publish' commands in its README.md, as many stateless replicas
    as needed behind a CDN.

    \b
    Example:
        csww publish --out build --bundle dist/site
        cd dist/site && docker build -t csww-site . && docker run -p 8001:8001 csww-site
    """
    db = Path(out) / "csww.db"
    if not db.exists():
        raise NotFoundError(f"{db}: no database here; run 'csww build --out {out}' first")
    path = site.publish_bundle(db, bundle_dir)
    click.echo(f"wrote {path}: csww.db, metadata.yml, templates, plugins, static, requirements.txt, Dockerfile")


@cli.command("report")
@click.option("--la", help="The council: DfE 3-digit code (841), ONS code (E06000005) or name.")
@click.option("--group", "--partnership", "group_file", type=click.Path(exists=True, dir_okay=False),
              help="YAML group file (a partnership): one table comparing all member councils, and the members' "
                   "provisional returns (loaded with 'csww build --local') beside DfE's. Instead of --la.")
@click.option("--group-id", help="With --group: which group, when the file holds several.")
@click.option("--include-private", is_flag=True,
              help="With --group: also show this build's own private returns (left out by default: the pack goes "
                   "to the partners).")
@click.option("--year", type=int, help="Reporting year (to 30 September). Default: the latest published.")
@click.option("--years", "n_years", type=int,
              help="Trend window: the last N years up to --year. Default: every year up to --year.")
@click.option("--measure", "measure_ids", multiple=True,
              help="A measure to show (repeatable; ids from 'csww measures'). Default: the key measures.")
@click.option("--local", "local_file", type=click.Path(exists=True, dir_okay=False),
              help="The council's own figures (aggregate return, worker extract or census XML) to align to DfE "
                   "definitions and show, labelled provisional. With --la only.")
@click.option("--as-at", "as_at", type=click.DateTime(["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="With --local: set each return beside the latest DfE census published by this date, as "
                   "'csww align --as-at' does (a July 2016 report read against 2015).")
@click.option("--format", "fmt", type=click.Choice(["html", "xlsx", "md", "docx", "pdf"]),
              help="Output format. Default: from the -o extension (.html, .xlsx, .md, .docx, .pdf); another "
                   "extension is an error, as is a --format the extension contradicts (--format pdf -o x.html). "
                   "PDF is the HTML pack printed by Chromium.")
@click.option("--db", default="build/csww.db", show_default=True, type=click.Path(dir_okay=False),
              help="Database written by 'csww build'.")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="File to write (atomically: replaced only when the pack is complete; a missing folder is "
                   "created, and said); '-' writes HTML or Markdown to standard output.")
def report_cmd(la, group_file, group_id, include_private, year, n_years, measure_ids, local_file, as_at, fmt, db,
               output):
    """Write a scrutiny committee pack for a council, or a partnership pack for a group.

    A council pack has a headline table (value, neighbour median, region, England, rank, quartile band,
    change and direction of travel on last year, latest three years), a chart per key measure over every
    year up to --year (or the last --years) with its
    data table, a short exception-led summary generated from the numbers, the council's own figures
    aligned to DfE definitions (--local, labelled provisional), definitions, the neighbour list and
    provenance (DfE releases, checksums, toolkit version). HTML is one accessible, self-contained file
    that prints on A4; PDF is that HTML printed by Chromium (tagged, page numbers); Word (.docx) has
    Word's heading styles, real tables with repeated header rows and charts with alt text; XLSX has one
    sheet per table, number formats, native charts and no macros; Markdown pastes into committee papers.

    \b
    Examples:
        csww report --la 841 --year 2025 -o darlington-2025.html
        csww report --la darlington --format xlsx -o darlington.xlsx
        csww report --la 841 --year 2025 -o darlington-2025.docx
        csww report --la 841 --year 2025 -o darlington-2025.pdf
        csww report --la 841 --format md -o - | less
        csww report --la 841 --local examples/darlington.csv -o darlington-local.html
        csww report --la 841 --year 2015 --local examples/darlington.csv --as-at 2016-07-31 -o d2016.pdf
        csww report --group examples/north_east.yml -o north-east.md
    """
    if la and group_file:
        raise UsageError("--la and --group exclude each other: a partnership pack covers every member of the group; "
                         "for one council's pack give --la without --group")
    chosen = report.output_format(output, fmt)  # an unknown extension, or binary to stdout, fails first
    created = _missing_folder(output) if output != "-" else None
    pack = report.make(db, la=la, group=group_file, year=year, local=local_file, group_id=group_id,
                       measure_ids=measure_ids or None, years=n_years,
                       as_at=_as_at(as_at, db), include_private=include_private)
    path = report.write(pack, output, fmt)
    if created is not None:
        click.echo(f"created folder {created}")
    if output != "-":
        click.echo(f"wrote {path} ({chosen}): {pack.title}, {pack.year}")


@cli.command("compare")
@click.option("--la", "las", required=True, multiple=True,
              help="The council: DfE 3-digit code, 9-character ONS code or name. Repeatable; 'all' for every "
                   "council with figures that year.")
@click.option("--year", type=int, help="Reporting year (to 30 September). Default: the latest published.")
@click.option("--measure", "measure_ids", multiple=True,
              help="Measure id, e.g. agency_rate_fte (repeatable; 'csww measures' lists them). Default: the key "
                   "measures.")
@click.option("--group", "group_file", type=click.Path(exists=True, dir_okay=False),
              help="YAML file of custom groups (partnerships, chosen comparators) to add.")
@click.option("--sn-model", type=click.Choice(["sn_2021", "sn_2025"]),
              help="Statistical neighbour model to use instead of the one for the year.")
@click.option("--sn-method", type=click.Choice(["toolkit", "dashboard"]),
              help="Neighbour median method. toolkit (what 'csww build' stores by default): the model current for "
                   "the year, joint-return neighbours mapped to the joint row, median to one more decimal. "
                   "dashboard: DfE's dashboard median (2025 model every year, joint returns dropped, new councils "
                   "trimmed, half-up to 1 dp). Default: as the database was built.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--db", default="build/csww.db", show_default=True, type=click.Path(dir_okay=False),
              help="Database written by 'csww build'.")
def compare_cmd(las, year, measure_ids, group_file, sn_model, sn_method, fmt, db):
    """Compare a council with England, its region, its statistical neighbours and custom groups.

    For each measure: the council's value, England and region as DfE publishes them, the median and mean
    of DfE's statistical neighbours (which model and which neighbours had a value), rank among all
    councils (1 = lowest), rank in the region, quartile band (A best ... D worst by polarity), change from
    the previous year, direction of travel on last year and the gap in FTE to the neighbour median and England.

    \b
    Examples:
        csww compare --la 841
        csww compare --la darlington --year 2024 --measure turnover_rate_fte --format json
        csww compare --la "E06000002" --group examples/north_east.yml --format csv
        csww compare --la 841 --la 390 --la 805
        csww compare --la all --year 2023 --sn-method dashboard --format csv > sn_2023.csv
    """
    conn = database.connect(db)
    if len(las) == 1 and las[0].lower() != "all":
        if not (group_file or sn_model or sn_method):  # the stored comparisons, read without pandas
            found = compare_one.council_rows(conn, las[0], year, measure_ids)
            if found is not None:
                click.echo(compare_format.show(conn, found[0], found[1], None, fmt), nl=fmt == "table")
                return
        area, rows, groups = compare.council_view(conn, las[0], year, measure_ids, group_file, sn_model, sn_method)
        click.echo(compare_format.show(conn, area, rows, groups, fmt), nl=fmt == "table")
        return
    if group_file:
        raise CLIError("--group works with one council; give one --la")
    rows = compare.councils_view(conn, list(las), year, measure_ids, sn_model, sn_method)
    click.echo(compare_format.show(conn, {}, rows, None, fmt), nl=fmt == "table")  # a table per council


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--la", metavar="CODE", help="DfE 3-digit LA number: picks one council from an aggregate return, "
              "or names the council of a worker extract without an area_code column.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file (atomically) instead of printing.")
@click.option("--as-at", "as_at", type=click.DateTime(["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="Set each return beside the latest DfE census published by this date (the dates --db's releases "
                   "record, else catalogue/releases.yml; a release with no recorded date counts from the end of "
                   "February after its census), instead of the census nearest its snapshot.")
@click.option("--annualise", is_flag=True,
              help="Scale flows (starters, leavers, days lost) over a period other than 12 months to a year.")
@click.option("--export", "export_to", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the aggregate-only return to send to a partnership (JSON: no worker rows, small "
                   "counts suppressed, a SHA-256 checksum, the toolkit version); 'csww build --local' loads it.")
@click.option("--publication", type=click.Choice(["private", "shared", "public"]),
              help="With --export: who may see the return. Default: shared when --partnership is given, else private.")
@click.option("--partnership", metavar="NAME",
              help="With --export: the partnership the return is shared with (its group file's id or name).")
@click.option("--categories", type=click.Path(dir_okay=False, path_type=Path), metavar="MAP.csv",
              help="Map a worker extract's own leaving reasons and starting origins to DfE's census codes "
                   "(columns column, local_category, dfe_code; blank code keeps a category as the council's own).")
@click.option("--db", default="build/csww.db", show_default=True, type=click.Path(dir_okay=False, path_type=Path),
              help="DfE's figures, to check the comparators a return quotes (quoted_<measure_id>) against.")
@click.option("--in-year", "in_year", multiple=True, type=click.DateTime(["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="The in-year view of a worker-level extract instead: rolling 12-month and reporting-year-to-date "
                   "leavers and turnover at this date (on or before the extract's reference date); repeat for "
                   "several dates.")
def align(file, la, fmt, out, as_at, annualise, export_to, publication, partnership, categories, db, in_year):
    """Align a council's own workforce figures to DfE's definitions.

    FILE is an aggregate local return (CSV/XLSX, see examples/template.csv), a worker-level HR extract
    (CSV/XLSX with a worker_id column) or the CSWW census XML return. Prints each measure on DfE's
    definition beside the council's own reported figure, with whether it is comparable and why not.
    Counts of 1-4 people are shown as c. Bad input: every problem is listed and nothing is produced.
    Each return is set beside the DfE census (30 September) nearest its snapshot date, and the distance is
    stated; records carry dfe_year and months_from_census.

    \b
    Example:
        csww align examples/darlington.csv
        csww align hr_extract.xlsx --la 841 --format json -o aligned.json
        csww align examples/darlington.csv --as-at 2016-07-31
        csww align hr_extract.xlsx --la 841 --export darlington-q2.json --partnership "North East councils"
        csww align hr_extract.csv --in-year 2024-03-31 --in-year 2023-12-31 --format json

    With --in-year (a worker-level extract only), prints the rolling 12-month and year-to-date (from
    1 October) leavers and turnover at each date, counted on DfE's rules; a date whose leavers could be
    worked out to be 1-4 people by subtracting another date's figures is shown as c.
    """
    if (publication or partnership) and not export_to:
        raise CLIError("--publication and --partnership go with --export")
    found = []  # warnings: e.g. a worker record given twice, which the figures count once
    if in_year:
        clash = [o for o, given in (("--as-at", as_at), ("--annualise", annualise), ("--export", export_to),
                                    ("--categories", categories)) if given]
        if clash:
            raise CLIError(f"--in-year does not go with {', '.join(clash)}")
        figures = local_series.from_extract(file, [d.date() for d in in_year], la, warnings=found)
    else:
        figures = local.align(file, la, as_at=_as_at(as_at, db), annualise=annualise,
                              categories=categories, warnings=found)
        figures = local.check_quoted(figures, db)
    for p in found:
        click.echo(f"warning: {p}", err=True)
    if export_to:
        level = publication or ("shared" if partnership else "private")
        local_export.write(export_to, figures, level, partnership)
        click.echo(f"{level} return of {figures[0].area_code} exported to {export_to}"
                   + (f" (shared with {partnership})" if level == "shared" else ""), err=True)
    text = output.render(figures, fmt)
    if out:
        fileio.write_text(out, text)
        click.echo(f"{len(figures)} figures written to {out}", err=True)
    else:
        click.echo(text, nl=False)


@cli.command("package")
@click.option("--db", "db_path", default=str(Path("build") / "csww.db"), show_default=True,
              type=click.Path(dir_okay=False), help="The database 'csww build' wrote.")
@click.option("--out", default=None, type=click.Path(file_okay=False),
              help="Output folder; the package is OUT/datapackage/. Default: the database's folder.")
@click.option("--version", "version", default=None, metavar="X.Y.Z",
              help="Semantic version of the package. Default: 1.0.0, or the previous package's version bumped "
                   "(minor for added or removed values, patch for revisions only).")
@click.option("--symbols-in-value", is_flag=True,
              help="Also write DfE's symbols into the value cells, declared as labelled missing values "
                   "(Data Package v2 readers only). Default: value columns hold numbers only, the symbol is in "
                   "the symbol column, and any reader (v1 datapackage, frictionless-r, pandas, Excel) reads it.")
def package_cmd(db_path, out, version, symbols_in_value):
    """Write the Frictionless data package OUT/datapackage/ from a built database.

    The package holds datapackage.json (version, licence, sources, every resource's bytes and
    SHA-256), one CSV per table, csww.xlsx for Excel users and CHANGELOG.md comparing it with the
    package it replaces. It is written to a temporary folder and moved into place when complete.

    \b
    Example:
        csww package --db build/csww.db --out build --version 1.2.0
        csww package --symbols-in-value     # symbols in the value cells too (Data Package v2)
        frictionless validate build/datapackage/datapackage.json
    """
    if version is not None and not _SEMVER.match(version):
        raise CLIError(f"--version {version!r} is not a semantic version X.Y.Z")
    path = package.write_package(db_path, out or Path(db_path).parent, version=version,
                                 symbols_in_value=symbols_in_value)
    desc = json.loads((path / "datapackage.json").read_text(encoding="utf-8"))
    tables = [r["name"] for r in desc["resources"] if r.get("type") == "table"]
    click.echo(f"wrote {path}: version {desc['version']}, {len(tables)} tables ({', '.join(tables)})")


@cli.command()
@click.argument("path", type=click.Path(exists=True))
@click.option("--json", "as_json", is_flag=True, help="Print the problems as JSON.")
@click.option("--warnings", is_flag=True,
              help="List warnings too (differences DfE explains, e.g. regional rates; never invalid).")
def validate(path, as_json, warnings):
    """Validate a built data package (or a council's local return) and list every problem.

    PATH is a package folder, its datapackage.json, or a build folder holding datapackage/.
    Frictionless checks types, constraints, DfE symbols, keys, foreign keys, sizes and SHA-256;
    then csww checks rates (0-100, and within rounding of their components at LA level), duplicate
    keys with blank cells, years and symbols. PATH may also be a council's own return (CSV, XLSX or
    census XML): every problem aligning it to DfE's definitions is listed. Exit status 0 only when
    there are no errors.

    \b
    Example:
        csww validate build/datapackage
        csww validate build/datapackage/datapackage.json --json > report.json
        csww validate examples/darlington.csv
    """
    problems = package.validate(path)
    valid = package.is_valid(problems)
    shown = problems if warnings else [p for p in problems if p.severity == "error"]
    errors = sum(p.severity == "error" for p in problems)
    if as_json:
        click.echo(json.dumps({"path": str(path), "valid": valid, "errors": errors,
                               "warnings": len(problems) - errors, "problems": [p.to_dict() for p in shown]},
                              indent=2))
    else:
        for p in shown:
            click.echo(str(p))
        click.echo(f"{path}: {'valid' if valid else 'INVALID'}: {errors} error{'s' * (errors != 1)}, "
                   f"{len(problems) - errors} warning{'s' * (len(problems) - errors != 1)}"
                   + ("" if warnings or errors == len(problems) else " (--warnings lists them)"))
    if not valid:
        raise SystemExit(1)


@cli.command()
@click.argument("old", type=click.Path(exists=True))
@click.argument("new", type=click.Path(exists=True))
@click.option("--json", "as_json", is_flag=True, help="Print every change as JSON.")
@click.option("--out", "out_file", default=None, type=click.Path(dir_okay=False),
              help="Also write the change log (Markdown) to this file.")
def diff(old, new, as_json, out_file):
    """Compare two builds: values added, removed and revised.

    OLD and NEW are each a build folder, a csww.db or a data package. The comparison is of the
    observations (the newest release's value for each year, area and measure); a symbol replacing
    a number, or one symbol another, counts as a revision.

    \b
    Example:
        csww diff build-2024 build-2025
        csww diff build-2024/csww.db build/datapackage --out CHANGES.md
    """
    d = package.diff(old, new)
    text = package.changelog(d, "changes", datetime.now(timezone.utc).isoformat(), None,
                             heading=f"Changes from {old} to {new}")
    if out_file:
        fileio.write_text(out_file, text)
    if as_json:
        click.echo(json.dumps(d.to_dict(), indent=2))
    else:
        click.echo(text)


@cli.command()
@click.option("--check", is_flag=True, help="Change nothing; exit 1 if a generated file is out of date.")
def docs(check):
    """Regenerate docs/tables.md and metadata.yml from the schemas in benchmark/datapackages/.

    \b
    Example:
        csww docs
        csww docs --check       # in CI
    """
    if check:
        bad = docs_mod.stale()
        for p in bad:
            click.echo(f"{p} is out of date; run 'csww docs'", err=True)
        if bad:
            raise SystemExit(1)
        click.echo("generated docs are up to date")
        return
    changed = docs_mod.write()
    click.echo("\n".join(f"wrote {p}" for p in changed) or "generated docs were already up to date")


@cli.command()
@click.option("--db", default="build/csww.db", show_default=True, type=click.Path(dir_okay=False),
              help="Database written by 'csww build --local'.")
@click.option("--publish", "to_publish", multiple=True, metavar="RETURN_ID",
              help="Mark a return published: its figures may go into the data package and the public site.")
@click.option("--unpublish", "to_unpublish", multiple=True, metavar="RETURN_ID", help="Take a return back.")
def returns(db, to_publish, to_unpublish):
    """List the council's own returns loaded with 'csww build --local', and publish them.

    Local returns are unpublished when loaded: they stay out of the data package and the public site
    (the private, password-protected instance shows them). Publish a return once the council agrees its
    figures may be shared, then run 'csww package' and 'csww serve' (or 'csww publish') again.

    \b
    Example:
        csww returns
        csww returns --publish 841:2016-04-01:2016-07-31:5983a1e9233c
    """
    store.connect(db).close()  # a clear error when it is missing or not a CSWW database
    conn = sqlite3.connect(db)
    try:
        if to_publish or to_unpublish:
            local_store.set_published(conn, list(to_publish), True)
            local_store.set_published(conn, list(to_unpublish), False)
        rows = local_store.list_returns(conn)
    finally:
        conn.close()
    if not rows:
        click.echo(f"{db}: no local returns; load them with 'csww build --local FILE'")
        return
    for r in rows:
        state = "published" if r["published"] else "unpublished"
        if r.get("publication") == "shared":  # loaded from a member's export (csww align --export)
            state = f"shared with {r['partnership']}"
        click.echo(f"{r['return_id']}  {state:11}  "  # the id keeps ISO dates; the period is in words
                   f"{formatting.fmt_date(r['period_start'])} to {formatting.fmt_date(r['period_end'])}  "
                   f"{r['input_kind']}, {r['figures']} figures, {r['source_file']}")


@cli.command("measures")
@click.option("--key", "key_only", is_flag=True, help="Only the key measures (what 'csww report' and 'csww compare' "
              "show without --measure).")
def measures_cmd(key_only):
    """List the measure ids --measure takes (catalogue/measures.yml): id, unit, key measure, label.

    \b
    Example:
        csww measures
        csww measures --key
    """
    rows = [m for m in measures_mod.catalogue().values() if m.key or not key_only]
    width = max(len(m.id) for m in rows)
    unit = max(len(m.unit) for m in rows)
    click.echo(f"{'measure id':{width}}  {'unit':{unit}}  key  label")
    for m in rows:
        click.echo(f"{m.id:{width}}  {m.unit:{unit}}  {'yes' if m.key else '   '}  {m.label}")
