"""The node's outbox: pending changes as protocol Changes, oldest first, and their acknowledgement.

The capture triggers (domain/replication.py) fill `_outbox`; only this module reads or empties it.
"""

from __future__ import annotations

import json
from collections import defaultdict

import sqlite_utils

from protocol.records import Change
from protocol.tables import BY_ID


def pending_changes(db: sqlite_utils.Database, school: str, limit: int) -> list[Change]:
    """The `limit` oldest pending changes with the rows as they are now (net change)."""
    entries = db.execute(
        "SELECT o.tbl, o.pk, o.seq, o.hlc, COALESCE(b.sseq, 0) FROM _outbox o "
        "LEFT JOIN _base b ON b.tbl = o.tbl AND b.pk = o.pk ORDER BY o.seq LIMIT ?",
        [limit],
    ).fetchall()
    keys_by_table: dict[int, list[tuple]] = defaultdict(list)
    parsed = []
    for tbl, pk, seq, hlc, base in entries:
        key = tuple(json.loads(pk))
        parsed.append((tbl, key, seq, hlc, base))
        keys_by_table[tbl].append(key)
    rows: dict[tuple[int, tuple], tuple] = {}
    for tbl, keys in keys_by_table.items():
        spec = BY_ID[tbl]
        key_idx = [spec.column_names.index(k) for k in spec.key]
        for start in range(0, len(keys), 400):
            part = keys[start : start + 400]
            values = ", ".join(["(" + ", ".join("?" * len(spec.key)) + ")"] * len(part))
            sql = (
                f"SELECT {', '.join(spec.column_names)} FROM {spec.name} "
                f"WHERE ({', '.join(spec.key)}) IN (VALUES {values})"
            )
            for row in db.execute(sql, [v for k in part for v in k]).fetchall():
                rows[(tbl, tuple(row[i] for i in key_idx))] = tuple(row)
    return [
        Change(BY_ID[tbl].name, key, rows.get((tbl, key)), school, seq, hlc, base=base)
        for tbl, key, seq, hlc, base in parsed
    ]


def pending_count(db: sqlite_utils.Database) -> int:
    return db.execute("SELECT COUNT(*) FROM _outbox").fetchone()[0]


def pending_after(db: sqlite_utils.Database, seq: int) -> bool:
    """Whether changes numbered above `seq` (the server's acknowledgement) still wait."""
    return bool(db.execute("SELECT EXISTS (SELECT 1 FROM _outbox WHERE seq > ?)", [seq]).fetchone()[0])


def pending_keys(db: sqlite_utils.Database) -> set[tuple[int, tuple]]:
    """(wire id, key) of every record with a local edit waiting."""
    return {(tbl, tuple(json.loads(pk))) for tbl, pk in db.execute("SELECT tbl, pk FROM _outbox").fetchall()}


def acknowledge(db: sqlite_utils.Database, acked_seq: int) -> int:
    """Drop what the server acknowledged; returns how many. In the caller's write transaction."""
    return db.conn.execute("DELETE FROM _outbox WHERE seq <= ?", [acked_seq]).rowcount


def last_issued_seq(db: sqlite_utils.Database) -> int:
    return db.execute("SELECT seq FROM _clock WHERE id = 1").fetchone()[0]


def renumber_above(db: sqlite_utils.Database, acked_seq: int) -> None:
    """Move every pending number, and the counter, above `acked_seq` (keeps them unique and ordered:
    every old number is <= the counter < acked_seq). In the caller's write transaction."""
    db.conn.execute("UPDATE _outbox SET seq = seq + ?", [acked_seq])
    db.conn.execute("UPDATE _clock SET seq = seq + ? WHERE id = 1", [acked_seq])


def node_hlc(db: sqlite_utils.Database) -> int:
    """The node's clock as last ticked (sent with each request)."""
    return db.execute("SELECT hlc FROM _clock WHERE id = 1").fetchone()[0]
