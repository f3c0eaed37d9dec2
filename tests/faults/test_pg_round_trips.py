"""The PostgreSQL centre sends nothing for a batch with no rows: inside the write lock every round
trip to PostgreSQL lengthens every other school's wait (scenario 5b), and a day's push leaves most
of the ingest's batches empty. Observed on the wire with libpq's protocol trace, not timed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from domain.database import write_transaction
from server.store import open_central
from tests.support.clock import ManualClock

CLOCK = ManualClock(int(dt.datetime(2026, 12, 2, 9, tzinfo=dt.UTC).timestamp() * 1000))
VERSIONS = (
    "INSERT INTO _versions (tbl, k1, k2, k3, k4, k5, school, sseq, hlc, origin, seq, deleted) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _traced(db: Any, trace: Path, work: Any) -> str:
    """The frontend/backend messages exchanged while `work(db)` runs."""
    pgconn = db.conn.raw.pgconn
    with trace.open("w") as f:
        pgconn.trace(f.fileno())
        try:
            work(db)
        finally:
            pgconn.untrace()
    return trace.read_text()


def test_an_empty_batch_sends_nothing_and_a_full_one_is_written(postgres_dsn: str, tmp_path: Path) -> None:
    db = open_central(postgres_dsn, create=True, clock=CLOCK)
    try:
        with write_transaction(db):
            sent = _traced(db, tmp_path / "empty.trace", lambda d: d.conn.executemany(VERSIONS, []))
            assert sent == ""
            row = (99, "S1", "P1", "MATH", "1", "1", "S1", 1, 5, "S1", 1, 0)
            sent = _traced(db, tmp_path / "one.trace", lambda d: d.conn.executemany(VERSIONS, [row]))
            assert "Sync" in sent
        held = db.execute("SELECT COUNT(*) FROM _versions WHERE tbl = 99 AND k2 = 'P1'").fetchone()[0]
        assert held == 1
    finally:
        db.conn.close()
