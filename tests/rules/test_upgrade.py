"""Migration 4 on files made before it: node and central alike keep their data,
gain every level code and the evaluation rules, and lose `coefficients`."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from domain.database import register_clock
from domain.migrations import latest
from domain.pupils import register_pupil
from server.store import open_central
from syncclient.store import NodeStore

# The shape of the files before migration 4.
_OLD_SHAPE = """
DROP TABLE evaluation_rules;
CREATE TABLE coefficients (
    level TEXT NOT NULL, subject TEXT NOT NULL, coefficient INTEGER NOT NULL,
    activities_weight INTEGER NOT NULL DEFAULT 25, PRIMARY KEY (level, subject)
);
INSERT INTO coefficients VALUES ('1APIC', 'MATH', 3, 25);
ALTER TABLE levels DROP COLUMN year;
DELETE FROM levels WHERE code NOT IN ('1AP', '1APIC', '2APIC', '3APIC', 'TCS');
UPDATE subjects SET massar_code = '0070' WHERE code = 'MATH';
PRAGMA user_version = 3;
"""


def _downgrade(path: Path, extra: str = "") -> None:
    conn = sqlite3.connect(path)
    register_clock(conn)  # the capture triggers of the centre read the replica's clock
    try:
        conn.executescript(extra + _OLD_SHAPE)
    finally:
        conn.close()


def test_node_file_of_version_3_is_upgraded(tmp_path: Path) -> None:
    store = NodeStore.init(tmp_path / "node", "S001", year="2025/2026")
    register_pupil(
        store.db, store.term, class_code="1APIC-1", last_name="A", first_name="B", gender="F", code="K100000001"
    )
    store.close()
    _downgrade(tmp_path / "node" / "node.sqlite", 'INSERT INTO _base VALUES (2, \'["1APIC","MATH"]\', 7);')

    store = NodeStore.open(tmp_path / "node")
    try:
        db = store.db
        assert db.execute("PRAGMA user_version").fetchone()[0] == latest()
        assert not db["coefficients"].exists()
        assert db.execute("SELECT cycle, year FROM levels WHERE code = '1ASCG'").fetchone() == ("college", 1)
        assert db.execute("SELECT year FROM levels WHERE code = '3APIC'").fetchone() == (3,)
        assert db.execute("SELECT massar_code FROM subjects WHERE code = 'MATH'").fetchone() == ("0019",)
        assert db.execute("SELECT COUNT(*) FROM evaluation_rules WHERE level = '1APIC'").fetchone()[0] == 20
        assert db.execute("SELECT COUNT(*) FROM _base WHERE tbl = 2").fetchone() == (0,)
        assert db.execute("SELECT class FROM enrolments WHERE pupil = 'K100000001'").fetchone() == ("1APIC-1",)
        # national rows are not the node's to send
        assert db.execute("SELECT COUNT(*) FROM _outbox WHERE tbl IN (5, 6)").fetchone() == (0,)
    finally:
        store.close()


def test_central_file_of_version_3_is_upgraded_and_captures_publications(tmp_path: Path) -> None:
    open_central(tmp_path, create=True).conn.close()
    triggers = "".join(
        f"DROP TRIGGER _central_{t}_{k};"
        for t in ("levels", "evaluation_rules")
        for k in ("insert", "update", "rekey", "delete")
    )
    _downgrade(
        tmp_path / "central.sqlite",
        triggers + "INSERT INTO _versions VALUES (2, '1APIC', 'MATH', 0, 0, 0, NULL, 1, 1, 'central', 1, 0);",
    )

    db = open_central(tmp_path)
    try:
        assert db.execute("PRAGMA user_version").fetchone()[0] == latest()
        assert db.execute("SELECT COUNT(*) FROM _versions WHERE tbl = 2").fetchone() == (0,)
        # the shipped rows are on both sides already: no version for them
        assert db.execute("SELECT COUNT(*) FROM _versions WHERE tbl IN (5, 6)").fetchone() == (0,)
        db.execute(
            "UPDATE evaluation_rules SET coefficient = 4 WHERE since = '2025/2026' AND level = '1ASCG' AND subject = 'HG'"
        )
        db.execute("UPDATE levels SET name_fr = 'Essai' WHERE code = '1ASCG'")
        assert db.execute("SELECT tbl FROM _versions WHERE tbl IN (5, 6) ORDER BY tbl").fetchall() == [(5,), (6,)]
    finally:
        db.conn.close()
