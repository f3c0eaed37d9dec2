"""Massar's grade sheet (`export_notesCC_<CLASS>_<SUBJECTCODE>.xlsx`): model,
reader and writer."""

from __future__ import annotations

from .gradesheet_model import (
    ACTIVITIES,
    DEFAULT_ASSESSMENTS,
    TESTS,
    GradeCell,
    GradeSheet,
    GradeSheetRow,
    Semester,
)
from .gradesheet_reader import read_grade_sheet, read_grade_sheet_partial
from .gradesheet_writer import write_grade_sheet

__all__ = [
    "ACTIVITIES",
    "DEFAULT_ASSESSMENTS",
    "TESTS",
    "GradeCell",
    "GradeSheet",
    "GradeSheetRow",
    "Semester",
    "read_grade_sheet",
    "read_grade_sheet_partial",
    "write_grade_sheet",
]
