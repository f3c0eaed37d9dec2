"""A closed school year is read-only on the node: triggers refuse local writes to it.

Rows applied from the centre still pass (the centre's corrections must reach
the school), which is why the guard checks the `applying` flag like change
capture does. `_closed_years` is node-local and keeps each year's digest as
computed when the next year opened.
"""

from __future__ import annotations

import sqlite_utils

from .database import YEAR_CLOSED, execute_script
from .year_end import DAY_TABLES, YEAR_TABLES

_LOCAL = "(SELECT applying FROM _clock) = 0"


def _guard(table: str, ref: str, op: str, by_day: bool) -> str:
    if by_day:
        closed = f"EXISTS (SELECT 1 FROM _closed_years WHERE {ref}.day BETWEEN first_day AND last_day)"
    else:
        closed = f"{ref}.year IN (SELECT year FROM _closed_years)"
    return f"""
CREATE TRIGGER _closed_{table}_{op.lower()} BEFORE {op} ON {table} WHEN {_LOCAL} AND {closed}
BEGIN
  SELECT RAISE(ABORT, '{YEAR_CLOSED}: the records of a closed school year are read-only');
END;"""


def install_year_guard(db: sqlite_utils.Database) -> None:
    """Node, step 8: the closed years and the triggers that keep them read-only (idempotent)."""
    for (name,) in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '\\_closed\\_%' ESCAPE '\\'"
    ).fetchall():
        db.conn.execute(f'DROP TRIGGER "{name}"')
    sql = """
CREATE TABLE IF NOT EXISTS _closed_years (
    year TEXT PRIMARY KEY,
    first_day TEXT NOT NULL,
    last_day TEXT NOT NULL,
    digest TEXT NOT NULL,
    closed_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%S', 'now'))
);"""
    for table in (*YEAR_TABLES, *DAY_TABLES):
        by_day = table in DAY_TABLES
        sql += _guard(table, "NEW", "INSERT", by_day)
        sql += _guard(table, "OLD", "UPDATE", by_day) + _guard(table, "NEW", "UPDATE", by_day).replace(
            f"_closed_{table}_update", f"_closed_{table}_update_into"
        )
        sql += _guard(table, "OLD", "DELETE", by_day)
    execute_script(db, sql)
