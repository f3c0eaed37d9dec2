"""The background sync agent of `massar node serve`.

Syncs soon after local writes (debounced), and periodically; when the server
cannot be reached it retries with exponential backoff and jitter, and syncs
again as soon as the server answers. It runs in its own thread with its own
database connection, so local work never waits for it.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from pathlib import Path
from typing import Any

from domain.clock import SYSTEM_CLOCK, Clock

from .errors import ServerUnreachable, SyncClientError
from .session import SyncResult, sync_once
from .status import node_status
from .store import NodeStore

log = logging.getLogger(__name__)


class SyncAgent:
    def __init__(
        self,
        folder: Path,
        *,
        interval: float = 300.0,
        debounce: float = 5.0,
        min_backoff: float = 5.0,
        max_backoff: float = 600.0,
        timeout: float = 60.0,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.folder = folder
        self.clock = clock  # stamps the node's edits and requests; scheduling uses time.monotonic
        self.interval, self.debounce = interval, debounce
        self.min_backoff, self.max_backoff = min_backoff, max_backoff
        self.timeout = timeout
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._due = time.monotonic()  # sync once at start
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._failures = 0
        self._requested = False  # a write or a button press since the current sync began
        self.last_result: SyncResult | None = None
        self.syncing = False

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="massar-sync-agent", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def request_sync(self) -> None:
        """Sync now (the staff page's button); never blocks."""
        with self._lock:
            self._due = time.monotonic()
            self._requested = True
        self._wake.set()

    def notify_local_write(self) -> None:
        """A local write happened: sync after a short quiet period, not on every keystroke."""
        with self._lock:
            self._due = min(self._due, time.monotonic() + self.debounce)
            self._requested = True
        self._wake.set()

    def status(self) -> dict[str, Any]:
        store = NodeStore.open(self.folder, clock=self.clock)
        try:
            status = node_status(store)
        finally:
            store.close()
        status["syncing"] = self.syncing
        return status

    def _backoff(self) -> float:
        base = min(self.max_backoff, self.min_backoff * 2 ** min(self._failures - 1, 16))
        return base * random.uniform(0.5, 1.0)  # jitter: schools coming online together don't stampede

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                wait = self._due - time.monotonic()
            if wait > 0:
                self._wake.wait(wait)
                self._wake.clear()
                continue
            with self._lock:
                self._requested = False
            self.syncing = True
            try:
                self.last_result = sync_once(self.folder, timeout=self.timeout, clock=self.clock, daily_cap=True)
                self._failures = 0
                next_due = time.monotonic() + self.interval
            except ServerUnreachable as exc:
                self._failures += 1
                delay = self._backoff()
                next_due = time.monotonic() + delay
                log.info("sync: %s; next try in %.0f s", exc, delay)
            except SyncClientError as exc:
                # Refused (revoked token, wrong version...): an operator must act; retry slowly.
                self._failures += 1
                next_due = time.monotonic() + self.max_backoff
                log.warning("sync refused (%s): %s; next try in %.0f s", exc.code, exc, self.max_backoff)
            except Exception:  # the agent must outlive any single failed sync; sync_once recorded it as last_error
                self._failures += 1
                delay = self._backoff()
                next_due = time.monotonic() + delay
                log.exception("sync failed unexpectedly; next try in %.0f s", delay)
            finally:
                self.syncing = False
            with self._lock:
                if self._requested and self._failures == 0:
                    next_due = min(next_due, time.monotonic() + self.debounce)
                self._due = next_due
