"""Replication SQL written once for the school node and the central server.

Both replicas keep a one-row `_clock` (sequence counter and hybrid logical
clock) and capture every write of a synced table with SQL triggers, in the same
transaction as the data. They differ only in where a captured edit goes: the
node queues it in `_outbox` for its next push, the centre records a new version
in `_versions` for the nodes' next pull. Everything here is built from
`protocol.tables` and `protocol.hlc`, so a new table or a new clock layout
changes both sides at once.

The triggers read the wall clock through `massar_now_ms()`, the injected clock
that `domain.database.open_database` registers on every connection; a
connection without it (a bare sqlite3 shell) cannot write a synced table
rather than write one uncaptured or stamped with another clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum

import sqlite_utils

from protocol import hlc
from protocol.tables import TABLES, TableSpec

from .database import NOW_MS_FUNCTION, execute_script
from .year_schema import shaped_as_registered

KEY_SLOTS = 5
"""Key columns k1..k5 of `_versions`; unused slots hold 0."""
CENTRAL_ORIGIN = "central"
_HLC_UNIT = 1 << hlc.COUNTER_BITS


class Side(StrEnum):
    NODE = "node"
    CENTRAL = "central"


NODE_BOOKKEEPING = """
CREATE TABLE _node (k TEXT PRIMARY KEY, v);
-- One row: the node's sequence counter, its hybrid logical clock, the offset
-- of the local wall clock to the server's, and a flag set while applying
-- changes received from the server (those must not be captured again).
CREATE TABLE _clock (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL DEFAULT 0,
    hlc INTEGER NOT NULL DEFAULT 0,
    offset_ms INTEGER NOT NULL DEFAULT 0,
    applying INTEGER NOT NULL DEFAULT 0
);
INSERT INTO _clock (id) VALUES (1);
-- Records changed locally and not yet acknowledged by the server.
CREATE TABLE _outbox (
    tbl INTEGER NOT NULL,
    pk TEXT NOT NULL,
    seq INTEGER NOT NULL,
    hlc INTEGER NOT NULL,
    PRIMARY KEY (tbl, pk)
);
CREATE UNIQUE INDEX _outbox_by_seq ON _outbox (seq);
-- The server's version number of each record as last received: sent back as
-- the base of a local edit so the server can tell concurrent edits apart.
CREATE TABLE _base (
    tbl INTEGER NOT NULL,
    pk TEXT NOT NULL,
    sseq INTEGER NOT NULL,
    PRIMARY KEY (tbl, pk)
);
-- Local edits that lost against a newer server version while still pending.
CREATE TABLE _conflicts (
    id INTEGER PRIMARY KEY,
    tbl TEXT NOT NULL,
    pk TEXT NOT NULL,
    lost_row TEXT,
    lost_hlc INTEGER NOT NULL,
    won_origin TEXT NOT NULL,
    won_hlc INTEGER NOT NULL,
    at TEXT NOT NULL
);
"""

CENTRAL_BOOKKEEPING = """
CREATE TABLE _clock (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    sseq INTEGER NOT NULL DEFAULT 0,
    seq INTEGER NOT NULL DEFAULT 0,
    hlc INTEGER NOT NULL DEFAULT 0,
    applying INTEGER NOT NULL DEFAULT 0
);
INSERT INTO _clock (id) VALUES (1);
CREATE TABLE _schools (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    node_key TEXT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0,
    last_counter INTEGER NOT NULL DEFAULT 0,
    acked_seq INTEGER NOT NULL DEFAULT 0,
    pull_cursor INTEGER NOT NULL DEFAULT 0,
    last_sync TEXT,
    last_error TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE _versions (
    tbl INTEGER NOT NULL,
    k1 NOT NULL, k2 NOT NULL, k3 NOT NULL, k4 NOT NULL, k5 NOT NULL,
    school TEXT,
    sseq INTEGER NOT NULL,
    hlc INTEGER NOT NULL,
    origin TEXT NOT NULL,
    seq INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tbl, k1, k2, k3, k4, k5)
) WITHOUT ROWID;
CREATE UNIQUE INDEX _versions_by_sseq ON _versions (sseq);
CREATE INDEX _versions_by_school ON _versions (school, sseq);
-- The losing side of every concurrent edit, kept and visible.
CREATE TABLE _conflicts (
    id INTEGER PRIMARY KEY,
    tbl TEXT NOT NULL,
    record TEXT NOT NULL,
    school TEXT,
    winner_origin TEXT NOT NULL,
    winner_hlc INTEGER NOT NULL,
    loser_origin TEXT NOT NULL,
    loser_hlc INTEGER NOT NULL,
    loser_seq INTEGER NOT NULL,
    loser_row TEXT,
    at TEXT NOT NULL
);
CREATE INDEX _conflicts_by_school ON _conflicts (school);
"""


def tick_sql(side: Side) -> str:
    """One local event: next sequence number (and version number on the centre), HLC tick.

    The HLC rule of protocol/hlc.py `tick`, in SQL: after the last value and not
    before now (the node's now corrected by its learned offset to the server).
    """
    now = f"{NOW_MS_FUNCTION}()" + (" + offset_ms" if side is Side.NODE else "")
    sseq = "sseq = sseq + 1, " if side is Side.CENTRAL else ""
    return f"UPDATE _clock SET {sseq}seq = seq + 1, hlc = max(hlc + 1, ({now}) * {_HLC_UNIT}) WHERE id = 1;"


def _key_slots(spec: TableSpec, ref: str) -> str:
    return ", ".join([f"{ref}.{k}" for k in spec.key] + ["0"] * (KEY_SLOTS - len(spec.key)))


def _record(side: Side, spec: TableSpec, ref: str, deleted: int) -> str:
    """Where one captured edit goes: the node's outbox, or a new version on the centre."""
    if side is Side.NODE:
        key = ", ".join(f"{ref}.{k}" for k in spec.key)
        return (
            f"INSERT INTO _outbox (tbl, pk, seq, hlc) SELECT {spec.wire_id}, json_array({key}), seq, hlc FROM _clock"
            " WHERE true ON CONFLICT (tbl, pk) DO UPDATE SET seq = excluded.seq, hlc = excluded.hlc;"
        )
    school = "NULL" if spec.national else f"{ref}.school"
    return (
        "INSERT INTO _versions (tbl, k1, k2, k3, k4, k5, school, sseq, hlc, origin, seq, deleted) "
        f"SELECT {spec.wire_id}, {_key_slots(spec, ref)}, {school}, sseq, hlc, '{CENTRAL_ORIGIN}', seq, {deleted} "
        "FROM _clock WHERE true ON CONFLICT DO UPDATE SET school = excluded.school, sseq = excluded.sseq, "
        "hlc = excluded.hlc, origin = excluded.origin, seq = excluded.seq, deleted = excluded.deleted;"
    )


_EVENTS = ("insert", "update", "rekey", "delete")


def _trigger_name(side: Side, spec: TableSpec, event: str) -> str:
    return f"{'_capture' if side is Side.NODE else '_central'}_{spec.name}_{event}"


def captured_tables(side: Side) -> tuple[TableSpec, ...]:
    """Nodes capture what they own; the centre also captures the national tables it publishes."""
    return tuple(t for t in TABLES if side is Side.CENTRAL or not t.national)


def capture_triggers(side: Side, spec: TableSpec) -> str:
    live = "(SELECT applying FROM _clock) = 0"
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in spec.column_names)
    key_changed = " OR ".join(f"OLD.{k} IS NOT NEW.{k}" for k in spec.key)
    tick = tick_sql(side)
    when = {
        "insert": ("AFTER INSERT", live, "NEW", 0),
        "update": ("AFTER UPDATE", f"{live} AND ({changed})", "NEW", 0),
        # A changed key (a provisional pupil code replaced) is a delete of the old key.
        "rekey": ("AFTER UPDATE", f"{live} AND ({key_changed})", "OLD", 1),
        "delete": ("AFTER DELETE", live, "OLD", 1),
    }
    return "".join(
        f"CREATE TRIGGER {_trigger_name(side, spec, event)} {timing} ON {spec.name} WHEN {condition}\n"
        f"BEGIN\n  {tick}\n  {_record(side, spec, ref, deleted)}\nEND;\n"
        for event, (timing, condition, ref, deleted) in when.items()
    )


def install_capture(db: sqlite_utils.Database, side: Side) -> None:
    """(Re)create the capture triggers of `side`: the same statement for a new file and an upgrade.
    A table a later step creates or reshapes is left to that step (which calls this again)."""
    for spec in captured_tables(side):
        if not shaped_as_registered(db, spec):
            continue
        for event in _EVENTS:
            db.conn.execute(f"DROP TRIGGER IF EXISTS {_trigger_name(side, spec, event)}")
        execute_script(db, capture_triggers(side, spec))


def install_node_bookkeeping(db: sqlite_utils.Database) -> None:
    execute_script(db, NODE_BOOKKEEPING)
    install_capture(db, Side.NODE)


def install_central_bookkeeping(db: sqlite_utils.Database) -> None:
    execute_script(db, CENTRAL_BOOKKEEPING)
    install_capture(db, Side.CENTRAL)


def drop_sseq_index(db: sqlite_utils.Database) -> None:
    """No query looks versions up by sseq alone (pulls use the (school, sseq) index),
    and its upkeep was a quarter of the cost of storing a version."""
    db.conn.execute("DROP INDEX IF EXISTS _versions_by_sseq")


DEVICES_SQL = """
-- Every device of a school is its own origin: its own sequence numbers, token and sync state.
-- A school's first device is named by the school's code (the tokens issued before devices existed).
CREATE TABLE _devices (
    id TEXT PRIMARY KEY,
    school TEXT NOT NULL,
    name TEXT NOT NULL,
    node_key TEXT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0,
    last_counter INTEGER NOT NULL DEFAULT 0,
    acked_seq INTEGER NOT NULL DEFAULT 0,
    -- the page cursor last sent, and the highest cursor the device has sent back
    pull_cursor INTEGER NOT NULL DEFAULT 0,
    seen_cursor INTEGER NOT NULL DEFAULT 0,
    -- after a restore: the device's own versions numbered up to here come back in its pulls
    restore_floor INTEGER NOT NULL DEFAULT 0,
    last_sync TEXT,
    last_error TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX _devices_by_school ON _devices (school);
INSERT INTO _devices (id, school, name, node_key, revoked, last_counter, acked_seq, pull_cursor, last_sync,
                      last_error, created_at)
    SELECT code, code, 'first device', node_key, revoked, last_counter, acked_seq, pull_cursor, last_sync,
           last_error, created_at FROM _schools;
ALTER TABLE _schools DROP COLUMN node_key;
ALTER TABLE _schools DROP COLUMN revoked;
ALTER TABLE _schools DROP COLUMN last_counter;
ALTER TABLE _schools DROP COLUMN acked_seq;
ALTER TABLE _schools DROP COLUMN pull_cursor;
ALTER TABLE _schools DROP COLUMN last_sync;
ALTER TABLE _schools DROP COLUMN last_error;
-- Which school a pupil moved to, when the centre accepted the arrival.
CREATE TABLE _transfers (
    id INTEGER PRIMARY KEY,
    pupil TEXT NOT NULL,
    year TEXT NOT NULL,
    from_school TEXT NOT NULL,
    to_school TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX _transfers_by_school ON _transfers (to_school);
-- Versions of another school's record shared with a pupil's new school (read-only there),
-- numbered in the version sequence so that the new school's next pull brings them.
CREATE TABLE _shared (
    school TEXT NOT NULL,
    tbl INTEGER NOT NULL,
    k1 NOT NULL, k2 NOT NULL, k3 NOT NULL, k4 NOT NULL, k5 NOT NULL,
    sseq INTEGER NOT NULL,
    PRIMARY KEY (school, tbl, k1, k2, k3, k4, k5)
) WITHOUT ROWID;
CREATE INDEX _shared_by_school ON _shared (school, sseq);
"""

SATELLITES_SQL = """
-- A satellite school (فرعية) attached to its host: the host's devices receive its rows read-only.
-- `schools.parent_school` says the same for the domain; `since_sseq` is the version number up to
-- which the satellite's rows reached the host through `_shared` at the attach (later ones come
-- from the satellite's own versions).
CREATE TABLE IF NOT EXISTS _satellites (
    code TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    since_sseq INTEGER NOT NULL,
    attached_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS _satellites_by_host ON _satellites (host);
"""

REJECTED_SQL = """
-- Local changes the centre refused, row by row, with its reason: out of the outbox, never dropped
-- silently; the secretary retries one after fixing the cause, or discards it.
CREATE TABLE _rejected (
    id INTEGER PRIMARY KEY,
    tbl INTEGER NOT NULL,
    pk TEXT NOT NULL,
    seq INTEGER NOT NULL,
    hlc INTEGER NOT NULL,
    row TEXT,
    code TEXT NOT NULL,
    reason TEXT NOT NULL,
    at TEXT NOT NULL,
    UNIQUE (tbl, pk)
);
"""


SHARED_FOLLOW_SQL = """
-- A shared record (a moved pupil's history, his person records at the schools he left) reaches the
-- schools it is shared with again after every later version: a directorate's correction, a new
-- guardian's phone. The copy takes the version's number (a different school's pull stream).
CREATE INDEX IF NOT EXISTS _shared_by_key ON _shared (tbl, k1, k2, k3, k4, k5);
DROP TRIGGER IF EXISTS _shared_follow;
CREATE TRIGGER _shared_follow AFTER UPDATE OF sseq ON _versions
BEGIN
  UPDATE _shared SET sseq = NEW.sseq WHERE tbl = NEW.tbl AND k1 = NEW.k1 AND k2 = NEW.k2 AND k3 = NEW.k3
    AND k4 = NEW.k4 AND k5 = NEW.k5 AND sseq < NEW.sseq;
END;
"""


def install_shared_follow(db: sqlite_utils.Database) -> None:
    """Centre, step 13 (idempotent)."""
    execute_script(db, SHARED_FOLLOW_SQL)


def install_devices(db: sqlite_utils.Database) -> None:
    """Idempotent: a file that has the devices already (made by this code) keeps them."""
    if not db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_devices'").fetchone():
        execute_script(db, DEVICES_SQL)


def install_satellites(db: sqlite_utils.Database) -> None:
    execute_script(db, SATELLITES_SQL)


def install_rejected(db: sqlite_utils.Database) -> None:
    """Idempotent, like every step that only adds node-local tables."""
    execute_script(db, REJECTED_SQL.replace("CREATE TABLE _rejected", "CREATE TABLE IF NOT EXISTS _rejected"))


@contextmanager
def applying_remote(db: sqlite_utils.Database) -> Iterator[None]:
    """Write rows that already carry their version (received or resolved): the triggers stand aside.

    Inside the caller's write transaction, so no other writer sees the flag up.
    """
    db.conn.execute("UPDATE _clock SET applying = 1 WHERE id = 1")
    try:
        yield
    finally:
        db.conn.execute("UPDATE _clock SET applying = 0 WHERE id = 1")
