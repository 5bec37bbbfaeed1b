"""The council page and the canned query pages (issue 12 items 2 and 5), over HTTP against a real Datasette:
the hand-made fixture build always, the real DfE build when ../shared is present."""

from __future__ import annotations

import asyncio
import re
import shutil
import sqlite3

import pytest
from datasette_auth_passwords.utils import hash_password
from test_site import add_local_returns

from benchmark import measures, site, site_plugin

COUNTS = ("vacancy_fte", "working_days_lost_fte")


class Client:
    """Datasette's in-process HTTPX client, driven from synchronous tests on one event loop."""

    def __init__(self, ds):
        self.ds = ds
        self.loop = asyncio.new_event_loop()

    def get(self, path, **kw):
        return self.loop.run_until_complete(self.ds.client.get(path, **kw))

    def close(self):
        self.loop.close()


def _client(db, tmp_path_factory, name):
    out = tmp_path_factory.mktemp(name)
    shutil.copy(db, out / "csww.db")
    c = Client(site.datasette(site.prepare(out / "csww.db")))
    return c


@pytest.fixture(scope="module")
def fx(mini_db, tmp_path_factory):
    c = _client(mini_db, tmp_path_factory, "pages_fx")
    yield c
    c.close()


@pytest.fixture(scope="module")
def real(real_db, tmp_path_factory):
    c = _client(real_db, tmp_path_factory, "pages_real")
    yield c
    c.close()


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def table_row(html: str, section: str, year: int) -> list[str]:
    """The cells of ``year``'s row in the table of measure ``section`` on a council page."""
    part = html[html.index(f'id="{section}"'):]
    part = part[:part.index("</table>")]
    row = re.search(rf'<th scope="row">{year}</th>(.*?)</tr>', part, re.S)
    assert row, (section, year)
    return [text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)]


# ------------------------------------------------------------------ counts get no quartile band

def test_the_catalogue_says_which_measures_are_counts():
    assert measures.get("vacancy_fte").is_count and measures.get("working_days_lost_fte").is_count
    assert not measures.get("vacancy_fte").banded
    assert measures.get("vacancy_rate_fte").banded and not measures.get("vacancy_rate_fte").is_count
    assert not measures.get("caseload_fte").is_count and not measures.get("days_lost_per_fte").is_count


def test_counts_have_no_quartile_but_keep_their_rank(mini_db):
    with sqlite3.connect(mini_db) as conn:
        for m in COUNTS:
            n, ranked, banded = conn.execute("select count(*), count(rank), count(quartile) from comparisons "
                                             "where measure_id = ?", [m]).fetchone()
            assert n > 0 and ranked > 0 and banded == 0, m
        # Darlington's vacancy rate (9.1 %, lowest in the fixture) is still banded A
        assert conn.execute("select quartile from comparisons where area_code = '841' and time_period = 2024 and "
                            "measure_id = 'vacancy_rate_fte' and provisional = 0").fetchone() == ("A",)


def test_counts_have_no_quartile_on_the_real_build(real_db):
    with sqlite3.connect(real_db) as conn:
        got = conn.execute("select count(*), count(rank), count(quartile) from comparisons "
                           "where measure_id in ('vacancy_fte', 'working_days_lost_fte')").fetchone()
        assert got[0] > 3000 and got[1] > 3000 and got[2] == 0
        assert conn.execute("select count(quartile) from comparisons where measure_id = 'vacancy_rate_fte'"
                            ).fetchone()[0] > 1500


# ------------------------------------------------------------------ the council page

def test_year_selects_the_year(fx):
    latest = fx.get("/la/841").text
    assert "Headline figures, year to 30 September 2024" in latest
    page = fx.get("/la/841?year=2022")
    assert page.status_code == 200
    html = page.text
    assert "Headline figures, year to 30 September 2022" in html
    head = html[html.index('id="headlines"'):html.index("</table>", html.index('id="headlines"'))]
    turnover = re.search(r'href="#turnover_rate_fte">.*?</tr>', head, re.S).group(0)
    assert [text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", turnover, re.S)][:3] == ["2022", "15.0%", "20.0%"]
    assert '<tr class="csww-selected"><th scope="row">2022</th>' in html
    assert "/csww/council_profile?la=841&amp;year=2022" in html
    assert '<strong aria-current="page">2022</strong>' in html and 'href="/la/841?year=2024"' in html
    assert fx.get("/la/841?year=2019").status_code == 404
    bad = fx.get("/la/841?year=last")
    assert bad.status_code == 400 and "year must be a reporting year" in bad.text


def test_page_data_as_json(fx):
    r = fx.get("/la/841.json")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    data = r.json()
    assert data["area"]["area_name"] == "Darlington" and data["year"] == 2024 and data["years"] == [2022, 2023, 2024]
    turnover = next(m for m in data["measures"] if m["measure_id"] == "turnover_rate_fte")
    assert [(y["time_period"], y["value"], y["quartile"]) for y in turnover["years"]] == [
        (2022, 15.0, "A"), (2023, 17.5, "B"), (2024, 20.0, "B")]
    assert data["neighbour_model"] == "sn_2021" and data["neighbour_model_name"] == "DfE's April 2021 statistical neighbours"
    assert fx.get("/la/841.json?year=2022").json()["year"] == 2022
    assert fx.get("/la/999.json").status_code == 404
    assert fx.get("/la/E06000005.json").headers["location"] == "/la/841.json"
    assert 'href="/la/841.json"' in fx.get("/la/841").text


def test_captions_name_a_measure_once(fx):
    html = fx.get("/la/841").text
    captions = re.findall(r"<(?:fig)?caption[^>]*>(.*?)</(?:fig)?caption>", html, re.S)
    assert len(captions) == 13                         # the headline table, six charts and six tables
    for c in captions:
        assert not re.search(r"\((\w+)\) \(\1\)", c) and ") (" not in c, c
    assert "<caption>Social workers in post (FTE) by year to 30 September</caption>" in html
    assert "<caption>Turnover rate (FTE), % by year to 30 September</caption>" in html


def test_predecessors_link_to_successors_and_back(fx):
    cumbria = fx.get("/la/909").text
    assert 'href="/la/942">Cumberland (942)</a>' in cumbria and 'href="/la/943">Westmorland and Furness (943)</a>' in cumbria
    assert "Replaced from 2023 by" in cumbria
    cumberland = fx.get("/la/942").text
    assert 'From 2023 this council replaced <a href="/la/909">Cumbria (909)</a>' in cumberland
    joint = fx.get("/la/940-941").text
    assert "One joint return, from 2021, for North Northamptonshire (940) and West Northamptonshire (941)." in joint


def test_neighbours_named_and_the_model_change_marked(real):
    """Darlington: DfE's May 2025 neighbours named; the neighbour median of FTE in post jumps 172.1 -> 207.5 where
    DfE switched models, and the page says so under the chart and in the table."""
    html = real.get("/la/841").text
    assert "Statistical neighbours in 2025: DfE&#39;s May 2025 statistical neighbours" in html
    names = re.findall(r'<ol class="csww-neighbours">(.*?)</ol>', html, re.S)[0]
    assert text(names).startswith("Gateshead (very close) Stockton-on-Tees (very close)") and names.count("<li>") == 10
    assert table_row(html, "inpost_fte", 2024)[:2] == ["92.5", "172.1"]
    assert table_row(html, "inpost_fte", 2025)[:2] == ["95.6", "207.5"]
    assert '<td class="num csww-new-model" aria-describedby="model-inpost_fte-2025">207.5</td>' in html
    assert 'id="note-inpost_fte-2025"' in html and 'id="model-inpost_fte-2025"' in html
    note = text(re.search(r'id="note-inpost_fte-2025">(.*?)</span>', html, re.S).group(1))
    assert "From 2025 the neighbour median is over DfE's May 2025 statistical neighbours" in note.replace("&#39;", "'")
    assert "up to 2024 it is over DfE's April 2021 statistical neighbours" in note.replace("&#39;", "'")
    older = real.get("/la/841?year=2024").text
    assert "Statistical neighbours in 2024: DfE&#39;s April 2021 statistical neighbours" in older
    data = real.get("/la/841.json").json()
    inpost = next(m for m in data["measures"] if m["measure_id"] == "inpost_fte")
    assert [c["year"] for c in inpost["model_changes"]] == [2025]
    assert [y["sn_model"] for y in inpost["years"] if y["time_period"] in (2024, 2025)] == ["sn_2021", "sn_2025"]
    assert [n["code"] for n in data["neighbours"]][:3] == ["390", "808", "332"]


def test_the_page_shows_dfe_s_2015_whole_numbers_in_table_chart_and_alt_text(real):
    """The review: the council page's chart text gave 2015's SFR rates to one decimal ("19.0% in 2015"); DfE
    published 19 (SFR07/2016). The table, the tooltips, the text alternative and the headline for ?year=2015 show
    each year's figure as DfE published it; 2024 keeps its one decimal (11.5), as does England's 2015 FTE count
    rounded to tens (26,500)."""
    html = real.get("/la/841").text
    assert table_row(html, "turnover_rate_fte", 2015)[:4] == ["19", "13.0", "13", "16"]
    assert table_row(html, "turnover_rate_fte", 2024)[0] == "11.5"
    desc = re.search(r'<desc id="chart-turnover_rate_fte-d">([^<]*)</desc>', html).group(1)
    assert "Darlington: 19% in 2015, 15.4% in 2025. Highest 33.7% in 2016." in desc
    assert "<title>Darlington, 2015: 19%</title>" in html and "<title>Darlington, 2024: 11.5%</title>" in html
    assert "<title>North East, 2015: 13%</title>" in html and "19.0%" not in html
    head = text(real.get("/la/841?year=2015").text)
    assert "Turnover rate (FTE) 2015 19% 13.0% 16%" in head and "Social workers in post (FTE) 2015 71.8 135.2 26,500" in head


def test_counts_show_no_quartile_on_the_page(real):
    data = real.get("/la/841.json").json()
    inpost = next(m for m in data["measures"] if m["measure_id"] == "inpost_fte")
    assert inpost["quartile_bands"] is False and {y["quartile"] for y in inpost["years"]} == {None}
    turnover = next(m for m in data["measures"] if m["measure_id"] == "turnover_rate_fte")
    assert turnover["years"][-1]["quartile"] == "D" and turnover["years"][-1]["value"] == 15.4


# ------------------------------------------------------------------ canned queries

def test_canned_query_names_the_council_it_cannot_find(fx):
    r = fx.get("/csww/trend", params={"la": "Darlingtn", "measure": "turnover_rate_fte"})
    assert r.status_code == 200
    msg = re.search(r'<p class="message-warning" id="no-council"[^>]*>(.*?)</p>', r.text, re.S)
    assert msg and "No council matches “Darlingtn” — did you mean Darlington (841)" in msg.group(1)
    region = fx.get("/csww/council_profile", params={"la": "North East"}).text
    assert "No council matches “North East” (North East is not a council)" in region
    none = fx.get("/csww/trend", params={"la": "zzqqxx"}).text
    assert "No council matches “zzqqxx” — give a DfE three-digit code" in none
    for ok in ("841", "darlington", "E06000005", "940"):
        page = fx.get("/csww/trend", params={"la": ok}).text
        assert 'id="no-council"' not in page and "zero-results" not in page, ok


def test_query_pages_show_results_first_with_the_sql_folded(fx):
    html = fx.get("/csww/trend", params={"la": "841"}).text
    assert 'id="sql-query"' not in html and "_show_sql=1" in html
    assert 'class="rows-and-columns"' in html
    parameters = "Query parameters" if "Query parameters" in html else 'id="sql-parameters-section"'   # 0.65 / 1.0
    assert html.index(parameters) < html.index('class="rows-and-columns"')
    shown = fx.get("/csww/trend", params={"la": "841", "_show_sql": "1"}).text
    assert 'id="sql-query"' in shown and "area_lookup" in shown


def test_real_council_names_give_no_message(real):
    for name in ("St Helens", "Durham", "Herefordshire", "Bedford Borough", "318", "E06000061"):
        page = real.get("/csww/trend", params={"la": name}).text
        assert 'id="no-council"' not in page and 'class="rows-and-columns"' in page, name


# ------------------------------------------------------------------ review 8: free text, refusals, titles, figures
LONG = "a" * 1000


def test_a_long_search_text_gets_a_message_not_a_500(fx):
    """`/la?q=` with 1000 characters gave HTTP 500 "LIKE or GLOB pattern too complex" (review 8, finding 3)."""
    r = fx.get("/la", params={"q": LONG})
    assert r.status_code == 400
    msg = re.search(r'<p class="message-error" id="search-problem"[^>]*>(.*?)</p>', r.text, re.S)
    assert msg and msg.group(1).startswith("The search text is 1,000 characters long; give a council name or code "
                                           "of at most 100 characters")
    assert LONG not in r.text and 'value="' + "a" * 100 + '"' in r.text   # the box keeps the first 100
    near = fx.get("/la", params={"q": "a" * 100})                            # at the limit: searched, no match
    assert near.status_code == 200 and "No council matches “" + "a" * 100 + "”" in near.text
    assert fx.get("/la", params={"q": '" NEAR( *'}).status_code == 200       # full-text syntax is only text
    assert fx.get("/la/841", params={"year": LONG}).status_code == 400
    assert fx.get("/la/" + LONG).status_code == 404
    for query, param in (("trend", "la"), ("trend", "measure"), ("league_table", "year"),
                         ("council_profile", "year"), ("region_councils", "region")):
        page = fx.get(f"/csww/{query}", params={param: LONG})
        assert page.status_code == 200, (query, param)
    assert "No council matches “" + LONG + "”" in fx.get("/csww/trend", params={"la": LONG}).text


def test_refused_statements_are_answered_without_a_traceback(fx, capsys):
    """A statement Datasette refuses for its type took ~1 s: its default error handler printed a rich traceback
    with every frame's locals (the whole metadata) before answering (review 8, finding 8). The page is the same."""
    capsys.readouterr()
    for sql in ("selec 1", "drop table comparisons", "pragma table_info(areas)"):
        # follow_redirects: Datasette 1.0 answers /csww?sql= with a redirect to /csww/-/query?sql=
        r = fx.get("/csww", params={"sql": sql}, follow_redirects=True)
        assert r.status_code == 400 and "Statement must be a SELECT" in r.text, sql
    r = fx.get("/csww.json", params={"sql": "drop table comparisons"}, follow_redirects=True)
    assert r.status_code == 400 and r.json()["error"] == "Statement must be a SELECT"
    printed = capsys.readouterr()
    assert "Traceback" not in printed.out + printed.err and "locals" not in printed.out + printed.err


def test_canned_query_pages_are_titled_by_their_title_not_their_sql(fx):
    titles = {name: re.search(r"<title>(.*?)</title>", fx.get(f"/csww/{name}").text, re.S).group(1)
              for name in ("trend", "council_profile", "council_vs_neighbours", "region_councils")}
    assert titles == {"trend": "Trend — csww", "council_profile": "Council profile — csww",
                      "council_vs_neighbours": "Council against its statistical neighbours — csww",
                      "region_councils": "A region&#39;s councils — csww"}
    sql = fx.get("/csww", params={"sql": "select 1 -- a comment"}, follow_redirects=True).text
    assert "<title>SQL query — csww</title>" in sql


def test_public_site_has_no_log_in_link(fx, mini_db, tmp_path, monkeypatch):
    """The public site has no accounts: its "Log in" led only to "no configured accounts" (review 8, finding 9)."""
    for path in ("/", "/la/841", "/csww/trend", "/csww/comparisons"):
        assert 'href="/-/login"' not in fx.get(path).text, path
    assert not site_plugin.has_accounts(fx.ds)
    shutil.copy(mini_db, tmp_path / "csww.db")
    add_local_returns(tmp_path / "csww.db")                                # an unpublished return: a private.db
    monkeypatch.setenv(site.PRIVATE_HASH_ENV, hash_password("pw", iterations=1000))
    private = Client(site.datasette(site.prepare(tmp_path / "csww.db"), private=True))
    try:
        assert site_plugin.has_accounts(private.ds)
        assert ">Log in</a>" in private.get("/-/login").text            # the private instance keeps its link
    finally:
        private.close()


def test_profile_csv_links_download_as_csv_files(fx):
    html = fx.get("/la/841").text
    links = sorted(set(re.findall(r'href="([^"]*\.csv\?[^"]*)"', html)))
    assert len(links) >= 4 and all("_dl=1" in link for link in links)
    for link in links[:3]:
        r = fx.get(link.replace("&amp;", "&"))
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv"), link
        assert r.headers["content-disposition"].startswith("attachment; filename=") and ".csv" in r.headers[
            "content-disposition"]


def headline(html: str, label: str) -> list[str]:
    part = html[html.index('id="headlines"'):]
    part = part[:part.index("</table>")]
    row = re.search(rf'<tr>\s*<th scope="row"><a [^>]*>{re.escape(label)}</a></th>(.*?)</tr>', part, re.S)
    assert row, label
    return [text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)]


def test_headline_rates_have_percent_and_sfr_whole_numbers_no_decimals(real):
    """Rates carry "%" in the headline table; the 2015 SFR figures DfE published as whole numbers show as the packs
    show them (``formatting.dfe_decimals``): 19% and 16%, 26,500, never 19.0 or 26,500.0 (review 8, finding 9)."""
    latest = real.get("/la/841").text
    assert headline(latest, "Turnover rate (FTE)") == ["2025", "15.4%", "13.1%", "11.8%", "112 of 148", "D"]
    assert headline(latest, "Social workers in post (FTE)")[1:4] == ["95.6", "207.5", "36,186.3"]
    y2015 = real.get("/la/841", params={"year": "2015"}).text
    assert headline(y2015, "Turnover rate (FTE)")[:4] == ["2015", "19%", "13.0%", "16%"]
    assert headline(y2015, "Social workers in post (FTE)")[:4] == ["2015", "71.8", "135.2", "26,500"]
    # the trend tables (unit in their caption): council, neighbour median, region, England
    assert table_row(latest, "turnover_rate_fte", 2015) == ["19", "13.0", "13", "16"]
    assert table_row(latest, "turnover_rate_fte", 2016) == ["33.7", "15.1", "15.7", "15.1"]
    assert table_row(latest, "inpost_fte", 2015) == ["71.8", "135.2", "1,680", "26,500"]
    assert table_row(latest, "inpost_fte", 2025) == ["95.6", "207.5", "2,299.3", "36,186.3"]
