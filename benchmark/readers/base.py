"""What every reader shares: the tidy result, cell parsing, symbols and input errors."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd

from .. import geography, neighbours
from ..problems import InputError, Problem
from ..symbols import EES_SYMBOLS, SFR_SYMBOLS, SYMBOLS  # noqa: F401  (readers' names for them)
from ..tables import OBSERVATION_KEY

#: Columns of every tidy observation frame a reader returns.
OBSERVATION_COLUMNS = ["time_period", "area_code", "measure_id", "value", "symbol", "source_row", "source_column"]

LEVELS = ("National", "Regional", "Local authority")

_THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")
_NUMBER = re.compile(r"^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")


@dataclass
class ReadResult:
    """What a reader makes of one file."""

    source: str  # the file's display name (path, or zip path!member)
    layout: str  # e.g. "ees-indicators"
    release_id: str
    release_title: str
    release_kind: str  # "ees" or "sfr"
    data_year: int  # the latest reporting year the file covers; orders releases
    observations: pd.DataFrame
    sightings: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    sha256: str | None = None
    size: int | None = None
    release_meta: dict | None = None  # release details from a fetch manifest
    warnings: list[str] = field(default_factory=list)  # printed by the build: e.g. a column not loaded
    breakdowns: pd.DataFrame | None = None  # the file's breakdowns (readers.breakdowns.COLUMNS), if any


def filled_rows(df: pd.DataFrame) -> np.ndarray:
    """Rows with a cell that is not blank (spaces only count as blank; a missing cell is blank). The rest are
    wholly empty rows: blank lines, and the ",,,," lines Excel leaves. The first column settles almost every row
    of a DfE file; only the rows it leaves open are looked at across the whole row."""
    def any_text(cells: np.ndarray) -> np.ndarray:
        return pd.Series(cells.ravel()).fillna("").astype(str).str.strip().ne("").to_numpy(dtype=bool)

    if not df.shape[1]:
        return np.zeros(len(df), dtype=bool)
    filled = any_text(df.iloc[:, 0].to_numpy(dtype=object)).copy()
    todo = np.flatnonzero(~filled)
    if len(todo):
        rest = df.iloc[todo, 1:].to_numpy(dtype=object)
        filled[todo] = any_text(rest).reshape(rest.shape).any(axis=1)
    return filled


def parse_cells(raw: pd.Series, symbols: dict[str, str], file: str, column: str, rows: pd.Series,
                problems: list[Problem], allow_thousands: bool = False, allow_blank: bool = False):
    """Split a column of text cells into (values, symbols), reporting anything else as a problem.

    Returns two Series aligned with ``raw``: float values (NaN where a symbol stands) and the symbol
    (None for a real number). A symbol is never read as zero. Each distinct cell text is parsed once (a
    column repeats few texts: symbols, years, small counts) and the answers spread back over the rows.
    """
    codes, uniques = pd.factorize(raw, use_na_sentinel=False)
    d = _distinct(uniques, raw.dtype, symbols, allow_thousands, allow_blank)
    if d.bad.any() or d.negative.any():
        _cell_problems(codes, d.bad, d.negative, d.texts, symbols, file, column, rows, raw.index, problems)
    return (pd.Series(d.values[codes], index=raw.index, name=raw.name),
            pd.Series(d.symbols.take(codes), index=raw.index, name=raw.name))


@dataclass
class _Distinct:
    """What each distinct cell text is (arrays aligned with the texts)."""
    texts: np.ndarray         # the text, stripped ("" for a blank or missing cell)
    numeric_text: np.ndarray  # the text as a number is read from it (thousands separators dropped where allowed)
    is_number: np.ndarray     # a number (bool)
    bad: np.ndarray           # neither a number nor a symbol (nor an allowed blank)
    negative: np.ndarray      # a number below zero
    values: np.ndarray        # the number (int64 when every text is a whole number), NaN where not a number
    symbols: pd.api.extensions.ExtensionArray  # the symbol text, None where not a symbol


def _distinct(uniques, dtype, symbols: dict[str, str], allow_thousands: bool, allow_blank: bool) -> _Distinct:
    """Classify distinct cell texts once: :func:`parse_cells` and :func:`parse_columns` spread the answers back."""
    text = pd.Series(uniques, dtype=dtype).fillna("").astype(str).str.strip()
    is_symbol = text.isin(list(symbols)).to_numpy(dtype=bool)
    numeric_text = text
    if allow_thousands:
        has_sep = text.str.match(_THOUSANDS)
        numeric_text = text.where(~has_sep, text.str.replace(",", "", regex=False))
    is_number = numeric_text.str.match(_NUMBER).to_numpy(dtype=bool)
    is_blank = text.eq("").to_numpy(dtype=bool)
    values = pd.to_numeric(numeric_text.where(is_number), errors="coerce").to_numpy()
    return _Distinct(texts=text.to_numpy(dtype=object), numeric_text=numeric_text.to_numpy(dtype=object),
                     is_number=is_number, bad=~(is_symbol | is_number | (is_blank & allow_blank)),
                     negative=values < 0, values=values, symbols=text.where(is_symbol, None).array)


def _cell_problems(codes: np.ndarray, bad: np.ndarray, negative: np.ndarray, texts: np.ndarray, symbols: dict,
                   file: str, column: str, rows: pd.Series, labels: pd.Index, problems: list[Problem]) -> None:
    """Append a problem for each cell whose distinct text (``codes`` into ``texts``) is ``bad`` (neither a number
    nor a symbol) or ``negative``: the bad cells first, then the negative ones, each in row order."""
    for pos in np.flatnonzero(bad[codes]):
        t = texts[codes[pos]]
        why = ("blank cell where DfE publishes a number or a symbol" if t == ""
               else THOUSANDS_MIXED if _THOUSANDS.match(t)
               else "not a number and not a known DfE symbol (" + ", ".join(sorted(symbols)) + ")")
        problems.append(Problem(file, why, int(rows[labels[pos]]), column, t))
    for pos in np.flatnonzero(negative[codes]):
        problems.append(Problem(file, "negative value: counts and rates cannot be below zero",
                                int(rows[labels[pos]]), column, texts[codes[pos]]))


#: Why a number with a thousands separator is refused in a column not wholly written with them.
THOUSANDS_MIXED = ("a thousands separator, which DfE's files do not have (csww reads them only in an indicator column "
                   "whose every number of 1,000 or more has one, as Excel's number format writes them): save the "
                   "file again without separators")


def thousands_columns(df: pd.DataFrame, columns: list[str]) -> list[str]:
    """Those of ``columns`` written consistently with thousands separators, as Excel saves a "1000 separator"
    number format (``"36,186.3"``, quoted) and as DfE's SFR files are: some cell has one (``-1,234.5`` style,
    groups of three) and no number of 1,000 or more is written without one. Their separators are dropped when
    read (the figures are the ones shown); in any other column a separator is an error."""
    out = []
    for col in columns:
        text = df[col].fillna("").astype(str).str.strip()
        with_sep = text.str.match(_THOUSANDS)
        if not with_sep.any():
            continue
        plain = text[~with_sep & text.str.match(_NUMBER)]
        if not (pd.to_numeric(plain, errors="coerce").abs() >= 1000).any():
            out.append(col)
    return out


def has_thousands_separator(text: str | None) -> bool:
    """Whether a cell's text is a number with thousands separators (``"36,186.3"``)."""
    return bool(text) and bool(_THOUSANDS.match(text))


def parse_separated(df: pd.DataFrame, columns: list[str], symbols: dict[str, str], file: str, rows: pd.Series,
                    problems: list[Problem], allow_blank: bool = False) -> tuple[list, list[str]]:
    """:func:`parse_columns` of ``columns`` (problems appended in column order), reading thousands separators in
    the columns written wholly with them (:func:`thousands_columns`), which are returned too. Those are looked
    for only when a cell with a separator was refused, so a DfE file costs nothing more."""
    found: list[Problem] = []
    parsed = dict(zip(columns, parse_columns(df, columns, symbols, file, rows, found, allow_blank=allow_blank)))
    separated = thousands_columns(df, list(dict.fromkeys(p.column for p in found
                                                          if has_thousands_separator(p.value))))
    if separated:
        again: list[Problem] = []
        parsed.update(zip(separated, parse_columns(df, separated, symbols, file, rows, again, allow_thousands=True,
                                                   allow_blank=allow_blank)))
        by_column: dict[str, list[Problem]] = {}
        for p in [x for x in found if x.column not in separated] + again:
            by_column.setdefault(p.column, []).append(p)
        found = [p for c in columns for p in by_column.get(c, [])]
    problems.extend(found)
    return [parsed[c] for c in columns], separated


def separated_warning(separated: list[str]) -> str:
    """The build's warning naming the columns read with thousands separators."""
    return (f"{len(separated)} column{'s' if len(separated) > 1 else ''} ({', '.join(separated[:4])}"
            f"{', ...' if len(separated) > 4 else ''}) with thousands separators (Excel's number format), not DfE's "
            "plain numbers; read as the numbers they show")


_INTEGER = re.compile(r"^-?[0-9]{1,15}$")  # pandas reads these as int64, exactly as float64 holds them
_LONG_INTEGER = re.compile(r"^-?[0-9]{16,}$")


def parse_columns(df: pd.DataFrame, columns: list[str], symbols: dict[str, str], file: str, rows: pd.Series,
                  problems: list[Problem], allow_thousands: bool = False,
                  allow_blank: bool = False) -> list[tuple[pd.Series, pd.Series]]:
    """:func:`parse_cells` of each of ``columns`` of ``df``, in order (problems too, column by column), with
    one pass over the distinct texts of all of them: a file's columns share most texts (symbols, small counts).

    Each column's values have the dtype :func:`parse_cells` gives it (whole numbers only: int64, else float64).
    """
    dtypes = set(map(str, df.dtypes.iloc[[df.columns.get_loc(c) for c in columns]]))
    if len(columns) < 2 or not len(df) or len(dtypes) != 1:
        return [parse_cells(df[c], symbols, file, c, rows, problems, allow_thousands, allow_blank) for c in columns]
    n = len(df)
    codes, uniques = pd.factorize(df[columns].to_numpy(dtype=object).ravel(order="F"), use_na_sentinel=False)
    d = _distinct(uniques, df[columns[0]].dtype, symbols, allow_thousands, allow_blank)
    is_number, values = d.is_number, d.values.astype(float)
    whole = np.array([bool(_INTEGER.match(t)) for t in d.numeric_text], dtype=bool)
    long_whole = np.array([bool(_LONG_INTEGER.match(t)) for t in d.numeric_text], dtype=bool)
    all_symbols = d.symbols.take(codes)  # one take for every column; each column's is a slice of it
    out = []
    for j, col in enumerate(columns):
        c = codes[j * n:(j + 1) * n]
        if is_number[c].all() and long_whole[c].any():
            # whole numbers too long to be sure of pandas' dtype: parse this column on its own
            out.append(parse_cells(df[col], symbols, file, col, rows, problems, allow_thousands, allow_blank))
            continue
        _cell_problems(c, d.bad, d.negative, d.texts, symbols, file, col, rows, df.index, problems)
        v = values[c]
        if is_number[c].all() and whole[c].all() and not np.isnan(v).any():
            v = v.astype(np.int64)
        out.append((pd.Series(v, index=df.index, name=col),
                    pd.Series(all_symbols[j * n:(j + 1) * n], index=df.index, name=col)))
    return out


def la_codes(codes: pd.Series) -> pd.Series:
    """:func:`benchmark.geography.normalise_la_code` of each cell of ``codes``, each distinct code once."""
    return codes.map({c: geography.normalise_la_code(c) for c in codes.unique()})


@lru_cache(maxsize=1)
def known_la_codes() -> frozenset[str]:
    """DfE's 3-digit local authority numbers this toolkit knows (``"841"``, ``"314 / 318"``).

    Every council of the shipped statistical neighbour models (DfE's 2021 and 2025 groupings), the joint
    returns and their members, and the councils before and after each reorganisation
    (``catalogue/geography.yml``): 160 codes, every code in DfE's 2015-2025 files.
    """
    table = neighbours.shipped()
    codes = set(table["area_code"]) | set(table["neighbour_code"])
    cfg = geography.config()
    for joint in cfg["joint_returns"]:
        codes |= {joint["code"], *(m["code"] for m in joint["members"])}
    for change in cfg["reorganisations"]:
        codes |= {*change["predecessors"], *change["successors"]}
    return frozenset(codes)


def unknown_councils(codes: pd.Series, is_la: pd.Series, file: str, column: str, rows: pd.Series,
                     problems: list[Problem]) -> None:
    """Report each local authority row whose code (normalised, e.g. ``"841"``) is not a council we know."""
    known = known_la_codes()
    for idx in codes.index[is_la & ~codes.isin(known) & codes.ne("")]:
        problems.append(Problem(file, "not a DfE local authority number this toolkit knows (DfE's 3-digit "
                                      "old_la_code, e.g. 841 for Darlington)", int(rows[idx]), column,
                                codes[idx]))


def fold_joint_returns(geo: pd.DataFrame, all_symbols: pd.Series, rows: pd.Series) -> tuple[pd.Series, list[str]]:
    """Give a joint return's member rows (e.g. Kingston, 314, in 2022) the joint return's code ("314 / 318") in
    ``geo`` (changed in place); a member row whose every cell is a symbol (``all_symbols``) is not kept.
    Returns the mask of rows kept and a note for each row dropped."""
    keep = pd.Series(True, index=geo.index)
    notes = []
    members = geo["level"].eq("Local authority") & geo["area_code"].isin(geography.joint_return_members())
    for idx in geo.index[members]:
        year = int(geo.at[idx, "time_period"])
        joint = geography.joint_return_of(geo.at[idx, "area_code"], year)
        if not joint:
            continue
        if all_symbols[idx]:
            keep[idx] = False
            notes.append(f"row {rows[idx]}: {geo.at[idx, 'area_name']} {year} is part of the joint return "
                         f"{joint}; its all-symbol row was not loaded")
        else:
            geo.at[idx, "area_code"] = geo.at[idx, "old_la_code"] = joint
    return keep, notes


def to_observations(geo: pd.DataFrame, mapping: dict[str, str], values: dict, symbols: dict, rows: pd.Series,
                    source: str) -> tuple[pd.DataFrame, pd.Series, list[str]]:
    """Fold joint-return members into their joint row and melt a wide file into tidy observations.

    ``geo`` has one row per file row with ``time_period``, ``level``, ``area_code``, ``old_la_code``
    and ``area_name``. A member of a joint return (e.g. Kingston, 314) that carries figures becomes
    the joint return ("314 / 318"); a member row that is all symbols is dropped, with a note.
    Returns the observations, the mask of file rows kept, and the notes.
    """
    all_symbols = pd.Series(np.logical_and.reduce([s.notna().to_numpy(dtype=bool) for s in symbols.values()]),
                            index=geo.index) if symbols else pd.DataFrame(symbols).notna().all(axis=1)
    keep, notes = fold_joint_returns(geo, all_symbols, rows)
    observations = pd.DataFrame(stacked(geo, rows, keep, [(col, {"measure_id": measure, "value": values[measure],
                                                                 "symbol": symbols[measure]})
                                                          for col, measure in mapping.items()]))
    observations = observations[OBSERVATION_COLUMNS]
    check_repeated_rows(observations, source)
    return observations, keep, notes


def stacked(geo: pd.DataFrame, rows: pd.Series, keep: pd.Series, parts: list[tuple[str, dict]]) -> dict:
    """The columns of a long frame made of one part per file column read, the file rows ``keep`` of each in
    file order, part after part: ``time_period``, ``area_code``, ``source_row``, ``source_column`` and each
    part's fields (a Series aligned with the file rows, or one value for the whole part). One frame is made
    from these, not one per part (a file has up to a few hundred columns)."""
    kept = keep.to_numpy(dtype=bool)
    n, k = int(kept.sum()), len(parts)
    # the kept rows of part after part, as positions in the file rows of every part one after another
    taken = (np.arange(k)[:, None] * len(kept) + np.flatnonzero(kept)[None, :]).ravel()

    def tiled(series: pd.Series):
        if isinstance(series.dtype, pd.StringDtype) and n:  # text stays pandas' text, never made into Python str
            return series.array[kept].take(np.tile(np.arange(n), k))
        return np.tile(series.to_numpy()[kept], k)

    def repeated(labels: list):
        if n and all(isinstance(x, str) for x in labels):  # as pandas would type them, one take of k labels
            return pd.Series(np.array(labels, dtype=object)).array.take(np.repeat(np.arange(k), n))
        return np.repeat(np.array(labels, dtype=object), n)

    out = {"time_period": tiled(geo["time_period"]), "area_code": tiled(geo["area_code"])}
    for name in (parts[0][1] if parts else {}):
        fields = [fields[name] for _, fields in parts]
        dtypes = {f.dtype if isinstance(f, pd.Series) else None for f in fields}
        if len(dtypes) == 1 and None not in dtypes and n:
            # one dtype (the usual case): the kept rows of every part in one array, as pd.concat would give
            # them, without a Series per part (an SFR file has hundreds of columns)
            (dtype,) = dtypes
            if isinstance(dtype, np.dtype):
                out[name] = np.concatenate([f.to_numpy() for f in fields])[taken]
            else:
                arrays = [f.array for f in fields]
                out[name] = type(arrays[0])._concat_same_type(arrays).take(taken)
        elif any(isinstance(f, pd.Series) for f in fields):
            out[name] = pd.concat([f[keep] if isinstance(f, pd.Series) else pd.Series(f, index=keep.index)[keep]
                                   for f in fields], ignore_index=True)
        else:
            out[name] = repeated(fields)
    out["source_row"] = tiled(rows)
    out["source_column"] = repeated([col for col, _ in parts])
    return out


def check_repeated_rows(observations: pd.DataFrame, source: str) -> None:
    """Raise InputError when a file gives an area and year on more than one row (the first 20 named)."""
    dup = observations[observations.duplicated(OBSERVATION_KEY, keep=False)].drop_duplicates(OBSERVATION_KEY)
    if len(dup):
        raise InputError([Problem(source, f"more than one row for area {r.area_code} in {r.time_period}",
                                  int(r.source_row)) for r in dup.head(20).itertuples()])
