"""The central store on PostgreSQL: a connection pool, one transaction per step of a request.

A sync request is three short transactions: burn the request counter (kept
even when the push is then refused, so a replay fails), apply the push
(retried whole on a deadlock or serialization failure: its input is in
memory), and read the pulled page in one REPEATABLE READ snapshot.
psycopg prepares a statement after its fifth use on a connection, so the
per-request statements run prepared on the pooled connections.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg_pool import ConnectionPool

from domain.clock import SYSTEM_CLOCK, Clock, iso_now
from domain.errors import Conflict, NotFound, NotInitialised
from domain.grades import GradeEntry
from protocol import hlc as hlc_clock
from protocol.records import Change
from protocol.tables import BY_NAME

from ..backend import Served
from ..errors import InvalidRow, ReplayedRequest, StoreUnavailable
from ..ingest import PushResult
from ..pull import PullBatch
from . import ingest, pull
from .schema import NOW_MS, PG_MIGRATIONS, ensure_year_partitions, migrate
from .sql import SqlReader, scalar, upsert_sql

T = TypeVar("T")
_RETRIES = 5


def pool_size() -> int:
    """Two connections per core: one working while the other waits on the network or a lock."""
    return max(4, 2 * (os.cpu_count() or 1))


def redact(dsn: str) -> str:
    """The DSN without its password, for messages and logs."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class PgCentral:
    backend = "postgresql"

    def __init__(
        self, dsn: str, *, create: bool = False, max_size: int | None = None, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self.dsn = dsn
        self.clock = clock
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                if create:
                    migrate(conn)
                else:
                    done = scalar(conn.execute("SELECT to_regclass('_migrations') IS NOT NULL"))
                    if not done:
                        raise NotInitialised(
                            f"no central server in {redact(dsn)}: run `massar server init --database {redact(dsn)}`"
                        )
                    migrate(conn)  # a newer release's migrations
        except psycopg.OperationalError as exc:
            raise StoreUnavailable(f"cannot reach PostgreSQL at {redact(dsn)}: {exc}".splitlines()[0]) from exc
        self._years: set[str] = set()  # school years whose partitions exist
        self.pool = ConnectionPool(
            dsn, min_size=1, max_size=max_size or pool_size(), kwargs={"autocommit": True}, open=True, timeout=60
        )

    def describe(self) -> str:
        return redact(self.dsn)

    def close(self) -> None:
        self.pool.close()

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        try:
            with self.pool.connection() as conn:
                yield conn
        except psycopg.OperationalError as exc:
            raise StoreUnavailable(f"PostgreSQL connection failed: {exc}".splitlines()[0]) from exc

    def _retrying(self, work: Callable[[psycopg.Connection], T], *, isolation: str | None = None) -> T:
        """Run `work` in one transaction; a deadlock or serialization failure reruns it whole."""
        for attempt in range(_RETRIES):
            try:
                with self.connection() as conn, conn.transaction():
                    if isolation:
                        conn.execute(f"SET TRANSACTION ISOLATION LEVEL {isolation}")
                    return work(conn)
            except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure):
                if attempt == _RETRIES - 1:
                    raise
                time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    def ensure_years(self, years: set[str]) -> None:
        """Partitions for these school years, made outside any request's transaction (the DDL locks the parent)."""
        missing = years - self._years
        if missing:
            with self.connection() as conn:
                ensure_year_partitions(conn, missing)
            self._years |= missing

    # --- the sync exchange -------------------------------------------------------------

    def school_entry(self, code: str) -> tuple[str, bool, int] | None:
        with self.connection() as conn:
            row = conn.execute(
                "SELECT node_key, revoked, last_counter FROM _schools WHERE code = %s", [code]
            ).fetchone()
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
        """The push commits with its spent counter in one transaction (the version numbers handed out
        last: `ingest.write_versions`); the page is then read from a fresh snapshot, so the `_clock`
        lock is not held while it is read, and it includes what this push re-issued."""
        pushed, server_hlc = self._push(school, changes, clock, counter=counter)
        if pull_cursor is not None:
            page, conflicts = self.pull(school, pull_cursor, page_size)
        else:
            page = None
            with self.connection() as conn:
                conflicts = scalar(conn.execute("SELECT count(*) FROM _conflicts WHERE school = %s", [school]))
        with self.connection() as conn:
            conn.execute(
                "UPDATE _schools SET last_sync = %s, last_error = NULL, pull_cursor = COALESCE(%s, pull_cursor) "
                "WHERE code = %s",
                [iso_now(clock), page.cursor if page else None, school],
            )
        return Served(pushed, server_hlc, page, conflicts)

    def record_refusal(self, code: str, counter: int, error: str) -> None:
        with self.connection() as conn:
            conn.execute(
                "UPDATE _schools SET last_error = %s, last_counter = GREATEST(last_counter, %s) WHERE code = %s",
                [error, counter, code],
            )

    def push(self, school: str, changes: Sequence[Change], clock: Clock = SYSTEM_CLOCK) -> tuple[PushResult, int]:
        """Apply a push in one transaction; returns the acknowledgement and the server clock it ran at."""
        return self._push(school, changes, clock, counter=None)

    def _push(
        self, school: str, changes: Sequence[Change], clock: Clock, *, counter: int | None
    ) -> tuple[PushResult, int]:
        now_ms = clock.now_ms()
        self.ensure_years(ingest.grade_years(changes, dt.datetime.fromtimestamp(now_ms / 1000, dt.UTC).date()))

        def work(conn: psycopg.Connection) -> tuple[PushResult, int]:
            if counter is not None:
                burnt = conn.execute(
                    "UPDATE _schools SET last_counter = %s WHERE code = %s AND last_counter < %s",
                    [counter, school, counter],
                ).rowcount
                if not burnt:
                    raise ReplayedRequest(f"request counter {counter} was already used (replayed request)")
            last = scalar(conn.execute("SELECT hlc FROM _clock WHERE id = 1"))
            server_hlc = hlc_clock.tick(last, now_ms)
            result = ingest.apply_push(conn, school, changes, server_hlc)
            if not result.applied:
                # Nothing written, no _clock lock taken: still keep the clock moving forward.
                conn.execute("UPDATE _clock SET hlc = GREATEST(hlc, %s) WHERE id = 1", [server_hlc])
            return result, server_hlc

        try:
            return self._retrying(work)
        except (psycopg.DataError, psycopg.IntegrityError) as exc:
            # A value PostgreSQL cannot hold (a NUL character, an out-of-range number): the push is
            # refused whole, like any row that breaks the schema.
            raise InvalidRow(f"a pushed value cannot be stored: {exc}".splitlines()[0]) from exc

    def pull(self, school: str, cursor: int, limit: int) -> tuple[PullBatch, int]:
        """A page of versions and the school's conflict count, from one snapshot."""

        def work(conn: psycopg.Connection) -> tuple[PullBatch, int]:
            page = pull.pull_changes(conn, school, cursor, limit)
            conflicts = scalar(conn.execute("SELECT count(*) FROM _conflicts WHERE school = %s", [school]))
            return page, conflicts

        return self._retrying(work, isolation="REPEATABLE READ READ ONLY")

    # --- operators' commands -----------------------------------------------------------

    def add_school(self, code: str, name: str, node_key: str) -> None:
        def work(conn: psycopg.Connection) -> None:
            row = conn.execute("SELECT revoked FROM _schools WHERE code = %s FOR UPDATE", [code]).fetchone()
            if row and not row[0]:
                raise Conflict(
                    f"school {code} is already registered; revoke it first to issue a new token",
                    code="already_registered",
                )
            conn.execute(
                "INSERT INTO _schools (code, name, node_key, created_at) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (code) DO UPDATE SET name = excluded.name, node_key = excluded.node_key, revoked = 0",
                [code, name, node_key, iso_now(self.clock)],
            )
            conn.execute(
                "INSERT INTO schools (code, name) VALUES (%s, %s) ON CONFLICT (code) DO UPDATE SET name = excluded.name",
                [code, name],
            )

        self._retrying(work)

    def revoke_school(self, code: str) -> None:
        with self.connection() as conn:
            if conn.execute("UPDATE _schools SET revoked = 1 WHERE code = %s", [code]).rowcount == 0:
                raise NotFound(f"unknown school {code}", code="unknown_school")

    def list_schools(self) -> list[tuple]:
        """code, name, revoked, last_sync, last_error, acked_seq, pull_cursor, newest version in scope, conflicts."""
        with self.connection() as conn:
            return conn.execute(
                "SELECT s.code, s.name, s.revoked, s.last_sync, s.last_error, s.acked_seq, s.pull_cursor, "
                "GREATEST((SELECT max(sseq) FROM _versions v WHERE v.school = s.code), "
                "(SELECT max(sseq) FROM _versions v WHERE v.school IS NULL)), "
                "(SELECT count(*) FROM _conflicts c WHERE c.school = s.code) "
                "FROM _schools s ORDER BY s.code"
            ).fetchall()

    def conflicts(self) -> list[tuple]:
        with self.connection() as conn:
            return conn.execute(
                "SELECT id, tbl, record, school, winner_origin, winner_hlc, loser_origin, loser_hlc, loser_seq, "
                "loser_row, at FROM _conflicts ORDER BY id"
            ).fetchall()

    def publish(self, data: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
        """Upsert national rows in one transaction; the capture triggers give them versions."""

        def work(conn: psycopg.Connection) -> dict[str, int]:
            self._stamp(conn)
            counts = {}
            for table, rows in data.items():
                cols = BY_NAME[table].column_names
                conn.cursor().executemany(upsert_sql(table), [tuple(r.get(c) for c in cols) for r in rows])
                counts[table] = len(rows)
            return counts

        try:
            return self._retrying(work)
        except (psycopg.errors.IntegrityError, psycopg.errors.DataError) as exc:
            from domain.errors import InvalidInput

            raise InvalidInput(
                f"a row breaks the schema ({exc.diag.message_primary or exc}); nothing was published",
                code="invalid_row",
            ) from exc

    def correct_grade(self, year: str, entry: GradeEntry) -> str:
        from ..corrections import checked_correction

        with self.reader() as db:
            school, row = checked_correction(db, year, entry)
        self.upsert("grades", [row])
        return school

    @contextmanager
    def reader(self) -> Iterator[SqlReader]:
        """The domain's read queries (reports, the grade validator), written for SQLite, on one snapshot."""
        with self.connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield SqlReader(conn)

    def upsert(self, table: str, rows: Sequence[tuple]) -> None:
        """A central edit (a directorate's correction): captured as a version by the triggers."""
        if table == "grades":
            self.ensure_years({r[BY_NAME["grades"].column_names.index("year")] for r in rows})

        def work(conn: psycopg.Connection) -> None:
            self._stamp(conn)
            conn.cursor().executemany(upsert_sql(table), rows)

        self._retrying(work)

    def _stamp(self, conn: psycopg.Connection) -> None:
        """Central edits in this transaction are stamped by the store's clock (injected in tests)."""
        conn.execute("SELECT set_config(%s, %s, true)", [NOW_MS, str(self.clock.now_ms())])


__all__ = ["PG_MIGRATIONS", "PgCentral"]
