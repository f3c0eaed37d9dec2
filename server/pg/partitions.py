"""The centre's biggest tables on PostgreSQL, partitioned by school year.

Marks and absences are nearly all of the centre's rows (300 million marks a
semester nationally), and every question asked of them names a school year:
a partition per year keeps each year's indexes the size of one year, lets an
old year be archived or dropped as one table (`DETACH PARTITION`), and lets a
key lookup visit one year's index. Grades are partitioned by their `year`
(LIST), absences by their `day` (RANGE over the school year's dates, September
to August: `domain.codes.school_year_of`). Both primary keys already hold that
column, which PostgreSQL requires of a partitioned table's unique keys.

A year's partition is created when first needed: for the current school year
when the centre opens, and for the year of a large batch of rows before it
is written (`ensure_for_rows`, from the COPY path of server/pg/database.py).
Anything else (a small correction to an old year) lands in the `DEFAULT`
partition, so no write ever fails for want of a partition; creating a year's
partition later moves that year's rows out of the default one.
SQLite keeps one table each: a directorate's file does not need this.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg

from domain.codes import school_year_of

WRITER_LOCK = 0x6D617373  # 'mass': the advisory lock every writer of the centre takes (server/pg/database.py)

PARTITIONED: dict[str, str] = {"grades": "year", "absences": "day"}
"""Table -> the column its school year is read from."""

_YEAR = re.compile(r"^(\d{4})/(\d{4})$")


def year_of(table: str, value: Any) -> str | None:
    """The school year a row's partition column names, or None for a value no year partition takes."""
    if not isinstance(value, str):
        return None
    if PARTITIONED[table] == "year":
        m = _YEAR.match(value)
        return value if m and int(m.group(2)) == int(m.group(1)) + 1 else None
    try:
        return school_year_of(dt.date.fromisoformat(value))
    except ValueError:
        return None


def partition_name(table: str, year: str) -> str:
    return f"{table}_y{year[:4]}_{year[5:]}"


def _bounds(table: str, year: str) -> str:
    if PARTITIONED[table] == "year":
        return f"FOR VALUES IN ('{year}')"
    start = int(year[:4])
    return f"FOR VALUES FROM ('{start}-09-01') TO ('{start + 1}-09-01')"


def _in_year(table: str, year: str) -> str:
    """The rows of the default partition that belong to `year`'s partition."""
    if PARTITIONED[table] == "year":
        return f"year = '{year}'"
    start = int(year[:4])
    return f"day >= '{start}-09-01' AND day < '{start + 1}-09-01'"


def partition_by(table: str) -> str:
    """The clause that makes `table` partitioned."""
    column = PARTITIONED[table]
    return f"PARTITION BY {'LIST' if column == 'year' else 'RANGE'} ({column})"


def existing(conn: psycopg.Connection[Any], table: str) -> set[str]:
    """The school years `table` has a partition for."""
    rows = conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(%s)",
        [table],
    ).fetchall()
    prefix = f"{table}_y"
    return {f"{r[0][len(prefix) : len(prefix) + 4]}/{r[0][-4:]}" for r in rows if r[0].startswith(prefix)}


def _one(conn: psycopg.Connection[Any], sql: str, params: Sequence[Any] = ()) -> Any:
    row = conn.execute(sql, params).fetchone()
    return None if row is None else row[0]


def _exists(conn: psycopg.Connection[Any], name: str) -> bool:
    return bool(_one(conn, "SELECT to_regclass(%s) IS NOT NULL", [name]))


def ensure(conn: psycopg.Connection[Any], table: str, year: str) -> bool:
    """`year`'s partition of `table`, created if missing (its rows moved out of the default partition);
    whether it was created. Inside a transaction it is a savepoint of it; writers queue behind it."""
    if year_of(table, year if PARTITIONED[table] == "year" else f"{year[:4]}-09-01") != year:
        raise ValueError(f"not a school year: {year!r}")
    name = partition_name(table, year)
    if _exists(conn, name):
        return False  # the common case, without waiting for the writer lock
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [WRITER_LOCK])
        if _exists(conn, name):
            return False
        conn.execute(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        # The rows move between two tables of the same record: no version, as for a push's rows
        # (the capture trigger, cloned on the default partition, stands aside while `applying`).
        applying = _one(conn, "SELECT applying FROM _clock WHERE id = 1")
        conn.execute("UPDATE _clock SET applying = 1 WHERE id = 1")
        conn.execute(
            f"WITH moved AS (DELETE FROM {table}_default WHERE {_in_year(table, year)} RETURNING *) "
            f"INSERT INTO {name} SELECT * FROM moved"
        )
        conn.execute("UPDATE _clock SET applying = %s WHERE id = 1", [applying])
        conn.execute(f"ALTER TABLE {table} ATTACH PARTITION {name} {_bounds(table, year)}")
    return True


def ensure_for_rows(
    conn: psycopg.Connection[Any], table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], known: set[str]
) -> str:
    """Before a batch of `table`'s rows is written: a partition for each school year it holds.
    `known` (the years seen to have one, kept by the caller) spares the catalogue on every batch.
    Returns the table the batch lands in: its year's partition when it holds one year (a push's
    usual batch), else `table`."""
    if table not in PARTITIONED or PARTITIONED[table] not in columns:
        return table
    at = list(columns).index(PARTITIONED[table])
    years = {year_of(table, row[at]) for row in rows}
    wanted = years - known - {None}
    if wanted:
        known |= existing(conn, table)
        for year in sorted(y for y in wanted if y is not None and y not in known):
            ensure(conn, table, year)
            known.add(year)
    (only,) = years if len(years) == 1 else (None,)
    return partition_name(table, only) if only is not None and only in known else table


def partition_tables(conn: psycopg.Connection[Any], recreate_triggers: Any) -> None:
    """Migration step: `PARTITIONED`'s tables, as they are, made partitioned tables with a default
    partition and one per school year their rows hold; the rows moved over; the capture triggers
    (dropped with the old tables) made again by `recreate_triggers(table)`."""
    for table, column in PARTITIONED.items():
        old = f"_{table}_unpartitioned"
        conn.execute(f"ALTER TABLE {table} RENAME TO {old}")
        for (index,) in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", [old]).fetchall():
            conn.execute(f"ALTER INDEX {index} RENAME TO _old_{index}")
        conn.execute(f"CREATE TABLE {table} (LIKE {old} INCLUDING ALL) {partition_by(table)}")
        conn.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
        values = [r[0] for r in conn.execute(f"SELECT DISTINCT {column} FROM {old}").fetchall()]
        years = sorted({y for y in (year_of(table, v) for v in values) if y is not None})
        for year in years:
            conn.execute(f"CREATE TABLE {partition_name(table, year)} PARTITION OF {table} {_bounds(table, year)}")
        conn.execute(f"INSERT INTO {table} SELECT * FROM {old}")
        conn.execute(f"DROP TABLE {old}")
        recreate_triggers(table)
