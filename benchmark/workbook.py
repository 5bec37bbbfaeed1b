"""The data package's Excel workbook (``csww.xlsx``), written in a process of its own beside the rest of a build.

The workbook is written from the package's own CSV files (the csv module; each cell converted from its CSV
text by :func:`_converter`, the rule the package's tests hold it to), so the process needs neither pandas nor
the database: ``csww build`` starts it as soon as its read stage has the rows of the workbook's big sheets
(before the database and the comparisons, which write none of them) and it writes while the build goes on
(issue 14 item 6: the workbook was half of the package stage, and a build used one core of machines that have
at least two).

:class:`WorkbookProcess` is the build's side: it starts ``python -m benchmark.workbook`` (``sys.executable``,
so on Windows too), sends it the job, then each table's CSV as it is finished and the About sheet's parts
(which ``csww build`` knows only once its database is written), one JSON line each on the child's stdin, and
waits for it. The child dies with its parent: it watches its stdin (the parent's end closes when the parent
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
    number in an integer or number field (int in an integer field), text through
    :func:`~benchmark.cells.safe_text` (never a formula) otherwise; a DfE symbol in a number field stays text."""
    if fld["type"] not in ("integer", "number"):
        return lambda c: safe_text(c) if c else None
    cast = int if fld["type"] == "integer" else float

    def number(c):
        if not c:
            return None
        try:
            return cast(c)
        except ValueError:
            return safe_text(c)
    return number


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
    skipped) a row at a time. XlsxWriter writes in its ``constant_memory`` mode (each sheet's rows go to a
    temporary file in ``tmpdir`` as they are written; about four times faster than openpyxl's write-only mode),
    each cell with the writer of its value's type, text never turned into formulas or links; a text met again in
    a column (up to :data:`MEMO` of them) is not converted again. The About sheet is the first sheet but is
    filled last, when every table's rows are known; ``descriptor`` may be a function giving it then (it may block
    until the descriptor is known). A CSV with another number of rows than ``rows`` says, or a row of another
    number of cells than ``fields``, is a bug of the caller: RuntimeError naming the file.
    """
    import xlsxwriter  # optional heavy import: only when a workbook is written

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                         "strings_to_urls": False, "strings_to_numbers": False,
                                         **({"tmpdir": tmpdir} if tmpdir else {})})
    bold = wb.add_format({"bold": True})

    def new_sheet(name, header):
        ws = wb.add_worksheet(name)
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
                # XlsxWriter's typed writers without the argument check of the public ones (A1 notation):
                # the undecorated methods that write_number/write_string call.
                number = getattr(ws, "_write_number", ws.write_number)
                text = getattr(ws, "_write_string", ws.write_string)
                # Per column, each text met (up to MEMO texts) -> (its writer, its value), new for each sheet
                # (the writers are the sheet's): area codes, measure ids, release ids, file names and most values
                # repeat thousands of times in a table, so most cells are one dictionary look-up instead of a
                # conversion and a test of the value's type.
                memos = [{} for _ in fields]
                r = 0
                for r, row in enumerate(itertools.islice(reader, end - start), start=1):
                    if len(row) != width:
                        raise RuntimeError(f"{csv_path}: row {done + r + 1} has {len(row)} cells, not {width}")
                    for c, cell in enumerate(row):
                        if cell:
                            put = memos[c].get(cell)
                            if put is None:
                                v = convert[c](cell)  # never None: the cell is not empty
                                put = (text if type(v) is str else number, v)
                                if len(memos[c]) < MEMO:
                                    memos[c][cell] = put
                            put[0](r, c, put[1])
                done += r
                if r < end - start:  # the CSV ended early
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
    finished table's CSV (any order; it writes the sheets in the order of ``sheets``); :meth:`wait` waits for the
    finished workbook, raising ``OutputError`` (a file it cannot write) or ``RuntimeError`` (a bug, with the
    child's traceback); :meth:`abort` ends it, its workbook unfinished."""

    def __init__(self, path: Path, descriptor: dict | None, sheets: list[str], row_limit: int = EXCEL_ROWS):
        self.path = Path(path)
        self.peak_kib: int | None = None  # the process's peak memory, once it has finished (Linux)
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

    def wait(self, descriptor: dict | None = None) -> None:
        """Wait for the finished workbook; ``descriptor`` is the About sheet's parts when not given at the start."""
        # no more tables (were one missing, the child would say so, not wait forever)
        self._send({"end": True, **({"descriptor": descriptor} if descriptor is not None else {})})
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
    import xlsxwriter.exceptions  # optional heavy import: only in the child

    try:
        write(job["path"], job.get("descriptor") or about, job["sheets"], tables(), job["row_limit"], job["tmpdir"])
    except (OSError, xlsxwriter.exceptions.FileCreateError) as exc:  # a full disk, a folder gone
        sys.stderr.write("\n" + json.dumps({"message": f"{job['path']}: cannot write here ({exc})"}) + "\n")
        return EXPECTED
    except CswwError as exc:
        sys.stderr.write("\n" + json.dumps({"message": str(exc)}) + "\n")
        return EXPECTED
    done.set()
    sys.stderr.write("\n" + json.dumps({"peak_kib": _peak_kib()}) + "\n")  # for perf/build_full.py
    return 0


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
