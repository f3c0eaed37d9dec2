"""Exam results and the certificates built on them: 6AP, 3AC, baccalaureate.

Exam marks (`exam_results`) are imported by the centre and reach each school
on sync. Each exam's average weights the subjects by the level's
`exam_coefficient` for that year (the regional, national or provincial exam)
or, for the local (school) exam, by the continuous-assessment coefficient:
no published weights for the local exam were found (README, "Marking rules").
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import sqlite_utils

from .evaluation import SubjectRule, rules_for
from .rules import (
    PASS_MARK,
    baccalaureate,
    certificate_3apic,
    certificate_6ap,
    from_hundredths,
    round2,
)

EXAMS = ("local", "regional", "national", "provincial", "makeup")


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def exam_marks(db: sqlite_utils.Database, pupil: str, year: str | None = None) -> dict[tuple[str, str], Decimal]:
    """(exam, subject) -> mark, for one year or (year None) the latest of every year."""
    sql = "SELECT exam, subject, score FROM exam_results WHERE pupil = ?"
    args: list[Any] = [pupil]
    if year is not None:
        sql += " AND year = ?"
        args.append(year)
    return {(e, s): from_hundredths(v) for e, s, v in db.execute(sql + " ORDER BY year", args).fetchall()}


def weighted(marks: dict[str, Decimal], weights: dict[str, int]) -> Decimal | None:
    """Coefficient-weighted mean of the subjects that have both a mark and a weight."""
    pairs = [(marks[s], w) for s, w in weights.items() if s in marks and w]
    total = sum(w for _, w in pairs)
    if not total:
        return None
    return round2(sum((m * w for m, w in pairs), Decimal(0)) / total)


def _exam_weights(rules: dict[str, SubjectRule]) -> dict[str, int]:
    return {s: r.exam_coefficient for s, r in rules.items() if r.exam_coefficient}


def _level_of(db: sqlite_utils.Database, year: str, pupil: str) -> tuple[str, str, int, int] | None:
    """(level, cycle, year within the cycle, scale) of the pupil's class that year."""
    row = db.execute(
        "SELECT c.level, l.cycle, l.year, l.scale FROM enrolments e "
        "JOIN classes c ON c.school = e.school AND c.year = e.year AND c.code = e.class "
        "JOIN levels l ON l.code = c.level WHERE e.year = ? AND e.pupil = ?",
        [year, pupil],
    ).fetchone()
    return None if row is None else (row[0], row[1], int(row[2]), int(row[3]))


def certificate(db: sqlite_utils.Database, year: str, pupil: str, continuous: Decimal | None) -> dict[str, Any] | None:
    """The certificate of a pupil in an examined year (6AP, 3AC, 2BAC), with its parts;
    None for other years. ``continuous`` is the year's annual average."""
    found = _level_of(db, year, pupil)
    if found is None:
        return None
    level, cycle, level_year, scale = found
    rules = rules_for(db, year, level)
    marks = exam_marks(db, pupil, year)

    def of(exam: str) -> dict[str, Decimal]:
        return {s: v for (e, s), v in marks.items() if e == exam}

    combine: Callable[[Decimal, Decimal, Decimal], Decimal]
    if cycle == "primary" and level_year == 6:
        kind = "6ap"
        parts = {
            "continuous": continuous,
            "local": weighted(of("local"), {s: r.coefficient for s, r in rules.items()}),
            "provincial": weighted(of("provincial"), _exam_weights(rules)),
        }
        combine = certificate_6ap
    elif cycle == "college" and level_year == 3:
        kind = "3ac"
        parts = {
            "continuous": continuous,
            "local": weighted(of("local"), {s: r.coefficient for s, r in rules.items()}),
            "regional": weighted(of("regional"), _exam_weights(rules)),
        }
        combine = certificate_3apic
    elif cycle == "lycee" and level_year == 3:
        kind = "bac"
        national = of("national")
        makeup = of("makeup")
        # at the make-up session the better of the two marks counts, subject by subject
        best = {s: max(v, makeup.get(s, v)) for s, v in national.items()} | {
            s: v for s, v in makeup.items() if s not in national
        }
        parts = {
            "continuous": continuous,
            "regional": _bac_regional(db, pupil, year),
            "national": weighted(best, _exam_weights(rules)),
        }
        combine = baccalaureate
    else:
        return None
    missing = [name for name, value in parts.items() if value is None]
    a, b, c = parts.values()
    score = None if a is None or b is None or c is None else round2(combine(a, b, c))
    return {
        "kind": kind,
        "parts": {k: _num(v) for k, v in parts.items()},
        "missing": missing,
        "score": _num(score),
        "passed": None if score is None else score >= PASS_MARK[scale],
        "exams": {exam: {s: float(v) for s, v in sorted(of(exam).items())} for exam in EXAMS if of(exam)},
    }


def _bac_regional(db: sqlite_utils.Database, pupil: str, year: str) -> Decimal | None:
    """The regional exam of 1BAC: the latest year before ``year`` with regional marks,
    weighted by the exam coefficients of the pupil's level that year."""
    for (earlier,) in db.execute(
        "SELECT DISTINCT year FROM exam_results WHERE pupil = ? AND exam = 'regional' AND year < ? ORDER BY year DESC",
        [pupil, year],
    ).fetchall():
        marks = {s: v for (e, s), v in exam_marks(db, pupil, earlier).items() if e == "regional"}
        found = _level_of(db, earlier, pupil)
        if found is None:
            # the pupil's 1BAC class is not in this replica (another school): its
            # level is unknown, so the marks count equally
            return weighted(marks, dict.fromkeys(marks, 1))
        return weighted(marks, _exam_weights(rules_for(db, earlier, found[0])))
    return None
