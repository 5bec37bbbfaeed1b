"""Render a ``Pack`` as one self-contained HTML file, an XLSX workbook (no macros, native charts), Markdown, a
Word document (``docx_out``) or a PDF printed from the HTML (``pdf_out``).

``format_for`` picks the format from ``--format`` or the output's extension; ``TEXT_FORMATS`` may go to
standard output (``-o -``), the binary ones may not.
"""

from __future__ import annotations

import io
import re
import zipfile
from html import escape as html_escape
from pathlib import Path
from xml.sax.saxutils import quoteattr

import jinja2
from markupsafe import Markup

from ..cells import safe_text
from ..problems import UsageError
from . import docx_out, pdf_out
from .model import Cell, Pack, Table, measure_info, sheet_name
from .narrative import RULES

FORMATS = ("html", "xlsx", "md", "docx", "pdf")
#: Formats that are text and may be written to standard output with ``-o -``.
TEXT_FORMATS = ("html", "md")
#: Output extensions and the format each implies.
EXTENSIONS = {"htm": "html", "html": "html", "xlsx": "xlsx", "md": "md", "markdown": "md", "docx": "docx",
              "pdf": "pdf"}

_env = jinja2.Environment(loader=jinja2.PackageLoader("benchmark.report", "templates"),
                          autoescape=jinja2.select_autoescape(["html", "j2"]), trim_blocks=False,
                          undefined=jinja2.StrictUndefined)


def html(pack: Pack) -> str:
    table_tpl = _env.get_template("table.html.j2")

    def table(t: Table) -> Markup:
        return Markup(table_tpl.render(t=t))

    return _env.get_template("pack.html.j2").render(
        pack=pack, table=table, rules=RULES, has_provisional=any(s.provisional for s in pack.sections))


# ---------------------------------------------------------------------------------------------------------------
# Markdown


def _md(text) -> str:
    """Text as Markdown shows it literally: HTML (``<script>``, ``&``) escaped, so a renderer never runs it."""
    return html_escape(str(text), quote=False)


def _md_cell(text: str) -> str:
    return _md(text).replace("|", "\\|").replace("\n", " ").strip()


def md_table(t: Table) -> list[str]:
    out = [f"**{_md_cell(t.caption)}**", ""]
    out.append("| " + " | ".join(_md_cell(h) for h in t.headers) + " |")
    out.append("|" + "|".join("---:" if num else "---" for num in t.numeric) + "|")
    for row in t.rows:
        out.append("| " + " | ".join(_md_cell(c.text) for c in row) + " |")
    out.append("")
    out += [f"*{_md_cell(n)}*" + "  " for n in t.notes]
    if t.notes:
        out.append("")
    return out


def markdown(pack: Pack) -> str:
    out = [f"# {_md(pack.title)}", "", _md(pack.subtitle) + ".", "",
           f"*Made by csww-benchmark {pack.toolkit_version} on {pack.made_on} from the Department for "
           "Education's published children's social work workforce statistics.*", "", "## Summary", ""]
    out += [f"- {_md(line)}" for line in pack.summary]
    out += ["", f"*{_md(RULES)}*", ""]
    for s in pack.sections:
        out += [f"## {_md(s.heading)}" + (" — PROVISIONAL" if s.provisional else ""), ""]
        for p in s.intro:
            out += [_md(p), ""]
        out += [f"- {_md(b)}" for b in s.bullets] + ([""] if s.bullets else [])
        for t in s.tables:
            out += md_table(t)
        for f in s.figures:
            out += [f"### {_md(f.title)}", "", f"Chart (in the HTML pack): {_md(f.alt)}", ""]
            if f.note:
                out += [f"*{_md(f.note)}*", ""]
            out += md_table(f.table)
    out += ["---", "", f"Generated {pack.made_at} by csww-benchmark {pack.toolkit_version}. Contains public "
            "sector information licensed under the Open Government Licence v3.0.", ""]
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------------------------
# XLSX


def xl_format(cell: Cell) -> str:
    """The cell's Excel number format (``model.excel_format``), with " pts" when its text says points."""
    fmt = cell.number_format or "General"
    if cell.text.endswith(" pts") and "pts" not in fmt:
        fmt = ";".join(part + '" pts"' for part in fmt.split(";"))
    return fmt


def _series_columns(t: Table) -> list[int]:
    """Which columns of a figure's table the chart draws (1-based), as ``charts`` draws them: a trend draws
    the council, neighbour median, region and England (only the first two for counts, FTE or headcount,
    where region and England are totals); a bar chart draws the measure's column."""
    if t.headers and t.headers[0] == "Year":
        cols = [j for j, h in enumerate(t.headers[1:], start=2) if h != "Neighbours with a figure"]
        m = measure_info(t.id.split("-", 1)[1]) if "-" in t.id else None
        return cols[:2] if m is not None and m.unit in ("FTE", "headcount") else cols
    return [2]


def add_native_chart(ws, t: Table, title: str) -> None:
    """An Excel chart of the table on this sheet (header in row 2, data from row 3), anchored to its right:
    a line chart over the years for a trend, a bar chart by member council otherwise. Text cells (DfE's
    symbols such as ``c`` or ``low``) are gaps, as in the SVG chart."""
    from openpyxl.chart import BarChart, LineChart, Reference
    from openpyxl.utils import get_column_letter

    last = 2 + len(t.rows)
    cols = _series_columns(t)
    fmt = next((xl_format(r[cols[0] - 1]) for r in t.rows if isinstance(r[cols[0] - 1].value, (int, float))),
               "General").split(";")[0]
    if t.headers[0] == "Year":
        chart = LineChart()
        chart.x_axis.title = "Year (to 30 September)"
    else:
        chart = BarChart()
        chart.type = "bar"  # horizontal bars, councils down the side, as in the pack
        chart.x_axis.scaling.orientation = "maxMin"  # first council at the top, as in the table
        chart.legend = None
    for col in cols:
        chart.add_data(Reference(ws, min_col=col, min_row=2, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=3, max_row=last))
    chart.title = title
    chart.y_axis.numFmt = fmt
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.height = 7.5 if t.headers[0] == "Year" else max(7.5, 0.6 * len(t.rows) + 2)
    chart.width = 16
    ws.add_chart(chart, f"{get_column_letter(len(t.headers) + 2)}2")


def with_chart_alt_text(data: bytes, alts: dict[str, tuple[str, str]]) -> bytes:
    """The XLSX ``data`` with each native chart's text alternative: ``alts`` maps a sheet name to the (title, alt
    text) of the chart on it (the pack's ``Figure.title`` and ``Figure.alt``, as the HTML, Word and PDF packs give
    them), written as the ``name``/``descr`` of the chart's drawing frame (``xdr:cNvPr``), which Excel shows and
    reads out as the chart's Alt Text. openpyxl writes neither; the sheet -> drawing link is read from the
    workbook's and sheets' relationship parts, so a sheet without a chart is left as it is."""
    if not alts:
        return data
    src = zipfile.ZipFile(io.BytesIO(data))
    parts = {n: src.read(n) for n in src.namelist()}

    def targets(rels: str) -> dict[str, str]:
        text = parts.get(rels, b"").decode("utf-8")
        return {m.group("id"): m.group("target").lstrip("/").removeprefix("xl/")
                for m in re.finditer(r'<Relationship\b(?=[^>]*\bTarget="(?P<target>[^"]+)")(?=[^>]*\bId="(?P<id>[^"]+)")'
                                     r'[^>]*/>', text)}

    book = targets("xl/_rels/workbook.xml.rels")
    for m in re.finditer(r'<sheet\b(?=[^>]*\bname="(?P<name>[^"]*)")(?=[^>]*\br:id="(?P<rid>[^"]+)")[^>]*/>',
                         parts["xl/workbook.xml"].decode("utf-8")):
        name = m.group("name").replace("&amp;", "&").replace("&apos;", "'").replace("&quot;", '"')
        if name not in alts or m.group("rid") not in book:
            continue
        sheet = "xl/" + book[m.group("rid")]
        rels = sheet.rsplit("/", 1)[0] + "/_rels/" + sheet.rsplit("/", 1)[1] + ".rels"
        for target in targets(rels).values():
            if "drawings/drawing" in target:
                drawing = "xl/" + target.removeprefix("../")
                title, alt = alts[name]
                parts[drawing] = re.sub(rb'<cNvPr id="(\d+)" name="Chart \d+"\s*/>', lambda d: (
                    f'<cNvPr id="{d.group(1).decode()}" name={quoteattr(title[:250])} '
                    f'descr={quoteattr(alt)}/>').encode("utf-8"), parts[drawing], count=1)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            z.writestr(info, parts[info.filename])
    return out.getvalue()


def xlsx(pack: Pack) -> bytes:
    from openpyxl import Workbook  # optional heavy import: only when an XLSX pack is written
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.table import Table as XLTable
    from openpyxl.worksheet.table import TableStyleInfo

    wb = Workbook()
    contents = wb.active
    contents.title = "Contents"
    taken = {"Contents"}
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="E6ECF3")
    wrap = Alignment(wrap_text=True, vertical="top")
    right = Alignment(horizontal="right", vertical="top")

    contents["A1"] = safe_text(pack.title)
    contents["A1"].font = Font(bold=True, size=14)
    contents["A2"] = safe_text(pack.subtitle)
    contents["A3"] = (f"Made by csww-benchmark {pack.toolkit_version} on {pack.made_on} from DfE's published "
                      "children's social work workforce statistics. One table per sheet; definitions and sources "
                      "are on their own sheets.")
    row = 5
    contents.cell(row, 1, "Summary").font = bold
    for line in pack.summary:
        row += 1
        contents.cell(row, 1, safe_text(line)).alignment = wrap
    row += 1
    contents.cell(row, 1, RULES).alignment = wrap
    row += 2
    contents.cell(row, 1, "Sheet").font = bold
    contents.cell(row, 2, "What it holds").font = bold
    contents.column_dimensions["A"].width = 110
    contents.column_dimensions["B"].width = 90

    used_names: set[str] = set()
    chart_titles = {id(f.table): f.title for s in pack.sections for f in s.figures}  # Table is not hashable
    chart_alts = {id(f.table): (f.title, f.alt) for s in pack.sections for f in s.figures}
    alts: dict[str, tuple[str, str]] = {}  # sheet name -> its chart's (title, text alternative)
    for s in pack.sections:
        for t in s.tables + [f.table for f in s.figures]:
            name = sheet_name(t.sheet or t.caption, taken)
            ws = wb.create_sheet(name)
            caption = ("PROVISIONAL. " if s.provisional and not t.caption.startswith("Provisional") else "") + t.caption
            ws["A1"] = safe_text(caption)
            ws["A1"].font = Font(bold=True, size=12)
            for j, h in enumerate(t.headers, start=1):
                c = ws.cell(2, j, safe_text(h))
                c.font = bold
                c.fill = head_fill
                c.alignment = Alignment(wrap_text=True, vertical="top")
            for i, r in enumerate(t.rows, start=3):
                for j, cell in enumerate(r, start=1):
                    c = ws.cell(i, j, safe_text(cell.value))
                    if cell.number_format and isinstance(cell.value, (int, float)):
                        c.number_format = xl_format(cell)
                    if t.numeric[j - 1]:
                        c.alignment = right
            ws.freeze_panes = "B3" if t.row_header == 0 else "A3"
            last = 2 + len(t.rows)
            if t.rows:
                display = re.sub(r"\W", "_", f"T_{t.id}")
                while display in used_names:
                    display += "_"
                used_names.add(display)
                xt = XLTable(displayName=display, ref=f"A2:{get_column_letter(len(t.headers))}{last}")
                xt.tableStyleInfo = TableStyleInfo(name="TableStyleLight1", showRowStripes=True)
                ws.add_table(xt)
            for k, note in enumerate(t.notes):
                ws.cell(last + 2 + k, 1, safe_text(note))
            if id(t) in chart_titles and t.rows:
                add_native_chart(ws, t, chart_titles[id(t)])
                alts[name] = chart_alts[id(t)]
            for j, h in enumerate(t.headers, start=1):
                longest = max([len(str(h))] + [len(r[j - 1].text) for r in t.rows]) if t.rows else len(str(h))
                ws.column_dimensions[get_column_letter(j)].width = min(max(10, longest + 2), 60)
                if longest > 60:
                    for i in range(3, last + 1):
                        ws.cell(i, j).alignment = wrap
            row += 1
            link = contents.cell(row, 1, name)
            link.hyperlink = f"#'{name}'!A1"
            link.font = Font(color="1D4E89", underline="single")
            contents.cell(row, 2, safe_text(caption))
    contents.freeze_panes = "A2"
    wb.properties.title = pack.title
    wb.properties.subject = pack.subtitle
    wb.properties.creator = f"csww-benchmark {pack.toolkit_version}"
    buf = io.BytesIO()
    wb.save(buf)
    return with_chart_alt_text(buf.getvalue(), alts)


def render(pack: Pack, fmt: str) -> bytes:
    """The pack in ``fmt`` (one of ``FORMATS``) as bytes; text formats are UTF-8."""
    if fmt == "html":
        return html(pack).encode("utf-8")
    if fmt == "md":
        return markdown(pack).encode("utf-8")
    if fmt == "xlsx":
        return xlsx(pack)
    if fmt == "docx":
        return docx_out.docx(pack)
    if fmt == "pdf":
        return pdf_out.pdf_bytes(html(pack), f"{pack.title}, {pack.year}")
    raise UsageError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def format_for(path: str | Path, fmt: str | None) -> str:
    """The format asked for, or the one the output file's extension implies.

    ``-`` (standard output) without ``--format`` is HTML. An extension that names no format, or none at all,
    is a ``UsageError`` (a pack is never written under a name that says it is something else)."""
    if fmt:
        if fmt not in FORMATS:
            raise UsageError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
        implied = EXTENSIONS.get(Path(path).suffix.lower().lstrip(".")) if str(path) != "-" else None
        if implied and implied != fmt:  # never a PDF named x.html
            raise UsageError(f"{path}: --format {fmt} contradicts the .{Path(path).suffix.lower().lstrip('.')} "
                             f"extension ({implied}); name the file .{fmt} or drop --format")
        return fmt
    if str(path) == "-":
        return "html"
    ext = Path(path).suffix.lower().lstrip(".")
    if ext in EXTENSIONS:
        return EXTENSIONS[ext]
    known = ", ".join(f".{e}" for e in EXTENSIONS)
    if not ext:
        raise UsageError(f"{path}: no extension to tell the format; name the file {known}, or give --format")
    raise UsageError(f"{path}: .{ext} is not a pack format; use {known}, or give --format")
