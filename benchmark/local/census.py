"""Which DfE census a local figure is set beside.

DfE's census is taken at 30 September each year; its flows cover 1 October to 30 September. A council's return
has a snapshot date (its ``period_end``) that may fall in any month: it is set beside the census nearest that date,
and how far from it is stated ("1 month after DfE's 30 Sep 2018 census"). A second view, "latest published at a
date" (``as_at``), uses only the censuses whose release DfE had published by then (``catalogue/releases.yml``), as a
committee reading the return on that day would have seen them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources

import yaml

from ..problems import UsageError


@dataclass(frozen=True)
class CensusMatch:
    """The DfE census a snapshot is set beside."""

    dfe_year: int             # the census year: DfE's time_period, data at 30 September of this year
    months_from_census: int   # whole months from that census to the snapshot; negative = before it
    as_at: date | None = None  # the "latest published at" date, when that view was asked for

    @property
    def census_date(self) -> date:
        return date(self.dfe_year, 9, 30)

    def describe(self) -> str:
        """Plain words: "1 month after DfE's 30 Sep 2018 census", "at DfE's 30 Sep 2016 census"."""
        n = abs(self.months_from_census)
        where = (f"at DfE's 30 Sep {self.dfe_year} census" if n == 0 else
                 f"{n} month{'s' * (n != 1)} {'after' if self.months_from_census > 0 else 'before'} DfE's "
                 f"30 Sep {self.dfe_year} census")
        if self.as_at:
            where += f" (the latest DfE had published by {self.as_at:%d %b %Y})"
        return where


def months_between(census: date, day: date) -> int:
    """Whole months from ``census`` to ``day`` (rounded to the nearest month; negative when ``day`` is earlier)."""
    return round((day - census).days / 30.44)


def nearest(day: date) -> CensusMatch:
    """The 30 September census nearest ``day`` (31 Oct 2018 -> 2018, one month after; 31 Jul 2016 -> 2016, two
    months before). A day exactly half-way (31 March) goes to the census before it: that one is published."""
    before = date(day.year if (day.month, day.day) >= (9, 30) else day.year - 1, 9, 30)
    after = date(before.year + 1, 9, 30)
    year = after.year if (after - day).days < (day - before).days else before.year
    return CensusMatch(year, months_between(date(year, 9, 30), day))


@cache
def releases() -> list[dict]:
    """The catalogue's past releases: ``data_year``, ``release_id``, ``published`` (a date), ``source``."""
    text = resources.files("benchmark").joinpath("catalogue/releases.yml").read_text(encoding="utf-8")
    return yaml.safe_load(text)["releases"]


def published_by(as_at: date, known: dict[int, date] | None = None) -> list[int]:
    """Census years whose release was published on or before ``as_at``: the catalogue's, overridden or extended by
    ``known`` (data_year -> publication date, e.g. from a build's ``releases.published``)."""
    dates = {r["data_year"]: r["published"] for r in releases()} | dict(known or {})
    return sorted(y for y, d in dates.items() if d is not None and d <= as_at)


def match(day: date, as_at: date | None = None, known: dict[int, date] | None = None) -> CensusMatch:
    """The census a snapshot at ``day`` is set beside: the nearest one; with ``as_at``, the nearest one if DfE had
    published it by then, else the latest DfE had published by then (a July 2016 return read on 31 Jul 2016 is set
    beside 2015). Raises ``UsageError`` when no release had been published by ``as_at``."""
    m = nearest(day)
    if as_at is None:
        return m
    years = published_by(as_at, known)
    if not years:
        first = min(r["published"] for r in releases())
        raise UsageError(f"--as-at {as_at.isoformat()}: no DfE census had been published by then (the first release "
                         f"this toolkit knows was published on {first.isoformat()})")
    year = m.dfe_year if m.dfe_year in years else max(y for y in years if y <= m.dfe_year) \
        if any(y <= m.dfe_year for y in years) else None
    if year is None:
        raise UsageError(f"--as-at {as_at.isoformat()}: no census up to {m.dfe_year} had been published by then")
    return CensusMatch(year, months_between(date(year, 9, 30), day), as_at)
