"""Applying the server's answer on the node: acknowledgement, clock, pulled changes, cursor: one transaction."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import sqlite_utils

from domain.database import write_transaction
from domain.replication import applying_remote
from domain.rows import delete_keys, upsert_rows
from protocol import hlc
from protocol.messages import SyncResponse
from protocol.tables import BY_NAME, PULL_TIERS

from .errors import BadResponse
from .outbox import acknowledge, last_issued_seq, node_hlc, pending_keys, renumber_above
from .rejected import set_aside
from .satellites import apply_satellites


def iso_at(now_ms: int) -> str:
    return dt.datetime.fromtimestamp(now_ms / 1000, dt.UTC).isoformat(timespec="seconds")


log = logging.getLogger("massar.node")
# How many set-aside rows `node status` lists (the newest): enough to act on, bounded.
SET_ASIDE_KEPT = 50


@dataclass(frozen=True)
class Applied:
    acknowledged: int
    pulled: int
    skipped: int
    resequenced: bool = False
    rejected: int = 0


def apply_response(
    db: sqlite_utils.Database, school: str, response: SyncResponse, now_ms: int, *, tier: int = 0
) -> Applied:
    """Everything from one response commits together, so a crash leaves the node as before or after it.

    `now_ms` is the node's clock when the answer arrived (its offset to the server's is learnt from it);
    `tier`: the answer is a page of that pull tier (SPEC 12.1), whose cursor it moves instead of the node's.
    """
    with write_transaction(db):
        resequenced = _resequence_if_behind(db, response.acked_seq)
        # Refused changes leave the outbox for the visible rejected list before the acknowledgement empties it.
        rejected = set_aside(db, response.refused, iso_at(now_ms)) if response.refused and not resequenced else 0
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
        # The satellites first: their rows in this very answer are then known to be welcome.
        apply_satellites(db, school, response.satellites)
        pulled, skipped = _apply_pulled(db, school, response)
        if tier:
            cursors = list(pull_tier_cursors(db))
            cursors[tier - 1] = max(cursors[tier - 1], response.pull_cursor)
            _set(db, "pull_tier_cursors", json.dumps(cursors))
        else:
            _set(db, "pull_cursor", response.pull_cursor)
        _set(db, "server_conflicts", response.conflicts)
        _set(db, "acked_seq", response.acked_seq)
    return Applied(acknowledged, pulled, skipped, resequenced, rejected)


def pull_tier_cursors(db: sqlite_utils.Database) -> tuple[int, ...]:
    """Up to which version the node holds each pull tier (SPEC 12.1), taken ahead of its pull cursor."""
    row = db.execute("SELECT v FROM _node WHERE k = 'pull_tier_cursors'").fetchone()
    stored = json.loads(row[0]) if row and row[0] else []
    return tuple((stored + [0] * len(PULL_TIERS))[: len(PULL_TIERS)])


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
    ours: set[str] | None = None
    readable = {school, *(s.code for s in response.satellites)}
    for c in response.pull:
        spec = BY_NAME[c.table]
        if c.row is not None and not spec.national and c.row[spec.column_names.index("school")] not in readable:
            # Another school's row comes only as the earlier record of a pupil who moved here, or as the
            # person records (identity, guardians) of a pupil who left, now his new school's (read-only).
            if ours is None:
                ours = {r[0] for r in db.execute("SELECT code FROM pupils WHERE school = ?", [school]).fetchall()}
                ours |= {r[0] for r in db.execute("SELECT pupil FROM enrolments WHERE school = ?", [school])}
                ours |= {str(p.key[0]) for p in response.pull if p.table == "pupils" and p.row is not None}
            about = "code" if c.table == "pupils" else "pupil"
            if about not in spec.key or c.key[spec.key.index(about)] not in ours:
                raise BadResponse(f"the server sent a {c.table} row of another school")
        if (spec.wire_id, c.key) in pending:
            # A local edit is waiting: the server decides between them when it arrives
            # and sends the winner back if it is not ours.
            skipped += 1
            continue
        (deletes if c.row is None else upserts)[c.table].append(c.key if c.row is None else c.row)
        bases.append((spec.wire_id, json.dumps(list(c.key), ensure_ascii=False), c.sseq))
    refused: set[tuple[int, str]] = set()
    with applying_remote(db):
        for table, rows in upserts.items():
            refused |= _apply_each(db, table, rows, upsert_rows, rows_given=True)
        for table, keys in deletes.items():
            refused |= _apply_each(db, table, keys, delete_keys, rows_given=False)
    db.conn.executemany(
        "INSERT INTO _base (tbl, pk, sseq) VALUES (?, json(?), ?) ON CONFLICT (tbl, pk) DO UPDATE SET sseq = excluded.sseq",
        [b for b in bases if (b[0], b[1]) not in refused],
    )
    _forget_set_aside(db, {(t, pk) for t, pk, _ in bases} - refused)
    return len(response.pull) - skipped - len(refused), skipped


def _apply_each(
    db: sqlite_utils.Database, table: str, items: list, write: Callable[..., None], *, rows_given: bool
) -> set[tuple[int, str]]:
    """Write all the pulled rows of a table; if the table refuses some, write the rest and set those aside.

    One row this node cannot store (a newer rule, a bad publication) must not stop every later sync:
    it is recorded in `node status` and not marked as received, so a corrected version still arrives.
    """
    try:
        with write_transaction(db):
            write(db, table, items)
        return set()
    except sqlite3.IntegrityError:
        pass
    spec = BY_NAME[table]
    refused = set()
    for item in items:
        key = tuple(item[i] for i in spec.key_indexes) if rows_given else tuple(item)
        try:
            with write_transaction(db):
                write(db, table, [item])
        except sqlite3.IntegrityError as exc:
            pk = json.dumps(list(key), ensure_ascii=False)
            refused.add((spec.wire_id, pk))
            _set_aside(db, table, list(key), str(exc))
    return refused


def _forget_set_aside(db: sqlite_utils.Database, applied: set[tuple[int, str]]) -> None:
    """Rows set aside earlier and stored now (a corrected version arrived) leave the list."""
    row = db.execute("SELECT v FROM _node WHERE k = 'set_aside'").fetchone()
    if not row or not row[0] or row[0] == "[]":
        return
    kept = [
        e
        for e in json.loads(row[0])
        if (BY_NAME[e["table"]].wire_id, json.dumps(e["key"], ensure_ascii=False)) not in applied
    ]
    _set(db, "set_aside", json.dumps(kept, ensure_ascii=False))


def _set_aside(db: sqlite_utils.Database, table: str, key: list, reason: str) -> None:
    log.warning("set aside a pulled %s row %s: %s", table, key, reason)
    row = db.execute("SELECT v FROM _node WHERE k = 'set_aside'").fetchone()
    kept = json.loads(row[0]) if row and row[0] else []
    kept = [e for e in kept if (e["table"], e["key"]) != (table, key)]
    kept.append(
        {"table": table, "key": key, "reason": reason, "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    )
    _set(db, "set_aside", json.dumps(kept[-SET_ASIDE_KEPT:], ensure_ascii=False))
