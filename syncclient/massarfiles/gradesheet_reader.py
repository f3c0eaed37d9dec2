"""Reader of Massar's grade sheet (`export_notesCC_<CLASS>_<SUBJECT>.xlsx`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from openpyxl.utils import column_index_from_string

from domain.errors import RowError

from . import gradesheet_layout as layout
from .codes import is_massar_code
from .dates import BadDate, parse_date
from .errors import FileFormatError, FileProblems
from .gradesheet_model import GradeCell, GradeSheet, GradeSheetRow, Semester
from .grid import Grid, cell_text
from .labels import find_columns, find_header_row, find_label, label_set, normalise_label
from .marks import BadMark, parse_absence, parse_mark
from .metadata import read_metadata
from .workbook import load_grids

_HEADER_TITLES: dict[str, tuple[str, ...]] = {
    **layout.COLUMNS,
    **{f"a{key}": titles for key, titles in layout.ASSESSMENTS.items()},
}
_TAG_KEYS = {tag: key for key, tag in layout.TAGS.items()}
_SEMESTERS = {
    normalise_label(alias): number for number, aliases in layout.SEMESTER_ALIASES.items() for alias in aliases
}
# How far above the header row the tag row may sit.
_TAG_SEARCH = 3


@dataclass(frozen=True)
class _Assessment:
    key: int
    title: str
    mark_col: int
    absence_col: int | None


@dataclass(frozen=True)
class _Table:
    header_row: int
    first_pupil: int
    cols: dict[str, int]
    assessments: list[_Assessment]
    top: int  # rows above this index belong to the header block


def read_grade_sheet(path: str | Path, *, scale: int = 20) -> GradeSheet:
    """Read a grade sheet; marks must lie in 0..``scale`` (20, or 10 in primary).

    Raises FileFormatError when the layout is not recognised and FileProblems
    listing every bad cell otherwise. Callers that want to apply the valid
    rows anyway (``--partial``) use :func:`read_grade_sheet_partial`."""
    sheet, problems = read_grade_sheet_partial(path, scale=scale)
    if problems:
        raise FileProblems(str(path), problems)
    return sheet


def read_grade_sheet_partial(path: str | Path, *, scale: int = 20) -> tuple[GradeSheet, list[RowError]]:
    """The sheet holding only the valid rows, plus the problems of the others.

    A row with any problem is left out entirely, so a partial import never
    applies half of a pupil's marks."""
    if scale <= 0:
        raise ValueError(f"scale must be positive, not {scale}")
    grid = _grade_grid(path)
    table = _table(path, grid)
    block = range(table.top)
    meta = read_metadata(grid, layout.METADATA, rows=block, step=1)
    semester = _semester(path, meta["semester"])
    school_code, guid, subject_code, technical = _technical_values(grid, block)
    problems: list[RowError] = []
    rows: list[GradeSheetRow] = []
    seen: dict[str, int] = {}
    for r in range(table.first_pupil, grid.nrows):
        row = _read_row(grid, r, table, scale, problems, seen)
        if row is not None:
            rows.append(row)
    sheet = GradeSheet(
        school_name=meta["school_name"],
        school_code=school_code,
        academy=meta["academy"],
        directorate=meta["directorate"],
        level=meta["level"],
        class_code=meta["class_code"],
        teacher=meta["teacher"],
        semester=semester,
        subject_name=meta["subject_name"],
        massar_subject_code=subject_code,
        year=meta["year"],
        rows=rows,
        assessments=tuple(sorted(a.key for a in table.assessments)),
        massar_guid=guid,
        technical=technical,
    )
    return sheet, problems


def _grade_grid(path: str | Path) -> Grid:
    """The NotesCC sheet, or else the first visible sheet with the header
    (a hidden `Data` sheet often comes first)."""
    grids = load_grids(path)
    for grid in grids:
        if grid.name.strip().lower() == layout.SHEET_NAME.lower():
            return grid
    for grid in grids:
        header = find_header_row(grid, layout.COLUMNS)
        if not grid.hidden and header and all(k in header[1] for k in layout.REQUIRED):
            return grid
    titles = ", ".join(layout.COLUMNS[k][0] for k in layout.REQUIRED)
    raise FileFormatError(f"{path}: no sheet named {layout.SHEET_NAME} or carrying the grade header ({titles})")


def _table(path: str | Path, grid: Grid) -> _Table:
    header = find_header_row(grid, _HEADER_TITLES)
    cols = header[1] if header else {}
    missing = [layout.COLUMNS[k][0] for k in layout.REQUIRED if k not in cols]
    if header is None or missing:
        raise FileFormatError(f"{path}: sheet {grid.name!r}: grade header lacks {', '.join(missing)}")
    header_row = header[0]
    tag_row = _tag_row(grid, header_row)
    by_key = {int(k[1:]): c for k, c in cols.items() if k.startswith("a")}
    if not by_key and tag_row is not None:
        for c in range(grid.ncols):
            key = _TAG_KEYS.get(grid.text(tag_row, c))
            if key is not None:
                by_key.setdefault(key, c)
    if "remark" not in cols and tag_row is not None:
        for c in range(grid.ncols):
            if grid.text(tag_row, c) == layout.REMARK_TAG:
                cols["remark"] = c
    if not by_key:
        titles = ", ".join(t[0] for t in layout.ASSESSMENTS.values())
        raise FileFormatError(f"{path}: sheet {grid.name!r}: no assessment column ({titles})")

    sub_row = header_row + 1
    sub_titles = {"mark": (layout.MARK,), "absence": (layout.ABSENCE,)}
    has_sub = bool(find_columns(grid, sub_row, sub_titles))
    # A title spans its mark and absence columns (merged cells keep the value
    # in their first column), up to the next titled column.
    # The export repeats each title over its absence column (G16 and H16 both
    # read الفرض الأول): a cell repeating its left neighbour's title starts nothing.
    titled = [c for c in range(grid.ncols) if grid.text(header_row, c)]
    starts = sorted(
        {c for c in titled if c == 0 or grid.text(header_row, c) != grid.text(header_row, c - 1)} | set(by_key.values())
    )
    mark_label, absence_label = label_set([layout.MARK]), label_set([layout.ABSENCE])
    assessments = []
    for key, c in sorted(by_key.items()):
        later = [s for s in starts if s > c]
        end = later[0] if later else c + 2
        mark_col, absence_col = c, None
        if has_sub:
            for cc in range(c, end):
                norm = normalise_label(grid.text(sub_row, cc))
                if norm in mark_label:
                    mark_col = cc
                elif norm in absence_label and absence_col is None:
                    absence_col = cc
        title = layout.ASSESSMENTS[key][0]
        assessments.append(_Assessment(key, title, mark_col, absence_col))
    top = tag_row if tag_row is not None else header_row
    first_pupil = header_row + (2 if has_sub else 1)
    return _Table(header_row, first_pupil, cols, assessments, top)


def _tag_row(grid: Grid, header_row: int) -> int | None:
    tags = set(_TAG_KEYS) | {layout.REMARK_TAG}
    for r in range(header_row - 1, max(-1, header_row - 1 - _TAG_SEARCH), -1):
        if any(grid.text(r, c) in tags for c in range(grid.ncols)):
            return r
    return None


def _semester(path: str | Path, value: str | None) -> Semester:
    number = _SEMESTERS.get(normalise_label(value))
    if number == 1:
        return 1
    if number == 2:
        return 2
    raise FileFormatError(
        f"{path}: {layout.METADATA['semester'][0]} is {value!r}, expected "
        f"{layout.SEMESTERS[1]} or {layout.SEMESTERS[2]}"
    )


def _technical_values(
    grid: Grid, block: range
) -> tuple[str | None, str | None, str | None, dict[str, str | int | float]]:
    """(school code, GUID, subject code, kept cells) from the hidden technical
    row, whose cells are in the order school code, GUID, session, '#<subject>#';
    the kept cells are those of `layout.TECH_KEPT` (letter -> value).

    That row is the one holding a '#<digits>#' or a GUID; failing both, the
    hidden row standing where the export puts it relative to the labels."""
    row = next((r for r in block if _is_technical(grid, r)), None)
    if row is None:
        academy = find_label(grid, layout.METADATA["academy"], rows=block)
        offset = layout.METADATA_ROWS["academy"] - layout.TECH_ROW
        candidate = academy[0] - offset if academy else -1
        if candidate not in grid.hidden_rows:
            return None, None, None, {}
        row = candidate
    texts = [grid.text(row, c) for c in range(grid.ncols)]
    subject = next((m[1] for t in texts if (m := layout.SUBJECT_CODE.fullmatch(t))), None)
    guid = next((t for t in texts if layout.GUID.fullmatch(t)), None)
    first = next((t for t in texts if t), None)
    school = None if first in (None, guid) or layout.SUBJECT_CODE.fullmatch(first or "") else first
    kept: dict[str, str | int | float] = {}
    for letter in layout.TECH_KEPT:
        value = grid.value(row, column_index_from_string(letter) - 1)
        if isinstance(value, str | int | float) and not isinstance(value, bool) and value != "":
            kept[letter] = value
    return school, guid, subject, kept


def _is_technical(grid: Grid, r: int) -> bool:
    return any(
        layout.SUBJECT_CODE.fullmatch(t) or layout.GUID.fullmatch(t)
        for t in (grid.text(r, c) for c in range(grid.ncols))
    )


def _read_row(
    grid: Grid,
    r: int,
    table: _Table,
    scale: int,
    problems: list[RowError],
    seen: dict[str, int],
) -> GradeSheetRow | None:
    cols = table.cols

    def text(key: str) -> str:
        return grid.text(r, cols[key]) if key in cols else ""

    used = [c for a in table.assessments for c in (a.mark_col, a.absence_col) if c is not None]
    if not any(text(k) for k in ("code", "name", "remark")) and not any(grid.text(r, c) for c in used):
        return None
    excel_row = r + 1
    bad: list[RowError] = []

    def problem(column: str, message: str) -> None:
        bad.append(RowError(excel_row, message, column, sheet=grid.name))

    code = text("code")
    code_title = layout.COLUMNS["code"][0]
    if not code:
        problem(code_title, "missing Massar code")
    elif not is_massar_code(code):
        problem(code_title, f"bad Massar code {code!r} (expected a capital letter and 9 digits)")
    elif code in seen:
        problem(code_title, f"duplicate Massar code {code} (also row {seen[code]})")
    else:
        seen[code] = excel_row
    birth_date = None
    if "birth_date" in cols:
        try:
            day = parse_date(grid.value(r, cols["birth_date"]), datemode=grid.datemode)
            birth_date = day.isoformat() if day else None
        except BadDate as exc:
            problem(layout.COLUMNS["birth_date"][0], str(exc))
    marks: dict[int, GradeCell] = {}
    for a in table.assessments:
        try:
            score = parse_mark(grid.value(r, a.mark_col), scale=scale)
        except BadMark as exc:
            problem(a.title, str(exc))
            continue
        absent, justified = parse_absence(grid.value(r, a.absence_col)) if a.absence_col is not None else (False, False)
        if absent and score is not None:
            problem(a.title, f"marked absent and given the mark {score}")
        elif absent or score is not None:
            marks[a.key] = GradeCell(score=score, absent=absent, justified=justified)
    if bad:
        problems.extend(bad)
        return None
    massar_id = cell_text(grid.value(r, cols["id"])) if "id" in cols else ""
    birth_text = grid.text(r, cols["birth_date"]) if "birth_date" in cols else ""
    return GradeSheetRow(
        row=excel_row,
        code=code,
        name=text("name"),
        birth_date=birth_date,
        marks=marks,
        remark=text("remark") or None,
        massar_id=massar_id or None,
        birth_text=birth_text or None,
    )
