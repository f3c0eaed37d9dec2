"""The node's marks out as Massar's own grade sheet (NotesCC), for upload to
the national Massar once the school has a connection."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from domain.errors import InvalidInput, NotFound
from domain.rules import from_hundredths

from .massar_import import class_level, recalled_sheet, subject_by_code, taught
from .massarfiles import GradeCell, GradeSheet, GradeSheetRow, write_grade_sheet
from .massarfiles.gradesheet_model import DEFAULT_ASSESSMENTS
from .store import NodeStore


def default_file_name(class_code: str, massar_subject: str) -> str:
    return f"export_notesCC_{class_code}_{massar_subject}.xlsx"


def _school_block(store: NodeStore) -> dict[str, str | None]:
    """School name, directorate and academy as the node knows them (Arabic first)."""
    row = store.db.execute(
        "SELECT s.name, s.name_ar, d.name_ar, a.name_ar FROM schools s "
        "LEFT JOIN directorates d ON d.code = s.directorate "
        "LEFT JOIN academies a ON a.code = d.academy WHERE s.code = ?",
        [store.school],
    ).fetchone()
    if row is None:
        return {"school_name": store.school, "directorate": None, "academy": None}
    name, name_ar, directorate, academy = row
    return {"school_name": name_ar or name, "directorate": directorate, "academy": academy}


def build_grade_sheet(store: NodeStore, class_code: str, subject_text: str, semester: int) -> tuple[GradeSheet, int]:
    """The grade sheet of one class, subject and semester, and its scale.

    Values Massar issued with the last imported sheet (GUID, hidden pupil IDs,
    row order, teacher...) are written back; pupils are otherwise ordered by name."""
    db, term = store.db, store.term
    if semester not in (1, 2):
        raise InvalidInput("semester must be 1 or 2", code="bad_semester")
    class_code = class_code.strip().upper()
    found = class_level(db, term, class_code)
    if found is None:
        raise NotFound(
            f"class {class_code} does not exist at school {term.school} in {term.year}", code="unknown_class"
        )
    level, scale = found
    subject = subject_by_code(db, subject_text)
    if not taught(db, level, subject.code):
        raise NotFound(f"subject {subject.code} is not taught in {level}", code="unknown_subject")
    memory = recalled_sheet(store, class_code, subject.code, semester) or {}
    ids: dict[str, str | None] = memory.get("ids", {})
    order = {code: n for n, code in enumerate(ids)}

    pupils = db.execute(
        "SELECT p.code, p.last_name, p.first_name, p.last_name_ar, p.first_name_ar, p.birth_date "
        "FROM enrolments e JOIN pupils p ON p.code = e.pupil "
        "WHERE e.school = ? AND e.year = ? AND e.class = ? "
        "ORDER BY COALESCE(p.last_name_ar, p.last_name), COALESCE(p.first_name_ar, p.first_name), p.code",
        [term.school, term.year, class_code],
    ).fetchall()
    pupils.sort(key=lambda p: order.get(p[0], len(order)))  # stable: name order after Massar's own
    marks: dict[str, dict[int, GradeCell]] = {}
    remarks: dict[str, str] = {}
    for pupil, assessment, score, absent, justified, remark in db.execute(
        "SELECT g.pupil, g.assessment, g.score, g.absent, g.justified, g.remark FROM grades g "
        "JOIN enrolments e ON e.year = g.year AND e.pupil = g.pupil "
        "WHERE e.school = ? AND e.year = ? AND e.class = ? AND g.subject = ? AND g.semester = ? "
        "ORDER BY g.pupil, g.assessment",
        [term.school, term.year, class_code, subject.code, semester],
    ).fetchall():
        marks.setdefault(pupil, {})[assessment] = GradeCell(
            score=None if score is None else from_hundredths(score), absent=bool(absent), justified=bool(justified)
        )
        if remark and pupil not in remarks:
            remarks[pupil] = remark
    used = {key for cells in marks.values() for key in cells}
    assessments = tuple(sorted(set(memory.get("assessments") or DEFAULT_ASSESSMENTS) | used))
    rows = [
        GradeSheetRow(
            row=0,
            code=code,
            name=f"{last_ar} {first_ar}" if last_ar and first_ar else f"{last} {first}",
            birth_date=born,
            marks=marks.get(code, {}),
            remark=remarks.get(code),
            massar_id=ids.get(code),
        )
        for code, last, first, last_ar, first_ar, born in pupils
    ]
    level_name = db.execute("SELECT name_ar FROM levels WHERE code = ?", [level]).fetchone()[0]
    block = _school_block(store)
    sheet = GradeSheet(
        school_name=memory.get("school_name") or block["school_name"],
        school_code=memory.get("school_code") or store.school,
        academy=memory.get("academy") or block["academy"],
        directorate=memory.get("directorate") or block["directorate"],
        level=memory.get("level") or level_name,
        class_code=class_code,
        teacher=memory.get("teacher"),
        semester=1 if semester == 1 else 2,
        subject_name=subject.name_ar,
        massar_subject_code=memory.get("massar_subject_code") or subject.massar_code,
        year=term.year,
        rows=rows,
        assessments=assessments,
        massar_guid=memory.get("guid"),
    )
    return sheet, scale


def export_grade_sheet(
    store: NodeStore, class_code: str, subject: str, semester: int, output: str | Path | None = None
) -> dict[str, Any]:
    """Write the sheet; ``output`` defaults to Massar's own file name in the current folder."""
    sheet, scale = build_grade_sheet(store, class_code, subject, semester)
    ours = subject_by_code(store.db, subject).code
    path = (
        Path(output)
        if output
        else Path(default_file_name(sheet.class_code or class_code, sheet.massar_subject_code or ours))
    )
    write_grade_sheet(path, sheet, scale=scale)
    counted = sum(len(r.marks) for r in sheet.rows)
    return {
        "file": str(path),
        "class": sheet.class_code,
        "subject": ours,
        "massar_subject": sheet.massar_subject_code,
        "semester": sheet.semester,
        "year": sheet.year,
        "pupils": len(sheet.rows),
        "marks": counted,
    }
