"""The satellite schools this node's school hosts (SPEC section 12.2): their rows, read-only here.

Every answer of the centre lists the satellites attached to the school (no list:
none). A satellite is kept in the `schools` table with `parent_school` = this
school, its data's age ("data as of": the satellite's last exchange with the
centre) in the node's settings. A satellite missing from the list was detached:
its rows leave this node, written as received rows are (the capture triggers
stand aside), so the removal is never pushed back as deletes. The record of a
pupil who moved from the satellite to this school stays (a transfer).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import NamedTuple

import sqlite_utils

from domain.pupils import Term
from domain.replication import applying_remote
from protocol.messages import Satellite
from protocol.tables import TABLES

_AS_OF_KEY = "satellites_as_of"


class SatelliteInfo(NamedTuple):
    code: str
    name: str
    name_ar: str | None
    as_of: str | None


def _as_of(db: sqlite_utils.Database) -> dict[str, str | None]:
    row = db.execute("SELECT v FROM _node WHERE k = ?", [_AS_OF_KEY]).fetchone()
    return json.loads(row[0]) if row and row[0] else {}


def hosted(db: sqlite_utils.Database, school: str) -> dict[str, SatelliteInfo]:
    """The satellites this node holds, by code."""
    as_of = _as_of(db)
    return {
        code: SatelliteInfo(code, name, name_ar, as_of.get(code))
        for code, name, name_ar in db.execute(
            "SELECT code, name, name_ar FROM schools WHERE parent_school = ? AND code != ? ORDER BY code",
            [school, school],
        ).fetchall()
    }


def satellite_of_pupil(db: sqlite_utils.Database, school: str, pupil: str) -> SatelliteInfo | None:
    """The satellite a pupil belongs to, if he is a satellite's (read-only here)."""
    row = db.execute("SELECT school FROM pupils WHERE code = ?", [pupil]).fetchone()
    if row is None or row[0] == school:
        return None
    return hosted(db, school).get(row[0])


def term_of_pupil(db: sqlite_utils.Database, term: Term, pupil: str) -> Term:
    """The term a pupil's record is read in here: this school's, or the satellite's he belongs to."""
    satellite = satellite_of_pupil(db, term.school, pupil)
    return Term(satellite.code, term.year) if satellite else term


def apply_satellites(db: sqlite_utils.Database, school: str, listed: Sequence[Satellite]) -> list[str]:
    """Make the node's satellites those of the answer, in the caller's transaction; returns the detached."""
    known = hosted(db, school)
    for s in listed:
        if s.code == school:
            continue  # a server bug must not make the school its own satellite
        db.conn.execute(
            "INSERT INTO schools (code, name, name_ar, parent_school) VALUES (?, ?, ?, ?) ON CONFLICT (code) "
            "DO UPDATE SET name = excluded.name, name_ar = excluded.name_ar, parent_school = excluded.parent_school",
            [s.code, s.name, s.name_ar, school],
        )
    as_of = {s.code: s.as_of for s in listed if s.code != school}
    if as_of != {c: i.as_of for c, i in known.items()}:
        db.conn.execute(
            "INSERT INTO _node (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
            [_AS_OF_KEY, json.dumps(as_of)],
        )
    gone = sorted(set(known) - set(as_of))
    for code in gone:
        _remove(db, school, code)
    return gone


def _remove(db: sqlite_utils.Database, school: str, satellite: str) -> None:
    # A pupil who moved from the satellite to this school keeps his earlier record here.
    ours = "(SELECT code FROM pupils WHERE school = ?)"
    leaving = [r[0] for r in db.execute("SELECT code FROM pupils WHERE school = ?", [satellite]).fetchall()]
    with applying_remote(db):
        for spec in reversed(TABLES):
            if spec.national:
                continue
            if spec.name == "pupils":
                db.conn.execute("DELETE FROM pupils WHERE school = ?", [satellite])
            elif "pupil" in spec.column_names:
                db.conn.execute(
                    f"DELETE FROM {spec.name} WHERE school = ? AND pupil NOT IN {ours}", [satellite, school]
                )
            else:
                db.conn.execute(f"DELETE FROM {spec.name} WHERE school = ?", [satellite])
    # What this node derived for those pupils: parents' logins issued here, their sessions and alerts.
    for start in range(0, len(leaving), 400):
        part = leaving[start : start + 400]
        marks = ", ".join("?" * len(part))
        db.conn.execute(f"DELETE FROM _web_sessions WHERE pupil IN ({marks})", part)
        db.conn.execute(f"DELETE FROM accounts WHERE role = 'parent' AND pupil IN ({marks})", part)
        db.conn.execute(f"DELETE FROM _alerts WHERE pupil IN ({marks})", part)
        db.conn.execute(f"DELETE FROM _average_snapshots WHERE pupil IN ({marks})", part)
    db.conn.execute("UPDATE schools SET parent_school = NULL WHERE code = ?", [satellite])
