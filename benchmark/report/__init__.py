"""Scrutiny committee and partnership packs (``csww report``).

``gather`` reads the comparison records, neighbour list and provenance from the database through ``store``;
``packs`` assembles a council or partnership ``Pack`` (tables, charts, narrative); ``narrative`` writes the
exception-led sentences; ``render`` turns a pack into HTML, XLSX, Markdown, Word (``docx_out``) or PDF
(``pdf_out``, the HTML printed by Chromium); charts: ``benchmark.charts``.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

from .. import store
from ..fileio import atomic_write
from ..problems import UsageError
from . import render as render_mod
from .gather import ReportError
from .model import Pack
from .packs import council_pack, group_pack
from .render import FORMATS, TEXT_FORMATS, format_for, render

__all__ = ["FORMATS", "TEXT_FORMATS", "Pack", "ReportError", "council_pack", "group_pack", "make", "output_format",
           "render", "write"]


def make(db: str | Path, la: str | None = None, group: str | Path | None = None, year: int | None = None,
         local: str | Path | None = None, group_id: str | None = None, measure_ids=None,
         years: int | None = None, as_at=None, include_private: bool = False) -> Pack:
    """The pack for one council (``la``) or one partnership (``group``, a YAML group file; ``group_id``
    picks one group when the file holds several).

    A council pack shows the council's local figures that ``publication`` makes public, as stored by
    ``csww build --local``; with ``local`` (a council file) it shows that file's figures instead, loaded
    exactly as ``build --local`` loads them (``local.store.load_files``) into an in-memory copy of ``db``.

    ``la`` with ``group`` highlights that member. ``measure_ids`` (catalogue ids) choose the measures (default
    the key measures); ``years`` limits the trend window to the last N years up to ``year``; ``as_at`` (a date,
    with ``local``) sets the file's returns beside the census DfE had published by then, as ``csww align --as-at``. A pack for
    ``year`` never shows a DfE figure for a later year. A partnership pack shows this build's own private returns
    only with ``include_private`` (it goes to the partners)."""
    if include_private and not group:
        raise ReportError("--include-private goes with --group: a council pack shows its own returns already")
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
            return group_pack(conn, group, year, group_id, measure_ids, la, include_private)
        return council_pack(conn, la, year, local, measure_ids, years, as_at)
    finally:
        conn.close()


def output_format(out: str | Path, fmt: str | None = None) -> str:
    """The format ``out`` will be written in (``render.format_for``), checked before any work is done:
    ``-`` (standard output) takes only ``TEXT_FORMATS``; otherwise ``UsageError``."""
    fmt = format_for(out, fmt)
    if str(out) == "-" and fmt not in TEXT_FORMATS:
        raise UsageError(f"-o -: a {fmt.upper()} pack is binary and is not written to standard output; "
                         f"give a file name (-o pack.{fmt})")
    return fmt


def write(pack: Pack, out: str | Path, fmt: str | None = None) -> Path | str:
    """Render ``pack`` and write it to ``out`` atomically (nothing is left behind if rendering fails).

    ``out`` of ``-`` writes a text format (``TEXT_FORMATS``: html, md) to standard output; a binary format
    there is a ``UsageError``, as is an extension that names no format (``render.format_for``)."""
    fmt = output_format(out, fmt)
    if str(out) == "-":
        data = render_mod.render(pack, fmt)
        stream = sys.stdout.buffer if hasattr(sys.stdout, "buffer") else None
        if stream is not None:
            stream.write(data)
            stream.flush()
        else:  # a text-only stream (e.g. a test runner's capture)
            sys.stdout.write(data.decode("utf-8"))
        return "-"
    data = render_mod.render(pack, fmt)  # rendered before the file is opened: a failure leaves nothing behind
    with atomic_write(out) as tmp:
        tmp.write_bytes(data)
    return Path(out)
