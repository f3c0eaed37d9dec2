"""How much one authenticated school may push: per request and per day.

A frame's constant columns let a few kilobytes announce 100,000 rows of
2,000 characters each (400 MB of text, minutes holding the write lock). What
a push decodes to is therefore bounded before anything is written: rows and
text per request (a node's chunks never come near: 64 KiB frames, at most
30,000 changes), and rows and text per school per UTC day (a whole school's
year of records is ~100,000 rows). Beyond a request's allowance the push is
refused (`too_much_data`, 413); beyond the day's, it waits for the next day
(`daily_quota`, 429) and the node shows why in its status.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain, groupby
from operator import attrgetter, itemgetter

import sqlite_utils

from protocol.records import Change
from protocol.tables import BY_NAME, ColumnType

from .errors import DailyQuota, TooMuchData

_INT_BYTES = 8  # what an integer value costs once stored


@dataclass(frozen=True)
class IngestLimits:
    request_rows: int = 30_000
    request_bytes: int = 16 * 1024 * 1024
    day_rows: int = 1_000_000
    day_bytes: int = 512 * 1024 * 1024


DEFAULT_INGEST = IngestLimits()

_TEXT_COLUMNS = {
    t.name: tuple(i for i, kind in enumerate(t.types) if kind is not ColumnType.INT) for t in BY_NAME.values()
}
_INT_COUNT = {t.name: sum(1 for kind in t.types if kind is ColumnType.INT) for t in BY_NAME.values()}


def decoded_size(changes: Sequence[Change]) -> int:
    """Bytes the rows decode to: every text value counted for every row it fills (UTF-8 at most 4 a char).

    Iterates in C (map, chain, filter): a 26,000-change push costs a few milliseconds."""
    total = 0
    for table, group in groupby(changes, key=attrgetter("table")):
        rows = [c.row for c in group]
        present = [r for r in rows if r is not None]
        total += 64 * (len(rows) - len(present))  # tombstones: their keys
        total += _INT_COUNT[table] * _INT_BYTES * len(present)
        text = _TEXT_COLUMNS[table]
        if text:
            pick = itemgetter(*text) if len(text) > 1 else (lambda r, i=text[0]: (r[i],))
            total += sum(map(len, filter(None, chain.from_iterable(map(pick, present)))))
    return total


def check_request(changes: Sequence[Change], limits: IngestLimits) -> int:
    """The push's decoded size, if one request may carry it; TooMuchData otherwise."""
    if len(changes) > limits.request_rows:
        raise TooMuchData(f"{len(changes)} changes in one request; at most {limits.request_rows}")
    size = decoded_size(changes)
    if size > limits.request_bytes:
        raise TooMuchData(
            f"the changes decode to {size // 2**20} MiB; one request may carry {limits.request_bytes // 2**20} MiB"
        )
    return size


def charge_day(db: sqlite_utils.Database, school: str, day: str, rows: int, size: int, limits: IngestLimits) -> None:
    """Count this push against the school's day, in the caller's write transaction (undone with it)."""
    used = db.execute("SELECT rows, bytes FROM _intake_days WHERE school = ? AND day = ?", [school, day]).fetchone()
    used_rows, used_bytes = used if used else (0, 0)
    if used_rows + rows > limits.day_rows or used_bytes + size > limits.day_bytes:
        raise DailyQuota(
            f"school {school} has pushed {used_rows} changes ({used_bytes // 2**20} MiB) today; a day allows "
            f"{limits.day_rows} ({limits.day_bytes // 2**20} MiB): the rest goes tomorrow"
        )
    db.conn.execute(
        "INSERT INTO _intake_days (school, day, rows, bytes) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (school, day) DO UPDATE SET rows = _intake_days.rows + excluded.rows, "
        "bytes = _intake_days.bytes + excluded.bytes",
        [school, day, rows, size],
    )
