"""The centre's SQL, written in the dialect SQLite and PostgreSQL mostly share, made PostgreSQL's.

Only a handful of spellings differ in the statements the centre runs, and each
is rewritten here once, cached per statement:

  * `?` parameters become psycopg's `%t` (text format: see database.LooseInt);
  * scalar `max(a, b)` / `min(a, b)` become GREATEST / LEAST (one-argument MAX is
    the aggregate in both and stays);
  * `a IS NOT b` (b not NULL) becomes IS DISTINCT FROM, `a IS b` IS NOT DISTINCT FROM;
  * `(cols) IN (VALUES (?, ?), ...)` over typed domain columns becomes
    `((cols) = (?, ?) OR ...)`: PostgreSQL types a VALUES list of untyped
    parameters as text, and an integer key column (a mark's semester) cannot be
    compared with text. Over `_versions` key slots (text) the VALUES form stays.
"""

from __future__ import annotations

import re
from functools import lru_cache

_SCALAR = re.compile(r"\b(max|min)\(([^()]*?,[^()]*?)\)", re.IGNORECASE)
_IS_NOT = re.compile(r"\bIS\s+NOT\s+(?!NULL\b|TRUE\b|FALSE\b|DISTINCT\b)", re.IGNORECASE)
_IS = re.compile(r"\bIS\s+(?!NOT\b|NULL\b|TRUE\b|FALSE\b|DISTINCT\b)", re.IGNORECASE)
_ROW_IN_VALUES = re.compile(
    r"\(([\w.]+(?:\s*,\s*[\w.]+)+)\)\s+IN\s+\(VALUES\s+(\((?:\s*\?\s*,?)+\)(?:\s*,\s*\((?:\s*\?\s*,?)+\))*)\s*\)",
    re.IGNORECASE,
)
_ROW = re.compile(r"\((?:\s*\?\s*,?)+\)")
_KEY_SLOT = re.compile(r"^(\w+\.)?k[1-5]$")


def _expand_row_in(match: re.Match[str]) -> str:
    columns = [c.strip() for c in match.group(1).split(",")]
    if all(_KEY_SLOT.match(c) for c in columns):
        return match.group(0)
    rows = _ROW.findall(match.group(2))
    return "(" + " OR ".join(f"({', '.join(columns)}) = {row}" for row in rows) + ")"


@lru_cache(maxsize=4096)
def to_postgres(sql: str) -> str:
    """The statement as PostgreSQL spells it (no string literal in the centre's SQL holds `?` or `%`)."""
    sql = _ROW_IN_VALUES.sub(_expand_row_in, sql)
    sql = _SCALAR.sub(lambda m: ("GREATEST" if m.group(1).lower() == "max" else "LEAST") + f"({m.group(2)})", sql)
    sql = _IS_NOT.sub("IS DISTINCT FROM ", sql)
    sql = _IS.sub("IS NOT DISTINCT FROM ", sql)
    return sql.replace("%", "%%").replace("?", "%t")
