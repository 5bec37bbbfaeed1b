"""The package workbook's cells (issue 14 item 6: each column's repeated texts are converted once): every cell is
its CSV cell converted by its field's type, whatever repeats, on every sheet of a split table; a CSV that is not
what the package said it wrote is a bug (a RuntimeError naming the file), never a workbook with cells missing."""

from __future__ import annotations

import csv
import itertools
import json
import math
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook

from benchmark import package, workbook

FIELDS = [{"name": "area_code", "type": "string"}, {"name": "value", "type": "number"},
          {"name": "source_row", "type": "integer"}]

#: OWASP's rule restated: text starting with = + - @ tab or CR is a formula unless a signed plain number or "-".
INERT = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)|-")


def _about(fields: list[dict]) -> dict:
    return {"title": "t", "version": "1.0.0", "description": "d", "licenses": [{"title": "OGL", "path": "u"}],
            "resources": [{"name": "t", "type": "table", "path": "t.csv", "title": "T", "description": "",
                           "schema": {"fields": fields}}]}


def _write(tmp_path: Path, rows: list[str], count: int | None = None, row_limit: int = workbook.EXCEL_ROWS,
           fields: list[dict] = FIELDS) -> Path:
    src = tmp_path / "t.csv"
    src.write_text("\n".join([",".join(f["name"] for f in fields), *rows]) + "\n", encoding="utf-8")
    out = tmp_path / "t.xlsx"
    workbook.write(out, _about(fields), ["t"], [("t", fields, len(rows) if count is None else count, str(src))],
                   row_limit=row_limit, tmpdir=str(tmp_path))
    return out


def _expected(text: str, kind: str):
    """A CSV cell as the workbook must hold it, by the rule of the package's tests (written out here, not taken
    from ``workbook``): empty -> no cell; a number in a number field; text otherwise, a formula made inert."""
    if text == "":
        return None
    if kind in ("integer", "number"):
        try:
            v = int(text) if kind == "integer" else float(text)
            if math.isfinite(v):  # Excel holds no infinity or NaN: that text stays text
                return v
        except ValueError:
            pass
    return "'" + text if text[0] in "=+-@\t\r" and not INERT.fullmatch(text) else text


def _typed(v):
    """A cell's value with whether it is text (1 and 1.0 are the same number; "1" is not)."""
    return (isinstance(v, str), v)


def test_repeated_texts_keep_their_columns_type(tmp_path):
    """The same text is a string in a text column, a number in a number field, and a DfE symbol stays text; a
    formula-like text is made inert each time it comes."""
    rows = ["841,841,1", "841,841,1", "=1+2,x,2", "=1+2,x,2", "-,-,3", "0,0,0", "0,0,0", "841,,1"] * 3
    wb = load_workbook(_write(tmp_path, rows), read_only=True)
    got = [tuple(map(_typed, r)) for r in wb["t"].iter_rows(min_row=2, values_only=True)]
    assert got[:8] == [((True, "841"), (False, 841), (False, 1))] * 2 + [((True, "'=1+2"), (True, "x"), (False, 2))] * 2 + [
        ((True, "-"), (True, "-"), (False, 3))] + [((True, "0"), (False, 0), (False, 0))] * 2 + [
        ((True, "841"), (False, None), (False, 1))]
    assert got == got[:8] * 3


def test_a_column_with_more_distinct_texts_than_the_memo_holds(tmp_path):
    """Past ``workbook.MEMO`` distinct texts a column's cells are still each converted: every cell checked."""
    n = workbook.MEMO + 300
    rows = [f"E{i:08d},{i}.5,{i}" for i in range(n)] + [f"E{i:08d},{i}.5,{i}" for i in range(n - 1, -1, -7)]
    wb = load_workbook(_write(tmp_path, rows), read_only=True)
    got = [tuple(map(_typed, r)) for r in wb["t"].iter_rows(min_row=2, values_only=True)]
    want = [tuple(_typed(_expected(c, f["type"])) for c, f in zip(r.split(","), FIELDS)) for r in rows]
    assert len(got) == len(rows) == n + len(range(n - 1, -1, -7)) and got == want
    k = workbook.MEMO + 10  # a row after the memo filled up
    assert got[k] == ((True, f"E{k:08d}"), (False, k + 0.5), (False, k))


def test_each_sheet_of_a_split_table_holds_its_own_rows(tmp_path):
    """The same cells on every sheet of a split table: each goes to its own sheet (none to the sheet before)."""
    wb = load_workbook(_write(tmp_path, ["841,95.6,1"] * 4 + ["842,x,2"], row_limit=3), read_only=True)
    assert wb.sheetnames == ["About", "t", "t (2)", "t (3)"]
    assert [r for r in wb["t"].iter_rows(values_only=True)] == [("area_code", "value", "source_row"),
                                                               ("841", 95.6, 1), ("841", 95.6, 1)]
    assert [r for r in wb["t (2)"].iter_rows(values_only=True)] == [("area_code", "value", "source_row"),
                                                                   ("841", 95.6, 1), ("841", 95.6, 1)]
    assert [r for r in wb["t (3)"].iter_rows(values_only=True)] == [("area_code", "value", "source_row"),
                                                                   ("842", "x", 2)]


def test_numbers_excel_cannot_hold_stay_text_and_long_text_is_cut_to_excels_limit(tmp_path):
    out = _write(tmp_path, ["841,inf,1", "842,-inf,2", "843,nan,3", "844,1e309,4", "x" * 40_000 + ",95.6,5"])
    rows = list(load_workbook(out, read_only=True)["t"].iter_rows(values_only=True))[1:]
    assert [r[1] for r in rows] == ["inf", "'-inf", "nan", "1e309", 95.6]  # "-inf" made inert, as any "-..." text
    assert rows[4][0] == "x" * 32_767  # Excel's most characters in a cell; the CSV keeps all 40,000


def test_an_empty_table_is_its_header(tmp_path):
    wb = load_workbook(_write(tmp_path, []), read_only=True)
    assert [r for r in wb["t"].iter_rows(values_only=True)] == [("area_code", "value", "source_row")]


def test_a_row_of_the_wrong_width_is_a_bug_naming_the_file_and_row(tmp_path):
    with pytest.raises(RuntimeError, match=r"t\.csv: row 3 has 4 cells, not 3"):
        _write(tmp_path, ["841,95.6,1", "842,1,2,3", "843,2,3"])


def test_more_rows_than_the_package_said_is_a_bug(tmp_path):
    with pytest.raises(RuntimeError, match=r"t\.csv: 3 rows, not the 2 the package wrote"):
        _write(tmp_path, ["841,95.6,1", "842,1,2", "843,2,3"], count=2)


def _sheet_and_csv(pkg: Path, wb, name: str, rows: int | None = None) -> tuple[list, list]:
    """The first ``rows`` rows (all by default) of sheet ``name`` and of its CSV converted by the rule, typed."""
    fields = next(r for r in json.loads((pkg / "datapackage.json").read_text(encoding="utf-8"))["resources"]
                  if r["name"] == name)["schema"]["fields"]
    with open(pkg / f"{name}.csv", newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        assert next(reader) == [f["name"] for f in fields]
        want = [tuple(_typed(_expected(c, f["type"])) for c, f in zip(row, fields))
                for row in itertools.islice(reader, rows)]
    sheet = wb[name].iter_rows(values_only=True, max_row=None if rows is None else rows + 1)
    assert list(next(sheet)) == [f["name"] for f in fields]
    return [tuple(map(_typed, r)) for r in sheet], want


def test_real_sheets_are_their_csvs_cell_for_cell(real_db):
    """The real build's workbook, where area codes, measure ids, topics, roles, release ids and most values
    repeat thousands of times: every cell of the neighbours, areas and measures sheets, and of the breakdowns
    sheet's first 6,000 rows (the SFR files': values beside DfE's suppressed 'x'), is its CSV cell typed by its
    field (Darlington's 2015 social workers aged 30 to 39: 20.1 FTE; 60 and over: 'x'; age not known: 0)."""
    pkg = real_db.parent / package.PACKAGE_DIR
    wb = load_workbook(pkg / package.WORKBOOK, read_only=True)
    for name in ("neighbours", "areas", "measures"):
        got, want = _sheet_and_csv(pkg, wb, name)
        assert got == want and len(got) > 100, name
    got, want = _sheet_and_csv(pkg, wb, "breakdowns", 6000)
    assert got == want and len(got) == 6000
    at = {tuple(v for _, v in r[:5]): (r[6][1], r[7][1]) for r in got}
    assert at[(2015, "841", "inpost_fte", "Age", "30 to 39")] == (20.1, None)
    assert at[(2015, "841", "inpost_fte", "Age", "60 and over")] == (None, "x")
    assert at[(2015, "841", "inpost_fte", "Age", "Not known")] == (0, None)
    assert sum(1 for r in got if r[7][1] == "x") > 500  # DfE's symbols among the values
