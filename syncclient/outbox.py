"""The node's outbox: pending changes as protocol Changes, oldest first, and their acknowledgement.

The capture triggers (domain/replication.py) fill `_outbox`; only this module reads or empties it.
"""

from __future__ import annotations

import json
from operator import itemgetter

import sqlite_utils

from protocol.records import Change
from protocol.tables import BY_ID


def pending_changes(db: sqlite_utils.Database, school: str, limit: int) -> list[Change]:
    """The `limit` oldest pending changes with the rows as they are now (net change).

    One query per table joins the outbox to the table on the key (its primary-key index): a
    semester's 27,000 entries are read in a few hundred milliseconds, not looked up by chunks."""
    if limit <= 0:
        return []
    last = db.execute("SELECT seq FROM _outbox ORDER BY seq LIMIT 1 OFFSET ?", [limit - 1]).fetchone()
    bound = [] if last is None else [last[0]]
    within = "" if last is None else " AND o.seq <= ?"
    tables = [r[0] for r in db.execute(f"SELECT DISTINCT tbl FROM _outbox o WHERE true{within}", bound).fetchall()]
    out: list[tuple[int, Change]] = []
    for tbl in tables:
        spec = BY_ID[tbl]
        n_key = len(spec.key)
        keys = ", ".join(f"json_extract(o.pk, '$[{i}]')" for i in range(n_key))
        on = " AND ".join(f"t.{k} = json_extract(o.pk, '$[{i}]')" for i, k in enumerate(spec.key))
        sql = (
            f"SELECT o.seq, o.hlc, COALESCE(b.sseq, 0), t.{spec.key[0]} IS NOT NULL, {keys}, "
            f"{', '.join('t.' + c for c in spec.column_names)} FROM _outbox o "
            "LEFT JOIN _base b ON b.tbl = o.tbl AND b.pk = o.pk "
            f"LEFT JOIN {spec.name} t ON {on} WHERE o.tbl = ?{within}"
        )
        name, first_col = spec.name, 4 + n_key
        for r in db.execute(sql, [tbl, *bound]).fetchall():
            row = r[first_col:] if r[3] else None
            out.append((r[0], Change(name, r[4:first_col], row, school, r[0], r[1], base=r[2])))
    out.sort(key=itemgetter(0))
    return [c for _, c in out]


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
