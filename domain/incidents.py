"""Behaviour incidents."""

from __future__ import annotations

import datetime as dt

import sqlite_utils

from .database import write_transaction
from .errors import InvalidInput
from .pupils import Term, enrolment_of
from .rows import upsert_rows


def record_incident(
    db: sqlite_utils.Database, term: Term, pupil: str, day: dt.date, description: str, measure: str | None = None
) -> int:
    enrolment_of(db, term, pupil)
    if not description.strip():
        raise InvalidInput("describe the incident", code="missing_description")
    if day > dt.date.today():
        raise InvalidInput(f"date {day} is in the future", code="date_in_future")
    with write_transaction(db):
        n = db.execute(
            "SELECT COALESCE(MAX(n), 0) + 1 FROM incidents WHERE pupil = ? AND day = ?", [pupil, day.isoformat()]
        ).fetchone()[0]
        upsert_rows(
            db,
            "incidents",
            [(term.school, pupil, day.isoformat(), n, description.strip(), (measure or "").strip() or None)],
        )
    return n


def recent_of_class(db: sqlite_utils.Database, term: Term, class_code: str, limit: int = 30) -> list[dict]:
    """The class's latest incidents, newest first."""
    rows = db.execute(
        "SELECT i.pupil, i.day, i.description, i.measure FROM incidents i "
        "JOIN enrolments e ON e.pupil = i.pupil AND e.school = i.school "
        "WHERE e.school = ? AND e.year = ? AND e.class = ? ORDER BY i.day DESC, i.n DESC LIMIT ?",
        [term.school, term.year, class_code, limit],
    ).fetchall()
    return [dict(zip(("pupil", "day", "description", "measure"), r, strict=True)) for r in rows]
