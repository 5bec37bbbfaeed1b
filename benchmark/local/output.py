"""Aligned figures as a table, JSON or CSV, and files written atomically (a temporary file, then a rename)."""

from __future__ import annotations

import csv
import io
import json

from .. import measures
from ..formatting import fmt_date
from . import census
from .result import AlignedFigure

FORMATS = ("table", "json", "csv")
COLUMNS = ["area_code", "team", "period", "time_period", "measure_id", "value", "symbol", "reported_value",
           "comparable", "basis", "caveat", "reported_definition", "provisional", "input_kind", "source_file",
           "rows_used", "period_start", "period_end", "dfe_year", "months_from_census", "service", "quoted_value",
           "quoted_area", "quoted_match", "comparator_value", "comparator_name"]


def render(figures: list[AlignedFigure], fmt: str = "table") -> str:
    records = [{k: f.record()[k] for k in COLUMNS} for f in figures]
    if fmt == "json":
        return json.dumps(records, indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
        return buf.getvalue()
    if fmt == "table":
        return _table(figures)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def _show(value, symbol=None, decimals: int = 1) -> str:
    if symbol:
        return symbol
    if value is None:
        return ""
    return f"{value:,.{decimals}f}".rstrip("0").rstrip(".") if value % 1 else f"{value:,.0f}"


def _table(figures: list[AlignedFigure]) -> str:
    """Figures grouped by council, team and period; caveats shared by the whole group are printed once. Each
    measure's label is printed whole, the column as wide as the group's longest label (at least 48)."""
    lines: list[str] = []
    groups: dict[tuple, list[AlignedFigure]] = {}
    for f in figures:
        groups.setdefault((f.area_code, f.team, f.period), []).append(f)
    for group in groups.values():
        f0 = group[0]
        split = [f.caveat.split("; ") if f.caveat else [] for f in group]
        common = [c for c in split[0] if all(c in s for s in split)]
        lines += [f"{f0.area_code}{' / ' + f0.team if f0.team else ''}: {fmt_date(f0.period_start)} to "
                  f"{fmt_date(f0.period_end)} (set beside DfE {f0.time_period}: "
                  f"{census.CensusMatch(f0.time_period, f0.months_from_census).describe()}), {f0.source_file} {f0.rows_used}"]
        lines += [f"  note: {c}" for c in common]
        labels = [measures.get(f.measure_id).label for f in group]
        width = max([48, *map(len, labels)])  # whole labels: cut, a count and its % once read the same
        lines.append(f"  {'measure':<{width}} {'DfE basis':>10} {'reported':>10}  {'comparable':<10}  caveat")
        for f, cav, label in zip(group, split, labels):
            rest = "; ".join(c for c in cav if c not in common)
            lines.append(f"  {label:<{width}} {_show(f.value, f.symbol):>10} "
                         f"{_show(f.reported_value, decimals=2):>10}  {'yes' if f.comparable else 'no':<10}  {rest}".rstrip())
            if f.comparator_value is not None:
                lines.append(f"    {f.comparator_name or 'internal comparator'}: {_show(f.comparator_value, decimals=2)}")
            if f.quoted_value is not None:
                lines.append(f"    quoted {f.quoted_area or 'England'} {_show(f.quoted_value, decimals=2)}: {f.quoted_match}")
        lines.append("")
    return "\n".join(lines)
