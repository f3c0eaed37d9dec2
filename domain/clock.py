"""The wall clock, injected: every replica reads time through one object.

Production uses `SYSTEM_CLOCK`; tests pass a clock they move by hand, so the
order of events never depends on sleeping. The node's and the centre's
capture triggers read it too, through the SQL function `massar_now_ms()` that
`domain.database.open_database` registers on each connection.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int:
        """Unix time in milliseconds."""
        ...


class SystemClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


SYSTEM_CLOCK: Clock = SystemClock()


def utc_now(clock: Clock) -> dt.datetime:
    return dt.datetime.fromtimestamp(clock.now_ms() / 1000, dt.UTC)


def iso_now(clock: Clock) -> str:
    """The time a person reads in a log or a status page, to the second."""
    return utc_now(clock).isoformat(timespec="seconds")
