"""Small domain-level builders for the school-records tests (no CLI, no subprocess)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path

import sqlite_utils

from domain.grades import GradeEntry, record_grades
from domain.pupils import Term, register_pupil

OTHER_SCHOOL = "S999"


def code(n: int, letter: str = "A") -> str:
    """A well-formed Massar code: one capital letter and nine digits."""
    return f"{letter}{n:09d}"


def enrol(db: sqlite_utils.Database, term: Term, class_code: str, *codes: str) -> list[str]:
    for i, c in enumerate(codes):
        register_pupil(
            db,
            term,
            class_code=class_code,
            last_name=f"Nom{i}",
            first_name=f"Prénom{i}",
            gender="F" if i % 2 else "M",
            birth_date="2012-01-01",
            code=c,
        )
    return list(codes)


def mark(
    db: sqlite_utils.Database,
    term: Term,
    pupil: str,
    subject: str,
    semester: int,
    assessment: int,
    score: str | None = None,
    *,
    absent: bool = False,
    justified: bool = False,
) -> None:
    record_grades(
        db,
        term,
        [
            GradeEntry(
                pupil,
                subject,
                semester,
                assessment,
                None if score is None else Decimal(score),
                absent=absent,
                justified=justified,
            )
        ],
    )


def count(db: sqlite_utils.Database, table: str) -> int:
    return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path
