"""Can this row travel? One row checked against its table's column types and the wire limits.

The codecs refuse a whole batch when one value does not fit (a float in an
INT column, a string over `max_string_chars`). A writer that checks rows one
by one first can refuse or set aside just the bad ones.
"""

from __future__ import annotations

from collections.abc import Sequence

from .columns import INT_MAX, INT_MIN
from .dates import iso_to_day
from .errors import MessageError
from .limits import DEFAULT_LIMITS, Limits
from .tables import ColumnType, TableSpec

__all__ = ["row_problems", "value_problem"]


def value_problem(kind: ColumnType, value: object, limits: Limits = DEFAULT_LIMITS) -> str | None:
    """Why `value` cannot travel in a column of type `kind`, or None if it can (NULL always can)."""
    if value is None:
        return None
    if kind is ColumnType.INT:
        if isinstance(value, bool) or not isinstance(value, int):
            return f"must be a whole number, not {_shown(value)}"
        if not INT_MIN <= value <= INT_MAX:
            return "is outside the signed 64-bit range"
        return None
    if not isinstance(value, str):
        return f"must be text, not {_shown(value)}"
    if kind is ColumnType.STR:
        if len(value) > limits.max_string_chars:
            return f"is {len(value)} characters long; at most {limits.max_string_chars} travel to the schools"
        return None
    try:
        iso_to_day(value)
    except MessageError as exc:
        return str(exc)
    return None


def row_problems(spec: TableSpec, row: Sequence[object], limits: Limits = DEFAULT_LIMITS) -> list[str]:
    """Every reason the row (in wire column order) cannot travel: `column: problem`."""
    if len(row) != len(spec.columns):
        return [f"has {len(row)} values for {len(spec.columns)} columns"]
    problems = []
    for i, (column, value) in enumerate(zip(spec.columns, row, strict=True)):
        if value is None and i in spec.key_indexes:
            problems.append(f"{column.name}: is empty but is part of the key")
            continue
        problem = value_problem(column.type, value, limits)
        if problem:
            problems.append(f"{column.name}: {problem}")
    return problems


def _shown(value: object) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:40]}{'…' if len(text) > 40 else ''}"
