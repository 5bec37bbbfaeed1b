"""The one chart renderer, for packs and the site's council pages: inline SVG, no scripts, no fonts or images
fetched, readable without colour.

Every chart is ``role="img"`` with a ``<title>`` and a ``<desc>`` (the text alternative) that
``aria-labelledby`` points at. Series differ by colour, line pattern and marker shape, and the legend names
them, so the chart reads in greyscale print and for people who cannot tell the colours apart. The data table
always sits beside the chart. Each point carries its figure as a ``<title>`` (a tooltip without JavaScript);
numbers are written by ``formatting``, so a chart shows what the table beside it shows: at the decimals the
table gives each figure (DfE's whole-number 2015 rates as "19%", not "19.0%": ``places`` in :func:`trend`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from html import escape

import pandas as pd

from .formatting import fmt_number, is_number, suffix
from .measures import Measure

# Colours with at least 4.5:1 contrast on white; patterns and markers carry the distinction as well.
STYLES = [
    {"colour": "#1d4e89", "dash": "", "marker": "circle", "width": 3},        # the council
    {"colour": "#a34700", "dash": "8 4", "marker": "square", "width": 2},     # neighbour median
    {"colour": "#2b6a30", "dash": "2 3", "marker": "triangle", "width": 2},   # region
    {"colour": "#3d3d3d", "dash": "10 3 2 3", "marker": "diamond", "width": 2},  # England
]

W, H = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 74


#: The steps an axis may take (times a power of ten): every tick is then a round number a reader can use.
NICE_STEPS = (1, 2, 2.5, 5)
#: Estimated width of one character of the charts' 12 px Arial text (for keeping labels clear of lines).
CHAR_W = 7.2


def nice_step(span: float, most: int = 5) -> float:
    """The smallest step of the form 1, 2, 2.5 or 5 × 10^k that covers ``span`` in at most ``most`` steps
    (Heckbert's "nice numbers", Graphics Gems 1990, with 2.5 added as in Wilkinson's axis labelling)."""
    if span <= 0:
        return 1.0
    k = math.floor(math.log10(span / most))
    for exp in (k, k + 1):
        for m in NICE_STEPS:
            step = m * 10 ** exp
            if span / step <= most + 1e-9:
                return float(step)
    return float(10 ** (k + 2))  # pragma: no cover - the loop always finds one


def nice_ticks(v: float, most: int = 5) -> list[float]:
    """Axis ticks from 0 up to the first tick at or above ``v`` (at most ``most`` steps), all at round numbers:
    ``nice_ticks(27.3)`` -> 0, 10, 20, 30 (not 0, 8, 15, 23, 30); ``nice_ticks(9.1)`` -> 0, 2, 4, 6, 8, 10."""
    step = nice_step(v, most)
    n = max(1, math.ceil(v / step - 1e-9))
    return [round(step * i, 10) for i in range(n + 1)]


def tick_decimals(ticks: list[float]) -> int:
    """The decimals every tick needs to be written exactly (2.5 -> 1; 0, 10, 20 -> 0)."""
    for d in range(0, 4):
        if all(abs(t * 10 ** d - round(t * 10 ** d)) < 1e-6 for t in ticks):
            return d
    return 4


def nice_max(v: float) -> float:
    """The top of an axis that shows ``v``: the last of :func:`nice_ticks`."""
    return nice_ticks(v)[-1] if v > 0 else 1.0


def text_span(x: float, text: str, anchor: str = "start") -> tuple[float, float]:
    """The horizontal extent (left, right) of a 12 px label at ``x`` with ``anchor``, estimated."""
    w = CHAR_W * len(text)
    return {"start": (x, x + w), "end": (x - w, x), "middle": (x - w / 2, x + w / 2)}[anchor]


def clear_of(x: float, text: str, lines: list[float], limit: float, gap: float = 4) -> tuple[float, str]:
    """Where to put an end label that starts ``gap`` after ``x`` so that no vertical line at ``lines`` crosses it:
    ``(x, anchor)``. The label moves past each line it would cross; if it would then run past ``limit`` it is
    set before ``x`` instead (inside the bar's end), or, failing that, right-aligned at ``limit``."""
    lx = x + gap
    for rx in sorted(lines):
        left, right = text_span(lx, text)
        if left - 2 <= rx <= right + 2:
            lx = rx + gap
    if text_span(lx, text)[1] <= limit:
        return lx, "start"
    inside = x - gap
    if not any(text_span(inside, text, "end")[0] - 2 <= rx <= inside + 2 for rx in lines):
        return inside, "end"
    return limit, "end"


def _marker(kind: str, x: float, y: float, colour: str, tip: str = "") -> str:
    if kind == "circle":
        tag, shape = "circle", f'cx="{x:.1f}" cy="{y:.1f}" r="4"'
    elif kind == "square":
        tag, shape = "rect", f'x="{x - 3.5:.1f}" y="{y - 3.5:.1f}" width="7" height="7"'
    elif kind == "triangle":
        tag, shape = "path", f'd="M{x:.1f},{y - 5:.1f} L{x + 4.5:.1f},{y + 3.5:.1f} L{x - 4.5:.1f},{y + 3.5:.1f} Z"'
    else:
        tag, shape = "path", f'd="M{x:.1f},{y - 5:.1f} L{x + 5:.1f},{y:.1f} L{x:.1f},{y + 5:.1f} L{x - 5:.1f},{y:.1f} Z"'
    return (f'<g><title>{escape(tip)}</title>' if tip else "") + f'<{tag} {shape} fill="{colour}"/>' + ("</g>" if tip else "")


def _frame(chart_id: str, title: str, alt: str, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="100%" role="img" '
            f'aria-labelledby="{chart_id}-t {chart_id}-d" class="chart" preserveAspectRatio="xMidYMid meet">'
            f'<title id="{chart_id}-t">{escape(title)}</title><desc id="{chart_id}-d">{escape(alt)}</desc>'
            + "".join(body) + "</svg>")


def line_chart(chart_id: str, title: str, alt: str, years: list[int], series: list[tuple[str, list]],
               decimals: int = 1, unit: str = "", positions: list[float] | None = None,
               join_gaps: bool = False, point_decimals: list[list[int | None]] | None = None) -> str:
    """Lines over ``years``; each series is (name, values aligned with years, None for a gap). ``years`` may be
    any labels (e.g. dates as "Mar 2024"); ``positions`` (0 to 1, one per label) places them in proportion, e.g.
    to time, instead of evenly; ``join_gaps`` draws a series' line across its gaps (a series observed at other
    dates than the others) instead of breaking it. Each point's tooltip shows its figure at ``decimals``, or at
    ``point_decimals[series][point]`` where that is given and not None (the decimals the table shows it with)."""
    values = [v for _, vals in series for v in vals if v is not None]
    ticks = nice_ticks(max(values) if values and max(values) > 0 else 1.0)
    top = ticks[-1]
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM
    n = max(len(years) - 1, 1)

    def x(i: int) -> float:
        if positions is not None:
            return LEFT + pw * positions[i]
        return LEFT + (pw * i / n if len(years) > 1 else pw / 2)

    def y(v: float) -> float:
        return TOP + ph * (1 - v / top)

    tick_dec = tick_decimals(ticks)
    body = ['<rect x="0" y="0" width="100%" height="100%" fill="#ffffff"/>']
    for t in ticks:
        body.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y(t):.1f}" y2="{y(t):.1f}" stroke="#d0d0d0" '
                    f'stroke-width="1"/>')
        body.append(f'<text x="{LEFT - 8}" y="{y(t) + 4:.1f}" text-anchor="end" font-size="12" fill="#222">'
                    f'{fmt_number(t, tick_dec)}{escape(unit)}</text>')
    step = max(1, math.ceil(len(years) / 11))
    drawn_at = -1e9
    for i, yr in enumerate(years):
        if positions is not None:  # labels placed by time: skip one that would overlap the one before
            if x(i) - drawn_at < 8 * len(str(yr)):
                continue
            drawn_at = x(i)
        if positions is not None or i % step == 0 or i == len(years) - 1:
            anchor = "end" if positions is not None and x(i) > W - RIGHT - 4 * len(str(yr)) else "middle"
            body.append(f'<text x="{x(i):.1f}" y="{TOP + ph + 18}" text-anchor="{anchor}" font-size="12" '
                        f'fill="#222">{yr}</text>')
    body.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{TOP + ph}" y2="{TOP + ph}" stroke="#222"/>')
    for k, (name, vals) in enumerate(series):
        st = STYLES[k % len(STYLES)]
        path, pen = [], False
        for i, v in enumerate(vals):
            if v is None:
                pen = pen and join_gaps
                continue
            path.append(f"{'L' if pen else 'M'}{x(i):.1f},{y(v):.1f}")
            pen = True
        if path:
            dash = f' stroke-dasharray="{st["dash"]}"' if st["dash"] else ""
            body.append(f'<path d="{" ".join(path)}" fill="none" stroke="{st["colour"]}" '
                        f'stroke-width="{st["width"]}"{dash}/>')
        dec = point_decimals[k] if point_decimals and k < len(point_decimals) else None
        body += [_marker(st["marker"], x(i), y(v), st["colour"], f"{name}, {years[i]}: "
                         f"{fmt_number(v, decimals if not dec or dec[i] is None else dec[i])}{unit}")
                 for i, v in enumerate(vals) if v is not None]
    body += _legend([name for name, _ in series], H - 30)
    return _frame(chart_id, title, alt, body)


def _legend(names: list[str], ly: float) -> list[str]:
    out, lx = [], LEFT
    for k, name in enumerate(names):
        st = STYLES[k % len(STYLES)]
        dash = f' stroke-dasharray="{st["dash"]}"' if st["dash"] else ""
        out.append(f'<line x1="{lx}" x2="{lx + 28}" y1="{ly}" y2="{ly}" stroke="{st["colour"]}" '
                   f'stroke-width="{st["width"]}"{dash}/>')
        out.append(_marker(st["marker"], lx + 14, ly, st["colour"]))
        label = name if len(name) <= 26 else name[:25] + "\u2026"
        out.append(f'<text x="{lx + 34}" y="{ly + 4}" font-size="12" fill="#222">{escape(label)}</text>')
        lx += 40 + 7 * len(label)
    return out


def bar_chart(chart_id: str, title: str, alt: str, bars: list[tuple[str, float | None, str]],
              references: list[tuple[str, float]], decimals: int = 1, unit: str = "",
              highlight: str | None = None, reference_decimals: list[int | None] | None = None) -> str:
    """Horizontal bars (label, value, display text) with vertical reference lines (name, value); the bar
    labelled ``highlight`` is drawn in the council colour with a bold label, the others in grey-blue. A
    reference's legend shows its figure at ``decimals``, or at ``reference_decimals[k]`` where given and not None
    (the decimals the table shows it with: England's whole-number 2015 turnover as "16%")."""
    values = [v for _, v, _ in bars if v is not None] + [v for _, v in references]
    ticks = nice_ticks(max(values) if values and max(values) > 0 else 1.0, 4)
    top = ticks[-1]
    label_w = 190
    row = 24
    height = TOP + row * len(bars) + 70
    pw = W - label_w - RIGHT - 60

    def x(v: float) -> float:
        return label_w + pw * v / top

    body = ['<rect x="0" y="0" width="100%" height="100%" fill="#ffffff"/>']
    tick_dec = tick_decimals(ticks)
    for t in ticks:
        body.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{TOP}" y2="{TOP + row * len(bars)}" '
                    f'stroke="#d0d0d0"/>')
        body.append(f'<text x="{x(t):.1f}" y="{TOP + row * len(bars) + 16}" text-anchor="middle" font-size="12" '
                    f'fill="#222">{fmt_number(t, tick_dec)}{escape(unit)}</text>')
    ref_x = [x(v) for _, v in references]
    for i, (label, v, text) in enumerate(bars):
        cy = TOP + row * i + row / 2
        short = label if len(label) <= 28 else label[:27] + "\u2026"
        weight = ' font-weight="bold"' if highlight and label == highlight else ""
        body.append(f'<text x="{label_w - 8}" y="{cy + 4:.1f}" text-anchor="end" font-size="12" fill="#222"{weight}>'
                    f'{escape(short)}</text>')
        if v is None:
            body.append(f'<text x="{label_w + 4}" y="{cy + 4:.1f}" font-size="12" fill="#222">'
                        f'{escape(text or "no figure")}</text>')
            continue
        body.append(f'<rect x="{label_w}" y="{cy - 8:.1f}" width="{max(x(v) - label_w, 1):.1f}" height="16" '
                    f'fill="{STYLES[0]["colour"] if not highlight or label == highlight else "#6f8fb5"}"/>')
        lx, anchor = clear_of(x(v), text, ref_x, W - 2)  # never crossed by a reference line
        if anchor == "end":  # set on the bar's end: on a white ground, so it reads as well as outside
            left, right = text_span(lx, text, "end")
            body.append(f'<rect x="{left - 2:.1f}" y="{cy - 7:.1f}" width="{right - left + 4:.1f}" height="14" '
                        'fill="#ffffff"/>')
        body.append(f'<text x="{lx:.1f}" y="{cy + 4:.1f}" font-size="12" text-anchor="{anchor}" fill="#222" '
                    f'class="bar-label">{escape(text)}</text>')
    ly = TOP + row * len(bars) + 40
    lx = LEFT
    for k, (name, v) in enumerate(references, start=1):
        st = STYLES[k % len(STYLES)]
        body.append(f'<line x1="{x(v):.1f}" x2="{x(v):.1f}" y1="{TOP - 4}" y2="{TOP + row * len(bars) + 4}" '
                    f'stroke="{st["colour"]}" stroke-width="2" stroke-dasharray="{st["dash"] or "4 2"}"/>')
        body.append(f'<line x1="{lx}" x2="{lx + 28}" y1="{ly}" y2="{ly}" stroke="{st["colour"]}" stroke-width="2" '
                    f'stroke-dasharray="{st["dash"] or "4 2"}"/>')
        d = reference_decimals[k - 1] if reference_decimals and k - 1 < len(reference_decimals) else None
        label = f"{name} {fmt_number(v, decimals if d is None else d)}{unit}"
        body.append(f'<text x="{lx + 34}" y="{ly + 4}" font-size="12" fill="#222">{escape(label)}</text>')
        lx += 44 + 7 * len(label)
    svg = _frame(chart_id, title, alt, body)
    return svg.replace(f'viewBox="0 0 {W} {H}"', f'viewBox="0 0 {W} {height}"', 1)


#: The decimals a table shows a figure with: ``places(column, year)``, None for the measure's catalogue decimals.
Places = Callable[[str, int], "int | None"]


def trend(chart_id: str, m: Measure, name: str, t: pd.DataFrame, cols: list[tuple[str, str]],
          places: Places | None = None) -> tuple[str, str]:
    """A measure's line chart for one council over the years, and its text alternative: ``(svg, alt)``.

    ``t`` has one row per year (``time_period`` and the columns named in ``cols``); ``cols`` are (column, series
    name) pairs, the council's own first and its neighbour median second. For counts (FTE, headcount) only those
    two are drawn: region and England are totals that dwarf one council (they stay in the table).
    ``places(column, year)`` gives the decimals the table beside the chart shows that figure with (DfE's
    published decimals: ``formatting.dfe_decimals``; 0 for the SFR's whole-number 2015 rates), None for the
    catalogue's ``m.decimals``; the text alternative and the tooltips use them, so both say what the table says.
    """
    years = [int(y) for y in t["time_period"]]
    drawn = cols[:2] if m.unit in ("FTE", "headcount") else cols
    series = [(label, [float(v) if is_number(v) else None for v in t[c]]) for c, label in drawn]
    alt = trend_alt(m, name, t, drawn, years, places)
    point_decimals = [[places(c, y) for y in years] for c, _ in drawn] if places else None
    span = f"{years[0]} to {years[-1]}" if years[0] != years[-1] else f"{years[0]}"
    return line_chart(chart_id, f"{m.label}, {span}", alt, years, series, m.decimals,
                      suffix(m), point_decimals=point_decimals), alt


def trend_alt(m: Measure, name: str, t: pd.DataFrame, drawn, years: list[int], places: Places | None = None) -> str:
    """The chart's text alternative: what it shows and the numbers that matter, each at the decimals the table
    shows it with (``places`` as for :func:`trend`)."""
    def show(v, column: str, year) -> str:
        d = places(column, int(year)) if places else None
        return f"{fmt_number(v, m.decimals if d is None else d)}{suffix(m)}"

    lines = [f"Line chart of {m.label} for {name} "
             + (f"from {years[0]} to {years[-1]}" if years[0] != years[-1] else f"in {years[0]}") + ", with "
             + ", ".join(label for _, label in drawn[1:]) + "."]
    own = t[t["value"].notna()]
    if len(own) == 1:  # one year: its figure once (not "19% in 2015, 19% in 2015. Highest 19% in 2015.")
        lines.append(f"{name}: {show(own.iloc[0]['value'], 'value', own.iloc[0]['time_period'])} in "
                     f"{int(own.iloc[0]['time_period'])}.")
    elif len(own):
        first, last = own.iloc[0], own.iloc[-1]
        lines.append(f"{name}: {show(first['value'], 'value', first['time_period'])} in {int(first['time_period'])}, "
                     f"{show(last['value'], 'value', last['time_period'])} in {int(last['time_period'])}.")
        hi = own.loc[own["value"].idxmax()]
        lines.append(f"Highest {show(hi['value'], 'value', hi['time_period'])} in {int(hi['time_period'])}.")
    last = t.iloc[-1]
    others = [f"{label} {show(last[c], c, last['time_period'])}" for c, label in drawn[1:] if is_number(last[c])]
    if others:
        lines.append(f"In {int(last['time_period'])}: " + ", ".join(others) + ".")
    lines.append("The figures are in the table beside the chart.")
    return " ".join(lines)
