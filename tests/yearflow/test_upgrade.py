"""The year-flow migration upgrades files made before it, on the node and the centre, keeping every row."""

from __future__ import annotations

from domain.database import migrate, open_database
from domain.migrations import STEPS, latest
from domain.replication import Side
from server.store import DB_NAME as CENTRAL_DB
from server.store import open_central
from syncclient.store import DB_NAME, NodeStore

BEFORE = 7  # the last step before the year flow


def _old_file(path, side: Side, node: bool) -> None:
    db = open_database(path)
    assert migrate(db, [s.on(side) for s in STEPS[:BEFORE]]) == BEFORE
    if node:
        db.conn.execute("INSERT INTO _node (k, v) VALUES ('school', 'S001'), ('year', '2024/2025')")
    db.conn.execute(
        "INSERT INTO guardians (school, pupil, n, name, relation, phone) VALUES "
        "('S001', 'A100000001', 1, 'Fatima', 'mother', '0612345678')"
    )
    db.conn.execute(
        "INSERT INTO orientation_decisions (school, year, pupil, decision, decided_on) VALUES "
        "('S001', '2024/2025', 'A100000001', 'TCSF', '2025-07-01')"
    )
    db.conn.close()


def test_a_node_made_before_the_year_flow_upgrades(tmp_path):
    folder = tmp_path / "node"
    folder.mkdir()
    _old_file(folder / DB_NAME, Side.NODE, node=True)
    store = NodeStore.open(folder)
    try:
        db = store.db
        assert db.execute("PRAGMA user_version").fetchone() == (latest(),)
        assert db.execute("SELECT name, phone, lang, sms_consent FROM guardians").fetchall() == [
            ("Fatima", "0612345678", "ar", 0)
        ]
        assert db.execute("SELECT decision, note, appeal_until FROM orientation_decisions").fetchall() == [
            ("TCSF", None, None)
        ]
        # the reshaped tables capture changes with their new columns
        db.conn.execute("DELETE FROM _outbox")
        db.conn.execute("UPDATE guardians SET sms_consent = 1")
        db.conn.execute("INSERT INTO orientation_wishes VALUES ('S001', '2024/2025', 'A100000001', 'final', 1, 'TCSF')")
        assert sorted(r[0] for r in db.execute("SELECT tbl FROM _outbox").fetchall()) == [13, 17]
    finally:
        store.close()


def test_a_central_file_made_before_the_year_flow_upgrades(tmp_path):
    folder = tmp_path / "central"
    folder.mkdir()
    _old_file(folder / CENTRAL_DB, Side.CENTRAL, node=False)
    db = open_central(folder)
    try:
        assert db.execute("PRAGMA user_version").fetchone() == (latest(),)
        assert db.execute("SELECT lang, sms_consent FROM guardians").fetchall() == [("ar", 0)]
        db.conn.execute(
            "INSERT INTO council_decisions VALUES ('S001', '2024/2025', 'A100000001', 'pass', NULL, '2025-07-01')"
        )
        assert db.execute("SELECT COUNT(*) FROM _versions WHERE tbl = 20").fetchone() == (1,)
    finally:
        db.conn.close()
