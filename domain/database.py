"""Opening a replica's SQLite file, numbered migrations, and the one write-transaction helper."""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from .catalogue import seed_reference_data
from .clock import SYSTEM_CLOCK, Clock

Migration = Callable[[sqlite_utils.Database], None]
NOW_MS_FUNCTION = "massar_now_ms"
"""The SQL name of the injected clock (see domain/clock.py), read by the capture triggers."""
BUSY_TIMEOUT_S = 30


def schema_sql() -> str:
    """The shared domain schema: shipped in the package, or the repo root in a checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "schema.sql", here.parent / "schema.sql"):
        if candidate.exists():
            return candidate.read_text(encoding="utf-8")
    raise FileNotFoundError("schema.sql is missing from the installation")


def execute_script(db: sqlite_utils.Database, sql: str) -> None:
    """Run a multi-statement script inside the current transaction.

    sqlite3's executescript() would COMMIT first, breaking the migration's atomicity.
    """
    pending = ""
    for line in sql.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            db.conn.execute(pending)
            pending = ""
    if pending.strip() and not pending.strip().startswith("--"):
        db.conn.execute(pending)


def domain_schema(db: sqlite_utils.Database) -> None:
    """Migration 1 of both replicas: the domain tables and the reference data."""
    execute_script(db, schema_sql())
    seed_reference_data(db)


# One lock per database file, shared by every connection this process opens on it.
_WRITERS: dict[Path, threading.Lock] = {}
_WRITER_OF: weakref.WeakKeyDictionary[sqlite_utils.Database, threading.Lock] = weakref.WeakKeyDictionary()
_WRITERS_GUARD = threading.Lock()


class WriterBusy(sqlite3.OperationalError):
    """Another writer of this process held the file for longer than SQLite's own busy timeout."""


def register_clock(conn: sqlite3.Connection, clock: Clock = SYSTEM_CLOCK) -> None:
    """Give a connection the clock the capture triggers read; without it a synced table refuses writes."""
    conn.create_function(NOW_MS_FUNCTION, 0, clock.now_ms)


def open_database(path: str | Path, *, clock: Clock = SYSTEM_CLOCK) -> sqlite_utils.Database:
    """Open (or create) a replica file with the pragmas every process needs and the injected clock."""
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, check_same_thread=False, isolation_level=None)
    db = sqlite_utils.Database(conn)
    conn.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode is durable against process crashes (what SIGKILL tests);
    # only an OS crash may lose the last transactions, never corrupt them.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
    register_clock(conn, clock)
    with _WRITERS_GUARD:
        _WRITER_OF[db] = _WRITERS.setdefault(Path(path).resolve(), threading.Lock())
    return db


@contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """Every write goes through here: all of it commits, or none of it.

    The outermost level takes the write lock up front (BEGIN IMMEDIATE) so two
    processes never deadlock upgrading a read lock; nested levels are savepoints.
    Before BEGIN, this process's writers of one file queue on a Python lock:
    SQLite's busy handler polls with sleeps of up to 100 ms and serves nobody in
    order, so with dozens of syncs at once unlucky writers slept for seconds
    while the file sat free. The lock wakes the next writer as soon as the last
    one commits; other processes (the CLI) still meet SQLite's busy timeout.
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    lock = _WRITER_OF.get(db)
    if lock is not None and not lock.acquire(timeout=BUSY_TIMEOUT_S):
        raise WriterBusy("database is locked: another writer of this process held it too long")
    try:
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            if db.conn.in_transaction:
                db.conn.execute("ROLLBACK")
            raise
        else:
            db.conn.execute("COMMIT")
    finally:
        if lock is not None:
            lock.release()


@contextmanager
def read_snapshot(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """Several reads that must see one consistent state (WAL snapshot), without the write lock."""
    if db.conn.in_transaction:
        yield db
        return
    db.conn.execute("BEGIN")
    try:
        yield db
    finally:
        if db.conn.in_transaction:
            db.conn.execute("COMMIT")


def migrate(db: sqlite_utils.Database, migrations: Sequence[Migration | None]) -> int:
    """Apply the migrations not yet applied, each in its own transaction; returns the version."""
    current = db.conn.execute("PRAGMA user_version").fetchone()[0]
    for number, migration in enumerate(migrations, start=1):
        if number <= current:
            continue
        with write_transaction(db):
            if migration is not None:
                migration(db)
            db.conn.execute(f"PRAGMA user_version = {number}")
        current = number
    return current
