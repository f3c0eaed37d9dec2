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
from .database import Migration, domain_schema, migrate
from .replication import Side


@dataclass(frozen=True)
class Step:
    number: int
    summary: str
    node: Migration | None
    central: Migration | None

    def on(self, side: Side) -> Migration | None:
        return self.node if side is Side.NODE else self.central


def _node_capture(db: sqlite_utils.Database) -> None:
    replication.install_capture(db, Side.NODE)


def _central_capture(db: sqlite_utils.Database) -> None:
    replication.install_capture(db, Side.CENTRAL)


STEPS: tuple[Step, ...] = (
    Step(1, "domain tables and reference data", domain_schema, domain_schema),
    Step(
        2,
        "replication bookkeeping and change capture",
        replication.install_node_bookkeeping,
        replication.install_central_bookkeeping,
    ),
    Step(3, "node: parents' alerts; centre: drop the unused sseq index", install_alerts, replication.drop_sseq_index),
    Step(4, "capture triggers read the injected clock (massar_now_ms)", _node_capture, _central_capture),
)

if [s.number for s in STEPS] != list(range(1, len(STEPS) + 1)):
    raise ValueError("migration steps must be numbered 1, 2, 3... in order")

DOMAIN_ONLY: tuple[Migration, ...] = (domain_schema,)
"""The domain tables alone: peers of the bench and the sample generator's tests."""


def latest() -> int:
    return STEPS[-1].number


def upgrade(db: sqlite_utils.Database, side: Side) -> int:
    """Bring a replica's file to the latest step; returns its version."""
    return migrate(db, [step.on(side) for step in STEPS])
