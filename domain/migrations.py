"""Every schema change of both replicas, numbered, in one list.

A file's `PRAGMA user_version` is the number of the last step applied to it.
Each step says what it does to a school node and to the central server (one
side may have nothing to do: the number still advances, so both sides count
alike). A shared change (a domain table, the capture triggers) is one step with
the same function on both sides. Add a step at the end; never edit or reorder
a released one: tests/support/fixtures/ holds databases of earlier releases
that tests/schema upgrades and compares.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from . import replication
from .alert_tables import install_alerts
from .catalogue import seed_reference_data
from .database import Migration, domain_schema, execute_script, migrate, schema_sql
from .enrolment_key import rekey_central_enrolments, rekey_node_enrolments
from .level_codes import LEVELS
from .node_tables import install_node_tables
from .replication import Side
from .semester_closures import install_semester_closures, move_node_closures
from .sms_tables import install_sms_outbox, install_sms_topics, install_synced_results_trigger
from .transfers import DEPARTURES_SQL, install_synced_departures, move_node_departures
from .year_guard import install_year_guard
from .year_schema import install_year_tables


@dataclass(frozen=True)
class Step:
    number: int
    summary: str
    node: Migration | None
    central: Migration | None

    def on(self, side: Side) -> Migration | None:
        return self.node if side is Side.NODE else self.central


def _node_rejected_and_departures(db: sqlite_utils.Database) -> None:
    replication.install_rejected(db)
    execute_script(db, DEPARTURES_SQL)


def _node_capture(db: sqlite_utils.Database) -> None:
    replication.install_capture(db, Side.NODE)


def _central_capture(db: sqlite_utils.Database) -> None:
    replication.install_capture(db, Side.CENTRAL)


def _evaluation_rules(db: sqlite_utils.Database) -> None:
    """Bring a file made before evaluation rules to the current schema (both sides).

    Levels gain their year within the cycle and every Massar code; the
    `coefficients` table gives way to `evaluation_rules` (keyed by school year).
    Idempotent, because a fresh file already has the current schema.sql."""
    levels = {c.name for c in db["levels"].columns}
    if "year" not in levels:
        db.conn.execute("ALTER TABLE levels ADD COLUMN year INTEGER NOT NULL DEFAULT 1 CHECK (year BETWEEN 1 AND 6)")
    execute_script(db, schema_sql())
    seed_reference_data(db)
    for level in LEVELS:
        db.conn.execute(
            "UPDATE levels SET year = ? WHERE code = ? AND year IS NOT ?", [level.year, level.code, level.year]
        )
    db.conn.execute("UPDATE subjects SET massar_code = '0019' WHERE code = 'MATH' AND massar_code = '0070'")
    db.conn.execute("DROP TABLE IF EXISTS coefficients")


def _node_evaluation_rules(db: sqlite_utils.Database) -> None:
    """Node: evaluation rules and every level code; forget versions of the retired wire table 2."""
    _evaluation_rules(db)
    db.conn.execute("DELETE FROM _base WHERE tbl = 2")


def _central_evaluation_rules(db: sqlite_utils.Database) -> None:
    """Centre: levels and evaluation rules become published (synced, captured) tables;
    the retired `coefficients` (wire id 2) leaves with its versions."""
    _evaluation_rules(db)
    db.conn.execute("DELETE FROM _versions WHERE tbl = 2")
    replication.install_capture(db, Side.CENTRAL)


def _node_year_flow(db: sqlite_utils.Database) -> None:
    """Node: the year-flow tables, their capture, the parents' SMS outbox, closed years read-only."""
    install_year_tables(db)
    replication.install_capture(db, Side.NODE)
    install_sms_outbox(db)
    install_year_guard(db)


def _central_year_flow(db: sqlite_utils.Database) -> None:
    install_year_tables(db)
    replication.install_capture(db, Side.CENTRAL)


def _central_intake_days(db: sqlite_utils.Database) -> None:
    """Centre: rows and decoded bytes each school pushed each UTC day, for the daily allowance."""
    db.conn.execute(
        "CREATE TABLE IF NOT EXISTS _intake_days (school TEXT NOT NULL, day TEXT NOT NULL, "
        "rows INTEGER NOT NULL, bytes INTEGER NOT NULL, PRIMARY KEY (school, day)) WITHOUT ROWID"
    )


def _node_synced_departures(db: sqlite_utils.Database) -> None:
    install_synced_departures(db)
    replication.install_capture(db, Side.NODE)
    move_node_departures(db)


def _central_synced_departures(db: sqlite_utils.Database) -> None:
    install_synced_departures(db)
    replication.install_capture(db, Side.CENTRAL)


def _node_synced_closures(db: sqlite_utils.Database) -> None:
    install_semester_closures(db)
    replication.install_capture(db, Side.NODE)
    move_node_closures(db)
    # After the move: the closures moved in were announced when they were made.
    install_synced_results_trigger(db)


def _central_synced_closures(db: sqlite_utils.Database) -> None:
    install_semester_closures(db)
    replication.install_capture(db, Side.CENTRAL)


def _central_satellites(db: sqlite_utils.Database) -> None:
    replication.install_satellites(db)


STEPS: tuple[Step, ...] = (
    Step(1, "domain tables and reference data", domain_schema, domain_schema),
    Step(
        2,
        "replication bookkeeping and change capture",
        replication.install_node_bookkeeping,
        replication.install_central_bookkeeping,
    ),
    Step(3, "node: parents' alerts; centre: drop the unused sseq index", install_alerts, replication.drop_sseq_index),
    Step(
        4,
        "levels and evaluation rules (wire ids 5, 6); coefficients retired",
        _node_evaluation_rules,
        _central_evaluation_rules,
    ),
    Step(5, "node: web sessions, semester closures, roll-call corrections", install_node_tables, None),
    Step(6, "capture triggers read the injected clock (massar_now_ms)", _node_capture, _central_capture),
    Step(
        7,
        "node: changes the centre refused, departures; centre: devices (each its own origin) and transfers",
        _node_rejected_and_departures,
        replication.install_devices,
    ),
    Step(
        8,
        "year flow: council decisions, year outcomes, orientation rounds (wire ids 20, 21, 7), wishes by round, "
        "appeal window, guardians' language and SMS consent; node: SMS outbox, closed years read-only",
        _node_year_flow,
        _central_year_flow,
    ),
    Step(9, "centre: what each school pushed each day (server/quotas.py)", None, _central_intake_days),
    Step(
        10,
        "departures (massar node leave) become a synced table (wire id 22); node: its _departures move into it",
        _node_synced_departures,
        _central_synced_departures,
    ),
    Step(11, "centre: satellite schools attached to a host school (massar server attach)", None, _central_satellites),
    Step(
        12,
        "enrolments keyed (school, year, pupil) (wire id 12): a pupil who moves during a year keeps the leaving "
        "school's enrolment beside the arriving school's; version, outbox and base keys follow",
        rekey_node_enrolments,
        rekey_central_enrolments,
    ),
    Step(
        13,
        "centre: a record shared by a transfer reaches its schools again after every later version",
        None,
        replication.install_shared_follow,
    ),
    Step(
        14,
        "semester closures become a synced record of the school (wire id 23); node: its _semester_closures "
        "move into it, and the results SMS is raised only where the director closed the semester",
        _node_synced_closures,
        _central_synced_closures,
    ),
    Step(
        15,
        "node: the SMS outbox keyed by topic too (a results message by its semester, a council or orientation "
        "message by its decision): a second semester closed, or a decision corrected, the same day is told",
        install_sms_topics,
        None,
    ),
)

if [s.number for s in STEPS] != list(range(1, len(STEPS) + 1)):
    raise ValueError("migration steps must be numbered 1, 2, 3... in order")

DOMAIN_ONLY: tuple[Migration, ...] = (
    domain_schema,
    install_year_tables,
    install_synced_departures,
    install_semester_closures,
)
"""The domain tables alone: peers of the bench and the sample generator's tests."""


def latest() -> int:
    return STEPS[-1].number


def upgrade(db: sqlite_utils.Database, side: Side) -> int:
    """Bring a replica's file to the latest step; returns its version."""
    return migrate(db, [step.on(side) for step in STEPS])
