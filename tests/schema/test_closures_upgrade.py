"""Migration step 14 on files of step 13: a semester the director closed in the previous release (the
node-local `_semester_closures`) becomes a row of the synced `semester_closures`, waits in the outbox,
reaches the centre with the next sync, and no family is told twice."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from domain.database import register_clock
from domain.replication import Side
from domain.semesters import closed_semesters, staff_report
from protocol.auth import node_key_from_token
from protocol.tables import BY_NAME
from server.app import create_app
from server.schools import add_school
from server.store import DB_NAME as CENTRAL_DB
from server.store import open_central
from syncclient.session import SyncSession
from syncclient.store import DB_NAME as NODE_DB
from syncclient.store import NodeStore
from tests.support.downgrade import downgrade
from tests.support.servers import ServerThread

YEAR = "2024/2025"
CLOSURES = BY_NAME["semester_closures"].wire_id


def _sync(store: NodeStore) -> None:
    session = SyncSession(store)
    try:
        result = session.run()
    finally:
        session.close()
    assert result.pending == 0 and result.rejected == 0 and not result.errors


def _count(conn: sqlite3.Connection, sql: str) -> int:
    return int(conn.execute(sql).fetchone()[0])


def test_a_closure_of_the_previous_release_moves_into_the_synced_table_and_reaches_the_centre(
    tmp_path: Path,
) -> None:
    import sample

    central_folder = tmp_path / "central"
    db = open_central(central_folder, create=True)
    token = add_school(db, "SA01", "Collège")
    db.conn.close()
    key = node_key_from_token("SA01", token).hex()
    with ServerThread(create_app(central_folder), lifespan="on") as server:
        store = NodeStore.init(tmp_path / "node", "SA01", year=YEAR, server=server.url, node_key=key)
        school = sample.make_school(store.db, store.term, seed=3, pupils=8, classes=3)
        store.db.execute("UPDATE guardians SET sms_consent = 1 WHERE phone IS NOT NULL")
        _sync(store)
        store.close()
    downgrade(tmp_path / "node" / NODE_DB, Side.NODE, 13)
    downgrade(central_folder / CENTRAL_DB, Side.CENTRAL, 13)

    # The director closes semester 1 with the previous release: its trigger tells the families then.
    conn = sqlite3.connect(tmp_path / "node" / NODE_DB, isolation_level=None)
    register_clock(conn)
    try:
        assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'semester_closures'").fetchall()
        conn.execute(f"INSERT INTO _semester_closures (year, semester, closed_by) VALUES ('{YEAR}', 1, 'dir')")
        told = _count(conn, "SELECT COUNT(*) FROM _sms_outbox WHERE kind = 'results'")
        assert told > 0
        outbox_before = _count(conn, "SELECT COUNT(*) FROM _outbox")
    finally:
        conn.close()

    with ServerThread(create_app(central_folder), lifespan="on") as server:
        store = NodeStore.open(tmp_path / "node")
        try:
            store.set_setting("server", server.url)
            conn = store.db.conn
            (closed_at,) = conn.execute("SELECT closed_at FROM semester_closures").fetchone()
            assert conn.execute("SELECT school, year, semester, closed_by FROM semester_closures").fetchall() == [
                ("SA01", YEAR, 1, "dir")
            ]
            assert not store.db["_semester_closures"].exists()
            assert _count(conn, "SELECT COUNT(*) FROM _outbox") == outbox_before + 1
            assert _count(conn, f"SELECT COUNT(*) FROM _outbox WHERE tbl = {CLOSURES}") == 1
            # Moved, not closed again: no second message; the trigger now follows the synced table.
            assert _count(conn, "SELECT COUNT(*) FROM _sms_outbox WHERE kind = 'results'") == told
            assert conn.execute("SELECT tbl_name FROM sqlite_master WHERE name = '_sms_results'").fetchone() == (
                "semester_closures",
            )
            assert closed_semesters(store.db, YEAR, "SA01") == {1}
            _sync(store)
        finally:
            store.close()
    central = open_central(central_folder)
    try:
        assert central.execute("SELECT * FROM semester_closures").fetchall() == [("SA01", YEAR, 1, "dir", closed_at)]
        report = staff_report(central, YEAR, school.pupils[0], school=None)
        assert report["closed_semesters"] == [1]
    finally:
        central.conn.close()
