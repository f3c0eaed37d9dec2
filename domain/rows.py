"""Generic row writes for the synced tables, keyed by their natural keys.

Used by domain services and by sync apply on both replicas, so an edit and a
replicated edit take exactly the same path into the table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cache
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


@cache
def _delete_sql(table: str) -> str:
    spec = BY_NAME[table]
    return f"DELETE FROM {table} WHERE " + " AND ".join(f"{k} = ?" for k in spec.key)


def spec(table: str) -> TableSpec:
    return BY_NAME[table]


def as_tuple(table: str, row: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(row.get(c) for c in BY_NAME[table].column_names)


def upsert_rows(db: sqlite_utils.Database, table: str, rows: Iterable[Sequence[Any]]) -> None:
    """Insert or update full rows given in the table's column order; identical rows are left alone."""
    db.conn.executemany(_upsert_sql(table), rows)


def upsert_dicts(db: sqlite_utils.Database, table: str, rows: Iterable[Mapping[str, Any]]) -> None:
    upsert_rows(db, table, (as_tuple(table, r) for r in rows))


def delete_keys(db: sqlite_utils.Database, table: str, keys: Iterable[Sequence[Any]]) -> None:
    db.conn.executemany(_delete_sql(table), keys)
