"""The server's connection pool (server/pool.py): never more connections than its size, however many
requests at once, and a connection PostgreSQL dropped is replaced, not lent again."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest

from server.errors import StoreUnavailable
from server.pool import ConnectionPool, default_size
from server.store import open_central


def test_requests_beyond_the_pool_size_wait_for_a_connection(tmp_path: Path) -> None:
    open_central(tmp_path, create=True).conn.close()
    pool = ConnectionPool(lambda: open_central(tmp_path), size=2)
    lent = peak = 0
    lock = threading.Lock()
    two_inside = threading.Barrier(2, timeout=30)

    def request(n: int) -> int:
        nonlocal lent, peak
        with pool.connection() as db:
            with lock:
                lent += 1
                peak = max(peak, lent)
            if n < 2:
                two_inside.wait()  # the first two hold their connections together
            value = int(db.execute("SELECT COUNT(*) FROM _schools").fetchone()[0])
            with lock:
                lent -= 1
        return value

    try:
        with ThreadPoolExecutor(8) as threads:
            assert list(threads.map(request, range(16))) == [0] * 16
        assert peak == 2
        assert pool.opened == 2
    finally:
        pool.close()
    assert pool.opened == 0


def test_the_default_size_is_two_connections_per_core() -> None:
    import os

    assert default_size() == 2 * (os.cpu_count() or 1)
    with pytest.raises(ValueError, match="at least one"):
        ConnectionPool(lambda: open_central(Path("unused")), size=-1)


def test_a_connection_postgresql_dropped_is_replaced(postgres_dsn: str) -> None:
    open_central(postgres_dsn, create=True).conn.close()
    pool = ConnectionPool(lambda: open_central(postgres_dsn), size=1)
    try:
        with pool.connection() as db:
            first_pid = db.execute("SELECT pg_backend_pid()").fetchone()[0]
        with psycopg.connect(postgres_dsn, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [first_pid])
        with pytest.raises(StoreUnavailable), pool.connection() as db:
            db.execute("SELECT 1")  # the request in flight when PostgreSQL restarted fails (503)
        with pool.connection() as db:
            assert db.execute("SELECT pg_backend_pid()").fetchone()[0] != first_pid
        assert pool.opened == 1
    finally:
        pool.close()
