"""Closing a semester on the node: the director's word that its marks are all in.

The closure is a synced row of the school (domain/semester_closures.py): made on
one PC, it reaches the centre and the school's other devices with the next syncs;
reopening deletes it, and the delete travels the same way.
"""

from __future__ import annotations

import sqlite_utils

from domain.database import NOW_MS_FUNCTION, write_transaction
from domain.grades import parse_semester
from domain.semesters import closed_semesters

__all__ = ["close_semester", "closed_semesters", "closures", "reopen_semester"]

# The injected clock (tests move it; a node's own clock otherwise), as ISO text in UTC.
_NOW = f"strftime('%Y-%m-%dT%H:%M:%S', {NOW_MS_FUNCTION}() / 1000, 'unixepoch')"


def closures(db: sqlite_utils.Database, school: str, year: str) -> dict[int, tuple[str, str]]:
    """semester -> (closed by, closed at)."""
    rows = db.execute(
        "SELECT semester, closed_by, closed_at FROM semester_closures WHERE school = ? AND year = ?", [school, year]
    )
    return {r[0]: (r[1], r[2]) for r in rows.fetchall()}


def close_semester(db: sqlite_utils.Database, school: str, year: str, semester: int | str, by: str) -> None:
    """Close it; closing a closed semester keeps who closed it first (and tells no family twice)."""
    number = parse_semester(str(semester))
    with write_transaction(db):
        db.conn.execute(
            "INSERT INTO semester_closures (school, year, semester, closed_by, closed_at) "
            f"VALUES (?, ?, ?, ?, {_NOW}) ON CONFLICT DO NOTHING",
            [school, year, number, by],
        )


def reopen_semester(db: sqlite_utils.Database, school: str, year: str, semester: int | str) -> None:
    number = parse_semester(str(semester))
    with write_transaction(db):
        db.conn.execute(
            "DELETE FROM semester_closures WHERE school = ? AND year = ? AND semester = ?", [school, year, number]
        )
