"""What a node receives from a PostgreSQL centre: the same pages as the SQLite centre's (server.pull)."""

from __future__ import annotations

from collections import defaultdict

import psycopg

from protocol.records import Change
from protocol.tables import BY_ID

from ..pull import PullBatch
from .schema import KEY_SLOTS
from .sql import keys_in, scalar, typed_key

_SLOTS = ", ".join(f"k{i}" for i in range(1, KEY_SLOTS + 1))


def pull_changes(conn: psycopg.Connection, school: str, cursor: int, limit: int) -> PullBatch:
    """Call inside one REPEATABLE READ transaction: the page and the head it reports are one snapshot."""
    head = scalar(conn.execute("SELECT sseq FROM _clock WHERE id = 1"))
    select = f"SELECT sseq, tbl, {_SLOTS}, hlc, origin, seq, deleted FROM _versions"
    rows = conn.execute(
        f"({select} WHERE school = %s AND origin != %s AND sseq > %s ORDER BY sseq LIMIT %s) "
        f"UNION ALL ({select} WHERE school IS NULL AND sseq > %s ORDER BY sseq LIMIT %s) ORDER BY 1",
        [school, school, cursor, limit + 1, cursor, limit + 1],
    ).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    new_cursor = rows[-1][0] if more else max(head, cursor)
    keyed = [(r, typed_key(BY_ID[r[1]], r[2 : 2 + len(BY_ID[r[1]].key)])) for r in rows]
    values = _row_values(conn, keyed)
    changes = []
    for r, key in keyed:
        spec = BY_ID[r[1]]
        deleted = r[2 + KEY_SLOTS + 3]
        row = None if deleted else values.get((r[1], key))
        if row is None and not deleted:
            continue  # the row vanished without a tombstone: nothing sound to send
        hlc, origin, seq = r[2 + KEY_SLOTS : 2 + KEY_SLOTS + 3]
        changes.append(Change(spec.name, key, row, origin, seq, hlc, sseq=r[0]))
    return PullBatch(changes, new_cursor, more)


def _row_values(conn: psycopg.Connection, keyed: list) -> dict[tuple, tuple]:
    by_table: dict[int, list[tuple]] = defaultdict(list)
    for r, key in keyed:
        if not r[2 + KEY_SLOTS + 3]:
            by_table[r[1]].append(key)
    out: dict[tuple, tuple] = {}
    for wire_id, keys in by_table.items():
        spec = BY_ID[wire_id]
        found = conn.execute(
            f"SELECT {', '.join(spec.column_names)} FROM {spec.name} WHERE {keys_in(spec)}",
            [list(col) for col in zip(*keys, strict=True)],
            prepare=False,  # planned for this array's size, not a generic plan
        ).fetchall()
        for row in found:
            out[(wire_id, tuple(row[i] for i in spec.key_indexes))] = tuple(row)
    return out
