"""The exported return: a council's aligned, aggregate-only figures as one JSON file it can send to its partnership.

``csww align FILE --export return.json`` calls ``write``; ``csww build --local return.json`` reads it back
(``read``, through ``benchmark.local.align``) and ``apply_level`` records its publication level on the
returns loaded. This is how regional partnerships collect members' quarterly returns.

The file (``FORMAT``, version ``FORMAT_VERSION``) is a JSON object::

    {"format": "csww-local-return", "format_version": 1, "toolkit_version": "0.9.0",
     "exported_at": "2026-11-30T03:00:00+00:00", "source_file": "tees_2024.csv",
     "area_code": "806", "publication": "shared", "partnership": "Tees Valley",
     "returns": [{"period_start": "2023-10-01", "period_end": "2024-09-30", "snapshot_date": "2024-09-30",
                  "input_kind": "aggregate", "dfe_year": 2024, "months_from_census": 0,
                  "census": "at DfE's 30 September 2024 census",
                  "figures": [{"team": "", "service": "", "measure_id": "turnover_rate_fte", "value": 17.5, ...}]}],
     "checksum": {"algorithm": "sha256", "value": "<64 hex digits>"}}

What it holds is what ``align`` returns, and nothing else: aggregates on DfE's definitions, with small counts
already suppressed (``rules.protect`` for worker extracts and census XML: a suppressed cell is the symbol
``c`` with no value); no worker row, no worker field, only the base name of the council's file. The figure
fields are ``FIGURE_FIELDS`` exactly; a file with any other field (``worker_id``, a name...) is refused.

The checksum is SHA-256 over the canonical form (``canonical``): the object without ``checksum``, as JSON with
keys sorted, no spaces, UTF-8. It detects a file changed after export (by hand, by a spreadsheet, in
transit); it is not a signature: anyone can recompute it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path, PurePath

from .. import __version__, measures, publication
from ..fileio import write_text
from ..problems import UsageError
from . import census, rules
from .problems import InputError, Problem
from .result import AlignedFigure

FORMAT = "csww-local-return"
FORMAT_VERSION = 1
TOP_FIELDS = ("format", "format_version", "toolkit_version", "exported_at", "source_file", "area_code",
              "publication", "partnership", "returns", "checksum")
RETURN_FIELDS = ("period_start", "period_end", "snapshot_date", "input_kind", "dfe_year", "months_from_census",
                 "census", "figures")
#: The fields of one exported figure: an aggregate on DfE's definition and its provenance, never a worker's.
FIGURE_FIELDS = ("team", "service", "measure_id", "value", "symbol", "basis", "comparable", "caveat",
                 "reported_value", "reported_definition", "rows_used")
INPUT_KINDS = ("aggregate", "worker", "census_xml")
#: Units of counts of people: from worker extracts and census XML, 1 to 4 of them are suppressed.
PEOPLE_UNITS = ("headcount", "FTE")


@dataclass(frozen=True)
class Export:
    """An exported return as read: its publication level, partnership (shared only) and figures."""

    path: Path
    area_code: str
    publication: str
    partnership: str | None
    toolkit_version: str
    figures: list[AlignedFigure]


def looks_like_export(path: str | Path) -> bool:
    """A ``.json`` file, or any file whose first non-blank byte is ``{``, is read as an exported return (and
    refused, with a clear problem, when it is not one: a worker-level file cannot pass for an export)."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        return True
    with open(path, "rb") as fh:
        head = fh.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"{")


def declares_export(path: str | Path) -> bool:
    """True when the file opens as an exported return does (``{"format": "csww-local-return"``): told apart
    from a data package's ``datapackage.json`` without reading the whole file."""
    with open(path, "rb") as fh:
        head = fh.read(256).decode("utf-8", "replace")
    return f'"format": "{FORMAT}"' in head or f'"format":"{FORMAT}"' in head


def canonical(doc: dict) -> bytes:
    """The bytes the checksum is taken over: ``doc`` without ``checksum``, keys sorted, no spaces, UTF-8."""
    body = {k: v for k, v in doc.items() if k != "checksum"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def checksum(doc: dict) -> str:
    """SHA-256 (64 hex digits) of ``canonical(doc)``."""
    return hashlib.sha256(canonical(doc)).hexdigest()


def _unsuppressed(f: AlignedFigure | dict, kind: str) -> bool:
    """True for a count of 1 to 4 people from worker-level input left unsuppressed."""
    get = f.get if isinstance(f, dict) else lambda k: getattr(f, k)
    value, mid = get("value"), get("measure_id")
    if kind not in rules.SUPPRESSED_KINDS or not isinstance(value, (int, float)) or mid not in measures.catalogue():
        return False
    m = measures.get(mid)
    return not m.is_rate and m.unit in PEOPLE_UNITS and 0 < value < rules.SUPPRESS_BELOW


def build_doc(figures: list[AlignedFigure], level: str = "private", partnership: str | None = None,
              exported_at: str | None = None) -> dict:
    """The export of ``figures`` (from ``align`` for one council) as a JSON-ready dict, checksum included.

    ``level`` is a publication level (``publication.LEVELS``); ``partnership`` names the partnership of a
    ``shared`` return (required then, refused otherwise). Raises ``UsageError`` for figures of several councils
    (choose one with ``--la``) or a level and partnership that do not go together."""
    if level not in publication.LEVELS:
        raise UsageError(f"--publication {level}: one of {', '.join(publication.LEVELS)}")
    partnership = (partnership or "").strip() or None
    if level == "shared" and not partnership:
        raise UsageError("a shared return names its partnership: give --partnership NAME")
    if level != "shared" and partnership:
        raise UsageError(f"--partnership {partnership!r} goes with --publication shared (the return is {level})")
    if not figures:
        raise UsageError("nothing to export: the file gave no figures")
    areas = sorted({f.area_code for f in figures})
    if len(areas) > 1:
        raise UsageError(f"the file holds {len(areas)} councils ({', '.join(areas)}); an export is one council's "
                         "return: choose one with --la")
    for f in figures:  # align suppresses these; an export that did not would be a bug, never written
        if _unsuppressed(f, f.input_kind):
            raise RuntimeError(f"unsuppressed small count {f.measure_id} in an export")
    returns = []
    key = lambda f: (f.period_start, f.period_end, f.input_kind)  # noqa: E731
    for start, end, kind in sorted(dict.fromkeys(map(key, figures))):
        group = [f for f in figures if key(f) == (start, end, kind)]
        f0 = group[0]
        returns.append({
            "period_start": start.isoformat(), "period_end": end.isoformat(), "snapshot_date": end.isoformat(),
            "input_kind": kind, "dfe_year": f0.time_period, "months_from_census": f0.months_from_census,
            "census": census.CensusMatch(f0.time_period, f0.months_from_census).describe(),
            "figures": [{"team": f.team, "service": f.service, "measure_id": f.measure_id, "value": f.value,
                         "symbol": f.symbol, "basis": f.basis, "comparable": bool(f.comparable),
                         "caveat": f.caveat, "reported_value": f.reported_value,
                         "reported_definition": f.reported_definition, "rows_used": f.rows_used}
                        for f in group]})
    doc = {"format": FORMAT, "format_version": FORMAT_VERSION, "toolkit_version": __version__,
           "exported_at": exported_at or datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "source_file": PurePath(figures[0].source_file).name, "area_code": areas[0],
           "publication": level, "partnership": partnership, "returns": returns}
    doc["checksum"] = {"algorithm": "sha256", "value": checksum(doc)}
    return doc


def write(path: str | Path, figures: list[AlignedFigure], level: str = "private",
          partnership: str | None = None) -> Path:
    """Write the export of ``figures`` (``build_doc``) to ``path`` atomically; returns the path."""
    doc = build_doc(figures, level, partnership)
    return write_text(path, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


def read(path: str | Path, la: str | None = None) -> Export:
    """Read and check an exported return. Raises ``InputError`` naming the file (and the return, figure and
    field) when it is not an export, was changed after export (checksum), carries a field that is not an
    aggregate's (``FIGURE_FIELDS``), an unknown measure, or a count of 1 to 4 people from worker-level input
    left unsuppressed. Field values are not echoed: the file may not be what it says. ``la`` (a DfE code)
    must be the export's council when given."""
    path = Path(path)
    name = path.name

    def bad(message, row=None, column=None):
        return InputError([Problem(name, message, row, column, None)])

    try:
        doc = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise bad("not an exported return (csww align --export writes one): not JSON"
                  + (f", line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else "")) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise bad(f"not an exported return: no \"format\": \"{FORMAT}\" (csww align --export writes one)")
    if doc.get("format_version") != FORMAT_VERSION:
        raise bad(f"exported return format version not readable by this toolkit (reads {FORMAT_VERSION})",
                  column="format_version")
    extra = sorted(set(doc) - set(TOP_FIELDS))
    if extra:
        raise bad(f"field(s) {', '.join(extra)} are not part of an exported return", column=extra[0])
    stated = doc.get("checksum") if isinstance(doc.get("checksum"), dict) else {}
    if stated.get("algorithm") != "sha256" or stated.get("value") != checksum(doc):
        raise bad("checksum does not match the contents: the file was changed after it was exported; ask the "
                  "council for the file as 'csww align --export' wrote it", column="checksum")
    level, partner = doc.get("publication"), doc.get("partnership")
    if level not in publication.LEVELS or (level == "shared") != bool(partner):
        raise bad("publication must be private, shared (with a partnership) or public", column="publication")
    area = doc.get("area_code")
    if not isinstance(area, str) or not rules.AREA_CODE.match(area):
        raise bad("area_code is not a DfE 3-digit code", column="area_code")
    if rules.area_problem(area):
        raise bad(f"area_code {area}: {rules.area_problem(area)}", column="area_code")
    if la is not None and rules.normalise_area(str(la)) != area:
        raise bad(f"this export is council {area}'s return, not {la}'s", column="area_code")
    source = PurePath(str(doc.get("source_file") or name)).name
    figures: list[AlignedFigure] = []
    returns = doc.get("returns")
    if not isinstance(returns, list) or not returns:
        raise bad("no returns in the export", column="returns")
    for n, ret in enumerate(returns, start=1):
        if not isinstance(ret, dict) or set(ret) - set(RETURN_FIELDS):
            raise bad(f"return {n} has fields that are not part of an exported return", n, "returns")
        kind = ret.get("input_kind")
        try:
            start, end = date.fromisoformat(ret["period_start"]), date.fromisoformat(ret["period_end"])
            dfe_year, months = int(ret["dfe_year"]), int(ret["months_from_census"])
        except (KeyError, TypeError, ValueError):
            raise bad(f"return {n}: period_start, period_end, dfe_year or months_from_census missing or "
                      "not a date/number", n, "returns") from None
        if kind not in INPUT_KINDS:
            raise bad(f"return {n}: input_kind must be one of {', '.join(INPUT_KINDS)}", n, "input_kind")
        rows = ret.get("figures")
        if not isinstance(rows, list):
            raise bad(f"return {n}: no figures", n, "figures")
        seen = set()
        for i, f in enumerate(rows, start=1):
            where = f"return {n}, figure {i}"
            if not isinstance(f, dict):
                raise bad(f"{where} is not an object", n, "figures")
            extra = sorted(set(f) - set(FIGURE_FIELDS))
            if extra:  # a worker_id, a name, an SWE number: worker-level data is never loaded as an export
                raise bad(f"{where}: field(s) {', '.join(extra)} are not an aggregate's; an exported return "
                          "holds aggregates only (csww align --export)", n, extra[0])
            mid = f.get("measure_id")
            if mid not in measures.catalogue():
                raise bad(f"{where}: unknown measure id", n, "measure_id")
            value, symbol = f.get("value"), f.get("symbol")
            if (value is None) == (symbol is None) or symbol not in (None, "c", "x") or not (
                    value is None or (isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0)):
                raise bad(f"{where} ({mid}): give a number of 0 or more, or the symbol c or x, not both", n, "value")
            if _unsuppressed(f, kind):
                raise bad(f"{where} ({mid}): a count of fewer than {rules.SUPPRESS_BELOW} people from worker-level "
                          "input must be suppressed (c)", n, "value")
            team = str(f.get("team") or "")
            if (team, mid) in seen:
                raise bad(f"{where} ({mid}): a second figure for the same measure and team", n, "measure_id")
            seen.add((team, mid))
            reported = f.get("reported_value")
            figures.append(AlignedFigure(
                area_code=area, team=team, period_start=start, period_end=end, time_period=dfe_year,
                measure_id=mid, value=float(value) if value is not None else None, symbol=symbol,
                basis=str(f.get("basis") or ""), comparable=bool(f.get("comparable")),
                caveat=str(f.get("caveat") or ""),
                reported_value=float(reported) if isinstance(reported, (int, float)) else None,
                reported_definition=str(f.get("reported_definition") or ""), provisional=True, input_kind=kind,
                source_file=source, rows_used=str(f.get("rows_used") or ""), months_from_census=months,
                service=str(f.get("service") or "")))
    if not figures:
        raise bad("no figures in the export", column="returns")
    return Export(path, area, level, partner, str(doc.get("toolkit_version") or ""), figures)


def apply_level(conn, path: str | Path, return_ids: list[str]) -> None:
    """After ``path`` is loaded as ``return_ids`` (``local.store``): when it is an exported return, give those
    returns its publication level and partnership (in the caller's transaction). Other files stay private."""
    if return_ids and looks_like_export(path):
        exp = read(path)
        publication.set_level(conn, return_ids, exp.publication, exp.partnership)
