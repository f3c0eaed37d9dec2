"""What a device receives: its school's versions (but its own edits), the national ones, the
earlier record of pupils who moved to its school, and the records of its satellite schools
(server/satellites.py), in version order.

A device's own edits are skipped (it has them) unless a restore put them
below its `restore_floor`: then they come back like anyone's (section 10.5).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass

import sqlite_utils

from protocol.records import Change
from protocol.tables import BY_ID
from protocol.values import row_problems

from .keyset import rows_of_keys
from .schools import Device
from .store import KEY_SLOTS
from .versions import current_sseq

log = logging.getLogger("massar.server")

_COLS = ", ".join(f"k{i}" for i in range(1, KEY_SLOTS + 1))


@dataclass(frozen=True)
class PullBatch:
    changes: list[Change]
    cursor: int
    more: bool


@dataclass(frozen=True)
class TierFilter:
    """A page of some tables only (`only`: wire ids), or the rest skipping versions a node already took
    tier by tier (`skip`: wire ids and the sseq up to which it has them): SPEC 12.1."""

    only: frozenset[int] | None = None
    skip: tuple[tuple[frozenset[int], int], ...] = ()

    def sql(self, tbl: str, sseq: str) -> tuple[str, list[int]]:
        parts, params = [], []
        if self.only is not None:
            parts.append(f"{tbl} IN ({', '.join(map(str, sorted(self.only)))})")
        for ids, upto in self.skip:
            if upto > 0:
                parts.append(f"NOT ({tbl} IN ({', '.join(map(str, sorted(ids)))}) AND {sseq} <= ?)")
                params.append(upto)
        return "".join(f" AND {p}" for p in parts), params


NO_FILTER = TierFilter()


def pull_changes(
    db: sqlite_utils.Database, device: Device, cursor: int, limit: int, tiers: TierFilter = NO_FILTER
) -> PullBatch:
    """Versions after `cursor` in the device's scope, except its own edits (it has them)."""
    head = current_sseq(db)
    where, own_extra = tiers.sql("tbl", "sseq")
    sql = (
        f"SELECT sseq, tbl, {_COLS}, hlc, origin, seq, deleted FROM _versions "
        "WHERE {scope} AND sseq > ?" + where + " ORDER BY sseq LIMIT ?"
    )
    # The device's own edits are skipped in the scan itself, so echoes never cost a round trip.
    rows = db.execute(
        sql.format(scope="school = ? AND (origin != ? OR seq <= ?)"),
        [device.school, device.id, device.restore_floor, cursor, *own_extra, limit + 1],
    ).fetchall()
    rows += db.execute(sql.format(scope="school IS NULL"), [cursor, *own_extra, limit + 1]).fetchall()
    # Another school's record of a pupil who moved here: shared at the transfer, under a new number.
    where, extra = tiers.sql("v.tbl", "s.sseq")
    rows += db.execute(
        f"SELECT s.sseq, v.tbl, {', '.join('v.k' + str(i) for i in range(1, KEY_SLOTS + 1))}, v.hlc, v.origin, "
        "v.seq, v.deleted FROM _shared s JOIN _versions v ON v.tbl = s.tbl AND v.k1 = s.k1 AND v.k2 = s.k2 "
        "AND v.k3 = s.k3 AND v.k4 = s.k4 AND v.k5 = s.k5 WHERE s.school = ? AND s.sseq > ?"
        + where
        + " ORDER BY s.sseq LIMIT ?",
        [device.school, cursor, *extra, limit + 1],
    ).fetchall()
    # The satellites attached to the school: their records since the attach (the earlier ones are in `_shared`).
    # Each is read as the school's own are, by its index on (school, sseq); one join of `_satellites` with
    # `_versions` left the plan to PostgreSQL's estimates, and it hashed a parallel scan of every version
    # of the centre (30-50 ms a pull, most of the day delta, even for the many schools without satellites).
    satellites = db.execute("SELECT code, since_sseq FROM _satellites WHERE host = ?", [device.school]).fetchall()
    for code, since in satellites:
        rows += db.execute(sql.format(scope="school = ?"), [code, max(cursor, since), *own_extra, limit + 1]).fetchall()
    # A record both the school's and shared with it (a pupil back at a school he left) comes once.
    rows = sorted(set(map(tuple, rows)))
    more = len(rows) > limit
    rows = rows[:limit]
    new_cursor = rows[-1][0] if more else max(head, cursor)
    wanted = rows
    values = _row_values(db, wanted)
    changes = []
    for r in wanted:
        spec = BY_ID[r[1]]
        key = tuple(r[2 : 2 + len(spec.key)])
        row = None if r[10] else values.get((r[1], key))
        if row is None and not r[10]:
            continue  # the row vanished without a tombstone: nothing sound to send
        if row is not None and spec.national:
            # A published row that cannot travel (stored before publish checked the wire limits) would
            # refuse every node's whole page: it is set aside, reported, and the rest goes out.
            problems = row_problems(spec, row)
            if problems:
                log.warning("set aside %s %s (republish it corrected): %s", spec.name, list(key), "; ".join(problems))
                continue
        changes.append(Change(spec.name, key, row, r[8], r[9], r[7], sseq=r[0]))
    return PullBatch(changes, new_cursor, more)


def _row_values(db: sqlite_utils.Database, rows: list) -> dict[tuple, tuple]:
    by_table: dict[int, list[tuple]] = defaultdict(list)
    for r in rows:
        if not r[10]:
            spec = BY_ID[r[1]]
            by_table[r[1]].append(tuple(r[2 : 2 + len(spec.key)]))
    out: dict[tuple, tuple] = {}
    for wire_id, keys in by_table.items():
        for key, row in rows_of_keys(db, BY_ID[wire_id], keys).items():
            out[(wire_id, key)] = row
    return out
