"""Worker-level input: one row per worker or post, counted on DfE's rules.

Used for a council's HR extract (CSV/XLSX, columns modelled on the census worker record) and, through
``census_xml``, for the census return itself. Worker ids are salted-hashed as soon as they are read and the
rows stay in memory: only counts leave this module.

DfE's rules applied (reference sections 6 and 7.6):
- stocks at the reference date (30 September): a record is in post if it started on or before that date and
  has no end date or ends after it. A worker who leaves on 30 September is a leaver, not in post.
- flows over the year ending on the reference date (1 October to 30 September).
- a person's overlapping or back-to-back posts form one spell of service: moving between posts inside the
  authority is neither a start nor a leave, and someone who starts and leaves in the year is both a starter
  and a leaver. Headcounts count people (spells for starters and leavers); agency records are not
  de-duplicated.
- FTE is summed per record, never above 1; records with no FTE are left out of FTE figures only.
- one worker id on several records that differ in any item is one person's several posts (section 6.2): one
  person in headcounts, FTE, cases and days lost summed per record. A record repeating an earlier one exactly
  (every item, read or not) is a copy, not a post: counted once, with a warning naming both rows (never a cell)
  and a caveat on every figure (``_without_repeats``, ``repeat_notes``).
- case holders are local authority and agency records in post with at least one case and FTE above zero.
- working days lost are those of local authority workers in post; the rate uses 253 or 254 working days.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import secrets
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from . import categories as categories_mod
from . import parse, rules
from .problems import InputError, Problem

REQUIRED = ["worker_id", "agency", "fte", "start_date", "end_date", "reference_date"]
OPTIONAL = ["area_code", "role", "start_origin", "leave_reason", "cases", "working_days_lost",
            "qualification_date", "covers_vacancy", "asye_start_date", "asye_end_date", "asye_deferred"]
# Census element names (reference section 7.3) accepted as the columns of a flat file, as some regional
# pipelines produce from the census XML. FTE30 stands in for FTE where a leaver's FTE is recorded as 0.
CENSUS_COLUMNS = {"SWENo": "worker_id", "AgencyWorker": "agency", "FTE": "fte", "RoleStartDate": "start_date",
                  "RoleEndDate": "end_date", "ReferenceDate": "reference_date", "LEA": "area_code", "OrgRole": "role",
                  "StartOrigin": "start_origin", "ReasonLeave": "leave_reason", "Cases30": "cases",
                  "WorkingDaysLost": "working_days_lost"}
# Other census items: accepted in a flat file and not read.
CENSUS_UNUSED = {"FTE30", "PersonBirthDate", "GenderCurrent", "Ethnicity", "QualInst", "QualLevel", "StepUpGrad",
                 "LeaverDestination", "ContractWeeks", "FrontlineGrad", "Absat30Sept", "ReasonAbsence", "CFKSSstatus",
                 "Year", "Collection", "SourceLevel", "SoftwareCode", "DateTime"}
CODES10 = {str(i) for i in range(1, 11)}
CATEGORY_HINT = ("DfE census code 1-10; for the council's own categories give a mapping to DfE's codes with "
                 "--categories FILE")
ROLE_HINT = "DfE census OrgRole: " + ", ".join(f"{k} {v}" for k, v in categories_mod.ORG_ROLES.items())
ASCII_SPACE = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"
FAR = pd.Timestamp("2262-01-01")
DAY = pd.Timedelta(days=1)
REASONS = ["resignation", "voluntary_redundancy", "compulsory_redundancy", "dismissed", "retired", "deceased",
           "moved_within_la", "other", "not_known", "not_yet_collected"]
ORIGINS = ["newly_qualified", "other_la", "outside_england", "agency", "other_social_work", "other_social_care",
           "non_social_care", "other", "not_known", "not_yet_collected"]
SERVICE_BANDS = ["under_2", "2_to_5", "5_to_10", "10_to_20", "20_to_30", "30_plus"]
PQE_BANDS = ["under_2", "2_to_5", "5_to_10", "10_plus"]
CASELOAD_BANDS = ["18_or_less", "19_to_24", "25_plus"]



def _codes_text(codes: list[str]) -> str:
    """A worker extract's area codes for a message: those of a council number's form (841, 314 / 318), and how many
    other values (a cell of a worker-level file may hold anything, a name included: never shown)."""
    known = [c for c in codes if rules.AREA_CODE.match(c)]
    others = len(codes) - len(known)
    return ", ".join(known + ([f"{others} value{'s' * (others > 1)} that {'are' if others > 1 else 'is'} not a DfE "
                               "LA number (not shown: a worker-level file)"] if others else []))


def salt_bytes(salt: bytes | None = None) -> bytes:
    """The salt for hashing worker ids: given, else $CSWW_SALT, else random for this run."""
    if salt is not None:
        return salt
    env = os.environ.get("CSWW_SALT")
    return env.encode("utf-8") if env else secrets.token_bytes(16)


def pseudonymise(codes: np.ndarray, uniques, salt: bytes, normalised: np.ndarray | None = None) -> np.ndarray:
    """A salted hash of each distinct id (trimmed, upper case), returned as integer codes: equal ids, equal
    codes. The hash is SipHash-2-4 (pandas' vectorised ``hash_array``) keyed by the SHA-256 of the salt; no raw
    id or hash is kept. ``codes, uniques`` come from ``pd.factorize(ids)``; ``normalised`` is
    ``normalised_ids(uniques)`` where the caller has it already."""
    if normalised is None:
        normalised = normalised_ids(uniques)
    return _hashed_codes(normalised, salt)[codes]


def _hashed_codes(normalised, salt: bytes, chunk: int = 1 << 16) -> np.ndarray:
    """Integer codes of the salted hashes of ``normalised`` ids (an object array, or a pyarrow array of text,
    made into Python strings ``chunk`` at a time so that a million of them are never held at once): equal ids,
    equal codes, numbered in order of first appearance. Neither the ids nor their hashes are kept."""
    key = hashlib.sha256(salt).hexdigest()[:16]
    if isinstance(normalised, np.ndarray):
        hashed = pd.util.hash_array(normalised, hash_key=key, categorize=False)
    else:
        hashed = np.empty(len(normalised), dtype=np.uint64)
        for i in range(0, len(normalised), chunk):
            part = normalised.slice(i, chunk).to_numpy(zero_copy_only=False)
            hashed[i:i + len(part)] = pd.util.hash_array(part, hash_key=key, categorize=False)
    return pd.factorize(hashed)[0]


def _normalised_arrow(ids: pd.Series):
    """The ids of a pyarrow-backed ASCII column (``parse.read_table``'s fast path), each trimmed and upper-cased
    by pyarrow as ``normalised_ids`` does, as a pyarrow array with one entry per row; else None. Hashing these
    directly costs less than factorising the raw ids first (most ids of an extract are distinct). Returned with
    a boolean numpy array of the rows whose id is blank."""
    arr = parse._arrow_text(ids)
    if arr is None or not len(arr) or arr.null_count:
        return None
    normalised = _arrow_trimmed_upper(arr)
    if normalised is None:
        return None
    import pyarrow.compute as pc  # heavy optional library, present when such a column exists

    return normalised, pc.equal(normalised, "").to_numpy(zero_copy_only=False)


def _arrow_trimmed_upper(arr):
    """A pyarrow text array's entries as ``str(u).strip().upper()`` gives them (trimmed of the ASCII characters
    ``str.strip()`` removes, upper-cased), computed by pyarrow; None unless every entry is ASCII, for which
    pyarrow's and Python's rules are the same."""
    import pyarrow.compute as pc  # heavy optional library, present when such a column exists

    if not pc.all(pc.string_is_ascii(arr)).as_py():
        return None
    return pc.ascii_upper(pc.utf8_trim(arr, characters=ASCII_SPACE))


def normalised_ids(uniques) -> np.ndarray:
    """Each id as ``str(u).strip().upper()``, as an object array; pyarrow-backed ASCII ids (``parse.read_table``'s
    fast path) are trimmed of the same characters and upper-cased by pyarrow, the rest one by one in Python."""
    arr = parse._arrow_text(pd.Series(uniques, copy=False))
    normalised = _arrow_trimmed_upper(arr) if arr is not None and len(arr) else None
    if normalised is not None:
        return normalised.to_numpy().astype(object)
    return np.array([str(u).strip().upper() for u in np.asarray(uniques, dtype=object)], dtype=object)


def is_extract(columns) -> bool:
    """A worker-level extract has a worker id column, by our name or the census's (``SWENo``)."""
    return any(c in columns for c in parse.WORKER_ID_COLUMNS)


def leaver_fte_from_fte30(df: pd.DataFrame, fte: str, end: str, fte30: str = "FTE30") -> pd.Series:
    """Rows of leavers whose FTE is 0 and whose FTE30 is given; their FTE is set to FTE30 (the census records
    FTE 0 for leavers; which item DfE uses is not verified)."""
    if fte30 not in df.columns:
        return pd.Series(False, index=df.index)
    zero = (df[end].astype(str).str.strip() != "") & (pd.to_numeric(df[fte], errors="coerce") == 0) \
        & (df[fte30].astype(str).str.strip() != "")
    df.loc[zero, fte] = df.loc[zero, fte30]
    return zero


def read(path: Path, df: pd.DataFrame, la: str | None, min_count: int, salt: bytes | None,
         categories: categories_mod.Categories | None = None, warnings: list[Problem] | None = None,
         **match) -> list:
    """Align a worker-level HR extract (our column names, or the census element names of a flat census file).
    ``df`` (``parse.read_table``'s text cells) is emptied once its columns are typed, so that its memory is free
    before counting. A row repeating an earlier row exactly (every cell, the worker id as ``pseudonymise`` reads
    it) is a copy: counted once, with a warning added to ``warnings`` naming both rows (``repeat_notes``; never a
    cell) and a caveat on every figure. A worker id on several rows that differ in any cell is several posts of one
    person, counted on DfE's rules (``count``: one person in headcounts, FTE summed per record)."""
    file, text = str(path), df
    coded = categories_mod.coded_columns(df.columns)  # their problems' values are codes (``typed``)
    census = [c for c in df.columns if c in CENSUS_COLUMNS or c in CENSUS_UNUSED]
    if census:
        renamed = {c: CENSUS_COLUMNS[c] for c in census if c in CENSUS_COLUMNS}
        clash = [c for c in renamed if renamed[c] in df.columns]
        problems = [Problem(file, f"both {c} and {renamed[c]} are given; keep one", 1, c, None) for c in clash]
        if problems:
            raise InputError(problems)
        leaver_zero = leaver_fte_from_fte30(df, "FTE", "RoleEndDate") if {"FTE", "RoleEndDate"} <= set(df.columns) \
            else pd.Series(False, index=df.index)
        coded_problems: list[Problem] = []  # coded census items not counted (LeaverDestination ...), checked
        categories_mod.check_census_codes(df, file, coded_problems)
        df = df.drop(columns=[c for c in census if c in CENSUS_UNUSED]).rename(columns=renamed)
        names = {v: k for k, v in renamed.items()}
    else:
        leaver_zero, names, coded_problems = pd.Series(False, index=df.index), {}, []
    problems = parse.check_columns(df, file, REQUIRED, {*REQUIRED, *OPTIONAL})
    if problems:
        raise InputError([replace(p, column=names.get(p.column, p.column)) for p in problems])
    problems += coded_problems
    ref_raw = df["reference_date"]
    refs = parse.dates(df, "reference_date", file, problems)
    first = refs.dropna().iloc[0] if refs.notna().any() else None
    if first is None:
        problems.append(Problem(file, "no reference date given", None, "reference_date", None))
    else:
        parse.report(file, "reference_date", ref_raw, refs.notna() & (refs != first),
                     f"differs from the first row's {first.date().isoformat()}; one extract, one snapshot", problems)
    area = la = rules.normalise_area(la) if la is not None else None
    if "area_code" in df.columns:
        codes = list(dict.fromkeys(rules.normalise_area(a) for a in df["area_code"].unique()))
        if first is not None and la is not None and la not in codes and len(codes) == 1 \
                and rules.joint_area(codes[0], first.date()) == rules.normalise_area(la):
            la = codes[0]  # --la 314 / 318 for an extract of its member 314
        if la is not None and la not in codes:
            problems.append(Problem(file, f"--la does not match the file's area_code {_codes_text(codes)}", None,
                                    "area_code", la))
        elif len(codes) > 1:
            problems.append(Problem(file, f"more than one council in one extract: {_codes_text(codes)}", None,
                                    "area_code", None))
        area = codes[0]
    elif la is None:
        problems.append(Problem(file, "no area_code column: give the council with --la", 1, "area_code", None))
    why = rules.area_problem(area) if area is not None else None
    if why:  # the file's own cell is shown only when it has a council number's form (it may hold a name)
        shown = area == la or rules.AREA_CODE.match(area)
        problems.append(Problem(file, why, None, "area_code", area if shown else None))
    cols = {c: names.get(c, c) for c in [*REQUIRED, *OPTIONAL] if c in df.columns}
    frame = typed(text, cols, file, first, problems, salt, end_within_year=False, categories=categories) \
        if first is not None else None  # every column of the file: a row repeats another only if all are equal
    for column in dict.fromkeys(text.columns):  # the largest thing in memory, not needed again
        del text[column]
    df = ref_raw = None
    _give_back_freed_memory()
    if problems:
        raise InputError(parse.masked([replace(p, column=names.get(p.column, p.column)) for p in problems],
                                      codes=coded))
    member = area
    area = rules.joint_area(area, first.date()) if rules.AREA_CODE.match(area) and "/" not in area else area
    c = count(frame, first.date(), area, file, "worker")
    repeat_notes(file, c, frame.attrs.get("repeats", []), "row", warnings)
    if area != member:
        c.general.append((rules.joint_caveat(member, area), False))
    if leaver_zero.any():
        c.note("leavers_fte", "leavers' FTE read from FTE30, since the census records FTE 0 for leavers; which "
               "item DfE uses is not verified", False)
    return rules.build(c, min_count, **match)


def typed(df: pd.DataFrame, names: dict[str, str], file: str, ref: pd.Timestamp, problems: list[Problem],
          salt: bytes | None, end_within_year: bool, categories: categories_mod.Categories | None = None) -> pd.DataFrame:
    """The standard worker frame from text columns; ``names`` maps standard names to the file's columns.
    With ``categories``, a council's own leaving reasons and starting origins are mapped to DfE's codes
    (``categories.Categories``); the unmapped ones are kept in ``reason_local`` / ``origin_local``. Problems are
    added to ``problems`` without the cell's value: every one is about a worker record (personal data), whatever
    the caller numbers its records from (a CSV row, the Nth CSWWWorker of a census return); a coded cell's value is
    shown only when it is code-shaped (``categories.shown_code``: "11", never free text). ``role`` (``OrgRole``)
    must be a code 1-6 (``categories.ORG_ROLES``); it is checked, not counted."""
    found: list[Problem] = []
    coded = categories_mod.coded_columns(names.values())
    try:
        return _typed(df, names, file, ref, found, salt, end_within_year, categories)
    finally:
        problems += [replace(p, value=categories_mod.shown_code(p.column, p.value) if p.column in coded else None)
                     for p in found]


def _typed(df: pd.DataFrame, names: dict[str, str], file: str, ref: pd.Timestamp, problems: list[Problem],
           salt: bytes | None, end_within_year: bool, categories: categories_mod.Categories | None) -> pd.DataFrame:
    start_year = ref - pd.DateOffset(years=1) + DAY
    col = names.get
    ids = df[col("worker_id")]
    fast = _normalised_arrow(ids)
    if fast is not None:
        fast, blank = fast
    else:
        codes, uniques = pd.factorize(ids)
        normalised = normalised_ids(uniques)
        blank = np.array(normalised == "" if len(uniques) else [False], dtype=bool)[codes]
    parse.report(file, col("worker_id"), ids, blank, "worker id (SWE number) is required", problems)
    agency = parse.codes(df, col("agency"), file, problems, {"0", "1"})
    parse.report(file, col("agency"), agency, agency == "", "required (0 or 1)", problems)
    w = pd.DataFrame(index=df.index)
    w["row"] = df.index
    w["agency"] = agency.eq("1")
    w["fte"] = parse.numbers(df, col("fte"), file, problems, low=0, high=1, what=" FTE per worker record")
    w["start"] = parse.dates(df, col("start_date"), file, problems)
    w["end"] = parse.dates(df, col("end_date"), file, problems)
    no_start = w.start.isna() & ~w.agency
    if no_start.any():  # an assignment through an empty mask still costs a copy of the column
        no_start[no_start] = df.loc[no_start, col("start_date")].str.strip() == ""
    parse.report(file, col("start_date"), df[col("start_date")], no_start, "required for council-employed workers", problems)
    parse.report(file, col("end_date"), df[col("end_date")], w.end < w.start,
                 f"is before {col('start_date')}", problems)
    parse.report(file, col("start_date"), df[col("start_date")], w.start > ref,
                 f"is after the reference date {ref.date().isoformat()}", problems)
    parse.report(file, col("end_date"), df[col("end_date")], w.end > ref,
                 f"is after the reference date {ref.date().isoformat()}; the extract must stop at its snapshot", problems)
    if end_within_year:
        parse.report(file, col("end_date"), df[col("end_date")], w.end < start_year,
                     f"is before the census year starting {start_year.date().isoformat()}", problems)
    if col("role") is not None:
        parse.codes(df, col("role"), file, problems, set(categories_mod.ORG_ROLES), hint=ROLE_HINT)
    optional = {"origin": ("start_origin", "codes"), "reason": ("leave_reason", "codes"),
                "cases": ("cases", "count"), "wdl": ("working_days_lost", "days"),
                "qual": ("qualification_date", "date"), "cover": ("covers_vacancy", "flag"),
                "asye_start": ("asye_start_date", "date"), "asye_end": ("asye_end_date", "date"),
                "asye_deferred": ("asye_deferred", "flag")}
    for std, (name, kind) in optional.items():
        if col(name) is None:
            continue
        if kind == "codes":
            raw = df[col(name)]
            if categories is not None:
                raw, unmapped = categories.apply(name, raw)
                w[std + "_local"] = unmapped
                w.attrs[std + "_local"] = categories.unmapped(name)
            w[std] = parse.codes(df.assign(**{col(name): raw}), col(name), file, problems, CODES10,
                                 hint=CATEGORY_HINT if categories is None else
                                 f"or add it to the category mapping {categories.source}").astype("category")
        elif kind == "flag":
            w[std] = parse.codes(df, col(name), file, problems, {"0", "1"}).eq("1")
        elif kind == "date":
            w[std] = parse.dates(df, col(name), file, problems)
            parse.report(file, col(name), df[col(name)], w[std] > ref, "is after the reference date", problems)
        else:
            w[std] = parse.numbers(df, col(name), file, problems, low=0, integer=kind == "count",
                                   high=366 if kind == "days" else None)
    if not problems:
        w["pid"] = _hashed_codes(fast, salt_bytes(salt)) if fast is not None \
            else pseudonymise(codes, uniques, salt_bytes(salt), normalised)
        w = _without_repeats(df, col("worker_id"), w)
    return w


def _without_repeats(df: pd.DataFrame, id_column: str, w: pd.DataFrame) -> pd.DataFrame:
    """``w`` without the records that repeat an earlier record exactly: the same worker id (as ``pseudonymise``
    matches them: trimmed, upper case) and the same text in every other column of ``df``, including columns not
    counted. Such a record is a copy (a row pasted twice), not a second post: counted once, DfE's several posts
    of one person always differ in some item (role, FTE, dates, cases). The pairs (row, the earlier row it
    repeats) are kept in ``w.attrs["repeats"]`` for the caller's warning and caveat. Only the rows whose worker
    id is shared with another are compared, first by a numpy hash of their typed agency, FTE and dates (which
    tell most posts apart), then those left column by column as integer codes of their texts (``pd.factorize``,
    no Python string per cell): a few numpy passes, even where many people hold several posts."""
    pid = w["pid"].to_numpy().astype(np.int64)  # codes 0, 1, ... (``pseudonymise``)
    shared = np.bincount(pid)[pid] > 1
    w.attrs["repeats"] = []
    if not shared.any():
        return w
    at = np.flatnonzero(shared)  # positions still alike in every column compared so far, in file order
    mix = pid[at].astype(np.uint64)  # first the typed columns, as one numpy hash: most posts differ in these
    for k in ("agency", "fte", "start", "end"):
        v = w[k].to_numpy()[at]
        v = np.where(np.isnan(v), -1.0, v).view(np.uint64) if v.dtype.kind == "f" else v.view("i8").astype(np.uint64) \
            if v.dtype.kind == "M" else v.astype(np.uint64)
        mix = (mix * np.uint64(0x9E3779B97F4A7C15)) ^ v  # wraps around: equal rows, equal hashes
    bits = max(int(len(at)).bit_length() + 3, 4)  # about 8 buckets a row: by two sets of bits, few share both
    for salt in (0xBF58476D1CE4E5B9, 0x94D049BB133111EB):
        bucket = ((mix * np.uint64(salt)) >> np.uint64(64 - bits)).astype(np.int64)
        alike = np.bincount(bucket, minlength=1 << bits)[bucket] > 1  # rows sharing by chance: compared below
        at, mix = at[alike], mix[alike]
    if not len(at):
        return w
    key = pid[at]
    for k in df.columns:
        if k == id_column:
            continue
        codes, uniques = pd.factorize(df[k].iloc[at], use_na_sentinel=False)
        if len(uniques) == 1:  # the same in every row left (area_code, reference_date): tells none apart
            continue
        key = pd.factorize(key * (len(uniques) + 1) + codes)[0].astype(np.int64)  # below n * n: no overflow
        alike = np.bincount(key)[key] > 1  # rows now alone cannot repeat any: not compared again
        at, key = at[alike], key[alike]
        if not len(at):
            return w
    key = pd.factorize(key)[0]  # numbers the groups in order of first appearance
    _, first = np.unique(key, return_index=True)
    earliest = first[key]
    repeat = earliest != np.arange(len(key))
    rows = df.index.to_numpy()[at]
    attrs = dict(w.attrs)
    out = w.loc[~df.index.isin(rows[repeat])]
    out.attrs = {**attrs, "repeats": [(int(r), int(f)) for r, f in zip(rows[repeat], rows[earliest[repeat]])]}
    return out


def repeat_notes(file: str, c: rules.Components, repeats: list[tuple[int, int]], record: str,
                 warnings: list[Problem] | None, shown: int = 20) -> None:
    """The warnings (``Problem``, severity "warning") and the caveat for records that repeat an earlier one
    exactly (``_without_repeats``): one warning per repeated record naming its ``record`` (``"row"``, or the
    census return's ``"CSWWWorker record"``) and the earlier one, up to ``shown`` of them and then how many
    more; never a cell. Every figure's caveat says how many were counted once."""
    if not repeats:
        return
    how = "counted once, as a copy (a worker's several posts differ in some item: role, FTE, dates, cases)"
    if warnings is not None:
        warnings += [Problem(file, f"repeats {record} {first} exactly: {how}", row, None, None, severity="warning")
                     for row, first in repeats[:shown]]
        if len(repeats) > shown:
            warnings.append(Problem(file, f"and {len(repeats) - shown} more records repeat an earlier record "
                                    "exactly: each counted once", None, None, None, severity="warning"))
    n = rules.few(len(repeats))
    c.general.append((f"{n} record{'s' * (n != '1')} repeating an earlier record exactly counted once", False))


def _give_back_freed_memory() -> None:
    """Return the memory the text cells held to the system before counting (glibc's ``malloc_trim``; nothing
    elsewhere). glibc keeps freed blocks of a few MB in its heap, and a million-record extract frees some 300 MB
    there: without this, perf/align_workers.py's peak is 700 MiB, with it under 600."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # musl and other C libraries: nothing to do
        pass


def _by_person(w: pd.DataFrame) -> np.ndarray:
    """Positions of the council's own (not agency) records ordered by person, then start date (no start date
    last), in file order where both are equal: what ``sort_values(["pid", "start"], kind="stable")`` gives, as
    one stable numpy sort and one take of the frame instead of a filter, a factorize and a take."""
    own = np.flatnonzero(~w.agency.to_numpy(dtype=bool))
    start, pid = w.start.to_numpy()[own], w.pid.to_numpy()[own].astype(np.int64)
    days = start.astype("datetime64[D]")
    day = days.view("i8") + (1 << 19)  # days from 1 Jan 1970, shifted to be positive
    day[np.isnat(start)] = (1 << 20) - 1
    whole = bool(np.all((days == start) | np.isnat(start)))  # dates without a time of day, as parse.dates gives
    if len(own) and whole and 0 <= day.min() and day.max() < 1 << 20 and 0 <= pid.min() and pid.max() < 1 << 42:
        return own[np.argsort((pid << 20) | day, kind="stable")]  # one key: person, then day
    key = start.view("i8").copy()
    key[np.isnat(start)] = np.iinfo(np.int64).max
    return own[np.lexsort((key, pid))]


def _spells(pid: pd.Series, start: pd.Series, end: pd.Series) -> pd.Series:
    """Spell numbers 1, 2, ... of records ordered by person then start date (``_by_person``; ``end`` without
    NaT): a record starts a new spell unless it is the same person's and starts no later than the day after
    the latest end of that person's records before it. What
    ``(~pid.eq(pid.shift()) | (start > end.groupby(pid).cummax().shift() + DAY)).cumsum()`` gives, with the
    running maximum per person as one ``np.maximum.accumulate`` over (person, day) keys where every date is a
    whole day within 1,435 years of 1970 (dates from ``parse.dates``), else by that groupby."""
    people, starts, ends = pid.to_numpy(), start.to_numpy(), end.to_numpy()
    begins = np.ones(len(people), dtype=bool)
    begins[1:] = people[1:] != people[:-1]
    start_day, end_day = starts.astype("datetime64[D]"), ends.astype("datetime64[D]")
    half = 1 << 19
    s, e = start_day.view("i8"), end_day.view("i8")
    if len(people) and not np.isnat(starts).any() and np.all(start_day == starts) and np.all(end_day == ends) \
            and -half <= min(s.min(), e.min()) and max(s.max(), e.max()) < half:
        person = np.cumsum(begins) - 1  # 0, 1, ... by person: the keys grow from one person to the next
        latest = np.maximum.accumulate((person << 21) | (e + half)) - (person << 21) - half
        new = begins.copy()
        new[1:] |= s[1:] > latest[:-1] + 1
    else:
        prev_end = end.groupby(people).cummax().shift()
        new = (begins | (start > prev_end + DAY)).to_numpy()
    return pd.Series(np.cumsum(new), index=pid.index)


def _first_is(codes: pd.Series, spells: np.ndarray, code: str) -> pd.Series:
    """Whether each record's spell's first record holds ``code``: ``codes.groupby(spells).transform("first") ==
    code`` for a categorical with no missing value (the codes of the first record of each run, spread to the
    run), else by that groupby."""
    if isinstance(codes.dtype, pd.CategoricalDtype) and len(codes) and not codes.isna().any():
        wanted = codes.cat.categories.get_indexer([code])[0]
        heads = _runs(spells)
        first = codes.cat.codes.to_numpy()[heads]
        return pd.Series(np.repeat(first == wanted, np.diff(np.append(heads, len(spells)))) if wanted >= 0
                         else np.zeros(len(codes), dtype=bool), index=codes.index)
    return codes.groupby(spells).transform("first") == code


def _spell_bounds(start: pd.Series, end: pd.Series, spell: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Each record's spell's first start date and latest end date: ``start.groupby(spell).transform("first")``
    and ``end.groupby(spell).transform("max")``. ``spell`` numbers the runs of consecutive records 1, 2, ...
    (``count``'s cumulative sum), so each is one numpy reduction over the runs instead of a groupby; a start date
    missing (which ``first`` would skip) takes the groupby."""
    numbers = spell.to_numpy()
    starts, ends = start.to_numpy(), end.to_numpy()
    if not len(numbers) or np.isnat(starts).any() or np.isnat(ends).any() or numbers[0] != 1 \
            or not np.all(np.diff(numbers) <= 1):
        return start.groupby(spell).transform("first"), end.groupby(spell).transform("max")
    heads = np.flatnonzero(np.diff(numbers, prepend=0))  # the first record of each spell
    run = numbers - 1
    first = pd.Series(starts[heads][run], index=start.index, name=start.name)
    latest = pd.Series(np.maximum.reduceat(ends.view("i8"), heads).view(ends.dtype)[run], index=end.index,
                       name=end.name)
    return first, latest


def _years_ago(ref: pd.Timestamp, years: int) -> pd.Timestamp:
    """The latest start date that gives ``years`` completed years of service at ``ref`` (start day included)."""
    return ref - pd.DateOffset(years=years) + DAY


def count(w: pd.DataFrame, ref_date: date, area_code: str, file: str, input_kind: str) -> rules.Components:
    """Count DfE's components (and the local-only ones) from the standard worker frame."""
    ref = pd.Timestamp(ref_date)
    start_year = _years_ago(ref, 1)
    c = rules.Components(area_code=area_code, period_start=start_year.date(), period_end=ref_date,
                         input_kind=input_kind, source_file=file, rows_used="")
    v = c.values

    la = _take(w, [k for k in w.columns if k not in ("row", "agency")], _by_person(w))  # only what is counted
    end = la.end.fillna(FAR)
    spell = _spells(la.pid, la.start, end)
    s_start, s_end = _spell_bounds(la.start, end, spell)
    active = (la.start <= ref) & (end > ref)
    starter = (la.start == s_start) & (s_start >= start_year) & (s_start <= ref)
    leaver = (end == s_end) & (s_end >= start_year) & (s_end <= ref)

    pid, spells = la.pid.to_numpy(), spell.to_numpy()  # both grouped: a person's (a spell's) records adjacent
    is_active, is_starter, is_leaver = active.to_numpy(), starter.to_numpy(), leaver.to_numpy()
    v["inpost_headcount"] = _distinct(pid[is_active])
    v["inpost_fte"] = la.fte[active].sum()
    v["starters_headcount"] = _distinct(spells[is_starter])
    v["starters_fte"] = la.fte[starter].sum()
    v["leavers_headcount"] = _distinct(spells[is_leaver])
    v["leavers_fte"] = la.fte[leaver].sum()
    missing = int((active & la.fte.isna()).sum())
    if missing:
        c.note("inpost_fte", f"{rules.few(missing)} record(s) in post with no FTE left out of FTE figures, as DfE does",
               False)

    ag = w.loc[w.agency, [k for k in ("start", "end", "fte", "cover", "cases") if k in w.columns]]  # what is counted
    ag_active = (ag.start.isna() | (ag.start <= ref)) & (ag.end.isna() | (ag.end > ref))
    v["agency_headcount"] = int(ag_active.sum())
    v["agency_fte"] = ag.fte[ag_active].sum()
    v["agency_over_12m_headcount"] = int((ag_active & (ag.start <= _years_ago(ref, 1))).sum())
    undated = int((ag_active & ag.start.isna()).sum())
    if undated:
        c.note("agency_over_12m_headcount", f"{rules.few(undated)} agency record(s) in post without a start date "
               "counted as under 12 months", False)
    if "cover" in w:
        covering = ag_active & ag.cover
        v["agency_cover_fte"] = ag.fte[covering].sum()
        c.stand_ins["agency_cover_headcount"] = int(covering.sum())
        c.people["agency_cover_fte"] = int(covering.sum())

    if "cases" in w:
        holders_la = active & (la.cases >= 1) & (la.fte > 0)
        holders_ag = ag_active & (ag.cases >= 1) & (ag.fte > 0)
        v["cases"] = la.cases[holders_la].sum() + ag.cases[holders_ag].sum()
        v["case_holders_fte"] = la.fte[holders_la].sum() + ag.fte[holders_ag].sum()
        per_worker = pd.concat([la.cases[holders_la].groupby(la.pid[holders_la]).sum(), ag.cases[holders_ag]])
        c.people["cases"] = c.people["case_holders_fte"] = len(per_worker)
        c.contributors["cases"] = (int((per_worker > 0).sum()), float(per_worker.max()) if len(per_worker) else 0.0)
        band = np.searchsorted([18.5, 24.5], per_worker.to_numpy())
        ag_band = np.searchsorted([18.5, 24.5], ag.cases[holders_ag].to_numpy())
        for i, name in enumerate(CASELOAD_BANDS):
            v[f"caseload_{name}_headcount"] = int((band == i).sum())
            c.agency_parts[f"caseload_{name}_headcount"] = int((ag_band == i).sum())
        c.agency_parts["case_holders_fte"] = float(ag.fte[holders_ag].sum())

    if "wdl" in w:
        v["working_days_lost_fte"] = la.wdl[active].sum()
        c.people["working_days_lost_fte"] = v["inpost_headcount"]
        lost = la.wdl[active].groupby(la.pid[active]).sum()
        c.contributors["working_days_lost_fte"] = (int((lost > 0).sum()), float(lost.max()) if len(lost) else 0.0)
        unknown = int((active & la.wdl.isna()).sum())
        if unknown:
            c.note("working_days_lost_fte", f"{rules.few(unknown)} record(s) in post with no working days lost "
                   "counted as 0")

    # Local-only measures: service, stability, post-qualifying experience, cohorts, reasons and origins.
    people_in_post = _earliest_per_run(s_start.to_numpy()[is_active], pid[is_active], dropna=False)
    edges = [_years_ago(ref, k) for k in (2, 5, 10, 20, 30)]
    _bands(v, "service", "years_headcount", SERVICE_BANDS, people_in_post, edges)
    v["stable_headcount"] = int((people_in_post <= _years_ago(ref, 1).to_datetime64()).sum())
    for years in (2, 5):
        v[f"stable_{years}y_headcount"] = int((people_in_post <= _years_ago(ref, years).to_datetime64()).sum())
    if "qual" in w:
        qual = _earliest_per_run(la.qual.to_numpy()[is_active], pid[is_active])
        _bands(v, "pqe", "years_headcount", PQE_BANDS, qual, [ref - pd.DateOffset(years=k) for k in (2, 5, 10)])
        unknown = len(people_in_post) - len(qual)
        if unknown:
            for b in PQE_BANDS:
                c.note(f"pqe_{b}_years_headcount", f"{rules.few(unknown)} in post without a qualification date "
                       "left out", False)
    if "qual" in w:  # experienced (2 years or more since qualifying) and newly qualified starters and leavers
        for flow, rows, day in (("starters", is_starter, la.start), ("leavers", is_leaver, end)):
            at = np.flatnonzero(rows)
            at = at[_runs(spells[at])]  # each spell's first record: what groupby(spell).first() takes
            nq = (la.qual.iloc[at] > day.iloc[at] - pd.DateOffset(years=2)).to_numpy()
            known = la.qual.iloc[at].notna().to_numpy()
            v[f"{flow}_nq_headcount"] = int((nq & known).sum())
            v[f"{flow}_experienced_headcount"] = int((~nq & known).sum())
    if "asye_start" in w:
        _asye(v, la, spell, active, leaver, end, start_year, ref)
    if "reason" in w:
        reasons = la.reason[leaver].groupby(spell[leaver]).first()
        _codes(v, "leavers_reason", REASONS, reasons)
        if "reason_local" in w:
            _unmapped(c, "leavers_reason", la.reason_local[leaver].groupby(spell[leaver]).first(),
                      w.attrs.get("reason_local", []))
    if "origin" in w:
        origins = la.origin[starter].groupby(spell[starter]).first()
        _codes(v, "starters_origin", ORIGINS, origins)
        if "origin_local" in w:
            _unmapped(c, "starters_origin", la.origin_local[starter].groupby(spell[starter]).first(),
                      w.attrs.get("origin_local", []))
        newly_qualified = _first_is(la.origin, spells, "1")
        for months, years in (("12m", 1), ("24m", 2)):
            cohort = newly_qualified & (s_start > _years_ago(ref, years + 1) - DAY) & (s_start <= ref - pd.DateOffset(years=years))
            cohort &= la.start == s_start
            retained = cohort.copy()  # a date offset is costly per row: only the cohort's rows
            retained[cohort] = (s_end[cohort] >= s_start[cohort] + pd.DateOffset(years=years) - DAY).to_numpy()
            if cohort.any():
                v[f"nqsw_cohort_{months}_headcount"] = spell[cohort].nunique()
                v[f"nqsw_retained_{months}_headcount"] = spell[retained].nunique()
                c.note(f"nqsw_cohort_{months}_headcount", "the cohort is complete only if the extract keeps every "
                       "newly qualified starter of that year, including those who left before this year", False)
    c.rows_used = f"{rules.band(len(w))} records"
    return c


def _asye(v: dict, la: pd.DataFrame, spell: pd.Series, active: pd.Series, leaver: pd.Series, end: pd.Series,
          start_year: pd.Timestamp, ref: pd.Timestamp) -> None:
    """The newly qualified (ASYE) funnel, per person: registered and completed in the period, deferred at the
    snapshot, and leavers who left before completing or within 24 months after completing."""
    started, done = la.asye_start, la.asye_end if "asye_end" in la else pd.Series(pd.NaT, index=la.index)
    pid = la.pid.to_numpy()
    per = lambda s, rows: pd.Series(_earliest_per_run(s.to_numpy()[rows.to_numpy()], pid[rows.to_numpy()]))  # noqa: E731
    v["asye_registered_headcount"] = int(per(started, started.notna()).between(start_year, ref).sum())
    v["asye_completed_headcount"] = int(per(done, done.notna()).between(start_year, ref).sum())
    deferred = la.asye_deferred if "asye_deferred" in la else pd.Series(False, index=la.index)
    v["asye_deferred_headcount"] = _distinct(la.pid.to_numpy()[(active & started.notna() & done.isna() & deferred).to_numpy()])
    on_leaving = started.notna() & leaver
    before = on_leaving & (done.isna() | (done > end))
    after = on_leaving & done.notna() & (done <= end)
    after[after] = (done[after] > end[after] - pd.DateOffset(years=2)).to_numpy()  # only these rows: offsets cost
    spells, before, after = spell.to_numpy(), before.to_numpy(), after.to_numpy()
    v["asye_left_before_completing_headcount"] = _distinct(spells[before])
    v["asye_left_after_completing_headcount"] = _distinct(spells[after & ~np.isin(spells, spells[before])])


def _unmapped(c: rules.Components, prefix: str, local: pd.Series, declared: list[str]) -> None:
    """The people whose category the mapping keeps as the council's own: counted apart; the caveat names every
    category the mapping keeps (whether used or not), so that it tells nothing about who left or started."""
    c.values[f"{prefix}_unmapped_headcount"] = int((local != "").sum())
    if declared:
        c.note(f"{prefix}_unmapped_headcount", "the council's own categories, not mapped to a DfE code: "
               + ", ".join(declared), True)


def _bands(v: dict, prefix: str, suffix: str, names: list[str], since: np.ndarray, edges: list[pd.Timestamp]):
    """Count people by completed years since a date (datetime64 array); ``edges`` are the latest dates for each
    band edge. A person's band is the number of edges on or after their date (none for no date), by one binary
    search per person."""
    since = np.asarray(since)
    marks = np.sort(np.array([pd.Timestamp(e).to_datetime64() for e in edges]).astype(since.dtype))
    band = len(marks) - np.searchsorted(marks, since, side="left")  # NaT sorts last: band 0, as NaT <= e is False
    counts = np.bincount(band, minlength=len(names))
    for i, name in enumerate(names):
        v[f"{prefix}_{name}_{suffix}"] = int(counts[i])


def _take(w: pd.DataFrame, columns: list[str], order: np.ndarray) -> pd.DataFrame:
    """``w[columns].take(order)`` with a fresh RangeIndex: one numpy take per column (categoricals by their
    codes), without pandas' checks of the positions (``order`` comes from ``_by_person``)."""
    taken = {}
    for k in columns:
        s = w[k]
        if isinstance(s.dtype, pd.CategoricalDtype):
            taken[k] = pd.Categorical.from_codes(s.cat.codes.to_numpy()[order], dtype=s.dtype)
        else:
            taken[k] = s.to_numpy()[order]
    out = pd.DataFrame(taken, columns=columns, copy=False)
    out.attrs = dict(w.attrs)
    return out


def _runs(keys: np.ndarray) -> np.ndarray:
    """The first position of each run of equal values in ``keys``."""
    if not len(keys):
        return np.zeros(0, dtype=np.intp)
    return np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))


def _distinct(keys: np.ndarray) -> int:
    """``nunique()`` of keys whose equal values are adjacent (``count``'s person codes and spell numbers, sorted)."""
    return len(_runs(keys))


def _earliest_per_run(dates: np.ndarray, keys: np.ndarray, dropna: bool = True) -> np.ndarray:
    """``pd.Series(dates).groupby(keys).min()`` (then ``dropna()``) for datetime64 ``dates`` and keys whose equal
    values are adjacent: the earliest date of each run, NaT skipped (NaT for a run with none), by one
    ``np.minimum.reduceat`` instead of a groupby."""
    heads = _runs(keys)
    if not len(heads):
        return dates[:0]
    high = np.iinfo(np.int64).max
    ticks = np.where(np.isnat(dates), high, dates.view("i8"))
    first = np.minimum.reduceat(ticks, heads)
    if dropna:
        return first[first != high].view(dates.dtype)
    return np.where(first == high, np.iinfo(np.int64).min, first).view(dates.dtype)


def _codes(v: dict, prefix: str, names: list[str], codes: pd.Series):
    """Every code's count, zeros included: a code left out would read as zero anyway."""
    counts = codes[codes != ""].value_counts()
    for i, name in enumerate(names):
        v[f"{prefix}_{name}_headcount"] = int(counts.get(str(i + 1), 0))
