"""The background agent of `massar node serve`: syncs after local writes, backs off while offline, resumes."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from decimal import Decimal

from domain.grades import GradeEntry, record_grades
from syncclient.agent import SyncAgent
from tests.support.netproxy import NetProxy

from .helpers import fill_school, rows


def _wait(predicate: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_agent_syncs_soon_after_a_local_write(central, make_node) -> None:
    store = make_node("A001")
    sample = fill_school(store, seed=5, pupils=30, classes=3, absence_days=2)
    agent = SyncAgent(store.path.parent, interval=3600, debounce=0.2, min_backoff=0.1, max_backoff=1)
    agent.start()
    try:
        # The agent syncs once when it starts.
        assert _wait(lambda: agent.status()["last_sync"] is not None and agent.status()["pending_changes"] == 0)
        pupil = sample.pupils[0]
        subject = sample.subjects[sample.level_of(pupil)][0]
        record_grades(store.db, store.term, [GradeEntry(pupil, subject, 2, 1, Decimal("13.25"))])
        assert agent.status()["pending_changes"] == 1
        agent.notify_local_write()
        # With an hour between periodic syncs, only the write can have triggered this one.
        with central.db() as db:
            assert _wait(lambda: (pupil, subject, 2, 1, 1325) in {r[2:7] for r in rows(db, "grades", "A001")})
        assert _wait(lambda: agent.status()["pending_changes"] == 0)
    finally:
        agent.stop()


def test_agent_backs_off_offline_and_resumes_when_the_server_answers(central, make_node) -> None:
    port = _free_port()
    store = make_node("B001", server=f"http://127.0.0.1:{port}")
    fill_school(store, seed=6, pupils=12, classes=3, absence_days=1)
    agent = SyncAgent(store.path.parent, interval=3600, debounce=0.1, min_backoff=0.2, max_backoff=0.5, timeout=2)
    agent.start()
    try:
        # Nothing listens: the agent records the error and keeps the changes.
        assert _wait(lambda: agent.status()["last_error"] is not None)
        pending = agent.status()["pending_changes"]
        assert pending > 0 and agent.status()["last_sync"] is None
        # Local work goes on while offline.
        store.db.conn.execute("UPDATE grades SET remark = 'vu' WHERE rowid IN (SELECT rowid FROM grades LIMIT 1)")
        # The link comes back on the same address: the agent resumes by itself.
        with NetProxy(central.port, port=port):
            assert _wait(lambda: agent.status()["pending_changes"] == 0, timeout=30)
            agent_pending = agent.status()
        assert agent_pending["last_error"] is None and agent_pending["last_sync"] is not None
        with central.db() as db:
            assert len(rows(db, "pupils", "B001")) == 12
    finally:
        agent.stop()
