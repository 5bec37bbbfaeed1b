"""A council's own workforce figures aligned to DfE's definitions.

``align(path)`` reads an aggregate local return (CSV/XLSX), a worker-level HR extract (CSV/XLSX) or the
statutory CSWW census XML return, telling them apart by content, and returns ``AlignedFigure`` records. A
return another council exported with ``csww align --export`` (``export``) is read back, checked, as aligned.
Worker-level rows never leave this package: what it returns is aggregates, with small counts suppressed.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from . import categories as categories_mod
from . import census_xml, export, parse, template, workers
from .problems import InputError, Problem
from .quoted import check as check_quoted
from .result import AlignedFigure
from .rules import SUPPRESS_BELOW

__all__ = ["AlignedFigure", "InputError", "Problem", "align", "check_quoted", "SUPPRESS_BELOW"]


def align(path: str | Path, la: str | None = None, *, min_count: int = SUPPRESS_BELOW, salt: bytes | None = None,
          as_at: date | None = None, annualise: bool = False,
          categories: str | Path | None = None, warnings: list[Problem] | None = None) -> list[AlignedFigure]:
    """Align one council file. ``la`` picks one council (aggregate returns) or names it (worker extracts without
    an area_code column). Each return is set beside the DfE census nearest its snapshot (``census.match``); with
    ``as_at``, beside the latest census DfE had published by that date. Flows over a period other than DfE's
    1 October-30 September year are scaled to 12 months only with ``annualise`` (else caveated). Raises
    ``InputError`` listing every problem (nothing is returned then), ``UsageError`` for an ``as_at`` before any
    release. ``categories`` is a category mapping file (``categories.load``) for a worker extract whose
    leave_reason / start_origin hold the council's own categories. ``warnings``, a list, receives what leaves the
    figures usable but should be looked at (``Problem`` with severity "warning"): in a worker extract or census
    return, a record repeating an earlier one exactly, counted once (``workers.read``)."""
    match = {"as_at": as_at, "annualise": annualise}
    path = Path(path)
    if not path.is_file():
        raise InputError([Problem(str(path), "no such file", None, None, None)])
    refused = parse.not_a_table(path, xlsx_text=False)  # a lock file has no kind: said before looking for one
    if refused is not None:
        raise InputError([refused])
    if export.looks_like_export(path):  # a return another council exported (csww align --export): checked
        return export.read(path, la).figures
    if census_xml.looks_like_xml(path):
        return census_xml.read(path, la, min_count, salt, warnings=warnings, **match)
    df = parse.read_table(path)
    if df.empty:
        raise InputError([Problem(str(path), "no data rows: fill in one row per council (or worker) "
                                  "below the header", 2, None, None)])
    if workers.is_extract(df.columns):
        cats = categories_mod.load(categories) if categories is not None else None
        return workers.read(path, df, la, min_count, salt, categories=cats, warnings=warnings, **match)
    if "period_end" in df.columns or "area_code" in df.columns:
        return template.read(path, df, la, min_count, **match)
    raise InputError([Problem(str(path), "cannot tell what this file is: an aggregate return needs area_code, period_start and "
                              "period_end columns; a worker extract needs worker_id; a census return is XML", 1, None, ", ".join(df.columns[:8]))])
