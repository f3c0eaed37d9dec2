"""A clock the test moves by hand, so the order of two events never depends on sleeping."""

from __future__ import annotations

import threading
import time


class ManualClock:
    """Starts at the real time (dates in tests stay plausible) and moves only when told to."""

    def __init__(self, start_ms: int | None = None) -> None:
        self._now = time.time_ns() // 1_000_000 if start_ms is None else start_ms
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        with self._lock:
            return self._now

    def advance(self, ms: int = 1) -> int:
        with self._lock:
            self._now += ms
            return self._now
