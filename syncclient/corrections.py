"""The history of roll-call corrections on the node: who changed a saved day, from what to what."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlite_utils

from domain.absences import HoursChange


def record_corrections(db: sqlite_utils.Database, day: dt.date, changes: Sequence[HoursChange], by: str | None) -> None:
    """Keep every change of hours that were already saved (a first roll call is not a correction)."""
    db.conn.executemany(
        "INSERT INTO _absence_corrections (pupil, day, before, after, by) VALUES (?, ?, ?, ?, ?)",
        [(c.pupil, day.isoformat(), c.before, c.after, by) for c in changes if c.before],
    )


def corrections_of_day(db: sqlite_utils.Database, day: dt.date, pupils: Sequence[str]) -> list[dict]:
    """Corrections of that day for these pupils, oldest first."""
    if not pupils:
        return []
    rows = db.execute(
        "SELECT pupil, before, after, by, at FROM _absence_corrections WHERE day = ? "
        f"AND pupil IN ({', '.join('?' for _ in pupils)}) ORDER BY id",
        [day.isoformat(), *pupils],
    ).fetchall()
    return [dict(zip(("pupil", "before", "after", "by", "at"), r, strict=True)) for r in rows]
