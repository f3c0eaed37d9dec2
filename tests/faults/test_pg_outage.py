"""PostgreSQL restarted under a running centre: the requests caught in it fail with a 5xx the node retries,
and the server reconnects by itself (no server restart, nothing lost)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

import sample
from protocol.auth import node_key_from_token
from syncclient.session import SyncSession
from syncclient.store import NodeStore

from .faultkit import YEAR, central_thread

pytestmark = pytest.mark.faults


def _sync(node: NodeStore) -> int:
    session = SyncSession(node)
    try:
        return session.run().failures
    finally:
        session.close()


def test_the_centre_reconnects_after_its_postgresql_connections_are_cut(
    postgres_server: str, postgres_dsn: str, tmp_path: Path
) -> None:
    with central_thread(postgres_dsn) as central:
        token = central.add_school("PO01")
        node = NodeStore.init(
            tmp_path / "node", "PO01", year=YEAR, server=central.url, node_key=node_key_from_token("PO01", token).hex()
        )
        try:
            made = sample.make_school(node.db, node.term, seed=5, pupils=12, classes=3)
            assert _sync(node) == 0
            # Every connection of the centre's database is cut, as a PostgreSQL restart would.
            name = urlsplit(postgres_dsn).path.lstrip("/")
            with psycopg.connect(postgres_server, autocommit=True) as admin:
                cut = admin.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s", [name]
                ).fetchone()
            assert cut and cut[0] > 0
            sample.semester_grades(node.db, node.term, made, 1, seed=5)
            _sync(node)  # may meet the cut connection: a 503 the session retries, or a failure it reports
            assert _sync(node) == 0
            pending = node.db.execute("SELECT COUNT(*) FROM _outbox").fetchone()[0]
            assert pending == 0
            with central.db() as db:
                marks = db.execute("SELECT COUNT(*) FROM grades WHERE school = 'PO01'").fetchone()[0]
            assert marks == node.db.execute("SELECT COUNT(*) FROM grades").fetchone()[0] > 0
        finally:
            node.close()
