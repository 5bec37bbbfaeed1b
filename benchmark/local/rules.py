"""DfE's rules, shared by every kind of council input: the reporting year, the snapshot, what makes a local
figure comparable, small-count suppression, and turning counted components into aligned figures.

Readers (aggregate template, worker extract, census XML) only count components; ``build`` does the rest, so
every input is judged by the same rules.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date

from .. import measures
from ..measures import round_half_up
from .result import AlignedFigure

# Figures counted from worker records (HR extract, census return) that rest on 1-4 people are shown as DfE's
# "c": a count of 1-4 people, an FTE, case or day total of 1-4 people, and any rate with such a count among its
# inputs (so the bands of one breakdown are suppressed together). Aggregate returns are the council's own
# aggregates and are shown as given.
SUPPRESS_BELOW = 5
SUPPRESSED_KINDS = {"worker", "census_xml"}

AREA_CODE = re.compile(r"^\d{3}( / \d{3})?$")  # DfE old_la_code; joint returns "314 / 318"
FLOW_PREFIXES = ("starters_", "leavers_", "working_days_lost_")
# Template-only inputs standing in for an FTE component when a council has only headcounts (posts).
HEADCOUNT_STAND_INS = {"inpost_fte": "inpost_headcount", "vacancy_fte": "vacancy_headcount",
                       "agency_fte": "agency_headcount", "agency_cover_fte": "agency_cover_headcount",
                       "case_holders_fte": "case_holders_headcount"}
# Rates DfE publishes on FTE only; a headcount version is shown, flagged not comparable, when FTEs are missing.
FTE_ONLY_RATES = {"vacancy_rate_fte", "caseload_fte", "agency_cover_rate_fte", "vacancy_agency_cover_rate_fte"}


def reporting_year(day: date) -> int:
    """The DfE ``time_period`` whose 1 October-30 September year contains ``day``."""
    return day.year + 1 if day.month >= 10 else day.year


def dfe_year(time_period: int) -> tuple[date, date]:
    return date(time_period - 1, 10, 1), date(time_period, 9, 30)


def months(start: date, end: date) -> int:
    return round(((end - start).days + 1) / 30.44)


def working_days(start: date, end: date, time_period: int) -> int:
    """DfE's working days for the absence rate: 254 when the period contains 29 February, else 253. For DfE's
    own year this is ``measures.working_days(time_period)``."""
    if (start, end) == dfe_year(time_period):
        return measures.working_days(time_period)
    leap_days = [date(y, 2, 29) for y in range(start.year, end.year + 1) if calendar.isleap(y)]
    return 254 if any(start <= d <= end for d in leap_days) else 253


def is_flow(measure_id: str) -> bool:
    m = measures.get(measure_id)
    ids = [m.numerator, *m.denominator_ids] if m.is_rate else [measure_id]
    return any(i.startswith(FLOW_PREFIXES) for i in ids)


def aligned_measures() -> list[measures.Measure]:
    """Measures an aligned return can carry: DfE's current ones, then those computed only from local data."""
    return [m for m in measures.catalogue().values() if m.group != "older"]


@dataclass
class Components:
    """What a reader counted for one council (or team) and period, before DfE's formulas are applied."""

    area_code: str
    period_start: date
    period_end: date
    input_kind: str
    source_file: str
    rows_used: str
    team: str = ""
    values: dict[str, float] = field(default_factory=dict)       # catalogue ids of counts
    stand_ins: dict[str, float] = field(default_factory=dict)    # HEADCOUNT_STAND_INS values, establishment_fte
    people: dict[str, int] = field(default_factory=dict)         # distinct people behind a component
    notes: dict[str, list[tuple[str, bool]]] = field(default_factory=dict)  # per component: (caveat, breaks comparability)
    general: list[tuple[str, bool]] = field(default_factory=list)  # caveats for every figure
    basis: dict[str, str] = field(default_factory=dict)          # per component, how it was obtained
    reported: dict[str, tuple[float | None, str]] = field(default_factory=dict)  # council's own (value, definition)

    def note(self, component: str, text: str, breaks: bool = True) -> None:
        self.notes.setdefault(component, []).append((text, breaks))

    @property
    def time_period(self) -> int:
        return reporting_year(self.period_end)


def build(c: Components, min_count: int = SUPPRESS_BELOW) -> list[AlignedFigure]:
    """Every measure the components support, on DfE's definition, with caveats and the council's own figure."""
    tp = c.time_period
    full_year = (c.period_start, c.period_end) == dfe_year(tp)
    n_months = months(c.period_start, c.period_end)
    period_caveats = {
        True: [] if full_year else [(
            f"flows cover {c.period_start:%d %b %Y}-{c.period_end:%d %b %Y}"
            + ("" if n_months == 12 else f" ({n_months} months, not annualised)")
            + f", not DfE's reporting year 1 Oct {tp - 1}-30 Sep {tp}", True)],
        False: [] if (c.period_end.month, c.period_end.day) == (9, 30) else [
            (f"snapshot at {c.period_end:%d %b %Y}, not 30 September", True)],
    }
    out = []
    for m in aligned_measures():
        inputs = [m.numerator, *m.denominator_ids] if m.is_rate else [m.id]
        caveats = list(c.general) + period_caveats[is_flow(m.id)]
        value, basis, used = _value(c, m, inputs, tp, n_months, caveats)
        reported, definition = c.reported.get(m.id, (None, ""))
        if value is None and not m.is_rate and m.id in HEADCOUNT_STAND_INS and HEADCOUNT_STAND_INS[m.id] in c.stand_ins \
                and m.id not in c.reported:
            reported, definition = c.stand_ins[HEADCOUNT_STAND_INS[m.id]], "given as a headcount (posts), not FTE"
            caveats.append(("only a headcount was given; DfE counts FTE", True))
        if m.per_working_day and n_months != 12 and all(i in c.values for i in inputs):
            caveats.append(("DfE's absence rate needs a 12-month period (253 or 254 working days)", True))
        elif value is None and reported is None:
            continue
        for i in used:
            caveats += c.notes.get(i, [])
        symbol = None
        if value is not None and c.input_kind in SUPPRESSED_KINDS and _small(c, used, min_count):
            value, symbol = None, "c"
            caveats.append((f"suppressed: fewer than {min_count} people", False))
        elif value is None:
            symbol = "x"
            caveats.append(("cannot be computed from this input: "
                            + ", ".join(dict.fromkeys(i for i in inputs if i not in c.values)) + " not given"
                            if any(i not in c.values for i in inputs) else "cannot be computed from this input", True))
        out.append(AlignedFigure(
            area_code=c.area_code, team=c.team, period_start=c.period_start, period_end=c.period_end,
            time_period=tp, measure_id=m.id,
            value=None if value is None else round_half_up(value, m.decimals), symbol=symbol, basis=basis,
            comparable=value is not None and not any(b for _, b in caveats),
            caveat="; ".join(dict.fromkeys(t for t, _ in caveats)),
            reported_value=reported, reported_definition=definition, provisional=True,
            input_kind=c.input_kind, source_file=c.source_file, rows_used=c.rows_used))
    return out


def _value(c: Components, m: measures.Measure, inputs: list[str], tp: int, n_months: int, caveats: list):
    """(value, basis, component ids used) for one measure; value None when the input cannot support it."""
    span = f"{c.period_start.isoformat()} to {c.period_end.isoformat()}" if is_flow(m.id) else f"at {c.period_end.isoformat()}"
    if not m.is_rate:
        return c.values.get(m.id), f"{c.basis.get(m.id, _HOW[c.input_kind])}, {span}", inputs
    if m.per_working_day and n_months != 12:
        return None, "", inputs
    days = working_days(c.period_start, c.period_end, tp)
    formula = f"{m.numerator} / ({' + '.join(m.denominator_ids)}" + (
        f" x {days} working days)" if m.per_working_day else ")")
    if all(i in c.values for i in inputs):
        value = measures.rate(m.id, c.values, tp)
        if m.per_working_day and value is not None:  # a 12-month period other than DfE's year
            value *= measures.working_days(tp) / days
        return value, f"DfE formula {formula}, {span}", inputs
    if m.id in FTE_ONLY_RATES:
        swapped = [HEADCOUNT_STAND_INS.get(i, i) if i not in c.values else i for i in inputs]
        pool = {**c.values, **c.stand_ins}
        if swapped != inputs and all(i in pool for i in swapped):
            caveats.append(("computed on headcount (posts) because FTEs were not given; DfE's figure is FTE", True))
            parts = dict(zip(inputs, swapped))
            value = measures.rate(m.id, {i: pool[parts[i]] for i in inputs}, tp)
            return value, f"DfE formula on headcounts {formula.replace('_fte', '_headcount')}, {span}", [*swapped]
    return None, "", inputs


_HOW = {"aggregate": "as given in the aggregate return", "worker": "counted from worker records on DfE's rules",
        "census_xml": "counted from the census return on DfE's rules"}


def _small(c: Components, used: list[str], min_count: int) -> bool:
    for i in used:
        n = c.people.get(i)
        if n is None and i in c.values and i in measures.catalogue() and measures.get(i).unit == "headcount":
            n = c.values[i]
        if n is None and i.endswith("_fte"):
            n = c.values.get(i.removesuffix("_fte") + "_headcount")
        if n is not None and 0 < n < min_count:
            return True
    return False
