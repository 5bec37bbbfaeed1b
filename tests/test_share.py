"""Sharing with a partnership (issue 11 item 8): csww align --export, csww build --local EXPORT, the partnership
pack, and the publication levels (private, shared, public) that keep shared returns out of everything public.

The returns are hand-made (tests/fixtures/partnership, values worked out by hand in its README) for councils of
the mini fixture (tests/fixtures/indicators_mini.csv), so none of this needs ../shared.
"""

import csv
import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FIXTURES
from report_html import PackHTML
from test_align_workers import write as write_extract

from benchmark import publication, tables
from benchmark.cli import cli
from benchmark.local import InputError, align, export
from benchmark.local.store import load_files

HERE = FIXTURES / "partnership"
GROUP = HERE / "tees_valley.yml"
SHARED = {"807": "redcar_2024.csv", "808": "stockton_2024.csv", "841": "darlington_2024.csv"}
PUBLIC = {"806": "middlesbrough_2024.csv"}


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result


def exported(tmp_path: Path, source: Path, *options) -> Path:
    out = tmp_path / (source.stem + ".json")
    result = run("align", source, "--export", out, *options)
    assert result.exit_code == 0, result.output
    return out


# ---------------------------------------------------------------------------------------------------------------
# The export itself


def test_export_holds_aggregates_only_and_its_suppressed_cells_stay_suppressed(tmp_path):
    extract = write_extract(tmp_path / "hr_extract.csv")
    path = exported(tmp_path, extract, "--partnership", "Tees Valley")
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert set(doc) == {"format", "format_version", "toolkit_version", "exported_at", "source_file", "area_code",
                        "publication", "partnership", "returns", "checksum"}
    assert (doc["area_code"], doc["publication"], doc["partnership"]) == ("841", "shared", "Tees Valley")
    assert doc["source_file"] == "hr_extract.csv"  # the base name only, never the folders
    (ret,) = doc["returns"]
    assert (ret["snapshot_date"], ret["input_kind"], ret["dfe_year"], ret["months_from_census"]) == \
        ("2024-09-30", "worker", 2024, 0)
    assert ret["census"] == "at DfE's 30 September 2024 census"
    assert set(ret) == set(export.RETURN_FIELDS)
    assert all(set(f) == set(export.FIGURE_FIELDS) for f in ret["figures"])  # no worker_id, no worker field
    text = path.read_text(encoding="utf-8")
    assert "AB00000000" not in text.upper() and str(tmp_path) not in text
    # the checksum is SHA-256 over the canonical form: sorted keys, no spaces, UTF-8, without the checksum
    body = {k: v for k, v in doc.items() if k != "checksum"}
    canon = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert doc["checksum"] == {"algorithm": "sha256", "value": hashlib.sha256(canon).hexdigest()}

    figures = {f["measure_id"]: f for f in ret["figures"]}
    # the extract's 1 agency worker is suppressed, and the agency rate that would give it away
    assert (figures["agency_headcount"]["value"], figures["agency_headcount"]["symbol"]) == (None, "c")
    assert (figures["agency_rate_fte"]["value"], figures["agency_rate_fte"]["symbol"]) == (None, "c")
    assert figures["inpost_headcount"]["value"] == 6
    aligned = align(extract)
    suppressed = {f.measure_id for f in aligned if f.symbol == "c"}
    assert suppressed == {m for m, f in figures.items() if f["symbol"] == "c"}
    # read back, it is the same figures, still suppressed
    back = {f.measure_id: f for f in align(path)}
    assert {m for m, f in back.items() if f.symbol == "c"} == suppressed
    assert back["inpost_headcount"].value == 6 and back["agency_headcount"].value is None
    assert back["inpost_headcount"].source_file == "hr_extract.csv"
    checked = run("validate", path)  # a partnership checks a member's file before loading it
    assert checked.exit_code == 0 and "hr_extract.json: valid: 0 errors" in checked.output


def test_export_options_are_checked(tmp_path):
    source = HERE / SHARED["807"]
    shared_without_name = run("align", source, "--export", tmp_path / "x.json", "--publication", "shared")
    assert shared_without_name.exit_code == 1
    assert "a shared return names its partnership: give --partnership NAME" in shared_without_name.output
    no_export = run("align", source, "--partnership", "Tees Valley")
    assert no_export.exit_code == 1 and "--publication and --partnership go with --export" in no_export.output
    public_and_named = run("align", source, "--export", tmp_path / "x.json", "--publication", "public",
                           "--partnership", "Tees Valley")
    assert public_and_named.exit_code == 1 and "goes with --publication shared" in public_and_named.output
    assert not (tmp_path / "x.json").exists()
    several = tmp_path / "two.csv"  # an export is one council's return
    rows = [line for name in ("redcar_2024.csv", "stockton_2024.csv")
            for line in (HERE / name).read_text().splitlines()]
    several.write_text("\n".join([rows[0], rows[1], rows[3]]) + "\n")
    result = run("align", several, "--export", tmp_path / "y.json")
    assert result.exit_code == 1 and "holds 2 councils (807, 808)" in result.output and "--la" in result.output
    assert run("align", several, "--la", "808", "--export", tmp_path / "y.json").exit_code == 0
    assert json.loads((tmp_path / "y.json").read_text())["area_code"] == "808"


def _rewrite(path: Path, change) -> Path:
    """Change an export and give it a correct checksum again: what someone forging one would do."""
    doc = json.loads(path.read_text())
    change(doc)
    doc["checksum"] = {"algorithm": "sha256", "value": export.checksum(doc)}
    path.write_text(json.dumps(doc))
    return path


def test_a_tampered_or_disguised_export_is_refused_naming_the_file(tmp_path):
    extract = write_extract(tmp_path / "hr_extract.csv")
    good = exported(tmp_path, extract, "--partnership", "Tees Valley")
    out = tmp_path / "build"

    tampered = tmp_path / "tampered.json"
    tampered.write_text(good.read_text().replace('"value": 6', '"value": 7', 1))
    assert tampered.read_text() != good.read_text()
    result = run("build", "--from", FIXTURES / "indicators_mini.csv", "--out", out, "--local", tampered, "-q")
    assert result.exit_code == 1
    assert "tampered.json" in result.output and "checksum does not match" in result.output
    invalid = run("validate", tampered)
    assert invalid.exit_code == 1 and "checksum does not match" in invalid.output
    assert "Traceback" not in result.output and not (out / "csww.db").exists()  # nothing half-written

    # a worker-level file renamed .json
    renamed = tmp_path / "workers.json"
    renamed.write_bytes(extract.read_bytes())
    with pytest.raises(InputError) as exc:
        align(renamed)
    assert "workers.json" in exc.value.summary() and "not an exported return" in exc.value.summary()
    assert "AB00000000" not in exc.value.summary()

    # a worker's fields added to a figure, checksum recomputed
    def add_worker(doc):
        doc["returns"][0]["figures"].append({**doc["returns"][0]["figures"][0], "worker_id": "AB0000000001"})
    forged = tmp_path / "forged.json"
    forged.write_text(good.read_text())
    _rewrite(forged, add_worker)
    with pytest.raises(InputError) as exc:
        align(forged)
    msg = exc.value.summary()
    assert "forged.json" in msg and "worker_id" in msg and "aggregates only" in msg and "AB0000000001" not in msg

    # a suppressed count put back (1 agency worker) from worker-level input
    def unsuppress(doc):
        for f in doc["returns"][0]["figures"]:
            if f["measure_id"] == "agency_headcount":
                f["value"], f["symbol"] = 1, None
    unsuppressed = tmp_path / "unsuppressed.json"
    unsuppressed.write_text(good.read_text())
    _rewrite(unsuppressed, unsuppress)
    with pytest.raises(InputError) as exc:
        align(unsuppressed)
    assert "agency_headcount" in exc.value.summary() and "must be suppressed" in exc.value.summary()


# ---------------------------------------------------------------------------------------------------------------
# The partnership's build and pack; the public database and the package


@pytest.fixture(scope="module")
def partnership_build(tmp_path_factory):
    """The partnership's build: the mini DfE fixture, three members' returns shared with Tees Valley and one
    member's return exported public."""
    tmp = tmp_path_factory.mktemp("partnership")
    files = {code: exported(tmp, HERE / name, "--partnership", "Tees Valley") for code, name in SHARED.items()}
    files |= {code: exported(tmp, HERE / name, "--publication", "public") for code, name in PUBLIC.items()}
    out = tmp / "build"
    result = run("build", "--from", FIXTURES / "indicators_mini.csv", "--out", out, "-q",
                 *[x for f in files.values() for x in ("--local", f)])
    assert result.exit_code == 0, result.output
    return out, files


def _returns(db: Path) -> dict:
    with sqlite3.connect(db) as conn:
        return {r[1]: r for r in conn.execute(
            "SELECT return_id, area_code, publication, partnership, published, source_file FROM local_returns")}


def test_exports_load_with_their_publication_level(partnership_build):
    out, _ = partnership_build
    rows = _returns(out / "csww.db")
    assert sorted(rows) == ["806", "807", "808", "841"]
    assert [rows[c][2:5] for c in ("807", "808", "841")] == [("shared", "Tees Valley", 0)] * 3
    assert rows["806"][2:5] == ("public", None, 1)
    assert rows["807"][5] == "redcar_2024.json"
    listing = run("returns", "--db", out / "csww.db").output
    assert listing.count("shared with Tees Valley") == 3 and listing.count("  published  ") == 1
    with sqlite3.connect(out / "csww.db") as conn:
        got = dict(conn.execute("SELECT area_code, value FROM local_observations "
                                "WHERE measure_id = 'turnover_rate_fte' AND team = ''").fetchall())
    assert got == {"807": 21.6, "808": 25.0, "841": 15.0, "806": 20.0}  # hand-worked: fixtures README


def test_partnership_pack_sets_members_provisional_figures_beside_dfe(partnership_build, tmp_path):
    out, _ = partnership_build
    html = tmp_path / "tees.html"
    result = run("report", "--partnership", GROUP, "--db", out / "csww.db", "--year", "2024", "-o", html)
    assert result.exit_code == 0, result.output
    from benchmark.report import make
    pack = make(out / "csww.db", group=GROUP, year=2024)
    section = next(s for s in pack.sections if s.id == "member-returns")
    assert section.provisional
    (table,) = section.tables
    rows = {(r[0].text, r[1].text): [c.text for c in r[2:]] for r in table.rows}
    # provisional (hand-worked) beside DfE 2024 for the council and England (indicators_mini.csv)
    assert rows[("Turnover rate (FTE)", "Redcar and Cleveland")] == [
        "1 October 2023 to 30 September 2024", "21.6%", "yes", "2024", "24.4%", "21.6%", "shared with the partnership"]
    assert rows[("Turnover rate (FTE)", "Stockton-on-Tees")][1:6] == ["25.0%", "yes", "2024", "24.0%", "21.6%"]
    assert rows[("Agency worker rate (FTE)", "Darlington")][1] == "20.0%"
    assert rows[("Vacancy rate (FTE)", "Stockton-on-Tees")][1:2] + rows[("Vacancy rate (FTE)", "Stockton-on-Tees")][4:5] \
        == ["14.8%", "16.7%"]
    assert rows[("Turnover rate (FTE)", "Middlesbrough")][-1] == "public"
    page = PackHTML(html.read_text(encoding="utf-8")).table("member-returns-table")
    assert "members' own figures (provisional) beside DfE's" in page.caption
    cells = {(r[0][1], r[1][1]): [c[1] for c in r] for r in page.rows}
    assert cells[("Turnover rate (FTE)", "Darlington")][3] == "15.0%"
    assert cells[("Vacancy rate (FTE)", "Redcar and Cleveland")][3] == "8.0%"
    assert page.column("Council, DfE published") == 6


def test_shared_returns_reach_neither_the_public_database_nor_the_package(partnership_build, tmp_path):
    out, files = partnership_build
    ids = {r[1]: r[0] for r in _returns(out / "csww.db").values()}
    bundle = tmp_path / "bundle"
    assert run("publish", "--out", out, "--bundle", bundle).exit_code == 0
    public_db = bundle / "csww.db"
    assert _returns(public_db).keys() == {"806"}  # the public return is there: the search below can find one
    with sqlite3.connect(public_db) as conn:
        dump = "\n".join(conn.iterdump())
        provisional = {r[0] for r in conn.execute("SELECT DISTINCT return_id FROM comparisons WHERE provisional = 1")}
    assert ids["806"] in dump and provisional == {ids["806"]}
    package = "\n".join(p.read_text(encoding="utf-8") for p in sorted((out / "datapackage").glob("*.csv")))
    assert ids["806"] in package and "middlesbrough_2024.json" in package
    for code in SHARED:
        for text, where in ((dump, public_db), (package, out / "datapackage")):
            assert ids[code] not in text, (code, where)
            assert files[code].name not in text, (code, where)
    with open(out / "datapackage" / "local_observations.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["area_code"] for r in rows} == {"806"}
    assert {r["return_id"] for r in rows} == {ids["806"]}


# ---------------------------------------------------------------------------------------------------------------
# publication.py: the one rule


def _levels_db() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.executescript(tables.ddl("local_returns") + tables.ddl("local_observations") + publication.TRIGGERS)
    rows = [("a", "private", None), ("b", "shared", "Tees Valley"), ("c", "shared", "Durham"), ("d", "public", None)]
    for rid, level, partner in rows:
        conn.execute("INSERT INTO local_returns (return_id, area_code, period_start, period_end, time_period, "
                     "input_kind, source_file, sha256, loaded_at, publication, partnership, published) VALUES "
                     "(?, '841', '2023-10-01', '2024-09-30', 2024, 'aggregate', 'x.json', ?, 'now', ?, ?, ?)",
                     (rid, "0" * 64, level, partner, int(level == "public")))
    return conn


def test_publication_levels_one_rule():
    conn = _levels_db()
    public = publication.where(conn, "local_returns")
    assert [r[0] for r in conn.execute(f"SELECT return_id FROM local_returns WHERE {public}")] == ["d"]
    sql, params = publication.partnership_where(conn, "local_returns", ["tees_valley", "TEES VALLEY"])
    assert sorted(r[0] for r in conn.execute(f"SELECT return_id FROM local_returns WHERE {sql}", params)) == \
        ["a", "b", "d"]  # never the return shared with another partnership
    publication.set_level(conn, ["b"], "public")  # csww returns --publish on a shared return
    assert conn.execute("SELECT publication, partnership, published FROM local_returns WHERE return_id = 'b'"
                        ).fetchone() == ("public", None, 1)
    # the older flag, set as scripts written before levels set it, moves the level with it, and back
    conn.execute("UPDATE local_returns SET published = 1 WHERE return_id = 'c'")
    assert conn.execute("SELECT publication, partnership FROM local_returns WHERE return_id = 'c'").fetchone() == \
        ("public", None)
    conn.execute("UPDATE local_returns SET published = 0 WHERE return_id = 'c'")
    conn.execute("UPDATE local_returns SET publication = 'public' WHERE return_id = 'a'")
    assert conn.execute("SELECT return_id, publication, published FROM local_returns WHERE return_id IN ('a', 'c') "
                        "ORDER BY 1").fetchall() == [("a", "public", 1), ("c", "private", 0)]
    with pytest.raises(sqlite3.IntegrityError):  # a shared return names its partnership
        conn.execute("UPDATE local_returns SET publication = 'shared' WHERE return_id = 'd'")
    with pytest.raises(ValueError):
        publication.set_level(conn, ["a"], "shared")


def test_own_file_loads_private():
    conn = sqlite3.connect(":memory:")
    ids = load_files(conn, [HERE / SHARED["807"]])
    assert conn.execute("SELECT publication, partnership, published FROM local_returns WHERE return_id = ?",
                        ids).fetchone() == ("private", None, 0)
