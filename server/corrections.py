"""Directorate corrections: a mark changed at the centre, sent to the pupil's school on its next sync."""

from __future__ import annotations

import sqlite_utils

from domain import grades
from domain.errors import NotFound
from domain.pupils import Term


def correct_grade(db: sqlite_utils.Database, year: str, entry: grades.GradeEntry) -> str:
    """Record one mark for the school the pupil is enrolled in that year; returns that school's code."""
    row = db.execute("SELECT school FROM enrolments WHERE year = ? AND pupil = ?", [year, entry.pupil]).fetchone()
    if not row:
        raise NotFound(f"unknown pupil {entry.pupil} in {year}", code="unknown_pupil")
    school = str(row[0])
    grades.record_grades(db, Term(school, year), [entry])
    return school
