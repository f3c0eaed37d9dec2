"""The unit of replication: one row version of one synced table."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Final, NamedTuple, TypeAlias

from .errors import MessageError
from .tables import BY_NAME, TableSpec

__all__ = ["Change", "Value", "change_from_fields", "key_of", "table_spec"]

Value: TypeAlias = int | str | None
"""A column value: INT -> int, STR -> str, DATE -> 'YYYY-MM-DD' str; None is NULL."""


class Change(NamedTuple):
    """A row upsert (``row`` set) or delete (``row is None``) from ``origin``.

    ``key`` holds the key column values in the table's key order; ``row``
    all column values in the table's column order. ``seq`` numbers the
    origin's changes from 1; ``base`` (push) is the server version the edit
    was made on, ``sseq`` (pull) the server's version of this record.
    """

    table: str
    key: tuple[Value, ...]
    row: tuple[Value, ...] | None
    origin: str
    seq: int
    hlc: int
    base: int = 0
    sseq: int = 0

    @property
    def is_delete(self) -> bool:
        return self.row is None


change_from_fields: Final[Callable[[tuple[object, ...]], Change]] = partial(tuple.__new__, Change)
"""A Change from the tuple of its eight fields, built in C: mapped over a zip of columns it builds a
batch's changes with no Python step per change (NamedTuple's own constructor is a Python function)."""


def table_spec(table: str) -> TableSpec:
    """The registry entry of ``table``; MessageError if it is not synced."""
    try:
        return BY_NAME[table]
    except KeyError:
        raise MessageError(f"not a synced table: {table!r}") from None


def key_of(table: str, row: tuple[Value, ...]) -> tuple[Value, ...]:
    """The key column values of a full ``row`` of ``table``."""
    spec = table_spec(table)
    if len(row) != len(spec.columns):
        raise MessageError(f"{table}: row has {len(row)} values, expected {len(spec.columns)}")
    return tuple(row[i] for i in spec.key_indexes)
