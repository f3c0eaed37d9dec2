"""Node migration 5 (web sessions, semester closures, roll-call corrections) on a file made before it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from domain import absences
from domain.migrations import latest
from domain.replication import Side
from syncclient.store import NodeStore
from tests.support.downgrade import downgrade

from .conftest import TODAY


def test_a_version_4_node_keeps_its_data_and_gains_the_web_tables(tmp_path: Path) -> None:
    from domain.pupils import register_pupil

    store = NodeStore.init(tmp_path / "node", "S001")
    day = TODAY - dt.timedelta(days=1)
    register_pupil(
        store.db, store.term, class_code="1APIC-1", last_name="A", first_name="B", gender="F", code="K100000001"
    )
    absences.record_absences(store.db, store.term, [absences.AbsenceEntry("K100000001", day, 3)])
    store.close()
    downgrade(tmp_path / "node" / "node.sqlite", Side.NODE, 4)

    store = NodeStore.open(tmp_path / "node")
    try:
        db = store.db
        assert db.execute("PRAGMA user_version").fetchone()[0] == latest()
        assert db.execute("SELECT pupil, hours FROM absences").fetchall() == [("K100000001", 3)]
        assert db.execute("SELECT COUNT(*) FROM _alerts WHERE kind = 'absence'").fetchone() == (1,)
        # the new trigger works on the old rows: a correction withdraws the old alert
        saved = absences.save_roll_call(db, store.term, day, [absences.RollCallRow("K100000001", 0, 3)], by="sec")
        assert [(c.before, c.after) for c in saved.changes] == [(3, 0)]
        assert db.execute("SELECT json_extract(detail, '$.hours') FROM _alerts").fetchone() == (0,)
        assert db.execute("SELECT COUNT(*) FROM _web_sessions").fetchone() == (0,)
    finally:
        store.close()
