"""The node's outbox: pending changes as protocol Changes, oldest first, and their acknowledgement.

The capture triggers (domain/replication.py) fill `_outbox`; only this module reads or empties it.
"""

from __future__ import annotations

import json
from itertools import repeat
from operator import itemgetter
from typing import Final

import sqlite_utils

from protocol.records import Change, change_from_fields
from protocol.tables import BY_ID, TableSpec

_ROW: Final = itemgetter(slice(4, None))  # a fetched outbox entry's row, after seq, hlc, base, gone
_SEQ: Final = itemgetter(4)  # a Change's seq
# A table is read whole (`_scan_join`) when at least 1 of this many of its rows wait, and at least this many.
_SCAN_SHARE: Final = 4
_SCAN_MIN_ENTRIES: Final = 256


def pending_changes(db: sqlite_utils.Database, school: str, limit: int) -> list[Change]:
    """The `limit` oldest pending changes with the rows as they are now (net change).

    One query per table joins the outbox to the table on the key (its primary-key index): a
    semester's 27,000 entries are read in a couple of hundred milliseconds, not looked up by chunks.
    The changes are built from the query's columns in C (zip, map): a Python step per change cost
    as much as the query."""
    if limit <= 0:
        return []
    last = db.execute("SELECT seq FROM _outbox ORDER BY seq LIMIT 1 OFFSET ?", [limit - 1]).fetchone()
    bound = [] if last is None else [last[0]]
    within = "" if last is None else " AND o.seq <= ?"
    tables = [r[0] for r in db.execute(f"SELECT DISTINCT tbl FROM _outbox o WHERE true{within}", bound).fetchall()]
    out: list[Change] = []
    for tbl in tables:
        spec = BY_ID[tbl]
        fetched = _scan_join(db, spec, tbl, within, bound) or _key_join(db, spec, tbl, within, bound)
        if not fetched:
            continue
        seqs, hlcs, bases, gone = (list(map(itemgetter(i), fetched)) for i in range(4))
        values: list[tuple] = list(map(_ROW, fetched))
        kidx = spec.key_indexes
        keys: list[tuple] = list(
            map(itemgetter(*kidx), values) if len(kidx) > 1 else zip(map(itemgetter(kidx[0]), values), strict=True)
        )
        rows: list[tuple | None] = list(values)
        if gone.count(None) != len(gone):
            for i, pk in enumerate(gone):
                if pk is not None:
                    rows[i], keys[i] = None, tuple(json.loads(pk))
        fields = zip(repeat(spec.name), keys, rows, repeat(school), seqs, hlcs, bases, repeat(0))
        out += map(change_from_fields, fields)
    out.sort(key=_SEQ)
    return out


def _key_join(db: sqlite_utils.Database, spec: TableSpec, tbl: int, within: str, bound: list[int]) -> list[tuple]:
    """Each outbox entry of the table looked up by its key: seq, hlc, base, the JSON key of a deleted
    row (else NULL), then the row's columns (NULLs for a deleted row)."""
    on = " AND ".join(f"t.{k} = json_extract(o.pk, '$[{i}]')" for i, k in enumerate(spec.key))
    # The key comes from the row; only a deleted row's key is read back from the outbox's JSON.
    sql = (
        f"SELECT o.seq, o.hlc, COALESCE(b.sseq, 0), CASE WHEN t.{spec.key[0]} IS NULL THEN o.pk END, "
        f"{', '.join('t.' + c for c in spec.column_names)} FROM _outbox o "
        "LEFT JOIN _base b ON b.tbl = o.tbl AND b.pk = o.pk "
        f"LEFT JOIN {spec.name} t ON {on} WHERE o.tbl = ?{within}"
    )
    return db.execute(sql, [tbl, *bound]).fetchall()


def _scan_join(db: sqlite_utils.Database, spec: TableSpec, tbl: int, within: str, bound: list[int]) -> list[tuple]:
    """The same rows as `_key_join` when most of the table waits (a semester of marks): the table read
    in order, each row's key written as the outbox writes it and found in the outbox's index, one JSON
    text made per row instead of one JSON parse per key column and row (~30% less for a semester).
    Empty when it does not pay or cannot give every entry (a deleted row, a key stored otherwise than
    the trigger wrote it): `_key_join` then reads the table."""
    waiting = db.execute(f"SELECT COUNT(*) FROM _outbox o WHERE tbl = ?{within}", [tbl, *bound]).fetchone()[0]
    if (
        waiting < _SCAN_MIN_ENTRIES
        or waiting * _SCAN_SHARE < db.execute(f"SELECT COUNT(*) FROM {spec.name}").fetchone()[0]
    ):
        return []
    key = ", ".join(f"t.{k}" for k in spec.key)
    sql = (
        f"SELECT o.seq, o.hlc, COALESCE(b.sseq, 0), NULL, {', '.join('t.' + c for c in spec.column_names)} "
        # CROSS JOIN fixes the order (SQLite's rule): the table outside, the outbox's index inside.
        f"FROM {spec.name} t CROSS JOIN _outbox o ON o.tbl = ? AND o.pk = json_array({key}){within} "
        "LEFT JOIN _base b ON b.tbl = o.tbl AND b.pk = o.pk"
    )
    fetched = db.execute(sql, [tbl, *bound]).fetchall()
    return fetched if len(fetched) == waiting else []


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
    if not pending_after(db, acked_seq):
        # Everything was acknowledged: a DELETE without WHERE empties the table in one step (SQLite's
        # truncate optimization) where deleting row by row wrote every page of a semester's 27,000
        # entries to the journal (~2 ms instead of ~180 ms). It does not count what it drops.
        count = pending_count(db)
        db.conn.execute("DELETE FROM _outbox")
        return count
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
