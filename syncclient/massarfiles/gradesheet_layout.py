"""Where things sit in `export_notesCC_<CLASS>_<SUBJECTCODE>.xlsx`.

The reader finds rows and columns by their titles (real files drift by a row
or two); the positions below are what the writer produces, copied from a real
export. The first spelling of each title is the one written."""

from __future__ import annotations

import re
from decimal import Decimal

from .gradesheet_model import ACTIVITIES, GradeCell

SHEET_NAME = "NotesCC"
DATA_SHEET = "Data"  # hidden; A1 blank, A2 مبرر: the absence cells' list
SHEET_TITLE = "نقط المراقبة المستمرة"  # F4
HIDDEN_ROWS = (1, 2, 5, 8, 15)

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
    "subject_name": ("L11", "O11"),
    "year": ("C13", "D13"),
}
METADATA_ROWS = {key: int(label[1:]) for key, (label, _) in METADATA_CELLS.items()}
# The labels exactly as the export spells them (colons and doubled spaces included).
WRITTEN_LABELS = {
    "academy": "أكاديمية :",
    "directorate": "م.الإقليمية : ",
    "level": "المستوى  :  ",
    "class_code": "القسم  :",
    "semester": "الدورة  :",
    "year": "السنة الدراسية :",
}
EXTRA_LABELS = {"G11": "نقط :"}
# A value cell is merged up to this column: D:F, I:K, O:S.
VALUE_MERGE_END = {"D": "F", "I": "K", "O": "S"}
SEMESTERS = {1: "الدورة الأولى", 2: "الدورة الثانية"}
SEMESTER_ALIASES = {1: ("الدورة الأولى", "الأولى", "1"), 2: ("الدورة الثانية", "الثانية", "2")}

# Hidden technical row: C school code, E GUID, G session, K '#<subject>#';
# I, M and O hold values whose meaning is unknown (0, 16, Massar's level id
# such as 2A31101110): kept from the issued sheet and written back as issued.
TECH_ROW = 5
TECH_CELLS = {"school_code": "C", "guid": "E", "session": "G", "subject": "K"}
TECH_KEPT = ("I", "M", "O")
TECH_DEFAULTS: dict[str, object] = {"I": 0}
SUBJECT_CODE = re.compile(r"#(\d+)#")
GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

TAG_ROW = 15
HEADER_ROW = 16
SUBHEADER_ROW = 17
FIRST_PUPIL_ROW = 18
FIRST_MARK_COL = 7  # G: then one mark and one absence column per assessment
PUPIL_COLUMNS = {"id": "B", "code": "C", "name": "D", "birth_date": "F"}
WRITTEN_TITLES = {"id": "ID", "code": "رقم  التلميذ  ", "name": "إسم التلميذ  ", "birth_date": " تاريخ الإزدياد"}

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

# Massar's absence list holds only blank and مبرر. An unjustified absence
# counts 0 in the average, so it goes back to Massar as the mark 0. The reader
# takes any non-blank value other than مبرر as an unjustified absence.
JUSTIFIED_WORD = "مبرر"


def massar_cells(cell: GradeCell | None) -> tuple[int | float | None, str | None]:
    """(mark cell, absence cell) as Massar accepts them back."""
    if cell is None:
        return None, None
    if cell.absent:
        return (None, JUSTIFIED_WORD) if cell.justified else (0, None)
    return number(cell.score), None


def number(score: Decimal | None) -> int | float | None:
    """A mark as Excel stores it: 14, not 14.0; 12.25 as a float."""
    if score is None:
        return None
    return int(score) if score == score.to_integral_value() else float(score)
