"""Loading .xls (xlrd) and .xlsx (openpyxl) workbooks into :class:`Grid`s."""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path

import openpyxl
import xlrd
from openpyxl.utils.datetime import CALENDAR_MAC_1904
from openpyxl.utils.exceptions import InvalidFileException

from .errors import FileFormatError
from .grid import CellValue, Grid

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0"
_ZIP_MAGIC = b"PK"


def load_grids(path: str | Path) -> list[Grid]:
    """Every sheet of the workbook, in workbook order.

    The format is chosen from the file's first bytes, not its extension,
    because exported files get renamed (an .xlsx saved as .xls still opens in
    Excel, so users do not notice)."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise FileFormatError(f"{p}: cannot open file ({exc.strerror})") from exc
    if head.startswith(_OLE2_MAGIC):
        return _load_xls(p)
    if head.startswith(_ZIP_MAGIC):
        return _load_xlsx(p)
    raise FileFormatError(f"{p}: not an Excel workbook (.xls or .xlsx)")


def _load_xls(p: Path) -> list[Grid]:
    try:
        book = xlrd.open_workbook(str(p), formatting_info=True)
    except (xlrd.XLRDError, OSError, ValueError, IndexError) as exc:
        raise FileFormatError(f"{p}: unreadable .xls workbook ({exc})") from exc
    grids: list[Grid] = []
    for sheet in book.sheets():
        rows: list[list[CellValue]] = []
        for r in range(sheet.nrows):
            row: list[CellValue] = []
            for c in range(sheet.ncols):
                cell = sheet.cell(r, c)
                if cell.ctype == xlrd.XL_CELL_DATE:
                    row.append(xlrd.xldate_as_datetime(cell.value, book.datemode))
                elif cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
                    row.append(None)
                elif cell.ctype == xlrd.XL_CELL_BOOLEAN:
                    row.append(bool(cell.value))
                else:
                    row.append(cell.value)
            rows.append(row)
        hidden_rows = {r for r, info in sheet.rowinfo_map.items() if info.hidden}
        grids.append(
            Grid(
                name=sheet.name,
                cells=rows,
                right_to_left=bool(sheet.columns_from_right_to_left),
                datemode=book.datemode,
                hidden=sheet.visibility != 0,
                hidden_rows=hidden_rows,
            )
        )
    return grids


def _load_xlsx(p: Path) -> list[Grid]:
    # Real exports trigger openpyxl's harmless "no default style" and
    # "extension not supported" warnings; they say nothing about the data.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            book = openpyxl.load_workbook(p, data_only=True)
        except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError) as exc:
            raise FileFormatError(f"{p}: unreadable .xlsx workbook ({exc})") from exc
    datemode = 1 if book.epoch == CALENDAR_MAC_1904 else 0
    grids: list[Grid] = []
    for ws in book.worksheets:
        rows: list[list[CellValue]] = [[cell for cell in row] for row in ws.iter_rows(values_only=True)]
        hidden_rows = {idx - 1 for idx, dim in ws.row_dimensions.items() if dim.hidden}
        grids.append(
            Grid(
                name=ws.title,
                cells=rows,
                right_to_left=bool(ws.sheet_view.rightToLeft),
                datemode=datemode,
                hidden=ws.sheet_state != "visible",
                hidden_rows=hidden_rows,
            )
        )
    return grids
