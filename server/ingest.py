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
    the record other schools hold of that pupil is shared with it, read-only.

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
from operator import attrgetter
from typing import NamedTuple

import sqlite_utils

from domain.codes import PROVISIONAL_CODE
from domain.replication import CENTRAL_ORIGIN, KEY_SLOTS, applying_remote
from domain.rows import delete_keys, upsert_rows
from protocol import hlc
from protocol.messages import Refusal
from protocol.records import Change
from protocol.tables import BY_ID, BY_NAME, TABLES, ColumnType

from .keyset import KEYS, joined
from .satellites import read_only_schools
from .schools import Device
from .values import check_values, enrolments_out_of_scale
from .versions import current_sseq

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
    # rows of `_versions` in its column order: tbl, k1..k5, school, sseq, hlc, origin, seq, deleted
    versions: list[tuple] = field(default_factory=list)
    reissues: list[Reissue] = field(default_factory=list)
    conflicts: list[ConflictRow] = field(default_factory=list)
    newest_hlc: int = 0
    _seqs: dict[tuple, int] | None = field(default=None, repr=False)

    def seq_of(self, table: str, key: tuple) -> int:
        """The seq of the change that writes this record (to refuse a row turned down while writing)."""
        if self._seqs is None:  # only when something is refused: not built for a push that applies
            self._seqs = {v[:6]: v[10] for v in self.versions}
        return self._seqs[(BY_NAME[table].wire_id, *key, *(0,) * (KEY_SLOTS - len(key)))]


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
        return [c for c in changes if c.seq not in self.by_seq]

    def all(self) -> tuple[Refusal, ...]:
        return tuple(sorted(self.by_seq.values(), key=lambda r: r.seq))


class _Replan(Exception):
    """Some rows were refused while writing: roll the attempt back and plan again without them."""


class VersionNumbers:
    """Hands out the server's version numbers in order; stored once with `store`.

    Safe because the caller holds the write transaction: nobody else takes numbers meanwhile.
    """

    def __init__(self, last: int) -> None:
        self.last = last

    def take(self) -> int:
        self.last += 1
        return self.last

    def take_many(self, n: int) -> range:
        first = self.last + 1
        self.last += n
        return range(first, self.last + 1)

    def store(self, db: sqlite_utils.Database) -> None:
        db.conn.execute("UPDATE _clock SET sseq = ? WHERE id = 1", [self.last])


def unapplied(changes: Sequence[Change], acked: int) -> list[Change]:
    """The changes not applied before: a seq at or below the acknowledgement was (exactly once)."""
    return [c for c in changes if c.seq > acked]


_VERSION_SLOTS = (ColumnType.INT, *(ColumnType.STR,) * KEY_SLOTS)  # `_versions`' key: tbl, then text slots
_VERSIONS_OF_KEYS = (
    # tbl last: PostgreSQL's key slots are text, typed again by the table (server/pg/database.py)
    f"SELECT {', '.join(f'v.k{i}' for i in range(1, KEY_SLOTS + 1))}, v.school, v.sseq, v.hlc, v.origin, v.seq, "
    f"v.deleted, v.tbl FROM {KEYS} CROSS JOIN _versions v WHERE v.tbl = p.c0 AND "
    + " AND ".join(f"v.k{i} = p.c{i}" for i in range(1, KEY_SLOTS + 1))
)


def existing_versions(db: sqlite_utils.Database, wire_id: int, slots: Sequence[tuple]) -> dict[tuple, Version]:
    """Current versions of these records, keyed by their padded key slots (one index probe each)."""
    rows = joined(db, _VERSIONS_OF_KEYS, [(wire_id, *s) for s in slots], _VERSION_SLOTS)
    return {tuple(r[:KEY_SLOTS]): Version(r[5], r[6], r[7], r[8], r[9], bool(r[10])) for r in rows}


def _slots(c: Change) -> tuple:
    return (*c.key, *(0,) * (KEY_SLOTS - len(c.key)))


def _was_applied(db: sqlite_utils.Database, device: str, c: Change) -> bool:
    """Whether this very edit (not another with the same number) reached the centre before."""
    v = existing_versions(db, BY_NAME[c.table].wire_id, [_slots(c)]).get(_slots(c))
    if v is None:
        return False
    if v.origin == device:
        return v.seq == c.seq
    lost = db.execute(
        "SELECT 1 FROM _conflicts WHERE tbl = ? AND record = ? AND loser_origin = ? AND loser_seq = ?",
        [c.table, _json(c.key), device, c.seq],
    ).fetchone()
    # Overwritten by another origin since: most likely applied first (a resent chunk); the centre cannot tell.
    return lost is not None or v.origin != device


def detect_restore(db: sqlite_utils.Database, device: Device, changes: Sequence[Change], pull_cursor: int) -> bool:
    """A device that lost state (restored backup, reinstalled PC with its token) shows it by going back:
    a pull cursor below one it sent (or 0 once it was sent another), or a number the centre
    acknowledged for a different edit."""
    if pull_cursor < device.seen_cursor:
        return True
    stale = [c for c in changes if c.seq <= device.acked_seq]
    if pull_cursor == 0 < device.sent_cursor and device.acked_seq and not changes:
        return True  # starts from scratch with nothing to push: a PC reinstalled with its old token
    return any(not _was_applied(db, device.id, c) for c in stale)


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

    `read_only`: the school's satellites (server/satellites.py), whose rows it receives but may not write."""
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
_ABOUT_A_PUPIL = {t.name for t in TABLES if "pupil" in t.key}


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
    pupils: dict[str, list[Change]] = defaultdict(list)
    for c in changes:
        spec = BY_NAME[c.table]
        pupil = _pupil_of(c)
        # A departure is the leaving school's own record (its code is in the key): it may reach the
        # centre after the pupil's new school has taken him over.
        if pupil is not None and c.table != "departures":
            pupils[pupil].append(c)
        row = c.row
        for i in _DATE_COLUMNS.get(c.table, ()) if row is not None else ():
            value = str(row[i]) if row is not None and row[i] is not None else None
            if value is not None and not _FIRST_DATE <= value <= last:
                refusals.refuse(
                    c, "bad_date", f"{c.table}.{spec.columns[i].name} {value} is outside {_FIRST_DATE}..{last}"
                )
    codes = sorted(pupils)
    owners: dict[str, str] = {}
    for start in range(0, len(codes), _CHUNK):
        part = codes[start : start + _CHUNK]
        owners.update(
            db.execute(
                f"SELECT code, school FROM pupils WHERE code IN ({', '.join('?' * len(part))}) AND school != ?",
                [*part, school],
            ).fetchall()
        )
    if not owners:
        return {}, {}
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
    left = _left_before(db, school, [p for p in owners if p not in enrolled], changes)
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


def _left_before(
    db: sqlite_utils.Database, school: str, pupils: Sequence[str], changes: Sequence[Change]
) -> dict[str, int | None]:
    """Pupils this school enrolled who now belong to another school -> the stamp of its departure for
    them (None: not recorded yet). Its changes about such a pupil stamped before its departure are its
    history and apply, whether they reach the centre before or after the new school's arrival; later
    ones are refused (the history is read-only once the school has recorded that he left)."""
    out: dict[str, int | None] = {}
    departures_id = BY_NAME["departures"].wire_id
    for start in range(0, len(pupils), _CHUNK):
        part = list(pupils[start : start + _CHUNK])
        marks = ", ".join("?" * len(part))
        for (pupil,) in db.execute(
            f"SELECT DISTINCT pupil FROM enrolments WHERE school = ? AND pupil IN ({marks})", [school, *part]
        ):
            out[pupil] = None
        for pupil, stamp in db.execute(
            f"SELECT k3, min(hlc) FROM _versions WHERE tbl = ? AND k1 = ? AND k3 IN ({marks}) AND deleted = 0 "
            "GROUP BY k3",
            [departures_id, school, *part],
        ):
            if pupil in out:
                out[pupil] = stamp
    for c in changes:
        if c.table == "departures" and c.row is not None and c.key[2] in out:
            known = out[c.key[2]]
            out[c.key[2]] = c.hlc if known is None else min(known, c.hlc)
    return out


def _json(values: Iterable | None) -> str | None:
    return None if values is None else json.dumps(list(values), ensure_ascii=False)


PERSON_TABLES = ("pupils", "guardians")
"""A pupil's identity and family: one copy, the current school's; it moves with the pupil, and every
school that holds part of the pupil's history keeps receiving it (read-only there)."""
_TRANSFERABLE = set(PERSON_TABLES)
"""What an arriving pupil's new school takes over; the rest of the earlier record stays the old school's."""
_NOT_SHARED_WITH_NEW_SCHOOL = {*PERSON_TABLES, "enrolments"}


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
                if v.school not in (None, school) and not (table in _TRANSFERABLE and _pupil_of(c) in arrivals):
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
            plan.versions.append((wire_id, *slots, school, numbers.take(), stamped, origin, c.seq, c.row is None))
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
    stamps = [c.hlc if c.hlc <= bound else bound for c in group]
    plan.versions.extend(
        (wire_id, *slots, school, sseq, stamped, origin, c.seq, c.row is None)
        for c, slots, sseq, stamped in zip(group, group_slots, numbers.take_many(len(group)), stamps, strict=True)
    )
    upserts = [c.row for c in group if c.row is not None]
    if len(upserts) < len(group):
        plan.deletes[table].extend(c.key for c in group if c.row is None)
    plan.upserts[table].extend(upserts)
    # Only a stamp the server did not clamp moves its clock (see `resolve`).
    plan.newest_hlc = max(plan.newest_hlc, max((c.hlc for c in group if c.hlc <= bound), default=0))


def _write_rows(db: sqlite_utils.Database, plan: Plan, by_seq: dict[int, Change], refusals: Refusals) -> None:
    """Rows of a resolved push; a table the schema refuses is retried row by row to find the bad ones."""
    failed = False
    batches: list[tuple[str, list[tuple], Callable[..., None]]]
    batches = [(t, rows, upsert_rows) for t, rows in plan.upserts.items() if rows]
    batches += [(t, keys, delete_keys) for t, keys in plan.deletes.items() if keys]
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


def write_plan(db: sqlite_utils.Database, plan: Plan, by_seq: dict[int, Change], refusals: Refusals) -> None:
    """Rows, versions, re-issues and conflicts of a resolved push (captured by nobody: already versioned)."""
    _write_rows(db, plan, by_seq, refusals)
    db.conn.executemany(
        "INSERT INTO _versions (tbl, k1, k2, k3, k4, k5, school, sseq, hlc, origin, seq, deleted) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tbl, k1, k2, k3, k4, k5) DO UPDATE SET "
        "school = excluded.school, "
        "sseq = excluded.sseq, hlc = excluded.hlc, origin = excluded.origin, seq = excluded.seq, "
        "deleted = excluded.deleted",
        plan.versions,
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


def _central_version(
    db: sqlite_utils.Database, wire_id: int, slots: Sequence, school: str, numbers: VersionNumbers, server_hlc: int
) -> None:
    """A new version of one record, written on the centre itself (origin `central`)."""
    db.conn.execute("UPDATE _clock SET seq = seq + 1 WHERE id = 1")
    seq = db.execute("SELECT seq FROM _clock WHERE id = 1").fetchone()[0]
    db.conn.execute(
        "INSERT INTO _versions (tbl, k1, k2, k3, k4, k5, school, sseq, hlc, origin, seq, deleted) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0) ON CONFLICT (tbl, k1, k2, k3, k4, k5) DO UPDATE SET "
        "school = excluded.school, "
        "sseq = excluded.sseq, hlc = excluded.hlc, origin = excluded.origin, seq = excluded.seq, deleted = 0",
        [wire_id, *slots, school, numbers.take(), server_hlc, CENTRAL_ORIGIN, seq],
    )


def _share(db: sqlite_utils.Database, school: str, wire_id: int, slots: Sequence, numbers: VersionNumbers) -> None:
    """Another school's record reaches `school` on its next pull, and again after every later version."""
    db.conn.execute(
        f"INSERT INTO _shared (school, tbl, {_KEY_COLS}, sseq) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        f"ON CONFLICT (school, tbl, {_KEY_COLS}) DO UPDATE SET sseq = excluded.sseq",
        [school, wire_id, *slots, numbers.take()],
    )


def _person_keys(db: sqlite_utils.Database, pupil: str) -> list[tuple[int, tuple]]:
    """The versions (wire id, key slots) of a pupil's person records (`PERSON_TABLES`)."""
    out = []
    for name in PERSON_TABLES:
        spec = BY_NAME[name]
        k = 1 if name == "pupils" else spec.key.index("pupil") + 1
        out += [
            (spec.wire_id, tuple(r))
            for r in db.execute(f"SELECT {_KEY_COLS} FROM _versions WHERE tbl = ? AND k{k} = ?", [spec.wire_id, pupil])
        ]
    return out


def share_earlier_record(
    db: sqlite_utils.Database, school: str, arrivals: dict[str, str], numbers: VersionNumbers, server_hlc: int
) -> None:
    """Arriving pupils (code -> the school that had them) become the new school's, by one rule (SPEC 10.4,
    transfers): their person records (`PERSON_TABLES`) move to it as central edits and stay shared with
    every school they left, read-only; the rest of the record other schools hold (marks, absences,
    their enrolments' ends...) stays theirs and is shared with the new school, read-only, except those
    schools' enrolments (the new school has its own). `_shared` copies follow every later version."""
    at = dt.datetime.fromtimestamp(hlc.wall_ms(server_hlc) / 1000, dt.UTC).isoformat(timespec="seconds")
    for pupil, previous in sorted(arrivals.items()):
        year = db.execute(
            "SELECT year FROM enrolments WHERE pupil = ? AND school = ? ORDER BY year DESC", [pupil, school]
        ).fetchone()
        db.conn.execute(
            "INSERT INTO _transfers (pupil, year, from_school, to_school, at) VALUES (?, ?, ?, ?, ?)",
            [pupil, year[0] if year else "", previous, school, at],
        )
        for name in PERSON_TABLES:
            spec = BY_NAME[name]
            column = "code" if name == "pupils" else "pupil"
            keys = db.execute(
                f"SELECT {', '.join(spec.key)} FROM {name} WHERE {column} = ? AND school != ?", [pupil, school]
            ).fetchall()
            with applying_remote(db):
                db.conn.execute(
                    f"UPDATE {name} SET school = ? WHERE {column} = ? AND school != ?", [school, pupil, school]
                )
            for key in keys:
                slots = (*key, *(0,) * (KEY_SLOTS - len(key)))
                _central_version(db, spec.wire_id, slots, school, numbers, server_hlc)
        left = {previous} | {
            r[0]
            for r in db.execute(
                "SELECT from_school FROM _transfers WHERE pupil = ? AND from_school != ?", [pupil, school]
            )
        }
        for earlier in sorted(left - {school}):
            for wire_id, slots in _person_keys(db, pupil):
                _share(db, earlier, wire_id, slots, numbers)
        for spec in TABLES:
            if spec.name not in _ABOUT_A_PUPIL or spec.name in _NOT_SHARED_WITH_NEW_SCHOOL:
                continue
            k = spec.key.index("pupil") + 1
            for slots in db.execute(
                f"SELECT {_KEY_COLS} FROM _versions WHERE tbl = ? AND k{k} = ? AND school IS NOT NULL AND school != ?",
                [spec.wire_id, pupil, school],
            ).fetchall():
                _share(db, school, spec.wire_id, slots, numbers)


def share_later_history(
    db: sqlite_utils.Database, plan: Plan, elsewhere: dict[str, str], numbers: VersionNumbers
) -> None:
    """Records a school wrote about a pupil who has moved on (its history, stamped before it recorded his
    departure) reach his current school too, read-only, as if they had come before the transfer."""
    for version in plan.versions:
        spec = BY_ID[version[0]]
        if spec.name not in _ABOUT_A_PUPIL or spec.name in _NOT_SHARED_WITH_NEW_SCHOOL:
            continue
        owner = elsewhere.get(str(version[1 + spec.key.index("pupil")]))
        if owner is not None:
            _share(db, owner, version[0], version[1 : 1 + KEY_SLOTS], numbers)


def acknowledge(db: sqlite_utils.Database, device: Device, changes: Sequence[Change], pull_cursor: int) -> int:
    new_acked = max(device.acked_seq, max(c.seq for c in changes))
    db.conn.execute(
        "UPDATE _devices SET acked_seq = ?, seen_cursor = max(seen_cursor, ?) WHERE id = ?",
        [new_acked, pull_cursor, device.id],
    )
    return new_acked


def last_of_each_record(changes: Sequence[Change]) -> list[Change]:
    """Of several changes of one record in a push, the last: a delete then an upsert leaves the row."""
    if len(set(zip(map(attrgetter("table"), changes), map(attrgetter("key"), changes), strict=True))) == len(changes):
        return list(changes)  # the usual push: a node's outbox holds one entry per record
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
    if detect_restore(db, device, changes, pull_cursor):
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
    while True:  # a row refused while writing: roll the attempt back, plan again without it
        numbers = VersionNumbers(current_sseq(db))
        kept = last_of_each_record(refusals.keep(fresh))
        plan = resolve(db, device, kept, server_hlc, numbers, refusals, arrivals, bound=bound)
        try:
            with db.atomic():
                write_plan(db, plan, by_seq, refusals)
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
                    share_later_history(db, plan, elsewhere, numbers)
                numbers.store(db)
        except _Replan:
            continue
        break
    return PushResult(
        acknowledge(db, device, fresh, pull_cursor), len(plan.versions), len(plan.conflicts), refusals.all()
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
