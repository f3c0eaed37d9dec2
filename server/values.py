"""The values a school pushes, checked as the node checks what a person types.

The wire and the schema's CHECKs only see types and ranges. A school's node
also refuses a malformed pupil code, a school year that is not two
consecutive years, a subject or level the centre never published, and a mark
above the scale of the pupil's class: the centre refuses the same changes,
each alone (`invalid_value`, `out_of_scale`), before anything is written;
the rest of the push applies. Only distinct values are looked up,
so a semester's bulk upload costs a handful of set lookups.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import groupby
from operator import attrgetter, itemgetter

import sqlite_utils

from domain.codes import CLASS_CODE, MASSAR_CODE, PROVISIONAL_CODE, SCHOOL_YEAR
from protocol.records import Change
from protocol.tables import BY_NAME, TABLES, ColumnType

from .keyset import KEYS, joined

_CHUNK = 400


def _columns(name: str) -> dict[str, int]:
    """table -> index of its column called `name`, for the school-owned tables that have one."""
    return {t.name: t.column_names.index(name) for t in TABLES if not t.national and name in t.column_names}


_YEAR = _columns("year")
_PUPIL = {**_columns("pupil"), "pupils": BY_NAME["pupils"].column_names.index("code")}
_SUBJECT = _columns("subject")
_CLASS_CODE = BY_NAME["classes"].column_names.index("code")
_CLASS_LEVEL = BY_NAME["classes"].column_names.index("level")


def _good_year(year: object) -> bool:
    m = SCHOOL_YEAR.match(year) if isinstance(year, str) else None
    return bool(m) and int(m.group(2)) == int(m.group(1)) + 1  # type: ignore[union-attr]


def _good_pupil(code: object) -> bool:
    return isinstance(code, str) and bool(MASSAR_CODE.match(code) or PROVISIONAL_CODE.match(code))


Refuse = Callable[[Change, str, str], None]


def check_values(db: sqlite_utils.Database, changes: Sequence[Change], refuse: Refuse) -> None:
    """Refuse (`invalid_value`) each change holding a value the node would have refused; the rest goes on.

    Distinct values are judged once; the changes are walked again only when one is bad."""
    years: set[object] = set()
    pupils: set[object] = set()
    subjects: set[object] = set()
    levels: set[object] = set()
    for table, group in groupby(changes, key=attrgetter("table")):
        rows = [c.row for c in group if c.row is not None]
        if table in _YEAR:
            years.update(map(itemgetter(_YEAR[table]), rows))
        if table in _PUPIL:
            pupils.update(map(itemgetter(_PUPIL[table]), rows))
        if table in _SUBJECT:
            subjects.update(map(itemgetter(_SUBJECT[table]), rows))
        if table == "classes":
            levels.update(map(itemgetter(_CLASS_LEVEL), rows))
    bad_years = {y for y in years if not _good_year(y)}
    bad_pupils = {p for p in pupils if not _good_pupil(p)}
    bad_subjects = subjects - _known(db, "subjects", subjects)
    bad_levels = levels - _known(db, "levels", levels)
    classes = "classes" in _tables(changes)
    if not (bad_years or bad_pupils or bad_subjects or bad_levels or classes):
        return
    for c in changes:
        reason = _problem(c, bad_years, bad_pupils, bad_subjects, bad_levels)
        if reason:
            refuse(c, "invalid_value", f"{c.table} {_shown(list(c.key))}: {reason}")


def _tables(changes: Sequence[Change]) -> set[str]:
    return set(map(attrgetter("table"), changes))


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:80] + "…"


def _problem(c: Change, years: set, pupils: set, subjects: set, levels: set) -> str | None:
    row, t = c.row, c.table
    if row is None:
        return None
    if t in _YEAR and row[_YEAR[t]] in years:
        return f"malformed school year {_shown(row[_YEAR[t]])} (e.g. 2026/2027)"
    if t in _PUPIL and row[_PUPIL[t]] in pupils:
        return f"malformed pupil code {_shown(row[_PUPIL[t]])} (a capital letter and nine digits, or TMP-...)"
    if t in _SUBJECT and row[_SUBJECT[t]] in subjects:
        return f"unknown subject {_shown(row[_SUBJECT[t]])}"
    if t == "classes":
        code, level = row[_CLASS_CODE], row[_CLASS_LEVEL]
        if level in levels:
            return f"unknown level {_shown(level)}"
        m = CLASS_CODE.match(code) if isinstance(code, str) else None
        if not m or m.group(1) != level:
            return f"class {_shown(code)} is not a class code of level {_shown(level)}"
    return None


def _known(db: sqlite_utils.Database, table: str, wanted: set[object]) -> set[object]:
    codes = [c for c in wanted if isinstance(c, str)]
    found: set[object] = set()
    for start in range(0, len(codes), _CHUNK):
        part = codes[start : start + _CHUNK]
        found.update(
            r[0] for r in db.execute(f"SELECT code FROM {table} WHERE code IN ({', '.join('?' * len(part))})", part)
        )
    return found


def enrolments_out_of_scale(db: sqlite_utils.Database, enrolments: Sequence[tuple]) -> list[tuple[tuple, str]]:
    """Enrolments (key, reason) that put a pupil whose marks are stored in a class of a smaller scale.

    A mark is checked against the scale when it arrives (ingest's grade check), but the
    pupil's enrolment may arrive in a later push: a 15 in a /10 class is refused then."""
    spec = BY_NAME["enrolments"]
    school_i, year_i, pupil_i = (spec.column_names.index(c) for c in ("school", "year", "pupil"))
    keys = [(r[school_i], r[year_i], r[pupil_i]) for r in enrolments]
    out: list[tuple[tuple, str]] = []
    for school, year, pupil, subject, score, scale in joined(
        db,
        f"SELECT e.school, g.year, g.pupil, g.subject, MAX(g.score), l.scale FROM {KEYS} CROSS JOIN enrolments e "
        "JOIN classes c ON c.school = e.school AND c.year = e.year AND c.code = e.class "
        "JOIN levels l ON l.code = c.level "
        "JOIN grades g ON g.year = e.year AND g.pupil = e.pupil "
        "WHERE e.school = p.c0 AND e.year = p.c1 AND e.pupil = p.c2 AND g.score > l.scale * 100 "
        # every selected column grouped (PostgreSQL asks it); one reason per enrolment is kept below
        "GROUP BY e.school, g.year, g.pupil, g.subject, l.scale ORDER BY e.school, g.year, g.pupil, g.subject",
        keys,
        (ColumnType.STR,) * 3,
    ):
        if out and out[-1][0] == (school, year, pupil):
            continue
        out.append(
            (
                (school, year, pupil),
                f"score {score / 100} of {pupil} in {subject} is out of the scale 0-{scale} of the class "
                "the pupil is now enrolled in",
            )
        )
    return out
