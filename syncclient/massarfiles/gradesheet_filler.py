"""Filling the very grade sheet Massar issued with the node's marks.

Everything Massar put in the file stays as it was (sheets, hidden rows and
columns, merged cells, protection, validations, the `Data` sheet, the
technical row, pupils' hidden ids and order); only the mark, absence and
remark cells of pupil rows change, and only if Massar left them unlocked.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl

from . import gradesheet_layout as layout
from .cells import write_text
from .errors import FileFormatError
from .gradesheet_model import GradeCell
from .gradesheet_reader import _grade_grid, _table


@dataclass
class FillReport:
    pupils: list[str] = field(default_factory=list)  # codes of the sheet's rows, in order
    marks: int = 0  # cells given a mark or an absence


def fill_grade_sheet(
    source: str | Path,
    dest: str | Path,
    marks: Mapping[str, Mapping[int, GradeCell]],
    remarks: Mapping[str, str | None],
) -> FillReport:
    """Copy ``source`` to ``dest`` with each listed pupil's mark cells set from
    ``marks`` (pupil code -> assessment -> cell; missing = blank) and remark
    from ``remarks``. Raises FileFormatError if a cell to write is locked or
    the node has marks for an assessment the sheet has no column for."""
    grid = _grade_grid(source)
    table = _table(source, grid)
    with warnings.catch_warnings():
        # real exports carry extensions openpyxl does not model; it warns and keeps going
        warnings.simplefilter("ignore", UserWarning)
        book = openpyxl.load_workbook(source)
    ws = book[grid.name]
    columns = {a.key: a for a in table.assessments}
    report = FillReport()
    code_col, remark_col = table.cols["code"], table.cols.get("remark")
    for r in range(table.first_pupil, grid.nrows):
        code = grid.text(r, code_col)
        if not code:
            continue
        report.pupils.append(code)
        cells = marks.get(code, {})
        extra = set(cells) - set(columns)
        if extra:
            titles = ", ".join(layout.ASSESSMENTS[k][0] for k in sorted(extra))
            raise FileFormatError(f"{Path(source).name}: the sheet has no column for {titles} (pupil {code})")
        for key, a in columns.items():
            mark, absence = layout.massar_cells(cells.get(key))
            _write(ws, r, a.mark_col, mark, source)
            if a.absence_col is not None:
                _write(ws, r, a.absence_col, absence, source)
            report.marks += key in cells
        if remark_col is not None:
            _write(ws, r, remark_col, remarks.get(code), source)
    book.save(dest)
    return report


def _write(ws: openpyxl.worksheet.worksheet.Worksheet, r: int, c: int, value: object, source: str | Path) -> None:
    cell = ws.cell(row=r + 1, column=c + 1)
    if cell.protection.locked and cell.value != value:
        raise FileFormatError(f"{Path(source).name}: cell {cell.coordinate} is locked; Massar did not open it to marks")
    if isinstance(value, str) or value is None:
        write_text(cell, value)
    else:
        cell.value = value
