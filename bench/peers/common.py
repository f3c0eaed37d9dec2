"""What both peers share: reading the node's records, tracking what changed, gzip JSON over httpx.

The peers read the very rows our node holds (the school node's SQLite file), so
every system in a scenario moves the same records. Finding what changed since
the last sync is a local matter for every system (PouchDB has its local changes
feed, a REST client its `updated_at` column): peers do it in `prepare()`, before
the clock starts, so it costs them neither bytes nor wall time.

Generosity to the peers, on purpose (a benchmark that beats a straw man proves
nothing): JSON omits null fields, clients send httpx's default headers plus one
authorization header, nothing else.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterable, Iterator
from typing import Any

import httpx
import sqlite_utils

from protocol.tables import BY_NAME, TABLES

# School-owned tables that a school node uploads; the registry lists them in dependency order.
SCHOOL_TABLES = tuple(t.name for t in TABLES if not t.national)

Key = tuple[str, tuple[Any, ...]]


def read_rows(
    db: sqlite_utils.Database, school: str, tables: Iterable[str] = SCHOOL_TABLES
) -> Iterator[tuple[str, dict]]:
    """Every row of the school's synced tables as (table, {column: value}) without null values."""
    for table in tables:
        cols = BY_NAME[table].column_names
        sql = f"SELECT {', '.join(cols)} FROM {table} WHERE school = ? ORDER BY {', '.join(BY_NAME[table].key)}"
        for values in db.execute(sql, [school]).fetchall():
            yield table, {c: v for c, v in zip(cols, values, strict=True) if v is not None}


def row_key(table: str, row: dict) -> tuple[Any, ...]:
    return tuple(row[k] for k in BY_NAME[table].key)


def digest(row: dict) -> str:
    return hashlib.md5(json.dumps(row, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class ChangeTracker:
    """Remembers the content of every record as last synced; `changes()` lists what differs now."""

    def __init__(self) -> None:
        self.synced: dict[Key, str] = {}

    def changes(self, db: sqlite_utils.Database, school: str) -> list[tuple[str, dict, str]]:
        out = []
        for table, row in read_rows(db, school):
            h = digest(row)
            if self.synced.get((table, row_key(table, row))) != h:
                out.append((table, row, h))
        return out

    def mark(self, table: str, row: dict, h: str) -> None:
        self.synced[(table, row_key(table, row))] = h


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def gzip_json(value: Any) -> bytes:
    return gzip.compress(dumps(value), compresslevel=6, mtime=0)


async def read_json(request: Any) -> Any:
    """A Starlette request's JSON body, gzip-encoded or not."""
    body = await request.body()
    if request.headers.get("content-encoding", "").lower() == "gzip":
        body = gzip.decompress(body)
    return json.loads(body) if body else None


def post_gzip_json(client: httpx.Client, url: str, value: Any, **kwargs: Any) -> httpx.Response:
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip", **kwargs.pop("headers", {})}
    return client.post(url, content=gzip_json(value), headers=headers, **kwargs)


def put_gzip_json(client: httpx.Client, url: str, value: Any) -> httpx.Response:
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    return client.put(url, content=gzip_json(value), headers=headers)
