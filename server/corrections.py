"""Directorate corrections: a mark changed at the centre, sent to the pupil's school on its next sync."""

from __future__ import annotations

import sqlite_utils

from domain import grades
from domain.errors import NotFound
from domain.pupils import Term


def correct_grade(db: sqlite_utils.Database, year: str, entry: grades.GradeEntry) -> str:
    """Record one mark for the school the pupil is enrolled in that year; returns that school's code."""
    # A mark already recorded stays its school's (a moved pupil's history); a new one is his current school's.
    row = (
        db.execute(
            "SELECT school FROM grades WHERE year = ? AND pupil = ? AND subject = ? AND semester = ? AND assessment = ?",
            [year, entry.pupil, entry.subject, entry.semester, entry.assessment],
        ).fetchone()
        or db.execute(
            "SELECT e.school FROM enrolments e WHERE e.year = ? AND e.pupil = ? "
            "ORDER BY e.school = (SELECT p.school FROM pupils p WHERE p.code = e.pupil) DESC, e.school LIMIT 1",
            [year, entry.pupil],
        ).fetchone()
    )
    if not row:
        raise NotFound(f"unknown pupil {entry.pupil} in {year}", code="unknown_pupil")
    school = str(row[0])
    grades.record_grades(db, Term(school, year), [entry])
    return school
