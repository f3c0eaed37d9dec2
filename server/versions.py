"""Version numbers and the server clock, inside the caller's write transaction."""

from __future__ import annotations

import time

import sqlite_utils

from protocol import hlc as hlc_clock


def next_server_hlc(db: sqlite_utils.Database) -> int:
    """Tick the persisted server clock (never goes backwards, even if the OS clock does)."""
    now = int(time.time() * 1000)
    row = db.execute("SELECT hlc FROM _clock WHERE id = 1").fetchone()
    value = hlc_clock.tick(row[0], now)
    db.conn.execute("UPDATE _clock SET hlc = ? WHERE id = 1", [value])
    return value


def reserve_sseqs(db: sqlite_utils.Database, count: int) -> int:
    """Reserve `count` version numbers; returns the first. Holds: called under the write lock."""
    row = db.execute("SELECT sseq FROM _clock WHERE id = 1").fetchone()
    db.conn.execute("UPDATE _clock SET sseq = sseq + ? WHERE id = 1", [count])
    return row[0] + 1


def current_sseq(db: sqlite_utils.Database) -> int:
    return db.execute("SELECT sseq FROM _clock WHERE id = 1").fetchone()[0]
