"""Opening a replica's SQLite file, numbered migrations, and the one write-transaction helper."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from .catalogue import seed_reference_data
from .level_codes import LEVELS

Migration = Callable[[sqlite_utils.Database], None]


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


def _domain_schema(db: sqlite_utils.Database) -> None:
    execute_script(db, schema_sql())
    seed_reference_data(db)


# Migration 1 is shared; each side appends its own bookkeeping after it.
DOMAIN_MIGRATIONS: tuple[Migration, ...] = (_domain_schema,)


def upgrade_to_evaluation_rules(db: sqlite_utils.Database) -> None:
    """Bring a file made before evaluation rules to the current schema (both sides).

    Levels gain their year within the cycle and every Massar code; the
    `coefficients` table gives way to `evaluation_rules` (keyed by school year).
    Idempotent, because a fresh file already has the current schema.sql."""
    levels = {c.name for c in db["levels"].columns}
    if "year" not in levels:
        db.conn.execute("ALTER TABLE levels ADD COLUMN year INTEGER NOT NULL DEFAULT 1 CHECK (year BETWEEN 1 AND 6)")
    execute_script(db, schema_sql())
    seed_reference_data(db)
    for level in LEVELS:
        db.conn.execute(
            "UPDATE levels SET year = ? WHERE code = ? AND year IS NOT ?", [level.year, level.code, level.year]
        )
    db.conn.execute("UPDATE subjects SET massar_code = '0019' WHERE code = 'MATH' AND massar_code = '0070'")
    db.conn.execute("DROP TABLE IF EXISTS coefficients")


def open_database(path: str | Path) -> sqlite_utils.Database:
    """Open (or create) a replica file with the pragmas every process needs."""
    conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False, isolation_level=None)
    db = sqlite_utils.Database(conn)
    conn.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode is durable against process crashes (what SIGKILL tests);
    # only an OS crash may lose the last transactions, never corrupt them.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    return db


@contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """Every write goes through here: all of it commits, or none of it.

    The outermost level takes the write lock up front (BEGIN IMMEDIATE) so two
    processes never deadlock upgrading a read lock; nested levels are savepoints.
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
    else:
        db.conn.execute("COMMIT")


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


def migrate(db: sqlite_utils.Database, migrations: Sequence[Migration]) -> int:
    """Apply the migrations not yet applied, each in its own transaction; returns the version."""
    current = db.conn.execute("PRAGMA user_version").fetchone()[0]
    for number, migration in enumerate(migrations, start=1):
        if number <= current:
            continue
        with write_transaction(db):
            migration(db)
            db.conn.execute(f"PRAGMA user_version = {number}")
        current = number
    return current
