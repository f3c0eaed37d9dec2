"""Applying the server's answer on the node: acknowledgement, clock, pulled changes, cursor: one transaction."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import defaultdict
from dataclasses import dataclass

import sqlite_utils

from domain.database import write_transaction
from domain.rows import delete_keys, upsert_rows
from protocol import hlc as hlc_clock
from protocol.messages import SyncResponse
from protocol.tables import BY_NAME

from .errors import BadResponse


@dataclass(frozen=True)
class Applied:
    acknowledged: int
    pulled: int
    skipped: int
    resequenced: bool = False


def apply_response(db: sqlite_utils.Database, school: str, response: SyncResponse) -> Applied:
    """Everything from one response commits together, so a crash leaves the node as before or after it."""
    now_ms = int(time.time() * 1000)
    with write_transaction(db):
        resequenced = _resequence_if_behind(db, response.acked_seq)
        acknowledged = 0
        if not resequenced:
            acknowledged = db.conn.execute("DELETE FROM _outbox WHERE seq <= ?", [response.acked_seq]).rowcount
        offset = hlc_clock.offset_ms(response.server_hlc, now_ms)
        # A clock far ahead is pulled back to the server's time; HLC order is kept
        # for new edits by continuing from the server's clock.
        db.conn.execute(
            "UPDATE _clock SET offset_ms = ?, hlc = CASE WHEN hlc > ? THEN ? ELSE max(hlc, ?) END WHERE id = 1",
            [offset, response.clamp_hlc, response.server_hlc, response.server_hlc],
        )
        pulled, skipped = _apply_pulled(db, school, response)
        _set(db, "pull_cursor", response.pull_cursor)
        _set(db, "server_conflicts", response.conflicts)
        _set(db, "acked_seq", response.acked_seq)
    return Applied(acknowledged, pulled, skipped, resequenced)


def _resequence_if_behind(db: sqlite_utils.Database, acked_seq: int) -> bool:
    """A node whose numbers are behind what the server acknowledged is a reinstalled PC or a
    restored backup: its pending changes were never applied, whatever their numbers say.
    Renumber them (and the counter) above the server's acknowledgement so they are not skipped."""
    issued = db.execute("SELECT seq FROM _clock WHERE id = 1").fetchone()[0]
    if acked_seq <= issued:
        return False
    # Every old number is <= issued < acked_seq, so adding acked_seq keeps them unique and ordered.
    db.conn.execute("UPDATE _outbox SET seq = seq + ?", [acked_seq])
    db.conn.execute("UPDATE _clock SET seq = seq + ? WHERE id = 1", [acked_seq])
    return True


def _set(db: sqlite_utils.Database, key: str, value: object) -> None:
    db.conn.execute("INSERT INTO _node (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v", [key, value])


def _apply_pulled(db: sqlite_utils.Database, school: str, response: SyncResponse) -> tuple[int, int]:
    if not response.pull:
        return 0, 0
    pending = {(tbl, tuple(json.loads(pk))) for tbl, pk in db.execute("SELECT tbl, pk FROM _outbox").fetchall()}
    upserts: dict[str, list] = defaultdict(list)
    deletes: dict[str, list] = defaultdict(list)
    bases = []
    skipped = 0
    for c in response.pull:
        spec = BY_NAME[c.table]
        if c.row is not None and not spec.national and c.row[spec.column_names.index("school")] != school:
            raise BadResponse(f"the server sent a {c.table} row of another school")
        if (spec.wire_id, c.key) in pending:
            # A local edit is waiting: the server decides between them when it arrives
            # and sends the winner back if it is not ours.
            skipped += 1
            continue
        (deletes if c.row is None else upserts)[c.table].append(c.key if c.row is None else c.row)
        bases.append((spec.wire_id, json.dumps(list(c.key), ensure_ascii=False), c.sseq))
    db.conn.execute("UPDATE _clock SET applying = 1 WHERE id = 1")
    try:
        for table, rows in upserts.items():
            upsert_rows(db, table, rows)
        for table, keys in deletes.items():
            delete_keys(db, table, keys)
    finally:
        db.conn.execute("UPDATE _clock SET applying = 0 WHERE id = 1")
    db.conn.executemany(
        "INSERT INTO _base (tbl, pk, sseq) VALUES (?, json(?), ?) ON CONFLICT (tbl, pk) DO UPDATE SET sseq = excluded.sseq",
        bases,
    )
    return len(response.pull) - skipped, skipped


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
