"""Small SQL builders for PostgreSQL: key slots as text, typed key arrays for `unnest`."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import psycopg

from protocol.records import Value
from protocol.tables import ColumnType, TableSpec

from .schema import KEY_SLOTS

_PG_TYPE = {ColumnType.INT: "int[]", ColumnType.STR: "text[]", ColumnType.DATE: "text[]"}


def key_slots(spec: TableSpec, key: tuple) -> tuple[str, ...]:
    """A record's key as `_versions` stores it: one text slot per key column, '' for unused slots."""
    return (*(str(v) for v in key), *("",) * (KEY_SLOTS - len(key)))


def typed_key(spec: TableSpec, slots: tuple) -> tuple[Value, ...]:
    """The inverse of key_slots, with the key columns' types."""
    types = [spec.types[i] for i in spec.key_indexes]
    return tuple(int(s) if t is ColumnType.INT else s for t, s in zip(types, slots, strict=False))


@cache
def keys_in(spec: TableSpec) -> str:
    """`(key columns) IN (...)`, taking one array parameter per key column."""
    arrays = ", ".join(f"%s::{_PG_TYPE[spec.types[i]]}" for i in spec.key_indexes)
    return f"({', '.join(spec.key)}) IN (SELECT * FROM unnest({arrays}))"


@cache
def upsert_sql(table: str) -> str:
    """Insert or update whole rows (`%s` parameters in column order); identical rows are left alone."""
    from protocol.tables import BY_NAME

    spec = BY_NAME[table]
    values = spec.value_columns
    sets = ", ".join(f"{c} = excluded.{c}" for c in values)
    changed = " OR ".join(f"{table}.{c} IS DISTINCT FROM excluded.{c}" for c in values) or "false"
    return (
        f"INSERT INTO {table} ({', '.join(spec.column_names)}) VALUES ({', '.join(['%s'] * len(spec.columns))}) "
        f"ON CONFLICT ({', '.join(spec.key)}) DO UPDATE SET {sets} WHERE {changed}"
    )


def scalar(cur: psycopg.Cursor[Any]) -> Any:
    """The first column of the one row a query must return (an aggregate, the clock)."""
    row = cur.fetchone()
    if row is None:
        raise RuntimeError("the query returned no row")
    return row[0]


class SqlReader:
    """Enough of sqlite_utils.Database for the domain's portable read queries: `?` parameters, cursors."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor:
        return self.conn.execute(sql.replace("%", "%%").replace("?", "%s"), params)
