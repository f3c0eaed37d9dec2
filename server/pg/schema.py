"""The central schema on PostgreSQL: the shared domain schema plus version bookkeeping.

The domain tables come from the one `schema.sql` (its SQL is portable), with
`grades`, the table that grows to hundreds of millions of rows, partitioned
by school year: a year's marks live in their own table, so an old year can
be archived or dropped whole and the current year's indexes stay small.
Bookkeeping mirrors the SQLite centre's (`server.store`), with PostgreSQL's
types: 64-bit clocks, key slots as text (a key mixes text and integers; the
table's column types turn them back on the way out).

Migrations are numbered and recorded in `_migrations`; each runs in its own
transaction (PostgreSQL's DDL is transactional).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import psycopg

from domain import catalogue
from domain.database import schema_sql
from protocol import hlc as hlc_clock
from protocol.tables import TABLES, TableSpec

KEY_SLOTS = 5
CENTRAL = "central"
PARTITIONED_BY_YEAR = ("grades",)
# Set (transaction-local) while a node's push is applied, so capture triggers stay quiet.
APPLYING = "massar.applying"
# Set (transaction-local) to the store's clock, in ms, before central edits: the capture triggers read it.
NOW_MS = "massar.now_ms"

PgMigration = Callable[[psycopg.Connection], None]


def domain_ddl() -> str:
    """schema.sql for PostgreSQL: the year-partitioned tables get PARTITION BY LIST (year)."""
    sql = schema_sql()
    for table in PARTITIONED_BY_YEAR:
        pattern = re.compile(rf"(CREATE TABLE IF NOT EXISTS {table} \(.*?\n\));", re.S)
        sql, found = pattern.subn(r"\1 PARTITION BY LIST (year);", sql)
        if found != 1:
            raise RuntimeError(f"schema.sql has no single CREATE TABLE for {table}")
    return sql


BOOKKEEPING = """
CREATE TABLE _clock (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    sseq BIGINT NOT NULL DEFAULT 0,
    seq BIGINT NOT NULL DEFAULT 0,
    hlc BIGINT NOT NULL DEFAULT 0
);
INSERT INTO _clock (id) VALUES (1);
CREATE TABLE _schools (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    node_key TEXT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0,
    last_counter BIGINT NOT NULL DEFAULT 0,
    acked_seq BIGINT NOT NULL DEFAULT 0,
    pull_cursor BIGINT NOT NULL DEFAULT 0,
    last_sync TEXT,
    last_error TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE _versions (
    tbl SMALLINT NOT NULL,
    k1 TEXT NOT NULL, k2 TEXT NOT NULL, k3 TEXT NOT NULL, k4 TEXT NOT NULL, k5 TEXT NOT NULL,
    school TEXT,
    sseq BIGINT NOT NULL,
    hlc BIGINT NOT NULL,
    origin TEXT NOT NULL,
    seq BIGINT NOT NULL,
    deleted SMALLINT NOT NULL DEFAULT 0,  -- 0/1 as in SQLite, so reports' SQL runs on both
    PRIMARY KEY (tbl, k1, k2, k3, k4, k5)
);
-- The pull: a school's versions after its cursor, and the national ones.
CREATE INDEX _versions_by_school ON _versions (school, sseq);
CREATE INDEX _versions_national ON _versions (sseq) WHERE school IS NULL;
CREATE TABLE _conflicts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tbl TEXT NOT NULL,
    record TEXT NOT NULL,
    school TEXT,
    winner_origin TEXT NOT NULL,
    winner_hlc BIGINT NOT NULL,
    loser_origin TEXT NOT NULL,
    loser_hlc BIGINT NOT NULL,
    loser_seq BIGINT NOT NULL,
    loser_row TEXT,
    at TEXT NOT NULL
);
CREATE INDEX _conflicts_by_school ON _conflicts (school);
"""

# The server clock's tick, as the SQLite centre's: never behind the wall clock, always forward.
# The wall clock is the store's injected clock when a transaction set it (SET LOCAL), else the server's.
_TICK = (
    "UPDATE _clock SET sseq = sseq + 1, seq = seq + 1, hlc = GREATEST(hlc + 1, "
    f"COALESCE(NULLIF(current_setting('{NOW_MS}', true), '')::bigint, "
    f"(extract(epoch FROM clock_timestamp()) * 1000)::bigint) << {hlc_clock.COUNTER_BITS}) "
    "WHERE id = 1 RETURNING sseq, seq, hlc INTO v_sseq, v_seq, v_hlc;"
)


def _slots(spec: TableSpec, ref: str) -> str:
    keys = [f"{ref}.{k}::text" for k in spec.key] + ["''"] * (KEY_SLOTS - len(spec.key))
    return ", ".join(keys)


def _capture(spec: TableSpec, ref: str, deleted: str) -> str:
    school = "NULL" if spec.national else f"{ref}.school"
    return f"""
    {_TICK}
    INSERT INTO _versions (tbl, k1, k2, k3, k4, k5, school, sseq, hlc, origin, seq, deleted)
    VALUES ({spec.wire_id}, {_slots(spec, ref)}, {school}, v_sseq, v_hlc, '{CENTRAL}', v_seq, {deleted})
    ON CONFLICT (tbl, k1, k2, k3, k4, k5) DO UPDATE SET school = excluded.school, sseq = excluded.sseq,
        hlc = excluded.hlc, origin = excluded.origin, seq = excluded.seq, deleted = excluded.deleted;"""


def capture_trigger(spec: TableSpec) -> str:
    """Edits made on the centre itself (publications, corrections) get versions, like the SQLite centre's."""
    name = spec.name
    keys_moved = " OR ".join(f"OLD.{k} IS DISTINCT FROM NEW.{k}" for k in spec.key)
    return f"""
CREATE FUNCTION _central_capture_{name}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE v_sseq BIGINT; v_seq BIGINT; v_hlc BIGINT;
BEGIN
  IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND ({keys_moved})) THEN{_capture(spec, "OLD", "1")}
  END IF;
  IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND OLD IS DISTINCT FROM NEW) THEN{_capture(spec, "NEW", "0")}
  END IF;
  RETURN NULL;
END $$;
-- The WHEN test costs no function call per row while a push is applied (the bulk path).
CREATE TRIGGER _central_{name}_capture AFTER INSERT OR UPDATE OR DELETE ON {name}
  FOR EACH ROW WHEN (current_setting('{APPLYING}', true) IS DISTINCT FROM 'on')
  EXECUTE FUNCTION _central_capture_{name}();
"""


def _domain_schema(conn: psycopg.Connection) -> None:
    conn.execute(domain_ddl())
    _seed_reference_data(conn)


def _seed_reference_data(conn: psycopg.Connection) -> None:
    """The package's starting catalogue, as `domain.catalogue` seeds a SQLite replica (never overwriting)."""
    with conn.cursor() as cur:
        for table, rows in catalogue.reference_rows().items():
            if rows:
                cols = list(rows[0])
                cur.executemany(
                    f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))}) "
                    "ON CONFLICT DO NOTHING",
                    [tuple(r[c] for c in cols) for r in rows],
                )


def _bookkeeping(conn: psycopg.Connection) -> None:
    conn.execute(BOOKKEEPING)
    for spec in TABLES:
        conn.execute(capture_trigger(spec))


# Numbered like the SQLite centre's migrations; append, never edit a released one.
PG_MIGRATIONS: tuple[PgMigration, ...] = (_domain_schema, _bookkeeping)


def migrate(conn: psycopg.Connection, migrations: Sequence[PgMigration] = PG_MIGRATIONS) -> int:
    """Apply the migrations not yet applied, each in its own transaction; returns the version.

    An advisory lock makes two servers starting at once on one database take turns.
    """
    with conn.transaction():
        conn.execute("CREATE TABLE IF NOT EXISTS _migrations (number INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
    current = 0
    for number, migration in enumerate(migrations, start=1):
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('massar_migrations'))")
            done = conn.execute("SELECT 1 FROM _migrations WHERE number = %s", [number]).fetchone()
            if not done:
                migration(conn)
                conn.execute("INSERT INTO _migrations VALUES (%s, now()::text)", [number])
        current = number
    return current


def year_partition(table: str, year: str) -> str:
    """The partition of `table` that holds school year `year` ('2024/2025' -> grades_y2024_2025)."""
    if not re.fullmatch(r"\d{4}/\d{4}", year):
        raise ValueError(f"not a school year: {year!r}")
    return f"{table}_y{year.replace('/', '_')}"


def ensure_year_partitions(conn: psycopg.Connection, years: set[str]) -> None:
    """Create the missing year partitions, each in a short transaction of its own (it locks the parent).

    Servers creating the same partition at once take turns on an advisory lock.
    """
    for year in sorted(years):
        for table in PARTITIONED_BY_YEAR:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(hashtext('massar_partitions'))")
                # DDL takes no parameters; year_partition() has checked the year's shape.
                conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {year_partition(table, year)} PARTITION OF {table} "
                    f"FOR VALUES IN ('{year}')"
                )
