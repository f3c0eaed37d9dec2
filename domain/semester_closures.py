"""Semesters the director closed: a synced record of the school (wire id 23), not of one PC.

Closing a semester releases its ranks and results to parents (domain/semesters.py);
reopening it deletes the row, a synced delete. The row travels node -> centre ->
the school's other devices like any school row, so every PC of the school, a PC
restored from the centre, the centre's own report and a host school reading its
satellite agree on what is final. Two devices closing and reopening at once are
two concurrent edits of one record: the centre's rule decides (SPEC 10.4 step 6),
the same everywhere, and keeps the loser in its conflict log.

Until migration step 14 the closure was the node-local `_semester_closures`
(no school column, never synced); that step moves its rows here.
"""

from __future__ import annotations

import sqlite_utils

from .database import execute_script

SEMESTER_CLOSURES_SQL = """
-- A semester closed by the director (synced, wire id 23): its ranks and results are final.
CREATE TABLE IF NOT EXISTS semester_closures (
    school TEXT NOT NULL,
    year TEXT NOT NULL,
    semester INTEGER NOT NULL CHECK (semester IN (1, 2)),
    closed_by TEXT NOT NULL,
    closed_at TEXT NOT NULL,
    PRIMARY KEY (school, year, semester)
);
"""


def install_semester_closures(db: sqlite_utils.Database) -> None:
    """The domain part of step 14 (both sides; the caller then re-installs capture triggers)."""
    execute_script(db, SEMESTER_CLOSURES_SQL)


def move_node_closures(db: sqlite_utils.Database) -> None:
    """Step 14 on a node, once capture is installed: closures made before they synced are moved into
    the synced table (so the centre and the school's other devices learn them on the next sync), and
    the node-local table goes, with the SMS trigger it carried (no family is told twice)."""
    if db["_semester_closures"].exists():
        db.conn.execute(
            "INSERT OR IGNORE INTO semester_closures (school, year, semester, closed_by, closed_at) "
            "SELECT (SELECT v FROM _node WHERE k = 'school'), year, semester, closed_by, closed_at "
            "FROM _semester_closures"
        )
        db.conn.execute("DROP TABLE _semester_closures")
