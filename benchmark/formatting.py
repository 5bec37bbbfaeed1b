"""Numbers for people: the one place a figure is rounded and written out (packs, site pages, ``csww compare``).

Every figure is rounded as DfE publishes, half away from zero (``measures.round_half_up``), to the measure's
``decimals`` from ``catalogue/measures.yml``, with thousands separators, ``%`` for percentages and a real minus
sign. A figure DfE did not publish shows DfE's symbol (``SYMBOL_MEANINGS``), never zero.

Dates for people are written one way too (:func:`fmt_date`): the day without a leading zero and the full month
name, "30 September 2025", as DfE writes its census date. Machine-readable columns (CSV, SQLite, JSON) keep
ISO 8601.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from .measures import Measure, catalogue, round_half_up
from .symbols import SYMBOLS

#: DfE's symbols in place of a number, with their meanings (c, x, z, u, low, and the SFR's older ones).
SYMBOL_MEANINGS = dict(SYMBOLS)
MINUS = "\u2212"


def is_number(v) -> bool:
    """A real number: not None, bool, text or NaN."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v == v


def number_format(decimals: int) -> str:
    """The Excel number format showing ``decimals`` places with thousands separators."""
    return "#,##0" if decimals <= 0 else "#,##0." + "0" * decimals


def fmt_number(v, decimals: int, sign: bool = False, minus: str = MINUS) -> str:
    """``v`` rounded half up to ``decimals`` places with thousands separators: 10.25 -> "10.3", 1234.5 -> "1,234.5",
    -2 -> "−2.0" (``minus``; the CLI passes "-"), "+2.0" with ``sign``; "" when ``v`` is not a number."""
    if not is_number(v):
        return ""
    v = round_half_up(v, decimals)
    text = f"{abs(v):,.{max(decimals, 0)}f}"
    if v == 0:
        return text
    return (minus if v < 0 else "+" if sign else "") + text


def suffix(m: Measure) -> str:
    """What follows a measure's number: "%" for percentages, nothing otherwise (the unit is in the heading)."""
    return "%" if m.unit == "percent" else ""


def fmt_value(v, m: Measure, symbol: str | None = None, sign: bool = False, unit: bool = True) -> str:
    """A measure's figure at its catalogue decimals (with "%" when ``unit``), else DfE's ``symbol``, else ""."""
    if is_number(v):
        return fmt_number(v, m.decimals, sign) + (suffix(m) if unit else "")
    return symbol or ""


COUNCIL, AREA = "council", "area"  # the two levels DfE rounds differently: councils; England and regions
LA = "Local authority"  # ``areas.level`` of a council


def dfe_decimals(whole, measure_id: str, year, level: str | None) -> int | None:
    """The decimals DfE published a figure with, where they are fewer than the catalogue's: 0 for a group
    :func:`published_figures` found all whole numbers (2015 rates; the SFR's national and regional figures,
    rounded to tens), so 26500 shows as 26,500, not 26,500.0; else None (the catalogue's decimals). ``level`` is
    ``COUNCIL`` for a council's own figure, ``AREA`` for England's or a region's, None for a figure the toolkit
    computes (a neighbour median, a change), which keeps the catalogue's decimals. The packs, the site and
    ``csww compare`` all ask this."""
    return 0 if whole and level and (measure_id, int(year), level) in whole else None


def published_figures(conn, years=None, measure_ids=None) -> tuple[set[tuple[str, int]], set[tuple[str, int, str]]]:
    """What DfE published, from ``observations`` (a ``sqlite3.Connection``) in one pass, for every year or only
    ``years`` (an iterable of reporting years) and ``measure_ids`` when given (``csww compare`` asks for its one
    year and its measures: an indexed look-up, not the whole table):

    - the (measure_id, time_period) pairs DfE published for at least one council (a value or a symbol): a
      measure missing from a council's records for a year outside these is one DfE does not publish for councils
      that year (caseload before 2017, a measure from councils' own returns), not a gap in that council's figures;
    - the (measure_id, time_period, level) groups, level ``COUNCIL`` or ``AREA`` (England and the regions), whose
      every value comes from an SFR underlying-data file (layout ``sfr``) and is a whole number, for catalogue
      measures shown with decimals: DfE published those without decimals (2015 rates are whole numbers, national
      and regional figures are rounded to tens; reference section 2.6), so a figure shows as 26,500, not 26,500.0
      (:func:`dfe_decimals`).
    """
    cat = catalogue()
    where, params = [], [LA]
    for col, vals in (("o.time_period", years), ("o.measure_id", measure_ids)):
        if vals is not None:
            vals = sorted({int(v) if col == "o.time_period" else str(v) for v in vals})
            where.append(f"{col} IN ({','.join('?' * len(vals))})")
            params += vals
    published, whole = set(), set()
    for m, y, la, n_values, n_whole, n_sfr in conn.execute(
            "SELECT o.measure_id, o.time_period, a.level = ? AS la, count(o.value), "
            "sum(o.value = CAST(o.value AS INTEGER)), sum(o.value IS NOT NULL AND s.layout = 'sfr') "
            "FROM observations o JOIN areas a ON a.area_code = o.area_code "
            "LEFT JOIN source_files s ON s.file_name = o.source_file AND s.release_id = o.release_id "
            + (f"WHERE {' AND '.join(where)} " if where else "")
            + "GROUP BY o.measure_id, o.time_period, la", params):
        if la:
            published.add((m, int(y)))
        if n_values and n_values == n_whole == n_sfr and m in cat and cat[m].decimals > 0:
            whole.add((m, int(y), COUNCIL if la else AREA))
    return published, whole


def fmt_date(d, time: bool = False) -> str:
    """A date for people: ``date(2025, 9, 30)`` -> "30 September 2025"; a ``datetime`` or ISO 8601 text
    ("2025-09-30", "2026-11-30T03:11:47+00:00") the same, its day in UTC when it has a time zone; with ``time``,
    a datetime's time is added in UTC: "30 November 2026 at 03:11 UTC". Text that is not an ISO date is
    returned as it is; None gives ""."""
    if d is None:
        return ""
    if isinstance(d, str):
        try:
            d = datetime.fromisoformat(d.strip().replace("Z", "+00:00")) if "T" in d or " " in d.strip() \
                else date.fromisoformat(d.strip())
        except ValueError:
            return d
    if isinstance(d, datetime):
        if d.tzinfo is not None:
            d = d.astimezone(timezone.utc)
        day = f"{d.day} {d:%B %Y}"
        return day + (f" at {d:%H:%M} UTC" if time else "")
    return f"{d.day} {d:%B %Y}"
