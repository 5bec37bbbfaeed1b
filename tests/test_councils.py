"""The one council resolver (benchmark/councils.py): area_lookup, its SQL twin and every place that uses it."""

from __future__ import annotations

import sqlite3

import pytest

from benchmark import councils, site, site_plugin

TYPED = ["St. Helens", "st helens", "  ST  HELENS ", "Bournemouth, Christchurch & Poole", "Herefordshire, County of",
         "County Durham", "E06000005", "940/941", "314-318", "Kingston upon Hull, City of", "x.y,z&w"]


def test_sql_key_normalises_exactly_as_key():
    conn = sqlite3.connect(":memory:")
    for text in TYPED:
        assert conn.execute(f"select {councils.sql_key(':t')}", {"t": text}).fetchone()[0] == councils.key(text)
    assert councils.key("Bournemouth, Christchurch & Poole") == "bournemouth christchurch and poole"
    assert councils.key("St. Helens") == councils.key("St Helens") == "st helens"


def test_spellings_cover_dfe_and_ons_variants():
    assert "durham" in councils.spellings("County Durham")[1]
    assert "herefordshire" in councils.spellings("Herefordshire, County of")[1]
    assert "bedford borough" in councils.spellings("Bedford")[1]
    assert councils.spellings("St. Helens")[0] == "st helens"


def test_site_search_and_every_canned_query_use_the_resolver_key():
    assert councils.sql_key(":q") in site_plugin.LOOKUP_SQL
    with_la = {name: q for name, q in site.query_files().items() if "la" in q["params"]}
    assert set(with_la) == {"council_profile", "council_vs_neighbours", "trend", "local_vs_published"}
    for name, q in with_la.items():
        assert councils.sql_key("coalesce(nullif(:la, ''), '841')") in q["sql"], name
        assert "from area_lookup l join areas a" in q["sql"], name


def test_resolver_on_the_hand_made_fixture(mini_db):
    with sqlite3.connect(mini_db) as conn:
        assert councils.resolve(conn, "Darlington Borough")["area_code"] == "841"     # a variant spelling
        assert councils.resolve(conn, "darlington.")["area_code"] == "841"
        assert councils.resolve(conn, "940-941")["area_code"] == "940 / 941"          # as in /la/940-941
        with pytest.raises(councils.AreaNotFound, match=r"no area matches 'Darlingtn'; did you mean Darlington \(841\)"):
            councils.resolve(conn, "Darlingtn")
        # every lookup row points at an area; the lookup keys are normalised
        assert conn.execute("select count(*) from area_lookup where area_code not in "
                            "(select area_code from areas)").fetchone() == (0,)
        keys = [r[0] for r in conn.execute("select lookup_key from area_lookup")]
        assert keys and all(k == councils.key(k) for k in keys)


def test_area_not_found_is_an_expected_error():
    from benchmark.problems import CswwError

    assert issubclass(councils.AreaNotFound, CswwError) and issubclass(councils.AreaNotFound, LookupError)


def test_resolver_without_area_lookup_computes_the_same_rows(mini_db, tmp_path):
    db = tmp_path / "old.db"
    with sqlite3.connect(mini_db) as src, sqlite3.connect(db) as dst:
        src.backup(dst)
        dst.execute("drop table area_lookup")
        assert councils.resolve(dst, "Darlington Borough")["area_code"] == "841"


def test_short_forms_and_word_start_suggestions_on_the_real_areas(real_db):
    """The new-user review: '--la Hull' and '--la "City of Bristol"' were not found, and 'kingston' suggested
    Islington before either Kingston."""
    with sqlite3.connect(real_db) as conn:
        names = dict(conn.execute("select area_code, area_name from areas"))
        assert names["810"] == "Kingston upon Hull, City of" and names["801"] == "Bristol, City of"
        assert councils.resolve(conn, "Hull")["area_code"] == "810"
        assert councils.resolve(conn, "City of Bristol")["area_code"] == "801"
        assert councils.resolve(conn, "bristol")["area_code"] == "801"
        assert councils.resolve(conn, "Newcastle")["area_code"] == "391"            # Newcastle upon Tyne
        assert councils.resolve(conn, "stoke")["area_code"] == "861"                # Stoke-on-Trent
        assert councils.resolve(conn, "Solihull")["area_code"] == "334"             # not taken by 'hull'
        with pytest.raises(councils.AreaNotFound) as caught:                        # two Kingstons: neither
            councils.resolve(conn, "kingston")
        assert str(caught.value).startswith(
            "no area matches 'kingston'; did you mean Kingston upon Thames (314), Kingston upon Hull, City of (810), "
            "Kingston upon Thames / Richmond upon Thames (314 / 318), Islington (206)")
        # the site's canned queries resolve through the same table
        assert conn.execute(councils.pick_sql("'Hull'")).fetchone() == ("810",)


def test_the_names_councils_call_themselves_by_resolve(real_db):
    """The second new-user review: 'City of York', 'Darlington Borough Council', 'Kent County Council', 'London
    Borough of Hackney', 'Hull City Council', 'Durham County Council' and 'BCP' found nothing."""
    typed = {"City of York": "816", "Darlington Borough Council": "841", "Kent County Council": "886",
             "London Borough of Hackney": "204", "Royal Borough of Greenwich": "203", "Hull City Council": "810",
             "Durham County Council": "840", "BCP": "839", "York City Council": "816", "City of London": "201"}
    with sqlite3.connect(real_db) as conn:
        assert {t: councils.resolve(conn, t)["area_code"] for t in typed} == typed
        assert conn.execute(councils.pick_sql("'London Borough of Hackney'")).fetchone() == ("204",)


def test_short_forms_on_the_hand_made_fixture(mini_db):
    with sqlite3.connect(mini_db) as conn:
        assert councils.resolve(conn, "Stockton")["area_code"] == "808"             # Stockton-on-Tees
        assert councils.resolve(conn, "redcar")["area_code"] == "807"               # Redcar and Cleveland
    assert councils.short_forms("Kingston upon Hull, City of") >= {"hull", "city of hull", "kingston"}
    assert "city of bristol" in councils.spellings("Bristol, City of")[1]
