"""Massar file formats: the class list and grade sheet exports, read into
plain dataclasses and written back. No database access here."""

from __future__ import annotations

from .classlist import (
    ClassList,
    ClassListPupil,
    ClassSheet,
    read_class_list,
    read_class_list_partial,
    write_class_list,
)
from .errors import FileFormatError, FileProblems, MassarFileError
from .gradesheet import (
    GradeCell,
    GradeSheet,
    GradeSheetRow,
    read_grade_sheet,
    read_grade_sheet_partial,
    write_grade_sheet,
)
from .labels import normalise_label

__all__ = [
    "ClassList",
    "ClassListPupil",
    "ClassSheet",
    "FileFormatError",
    "FileProblems",
    "GradeCell",
    "GradeSheet",
    "GradeSheetRow",
    "MassarFileError",
    "normalise_label",
    "read_class_list",
    "read_class_list_partial",
    "read_grade_sheet",
    "read_grade_sheet_partial",
    "write_class_list",
    "write_grade_sheet",
]
