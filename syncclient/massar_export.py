"""The node's marks out as Massar's own grade sheet (NotesCC), for upload to
the national Massar once the school has a connection.

When the node keeps the file Massar issued (imported earlier), that very file
is filled cell for cell; otherwise the same layout is written from the node's
records and what it remembers of the issued sheet."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from domain.errors import InvalidInput, NotFound
from domain.evaluation import rules_for
from domain.rules import from_hundredths

from .massar_import import class_level, kept_sheet_path, recalled_sheet, subject_by_code, taught
from .massarfiles import GradeCell, GradeSheet, GradeSheetRow, read_grade_sheet_partial, write_grade_sheet
from .massarfiles.file_names import parse_file_name
from .massarfiles.gradesheet_filler import fill_grade_sheet
from .massarfiles.gradesheet_model import ACTIVITIES
from .store import NodeStore


def default_file_name(
    class_code: str, massar_subject: str, *, school: str, issued: str | None = None, now: dt.datetime | None = None
) -> str:
    """Massar's own naming: `export_notesCC_<CLASS>_<SUBJECT>.xlsx`, or the newer
    `Export_<school>_<class>_<subject>_<timestamp>.xlsx` when the issued file was named so."""
    if issued and parse_file_name(issued).newer:
        stamp = (now or dt.datetime.now()).strftime("%Y%m%d%H%M%S")
        return f"Export_{school}_{class_code}_{massar_subject}_{stamp}.xlsx"
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
    if not taught(db, term.year, level, subject.code):
        raise NotFound(f"subject {subject.code} is not taught in {level}", code="unknown_subject")
    memory = recalled_sheet(store, class_code, subject.code, semester) or {}
    ids: dict[str, str | None] = memory.get("ids", {})
    names: dict[str, str] = memory.get("names", {})
    born: dict[str, str | None] = memory.get("born", {})
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
    rule = rules_for(db, term.year, level)[subject.code]
    declared = memory.get("assessments") or (*range(1, rule.tests + 1), ACTIVITIES)
    assessments = tuple(sorted(set(declared) | used))
    rows = [
        GradeSheetRow(
            row=0,
            code=code,
            name=names.get(code) or (f"{last_ar} {first_ar}" if last_ar and first_ar else f"{last} {first}"),
            birth_date=birth,
            marks=marks.get(code, {}),
            remark=remarks.get(code),
            massar_id=ids.get(code),
            birth_text=born.get(code),
        )
        for code, last, first, last_ar, first_ar, birth in pupils
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
        technical=memory.get("technical") or {},
    )
    return sheet, scale


def export_grade_sheet(
    store: NodeStore, class_code: str, subject: str, semester: int, output: str | Path | None = None
) -> dict[str, Any]:
    """Write the sheet; ``output`` defaults to Massar's own file name in the current folder."""
    sheet, scale = build_grade_sheet(store, class_code, subject, semester)
    ours = subject_by_code(store.db, subject).code
    class_code = sheet.class_code or class_code.strip().upper()
    memory = recalled_sheet(store, class_code, ours, semester) or {}
    path = (
        Path(output)
        if output
        else Path(
            default_file_name(
                class_code,
                sheet.massar_subject_code or ours,
                school=sheet.school_code or store.school,
                issued=memory.get("file_name"),
            )
        )
    )
    kept = kept_sheet_path(store, class_code, ours, semester)
    info: dict[str, Any] = {
        "file": str(path),
        "class": class_code,
        "subject": ours,
        "massar_subject": sheet.massar_subject_code,
        "semester": sheet.semester,
        "year": sheet.year,
    }
    if kept.exists():
        rows = {r.code: r for r in sheet.rows}
        marks = {code: r.marks for code, r in rows.items()}
        marks.update(_marks_of_other_pupils(store, ours, semester, kept, set(rows)))
        report = fill_grade_sheet(kept, path, marks, {code: r.remark for code, r in rows.items()})
        in_sheet = set(report.pupils)
        info.update(
            source="issued",
            pupils=len(report.pupils),
            marks=report.marks,
            not_in_sheet=sorted(set(rows) - in_sheet),
        )
    else:
        write_grade_sheet(path, sheet, scale=scale)
        info.update(source="written", pupils=len(sheet.rows), marks=sum(len(r.marks) for r in sheet.rows))
        info["not_in_sheet"] = []
    info["unjustified_as_zero"] = sum(1 for r in sheet.rows for c in r.marks.values() if c.absent and not c.justified)
    return info


def _marks_of_other_pupils(
    store: NodeStore, subject: str, semester: int, kept: Path, enrolled: set[str]
) -> dict[str, dict[int, GradeCell]]:
    """Marks of pupils the issued sheet lists but who left the class since (moved):
    Massar still expects their row, so their marks of the subject go back too."""
    issued = {r.code for r in read_grade_sheet_partial(kept)[0].rows}
    out: dict[str, dict[int, GradeCell]] = {}
    for pupil in sorted(issued - enrolled):
        for assessment, score, absent, justified in store.db.execute(
            "SELECT assessment, score, absent, justified FROM grades "
            "WHERE year = ? AND pupil = ? AND subject = ? AND semester = ?",
            [store.term.year, pupil, subject, semester],
        ).fetchall():
            out.setdefault(pupil, {})[assessment] = GradeCell(
                score=None if score is None else from_hundredths(score), absent=bool(absent), justified=bool(justified)
            )
    return out
