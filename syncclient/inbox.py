"""Applying the server's answer on the node: acknowledgement, clock, pulled changes, cursor: one transaction."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass

import sqlite_utils

from domain.database import write_transaction
from domain.replication import applying_remote
from domain.rows import delete_keys, upsert_rows
from protocol import hlc
from protocol.messages import SyncResponse
from protocol.tables import BY_NAME

from .errors import BadResponse
from .outbox import acknowledge, last_issued_seq, node_hlc, pending_keys, renumber_above


@dataclass(frozen=True)
class Applied:
    acknowledged: int
    pulled: int
    skipped: int
    resequenced: bool = False


def apply_response(db: sqlite_utils.Database, school: str, response: SyncResponse, now_ms: int) -> Applied:
    """Everything from one response commits together, so a crash leaves the node as before or after it.

    `now_ms` is the node's clock when the answer arrived (its offset to the server's is learnt from it).
    """
    with write_transaction(db):
        resequenced = _resequence_if_behind(db, response.acked_seq)
        acknowledged = 0 if resequenced else acknowledge(db, response.acked_seq)
        # A clock far ahead is pulled back to the server's time; HLC order is kept
        # for new edits by continuing from the server's clock.
        db.conn.execute(
            "UPDATE _clock SET offset_ms = ?, hlc = ? WHERE id = 1",
            [
                hlc.offset_ms(response.server_hlc, now_ms),
                hlc.corrected(node_hlc(db), response.server_hlc, response.clamp_hlc),
            ],
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
    if acked_seq <= last_issued_seq(db):
        return False
    renumber_above(db, acked_seq)
    return True


def _set(db: sqlite_utils.Database, key: str, value: object) -> None:
    db.conn.execute("INSERT INTO _node (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v", [key, value])


def _apply_pulled(db: sqlite_utils.Database, school: str, response: SyncResponse) -> tuple[int, int]:
    if not response.pull:
        return 0, 0
    pending = pending_keys(db)
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
    with applying_remote(db):
        for table, rows in upserts.items():
            upsert_rows(db, table, rows)
        for table, keys in deletes.items():
            delete_keys(db, table, keys)
    db.conn.executemany(
        "INSERT INTO _base (tbl, pk, sseq) VALUES (?, json(?), ?) ON CONFLICT (tbl, pk) DO UPDATE SET sseq = excluded.sseq",
        bases,
    )
    return len(response.pull) - skipped, skipped
