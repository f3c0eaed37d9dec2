"""One hash of a replica's database, for "a refused request changes nothing" assertions."""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

# What a refused request may legitimately move on the centre: the spent counter, the error shown to operators.
CENTRAL_VOLATILE: Mapping[str, Collection[str]] = {"_devices": ("last_counter", "last_error", "last_sync")}
# Node settings a failed sync attempt moves without applying anything.
NODE_VOLATILE_SETTINGS = ("request_counter", "chunk_budget", "last_error", "last_error_at", "last_sync")


def database_digest(
    path: Path,
    *,
    skip_columns: Mapping[str, Collection[str]] | None = None,
    skip_settings: Collection[str] = (),
) -> str:
    """A SHA-256 of every row of every table (order-free), minus the named volatile columns and `_node` settings."""
    skip_columns = skip_columns or {}
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        h = hashlib.sha256()
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        for name in names:
            cols = [r[1] for r in conn.execute(f"PRAGMA table_info({name})") if r[1] not in skip_columns.get(name, ())]
            sql, params = f"SELECT {', '.join(cols)} FROM {name}", list(skip_settings)
            if name == "_node" and params:
                sql += f" WHERE k NOT IN ({', '.join('?' * len(params))})"
            else:
                params = []
            h.update(name.encode())
            for row in sorted(repr(r) for r in conn.execute(sql, params)):
                h.update(row.encode())
        return h.hexdigest()
    finally:
        conn.close()


def central_digest(path: Path | str) -> str:
    """The centre's digest: its SQLite file, or its PostgreSQL database (a postgresql:// URL)."""
    if isinstance(path, str) and path.startswith("postgresql://"):
        return postgres_digest(path, skip_columns=CENTRAL_VOLATILE)
    return database_digest(Path(path), skip_columns=CENTRAL_VOLATILE)


def postgres_digest(dsn: str, *, skip_columns: Mapping[str, Collection[str]]) -> str:
    """database_digest for a PostgreSQL centre: every row of every table of the public schema."""
    import psycopg

    with psycopg.connect(dsn) as conn:
        h = hashlib.sha256()
        names = [
            r[0]
            for r in conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY c.relname"
            )
        ]
        for name in names:
            cols = [
                r[0]
                for r in conn.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
                    "AND table_name = %s ORDER BY ordinal_position",
                    [name],
                )
                if r[0] not in skip_columns.get(name, ())
            ]
            h.update(name.encode())
            for row in sorted(repr(r) for r in conn.execute(f"SELECT {', '.join(cols)} FROM {name}")):
                h.update(row.encode())
        return h.hexdigest()


def node_digest(path: Path) -> str:
    return database_digest(path, skip_settings=NODE_VOLATILE_SETTINGS)


def school_digest(path: Path | str, school: str) -> str:
    """A SHA-256 of one school's synced rows (order-free): equal on the centre and every device that converged.

    `path`: a node's or the centre's SQLite file, or the centre's postgresql:// URL."""
    from protocol.tables import TABLES

    h = hashlib.sha256()
    on_postgres = isinstance(path, str) and path.startswith("postgresql://")
    with contextlib.ExitStack() as stack:
        if on_postgres:
            import psycopg

            conn: Any = stack.enter_context(psycopg.connect(str(path)))
        else:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            stack.callback(conn.close)
        mark = "%s" if on_postgres else "?"
        for spec in (t for t in TABLES if not t.national):
            sql = f"SELECT {', '.join(spec.column_names)} FROM {spec.name} WHERE school = {mark}"
            h.update(spec.name.encode())
            for row in sorted(repr(tuple(r)) for r in conn.execute(sql, [school])):
                h.update(row.encode())
    return h.hexdigest()
