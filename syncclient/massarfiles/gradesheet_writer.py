"""Writer of the grade sheet in the layout Massar exports and imports back.

Cell for cell what `export_notesCC_1APIC-1_0030.xlsx` holds (see the domain
reference): sheet `NotesCC` right to left and protected, a hidden `Data` sheet
with the absence list, hidden rows 1, 2, 5, 8, 15 and absence columns, the
technical row 5, labels in C/G/L with values in D/I/O, tags in row 15, titles
in rows 16-17, pupils from row 18 with only mark, absence and remark cells
unlocked. Used when the node does not hold the file Massar issued (otherwise
`gradesheet_filler` fills that very file).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
from openpyxl.styles import Protection
from openpyxl.utils import get_column_letter
from openpyxl.workbook.protection import WorkbookProtection
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from . import gradesheet_layout as layout
from .cells import write_text
from .gradesheet_model import GradeSheet

_UNLOCKED = Protection(locked=False)
# Row 1 and row 2 of a real export (column letters, 'sgs', G2 = 10): meaning
# unknown, written back as Massar has them.
_ROW1 = [*"ABCDEFGHIJKLMNO", *"O" * 11]
_ROW2 = ["sgs"] * 26
_ROW2[6] = 10  # type: ignore[call-overload]
_LAST_LETTER_COL = 26  # Z: the export's merged tag pairs and rows 1-2 stop there
# The export unlocks G..AG on rows 18-63 and G..AA on rows 64-200, and merges
# the name cells D:E on rows 18-85, whatever its number of pupils.
_UNLOCKED_WIDE = (63, 33)  # (last row, last column AG)
_UNLOCKED_NARROW = (200, 27)  # (last row, last column AA)
_NAME_MERGES_UNTIL = 85
_WIDTHS = {"A": 6.27, "B": 4.18, "C": 12.54, "D": 10.18, "E": 9.73, "F": 12.18}
_MARK_WIDTH, _ABSENCE_WIDTH = 12.18, 7.73


def write_grade_sheet(path: str | Path, sheet: GradeSheet, *, scale: int = 20) -> None:
    """Write ``sheet`` as an .xlsx in Massar's export layout.

    Rows are written in list order from row 18 (``GradeSheetRow.row`` is
    ignored). Raises ValueError for marks of an assessment the sheet does not
    declare in ``assessments``."""
    assessments = sorted(sheet.assessments)
    for row in sheet.rows:
        extra = set(row.marks) - set(assessments)
        if extra:
            raise ValueError(f"row of {row.code}: marks for undeclared assessments {sorted(extra)}")

    book = openpyxl.Workbook()
    ws = book.active
    if ws is None:
        raise RuntimeError("openpyxl created a workbook without a sheet")
    ws.title = layout.SHEET_NAME
    ws.sheet_view.rightToLeft = True
    ws.sheet_view.showGridLines = False
    for c, value in enumerate(_ROW1, start=1):
        ws.cell(row=1, column=c, value=value)
    for c, value in enumerate(_ROW2, start=1):
        ws.cell(row=2, column=c, value=value)
    ws.cell(row=4, column=6, value=layout.SHEET_TITLE)
    ws.merge_cells("F4:I4")
    _technical_row(ws, sheet)
    _header_block(ws, sheet)
    mark_cols, remark_col = _titles(ws, assessments)
    _pupils(ws, sheet, mark_cols, remark_col)
    _validations(ws, len(sheet.rows), [m for _, m, _ in mark_cols], [a for _, _, a in mark_cols], scale)
    for r in layout.HIDDEN_ROWS:
        ws.row_dimensions[r].hidden = True
    for letter, width in _WIDTHS.items():
        ws.column_dimensions[letter].width = width
    ws.column_dimensions["B"].hidden = True
    for c in range(layout.FIRST_MARK_COL, _UNLOCKED_WIDE[1], 2):
        ws.column_dimensions[get_column_letter(c)].width = _MARK_WIDTH
        absence = ws.column_dimensions[get_column_letter(c + 1)]
        absence.width, absence.hidden = _ABSENCE_WIDTH, True
    ws.protection.sheet = True

    data = book.create_sheet(layout.DATA_SHEET)
    data["A2"] = layout.JUSTIFIED_WORD
    data.sheet_state = "hidden"
    book.security = WorkbookProtection(lockStructure=True)
    book.save(path)


def _technical_row(ws: Worksheet, sheet: GradeSheet) -> None:
    tech = {
        "school_code": sheet.school_code,
        "guid": sheet.massar_guid,
        "session": sheet.semester,
        "subject": f"#{sheet.massar_subject_code}#" if sheet.massar_subject_code else None,
    }
    # Technical values come back from an imported file: text, whatever it holds.
    for key, letter in layout.TECH_CELLS.items():
        write_text(ws[f"{letter}{layout.TECH_ROW}"], tech[key])
    for letter, value in {**layout.TECH_DEFAULTS, **sheet.technical}.items():
        write_text(ws[f"{letter}{layout.TECH_ROW}"], value)


def _header_block(ws: Worksheet, sheet: GradeSheet) -> None:
    values = {
        "academy": sheet.academy,
        "directorate": sheet.directorate,
        "school_name": sheet.school_name,
        "level": sheet.level,
        "class_code": sheet.class_code,
        "teacher": sheet.teacher,
        "semester": layout.SEMESTERS[sheet.semester],
        "subject_name": sheet.subject_name,
        "year": sheet.year,
    }
    for key, (label_cell, value_cell) in layout.METADATA_CELLS.items():
        ws[label_cell] = layout.WRITTEN_LABELS.get(key, layout.METADATA[key][0])
        write_text(ws[value_cell], values[key])
        ws.merge_cells(f"{value_cell}:{layout.VALUE_MERGE_END[value_cell[0]]}{value_cell[1:]}")
        if label_cell.startswith("L"):  # the school, teacher and subject labels span L:N
            ws.merge_cells(f"{label_cell}:N{label_cell[1:]}")
    for cell, text in layout.EXTRA_LABELS.items():
        ws[cell] = text


def _titles(ws: Worksheet, assessments: list[int]) -> tuple[list[tuple[int, int, int]], int]:
    tag, head, sub = layout.TAG_ROW, layout.HEADER_ROW, layout.SUBHEADER_ROW
    for name, letter in layout.PUPIL_COLUMNS.items():
        ws[f"{letter}{head}"] = layout.WRITTEN_TITLES[name]
        end = "E" if letter == "D" else letter
        ws.merge_cells(f"{letter}{head}:{end}{sub}")
    mark_cols: list[tuple[int, int, int]] = []
    col = layout.FIRST_MARK_COL
    for position, key in enumerate(assessments, start=1):
        mark_cols.append((key, col, col + 1))
        ws.cell(row=tag, column=col, value=f"#{position}#")
        for c in (col, col + 1):
            ws.cell(row=head, column=c, value=layout.ASSESSMENTS[key][0])
        ws.cell(row=sub, column=col, value=layout.MARK)
        ws.cell(row=sub, column=col + 1, value=layout.ABSENCE)
        col += 2
    remark_col = col
    ws.cell(row=tag, column=remark_col, value=layout.REMARK_TAG)
    for c in (remark_col, remark_col + 1):
        ws.cell(row=head, column=c, value=layout.COLUMNS["remark"][0])
    ws.cell(row=sub, column=remark_col, value="-")
    ws.cell(row=sub, column=remark_col + 1, value=layout.ABSENCE)
    for c in range(layout.FIRST_MARK_COL, _LAST_LETTER_COL, 2):
        ws.merge_cells(start_row=tag, start_column=c, end_row=tag, end_column=c + 1)
    return mark_cols, remark_col


def _pupils(ws: Worksheet, sheet: GradeSheet, mark_cols: list[tuple[int, int, int]], remark_col: int) -> None:
    first = layout.FIRST_PUPIL_ROW
    last = first + len(sheet.rows) - 1
    wide_until = max(_UNLOCKED_WIDE[0], last)
    for r in range(first, max(_UNLOCKED_NARROW[0], last) + 1):
        until = _UNLOCKED_WIDE[1] if r <= wide_until else _UNLOCKED_NARROW[1]
        for c in range(layout.FIRST_MARK_COL, until + 1):
            ws.cell(row=r, column=c).protection = _UNLOCKED
    for r in range(first, max(_NAME_MERGES_UNTIL, last) + 1):
        ws.merge_cells(f"D{r}:E{r}")
    for i, row in enumerate(sheet.rows):
        r = first + i
        raw_id = row.massar_id
        # the export stores the ID as a number
        massar_id: str | int | None = int(raw_id) if raw_id is not None and raw_id.isdigit() else raw_id
        write_text(ws[f"B{r}"], massar_id)
        write_text(ws[f"C{r}"], row.code)
        write_text(ws[f"D{r}"], row.name)
        born = row.birth_text
        if born is None and row.birth_date:
            born = dt.date.fromisoformat(row.birth_date).strftime("%d-%m-%Y")
        write_text(ws[f"F{r}"], born)
        for key, mark_col, absence_col in mark_cols:
            cell = row.marks.get(key)
            mark, absence = layout.massar_cells(cell)
            ws.cell(row=r, column=mark_col, value=mark)
            ws.cell(row=r, column=absence_col, value=absence)
        write_text(ws.cell(row=r, column=remark_col), row.remark)


def _validations(ws: Worksheet, pupils: int, marks: list[int], absences: list[int], scale: int) -> None:
    if not pupils or not marks:
        return
    first, last = layout.FIRST_PUPIL_ROW, layout.FIRST_PUPIL_ROW + pupils - 1

    def ranges(cols: list[int]) -> str:
        return " ".join(f"{get_column_letter(c)}{first}:{get_column_letter(c)}{last}" for c in cols)

    decimal = DataValidation(type="decimal", formula1="0", formula2=str(scale), allow_blank=True, showErrorMessage=True)
    decimal.showInputMessage = True
    decimal.sqref = ranges(marks)
    absence = DataValidation(
        type="list", formula1=f"{layout.DATA_SHEET}!$A$1:$A$2", allow_blank=True, showErrorMessage=True
    )
    absence.sqref = ranges(absences)
    ws.add_data_validation(decimal)
    ws.add_data_validation(absence)
