"""Scrutiny committee and partnership packs (``csww report``).

``gather`` reads the comparison records, neighbour list and provenance from the database through ``store``;
``packs`` assembles a council or partnership ``Pack`` (tables, charts, narrative); ``narrative`` writes the
exception-led sentences; ``render`` turns a pack into HTML, XLSX or Markdown (charts: ``benchmark.charts``).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .. import store
from ..fileio import atomic_write
from . import render as render_mod
from .gather import ReportError
from .model import Pack
from .packs import council_pack, group_pack
from .render import FORMATS, format_for, render

__all__ = ["FORMATS", "Pack", "ReportError", "council_pack", "group_pack", "make", "render", "write"]


def make(db: str | Path, la: str | None = None, group: str | Path | None = None, year: int | None = None,
         local: str | Path | None = None, group_id: str | None = None, measure_ids=None,
         years: int | None = None) -> Pack:
    """The pack for one council (``la``) or one partnership (``group``, a YAML group file; ``group_id``
    picks one group when the file holds several).

    A council pack shows the council's local figures that ``publication`` makes public, as stored by
    ``csww build --local``; with ``local`` (a council file) it shows that file's figures instead, loaded
    exactly as ``build --local`` loads them (``local.store.load_files``) into an in-memory copy of ``db``.

    ``la`` with ``group`` highlights that member. ``measure_ids`` (catalogue ids) choose the measures (default
    the key measures); ``years`` limits the trend window to the last N years up to ``year``. A pack for
    ``year`` never shows a DfE figure for a later year."""
    if not la and not group:
        raise ReportError("give either a council (--la) or a group file (--group)")
    if group and local:
        raise ReportError("--local goes with --la: a partnership pack shows published figures only")
    conn = store.connect(db)
    if local:  # the file is loaded as ``csww build --local`` loads it, into a copy in memory: db unchanged
        copy = sqlite3.connect(":memory:")
        conn.backup(copy)
        conn.close()
        conn = copy
        conn.row_factory = sqlite3.Row
    try:
        if group:
            return group_pack(conn, group, year, group_id, measure_ids, la)
        return council_pack(conn, la, year, local, measure_ids, years)
    finally:
        conn.close()


def write(pack: Pack, out: str | Path, fmt: str | None = None) -> Path:
    """Render ``pack`` and write it to ``out`` atomically (nothing is left behind if rendering fails)."""
    fmt = format_for(out, fmt)
    with atomic_write(out) as tmp:
        tmp.write_bytes(render_mod.render(pack, fmt))
    return Path(out)

