"""Where things sit in `export_notesCC_<CLASS>_<SUBJECTCODE>.xlsx`.

The reader finds rows and columns by their titles (real files drift by a row
or two); the positions below are what the writer produces, copied from a real
export. The first spelling of each title is the one written."""

from __future__ import annotations

import re

from .gradesheet_model import ACTIVITIES

SHEET_NAME = "NotesCC"

METADATA: dict[str, tuple[str, ...]] = {
    "academy": ("أكاديمية", "الأكاديمية"),
    "directorate": ("م.الإقليمية", "المديرية الإقليمية", "المديرية"),
    "school_name": ("مؤسسة", "المؤسسة"),
    "level": ("المستوى",),
    "class_code": ("القسم",),
    "teacher": ("الاستاذ", "الأستاذ"),
    "semester": ("الدورة",),
    "subject_name": ("المادة",),
    "year": ("السنة الدراسية",),
}
# Writer positions: field -> (label cell, value cell).
METADATA_CELLS: dict[str, tuple[str, str]] = {
    "academy": ("C7", "D7"),
    "directorate": ("G7", "I7"),
    "school_name": ("L7", "O7"),
    "level": ("C9", "D9"),
    "class_code": ("G9", "I9"),
    "teacher": ("L9", "O9"),
    "semester": ("C11", "D11"),
    "subject_name": ("G11", "I11"),
    "year": ("C13", "D13"),
}
METADATA_ROWS = {key: int(label[1:]) for key, (label, _) in METADATA_CELLS.items()}
SEMESTERS = {1: "الدورة الأولى", 2: "الدورة الثانية"}
SEMESTER_ALIASES = {1: ("الدورة الأولى", "الأولى", "1"), 2: ("الدورة الثانية", "الثانية", "2")}

# Hidden technical row: school code, GUID, session number, '#<subject>#'.
TECH_ROW = 5
TECH_COLUMNS = {"school_code": 1, "guid": 2, "session": 3, "subject": 4}  # 1-based
SUBJECT_CODE = re.compile(r"#(\d+)#")
GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

TAG_ROW = 15
HEADER_ROW = 16
SUBHEADER_ROW = 17
FIRST_PUPIL_ROW = 18

COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("ID",),
    "code": ("رقم التلميذ", "الرمز"),
    "name": ("إسم التلميذ", "الاسم الكامل"),
    "birth_date": ("تاريخ الإزدياد",),
    "remark": ("ملاحظات الأستاذ", "ملاحظات"),
}
REQUIRED = ("code", "name")
ASSESSMENTS: dict[int, tuple[str, ...]] = {
    1: ("الفرض الأول",),
    2: ("الفرض الثاني",),
    3: ("الفرض الثالث",),
    4: ("الفرض الرابع",),
    ACTIVITIES: ("الأنشطة المندمجة",),
}
MARK = "النقطة"
ABSENCE = "التغيب"

# Column tags of row 15. The real export tags the three tests #1# #2# #3#
# and the integrated activities #4#; no export with a fourth test has been
# seen, so its tag #5# is our guess. The reader therefore trusts row-16
# titles and falls back on tags only when no assessment title is recognised.
TAGS: dict[int, str] = {1: "#1#", 2: "#2#", 3: "#3#", ACTIVITIES: "#4#", 4: "#5#"}
REMARK_TAG = "#100#"

# Written for an absent pupil; the reader takes any non-blank value other
# than مبرر as an unjustified absence.
JUSTIFIED_WORD = "مبرر"
UNJUSTIFIED_WORD = "غير مبرر"
