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
from .database import execute_script, write_transaction
from .errors import Conflict, InvalidInput, NotFound
from .pupils import Term
from .rows import upsert_dicts

# Migration step 7's node-only table, released as is; step 10 moves its rows into the synced `departures`.
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

SYNCED_DEPARTURES_SQL = """
-- Pupils who left a school during a year (synced, wire id 22): the leaving school's record, kept
-- by the centre too; the enrolment and the history stay as they were.
CREATE TABLE IF NOT EXISTS departures (
    school TEXT NOT NULL,
    year TEXT NOT NULL,
    pupil TEXT NOT NULL,
    left_on TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('transfer', 'left')),
    to_school TEXT,
    PRIMARY KEY (school, year, pupil)
);
"""


def install_synced_departures(db: sqlite_utils.Database) -> None:
    """The domain part of step 10 (both sides; the caller then re-installs capture triggers)."""
    execute_script(db, SYNCED_DEPARTURES_SQL)


def move_node_departures(db: sqlite_utils.Database) -> None:
    """Step 10 on a node, once capture is installed: departures recorded before they synced are
    moved into the synced table, so they reach the centre on the next sync."""
    if db["_departures"].exists():
        db.conn.execute(
            "INSERT OR IGNORE INTO departures (school, year, pupil, left_on, kind, to_school) "
            "SELECT (SELECT v FROM _node WHERE k = 'school'), year, pupil, left_on, kind, to_school FROM _departures"
        )
        db.conn.execute("DROP TABLE _departures")


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
        db.conn.execute(
            "DELETE FROM departures WHERE school = ? AND year = ? AND pupil = ?", [term.school, term.year, pupil]
        )
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
        upsert_dicts(
            db,
            "departures",
            [
                {
                    "school": term.school,
                    "year": term.year,
                    "pupil": pupil,
                    "left_on": left_on.isoformat(),
                    "kind": "transfer" if to_school else "left",
                    "to_school": to_school,
                }
            ],
        )
    return {
        "student": pupil,
        "left_on": left_on.isoformat(),
        "kind": "transfer" if to_school else "left",
        "to": to_school,
    }


def departures(db: sqlite_utils.Database, school: str, year: str) -> list[dict[str, object]]:
    return [
        {"student": r[0], "left_on": r[1], "kind": r[2], "to": r[3]}
        for r in db.execute(
            "SELECT pupil, left_on, kind, to_school FROM departures WHERE school = ? AND year = ? ORDER BY pupil",
            [school, year],
        ).fetchall()
    ]
