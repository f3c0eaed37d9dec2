"""Changes the centre refused, row by row: out of the outbox into a visible list, never dropped silently.

The centre applies what a school may write and refuses the rest with a code and
a reason (another school's pupil, a provisional code of another school, a mark
out of its scale...). A refused change leaves the outbox, so the rest keeps
flowing, and waits here with the reason until the secretary fixes the cause and
retries it (it is queued again as a new change) or discards it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlite_utils

from domain.database import write_transaction
from domain.errors import NotFound
from domain.replication import Side, tick_sql
from protocol.messages import Refusal
from protocol.tables import BY_ID


def set_aside(db: sqlite_utils.Database, refused: Sequence[Refusal], at: str) -> int:
    """Move refused outbox entries to `_rejected` (in the caller's write transaction); returns how many."""
    moved = 0
    for r in refused:
        entry = db.execute("SELECT tbl, pk, seq, hlc FROM _outbox WHERE seq = ?", [r.seq]).fetchone()
        if entry is None:
            continue  # edited again since it was sent: the newer edit is still pending
        tbl, pk, seq, hlc = entry
        spec = BY_ID[tbl]
        key = json.loads(pk)
        row = db.execute(
            f"SELECT {', '.join(spec.column_names)} FROM {spec.name} WHERE "
            + " AND ".join(f"{k} = ?" for k in spec.key),
            key,
        ).fetchone()
        db.conn.execute(
            "INSERT INTO _rejected (tbl, pk, seq, hlc, row, code, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (tbl, pk) DO UPDATE SET seq = excluded.seq, hlc = excluded.hlc, row = excluded.row, "
            "code = excluded.code, reason = excluded.reason, at = excluded.at",
            [
                tbl,
                pk,
                seq,
                hlc,
                None if row is None else json.dumps(list(row), ensure_ascii=False),
                r.code,
                r.reason,
                at,
            ],
        )
        db.conn.execute("DELETE FROM _outbox WHERE seq = ?", [seq])
        moved += 1
    return moved


def rejected_count(db: sqlite_utils.Database) -> int:
    return db.execute("SELECT COUNT(*) FROM _rejected").fetchone()[0]


def list_rejected(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    return [
        {
            "id": r[0],
            "table": BY_ID[r[1]].name,
            "key": json.loads(r[2]),
            "row": None if r[3] is None else json.loads(r[3]),
            "deleted": r[3] is None,
            "code": r[4],
            "reason": r[5],
            "at": r[6],
        }
        for r in db.execute("SELECT id, tbl, pk, row, code, reason, at FROM _rejected ORDER BY id").fetchall()
    ]


def _take(db: sqlite_utils.Database, rejected_id: int) -> tuple[int, str]:
    row = db.execute("SELECT tbl, pk FROM _rejected WHERE id = ?", [rejected_id]).fetchone()
    if row is None:
        raise NotFound(f"no rejected change #{rejected_id}", code="unknown_rejected")
    db.conn.execute("DELETE FROM _rejected WHERE id = ?", [rejected_id])
    return row[0], row[1]


def retry(db: sqlite_utils.Database, rejected_id: int) -> None:
    """Queue the record again as it is now (after the secretary fixed the cause), as a new change."""
    with write_transaction(db):
        tbl, pk = _take(db, rejected_id)
        db.conn.execute(tick_sql(Side.NODE))
        db.conn.execute(
            "INSERT INTO _outbox (tbl, pk, seq, hlc) SELECT ?, ?, seq, hlc FROM _clock WHERE id = 1 "
            "ON CONFLICT (tbl, pk) DO UPDATE SET seq = excluded.seq, hlc = excluded.hlc",
            [tbl, pk],
        )


def discard(db: sqlite_utils.Database, rejected_id: int) -> None:
    """Forget a refused change: the local row stays as typed, only on this PC."""
    with write_transaction(db):
        _take(db, rejected_id)
