"""Pupils who move: a transfer's takeover of the person records, and the record shared with every school
it concerns (SPEC 10.4), as steps of a push (server/ingest.py) in its write transaction.

  * an arrival (a new enrolment of a pupil the centre has at another school) moves the pupil's person
    records (`PERSON_TABLES`) to the new school as central edits; they stay shared, read-only, with
    every school he left (`share_earlier_record`);
  * the rest of the record other schools hold of him stays theirs and is shared with the new school,
    read-only; so is what the school he left writes later about his time there (`share_later_history`);
  * a school's changes about a pupil who has moved on apply while stamped before it recorded his
    departure (`left_before`): its history, whichever reaches the centre first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlite_utils

from domain.replication import CENTRAL_ORIGIN, KEY_SLOTS, applying_remote
from protocol import hlc
from protocol.records import Change
from protocol.tables import BY_ID, BY_NAME, TABLES

from .versions import VersionNumbers

_CHUNK = 400
_KEY_COLS = ", ".join(f"k{i}" for i in range(1, KEY_SLOTS + 1))
_ABOUT_A_PUPIL = {t.name for t in TABLES if "pupil" in t.key}

PERSON_TABLES = ("pupils", "guardians")
"""A pupil's identity and family: one copy, the current school's; it moves with the pupil, and every
school that holds part of the pupil's history keeps receiving it (read-only there)."""
TRANSFERABLE = set(PERSON_TABLES)
"""What an arriving pupil's new school takes over; the rest of the earlier record stays the old school's."""
_NOT_SHARED_WITH_NEW_SCHOOL = {*PERSON_TABLES, "enrolments"}


def left_before(
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
    db: sqlite_utils.Database, versions: Sequence[tuple], elsewhere: dict[str, str], numbers: VersionNumbers
) -> None:
    """Records a school wrote about a pupil who has moved on (its history, stamped before it recorded his
    departure) reach his current school too, read-only, as if they had come before the transfer."""
    for version in versions:
        spec = BY_ID[version[0]]
        if spec.name not in _ABOUT_A_PUPIL or spec.name in _NOT_SHARED_WITH_NEW_SCHOOL:
            continue
        owner = elsewhere.get(str(version[1 + spec.key.index("pupil")]))
        if owner is not None:
            _share(db, owner, version[0], version[1 : 1 + KEY_SLOTS], numbers)
