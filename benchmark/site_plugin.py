"""Council pages for the csww-benchmark Datasette site.

* ``/la?q=NAME`` finds a council by name (or code) and redirects to its profile; several matches are listed.
* ``/la/<code>`` is the council profile: headline figures and, for each key measure, a chart of the council
  against its statistical-neighbour median, region and England over all years, with the same figures in a
  table beside the chart and links to the canned queries and CSV downloads. Joint returns use ``314-318``.
* The home page gets the council list for its picker.

A Datasette plugin registered through the ``datasette`` entry point in ``pyproject.toml``. It reads the site's
database (the first one served) and draws with the toolkit's own ``charts`` and ``formatting``, so a page shows
the figures a pack shows, rounded the same way; the charts are server-side SVG and need no JavaScript.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

import pandas as pd
from datasette import hookimpl
from datasette.utils import tilde_decode
from datasette.utils.asgi import NotFound, Response
from markupsafe import Markup

from . import charts, measures, site_security
from . import councils as resolver
from .formatting import fmt_number


def slug(code: str) -> str:
    return code.replace(" / ", "-")


def unslug(text: str) -> str:
    return text.replace("-", " / ")


async def _db_and_check(datasette, request):
    db = datasette.get_database()
    await datasette.ensure_permissions(request.actor, ["view-instance", ("view-database", db.name)])
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


async def find(request, datasette):
    db = await _db_and_check(datasette, request)
    q = (request.args.get("q") or "").strip()
    matches = []
    if q:
        exact = await lookup(db, q)
        if exact is not None:
            return Response.redirect(datasette.urls.path(f"/la/{quote(slug(exact['area_code']))}"))
        matches = await councils(
            db, "area_name like '%' || :q || '%' or rowid in (select rowid from areas_fts where areas_fts match :fts)",
            {"q": q, "fts": " ".join(f'"{w}"*' for w in q.replace('"', " ").split()) or '""'})
        matches = matches[:50]
        if len(matches) == 1:
            return Response.redirect(datasette.urls.path(f"/la/{quote(matches[0]['slug'])}"))
    return Response.html(await datasette.render_template(
        "csww_find.html", {"q": q, "matches": matches, "councils": await councils(db),
                           "database": db.name, "metadata": datasette.metadata()}, request=request))


async def profile(request, datasette):
    db = await _db_and_check(datasette, request)
    code = unslug(request.url_vars["code"])
    area = (await db.execute("select * from areas where area_code = ? and level = 'Local authority'", [code])).first()
    if area is None or area["joint_return_code"]:
        # an ONS code, a name or a joint-return member in the URL: send to the page its figures are on
        typed = tilde_decode(request.url_vars["code"])   # Datasette sends /la/St%20Helens on as /la/St~20Helens
        other = area or await lookup(db, typed) or await lookup(db, unslug(typed))
        if other is None:
            raise NotFound(f"No council with code {code}")
        target = other["joint_return_code"] or other["area_code"]
        query = f"?{urlencode({'from': other['area_code']})}" if other["joint_return_code"] else ""
        return Response.redirect(datasette.urls.path(f"/la/{quote(slug(target))}{query}"))
    came_from = None
    if request.args.get("from"):
        member = (await db.execute("select area_code, area_name from areas where area_code = ? and "
                                   "joint_return_code = ?", [request.args["from"], code])).first()
        if member is not None:
            came_from = (f"{member['area_name']} ({member['area_code']}) has no figures of its own: DfE publishes "
                         f"them within this joint return, {area['area_name']} ({code}).")
    rows = await db.execute(
        "select * from comparisons where area_code = ? and provisional = 0 and measure_id in "
        "(select measure_id from measures where key_measure = 1) order by time_period", [code])
    by_measure: dict[str, list[dict]] = {}
    for r in rows:
        by_measure.setdefault(r["measure_id"], []).append(dict(r))
    years = sorted({r["time_period"] for rs in by_measure.values() for r in rs})
    latest = years[-1] if years else None
    dbp = datasette.urls.database(db.name)
    sections, headlines = [], []
    for m in measures.key_measures():
        series = by_measure.get(m.id, [])
        dec = m.decimals
        unit = "%" if m.unit == "percent" else m.unit
        region_label = next((r["region_name"] for r in reversed(series) if r.get("region_name")), None) or "Region"
        table = [{"year": r["time_period"], "value": fmt_number(r["value"], dec), "symbol": r["symbol"] or "",
                  "sn_median": fmt_number(r.get("sn_median"), dec), "region": fmt_number(r.get("region"), dec),
                  "england": fmt_number(r.get("england"), dec)} for r in series]
        svg, summary = charts.trend(f"chart-{m.id}", m, area["area_name"], pd.DataFrame(series), [
            ("value", area["area_name"]), ("sn_median", "Neighbour median"), ("region", region_label),
            ("england", "England")]) if series else ("", f"{m.label}: no published values for {area['area_name']}.")
        params = {"la": code, "measure": m.id}
        links = {
            "trend": f"{dbp}/trend?{urlencode(params)}",
            "trend_csv": f"{dbp}/trend.csv?{urlencode(params)}",
            "neighbours": f"{dbp}/council_vs_neighbours?{urlencode(params)}",
            "neighbours_csv": f"{dbp}/council_vs_neighbours.csv?{urlencode(params)}",
            "league": f"{dbp}/league_table?{urlencode({'measure': m.id, 'year': latest or ''})}",
        }
        last = series[-1] if series else None
        if last is not None:
            headlines.append({
                "label": m.label, "unit": unit, "year": last["time_period"],
                "value": fmt_number(last["value"], dec), "symbol": last["symbol"] or "",
                "england": fmt_number(last.get("england"), dec), "sn_median": fmt_number(last.get("sn_median"), dec),
                "rank": last.get("rank"), "rank_of": last.get("rank_of"), "quartile": last.get("quartile"),
                "polarity": m.polarity, "anchor": m.id})
        sections.append({"id": m.id, "label": m.label, "unit": unit, "definition": m.definition,
                         "polarity": m.polarity, "table": table, "svg": Markup(svg), "summary": summary,
                         "region_label": region_label, "links": links, "totals": m.unit in ("FTE", "headcount")})
    local = []
    for r in await db.execute(
            "select c.time_period, c.comparator_year, m.label, m.unit, m.decimals, c.value, c.symbol, c.sn_median, "
            "c.england, c.quartile, c.series_note from comparisons c join measures m using (measure_id) "
            "where c.area_code = ? and c.provisional = 1 order by c.time_period desc, m.key_measure desc, m.rowid",
            [code]):
        dec = r["decimals"]
        local.append({"year": r["time_period"], "comparator_year": r["comparator_year"], "label": r["label"],
                      "unit": "%" if r["unit"] == "percent" else r["unit"], "value": fmt_number(r["value"], dec),
                      "symbol": r["symbol"] or "", "sn_median": fmt_number(r["sn_median"], dec),
                      "england": fmt_number(r["england"], dec), "quartile": r["quartile"], "note": r["series_note"]})
    context = {
        "area": dict(area), "came_from": came_from, "local": local, "slug": slug(code), "sections": sections, "headlines": headlines, "latest": latest,
        "database": db.name, "metadata": datasette.metadata(),
        "profile_query": f"{dbp}/council_profile?{urlencode({'la': code, 'year': latest or ''})}",
        "profile_csv": f"{dbp}/council_profile.csv?{urlencode({'la': code, 'year': latest or ''})}",
        "local_query": f"{dbp}/local_vs_published?{urlencode({'la': code})}",
        "comparisons_csv": f"{dbp}/comparisons.csv?{urlencode({'area_code': code, '_size': 'max'})}",
    }
    response = Response.html(await datasette.render_template("csww_council.html", context, request=request))
    response.headers["Cache-Control"] = _cache_control(datasette, request)
    return response


def _cache_control(datasette, request) -> str:
    """Public pages cache like Datasette's own data pages; pages for signed-in users are never shared."""
    if request.actor:
        return "private, no-store"
    return f"max-age={datasette.setting('default_cache_ttl')}"


@hookimpl
def register_routes():
    return [
        (r"^/la$", find),
        (r"^/la/(?P<code>[0-9A-Za-z~._-]+)$", profile),     # ~: Datasette tilde-encodes names with spaces
    ]


@hookimpl
def extra_template_vars(template, datasette, request):
    if template != "index.html":
        return {}

    async def inner():
        try:
            db = datasette.get_database()
            return {"csww_councils": await councils(db)}
        except Exception:  # no site database (e.g. a bare instance): the picker simply has no list
            return {"csww_councils": []}

    return inner


@hookimpl
def extra_css_urls(datasette):
    return [datasette.urls.path("/csww-static/csww.css")]


# Hardening (bounded SQL, security headers, Basic-auth checks, cookie flags, login limit): benchmark/site_security.py
@hookimpl
def prepare_connection(conn, database, datasette):
    site_security.prepare_connection(conn, database, datasette)


@hookimpl
def asgi_wrapper(datasette):
    return site_security.asgi_wrapper(datasette)
