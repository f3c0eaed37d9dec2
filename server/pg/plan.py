"""The decisions of applying a push, without I/O: which rows win, which lose, which versions to store.

The rules are the SQLite centre's (see server.ingest): a concurrent edit
(another origin's current version, not the base of this edit) is decided by
the greater (hlc, origin); the loser goes to `_conflicts`; a losing incoming
edit re-issues the winner under a new version number so the node pulls it
back. Version numbers are offsets 1..version_count, turned into real numbers
by the caller at the last moment.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from protocol.records import Change
from protocol.tables import BY_NAME, TableSpec

from ..errors import ScopeViolation

# (school, sseq, hlc, origin, seq, deleted) of a record's current version
Existing = tuple
ExistingLookup = Callable[[TableSpec, Sequence[tuple]], dict[tuple, Existing]]
RowLookup = Callable[[str, tuple], list | None]


@dataclass
class PushPlan:
    versions: list[tuple] = field(default_factory=list)  # tbl, k1..k5, school, offset, hlc, origin, seq, deleted
    rebumps: list[tuple] = field(default_factory=list)  # offset, tbl, k1..k5
    upserts: dict[str, list[tuple]] = field(default_factory=dict)
    deletes: dict[str, list[tuple]] = field(default_factory=dict)
    conflicts: list[tuple] = field(default_factory=list)
    newest: int = 0
    applied: int = 0
    version_count: int = 0


def _json(values: Sequence | None) -> str | None:
    return None if values is None else json.dumps(list(values), ensure_ascii=False)


def plan_push(
    school: str,
    changes: Sequence[Change],
    *,
    bound: int,
    existing: ExistingLookup,
    current_row: RowLookup,
    slots_of: Callable[[TableSpec, tuple], tuple],
    now: str,
) -> PushPlan:
    plan = PushPlan()
    by_table: dict[str, list[Change]] = defaultdict(list)
    for c in changes:
        by_table[c.table].append(c)
    versions: dict[tuple, tuple] = {}
    offset = 0
    for table, group in by_table.items():
        spec = BY_NAME[table]
        wire_id = spec.wire_id
        group_slots = [slots_of(spec, c.key) for c in group]
        known = existing(spec, group_slots)
        final: dict[tuple, tuple | None] = {}
        for c, slots in zip(group, group_slots, strict=True):
            v = known.get(slots)
            stamped = c.hlc if c.hlc <= bound else bound
            if v is not None:
                v_school, v_sseq, v_hlc, v_origin, v_seq, v_deleted = v
                if v_school not in (None, school):
                    raise ScopeViolation(f"{table} {list(c.key)} belongs to school {v_school}")
                if v_origin != school and c.base != v_sseq:
                    if (stamped, school) > (v_hlc, v_origin):
                        lost = None if v_deleted else current_row(table, c.key)
                        plan.conflicts.append(
                            (table, _json(c.key), school, school, stamped, v_origin, v_hlc, v_seq, _json(lost), now)
                        )
                    else:
                        offset += 1
                        plan.rebumps.append((offset, wire_id, *slots))
                        plan.conflicts.append(
                            (table, _json(c.key), school, v_origin, v_hlc, school, stamped, c.seq, _json(c.row), now)
                        )
                        continue
            deleted = c.row is None
            offset += 1
            versions[(wire_id, slots)] = (wire_id, *slots, school, offset, stamped, school, c.seq, int(deleted))
            final[c.key] = c.row
            plan.applied += 1
            plan.newest = max(plan.newest, stamped)
            known[slots] = (school, 0, stamped, school, c.seq, deleted)
        # One statement per table writes each record once: its state after the whole push.
        plan.upserts[table] = [row for row in final.values() if row is not None]
        plan.deletes[table] = [key for key, row in final.items() if row is None]
    plan.versions = list(versions.values())
    plan.version_count = offset
    return plan
