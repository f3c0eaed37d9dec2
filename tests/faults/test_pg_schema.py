"""The PostgreSQL centre's tables are the SQLite centre's: same tables, same columns, same keys,
and the SQL dialect rewrite says in PostgreSQL what the centre's code says in SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.pg.dialect import to_postgres
from server.pg.schema import PG_MIGRATIONS
from server.store import open_central

Tables = dict[str, list[str]]


def _sqlite_tables(folder: Path) -> tuple[Tables, Tables]:
    """Columns and primary key columns of each table."""
    db = open_central(folder, create=True)
    try:
        names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()]
        info = {n: db.execute(f"PRAGMA table_info({n})").fetchall() for n in names}
        columns = {n: [r[1] for r in rows] for n, rows in info.items()}
        keys = {n: [r[1] for r in sorted(rows, key=lambda r: r[5]) if r[5]] for n, rows in info.items()}
        return columns, keys
    finally:
        db.conn.close()


def _pg_tables(dsn: str) -> tuple[Tables, Tables]:
    """Columns and primary key columns of each table; a partitioned table counts once (not its partitions)."""
    db = open_central(dsn, create=True)
    try:
        rows = db.execute(
            "SELECT c.table_name, c.column_name FROM information_schema.columns c "
            "JOIN pg_class r ON r.oid = to_regclass(c.table_name) "
            "WHERE c.table_schema = 'public' AND NOT r.relispartition ORDER BY c.table_name, c.ordinal_position"
        ).fetchall()
        key_rows = db.execute(
            "SELECT r.relname, a.attname FROM pg_index i JOIN pg_class r ON r.oid = i.indrelid "
            "JOIN LATERAL unnest(i.indkey) WITH ORDINALITY k(attnum, n) ON true "
            "JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum = k.attnum "
            "JOIN pg_namespace s ON s.oid = r.relnamespace "
            "WHERE i.indisprimary AND s.nspname = 'public' AND NOT r.relispartition ORDER BY r.relname, k.n"
        ).fetchall()
    finally:
        db.conn.close()
    columns: Tables = {}
    keys: Tables = {}
    for table, column in rows:
        columns.setdefault(table, []).append(column)
    for table, column in key_rows:
        keys.setdefault(table, []).append(column)
    return columns, keys


def test_both_engines_hold_the_same_tables_columns_and_keys(tmp_path: Path, postgres_dsn: str) -> None:
    sqlite, sqlite_keys = _sqlite_tables(tmp_path / "central")
    pg, pg_keys = _pg_tables(postgres_dsn)
    pg.pop("_migrations")  # PostgreSQL's record of its steps; SQLite keeps it in PRAGMA user_version
    pg_keys.pop("_migrations")
    assert sorted(pg) == sorted(sqlite)
    for table, columns in sqlite.items():
        assert pg[table] == columns, table
    # The partitioned tables (grades, absences) keep their natural keys: the school year was already in them.
    assert {t: k for t, k in pg_keys.items()} == {t: k for t, k in sqlite_keys.items() if k}


def test_a_second_open_migrates_nothing_and_an_empty_database_is_refused(postgres_dsn: str) -> None:
    from domain.errors import NotInitialised

    with pytest.raises(NotInitialised, match="massar server init --database"):
        open_central(postgres_dsn)
    open_central(postgres_dsn, create=True).conn.close()
    db = open_central(postgres_dsn)
    try:
        assert db.execute("SELECT COUNT(*) FROM _migrations").fetchone()[0] == len(PG_MIGRATIONS)
        assert db.execute("SELECT COUNT(*) FROM levels").fetchone()[0] > 0  # the shipped catalogue
    finally:
        db.conn.close()


@pytest.mark.parametrize(
    ("sqlite", "postgres"),
    [
        pytest.param("SELECT a FROM t WHERE b = ?", "SELECT a FROM t WHERE b = %t", id="parameters"),
        pytest.param(
            "UPDATE _clock SET hlc = max(hlc, ?) WHERE id = 1",
            "UPDATE _clock SET hlc = GREATEST(hlc, %t) WHERE id = 1",
            id="scalar-max",
        ),
        pytest.param("SELECT MAX(sseq) FROM _versions", "SELECT MAX(sseq) FROM _versions", id="aggregate-max"),
        pytest.param(
            "UPDATE t SET a = 1 WHERE a IS NOT excluded.a AND b IS NOT NULL",
            "UPDATE t SET a = 1 WHERE a IS DISTINCT FROM excluded.a AND b IS NOT NULL",
            id="is-not",
        ),
        pytest.param("SELECT 1 WHERE a IS ?", "SELECT 1 WHERE a IS NOT DISTINCT FROM %t", id="is"),
        pytest.param("SELECT '50%' FROM t", "SELECT '50%%' FROM t", id="percent"),
    ],
)
def test_the_dialect_rewrite(sqlite: str, postgres: str) -> None:
    assert to_postgres(sqlite).sql == postgres


def test_a_values_list_becomes_typed_arrays_with_its_parameters_regrouped() -> None:
    statement = to_postgres(
        "SELECT 1 FROM grades g WHERE g.school = ? AND (g.year, g.semester) IN (VALUES (?, ?), (?, ?))"
    )
    assert statement.sql == (
        "SELECT 1 FROM grades g WHERE g.school = %t AND (g.year, g.semester) IN "
        "(SELECT * FROM unnest(%t::text[], %t::int[]))"
    )
    assert statement.arrange(["S1", "2024/2025", 1, "2025/2026", 2]) == ["S1", ["2024/2025", "2025/2026"], ["1", "2"]]


def test_a_database_of_the_release_before_semester_closures_gains_the_synced_table(postgres_dsn: str) -> None:
    """Step 5 on a database made by steps 1-4 before `semester_closures` existed: the table and its
    capture come, and the data already there stays."""
    import psycopg

    from server.pg.schema import migrate

    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        migrate(conn, PG_MIGRATIONS[:4])
        conn.execute("DROP TABLE semester_closures")  # as the release before step 5 made it
        conn.execute("INSERT INTO _schools (code, name, created_at) VALUES ('SA01', 'Collège', '2026-01-01')")
        assert migrate(conn) == len(PG_MIGRATIONS)
        conn.execute("INSERT INTO semester_closures VALUES ('SA01', '2025/2026', 1, 'director', '2026-01-31T10:00:00')")
        versions = conn.execute("SELECT k1, k2, k3, school, origin, deleted FROM _versions WHERE tbl = 23").fetchall()
        assert versions == [("SA01", "2025/2026", "1", "SA01", "central", 0)]
        assert conn.execute("SELECT code FROM _schools").fetchall() == [("SA01",)]
