"""Reader of Massar's class list export (`ListEleve_YYYYMMDD.xls`)."""

from __future__ import annotations

from pathlib import Path

from domain.errors import RowError

from . import classlist_layout as layout
from .classlist_model import ClassList, ClassListPupil, ClassSheet, Gender
from .codes import is_massar_code
from .dates import BadDate, parse_date
from .errors import FileFormatError, FileProblems
from .grid import Grid
from .labels import find_header_row, normalise_label
from .metadata import read_metadata
from .workbook import load_grids

_GENDERS = {normalise_label(k): v for k, v in layout.GENDERS.items()}
# A sheet carrying this many required titles is meant to be a class list, so
# missing the others is an error rather than a reason to skip the sheet.
_PARTIAL_HEADER = 2


def read_class_list(path: str | Path) -> ClassList:
    """Read every class sheet of a class list workbook (.xls or .xlsx).

    Raises FileFormatError when no sheet carries the table header, and
    FileProblems listing every bad row (bad code, unknown gender, bad date,
    empty name, duplicate code) when any row is invalid."""
    classes, problems = read_class_list_partial(path)
    if problems:
        raise FileProblems(str(path), problems)
    return classes


def read_class_list_partial(path: str | Path) -> tuple[ClassList, list[RowError]]:
    """Like :func:`read_class_list` but returns the valid pupils and the
    problems instead of raising, for callers that import what they can."""
    sheets: list[ClassSheet] = []
    problems: list[RowError] = []
    seen: dict[str, tuple[str, int]] = {}
    for grid in load_grids(path):
        sheet = _read_sheet(path, grid, problems, seen)
        if sheet is not None:
            sheets.append(sheet)
    if not sheets:
        titles = ", ".join(layout.COLUMNS[k][0] for k in layout.REQUIRED)
        raise FileFormatError(f"{path}: no sheet carries the class list header ({titles})")
    return ClassList(sheets=sheets), problems


def _read_sheet(
    path: str | Path,
    grid: Grid,
    problems: list[RowError],
    seen: dict[str, tuple[str, int]],
) -> ClassSheet | None:
    header = find_header_row(grid, layout.COLUMNS)
    if header is None:
        return None
    header_row, cols = header
    missing = [layout.COLUMNS[k][0] for k in layout.REQUIRED if k not in cols]
    if missing:
        if len(layout.REQUIRED) - len(missing) >= _PARTIAL_HEADER:
            raise FileFormatError(f"{path}: sheet {grid.name!r}: class list header lacks {', '.join(missing)}")
        return None
    meta = read_metadata(
        grid,
        layout.METADATA,
        rows=range(header_row),
        step=_value_step(grid, cols),
        extra_stop=(layout.TITLE,),
    )
    pupils = []
    for r in range(header_row + 1, grid.nrows):
        pupil = _read_pupil(grid, r, cols, problems, seen)
        if pupil is not None:
            pupils.append(pupil)
    return ClassSheet(
        sheet_name=grid.name,
        year=meta["year"],
        academy=meta["academy"],
        directorate=meta["directorate"],
        school=meta["school"],
        commune=meta["commune"],
        level=meta["level"],
        class_code=meta["class_code"],
        pupils=pupils,
    )


def _value_step(grid: Grid, cols: dict[str, int]) -> int:
    """Column step from a label to its value, which stands to its left as
    the user sees it. The export writes the table right to left in physical
    columns (ر.ت right of الرمز); a copy re-saved with a right-to-left view
    flips the physical order, and the header tells which one we hold."""
    if "order" in cols and cols["order"] != cols["code"]:
        return -1 if cols["order"] > cols["code"] else 1
    return 1 if grid.right_to_left else -1


def _read_pupil(
    grid: Grid,
    r: int,
    cols: dict[str, int],
    problems: list[RowError],
    seen: dict[str, tuple[str, int]],
) -> ClassListPupil | None:
    def text(key: str) -> str:
        return grid.text(r, cols[key]) if key in cols else ""

    keys = ("code", "last_name", "first_name", "gender", "birth_date", "birth_place")
    if not any(text(k) for k in keys):
        return None  # blank or order-number-only line between classes or at the end
    if normalise_label(text("code")) in {normalise_label(t) for t in layout.COLUMNS["code"]}:
        return None  # header repeated on a printed page break

    excel_row = r + 1
    bad: list[RowError] = []

    def problem(key: str, message: str) -> None:
        bad.append(RowError(excel_row, message, layout.COLUMNS[key][0], sheet=grid.name))

    code = text("code")
    if not code:
        problem("code", "missing Massar code")
    elif not is_massar_code(code):
        problem("code", f"bad Massar code {code!r} (expected a capital letter and 9 digits)")
    elif code in seen:
        other_sheet, other_row = seen[code]
        problem("code", f"duplicate Massar code {code} (also {other_sheet}!{other_row})")
    else:
        seen[code] = (grid.name, excel_row)
    last_name, first_name = text("last_name"), text("first_name")
    if not last_name:
        problem("last_name", "empty last name")
    if not first_name:
        problem("first_name", "empty first name")
    gender: Gender | None = None
    raw_gender = text("gender")
    mapped = _GENDERS.get(normalise_label(raw_gender))
    if mapped == "M":
        gender = "M"
    elif mapped == "F":
        gender = "F"
    else:
        problem("gender", f"unknown gender {raw_gender!r} (expected ذكر or أنثى)")
    birth_date: str | None = None
    try:
        day = parse_date(grid.value(r, cols["birth_date"]), datemode=grid.datemode)
        birth_date = day.isoformat() if day else None
    except BadDate as exc:
        problem("birth_date", str(exc))

    if bad or gender is None:
        problems.extend(bad)
        return None
    return ClassListPupil(
        row=excel_row,
        code=code,
        last_name=last_name,
        first_name=first_name,
        gender=gender,
        birth_date=birth_date,
        birth_place=text("birth_place") or None,
    )
