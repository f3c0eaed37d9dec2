"""Migration step 12: an enrolment is keyed by (school, year, pupil), not (year, pupil).

A pupil who moves during a year has two enrolments that year: the leaving
school's, ended by its `departures` row (same key), and the arriving school's,
current. With the old key the arriving school's enrolment overwrote the
leaving school's, at the centre only, so the two replicas could never agree.

SQLite cannot change a primary key in place: the table is rebuilt and every
trigger and index on it (alerts, SMS, closed years) is re-created from its
stored SQL, the capture triggers from the registry (they name the key). The
replication bookkeeping that names an enrolment by its key moves to the new
key: the centre's `_versions` slots (k1, k2 = year, pupil become k1, k2, k3 =
school, year, pupil), a node's `_outbox`, `_base` and `_rejected` keys (JSON
arrays). Idempotent: a file made with the current schema.sql already has the
key and is left alone.
"""

from __future__ import annotations

import sqlite_utils

from protocol.tables import BY_NAME

from .database import execute_script
from .replication import Side, install_capture

_WIRE_ID = BY_NAME["enrolments"].wire_id

ENROLMENTS_SQL = """
CREATE TABLE enrolments (
    school TEXT NOT NULL,
    year TEXT NOT NULL,
    pupil TEXT NOT NULL,
    class TEXT NOT NULL,
    PRIMARY KEY (school, year, pupil)
);
"""
BY_PUPIL_SQL = "CREATE INDEX IF NOT EXISTS enrolments_by_pupil ON enrolments (pupil, year)"


def keyed_by_school(db: sqlite_utils.Database) -> bool:
    pk = [r[1] for r in sorted(db.execute("PRAGMA table_info(enrolments)").fetchall(), key=lambda r: r[5]) if r[5]]
    return pk == ["school", "year", "pupil"]


def _rebuild(db: sqlite_utils.Database) -> None:
    """SQLite's way to change a table's shape: a new table, the rows copied, the old one dropped, the new
    one renamed. In legacy mode the rename leaves alone the triggers of other tables that read
    enrolments (the SMS outbox's): they keep naming `enrolments`, which is the new table then."""
    dependents = db.execute(
        "SELECT name, sql FROM sqlite_master WHERE tbl_name = 'enrolments' AND type IN ('trigger', 'index') "
        "AND sql IS NOT NULL"
    ).fetchall()
    execute_script(db, ENROLMENTS_SQL.replace("CREATE TABLE enrolments", "CREATE TABLE _enrolments_keyed"))
    db.conn.execute(
        "INSERT INTO _enrolments_keyed (school, year, pupil, class) SELECT school, year, pupil, class FROM enrolments"
    )
    db.conn.execute("DROP TABLE enrolments")
    legacy = db.execute("PRAGMA legacy_alter_table").fetchone()[0]
    db.conn.execute("PRAGMA legacy_alter_table = ON")
    try:
        db.conn.execute("ALTER TABLE _enrolments_keyed RENAME TO enrolments")
    finally:
        db.conn.execute(f"PRAGMA legacy_alter_table = {'ON' if legacy else 'OFF'}")
    for _, sql in dependents:
        db.conn.execute(sql)
    db.conn.execute(BY_PUPIL_SQL)


def rekey_node_enrolments(db: sqlite_utils.Database) -> None:
    """Node: the table, then the keys its bookkeeping holds (a node writes only its own school's
    enrolments, so a key whose row is gone, a pending delete, is its own school's)."""
    if keyed_by_school(db):
        return
    _rebuild(db)
    install_capture(db, Side.NODE)  # the capture triggers name the key
    school = (
        "coalesce((SELECT e.school FROM enrolments e WHERE e.year = pk ->> 0 AND e.pupil = pk ->> 1), "
        "(SELECT v FROM _node WHERE k = 'school'))"
    )
    for table in ("_outbox", "_base", "_rejected"):
        if db[table].exists():
            db.conn.execute(
                f"UPDATE {table} SET pk = json_array({school}, pk ->> 0, pk ->> 1) "
                f"WHERE tbl = ? AND json_array_length(pk) = 2",
                [_WIRE_ID],
            )


def rekey_central_enrolments(db: sqlite_utils.Database) -> None:
    """Centre: the table, then the version slots (a version carries its school, tombstones too)."""
    if keyed_by_school(db):
        return
    _rebuild(db)
    install_capture(db, Side.CENTRAL)
    db.conn.execute(
        "UPDATE _versions SET k3 = k2, k2 = k1, k1 = school WHERE tbl = ? AND school IS NOT NULL", [_WIRE_ID]
    )
    if db["_shared"].exists():
        # An enrolment is no longer shared with a pupil's new school (it has its own).
        db.conn.execute("DELETE FROM _shared WHERE tbl = ?", [_WIRE_ID])
