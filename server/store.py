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
from typing import cast

import sqlite_utils

from domain.clock import SYSTEM_CLOCK, Clock
from domain.database import open_database
from domain.errors import NotInitialised
from domain.migrations import upgrade
from domain.replication import CENTRAL_ORIGIN, KEY_SLOTS, Side

DB_NAME = "central.sqlite"
CENTRAL = CENTRAL_ORIGIN

__all__ = ["CENTRAL", "DB_NAME", "KEY_SLOTS", "Location", "describe", "open_central"]

Location = Path | str
"""Where the centre's data lives: a data folder (SQLite), or a postgresql:// URL."""


def is_database_url(location: Location) -> bool:
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


def describe(location: Location) -> str:
    """Where the data lives, for people (a URL without its password)."""
    if is_database_url(location):
        from .pg.database import redact

        return redact(str(location))
    return str(location)


def open_central(location: Location, *, create: bool = False, clock: Clock = SYSTEM_CLOCK) -> sqlite_utils.Database:
    """One connection to the centre: the SQLite file in a data folder, or PostgreSQL at a postgresql:// URL.

    PostgreSQL comes as `server.pg.database.PgDatabase`, which has the part of
    sqlite_utils.Database the centre's code uses (`execute`, `conn.execute`,
    `conn.executemany`, `atomic`, `write_transaction`); the cast below is where
    that is claimed, and every central test suite runs on both engines to hold it.
    """
    if is_database_url(location):
        from .pg.store import open_pg

        return cast(sqlite_utils.Database, open_pg(str(location), create=create, clock=clock))
    folder = Path(location)
    path = folder / DB_NAME
    if not create and not path.exists():
        raise NotInitialised(f"no central server in {folder}: run `massar server init --data {folder}`")
    folder.mkdir(parents=True, exist_ok=True)
    db = open_database(path, clock=clock)
    upgrade(db, Side.CENTRAL)
    return db
