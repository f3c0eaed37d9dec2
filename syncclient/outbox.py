"""Reading the node's pending changes as protocol Changes, oldest first."""

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
