"""One central store interface, two engines behind it.

    CentralStore (protocol)
     ├── SqliteCentral   `--data DIR`: one SQLite file; a directorate, the demo, tests
     └── PgCentral       `--database postgresql://USER@HOST/DB`: the national centre

The HTTP app, the sync exchange and the operators' commands speak only to
this interface; the sync rules themselves (scope, exactly-once, conflict
resolution) are the same for both and are tested against both.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol

import sqlite_utils

from domain.grades import GradeEntry
from protocol.records import Change

from .ingest import PushResult, apply_push
from .pull import PullBatch, pull_changes
from .store import central_write, open_central
from .versions import next_server_hlc


class CentralStore(Protocol):
    backend: str

    def describe(self) -> str:
        """Where the data lives, for people (no password)."""
        ...

    def school_entry(self, code: str) -> tuple[str, bool, int] | None:
        """The school's derived node key (hex), whether it is revoked, its last request counter; None if unknown."""
        ...

    def burn_counter(self, code: str, counter: int) -> bool:
        """Record `counter` as used if it is above the last one; False for a replay."""
        ...

    def push(self, school: str, changes: Sequence[Change]) -> tuple[PushResult, int]:
        """Apply a push in one write transaction; returns the acknowledgement and the server clock."""
        ...

    def pull(self, school: str, cursor: int, limit: int) -> tuple[PullBatch, int]:
        """A page of versions after `cursor` and the school's conflict count, from one snapshot."""
        ...

    def conflict_count(self, school: str) -> int: ...

    def record_sync(self, code: str, *, error: str | None, pull_cursor: int | None = None) -> None: ...

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


def open_store(location: str | Path, *, create: bool = False) -> CentralStore:
    """`postgresql://...` opens PostgreSQL; anything else is the SQLite centre's data folder."""
    if isinstance(location, str) and is_database_url(location):
        from .pg.store import PgCentral

        return PgCentral(location, create=create)
    return SqliteCentral(Path(location), create=create)


class SqliteCentral:
    """The SQLite centre: one connection per thread on the file in `folder`."""

    backend = "sqlite"

    def __init__(self, folder: Path, *, create: bool = False) -> None:
        self.folder = folder
        open_central(folder, create=create).conn.close()  # migrate once, up front
        self._local = threading.local()
        self._opened: list[sqlite_utils.Database] = []
        self._lock = threading.Lock()

    def describe(self) -> str:
        return str(self.folder)

    @property
    def db(self) -> sqlite_utils.Database:
        db: sqlite_utils.Database | None = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = open_central(self.folder)
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

    def burn_counter(self, code: str, counter: int) -> bool:
        db = self.db
        with central_write(db):
            burnt = db.conn.execute(
                "UPDATE _schools SET last_counter = ? WHERE code = ? AND last_counter < ?", [counter, code, counter]
            ).rowcount
        return bool(burnt)

    def push(self, school: str, changes: Sequence[Change]) -> tuple[PushResult, int]:
        db = self.db
        with central_write(db):
            server_hlc = next_server_hlc(db)
            return apply_push(db, school, changes, server_hlc), server_hlc

    def pull(self, school: str, cursor: int, limit: int) -> tuple[PullBatch, int]:
        from domain.database import read_snapshot

        db = self.db
        with read_snapshot(db):
            page = pull_changes(db, school, cursor, limit)
            conflicts = db.execute("SELECT COUNT(*) FROM _conflicts WHERE school = ?", [school]).fetchone()[0]
        return page, conflicts

    def conflict_count(self, school: str) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM _conflicts WHERE school = ?", [school]).fetchone()[0])

    def record_sync(self, code: str, *, error: str | None, pull_cursor: int | None = None) -> None:
        from .schools import record_sync

        record_sync(self.db, code, error=error, pull_cursor=pull_cursor)

    def add_school(self, code: str, name: str, node_key: str) -> None:
        from .schools import register_school

        register_school(self.db, code, name, node_key)

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

        with central_write(self.db) as db:
            upsert_rows(db, table, rows)

    def correct_grade(self, year: str, entry: GradeEntry) -> str:
        from .corrections import checked_correction

        school, row = checked_correction(self.db, year, entry)
        self.upsert("grades", [row])
        return school

    @contextmanager
    def reader(self) -> Iterator[sqlite_utils.Database]:
        from domain.database import read_snapshot

        with read_snapshot(self.db) as db:
            yield db


CONFLICTS_SQL = (
    "SELECT id, tbl, record, school, winner_origin, winner_hlc, loser_origin, loser_hlc, loser_seq, loser_row, at "
    "FROM _conflicts ORDER BY id"
)
