"""Massar's own Excel files into the node's records: the ListEleve class list
(roster) and the NotesCC grade sheet (marks).

`syncclient.massarfiles` reads the files into plain dataclasses; this module
checks them against the node's database (class, year, subject, enrolments,
scale) and applies them all or nothing (or the valid rows only, `partial`).
Every problem is reported with its Excel row and column title.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from domain.codes import level_of_class
from domain.database import write_transaction
from domain.errors import FileRejected, InvalidInput, NotFound, RowError
from domain.evaluation import rules_for
from domain.grades import GradeEntry, GradeValidator, record_grades
from domain.level_codes import nearest_codes
from domain.pupils import Term
from domain.roster import RosterRow

from .massarfiles import gradesheet_layout as sheet_layout
from .massarfiles import normalise_label, read_class_list_partial, read_grade_sheet_partial
from .massarfiles.file_names import parse_file_name
from .massarfiles.gradesheet_model import GradeSheet, GradeSheetRow
from .store import NodeStore

# -- class list -> roster ------------------------------------------------------


def _level_of_sheet(levels: dict[str, str], class_code: str, level_text: str | None) -> str | None:
    """The level of a class sheet: from the class code (`1ASCG-1`), else from the
    sheet's Arabic level title when it is one of the levels table's own.
    ``levels`` maps each known code to its normalised Arabic title."""
    try:
        level = level_of_class(class_code)
    except InvalidInput:
        level = None
    if level in levels:
        return level
    if level_text:
        wanted = normalise_label(level_text)
        return next((code for code, title in levels.items() if title == wanted), None)
    return None


def open_year_hint(term: Term, year: str) -> str:
    return (
        f"to enter {year}, open a node for that year in another folder: "
        f"massar node init --data DIR --school {term.school} --year {year}"
    )


def roster_rows_from_class_list(db: sqlite_utils.Database, term: Term, path: str | Path) -> list[RosterRow]:
    """Every pupil of every class sheet of Massar's ListEleve (.xls or .xlsx).

    Raises FileRejected listing every bad row (Excel row, column title, sheet
    in the message) so that nothing of a bad file is applied: an unknown level
    names the nearest known codes, a sheet of another school year says how to
    open a node for that year."""
    path = Path(path)
    classes, problems = read_class_list_partial(path)
    errors = list(problems)
    levels = {code: normalise_label(ar) for code, ar in db.execute("SELECT code, name_ar FROM levels").fetchall()}
    rows: list[RosterRow] = []
    for sheet in classes.sheets:
        class_code = (sheet.class_code or "").strip().upper()
        if sheet.year and sheet.year.strip() != term.year:
            errors.append(
                RowError(
                    1,
                    f"[{sheet.sheet_name}] the class list is for the school year {sheet.year.strip()} "
                    f"(السنة الدراسية), this node records {term.year}; {open_year_hint(term, sheet.year.strip())}",
                    "السنة الدراسية",
                )
            )
            continue
        if not class_code:
            errors.append(RowError(1, f"[{sheet.sheet_name}] the sheet names no class (القسم)", "القسم"))
            continue
        level = _level_of_sheet(levels, class_code, sheet.level)
        if level is None:
            try:
                code = level_of_class(class_code)
            except InvalidInput:
                code = class_code
            near = nearest_codes(code, list(levels))
            errors.append(
                RowError(
                    1,
                    f"[{sheet.sheet_name}] class {class_code}: level {code} (title {sheet.level!r}) is not a known "
                    f"Massar level" + (f"; nearest known: {', '.join(near)}" if near else ""),
                    "القسم",
                    sheet=sheet.sheet_name,
                )
            )
            continue
        for p in sheet.pupils:
            rows.append(
                RosterRow(
                    line=p.row,
                    code=p.code,
                    last_name=p.last_name,
                    first_name=p.first_name,
                    gender=p.gender,
                    birth_date=p.birth_date,
                    birth_place=p.birth_place,
                    level=level,
                    class_code=class_code,
                )
            )
    if errors:
        raise FileRejected(f"{len(errors)} problem(s) in {path.name}; nothing was imported", errors)
    if not rows:
        raise FileRejected(f"{path.name} lists no pupil; nothing was imported", [])
    return rows


# -- subjects ------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    code: str  # the catalogue's code, e.g. MATH
    name_ar: str
    massar_code: str | None


def subject_by_massar(db: sqlite_utils.Database, massar_code: str | None, name_ar: str | None) -> Subject | None:
    """The subject of a grade sheet: by Massar's numeric code (subjects.massar_code),
    else by its Arabic name in the header block (المادة)."""
    rows = db.execute("SELECT code, name_ar, massar_code FROM subjects").fetchall()
    if massar_code:
        for code, ar, mc in rows:
            if mc and mc.lstrip("0") == massar_code.strip().lstrip("0"):
                return Subject(code, ar, mc)
    if name_ar:
        wanted = normalise_label(name_ar)
        for code, ar, mc in rows:
            if normalise_label(ar) == wanted:
                return Subject(code, ar, mc)
    return None


def subject_by_code(db: sqlite_utils.Database, text: str) -> Subject:
    """A subject named on the command line: the catalogue code (MATH) or Massar's (0070)."""
    key = text.strip()
    row = db.execute("SELECT code, name_ar, massar_code FROM subjects WHERE code = ?", [key.upper()]).fetchone()
    if row is None and key.isdigit():
        found = subject_by_massar(db, key, None)
        if found is not None:
            return found
    if row is None:
        raise NotFound(f"unknown subject {text!r} (see `massar node subjects`)", code="unknown_subject")
    return Subject(*row)


# -- class lookups ---------------------------------------------------------------


def class_level(db: sqlite_utils.Database, term: Term, class_code: str) -> tuple[str, int] | None:
    row = db.execute(
        "SELECT c.level, l.scale FROM classes c JOIN levels l ON l.code = c.level "
        "WHERE c.school = ? AND c.year = ? AND c.code = ?",
        [term.school, term.year, class_code],
    ).fetchone()
    return None if row is None else (row[0], int(row[1]))


def taught(db: sqlite_utils.Database, year: str, level: str, subject: str) -> bool:
    return subject in rules_for(db, year, level)


# -- what Massar needs back: kept from the last imported sheet ----------------


def sheet_memory_key(term: Term, class_code: str, subject: str, semester: int) -> str:
    return f"massar_sheet/{term.year}/{class_code}/{subject}/{semester}"


def kept_sheet_path(store: NodeStore, class_code: str, subject: str, semester: int) -> Path:
    """Where the node keeps the last grade sheet Massar issued for a class, subject and semester."""
    year = store.term.year.replace("/", "-")
    return store.path.parent / "massar_sheets" / year / f"{class_code}_{subject}_S{semester}.xlsx"


def remember_sheet(store: NodeStore, class_code: str, subject: str, sheet: GradeSheet, source: Path) -> None:
    """Keep the issued file itself (export fills it back) and its technical values
    (GUID, school code, pupils' hidden IDs, names and row order, header texts) in
    the node's local settings, to write the same sheet should the file be lost.
    Local to this node; never synced."""
    memory: dict[str, Any] = {
        "file_name": source.name,
        "school_code": sheet.school_code,
        "guid": sheet.massar_guid,
        "massar_subject_code": sheet.massar_subject_code,
        "technical": sheet.technical,
        "academy": sheet.academy,
        "directorate": sheet.directorate,
        "school_name": sheet.school_name,
        "level": sheet.level,
        "teacher": sheet.teacher,
        "subject_name": sheet.subject_name,
        "assessments": list(sheet.assessments),
        "ids": {row.code: row.massar_id for row in sheet.rows},
        "names": {row.code: row.name for row in sheet.rows},
        "born": {row.code: row.birth_text for row in sheet.rows},
    }
    key = sheet_memory_key(store.term, class_code, subject, sheet.semester)
    old = recalled_sheet(store, class_code, subject, sheet.semester)
    if old:  # a partial import lists only the valid rows: keep what we knew of the others
        for part in ("ids", "names", "born"):
            memory[part] = {**old.get(part, {}), **memory[part]}
    store.set_setting(key, json.dumps(memory, ensure_ascii=False))
    kept = kept_sheet_path(store, class_code, subject, sheet.semester)
    kept.parent.mkdir(parents=True, exist_ok=True)
    temporary = kept.with_suffix(".tmp")
    shutil.copyfile(source, temporary)
    os.replace(temporary, kept)  # a crash leaves the old copy or the new one, never half of one


def recalled_sheet(store: NodeStore, class_code: str, subject: str, semester: int) -> dict[str, Any] | None:
    raw = store.setting(sheet_memory_key(store.term, class_code, subject, semester))
    return json.loads(raw) if raw else None


# -- grade sheet -> grades -------------------------------------------------------

_WIDEST_SCALE = 20  # /20 collège and lycée, /10 primary


def _problem_dict(e: RowError) -> dict[str, Any]:
    return {"row": e.row, "column": e.column, "sheet": e.sheet, "message": e.message}


def _header_problems(
    store: NodeStore, sheet: GradeSheet, file_name: str
) -> tuple[list[str], str, tuple[str, int] | None, Subject | None]:
    """Problems of the header block that make the whole file unusable. The file
    name (either Massar naming) stands in for a class or subject the header lacks."""
    db, term = store.db, store.term
    problems: list[str] = []
    named = parse_file_name(file_name)
    class_code = (sheet.class_code or named.class_code or "").strip().upper()
    level = None
    if not class_code:
        problems.append("the header names no class (القسم)")
    else:
        level = class_level(db, term, class_code)
        if level is None:
            problems.append(f"class {class_code} (القسم) does not exist at school {term.school} in {term.year}")
    if sheet.year and sheet.year.strip() != term.year:
        problems.append(
            f"the file is for the school year {sheet.year.strip()} (السنة الدراسية), this node records {term.year}; "
            + open_year_hint(term, sheet.year.strip())
        )
    by_name = named.subject if named.subject and not named.subject.isdigit() else None
    by_code = named.subject if named.subject and named.subject.isdigit() else None
    subject = subject_by_massar(db, sheet.massar_subject_code or by_code, sheet.subject_name or by_name)
    if subject is None:
        problems.append(
            f"unknown subject: Massar code {sheet.massar_subject_code or '(none)'} is not in the subjects table "
            f"and the name {sheet.subject_name or '(none)'!r} (المادة) matches no subject"
        )
    elif level is not None and not taught(db, term.year, level[0], subject.code):
        problems.append(f"subject {subject.code} ({subject.name_ar}) is not taught in {level[0]}")
    return problems, class_code, level, subject


def _row_entries(
    row: GradeSheetRow,
    *,
    class_code: str,
    class_pupils: set[str],
    subject: str,
    semester: int,
    validator: GradeValidator,
) -> tuple[list[GradeEntry], list[RowError]]:
    errors: list[RowError] = []
    code_title = sheet_layout.COLUMNS["code"][0]
    if row.code not in class_pupils:
        try:
            other = validator.enrolment(row.code)
            message = f"pupil {row.code} is in class {other.class_code}, not {class_code}"
        except NotFound as exc:
            message = str(exc)
        return [], [RowError(row.row, message, code_title)]
    entries = []
    remark = (row.remark or "").strip() or None
    for key, cell in sorted(row.marks.items()):
        entry = GradeEntry(
            pupil=row.code,
            subject=subject,
            semester=semester,
            assessment=key,
            score=None if cell.absent else cell.score,
            absent=cell.absent,
            justified=cell.absent and cell.justified,
            remark=remark,
        )
        try:
            validator.row(entry)
        except (InvalidInput, NotFound) as exc:
            errors.append(RowError(row.row, str(exc), sheet_layout.ASSESSMENTS[key][0]))
            continue
        entries.append(entry)
    return entries, errors


def import_grade_sheet(store: NodeStore, path: str | Path, *, partial: bool) -> dict[str, Any]:
    """Check a NotesCC grade sheet against this node and record its marks.

    The header (class at this school this year, school year, subject) must be
    right or nothing happens. Every row problem is listed with its Excel row
    and column title; without `partial` one bad row rejects the file, with it
    the valid rows are applied and the others returned in ``skipped``.
    Blank cells are ungraded and leave any recorded mark alone."""
    path = Path(path)
    db, term = store.db, store.term
    # Read at the widest scale; the class's own scale is checked per mark below.
    sheet, read_problems = read_grade_sheet_partial(path, scale=_WIDEST_SCALE)
    header, class_code, level, subject = _header_problems(store, sheet, path.name)
    if header:
        raise InvalidInput(f"{path.name}: " + "; ".join(header) + "; nothing was imported", code="file_rejected")
    assert level is not None and subject is not None

    errors = list(read_problems)
    class_pupils = {
        r[0]
        for r in db.execute(
            "SELECT pupil FROM enrolments WHERE school = ? AND year = ? AND class = ?",
            [term.school, term.year, class_code],
        ).fetchall()
    }
    validator = GradeValidator(db, term)
    entries: list[GradeEntry] = []
    for row in sheet.rows:
        row_entries, row_errors = _row_entries(
            row,
            class_code=class_code,
            class_pupils=class_pupils,
            subject=subject.code,
            semester=sheet.semester,
            validator=validator,
        )
        if row_errors:  # a row with any problem is left out whole
            errors.extend(row_errors)
        else:
            entries.extend(row_entries)
    errors.sort(key=lambda e: (e.row, e.column or ""))
    if errors and not partial:
        raise FileRejected(
            f"{len(errors)} problem(s) in {path.name}; nothing was imported (--partial applies the valid rows)", errors
        )
    with write_transaction(db):
        count = record_grades(db, term, entries) if entries else 0
        remember_sheet(store, class_code, subject.code, sheet, path)
    return {
        "file": path.name,
        "marks": count,
        "pupils": len({e.pupil for e in entries}),
        "class": class_code,
        "subject": subject.code,
        "massar_subject": sheet.massar_subject_code or subject.massar_code,
        "semester": sheet.semester,
        "year": term.year,
        "skipped": [_problem_dict(e) for e in errors],
    }
