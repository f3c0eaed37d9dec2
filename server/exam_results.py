"""`massar server import-exam-results FILE.csv`: exam marks into the schools' records.

Columns (UTF-8, header exactly): `year,student,exam,subject,score`
  year     the school year of the session, e.g. 2025/2026
  student  the pupil's Massar code
  exam     local, regional, national, provincial or makeup
  subject  the subject code (MATH) or Massar's (0019)
  score    the mark on the pupil's scale (/10 primary, /20 above), two decimals at most

Each row lands in `exam_results` of the school where the pupil was enrolled
that year, as a central edit: the school receives it on its next sync. The
whole file is checked first; one bad row and nothing is imported.
"""

from __future__ import annotations

from pathlib import Path

import sqlite_utils

from domain.certificates import EXAMS
from domain.codes import check_pupil_code, check_school_year
from domain.csvfiles import read_csv
from domain.database import write_transaction
from domain.errors import FileRejected, InvalidInput, RowError
from domain.evaluation import rules_for
from domain.grades import parse_score
from domain.rows import upsert_rows
from domain.rules import hundredths

EXAM_RESULTS_HEADER = ("year", "student", "exam", "subject", "score")
# Exams that only examine the subjects with an exam coefficient.
_BY_EXAM_COEFFICIENT = ("regional", "national", "provincial", "makeup")


def import_exam_results(db: sqlite_utils.Database, path: str | Path) -> dict[str, int]:
    rows: list[tuple] = []
    errors: list[RowError] = []
    subjects = {r[0]: r[0] for r in db.execute("SELECT code FROM subjects").fetchall()}
    subjects |= {r[1]: r[0] for r in db.execute("SELECT code, massar_code FROM subjects WHERE massar_code IS NOT NULL")}
    seen: dict[tuple, int] = {}
    for line, r in read_csv(path, EXAM_RESULTS_HEADER):
        try:
            if "__extra__" in r:
                raise InvalidInput("too many columns")
            year = check_school_year(r["year"])
            pupil = check_pupil_code(r["student"])
            exam = r["exam"].strip().lower()
            if exam not in EXAMS:
                raise InvalidInput(f"exam must be one of {', '.join(EXAMS)}, not {r['exam']!r}")
            subject = subjects.get(r["subject"].strip().upper()) or subjects.get(r["subject"].strip())
            if subject is None:
                raise InvalidInput(f"unknown subject {r['subject']!r}")
            where = db.execute(
                "SELECT e.school, c.level, l.scale FROM enrolments e "
                "JOIN classes c ON c.school = e.school AND c.year = e.year AND c.code = e.class "
                "JOIN levels l ON l.code = c.level WHERE e.year = ? AND e.pupil = ? "
                # a pupil who moved during the year: his current school's enrolment
                "ORDER BY e.school = (SELECT p.school FROM pupils p WHERE p.code = e.pupil) DESC, e.school LIMIT 1",
                [year, pupil],
            ).fetchone()
            if where is None:
                raise InvalidInput(f"{pupil} is not enrolled in any school in {year}")
            school, level, scale = where
            rule = rules_for(db, year, level).get(subject)
            if rule is None:
                raise InvalidInput(f"{subject} is not taught in {level} in {year}")
            if exam in _BY_EXAM_COEFFICIENT and not rule.exam_coefficient:
                raise InvalidInput(f"{subject} is not examined in the {exam} exam of {level} in {year}")
            score = parse_score(r["score"])
            if not 0 <= score <= scale:
                raise InvalidInput(f"score {score} is out of the scale 0-{scale} of {level}")
            key = (year, pupil, exam, subject)
            if key in seen:
                raise InvalidInput(f"the same mark is already given on row {seen[key]}")
            seen[key] = line
            rows.append((school, year, pupil, exam, subject, hundredths(score)))
        except InvalidInput as exc:
            errors.append(RowError(line, str(exc)))
    name = Path(path).name
    if errors:
        raise FileRejected(f"{len(errors)} bad row(s) in {name}; nothing was imported", errors)
    if not rows:
        raise InvalidInput(f"{name} holds no exam mark", code="empty_file")
    with write_transaction(db):
        upsert_rows(db, "exam_results", rows)
    return {"marks": len(rows), "pupils": len({r[2] for r in rows}), "schools": len({r[0] for r in rows})}
