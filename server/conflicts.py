"""The conflict log of the central server: concurrent edits and the versions that lost."""

from __future__ import annotations

import json
from typing import Any

from .backend import CentralStore


def list_conflicts(store: CentralStore) -> list[dict[str, Any]]:
    """Every recorded conflict, oldest first, with the losing row as it was sent."""
    rows = store.conflicts()
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
