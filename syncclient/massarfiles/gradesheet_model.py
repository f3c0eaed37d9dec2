"""Plain data of Massar's continuous-assessment grade sheet (NotesCC)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

Semester = Literal[1, 2]

# Assessment keys: 1..4 are the supervised tests (الفرض الأول..الرابع),
# 5 is the integrated activities (الأنشطة المندمجة).
TESTS = (1, 2, 3, 4)
ACTIVITIES = 5
DEFAULT_ASSESSMENTS: tuple[int, ...] = (1, 2, 3, ACTIVITIES)


@dataclass(frozen=True)
class GradeCell:
    score: Decimal | None
    absent: bool = False
    justified: bool = False  # only meaningful when absent


@dataclass(frozen=True)
class GradeSheetRow:
    row: int  # Excel row number (1-based); ignored by the writer
    code: str
    name: str
    birth_date: str | None  # ISO yyyy-mm-dd
    # Only assessments with a mark or an absence; ungraded ones are missing.
    marks: dict[int, GradeCell] = field(default_factory=dict)
    remark: str | None = None
    massar_id: str | None = None  # the hidden ID column, kept for re-import
    birth_text: str | None = None  # the birth date cell as Massar wrote it ('12-10-2012')


@dataclass(frozen=True)
class GradeSheet:
    school_name: str | None
    school_code: str | None
    academy: str | None
    directorate: str | None
    level: str | None
    class_code: str | None
    teacher: str | None
    semester: Semester
    subject_name: str | None
    massar_subject_code: str | None  # e.g. '0030', from the hidden '#0030#'
    year: str | None  # e.g. '2023/2024'
    rows: list[GradeSheetRow] = field(default_factory=list)
    # Assessment columns the sheet has, in key order (primary has fewer tests).
    assessments: tuple[int, ...] = DEFAULT_ASSESSMENTS
    massar_guid: str | None = None  # from the hidden technical row, kept for re-import
    # Other cells of the technical row (column letter -> value), written back as issued.
    technical: dict[str, str | int | float] = field(default_factory=dict)
