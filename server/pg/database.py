"""One PostgreSQL connection in the shape the centre's code is written against (sqlite_utils.Database).

What differs from SQLite, and how it is met here:
  * transactions: `BEGIN IMMEDIATE` (a writer) takes one advisory lock for the
    whole database, so writers queue exactly as on SQLite, across every server
    process on the database: version numbers are handed out in commit order and
    a pull never skips one that commits later. Plain `BEGIN` (a read snapshot)
    is REPEATABLE READ. Savepoints back `atomic()`, so one refused row rolls
    back alone, as on SQLite.
  * the injected clock: a writer sets `massar.now_ms` (transaction-local) from
    the store's clock; the capture triggers read it (server/pg/schema.py).
  * values: integers and booleans go as untyped text, so PostgreSQL types them
    from where they go (a key slot is text, a score an integer), as SQLite's
    loose typing would; key slots read back from `_versions`/`_shared` get their
    table's types again (a mark's semester is an int on the wire).
  * errors: a row PostgreSQL refuses (constraint, value out of range) raises
    sqlite3.IntegrityError, the error the centre's code refuses a row on;
    a lost connection raises StoreUnavailable.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import count
from typing import Any

import psycopg
from psycopg import pq
from psycopg.adapt import Dumper

from domain.clock import SYSTEM_CLOCK, Clock
from protocol.tables import BY_ID, ColumnType

from ..errors import StoreUnavailable
from . import partitions
from .dialect import to_postgres

log = logging.getLogger("massar.server")

NOW_MS = "massar.now_ms"
"""Transaction-local setting: the store's clock in ms, read by the capture triggers."""
APPLYING = "massar.applying"
"""Transaction-local setting, '1' while `_clock.applying` is (both set by one statement): the capture
triggers' WHEN reads it, so the rows of a push do not call their function at all."""
# domain.replication.applying_remote's statement, raising or lowering the flag around a push's rows
_APPLYING_FLAG = re.compile(r"^UPDATE _clock SET applying = ([01]) WHERE id = 1$")
_WRITER_LOCK = partitions.WRITER_LOCK
_SLOTS = ("k1", "k2", "k3", "k4", "k5")
COPY_FROM = 200
STATISTICS_EVERY = 20_000
"""Rows written to a table between two looks at how stale its statistics are."""
STATISTICS_GROWTH = 0.2
"""The share of a table's counted rows written since its last ANALYZE that calls for another."""
"""Rows from which a batched upsert goes through COPY (below, executemany's pipeline is as fast)."""
# upsert_rows' and the versions' statement: INSERT INTO t (cols) VALUES (?, ...) ON CONFLICT ...
_UPSERT = re.compile(r"^\s*INSERT INTO (\w+) \(([\w, ]+)\) VALUES \((?:\?, )*\?\)(\s+ON CONFLICT .*)?$", re.S)


class LooseInt(Dumper):
    """An integer as untyped text: PostgreSQL gives it the type of the column or value it meets."""

    oid = 0

    def dump(self, obj: Any) -> bytes:
        return str(int(obj)).encode()


class LooseBool(Dumper):
    """A boolean as 0/1, as the schema (shared with SQLite) stores flags."""

    oid = 0

    def dump(self, obj: Any) -> bytes:
        return b"1" if obj else b"0"


def _typed_slots(cursor: psycopg.Cursor[Any]) -> Any:
    """Rows as tuples; key slots (text in PostgreSQL) typed again by their table when the row names it."""
    names = [c.name for c in cursor.description or ()]
    if "tbl" not in names or "k1" not in names:
        return tuple
    tbl = names.index("tbl")
    slots = [names.index(k) for k in _SLOTS if k in names]

    def make(values: Sequence[Any]) -> tuple[Any, ...]:
        spec = BY_ID.get(values[tbl]) if isinstance(values[tbl], int) else None
        if spec is None:
            return tuple(values)
        out = list(values)
        key_types = [spec.types[i] for i in spec.key_indexes]
        for n, i in enumerate(slots):
            if n >= len(key_types):
                out[i] = 0  # an unused slot, 0 as in SQLite
            elif key_types[n] is ColumnType.INT and out[i] is not None:
                out[i] = int(out[i])
        return tuple(out)

    return make


@contextmanager
def _mapped_errors() -> Iterator[None]:
    try:
        yield
    except (psycopg.errors.IntegrityError, psycopg.errors.DataError) as exc:
        raise sqlite3.IntegrityError(exc.diag.message_primary or str(exc)) from exc
    except psycopg.OperationalError as exc:
        raise StoreUnavailable(f"PostgreSQL connection failed: {exc}".splitlines()[0]) from exc


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def _copy_field(value: Any) -> str:
    if value is None:
        return "\\N"
    if value is True or value is False:
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    return str(value).translate(_COPY_ESCAPES)


def _copy_column(values: Sequence[Any]) -> Sequence[str]:
    kinds = set(map(type, values))
    if kinds <= {str}:
        joined = "".join(values)
        return values if not any(c in joined for c in "\\\n\r\t") else [v.translate(_COPY_ESCAPES) for v in values]
    if kinds <= {int}:
        return list(map(str, values))
    return list(map(_copy_field, values))


def copy_text(rows: Sequence[Sequence[Any]]) -> bytes:
    """Rows in COPY's text format, built column by column in C-speed string operations: psycopg's
    `write_row` dumps value by value in Python (half the time of a push's writes went there)."""
    if not rows:
        return b""
    columns = [_copy_column(values) for values in zip(*rows, strict=True)]
    return ("\n".join(map("\t".join, zip(*columns, strict=True))) + "\n").encode()


class PgConnection:
    """The `db.conn` of the adapter: execute, executemany, transaction state."""

    def __init__(self, raw: psycopg.Connection[Any], clock: Clock) -> None:
        self.raw = raw
        self.clock = clock
        self._year_partitions: dict[str, set[str]] = {}  # per table, the school years seen to have a partition
        self._grown: dict[str, int] = {}  # rows written per table since its statistics were last checked
        self._parents_due: set[str] = set()  # partitioned tables to analyze once this writer commits

    @property
    def broken(self) -> bool:
        """The connection to PostgreSQL is lost (a restart, a cut link): open a new one."""
        return bool(self.raw.broken or self.raw.closed)

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != pq.TransactionStatus.IDLE

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> psycopg.Cursor[Any]:
        verb = sql.strip().rstrip(";").upper()
        with _mapped_errors():
            if verb == "BEGIN IMMEDIATE":
                self._parents_due.clear()  # a rolled-back writer's ANALYZE was rolled back with it
                cur = self.raw.execute("BEGIN")
                # A writer's statements look records up by key: with the statistics of a table growing
                # fast (a new centre filling up, before autovacuum's next ANALYZE) the planner chose to
                # scan `_versions` whole for 400 keys (200 ms, against 1 ms through its primary key).
                self.raw.execute(
                    "SELECT pg_advisory_xact_lock(%s), set_config(%s, %s, true), set_config('enable_seqscan', 'off', true)",
                    [_WRITER_LOCK, NOW_MS, str(self.clock.now_ms())],
                )
                return cur
            if verb == "BEGIN":
                return self.raw.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            if verb == "COMMIT" and self._parents_due:
                cur = self.raw.execute("COMMIT")
                self._analyze_parents()
                return cur
            flag = _APPLYING_FLAG.match(sql.strip())
            if flag:
                return self.raw.execute(
                    f"UPDATE _clock SET applying = {flag.group(1)} WHERE id = 1 "
                    f"RETURNING set_config('{APPLYING}', '{flag.group(1)}', true)"
                )
            statement = to_postgres(sql)
            # psycopg prepares a statement after its fifth run; a generic plan cannot see an array's
            # length and scanned `_versions` whole for 400 keys: a statement with arrays is planned each time.
            prepare = False if statement.arrays else None
            return self.raw.execute(statement.sql, statement.arrange(params) or None, prepare=prepare)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> psycopg.Cursor[Any]:
        cur = self.raw.cursor()
        batch = list(rows)
        if not batch:
            # psycopg would still open a pipeline and wait for its sync: one round trip for nothing,
            # inside the write lock (a day's push leaves most of `write_plan`'s batches empty).
            return cur
        with _mapped_errors():
            upsert = _UPSERT.match(sql)
            if upsert and len(batch) >= COPY_FROM and self.in_transaction:
                self._copy_upsert(cur, upsert, batch)
                return cur
            statement = to_postgres(sql)
            cur.executemany(statement.sql, [statement.arrange(r) or r for r in batch])
        return cur

    def _copy_upsert(self, cur: psycopg.Cursor[Any], upsert: re.Match[str], rows: list[Sequence[Any]]) -> None:
        """`INSERT ... VALUES ... ON CONFLICT ...` of many rows as COPY into a staging table and one
        INSERT ... SELECT with the same ON CONFLICT clause. A batch that names one record twice (which
        one INSERT cannot write) goes row by row instead, inside a savepoint."""
        table, columns, conflict = upsert.group(1), upsert.group(2), (upsert.group(3) or "").strip()
        stage = f"_stage_{table}"
        cur.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table} INCLUDING DEFAULTS INCLUDING IDENTITY) "
            "ON COMMIT DELETE ROWS"
        )
        lands_in = table
        if table in partitions.PARTITIONED:
            names = [c.strip() for c in columns.split(",")]
            known = self._year_partitions.setdefault(table, set())
            lands_in = partitions.ensure_for_rows(self.raw, table, names, rows, known)
        cur.execute("SAVEPOINT copy_upsert")
        try:
            with cur.copy(f"COPY {stage} ({columns}) FROM STDIN") as copy:
                copy.write(copy_text(rows))
            cur.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {stage} {to_postgres(conflict).sql}")
            # a year's partition: PostgreSQL counts its writes there
            self._keep_statistics(lands_in, len(rows), parent=table if lands_in != table else None)
        except psycopg.errors.CardinalityViolation:
            cur.execute("ROLLBACK TO SAVEPOINT copy_upsert")
            statement = to_postgres(upsert.group(0))
            cur.executemany(statement.sql, rows)
        finally:
            if self.raw.info.transaction_status == pq.TransactionStatus.INTRANS:
                cur.execute(f"TRUNCATE {stage}")
                cur.execute("RELEASE SAVEPOINT copy_upsert")

    def _keep_statistics(self, table: str, written: int, *, parent: str | None = None) -> None:
        """ANALYZE a table this connection has grown by a fifth since its statistics were taken.

        Autovacuum analyzes a minute or more late: a centre filling up (a new year, a new academy)
        outgrows its statistics, and the planner, told `_versions` holds a few hundred grades where it
        holds 144,000, read them all into a hash join with a push's 400 keys (82 ms, growing with the
        store) instead of probing its primary key 400 times (0.9 ms). A partitioned table's rows
        are counted, and analyzed, in the year's partition they land in; the partitioned table above
        it (`parent`) is analyzed after the commit (`_analyze_parents`)."""
        grown = self._grown.get(table, 0) + written
        if grown < STATISTICS_EVERY:
            self._grown[table] = grown
            return
        self._grown[table] = 0
        row = self.raw.execute(
            "SELECT c.reltuples, s.n_mod_since_analyze FROM pg_class c "
            "JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.oid = to_regclass(%s) AND c.relkind = 'r'",
            [table],
        ).fetchone()
        if row is None:
            return
        counted, modified = max(float(row[0]), 0.0), int(row[1]) + grown
        if modified > STATISTICS_GROWTH * counted:
            self.raw.execute(f"ANALYZE {table}")
            if parent is not None:
                self._parents_due.add(parent)

    def _analyze_parents(self) -> None:
        """ANALYZE the partitioned tables whose partition a writer analyzed, after its commit.

        Autovacuum never analyzes a partitioned table (only its partitions), so the planner has no
        statistics for `grades` or `absences` as a whole: a join on the parent (marks of a class's
        pupils, a push's scale check) is estimated with default selectivities. A partition's ANALYZE
        is a sign the table has grown by a fifth: the parent's statistics are taken then, after the
        commit, so other writers do not wait on it. PostgreSQL 18 samples the parent alone (`ONLY`);
        before, ANALYZE of a partitioned table also analyzes each partition again."""
        only = "ONLY " if self.raw.info.server_version >= 180000 else ""
        due, self._parents_due = self._parents_due, set()
        for parent in sorted(due):
            try:
                self.raw.execute(f"ANALYZE {only}{parent}")
            except psycopg.Error as exc:  # the push is committed: stale statistics are no reason to fail it
                log.warning("ANALYZE %s failed: %s", parent, str(exc).splitlines()[0] if str(exc) else exc)

    def close(self) -> None:
        self.raw.close()


class PgDatabase:
    """Enough of sqlite_utils.Database for the centre's code, on one PostgreSQL connection (one thread)."""

    backend = "postgresql"

    def __init__(self, dsn: str, *, clock: Clock = SYSTEM_CLOCK) -> None:
        try:
            raw = psycopg.connect(dsn, autocommit=True)
        except psycopg.OperationalError as exc:
            raise StoreUnavailable(f"cannot reach PostgreSQL at {redact(dsn)}: {exc}".splitlines()[0]) from exc
        raw.adapters.register_dumper(int, LooseInt)
        raw.adapters.register_dumper(bool, LooseBool)
        raw.row_factory = _typed_slots
        self.dsn = dsn
        self.conn = PgConnection(raw, clock)
        self._savepoints = count()
        self._lock = threading.Lock()

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> psycopg.Cursor[Any]:
        return self.conn.execute(sql, params)

    @contextmanager
    def atomic(self) -> Iterator[PgDatabase]:
        """A savepoint inside the current transaction (a writer's transaction when there is none)."""
        if not self.conn.in_transaction:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                self.conn.raw.execute("ROLLBACK")
                raise
            else:
                self.conn.execute("COMMIT")
            return
        name = f"sp{next(self._savepoints)}"
        self.conn.raw.execute(f"SAVEPOINT {name}")
        try:
            yield self
        except BaseException:
            if self.conn.raw.info.transaction_status != pq.TransactionStatus.IDLE:
                self.conn.raw.execute(f"ROLLBACK TO SAVEPOINT {name}")
                self.conn.raw.execute(f"RELEASE SAVEPOINT {name}")
            raise
        else:
            with _mapped_errors():
                self.conn.raw.execute(f"RELEASE SAVEPOINT {name}")

    def describe(self) -> str:
        return redact(self.dsn)


def redact(dsn: str) -> str:
    """The DSN without its password, for messages and logs."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def is_database_url(location: object) -> bool:
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))
