"""Reading a council's CSV or XLSX file into text columns, and typing those columns with problems collected.

Every reader here reports problems instead of raising on the first one, so that a council sees everything
wrong with its file at once. Row numbers are spreadsheet row numbers (the header is row 1).
"""

from __future__ import annotations

import codecs
import csv
import io
import warnings
import zipfile
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from ..readers import MAGIC, SourceFile, is_lock_file, not_csv_text
from .problems import InputError, Problem

FIRST_DATA_ROW = 2
SAVE_AS_UTF8 = ("save it as CSV UTF-8: in Excel, File > Save As > 'CSV UTF-8 (Comma delimited) (*.csv)'; "
                "in LibreOffice, File > Save As > Text CSV with character set 'Unicode (UTF-8)'")
# Excel's serial day numbers for 1 Jan 1950 and 31 Dec 2099: a whole number in a date column in this range is a
# date Excel stored as a number (a date cell formatted as General, or a CSV saved from one).
EXCEL_SERIALS = (18264, 73415)
EXCEL_EPOCH = pd.Timestamp("1899-12-30")
# The one comma a number may hold outside a semicolon-separated file: thousands separators (1,234 or 12,345.5);
# never after a leading 0 ("0,250" is a decimal comma, not 250).
THOUSANDS = r"-?[1-9]\d{0,2}(,\d{3})+(\.\d+)?"
COMMA_PROBLEM = ("not a number: a comma is read only as a thousands separator (1,234); write decimals with a "
                 "point (2.5, not 2,5)")
# A worker-level extract has a worker id column, by our name or the census's; only these are read by pyarrow.
WORKER_ID_COLUMNS = {"worker_id", "SWENo"}


def is_xlsx(path: Path) -> bool:
    return path.suffix.lower() in {".xlsx", ".xlsm"} or zipfile.is_zipfile(path)


def not_a_table(path: Path, xlsx_text: bool = True) -> Problem | None:
    """Why ``path`` cannot be a council's file at all, or None: an office program's lock file (the DfE readers'
    rule, ``readers.is_lock_file``: Excel's ``~$x.xlsx``, LibreOffice's ``.~lock.x#``), an empty file, a file of
    another kind told by its first bytes (``readers.MAGIC``: an Excel 97-2003 .xls, a PDF, Parquet or SQLite
    file), and, with ``xlsx_text``, a file named .xlsx/.xlsm holding text (a CSV renamed .xlsx; ``align`` first
    looks whether that text is a census return or an export, told apart by content)."""
    name = str(path)
    source = SourceFile(name, path=path)
    if is_lock_file(source):
        return Problem(name, not_csv_text(source, b""), None, None, None)
    if path.stat().st_size == 0:
        return Problem(name, "an empty file (0 bytes): export or save it again", None, None, None)
    with open(path, "rb") as fh:
        head = fh.read(8192)
    xlsx = path.suffix.lower() in {".xlsx", ".xlsm"}
    what = next((w for magic, w in MAGIC if head.startswith(magic) and magic[:2] not in (b"PK", b"\xff\xfe",
                                                                                        b"\xfe\xff")), None)
    if what is not None:  # ZIP workbooks and UTF-16 text are read; these never are
        save = "Excel Workbook (.xlsx)" if xlsx else "CSV UTF-8 (Comma delimited) or Excel Workbook (.xlsx)"
        return Problem(name, f"{'named ' + path.suffix + ' but ' if xlsx else ''}is {what}, not a CSV file, an Excel "
                       f"workbook (.xlsx) or a census XML return: export or save it again as {save}", None, None, None)
    if xlsx and not zipfile.is_zipfile(path) and not head.startswith(b"PK"):  # a damaged ZIP: openpyxl says why
        if b"\x00" in head:
            return Problem(name, f"named {path.suffix} but holds binary data, not an Excel workbook: open it in Excel "
                           "and save it as Excel Workbook (.xlsx)", None, None, None)
        if xlsx_text:
            return Problem(name, f"named {path.suffix} but holds text (a CSV file renamed?), not an Excel workbook: "
                           "give a CSV file its .csv name, or open it in Excel and save it as Excel Workbook (.xlsx)",
                           None, None, None)
    return None


def read_table(path: Path) -> pd.DataFrame:
    """All cells as stripped text ("" when blank); the index is the spreadsheet row number.

    CSV files may be UTF-8 (with or without a byte-order mark), UTF-16 (with a byte-order mark) or Windows-1252
    (Excel's "CSV (Comma delimited)"), separated by commas, semicolons or tabs; a semicolon-separated file uses
    the decimal comma (``df.attrs["decimal"] == ","``). XLSX cells are read with openpyxl: a number formatted as a
    percentage is given as Excel shows it (0.042 as ``"4.2%"``), a date cell as ``YYYY-MM-DD``; a formula with no
    saved value, a hidden first sheet and any other hidden sheet are problems; so are a lock file, an empty file and
    a file named .xlsx that is not a workbook (``not_a_table``). Raises ``InputError``.
    """
    name = str(path)
    refused = not_a_table(path)
    if refused is not None:
        raise InputError([refused])
    if is_xlsx(path):
        try:
            df = _read_xlsx(path)
        except InputError:
            raise
        except Exception as exc:  # openpyxl and zip errors all mean the same to a council
            raise InputError([Problem(name, f"not a readable XLSX workbook ({type(exc).__name__}: {exc})",
                                      None, None, None)]) from None
    else:
        data = path.read_bytes()
        # A UTF-8 worker extract read whole by pyarrow, which checks every cell is UTF-8 (``check_utf8``), needs no
        # scan of its bytes for ``encoding``; anything else is scanned first, as ever, for its codec and messages.
        df = codec = None
        if not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) \
                and data[:4096].count(b"\x00") <= len(data[:4096]) // 4:
            codec = "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
            sep = _separator(data[:65536].decode(codec, errors="replace"))
            try:
                df = _read_csv_arrow(data, codec, sep)
            except Exception:  # read again below, where its message is made as ever
                df = codec = None
        if df is None:
            tried, codec = codec, encoding(path, data)
            sep = _separator(data[:65536].decode(codec, errors="replace"))
        try:
            if df is None and codec != tried:
                df = _read_csv_arrow(data, codec, sep)
            if df is None:  # not the plain case: pandas' parser, whose handling of the rest is the reference
                with warnings.catch_warnings():  # more cells than header names: an error, never a silent index column
                    warnings.simplefilter("error", pd.errors.ParserWarning)
                    df = pd.read_csv(io.BytesIO(data), encoding=codec, dtype=object, keep_default_na=False, sep=sep,
                                     skipinitialspace=True, index_col=False)
        except (pd.errors.ParserWarning, pd.errors.ParserError) as exc:  # ragged rows, unclosed quotes
            long = _long_rows(name, data, codec, sep)
            if not long:
                raise InputError([Problem(name, f"not a readable CSV file ({type(exc).__name__}: {exc})",
                                          None, None, None)]) from None
            raise InputError(long) from None
        except Exception as exc:  # other csv errors
            raise InputError([Problem(name, f"not a readable CSV file ({type(exc).__name__}: {exc})",
                                      None, None, None)]) from None
        if data.count(b'"') % 2 and len(df) and any("\n" in str(v) for v in df.iloc[-1]):
            unclosed = _long_rows(name, data, codec, sep)  # pyarrow reads the rest of the file into that cell
            if unclosed:
                raise InputError(unclosed)
        if sep == ";":
            df.attrs["decimal"] = ","
    df.columns = [str(c).strip() for c in df.columns]
    if len(df.columns):  # drop rows with every cell blank (",,,," lines, empty spreadsheet rows)
        maybe = df.iloc[:, 0] == ""
        if maybe.any():  # selecting no rows of pyarrow text still costs a copy of every column
            blank = df.index[maybe][(df.loc[maybe] == "").all(axis=1).to_numpy()]
            if len(blank):
                df = df.drop(blank)
    df.index = df.index + FIRST_DATA_ROW
    return df


def _long_rows(file: str, data: bytes, codec: str, sep: str, shown: int = 10) -> list[Problem]:
    """One problem for each row of a delimited file with more cells than its header row (up to ``shown`` rows,
    then one for the rest): the row (numbered as ``read_table`` numbers them: the header is row 1, blank lines
    are skipped), its count of cells and the header's, and the likely cause: an unquoted separator in a text cell
    ("Smith, Jo"), or blank cells beyond the last column. A double quote that opens a cell and is never closed
    (every line after it read as one cell, which pyarrow's reader accepts) is one problem naming the row where it
    opens. The cells are never
    shown (a worker-level file's are personal data); nor is every column after the extra cell reported as wrong.
    Empty when the file has no such row."""
    name = {";": "semicolon", "\t": "tab"}.get(sep, "comma")
    text = data.decode(codec)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, skipinitialspace=True)
    header, row, out, long, cells, hidden = None, FIRST_DATA_ROW - 1, [], 0, [], None
    try:
        for cells in reader:
            if not cells:
                continue
            if header is None:
                header = len(cells)
                continue
            row += 1
            if len(cells) > header:
                long += 1
                if long > shown:
                    hidden = hidden or row
                    continue
                blank = all(not c.strip() for c in cells[header:])
                why = (f"; the last {len(cells) - header} are blank: delete the blank cells beyond the last column"
                       if blank else f": is there an unquoted {name} in a text cell (a name such as Smith{sep} Jo)? "
                       "Put that cell in double quotes, or save the file again from Excel, which quotes such cells")
                out.append(Problem(file, f"has {len(cells)} cells but the header row has {header}{why}", row,
                                   None, None))
    except csv.Error:
        return []
    if long > shown:
        out.append(Problem(file, f"this row and {long - shown - 1} more after it have more cells than the header row "
                           "too", hidden, None, None))
    if not out and cells and any("\n" in c for c in cells) and text.count('"') % 2:
        out.append(Problem(file, "a double quote opens a cell in this row and is never closed, so every line after "
                           "it is read as one cell: close the quote, or delete it", row, None, None))
    return out


def _read_csv_arrow(data: bytes, codec: str, sep: str) -> pd.DataFrame | None:
    """A worker extract (``WORKER_ID_COLUMNS``) in a UTF-8 delimited file read by pyarrow's CSV reader into pyarrow-backed text columns (a large worker extract
    then takes a fraction of the time and memory of Python strings), or None where the result could differ from
    pandas' parser as called in ``read_table``: pyarrow (or pandas' pyarrow-backed ``str`` dtype) missing, another
    codec, a header name blank or repeated, a row with more or fewer cells than the header, or a cell starting
    with a space or tab (which ``skipinitialspace`` would strip). Cells are the same text either way."""
    if codec not in ("utf-8", "utf-8-sig"):
        return None
    try:  # heavy optional libraries: pyarrow is needed only for this fast path
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.csv as pacsv
        text = pd.StringDtype("pyarrow", na_value=np.nan)
    except (ImportError, TypeError):
        return None
    body = memoryview(data)[3:] if data.startswith(codecs.BOM_UTF8) else memoryview(data)
    end = bytes(body[:65536]).find(b"\n")
    try:  # a header pyarrow would name with bytes that are not UTF-8: the codec is found by ``encoding``
        header = bytes(body[:end if end >= 0 else 65536]).decode("utf-8").rstrip("\r")
    except UnicodeDecodeError:
        return None
    names = header.split(sep)
    if not WORKER_ID_COLUMNS & {n.strip() for n in names}:  # aggregate returns: small, read by pandas as ever
        return None
    if '"' in header or any(not n.strip() or n != n.lstrip(" \t") for n in names) \
            or len({n.strip() for n in names}) != len(names):
        return None
    try:
        table = pacsv.read_csv(pa.py_buffer(body), parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=True),
                               convert_options=pacsv.ConvertOptions(column_types={n: pa.large_string() for n in names},
                                                                    strings_can_be_null=False,
                                                                    quoted_strings_can_be_null=False, null_values=[]),
                               memory_pool=pa.system_memory_pool())  # freed to malloc, which numpy reuses
    except (pa.ArrowInvalid, ValueError):  # ragged rows, unclosed quotes: pandas' parser says what is wrong
        return None
    if table.column_names != names:
        return None
    if _may_start_with_space(data, sep):  # the byte-order mark cannot be taken for a separator or quote
        for column in table.columns:
            if pc.any(pc.starts_with(column, " ")).as_py() or pc.any(pc.starts_with(column, "\t")).as_py():
                return None
    # pandas' pyarrow-backed text holds large_string chunks as they are: no copy (to_pandas would make one)
    return pd.DataFrame({k: pd.Series(pd.arrays.ArrowStringArray(column, dtype=text), copy=False)
                         for k, column in enumerate(table.columns)}, copy=False).set_axis(names, axis=1)


def _may_start_with_space(data: bytes, sep: str, chunk: int = 1 << 23) -> bool:
    """False when no cell of a delimited file can start with a space or tab: no such byte follows a separator, a
    line break or a quote (which may open a quoted cell). A search for either byte (memchr), then, if there are
    any, one scan of the bytes a chunk at a time (memory): a fraction of the time of looking at every cell."""
    if data.find(b" ") < 0 and data.find(b"\t") < 0:
        return False
    a = np.frombuffer(data, dtype=np.uint8)
    starts = np.array([ord(sep), ord("\n"), ord("\r"), ord('"')], dtype=np.uint8)
    for i in range(1, len(a), chunk):
        part = a[i:i + chunk]
        spaces = np.flatnonzero((part == 32) | (part == 9)) + i
        if np.isin(a[spaces - 1], starts).any():
            return True
    return False


def decode(path: Path, data: bytes, locate=None, declared: str | None = None, advice: str = SAVE_AS_UTF8) -> str:
    """The text of a file as councils save it, in the codec ``encoding`` finds."""
    return data.decode(encoding(path, data, locate, declared, advice))


def encoding(path: Path, data: bytes, locate=None, declared: str | None = None, advice: str = SAVE_AS_UTF8) -> str:
    """The codec that reads a file as councils save it: a byte-order mark (UTF-8 or UTF-16) decides; then the
    ``declared`` encoding (an XML declaration), if Python knows it; then UTF-8, else Windows-1252. Bytes that
    cannot be read give one problem naming the row and column (the bytes themselves are not shown) and saying how
    to save the file as UTF-8 (``advice``). ``locate(data, pos)`` gives (row, column) of a byte; by default a CSV
    cell's. Raises ``InputError``."""
    locate = locate or _csv_cell
    for bom, codec in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            bad = _first_bad_byte(data, codec)
            if bad is None:
                return codec
            row, column = (None, None) if codec == "utf-16" else locate(data, bad)
            raise InputError([_undecodable(path, row, column, "UTF-16" if codec == "utf-16" else "UTF-8", advice)])
    head = data[:4096]
    if head.count(b"\x00") > len(head) // 4:  # UTF-16 without its byte-order mark
        raise InputError([Problem(str(path), "looks like UTF-16 text without a byte-order mark, which cannot be read "
                                  "safely; " + advice, 1, None, None)])
    tried = []
    if declared:
        try:
            tried.append(codecs.lookup(declared).name)
        except LookupError:
            pass
    for codec in [*tried, "utf-8", "cp1252"]:
        bad = _first_bad_byte(data, codec)
        if bad is None:
            return codec
    raise InputError([_undecodable(path, *locate(data, bad), "UTF-8 or Windows-1252 (Excel's CSV)", advice)])


def _first_bad_byte(data: bytes, codec: str, chunk: int = 1 << 20) -> int | None:
    """The offset of the first byte ``codec`` cannot read, or None; decoded a chunk at a time, so that checking
    a large file does not hold a second copy of it."""
    decoder = codecs.getincrementaldecoder(codec)()
    for start in range(0, max(len(data), 1), chunk):
        pending = len(decoder.getstate()[0])  # bytes of a character split across chunks, carried over
        try:
            decoder.decode(data[start:start + chunk], final=start + chunk >= len(data))
        except UnicodeDecodeError as exc:
            return max(0, start - pending + exc.start)
    return None


def _undecodable(path: Path, row: int | None, column: str | None, what: str, advice: str) -> Problem:
    return Problem(str(path), f"has characters that cannot be read as {what} text; {advice}", row, column, None)


def _csv_cell(data: bytes, pos: int) -> tuple[int, str]:
    """The spreadsheet row and the column name of the byte at ``pos`` of a delimited file."""
    line_start = data.rfind(b"\n", 0, pos) + 1
    header = data[:data.find(b"\n") if b"\n" in data else len(data)].decode("latin-1")
    sep = _separator(header)
    names = [h.strip().strip('"').lstrip("\xef\xbb\xbf") for h in header.rstrip("\r").split(sep)]
    index = data[line_start:pos].decode("latin-1").count(sep)
    return data.count(b"\n", 0, pos) + 1, names[index] if index < len(names) else f"column {index + 1}"


def _separator(text: str) -> str:
    """The separator of a delimited file, from its header line: comma, semicolon or tab."""
    header = text[:text.find("\n")] if "\n" in text else text
    counts = {sep: header.count(sep) for sep in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _read_xlsx(path: Path) -> pd.DataFrame:
    """The first sheet of a workbook as text cells, with its problems (formulas without values, hidden sheets)."""
    from openpyxl import load_workbook

    name = str(path)
    wb = load_workbook(path, read_only=True, data_only=False)
    problems = []
    try:
        ws = wb.worksheets[0]
        if ws.sheet_state != "visible":
            problems.append(Problem(name, f"the first sheet '{ws.title}', which holds the return, is hidden; unhide it "
                                    "(right-click a sheet tab > Unhide) so that what is read is what was checked",
                                    None, None, None))
        for other in wb.worksheets[1:]:
            if other.sheet_state != "visible":
                problems.append(Problem(name, f"sheet '{other.title}' is hidden: only the first sheet is read, and "
                                        "a hidden sheet is not skipped silently; unhide it and move its rows to the "
                                        "first sheet, or delete it", None, None, None))
        rows = [list(r) for r in ws.iter_rows()]
        epoch = wb.epoch
    finally:
        wb.close()
    formulas = [(i, j) for i, r in enumerate(rows) for j, c in enumerate(r) if getattr(c, "data_type", None) == "f"]
    cells = [[_xlsx_text(c.value, getattr(c, "number_format", "General"), epoch) for c in r] for r in rows]
    if formulas:  # Excel saves each formula's last value; use it, and report formulas saved without one
        cached = load_workbook(path, read_only=True, data_only=True)
        try:
            values = [list(r) for r in cached.worksheets[0].iter_rows()]
        finally:
            cached.close()
        header = cells[0] if cells else []
        for i, j in formulas:
            c = values[i][j] if i < len(values) and j < len(values[i]) else None
            if c is None or c.value is None:
                problems.append(Problem(name, "a formula with no saved value (the file was not saved by Excel, or "
                                        "not recalculated); open it in Excel and save it, or paste the values",
                                        i + 1, header[j] if j < len(header) and header[j] else None, None))
                cells[i][j] = ""
            else:
                cells[i][j] = _xlsx_text(c.value, getattr(c, "number_format", "General"), epoch)
    if problems:
        raise InputError(problems)
    while cells and not any(cells[-1]):
        cells.pop()
    if not cells:
        return pd.DataFrame()
    width = max(len(r) for r in cells)
    header, body = cells[0] + [""] * (width - len(cells[0])), [r + [""] * (width - len(r)) for r in cells[1:]]
    while width and header[width - 1] == "" and all(r[width - 1] == "" for r in body):
        width -= 1
    header = [h if h else f"Unnamed: {k}" for k, h in enumerate(header[:width])]
    df = pd.DataFrame([r[:width] for r in body], columns=header, dtype=object)
    df.attrs["excel_epoch"] = pd.Timestamp(epoch)
    return df


def _xlsx_text(v, number_format: str, epoch) -> str:
    """A cell's value as the text a council sees: percentages as shown (0.042 -> "4.2%"), dates as YYYY-MM-DD."""
    if v is None:
        return ""
    if isinstance(v, (datetime, date)):
        return v.date().isoformat() if isinstance(v, datetime) else v.isoformat()
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, (int, float)):
        if "%" in (number_format or ""):
            return _number_text(round(v * 100, 9)) + "%"
        return _number_text(v)
    return str(v).strip()


def _number_text(v: float) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return repr(v) if isinstance(v, float) else str(v)


def check_columns(df: pd.DataFrame, file: str, required: list[str], allowed: set[str]) -> list[Problem]:
    problems = [Problem(file, "required column is missing", 1, c, None) for c in required if c not in df.columns]
    problems += [Problem(file, "unknown column (see the template for the columns accepted)", 1, c, None)
                 for c in df.columns if c not in allowed]
    dupes = df.columns[df.columns.duplicated()]
    problems += [Problem(file, "column appears more than once", 1, c, None) for c in dupes]
    return problems


def masked(problems: list[Problem], first_record: int = FIRST_DATA_ROW, codes=frozenset()) -> list[Problem]:
    """Problems about a worker-level file with the cell values of worker records left out (names, SWE numbers,
    dates): the row and column say where. ``first_record`` is the row number of the first worker record: 2 in a
    CSV/XLSX file (the header is row 1, whose problems keep their value), 1 in a census XML return (row N is the
    Nth CSWWWorker; its header items have no row and keep theirs). ``workers.typed`` drops the values of every
    record's problems itself, whatever the numbering; the values it leaves, in the coded ``codes`` columns, are
    codes (``categories.shown_code``) and are kept."""
    return [replace(p, value=None) if p.row is not None and p.row >= first_record and p.column not in codes else p
            for p in problems]


def report(file: str, column: str, raw: pd.Series, mask: pd.Series, message: str, problems: list[Problem]):
    for row in raw.index[np.asarray(mask, dtype=bool)]:
        problems.append(Problem(file, message, int(row), column, raw[row]))


def _failed(raw: pd.Series, converted: pd.Series) -> pd.Series:
    """Cells that did not convert although they are not blank (only the missing ones are compared)."""
    failed = np.array(converted.isna(), dtype=bool)  # numpy: an assignment through a pandas mask costs more
    if failed.any():
        failed[failed] = raw.to_numpy()[failed] != ""
    return pd.Series(failed, index=raw.index)


def _retry_stripped(raw: pd.Series, failed: pd.Series, convert) -> tuple[pd.Series, pd.Series]:
    """Converting whole columns is fast; stripping them is not. Strip and convert only the cells that failed."""
    if not failed.any():
        return None, None
    sub = raw[failed].astype(str).str.strip()
    return sub, convert(sub)


def _arrow_text(raw: pd.Series):
    """The pyarrow array behind a pyarrow-backed text column (``read_table``'s fast path), else None."""
    if not (isinstance(raw.dtype, pd.StringDtype) and raw.dtype.storage == "pyarrow"):
        return None
    import pyarrow as pa  # heavy optional library, present when such a column exists

    return pa.chunked_array(pa.array(raw.array))


def _per_distinct(convert, df: pd.DataFrame, column: str, file: str, problems: list[Problem], **options):
    """``convert(df, column, file, problems, **options)`` (``numbers``, ``dates`` or ``codes``) applied once to
    each distinct text of a pyarrow-backed column (``read_table``'s fast path for worker extracts) and spread back
    to its rows: a column of a million dates holds some thousands of distinct ones. The distinct texts are
    converted by the same code as any other column, as Python strings, so values and problems are the same
    (problems name the spreadsheet row, column and cell, message by message in the order ``convert`` gives them).
    Text (``codes``) comes back as a categorical over the distinct texts, with no per-row copy of a string.
    None for any other column."""
    arr = _arrow_text(df[column])
    if arr is None or not len(arr) or arr.null_count:
        return None
    import pyarrow.compute as pc  # heavy optional library (see _arrow_text)

    encoded = pc.dictionary_encode(arr)
    dictionary = encoded.chunk(encoded.num_chunks - 1).dictionary
    if all(_same_array(c.dictionary, dictionary) for c in encoded.chunks):  # one dictionary for all the chunks
        rows = np.concatenate([c.indices.to_numpy(zero_copy_only=False) for c in encoded.chunks])
    else:
        encoded = encoded.combine_chunks()
        rows, dictionary = encoded.indices.to_numpy(zero_copy_only=False), encoded.dictionary
    distinct = pd.DataFrame({column: pd.Series(dictionary.to_pylist(), dtype=object)})
    distinct.attrs = dict(df.attrs)
    found: list[Problem] = []
    values = convert(distinct, column, file, found, **options)
    by_message: dict[str, list[int]] = {}
    for p in found:
        by_message.setdefault(p.message, []).append(p.row)
    for message, which in by_message.items():
        report(file, column, df[column], np.isin(rows, which), message, problems)
    if isinstance(values.dtype, pd.StringDtype) or values.dtype == object:  # text (codes): categorical, no copies
        inverse, texts = pd.factorize(values)
        return pd.Series(pd.Categorical.from_codes(inverse[rows], categories=texts), index=df.index, name=column)
    if isinstance(values.dtype, np.dtype):  # numbers and dates: one numpy take
        return pd.Series(values.to_numpy()[rows], index=df.index, name=column)
    return pd.Series(values.array.take(rows), index=df.index, name=column)


def _same_array(a, b) -> bool:
    """Whether two pyarrow arrays are the same memory (as the chunks of ``dictionary_encode``'s result share one
    dictionary), which saves unifying their dictionaries."""
    return a is b or (len(a) == len(b) and a.offset == b.offset
                      and [x.address if x is not None else None for x in a.buffers()]
                      == [x.address if x is not None else None for x in b.buffers()])


def numbers(df: pd.DataFrame, column: str, file: str, problems: list[Problem], *, low: float | None = 0,
            high: float | None = None, integer: bool = False, what: str = "", percent: bool = False) -> pd.Series:
    """Numeric column (NaN where blank); bad, negative or too-large values become problems.

    ``percent`` columns (rates 0-100) accept a trailing ``%`` ("4.2%", as Excel shows a cell formatted as a
    percentage); in any other column a percentage is a problem, never divided or multiplied by 100. In a
    semicolon-separated file (``df.attrs["decimal"] == ","``) a comma is the decimal mark. Anywhere else a comma
    is read only as a thousands separator (``THOUSANDS``: 1,234 or 12,345.5): any other comma ("2,5", "0,8",
    "1.234,5", a decimal comma) is a problem naming the cell, never a number guessed.
    """
    raw = df[column]
    decimal_comma = df.attrs.get("decimal") == ","

    def convert(s):
        s = s.where(s != "")
        if percent:
            s = s.str.replace(r"\s*%$", "", regex=True)
        if decimal_comma:
            s = s.str.replace(",", ".", regex=False)
        else:  # a comma other than a thousands separator: left as it is, so not a number
            s = s.where(~s.str.contains(",", regex=False).fillna(False) | s.str.fullmatch(THOUSANDS).fillna(False))
            s = s.str.replace(",", "", regex=False)
        return pd.to_numeric(s, errors="coerce")

    spread = _per_distinct(numbers, df, column, file, problems, low=low, high=high, integer=integer, what=what,
                           percent=percent)
    if spread is not None:
        return spread
    num = pd.to_numeric(raw, errors="coerce").astype(float)  # blanks become NaN
    sub, fixed = _retry_stripped(raw, _failed(raw, num), convert)
    if sub is not None:
        num[sub.index] = fixed.astype(float)
        bad = (sub != "") & fixed.isna()
        pct = bad & sub.str.endswith("%") & (not percent)
        comma = bad & ~pct & sub.str.contains(",", regex=False) & (not decimal_comma)
        report(file, column, raw, raw.index.isin(sub.index[pct]),
               "a percentage where a count is expected (is the cell formatted as %?)", problems)
        report(file, column, raw, raw.index.isin(sub.index[comma]), COMMA_PROBLEM, problems)
        report(file, column, raw, raw.index.isin(sub.index[bad & ~pct & ~comma]), "not a number", problems)
    if low is not None:
        report(file, column, raw, num < low, f"must not be below {low:g}{what}", problems)
    if high is not None:
        report(file, column, raw, num > high, f"must not be above {high:g}{what}", problems)
    if integer:
        report(file, column, raw, num.notna() & (num % 1 != 0), "must be a whole number", problems)
    return num


def dates(df: pd.DataFrame, column: str, file: str, problems: list[Problem]) -> pd.Series:
    """Date column (NaT where blank). Accepts YYYY-MM-DD, DD/MM/YYYY, either with a time of day
    (``2023-09-30 00:00:00``, ``30/09/2023 00:00``; the time is dropped), and Excel's serial day numbers
    for 1950-2099 (a date stored as a number, e.g. 45199 for 30 Sep 2023)."""
    raw = df[column]
    epoch = pd.Timestamp(df.attrs.get("excel_epoch", EXCEL_EPOCH))  # 1904 for workbooks on the Mac date system

    def convert(s):
        s = s.where(s != "")
        iso = s.str.fullmatch(r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?").fillna(False)
        out = pd.to_datetime(s.where(iso), format="ISO8601", errors="coerce")
        for fmt in ("%d/%m/%Y", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S"):
            out = out.fillna(pd.to_datetime(s.where(out.isna()), format=fmt, errors="coerce"))
        serial = pd.to_numeric(s.where(out.isna() & s.str.fullmatch(r"\d{5}(\.0+)?").fillna(False)), errors="coerce")
        serial = serial.where((serial >= EXCEL_SERIALS[0]) & (serial <= EXCEL_SERIALS[1]))
        out = out.fillna(epoch + pd.to_timedelta(serial, unit="D"))
        return out.dt.normalize()

    spread = _per_distinct(dates, df, column, file, problems)
    if spread is not None:
        return spread
    out = pd.to_datetime(raw, format="%Y-%m-%d", errors="coerce")  # blanks become NaT
    sub, fixed = _retry_stripped(raw, _failed(raw, out), convert)
    if sub is not None:
        out[sub.index] = fixed
        report(file, column, raw, raw.index.isin(sub.index[(sub != "") & fixed.isna()]),
               "not a date (use YYYY-MM-DD or DD/MM/YYYY)", problems)
    return out


def codes(df: pd.DataFrame, column: str, file: str, problems: list[Problem], allowed: set[str],
          hint: str | None = None) -> pd.Series:
    """Code column as text ("" where blank); values outside ``allowed`` become problems (``hint`` added). A
    pyarrow-backed column (``read_table``'s fast path) gives a categorical of the same texts."""
    spread = _per_distinct(codes, df, column, file, problems, allowed=allowed, hint=hint)
    if spread is not None:
        return spread
    raw = df[column].astype(str)
    out = raw.copy()
    sub, fixed = _retry_stripped(raw, ~raw.isin(allowed | {""}),
                                 lambda s: s.str.replace(r"\.0$", "", regex=True))
    if sub is not None:
        out[sub.index] = fixed
        report(file, column, raw, raw.index.isin(sub.index[(fixed != "") & ~fixed.isin(allowed)]),
               f"must be one of {', '.join(sorted(allowed, key=_natural))}" + (f" ({hint})" if hint else ""),
               problems)
    return out


def _natural(s: str):
    return (len(s), s)
