"""Schema for the school year's second half: council decisions, orientation, year-end, parents' phones.

The domain part of migration step 8 (domain/migrations.py), the same on node
and centre: new tables, and reshaped ones (orientation wishes gain their round,
orientation decisions their note and appeal window, guardians the family's
language and SMS consent). Idempotent: a file that already has the shape is
left alone, so the step may run on any file.
"""

from __future__ import annotations

import sqlite_utils

from protocol.tables import TableSpec

from .database import execute_script

NEW_TABLES_SQL = """
-- National: the orientation rounds' dates, published by the centre per school year.
CREATE TABLE IF NOT EXISTS orientation_rounds (
    year TEXT NOT NULL,
    round TEXT NOT NULL CHECK (round IN ('first', 'final')),
    opens_on TEXT NOT NULL,
    closes_on TEXT NOT NULL,
    -- days a family has to appeal the council's orientation decision
    appeal_days INTEGER NOT NULL DEFAULT 15 CHECK (appeal_days BETWEEN 0 AND 60),
    PRIMARY KEY (year, round),
    CHECK (closes_on >= opens_on)
);

-- The class council's year-end decision (مجلس القسم); the average only proposes one.
CREATE TABLE IF NOT EXISTS council_decisions (
    school TEXT NOT NULL,
    year TEXT NOT NULL,
    pupil TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('pass', 'repeat', 'reorient', 'exclude', 'leave')),
    note TEXT,
    decided_on TEXT NOT NULL,
    PRIMARY KEY (year, pupil)
);

-- What the year's close made of each pupil, and the class the director confirmed.
CREATE TABLE IF NOT EXISTS year_outcomes (
    school TEXT NOT NULL,
    year TEXT NOT NULL,
    pupil TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('pass', 'repeat', 'oriented', 'leaver')),
    next_level TEXT,
    next_class TEXT,
    confirmed INTEGER NOT NULL DEFAULT 0 CHECK (confirmed IN (0, 1)),
    PRIMARY KEY (year, pupil)
);
"""

# Wishes belong to a round (first wishes in February, final in April); rows made
# before rounds existed are kept as first wishes.
RESHAPE_WISHES_SQL = """
ALTER TABLE orientation_wishes RENAME TO _orientation_wishes_before_rounds;
CREATE TABLE orientation_wishes (
    school TEXT NOT NULL,
    year TEXT NOT NULL,
    pupil TEXT NOT NULL,
    round TEXT NOT NULL CHECK (round IN ('first', 'final')),
    rank INTEGER NOT NULL CHECK (rank BETWEEN 1 AND 9),
    choice TEXT NOT NULL,
    PRIMARY KEY (year, pupil, round, rank)
);
INSERT INTO orientation_wishes (school, year, pupil, round, rank, choice)
    SELECT school, year, pupil, 'first', rank, choice FROM _orientation_wishes_before_rounds;
DROP TABLE _orientation_wishes_before_rounds;
"""

ADDED_COLUMNS = (
    ("orientation_decisions", "note", "TEXT"),
    ("orientation_decisions", "appeal_until", "TEXT"),
    ("orientation_decisions", "appeal_note", "TEXT"),
    ("orientation_decisions", "appealed_on", "TEXT"),
    ("guardians", "lang", "TEXT NOT NULL DEFAULT 'ar' CHECK (lang IN ('ar', 'fr'))"),
    ("guardians", "sms_consent", "INTEGER NOT NULL DEFAULT 0 CHECK (sms_consent IN (0, 1))"),
)


def shaped_as_registered(db: sqlite_utils.Database, spec: TableSpec) -> bool:
    """Whether a table already has the registry's columns. Capture triggers are made only for
    those: a table created or reshaped by a later step gets its triggers in that step."""
    return set(spec.column_names) <= {c.name for c in db[spec.name].columns}


def install_year_tables(db: sqlite_utils.Database) -> None:
    """The domain part of step 8 (both sides; the caller then re-installs capture triggers)."""
    execute_script(db, NEW_TABLES_SQL)
    if "round" not in {c.name for c in db["orientation_wishes"].columns}:
        for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'orientation_wishes'"
        ).fetchall():
            db.conn.execute(f'DROP TRIGGER "{name}"')
        execute_script(db, RESHAPE_WISHES_SQL)
    for table, column, decl in ADDED_COLUMNS:
        if column not in {c.name for c in db[table].columns}:
            db.conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")
