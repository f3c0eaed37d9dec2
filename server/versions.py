"""Version numbers and the server clock, inside the caller's write transaction."""

from __future__ import annotations

import sqlite_utils

from domain.clock import SYSTEM_CLOCK, Clock
from protocol import hlc


def next_server_hlc(db: sqlite_utils.Database, clock: Clock = SYSTEM_CLOCK) -> int:
    """Tick the persisted server clock (never goes backwards, even if the OS clock does)."""
    row = db.execute("SELECT hlc FROM _clock WHERE id = 1").fetchone()
    value = hlc.tick(row[0], clock.now_ms())
    db.conn.execute("UPDATE _clock SET hlc = ? WHERE id = 1", [value])
    return value


def current_sseq(db: sqlite_utils.Database) -> int:
    return db.execute("SELECT sseq FROM _clock WHERE id = 1").fetchone()[0]


class VersionNumbers:
    """Hands out the server's version numbers in order; stored once with `store`.

    Safe because the caller holds the write transaction: nobody else takes numbers meanwhile.
    """

    def __init__(self, last: int) -> None:
        self.last = last

    def take(self) -> int:
        self.last += 1
        return self.last

    def take_many(self, n: int) -> range:
        first = self.last + 1
        self.last += n
        return range(first, self.last + 1)

    def store(self, db: sqlite_utils.Database) -> None:
        db.conn.execute("UPDATE _clock SET sseq = ? WHERE id = 1", [self.last])
