"""The central server's SQLite file: the domain tables plus version bookkeeping.

Every synced row has one entry in `_versions`: its natural key (k1..k5,
unused slots 0), owning school (NULL for national tables), the server's
version number `sseq` (strictly increasing, the pull cursor), and the
origin/seq/hlc of the edit that produced it. Edits made on the central
server itself (corrections, publications) are captured by triggers, like
the node's, with origin "central" (both built by domain/replication.py).
Writes go through `domain.database.write_transaction`, the one write helper.
"""

from __future__ import annotations

from pathlib import Path

import sqlite_utils

from domain.clock import SYSTEM_CLOCK, Clock
from domain.database import open_database
from domain.errors import NotInitialised
from domain.migrations import upgrade
from domain.replication import CENTRAL_ORIGIN, KEY_SLOTS, Side

DB_NAME = "central.sqlite"
CENTRAL = CENTRAL_ORIGIN

__all__ = ["CENTRAL", "DB_NAME", "KEY_SLOTS", "open_central"]


def open_central(folder: Path, *, create: bool = False, clock: Clock = SYSTEM_CLOCK) -> sqlite_utils.Database:
    path = folder / DB_NAME
    if not create and not path.exists():
        raise NotInitialised(f"no central server in {folder}: run `massar server init --data {folder}`")
    folder.mkdir(parents=True, exist_ok=True)
    db = open_database(path, clock=clock)
    upgrade(db, Side.CENTRAL)
    return db
