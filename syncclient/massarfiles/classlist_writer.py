"""Writer of the class list layout, for test fixtures and demo data.

Massar never imports this file back, so the goal is only to reproduce what
the export looks like, including its quirks (labels ending in ' :')."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import openpyxl

from . import classlist_layout as layout
from .cells import write_text
from .classlist_model import ClassSheet
from .dates import excel_serial
from .grid import CellValue

DateStyle = Literal["serial", "date", "text"]
_WIDTH = 7  # table columns: مكان الازدياد (left) .. ر.ت (right)
_DATE_FORMAT = "dd/mm/yyyy"


@dataclass(frozen=True)
class _Cell:
    row: int
    col: int
    value: CellValue
    is_date: bool = False


def write_class_list(
    path: str | Path,
    sheets: Sequence[ClassSheet],
    *,
    date_style: DateStyle = "serial",
    rtl_view: bool = False,
    first_row: int = 0,
) -> None:
    """Write ``sheets`` as Sheet1, Sheet2... in the export's layout.

    The format follows the extension (.xls via xlwt, otherwise .xlsx).
    ``date_style``: 'serial' writes bare Excel serial numbers as the export
    does, 'date' real date cells, 'text' dd/mm/yyyy strings. ``rtl_view``
    mirrors the columns and sets the right-to-left view, as a re-saved copy
    looks. ``first_row`` shifts everything down (0-based) to test drift."""
    grids = [_cells(sheet, date_style, rtl_view, first_row) for sheet in sheets]
    if Path(path).suffix.lower() == ".xls":
        _write_xls(path, grids, rtl_view)
    else:
        _write_xlsx(path, grids, rtl_view)


def _cells(sheet: ClassSheet, date_style: DateStyle, rtl_view: bool, top: int) -> list[_Cell]:
    def col(physical: int) -> int:
        return _WIDTH - 1 - physical if rtl_view else physical

    cells = [_Cell(top, col(3), layout.TITLE)]
    # (row offset, label column, field) with the value one column to its left.
    meta_positions = (
        (2, 6, "academy"),
        (2, 3, "directorate"),
        (2, 1, "year"),
        (3, 6, "school"),
        (3, 3, "commune"),
        (4, 6, "level"),
        (4, 3, "class_code"),
    )
    for offset, label_col, key in meta_positions:
        cells.append(_Cell(top + offset, col(label_col), layout.METADATA[key][0] + " :"))
        cells.append(_Cell(top + offset, col(label_col - 1), getattr(sheet, key)))
    header = top + 6
    order = ("order", "code", "last_name", "first_name", "gender", "birth_date", "birth_place")
    for i, key in enumerate(order):
        cells.append(_Cell(header, col(_WIDTH - 1 - i), layout.COLUMNS[key][0]))
    for n, pupil in enumerate(sheet.pupils, start=1):
        r = header + n
        born: CellValue = None
        if pupil.birth_date:
            day = dt.date.fromisoformat(pupil.birth_date)
            styles: dict[str, CellValue] = {
                "serial": excel_serial(day),
                "date": dt.datetime(day.year, day.month, day.day),
                "text": day.strftime("%d/%m/%Y"),
            }
            born = styles[date_style]
        values: list[CellValue] = [
            n,
            pupil.code,
            pupil.last_name,
            pupil.first_name,
            layout.GENDER_WORDS[pupil.gender],
            born,
            pupil.birth_place,
        ]
        for i, value in enumerate(values):
            cells.append(_Cell(r, col(_WIDTH - 1 - i), value, is_date=i == 5 and date_style == "date"))
    return [c for c in cells if c.value is not None]


def _write_xls(path: str | Path, grids: list[list[_Cell]], rtl_view: bool) -> None:
    # Only test fixtures write the legacy .xls format: xlwt is a test dependency.
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    date_style = xlwt.easyxf(num_format_str=_DATE_FORMAT)
    for i, cells in enumerate(grids, start=1):
        ws = book.add_sheet(f"Sheet{i}")
        ws.cols_right_to_left = rtl_view
        for cell in cells:
            if cell.is_date:
                ws.write(cell.row, cell.col, cell.value, date_style)
            else:
                ws.write(cell.row, cell.col, cell.value)
    book.save(str(path))


def _write_xlsx(path: str | Path, grids: list[list[_Cell]], rtl_view: bool) -> None:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for i, cells in enumerate(grids, start=1):
        ws = book.create_sheet(f"Sheet{i}")
        ws.sheet_view.rightToLeft = rtl_view
        for cell in cells:
            target = ws.cell(row=cell.row + 1, column=cell.col + 1)
            write_text(target, cell.value)
            if cell.is_date:
                target.number_format = _DATE_FORMAT
    book.save(path)
