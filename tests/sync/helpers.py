"""Helpers shared by the end-to-end sync tests (fixtures live in conftest.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import sqlite_utils

from protocol.errors import ProtocolError
from protocol.messages import Message, decode_message
from protocol.tables import BY_NAME, TABLES
from syncclient.session import SyncResult, SyncSession
from syncclient.store import NodeStore

YEAR = "2024/2025"  # a past school year: every sample date is in the past, whatever the day
SCHOOL_TABLES = tuple(t.name for t in TABLES if not t.national)
NATIONAL_TABLES = tuple(t.name for t in TABLES if t.national)


def sync(store: NodeStore, **kwargs: object) -> SyncResult:
    """One full sync of `store` through the real SyncSession (its own httpx client, closed after)."""
    session = SyncSession(store, **kwargs)
    try:
        return session.run()
    finally:
        session.close()


def rows(db: sqlite_utils.Database, table: str, school: str | None = None) -> set[tuple]:
    """Every row of a synced table as tuples in wire column order; school-owned tables filtered by `school`."""
    spec = BY_NAME[table]
    sql = f"SELECT {', '.join(spec.column_names)} FROM {table}"
    if school is not None and not spec.national:
        return set(map(tuple, db.execute(sql + " WHERE school = ?", [school]).fetchall()))
    return set(map(tuple, db.execute(sql).fetchall()))


def school_row(central_path: Path | str, school: str) -> tuple:
    """The central bookkeeping of a school's first device except its request counter and sync times."""
    sql = "SELECT school, revoked, acked_seq, pull_cursor FROM _devices WHERE id = ?"
    if isinstance(central_path, str) and central_path.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(central_path) as pg:
            return tuple(pg.execute(sql.replace("?", "%s"), [school]).fetchone() or ())
    conn = sqlite3.connect(f"file:{central_path}?mode=ro", uri=True)
    try:
        return conn.execute(
            "SELECT school, revoked, acked_seq, pull_cursor FROM _devices WHERE id = ?", [school]
        ).fetchone()
    finally:
        conn.close()


def fill_school(store: NodeStore, seed: int, *, pupils: int = 60, classes: int = 3, absence_days: int = 10):
    """Offline work of a school: roster, semester-1 grades, some absences (sample)."""
    import sample

    school = sample.make_school(store.db, store.term, seed=seed, pupils=pupils, classes=classes)
    sample.semester_grades(store.db, store.term, school, 1, seed=seed)
    sample.absences(store.db, store.term, school, days=absence_days, seed=seed)
    return school


class Exchange:
    """One request seen by a RecordingTransport, and its answer when one came back whole."""

    def __init__(self, request: Message) -> None:
        self.request = request
        self.status: int | None = None
        self.response: Message | None = None
        self.error: str | None = None


class RecordingTransport(httpx.BaseTransport):
    """An httpx transport that decodes every sync request it sends and every answer it gets."""

    def __init__(self, inner: httpx.BaseTransport | None = None) -> None:
        self.inner = inner or httpx.HTTPTransport()
        self.exchanges: list[Exchange] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        exchange = Exchange(decode_message(request.read()))
        self.exchanges.append(exchange)
        try:
            response = self.inner.handle_request(request)
            try:
                response.read()
            except BaseException:
                response.close()
                raise
        except httpx.HTTPError as exc:
            exchange.error = f"{type(exc).__name__}: {exc}"
            raise
        exchange.status = response.status_code
        if response.status_code == 200:
            try:
                exchange.response = decode_message(response.content)
            except ProtocolError as exc:
                exchange.error = f"undecodable answer: {exc}"
        return response

    def close(self) -> None:
        self.inner.close()


def recording_client(url: str, transport: RecordingTransport, timeout: float = 30.0) -> httpx.Client:
    return httpx.Client(base_url=url, transport=transport, timeout=timeout)


def next_counter(store: NodeStore) -> int:
    """A fresh request counter for `store`'s school, kept in the node's settings like the session does
    (so the node's own later syncs stay above it)."""
    import time

    last = int(store.setting("request_counter", 0))
    counter = max(last + 1, int(time.time() * 1000))
    store.set_setting("request_counter", counter)
    return counter


def post_signed(
    url: str, body: bytes, *, school: str, key: bytes, counter: int, path: str = "/s", headers: dict | None = None
) -> httpx.Response:
    """POST `body` to the sync endpoint signed as `school` (as the session would), or with `headers` as given."""
    from protocol.auth import authorization_header

    if headers is None:
        headers = {"authorization": authorization_header(school, counter, key, "POST", path, body)}
    with httpx.Client(base_url=url, timeout=30) as client:
        return client.post(path, content=body, headers=headers)


def node_key(store: NodeStore) -> bytes:
    return bytes.fromhex(store.setting("node_key"))
