"""Writer of the grade sheet layout Massar imports back."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
from openpyxl.styles import Protection
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from . import gradesheet_layout as layout
from .cells import set_value
from .gradesheet_model import GradeSheet

_FIRST_ASSESSMENT_COL = 5  # E: after ID, code, name, birth date
_UNLOCKED = Protection(locked=False)


def write_grade_sheet(path: str | Path, sheet: GradeSheet, *, scale: int = 20) -> None:
    """Write ``sheet`` as an .xlsx in the export's layout.

    Each row is written in list order from row 18 (``GradeSheetRow.row`` is
    ignored). Marks are limited to decimals in 0..``scale`` by a data
    validation; the sheet is protected with only mark, absence and remark
    cells editable, like the export. Raises ValueError for marks of an
    assessment the sheet does not declare in ``assessments``."""
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

    tech = {
        "school_code": sheet.school_code,
        "guid": sheet.massar_guid,
        "session": sheet.semester,
        "subject": f"#{sheet.massar_subject_code}#" if sheet.massar_subject_code else None,
    }
    for key, col in layout.TECH_COLUMNS.items():
        set_value(ws.cell(row=layout.TECH_ROW, column=col), tech[key])
    ws.row_dimensions[layout.TECH_ROW].hidden = True

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
        set_value(ws[label_cell], layout.METADATA[key][0])
        set_value(ws[value_cell], values[key])

    head, sub = layout.HEADER_ROW, layout.SUBHEADER_ROW
    for col, key in enumerate(("id", "code", "name", "birth_date"), start=1):
        set_value(ws.cell(row=head, column=col), layout.COLUMNS[key][0])
        ws.merge_cells(start_row=head, start_column=col, end_row=sub, end_column=col)
    ws.column_dimensions["A"].hidden = True

    mark_cols: list[tuple[int, int, int]] = []  # (key, mark column, absence column)
    col = _FIRST_ASSESSMENT_COL
    for key in assessments:
        set_value(ws.cell(row=layout.TAG_ROW, column=col), layout.TAGS[key])
        set_value(ws.cell(row=head, column=col), layout.ASSESSMENTS[key][0])
        ws.merge_cells(start_row=head, start_column=col, end_row=head, end_column=col + 1)
        set_value(ws.cell(row=sub, column=col), layout.MARK)
        set_value(ws.cell(row=sub, column=col + 1), layout.ABSENCE)
        mark_cols.append((key, col, col + 1))
        col += 2
    remark_col = col
    set_value(ws.cell(row=layout.TAG_ROW, column=remark_col), layout.REMARK_TAG)
    set_value(ws.cell(row=head, column=remark_col), layout.COLUMNS["remark"][0])
    ws.merge_cells(start_row=head, start_column=remark_col, end_row=sub, end_column=remark_col)

    first = layout.FIRST_PUPIL_ROW
    for i, row in enumerate(sheet.rows):
        r = first + i
        massar_id: str | int | None = row.massar_id
        if massar_id is not None and massar_id.isdigit():
            massar_id = int(massar_id)  # the export stores the ID as a number
        set_value(ws.cell(row=r, column=1), massar_id)
        set_value(ws.cell(row=r, column=2), row.code)
        set_value(ws.cell(row=r, column=3), row.name)
        born = dt.date.fromisoformat(row.birth_date).strftime("%d-%m-%Y") if row.birth_date else None
        set_value(ws.cell(row=r, column=4), born)
        for key, mark_col, absence_col in mark_cols:
            cell = row.marks.get(key)
            mark = set_value(ws.cell(row=r, column=mark_col), cell.score if cell else None)
            absence_word = None
            if cell is not None and cell.absent:
                absence_word = layout.JUSTIFIED_WORD if cell.justified else layout.UNJUSTIFIED_WORD
            absence = set_value(ws.cell(row=r, column=absence_col), absence_word)
            mark.protection = _UNLOCKED
            absence.protection = _UNLOCKED
        set_value(ws.cell(row=r, column=remark_col), row.remark).protection = _UNLOCKED

    if sheet.rows and mark_cols:
        last = first + len(sheet.rows) - 1
        validation = DataValidation(
            type="decimal",
            operator="between",
            formula1="0",
            formula2=str(scale),
            allow_blank=True,
            showErrorMessage=True,
            errorTitle="نقطة غير صالحة",
            error=f"أدخل عددا عشريا بين 0 و {scale}",
        )
        for _, mark_col, _ in mark_cols:
            letter = get_column_letter(mark_col)
            validation.add(f"{letter}{first}:{letter}{last}")
        ws.add_data_validation(validation)
    ws.protection.sheet = True
    book.save(path)
