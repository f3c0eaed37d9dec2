"""Generic row writes for the synced tables, keyed by their natural keys.

Used by domain services and by sync apply on both replicas, so an edit and a
replicated edit take exactly the same path into the table.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from itertools import chain
from typing import Any

import sqlite_utils

from protocol.tables import BY_NAME, TableSpec


@cache
def _upsert_sql(table: str) -> str:
    spec = BY_NAME[table]
    cols = spec.column_names
    values = spec.value_columns
    # qualified by the table: PostgreSQL finds a bare name ambiguous beside excluded.*
    changed = " OR ".join(f"{table}.{c} IS NOT excluded.{c}" for c in values) or "0"
    sets = ", ".join(f"{c} = excluded.{c}" for c in values)
    return (
        f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)}) "
        f"ON CONFLICT ({', '.join(spec.key)}) DO UPDATE SET {sets} WHERE {changed}"
    )


# Rows a SQLite statement carries at most in `write_many`. One statement per row (`executemany`)
# costs SQLite a statement's start per row, capture triggers' WHEN included: with 500 rows a
# statement, a semester's 24,000 marks are stored in ~80 ms of CPU instead of ~105 (bench row 5a).
_ROWS_PER_STATEMENT = 500


@cache
def _multi_row_sql(sql: str, rows: int) -> str:
    """`sql`, one row's `INSERT ... VALUES (?, ...) [ON CONFLICT ...]`, with its VALUES given `rows` times."""
    head, tail = sql.split(" VALUES ", 1)
    one, rest = tail.split(")", 1)
    return f"{head} VALUES {', '.join([one + ')'] * rows)}{rest}"


def write_many(conn: sqlite3.Connection, sql: str, rows: Sequence[Sequence[Any]], width: int) -> None:
    """`conn.executemany(sql, rows)` for a one-row INSERT of `width` values, in statements of many rows:
    SQLite writes each row of a statement, and fires its triggers, exactly as alone, in order."""
    per = min(_ROWS_PER_STATEMENT, conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // width)
    whole = len(rows) - len(rows) % per if per > 1 else 0
    # Flattened, a row of the wrong length would shift its neighbours' values: refused as executemany does.
    if whole and any(n != width for n in map(len, rows)):
        raise sqlite3.ProgrammingError(f"every row must have {width} values: {sql[:60]}...")
    if whole:
        multi = _multi_row_sql(sql, per)
        for start in range(0, whole, per):
            conn.execute(multi, list(chain.from_iterable(rows[start : start + per])))
    conn.executemany(sql, rows[whole:])


@cache
def _delete_sql(table: str) -> str:
    spec = BY_NAME[table]
    return f"DELETE FROM {table} WHERE " + " AND ".join(f"{k} = ?" for k in spec.key)


def spec(table: str) -> TableSpec:
    return BY_NAME[table]


def as_tuple(table: str, row: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(row.get(c) for c in BY_NAME[table].column_names)


def upsert_rows(db: sqlite_utils.Database, table: str, rows: Iterable[Sequence[Any]]) -> None:
    """Insert or update full rows given in the table's column order; identical rows are left alone.

    On SQLite, many rows go `_ROWS_PER_STATEMENT` to a statement (the same statement with more VALUES:
    a row of a statement is written, and fires its triggers, exactly as alone). Elsewhere (PostgreSQL
    turns an `executemany` of this statement into COPY) and for a few rows, one execution per row."""
    conn = db.conn
    if not isinstance(conn, sqlite3.Connection):
        conn.executemany(_upsert_sql(table), rows)
        return
    write_many(
        conn, _upsert_sql(table), rows if isinstance(rows, list) else list(rows), len(BY_NAME[table].column_names)
    )


def upsert_dicts(db: sqlite_utils.Database, table: str, rows: Iterable[Mapping[str, Any]]) -> None:
    upsert_rows(db, table, (as_tuple(table, r) for r in rows))


def delete_keys(db: sqlite_utils.Database, table: str, keys: Iterable[Sequence[Any]]) -> None:
    db.conn.executemany(_delete_sql(table), keys)
