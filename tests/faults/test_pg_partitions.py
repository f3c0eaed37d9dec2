"""The PostgreSQL centre keeps grades and absences partitioned by school year: a year's partition is
made when first needed, nothing is refused for want of one, and an existing centre is converted with
its rows and versions intact (server/pg/partitions.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from domain.database import write_transaction
from domain.rows import upsert_rows
from server.pg import partitions
from server.pg.database import COPY_FROM, PgDatabase
from server.pg.schema import PG_MIGRATIONS, migrate
from server.store import open_central
from tests.support.clock import ManualClock

# 2 December 2026: school year 2026/2027.
CLOCK = ManualClock(int(dt.datetime(2026, 12, 2, 9, tzinfo=dt.UTC).timestamp() * 1000))


def _grades(year: str, count: int, first: int = 0) -> list[tuple[Any, ...]]:
    # school, year, pupil, subject, semester, assessment, score, absent, justified, remark
    return [("S1", year, f"P{first + i:05d}", "MATH", 1, 1, 1200, 0, 0, None) for i in range(count)]


def _absences(days: list[str]) -> list[tuple[Any, ...]]:
    # school, pupil, day, hours, justified, reason, justified_on, recorded_by
    return [("S1", "P00001", day, 2, 0, None, None, None) for day in days]


def _raw(db: Any) -> Any:
    """The psycopg connection under the centre's adapter (server/pg/database.py)."""
    return db.conn.raw


def _count(db: Any, table: str) -> int:
    return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def _partitions(db: Any, table: str) -> list[str]:
    rows = db.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass(?) ORDER BY 1",
        [table],
    ).fetchall()
    return [r[0] for r in rows]


def _versions(db: Any) -> list[tuple[Any, ...]]:
    return sorted(db.execute("SELECT tbl, k1, k2, k3, k4, k5, sseq, deleted FROM _versions").fetchall())


def test_the_current_years_partitions_exist_when_the_centre_opens(postgres_dsn: str) -> None:
    db = open_central(postgres_dsn, create=True, clock=CLOCK)
    try:
        assert _partitions(db, "grades") == ["grades_default", "grades_y2026_2027"]
        assert _partitions(db, "absences") == ["absences_default", "absences_y2026_2027"]
        with write_transaction(db):
            upsert_rows(db, "grades", _grades("2026/2027", 3))
            upsert_rows(db, "absences", _absences(["2026-09-01", "2027-08-31"]))
        assert _count(db, "grades_y2026_2027") == 3
        assert _count(db, "absences_y2026_2027") == 2  # September to August
    finally:
        db.conn.close()


def test_a_large_batch_of_another_year_gets_its_partition_and_a_small_one_waits_in_the_default(
    postgres_dsn: str,
) -> None:
    db = open_central(postgres_dsn, create=True, clock=CLOCK)
    try:
        with write_transaction(db):
            upsert_rows(db, "grades", _grades("2024/2025", COPY_FROM))  # a school's semester, as a push writes it
            upsert_rows(db, "grades", _grades("2023/2024", 2))  # a correction to an old year
            upsert_rows(db, "absences", _absences(["2024-03-10", "2024-03-11"]))
        assert _count(db, "grades_y2024_2025") == COPY_FROM
        assert _count(db, "grades_default") == 2
        assert _count(db, "absences_default") == 2
        before = _versions(db)

        assert partitions.ensure(_raw(db), "grades", "2023/2024") is True
        assert partitions.ensure(_raw(db), "absences", "2023/2024") is True
        assert partitions.ensure(_raw(db), "absences", "2023/2024") is False

        assert _count(db, "grades_default") == 0 and _count(db, "grades_y2023_2024") == 2
        assert _count(db, "absences_default") == 0 and _count(db, "absences_y2023_2024") == 2
        assert _count(db, "grades") == COPY_FROM + 2
        assert _versions(db) == before  # moved between partitions: no new version, nothing for a device to pull
    finally:
        db.conn.close()


@pytest.mark.parametrize("year", ["2024-2025", "2024/2026", "x'); DROP TABLE grades; --"], ids=str.__len__)
def test_only_a_school_year_names_a_partition(postgres_dsn: str, year: str) -> None:
    db = open_central(postgres_dsn, create=True, clock=CLOCK)
    try:
        with pytest.raises(ValueError, match="not a school year"):
            partitions.ensure(_raw(db), "grades", year)
        assert _partitions(db, "grades") == ["grades_default", "grades_y2026_2027"]
    finally:
        db.conn.close()


def test_an_existing_centre_is_partitioned_with_its_rows_and_versions(postgres_dsn: str) -> None:
    old = PgDatabase(postgres_dsn, clock=CLOCK)
    try:
        migrate(old.conn.raw, PG_MIGRATIONS[:5])  # the centre as released before partitioning (step 6)
        with write_transaction(old):  # type: ignore[arg-type]
            upsert_rows(old, "grades", _grades("2024/2025", 5) + _grades("2025/2026", 4))  # type: ignore[arg-type]
            upsert_rows(old, "absences", _absences(["2025-06-01", "2025-10-01"]))  # type: ignore[arg-type]
        grades = sorted(old.execute("SELECT * FROM grades").fetchall())
        absences = sorted(old.execute("SELECT * FROM absences").fetchall())
        versions = _versions(old)
        assert len(versions) == 11
    finally:
        old.conn.close()

    db = open_central(postgres_dsn, clock=CLOCK)
    try:
        assert _partitions(db, "grades") == [
            "grades_default",
            "grades_y2024_2025",
            "grades_y2025_2026",
            "grades_y2026_2027",
        ]
        assert _partitions(db, "absences") == [
            "absences_default",
            "absences_y2024_2025",
            "absences_y2025_2026",
            "absences_y2026_2027",
        ]
        assert _count(db, "grades_default") == 0 and _count(db, "absences_default") == 0
        assert sorted(db.execute("SELECT * FROM grades").fetchall()) == grades
        assert sorted(db.execute("SELECT * FROM absences").fetchall()) == absences
        assert _versions(db) == versions
        # The capture trigger came back with the table: a correction made on the centre gets a version.
        with write_transaction(db):
            db.execute("UPDATE grades SET score = 1500 WHERE year = '2024/2025' AND pupil = 'P00000'")
        newest = db.execute("SELECT k2, origin FROM _versions ORDER BY sseq DESC LIMIT 1").fetchone()
        assert tuple(newest) == ("P00000", "central")
        assert _versions(db) != versions
    finally:
        db.conn.close()


def test_the_writer_analyzes_the_year_partition_it_outgrew(postgres_dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from server.pg import database

    monkeypatch.setattr(database, "STATISTICS_EVERY", COPY_FROM)
    db = open_central(postgres_dsn, create=True, clock=CLOCK)
    try:
        with write_transaction(db):
            upsert_rows(db, "grades", _grades("2024/2025", COPY_FROM))
            # Within the writer's transaction (the statistics its next statements are planned with): the
            # partition written, not its neighbours (the partitioned table comes after the commit, below).
            analyzed = db.execute(
                "SELECT DISTINCT tablename FROM pg_stats WHERE tablename LIKE 'grades%' ORDER BY 1"
            ).fetchall()
        assert [r[0] for r in analyzed] == ["grades_y2024_2025"]
    finally:
        db.conn.close()


def _inherited_statistics(db: Any, table: str) -> int:
    """Columns of `table` with statistics for the whole partitioned table (autovacuum never takes them)."""
    return int(db.execute("SELECT COUNT(*) FROM pg_stats WHERE tablename = ? AND inherited", [table]).fetchone()[0])


def test_the_partitioned_table_is_analyzed_after_the_writer_analyzed_its_partition(
    postgres_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from server.pg import database

    monkeypatch.setattr(database, "STATISTICS_EVERY", COPY_FROM)
    db = open_central(postgres_dsn, create=True, clock=CLOCK)
    try:
        with write_transaction(db):
            upsert_rows(db, "grades", _grades("2025/2026", COPY_FROM - 1))  # under the growth check
        assert _inherited_statistics(db, "grades") == 0
        with write_transaction(db):
            # the class the pupils are enrolled in, for the join below
            db.execute("INSERT INTO enrolments (school, year, pupil, class) VALUES ('S1', '2026/2027', 'P10000', 'C1')")
            upsert_rows(db, "grades", _grades("2026/2027", 4 * COPY_FROM, first=10_000))
            assert _inherited_statistics(db, "grades") == 0  # taken after the commit, outside the writer's lock
        assert _inherited_statistics(db, "grades") > 0
        assert _inherited_statistics(db, "absences") == 0  # nothing written there
        # A class's marks read through the partitioned table: one index probe per pupil in the year's partition.
        plan = "\n".join(
            r[0]
            for r in db.execute(
                "EXPLAIN SELECT g.pupil, g.score FROM grades g JOIN enrolments e ON e.year = g.year AND e.pupil = g.pupil "
                "WHERE e.school = 'S1' AND e.year = '2026/2027' AND e.class = 'C1' AND g.semester = 1"
            ).fetchall()
        )
        assert "Index Scan using grades_y2026_2027_pkey" in plan and "Seq Scan on grades" not in plan, plan
    finally:
        db.conn.close()
