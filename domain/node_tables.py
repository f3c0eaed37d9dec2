"""Node-local tables of the web app (underscore prefix: they never travel).

  _web_sessions         who is logged in, by the hash of the cookie's session id:
                        sessions survive a restart of `massar node serve`;
  _semester_closures    (steps 5 to 13) semesters the director closed; step 14
                        moves them into the synced `semester_closures`
                        (domain/semester_closures.py) and drops this table;
  _absence_corrections  every roll-call correction (before and after), by whom.

A correction that removes absent hours also corrects the parent's alert for that
day, by trigger, so a correction arriving by sync does the same.
"""

from __future__ import annotations

import sqlite_utils

from .database import execute_script

NODE_TABLES_SQL = """
CREATE TABLE IF NOT EXISTS _web_sessions (
    id TEXT PRIMARY KEY,
    login TEXT NOT NULL,
    role TEXT NOT NULL,
    pupil TEXT,
    name TEXT,
    seen REAL NOT NULL,
    data TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS _semester_closures (
    year TEXT NOT NULL,
    semester INTEGER NOT NULL CHECK (semester IN (1, 2)),
    closed_by TEXT NOT NULL,
    closed_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%S', 'now')),
    PRIMARY KEY (year, semester)
);
CREATE TABLE IF NOT EXISTS _absence_corrections (
    id INTEGER PRIMARY KEY,
    pupil TEXT NOT NULL,
    day TEXT NOT NULL,
    before INTEGER NOT NULL,
    after INTEGER NOT NULL,
    by TEXT,
    at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%S', 'now'))
);
CREATE INDEX IF NOT EXISTS _absence_corrections_by_day ON _absence_corrections (day, pupil);
CREATE TRIGGER IF NOT EXISTS _alert_absence_corrected AFTER UPDATE OF hours ON absences
WHEN (OLD.hours & ~NEW.hours) != 0
BEGIN
  UPDATE _alerts SET read_at = NULL,
    detail = json_object('hours', NEW.hours & ~NEW.justified, 'corrected', 1, 'was', OLD.hours & ~OLD.justified)
  WHERE pupil = NEW.pupil AND kind = 'absence' AND ref = NEW.day;
END;
CREATE TRIGGER IF NOT EXISTS _alert_absence_withdrawn AFTER DELETE ON absences
BEGIN
  UPDATE _alerts SET read_at = NULL,
    detail = json_object('hours', 0, 'corrected', 1, 'was', OLD.hours & ~OLD.justified)
  WHERE pupil = OLD.pupil AND kind = 'absence' AND ref = OLD.day;
END;
"""


def install_node_tables(db: sqlite_utils.Database) -> None:
    """Node migration 5 (domain/migrations.py): web sessions, semester closures, roll-call corrections."""
    execute_script(db, NODE_TABLES_SQL)
