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

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from . import parse
from .problems import InputError, Problem

COLUMNS = {"leave_reason": "leave_reason", "ReasonLeave": "leave_reason",
           "start_origin": "start_origin", "StartOrigin": "start_origin"}
CODES = {str(i) for i in range(1, 11)}
#: ``OrgRole`` (reference section 7.3): the worker's role, as DfE's role breakdowns name them.
ORG_ROLES = {"1": "senior manager", "2": "middle manager", "3": "first-line manager", "4": "senior practitioner",
             "5": "case holder", "6": "qualified without cases"}
#: Every coded item of a census worker record (``CSWWWorker``) and its code list (reference sections 7.3-7.4).
#: ``AgencyWorker``, ``OrgRole``, ``StartOrigin`` and ``ReasonLeave`` are read (``workers.typed`` checks them);
#: the others are checked here (``check_census_codes``) though not counted, so that a return DfE's validation
#: would refuse is refused here too.
CENSUS_CODES = {
    "AgencyWorker": {"0", "1"}, "OrgRole": set(ORG_ROLES), "StartOrigin": CODES, "ReasonLeave": CODES,
    "GenderCurrent": {"0", "1", "2", "9"},
    "Ethnicity": {"WBRI", "WIRI", "WOTH", "MWBC", "MWBA", "MWAS", "MOTH", "AIND", "APKN", "ABAN", "AOTH", "BCRB",
                  "BAFR", "BOTH", "CHNE", "OOTH", "REFU", "NOBT"},
    "QualLevel": {"1", "2", "3"}, "StepUpGrad": {"0", "1"}, "LeaverDestination": {str(i) for i in range(1, 10)},
    "FrontlineGrad": {"0", "1"}, "Absat30Sept": {"0", "1"},
    "ReasonAbsence": {"MAT", "OTH", "PUB", "SIC", "TRN", "UNA", "UNP"}, "CFKSSstatus": {"1", "2", "3", "4"},
}
#: Special category data (sex, ethnic origin, health): a value of these is never shown, even a code.
NEVER_SHOWN = {"GenderCurrent", "Ethnicity", "ReasonAbsence"}
#: Our column names of the coded items read from a flat file, by census name.
OUR_NAMES = {"AgencyWorker": "agency", "OrgRole": "role", "StartOrigin": "start_origin", "ReasonLeave": "leave_reason"}


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


def shown_code(column: str, value: str | None) -> str | None:
    """The value a problem about a coded cell of a worker record may show: the cell when it is code-shaped (one to
    three digits, as "11" or "2.0"), else None (free text may be a name, and a worker's cells are personal data);
    never for special category items (``NEVER_SHOWN``). ``column`` is the census name or ours."""
    if value is None or column in NEVER_SHOWN or not re.fullmatch(r"\d{1,3}(\.0)?", str(value).strip()):
        return None
    return str(value).strip()


def coded_columns(columns) -> set[str]:
    """The columns among ``columns`` (census names or ours) whose cells are codes."""
    ours = set(OUR_NAMES.values()) | {"covers_vacancy", "asye_deferred"}
    return {c for c in columns if c in CENSUS_CODES or c in ours}


def check_census_codes(df: pd.DataFrame, file: str, problems: list[Problem]) -> None:
    """Add a problem for each cell of ``df`` (text; one row per worker record, indexed by its row or record
    number) in a coded census item that ``workers.typed`` does not read (``CENSUS_CODES``: ``LeaverDestination``,
    ``QualLevel``, ``GenderCurrent`` ...) holding no code of its list: naming the file, the record and the item,
    with the value only as ``shown_code`` allows. Blank cells are not problems here."""
    for column in [c for c in df.columns if c in CENSUS_CODES and c not in OUR_NAMES]:
        found: list[Problem] = []
        parse.codes(df, column, file, found, CENSUS_CODES[column])
        problems += [replace(p, value=shown_code(column, p.value)) for p in found]
