"""The statutory CSWW census return (XML, reference section 7), read into the worker frame and counted on the
same rules as an HR extract, so a council sees its figures months before DfE publishes them.

Items read: Header/CollectionDetails (Year, ReferenceDate), Header/Source/LEA, LALevelVacancies
(NumberOfVacancies, NoAgencyFTE, NoAgencyHeadcount) and each CSWWWorker's AgencyWorker, SWENo, FTE, FTE30,
RoleStartDate, RoleEndDate, StartOrigin, ReasonLeave, Cases30 and WorkingDaysLost. Element order is not relied
on. Every coded item of a worker record (``OrgRole``, ``LeaverDestination``, ``QualLevel`` ...: the code lists of
``categories.CENSUS_CODES``, reference sections 7.3-7.4) is checked against its list, counted or not. Problems
name the worker record by its position (row N = the Nth CSWWWorker) and the element, with a coded item's value
when it is code-shaped (``categories.shown_code``) and no other worker value; XML that is not well-formed is
placed by line and character.
"""

from __future__ import annotations

import codecs
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import date
from pathlib import Path

import pandas as pd

from . import categories, parse, rules, workers
from .problems import InputError, Problem

WORKER_ITEMS = ["AgencyWorker", "SWENo", "FTE", "FTE30", "RoleStartDate", "RoleEndDate", "StartOrigin",
                "ReasonLeave", "Cases30", "WorkingDaysLost", "OrgRole"]
NAMES = {"worker_id": "SWENo", "agency": "AgencyWorker", "fte": "FTE", "start_date": "RoleStartDate",
         "end_date": "RoleEndDate", "start_origin": "StartOrigin", "leave_reason": "ReasonLeave",
         "cases": "Cases30", "working_days_lost": "WorkingDaysLost", "role": "OrgRole"}
RECORD = "CSWWWorker"  # a column holding each record's every item (``_items``), compared for repeats only
# Coded items not counted, checked against their code lists (``categories.CENSUS_CODES``).
CHECKED_ONLY = [k for k in categories.CENSUS_CODES if k not in WORKER_ITEMS]
DECLARED = re.compile(rb"^(?:\xef\xbb\xbf)?<\?xml[^>]*encoding=[\"']([A-Za-z0-9._-]+)[\"']")
LA_ITEMS = {"NumberOfVacancies": "vacancy_fte", "NoAgencyFTE": "agency_cover_fte", "NoAgencyHeadcount": "agency_cover_headcount"}


def looks_like_xml(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(512)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        head = head[:len(head) // 2 * 2].decode("utf-16", errors="ignore").encode("utf-8")
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def parse_xml(path: Path):
    """The root element of an XML file saved in UTF-8 (with or without a byte-order mark), UTF-16 (with one),
    the encoding its declaration names, or Windows-1252 mislabelled as UTF-8. Raises ``InputError``: XML that is
    not well-formed is placed by line and character (counted from 1, as a text editor shows them), not by row."""
    data = path.read_bytes()
    declared = DECLARED.match(data)
    text = parse.decode(path, data, locate=_xml_record, declared=declared.group(1).decode("ascii") if declared else None,
                        advice="export the return again from the census software, or save it as UTF-8 in a text "
                               "editor (e.g. Notepad: File > Save As > Encoding UTF-8)")
    text = re.sub(r"^\ufeff?<\?xml[^>]*\?>", "", text)  # it named the bytes' encoding; the text is decoded now
    try:
        return ET.fromstring(text)
    except ET.ParseError as exc:  # a line and character of the text, not a worker record's row and element
        line, offset = exc.position
        reason = re.sub(r": line \d+, column \d+$", "", str(exc))
        raise InputError([Problem(str(path), f"not well-formed XML at line {line}, character {offset + 1}: {reason}",
                                  None, None, None)]) from None


def _xml_record(data: bytes, pos: int) -> tuple[int | None, str | None]:
    """(worker record number, element) of the byte at ``pos``: the row and column of a census return."""
    before = data[:pos]
    tag = re.findall(rb"<([A-Za-z_][\w.-]*)[^<>/]*>[^<]*$", before)
    record = before.count(b"<CSWWWorker")
    return (record or None), tag[-1].decode("ascii") if tag else None


def read(path: Path, la: str | None, min_count: int, salt: bytes | None, warnings: list[Problem] | None = None,
         **match) -> list:
    """Align a census return. A CSWWWorker record repeating an earlier one exactly (every item, read or not) is a
    copy: counted once, with a warning added to ``warnings`` naming both records by number and a caveat on every
    figure (``workers.repeat_notes``). Records of one SWENo that differ in any item are that person's several
    posts (reference section 6.2): one person in headcounts, FTE summed per record. Raises ``InputError``."""
    file = str(path)
    root = parse_xml(path)
    problems: list[Problem] = []
    if root.tag != "Message":
        raise InputError([Problem(file, "not a CSWW census return: the root element must be Message", None, root.tag, None)])
    area = _text(root, "Header/Source/LEA")
    if area and not re.fullmatch(r"\d{3}", area):
        problems.append(Problem(file, "must be the 3-digit DfE LA number", None, "LEA", area))
    elif area and rules.area_problem(area):
        problems.append(Problem(file, rules.area_problem(area), None, "LEA", area))
    ref = _reference_date(root, file, problems)
    lea = area
    if area and ref and re.fullmatch(r"\d{3}", area):
        area = rules.joint_area(area, ref)
    if la is not None and lea and rules.normalise_area(la) not in {lea, area}:
        problems.append(Problem(file, f"does not match --la {la}", None, "LEA", lea))
    if not area and la is not None:
        area = rules.normalise_area(la)
        if rules.area_problem(area):
            problems.append(Problem(file, f"--la {la}: {rules.area_problem(area)}", None, "LEA", None))
    if not area:
        problems.append(Problem(file, "missing: give the council with --la", None, "LEA", None))

    block = root.find("LALevelVacancies")
    la_level = pd.DataFrame([{k: _text(block, k) for k in LA_ITEMS}] if block is not None else [], columns=list(LA_ITEMS))
    if block is None:
        problems.append(Problem(file, "missing", None, "LALevelVacancies", None))
    else:
        for k in LA_ITEMS:
            if la_level.at[0, k] == "":
                problems.append(Problem(file, "missing", None, f"LALevelVacancies/{k}", None))
    found: list[Problem] = []  # the LA-level block is no worker record: no row, its element's path
    la_values = {k: parse.numbers(la_level, k, file, found, integer=k == "NoAgencyHeadcount") for k in LA_ITEMS}
    problems += [replace(p, row=None, column=f"LALevelVacancies/{p.column}") for p in found]

    records = root.findall("CSWWWorker")
    if not records:
        problems.append(Problem(file, "no worker records", None, "CSWWWorker", None))
    df = pd.DataFrame([{k: _text(r, k) for k in WORKER_ITEMS} | {RECORD: _items(r)} for r in records],
                      columns=[*WORKER_ITEMS, RECORD])
    df.index = range(1, len(df) + 1)
    coded = pd.DataFrame([{k: _first_off_list(r, k) for k in CHECKED_ONLY} for r in records], columns=CHECKED_ONLY,
                         index=df.index)
    categories.check_census_codes(coded, file, problems)
    # Leavers carry FTE 0 in the census; their FTE is read from FTE30 (not verified against DfE's guide).
    leaver_zero = workers.leaver_fte_from_fte30(df, "FTE", "RoleEndDate")
    frame = workers.typed(df, NAMES, file, pd.Timestamp(ref), problems, salt, end_within_year=True) if ref else None
    if problems:
        raise InputError(parse.masked(problems, first_record=1, codes=set(categories.CENSUS_CODES)))
    c = workers.count(frame, ref, area, file, "census_xml")
    workers.repeat_notes(file, c, frame.attrs.get("repeats", []), "CSWWWorker record", warnings)
    if area != lea:
        c.general.append((rules.joint_caveat(lea, area), False))
    for k, cid in LA_ITEMS.items():
        value = float(la_values[k].iloc[0])
        (c.stand_ins if cid == "agency_cover_headcount" else c.values)[cid] = value
    c.basis["vacancy_fte"] = "from LALevelVacancies/NumberOfVacancies"
    c.basis["agency_cover_fte"] = "from LALevelVacancies/NoAgencyFTE"
    c.note("agency_cover_fte", "read as agency workers covering vacancies (NoAgencyFTE); that reading is not "
           "confirmed against DfE's guide", False)
    if leaver_zero.any():
        c.note("leavers_fte", "leavers' FTE read from FTE30, since the census records FTE 0 for leavers; which "
               "item DfE uses is not verified", False)
    c.rows_used = f"{rules.band(len(df))} CSWWWorker records"
    return rules.build(c, min_count, **match)


def _items(record) -> str:
    """Every item of a worker record, read or not, as one text (element order aside): two records with the same
    text are the same record twice (``workers.typed`` counts such a copy once)."""
    return "\x1f".join(sorted(f"{e.tag}\x1e{(e.text or '').strip()}" for e in record))


def _first_off_list(record, item: str) -> str:
    """The text of ``item`` in a worker record: of its first occurrence not in the item's code list (items such
    as ``Absat30Sept``, ``ReasonAbsence`` and ``CFKSSstatus`` may repeat, reference section 7.3), else of its
    first; "" when absent."""
    texts = [(e.text or "").strip() for e in record.findall(item)]
    allowed = categories.CENSUS_CODES[item] | {""}
    return next((t for t in texts if t not in allowed), texts[0] if texts else "")


def _text(node, path: str) -> str:
    found = node.find(path) if node is not None else None
    return (found.text or "").strip() if found is not None else ""


def _reference_date(root, file: str, problems: list[Problem]) -> date | None:
    raw_ref, raw_year = _text(root, "Header/CollectionDetails/ReferenceDate"), _text(root, "Header/CollectionDetails/Year")
    if raw_ref:
        try:
            ref = date.fromisoformat(raw_ref)
        except ValueError:
            problems.append(Problem(file, "not a date (YYYY-MM-DD)", None, "ReferenceDate", raw_ref))
            return None
        if raw_year and raw_year != str(rules.reporting_year(ref)):
            problems.append(Problem(file, f"does not agree with ReferenceDate {raw_ref}, which is in the census year "
                                    f"ending 30 September {rules.reporting_year(ref)}; correct one of them", None,
                                    "Year", raw_year))
        return ref
    if re.fullmatch(r"\d{4}", raw_year):
        return rules.dfe_year(int(raw_year))[1]
    problems.append(Problem(file, "no ReferenceDate and no four-digit Year in the header", None, "Year", raw_year or None))
    return None
