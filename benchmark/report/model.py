"""What a pack is made of, independent of how it is rendered.

A :class:`Pack` is a title, some narrative, a list of :class:`Table` and :class:`Figure` sections and the
provenance. Every renderer (HTML, XLSX, Markdown) walks the same objects, so a figure in one format is the
same figure in the others. A :class:`Cell` carries both the raw value (for a spreadsheet, never a number
stored as text) and its display text (for HTML and Markdown).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import measures
from ..formatting import fmt_date, fmt_number, is_number, number_format, suffix
from ..measures import round_half_up
from ..problems import NotFoundError


@dataclass(frozen=True)
class Cell:
    value: Any = None          # number, text or None
    text: str = ""             # what a reader sees in HTML and Markdown
    number_format: str | None = None  # Excel number format for numbers
    # a catalogue formula ({over, under, times}): HTML sets it as a fraction, other formats show ``text``
    formula: Any = field(default=None, hash=False, compare=False)

    def __str__(self) -> str:
        return self.text


@dataclass
class Table:
    id: str                    # stable id: HTML anchor and XLSX sheet name source
    caption: str
    headers: list[str]
    rows: list[list[Cell]]
    sheet: str = ""            # XLSX sheet name (max 31 characters); defaults from the caption
    row_header: int = 0        # index of the column that heads each row (HTML <th scope="row">)
    group_rows: int = 0        # >1: the first column heads a group of this many rows (HTML rowgroup)
    notes: list[str] = field(default_factory=list)
    numeric: list[bool] = field(default_factory=list)  # right-align these columns

    def __post_init__(self):
        if not self.numeric:
            self.numeric = [any(isinstance(r[i].value, (int, float)) for r in self.rows)
                            for i in range(len(self.headers))]


@dataclass
class Figure:
    id: str
    title: str
    svg: str                   # inline SVG with role="img", <title>, <desc> and aria-labelledby
    alt: str                   # the text alternative (also the SVG's <desc>)
    table: Table               # the chart's data, shown beside it
    note: str = ""


@dataclass
class Section:
    id: str
    heading: str
    intro: list[str] = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    provisional: bool = False  # local figures: labelled provisional wherever they appear
    measure_ids: list[str] = field(default_factory=list)  # measures shown here beyond the key measures


@dataclass
class Pack:
    kind: str                  # "council" or "group"
    title: str
    subtitle: str
    year: int
    summary: list[str]         # the exception-led narrative, one sentence per item
    sections: list[Section]
    generated_at: str
    toolkit_version: str
    facts: dict[str, Any] = field(default_factory=dict)  # machine-readable bits tests and callers use

    @property
    def made_on(self) -> str:
        """The day the pack was made, in words: "30 November 2026" (``formatting.fmt_date``)."""
        return fmt_date(self.generated_at[:10])

    @property
    def made_at(self) -> str:
        """When the pack was made, in words: "30 November 2026 at 18:20 UTC"."""
        return fmt_date(self.generated_at, time=True)

    def tables(self) -> list[Table]:
        out = []
        for s in self.sections:
            out += s.tables
            out += [f.table for f in s.figures]
        return out


# ---------------------------------------------------------------------------------------------------------------
# Formatting


def measure_info(measure_id: str) -> measures.Measure:
    """The catalogue entry, or a plain stand-in for a measure the catalogue does not know (e.g. a local one)."""
    try:
        return measures.get(measure_id)
    except NotFoundError:
        return measures.Measure(id=measure_id, label=measure_id.replace("_", " ").capitalize(), unit="",
                                polarity="neutral", definition="Not in the measure catalogue.", decimals=1,
                                group="local")


LOW = "low"
NO_FIGURE = "\u2014"  # an em dash where DfE has no figure; a footnote says so (``NO_FIGURE_NOTE``)
NO_FIGURE_NOTE = "\u2014 DfE published no figure for this council and year."


def low_text(m: measures.Measure, decimals: int | None = None) -> str:
    """DfE's ``low`` in words: below half the last shown decimal ("below 0.05%")."""
    d = m.decimals if decimals is None else decimals
    return f"below {5 * 10 ** -(d + 1):.{d + 1}f}{suffix(m)}"


def given_decimals(v, cap: int = 4) -> int | None:
    """The decimals a council gave a figure with (26.73 -> 2), from its shortest repr; None for a computed
    value with more than ``cap`` decimals or a non-number."""
    if not is_number(v):
        return None
    text = repr(float(v))
    if "e" in text or "E" in text:
        return None
    tail = text.split(".")[1].rstrip("0") if "." in text else ""
    return len(tail) if len(tail) <= cap else None


def value_cell(v, m: measures.Measure, symbol: str | None = None, decimals: int | None = None,
               sign: bool = False, unit: bool = True) -> Cell:
    """A measure's value: the number with its unit, or DfE's symbol when no number is published (``low``
    in words: "below 0.05%")."""
    d = m.decimals if decimals is None else decimals
    if is_number(v):
        return Cell(round_half_up(v, d), fmt_number(v, d, sign) + (suffix(m) if unit else ""),
                    excel_format(d, suffix(m) if unit else "", sign))
    if symbol == LOW:  # text in words; a spreadsheet's (numeric) column keeps DfE's symbol, as for any other
        return Cell(LOW, low_text(m, d))
    if symbol:  # an em dash with DfE's symbol as its footnote mark; the table's note says what it means
        return Cell(symbol, no_figure_text(symbol))
    return Cell(None, "")


def no_figure_text(symbol: str) -> str:
    """What a table shows where DfE published a symbol, not a number: an em dash marked with the symbol,
    "— (c)", explained in words under the table (``packs._symbol_note``). A spreadsheet keeps the symbol."""
    return f"{NO_FIGURE} ({symbol})"


def excel_format(decimals: int, unit: str = "", sign: bool = False) -> str:
    """The Excel number format that shows a value as the pack's text does: catalogue decimals, the unit as a
    literal suffix (``"%"``: DfE's rates are percentages already, 15.4 not 0.154, so Excel's ``%`` would
    multiply by 100) and, for a change, an explicit sign: ``#,##0.0"%"``, ``+#,##0.0" pts";-#,##0.0" pts";0.0" pts"``."""
    base = number_format(decimals)
    tail = f'"{unit}"' if unit else ""
    if sign:
        zero = "0" if decimals <= 0 else "0." + "0" * decimals
        return f"+{base}{tail};-{base}{tail};{zero}{tail}"
    return base + tail


def text_cell(v) -> Cell:
    if v is None or (isinstance(v, float) and v != v):
        return Cell(None, "")
    return Cell(v, str(v))


def int_cell(v) -> Cell:
    if not is_number(v):
        return Cell(None, "")
    return Cell(int(v), f"{int(v):,}", "0")


def year_cell(v) -> Cell:
    if not is_number(v):
        return Cell(None, "")
    return Cell(int(v), str(int(v)), "0")


def sheet_name(text: str, taken: set[str]) -> str:
    """A valid, unique Excel sheet name (31 characters, none of []:*?/\\)."""
    clean = "".join(" " if ch in "[]:*?/\\" else ch for ch in text).strip()[:31] or "Sheet"
    name, n = clean, 2
    while name.lower() in {t.lower() for t in taken}:
        tail = f" ({n})"
        name, n = clean[:31 - len(tail)] + tail, n + 1
    taken.add(name)
    return name
