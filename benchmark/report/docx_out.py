"""A pack as a Word document (``.docx``) a scrutiny officer can file or paste from as it is.

Built with python-docx on its default template, so Word's own styles carry the structure: the pack title is
Heading 1, each section Heading 2 and each chart Heading 3 (the navigation pane and Word's accessibility checker
read them); tables are real Word tables whose first row is a header row repeated on every page (``w:tblHeader``)
with a caption above and the caption as the table's title (``w:tblCaption``); charts are PNG pictures with their
text alternative as the picture's description (``wp:docPr/@descr``), followed by their data table.

Charts are drawn by the one renderer (``benchmark.charts``) as SVG and turned into PNG by CairoSVG: it needs only
the Cairo library (``libcairo2``, installed by ``.ci/run`` where missing), is fast (milliseconds a chart, so a
Word pack needs no browser) and draws our plain SVG (lines, rectangles, paths, text) as Chromium does.
"""

from __future__ import annotations

import io
import re

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from ..problems import NotFoundError
from .model import Pack, Table
from .narrative import RULES

#: Width of a chart picture on the page and of its PNG in pixels (about 160 dpi at that width).
CHART_WIDTH_CM = 16.0
CHART_PIXELS = 1000
#: Tables with more rows than this may break across pages (their header row repeats); shorter ones are kept whole.
LONG_TABLE = 12
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def svg_to_png(svg: str, width: int = CHART_PIXELS) -> bytes:
    """The chart's SVG (``benchmark.charts``) as a PNG ``width`` pixels wide, height in proportion.

    ``NotFoundError`` when the Cairo library is missing (CairoSVG loads it on import)."""
    try:
        import cairosvg  # loads libcairo: only when a Word pack is written, so the rest never needs it
    except OSError as exc:
        raise NotFoundError(f"a Word pack draws its charts with Cairo, which is not installed ({exc}): "
                            "apt-get install libcairo2") from None
    return cairosvg.svg2png(bytestring=svg.encode("utf-8"), output_width=width, background_color="white")


def _text(value) -> str:
    """Text Word can store: XML-forbidden control characters dropped."""
    return _CONTROL.sub("", "" if value is None else str(value))


def _set_repeat_header(row) -> None:
    tr_pr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    tr_pr.append(el)
    cant = OxmlElement("w:cantSplit")
    cant.set(qn("w:val"), "true")
    tr_pr.append(cant)


def _set_table_caption(table, caption: str) -> None:
    """``w:tblCaption`` (Word's table "Title" alt text), placed where the schema puts it in ``w:tblPr``."""
    tbl_pr = table._tbl.tblPr
    el = OxmlElement("w:tblCaption")
    el.set(qn("w:val"), caption[:255])
    look = tbl_pr.find(qn("w:tblLook"))
    if look is not None:
        look.addnext(el)
    else:
        tbl_pr.append(el)


def _keep_with_next(paragraph) -> None:
    paragraph.paragraph_format.keep_with_next = True


def _shade(cell, fill: str) -> None:
    tc_pr = cell._tc.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    tc_pr.append(shd)


def _cell_text(cell, text: str, bold: bool = False, right: bool = False) -> None:
    p = cell.paragraphs[0]
    # paragraph styles (8 pt, no space after) set by id: python-docx's lookup by name is slow on many cells
    p._p.style = "TableNumber" if right else "TableText"
    run = p.add_run(_text(text))
    if bold:
        run.bold = True


def _table_styles(doc) -> None:
    for name, align in (("Table text", WD_ALIGN_PARAGRAPH.LEFT), ("Table number", WD_ALIGN_PARAGRAPH.RIGHT)):
        st = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        st.style_id = name.title().replace(" ", "")
        st.base_style = doc.styles["Normal"]
        st.font.size = Pt(8)
        st.paragraph_format.space_after = Pt(0)
        st.paragraph_format.alignment = align


def add_table(doc, t: Table, provisional: bool = False) -> None:
    caption = ("PROVISIONAL. " if provisional and not t.caption.startswith("Provisional") else "") + t.caption
    cap = doc.add_paragraph(_text(caption), style="Caption")
    _keep_with_next(cap)
    table = doc.add_table(rows=1 + len(t.rows), cols=len(t.headers))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.LEFT
    _set_table_caption(table, _text(caption))
    head = table.rows[0]
    _set_repeat_header(head)
    for j, (h, cell) in enumerate(zip(t.headers, head.cells)):
        _cell_text(cell, h, bold=True, right=t.numeric[j])
        _shade(cell, "E6ECF3")
    for i, (r, row) in enumerate(zip(t.rows, table.rows[1:]), start=1):
        row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
        for j, (c, cell) in enumerate(zip(r, row.cells)):
            if t.group_rows > 1 and j == 0 and (i - 1) % t.group_rows:
                continue  # inside a row group: merged into the group's first cell below
            _cell_text(cell, c.text, bold=(t.group_rows > 1 and j == 0), right=t.numeric[j])
    if t.group_rows > 1:  # the group's heading cell spans its rows, as <th scope="rowgroup" rowspan> does in HTML
        for start in range(1, len(t.rows) + 1, t.group_rows):
            end = min(start + t.group_rows - 1, len(t.rows))
            if end > start:
                table.cell(start, 0).merge(table.cell(end, 0))
    # keep each row of a short table with the next, so it is not split from its caption; a long one (more than
    # LONG_TABLE rows) keeps only its head and first rows with the caption and breaks where the page ends
    rows = table._tbl.tr_lst
    for tr in rows[:-1] if len(t.rows) <= LONG_TABLE else rows[:3]:
        for p in tr.iter(qn("w:p")):
            p.get_or_add_pPr().get_or_add_keepNext()
    for n in t.notes:
        p = doc.add_paragraph()
        run = p.add_run(_text(n))
        run.font.size = Pt(8)
        run.font.color.rgb = RGBColor(0x4A, 0x4A, 0x4A)
    doc.add_paragraph().paragraph_format.space_after = Pt(2)


def add_picture(doc, png: bytes, alt: str, title: str) -> None:
    doc.add_picture(io.BytesIO(png), width=Cm(CHART_WIDTH_CM))
    pic_par = doc.paragraphs[-1]
    _keep_with_next(pic_par)
    doc_pr = pic_par._p.xpath(".//wp:docPr")[0]
    doc_pr.set("descr", _text(alt))
    doc_pr.set("title", _text(title))


def _page_number_footer(section, text: str) -> None:
    p = section.footer.paragraphs[0]
    run = p.add_run(_text(text) + " Page ")
    run.font.size = Pt(8)
    fld = OxmlElement("w:fldSimple")
    fld.set(qn("w:instr"), "PAGE")
    r = OxmlElement("w:r")
    t = OxmlElement("w:t")
    t.text = "1"
    r.append(t)
    fld.append(r)
    p._p.append(fld)


def docx(pack: Pack) -> bytes:
    """The pack as DOCX bytes: A4 portrait, Arial 10 pt, headings, tables and charts as described above."""
    doc = Document()
    sec = doc.sections[0]
    sec.orientation = WD_ORIENT.PORTRAIT
    sec.page_width, sec.page_height = Cm(21.0), Cm(29.7)
    for side in ("left_margin", "right_margin"):
        setattr(sec, side, Cm(1.8))
    sec.top_margin, sec.bottom_margin = Cm(1.6), Cm(1.6)
    normal = doc.styles["Normal"]
    normal.font.name = "Arial"
    normal.font.size = Pt(10)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "en-GB")
    normal.element.get_or_add_rPr().append(lang)
    for name, size in (("Heading 1", 18), ("Heading 2", 14), ("Heading 3", 11.5)):
        st = doc.styles[name]
        st.font.name = "Arial"
        st.font.size = Pt(size)
        st.font.color.rgb = RGBColor(0x1D, 0x4E, 0x89) if name != "Heading 3" else RGBColor(0x1A, 0x1A, 0x1A)
        st.paragraph_format.keep_with_next = True
    doc.styles["Caption"].font.color.rgb = RGBColor(0x1A, 0x1A, 0x1A)
    doc.styles["Caption"].font.size = Pt(9)
    doc.styles["Caption"].font.bold = True
    doc.styles["Caption"].font.italic = False
    _table_styles(doc)

    doc.add_heading(_text(pack.title), level=1)
    doc.add_paragraph(_text(pack.subtitle))
    meta = doc.add_paragraph(f"Made by csww-benchmark {pack.toolkit_version} on {pack.generated_at[:10]} from the "
                             "Department for Education's published children's social work workforce statistics.")
    meta.runs[0].font.size = Pt(9)
    doc.add_heading("Summary", level=2)
    for line in pack.summary:
        doc.add_paragraph(_text(line), style="List Bullet")
    rules = doc.add_paragraph(_text(RULES))
    rules.runs[0].font.size = Pt(9)
    for s in pack.sections:
        doc.add_heading(_text(s.heading) + (" (PROVISIONAL)" if s.provisional else ""), level=2)
        for p in s.intro:
            doc.add_paragraph(_text(p))
        for b in s.bullets:
            doc.add_paragraph(_text(b), style="List Bullet")
        for t in s.tables:
            add_table(doc, t, s.provisional)
        for f in s.figures:
            doc.add_heading(_text(f.title), level=3)
            add_picture(doc, svg_to_png(f.svg), f.alt, f.title)
            if f.note:
                note = doc.add_paragraph(_text(f.note))
                note.runs[0].font.size = Pt(9)
                _keep_with_next(note)
            add_table(doc, f.table, s.provisional)
    _page_number_footer(sec, f"{pack.title}, {pack.year}. Contains public sector information licensed under the "
                             "Open Government Licence v3.0.")
    props = doc.core_properties
    props.title = _text(pack.title)
    props.subject = _text(pack.subtitle)
    props.author = f"csww-benchmark {pack.toolkit_version}"
    props.language = "en-GB"
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
