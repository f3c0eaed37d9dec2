"""Printable report cards (بيان النقط): one A4 page per pupil, Arabic, right to left.

`render_bulletins(store, pupils, semester)` returns one self-contained HTML
document (inline CSS, no external resource) for the CLI (`massar node
bulletin`) and the staff web pages alike. Numbers come from `domain.results`,
the same module as `massar node report`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import sqlite_utils

from domain import council
from domain.certificates import certificate
from domain.errors import InvalidInput, NotFound
from domain.pupils import Term, enrolment_of
from domain.results import ClassResults, Mark, SubjectResult
from domain.rules import mask_hours, passes, round2
from domain.semesters import closed_semesters

from ..store import NodeStore

__all__ = ["class_pupils", "render_bulletins", "semester_days"]

SEMESTER_NAMES = {1: "الدورة الأولى", 2: "الدورة الثانية"}
# Absences shown on a bulletin are those of its semester. No official text
# fixes the boundary; the second semester is taken to start on 1 February
# (documented in the README, "Massar files").
SECOND_SEMESTER_STARTS = (2, 1)  # month, day
CERTIFICATE_NAMES = {"6ap": "شهادة الدروس الابتدائية", "3ac": "شهادة السلك الإعدادي", "bac": "البكالوريا"}
CERTIFICATE_PARTS = {
    "continuous": "المراقبة المستمرة",
    "local": "الامتحان المحلي",
    "regional": "الامتحان الجهوي",
    "national": "الامتحان الوطني",
    "provincial": "الامتحان الإقليمي",
}
MIN_TEST_COLUMNS = 2


def semester_days(year: str, semester: int) -> tuple[str, str]:
    """First and last day (ISO) of a semester of the school year `2024/2025`."""
    start, end = (int(y) for y in year.split("/"))
    month, day = SECOND_SEMESTER_STARTS
    boundary = dt.date(end, month, day)
    if semester == 1:
        return f"{start}-09-01", (boundary - dt.timedelta(days=1)).isoformat()
    return boundary.isoformat(), f"{end}-08-31"


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).resolve().parent / "templates")),
        autoescape=jinja2.select_autoescape(["html", "j2"], default_for_string=True, default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["mark"] = _fmt
    return env


def _fmt(value: Decimal | float | None) -> str:
    return "—" if value is None else f"{round2(Decimal(str(value))):.2f}"


def _cell(mark: Mark | None) -> dict[str, Any]:
    if mark is None:
        return {"text": "", "kind": "blank"}
    if mark.absent:
        return {"text": "غ.م" if mark.justified else "غ", "kind": "absent"}
    return {"text": _fmt(mark.score), "kind": "score"}


@dataclass
class _ClassData:
    code: str
    level: str
    level_name: str
    scale: int
    results: ClassResults
    first: ClassResults | None  # semester 1, for the annual average on a semester-2 bulletin
    tests: int  # test columns printed (the most any pupil of the class has, at least 2)
    stats: dict[str, str]  # the class's general average, min and max


def _general_stats(results: ClassResults) -> dict[str, str]:
    values = [a for a in results.averages.values() if a is not None]
    if not values:
        return {"average": _fmt(None), "min": _fmt(None), "max": _fmt(None)}
    return {
        "average": _fmt(sum(values, Decimal(0)) / len(values)),
        "min": _fmt(min(values)),
        "max": _fmt(max(values)),
    }


def class_pupils(store: NodeStore, class_code: str) -> list[str]:
    """Pupils enrolled in a class this year, by code (raises NotFound for an empty or unknown class)."""
    term = store.term
    code = class_code.strip().upper()
    rows = store.db.execute(
        "SELECT e.pupil FROM enrolments e JOIN pupils p ON p.code = e.pupil "
        "WHERE e.school = ? AND e.year = ? AND e.class = ? "
        "ORDER BY COALESCE(p.last_name_ar, p.last_name), COALESCE(p.first_name_ar, p.first_name), p.code",
        [term.school, term.year, code],
    ).fetchall()
    if not rows:
        raise NotFound(f"no pupil in class {code} at school {term.school} in {term.year}", code="unknown_class")
    return [r[0] for r in rows]


def _class_data(db: sqlite_utils.Database, term: Term, class_code: str, level: str, semester: int) -> _ClassData:
    scale, level_name = db.execute("SELECT scale, name_ar FROM levels WHERE code = ?", [level]).fetchone()
    results = ClassResults(db, term.school, term.year, class_code, level, semester)
    first = ClassResults(db, term.school, term.year, class_code, level, 1) if semester == 2 else None
    return _ClassData(
        class_code, level, level_name, int(scale), results, first, _test_columns(results), _general_stats(results)
    )


def _absences(db: sqlite_utils.Database, term: Term, pupil: str, semester: int) -> dict[str, int]:
    first, last = semester_days(term.year, semester)
    hours = unjustified = 0
    days = 0
    for mask, justified in db.execute(
        "SELECT hours, justified FROM absences WHERE school = ? AND pupil = ? AND day BETWEEN ? AND ?",
        [term.school, pupil, first, last],
    ).fetchall():
        days += 1
        hours += len(mask_hours(mask))
        unjustified += len(mask_hours(mask & ~justified))
    return {"days": days, "hours": hours, "unjustified": unjustified, "justified": hours - unjustified}


def _subject_rows(subjects: list[SubjectResult], results: ClassResults, tests: int) -> list[dict[str, Any]]:
    rows = []
    for s in subjects:
        by_number = {m.assessment: m for m in s.tests}
        stats = results.subject_stats(s.subject)
        rows.append(
            {
                "name": s.name_ar,
                "coefficient": s.coefficient,
                "tests": [_cell(by_number.get(n)) for n in range(1, tests + 1)],
                "activities": _cell(s.activities),
                "average": _fmt(s.average),
                "class_average": _fmt(stats["class_average"]),
                "class_min": _fmt(stats["class_min"]),
                "class_max": _fmt(stats["class_max"]),
                "remark": s.remark or "",
            }
        )
    return rows


def _test_columns(results: ClassResults) -> int:
    used = [m.assessment for rs in results.results.values() for s in rs for m in s.tests]
    return max([MIN_TEST_COLUMNS, *used])


def _pupil_page(store: NodeStore, data: _ClassData, pupil: str, semester: int, closed: set[int]) -> dict[str, Any]:
    db, term = store.db, store.term
    last, first, last_ar, first_ar, gender, born, place = db.execute(
        "SELECT last_name, first_name, last_name_ar, first_name_ar, gender, birth_date, birth_place "
        "FROM pupils WHERE code = ?",
        [pupil],
    ).fetchone()
    results = data.results
    average = results.averages.get(pupil)
    page: dict[str, Any] = {
        "code": pupil,
        "name": f"{last_ar} {first_ar}" if last_ar and first_ar else f"{last} {first}",
        "latin_name": f"{last} {first}" if last_ar and first_ar and (last, first) != (last_ar, first_ar) else "",
        "gender": gender,
        "birth_date": dt.date.fromisoformat(born).strftime("%d/%m/%Y") if born else "",
        "birth_place": place or "",
        "subjects": _subject_rows(results.results.get(pupil, []), results, data.tests),
        "average": _fmt(average),
        # An open semester's rank is not the director's to give yet (domain/semesters.py).
        "rank": results.rank(pupil) if semester in closed else None,
        "provisional": semester not in closed,
        "class_size": len(results.pupils),
        "absences": _absences(db, term, pupil, semester),
        "first_average": None,
        "annual": None,
        "decision": None,
        "council_note": "",
        "certificate": None,
    }
    if data.first is not None:
        s1 = data.first.averages.get(pupil)
        page["first_average"] = _fmt(s1)
        # Like the parents' page: the annual result waits for both closures.
        if s1 is not None and average is not None and {1, 2} <= closed:
            annual = round2((s1 + average) / 2)
            page["annual"] = _fmt(annual)
            page["certificate"] = certificate(db, term.year, pupil, annual)
            passed = passes(annual, data.scale)
            if passed is not None:
                page["decision"] = ("ناجح" if passed else "غير ناجح") + ("ة" if gender == "F" else "") + " (مقترح)"
    # The class council decides; the average only proposes (marked so until the council has met).
    decided = council.decision_of(db, term.year, pupil)
    if decided is not None:
        page["decision"] = council.word_ar(decided["decision"], gender) + " (قرار مجلس القسم)"
        page["council_note"] = decided["note"] or ""
    return page


def _school(store: NodeStore) -> dict[str, Any]:
    row = store.db.execute(
        "SELECT s.name, s.name_ar, s.commune, d.name_ar, a.name_ar FROM schools s "
        "LEFT JOIN directorates d ON d.code = s.directorate LEFT JOIN academies a ON a.code = d.academy "
        "WHERE s.code = ?",
        [store.school],
    ).fetchone()
    name, name_ar, commune, directorate, academy = row or (store.school, None, None, None, None)
    return {
        "code": store.school,
        "name": name_ar or name,
        "commune": commune or "",
        "directorate": directorate or "",
        "academy": academy or "",
        "year": store.term.year,
    }


def render_bulletins(store: NodeStore, pupils: list[str], semester: int) -> str:
    """One HTML document with a printed page per pupil, in the order given.

    Raises NotFound for a pupil not enrolled at this school this year and
    InvalidInput for a semester other than 1 or 2 or an empty list."""
    if semester not in (1, 2):
        raise InvalidInput("semester must be 1 or 2", code="bad_semester")
    if not pupils:
        raise InvalidInput("no pupil to print", code="no_pupils")
    db, term = store.db, store.term
    school = _school(store)
    classes: dict[str, _ClassData] = {}
    closed = closed_semesters(db, term.year, term.school)
    pages = []
    for code in pupils:
        enrolment = enrolment_of(db, term, code)
        data = classes.get(enrolment.class_code)
        if data is None:
            data = classes[enrolment.class_code] = _class_data(
                db, term, enrolment.class_code, enrolment.level, semester
            )
        pages.append({"pupil": _pupil_page(store, data, code, semester, closed), "klass": data})
    return (
        _environment()
        .get_template("bulletin.html.j2")
        .render(
            school=school,
            semester=semester,
            semester_name=SEMESTER_NAMES[semester],
            pages=pages,
            printed_on=dt.date.today().isoformat(),
            certificate_names=CERTIFICATE_NAMES,
            certificate_parts=CERTIFICATE_PARTS,
        )
    )
