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
