"""Satellite schools (فرعيات) read at their host school's terminal (SPEC section 12.2).

A satellite has no PC of its own worth the name; its parents read at the host
school. `attach` makes the host's devices receive the satellite's rows
read-only: those the centre has now are shared with the host under new version
numbers (`_shared`, as a transfer shares a pupil's earlier record), later ones
reach it from the satellite's own versions (pull.py). A host's write to them is
refused row by row (`satellite_read_only`, ingest.py). `detach` stops that; the
host's devices drop their copy on their next sync, from the list of satellites
every answer carries (an empty list is no field at all).
"""

from __future__ import annotations

import sqlite_utils

from domain.clock import SYSTEM_CLOCK, Clock, iso_now
from domain.codes import check_school_code
from domain.database import write_transaction
from domain.errors import Conflict, InvalidInput, NotFound
from domain.replication import KEY_SLOTS
from protocol.messages import Satellite
from protocol.tables import TABLES

from .versions import current_sseq

_KEY_COLS = ", ".join(f"k{i}" for i in range(1, KEY_SLOTS + 1))
_SAME_RECORD = " AND ".join(f"v.k{i} = _shared.k{i}" for i in range(1, KEY_SLOTS + 1))


def _registered(db: sqlite_utils.Database, code: str) -> None:
    if not db.execute("SELECT 1 FROM _schools WHERE code = ?", [code]).fetchone():
        raise NotFound(f"unknown school {code}: add it first with `massar server add-school`", code="unknown_school")


def host_of(db: sqlite_utils.Database, school: str) -> str | None:
    row = db.execute("SELECT host FROM _satellites WHERE code = ?", [school]).fetchone()
    return None if row is None else str(row[0])


def attach(db: sqlite_utils.Database, satellite: str, host: str, *, clock: Clock = SYSTEM_CLOCK) -> dict:
    """Attach `satellite` to `host`; returns what was done (`shared`: records queued for the host)."""
    satellite, host = check_school_code(satellite), check_school_code(host)
    if satellite == host:
        raise InvalidInput(f"a school cannot be its own satellite ({satellite})", code="same_school")
    with write_transaction(db):
        _registered(db, satellite)
        _registered(db, host)
        current = host_of(db, satellite)
        if current == host:
            return {"satellite": satellite, "host": host, "attached": True, "changed": False, "shared": 0}
        if current is not None:
            raise Conflict(
                f"{satellite} is attached to {current}: detach it first (`massar server detach --school {satellite}`)",
                code="already_attached",
            )
        if host_of(db, host) is not None:
            raise InvalidInput(f"{host} is itself a satellite school: it cannot host one", code="host_is_satellite")
        if db.execute("SELECT 1 FROM _satellites WHERE host = ?", [satellite]).fetchone():
            raise InvalidInput(f"{satellite} hosts satellite schools: it cannot be one", code="satellite_is_host")
        head = current_sseq(db)
        # Every record the centre holds of the satellite, numbered after everything the host pulled.
        shared = db.conn.execute(
            f"INSERT INTO _shared (school, tbl, {_KEY_COLS}, sseq) "
            f"SELECT ?, tbl, {_KEY_COLS}, ? + ROW_NUMBER() OVER (ORDER BY sseq) FROM _versions "
            "WHERE school = ? AND NOT deleted ORDER BY sseq "
            "ON CONFLICT DO UPDATE SET sseq = excluded.sseq",
            [host, head, satellite],
        ).rowcount
        since = head + max(shared, 0)
        db.conn.execute("UPDATE _clock SET sseq = ? WHERE id = 1", [since])
        db.conn.execute(
            "INSERT INTO _satellites (code, host, since_sseq, attached_at) VALUES (?, ?, ?, ?)",
            [satellite, host, since, iso_now(clock)],
        )
        db.conn.execute("UPDATE schools SET parent_school = ? WHERE code = ?", [host, satellite])
    return {"satellite": satellite, "host": host, "attached": True, "changed": True, "shared": shared}


def detach(db: sqlite_utils.Database, satellite: str) -> dict:
    """Undo `attach`; the host's devices remove their copy on their next sync."""
    satellite = check_school_code(satellite)
    with write_transaction(db):
        _registered(db, satellite)
        host = host_of(db, satellite)
        if host is None:
            return {"satellite": satellite, "host": None, "attached": False, "changed": False, "unshared": 0}
        unshared = 0
        for spec in TABLES:
            if spec.national:
                continue
            # A pupil who moved from the satellite to the host keeps his earlier record there (a transfer).
            moved = ""
            if "pupil" in spec.key:
                k = spec.key.index("pupil") + 1
                moved = (
                    f" AND _shared.k{k} NOT IN (SELECT pupil FROM _transfers WHERE from_school = ? AND to_school = ?)"
                )
            unshared += db.conn.execute(
                f"DELETE FROM _shared WHERE school = ? AND tbl = ? AND EXISTS (SELECT 1 FROM _versions v "
                f"WHERE v.tbl = _shared.tbl AND {_SAME_RECORD} AND v.school = ?){moved}",
                [host, spec.wire_id, satellite, *([satellite, host] if moved else [])],
            ).rowcount
        db.conn.execute("DELETE FROM _satellites WHERE code = ?", [satellite])
        db.conn.execute("UPDATE schools SET parent_school = NULL WHERE code = ?", [satellite])
    return {"satellite": satellite, "host": host, "attached": False, "changed": True, "unshared": unshared}


def satellites_of(db: sqlite_utils.Database, host: str) -> tuple[Satellite, ...]:
    """The satellites attached to `host`, each with its last exchange with the centre (its data's age)."""
    return tuple(
        Satellite(code, name, name_ar, as_of)
        for code, name, name_ar, as_of in db.execute(
            "SELECT a.code, s.name, d.name_ar, (SELECT MAX(last_sync) FROM _devices WHERE school = a.code) "
            "FROM _satellites a JOIN _schools s ON s.code = a.code LEFT JOIN schools d ON d.code = a.code "
            "WHERE a.host = ? ORDER BY a.code",
            [host],
        ).fetchall()
    )


def read_only_schools(db: sqlite_utils.Database, host: str) -> frozenset[str]:
    return frozenset(r[0] for r in db.execute("SELECT code FROM _satellites WHERE host = ?", [host]).fetchall())
