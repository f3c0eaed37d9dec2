"""The values a school pushes, checked as the node checks what a person types.

The wire and the schema's CHECKs only see types and ranges. A school's node
also refuses a malformed pupil code, a school year that is not two
consecutive years, a subject or level the centre never published, and a mark
above the scale of the pupil's class: the centre refuses the same, for the
whole push, before anything is written. Only distinct values are looked up,
so a semester's bulk upload costs a handful of set lookups.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby
from operator import attrgetter, itemgetter

import sqlite_utils

from domain.codes import CLASS_CODE, MASSAR_CODE, PROVISIONAL_CODE, SCHOOL_YEAR
from protocol.records import Change
from protocol.tables import BY_NAME, TABLES

from .errors import InvalidRow

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


def check_values(db: sqlite_utils.Database, changes: Sequence[Change]) -> None:
    """InvalidRow naming the first value the node would have refused; nothing is written before."""
    years: set[object] = set()
    pupils: set[object] = set()
    subjects: dict[object, Change] = {}
    levels: dict[object, Change] = {}
    for table, group in groupby(changes, key=attrgetter("table")):
        kept = [c for c in group if c.row is not None]
        rows = [c.row for c in kept]
        if table in _YEAR:
            years.update(map(itemgetter(_YEAR[table]), rows))
        if table in _PUPIL:
            pupils.update(map(itemgetter(_PUPIL[table]), rows))
        if table in _SUBJECT:
            i = _SUBJECT[table]
            for c in kept:
                subjects.setdefault(c.row[i], c)  # type: ignore[index]
        if table == "classes":
            for c in kept:
                code, level = c.row[_CLASS_CODE], c.row[_CLASS_LEVEL]  # type: ignore[index]
                m = CLASS_CODE.match(code) if isinstance(code, str) else None
                if not m or m.group(1) != level:
                    raise InvalidRow(f"class {str(code)[:40]!r} is not a class code of level {str(level)[:40]!r}")
                levels.setdefault(level, c)
    for year in years:
        if not _good_year(year):
            raise InvalidRow(f"malformed school year {str(year)[:40]!r} (e.g. 2026/2027)")
    for code in pupils:
        if not _good_pupil(code):
            raise InvalidRow(f"malformed pupil code {str(code)[:40]!r} (a capital letter and nine digits, or TMP-...)")
    _known(db, "subjects", subjects, "subject")
    _known(db, "levels", levels, "level")


def _known(db: sqlite_utils.Database, table: str, wanted: dict[object, Change], what: str) -> None:
    codes = list(wanted)
    for start in range(0, len(codes), _CHUNK):
        part = codes[start : start + _CHUNK]
        found = {
            r[0]
            for r in db.execute(
                f"SELECT code FROM {table} WHERE code IN ({', '.join('?' * len(part))})", part
            ).fetchall()
        }
        for code in part:
            if code not in found:
                c = wanted[code]
                raise InvalidRow(f"{c.table} {list(c.key)[:4]}: unknown {what} {str(code)[:40]!r}")


def check_enrolment_scales(db: sqlite_utils.Database, enrolments: Sequence[tuple]) -> None:
    """Marks already stored for pupils now enrolled in a class: each within that class's scale.

    A mark is checked against the scale when it arrives (ingest's grade check), but the
    pupil's enrolment may arrive in a later push: a 15 in a /10 class is refused then."""
    spec = BY_NAME["enrolments"]
    year_i, pupil_i = spec.column_names.index("year"), spec.column_names.index("pupil")
    keys = [(r[year_i], r[pupil_i]) for r in enrolments]
    for start in range(0, len(keys), _CHUNK):
        part = keys[start : start + _CHUNK]
        values = ", ".join(["(?, ?)"] * len(part))
        bad = db.execute(
            "SELECT g.pupil, g.subject, g.score, l.scale FROM grades g "
            "JOIN enrolments e ON e.year = g.year AND e.pupil = g.pupil "
            "JOIN classes c ON c.school = e.school AND c.year = e.year AND c.code = e.class "
            "JOIN levels l ON l.code = c.level "
            f"WHERE (g.year, g.pupil) IN (VALUES {values}) AND g.score > l.scale * 100 LIMIT 1",
            [v for k in part for v in k],
        ).fetchone()
        if bad:
            raise InvalidRow(
                f"score {bad[2] / 100} of {bad[0]} in {bad[1]} is out of the scale 0-{bad[3]} of the class "
                "the pupil is now enrolled in"
            )
