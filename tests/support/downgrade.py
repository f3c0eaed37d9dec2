"""Turn a replica file of the latest schema into one of an earlier migration step.

Upgrade tests need a file "of the previous release" holding data. Rather than
keep one hand-written old shape per test (which breaks as soon as a later
step is added), the file is compared with a fresh file migrated to the
wanted step only: whatever is not in that reference is dropped, a table
whose columns grew since is rebuilt with the reference's columns, its rows
kept, and a table a later step dropped is made again, empty.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from domain.database import migrate, open_database, register_clock
from domain.migrations import STEPS
from domain.replication import Side


def _objects(conn: sqlite3.Connection) -> dict[tuple[str, str], str]:
    rows = conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND sql IS NOT NULL"
    ).fetchall()
    return {(kind, name): sql for kind, name, sql in rows}


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]


def downgrade(path: Path, side: Side, version: int) -> None:
    reference_path = path.with_name(f"reference-{version}.sqlite")
    reference = open_database(reference_path)
    migrate(reference, [step.on(side) for step in STEPS[:version]])
    wanted = _objects(reference.conn)
    wanted_columns = {name: _columns(reference.conn, name) for kind, name in wanted if kind == "table"}
    reference.conn.close()

    conn = sqlite3.connect(path, isolation_level=None)
    register_clock(conn)
    try:
        conn.execute("BEGIN")
        for (kind, name), _sql in _objects(conn).items():
            if kind in ("trigger", "view") and (kind, name) not in wanted:
                conn.execute(f'DROP {kind} "{name}"')
        for (kind, name), _sql in _objects(conn).items():
            if kind == "table" and (kind, name) not in wanted:
                conn.execute(f'DROP TABLE "{name}"')
            elif kind == "table" and _columns(conn, name) != wanted_columns[name]:
                keep = ", ".join(f'"{c}"' for c in wanted_columns[name] if c in _columns(conn, name))
                conn.execute(f'ALTER TABLE "{name}" RENAME TO "_old_{name}"')
                conn.execute(wanted[("table", name)])
                conn.execute(f'INSERT INTO "{name}" ({keep}) SELECT {keep} FROM "_old_{name}"')
                conn.execute(f'DROP TABLE "_old_{name}"')
        # A table a later step dropped (its rows moved elsewhere) comes back empty.
        for (kind, name), sql in wanted.items():
            if kind == "table" and (kind, name) not in _objects(conn):
                conn.execute(sql)
        for (kind, name), sql in wanted.items():
            if (kind, name) not in _objects(conn) and kind in ("trigger", "index", "view"):
                conn.execute(sql)
        conn.execute(f"PRAGMA user_version = {version}")
        conn.execute("COMMIT")
    finally:
        conn.close()
