"""Schema for the school year's second half: council decisions, orientation, year-end, parents' phones.

One migration, shared by node and central (each side passes the SQL of its
own capture triggers, since the tables it reshapes carry them). The tables it
reshapes never held data written by any code path before it: orientation
wishes gain their round, decisions their note and appeal window, guardians
the family's language and SMS consent.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

from protocol.tables import BY_NAME, TableSpec

from .database import DOMAIN_MIGRATIONS, execute_script

YEAR_FLOW_SQL = """
-- National: the orientation rounds' dates, published by the centre per school year.
CREATE TABLE orientation_rounds (
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
CREATE TABLE council_decisions (
    school TEXT NOT NULL,
    year TEXT NOT NULL,
    pupil TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('pass', 'repeat', 'reorient', 'exclude', 'leave')),
    note TEXT,
    decided_on TEXT NOT NULL,
    PRIMARY KEY (year, pupil)
);

-- What the year's close made of each pupil, and the class the director confirmed.
CREATE TABLE year_outcomes (
    school TEXT NOT NULL,
    year TEXT NOT NULL,
    pupil TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('pass', 'repeat', 'oriented', 'leaver')),
    next_level TEXT,
    next_class TEXT,
    confirmed INTEGER NOT NULL DEFAULT 0 CHECK (confirmed IN (0, 1)),
    PRIMARY KEY (year, pupil)
);

-- Wishes now belong to a round (first wishes in February, final in April).
DROP TABLE orientation_wishes;
CREATE TABLE orientation_wishes (
    school TEXT NOT NULL,
    year TEXT NOT NULL,
    pupil TEXT NOT NULL,
    round TEXT NOT NULL CHECK (round IN ('first', 'final')),
    rank INTEGER NOT NULL CHECK (rank BETWEEN 1 AND 9),
    choice TEXT NOT NULL,
    PRIMARY KEY (year, pupil, round, rank)
);

ALTER TABLE orientation_decisions ADD COLUMN note TEXT;
ALTER TABLE orientation_decisions ADD COLUMN appeal_until TEXT;
ALTER TABLE orientation_decisions ADD COLUMN appeal_note TEXT;
ALTER TABLE orientation_decisions ADD COLUMN appealed_on TEXT;

ALTER TABLE guardians ADD COLUMN lang TEXT NOT NULL DEFAULT 'ar' CHECK (lang IN ('ar', 'fr'));
ALTER TABLE guardians ADD COLUMN sms_consent INTEGER NOT NULL DEFAULT 0 CHECK (sms_consent IN (0, 1));
"""

RESHAPED = ("orientation_wishes", "orientation_decisions", "guardians")
ADDED = ("council_decisions", "year_outcomes", "orientation_rounds")


def shaped_as_registered(db: sqlite_utils.Database, spec: TableSpec) -> bool:
    """Whether a table already has the registry's columns. Earlier migrations capture only
    those: a table created or reshaped by a later migration gets its triggers there."""
    return set(spec.column_names) <= set(db[spec.name].columns_dict)


def _drop_triggers(db: sqlite_utils.Database, table: str) -> None:
    for (name,) in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", [table]
    ).fetchall():
        db.conn.execute(f'DROP TRIGGER "{name}"')


def year_flow_migration(
    capture_triggers: Callable[[TableSpec], str], *, national_captured: bool
) -> Callable[[sqlite_utils.Database], None]:
    """The migration for one side; `national_captured` when that side also captures national tables."""

    def migration(db: sqlite_utils.Database) -> None:
        for table in RESHAPED:
            _drop_triggers(db, table)
        execute_script(db, YEAR_FLOW_SQL)
        for table in (*RESHAPED, *ADDED):
            spec = BY_NAME[table]
            if national_captured or not spec.national:
                execute_script(db, capture_triggers(spec))

    migration.__name__ = "year_flow"
    return migration


# A replica with the domain tables only and no change capture (sample-data tests, the bench's REST peer).
PLAIN_DOMAIN_MIGRATIONS = (*DOMAIN_MIGRATIONS, year_flow_migration(lambda spec: "", national_captured=False))
