"""The server's connections to its store: a fixed pool sized to the machine's cores.

A sync request holds a connection only while its work runs in a worker
thread. Starlette's thread pool has 40 threads; a connection per thread
would open 40 PostgreSQL backends per server process, most of them queuing on
the writer lock and competing for the same cores. PostgreSQL does most with
about two connections per core (one running, one waiting on the disk or the
network), so that is the default; more requests than connections wait here,
in order, instead of in PostgreSQL. Several server processes on one database
each have their own pool: `processes x pool size` must stay under the
database's `max_connections`.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import sqlite_utils

PER_CORE = 2


def default_size() -> int:
    return PER_CORE * (os.cpu_count() or 1)


class ConnectionPool:
    """At most `size` connections, opened on first need, each lent to one thread at a time."""

    def __init__(self, connect: Callable[[], sqlite_utils.Database], size: int | None = None) -> None:
        self.size = size or default_size()
        if self.size < 1:
            raise ValueError("a connection pool holds at least one connection")
        self._connect = connect
        self._idle: queue.LifoQueue[sqlite_utils.Database] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(self.size)
        self._lock = threading.Lock()
        self._open: list[sqlite_utils.Database] = []

    @property
    def opened(self) -> int:
        """Connections open now (idle or lent)."""
        with self._lock:
            return len(self._open)

    @contextmanager
    def connection(self) -> Iterator[sqlite_utils.Database]:
        """A connection for this thread's work; waits while all `size` are lent."""
        with self._slots:
            db = self._take()
            try:
                yield db
            finally:
                self._give_back(db)

    def _take(self) -> sqlite_utils.Database:
        while True:
            try:
                db = self._idle.get_nowait()
            except queue.Empty:
                db = self._connect()
                with self._lock:
                    self._open.append(db)
                return db
            if not getattr(db.conn, "broken", False):
                return db
            self._discard(db)  # PostgreSQL restarted or the link dropped: that request failed, the next reconnects

    def _give_back(self, db: sqlite_utils.Database) -> None:
        if getattr(db.conn, "broken", False):
            self._discard(db)
        else:
            self._idle.put(db)

    def _discard(self, db: sqlite_utils.Database) -> None:
        with self._lock:
            self._open = [d for d in self._open if d is not db]
        with contextlib.suppress(Exception):  # a broken connection may fail to close; it is dropped either way
            db.conn.close()

    def close(self) -> None:
        with self._lock:
            opened, self._open = self._open, []
        for db in opened:
            db.conn.close()
