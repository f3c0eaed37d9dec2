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
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import sqlite_utils

from domain.rows import delete_keys, upsert_rows
from protocol import hlc as hlc_clock
from protocol.records import Change
from protocol.tables import BY_NAME, TABLES, ColumnType

from .errors import InvalidRow, ScopeViolation
from .store import KEY_SLOTS
from .versions import current_sseq

_CHUNK = 400


class Version(NamedTuple):
    school: str | None
    sseq: int
    hlc: int
    origin: str
    seq: int
    deleted: bool


@dataclass(frozen=True)
class PushResult:
    acked_seq: int
    applied: int
    conflicts: int


def _existing_versions(db: sqlite_utils.Database, wire_id: int, slots: Sequence[tuple]) -> dict[tuple, Version]:
    """Current versions of these records, keyed by their padded key slots."""
    found: dict[tuple, Version] = {}
    cols = ", ".join(f"k{i}" for i in range(1, KEY_SLOTS + 1))
    for start in range(0, len(slots), _CHUNK):
        part = slots[start : start + _CHUNK]
        values = ", ".join(["(" + ", ".join("?" * KEY_SLOTS) + ")"] * len(part))
        sql = (
            f"SELECT {cols}, school, sseq, hlc, origin, seq, deleted FROM _versions "
            f"WHERE tbl = ? AND ({cols}) IN (VALUES {values})"
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


def check_pupils_and_dates(db: sqlite_utils.Database, school: str, changes: Sequence[Change]) -> None:
    """Before anything is written: no row about another school's pupil, no date outside 1900..today.

    A pupil unknown to the centre is allowed (its roster row may come in a later chunk).
    """
    last = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)).isoformat()  # a day of time-zone slack
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


def apply_push(db: sqlite_utils.Database, school: str, changes: Sequence[Change], server_hlc: int) -> PushResult:
    """Apply in the caller's write transaction; returns the new acknowledgement."""
    acked = db.execute("SELECT acked_seq FROM _schools WHERE code = ?", [school]).fetchone()[0]
    fresh = [c for c in changes if c.seq > acked]
    if not fresh:
        return PushResult(acked, 0, 0)
    check_scope(school, fresh)
    check_pupils_and_dates(db, school, fresh)
    by_table: dict[str, list[Change]] = defaultdict(list)
    for c in fresh:
        by_table[c.table].append(c)

    # Version numbers are handed out in this loop and the counter stored once at the end
    # (we hold the write lock, so nobody else can take the same numbers).
    next_sseq = current_sseq(db) + 1
    version_rows: list[tuple] = []
    upserts: dict[str, list] = defaultdict(list)
    deletes: dict[str, list] = defaultdict(list)
    rebump: list[tuple] = []
    conflicts: list[tuple] = []
    newest = 0
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    bound = server_hlc + hlc_clock.MAX_SKEW  # hlc.clamp, hoisted out of the loop

    def record(c: Change) -> str:
        return json.dumps(list(c.key), ensure_ascii=False)

    for table, group in by_table.items():
        spec = BY_NAME[table]
        wire_id = spec.wire_id
        pad = (0,) * (KEY_SLOTS - len(spec.key))
        group_slots = [c.key + pad for c in group]
        existing = _existing_versions(db, wire_id, group_slots)
        table_upserts, table_deletes = upserts[table], deletes[table]
        for c, slots in zip(group, group_slots, strict=True):
            v = existing.get(slots)
            stamped = c.hlc if c.hlc <= bound else bound
            if v is not None:
                if v.school not in (None, school):
                    raise ScopeViolation(f"{table} {list(c.key)} belongs to school {v.school}")
                if v.origin != school and c.base != v.sseq:
                    # Concurrent edits: the greater (hlc, origin) wins, the loser is kept.
                    if (stamped, school) > (v.hlc, v.origin):
                        lost = None if v.deleted else _current_row(db, table, c.key)
                        conflicts.append(
                            (
                                table,
                                record(c),
                                school,
                                school,
                                stamped,
                                v.origin,
                                v.hlc,
                                v.seq,
                                None if lost is None else json.dumps(lost, ensure_ascii=False),
                                now,
                            )
                        )
                    else:
                        rebump.append((next_sseq, wire_id, *slots))
                        next_sseq += 1
                        conflicts.append(
                            (
                                table,
                                record(c),
                                school,
                                v.origin,
                                v.hlc,
                                school,
                                stamped,
                                c.seq,
                                None if c.row is None else json.dumps(list(c.row), ensure_ascii=False),
                                now,
                            )
                        )
                        continue
            deleted = c.row is None
            version_rows.append((wire_id, *slots, school, next_sseq, stamped, school, c.seq, deleted))
            next_sseq += 1
            if deleted:
                table_deletes.append(c.key)
            else:
                table_upserts.append(c.row)
            if stamped > newest:
                newest = stamped
            existing[slots] = Version(school, 0, stamped, school, c.seq, deleted)
    db.conn.execute("UPDATE _clock SET sseq = ? WHERE id = 1", [next_sseq - 1])
    db.conn.execute("UPDATE _clock SET applying = 1 WHERE id = 1")
    try:
        for table, rows in upserts.items():
            if rows:
                upsert_rows(db, table, rows)
        for table, keys in deletes.items():
            if keys:
                delete_keys(db, table, keys)
    except sqlite3.IntegrityError as exc:
        raise InvalidRow(f"a pushed row breaks the schema: {exc}") from exc
    finally:
        db.conn.execute("UPDATE _clock SET applying = 0 WHERE id = 1")
    db.conn.executemany(
        "INSERT INTO _versions (tbl, k1, k2, k3, k4, k5, school, sseq, hlc, origin, seq, deleted) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET school = excluded.school, "
        "sseq = excluded.sseq, hlc = excluded.hlc, origin = excluded.origin, seq = excluded.seq, "
        "deleted = excluded.deleted",
        version_rows,
    )
    db.conn.executemany(
        "UPDATE _versions SET sseq = ? WHERE tbl = ? AND k1 = ? AND k2 = ? AND k3 = ? AND k4 = ? AND k5 = ?",
        rebump,
    )
    db.conn.executemany(
        "INSERT INTO _conflicts (tbl, record, school, winner_origin, winner_hlc, loser_origin, loser_hlc, loser_seq, "
        "loser_row, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        conflicts,
    )
    if upserts.get("grades"):
        _check_grade_scales(db, upserts["grades"])
    if newest:
        # The server's clock must not fall behind a version it stores, or its own next
        # correction of that record would carry an older stamp than the version it replaces.
        db.conn.execute("UPDATE _clock SET hlc = max(hlc, ?) WHERE id = 1", [newest])
    new_acked = max(c.seq for c in fresh)
    db.conn.execute("UPDATE _schools SET acked_seq = ? WHERE code = ?", [max(acked, new_acked), school])
    return PushResult(max(acked, new_acked), len(version_rows), len(conflicts))


def _check_grade_scales(db: sqlite_utils.Database, rows: Sequence[tuple]) -> None:
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
