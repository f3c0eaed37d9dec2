"""Change capture on the node: SQL triggers turn every write into an outbox entry.

Triggers (not Python hooks) so that every code path, even a sqlite3 shell,
records its changes in the same transaction as the data. Several edits of one
record before a sync collapse into one outbox row: only the net change travels.
The clock is a hybrid logical clock kept in `_clock`, corrected by the offset
to the server's time learned at each sync (see protocol/SPEC.md).
"""

from __future__ import annotations

import sqlite_utils

from domain.database import execute_script
from domain.year_schema import shaped_as_registered
from protocol.tables import TABLES, TableSpec

BOOKKEEPING = """
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

# Unix ms from SQLite's clock, corrected by the learned offset; then the HLC tick.
_TICK = (
    "UPDATE _clock SET seq = seq + 1, hlc = max(hlc + 1, "
    "(CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) + offset_ms) * 65536);"
)


def _capture(spec: TableSpec, ref: str) -> str:
    key = ", ".join(f"{ref}.{k}" for k in spec.key)
    return (
        _TICK
        + f"\n  INSERT INTO _outbox (tbl, pk, seq, hlc) SELECT {spec.wire_id}, json_array({key}), seq, hlc FROM _clock"
        + " WHERE true ON CONFLICT (tbl, pk) DO UPDATE SET seq = excluded.seq, hlc = excluded.hlc;"
    )


def capture_triggers(spec: TableSpec) -> str:
    name, live = spec.name, "(SELECT applying FROM _clock) = 0"
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in spec.column_names)
    key_changed = " OR ".join(f"OLD.{k} IS NOT NEW.{k}" for k in spec.key)
    return f"""
CREATE TRIGGER _capture_{name}_insert AFTER INSERT ON {name} WHEN {live}
BEGIN
  {_capture(spec, "NEW")}
END;
CREATE TRIGGER _capture_{name}_update AFTER UPDATE ON {name} WHEN {live} AND ({changed})
BEGIN
  {_capture(spec, "NEW")}
END;
CREATE TRIGGER _capture_{name}_rekey AFTER UPDATE ON {name} WHEN {live} AND ({key_changed})
BEGIN
  {_capture(spec, "OLD")}
END;
CREATE TRIGGER _capture_{name}_delete AFTER DELETE ON {name} WHEN {live}
BEGIN
  {_capture(spec, "OLD")}
END;
"""


def install_change_capture(db: sqlite_utils.Database) -> None:
    """Node migration 2: sync bookkeeping tables and capture triggers on school-owned tables."""
    execute_script(db, BOOKKEEPING)
    for spec in TABLES:
        if not spec.national and shaped_as_registered(db, spec):
            execute_script(db, capture_triggers(spec))


def pending_count(db: sqlite_utils.Database) -> int:
    return db.execute("SELECT COUNT(*) FROM _outbox").fetchone()[0]
