"""Applying a node's pushed changes: scoped, idempotent, atomic, conflicts kept.

Rules (the same on every replica because only the server decides):
  * a change whose seq is not above the school's acknowledged seq was
    applied before: skipped (exactly once);
  * its hlc is clamped to the server clock + MAX_SKEW, so a PC clock set
    years ahead cannot make its edits win forever;
  * if the record's current version came from another origin and the
    node's edit was not based on it (base != sseq), the edits are
    concurrent: the greater (hlc, origin) wins, the loser goes to
    `_conflicts`, and a losing incoming edit re-issues the winner with a
    new version number so the node pulls it back.

`apply_push` runs these steps in the caller's write transaction, each a
function of its own: `unapplied` -> `check_scope` / `check_pupils_and_dates`
-> `resolve` (a `Plan` of accepted edits, conflicts and re-issues) ->
`write_plan` -> `check_grade_scales` -> `acknowledge`.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import sqlite_utils

from domain.replication import KEY_SLOTS, applying_remote
from domain.rows import delete_keys, upsert_rows
from protocol import hlc
from protocol.records import Change
from protocol.tables import BY_NAME, TABLES, ColumnType, TableSpec

from .errors import InvalidRow, ScopeViolation
from .versions import current_sseq

_CHUNK = 400
_KEY_COLS = ", ".join(f"k{i}" for i in range(1, KEY_SLOTS + 1))


class Version(NamedTuple):
    """The current version of one record, as `_versions` holds it."""

    school: str | None
    sseq: int
    hlc: int
    origin: str
    seq: int
    deleted: bool


class VersionRow(NamedTuple):
    """One row of `_versions`, in its column order (written as is)."""

    tbl: int
    k1: object
    k2: object
    k3: object
    k4: object
    k5: object
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
    versions: list[VersionRow] = field(default_factory=list)
    reissues: list[Reissue] = field(default_factory=list)
    conflicts: list[ConflictRow] = field(default_factory=list)
    newest_hlc: int = 0


@dataclass(frozen=True)
class PushResult:
    acked_seq: int
    applied: int
    conflicts: int


class VersionNumbers:
    """Hands out the server's version numbers in order; stored once with `store`.

    Safe because the caller holds the write transaction: nobody else takes numbers meanwhile.
    """

    def __init__(self, last: int) -> None:
        self.last = last

    def take(self) -> int:
        self.last += 1
        return self.last

    def store(self, db: sqlite_utils.Database) -> None:
        db.conn.execute("UPDATE _clock SET sseq = ? WHERE id = 1", [self.last])


def acknowledged_seq(db: sqlite_utils.Database, school: str) -> int:
    return db.execute("SELECT acked_seq FROM _schools WHERE code = ?", [school]).fetchone()[0]


def unapplied(changes: Sequence[Change], acked: int) -> list[Change]:
    """The changes not applied before: a seq at or below the acknowledgement was (exactly once)."""
    return [c for c in changes if c.seq > acked]


def existing_versions(db: sqlite_utils.Database, wire_id: int, slots: Sequence[tuple]) -> dict[tuple, Version]:
    """Current versions of these records, keyed by their padded key slots."""
    found: dict[tuple, Version] = {}
    for start in range(0, len(slots), _CHUNK):
        part = slots[start : start + _CHUNK]
        values = ", ".join(["(" + ", ".join("?" * KEY_SLOTS) + ")"] * len(part))
        sql = (
            f"SELECT {_KEY_COLS}, school, sseq, hlc, origin, seq, deleted FROM _versions "
            f"WHERE tbl = ? AND ({_KEY_COLS}) IN (VALUES {values})"
        )
        params: list = [wire_id]
        for p in part:
            params.extend(p)
        for r in db.execute(sql, params).fetchall():
            found[tuple(r[:KEY_SLOTS])] = Version(r[5], r[6], r[7], r[8], r[9], bool(r[10]))
    return found


def _current_row(db: sqlite_utils.Database, table: str, key: tuple) -> list | None:
    spec = BY_NAME[table]
    where = " AND ".join(f"{k} = ?" for k in spec.key)
    row = db.execute(f"SELECT {', '.join(spec.column_names)} FROM {table} WHERE {where}", list(key)).fetchone()
    return None if row is None else list(row)


def check_scope(school: str, changes: Sequence[Change]) -> None:
    """One row outside the school's scope refuses the whole push, before anything is written."""
    owner_index: dict[str, int] = {}
    for c in changes:
        index = owner_index.get(c.table)
        if index is None:
            spec = BY_NAME[c.table]
            if spec.national:
                raise ScopeViolation(f"{c.table} is published by the centre; a school cannot write it")
            index = owner_index[c.table] = spec.column_names.index("school")
        if c.origin != school:
            raise ScopeViolation(f"change from origin {c.origin!r} in a push by {school}")
        if c.row is not None and c.row[index] != school:
            raise ScopeViolation(f"{c.table} row {list(c.key)} belongs to school {c.row[index]!r}, not {school}")


# Dates a school records (births, absences, incidents, decisions) lie between 1900 and today.
_FIRST_DATE = "1900-01-01"
_DATE_COLUMNS = {
    t.name: [i for i, c in enumerate(t.columns) if c.type is ColumnType.DATE] for t in TABLES if not t.national
}
_ABOUT_A_PUPIL = {t.name for t in TABLES if "pupil" in t.key}


def check_pupils_and_dates(db: sqlite_utils.Database, school: str, changes: Sequence[Change], today: dt.date) -> None:
    """Before anything is written: no row about another school's pupil, no date outside 1900..today.

    A pupil unknown to the centre is allowed (its roster row may come in a later chunk).
    """
    last = (today + dt.timedelta(days=1)).isoformat()  # a day of time-zone slack
    pupils: set[str] = set()
    for c in changes:
        spec = BY_NAME[c.table]
        if c.table in _ABOUT_A_PUPIL:
            pupils.add(c.key[spec.key.index("pupil")])
        for i in _DATE_COLUMNS.get(c.table, ()) if c.row is not None else ():
            value = c.row[i]
            if value is not None and not _FIRST_DATE <= value <= last:
                raise InvalidRow(f"{c.table}.{spec.columns[i].name} {value} is outside {_FIRST_DATE}..{last}")
    codes = sorted(pupils)
    for start in range(0, len(codes), _CHUNK):
        part = codes[start : start + _CHUNK]
        foreign = db.execute(
            f"SELECT code, school FROM pupils WHERE code IN ({', '.join('?' * len(part))}) AND school != ? LIMIT 1",
            [*part, school],
        ).fetchone()
        if foreign:
            raise ScopeViolation(f"pupil {foreign[0]} belongs to school {foreign[1]}, not {school}")


def _json(values: Iterable | None) -> str | None:
    return None if values is None else json.dumps(list(values), ensure_ascii=False)


class Lookups(NamedTuple):
    """How `resolve` reads the store it decides for (SQLite here, PostgreSQL in server/pg/ingest.py)."""

    # a table's records' current versions, keyed by their key slots
    versions: Callable[[TableSpec, list[tuple]], dict[tuple, Version]]
    # a record's row as stored now (the losing side of a conflict), or None
    row: Callable[[str, tuple], list | None]
    # a record's key as `_versions` stores it
    slots: Callable[[TableSpec, tuple], tuple]


def sqlite_lookups(db: sqlite_utils.Database) -> Lookups:
    return Lookups(
        versions=lambda spec, slots: existing_versions(db, spec.wire_id, slots),
        row=lambda table, key: _current_row(db, table, key),
        slots=lambda spec, key: key + (0,) * (KEY_SLOTS - len(spec.key)),
    )


def resolve(
    db: sqlite_utils.Database | Lookups,
    school: str,
    changes: Sequence[Change],
    server_hlc: int,
    numbers: VersionNumbers,
) -> Plan:
    """Decide every change: a new version (its row written), or the loser of a conflict (kept aside).

    Reads nothing but through `Lookups`, so both backends decide alike."""
    look = db if isinstance(db, Lookups) else sqlite_lookups(db)
    plan = Plan()
    bound = hlc.skew_bound(server_hlc)  # hlc.clamp, hoisted out of the loop
    at = dt.datetime.fromtimestamp(hlc.wall_ms(server_hlc) / 1000, dt.UTC).isoformat(timespec="seconds")
    by_table: dict[str, list[Change]] = defaultdict(list)
    for c in changes:
        by_table[c.table].append(c)
    for table, group in by_table.items():
        spec = BY_NAME[table]
        wire_id = spec.wire_id
        group_slots = [look.slots(spec, c.key) for c in group]
        current = look.versions(spec, group_slots)
        upserts, deletes = plan.upserts[table], plan.deletes[table]
        for c, slots in zip(group, group_slots, strict=True):
            v = current.get(slots)
            stamped = c.hlc if c.hlc <= bound else bound
            if v is not None:
                if v.school not in (None, school):
                    raise ScopeViolation(f"{table} {list(c.key)} belongs to school {v.school}")
                if v.origin != school and c.base != v.sseq:
                    # Concurrent edits: the greater (hlc, origin) wins, the loser is kept.
                    record = _json(c.key) or "[]"
                    if (stamped, school) <= (v.hlc, v.origin):
                        plan.reissues.append(Reissue(numbers.take(), wire_id, *slots))
                        plan.conflicts.append(
                            ConflictRow(
                                table, record, school, v.origin, v.hlc, school, stamped, c.seq, _json(c.row), at
                            )
                        )
                        continue
                    lost = None if v.deleted else look.row(table, c.key)
                    plan.conflicts.append(
                        ConflictRow(table, record, school, school, stamped, v.origin, v.hlc, v.seq, _json(lost), at)
                    )
            deleted = c.row is None
            version = VersionRow(wire_id, *slots, school, numbers.take(), stamped, school, c.seq, deleted)
            plan.versions.append(version)
            if deleted:
                deletes.append(c.key)
            else:
                upserts.append(c.row)
            if stamped > plan.newest_hlc:
                plan.newest_hlc = stamped
            current[slots] = Version(school, version.sseq, stamped, school, c.seq, deleted)
    return plan


def write_plan(db: sqlite_utils.Database, plan: Plan) -> None:
    """Rows, versions, re-issues and conflicts of a resolved push (captured by nobody: already versioned)."""
    try:
        with applying_remote(db):
            for table, rows in plan.upserts.items():
                if rows:
                    upsert_rows(db, table, rows)
            for table, keys in plan.deletes.items():
                if keys:
                    delete_keys(db, table, keys)
    except sqlite3.IntegrityError as exc:
        raise InvalidRow(f"a pushed row breaks the schema: {exc}") from exc
    db.conn.executemany(
        "INSERT INTO _versions (tbl, k1, k2, k3, k4, k5, school, sseq, hlc, origin, seq, deleted) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET school = excluded.school, "
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


def acknowledge(db: sqlite_utils.Database, school: str, acked: int, changes: Sequence[Change]) -> int:
    new_acked = max(acked, max(c.seq for c in changes))
    db.conn.execute("UPDATE _schools SET acked_seq = ? WHERE code = ?", [new_acked, school])
    return new_acked


def apply_push(db: sqlite_utils.Database, school: str, changes: Sequence[Change], server_hlc: int) -> PushResult:
    """Apply in the caller's write transaction; returns the new acknowledgement."""
    acked = acknowledged_seq(db, school)
    fresh = unapplied(changes, acked)
    if not fresh:
        return PushResult(acked, 0, 0)
    check_scope(school, fresh)
    today = dt.datetime.fromtimestamp(hlc.wall_ms(server_hlc) / 1000, dt.UTC).date()
    check_pupils_and_dates(db, school, fresh, today)
    numbers = VersionNumbers(current_sseq(db))
    plan = resolve(db, school, fresh, server_hlc, numbers)
    numbers.store(db)
    write_plan(db, plan)
    if plan.upserts.get("grades"):
        check_grade_scales(db, plan.upserts["grades"])
    return PushResult(acknowledge(db, school, acked, fresh), len(plan.versions), len(plan.conflicts))


def check_grade_scales(db: sqlite_utils.Database, rows: Sequence[tuple]) -> None:
    """A mark must fit its class's scale (/10 in primary), not only the table's 0..20.

    Only marks above 10 can break a scale, so only their pupils' classes are looked up.
    """
    spec = BY_NAME["grades"]
    year_i, pupil_i, score_i = (spec.column_names.index(c) for c in ("year", "pupil", "score"))
    suspects = {(r[year_i], r[pupil_i]): r for r in rows if r[score_i] is not None and r[score_i] > 1000}
    keys = list(suspects)
    for start in range(0, len(keys), _CHUNK):
        part = keys[start : start + _CHUNK]
        values = ", ".join(["(?, ?)"] * len(part))
        bad = db.execute(
            "SELECT e.year, e.pupil, l.scale FROM enrolments e "
            "JOIN classes c ON c.school = e.school AND c.year = e.year AND c.code = e.class "
            f"JOIN levels l ON l.code = c.level WHERE (e.year, e.pupil) IN (VALUES {values}) AND l.scale * 100 < 2000",
            [v for k in part for v in k],
        ).fetchall()
        for year, pupil, scale in bad:
            row = suspects[(year, pupil)]
            raise InvalidRow(
                f"score {row[score_i] / 100} of {pupil} in {row[spec.column_names.index('subject')]} "
                f"is out of the scale 0-{scale}"
            )
