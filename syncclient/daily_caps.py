"""A daily byte cap for a prepaid link (`massar node config --daily-bytes N`), honoured by the sync agent.

The node's settings keep the cap (`daily_bytes`, absent = no cap) and what
today's syncs spent (`bytes_day`, `bytes_used`); the day is the node's clock's
UTC date, so a day rolls over once, wherever the PC's clock is set.
"""

from __future__ import annotations

import re

from domain.database import write_transaction
from domain.errors import InvalidInput
from domain.grades import ascii_number

from .store import NodeStore


def _today(store: NodeStore) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(store.clock.now_ms() / 1000, dt.UTC).date().isoformat()


def used_today(store: NodeStore) -> int:
    return int(store.setting("bytes_used", 0)) if store.setting("bytes_day") == _today(store) else 0


def daily_cap(store: NodeStore) -> int | None:
    value = store.setting("daily_bytes")
    return None if value in (None, "") else int(value)


def set_daily_cap(store: NodeStore, value: int | None) -> None:
    if value is not None and value < 0:
        raise InvalidInput("--daily-bytes must be 0 or more (0 removes the cap)", code="bad_daily_bytes")
    with write_transaction(store.db):
        store.set_setting("daily_bytes", value or None)


MAX_DAILY_BYTES = 10**10  # 10 GB: a day's cap beyond it is a typing slip, not a plan
_KILOBYTES = re.compile(r"[0-9]{1,8}(\.[0-9]{1,3})?")


def parse_kilobytes(text: str) -> int | None:
    """The cap as the sync page takes it: kilobytes (1 KB = 1,000 bytes, as operators sell data), Latin or
    Arabic digits, a comma or a dot; empty or 0 is no cap. Returns bytes (None: no cap)."""
    value = ascii_number(text)
    if not value:
        return None
    if not _KILOBYTES.fullmatch(value):
        raise InvalidInput(f"daily cap {text!r} is not a number of kilobytes", code="bad_daily_cap")
    bytes_ = round(float(value) * 1000)
    if bytes_ > MAX_DAILY_BYTES:
        raise InvalidInput(f"daily cap {text!r} is over {MAX_DAILY_BYTES // 1000} KB", code="bad_daily_cap")
    return bytes_ or None


def kilobytes(value: int | None) -> str:
    """Bytes as the page writes kilobytes: `20`, `19.5`."""
    return "" if value is None else f"{value / 1000:.3f}".rstrip("0").rstrip(".")


def budget_left(store: NodeStore, budget: int | None) -> int | None:
    """The smaller of `budget` and what today's cap leaves (None: no limit)."""
    cap = daily_cap(store)
    if cap is None:
        return budget
    left = max(0, cap - used_today(store))
    return left if budget is None else min(budget, left)


def record_usage(store: NodeStore, spent: int) -> None:
    today = _today(store)
    with write_transaction(store.db):
        store.set_setting("bytes_used", used_today(store) + spent)
        store.set_setting("bytes_day", today)
