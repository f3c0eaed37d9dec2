"""Loading .xls (xlrd) and .xlsx (openpyxl) workbooks into :class:`Grid`s.

Files come from USB keys and e-mail: the loader bounds what it reads before
any library builds cells. An .xlsx is a zip of XML: its parts' declared sizes
are summed (a 1 MB file can unpack to 1 GiB of whitespace), XML entity
declarations are refused (Excel never writes them), and every cell reference
is checked against the bounds of a Massar sheet in one streaming pass, so a
file with cells at A1 and XFD1048576 is refused in milliseconds instead of
building a 17-billion-cell rectangle.
"""

from __future__ import annotations

import re
import warnings
import zipfile
from pathlib import Path
from xml.etree.ElementTree import ParseError
from xml.parsers import expat

import openpyxl
import xlrd
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import CALENDAR_MAC_1904
from openpyxl.utils.exceptions import InvalidFileException

from .errors import FileFormatError
from .grid import CellValue, Grid

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0"
_ZIP_MAGIC = b"PK"

# A Massar class list or grade sheet: one class (or a whole school's classes) a sheet.
MAX_ROWS = 10_000
MAX_COLS = 200
MAX_SHEETS = 200
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_UNPACKED_BYTES = 64 * 1024 * 1024  # all the XML parts of an .xlsx together
_CELL_REF = re.compile(r"([A-Z]{1,3})([0-9]{1,7})$")
_ENTITY = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


def load_grids(path: str | Path) -> list[Grid]:
    """Every sheet of the workbook, in workbook order.

    The format is chosen from the file's first bytes, not its extension,
    because exported files get renamed (an .xlsx saved as .xls still opens in
    Excel, so users do not notice)."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            head = fh.read(8)
        size = p.stat().st_size
    except OSError as exc:
        raise FileFormatError(f"{p}: cannot open file ({exc.strerror})") from exc
    if size > MAX_FILE_BYTES:
        raise FileFormatError(
            f"{p}: {size // 2**20} MiB is too large for a Massar export (at most {MAX_FILE_BYTES // 2**20} MiB)"
        )
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
    if book.nsheets > MAX_SHEETS:
        raise FileFormatError(f"{p}: {book.nsheets} sheets; a Massar export has at most {MAX_SHEETS}")
    for sheet in book.sheets():
        if sheet.nrows > MAX_ROWS or sheet.ncols > MAX_COLS:
            raise FileFormatError(_too_big(p, sheet.name, sheet.nrows, sheet.ncols))
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


def _too_big(p: Path, sheet: str, rows: int, cols: int) -> str:
    where = f"cell {get_column_letter(min(cols, 16384))}{rows}" if cols else f"row {rows}"
    return f"{p}: sheet {sheet!r} has a {where}: a Massar export has at most {MAX_ROWS} rows and {MAX_COLS} columns"


def _check_xlsx_parts(p: Path) -> None:
    """Refuse, before any cell is built, an .xlsx whose XML is too big, declares entities, or has a cell
    outside a Massar sheet's bounds. Reads each part once, streaming, in constant memory."""
    try:
        with zipfile.ZipFile(p) as zf:
            infos = zf.infolist()
            unpacked = sum(i.file_size for i in infos)
            if unpacked > MAX_UNPACKED_BYTES:
                raise FileFormatError(
                    f"{p}: unpacks to {unpacked // 2**20} MiB of XML (at most {MAX_UNPACKED_BYTES // 2**20} MiB): "
                    "not a Massar export"
                )
            sheets = [i for i in infos if i.filename.startswith("xl/worksheets/") and i.filename.endswith(".xml")]
            if len(sheets) > MAX_SHEETS:
                raise FileFormatError(f"{p}: {len(sheets)} sheets; a Massar export has at most {MAX_SHEETS}")
            for info in infos:
                if info.filename.endswith((".xml", ".rels", ".vml")):
                    _refuse_entities(p, zf, info)
            for info in sheets:
                _check_cell_bounds(p, zf, info)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError) as exc:
        raise FileFormatError(f"{p}: unreadable .xlsx workbook ({exc})") from exc


def _refuse_entities(p: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    tail = b""
    with zf.open(info) as part:
        while chunk := part.read(1 << 20):
            if _ENTITY.search(tail + chunk):
                raise FileFormatError(f"{p}: {info.filename} declares XML entities (Excel never does): refused")
            tail = chunk[-16:]


def _check_cell_bounds(p: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    # expat with handlers, not ElementTree: no tree is built, memory stays constant however long the sheet.
    where = {"row": 0, "col": 0}
    sheet = info.filename.rpartition("/")[2].removesuffix(".xml")

    def start(name: str, attrs: dict[str, str]) -> None:
        tag = name.rpartition(":")[2]
        if tag == "row":
            where["row"] = int(attrs.get("r") or where["row"] + 1)
            where["col"] = 0
        elif tag == "c":
            ref = _CELL_REF.match(attrs.get("r", ""))
            where["col"] = _column_number(ref.group(1)) if ref else where["col"] + 1
            if ref:
                where["row"] = int(ref.group(2))
        else:
            return
        if where["row"] > MAX_ROWS or where["col"] > MAX_COLS:
            raise FileFormatError(_too_big(p, sheet, where["row"], where["col"]))

    parser = expat.ParserCreate()
    parser.StartElementHandler = start
    try:
        with zf.open(info) as part:
            while chunk := part.read(1 << 20):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
    except (expat.ExpatError, ValueError) as exc:
        raise FileFormatError(f"{p}: {info.filename} is not well-formed XML ({exc})") from None


def _column_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - ord("A") + 1
    return n


def _load_xlsx(p: Path) -> list[Grid]:
    _check_xlsx_parts(p)
    # Real exports trigger openpyxl's harmless "no default style" and
    # "extension not supported" warnings; they say nothing about the data.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            book = openpyxl.load_workbook(p, data_only=True)
        except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError, ParseError) as exc:
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
