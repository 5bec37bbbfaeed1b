"""A council's own categories of leaving reasons and starting origins, mapped to DfE's census codes.

Councils record why people leave and where starters come from in their own HR categories ("Relocation",
"Career break", "Promotion elsewhere"). A category mapping (``csww align FILE --categories MAP.csv``) is a CSV
with the columns ``column`` (``leave_reason`` or ``start_origin``; the census names ``ReasonLeave`` and
``StartOrigin`` are accepted), ``local_category`` (the council's category, matched ignoring case and spaces)
and ``dfe_code`` (DfE's census code 1-10, reference section 7.3; blank to keep the category as the council's
own). Categories left blank are counted apart (``leavers_reason_unmapped_headcount``,
``starters_origin_unmapped_headcount``), named in the figure's caveat and never compared with DfE's codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import parse
from .problems import InputError, Problem

COLUMNS = {"leave_reason": "leave_reason", "ReasonLeave": "leave_reason",
           "start_origin": "start_origin", "StartOrigin": "start_origin"}
CODES = {str(i) for i in range(1, 11)}


def _key(text: str) -> str:
    return " ".join(str(text).split()).casefold()


@dataclass
class Categories:
    """The mapping for each column: ``codes[column][key] = "1".."10" or ""`` (kept local); ``names`` keeps the
    council's spelling of each category for caveats."""

    source: str
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    names: dict[str, dict[str, str]] = field(default_factory=dict)

    def unmapped(self, column: str) -> list[str]:
        """The categories of ``column`` the mapping keeps as the council's own, in its spelling."""
        return sorted(self.names.get(column, {})[k] for k, code in self.codes.get(column, {}).items() if not code)

    def apply(self, column: str, raw: pd.Series) -> tuple[pd.Series, pd.Series]:
        """(codes, local): each cell as DfE's code where it is one or the mapping gives one ("" for a category
        kept local), and the category kept local ("" elsewhere). A value neither a code nor in the mapping is
        left as it is, for ``parse.codes`` to report."""
        mapping = self.codes.get(column, {})
        text = raw.astype(str).str.strip()
        keys = text.map(_key)
        mapped = keys.map(mapping)
        is_code = text.str.replace(r"\.0$", "", regex=True).isin(CODES)
        local = (mapped == "") & ~is_code
        out = text.where(is_code | mapped.isna(), mapped)
        names = self.names.get(column, {})
        return out.where(~local, ""), keys.where(local, "").map(lambda k: names.get(k, k) if k else "")


def load(path: str | Path) -> Categories:
    """Read a category mapping file (CSV or XLSX). Raises ``InputError`` naming every bad row."""
    path = Path(path)
    file = str(path)
    if not path.is_file():
        raise InputError([Problem(file, "no such file (the category mapping)", None, None, None)])
    df = parse.read_table(path)
    problems = parse.check_columns(df, file, ["column", "local_category", "dfe_code"],
                                   {"column", "local_category", "dfe_code", "notes"})
    if problems:
        raise InputError(problems)
    out = Categories(path.name)
    for row in df.index:
        column, local, code = (df.at[row, c].strip() for c in ("column", "local_category", "dfe_code"))
        code = code.removesuffix(".0")
        if column not in COLUMNS:
            problems.append(Problem(file, "must be leave_reason or start_origin", int(row), "column", column))
        elif not local:
            problems.append(Problem(file, "required: the council's own category", int(row), "local_category", local))
        elif code and code not in CODES:
            problems.append(Problem(file, "must be a DfE census code 1-10, or blank to keep the category as the "
                                    "council's own", int(row), "dfe_code", code))
        elif _key(local) in out.codes.get(COLUMNS[column], {}):
            problems.append(Problem(file, "a second row for the same category", int(row), "local_category", local))
        else:
            out.codes.setdefault(COLUMNS[column], {})[_key(local)] = code
            out.names.setdefault(COLUMNS[column], {})[_key(local)] = local
    if problems:
        raise InputError(problems)
    return out
