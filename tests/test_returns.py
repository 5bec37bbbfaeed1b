"""csww returns: list the council's own returns and mark them published, which the package then honours."""

import sqlite3

from click.testing import CliRunner
from conftest import FIXTURES, ROOT

from benchmark.build import build
from benchmark.cli import cli
from benchmark.package import write_package


def test_list_publish_and_package(tmp_path):
    build([FIXTURES / "indicators_2025_small.csv"], tmp_path, local_files=[ROOT / "examples" / "darlington.csv"])
    db = tmp_path / "csww.db"
    runner = CliRunner()
    listing = runner.invoke(cli, ["returns", "--db", str(db)])
    assert listing.exit_code == 0, listing.output
    lines = listing.output.splitlines()
    assert len(lines) == 2 and all("unpublished" in line for line in lines)
    july = next(line.split()[0] for line in lines if "1 April 2016 to 31 July 2016" in line)
    assert july.startswith("841:2016-04-01:2016-07-31:")

    result = runner.invoke(cli, ["returns", "--db", str(db), "--publish", july])
    assert result.exit_code == 0 and f"{july}  published" in result.output
    with sqlite3.connect(db) as conn:
        assert conn.execute("select return_id from local_returns where published = 1").fetchall() == [(july,)]
    write_package(db, tmp_path)
    rows = (tmp_path / "datapackage" / "local_returns.csv").read_text().splitlines()
    assert len(rows) == 2 and rows[1].startswith(july)

    unknown = runner.invoke(cli, ["returns", "--db", str(db), "--publish", "nope"])
    assert unknown.exit_code == 1 and "no local return 'nope'" in unknown.output


def test_rebuild_keeps_the_councils_publication_decision(tmp_path):
    sources, local = [FIXTURES / "indicators_2025_small.csv"], [ROOT / "examples" / "darlington.csv"]
    build(sources, tmp_path, local_files=local)
    db = tmp_path / "csww.db"
    with sqlite3.connect(db) as conn:
        rid = conn.execute("select return_id from local_returns order by period_end limit 1").fetchone()[0]
    assert CliRunner().invoke(cli, ["returns", "--db", str(db), "--publish", rid]).exit_code == 0
    build(sources, tmp_path, local_files=local)  # next month's rebuild
    with sqlite3.connect(db) as conn:
        assert conn.execute("select return_id from local_returns where published = 1").fetchall() == [(rid,)]
