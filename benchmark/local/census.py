"""Which DfE census a local figure is set beside.

DfE's census is taken at 30 September each year; its flows cover 1 October to 30 September. A council's return
has a snapshot date (its ``period_end``) that may fall in any month: it is set beside the census nearest that date,
and how far from it is stated ("1 month after DfE's 30 September 2018 census"). A second view, "latest published at a
date" (``as_at``), uses only the censuses whose release DfE had published by then (``catalogue/releases.yml``), as a
committee reading the return on that day would have seen them. A release whose day is not recorded (in the
catalogue or the build's ``releases.published``) is taken as published by the end of February of the year after
its census, as every release so far was (:func:`assumed_published`); an ``as_at`` inside that February stops
with a ``UsageError`` asking for the date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib import resources

import yaml

from ..formatting import fmt_date
from ..problems import UsageError


@dataclass(frozen=True)
class CensusMatch:
    """The DfE census a snapshot is set beside."""

    dfe_year: int             # the census year: DfE's time_period, data at 30 September of this year
    months_from_census: int   # whole months from that census to the snapshot; negative = before it
    as_at: date | None = None  # the "latest published at" date, when that view was asked for
    assumed: date | None = None  # the publication date taken for ``dfe_year``'s release, when none is recorded

    @property
    def census_date(self) -> date:
        return date(self.dfe_year, 9, 30)

    def describe(self) -> str:
        """Plain words: "1 month after DfE's 30 September 2018 census", "at DfE's 30 September 2016
        census" (dates as ``formatting.fmt_date`` writes them)."""
        n = abs(self.months_from_census)
        where = (f"at DfE's 30 September {self.dfe_year} census" if n == 0 else
                 f"{n} month{'s' * (n != 1)} {'after' if self.months_from_census > 0 else 'before'} DfE's "
                 f"30 September {self.dfe_year} census")
        if self.as_at:
            where += f" (the latest DfE had published by {fmt_date(self.as_at)})"
        return where

    def assumption(self) -> str | None:
        """The caveat when the census's publication date was assumed, else None."""
        if self.assumed is None:
            return None
        return (f"DfE's publication date of the {self.dfe_year} census is not recorded: taken as published by "
                f"{fmt_date(self.assumed)}, as every release so far was published in late February of the year "
                "after its census")


class AsAt(date):
    """An ``as_at`` date that also carries the publication dates a build recorded (``releases.published``,
    data_year -> date or None: EES's date, fetched), which win over the catalogue's in :func:`match`."""

    published: dict[int, date | None]

    def __new__(cls, day: date, published: dict[int, date | None] | None = None):
        self = super().__new__(cls, day.year, day.month, day.day)
        self.published = dict(published or {})
        return self


def assumed_published(data_year: int) -> date:
    """The day a release with no recorded date is taken as published by: the last day of February of the year after
    its census (every release 2015-2024 was published between 16 and 29 February; ``catalogue/releases.yml``)."""
    return date(data_year + 1, 3, 1) - timedelta(days=1)


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


def publication_dates(known: dict[int, date | None] | None = None) -> dict[int, date | None]:
    """data_year -> publication date (None: not recorded) of every release known: the catalogue's, overridden or
    extended by ``known`` (e.g. a build's ``releases.published``; a None there does not hide a catalogue date)."""
    dates = {r["data_year"]: r["published"] for r in releases()}
    for year, day in dict(known or {}).items():
        if day is not None or year not in dates:
            dates[int(year)] = day
    return dates


def published_by(as_at: date, known: dict[int, date | None] | None = None) -> list[int]:
    """Census years whose release was published on or before ``as_at`` (:func:`publication_dates`; a release with
    no recorded date counts from :func:`assumed_published`)."""
    dates = publication_dates(known)
    return sorted(y for y, d in dates.items() if (d or assumed_published(y)) <= as_at)


def match(day: date, as_at: date | None = None, known: dict[int, date] | None = None) -> CensusMatch:
    """The census a snapshot at ``day`` is set beside: the nearest one; with ``as_at``, the nearest one if DfE had
    published it by then, else the latest DfE had published by then (a July 2016 return read on 31 Jul 2016 is set
    beside 2015). ``known`` and ``as_at.published`` (an :class:`AsAt`) add the dates a build recorded. Raises
    ``UsageError`` when no release had been published by ``as_at``, or when ``as_at`` falls in the February a
    release with no recorded date that could decide the match was due."""
    m = nearest(day)
    if as_at is None:
        return m
    known = {**getattr(as_at, "published", {}), **(known or {})}
    dates = publication_dates(known)
    due = [y for y, d in dates.items() if d is None and y <= m.dfe_year and (as_at.year, as_at.month) == (y + 1, 2)]
    if due:
        raise UsageError(f"--as-at {as_at.isoformat()}: DfE's publication date of the {due[0]} census is not recorded "
                         f"(catalogue/releases.yml, and the build's releases table), and every release so far was "
                         f"published in late February, so whether it was out by {fmt_date(as_at)} is not known: "
                         f"record the date it was published (when online, 'csww fetch' then 'csww build' stores "
                         f"EES's date), or give an --as-at before 1 February {due[0] + 1} or from 1 March {due[0] + 1}")
    years = published_by(as_at, known)
    if not years:
        first = min(d for d in dates.values() if d is not None)
        raise UsageError(f"--as-at {as_at.isoformat()}: no DfE census had been published by then (the first release "
                         f"this toolkit knows was published on {first.isoformat()})")
    year = m.dfe_year if m.dfe_year in years else max(y for y in years if y <= m.dfe_year) \
        if any(y <= m.dfe_year for y in years) else None
    if year is None:
        raise UsageError(f"--as-at {as_at.isoformat()}: no census up to {m.dfe_year} had been published by then")
    assumed = assumed_published(year) if dates.get(year) is None else None
    return CensusMatch(year, months_between(date(year, 9, 30), day), as_at, assumed)
