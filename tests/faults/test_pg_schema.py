"""The PostgreSQL centre's tables are the SQLite centre's: same tables, same columns, same keys,
and the SQL dialect rewrite says in PostgreSQL what the centre's code says in SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.pg.dialect import to_postgres
from server.pg.schema import PG_MIGRATIONS
from server.store import open_central


def _sqlite_tables(folder: Path) -> dict[str, list[str]]:
    db = open_central(folder, create=True)
    try:
        names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()]
        return {n: [r[1] for r in db.execute(f"PRAGMA table_info({n})").fetchall()] for n in names}
    finally:
        db.conn.close()


def _pg_tables(dsn: str) -> dict[str, list[str]]:
    db = open_central(dsn, create=True)
    try:
        rows = db.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "ORDER BY table_name, ordinal_position"
        ).fetchall()
    finally:
        db.conn.close()
    out: dict[str, list[str]] = {}
    for table, column in rows:
        out.setdefault(table, []).append(column)
    return out


def test_both_engines_hold_the_same_tables_and_columns(tmp_path: Path, postgres_dsn: str) -> None:
    sqlite = _sqlite_tables(tmp_path / "central")
    pg = _pg_tables(postgres_dsn)
    pg.pop("_migrations")  # PostgreSQL's record of its steps; SQLite keeps it in PRAGMA user_version
    assert sorted(pg) == sorted(sqlite)
    for table, columns in sqlite.items():
        assert pg[table] == columns, table


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
