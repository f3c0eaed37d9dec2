"""Applying a device's pushed changes: scoped row by row, idempotent, atomic, conflicts kept.

Rules (the same on every replica because only the server decides):
  * a change whose seq is not above the device's acknowledged seq was
    applied before: skipped (exactly once);
  * a device restored from a backup (it sends a pull cursor below one it sent
    before, or a number the centre acknowledged for another edit) gets nothing
    applied and an acknowledgement RESTORE_GAP above the last: it renumbers its
    pending changes above it, and its own edits the centre has come back in its
    pulls (`restore_floor`);
  * a change the school may not make (another school's row or record, a
    national table, a provisional code of another school, a date outside
    1900..today, a mark outside its class's scale, a row the schema refuses)
    is refused alone, with a code and a reason; the rest of the push applies;
  * its hlc is clamped to the server clock + MAX_SKEW, so a PC clock set
    years ahead cannot make its edits win forever;
  * if the record's current version came from another origin and the edit
    was not based on it (base != sseq), the edits are concurrent: the greater
    (hlc, origin) wins, the loser goes to `_conflicts`, and a losing incoming
    edit re-issues the winner with a new version number so the device pulls it back;
  * a pupil enrolled by a new school (a transfer) belongs to it from then on;
    the record other schools hold of that pupil is shared with it, read-only (server/transfers.py).

`apply_push` runs these steps in the caller's write transaction, each a
function of its own: `detect_restore` -> `unapplied` -> `check_scope` ->
`check_pupils_and_dates` -> `resolve` (a `Plan`) -> `write_plan` ->
`check_grade_scales` -> `acknowledge`.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from operator import attrgetter, itemgetter
from typing import NamedTuple

import sqlite_utils

from domain.codes import PROVISIONAL_CODE
from domain.replication import KEY_SLOTS, applying_remote
from domain.rows import delete_keys, upsert_rows
from protocol import hlc
from protocol.messages import Refusal
from protocol.records import Change
from protocol.tables import BY_NAME, TABLES, ColumnType

from .keyset import KEYS, joined, rows_of_keys
from .satellites import read_only_schools
from .schools import Device
from .transfers import PERSON_TABLES, TRANSFERABLE, left_before, share_earlier_record, share_later_history
from .values import check_values, enrolments_out_of_scale
from .versions import VersionNumbers, current_sseq

_CHUNK = 400
_KEY_COLS = ", ".join(f"k{i}" for i in range(1, KEY_SLOTS + 1))
RESTORE_GAP = 1 << 32
"""How far above its last acknowledgement a restored device renumbers its pending changes."""
_MAX_REASON_CHARS = 500


class Version(NamedTuple):
    """The current version of one record, as `_versions` holds it."""

    school: str | None
    sseq: int
    hlc: int
    origin: str
    seq: int
    deleted: bool


class ConflictRow(NamedTuple):
    """One row of `_conflicts`, in its column order: the losing side of two concurrent edits."""

    tbl: str
    record: str
    school: str
    winner_origin: str
    winner_hlc: int
    loser_origin: str
    loser_hlc: int
    loser_seq: int
    loser_row: str | None
    at: str


class Reissue(NamedTuple):
    """A winner that stays, renumbered so that the losing node pulls it back."""

    sseq: int
    tbl: int
    k1: object
    k2: object
    k3: object
    k4: object
    k5: object


@dataclass
class Plan:
    """What one push does, decided before anything is written."""

    upserts: dict[str, list[tuple]] = field(default_factory=lambda: defaultdict(list))
    deletes: dict[str, list[tuple]] = field(default_factory=lambda: defaultdict(list))
    # rows of `_versions` in its column order: tbl, k1..k5, school, sseq, hlc, origin, seq, deleted;
    # of records the centre holds (a new version replaces theirs), and of records it does not
    versions: list[tuple] = field(default_factory=list)
    new_versions: list[tuple] = field(default_factory=list)
    reissues: list[Reissue] = field(default_factory=list)
    conflicts: list[ConflictRow] = field(default_factory=list)
    newest_hlc: int = 0
    _seqs: dict[tuple, int] | None = field(default=None, repr=False)

    def seq_of(self, table: str, key: tuple) -> int:
        """The seq of the change that writes this record (to refuse a row turned down while writing)."""
        if self._seqs is None:  # only when something is refused: not built for a push that applies
            self._seqs = {v[:6]: v[10] for v in self.all_versions()}
        return self._seqs[(BY_NAME[table].wire_id, *key, *(0,) * (KEY_SLOTS - len(key)))]

    def all_versions(self) -> list[tuple]:
        return self.versions + self.new_versions


@dataclass(frozen=True)
class PushResult:
    acked_seq: int
    applied: int
    conflicts: int
    refused: tuple[Refusal, ...] = ()
    restored: bool = False


class Refusals:
    """Changes refused row by row, by seq: the first reason found for a change is kept."""

    def __init__(self) -> None:
        self.by_seq: dict[int, Refusal] = {}

    def refuse(self, change: Change, code: str, reason: str) -> None:
        self.by_seq.setdefault(change.seq, Refusal(change.seq, code, reason[:_MAX_REASON_CHARS]))

    def keep(self, changes: Iterable[Change]) -> list[Change]:
        if not self.by_seq:
            return list(changes)
        return [c for c in changes if c.seq not in self.by_seq]

    def all(self) -> tuple[Refusal, ...]:
        return tuple(sorted(self.by_seq.values(), key=lambda r: r.seq))


class _Replan(Exception):
    """Some rows were refused while writing: roll the attempt back and plan again without them."""


def unapplied(changes: Sequence[Change], acked: int) -> list[Change]:
    """The changes not applied before: a seq at or below the acknowledgement was (exactly once)."""
    return [c for c in changes if c.seq > acked]


_VERSION_SLOTS = (ColumnType.STR,) * KEY_SLOTS  # `_versions`' key slots (text on PostgreSQL)
_VERSIONS_OF_KEYS = (
    # tbl selected last: PostgreSQL's key slots are text, typed again by the table (server/pg/database.py).
    # The table is a parameter, not a key column: a semester's keys go to the key table as they are.
    f"SELECT {', '.join(f'v.k{i}' for i in range(1, KEY_SLOTS + 1))}, v.school, v.sseq, v.hlc, v.origin, v.seq, "
    f"v.deleted, v.tbl FROM {KEYS} CROSS JOIN _versions v WHERE v.tbl = ? AND "
    + " AND ".join(f"v.k{i} = p.c{i - 1}" for i in range(1, KEY_SLOTS + 1))
)


def existing_versions(db: sqlite_utils.Database, wire_id: int, slots: Sequence[tuple]) -> dict[tuple, Version]:
    """Current versions of these records, keyed by their padded key slots (one index probe each)."""
    rows = joined(db, _VERSIONS_OF_KEYS, slots, _VERSION_SLOTS, [wire_id])
    return {tuple(r[:KEY_SLOTS]): Version(r[5], r[6], r[7], r[8], r[9], bool(r[10])) for r in rows}


def _slots(c: Change) -> tuple:
    return (*c.key, *(0,) * (KEY_SLOTS - len(c.key)))


def _was_applied(
    db: sqlite_utils.Database, device: str, c: Change, v: Version | None, row: tuple | None, bound: int
) -> bool | None:
    """Whether this very edit (not another with the same number) reached the centre before; None when
    the record was written by another origin since and nothing about the record itself tells.
    `v` is the record's version, `row` its current row (read only where `v` is this device's edit `c.seq`)."""
    if v is None:
        return False
    if v.origin == device:
        if v.seq != c.seq:
            return False
        # The same number on the same record: a resend carries the row the centre holds; a restored PC
        # that gave the number again to another edit of that record (the mark entered again, otherwise)
        # does not. The same row entered again is harmless to skip: the centre already holds it.
        return (None if v.deleted else row) == (None if c.row is None else tuple(c.row))
    lost = db.execute(
        "SELECT 1 FROM _conflicts WHERE tbl = ? AND record = ? AND loser_origin = ? AND loser_seq = ?",
        [c.table, _json(c.key), device, c.seq],
    ).fetchone()
    if lost is not None:
        return True
    # Applied, then replaced without a conflict: the replacing edit saw it, so its hybrid clock is
    # past the stamp it got. A version older than this change's stamp was never replacing it. Only a
    # stamp the centre would clamp cannot be compared (the first stamp may have been the clamp).
    if v.hlc < c.hlc <= bound:
        return False
    return None


def _numbers_spent_elsewhere(db: sqlite_utils.Database, device: Device, changes: Sequence[Change]) -> bool:
    """Whether the centre holds another edit of this device under one of these numbers: a version of
    another record, or another record's lost side of a conflict. The caller passes changes whose own
    record is now another origin's, so any version of the device under that number is another record's."""
    seqs = sorted({c.seq for c in changes})
    marks = ", ".join("?" * len(seqs))
    if db.execute(
        f"SELECT 1 FROM _versions WHERE school = ? AND origin = ? AND seq IN ({marks}) LIMIT 1",
        [device.school, device.id, *seqs],
    ).fetchone():
        return True
    records = {(c.seq, c.table, _json(c.key)) for c in changes}
    lost = db.execute(
        f"SELECT loser_seq, tbl, record FROM _conflicts WHERE school = ? AND loser_origin = ? AND loser_seq IN ({marks})",
        [device.school, device.id, *seqs],
    ).fetchall()
    return any((r[0], r[1], r[2]) not in records for r in lost)


def detect_restore(
    db: sqlite_utils.Database, device: Device, changes: Sequence[Change], pull_cursor: int, bound: int
) -> bool:
    """A device that lost state (restored backup, reinstalled PC with its token) shows it by going back:
    a pull cursor below one it sent (or 0 once it was sent another), or a number the centre
    acknowledged for a different edit."""
    if pull_cursor < device.seen_cursor:
        return True
    stale = [c for c in changes if c.seq <= device.acked_seq]
    if pull_cursor == 0 < device.sent_cursor and device.acked_seq and not changes:
        return True  # starts from scratch with nothing to push: a PC reinstalled with its old token
    unknown = []
    by_table: dict[str, list[Change]] = defaultdict(list)
    for c in stale:
        by_table[c.table].append(c)
    for table, group in by_table.items():
        # A resent chunk can be a few thousand changes: their versions and rows in one statement each.
        spec = BY_NAME[table]
        versions = existing_versions(db, spec.wire_id, [_slots(c) for c in group])
        same = [c.key for c in group if (v := versions.get(_slots(c))) and v.origin == device.id and v.seq == c.seq]
        rows = rows_of_keys(db, spec, same) if same else {}
        for c in group:
            applied = _was_applied(db, device.id, c, versions.get(_slots(c)), rows.get(tuple(c.key)), bound)
            if applied is False:
                return True
            if applied is None:
                unknown.append(c)
    # A record overwritten by another origin since says nothing about who wrote it before; the
    # number does: a restored PC reuses the numbers its lost edits had, for other records. Only
    # when the centre kept no trace of the number at all can it not tell (SPEC 10.4, step 1).
    return bool(unknown) and _numbers_spent_elsewhere(db, device, unknown)


def mark_restored(db: sqlite_utils.Database, device: Device, pull_cursor: int) -> PushResult:
    """Apply nothing; number the device above everything it ever sent; give it its own edits back."""
    acked = device.acked_seq + RESTORE_GAP
    db.conn.execute(
        "UPDATE _devices SET acked_seq = ?, restore_floor = ?, seen_cursor = ? WHERE id = ?",
        [acked, device.acked_seq, pull_cursor, device.id],
    )
    return PushResult(acked, 0, 0, restored=True)


def _current_row(db: sqlite_utils.Database, table: str, key: tuple) -> list | None:
    spec = BY_NAME[table]
    where = " AND ".join(f"{k} = ?" for k in spec.key)
    row = db.execute(f"SELECT {', '.join(spec.column_names)} FROM {table} WHERE {where}", list(key)).fetchone()
    return None if row is None else list(row)


_SCHOOL_INDEX = {t.name: t.column_names.index("school") for t in TABLES if not t.national}
_SCHOOL_IN_KEY = {t.name: t.key.index("school") for t in TABLES if "school" in t.key}


def _read_only(refusals: Refusals, c: Change, satellite: str) -> None:
    refusals.refuse(
        c, "satellite_read_only", f"{c.table} {list(c.key)} is satellite school {satellite}'s: read-only at its host"
    )


def check_scope(
    school: str, changes: Sequence[Change], refusals: Refusals, read_only: frozenset[str] = frozenset()
) -> None:
    """Rows outside the school's scope are refused one by one, before anything is written.

    `read_only`: the school's satellites (server/satellites.py), whose rows it receives but may not write.
    A run of one table's changes that all name the school (a semester's marks) is passed in C-level
    passes; any other run is judged change by change."""
    for table, run in groupby(changes, key=attrgetter("table")):
        group = list(run)
        if not _all_in_scope(school, table, group, read_only):
            _check_scope_one_by_one(school, group, refusals, read_only)


def _all_in_scope(school: str, table: str, group: list[Change], read_only: frozenset[str]) -> bool:
    """Whether no change of this run of one table can be refused by `check_scope` (False: look closer)."""
    index = _SCHOOL_INDEX.get(table)
    if index is None or table == "pupils" or school in read_only:
        return False
    rows = [r for r in map(attrgetter("row"), group) if r is not None]
    in_key = _SCHOOL_IN_KEY.get(table)
    try:
        if rows and set(map(itemgetter(index), rows)) != {school}:
            return False
        return in_key is None or set(map(itemgetter(in_key), map(attrgetter("key"), group))) == {school}
    except TypeError:  # a value that cannot be hashed: judged one by one
        return False


def _check_scope_one_by_one(
    school: str, changes: Sequence[Change], refusals: Refusals, read_only: frozenset[str]
) -> None:
    for c in changes:
        index = _SCHOOL_INDEX.get(c.table)
        if index is None:
            refusals.refuse(c, "national_table", f"{c.table} is published by the centre; a school cannot write it")
        elif c.row is not None and c.row[index] in read_only:
            _read_only(refusals, c, str(c.row[index]))
        elif c.table in _SCHOOL_IN_KEY and c.key[_SCHOOL_IN_KEY[c.table]] in read_only:
            _read_only(refusals, c, str(c.key[_SCHOOL_IN_KEY[c.table]]))
        elif c.row is not None and c.row[index] != school:
            refusals.refuse(
                c, "other_school", f"{c.table} row {list(c.key)} names school {c.row[index]!r}, not {school}"
            )
        elif c.table in _SCHOOL_IN_KEY and c.key[_SCHOOL_IN_KEY[c.table]] != school:
            refusals.refuse(c, "other_school", f"{c.table} {list(c.key)} belongs to another school")
        elif (
            c.table == "pupils"
            and PROVISIONAL_CODE.match(str(c.key[0]))
            and not str(c.key[0]).startswith(f"TMP-{school}-")
        ):
            refusals.refuse(c, "foreign_code", f"provisional code {c.key[0]} is another school's to give")


# Dates a school records (births, absences, incidents, decisions) lie between 1900 and today.
_FIRST_DATE = "1900-01-01"
_DATE_COLUMNS = {
    t.name: [i for i, c in enumerate(t.columns) if c.type is ColumnType.DATE] for t in TABLES if not t.national
}


_PUPIL_IN_KEY = {"pupils": 0, **{t.name: t.key.index("pupil") for t in TABLES if "pupil" in t.key}}


def _pupil_of(c: Change) -> str | None:
    i = _PUPIL_IN_KEY.get(c.table)
    return None if i is None else str(c.key[i])


def check_pupils_and_dates(
    db: sqlite_utils.Database,
    school: str,
    changes: Sequence[Change],
    today: dt.date,
    refusals: Refusals,
    read_only: frozenset[str] = frozenset(),
) -> tuple[dict[str, str], dict[str, str]]:
    """Refuse rows about another school's pupil and dates outside 1900..today; returns the pupils
    this push transfers to the school (newly enrolled here while the centre has them elsewhere), each
    with the school that had them, and the other pupils of the push the centre has elsewhere, each with
    that school.

    A pupil unknown to the centre is allowed (its roster row may come in a later chunk).
    """
    last = (today + dt.timedelta(days=1)).isoformat()  # a day of time-zone slack
    # Table by table, in C where it can be (map, itemgetter, min/max): a semester's 27,000 changes
    # are walked one by one only for a table holding a date out of range.
    codes: set[str] = set()
    for table, run in groupby(changes, key=attrgetter("table")):
        group = list(run)
        i = _PUPIL_IN_KEY.get(table)
        # A departure is the leaving school's own record (its code is in the key): it may reach the
        # centre after the pupil's new school has taken him over.
        if i is not None and table != "departures":
            codes.update(map(str, map(itemgetter(i), map(attrgetter("key"), group))))
        rows = [r for r in map(attrgetter("row"), group) if r is not None]
        for d in _DATE_COLUMNS.get(table, ()):
            dates = [v for v in map(itemgetter(d), rows) if v is not None]
            try:
                if not dates or (min(dates) >= _FIRST_DATE and max(dates) <= last):
                    continue
            except TypeError:  # a value that is not text: judged with the others, one by one
                pass
            spec = BY_NAME[table]
            for c in group:
                value = str(c.row[d]) if c.row is not None and c.row[d] is not None else None
                if value is not None and not _FIRST_DATE <= value <= last:
                    refusals.refuse(
                        c, "bad_date", f"{table}.{spec.columns[d].name} {value} is outside {_FIRST_DATE}..{last}"
                    )
    codes_in_order = sorted(codes)
    owners: dict[str, str] = {}
    for start in range(0, len(codes_in_order), _CHUNK):
        part = codes_in_order[start : start + _CHUNK]
        owners.update(
            db.execute(
                f"SELECT code, school FROM pupils WHERE code IN ({', '.join('?' * len(part))}) AND school != ?",
                [*part, school],
            ).fetchall()
        )
    if not owners:
        return {}, {}
    pupils: dict[str, list[Change]] = defaultdict(list)
    for c in changes:
        pupil = _pupil_of(c)
        if pupil in owners and c.table != "departures":
            pupils[pupil].append(c)
    # An arrival is a new enrolment of this school (a pupil it never had that year): an update of an
    # enrolment it already had does not take back a pupil who has moved on since.
    candidates = [
        c
        for c in changes
        if c.table == "enrolments" and c.row is not None and c.seq not in refusals.by_seq and str(c.key[2]) in owners
    ]
    known = existing_versions(db, BY_NAME["enrolments"].wire_id, [_slots(c) for c in candidates])
    enrolled = {
        str(c.key[2]): owners[str(c.key[2])] for c in candidates if (v := known.get(_slots(c))) is None or v.deleted
    }
    left = left_before(db, school, [p for p in owners if p not in enrolled], changes)
    for pupil, owner in owners.items():
        if pupil in enrolled:
            continue  # an arrival: the pupil's rows are this school's from now on
        for c in pupils[pupil]:
            departed = left.get(pupil, -1)
            if c.table not in PERSON_TABLES and (departed is None or 0 <= c.hlc < departed):
                continue  # the leaving school's history of the pupil, made before it recorded his departure
            if owner in read_only:
                _read_only(refusals, c, owner)
            else:
                refusals.refuse(c, "foreign_pupil", f"pupil {pupil} belongs to school {owner}, not {school}")
    return enrolled, {p: o for p, o in owners.items() if p not in enrolled}


def _json(values: Iterable | None) -> str | None:
    return None if values is None else json.dumps(list(values), ensure_ascii=False)


def resolve(
    db: sqlite_utils.Database,
    device: Device,
    changes: Sequence[Change],
    server_hlc: int,
    numbers: VersionNumbers,
    refusals: Refusals,
    arrivals: dict[str, str],
    *,
    bound: int | None = None,
) -> Plan:
    """Decide every change: a new version (its row written), the loser of a conflict (kept aside), or refused.

    `changes` hold one change per record (`last_of_each_record`), so a decision never depends on another's.

    `bound`: the clamp, measured from the server's wall clock (SPEC section 6); by default from `server_hlc`."""
    plan = Plan()
    school, origin = device.school, device.id
    if bound is None:
        bound = hlc.skew_bound(server_hlc)  # SPEC section 6: clamp(hlc) = min(hlc, bound)
    at = dt.datetime.fromtimestamp(hlc.wall_ms(server_hlc) / 1000, dt.UTC).isoformat(timespec="seconds")
    by_table: dict[str, list[Change]] = defaultdict(list)
    for c in changes:
        by_table[c.table].append(c)
    for table, group in by_table.items():
        wire_id = BY_NAME[table].wire_id
        pad = (0,) * (KEY_SLOTS - len(BY_NAME[table].key))
        group_slots = [c.key + pad for c in group]
        current = existing_versions(db, wire_id, group_slots)
        if not current:
            _all_new(plan, table, wire_id, group, group_slots, school, origin, bound, numbers)
            continue
        upserts, deletes = plan.upserts[table], plan.deletes[table]
        for c, slots in zip(group, group_slots, strict=True):
            v = current.get(slots)
            stamped = c.hlc if c.hlc <= bound else bound
            if v is not None:
                if v.school not in (None, school) and not (table in TRANSFERABLE and _pupil_of(c) in arrivals):
                    what = "delete of" if c.row is None else "write to"
                    refusals.refuse(c, "foreign_record", f"{what} {table} {list(c.key)}, a record of school {v.school}")
                    continue
                # A restored device's own edits from before its restore are another life's: concurrent too.
                earlier_life = v.origin == origin and v.seq <= device.restore_floor < c.seq
                if (v.origin != origin or earlier_life) and c.base != v.sseq:
                    # Concurrent edits: the greater (hlc, origin) wins, the loser is kept.
                    record = _json(c.key) or "[]"
                    if (stamped, origin) <= (v.hlc, v.origin):
                        plan.reissues.append(Reissue(numbers.take(), wire_id, *slots))
                        plan.conflicts.append(
                            ConflictRow(
                                table, record, school, v.origin, v.hlc, origin, stamped, c.seq, _json(c.row), at
                            )
                        )
                        continue
                    lost = None if v.deleted else _current_row(db, table, c.key)
                    plan.conflicts.append(
                        ConflictRow(table, record, school, origin, stamped, v.origin, v.hlc, v.seq, _json(lost), at)
                    )
            # Records are unique in a push (`last_of_each_record`): `current` needs no update.
            (plan.new_versions if v is None else plan.versions).append(
                (wire_id, *slots, school, numbers.take(), stamped, origin, c.seq, c.row is None)
            )
            if c.row is None:
                deletes.append(c.key)
            else:
                upserts.append(c.row)
            if c.hlc == stamped and stamped > plan.newest_hlc:
                # Only a stamp the server did not clamp moves its clock: a clamped one would
                # ratchet the clock (and every node adopting it) five minutes a push.
                plan.newest_hlc = stamped
    return plan


def _all_new(
    plan: Plan,
    table: str,
    wire_id: int,
    group: Sequence[Change],
    group_slots: Sequence[tuple],
    school: str,
    origin: str,
    bound: int,
    numbers: VersionNumbers,
) -> None:
    """`resolve` for a table none of whose pushed records the centre holds yet (a semester's bulk):
    no conflict and no foreign record is possible, so every change becomes a version, in bulk."""
    hlcs = list(map(attrgetter("hlc"), group))
    newest = max(hlcs, default=0)
    # Only a stamp the server did not clamp moves its clock (see `resolve`).
    if newest <= bound:  # the usual push: nothing to clamp
        stamps = hlcs
    else:
        stamps = [h if h <= bound else bound for h in hlcs]
        newest = max((h for h in hlcs if h <= bound), default=0)
    plan.new_versions.extend(
        (wire_id, *slots, school, sseq, stamped, origin, c.seq, c.row is None)
        for c, slots, sseq, stamped in zip(group, group_slots, numbers.take_many(len(group)), stamps, strict=True)
    )
    upserts = [c.row for c in group if c.row is not None]
    if len(upserts) < len(group):
        plan.deletes[table].extend(c.key for c in group if c.row is None)
    plan.upserts[table].extend(upserts)
    plan.newest_hlc = max(plan.newest_hlc, newest)


class _RowsRefused(Exception):
    """The schema refused a row of a push written without a savepoint per table: the caller's savepoint
    is rolled back, and the push written again table by table to find the rows (`careful`)."""


def _write_rows(
    db: sqlite_utils.Database, plan: Plan, by_seq: dict[int, Change], refusals: Refusals, *, careful: bool
) -> None:
    """Rows of a resolved push; a table the schema refuses is retried row by row to find the bad ones.

    Nearly every push is written whole (`careful` False): a savepoint per table would cost PostgreSQL
    two round trips each, for a refusal that almost never comes. When one comes, the caller's savepoint
    rolls the attempt back (the `applying` flag with it) and the push is written again with them."""
    failed = False
    batches: list[tuple[str, list[tuple], Callable[..., None]]]
    batches = [(t, rows, upsert_rows) for t, rows in plan.upserts.items() if rows]
    batches += [(t, keys, delete_keys) for t, keys in plan.deletes.items() if keys]
    if not careful:
        # applying_remote's statements, without its `finally`: after a refused row PostgreSQL's
        # transaction takes no statement until the caller's savepoint is rolled back.
        db.conn.execute("UPDATE _clock SET applying = 1 WHERE id = 1")
        try:
            for table, rows, write in batches:
                write(db, table, rows)
        except sqlite3.IntegrityError as exc:
            raise _RowsRefused(str(exc)) from exc
        db.conn.execute("UPDATE _clock SET applying = 0 WHERE id = 1")
        return
    with applying_remote(db):
        for table, rows, write in batches:
            try:
                with db.atomic():
                    write(db, table, rows)
            except sqlite3.IntegrityError:
                spec = BY_NAME[table]
                for row in rows:
                    key = tuple(row) if write is delete_keys else tuple(row[i] for i in spec.key_indexes)
                    try:
                        with db.atomic():
                            write(db, table, [row])
                    except sqlite3.IntegrityError as exc:
                        refusals.refuse(by_seq[plan.seq_of(table, key)], "invalid_row", f"{table} {list(key)}: {exc}")
                        failed = True
    if failed:
        raise _Replan


def write_plan(
    db: sqlite_utils.Database, plan: Plan, by_seq: dict[int, Change], refusals: Refusals, *, careful: bool = True
) -> None:
    """Rows, versions, re-issues and conflicts of a resolved push (captured by nobody: already versioned).
    `careful` False: in the caller's savepoint, which a refused row (`_RowsRefused`) must roll back."""
    _write_rows(db, plan, by_seq, refusals, careful=careful)
    db.conn.executemany(
        "INSERT INTO _versions (tbl, k1, k2, k3, k4, k5, school, sseq, hlc, origin, seq, deleted) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tbl, k1, k2, k3, k4, k5) DO UPDATE SET "
        "school = excluded.school, "
        "sseq = excluded.sseq, hlc = excluded.hlc, origin = excluded.origin, seq = excluded.seq, "
        "deleted = excluded.deleted",
        plan.versions,
    )
    # Looked up in this transaction, under the write lock: nobody can have written them since. A plain
    # INSERT spares PostgreSQL's speculative insertion (and SQLite's conflict check) for every new record.
    db.conn.executemany(
        "INSERT INTO _versions (tbl, k1, k2, k3, k4, k5, school, sseq, hlc, origin, seq, deleted) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        plan.new_versions,
    )
    db.conn.executemany(
        "UPDATE _versions SET sseq = ? WHERE tbl = ? AND k1 = ? AND k2 = ? AND k3 = ? AND k4 = ? AND k5 = ?",
        plan.reissues,
    )
    db.conn.executemany(
        "INSERT INTO _conflicts (tbl, record, school, winner_origin, winner_hlc, loser_origin, loser_hlc, loser_seq, "
        "loser_row, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        plan.conflicts,
    )
    if plan.newest_hlc:
        # The server's clock must not fall behind a version it stores, or its own next
        # correction of that record would carry an older stamp than the version it replaces.
        db.conn.execute("UPDATE _clock SET hlc = max(hlc, ?) WHERE id = 1", [plan.newest_hlc])


def acknowledge(db: sqlite_utils.Database, device: Device, changes: Sequence[Change], pull_cursor: int) -> int:
    new_acked = max(device.acked_seq, max(c.seq for c in changes))
    db.conn.execute(
        "UPDATE _devices SET acked_seq = ?, seen_cursor = max(seen_cursor, ?) WHERE id = ?",
        [new_acked, pull_cursor, device.id],
    )
    return new_acked


def last_of_each_record(changes: Sequence[Change]) -> list[Change]:
    """Of several changes of one record in a push, the last: a delete then an upsert leaves the row."""
    keys = list(map(attrgetter("key"), changes))
    # The usual push: a node's outbox holds one entry per record. Keys alone all differing is enough
    # (and cheaper to hash than table and key together); keys shared by two tables look closer.
    if len(set(keys)) == len(changes) or len(set(zip(map(attrgetter("table"), changes), keys, strict=True))) == len(
        changes
    ):
        return list(changes)
    last: dict[tuple, Change] = {}
    for c in changes:
        last.pop((c.table, c.key), None)  # re-inserted at the end: the push's order is kept
        last[(c.table, c.key)] = c
    return list(last.values())


def apply_push(
    db: sqlite_utils.Database,
    device: Device,
    changes: Sequence[Change],
    server_hlc: int,
    *,
    pull_cursor: int = 0,
    bound: int | None = None,
    charge: Callable[[Sequence[Change]], None] | None = None,
) -> PushResult:
    """Apply in the caller's write transaction; returns the new acknowledgement and the refusals.

    `bound` is the clamp (SPEC section 6: from the server's wall clock); `charge` counts the changes not
    applied before against the school's day, or refuses the whole push (server/quotas.py)."""
    if bound is None:
        bound = hlc.skew_bound(server_hlc)  # SPEC section 6: clamp(hlc) = min(hlc, bound)
    if detect_restore(db, device, changes, pull_cursor, bound):
        return mark_restored(db, device, pull_cursor)
    fresh = unapplied(changes, device.acked_seq)
    if not fresh:
        db.conn.execute("UPDATE _devices SET seen_cursor = max(seen_cursor, ?) WHERE id = ?", [pull_cursor, device.id])
        return PushResult(device.acked_seq, 0, 0)
    if charge is not None:
        charge(fresh)
    refusals = Refusals()
    read_only = read_only_schools(db, device.school)
    check_scope(device.school, fresh, refusals, read_only)
    today = dt.datetime.fromtimestamp(hlc.wall_ms(server_hlc) / 1000, dt.UTC).date()
    arrivals, elsewhere = check_pupils_and_dates(db, device.school, refusals.keep(fresh), today, refusals, read_only)
    check_values(db, refusals.keep(fresh), refusals.refuse)
    by_seq = {c.seq: c for c in fresh}
    careful = False  # until the schema refuses a row (`_write_rows`)
    while True:  # a row refused while writing: roll the attempt back, plan again without it
        numbers = VersionNumbers(current_sseq(db))
        kept = last_of_each_record(refusals.keep(fresh))
        plan = resolve(db, device, kept, server_hlc, numbers, refusals, arrivals, bound=bound)
        try:
            with db.atomic():
                write_plan(db, plan, by_seq, refusals, careful=careful)
                out_of_scale = [
                    ("grades", key, reason) for key, reason in check_grade_scales(db, plan.upserts.get("grades", ()))
                ] + [
                    ("enrolments", key, reason)
                    for key, reason in enrolments_out_of_scale(db, plan.upserts.get("enrolments", ()))
                ]
                if out_of_scale:
                    for table, key, reason in out_of_scale:
                        refusals.refuse(by_seq[plan.seq_of(table, key)], "out_of_scale", reason)
                    raise _Replan
                if arrivals:
                    share_earlier_record(db, device.school, arrivals, numbers, server_hlc)
                if elsewhere:
                    share_later_history(db, plan.all_versions(), elsewhere, numbers)
                numbers.store(db)
        except _RowsRefused:
            careful = True  # written again table by table, bad rows found row by row
            continue
        except _Replan:
            continue
        break
    return PushResult(
        acknowledge(db, device, fresh, pull_cursor),
        len(plan.versions) + len(plan.new_versions),
        len(plan.conflicts),
        refusals.all(),
    )


def check_grade_scales(db: sqlite_utils.Database, rows: Sequence[tuple]) -> list[tuple[tuple, str]]:
    """Marks outside their class's scale (/10 in primary), not only the table's 0..20: (key, reason).

    Only marks above 10 can break a scale, so only their pupils' classes are looked up.
    """
    spec = BY_NAME["grades"]
    school_i, year_i, pupil_i, score_i = (spec.column_names.index(c) for c in ("school", "year", "pupil", "score"))
    suspects: dict[tuple, list[tuple]] = defaultdict(list)
    for r in rows:
        if r[score_i] is not None and r[score_i] > 1000:
            suspects[(r[school_i], r[year_i], r[pupil_i])].append(r)
    out: list[tuple[tuple, str]] = []
    bad = joined(
        db,
        f"SELECT e.school, e.year, e.pupil, l.scale FROM {KEYS} CROSS JOIN enrolments e "
        "JOIN classes c ON c.school = e.school AND c.year = e.year AND c.code = e.class "
        "JOIN levels l ON l.code = c.level "
        "WHERE e.school = p.c0 AND e.year = p.c1 AND e.pupil = p.c2 AND l.scale * 100 < 2000",
        list(suspects),
        (ColumnType.STR,) * 3,
    )
    for school, year, pupil, scale in bad:
        for row in suspects[(school, year, pupil)]:
            if row[score_i] > scale * 100:
                key = tuple(row[i] for i in spec.key_indexes)
                subject = row[spec.column_names.index("subject")]
                out.append((key, f"score {row[score_i] / 100} of {pupil} in {subject} is out of the scale 0-{scale}"))
    return out
