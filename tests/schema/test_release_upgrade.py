"""Databases of the previous release upgrade in place and keep every row.

tests/support/fixtures/release1/ holds SQL dumps of a node and a central server
made by the release-1 code (user_version 3): a synced school with a central
correction pulled back and one offline mark still pending. Each test loads
them, opens them with today's code (which migrates) and compares.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from domain.migrations import STEPS, latest
from domain.replication import Side
from domain.transfers import DEPARTURES_SQL
from server.app import create_app
from server.store import DB_NAME as CENTRAL_DB
from server.store import open_central
from syncclient.session import SyncSession
from syncclient.store import DB_NAME as NODE_DB
from syncclient.store import NodeStore
from tests.support.downgrade import downgrade
from tests.support.servers import ServerThread

FIXTURES = Path(__file__).resolve().parent.parent / "support" / "fixtures" / "release1"
RELEASE1_VERSION = 3
# What step 4 rewrites on purpose: coefficients give way to evaluation rules; the national
# reference data (levels, subjects) is re-seeded with every Massar level code.
RETIRED = {"coefficients"}
RESEEDED = {"levels", "subjects"}
# On the centre the re-seeding is captured like any central edit: new versions, a clock moved forward.


def _load(dump: str, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    try:
        conn.executescript((FIXTURES / dump).read_text(encoding="utf-8"))
    finally:
        conn.close()
    return path


def _columns(path: Path) -> dict[str, list[str]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {n: [r[1] for r in conn.execute(f"PRAGMA table_info({n})")] for n in names}
    finally:
        conn.close()


def _tables(path: Path, columns: dict[str, list[str]] | None = None) -> dict[str, set[tuple]]:
    """Every row of every table (of the given columns only, when given)."""
    columns = columns or _columns(path)
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {n: set(conn.execute(f"SELECT {', '.join(cols)} FROM {n}").fetchall()) for n, cols in columns.items()}
    finally:
        conn.close()


def _rekeyed(version: tuple) -> tuple:
    """Step 12 keys enrolments (wire id 12) by (school, year, pupil): its versions' key slots follow."""
    tbl, k1, k2, _k3, k4, k5, school, *rest = version
    return (tbl, school, k1, k2, k4, k5, school, *rest) if tbl == 12 else version


def _version(path: Path) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()


def _triggers_sql(db) -> str:
    return "\n".join(r[0] for r in db.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger'").fetchall())


def test_the_steps_are_numbered_in_order_and_both_sides_count_alike() -> None:
    assert [s.number for s in STEPS] == list(range(1, latest() + 1))
    assert all(s.on(Side.NODE) or s.on(Side.CENTRAL) for s in STEPS)


@pytest.mark.parametrize("side", ["node", "central"])
def test_a_release1_database_upgrades_and_keeps_every_row(tmp_path: Path, side: str) -> None:
    if side == "node":
        path = _load("node.sql", tmp_path / "node" / NODE_DB)
    else:
        path = _load("central.sql", tmp_path / "central" / CENTRAL_DB)
    assert _version(path) == RELEASE1_VERSION
    old_columns = _columns(path)
    before = _tables(path)
    assert sum(len(rows) for rows in before.values()) > 500  # a real school's worth, not an empty file

    if side == "node":
        store = NodeStore.open(path.parent)
        db = store.db
    else:
        db = open_central(path.parent)
    try:
        assert _version(path) == latest()
        triggers = _triggers_sql(db)
        assert "julianday" not in triggers and "massar_now_ms()" in triggers
    finally:
        db.conn.close()
    new_columns = _columns(path)
    kept = {t: [c for c in cols if c in new_columns[t]] for t, cols in old_columns.items() if t not in RETIRED}
    after = _tables(path, kept)
    if side == "central":
        # Step 7 moves each school's token and sync state to its first device, named by the school's code.
        moved = ("node_key", "revoked", "last_counter", "acked_seq", "pull_cursor", "last_sync", "last_error")
        i = old_columns["_schools"].index
        expected = {(r[i("code")], *(r[i(c)] for c in moved)) for r in before["_schools"]}
        assert _tables(path, {"_devices": ["id", *moved]})["_devices"] == expected
        before["_schools"] = {tuple(r[i(c)] for c in kept["_schools"]) for r in before["_schools"]}
    for table, rows in before.items():
        if table in RETIRED:
            continue
        if table in RESEEDED:
            assert len(after[table]) >= len(rows), f"{table} lost rows in the upgrade"
        elif table == "_clock" and side == "central":
            assert all(a >= b for a, b in zip(min(after[table]), min(rows), strict=True)), "the clock went back"
        elif table == "_versions" and side == "central":
            school_owned = {_rekeyed(r) for r in rows if r[6] is not None}  # column 6: school
            assert school_owned <= after[table], "versions of school rows were lost"
        else:
            assert after[table] == rows, f"{table} changed in the upgrade"


def test_an_upgraded_node_and_centre_sync_the_pending_mark_and_capture_new_edits(tmp_path: Path) -> None:
    node_path = _load("node.sql", tmp_path / "node" / NODE_DB)
    _load("central.sql", tmp_path / "central" / CENTRAL_DB)
    assert len(_tables(node_path)["_outbox"]) == 1  # the offline mark of release 1, never pushed
    with ServerThread(create_app(tmp_path / "central"), lifespan="on") as server:
        store = NodeStore.open(tmp_path / "node")
        try:
            store.set_setting("server", server.url)
            session = SyncSession(store)
            try:
                result = session.run()
            finally:
                session.close()
            assert result.pushed == 1 and result.pending == 0 and not result.errors
            # A new edit after the upgrade is captured with the injected clock and reaches the centre.
            store.db.execute("UPDATE grades SET score = 1750 WHERE rowid = (SELECT min(rowid) FROM grades)")
            assert store.db.execute("SELECT COUNT(*) FROM _outbox").fetchone()[0] == 1
            session = SyncSession(store)
            try:
                assert session.run().pushed == 1
            finally:
                session.close()
            node_grades = set(store.db.execute("SELECT * FROM grades").fetchall())
        finally:
            store.close()
    central = open_central(tmp_path / "central")
    try:
        assert set(central.execute("SELECT * FROM grades").fetchall()) == node_grades
    finally:
        central.conn.close()


def test_departures_recorded_before_step_10_move_into_the_synced_table_and_wait_in_the_outbox(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "node"
    NodeStore.init(folder, "SA01", name="Collège").close()
    downgrade(folder / NODE_DB, Side.NODE, 9)
    conn = sqlite3.connect(folder / NODE_DB, isolation_level=None)
    try:
        assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'departures'").fetchall()
        conn.executescript(DEPARTURES_SQL)
        conn.execute("INSERT INTO _departures VALUES ('2025/2026', 'R130245678', '2026-01-20', 'transfer', 'SB02')")
        outbox_before = conn.execute("SELECT COUNT(*) FROM _outbox").fetchone()[0]
    finally:
        conn.close()
    store = NodeStore.open(folder)
    try:
        assert store.db.execute("SELECT * FROM departures").fetchall() == [
            ("SA01", "2025/2026", "R130245678", "2026-01-20", "transfer", "SB02")
        ]
        assert not store.db["_departures"].exists()
        assert store.db.execute("SELECT COUNT(*) FROM _outbox").fetchone()[0] == outbox_before + 1
    finally:
        store.close()
