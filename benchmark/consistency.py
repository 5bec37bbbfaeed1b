"""What ``consistency_checks`` says about one council's published figures, in words for its page and pack.

``compare.consistency`` recomputes every rate DfE publishes from DfE's own published counts (for a council:
its counts on DfE's formula; for England and regions: the councils' values pooled) and stores each result in
``consistency_checks`` with a status. Where DfE's published rate and its counts disagree beyond rounding
(``status = 'differs'``) the council's page and pack say so beside the figure, so a reader knows the published
rate is DfE's own, not a rounding of the counts shown next to it (e.g. Kingston upon Thames / Richmond upon
Thames 2016 turnover: 17.4 published, 17.654 from its counts).
"""

from __future__ import annotations

import sqlite3

from .formatting import fmt_number


def notes(conn: sqlite3.Connection, area_code: str, up_to: int | None = None) -> dict[str, list[dict]]:
    """Disagreements for ``area_code`` by measure id, oldest year first, up to reporting year ``up_to``.

    Each is ``{"year", "published", "recomputed", "text"}`` (``published`` and ``recomputed`` as numbers,
    ``text`` one sentence). Empty when the database has no ``consistency_checks`` table (an older build).
    """
    if not conn.execute("select 1 from sqlite_master where name = 'consistency_checks'").fetchone():
        return {}
    out: dict[str, list[dict]] = {}
    for year, measure_id, published, recomputed in conn.execute(
            "select time_period, measure_id, published, recomputed from consistency_checks "
            "where area_code = ? and status = 'differs' and time_period <= ? order by time_period, measure_id",
            [area_code, up_to or 9999]):
        text = (f"{year}: DfE published {fmt_number(published, 1)}, but its own published counts give "
                f"{fmt_number(recomputed, 2)}, more than rounding explains.")
        out.setdefault(measure_id, []).append({"year": year, "published": published, "recomputed": recomputed,
                                               "text": text})
    return out
