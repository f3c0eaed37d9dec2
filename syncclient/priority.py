"""Urgent changes first on a thin link: the outbox renumbered so a byte budget spends itself on what matters.

The server acknowledges a device's changes by their highest number, so the
node cannot simply send out of order: it renumbers its pending changes instead,
urgent ones first, all above every number it ever issued (numbers the centre
may have seen are never reused, so nothing is skipped as "already applied").

Tiers, most urgent first:
  0. classes, pupils, enrolments: what the rows below refer to (usually long synced, so nothing);
  1. absences and incidents: they raise parents' alerts;
  2. marks;
  3. everything else (guardians, orientation, corrections of national data...).
"""

from __future__ import annotations

import sqlite_utils

from domain.database import write_transaction
from protocol.tables import BY_NAME

from .outbox import last_issued_seq

TIERS: dict[str, int] = {
    "classes": 0,
    "pupils": 0,
    "enrolments": 0,
    "absences": 1,
    "incidents": 1,
    "grades": 2,
}
OTHER_TIER = 3
_TIER_SQL = (
    "CASE tbl " + " ".join(f"WHEN {BY_NAME[n].wire_id} THEN {t}" for n, t in TIERS.items()) + f" ELSE {OTHER_TIER} END"
)


def tier_of(table: str) -> int:
    return TIERS.get(table, OTHER_TIER)


def urgent_first(db: sqlite_utils.Database) -> bool:
    """Renumber the outbox in tier order (oldest first within a tier) if it is not already; True if it moved."""
    with write_transaction(db):
        spans = db.execute(f"SELECT {_TIER_SQL} AS tier, MIN(seq), MAX(seq) FROM _outbox GROUP BY tier ORDER BY tier")
        spans_list = spans.fetchall()
        # In order when every tier's changes are all numbered below the next tier's.
        if all(spans_list[i][2] < spans_list[i + 1][1] for i in range(len(spans_list) - 1)):
            return False
        top = last_issued_seq(db)
        db.conn.execute(
            f"WITH ranked AS (SELECT tbl, pk, ROW_NUMBER() OVER (ORDER BY {_TIER_SQL}, seq) AS n FROM _outbox) "
            "UPDATE _outbox SET seq = ? + ranked.n FROM ranked WHERE _outbox.tbl = ranked.tbl AND _outbox.pk = ranked.pk",
            [top],
        )
        count = db.execute("SELECT COUNT(*) FROM _outbox").fetchone()[0]
        db.conn.execute("UPDATE _clock SET seq = ? WHERE id = 1", [top + count])
    return True
