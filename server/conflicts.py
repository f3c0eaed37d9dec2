"""The conflict log of the central server: concurrent edits and the versions that lost."""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils


def list_conflicts(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Every recorded conflict, oldest first, with the losing row as it was sent."""
    rows = db.execute(
        "SELECT id, tbl, record, school, winner_origin, winner_hlc, loser_origin, loser_hlc, loser_seq, loser_row, at "
        "FROM _conflicts ORDER BY id"
    ).fetchall()
    return [
        {
            "id": r[0],
            "table": r[1],
            "record": json.loads(r[2]),
            "school": r[3],
            "winner": r[4],
            "winner_hlc": r[5],
            "loser": r[6],
            "loser_hlc": r[7],
            "loser_seq": r[8],
            "lost_row": None if r[9] is None else json.loads(r[9]),
            "at": r[10],
        }
        for r in rows
    ]
