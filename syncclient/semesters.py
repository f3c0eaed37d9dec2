"""Closing a semester on the node: the director's word that its marks are all in."""

from __future__ import annotations

import sqlite_utils

from domain.database import write_transaction
from domain.grades import parse_semester
from domain.semesters import closed_semesters

__all__ = ["close_semester", "closed_semesters", "closures", "reopen_semester"]


def closures(db: sqlite_utils.Database, year: str) -> dict[int, tuple[str, str]]:
    """semester -> (closed by, closed at)."""
    rows = db.execute("SELECT semester, closed_by, closed_at FROM _semester_closures WHERE year = ?", [year])
    return {r[0]: (r[1], r[2]) for r in rows.fetchall()}


def close_semester(db: sqlite_utils.Database, year: str, semester: int | str, by: str) -> None:
    number = parse_semester(str(semester))
    with write_transaction(db):
        db.conn.execute(
            "INSERT INTO _semester_closures (year, semester, closed_by) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            [year, number, by],
        )


def reopen_semester(db: sqlite_utils.Database, year: str, semester: int | str) -> None:
    number = parse_semester(str(semester))
    with write_transaction(db):
        db.conn.execute("DELETE FROM _semester_closures WHERE year = ? AND semester = ?", [year, number])
