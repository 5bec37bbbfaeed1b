"""DfE's children's services statistical neighbour models: read them, pick one per year, resolve a year's list.

Two models are known: the April 2021 groupings (``sn_2021``) and the May 2025 model (``sn_2025``). Each gives
every local authority its 10 nearest councils by DfE 3-digit code, with a closeness band.

**Which model for which year.** ``sn_2021`` for reporting years up to 2024 (it is the model current when the
2021-2024 data were published, and the only one here for the years before), ``sn_2025`` from 2025 on. Pass
``model=`` to override. A council the chosen model does not list (Cumberland and Westmorland and Furness are
not in the 2021 model) takes its list from the nearest other model that lists it, and the record says so.

**Two methods** (``--sn-method``). ``toolkit`` (the default) is the above: the model current for the year, a
neighbour that returned jointly mapped to the joint row, and the median kept to one more decimal than the
measure (x.x5). ``dashboard`` reproduces the neighbour median DfE's CSC outcomes and enablers dashboard shows
(:func:`dashboard_lists`): the 2025 model for every year; neighbours joined on the integer LA code, so a joint
return ("314 / 318") matches no neighbour and has no list of its own; North and West Northamptonshire (940, 941)
trimmed before 2022 and Cumberland and Westmorland and Furness (942, 943) up to 2023 (no median of their own in
those years; as neighbours they count whenever they have a row, as in the dashboard's output); the median
rounded half-up to 1 decimal place.

The toolkit ships both models as ``catalogue/statistical_neighbours.csv`` (long format: model, area_code,
position, neighbour_code, closeness), derived from DfE's files by :func:`read_model`; a test checks the shipped
copy against the originals when they are present.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from . import geography, tables
from .database import has_table
from .problems import UsageError

MODELS = {"sn_2021": 2021, "sn_2025": 2025}
FILES = {"sn_2021": "New_Statistical_Neighbour_Groupings_April_2021.csv", "sn_2025": "sn_model_2025_wide.csv"}
#: The models in words, the one place that names them for readers (compare's notes, packs, the site).
MODEL_WORDS = {"sn_2021": "DfE's April 2021 statistical neighbours", "sn_2025": "DfE's May 2025 statistical neighbours"}


def model_words(model: str | None) -> str:
    """A statistical-neighbour model in words, as packs, pages and notes name it: 'sn_2025' -> "DfE's May 2025
    statistical neighbours"; an unknown model id as it is; None -> "no statistical neighbour model"."""
    return MODEL_WORDS.get(model, model) if model else "no statistical neighbour model"


BANDS = ("Extremely close", "Very close", "Close", "Somewhat close", "Not close")
CATALOGUE = "catalogue/statistical_neighbours.csv"


METHODS = ("toolkit", "dashboard")
#: The dashboard method's model, for every year.
DASHBOARD_MODEL = "sn_2025"
#: The dashboard trims these councils before the year given (first year with a median of their own), by DfE code.
DASHBOARD_FIRST_YEAR = {"940": 2022, "941": 2022, "942": 2024, "943": 2024}


def check_method(method: str | None) -> str:
    """``method`` or the default ``toolkit``; an unknown method is a UsageError."""
    method = method or "toolkit"
    if method not in METHODS:
        raise UsageError(f"unknown statistical neighbour method {method!r}; known: {', '.join(METHODS)}")
    return method


def model_for_year(time_period: int, override: str | None = None) -> str:
    """The model used for a reporting year: sn_2021 up to 2024, sn_2025 from 2025 (or ``override``)."""
    if override:
        if override not in MODELS:
            raise UsageError(f"unknown statistical neighbour model {override!r}; known: {', '.join(MODELS)}")
        return override
    return "sn_2025" if time_period >= 2025 else "sn_2021"


def normalise_band(label: str) -> str:
    """'Not Close', 'Close ', 'very  close' -> DfE's band in sentence case; an unknown label is an error."""
    text = re.sub(r"\s+", " ", str(label)).strip().capitalize()
    if text not in BANDS:
        raise ValueError(f"unknown closeness band {label!r}")
    return text


def read_model(path: str | Path, model: str | None = None) -> pd.DataFrame:
    """Read one of DfE's wide neighbour files into long format (the ``neighbours`` columns), whatever its generation.

    Recognises the 2021 layout (``LA num``, ``SN1``, ``SNP`` ...) and the 2025 layout (``old_la_code``,
    ``SN_1``, ``SN_1P`` ...) by header; tolerates a BOM, a trailing empty column, blank lines and the
    trailing "Old SNs" block (those former councils are kept: their lists serve the years they existed).
    """
    path = Path(path)
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    header = [h.strip() for h in rows[0]]
    if header[:1] == ["LA num"]:
        model = model or "sn_2021"
        code_col, first = 0, header.index("SN1")
    elif header[:1] == ["old_la_code"]:
        model = model or "sn_2025"
        code_col, first = 0, header.index("SN_1")
    else:
        raise ValueError(f"{path.name}: not a known statistical neighbour layout (header starts {header[:3]})")
    out = []
    for row in rows[1:]:
        code = row[code_col].strip() if row else ""
        if not code.isdigit():  # blank lines and the "Old SNs:" label
            continue
        for k in range(10):
            nb, band = row[first + 2 * k].strip(), row[first + 2 * k + 1]
            if nb:
                out.append({"model": model, "area_code": code, "position": k + 1,
                            "neighbour_code": geography.normalise_la_code(nb), "closeness": normalise_band(band)})
    df = pd.DataFrame(out).reindex(columns=tables.columns("neighbours"))
    if df.duplicated(["area_code", "position"]).any():
        raise ValueError(f"{path.name}: a council is listed twice")
    return df


def read_models(folder: str | Path) -> pd.DataFrame:
    """Both DfE models from a folder holding DfE's files (e.g. ../shared/dfe)."""
    return pd.concat([read_model(Path(folder) / f, m) for m, f in FILES.items()], ignore_index=True)


def write_catalogue(folder: str | Path, out: str | Path) -> None:
    """Regenerate the shipped CSV from DfE's files: ``python -m benchmark.neighbours ../shared/dfe``."""
    read_models(folder).to_csv(out, index=False, lineterminator="\n")


@lru_cache(maxsize=1)
def _shipped() -> pd.DataFrame:
    text = resources.files("benchmark").joinpath(CATALOGUE).read_text(encoding="utf-8")
    return pd.read_csv(io.StringIO(text), dtype={"area_code": str, "neighbour_code": str, "position": int})


def shipped() -> pd.DataFrame:
    """The two models as shipped with the toolkit (works without ../shared)."""
    return _shipped().copy()


def year_lists(la_years: pd.DataFrame, table: pd.DataFrame | None = None, model: str | None = None) -> pd.DataFrame:
    """Each council-year's neighbours as published rows that year.

    ``la_years`` has ``time_period`` and ``area_code`` for every council row DfE published. Returns one row
    per council, year and listed neighbour: ``sn_model``, ``position``, ``neighbour_code`` (as listed),
    ``published_code`` (the row it maps to: a joint-return member maps to the joint row), ``closeness`` and
    ``status``: ``used``, ``absent`` (no row that year: dropped and counted), ``self`` (maps to the
    council's own joint row) or ``duplicate`` (both halves of one joint return listed: counted once).
    A joint row takes its first member's list.
    """
    table = shipped() if table is None else table
    ly = la_years[["time_period", "area_code"]].drop_duplicates().copy()
    ly["key"] = ly["area_code"].str.split(" / ").str[0]
    listed = table.groupby("model")["area_code"].agg(set).to_dict()

    orders: dict[int, list[str]] = {}  # per year: its model first, then the others nearest in year first

    def pick(tp: int, key: str) -> str | None:
        order = orders.get(tp)
        if order is None:
            first = model_for_year(tp, model)
            order = orders[tp] = [first] + sorted((m for m in MODELS if m != first),
                                                  key=lambda m: abs(MODELS[m] - MODELS[first]))
        return next((m for m in order if key in listed.get(m, ())), None)

    ly["sn_model"] = [pick(tp, key) for tp, key in zip(ly["time_period"].tolist(), ly["key"].tolist())]
    nb = ly.merge(table.rename(columns={"model": "sn_model", "area_code": "key"}), on=["sn_model", "key"])
    joint = {m: j for m, (j, _) in geography._joint_members().items()}
    since = {m: y for m, (_, y) in geography._joint_members().items()}
    joined_since = nb["neighbour_code"].map(since).to_numpy(dtype=float)  # NaN: not a joint-return member
    nb["published_code"] = np.where(nb["time_period"].to_numpy() >= joined_since,
                                    nb["neighbour_code"].map(joint).to_numpy(dtype=object),
                                    nb["neighbour_code"].to_numpy(dtype=object))
    nb = nb.sort_values(["time_period", "area_code", "position"])
    dup = nb.duplicated(["time_period", "area_code", "published_code"])
    present = _published(nb["time_period"], nb["published_code"], ly)
    nb["status"] = "used"
    nb.loc[~present, "status"] = "absent"
    nb.loc[dup, "status"] = "duplicate"
    nb.loc[nb["published_code"] == nb["area_code"], "status"] = "self"
    return nb.drop(columns="key").reset_index(drop=True)


def _published(time_periods: pd.Series, codes: pd.Series, la_years: pd.DataFrame) -> np.ndarray:
    """True where (time period, code) is one of ``la_years``' council-years (a row that year), as integer keys."""
    index = pd.Index(la_years["area_code"].unique())
    width = len(index) + 1
    asked = index.get_indexer(codes)
    known = la_years["time_period"].to_numpy(np.int64) * width + index.get_indexer(la_years["area_code"])
    return (asked >= 0) & np.isin(time_periods.to_numpy(np.int64) * width + asked, known)


def dashboard_lists(la_years: pd.DataFrame, table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each council-year's neighbours as DfE's dashboard takes them; the columns of :func:`year_lists`.

    The 2025 model for every year; a council's list and its neighbours are matched on the plain DfE code, so a
    joint row ("314 / 318") has no list and a neighbour that returned jointly has no row (``absent``). Every
    entry of a trimmed council-year (940 and 941 before 2022, 942 and 943 up to 2023) is ``trimmed``, so that
    council has no median. ``published_code`` is the neighbour code.
    """
    table = shipped() if table is None else table
    ly = la_years[["time_period", "area_code"]].drop_duplicates().copy()
    model = table[table["model"] == DASHBOARD_MODEL].drop(columns="model")
    nb = ly.merge(model, on="area_code").assign(sn_model=DASHBOARD_MODEL)
    nb["published_code"] = nb["neighbour_code"]
    nb = nb.sort_values(["time_period", "area_code", "position"])
    present = _published(nb["time_period"], nb["neighbour_code"], ly)
    trimmed = nb["time_period"].to_numpy() < nb["area_code"].map(DASHBOARD_FIRST_YEAR).fillna(0).to_numpy()
    nb["status"] = "used"
    nb.loc[~present, "status"] = "absent"
    nb.loc[trimmed, "status"] = "trimmed"
    cols = ["time_period", "area_code", "sn_model", "position", "neighbour_code", "published_code", "closeness",
            "status"]
    return nb[cols].reset_index(drop=True)


def council_list(conn, code: str, year: int, model: str | None = None, method: str | None = None) -> pd.DataFrame:
    """The statistical neighbours one council-year's median is taken over, as the comparison engine takes them
    (:func:`year_lists`, or :func:`dashboard_lists` for ``method="dashboard"``) from the database ``conn`` (its
    ``observations``, ``areas`` and ``neighbours`` tables): ``code`` is the published code ("940 / 941" for a joint
    return, whose list is its first member's, 940's), ``model`` the model the comparison used (``sn_model``).

    One row per listed neighbour, nearest first, with the :func:`year_lists` columns plus ``area_name`` (the
    neighbour's name), ``published_name`` (the row its value comes from) and ``note``: "joint return with West
    Northamptonshire (941)" when the value used is a joint return's, "counted once with ..." for the second member
    of one joint return, "part of this joint return: left out" for a member of the council's own return, "no
    figures published for YEAR" for a neighbour without a row. Empty when the database has no ``neighbours``.
    """
    cols = ["time_period", "area_code", "sn_model", "position", "neighbour_code", "published_code", "closeness",
            "status", "area_name", "published_name", "note"]
    if not all(has_table(conn, t) for t in ("neighbours", "observations", "areas")):
        return pd.DataFrame(columns=cols)
    la_years = pd.read_sql_query(
        "SELECT DISTINCT o.time_period, o.area_code FROM observations o JOIN areas a USING (area_code) "
        "WHERE a.level = 'Local authority' AND o.time_period = ?", conn, params=(int(year),))
    if code not in set(la_years["area_code"]):
        la_years = pd.concat([la_years, pd.DataFrame({"time_period": [int(year)], "area_code": [code]})])
    table = pd.read_sql_query("SELECT model, area_code, position, neighbour_code, closeness FROM neighbours", conn)
    table["position"] = table["position"].astype(int)
    if check_method(method) == "dashboard":
        lists = dashboard_lists(la_years, table)
    else:
        lists = year_lists(la_years, table, model)
    lists = lists[lists["area_code"] == code].sort_values("position").reset_index(drop=True)
    names = dict(conn.execute("SELECT area_code, area_name FROM areas"))
    lists["area_name"] = [names.get(c, c) for c in lists["neighbour_code"]]
    lists["published_name"] = [names.get(c, c) for c in lists["published_code"]]
    notes = []
    for r in lists.itertuples():
        member_of = r.published_code if r.published_code != r.neighbour_code else None
        if r.status == "self":
            notes.append(f"part of this joint return ({r.published_code}): left out of its own neighbours")
        elif r.status == "duplicate":
            notes.append(f"joint return {r.published_name} ({r.published_code}), already listed: counted once")
        elif r.status in ("absent", "trimmed"):
            notes.append(f"no figures published for {int(r.time_period)}" if r.status == "absent" else
                         "left out by DfE's dashboard this year")
        elif member_of:
            others = [m.strip() for m in str(member_of).split(" / ") if m.strip() != r.neighbour_code]
            notes.append("joint return with " + " and ".join(f"{names.get(o, o)} ({o})" for o in others)
                         + f": the value used is the joint return's ({member_of})")
        else:
            notes.append(None)
    lists["note"] = notes
    return lists.reindex(columns=cols)


if __name__ == "__main__":  # pragma: no cover
    write_catalogue(sys.argv[1], Path(__file__).parent / CATALOGUE)
