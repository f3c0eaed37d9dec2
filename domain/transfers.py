"""Pupils moving between schools (الوافدون / المغادرون), keeping their Massar code.

The arriving school enrols the pupil (`admit_pupil`); once the centre has that
enrolment, the pupil is the arriving school's (ownership follows the current
enrolment) and the record other schools hold (marks and absences of earlier
semesters) reaches it read-only on its next sync, with the pupil's identity.
The leaving school records the departure (`leave_pupil`): its history stays
where it was.
"""

from __future__ import annotations

import sqlite_utils

from .codes import check_pupil_code, check_school_code, parse_date
from .database import write_transaction
from .errors import Conflict, InvalidInput, NotFound
from .pupils import Term
from .rows import upsert_dicts

DEPARTURES_SQL = """
-- Pupils who left this school during a year: the enrolment and the history stay as they were.
CREATE TABLE IF NOT EXISTS _departures (
    year TEXT NOT NULL,
    pupil TEXT NOT NULL,
    left_on TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('transfer', 'left')),
    to_school TEXT,
    PRIMARY KEY (year, pupil)
);
"""


def admit_pupil(
    db: sqlite_utils.Database, term: Term, pupil: str, class_code: str, from_school: str | None = None
) -> dict[str, object]:
    """Enrol an arriving pupil in one of this school's classes for the year."""
    pupil = check_pupil_code(pupil)
    class_code = class_code.strip().upper()
    if from_school is not None:
        from_school = check_school_code(from_school)
        if from_school == term.school:
            raise InvalidInput("a pupil cannot arrive from the school it joins", code="same_school")
    with write_transaction(db):
        level = db.execute(
            "SELECT level FROM classes WHERE school = ? AND year = ? AND code = ?", [term.school, term.year, class_code]
        ).fetchone()
        if level is None:
            raise NotFound(f"no class {class_code} in {term.year}", code="unknown_class")
        own = db.execute("SELECT school FROM pupils WHERE code = ?", [pupil]).fetchone()
        if (
            own
            and own[0] == term.school
            and db.execute(
                "SELECT 1 FROM enrolments WHERE year = ? AND pupil = ? AND school = ?", [term.year, pupil, term.school]
            ).fetchone()
        ):
            raise Conflict(f"pupil {pupil} is already enrolled here in {term.year}", code="already_enrolled")
        upsert_dicts(
            db, "enrolments", [{"school": term.school, "year": term.year, "pupil": pupil, "class": class_code}]
        )
        db.conn.execute("DELETE FROM _departures WHERE year = ? AND pupil = ?", [term.year, pupil])
    return {"student": pupil, "class": class_code, "year": term.year, "from": from_school}


def leave_pupil(
    db: sqlite_utils.Database, term: Term, pupil: str, on: str, to_school: str | None = None
) -> dict[str, object]:
    """Record that a pupil left (to another school when `to_school` is given); nothing is deleted."""
    pupil = check_pupil_code(pupil)
    left_on = parse_date(on, field="date")
    if to_school is not None:
        to_school = check_school_code(to_school)
    with write_transaction(db):
        if not db.execute(
            "SELECT 1 FROM enrolments WHERE year = ? AND pupil = ? AND school = ?", [term.year, pupil, term.school]
        ).fetchone():
            raise NotFound(f"pupil {pupil} is not enrolled here in {term.year}", code="unknown_pupil")
        db.conn.execute(
            "INSERT INTO _departures (year, pupil, left_on, kind, to_school) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (year, pupil) DO UPDATE SET left_on = excluded.left_on, kind = excluded.kind, "
            "to_school = excluded.to_school",
            [term.year, pupil, left_on.isoformat(), "transfer" if to_school else "left", to_school],
        )
    return {
        "student": pupil,
        "left_on": left_on.isoformat(),
        "kind": "transfer" if to_school else "left",
        "to": to_school,
    }


def departures(db: sqlite_utils.Database, year: str) -> list[dict[str, object]]:
    return [
        {"student": r[0], "left_on": r[1], "kind": r[2], "to": r[3]}
        for r in db.execute(
            "SELECT pupil, left_on, kind, to_school FROM _departures WHERE year = ? ORDER BY pupil", [year]
        ).fetchall()
    ]
