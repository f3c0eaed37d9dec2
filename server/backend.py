"""One central store interface, two engines behind it.

    CentralStore (protocol)
     ├── SqliteCentral   `--data DIR`: one SQLite file; a directorate, the demo, tests
     └── PgCentral       `--database postgresql://USER@HOST/DB`: the national centre (server/pg/)

The HTTP app, the sync exchange and the operators' commands speak only to
this interface; the sync rules themselves (scope, exactly-once, conflict
resolution: server/ingest.py) are the same for both, and the sync suites run
against both.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import sqlite_utils

from domain.clock import SYSTEM_CLOCK, Clock, iso_now
from domain.database import read_snapshot, write_transaction
from domain.grades import GradeEntry
from protocol.records import Change

from .errors import ReplayedRequest
from .ingest import PushResult, apply_push
from .pull import PullBatch, pull_changes
from .store import open_central
from .versions import next_server_hlc


@dataclass(frozen=True)
class Served:
    """What one sync request did: the push's acknowledgement, the clock, the page, the conflict count."""

    pushed: PushResult
    server_hlc: int
    page: PullBatch | None
    conflicts: int


class CentralStore(Protocol):
    backend: str

    def describe(self) -> str:
        """Where the data lives, for people (no password)."""
        ...

    def school_entry(self, code: str) -> tuple[str, bool, int] | None:
        """The school's derived node key (hex), whether it is revoked, its last request counter; None if unknown."""
        ...

    def sync(
        self,
        school: str,
        counter: int,
        changes: Sequence[Change],
        *,
        pull_cursor: int | None,
        page_size: int,
        clock: Clock = SYSTEM_CLOCK,
    ) -> Served:
        """One sync request's writes: spend the counter (ReplayedRequest if used), apply the push,
        read a page after `pull_cursor` (None: no pull) and record the sync."""
        ...

    def record_refusal(self, code: str, counter: int, error: str) -> None:
        """A refused request of an authenticated school: its error kept, its counter spent."""
        ...

    def push(self, school: str, changes: Sequence[Change], clock: Clock = SYSTEM_CLOCK) -> tuple[PushResult, int]:
        """Apply a push alone (benchmarks, tests); returns the acknowledgement and the server clock."""
        ...

    def pull(self, school: str, cursor: int, limit: int) -> tuple[PullBatch, int]:
        """A page of versions after `cursor` and the school's conflict count, from one snapshot."""
        ...

    def add_school(self, code: str, name: str, node_key: str) -> None: ...

    def revoke_school(self, code: str) -> None: ...

    def list_schools(self) -> list[tuple]: ...

    def conflicts(self) -> list[tuple]: ...

    def publish(self, data: dict[str, list[dict[str, Any]]]) -> dict[str, int]: ...

    def upsert(self, table: str, rows: Sequence[tuple]) -> None:
        """Central edits of whole rows (column order), in one transaction: versioned, they reach the schools."""
        ...

    def correct_grade(self, year: str, entry: GradeEntry) -> str:
        """A directorate's correction of one mark; returns the pupil's school (where it goes next sync)."""
        ...

    def reader(self) -> AbstractContextManager[Any]:
        """The domain's read interface (`execute` with `?` parameters) on one consistent snapshot."""
        ...

    def close(self) -> None: ...


def is_database_url(location: str) -> bool:
    return location.startswith(("postgresql://", "postgres://"))


def open_store(location: str | Path, *, create: bool = False, clock: Clock = SYSTEM_CLOCK) -> CentralStore:
    """`postgresql://...` opens PostgreSQL; anything else is the SQLite centre's data folder."""
    if isinstance(location, str) and is_database_url(location):
        from .pg.store import PgCentral

        return PgCentral(location, create=create, clock=clock)
    return SqliteCentral(Path(location), create=create, clock=clock)


class SqliteCentral:
    """The SQLite centre: one connection per thread on the file in `folder`."""

    backend = "sqlite"

    def __init__(self, folder: Path, *, create: bool = False, clock: Clock = SYSTEM_CLOCK) -> None:
        self.folder = folder
        self.clock = clock
        open_central(folder, create=create, clock=clock).conn.close()  # migrate once, up front
        self._local = threading.local()
        self._opened: list[sqlite_utils.Database] = []
        self._lock = threading.Lock()

    def describe(self) -> str:
        return str(self.folder)

    @property
    def db(self) -> sqlite_utils.Database:
        db: sqlite_utils.Database | None = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = open_central(self.folder, clock=self.clock)
            with self._lock:
                self._opened.append(db)
        return db

    def close(self) -> None:
        with self._lock:
            for db in self._opened:
                db.conn.close()
            self._opened.clear()
        self._local = threading.local()

    def school_entry(self, code: str) -> tuple[str, bool, int] | None:
        row = self.db.execute("SELECT node_key, revoked, last_counter FROM _schools WHERE code = ?", [code]).fetchone()
        return None if row is None else (row[0], bool(row[1]), int(row[2]))

    def sync(
        self,
        school: str,
        counter: int,
        changes: Sequence[Change],
        *,
        pull_cursor: int | None,
        page_size: int,
        clock: Clock = SYSTEM_CLOCK,
    ) -> Served:
        """One write transaction: a failure anywhere leaves the file as it was."""
        from .schools import record_sync

        db = self.db
        with write_transaction(db):
            burnt = db.conn.execute(
                "UPDATE _schools SET last_counter = ? WHERE code = ? AND last_counter < ?", [counter, school, counter]
            ).rowcount
            if not burnt:
                raise ReplayedRequest(f"request counter {counter} was already used (replayed request)")
            server_hlc = next_server_hlc(db, clock)
            pushed = apply_push(db, school, changes, server_hlc)
            page = pull_changes(db, school, pull_cursor, page_size) if pull_cursor is not None else None
            conflicts = self._conflict_count(db, school)
            record_sync(db, school, at=iso_now(clock), pull_cursor=page.cursor if page else None)
        return Served(pushed, server_hlc, page, conflicts)

    def record_refusal(self, code: str, counter: int, error: str) -> None:
        from .schools import record_refusal

        record_refusal(self.db, code, counter, error)

    def push(self, school: str, changes: Sequence[Change], clock: Clock = SYSTEM_CLOCK) -> tuple[PushResult, int]:
        db = self.db
        with write_transaction(db):
            server_hlc = next_server_hlc(db, clock)
            return apply_push(db, school, changes, server_hlc), server_hlc

    def pull(self, school: str, cursor: int, limit: int) -> tuple[PullBatch, int]:
        db = self.db
        with read_snapshot(db):
            return pull_changes(db, school, cursor, limit), self._conflict_count(db, school)

    @staticmethod
    def _conflict_count(db: sqlite_utils.Database, school: str) -> int:
        return int(db.execute("SELECT COUNT(*) FROM _conflicts WHERE school = ?", [school]).fetchone()[0])

    def add_school(self, code: str, name: str, node_key: str) -> None:
        from .schools import register_school

        register_school(self.db, code, name, node_key, clock=self.clock)

    def revoke_school(self, code: str) -> None:
        from .schools import revoke_school

        revoke_school(self.db, code)

    def list_schools(self) -> list[tuple]:
        from .schools import SCHOOLS_SQL

        return [tuple(r) for r in self.db.execute(SCHOOLS_SQL).fetchall()]

    def conflicts(self) -> list[tuple]:
        return [tuple(r) for r in self.db.execute(CONFLICTS_SQL).fetchall()]

    def publish(self, data: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
        from .publish import write_publication

        return write_publication(self.db, data)

    def upsert(self, table: str, rows: Sequence[tuple]) -> None:
        from domain.rows import upsert_rows

        with write_transaction(self.db) as db:
            upsert_rows(db, table, rows)

    def correct_grade(self, year: str, entry: GradeEntry) -> str:
        from .corrections import checked_correction

        school, row = checked_correction(self.db, year, entry)
        self.upsert("grades", [row])
        return school

    @contextmanager
    def reader(self) -> Iterator[sqlite_utils.Database]:
        with read_snapshot(self.db) as db:
            yield db


CONFLICTS_SQL = (
    "SELECT id, tbl, record, school, winner_origin, winner_hlc, loser_origin, loser_hlc, loser_seq, loser_row, at "
    "FROM _conflicts ORDER BY id"
)
