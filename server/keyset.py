"""Many records looked up by key in one statement, one index probe per key whatever the table's size.

`(cols) IN (VALUES (?, ?), ...)` reads well but SQLite does not search an index with a row value
IN a VALUES list: it scanned every version of the table (every mark of the country) for each 400
keys, so ingest slowed down as the centre grew (15x slower with a few hundred thousand versions
than on an empty centre) and a pull page scanned the whole table of each kind of row it sent.
Here the keys are joined instead, the keys' side first (`CROSS JOIN` keeps SQLite to that order):
  * SQLite: the keys go into a temporary table of this connection (`domain.rows.write_many`), emptied after;
  * PostgreSQL: one array per column, `unnest`ed (no temporary table, nothing to empty).

A statement names the keys' side `{keys}`, before any other parameter, and its columns `p.c0`, `p.c1`...
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import sqlite_utils

from domain.rows import write_many
from protocol.tables import ColumnType, TableSpec

KEYS = "{keys}"


# transaction-local (outside a transaction, for the statement alone: harmless, and then unused)
_JOIN_BY_INDEX_ONLY = (
    "SELECT set_config('enable_hashjoin', '{enabled}', true), set_config('enable_mergejoin', '{enabled}', true)"
)


def _is_postgres(db: sqlite_utils.Database) -> bool:
    return getattr(db, "backend", "sqlite") == "postgresql"


_QUOTED = str.maketrans({"\\": "\\\\", '"': '\\"'})


def _array_literal(values: Sequence[Any]) -> str:
    """`{"a","b"}`: one parameter, built in C-speed string operations (psycopg dumps a list item by item)."""
    return "{" + ",".join(['"' + str(v).translate(_QUOTED) + '"' for v in values]) + "}"


def joined(
    db: sqlite_utils.Database,
    sql: str,
    keys: Sequence[Sequence[Any]],
    types: Sequence[ColumnType],
    params: Sequence[Any] = (),
) -> list[Any]:
    """Rows of `sql`, whose `{keys}` is the table `p (c0, c1, ...)` of `keys` (each of `len(types)` values,
    typed as `types` say: PostgreSQL compares a key slot of `_versions`, text, with text only), then `params`."""
    if not keys:
        return []
    width = len(types)
    if _is_postgres(db):
        arrays = ", ".join(f"?::{'bigint' if t is ColumnType.INT else 'text'}[]" for t in types)
        columns = ", ".join(f"c{i}" for i in range(width))
        statement = sql.replace(KEYS, f"unnest({arrays}) AS p ({columns})")
        arrays_params = [_array_literal([k[i] for k in keys]) for i in range(width)]
        # The planner hashed the keys against every version of the table (linear in the centre's size
        # again): probing the index key by key is right whatever the sizes, so it is the only join left.
        with cast(Any, db.conn).raw.pipeline():  # one round trip for the three statements (a PgConnection)
            db.execute(_JOIN_BY_INDEX_ONLY.format(enabled="off"))
            try:
                found = db.execute(statement, [*arrays_params, *params])
            finally:
                db.execute(_JOIN_BY_INDEX_ONLY.format(enabled="on"))
        return found.fetchall()
    table = f"temp._keys{width}"
    db.conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS _keys{width} ({', '.join(f'c{i}' for i in range(width))})")
    write_many(db.conn, f"INSERT INTO {table} VALUES ({', '.join('?' * width)})", keys, width)
    try:
        return db.execute(sql.replace(KEYS, f"{table} p"), list(params)).fetchall()
    finally:
        db.conn.execute(f"DELETE FROM {table}")


def key_match(spec: TableSpec, alias: str, first: int = 0) -> str:
    """`alias.key_col = p.cN AND ...` for the table's key columns, from `p.c{first}` on."""
    return " AND ".join(f"{alias}.{col} = p.c{first + i}" for i, col in enumerate(spec.key))


def key_types(spec: TableSpec) -> tuple[ColumnType, ...]:
    return tuple(spec.types[i] for i in spec.key_indexes)


def rows_of_keys(db: sqlite_utils.Database, spec: TableSpec, keys: Sequence[Sequence[Any]]) -> dict[tuple, tuple]:
    """The current rows of `spec`'s table at these keys (one statement), keyed by their key values."""
    key_idx = spec.key_indexes
    columns = ", ".join(f"t.{c}" for c in spec.column_names)
    rows = joined(
        db, f"SELECT {columns} FROM {KEYS} CROSS JOIN {spec.name} t WHERE {key_match(spec, 't')}", keys, key_types(spec)
    )
    return {tuple(row[i] for i in key_idx): tuple(row) for row in rows}
