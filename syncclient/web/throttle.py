"""Slowing down password guessing without letting anyone lock others out.

Failed logins add a growing delay (1 s, 2 s, 4 s... up to a cap) after a few
free attempts, never a hard lock: the owner of an account waits seconds, not
the rest of the day. Three counters, each with its own allowance:

  * the account tried (whoever tries it, from wherever);
  * the client address, for parents' logins (the shared parents' terminal: one
    family's typos must not hold up the next family for long);
  * the client address, for staff logins (so parents at that terminal never
    slow down the secretary, and the other way round).

The client address is the TCP peer; `X-Forwarded-For` counts only when the
peer is a configured reverse proxy (`trusted_proxies`), otherwise anyone could
rotate it to escape the limit. Memory only, bounded: a restart forgets.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass

from starlette.requests import Request


@dataclass(frozen=True)
class Allowance:
    free: int  # failures allowed before any delay
    cap: float  # the longest delay, seconds


@dataclass(frozen=True)
class Wait:
    """Who is slowed down (`account`, `parents_here`, `staff_here`) and for how many more seconds."""

    who: str
    seconds: int


ACCOUNT = Allowance(free=3, cap=300.0)
PARENTS_HERE = Allowance(free=30, cap=30.0)
STAFF_HERE = Allowance(free=10, cap=120.0)
FORGET_AFTER = 900.0  # seconds without a failure: the counter starts again


class LoginThrottle:
    def __init__(
        self,
        *,
        account: Allowance = ACCOUNT,
        parents_here: Allowance = PARENTS_HERE,
        staff_here: Allowance = STAFF_HERE,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        self.allowances = {"account": account, "parents_here": parents_here, "staff_here": staff_here}
        self.clock, self.max_keys = clock, max_keys
        self._failures: dict[tuple[str, str], tuple[int, float]] = {}
        self._lock = threading.Lock()

    def _keys(self, account: str, client: str, parent: bool) -> list[tuple[str, str]]:
        return [("account", account.lower()), ("parents_here" if parent else "staff_here", client)]

    def _delay(self, kind: str, failures: int) -> float:
        allowance = self.allowances[kind]
        if failures <= allowance.free:
            return 0.0
        return min(2.0 ** (failures - allowance.free - 1), allowance.cap)

    def wait(self, account: str, client: str, *, parent: bool) -> Wait | None:
        """The longest delay still running for this attempt, None when it may go ahead."""
        now = self.clock()
        longest: Wait | None = None
        with self._lock:
            for key in self._keys(account, client, parent):
                failures, last = self._failures.get(key, (0, 0.0))
                left = last + self._delay(key[0], failures) - now
                if left > 0 and (longest is None or left > longest.seconds):
                    longest = Wait(key[0], max(1, round(left + 0.49)))
        return longest

    def failed(self, account: str, client: str, *, parent: bool) -> None:
        now = self.clock()
        with self._lock:
            if len(self._failures) >= self.max_keys:  # a flood of names: forget the stale ones
                for key in [k for k, (_, last) in self._failures.items() if now - last > FORGET_AFTER]:
                    del self._failures[key]
                if len(self._failures) >= self.max_keys:
                    self._failures.clear()
            for key in self._keys(account, client, parent):
                failures, last = self._failures.get(key, (0, now))
                if now - last > FORGET_AFTER:
                    failures = 0
                self._failures[key] = (failures + 1, now)

    def succeeded(self, account: str) -> None:
        with self._lock:
            self._failures.pop(("account", account.lower()), None)


def client_address(request: Request, trusted_proxies: Collection[str]) -> str:
    """The peer's address, or the address a trusted reverse proxy says it forwarded for."""
    peer = request.client.host if request.client else "unknown"
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded and peer in trusted_proxies:
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        # the last hop is the one our proxy added; earlier ones are the client's to invent
        if hops:
            return hops[-1][:64]
    return peer
