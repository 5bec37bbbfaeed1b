"""Council pages for the csww-benchmark Datasette site.

* ``/la?q=NAME`` finds a council by name (or code) and redirects to its profile; several matches are listed.
* ``/la/<code>`` is the council profile: headline figures and, for each key measure, a chart of the council
  against its statistical-neighbour median, region and England over all years, with the same figures in a
  table beside the chart and links to the canned queries and CSV downloads (``_dl=1``: text/csv with a file name). Joint returns use ``314-318``.
  ``?year=YYYY`` picks the year of the headline figures; the page names the council's statistical neighbours
  and marks where DfE's neighbour model changes (``model_changes``); counts (``Measure.banded`` false) show no
  quartile; predecessors and successors (``area_changes``) link to each other.
  With local returns in the served database (all of them on the private instance, published ones on the public),
  the page also charts the council's own series on its DfE series with the in-year turnover views
  (``local.series``) and shows its team table with service subtotals (the pack's ``packs.team_sections``).
* ``/la/<code>.json`` is the same page's figures as JSON (unrounded values; the same ``?year=``).
* Canned query pages given an ``:la`` no council matches say so, with suggestions (``no_council_message``,
  shown through ``templates/query.html``, which extends Datasette's own ``query.html``).
* The home page gets the council list for its picker.
* Pages for anonymous visitors are drawn once per build and then answered from memory (``site_cache``).

A Datasette plugin registered through the ``datasette`` entry point in ``pyproject.toml``. It reads the site's
database (the first one served) and draws with the toolkit's own ``charts`` and ``formatting``, so a page shows
the figures a pack shows, rounded the same way; the charts are server-side SVG and need no JavaScript.
"""

from __future__ import annotations

import sqlite3
import weakref
from urllib.parse import quote, urlencode

import pandas as pd
from datasette import hookimpl
from datasette.database import QueryInterrupted
from datasette.utils import await_me_maybe, tilde_decode
from datasette.utils.asgi import Response
from markupsafe import Markup

from . import charts, consistency, ethnicity, measures, site_cache, site_compat, site_security
from . import councils as resolver
from . import neighbours as sn
from .formatting import AREA, COUNCIL, dfe_decimals, fmt_number, is_number, published_figures, suffix
from .local import series as local_series
from .report import packs


def slug(code: str) -> str:
    return code.replace(" / ", "-")


def unslug(text: str) -> str:
    return text.replace("-", " / ")


async def _db_and_check(datasette, request):
    db = datasette.get_database()
    await site_compat.check_view_database(datasette, request.actor, db.name)   # 0.65 and 1.0 APIs differ
    return db


async def councils(db, where: str = "1", params: dict | None = None) -> list[dict]:
    rows = await db.execute("select area_code, area_name, region_name, status from areas where level = 'Local "
                            f"authority' and ({where}) order by status = 'current' desc, area_name", params or {})
    return [{"code": r["area_code"], "slug": slug(r["area_code"]), "name": r["area_name"],
             "region": r["region_name"], "current": r["status"] == "current"} for r in rows]


#: The one council resolver (``benchmark.councils``) in SQL: any DfE or ONS code or spelling, via ``area_lookup``.
LOOKUP_SQL = ("select a.* from area_lookup l join areas a on a.area_code = l.area_code "
              f"where l.lookup_key = {resolver.sql_key(':q')} and a.level = 'Local authority' "
              "order by l.preference, a.area_code limit 1")


async def lookup(db, text: str):
    """The areas row of the council ``text`` names (any DfE or ONS code or spelling), or None."""
    return (await db.execute(LOOKUP_SQL, {"q": text})).first()


#: Longest search text ``/la?q=`` takes, in characters: the longest council name is 35; a longer text would also
#: pass SQLite's LIKE-pattern limit (``site_security.MAX_PATTERN_BYTES``) once wrapped in ``%…%``.
MAX_SEARCH_CHARS = 100


def search_too_long(q: str) -> str | None:
    """What to say when the search text is longer than :data:`MAX_SEARCH_CHARS`, else None."""
    if len(q) <= MAX_SEARCH_CHARS:
        return None
    return (f"The search text is {len(q):,} characters long; give a council name or code of at most "
            f"{MAX_SEARCH_CHARS} characters (the DfE three-digit code 841, the ONS code E06000005 or part of a name).")


async def find(request, datasette):
    """``/la?q=``: redirect to the council ``q`` names, list several matches, or say none matches; a search text
    over :data:`MAX_SEARCH_CHARS` or one SQLite cannot search with is answered with the page and a message
    (HTTP 400), never a 500."""
    db = await _db_and_check(datasette, request)
    q = (request.args.get("q") or "").strip()
    matches, problem = [], search_too_long(q)
    if q and problem is None:
        try:
            exact = await lookup(db, q)
            if exact is not None:
                return Response.redirect(datasette.urls.path(f"/la/{quote(slug(exact['area_code']))}"))
            matches = await councils(
                db, "area_name like '%' || :q || '%' or rowid in (select rowid from areas_fts where areas_fts match "
                ":fts)", {"q": q, "fts": " ".join(f'"{w}"*' for w in q.replace('"', " ").split()) or '""'})
        except (sqlite3.DatabaseError, QueryInterrupted) as e:
            problem = f"The search for that text could not be run ({e}); try part of a council name or its code."
        matches = matches[:50]
        if len(matches) == 1:
            return Response.redirect(datasette.urls.path(f"/la/{quote(matches[0]['slug'])}"))
    return Response.html(await datasette.render_template(
        "csww_find.html", {"q": q[:MAX_SEARCH_CHARS], "matches": matches, "problem": problem,
                           "councils": await councils(db), "database": db.name,
                           "metadata": await site_compat.instance_metadata(datasette)}, request=request),
        status=400 if problem else 200)


def measure_caption(m: measures.Measure) -> str:
    """The measure named once: 'Social workers in post (FTE)', 'Turnover rate (FTE), %' (never '(FTE) (FTE)')."""
    unit = "%" if m.unit == "percent" else m.unit
    return m.label if f"({unit})" in m.label else f"{m.label}, {unit}"


def model_changes(series: list[dict]) -> list[dict]:
    """Years where the neighbour model of a council's series changes: [{year, before, after, from_year}]."""
    out, prev = [], None
    for r in series:
        model = r.get("sn_model")
        if model and prev and model != prev["sn_model"]:
            out.append({"year": r["time_period"], "from_year": prev["time_period"], "before": prev["sn_model"],
                        "after": model, "text": (
                            f"From {r['time_period']} the neighbour median is over {sn.model_words(model)}; up to "
                            f"{prev['time_period']} it is over {sn.model_words(prev['sn_model'])}. Part of any jump in "
                            f"the median between {prev['time_period']} and {r['time_period']} is the change of "
                            "neighbours, not of the councils' figures.")})
        if model:
            prev = r
    return out


_whole_numbers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


async def whole_numbers(db) -> set[tuple[str, int, str]]:
    """The (measure_id, year, level) groups DfE published as whole numbers (``formatting.published_figures``), once per
    served (immutable) database: the site shows them as the packs do, 16% and 26,500, never 16.0 or 26,500.0."""
    if db not in _whole_numbers:
        _whole_numbers[db] = (await db.execute_fn(published_figures))[1]
    return _whole_numbers[db]


def figure(v, m: measures.Measure, year, whole, level: str | None = None, unit: bool = False) -> str:
    """``v`` as the packs show it: rounded half up to the decimals DfE published it with (``formatting.dfe_decimals``:
    0 for DfE's whole-number groups at ``level``, else the catalogue's), with "%" for a percentage when ``unit``
    (``formatting``); "" when ``v`` is not a number."""
    decimals = dfe_decimals(whole, m.id, year, level)
    text = fmt_number(v, m.decimals if decimals is None else decimals)
    return text + suffix(m) if unit and is_number(v) else text


def _number(v):
    return None if v is None or (isinstance(v, float) and v != v) else v


async def _neighbours(db, code: str, model: str | None, year: int | None = None,
                      method: str | None = None) -> list[dict]:
    """The neighbours ``code``'s median in ``year`` is taken over (``neighbours.council_list``: a joint return takes
    its first member's list, less its own members), each with its ``note`` (a joint return's value, counted once)."""
    if not model or year is None:
        return []
    nb = await db.execute_fn(lambda conn: sn.council_list(conn, code, year, model, method))
    return [{"position": int(r.position), "code": r.neighbour_code, "slug": slug(r.neighbour_code),
             "name": r.area_name or r.neighbour_code, "closeness": r.closeness, "status": r.status,
             "note": r.note if isinstance(r.note, str) else None} for r in nb.itertuples() if r.status != "self"]


async def _neighbour_words(db, code: str, year: int | None, model: str | None, listed: list[dict]) -> str | None:
    """For a joint return: that it is one, and which member's neighbour list its median takes."""
    if " / " not in code:
        return None
    names = {r["area_code"]: r["area_name"] for r in await db.execute(
        "select area_code, area_name from areas where joint_return_code = ? order by area_code", [code])}
    members = [c.strip() for c in code.split(" / ")]
    text = (" and ".join(names.get(m, m) for m in members) + f" make one joint return to DfE ({code}); its figures "
            "are for them together, so its counts (such as social workers in post) are ranked, as DfE's figures stand, "
            "among single councils: their rank says more about size than about the workforce.")
    if model and listed:
        first = members[0]
        text += (f" Its statistical neighbours are {names.get(first, first)}'s ({first}) list, the toolkit's rule for "
                 "a joint return (DfE's dashboard gives a joint return no neighbour median), less "
                 + " and ".join(f"{names.get(m, m)} ({m})" for m in members[1:]) + ", part of the return itself.")
    return text


async def _changes(db, code: str) -> dict[str, list[dict]]:
    """Predecessors and successors of ``code`` (``area_changes``), each with its name and first year."""
    out: dict[str, list[dict]] = {"predecessors": [], "successors": []}
    for side, mine, other in (("predecessors", "successor_code", "predecessor_code"),
                              ("successors", "predecessor_code", "successor_code")):
        rows = await db.execute(
            f"select c.{other} as code, c.first_year, c.kind, a.area_name from area_changes c "
            f"left join areas a on a.area_code = c.{other} where c.{mine} = ? order by c.first_year, c.{other}",
            [code])
        out[side] = [{"code": r["code"], "slug": slug(r["code"]), "name": r["area_name"] or r["code"],
                      "first_year": r["first_year"], "kind": r["kind"]} for r in rows]
    return out


async def _problem(datasette, request, status: int, message: str) -> Response:
    """Datasette's error page (or JSON) for an expected failure, without the traceback a raised error logs."""
    if request.url_vars.get("format"):
        return Response.json({"ok": False, "error": message, "status": status}, status=status)
    return Response.html(await datasette.render_template(
        "error.html", {"ok": False, "error": message, "status": status, "title": None}, request=request),
        status=status)


async def profile(request, datasette):
    """The council page; drawn once per build and variant for anonymous visitors (``site_cache``)."""
    db = await _db_and_check(datasette, request)
    if request.actor is None and site_cache.anonymous(request.scope.get("headers") or []):
        site_cache.mark_cacheable(request, await site_cache.current_build(datasette, db))
    return await _profile(request, datasette, db)


async def _profile(request, datasette, db):
    as_json = bool(request.url_vars.get("format"))
    code = unslug(request.url_vars["code"])
    area = (await db.execute("select * from areas where area_code = ? and level = 'Local authority'", [code])).first()
    asked_year = (request.args.get("year") or "").strip()
    alone = area is not None and area["joint_return_code"] and asked_year.isdigit() and (await db.execute(
        "select 1 from comparisons where area_code = ? and time_period = ? and provisional = 0 limit 1",
        [code, int(asked_year)])).first()
    if area is not None and area["joint_return_code"] and not alone and asked_year.isdigit():
        own = (await db.execute("select 1 from comparisons where area_code = ? and provisional = 0 limit 1",
                                [code])).first()
        joint_years = {r[0] for r in await db.execute(
            "select distinct time_period from comparisons where area_code = ? and provisional = 0",
            [area["joint_return_code"]])}
        if own and int(asked_year) not in joint_years:  # neither: say where its figures are
            pointer = await db.execute_fn(lambda conn: resolver.year_pointer(conn, dict(area), int(asked_year)))
            return await _problem(datasette, request, 404, f"No published figures for {area['area_name']} in "
                                  f"{asked_year}. {pointer}".strip())
    if area is None or (area["joint_return_code"] and not alone):
        # an ONS code, a name or a joint-return member in the URL: send to the page its figures are on
        typed = tilde_decode(request.url_vars["code"])   # Datasette sends /la/St%20Helens on as /la/St~20Helens
        other = area or await lookup(db, typed) or await lookup(db, unslug(typed))
        if other is None:
            return await _problem(datasette, request, 404, f"No council with code {code}")
        target = other["joint_return_code"] or other["area_code"]
        args = {k: v for k, v in (("from", other["area_code"] if other["joint_return_code"] else None),
                                  ("year", request.args.get("year"))) if v}
        query = f"?{urlencode(args)}" if args else ""
        suffix = ".json" if as_json else ""
        return Response.redirect(datasette.urls.path(f"/la/{quote(slug(target))}{suffix}{query}"))
    came_from = None
    if request.args.get("from"):
        member = (await db.execute("select area_code, area_name from areas where area_code = ? and "
                                   "joint_return_code = ?", [request.args["from"], code])).first()
        if member is not None:
            came_from = (f"{member['area_name']} ({member['area_code']}) has no figures of its own: DfE publishes "
                         f"them within this joint return, {area['area_name']} ({code}).")
            own = [r[0] for r in await db.execute("select distinct time_period from comparisons where area_code = ? "
                                                  "and provisional = 0 order by 1", [member["area_code"]])]
            if own:  # it returned alone before the joint return (Kingston upon Thames in 2015)
                joint_from = min((r[0] for r in await db.execute(
                    "select distinct time_period from comparisons where area_code = ? and provisional = 0", [code])),
                    default="its first year")
                came_from = (f"{member['area_name']} ({member['area_code']}) has no figures of its own: DfE publishes "
                             f"them within this joint return, {area['area_name']} ({code}), from {joint_from}. "
                             f"Its own return for {', '.join(map(str, own))}, before the joint return, is on its page: "
                             + ", ".join(datasette.urls.path(f"/la/{quote(slug(member['area_code']))}?year={y}")
                                         for y in own) + ".")
    rows = await db.execute(
        "select * from comparisons where area_code = ? and provisional = 0 and measure_id in "
        "(select measure_id from measures where key_measure = 1) order by time_period", [code])
    by_measure: dict[str, list[dict]] = {}
    for r in rows:
        by_measure.setdefault(r["measure_id"], []).append(dict(r))
    years = sorted({r["time_period"] for rs in by_measure.values() for r in rs})
    latest = years[-1] if years else None
    year = latest
    asked = (request.args.get("year") or "").strip()
    if asked:
        if not asked.isdigit():
            return await _problem(datasette, request, 400,
                                  f"year must be a reporting year such as {latest or 2025}, not {asked!r}")
        if int(asked) not in years:
            pointer = await db.execute_fn(lambda conn: resolver.year_pointer(conn, dict(area), int(asked)))
            return await _problem(datasette, request, 404, f"No published figures for {area['area_name']} in "
                                  f"{asked}; years with figures: " + (", ".join(map(str, years)) or "none")
                                  + (f". {pointer}" if pointer else ""))
        year = int(asked)
    dbp = datasette.urls.database(db.name)
    whole = await whole_numbers(db)

    def places(mid: str, col: str, y) -> int | None:
        """The decimals DfE published ``col``'s figure with in year ``y`` (``formatting.dfe_decimals``, as ``figure``
        shows it in the table), None for the catalogue's: the chart's tooltips and text alternative agree."""
        if y is None or col not in ("value", "region", "england"):
            return None
        return dfe_decimals(whole, mid, y, COUNCIL if col == "value" else AREA)

    sections, headlines, data = [], [], []
    models_seen: dict[str, None] = {}
    for m in measures.key_measures():
        series = by_measure.get(m.id, [])
        dec = m.decimals
        unit = "%" if m.unit == "percent" else m.unit
        region_label = next((r["region_name"] for r in reversed(series) if r.get("region_name")), None) or "Region"
        changes = model_changes(series)
        changed_years = {c["year"] for c in changes}
        table = [{"year": r["time_period"], "value": figure(r["value"], m, r["time_period"], whole, COUNCIL),
                  "symbol": r["symbol"] or "", "sn_median": fmt_number(r.get("sn_median"), dec),
                  "region": figure(r.get("region"), m, r["time_period"], whole, AREA),
                  "england": figure(r.get("england"), m, r["time_period"], whole, AREA),
                  "selected": r["time_period"] == year,
                  "model_change": r["time_period"] in changed_years} for r in series]
        svg, summary = charts.trend(f"chart-{m.id}", m, area["area_name"], pd.DataFrame(series), [
            ("value", area["area_name"]), ("sn_median", "Neighbour median"), ("region", region_label),
            ("england", "England")], places=lambda c, y, mid=m.id: places(mid, c, y)) if series else (
                "", f"{m.label}: no published values for {area['area_name']}.")
        params = {"la": code, "measure": m.id}
        links = {
            "trend": f"{dbp}/trend?{urlencode(params)}",
            "trend_csv": f"{dbp}/trend.csv?{urlencode({**params, '_dl': 1})}",
            "neighbours": f"{dbp}/council_vs_neighbours?{urlencode(params)}",
            "neighbours_csv": f"{dbp}/council_vs_neighbours.csv?{urlencode({**params, '_dl': 1})}",
            "league": f"{dbp}/league_table?{urlencode({'measure': m.id, 'year': year or ''})}",
        }
        pick = [r for r in series if r["time_period"] == year] if asked else series[-1:]
        last = pick[-1] if pick else None
        if last is not None:
            if last.get("sn_model"):
                models_seen.setdefault(last["sn_model"])
            headlines.append({
                "label": m.label, "unit": unit, "year": last["time_period"],
                "value": figure(last["value"], m, last["time_period"], whole, COUNCIL, unit=True),
                "symbol": last["symbol"] or "",
                "england": figure(last.get("england"), m, last["time_period"], whole, AREA, unit=True),
                "sn_median": figure(last.get("sn_median"), m, last["time_period"], whole, unit=True),
                "rank": last.get("rank"), "rank_of": last.get("rank_of"),
                "quartile": last.get("quartile") if m.banded else None,
                "polarity": m.polarity, "anchor": m.id})
        sections.append({"id": m.id, "label": m.label, "caption": measure_caption(m), "unit": unit,
                         "definition": m.definition, "polarity": m.polarity, "table": table, "svg": Markup(svg),
                         "summary": summary, "region_label": region_label, "links": links,
                         "totals": m.unit in ("FTE", "headcount"), "model_changes": changes})
        data.append({"measure_id": m.id, "label": m.label, "unit": m.unit, "polarity": m.polarity,
                     "quartile_bands": m.banded, "model_changes": changes, "years": [
                         {k: _number(r.get(k)) for k in ("time_period", "value", "symbol", "sn_model", "sn_median",
                                                          "sn_count", "region_name", "region", "england", "rank",
                                                          "rank_of", "quartile", "change", "direction")}
                         | ({} if m.banded else {"quartile": None}) for r in series]})
    flagged = await db.execute_fn(lambda conn: consistency.notes(conn, code, year))
    for s in sections:
        s["consistency"] = flagged.get(s["id"], [])
    eth = await db.execute_fn(lambda conn: ethnicity.by_seniority(conn, code, year))
    model = next(iter(models_seen), None)
    method = next((r.get("sn_note") for rs in by_measure.values() for r in rs if r["time_period"] == year
                   and str(r.get("sn_note") or "").startswith("DfE dashboard method")), None) and "dashboard"
    neighbours = await _neighbours(db, code, model, year, method)
    joint_note = await _neighbour_words(db, code, year, model, neighbours)
    lineage = await _changes(db, code)
    local = []
    for r in await db.execute(
            "select c.time_period, c.comparator_year, c.measure_id, m.label, m.unit, m.decimals, c.value, c.symbol, "
            "c.sn_median, c.england, c.quartile, c.series_note from comparisons c join measures m using (measure_id) "
            "where c.area_code = ? and c.provisional = 1 order by c.time_period desc, m.key_measure desc, m.rowid",
            [code]):
        dec = r["decimals"]
        banded = r["measure_id"] in measures.catalogue() and measures.catalogue()[r["measure_id"]].banded
        local.append({"year": r["time_period"], "comparator_year": r["comparator_year"], "label": r["label"],
                      "measure_id": r["measure_id"], "unit": "%" if r["unit"] == "percent" else r["unit"],
                      "value": fmt_number(r["value"], dec), "raw_value": _number(r["value"]),
                      "symbol": r["symbol"] or "", "sn_median": fmt_number(r["sn_median"], dec),
                      "england": fmt_number(r["england"], dec if (d := places(r["measure_id"], "england",
                                                                              r["comparator_year"])) is None else d),
                      "quartile": r["quartile"] if banded else None,
                      "note": r["series_note"]})
    series_charts, team_tables = await _local_views(db, dict(area), by_measure, whole)
    if as_json:
        payload = {
            "area": {k: area[k] for k in area.keys()}, "year": year, "latest": latest, "years": years,
            "came_from": came_from, "joint_note": joint_note, "neighbour_model": model, "neighbour_model_name": sn.model_words(model) if model else None,
            "neighbours": neighbours, **lineage, "measures": data, "ethnicity": eth, "consistency": flagged,
            "local": [{"year": r["year"], "comparator_year": r["comparator_year"], "measure_id": r["measure_id"],
                       "value": r["raw_value"], "symbol": r["symbol"] or None, "quartile": r["quartile"],
                       "note": r["note"]} for r in local],
            "page": datasette.urls.path(f"/la/{quote(slug(code))}"),
        }
        response = Response.json(payload)
    else:
        context = {
            "area": dict(area), "came_from": came_from, "joint_note": joint_note, "local": local, "slug": slug(code), "sections": sections,
            "series_charts": [{**c, "svg": Markup(c["svg"])} for c in series_charts], "team_tables": team_tables,
            "headlines": headlines, "latest": latest, "year": year, "years": years, "year_asked": bool(asked),
            "neighbours": neighbours, "neighbour_model": sn.model_words(model) if model else None, **lineage,
            "ethnicity": eth and {**eth, "svg": Markup(ethnicity.chart(eth)[0]),
                                  "model": sn.model_words(eth["neighbour_model"]) if eth["neighbour_model"] else None},
            "fmt": fmt_number,
            "la_base": datasette.urls.path("/la/"),
            "json_url": datasette.urls.path(f"/la/{quote(slug(code))}.json" + (f"?year={year}" if asked else "")),
            "database": db.name, "metadata": await site_compat.instance_metadata(datasette),
            "profile_query": f"{dbp}/council_profile?{urlencode({'la': code, 'year': year or ''})}",
            "profile_csv": f"{dbp}/council_profile.csv?{urlencode({'la': code, 'year': year or '', '_dl': 1})}",
            "local_query": f"{dbp}/local_vs_published?{urlencode({'la': code})}",
            "comparisons_csv": f"{dbp}/comparisons.csv?{urlencode({'area_code': code, '_size': 'max', '_dl': 1})}",
        }
        response = Response.html(await datasette.render_template("csww_council.html", context, request=request))
    response.headers["Cache-Control"] = _cache_control(datasette, request)
    return response


async def _local_views(db, area: dict, by_measure: dict[str, list[dict]], whole=None) -> tuple[list[dict], list]:
    """The council's local series charted on its DfE series (``local.series.charts_for``, key measures) and its
    team tables with service subtotals (the pack's ``packs.team_sections``), from every return in the served
    database: the private instance's holds them all, the public one only published returns (``publication``)."""
    if not (await db.execute("select 1 from sqlite_master where name = 'local_observations'")).first():
        return [], []
    dfe = {mid: {r["time_period"]: _number(r["value"]) for r in rs} for mid, rs in by_measure.items()}
    places = {mid: {y: dfe_decimals(whole, mid, y, COUNCIL) for y in ys} for mid, ys in dfe.items()}

    def work(conn):
        rows = local_series.stored(conn, area["area_code"])
        if rows.empty:
            return [], []
        figs = local_series.charts_for(rows, area["area_name"], dfe, [m.id for m in measures.key_measures()],
                                       dfe_decimals=places)
        return figs, [t for sec in packs.team_sections(conn, area, rows) for t in sec.tables]

    return await db.execute_fn(work)


def _cache_control(datasette, request) -> str:
    """Public pages cache like Datasette's own data pages; pages for signed-in users are never shared."""
    if request.actor:
        return "private, no-store"
    return f"max-age={datasette.setting('default_cache_ttl')}"


@hookimpl
def register_routes():
    return [
        (r"^/la$", find),
        # ~: Datasette tilde-encodes names with spaces; /la/841.json is the page's data
        (r"^/la/(?P<code>[0-9A-Za-z~._-]+?)(?P<format>\.json)?$", profile),
    ]


def no_council_message(conn, text: str) -> str | None:
    """None when ``text`` names a council (as the canned queries' ``:la`` resolves it), else what to tell the user:
    "No council matches 'X' — did you mean A (code), B (code)?". Runs on a sqlite3 connection."""
    try:
        area = resolver.resolve(conn, text)
    except resolver.AreaNotFound as e:
        if "matches several areas" in str(e):   # the query takes the first by preference, as the site search does
            return None
        area = None
    if area is not None and area.get("level") == "Local authority":
        return None
    close = [a for a in resolver.suggestions(conn, text) if a.get("level") == "Local authority"]
    what = f" ({area['area_name']} is not a council)" if area is not None else ""
    if close:
        return (f"No council matches “{text}”{what} — did you mean "
                + ", ".join(f"{a['area_name']} ({a['area_code']})" for a in close) + "?")
    return (f"No council matches “{text}”{what} — give a DfE three-digit code (841), an ONS code (E06000005) "
            "or a council name (Darlington).")


def has_accounts(datasette) -> bool:
    """True when ``datasette-auth-passwords`` has an account to sign in to (``<user>_password_hash``), as on the
    private instance; the public site has none, so its "Log in" link would lead only to "no configured accounts"."""
    config = datasette.plugin_config("datasette-auth-passwords") or {}
    return any(key.endswith("_password_hash") for key in config)


def menu_links_without_login(datasette, request):
    """Datasette's ``menu_links()`` for the page's menu, less the "Log in" link (``/-/login``)."""
    # not at module level: datasette.plugins loads every plugin, this module included, when first imported
    from datasette.plugins import pm

    login = datasette.urls.path("/-/login")

    async def menu_links():
        links = []
        for hook in pm.hook.menu_links(datasette=datasette, actor=request.actor if request else None,
                                       request=request):
            links.extend(await await_me_maybe(hook) or [])
        return [link for link in links if link.get("href") != login]

    return menu_links


@hookimpl
def extra_template_vars(template, database, datasette, request):
    async def inner():
        out = {} if has_accounts(datasette) else {"menu_links": menu_links_without_login(datasette, request)}
        if template == "query.html" and request is not None and (request.args.get("la") or "").strip():
            try:
                db = datasette.get_database(database)
            except KeyError:
                return out
            text = request.args["la"].strip()
            out["csww_no_council"] = await db.execute_fn(lambda conn: no_council_message(conn, text))
        elif template == "index.html":
            try:
                db = datasette.get_database()
                out["csww_councils"] = await councils(db)
            except Exception:  # no site database (e.g. a bare instance): the picker simply has no list
                out["csww_councils"] = []
        return out

    return inner


@hookimpl
def startup(datasette):
    # a refused statement or bad parameter is answered at once, without a rich traceback of locals (site_compat)
    site_compat.quiet_expected_errors()


@hookimpl
def extra_css_urls(datasette):
    return [datasette.urls.path("/csww-static/csww.css")]


@hookimpl
def extra_js_urls(datasette):
    # names Datasette's filter fields and makes scrolling result tables keyboard regions (axe-core, WCAG 2.2 AA)
    return [{"url": datasette.urls.path("/csww-static/csww.js"), "module": False}]


# Hardening (bounded SQL, security headers, Basic-auth checks, cookie flags, login limit): benchmark/site_security.py
@hookimpl
def prepare_connection(conn, database, datasette):
    site_security.prepare_connection(conn, database, datasette)


@hookimpl
def asgi_wrapper(datasette):
    secure, cached = site_security.asgi_wrapper(datasette), site_cache.asgi_wrapper(datasette)
    # pages answered from memory get the security headers too; lang="en" on 0.65's pages (1.0's base.html has it)
    return lambda app: secure(cached(site_compat.html_lang(app)))
