"""Reading a council's CSV or XLSX file into text columns, and typing those columns with problems collected.

Every reader here reports problems instead of raising on the first one, so that a council sees everything
wrong with its file at once. Row numbers are spreadsheet row numbers (the header is row 1).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from .problems import InputError, Problem

FIRST_DATA_ROW = 2


def is_xlsx(path: Path) -> bool:
    return path.suffix.lower() in {".xlsx", ".xlsm"} or zipfile.is_zipfile(path)


def read_table(path: Path) -> pd.DataFrame:
    """All cells as stripped text ("" when blank); the index is the spreadsheet row number."""
    name = str(path)
    try:
        if is_xlsx(path):
            df = pd.read_excel(path, sheet_name=0, dtype=object, engine="openpyxl")
            df = df.map(_cell_text) if len(df) else df.astype(str)
        else:
            df = pd.read_csv(path, dtype=object, keep_default_na=False, encoding="utf-8-sig", skipinitialspace=True)
    except Exception as exc:  # openpyxl, zip, csv and decoding errors all mean the same to a council
        kind = "XLSX workbook" if is_xlsx(path) else "CSV file"
        raise InputError([Problem(name, f"not a readable {kind} ({type(exc).__name__}: {exc})", None, None, None)]) from None
    df.columns = [str(c).strip() for c in df.columns]
    if len(df.columns):  # drop rows with every cell blank (",,,," lines, empty spreadsheet rows)
        maybe = df.iloc[:, 0] == ""
        df = df.drop(df.index[maybe][(df.loc[maybe] == "").all(axis=1).to_numpy()])
    df.index = df.index + FIRST_DATA_ROW
    return df


def _cell_text(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
        return ""
    if isinstance(v, pd.Timestamp) or hasattr(v, "isoformat"):
        return v.date().isoformat() if hasattr(v, "date") else v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def check_columns(df: pd.DataFrame, file: str, required: list[str], allowed: set[str]) -> list[Problem]:
    problems = [Problem(file, "required column is missing", 1, c, None) for c in required if c not in df.columns]
    problems += [Problem(file, "unknown column (see the template for the columns accepted)", 1, c, None)
                 for c in df.columns if c not in allowed]
    dupes = df.columns[df.columns.duplicated()]
    problems += [Problem(file, "column appears more than once", 1, c, None) for c in dupes]
    return problems


def report(file: str, column: str, raw: pd.Series, mask: pd.Series, message: str, problems: list[Problem]):
    for row in raw.index[np.asarray(mask, dtype=bool)]:
        problems.append(Problem(file, message, int(row), column, raw[row]))


def _failed(raw: pd.Series, converted: pd.Series) -> pd.Series:
    """Cells that did not convert although they are not blank (only the missing ones are compared)."""
    failed = converted.isna()
    failed[failed] = raw[failed] != ""
    return failed


def _retry_stripped(raw: pd.Series, failed: pd.Series, convert) -> tuple[pd.Series, pd.Series]:
    """Converting whole columns is fast; stripping them is not. Strip and convert only the cells that failed."""
    if not failed.any():
        return None, None
    sub = raw[failed].astype(str).str.strip()
    return sub, convert(sub)


def numbers(df: pd.DataFrame, column: str, file: str, problems: list[Problem], *, low: float | None = 0,
            high: float | None = None, integer: bool = False, what: str = "") -> pd.Series:
    """Numeric column (NaN where blank); bad, negative or too-large values become problems."""
    raw = df[column]
    convert = lambda s: pd.to_numeric(s.where(s != "").str.replace(",", "", regex=False), errors="coerce")  # noqa: E731
    num = pd.to_numeric(raw, errors="coerce").astype(float)  # blanks become NaN
    sub, fixed = _retry_stripped(raw, _failed(raw, num), convert)
    if sub is not None:
        num[sub.index] = fixed.astype(float)
        report(file, column, raw, raw.index.isin(sub.index[(sub != "") & fixed.isna()]), "not a number", problems)
    if low is not None:
        report(file, column, raw, num < low, f"must not be below {low:g}{what}", problems)
    if high is not None:
        report(file, column, raw, num > high, f"must not be above {high:g}{what}", problems)
    if integer:
        report(file, column, raw, num.notna() & (num % 1 != 0), "must be a whole number", problems)
    return num


def dates(df: pd.DataFrame, column: str, file: str, problems: list[Problem]) -> pd.Series:
    """Date column (NaT where blank). Accepts YYYY-MM-DD and DD/MM/YYYY."""
    raw = df[column]

    def convert(s):
        iso = pd.to_datetime(s.where(s != ""), format="%Y-%m-%d", errors="coerce")
        return iso.fillna(pd.to_datetime(s.where(iso.isna() & (s != "")), format="%d/%m/%Y", errors="coerce"))

    out = pd.to_datetime(raw, format="%Y-%m-%d", errors="coerce")  # blanks become NaT
    sub, fixed = _retry_stripped(raw, _failed(raw, out), convert)
    if sub is not None:
        out[sub.index] = fixed
        report(file, column, raw, raw.index.isin(sub.index[(sub != "") & fixed.isna()]),
               "not a date (use YYYY-MM-DD or DD/MM/YYYY)", problems)
    return out


def codes(df: pd.DataFrame, column: str, file: str, problems: list[Problem], allowed: set[str]) -> pd.Series:
    """Code column as text ("" where blank); values outside ``allowed`` become problems."""
    raw = df[column].astype(str)
    out = raw.copy()
    sub, fixed = _retry_stripped(raw, ~raw.isin(allowed | {""}),
                                 lambda s: s.str.replace(r"\.0$", "", regex=True))
    if sub is not None:
        out[sub.index] = fixed
        report(file, column, raw, raw.index.isin(sub.index[(fixed != "") & ~fixed.isin(allowed)]),
               f"must be one of {', '.join(sorted(allowed, key=_natural))}", problems)
    return out


def _natural(s: str):
    return (len(s), s)
