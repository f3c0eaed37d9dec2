"""Migration step 12 on files of step 11: enrolments keyed (year, pupil) become keyed (school, year, pupil)
on both sides; every row, trigger and index on the table survives, the bookkeeping that names an
enrolment by its key follows (node outbox and bases, central versions), and the upgraded pair syncs."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from protocol.auth import node_key_from_token
from server.app import create_app
from server.schools import add_school
from server.store import DB_NAME as CENTRAL_DB
from server.store import open_central
from syncclient.session import SyncSession
from syncclient.store import DB_NAME as NODE_DB
from syncclient.store import NodeStore
from tests.support.servers import ServerThread

YEAR = "2024/2025"
OLD_TABLE = """CREATE TABLE enrolments (
    school TEXT NOT NULL, year TEXT NOT NULL, pupil TEXT NOT NULL, class TEXT NOT NULL,
    PRIMARY KEY (year, pupil)
)"""


def _sync(store: NodeStore) -> None:
    session = SyncSession(store)
    try:
        result = session.run()
    finally:
        session.close()
    assert result.pending == 0 and result.rejected == 0 and not result.errors


def _primary_key(conn: sqlite3.Connection) -> list[str]:
    info = sorted(conn.execute("PRAGMA table_info(enrolments)").fetchall(), key=lambda r: r[5])
    return [r[1] for r in info if r[5]]


def _to_step_11(path: Path, side: str) -> set[str]:
    """Give the file the enrolments of step 11 (same rows, triggers and index); returns the triggers' names."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN")
        conn.execute("UPDATE _clock SET applying = 1")  # rows copied as they are: nothing captured
        kept = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE tbl_name = 'enrolments' AND type IN ('trigger', 'index') "
            "AND sql IS NOT NULL AND name != 'enrolments_by_pupil'"
        ).fetchall()
        conn.execute(OLD_TABLE.replace("TABLE enrolments", "TABLE _old_enrolments"))
        conn.execute("INSERT INTO _old_enrolments SELECT * FROM enrolments")
        conn.execute("DROP TABLE enrolments")
        conn.execute("PRAGMA legacy_alter_table = ON")
        conn.execute("ALTER TABLE _old_enrolments RENAME TO enrolments")
        for _, sql in kept:
            conn.execute(sql)
        if side == "node":
            for table in ("_outbox", "_base"):
                conn.execute(f"UPDATE {table} SET pk = json_array(pk ->> 1, pk ->> 2) WHERE tbl = 12")
            # A base as a pull would have left it (this node's own rows come back only after a restore).
            conn.execute("INSERT INTO _base SELECT 12, json_array(year, pupil), 1 FROM enrolments LIMIT 1")
        else:
            conn.execute("UPDATE _versions SET k1 = k2, k2 = k3, k3 = 0 WHERE tbl = 12")
        conn.execute("UPDATE _clock SET applying = 0")
        conn.execute("PRAGMA user_version = 11")
        conn.execute("COMMIT")
        assert _primary_key(conn) == ["year", "pupil"]
        return {name for name, _ in kept}
    finally:
        conn.close()


def test_step_12_rekeys_enrolments_on_both_sides_and_the_pair_syncs(tmp_path: Path) -> None:
    import sample

    central_folder = tmp_path / "central"
    db = open_central(central_folder, create=True)
    token = add_school(db, "SA01", "Collège")
    db.conn.close()
    key = node_key_from_token("SA01", token).hex()
    with ServerThread(create_app(central_folder), lifespan="on") as server:
        store = NodeStore.init(tmp_path / "node", "SA01", year=YEAR, server=server.url, node_key=key)
        school = sample.make_school(store.db, store.term, seed=5, pupils=6, classes=3)
        _sync(store)
        # Pending at the upgrade: a class change and a removed enrolment.
        moved, removed = school.pupils[0], school.pupils[1]
        other = store.db.execute(
            "SELECT code FROM classes WHERE code != (SELECT class FROM enrolments WHERE pupil = ?) ORDER BY code",
            [moved],
        ).fetchone()[0]
        store.db.execute("UPDATE enrolments SET class = ? WHERE pupil = ?", [other, moved])
        store.db.execute("DELETE FROM enrolments WHERE pupil = ?", [removed])
        store.close()
    node_triggers = _to_step_11(tmp_path / "node" / NODE_DB, "node")
    central_triggers = _to_step_11(central_folder / CENTRAL_DB, "central")
    assert {"_alert_rekey", "_sms_rekey", "_closed_enrolments_insert"} <= node_triggers
    assert any(name.startswith("_central_enrolments") for name in central_triggers)

    with ServerThread(create_app(central_folder), lifespan="on") as server:
        store = NodeStore.open(tmp_path / "node")
        try:
            store.set_setting("server", server.url)
            conn = store.db.conn
            assert _primary_key(conn) == ["school", "year", "pupil"]
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'enrolments'")}
            assert node_triggers | {"enrolments_by_pupil"} <= names
            # Triggers of other tables that read enrolments still read it (not a table left behind).
            sms = conn.execute("SELECT sql FROM sqlite_master WHERE name = '_sms_results'").fetchone()[0]
            assert "FROM enrolments e" in sms
            conn.execute("SELECT count(*) FROM enrolments e JOIN pupils p ON p.code = e.pupil").fetchone()
            pending = {
                tuple(json.loads(r[0])) for r in conn.execute("SELECT pk FROM _outbox WHERE tbl = 12").fetchall()
            }
            assert pending == {("SA01", YEAR, moved), ("SA01", YEAR, removed)}
            bases = [json.loads(r[0]) for r in conn.execute("SELECT pk FROM _base WHERE tbl = 12").fetchall()]
            assert bases and all(len(b) == 3 and b[0] == "SA01" for b in bases)
            _sync(store)
            node_rows = set(conn.execute("SELECT * FROM enrolments").fetchall())
            # A new edit is captured under the new key.
            conn.execute("UPDATE enrolments SET class = class WHERE pupil = ?", [moved])
        finally:
            store.close()
    central = open_central(central_folder)
    try:
        assert _primary_key(central.conn) == ["school", "year", "pupil"]
        assert set(central.execute("SELECT * FROM enrolments").fetchall()) == node_rows
        assert central.execute("SELECT count(*) FROM enrolments WHERE pupil = ?", [removed]).fetchone() == (0,)
        slots = central.execute("SELECT k1, k2, k3, deleted FROM _versions WHERE tbl = 12").fetchall()
        assert len(slots) == len(school.pupils) and {s[:2] for s in slots} == {("SA01", YEAR)}
        assert ("SA01", YEAR, removed, 1) in slots
    finally:
        central.conn.close()
