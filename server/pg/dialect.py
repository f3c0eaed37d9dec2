"""The centre's SQL, written in the dialect SQLite and PostgreSQL mostly share, made PostgreSQL's.

Only a handful of spellings differ in the statements the centre runs, and each
is rewritten here once, cached per statement:

  * `?` parameters become psycopg's `%t` (text format: see database.LooseInt);
  * scalar `max(a, b)` / `min(a, b)` become GREATEST / LEAST (one-argument MAX is
    the aggregate in both and stays);
  * `a IS NOT b` (b not NULL) becomes IS DISTINCT FROM, `a IS b` IS NOT DISTINCT FROM;
  * `(cols) IN (VALUES (?, ?), ...)` becomes `(cols) IN (SELECT * FROM
    unnest(%t::text[], %t::int[]))`, one typed array per column, its
    parameters regrouped by `Statement.arrange`: PostgreSQL types a VALUES
    list of untyped parameters as text (an integer key column cannot be
    compared with it), and plans hundreds of VALUES rows or OR terms slowly
    (7 ms to plan 400 keys, and a filter over every row of the table while
    its statistics lag behind its growth) where an array join takes 0.1 ms.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from protocol.tables import TABLES, ColumnType

_SCALAR = re.compile(r"\b(max|min)\(([^()]*?,[^()]*?)\)", re.IGNORECASE)
_IS_NOT = re.compile(r"\bIS\s+NOT\s+(?!NULL\b|TRUE\b|FALSE\b|DISTINCT\b)", re.IGNORECASE)
_IS = re.compile(r"\bIS\s+(?!NOT\b|NULL\b|TRUE\b|FALSE\b|DISTINCT\b)", re.IGNORECASE)
_ROW_IN_VALUES = re.compile(
    r"\(([\w.]+(?:\s*,\s*[\w.]+)+)\)\s+IN\s+\(VALUES\s+(\((?:\s*\?\s*,?)+\)(?:\s*,\s*\((?:\s*\?\s*,?)+\))*)\s*\)",
    re.IGNORECASE,
)
_ROW = re.compile(r"\((?:\s*\?\s*,?)+\)")
# Key columns holding integers (a mark's semester, a guardian's number); `_versions` key slots are text.
_INT_KEYS = frozenset(t.column_names[i] for t in TABLES for i in t.key_indexes if t.types[i] is ColumnType.INT)


@dataclass(frozen=True)
class Statement:
    """A statement in PostgreSQL's spelling, and how its parameters regroup for its arrays."""

    sql: str
    # (parameters before the list, columns, rows) of a VALUES list turned into arrays, or None
    arrays: tuple[int, int, int] | None = None

    def arrange(self, params: Sequence[Any] | None) -> Sequence[Any] | None:
        if self.arrays is None or params is None:
            return params
        before, width, rows = self.arrays
        listed = params[before : before + width * rows]
        columns = [[_text(v) for v in listed[c::width]] for c in range(width)]
        return [*params[:before], *columns, *params[before + width * rows :]]


def _text(value: Any) -> Any:
    return str(int(value)) if isinstance(value, int) else value


def _array_type(column: str) -> str:
    return "int[]" if column.split(".")[-1] in _INT_KEYS else "text[]"


@lru_cache(maxsize=4096)
def to_postgres(sql: str) -> Statement:
    """The statement as PostgreSQL spells it (no string literal in the centre's SQL holds `?` or `%`)."""
    arrays = None
    match = _ROW_IN_VALUES.search(sql)
    if match:
        columns = [c.strip() for c in match.group(1).split(",")]
        rows = len(_ROW.findall(match.group(2)))
        arrays = (sql[: match.start()].count("?"), len(columns), rows)
        unnest = ", ".join(f"?::{_array_type(c)}" for c in columns)
        sql = f"{sql[: match.start()]}({', '.join(columns)}) IN (SELECT * FROM unnest({unnest})){sql[match.end() :]}"
        if _ROW_IN_VALUES.search(sql):
            raise ValueError("one VALUES list per statement: the centre's SQL has no other shape")
    sql = _SCALAR.sub(lambda m: ("GREATEST" if m.group(1).lower() == "max" else "LEAST") + f"({m.group(2)})", sql)
    sql = _IS_NOT.sub("IS DISTINCT FROM ", sql)
    sql = _IS.sub("IS NOT DISTINCT FROM ", sql)
    return Statement(sql.replace("%", "%%").replace("?", "%t"), arrays)
