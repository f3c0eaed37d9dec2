"""Fixtures of the end-to-end sync suite: a real central server (uvicorn in a thread) and real school nodes.

`central` serves `server.app.create_app(location)` on 127.0.0.1 (an ephemeral port)
from a fresh store, once on SQLite (a data folder) and once on PostgreSQL (a fresh
database of the session's throwaway cluster: tests/support/postgres.py); `make_node(code)` registers the school on it and creates the
school's node with the derived key, as `massar node init --server --token` would.
Everything opened is closed at teardown (the suite runs with warnings as errors).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlite_utils

from protocol.auth import node_key_from_token
from server.app import create_app
from server.schools import add_school, revoke_school
from server.store import DB_NAME, Location, is_database_url, open_central
from syncclient.store import NodeStore
from tests.support.clock import ManualClock
from tests.support.postgres import CENTRAL_BACKENDS, central_location
from tests.support.servers import ServerThread

from .helpers import YEAR

# In-process replicas read a hand-moved clock that starts this far behind the real one, so a
# `massar` subprocess (real clock) always acts after them unless a test moves the clock past it.
BEHIND_REAL_TIME_MS = 10_000


@pytest.fixture
def clock() -> ManualClock:
    """The clock of `central` and of every `make_node` node: moves only when a test advances it."""
    return ManualClock(time.time_ns() // 1_000_000 - BEHIND_REAL_TIME_MS)


@dataclass
class Central:
    folder: Location  # the data folder (SQLite) or the postgresql:// URL: what `--data`/`--database` take
    url: str
    port: int
    clock: ManualClock
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def backend(self) -> str:
        return "postgresql" if is_database_url(self.folder) else "sqlite"

    @property
    def path(self) -> Location:
        """What tests/support/digests.py reads: the SQLite file, or the PostgreSQL URL."""
        return self.folder if is_database_url(self.folder) else Path(self.folder) / DB_NAME

    @contextlib.contextmanager
    def db(self) -> Iterator[sqlite_utils.Database]:
        """A connection of its own to the central file, closed on exit."""
        conn = open_central(self.folder, clock=self.clock)
        try:
            yield conn
        finally:
            conn.conn.close()

    def add_school(self, code: str, name: str | None = None) -> str:
        with self.db() as db:
            token = add_school(db, code, name or f"École {code}")
        self.tokens[code] = token
        return token

    def revoke_school(self, code: str) -> None:
        with self.db() as db:
            revoke_school(db, code)


@pytest.fixture(params=CENTRAL_BACKENDS)
def central(request: pytest.FixtureRequest, tmp_path: Path, clock: ManualClock) -> Iterator[Central]:
    folder = central_location(request, tmp_path / "central")
    open_central(folder, create=True, clock=clock).conn.close()
    server = ServerThread(create_app(folder, clock=clock), lifespan="on").start()
    port = server.port
    try:
        yield Central(folder, f"http://127.0.0.1:{port}", port, clock)
    finally:
        server.stop()


@pytest.fixture
def make_node(tmp_path: Path, central: Central) -> Iterator[Callable[..., NodeStore]]:
    """make_node(code, *, token=None, server=None, year=YEAR): a school node registered on `central`."""
    opened: list[NodeStore] = []

    def make(code: str, *, token: str | None = None, server: str | None = None, year: str = YEAR) -> NodeStore:
        if token is None:
            token = central.add_school(code)
        store = NodeStore.init(
            tmp_path / code,
            code,
            name=f"École {code}",
            year=year,
            server=server or central.url,
            node_key=node_key_from_token(code, token).hex(),
            clock=central.clock,
        )
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()
