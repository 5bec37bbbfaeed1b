"""The data package's Excel workbook (``csww.xlsx``), written in a process of its own beside the rest of a build.

The workbook is written from the package's own CSV files (the csv module; each cell converted from its CSV
text by :func:`_converter`, the rule the package's tests hold it to), so the process needs neither pandas nor
the database: ``csww build`` starts it as soon as its read stage has the rows of the workbook's big sheets
(before the database and the comparisons, which write none of them) and it writes while the build goes on
(issue 14 item 6: the workbook was half of the package stage, and a build used one core of machines that have
at least two).

:class:`WorkbookProcess` is the build's side: it starts ``python -m benchmark.workbook`` (``sys.executable``,
so on Windows too), sends it the job, then each table's CSV as it is finished and the About sheet's parts
(which ``csww build`` knows once the workbook's last table is written), one JSON line each on the child's
stdin, and waits for it while it writes the tables only in CSV. The child dies with its parent: it watches its stdin (the parent's end closes when the parent
exits, however it exits) and on Linux also asks the kernel to kill it when its parent dies
(``prctl(PR_SET_PDEATHSIG)``). Its temporary files are in the package's own temporary folder, which a failed
or killed build removes. A failure the user can fix (a disk that cannot be written) is an ``OutputError`` in
the build, any other failure of the child (a bug) a ``RuntimeError`` carrying the child's traceback.
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from queue import Queue
from typing import Callable

from .cells import safe_text
from .problems import CswwError, OutputError

#: Rows of one Excel sheet (header included); a longer table is split over several sheets.
EXCEL_ROWS = 1_048_576
#: The build's id and time: in build_info.csv and datapackage.json, not in the workbook (see ``package``).
BUILD_ONLY = {"build_info"}
#: The most distinct texts of one column remembered with their converted cell while a sheet is written: a bound
#: on the memory this takes (under 1 MB a column). 4096 covers 97% of the quick tour's observation cells and
#: 99% of its breakdown cells (their value columns have 6,279 and 1,300 distinct texts).
MEMO = 4096
#: The most characters of one Excel cell (Excel's specifications and limits).
EXCEL_TEXT = 32_767
INFINITY = float("inf")
#: Rows handed to the writer at a time: a bound on the memory of rows converted and not yet written.
CHUNK = 4096
#: Exit status of the child for an expected failure (its message is the last line of its stderr, as JSON).
EXPECTED = 3


def sheet_parts(name: str, rows: int, row_limit: int = EXCEL_ROWS) -> list[tuple[str, int, int]]:
    """The sheets a table of ``rows`` rows goes on, as (sheet name, first row, end row): one sheet when the
    rows and the header fit in ``row_limit`` (Excel's 1,048,576), else as many as needed, named
    ``name``, ``name (2)``, ... (within Excel's 31 characters)."""
    per = row_limit - 1  # the header takes a row of each sheet
    if per < 1:
        raise ValueError(f"row_limit must be at least 2, not {row_limit}")
    out = []
    for i, start in enumerate(range(0, max(rows, 1), per), start=1):
        suffix = "" if i == 1 else f" ({i})"
        out.append((name[:31 - len(suffix)] + suffix, start, min(start + per, rows)))
    return out


def _converter(fld: dict):
    """A function giving a CSV cell of field ``fld`` its workbook value: None (an empty cell) for empty text, a
    finite number in an integer or number field (int in an integer field), text through :func:`_text` otherwise:
    a DfE symbol in a number field stays text, and so does a number Excel cannot hold (``inf``, ``nan``)."""
    if fld["type"] not in ("integer", "number"):
        return lambda c: _text(c) if c else None
    cast = int if fld["type"] == "integer" else float

    def number(c):
        if not c:
            return None
        try:
            v = cast(c)
        except ValueError:
            return _text(c)
        return v if v == v and v not in (INFINITY, -INFINITY) else _text(c)
    return number


def _text(cell: str) -> str:
    """A text cell: through :func:`~benchmark.cells.safe_text` (never a formula), cut to Excel's
    :data:`EXCEL_TEXT` characters (the CSV keeps the whole text; no text of DfE's comes near it)."""
    text = safe_text(cell)
    return text if len(text) <= EXCEL_TEXT else text[:EXCEL_TEXT]


def about_rows(descriptor: dict, sheets: list[str], rows: dict[str, int], row_limit: int) -> list[list]:
    """The About sheet below its header: the package, its licence, the tables that are CSV only or build only,
    the tables split over sheets, then every table resource and each of its columns. ``sheets`` are the tables
    in the workbook, ``rows`` their numbers of rows."""
    out = [[descriptor["title"], "", f"version {descriptor['version']}", "", descriptor["description"]],
           ["licence", "", descriptor["licenses"][0]["title"], "", descriptor["licenses"][0]["path"]]]
    tables = [r for r in descriptor["resources"] if r.get("type") == "table"]
    csv_only = [r["path"] for r in tables if r["name"] not in sheets and r["name"] not in BUILD_ONLY]
    if csv_only:
        out.append(["CSV only", "", "Not in this workbook", "",
                    f"Long tables (every release's values, the comparisons and the consistency checks' audit), "
                    f"so in the package as CSV only: {', '.join(csv_only)} "
                    "(beside this workbook). Their columns are described below."])
    build_only = [r["path"] for r in tables if r["name"] in BUILD_ONLY]
    if build_only:
        out.append(["build", "", "Not in this workbook", "",
                    f"The build's id and time are in {', '.join(build_only)} and datapackage.json (beside this "
                    "workbook), so that a build with the same tables leaves this workbook as it was."])
    for name in sheets:
        parts = sheet_parts(name, rows[name], row_limit)
        if len(parts) > 1:
            out.append(["split", "", f"{name}: {len(parts)} sheets", "",
                        f"{name} has more rows than one Excel sheet holds ({row_limit - 1:,} below the header), "
                        f"so it is split over the sheets {', '.join(s for s, _, _ in parts)}, in order."])
    for res in tables:
        where = res["name"] if res["name"] in sheets else f"{res['path']} (CSV only)"
        out.append([where, "", res.get("title"), "", res.get("description")])
        for f in res["schema"]["fields"]:
            out.append([safe_text(x) for x in (where, f["name"], f.get("title"), f.get("unit"), f.get("description"))])
    return out


def write(path: str | Path, descriptor: dict | Callable[[], dict], sheets: list[str], tables,
          row_limit: int = EXCEL_ROWS, tmpdir: str | None = None) -> None:
    """Write the workbook: an About sheet describing every column, then one sheet per table of ``sheets`` in that
    order (a table longer than ``row_limit`` rows with its header split over sheets, as the About sheet says).

    ``tables`` yields ``(name, fields, rows, csv_path)`` for the tables of ``sheets`` in any order, as each is
    ready (it may block until the next one is); each sheet is written, in order, from its CSV file (header
    skipped), :data:`CHUNK` rows at a time. The writer is ``rust_xlsxwriter`` (the Rust port of XlsxWriter, by
    XlsxWriter's author) through the ``rvgsrust-xlsxwriter`` binding (a third party's, MIT): every sheet in its
    constant-memory mode (rows go to a temporary file in ``tmpdir`` as they are written; the file is assembled in
    memory when closed, so the peak is about the finished workbook's size above the rows in hand), text always
    written as text (never a formula or a link), a number as a double (a whole number's XML says ``2015.0``:
    Excel and ``pandas.read_excel`` show 2015, openpyxl gives the float). It takes about a fifth of XlsxWriter's
    CPU for the same cells (``perf/workbook_write.py``). A text met again in a column (up to :data:`MEMO` of
    them) is not converted again. The About sheet is the first sheet but is
    filled last, when every table's rows are known; ``descriptor`` may be a function giving it then (it may block
    until the descriptor is known). A CSV with another number of rows than ``rows`` says, or a row of another
    number of cells than ``fields``, is a bug of the caller: RuntimeError naming the file. A file that cannot be
    written is an ``OSError`` (or, while rows are written, the binding's ``PanicException``: see
    :func:`_io_panic`).
    """
    from rvgsrust_xlsxwriter import Workbook  # optional heavy import: only when a workbook is written

    wb = Workbook(str(path))
    if tmpdir:
        wb.set_tempdir(str(tmpdir))
    bold = wb.add_format().set_bold()

    def new_sheet(name, header):
        ws = wb.add_worksheet(name, constant_memory=True)
        ws.freeze_panes(1, 0)
        ws.write_row(0, 0, header, bold)
        return ws

    about = new_sheet("About", ["sheet", "column", "title", "unit", "description"])
    ready, rows = {}, {}
    source = iter(tables)
    for name in sheets:
        while name not in ready:
            got = next(source)
            ready[got[0]] = got[1:]
        fields, count, csv_path = ready.pop(name)
        rows[name] = count
        names = [f["name"] for f in fields]
        convert = [_converter(f) for f in fields]
        width = len(fields)
        done = 0  # the table's rows written so far
        with open(csv_path, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            next(reader, None)  # the header
            for sheet, start, end in sheet_parts(name, count, row_limit):
                ws = new_sheet(sheet, names)
                # Per column, each text met (up to MEMO texts) -> its cell value: area codes, measure ids, release
                # ids, file names and most values repeat thousands of times in a table, so most cells are one
                # dictionary look-up instead of a conversion.
                memos = [{} for _ in fields]
                r = 1  # the sheet's next row (0 is the header)
                left = end - start
                while left:
                    chunk = []
                    for row in itertools.islice(reader, min(CHUNK, left)):
                        if len(row) != width:
                            raise RuntimeError(f"{csv_path}: row {done + r + len(chunk) + 1} has {len(row)} cells, "
                                               f"not {width}")
                        values = []
                        for c, cell in enumerate(row):
                            memo = memos[c]
                            v = memo.get(cell, memo)
                            if v is memo:
                                v = convert[c](cell)  # None for an empty cell: nothing written
                                if len(memo) < MEMO:
                                    memo[cell] = v
                            values.append(v)
                        chunk.append(values)
                    if not chunk:  # the CSV ended early
                        break
                    ws.write_rows(r, 0, chunk)
                    r += len(chunk)
                    left -= len(chunk)
                done += r - 1
                if left:
                    break
            done += sum(1 for _ in reader)  # rows past the ones the package said it wrote (none, unless a bug)
        if done != count:
            raise RuntimeError(f"{csv_path}: {done} rows, not the {count} the package wrote")
    if callable(descriptor):  # the About sheet's parts, known only now
        descriptor = descriptor()
    for r, values in enumerate(about_rows(descriptor, sheets, rows, row_limit), start=1):
        about.write_row(r, 0, values)
    wb.close()


# ---------------------------------------------------------------------------------------------- the process
class WorkbookProcess:
    """The workbook written by a child process (``python -m benchmark.workbook``) while the caller goes on.

    ``WorkbookProcess(path, descriptor, sheets, row_limit)`` starts it (``descriptor``, the About sheet's parts,
    may be None: then it is given to :meth:`wait`, as the About sheet is written last); :meth:`table` hands it a
    finished table's CSV (any order; it writes the sheets in the order of ``sheets``); :meth:`finish` says
    that every table has come (with the About sheet's parts); :meth:`wait` waits for the finished workbook, raising ``OutputError`` (a file it cannot write) or ``RuntimeError`` (a bug, with the
    child's traceback); :meth:`abort` ends it, its workbook unfinished."""

    def __init__(self, path: Path, descriptor: dict | None, sheets: list[str], row_limit: int = EXCEL_ROWS):
        self.path = Path(path)
        self.peak_kib: int | None = None  # the process's peak memory, once it has finished (Linux)
        self.finished = False  # whether the end of the tables has been sent
        self.err = tempfile.TemporaryFile()  # no name: nothing left behind, whatever happens
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parent.parent)  # this toolkit, wherever it is imported from
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
        self.proc = subprocess.Popen([sys.executable, "-m", "benchmark.workbook", str(os.getpid())],
                                     stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self.err, env=env)
        self._send({"path": str(self.path), "tmpdir": str(self.path.parent), "descriptor": descriptor,
                    "sheets": list(sheets), "row_limit": row_limit})

    def _send(self, message: dict) -> None:
        try:
            self.proc.stdin.write((json.dumps(message, default=str) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # the child has ended: wait() says why

    def table(self, name: str, fields: list[dict], rows: int, csv_path: Path) -> None:
        self._send({"table": name, "fields": [{"name": f["name"], "type": f["type"]} for f in fields],
                    "rows": rows, "csv": str(csv_path)})

    def finish(self, descriptor: dict | None = None) -> None:
        """Say that every table has come, with the About sheet's parts (``descriptor``) when not given at the
        start: the process finishes the workbook while the caller goes on (:meth:`wait` waits for it)."""
        # no more tables (were one missing, the child would say so, not wait forever)
        self._send({"end": True, **({"descriptor": descriptor} if descriptor is not None else {})})
        self.finished = True

    def wait(self, descriptor: dict | None = None) -> None:
        """Wait for the finished workbook (:meth:`finish` first, with ``descriptor``, when not called yet),
        raising ``OutputError`` for a file it cannot write and ``RuntimeError`` for a bug (the child's
        traceback)."""
        if not self.finished:
            self.finish(descriptor)
        try:
            code = self.proc.wait()  # stdin stays open until the child has ended: its end means "stop"
            self.err.seek(0)
            text = self.err.read().decode("utf-8", "replace").strip()
        finally:
            self._close()
        if code == 0:
            with contextlib.suppress(ValueError, IndexError, AttributeError):
                self.peak_kib = json.loads(text.splitlines()[-1]).get("peak_kib")
            return
        if code == EXPECTED:
            raise OutputError(json.loads(text.splitlines()[-1])["message"])
        raise RuntimeError(f"the workbook process ({self.path.name}) failed with exit status {code}:\n{text}")

    def abort(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._close()

    def _close(self) -> None:
        if self.proc.stdin and not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        self.err.close()


def _die_with_parent(ppid: int) -> None:
    """End this process when its parent ends: the kernel's parent-death signal on Linux, and (everywhere) a
    thread that ends the process when stdin closes before the workbook is finished (see :func:`main`)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes  # optional: only on Linux, only in the child

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1
        except (OSError, AttributeError):
            pass
    if os.getppid() != ppid:  # the parent died before the signal was asked for
        os._exit(1)


def main(argv: list[str]) -> int:
    """The child: read the job and the tables from stdin (JSON lines), write the workbook; exit 0 when done."""
    _die_with_parent(int(argv[0]))
    messages: Queue = Queue()
    done = threading.Event()

    def watch():
        for line in sys.stdin.buffer:
            messages.put(json.loads(line))
        if not done.is_set():  # stdin closed first: the parent has gone (or given up); nothing more is wanted
            os._exit(1)
    threading.Thread(target=watch, daemon=True).start()
    job = messages.get()

    def tables():
        while True:
            m = messages.get()
            if m.get("end"):  # every table should have come before this: a bug in the caller
                raise RuntimeError(f"the workbook's tables ended before all of {job['sheets']} came")
            yield m["table"], m["fields"], m["rows"], m["csv"]

    def about():  # the About sheet's parts, when not in the job: with the end message, after every table
        m = messages.get()
        if not m.get("end") or m.get("descriptor") is None:
            raise RuntimeError(f"the About sheet's parts did not come after the tables, but {sorted(m)}")
        return m["descriptor"]
    try:
        write(job["path"], job.get("descriptor") or about, job["sheets"], tables(), job["row_limit"], job["tmpdir"])
    except OSError as exc:  # a full disk, a folder gone
        sys.stderr.write("\n" + json.dumps({"message": f"{job['path']}: cannot write here ({exc})"}) + "\n")
        return EXPECTED
    except BaseException as exc:
        failed = _io_panic(exc)
        if failed is None:  # a bug
            raise
        sys.stderr.write("\n" + json.dumps({"message": f"{job['path']}: cannot write here ({failed})"}) + "\n")
        return EXPECTED
    except CswwError as exc:
        sys.stderr.write("\n" + json.dumps({"message": str(exc)}) + "\n")
        return EXPECTED
    done.set()
    sys.stderr.write("\n" + json.dumps({"peak_kib": _peak_kib()}) + "\n")  # for perf/build_full.py
    return 0


def _io_panic(exc: BaseException) -> str | None:
    """What the operating system said, when ``exc`` is the Rust writer failing to write a file (a full disk while
    rows are written: the binding raises pyo3's ``PanicException``, not an ``OSError``, with the Rust error's
    text, e.g. ``Os { code: 28, kind: StorageFull, message: "No space left on device" }``); else None."""
    if type(exc).__name__ != "PanicException":
        return None
    found = re.search(r'Os \{ code: (\d+), kind: \w+, message: "([^"]*)" \}', str(exc))
    return f"[Errno {found[1]}] {found[2]}" if found else None


def _peak_kib() -> int | None:
    """This process's peak resident memory in KiB since it started its program (``VmHWM``; Linux), or None.
    Not ``ru_maxrss``: Linux counts in it the memory of the parent the process was spawned from."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            return next((int(line.split()[1]) for line in fh if line.startswith("VmHWM:")), None)
    except OSError:
        return None


if __name__ == "__main__":
    try:
        status = main(sys.argv[1:])
    except BaseException:  # a bug: its traceback for the parent's error
        import traceback  # optional: only when the child fails

        traceback.print_exc()
        status = 1
    sys.stderr.flush()
    os._exit(status)  # not an interpreter shutdown, which would wait on the thread reading stdin
