"""The aligned record: one measure for one council (or team) and period, on DfE's definition."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date


@dataclass(frozen=True)
class AlignedFigure:
    area_code: str              # DfE 3-digit old_la_code, e.g. "841"; joint returns "314 / 318"
    team: str                   # "" for the whole council; a team name for team rows of an aggregate return
    period_start: date          # first day of the flows period
    period_end: date            # last day of the flows period, and the snapshot date for stocks
    time_period: int            # the DfE census year the return is set beside (census.match): the 30 September
                                # nearest period_end, or with --as-at the latest DfE had published by then
    measure_id: str             # canonical id from the measure catalogue
    value: float | None         # on DfE's definition, rounded as DfE publishes; None when symbol is set
    symbol: str | None          # "c" suppressed (small count), "x" not available from this input
    basis: str                  # how the value was computed, from what
    comparable: bool            # True only when the value matches DfE's definition, period and snapshot
    caveat: str                 # plain words on every way the figure departs from DfE's, "" if none
    reported_value: float | None  # the council's own figure, as it reported it
    reported_definition: str    # the council's own definition of that figure
    provisional: bool           # local figures are provisional: DfE has not validated or published them
    input_kind: str             # aggregate | worker | census_xml
    source_file: str
    rows_used: str              # provenance: which rows/records of the file the figure came from
    months_from_census: int = 0  # whole months from DfE's 30 Sep census of time_period to period_end; < 0 before
    service: str = ""            # a team row's service grouping (front line, specialist, IRO...); "" if none
    quoted_value: float | None = None  # a comparator the council's report quotes ("national vacancy 16.5%")
    quoted_area: str = ""        # the area the report says it is ("England", a region); "" = England
    quoted_match: str = ""       # which DfE year and area the quoted figure matches (``quoted.check``)
    comparator_value: float | None = None  # an internal reference figure ("council-wide turnover 15.02")
    comparator_name: str = ""    # what the internal reference figure is ("council-wide")

    @property
    def dfe_year(self) -> int:
        """The DfE census year the figure is set beside (the same as ``time_period``)."""
        return self.time_period

    @property
    def period(self) -> str:
        return f"{self.period_start.isoformat()}/{self.period_end.isoformat()}"

    def record(self) -> dict:
        """A flat, JSON-ready record."""
        d = asdict(self)
        d["period"] = self.period
        d["dfe_year"] = self.time_period
        d["period_start"] = self.period_start.isoformat()
        d["period_end"] = self.period_end.isoformat()
        return d
