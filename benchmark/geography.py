"""Areas: England, regions and local authorities; joint returns, reorganisations and code history.

Areas are keyed by a code that stays stable across DfE releases (see ``catalogue/geography.yml``):
E92000001 for England, the E12/E13 code for a region, the DfE 3-digit number for a local authority
("314 / 318" for a joint return). ONS 9-character codes are attributes with their own history.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import pandas as pd
import yaml

from .councils import normalise_la_code  # noqa: F401  (readers and neighbours call geography.normalise_la_code)

ENGLAND = "E92000001"


@lru_cache(maxsize=1)
def config() -> dict:
    text = resources.files("benchmark").joinpath("catalogue/geography.yml").read_text(encoding="utf-8")
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml's safe loader when built


def regions() -> dict[str, str]:
    return dict(config()["regions"])


def parent_region(region_code: str | None) -> str | None:
    """The E12 region an area's region belongs to: London for Inner and Outer London."""
    if not region_code:
        return None
    return config()["region_parents"].get(region_code, region_code)


@lru_cache(maxsize=None)
def _joint_members() -> dict[str, tuple[str, int]]:
    return {m["code"]: (j["code"], j["from_year"]) for j in config()["joint_returns"] for m in j["members"]}


def joint_return_of(la_code: str, time_period: int) -> str | None:
    """The joint return that covers ``la_code`` in ``time_period``, if any."""
    hit = _joint_members().get(la_code)
    if hit and time_period >= hit[1]:
        return hit[0]
    return None


def joint_return_members() -> frozenset[str]:
    """Every council code that is a member of a joint return in some year (e.g. ``"314"``, ``"941"``)."""
    return frozenset(_joint_members())


def build_areas(sightings: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Turn the areas seen in the data into the ``areas``, ``area_codes`` and ``area_changes`` tables.

    ``sightings`` has one row per area, year and release it appears in, newest release last. Names,
    ONS codes and regions come from the newest sighting; joint-return members and reorganisations
    come from ``geography.yml``.
    """
    cfg = config()
    s = sightings.sort_values(["data_year", "time_period"], kind="stable")
    latest = s.groupby("area_code", sort=False).tail(1)
    years = s.groupby("area_code")["time_period"].agg(["min", "max"])
    first_year, last_year = years["min"].to_dict(), years["max"].to_dict()

    successors: dict[str, list[str]] = {}
    predecessors: dict[str, list[str]] = {}
    replaced_from: dict[str, int] = {}
    changes = []
    for r in cfg["reorganisations"]:
        for p in r["predecessors"]:
            replaced_from[p] = r["first_year"]
            for q in r["successors"]:
                successors.setdefault(p, []).append(q)
                predecessors.setdefault(q, []).append(p)
                changes.append({"predecessor_code": p, "successor_code": q, "first_year": r["first_year"],
                                "kind": r["kind"], "note": " ".join(r["note"].split())})
    for j in cfg["joint_returns"]:
        for m in j["members"]:
            changes.append({"predecessor_code": m["code"], "successor_code": j["code"], "first_year": j["from_year"],
                            "kind": "joint return", "note": j["note"]})
    code_notes = {c["code"]: f"ONS code changed from {c['old']} to {c['new']} on {c['from']} ({c['note']}); "
                  "same council and DfE number, so the series continues." for c in cfg["code_changes"]}

    rows = []
    max_year = int(s["time_period"].max()) if len(s) else None
    for a in latest[["area_code", "level", "region_code", "region_name", "area_name", "new_la_code"]].to_dict("records"):
        code, level = a["area_code"], a["level"]
        region = a["region_code"] or None
        first, last = int(first_year[code]), int(last_year[code])
        notes = []
        if code in code_notes:
            notes.append(code_notes[code])
        if code in successors:
            notes.append("Replaced from " + str(replaced_from[code]) + " by " + ", ".join(successors[code]) + ".")
        joint = next((j for j in cfg["joint_returns"] if j["code"] == code), None)
        if joint:
            notes.append("Joint return: " + " ".join(joint["note"].split()))
        is_la = level == "Local authority"
        # An LA's region is as DfE publishes it (Inner/Outer London for boroughs); a region's
        # "region" is its parent (London for Inner and Outer London).
        if is_la:
            region_code, region_name = region, a["region_name"] or regions().get(region)
        else:
            region_code, region_name = (parent_region(code), None) if level == "Regional" else (None, None)
            region_code = region_code if region_code != code else None
        london = parent_region(region) if is_la and parent_region(region) != region else None
        rows.append({
            "area_code": code,
            "level": level,
            "area_name": joint["name"] if joint else a["area_name"],
            "old_la_code": code if is_la else None,
            "new_la_code": a["new_la_code"] or None,
            "region_code": region_code,
            "region_name": region_name,
            "london_region_code": london,
            "joint_return_code": None,
            "is_joint_return": int(bool(joint)),
            "first_year": first,
            "last_year": last,
            "status": "current" if (max_year is None or last == max_year) and code not in successors else "former",
            "predecessor_codes": ", ".join(predecessors.get(code, [])) or None,
            "successor_codes": ", ".join(successors.get(code, [])) or None,
            "note": " ".join(notes) or None,
        })
    # Members of joint returns have no rows of their own in DfE's files from the joint year on, but
    # statistical neighbour models list them: keep them as areas that point at the joint row.
    for j in cfg["joint_returns"]:
        jrow = next((r for r in rows if r["area_code"] == j["code"]), None)
        if jrow is None:  # the data has no such joint return (e.g. a partial file): nothing to point at
            continue
        for m in j["members"]:
            existing = next((r for r in rows if r["area_code"] == m["code"]), None)
            if existing:  # it returned alone before the joint return (314 and 318 in 2015): not a former council
                existing["joint_return_code"] = j["code"]
                existing["status"] = jrow["status"]
                existing["note"] = " ".join(filter(None, [existing["note"], f"Published by DfE within the joint "
                                                          f"return {j['code']} from {j['from_year']}."]))
                existing.update({k: jrow[k] for k in ("region_code", "region_name", "london_region_code")})
                continue
            rows.append({
                "area_code": m["code"], "level": "Local authority", "area_name": m["name"], "old_la_code": m["code"],
                "new_la_code": m["ons"], "region_code": jrow["region_code"], "region_name": jrow["region_name"],
                "london_region_code": jrow["london_region_code"],
                "joint_return_code": j["code"], "is_joint_return": 0, "first_year": None, "last_year": None,
                "status": "current", "predecessor_codes": None, "successor_codes": None,
                "note": f"Published by DfE within the joint return {j['code']} from {j['from_year']}.",
            })
    areas = pd.DataFrame(rows)
    level_order = {"National": 0, "Regional": 1, "Local authority": 2}
    areas = areas.sort_values(["level", "area_code"], key=lambda c: c.map(level_order) if c.name == "level" else c)

    la = s[s["new_la_code"].fillna("") != ""]
    area_codes = (la.groupby(["area_code", "new_la_code"])
                  .agg(first_year=("time_period", "min"), last_year=("time_period", "max"))
                  .reset_index().rename(columns={"new_la_code": "ons_code"}))
    releases: dict[tuple, set] = {}  # each code's releases, joined once per code rather than in a groupby lambda
    for key in la[["area_code", "new_la_code", "release_id"]].drop_duplicates().itertuples(index=False):
        releases.setdefault((key[0], key[1]), set()).add(key[2])
    area_codes["releases"] = [", ".join(sorted(releases[k])) for k in zip(area_codes["area_code"], area_codes["ons_code"])]
    # Only the changes between areas this build has, so every code in area_changes is an area.
    changes = pd.DataFrame(changes, columns=["predecessor_code", "successor_code", "first_year", "kind", "note"])
    known = set(areas["area_code"])
    changes = changes[changes["predecessor_code"].isin(known) & changes["successor_code"].isin(known)]
    return areas.reset_index(drop=True), area_codes, changes.reset_index(drop=True)
