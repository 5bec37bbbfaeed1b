"""``parse``: a worker extract read by pyarrow (text converted once per distinct value) gives the same values and
the same problems, row by row, as the same cells read by pandas as Python strings."""

import numpy as np
import pandas as pd
import pytest

from benchmark.local import parse

pytest.importorskip("pyarrow")

CELLS = {"fte": ["1", "0.5", "", " 0.6", "1,5", "12%", "-1", "0.5", "x", "1.2"],
         "start_date": ["2023-09-30", "30/09/2023", "", "2023-02-30", "45199", "2023-09-30 00:00:00", "soon",
                        "2023-09-30", "1.0", "2023-01-01"],
         "agency": ["0", "1", "1.0", "", "2", "0", "yes", "1", "0", "01"]}


def _frames():
    index = pd.RangeIndex(2, 2 + len(CELLS["fte"]))
    plain = pd.DataFrame({k: pd.Series(v, dtype=object, index=index) for k, v in CELLS.items()})
    arrow = pd.DataFrame({k: pd.Series(v, dtype=pd.StringDtype("pyarrow", na_value=float("nan")), index=index)
                          for k, v in CELLS.items()})
    return plain, arrow


@pytest.mark.parametrize("convert, column, options", [
    (parse.numbers, "fte", {"low": 0, "high": 1, "what": " FTE per worker record"}),
    (parse.dates, "start_date", {}),
    (parse.codes, "agency", {"allowed": {"0", "1"}}),
])
def test_distinct_values_give_the_same_values_and_problems(convert, column, options):
    plain, arrow = _frames()
    assert parse._arrow_text(arrow[column]) is not None and parse._arrow_text(plain[column]) is None
    p1, p2 = [], []
    v1 = convert(plain, column, "w.csv", p1, **options)
    v2 = convert(arrow, column, "w.csv", p2, **options)
    assert [str(x) for x in v1] == [str(x) for x in v2] and list(v1.index) == list(v2.index)
    assert p1 == p2 and p1  # every column above has bad cells
    if convert is parse.numbers:  # rows 6 (1,5: a decimal comma, never read as 15), 7 (12%), 8 (-1), 10 (x), 11 (1.2)
        assert [(p.row, p.value) for p in p2] == [(7, "12%"), (6, "1,5"), (10, "x"), (8, "-1"), (11, "1.2")]
        assert p2[1].message.startswith("not a number: a comma is read only as a thousands separator")
        assert v2[3] == 0.5 and v2[5] == 0.6 and pd.isna(v2[4])
    if convert is parse.dates:  # 30 Feb, "soon" and 1.0 are not dates; 45199 is Excel's 30 Sep 2023
        assert [(p.row, p.value) for p in p2] == [(5, "2023-02-30"), (8, "soon"), (10, "1.0")]
        assert v2[6] == pd.Timestamp("2023-09-30")
    if convert is parse.codes:
        assert [(p.row, p.value) for p in p2] == [(6, "2"), (8, "yes"), (11, "01")]
        assert v2[4] == "1"


@pytest.mark.parametrize("hours", [False, True])
def test_records_by_person_are_in_the_order_of_a_stable_sort(hours):
    from benchmark.local.workers import _by_person

    rng = np.random.default_rng(7)
    n = 5000
    start = pd.to_datetime("1995-01-01") + pd.to_timedelta(rng.integers(0, 11000, n), unit="D")
    if hours:  # a time of day: the one-key sort on days does not apply, the two-key one does
        start += pd.to_timedelta(rng.integers(0, 24, n), unit="h")
    w = pd.DataFrame({"agency": rng.random(n) < 0.1, "pid": rng.integers(0, 800, n), "start": start},
                     index=pd.RangeIndex(2, n + 2))
    w.loc[rng.random(n) < 0.03, "start"] = pd.NaT  # no start date: last, in file order
    expected = w.loc[~w.agency].sort_values(["pid", "start"], kind="stable").index
    assert list(w.index[_by_person(w)]) == list(expected)


@pytest.mark.parametrize("body", [
    b"SW1,0.5\nSW2, 0.6\n",            # a space after the separator: skipinitialspace strips it
    b'SW1,0.5\nSW2," 0.6"\n',          # a quoted cell that starts with a space: kept
    b"SW1,0.5\r\n\tSW2,0.6\r\n",        # a tab after a line break
    b"SW1,0.5\nSW 2,0.6\n",             # a space inside a cell only: pyarrow's own read
])
def test_a_worker_extract_reads_as_pandas_reads_it(tmp_path, body):
    path = tmp_path / "extract.csv"
    path.write_bytes(b"\xef\xbb\xbfworker_id,fte\n" + body)
    got = parse.read_table(path)
    want = pd.read_csv(path, encoding="utf-8-sig", dtype=object, keep_default_na=False, skipinitialspace=True)
    assert got.to_numpy().tolist() == want.to_numpy().tolist()
    assert got["fte"].tolist() in (["0.5", "0.6"], ["0.5", " 0.6"])


def test_a_worker_extract_not_in_utf8_names_the_row_and_column(tmp_path):
    """pyarrow rejects it; the byte scan of ``encoding`` then finds the codec (Windows-1252) or says where."""
    path = tmp_path / "extract.csv"
    path.write_bytes("worker_id,role\nSW1,Café\n".encode("cp1252"))
    assert parse.read_table(path)["role"].tolist() == ["Café"]
    path.write_bytes(b"\xef\xbb\xbfworker_id,role\nSW1,ok\nSW2,caf\xe9\n")
    with pytest.raises(parse.InputError) as err:
        parse.read_table(path)
    (problem,) = err.value.problems
    assert (problem.row, problem.column) == (3, "role") and "cannot be read as UTF-8" in problem.message


@pytest.mark.parametrize("decimal", [None, ","])
def test_a_comma_is_read_only_as_a_thousands_separator(decimal):
    """Review item 3: "2,5" was read as 25 and "1.234,5" as 1.2345 in a comma-separated file. A comma is read only
    where it fits 1,234 / 12,345.5 (never after a leading 0); a semicolon-separated file (decimal comma) reads "2,5" as 2.5, as ever."""
    cells = ["1,234", "12,345.5", "-1,000", "2,5", "1.234,5", "0,8", "12,34", "1,2345", "0,250", ""]
    df = pd.DataFrame({"n": pd.Series(cells, dtype=object, index=pd.RangeIndex(2, 2 + len(cells)))})
    if decimal:
        df.attrs["decimal"] = decimal
    problems = []
    got = parse.numbers(df, "n", "f.csv", problems, low=None)
    if decimal:
        assert (got[5], got[7], got[8], got[10]) == (2.5, 0.8, 12.34, 0.25)
        return
    assert got.loc[2:4].tolist() == [1234, 12345.5, -1000] and got.loc[5:].isna().all()
    assert [(p.row, p.value) for p in problems] == [(r, cells[r - 2]) for r in range(5, 11)]  # "0,250" too: not 250
    assert {p.message for p in problems} == {parse.COMMA_PROBLEM}
