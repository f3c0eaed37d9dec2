"""The PostgreSQL central schema: migrations, year partitions, capture of central edits."""

from __future__ import annotations

import psycopg
import pytest

from server.pg.schema import PG_MIGRATIONS, ensure_year_partitions, migrate, year_partition


@pytest.fixture
def conn(postgres_dsn: str):
    with psycopg.connect(postgres_dsn) as c:
        migrate(c)
        yield c


def test_migrating_twice_changes_nothing(conn: psycopg.Connection) -> None:
    assert migrate(conn) == len(PG_MIGRATIONS)
    assert conn.execute("SELECT count(*) FROM _migrations").fetchone()[0] == len(PG_MIGRATIONS)
    assert conn.execute("SELECT count(*) FROM levels").fetchone()[0] > 0


def test_grades_of_a_year_live_in_that_years_partition(conn: psycopg.Connection) -> None:
    ensure_year_partitions(conn, {"2024/2025", "2025/2026"})
    ensure_year_partitions(conn, {"2024/2025"})  # already there: nothing to do
    with conn.transaction():
        conn.execute("INSERT INTO grades VALUES ('S1', '2024/2025', 'P1', 'ARA', 1, 1, 1200, 0, 0, NULL)")
    part = year_partition("grades", "2024/2025")
    assert conn.execute(f"SELECT count(*) FROM {part}").fetchone()[0] == 1
    assert conn.execute(f"SELECT count(*) FROM {year_partition('grades', '2025/2026')}").fetchone()[0] == 0


def test_a_year_without_its_partition_is_refused_not_misfiled(conn: psycopg.Connection) -> None:
    with pytest.raises(psycopg.errors.CheckViolation), conn.transaction():
        conn.execute("INSERT INTO grades VALUES ('S1', '2030/2031', 'P1', 'ARA', 1, 1, 1200, 0, 0, NULL)")


@pytest.mark.parametrize("bad", ["2024", "2024/2025'; DROP TABLE grades; --"], ids=["short", "injection"])
def test_partition_names_take_only_school_years(bad: str) -> None:
    with pytest.raises(ValueError):
        year_partition("grades", bad)


def test_central_edits_get_versions_and_unchanged_rewrites_do_not(conn: psycopg.Connection) -> None:
    ensure_year_partitions(conn, {"2024/2025"})
    with conn.transaction():
        conn.execute("INSERT INTO subjects VALUES ('ZZZ', 'ع', 'Z', NULL)")
        conn.execute("INSERT INTO grades VALUES ('S1', '2024/2025', 'P1', 'ARA', 1, 1, 1200, 0, 0, NULL)")
        conn.execute("UPDATE grades SET score = 1300")
        conn.execute("UPDATE grades SET score = 1300")
        conn.execute("DELETE FROM subjects WHERE code = 'ZZZ'")
    versions = conn.execute("SELECT tbl, k1, k2, school, sseq, origin, deleted FROM _versions ORDER BY sseq").fetchall()
    assert versions == [
        (14, "2024/2025", "P1", "S1", 3, "central", 0),
        (1, "ZZZ", "", None, 4, "central", 1),
    ]
    assert conn.execute("SELECT sseq FROM _clock").fetchone()[0] == 4


def test_applied_pushes_are_not_captured_as_central_edits(conn: psycopg.Connection) -> None:
    with conn.transaction():
        conn.execute("SET LOCAL massar.applying = 'on'")
        conn.execute("INSERT INTO subjects VALUES ('ZZZ', 'ع', 'Z', NULL)")
    assert conn.execute("SELECT count(*) FROM _versions").fetchone()[0] == 0
