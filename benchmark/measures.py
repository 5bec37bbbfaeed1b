"""The measure catalogue: ids, labels, units, polarity, definitions and formulas.

Everything about a measure is written once, in ``catalogue/measures.yml``; this module reads it.
"""

from __future__ import annotations

import calendar
import contextlib
import marshal
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path

from .problems import NotFoundError

UNITS = {"FTE", "headcount", "percent", "cases", "cases per FTE", "days", "children per social worker"}
POLARITIES = {"lower", "higher", "neutral"}
COUNT_UNITS = {"FTE", "headcount", "cases", "days"}


@dataclass(frozen=True)
class Measure:
    id: str
    label: str
    unit: str
    polarity: str
    definition: str
    decimals: int
    group: str
    key: bool = False
    numerator: str | None = None
    denominator: str | None = None
    may_exceed_100: bool = False  # a percentage whose numerator is not part of its denominator
    per_working_day: bool = False  # the denominator is multiplied by DfE's working days in the year (absence)
    caveat: str = ""  # a local measure's known departures: how councils' records can make it differ
    # a rate in words, {over, under, times} (catalogue ``formula``); ``formula_line`` writes it on one line
    formula: Mapping | None = field(default=None, hash=False)

    @property
    def is_rate(self) -> bool:
        return self.numerator is not None

    @property
    def is_count(self) -> bool:
        """A count of people, posts, cases or days (not a rate or average): no quartile band, since a small council
        would look "best" (docs/compare.md). Counts: units FTE, headcount, cases or days without a denominator."""
        return not self.is_rate and self.unit in COUNT_UNITS

    @property
    def banded(self) -> bool:
        """Whether the measure gets a quartile band: it has a polarity and is not a count."""
        return self.polarity != "neutral" and not self.is_count

    @property
    def formula_line(self) -> str:
        """The catalogue's formula on one line, for Word, Markdown and spreadsheets: "Leavers (FTE) ÷ Social
        workers in post (FTE) × 100" (empty for a measure that is not a rate). HTML sets it as a fraction."""
        if not self.formula:
            return ""
        times = self.formula.get("times")
        return (f"{bracketed(self.formula['over'])} ÷ {bracketed(self.formula['under'])}"
                + (f" × {times}" if times else ""))

    @property
    def denominator_ids(self) -> tuple[str, ...]:
        return tuple(self.denominator.split("+")) if self.denominator else ()


OPERATORS = (" + ", " − ", " × ", " ÷ ")  # a label's own " - " ("Starters - experienced") is a dash


def bracketed(term: str) -> str:
    """A formula's term as it must be written beside "÷" on one line: in brackets when it is itself a sum,
    difference or product outside any brackets of its own ("Agency workers (FTE) + Social workers in post (FTE)"
    -> "(Agency workers (FTE) + Social workers in post (FTE))"), as it is otherwise ("Leavers (FTE)"), so that
    "A ÷ (A + S) × 100" reads as DfE computes it. Labels' own brackets ("(FTE)") do not count."""
    text, depth, top = str(term).strip(), 0, []
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        top.append(ch if depth == 0 and ch not in "()" else "_")
    outer = "".join(top)
    return f"({text})" if any(op in outer for op in OPERATORS) else text


#: The catalogue, shipped inside the package (package data).
CATALOGUE = Path(__file__).resolve().parent / "catalogue" / "measures.yml"


def _compiled(catalogue_file: Path) -> Path:
    """Where the parsed catalogue is kept: ``catalogue/__pycache__/measures.<interpreter>.marshal``, as Python
    keeps byte-code (marshal's format is the interpreter's)."""
    return catalogue_file.parent / "__pycache__" / f"{catalogue_file.stem}.{sys.implementation.cache_tag}.marshal"


@lru_cache(maxsize=1)
def _catalogue_file() -> dict:
    """``catalogue/measures.yml`` parsed. Parsing it, and importing PyYAML to do so, was most of ``csww compare
    --la 841`` (issue 14 item 7), so the result is kept beside it (:func:`_compiled`) with the YAML it came
    from, and read back while the file's bytes are those (a whole-text comparison: no hash to import); a
    missing, stale or unreadable copy is parsed again and rewritten when the folder is writable (an installed
    read-only copy just parses each time)."""
    raw = CATALOGUE.read_bytes()
    compiled = _compiled(CATALOGUE)
    try:
        kept_from, data = marshal.loads(compiled.read_bytes())
        if kept_from == raw:
            return data
    except (OSError, EOFError, ValueError, TypeError):
        pass
    import yaml  # only when the parsed copy is missing or stale: the import alone costs more than the command

    # libyaml's safe loader when PyYAML has it: the same result, 20 x faster than the pure-Python one
    data = yaml.load(raw.decode("utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    tmp = compiled.with_name(f"{compiled.name}.{os.getpid()}.tmp")
    try:
        compiled.parent.mkdir(exist_ok=True)
        tmp.write_bytes(marshal.dumps((raw, data)))
        os.replace(tmp, compiled)  # whole or not at all, for a concurrent reader
    except (OSError, ValueError):  # a read-only install, or a value marshal cannot keep: parse each time
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
    return data


@lru_cache(maxsize=1)
def catalogue() -> dict[str, Measure]:
    """All measures, keyed by id, in catalogue order."""
    out: dict[str, Measure] = {}
    for raw in _catalogue_file()["measures"]:
        m = Measure(**raw)
        if m.unit not in UNITS or m.polarity not in POLARITIES:
            raise ValueError(f"measures.yml: {m.id} has unknown unit or polarity")
        if m.numerator and not (m.formula and m.formula.get("over") and m.formula.get("under")):
            raise ValueError(f"measures.yml: {m.id} is a rate without its formula in words (formula: over, under)")
        out[m.id] = m
    for m in out.values():
        for ref in (m.numerator, *m.denominator_ids):
            if ref and ref not in out:
                raise ValueError(f"measures.yml: {m.id} refers to unknown measure {ref}")
    return out


def get(measure_id: str) -> Measure:
    try:
        return catalogue()[measure_id]
    except KeyError:
        raise NotFoundError(f"unknown measure {measure_id!r}; known: {', '.join(catalogue())}") from None


def round_half_up(value: float, decimals: int) -> float | int:
    """Round as DfE publishes (halves away from zero) on the shortest decimal form of the float, so a neighbour
    median of 10.25 is 10.3 and 10.35 is 10.4 (Python's ``round`` gives 10.2 and 10.3). ``decimals`` below 1
    round to a whole number, returned as int. Source: docs/dfe-csww-reference.md section 6.4 (Rounding)."""
    rounded = Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-max(decimals, 0)), rounding=ROUND_HALF_UP)
    return int(rounded) if decimals <= 0 else float(rounded)


def key_measures() -> list[Measure]:
    return [m for m in catalogue().values() if m.key]


@lru_cache(maxsize=1)
def _working_days() -> dict[int, int]:
    return {int(year): int(days) for year, days in _catalogue_file()["working_days"].items()}


def working_days(time_period: int) -> int:
    """Working days DfE uses for the absence rate in the reporting year ending 30 Sep ``time_period``.

    From the catalogue (``working_days`` in ``catalogue/measures.yml``, after DfE's methodology): 253, and
    254 in 2020, 2024 and 2028, whose years contain 29 February. 2016 also contains it, but DfE's 2016
    figures (SFR08/2017) use 253. A year the catalogue does not list follows the rule: 254 when its
    1 October to 30 September span contains 29 February, otherwise 253.
    """
    days = _working_days().get(int(time_period))
    if days is not None:
        return days
    return 254 if calendar.isleap(time_period) else 253


def rate_parts(measure_id: str, values: Mapping, time_period=None):
    """DfE's formula for a rate as ``(numerator, denominator, scale)``: rate = numerator / denominator x scale.

    ``values`` maps component measure ids to numbers, or to pandas Series for many rows at once (a missing id
    raises ``KeyError``). The denominator is the sum of the denominator components, multiplied by the working
    days of ``time_period`` (an int, or one per row) when the measure is ``per_working_day`` (the absence
    rate, reference 3.5). ``scale`` is 100 for a percentage, else 1.
    """
    m = get(measure_id)
    if not m.is_rate:
        raise ValueError(f"{measure_id} is not a rate")
    num = values[m.numerator]
    den = sum(values[d] for d in m.denominator_ids)
    if m.per_working_day and den is not None:
        if time_period is None:
            raise ValueError(f"{measure_id} needs the time_period for its working days")
        if hasattr(time_period, "__len__"):  # one year per row (an array or Series of rows): by position
            den = den * [working_days(t) for t in time_period]
        else:
            den = den * working_days(time_period)
    return num, den, 100 if m.unit == "percent" else 1


def rate(measure_id: str, components: dict[str, float], time_period: int | None = None) -> float | None:
    """Compute a rate from its components on DfE's formula (unrounded, :func:`rate_parts`). None when
    undefined: a component missing or None, or a zero denominator."""
    get(measure_id)  # an unknown measure is an error, not an undefined rate
    try:
        num, den, scale = rate_parts(measure_id, components, time_period)
    except KeyError:
        return None
    if num is None or den is None or not den:
        return None
    return num / den * scale


def rates(measure_id: str, components: dict, time_periods):
    """:func:`rate` for arrays: ``components`` maps each component id to an array of values, ``time_periods``
    gives each element's reporting year. A numpy array; NaN where the rate is undefined (a zero denominator)."""
    # numpy here, not at module level: the catalogue (and the number formatter, and csww compare for one
    # council) loads without it (issue 14 item 7: compare in 0.15 s, of which numpy alone would take a third)
    import numpy as np

    values = {k: np.asarray(v, dtype=float) for k, v in components.items()}
    years = np.asarray(time_periods)
    num, den, scale = rate_parts(measure_id, values, years.item() if years.ndim == 0 else years)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(den != 0, num / np.where(den != 0, den, 1.0), np.nan)
    return out * scale
