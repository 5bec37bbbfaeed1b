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
from xml.sax.saxutils import escape as xml_escape

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Cm, Pt, RGBColor

from ..problems import NotFoundError
from .model import Pack, Table
from .narrative import RULES

#: Width of a chart picture on the page and of its PNG in pixels (about 160 dpi at that width).
CHART_WIDTH_CM = 16.0
CHART_PIXELS = 1000
#: Tables with more rows than this may break across pages (their header row repeats); shorter ones are kept whole.
LONG_TABLE = 12
_TOOLTIP = re.compile(r"<g><title>[^<]*</title>(.*?)</g>")
QUOTE = {'"': "&quot;"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def svg_to_png(svg: str, width: int = CHART_PIXELS) -> bytes:
    """The chart's SVG (``benchmark.charts``) as a PNG ``width`` pixels wide, height in proportion.

    ``NotFoundError`` when the Cairo library is missing (CairoSVG loads it on import)."""
    try:
        import cairosvg  # loads libcairo: only when a Word pack is written, so the rest never needs it
    except OSError as exc:
        raise NotFoundError(f"a Word pack draws its charts with Cairo, which is not installed ({exc}): "
                            "apt-get install libcairo2") from None
    drawn = _TOOLTIP.sub(r"\1", svg)  # the points' tooltips (<title> in a <g>) draw nothing: not parsed for nothing
    return cairosvg.svg2png(bytestring=drawn.encode("utf-8"), output_width=width, background_color="white")


def _text(value) -> str:
    """Text Word can store: XML-forbidden control characters dropped."""
    return _CONTROL.sub("", "" if value is None else str(value))


def _keep_with_next(paragraph) -> None:
    paragraph.paragraph_format.keep_with_next = True


def _table_styles(doc) -> None:
    for name, align in (("Table text", WD_ALIGN_PARAGRAPH.LEFT), ("Table number", WD_ALIGN_PARAGRAPH.RIGHT)):
        st = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        st.style_id = name.title().replace(" ", "")
        st.base_style = doc.styles["Normal"]
        st.font.size = Pt(8)
        st.paragraph_format.space_after = Pt(0)
        st.paragraph_format.alignment = align


#: The text width of the page (A4 less the 1.8 cm side margins) in twentieths of a point, shared by the columns.
TEXT_WIDTH_TWIPS = 9866


def _table_xml(t: Table, caption: str) -> str:
    """The ``w:tbl`` for ``t`` as one string, parsed once (``parse_xml``): building it cell by cell through
    python-docx's objects cost about 2 ms a cell, most of a Word pack's time. The same structure as before:
    "Table Grid" style, the caption as ``w:tblCaption``, a header row (``w:tblHeader``, shaded, bold) repeated
    on each page, no row split across pages, a row group's heading cell merged down its rows (``w:vMerge``),
    numbers right-aligned (paragraph style ``TableNumber``), and the rows of a short table (or the first rows
    of a long one) kept with the next so the table stays with its caption."""
    cols = len(t.headers)
    width = TEXT_WIDTH_TWIPS // max(cols, 1)
    keep_rows = len(t.rows) + 1 if len(t.rows) <= LONG_TABLE else 3  # rows (head included) kept with the next

    def cell(text: str, right: bool, bold: bool = False, merge: str | None = None, shade: bool = False,
             keep: bool = False) -> str:
        pr = f'<w:tcW w:w="{width}" w:type="dxa"/>'
        if merge is not None:
            pr += '<w:vMerge w:val="restart"/>' if merge == "restart" else "<w:vMerge/>"
        if shade:
            pr += '<w:shd w:val="clear" w:color="auto" w:fill="E6ECF3"/>'
        ppr = f'<w:pStyle w:val="{"TableNumber" if right else "TableText"}"/>' + ("<w:keepNext/>" if keep else "")
        run = (f'<w:r>{"<w:rPr><w:b/></w:rPr>" if bold else ""}<w:t xml:space="preserve">{xml_escape(text)}</w:t></w:r>'
               if text else "")
        return f"<w:tc><w:tcPr>{pr}</w:tcPr><w:p><w:pPr>{ppr}</w:pPr>{run}</w:p></w:tc>"

    grouped = t.group_rows > 1
    out = [f'<w:tbl {nsdecls("w")}><w:tblPr><w:tblStyle w:val="TableGrid"/><w:tblW w:type="auto" w:w="0"/>'
           '<w:jc w:val="left"/><w:tblLook w:firstRow="1" w:lastRow="0" w:firstColumn="1" w:lastColumn="0" '
           f'w:noHBand="0" w:noVBand="1" w:val="04A0"/><w:tblCaption w:val="{xml_escape(caption[:255], QUOTE)}"/>'
           "</w:tblPr><w:tblGrid>" + f'<w:gridCol w:w="{width}"/>' * cols + "</w:tblGrid>"]
    out.append('<w:tr><w:trPr><w:cantSplit w:val="true"/><w:tblHeader w:val="true"/></w:trPr>'
               + "".join(cell(_text(h), t.numeric[j], bold=True, shade=True, keep=keep_rows > 0)
                         for j, h in enumerate(t.headers)) + "</w:tr>")
    last = len(t.rows)
    for i, r in enumerate(t.rows, start=1):
        keep = i < keep_rows and i < last
        cells = []
        for j, c in enumerate(r):
            merge = None
            if grouped and j == 0:
                start = (i - 1) // t.group_rows * t.group_rows + 1
                end = min(start + t.group_rows - 1, last)
                if end > start:  # the group's heading cell spans its rows, as <th scope="rowgroup"> in HTML
                    merge = "restart" if i == start else "continue"
                if merge == "continue":
                    cells.append(cell("", t.numeric[j], merge=merge, keep=keep))
                    continue
            cells.append(cell(_text(c.text), t.numeric[j], bold=grouped and j == 0, merge=merge, keep=keep))
        out.append("<w:tr><w:trPr><w:cantSplit/></w:trPr>" + "".join(cells) + "</w:tr>")
    out.append("</w:tbl>")
    return "".join(out)


def add_table(doc, t: Table, provisional: bool = False) -> None:
    caption = ("PROVISIONAL. " if provisional and not t.caption.startswith("Provisional") else "") + t.caption
    cap = doc.add_paragraph(_text(caption))
    cap._p.style = "Caption"  # by style id: python-docx's lookup by name costs ~20 ms a paragraph
    _keep_with_next(cap)
    cap._p.addnext(parse_xml(_table_xml(t, _text(caption))))
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
    meta = doc.add_paragraph(f"Made by csww-benchmark {pack.toolkit_version} on {pack.made_on} from the "
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
