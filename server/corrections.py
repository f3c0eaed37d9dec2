"""Directorate corrections: a mark changed at the centre, sent to the pupil's school on its next sync."""

from __future__ import annotations

from typing import Any

from domain import grades
from domain.errors import NotFound
from domain.pupils import Term


def checked_correction(db: Any, year: str, entry: grades.GradeEntry) -> tuple[str, tuple]:
    """The school the pupil is enrolled in that year, and the mark's row, checked like a school's entry.

    `db` is anything with the domain's read interface (`execute` with `?` parameters) on either backend.
    """
    row = db.execute("SELECT school FROM enrolments WHERE year = ? AND pupil = ?", [year, entry.pupil]).fetchone()
    if not row:
        raise NotFound(f"unknown pupil {entry.pupil} in {year}", code="unknown_pupil")
    school = str(row[0])
    return school, grades.GradeValidator(db, Term(school, year)).row(entry)
