"""Quoted comparators: the national or regional figures a council's report quotes, checked against DfE's.

A report says "compared with the national average of 16.5%"; the return records it as ``quoted_<measure_id>``
(and ``quoted_<measure_id>_area``: England when blank, or a region's name). ``check`` looks the value up among
DfE's published figures (``observations``) for that area and measure, at the precision it was quoted, and says
which years it matches and whether that is the census the return is set beside. Middlesbrough's January 2020
report quotes "national" vacancy 16.5 and agency 15.4: those are England 2018, not 2019 (16.4 and 15.8).
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

from .. import measures
from ..measures import round_half_up
from .result import AlignedFigure

NATIONAL = {"", "england", "national", "nationally", "national average", "england average"}


def _decimals(x: float) -> int:
    """Decimal places of a quoted figure as written (16.5 -> 1, 3.0 -> 0, 15.02 -> 2)."""
    text = f"{x:.6f}".rstrip("0").rstrip(".")
    return len(text.split(".")[1]) if "." in text else 0


def _area(conn: sqlite3.Connection, text: str) -> tuple[str, str] | None:
    """(area_code, area_name) of a quoted area: England, or a region or council named as DfE names it."""
    key = " ".join(text.split()).casefold()
    if key in NATIONAL:
        row = conn.execute("SELECT area_code, area_name FROM areas WHERE level = 'National'").fetchone()
    else:
        row = conn.execute("SELECT area_code, area_name FROM areas WHERE lower(area_name) = ? OR area_code = ? "
                           "ORDER BY level = 'Regional' DESC LIMIT 1", (key, text.strip())).fetchone()
    return tuple(row) if row else None


def _matches(value: float, published: float, decimals: int) -> bool:
    q = _decimals(value)
    if q <= decimals:
        return round_half_up(published, q) == round_half_up(value, q)
    return round_half_up(value, decimals) == published


def check(figures: list[AlignedFigure], conn: sqlite3.Connection | str | Path | None) -> list[AlignedFigure]:
    """``figures`` with ``quoted_match`` filled in for each one carrying a ``quoted_value``. ``conn`` is the
    database of DfE's figures (a connection or a path); None or a missing file says "not checked". When a
    return quotes two or more figures for one area, each also says which years all of them match."""
    if not any(f.quoted_value is not None for f in figures):
        return figures
    if conn is None or (not isinstance(conn, sqlite3.Connection) and not Path(conn).is_file()):
        return [replace(f, quoted_match="not checked: no database of DfE's figures (build one with csww build, "
                        "or give --db)") if f.quoted_value is not None else f for f in figures]
    own = not isinstance(conn, sqlite3.Connection)
    db = sqlite3.connect(f"file:{Path(conn)}?mode=ro", uri=True) if own else conn
    try:
        found = {}
        for i, f in enumerate(figures):
            if f.quoted_value is None:
                continue
            area = _area(db, f.quoted_area)
            if area is None:
                found[i] = (None, [], {}, f"not checked: no area called {f.quoted_area!r} in the database")
                continue
            rows = dict(db.execute("SELECT time_period, value FROM observations WHERE area_code = ? AND "
                                   "measure_id = ? AND value IS NOT NULL ORDER BY time_period",
                                   (area[0], f.measure_id)).fetchall())
            years = [y for y, v in rows.items() if _matches(f.quoted_value, v, measures.get(f.measure_id).decimals)]
            found[i] = (area, years, rows, "")
    finally:
        if own:
            db.close()
    out = list(figures)
    common: dict[tuple, set[int]] = {}
    for area, years, _, _ in found.values():
        if area is not None:
            common[area] = common.get(area, set(years)) & set(years)
    quoted = {area: sum(1 for a, *_ in found.values() if a == area) for area in common}
    for i, (area, years, rows, note) in found.items():
        f = figures[i]
        if area is None:
            out[i] = replace(f, quoted_match=note)
            continue
        name, own_year = area[1], f.time_period
        d = measures.get(f.measure_id).decimals
        rows = {y: f"{v:.{d}f}" for y, v in rows.items()}  # as DfE publishes them (10.0, not 10)
        beside = (f"DfE's {name} {own_year} is {rows[own_year]}" if own_year in rows
                  else f"DfE's {name} {own_year} is not in the database")
        if not years:
            text = f"matches no {name} figure DfE published ({', '.join(f'{y}: {v}' for y, v in rows.items())})"
        elif own_year in years:
            text = f"matches DfE's {name} {own_year} ({rows[own_year]}), the census this return is set beside"
            if len(years) > 1:
                text += f" (and {', '.join(str(y) for y in years if y != own_year)})"
        else:
            text = (f"matches {name} {' and '.join(str(y) for y in years)} ({rows[years[0]]}), not {own_year}, "
                    f"the census this return is set beside: {beside}")
        if quoted[area] > 1 and common[area] and not (own_year in years and common[area] == {own_year}):
            text += (f"; the return's {quoted[area]} quoted {name} figures all match "
                     f"{' and '.join(str(y) for y in sorted(common[area]))}")
        out[i] = replace(f, quoted_match=text)
    return out
