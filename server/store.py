"""The central server's SQLite file: the domain tables plus version bookkeeping.

Every synced row has one entry in `_versions`: its natural key (k1..k5,
unused slots 0), owning school (NULL for national tables), the server's
version number `sseq` (strictly increasing, the pull cursor), and the
origin/seq/hlc of the edit that produced it. Edits made on the central
server itself (corrections, publications) are captured by triggers, like
the node's, with origin "central".
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from domain.database import (
    DOMAIN_MIGRATIONS,
    execute_script,
    migrate,
    open_database,
    upgrade_to_evaluation_rules,
    write_transaction,
)
from domain.errors import NotInitialised
from protocol.tables import TABLES, TableSpec

DB_NAME = "central.sqlite"
CENTRAL = "central"
KEY_SLOTS = 5

BOOKKEEPING = """
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

_TICK = (
    "UPDATE _clock SET sseq = sseq + 1, seq = seq + 1, hlc = max(hlc + 1, "
    "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) * 65536);"
)


def _key_slots(spec: TableSpec, ref: str) -> str:
    keys = [f"{ref}.{k}" for k in spec.key] + ["0"] * (KEY_SLOTS - len(spec.key))
    return ", ".join(keys)


def _capture(spec: TableSpec, ref: str, deleted: int) -> str:
    school = "NULL" if spec.national else f"{ref}.school"
    return (
        _TICK + f"\n  INSERT INTO _versions (tbl, k1, k2, k3, k4, k5, school, sseq, hlc, origin, seq, deleted) "
        f"SELECT {spec.wire_id}, {_key_slots(spec, ref)}, {school}, sseq, hlc, '{CENTRAL}', seq, {deleted} FROM _clock "
        "WHERE true ON CONFLICT DO UPDATE SET school = excluded.school, sseq = excluded.sseq, hlc = excluded.hlc, "
        "origin = excluded.origin, seq = excluded.seq, deleted = excluded.deleted;"
    )


def capture_triggers(spec: TableSpec) -> str:
    name, live = spec.name, "(SELECT applying FROM _clock) = 0"
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in spec.column_names)
    key_changed = " OR ".join(f"OLD.{k} IS NOT NEW.{k}" for k in spec.key)
    return f"""
CREATE TRIGGER _central_{name}_insert AFTER INSERT ON {name} WHEN {live}
BEGIN
  {_capture(spec, "NEW", 0)}
END;
CREATE TRIGGER _central_{name}_update AFTER UPDATE ON {name} WHEN {live} AND ({changed})
BEGIN
  {_capture(spec, "NEW", 0)}
END;
CREATE TRIGGER _central_{name}_rekey AFTER UPDATE ON {name} WHEN {live} AND ({key_changed})
BEGIN
  {_capture(spec, "OLD", 1)}
END;
CREATE TRIGGER _central_{name}_delete AFTER DELETE ON {name} WHEN {live}
BEGIN
  {_capture(spec, "OLD", 1)}
END;
"""


def install_versions(db: sqlite_utils.Database) -> None:
    """Central migration 2: version bookkeeping and capture of central edits."""
    execute_script(db, BOOKKEEPING)
    for spec in TABLES:
        execute_script(db, capture_triggers(spec))


def drop_sseq_index(db: sqlite_utils.Database) -> None:
    """Central migration 3: no query looks versions up by sseq alone (pulls use the
    (school, sseq) index), and its upkeep was a quarter of the cost of storing a version."""
    db.conn.execute("DROP INDEX IF EXISTS _versions_by_sseq")


def evaluation_rules(db: sqlite_utils.Database) -> None:
    """Central migration 4: levels and evaluation rules become published (synced) tables;
    the retired `coefficients` (wire id 2) leaves with its versions."""
    upgrade_to_evaluation_rules(db)
    db.conn.execute("DELETE FROM _versions WHERE tbl = 2")
    for spec in TABLES:
        exists = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = ?", [f"_central_{spec.name}_insert"]
        ).fetchone()
        if not exists:
            execute_script(db, capture_triggers(spec))


CENTRAL_MIGRATIONS = (*DOMAIN_MIGRATIONS, install_versions, drop_sseq_index, evaluation_rules)


def open_central(folder: Path, *, create: bool = False) -> sqlite_utils.Database:
    path = folder / DB_NAME
    if not create and not path.exists():
        raise NotInitialised(f"no central server in {folder}: run `massar server init --data {folder}`")
    folder.mkdir(parents=True, exist_ok=True)
    db = open_database(path)
    migrate(db, CENTRAL_MIGRATIONS)
    with _WRITERS_GUARD:
        _WRITER_OF[db] = _WRITERS.setdefault(path.resolve(), threading.Lock())
    return db


# One lock per central file, shared by every connection this process opens on it.
_WRITERS: dict[Path, threading.Lock] = {}
_WRITER_OF: weakref.WeakKeyDictionary[sqlite_utils.Database, threading.Lock] = weakref.WeakKeyDictionary()
_WRITERS_GUARD = threading.Lock()


@contextmanager
def central_write(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """`write_transaction`, but this process's writers queue on a lock before BEGIN IMMEDIATE.

    SQLite's busy handler polls with sleeps of up to 100 ms and serves nobody in
    order: with dozens of syncs at once, unlucky writers slept for seconds while
    the write lock sat free (scenario 5b's p99). Waiting on a Python lock wakes the
    next writer as soon as the last one commits. Other processes (the CLI) still
    meet SQLite's busy timeout. Nested calls are savepoints, as before.
    """
    lock = None if db.conn.in_transaction else _WRITER_OF.get(db)
    if lock is None:
        with write_transaction(db):
            yield db
        return
    with lock, write_transaction(db):
        yield db


def key_slots(key: tuple) -> tuple:
    return (*key, *(0,) * (KEY_SLOTS - len(key)))
