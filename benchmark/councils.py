"""The one council resolver: from what a user typed to an ``areas`` row, through the ``area_lookup`` table.

``area_lookup`` (written at build time by :func:`write_lookup`) maps every key a user may type to an area:

* the DfE code ('841', '314 / 318', also written '314/318' and '314-318' as in page addresses);
* every ONS code DfE has published for the area (``area_codes``, ``areas.new_la_code``);
* its name as DfE spells it and the other spellings DfE's and ONS's files use: punctuation ignored
  ("St. Helens" = "St Helens", "&" = "and"), with and without "County" / ", County of" / ", City of" /
  "Borough" ("County Durham" = "Durham", "Herefordshire, County of" = "Herefordshire", "Bedford" =
  "Bedford Borough"), and "City of Bristol" for "Bristol, City of";
* the names councils call themselves by: "Darlington Borough Council", "Kent County Council", "Durham County
  Council", "City of York", "London Borough of Hackney", "Royal Borough of Greenwich";
* the short forms in common use: the first part of "Newcastle upon Tyne", "Stoke-on-Trent", "Blackburn with
  Darwen", "Brighton and Hove" when no other area's name or spelling claims it ("Kingston" is two councils, so it
  resolves to neither and both are suggested), and the few no rule gives (:data:`SHORT_FORMS`: "Hull").

Members of joint returns (314, 318) and predecessors (Northamptonshire, 928) are areas in their own
right: the row they resolve to says where their figures now are (``joint_return_code``,
``successor_codes``). ``preference`` orders several matches: 0 wins; current areas before former ones
(Dorset 838 before 835), an exact spelling before a variant.

The CLI (``csww compare``, ``csww report``, groups), the site's search and ``/la/...`` pages and every canned
query (``publish/queries/*.sql``) resolve through this table: Python through :func:`resolve`, SQL through
:func:`sql_key`, which normalises text exactly as :func:`key` does.
"""

from __future__ import annotations

import difflib
import re
import sqlite3

from .database import has_table
from .problems import NotFoundError

LOOKUP_SCHEMA = """
DROP TABLE IF EXISTS area_lookup;
CREATE TABLE area_lookup (
    lookup_key TEXT NOT NULL,         -- normalised as councils.key: lower case, no '.', ',' as a space, & as 'and'
    area_code TEXT NOT NULL REFERENCES areas(area_code),
    preference INTEGER NOT NULL,      -- 0 wins: 2 x (former area) + (a spelling variant)
    PRIMARY KEY (lookup_key, area_code)
);
"""

#: Endings and openings DfE's and ONS's spellings of one council differ by.
_SUFFIXES = (" county of", " city of", " borough council", " county council", " city council", " council",
             " borough")
_PREFIXES = ("county ",)
#: Short forms in common use that no rule derives from DfE's spelling (DfE name -> what people type).
SHORT_FORMS = {"Kingston upon Hull, City of": ("Hull", "City of Hull", "Hull City Council"),
               "Bournemouth, Christchurch and Poole": ("BCP", "BCP Council")}
#: Words after which the rest of a name may be left off ("Newcastle upon Tyne" -> "Newcastle").
_JOINS = (" upon ", "-on-", " with ", " and ")


def normalise_la_code(code: str) -> str:
    """DfE's 3-digit code as text: '301', '314 / 318' (tolerating '301.0' and odd spacing)."""
    parts = [p.strip() for p in str(code).split("/")]
    parts = [p[:-2] if p.endswith(".0") else p for p in parts]
    return " / ".join(parts)


class AreaNotFound(NotFoundError, LookupError):
    """No area (or more than one) matches what the user typed; the message carries suggestions."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def key(text: str) -> str:
    """What a lookup compares: lower case, '.' dropped, ',' as a space, '&' as 'and', single spaces.
    The same as :func:`sql_key` in SQLite (for ASCII text)."""
    s = str(text).lower().replace(".", "").replace("&", " and ").replace(",", " ")
    s = s.replace("  ", " ").replace("  ", " ")
    return " ".join(s.split())


def sql_key(param: str = ":la") -> str:
    """SQLite expression normalising ``param`` as :func:`key` does (canned queries and the site use it)."""
    return (f"trim(replace(replace(replace(replace(replace(replace(lower({param}), '.', ''), '&', ' and '), "
            f"',', ' '), '  ', ' '), '  ', ' '), '  ', ' '))")


def pick_sql(param: str = "coalesce(nullif(:la, ''), '841')") -> str:
    """SQL selecting the ``area_code`` of the council ``param`` names (any code or spelling, via ``area_lookup``;
    a joint-return member gives its joint return): the ``pick`` step of every canned query taking ``:la``."""
    return ("select coalesce(a.joint_return_code, a.area_code) as area_code\n"
            "  from area_lookup l join areas a on a.area_code = l.area_code\n"
            f"  where l.lookup_key = {sql_key(param)}\n"
            "    and a.level = 'Local authority'\n"
            "  order by l.preference, a.area_code limit 1")


def spellings(name: str) -> tuple[str, set[str]]:
    """The key of ``name`` and its variants (without and with the words DfE's and ONS's spellings differ by)."""
    exact = key(name)
    base = exact
    for p in _PREFIXES:
        if base.startswith(p):
            base = base[len(p):]
    for s in _SUFFIXES:
        if base.endswith(s):
            base = base[:-len(s)]
            break
    variants = {base, f"{base} borough", f"{base} council", f"county {base}", f"{base} county of",
                f"{base} city of",
                # as councils call themselves: "Darlington Borough Council", "Kent County Council", "York City
                # Council", "City of York", "London Borough of Hackney", "Royal Borough of Greenwich"
                *(f"{base} {w}" for w in ("borough council", "county council", "city council",
                                          "metropolitan borough council")),
                *(f"{w} {base}" for w in ("city of", "london borough of", "royal borough of", "borough of"))}
    for s in (" city of", " county of"):  # "Bristol, City of" is also typed "City of Bristol"
        if exact.endswith(s):
            variants.add(f"{s.strip()} {base}")
    return exact, variants - {exact}


def short_forms(name: str) -> set[str]:
    """The keys of the short forms ``name`` is known by ("Newcastle upon Tyne" -> "newcastle", "Kingston upon
    Hull, City of" -> "hull", "city of hull"); :func:`lookup_rows` keeps only those no other area claims."""
    out = {key(s) for s in SHORT_FORMS.get(name, ())}
    k = key(name)
    if " / " not in k:  # a joint return's name is its members' names
        for j in _JOINS:
            first = k.split(j)[0]
            if first != k and first.strip():
                out.add(first.strip())
    return out


def _code_keys(code: str) -> set[str]:
    k = key(normalise_la_code(code))
    return {k, k.replace(" / ", "/"), k.replace(" / ", "-")}


def lookup_rows(conn: sqlite3.Connection) -> list[tuple[str, str, int]]:
    """(lookup_key, area_code, preference) for every area of ``conn``, best preference per pair."""
    best: dict[tuple[str, str], int] = {}

    def add(k: str, code: str, pref: int) -> None:
        if k and pref < best.get((k, code), 99):
            best[(k, code)] = pref

    ons, short, status_of = {}, {}, {}
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'area_codes'").fetchone():
        for code, ons_code in conn.execute("SELECT area_code, ons_code FROM area_codes"):
            ons.setdefault(code, set()).add(ons_code)
    for code, name, new_la_code, status in conn.execute(
            "SELECT area_code, area_name, new_la_code, status FROM areas"):
        former = 2 * (status != "current")
        status_of[code] = status
        for k in _code_keys(code):
            add(k, code, former)
        for c in ons.get(code, set()) | {new_la_code or ""}:
            for k in _code_keys(c) if c else ():
                add(k, code, former)
        exact, variants = spellings(name or "")
        add(exact, code, former)
        for v in variants:
            add(v, code, former + 1)
        for v in short_forms(name or ""):
            short.setdefault(v, set()).add(code)
    taken = {k for k, _ in best}
    for k, codes in short.items():  # "kingston" is two councils: neither gets it
        if len(codes) == 1 and k not in taken:
            (code,) = codes
            add(k, code, 1 + 2 * (status_of[code] != "current"))
    return [(k, code, pref) for (k, code), pref in sorted(best.items())]


def write_lookup(conn: sqlite3.Connection) -> None:
    """(Re)write ``area_lookup`` from ``areas`` and ``area_codes``."""
    rows = lookup_rows(conn)
    conn.executescript(LOOKUP_SCHEMA)
    conn.executemany("INSERT INTO area_lookup VALUES (?, ?, ?)", rows)


def _areas(conn: sqlite3.Connection, where: str = "1", params=()) -> list[dict]:
    cur = conn.execute(f"SELECT * FROM areas WHERE {where}", params)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur]


def resolve(conn: sqlite3.Connection, text: str) -> dict:
    """The ``areas`` row (a dict) for a council, region or England given as a user typed it.

    Accepts a DfE 3-digit code ('841', '314 / 318', '314-318'), a 9-character ONS code, current or former
    ('E06000005', 'E10000023'), an area code of a region or England, or a name in any DfE or ONS spelling
    and any case ('st helens', 'Herefordshire', 'Bedford Borough'). A joint-return member (314) gives its
    own row, whose ``joint_return_code`` names the return its figures are published in.
    Raises AreaNotFound ("did you mean ...") when nothing matches or several areas match equally well.
    """
    keys = {key(text), key(normalise_la_code(" ".join(str(text).split())))}
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'area_lookup'").fetchone():
        marks = ",".join("?" * len(keys))
        hits = [(r[0], r[1]) for r in conn.execute(
            f"SELECT area_code, min(preference) FROM area_lookup WHERE lookup_key IN ({marks}) "
            "GROUP BY area_code ORDER BY 2, 1", tuple(keys))]
        names = {r[0]: r[1] for r in conn.execute(
            "SELECT l.lookup_key, l.area_code FROM area_lookup l WHERE l.preference % 2 = 0")}
    else:  # a database built before area_lookup: the same rows, computed here
        rows = lookup_rows(conn)
        found: dict[str, int] = {}
        for k, code, pref in rows:
            if k in keys:
                found[code] = min(pref, found.get(code, 99))
        hits = sorted(found.items(), key=lambda x: (x[1], x[0]))
        names = {k: code for k, code, pref in rows if pref % 2 == 0}
    if hits:
        best = [code for code, pref in hits if pref == hits[0][1]]
        areas = {a["area_code"]: a for a in _areas(conn, f"area_code IN ({','.join('?' * len(best))})", best)}
        if len(best) == 1:
            return areas[best[0]]
        raise AreaNotFound(f"{text!r} matches several areas: "
                           + ", ".join(f"{c} {areas[c]['area_name']}" for c in best) + "; give the code")
    raise AreaNotFound(f"no area matches {text!r}{_hint(conn, text, names)}")


def suggestions(conn: sqlite3.Connection, text: str, names: dict[str, str] | None = None, n: int = 5) -> list[dict]:
    """Up to ``n`` areas whose names are close to ``text``: first those with a word starting with it ("kingston":
    Kingston upon Hull, Kingston upon Thames), then by spelling distance, then those containing it."""
    if names is None:
        names = {k: code for k, code, pref in lookup_rows(conn) if pref % 2 == 0}
    k = key(text)
    words = [w for w in names if not w[:1].isdigit() and not w[:2] in ("e0", "e1", "e9")]
    starts = re.compile(r"(?:^|[\s/-])" + re.escape(k)) if k else None
    close = sorted((w for w in words if starts and starts.search(w)),
                   key=lambda w: (not w.startswith(k), -difflib.SequenceMatcher(None, k, w).ratio(), w))[:n]
    close += [w for w in difflib.get_close_matches(k, words, n=n, cutoff=0.6) if w not in close][:n - len(close)]
    close += [w for w in words if k and k in w and w not in close][:n - len(close)]
    codes = list(dict.fromkeys(names[w] for w in close))
    by_code = {a["area_code"]: a for a in _areas(conn)}
    return [by_code[c] for c in codes if c in by_code]


def _hint(conn: sqlite3.Connection, text: str, names: dict[str, str]) -> str:
    close = suggestions(conn, text, names)
    if close:
        return "; did you mean " + ", ".join(f"{a['area_name']} ({a['area_code']})" for a in close) + "?"
    return "; give a DfE 3-digit code, a 9-character ONS code or a council name"


def returned_alone(conn: sqlite3.Connection, code: str, year: int) -> bool:
    """True when DfE published a row of figures for ``code`` itself in ``year`` (``observations``)."""
    return has_table(conn, "observations") and conn.execute(
        "SELECT 1 FROM observations WHERE area_code = ? AND time_period = ? LIMIT 1", (code, int(year))).fetchone() \
        is not None


def published_code(conn: sqlite3.Connection, area: dict, year: int | None = None) -> str:
    """The code DfE publishes ``area``'s figures under in ``year`` (default: its latest): a joint-return member's
    joint return ("314" -> "314 / 318"), except in a year the member returned alone (Kingston upon Thames, 314, and
    Richmond upon Thames, 318, in 2015, before their joint return), when its own code."""
    joint = area.get("joint_return_code")
    if not joint or year is None or not returned_alone(conn, area["area_code"], year):
        return joint or area["area_code"]
    return area["area_code"]


def joint_words(conn: sqlite3.Connection, area: dict, year: int) -> str | None:
    """"North Northamptonshire and West Northamptonshire make one joint return to DfE (940 / 941): every figure
    here is the joint return's, for North Northamptonshire and West Northamptonshire together." for a joint return
    or one of its members (an ``areas`` row, or a dict with its ``area_code``) in a year it returned jointly
    (:func:`published_code`), else None. The packs, the site and ``csww compare`` say it in these words."""
    code = published_code(conn, area, year)
    if " / " not in code:
        return None
    codes = [c.strip() for c in code.split(" / ")]
    names = _names(conn, codes)
    both = " and ".join(names.get(c, c) for c in codes)
    return f"{both} make one joint return to DfE ({code}): every figure here is the joint return's, for {both} together."


def _names(conn: sqlite3.Connection, codes) -> dict[str, str]:
    codes = list(codes)
    if not codes:
        return {}
    return {r[0]: r[1] for r in conn.execute(
        f"SELECT area_code, area_name FROM areas WHERE area_code IN ({','.join('?' * len(codes))})", codes)}


def _listed(items, last: str = "and") -> str:
    """"a", "a and b", "a, b and c" (``last`` "or": "a, b or c")."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {last} {items[-1]}"


def _label(names: dict[str, str], code: str) -> str:
    return f"{names.get(code, code)} ({code})"


def _years(conn: sqlite3.Connection, code: str) -> tuple[int, int] | None:
    if not has_table(conn, "observations"):
        return None
    lo, hi = conn.execute("SELECT min(time_period), max(time_period) FROM observations WHERE area_code = ?",
                          (code,)).fetchone()
    return None if lo is None else (int(lo), int(hi))


def _span(years: tuple[int, int]) -> str:
    return str(years[0]) if years[0] == years[1] else f"{years[0]}-{years[1]}"


def year_pointer(conn: sqlite3.Connection, area: dict, year: int) -> str:
    """Where a council's figures for ``year`` are when DfE published none under the code asked for: the sentence
    (or "") a "no figures for X in YEAR" message ends with. Reads ``areas`` and ``area_changes`` (geography.yml's
    joint returns and reorganisations):

    - a joint return asked for a year its members returned alone: "Kingston upon Thames (314) and Richmond upon
      Thames (318) returned separately in 2015, before their joint return: ask for 314 or 318.";
    - a member asked for a year it neither returned alone nor jointly: the years of each;
    - a predecessor asked for a year after it was replaced: "Northamptonshire (928) was replaced from 2021 by North
      Northamptonshire / West Northamptonshire (940 / 941): ask for 940 / 941.";
    - a successor (or a joint return of successors) asked for a year before it existed: "West Northamptonshire
      replaced Northamptonshire (928) from 2021: ask for 928 for 2020 and earlier."
    """
    year = int(year)
    code, joint = area["area_code"], area.get("joint_return_code")
    own = [code] + ([joint] if joint else [])
    members = [r[0] for r in conn.execute("SELECT area_code FROM areas WHERE joint_return_code = ? ORDER BY area_code",
                                          (code,))] if area.get("is_joint_return") else []
    out = []
    alone = [m for m in members if returned_alone(conn, m, year)]
    if alone:
        names = _names(conn, alone)
        out.append(_listed(_label(names, m) for m in alone) + f" returned separately in {year}, before their "
                   "joint return: ask for " + _listed(alone, "or") + ".")
    if joint:
        mine, theirs = _years(conn, code), _years(conn, joint)
        names = _names(conn, [joint])
        if mine and not (mine[0] <= year <= mine[1]):
            out.append(f"{area['area_name']} returned alone in {_span(mine)}"
                       + (f"; its figures for {_span(theirs)} are in the joint return {_label(names, joint)}"
                          if theirs else "") + ".")
    if has_table(conn, "area_changes"):
        marks = ",".join("?" * len(own + members))
        later = conn.execute(
            f"SELECT predecessor_code, successor_code, first_year FROM area_changes WHERE kind != 'joint return' "
            f"AND predecessor_code IN ({marks}) AND first_year <= ? ORDER BY successor_code",
            (*own, *members, year)).fetchall()
        earlier = conn.execute(
            f"SELECT predecessor_code, successor_code, first_year FROM area_changes WHERE kind != 'joint return' "
            f"AND successor_code IN ({marks}) AND first_year > ? ORDER BY predecessor_code",
            (*own, *members, year)).fetchall()
        names = _names(conn, {c for r in later + earlier for c in r[:2]})
        for pred in dict.fromkeys(r[0] for r in later):
            rows = [r for r in later if r[0] == pred]
            succ = [r[1] for r in rows]
            out.append(f"{_label(names, pred)} was replaced from {rows[0][2]} by "
                       + _listed(_label(names, s) for s in succ) + ": ask for " + _listed(succ, "or") + ".")
        for first in sorted({r[2] for r in earlier}):
            preds = [r[0] for r in earlier if r[2] == first]
            out.append(f"{area['area_name']} replaced " + _listed(_label(names, p) for p in preds)
                       + f" from {first}: ask for " + _listed(preds, "or") + f" for {first - 1} and earlier.")
    return " ".join(out)
