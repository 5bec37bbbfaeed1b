"""Short, factual, exception-led sentences generated from the comparison records.

Nothing here judges beyond the numbers: a sentence is written only when a rule below fires, and each says
which figure it rests on. The rules are printed in the pack (``RULES``) so a reader can check them.

- **Quartile**: a key measure in band A (best 25 % of councils) or D (worst 25 %) nationally, with its
  distance from the neighbour median.
- **Moves**: a change on last year of at least ``MOVE`` (10 %) of last year's value, largest first.
- **Neighbours**: a difference from the neighbour median of at least ``GAP`` (15 %) of the median, for
  rates and caseload not already mentioned (not for sizes such as FTE in post), largest first.
- **Missing**: key measures DfE did not publish for the council that year, with the symbol's meaning.

- **Quartile movement**: key measures whose national quartile band differs from the previous year's, in one
  sentence of their own (``QUARTILE_RULE``): towards A is more favourable, towards D less favourable.

Change and direction follow one rule (``compare.DIRECTION_RULE``): both compare with the previous year, so a
sentence's verb (rose/fell), its judgement (improvement/deterioration) and the direction of travel beside it
always agree with the two numbers it quotes. DfE's ``low`` is "below 0.05%" and the lowest value (tied).
"""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from ..formatting import AREA, COUNCIL, SYMBOL_MEANINGS, dfe_decimals, fmt_number, is_number, suffix
from ..measures import round_half_up
from .model import LOW, low_text, measure_info

MOVE = 0.10
GAP = 0.15
MAX_MOVES = 3
MAX_GAPS = 2

QUARTILE_RULE = ("Quartile movement compares the band with the previous year's, as change and direction do: a move "
                 "towards A (the most favourable 25% of councils) is more favourable, towards D less favourable.")

RULES = (f"The summary is generated from the figures by fixed rules: it names key measures in the best (A) or "
         f"worst (D) quartile band nationally; changes on last year of {MOVE:.0%} or more of last year's value "
         f"(up to {MAX_MOVES}); other differences from the neighbour median of {GAP:.0%} or more of the median "
         f"(up to {MAX_GAPS}); and key measures not published. Band A is the most favourable quarter of councils "
         "for that measure (lowest turnover, agency, vacancy, caseload and absence); band D the least favourable. "
         + QUARTILE_RULE)

UNIT_WORDS = {"percent": "points", "cases per FTE": "cases per FTE", "FTE": "FTE", "headcount": "", "days": "days",
              "cases": "", "children per social worker": ""}


def short_label(measure_id: str) -> str:
    label = measure_info(measure_id).label
    for tail in (" (FTE)", " (per case-holding FTE)"):
        if label.endswith(tail):
            label = label[: -len(tail)]
    return label


def show(v, measure_id: str, sign: bool = False, decimals: int | None = None) -> str:
    """A figure as the pack's tables show it: the catalogue's decimals, or ``decimals`` (DfE's, when fewer)."""
    m = measure_info(measure_id)
    return fmt_number(v, m.decimals if decimals is None else decimals, sign) + suffix(m)


def amount(v, measure_id: str) -> str:
    """An absolute difference with its unit word: '11.0 points', '2.3 FTE'."""
    m = measure_info(measure_id)
    word = UNIT_WORDS.get(m.unit, "")
    return fmt_number(abs(v), m.decimals) + (f" {word}" if word else "")


def _sn_clause(r) -> str:
    if not (is_number(r.value) and is_number(r.sn_median)):
        return ""
    d = measure_info(r.measure_id).decimals
    diff = round_half_up(r.value - round_half_up(r.sn_median, d), d)  # as the reader sees the two figures
    if diff == 0:
        return ", the same as the neighbour median"
    side = "above" if diff > 0 else "below"
    return f", {amount(diff, r.measure_id)} {side} the neighbour median ({show(r.sn_median, r.measure_id)})"


ROW_FIELDS = ("measure_id", "value", "symbol", "quartile", "rank", "rank_of", "change", "sn_median", "england",
              "direction")


def year_rows(rec: pd.DataFrame, year: int, measure_ids: list[str]) -> list[SimpleNamespace]:
    """The records of ``year`` for ``measure_ids``, in that order, as plain objects (one pandas step: a summary
    is made for every council and year in the tests, so it stays cheap)."""
    order = {m: i for i, m in enumerate(measure_ids)}
    cols = [c for c in ROW_FIELDS if c in rec]
    values = rec.loc[rec["time_period"] == year, cols].to_numpy(dtype=object)
    rows = [SimpleNamespace(**dict(zip(cols, v))) for v in values if v[0] in order]
    return sorted(rows, key=lambda r: order[r.measure_id])


def not_published(measure_id: str, area_name: str, year: int, published=None) -> str:
    """Why a council has no figure for a measure in ``year``, in words: DfE does not publish the measure for
    councils at all (a measure from councils' own returns), or not for that year (caseload before 2017), by
    ``published`` (the (measure_id, year) pairs DfE published for any council); else it published none for this
    council. ``published`` None: the last, as before."""
    label = short_label(measure_id)
    if published is not None and (measure_id, year) not in published:
        if not any(mid == measure_id for mid, _ in published):
            return f"{label}: DfE does not publish this measure for councils."
        return f"{label}: DfE does not publish this measure for councils for {year}."
    return f"{label}: DfE published no figure for {area_name} in {year}."


def council_summary(rec: pd.DataFrame, year: int, measure_ids: list[str], area_name: str, rows=None,
                    published=None, whole=None) -> list[str]:
    """Sentences for one council and year from its comparison records (all years, published only);
    ``rows`` is :func:`year_rows` of them when the caller has it already; ``published`` and ``whole`` are
    ``formatting.published_figures`` (:func:`not_published`; DfE's whole numbers shown as such)."""
    rows = year_rows(rec, year, measure_ids) if rows is None else rows

    def own(v, mid, y=year):  # the council's figure, with the decimals DfE published it with
        return show(v, mid, decimals=dfe_decimals(whole, mid, y, COUNCIL))
    out: list[str] = []
    mentioned: set[str] = set()

    for r in rows:
        if not is_number(r.value) and r.symbol == LOW and isinstance(r.quartile, str):
            rank = f", rank {int(r.rank)} of {int(r.rank_of)} (1 = lowest)" if is_number(r.rank_of) else ""
            out.append(f"{short_label(r.measure_id)} is {low_text(measure_info(r.measure_id))} (DfE's 'low'), the "
                       f"lowest value nationally, tied; band {r.quartile}{rank}.")
            mentioned.add(r.measure_id)
        elif is_number(r.value) and r.quartile in ("A", "D"):
            m = measure_info(r.measure_id)
            highest = (r.quartile == "D") == (m.polarity == "lower")
            best = "most favourable" if r.quartile == "A" else "least favourable"
            rank = (f", rank {int(r.rank)} of {int(r.rank_of)} (1 = lowest)"
                    if is_number(r.rank) and is_number(r.rank_of) else "")
            out.append(f"{short_label(r.measure_id)} {own(r.value, r.measure_id)} is in the "
                       f"{'highest' if highest else 'lowest'} quartile nationally{_sn_clause(r)}; band {r.quartile}, "
                       f"the {best} 25% of councils{rank}.")
            mentioned.add(r.measure_id)
    if any(isinstance(r.quartile, str) for r in rows) and not mentioned:
        out.append(f"No key measure for {area_name} is in the best or worst quartile band nationally in {year}.")

    moves = []
    for r in rows:
        if not (is_number(r.value) and is_number(r.change)) or r.change == 0:
            continue
        before = r.value - r.change
        if before and abs(r.change) >= MOVE * abs(before):
            moves.append((abs(r.change) / abs(before), r, before))
    for _, r, before in sorted(moves, key=lambda t: -t[0])[:MAX_MOVES]:
        m = measure_info(r.measure_id)
        verb = "rose" if r.change > 0 else "fell"
        judged = ""
        if m.polarity != "neutral":
            better = (r.change < 0) == (m.polarity == "lower")
            judged = f"; {'lower' if m.polarity == 'lower' else 'higher'} is better"
            judged = f" (an improvement{judged})" if better else f" (a deterioration{judged})"
        out.append(f"{short_label(r.measure_id)} {verb} by {amount(r.change, r.measure_id)} since {year - 1}, "
                   f"from {own(before, r.measure_id, year - 1)} to {own(r.value, r.measure_id)}{judged}.")
    if any(is_number(r.change) for r in rows) and not moves:
        out.append(f"No key measure changed by {MOVE:.0%} or more since {year - 1}.")

    gaps = []
    for r in rows:
        if (r.measure_id in mentioned or measure_info(r.measure_id).polarity == "neutral"
                or not (is_number(r.value) and is_number(r.sn_median)) or not r.sn_median):
            continue  # a size (FTE in post) differs from neighbours' by nature: not an exception
        diff = r.value - r.sn_median
        if abs(diff) >= GAP * abs(r.sn_median):
            gaps.append((abs(diff) / abs(r.sn_median), r))
    for _, r in sorted(gaps, key=lambda t: -t[0])[:MAX_GAPS]:
        eng = (f"; England {show(r.england, r.measure_id, decimals=dfe_decimals(whole, r.measure_id, year, AREA))}"
               if is_number(r.england) else "")
        out.append(f"{short_label(r.measure_id)} {own(r.value, r.measure_id)} is "
                   f"{_sn_clause(r)[2:]}{eng}.")

    for r in rows:
        if not is_number(r.value) and isinstance(r.symbol, str) and r.symbol != LOW:
            meaning = SYMBOL_MEANINGS.get(r.symbol, "no figure")
            out.append(f"{short_label(r.measure_id)} is not published for {area_name} in {year} "
                       f"(symbol '{r.symbol}': {meaning}).")
    present = {r.measure_id for r in rows}
    for mid in measure_ids:
        if mid not in present:
            out.append(not_published(mid, area_name, year, published))
    return out


def direction_summary(now, year: int) -> str | None:
    """One sentence grouping the directions of travel on last year (``compare.DIRECTION_RULE``); ``now`` is the
    year's records (a DataFrame or :func:`year_rows`)."""
    words = {}
    for r in (now[["measure_id", "direction"]].itertuples() if isinstance(now, pd.DataFrame) else now):
        if isinstance(r.direction, str):
            words.setdefault(r.direction, []).append(short_label(r.measure_id).lower())
    if not words:
        return None
    parts = [f"{w}: {', '.join(ms)}" for w, ms in words.items()]
    return (f"Direction of travel since {year - 1} (the same comparison as the change above) — "
            + "; ".join(parts) + ".")


def quartile_summary(rec: pd.DataFrame, year: int, measure_ids: list[str]) -> str | None:
    """One sentence naming the key measures whose quartile band nationally moved since the previous year
    (``QUARTILE_RULE``), e.g. "Quartile band since 2024 (the same comparison as the change above): agency worker
    rate moved from C to D (less favourable)."; a sentence saying none moved when both years have bands;
    None when ``rec`` lacks either year's bands (a measure without a band, such as FTE in post, is left out)."""
    if "quartile" not in rec:
        return None
    bands = rec[rec["time_period"].isin([year - 1, year]) & rec["measure_id"].isin(measure_ids)
                & rec["quartile"].isin(list("ABCD"))]
    by = {(r.measure_id, int(r.time_period)): r.quartile for r in bands[["measure_id", "time_period",
                                                                         "quartile"]].itertuples()}
    both = [mid for mid in measure_ids if (mid, year - 1) in by and (mid, year) in by]
    if not both:
        return None
    moves = []
    for mid in both:
        was, now = by[(mid, year - 1)], by[(mid, year)]
        if was != now:
            word = "more favourable" if now < was else "less favourable"
            moves.append(f"{short_label(mid).lower()} moved from {was} to {now} ({word})")
    if not moves:
        return f"No key measure changed quartile band nationally since {year - 1}."
    return (f"Quartile band nationally since {year - 1} (the same comparison as the change above): "
            + "; ".join(moves) + ".")


def group_summary(table: pd.DataFrame, year: int, measure_ids: list[str], pooled: dict, whole=None) -> list[str]:
    """Sentences for a partnership: each measure's highest and lowest member, and band A/D members.

    ``table`` has one row per member and measure for the year (area_name, measure_id, value, quartile);
    ``pooled`` maps measure_id to the partnership's pooled figure and England's; ``whole``
    (``formatting.published_figures``) which figures DfE published as whole numbers.
    """
    out = []
    for mid in measure_ids:
        t = table[table["measure_id"] == mid]
        low = t["symbol"].eq(LOW) if "symbol" in t else False
        t = t.assign(order=t["value"].astype(float).mask(low & t["value"].isna(), float("-inf")))
        t = t[t["order"].notna()]  # DfE's low is the lowest value (tied)
        if t.empty:
            continue
        hi = t.loc[t["order"].idxmax()]
        lows = t[t["order"] == t["order"].min()]
        lo = lows.iloc[0]
        lo_names = " and ".join(lows["area_name"]) if len(lows) > 1 else lo["area_name"]

        def said(r):
            return (show(r["value"], mid, decimals=dfe_decimals(whole, mid, year, COUNCIL)) if is_number(r["value"])
                    else low_text(measure_info(mid)))
        s = (f"{short_label(mid)}: highest {hi['area_name']} {said(hi)}, "
             f"lowest {lo_names} {said(lo)}")
        p = pooled.get(mid, {})
        if (is_number(p.get("pooled")) and is_number(p.get("england"))
                and measure_info(mid).unit not in ("FTE", "headcount")):  # totals do not compare with England's
            s += (f"; the partnership as a whole {show(p['pooled'], mid)} against England "
                  f"{show(p['england'], mid, decimals=dfe_decimals(whole, mid, year, AREA))}")
        out.append(s + ".")
    for band, words in (("D", "least favourable"), ("A", "most favourable")):
        hits = table[table["quartile"] == band]
        if hits.empty:
            continue
        by = hits.groupby("area_name", sort=True)["measure_id"].apply(
            lambda s: ", ".join(short_label(m).lower() for m in s))
        out.append(f"In band {band} nationally ({words} 25% of councils) in {year}: "
                   + "; ".join(f"{name} ({ms})" for name, ms in by.items()) + ".")
    return out
