"""DfE's rules, shared by every kind of council input: the reporting year, the snapshot, what makes a local
figure comparable, small-count suppression, and turning counted components into aligned figures.

Readers (aggregate template, worker extract, census XML) only count components; ``build`` does the rest, so
every input is judged by the same rules.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import PurePath

import numpy as np

from .. import geography, measures
from ..formatting import fmt_date
from ..measures import round_half_up
from ..readers.base import known_la_codes
from . import census
from .result import AlignedFigure

# Figures counted from worker records (HR extract, census return) that rest on 1-4 people are shown as DfE's
# "c": a count of 1-4 people, an FTE, case or day total of 1-4 people, and any rate with such a count among its
# inputs (so the bands of one breakdown are suppressed together); see ``protect`` for the rest. Aggregate returns are the council's own
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


# Sums of what single people contribute (days lost, cases) are suppressed under the dominance rule: fewer than
# SUPPRESS_BELOW people contribute, or one person contributes more than half of the total.
DOMINANCE_SUMS = ("working_days_lost_fte", "cases")
# Counts published beside their FTE: suppressing one suppresses the other (an FTE of whole-time people is a count).
FTE_TWINS = {"inpost_headcount": "inpost_fte", "starters_headcount": "starters_fte",
             "leavers_headcount": "leavers_fte", "agency_headcount": "agency_fte"}
# Components that count local authority and agency workers together, each with the local authority-only
# component published beside it: their difference bounds the agency workers' part. When the agency count is
# suppressed and that difference is above zero (it would show at least that much agency FTE or headcount),
# the mixed component is suppressed too. Caseload bands: their sum less the headcount in post.
AGENCY_PARTS = {"case_holders_fte": "inpost_fte", "caseload_18_or_less_headcount": "inpost_headcount",
                "caseload_19_to_24_headcount": "inpost_headcount", "caseload_25_plus_headcount": "inpost_headcount"}
AGENCY_COUNTS = ("agency_headcount", "agency_fte")
# Record counts in ``rows_used`` of worker-level input are published only as one of these bands.
ROW_BANDS = [50, 100, 250, 500, 1000, 5000, 10000, 50000, 100000, 500000, 1000000]


def band(n: int) -> str:
    """A record count as a band ("50 to 99"), so that no published figure can be subtracted from it."""
    if n < ROW_BANDS[0]:
        return f"fewer than {ROW_BANDS[0]}"
    for low, high in zip(ROW_BANDS, ROW_BANDS[1:]):
        if n < high:
            return f"{low:,} to {high - 1:,}"
    return f"{ROW_BANDS[-1]:,} or more"


def few(n: int, min_count: int = SUPPRESS_BELOW) -> str:
    """A count of people for a caveat: as it is, unless it is 1 to ``min_count - 1`` ("fewer than 5")."""
    return f"fewer than {min_count}" if 0 < n < min_count else str(n)


def normalise_area(code: str) -> str:
    """A DfE LA number as councils write it, in DfE's form: trimmed, a joint return spaced as ``314 / 318``, and a
    whole number Excel wrote as a float (``841.0``) as ``841``, as ``csww compare --la`` reads it
    (``councils.normalise_la_code``)."""
    return geography.normalise_la_code(code)


def area_problem(code: str) -> str | None:
    """Why ``code`` (``normalise_area``'d) is not a council DfE publishes, or None: it must be a 3-digit DfE LA
    number (or a joint return's ``314 / 318``) of a council current or former, as the DfE readers know them
    (``readers.base.known_la_codes``: every code in DfE's 2015-2025 files, with no database needed), so that a
    return is never aligned, loaded or compared under a number no council has (999)."""
    if not AREA_CODE.match(code):
        return "must be a DfE 3-digit LA number (old_la_code), e.g. 841 or 314 / 318"
    if code not in known_la_codes():
        return ("not a DfE LA number: no council, current or former, has it (use the council's 3-digit DfE "
                "number, old_la_code, e.g. 841; a joint return as 314 / 318)")
    return None


def joint_area(code: str, day: date) -> str:
    """The area DfE publishes a council under on ``day``: a joint-return member (314) is published as its joint
    return (``314 / 318``) from the year the joint return began (``catalogue/geography.yml``)."""
    return geography.joint_return_of(code, reporting_year(day)) or code


def joint_caveat(member: str, joint: str) -> str:
    return (f"{member} is part of the joint return {joint}, which DfE publishes as one council; set beside DfE's "
            f"figures for {joint} (if the file covers {member} alone, its figures are that council's share)")


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
    service: str = ""  # a team row's service grouping (front line, specialist, IRO...)
    values: dict[str, float] = field(default_factory=dict)       # catalogue ids of counts
    stand_ins: dict[str, float] = field(default_factory=dict)    # HEADCOUNT_STAND_INS values, establishment_fte
    people: dict[str, int] = field(default_factory=dict)         # distinct people behind a component
    notes: dict[str, list[tuple[str, bool]]] = field(default_factory=dict)  # per component: (caveat, breaks comparability)
    general: list[tuple[str, bool]] = field(default_factory=list)  # caveats for every figure
    basis: dict[str, str] = field(default_factory=dict)          # per component, how it was obtained
    reported: dict[str, tuple[float | None, str]] = field(default_factory=dict)  # council's own (value, definition)
    contributors: dict[str, tuple[int, float]] = field(default_factory=dict)  # DOMINANCE_SUMS: (people > 0, largest)
    # AGENCY_PARTS: the agency workers' share of a component that counts local authority and agency workers
    agency_parts: dict[str, float] = field(default_factory=dict)
    quoted: dict[str, tuple[float, str]] = field(default_factory=dict)       # a report's comparator: (value, area)
    comparators: dict[str, tuple[float, str]] = field(default_factory=dict)  # internal reference: (value, name)

    def note(self, component: str, text: str, breaks: bool = True) -> None:
        self.notes.setdefault(component, []).append((text, breaks))

    @property
    def time_period(self) -> int:
        return reporting_year(self.period_end)


def build(c: Components, min_count: int = SUPPRESS_BELOW, *, as_at: date | None = None,
          annualise: bool = False) -> list[AlignedFigure]:
    """Every measure the components support, on DfE's definition, with caveats and the council's own figure.

    The return is set beside the census ``census.match(period_end, as_at)`` gives, and the distance is stated.
    Flows (starters, leavers, days lost) over a period other than 12 months are scaled by 365.25 / days in the
    period only when ``annualise`` is set; either way they are caveated and not comparable."""
    match = census.match(c.period_end, as_at)
    if match.assumption():  # the census's publication date was assumed (catalogue/releases.yml): say so
        c = replace(c, general=[*c.general, (match.assumption(), False)])
    tp = match.dfe_year
    full_year = (c.period_start, c.period_end) == dfe_year(tp)
    n_months = months(c.period_start, c.period_end)
    days = (c.period_end - c.period_start).days + 1
    scale = 365.25 / days if annualise and n_months != 12 else 1.0
    how = ("" if n_months == 12 else f" ({n_months} months, annualised: flows x 12/{n_months} at the council's request)"
           if scale != 1 else f" ({n_months} months, not annualised)")
    period_caveats = {
        True: [] if full_year else [(
            f"flows cover {fmt_date(c.period_start)} to {fmt_date(c.period_end)}{how}"
            + f", not DfE's reporting year 1 October {tp - 1} to 30 September {tp}", True)],
        False: [] if c.period_end == match.census_date else [
            (f"snapshot at {fmt_date(c.period_end)}, not 30 September: {match.describe()}", True)],
    }
    contradiction(c)
    hidden = protect(c, min_count) if c.input_kind in SUPPRESSED_KINDS else {}
    if scale != 1:  # suppression is judged on the counts as counted, above; the figures use annualised flows
        c = replace(c, values={k: v * scale if k.startswith(FLOW_PREFIXES) else v for k, v in c.values.items()})
        n_months = 12
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
        elif value is None and reported is None and m.id not in c.quoted and m.id not in c.comparators:
            continue
        if m.caveat:
            caveats.append((" ".join(m.caveat.split()), False))
        for i in used:
            caveats += c.notes.get(i, [])
        symbol = None
        reasons = [hidden[i] for i in used if i in hidden]
        if value is not None and reasons:
            value, symbol = None, "c"
            caveats += [(r, False) for r in reasons]
        elif value is None:
            symbol = "x"
            caveats.append(("cannot be computed from this input: "
                            + ", ".join(dict.fromkeys(i for i in inputs if i not in c.values)) + " not given"
                            if any(i not in c.values for i in inputs) else "cannot be computed from this input", True))
        out.append(AlignedFigure(
            area_code=c.area_code, team=c.team, period_start=c.period_start, period_end=c.period_end,
            time_period=tp, measure_id=m.id,
            value=None if value is None else _rounded(c, m, value, scale != 1 and is_flow(m.id)), symbol=symbol, basis=basis,
            comparable=value is not None and not any(b for _, b in caveats),
            caveat="; ".join(dict.fromkeys(t for t, _ in caveats)),
            reported_value=reported, reported_definition=definition, provisional=True,
            input_kind=c.input_kind, source_file=PurePath(c.source_file).name, rows_used=c.rows_used,
            months_from_census=match.months_from_census, service=c.service,
            quoted_value=c.quoted.get(m.id, (None, ""))[0], quoted_area=c.quoted.get(m.id, (None, ""))[1],
            comparator_value=c.comparators.get(m.id, (None, ""))[0],
            comparator_name=c.comparators.get(m.id, (None, ""))[1]))
    return out


def contradiction(c: Components) -> None:
    """Caveat (breaking comparability) a figure the input contradicts: agency workers covering vacancies are some
    of the agency workers (DfE's agency cover rate is their share), so ``agency_cover_fte`` above ``agency_fte``
    means one of the two is wrong. In a census return they come from two places (``LALevelVacancies/NoAgencyFTE``
    and the records with ``AgencyWorker`` 1), which the caveat names; the figures are not changed."""
    cover, agency = c.values.get("agency_cover_fte"), c.values.get("agency_fte")
    if cover is not None and agency is not None and cover > agency + 1e-9:
        where = (" (LALevelVacancies/NoAgencyFTE against the CSWWWorker records with AgencyWorker 1)"
                 if c.input_kind == "census_xml" else "")
        c.note("agency_cover_fte", "more agency workers covering vacancies than agency workers, who include them: "
               f"the input contradicts itself{where}; check both", True)


def _rounded(c: Components, m: measures.Measure, value: float, scaled: bool = False) -> float:
    """A figure as stored: a count the council gave in its aggregate return keeps the precision it was given
    (68.39 FTE stays 68.39; 6 decimals at most, to drop float noise); whatever is computed here (rates, counts
    from worker records, flows annualised, ``scaled``) is rounded half up to DfE's decimals for the measure."""
    if c.input_kind == "aggregate" and not m.is_rate and m.id in c.values and m.id not in c.basis and not scaled:
        return round(value, 6)
    return round_half_up(value, m.decimals)


def _value(c: Components, m: measures.Measure, inputs: list[str], tp: int, n_months: int, caveats: list):
    """(value, basis, component ids used) for one measure; value None when the input cannot support it."""
    span = (f"{fmt_date(c.period_start)} to {fmt_date(c.period_end)}" if is_flow(m.id)
            else f"at {fmt_date(c.period_end)}")
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


def _people(c: Components, i: str) -> float | None:
    """How many people stand behind component ``i``, when known."""
    n = c.people.get(i)
    if n is None and i in c.values and i in measures.catalogue() and measures.get(i).unit == "headcount":
        n = c.values[i]
    if n is None and i.endswith("_fte"):  # an FTE of so few people: the headcount counted, or given beside it
        twin = i.removesuffix("_fte") + "_headcount"
        n = c.values.get(twin, c.stand_ins.get(twin))
    return n


def breakdowns(c: Components) -> list[tuple[str, list[str]]]:
    """(total, parts) of every breakdown of a count whose total is published or can be worked out: leavers by
    reason, starters by origin, people in post by service, by post-qualifying experience and as stable, case
    holders by caseload band (their total follows from any band's count and rate), newly qualified cohorts by
    retention. Whatever the parts leave of the total (reason not recorded, no qualification date) is a cell too."""
    ids = [m.id for m in aligned_measures()]
    groups = [("leavers_headcount", "leavers_reason_"), ("starters_headcount", "starters_origin_"),
              ("inpost_headcount", "service_"), ("inpost_headcount", "pqe_"), ("", "caseload_")]
    out = [(t, [i for i in ids if i.startswith(p) and i.endswith("_headcount")]) for t, p in groups]
    out += [("inpost_headcount", ["stable_headcount"])]
    # stability at 2 and 5 years is what the service bands under 2 and 2 to 5 years leave of those in post
    out += [("inpost_headcount", ["stable_2y_headcount", "service_under_2_years_headcount"]),
            ("inpost_headcount", ["stable_5y_headcount", "service_under_2_years_headcount",
                                  "service_2_to_5_years_headcount"])]
    out += [(f"{flow}_headcount", [f"{flow}_nq_headcount", f"{flow}_experienced_headcount"])
            for flow in ("starters", "leavers")]
    out += [("leavers_headcount", ["asye_left_before_completing_headcount", "asye_left_after_completing_headcount"]),
            ("agency_headcount", ["agency_over_12m_headcount"])]
    out += [(f"nqsw_cohort_{k}_headcount", [f"nqsw_retained_{k}_headcount"]) for k in ("12m", "24m")]
    return [(t, [p for p in parts if p in c.values]) for t, parts in out
            if any(p in c.values for p in parts) and (not t or t in c.values)]


def protect(c: Components, min_count: int = SUPPRESS_BELOW) -> dict[str, str]:
    """Components that must not be published, each with the reason given in the caveat.

    Primary: counts of 1 to ``min_count - 1`` people, and FTE, case and day totals of so few people. Dominance:
    a sum in ``DOMINANCE_SUMS`` with fewer than ``min_count`` contributors or one contributing over half.
    Secondary: within the ``breakdowns``, as long as some suppressed cell (or a small remainder) can be worked out
    by subtraction from the published ones, across every breakdown at once (linear algebra over the unknown cells),
    the next-smallest non-zero part of a breakdown holding it is suppressed too, or its total when no part is left.
    Attribute disclosure: where a breakdown's total is suppressed (or unpublished) and every part left published
    is 0, those zeros are suppressed too, since they would show the category of every one of its people (one
    leaver, 'c', whose reasons read 'c' for compulsory redundancy and 0 for every other); then the subtraction
    rule runs again. An FTE is judged by the people behind it: its headcount counted, or given beside it
    (``stand_ins``, a census return's ``NoAgencyHeadcount``). A suppressed count hides its FTE (``FTE_TWINS``);
    ``build`` hides every rate built on a hidden component.
    """
    if min_count <= 0:
        return {}
    small = lambda n: n is not None and 0 < n < min_count  # noqa: E731
    hidden = {}
    for i in c.values:
        if small(_people(c, i)):
            hidden[i] = f"suppressed: fewer than {min_count} people"
    for i in DOMINANCE_SUMS:
        if i in c.contributors and c.values.get(i):
            n, top = c.contributors[i]
            if n < min_count:
                hidden.setdefault(i, f"suppressed: fewer than {min_count} people contribute to this total")
            elif top > c.values[i] / 2:
                hidden.setdefault(i, "suppressed: one person accounts for more than half of this total")
    if any(a in hidden for a in AGENCY_COUNTS):
        for mixed, la_only in AGENCY_PARTS.items():
            if c.agency_parts.get(mixed, 0) > 0 and mixed in c.values and la_only in c.values:
                bound = c.values[mixed] - c.values[la_only] if mixed.endswith("_fte") else \
                    sum(c.values.get(b, 0) for b in AGENCY_PARTS if b.endswith("_headcount")) - c.values[la_only]
                if bound > 0:
                    hidden.setdefault(mixed, f"suppressed: it includes agency workers, whose count is suppressed, "
                                             f"and less {la_only} it would show at least part of it")
    cells = dict(c.values)
    equations = []
    for total, parts in breakdowns(c):
        if not total:  # the total is not published but follows from the parts' rates: treat it as published
            total = "(" + " + ".join(parts) + ")"
            cells[total] = sum(c.values[p] for p in parts)
        rest = cells[total] - sum(cells[p] for p in parts)
        eq = {total: 1.0, **{p: -1.0 for p in parts}}
        if round(rest, 6):
            virtual = f"({total} not in {', '.join(parts)})"
            cells[virtual], eq[virtual] = rest, -1.0
            if small(rest):
                hidden[virtual] = "remainder"
        equations.append(eq)
    secondary = f"suppressed so that no count of fewer than {min_count} people can be worked out by subtraction"
    while True:  # until neither rule hides another cell
        _hide_recoverable(equations, hidden, cells, c.values, secondary)
        if not _hide_telling_zeros(equations, hidden, cells, c.values):
            break
    for count, fte in FTE_TWINS.items():
        if count in hidden and fte in c.values:
            hidden.setdefault(fte, hidden[count])
    return {i: r for i, r in hidden.items() if i in c.values}


def _hide_recoverable(equations: list[dict[str, float]], hidden: dict[str, str], cells: dict, values: dict,
                      secondary: str) -> None:
    """Secondary suppression: while the equations (sum of parts = total) fix a hidden cell, hide one more published
    cell of them (the smallest non-zero part, else the smallest total), as ``secondary``."""
    while equations:
        unknown = sorted(i for i in hidden if any(i in eq for eq in equations))
        exposed = _recoverable(equations, unknown)
        if not exposed:
            return
        holding = [eq for eq in equations if exposed in eq]
        parts = sorted({(cells[p], p) for eq in holding for p, k in eq.items()
                        if k < 0 and p not in hidden and p in values and cells[p] > 0})
        totals = sorted({(cells[t], t) for eq in holding for t, k in eq.items() if k > 0 and t not in hidden})
        pick = (parts or totals or [(None, None)])[0][1]
        if pick is None:
            return
        hidden[pick] = secondary


#: Why the zeros of a suppressed total's breakdown are hidden (attribute disclosure).
TELLING_ZEROS = ("suppressed: beside a suppressed count whose other categories are all 0, a 0 would show which "
                 "category every one of its people is in")


def _hide_telling_zeros(equations: list[dict[str, float]], hidden: dict[str, str], cells: dict,
                        values: dict) -> bool:
    """Attribute disclosure: where a breakdown's total is hidden (or unpublished) and every part still shown is 0,
    hide those zeros too. Whether any cell was hidden."""
    grown = False
    for eq in equations:
        total = next(t for t, k in eq.items() if k > 0)
        parts = [p for p, k in eq.items() if k < 0]
        shown = [p for p in parts if p not in hidden]
        if (total in hidden or total not in values) and len(shown) < len(parts) \
                and shown and all(cells[p] == 0 for p in shown):
            hidden.update({p: TELLING_ZEROS for p in shown})
            grown = True
    return grown


def _recoverable(equations: list[dict[str, float]], unknown: list[str]) -> str | None:
    """The first unknown cell whose value the equations (sum of parts = total, published cells known) fix."""
    if not unknown:
        return None
    a = np.array([[eq.get(u, 0.0) for u in unknown] for eq in equations])
    rank = np.linalg.matrix_rank(a)
    for j, u in enumerate(unknown):
        if not a[:, j].any():
            continue
        e = np.zeros((1, len(unknown)))
        e[0, j] = 1
        if np.linalg.matrix_rank(np.vstack([a, e])) == rank:
            return u
    return None
