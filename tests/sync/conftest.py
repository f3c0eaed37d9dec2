"""Fixtures of the end-to-end sync suite: a real central server (uvicorn in a thread) and real school nodes.

`central` serves `server.app.create_app(folder)` on 127.0.0.1 (an ephemeral port)
from a fresh folder; `make_node(code)` registers the school on it and creates the
school's node with the derived key, as `massar node init --server --token` would.
Everything opened is closed at teardown (the suite runs with warnings as errors).
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from domain.grades import GradeEntry
from domain.replication import key_slots
from protocol.auth import node_key_from_token
from protocol.tables import BY_NAME
from server.app import create_app
from server.backend import CentralStore, open_store
from server.pg.sql import key_slots as pg_key_slots
from server.schools import add_school
from server.store import DB_NAME, open_central
from syncclient.store import NodeStore
from tests.support.clock import ManualClock
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
    """The running central server and a store of the test's own on the same data."""

    folder: Path
    url: str
    port: int
    clock: ManualClock
    store: CentralStore
    dsn: str | None = None  # set when the centre runs on PostgreSQL
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def backend(self) -> str:
        return self.store.backend

    @property
    def path(self) -> Path:
        if self.dsn is not None:
            raise RuntimeError("this test reads the SQLite file directly: it runs on the SQLite centre only")
        return self.folder / DB_NAME

    @property
    def cli_location(self) -> list[str]:
        """The `massar server ...` arguments naming this centre."""
        return ["--database", self.dsn] if self.dsn else ["--data", str(self.folder)]

    @contextlib.contextmanager
    def db(self) -> Iterator[Any]:
        """Read access with SQLite-style SQL (`?` parameters) on either backend, closed on exit."""
        if self.dsn is not None:
            with self.store.reader() as reader:
                yield reader
            return
        conn = open_central(self.folder, clock=self.clock)
        try:
            yield conn
        finally:
            conn.conn.close()

    def version_of(self, table: str, key: tuple) -> tuple | None:
        """(origin, hlc, sseq) of the record's current version."""
        spec = BY_NAME[table]
        slots = pg_key_slots(spec, key) if self.dsn else key_slots(key)
        with self.db() as db:
            row = db.execute(
                "SELECT origin, hlc, sseq FROM _versions "
                "WHERE tbl = ? AND k1 = ? AND k2 = ? AND k3 = ? AND k4 = ? AND k5 = ?",
                [spec.wire_id, *slots],
            ).fetchone()
        return None if row is None else tuple(row)

    def digest(self) -> str:
        """A hash of every row of every central table but `_schools` (whose request counter moves)."""
        with self.db() as db:
            if self.dsn:
                names = [
                    r[0]
                    for r in db.execute(
                        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition "
                        "ORDER BY 1"
                    ).fetchall()
                ]
            else:
                names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1")]
            h = hashlib.sha256()
            for name in names:
                if name in ("_schools", "_migrations"):
                    continue
                h.update(name.encode())
                for row in sorted(repr(tuple(r)) for r in db.execute(f"SELECT * FROM {name}").fetchall()):
                    h.update(row.encode())
        return h.hexdigest()

    def school_row(self, school: str) -> tuple:
        """A school's `_schools` bookkeeping except its request counter and sync times."""
        with self.db() as db:
            row = db.execute(
                "SELECT code, revoked, acked_seq, pull_cursor FROM _schools WHERE code = ?", [school]
            ).fetchone()
        return tuple(row)

    def add_school(self, code: str, name: str | None = None) -> str:
        token = add_school(self.store, code, name or f"École {code}")
        self.tokens[code] = token
        return token

    def revoke_school(self, code: str) -> None:
        self.store.revoke_school(code)

    def correct_grade(self, year: str, entry: GradeEntry) -> str:
        """A directorate's correction, on the centre's clock; returns the pupil's school."""
        return self.store.correct_grade(year, entry)


BACKENDS = ["sqlite", "postgresql"]
both_backends = pytest.mark.parametrize("central_backend", BACKENDS, indirect=True)
"""Mark a test module or test to run against the SQLite and the PostgreSQL centre."""


@pytest.fixture
def central_backend(request: pytest.FixtureRequest) -> str:
    """`sqlite` unless the test is marked `both_backends`."""
    return getattr(request, "param", "sqlite")


@pytest.fixture
def central(
    tmp_path: Path, clock: ManualClock, central_backend: str, request: pytest.FixtureRequest
) -> Iterator[Central]:
    folder = tmp_path / "central"
    dsn = request.getfixturevalue("postgres_dsn") if central_backend == "postgresql" else None
    store = open_store(dsn or folder, create=True, clock=clock)
    try:
        server = ServerThread(create_app(dsn or folder, clock=clock), lifespan="on").start()
        try:
            yield Central(folder, server.url, server.port, clock, store, dsn)
        finally:
            server.stop()
    finally:
        store.close()


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
