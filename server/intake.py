"""Reading request bodies when anyone on the network can open a connection.

The signature covers the body, so a body must be read before it can be
trusted. What bounds the cost of a stranger's bytes:

  * the headers are checked first (school registered, not revoked, counter
    fresh: `exchange.precheck`), so a fake header costs no body read;
  * the body must declare its length (`Content-Length`) and at most
    `max_frame_bytes`;
  * every body reserves its declared length from one byte budget shared by
    all connections before a byte is read: memory for bodies in flight is
    bounded whatever the number of connections. A body that finds no room
    waits its turn (first come, first served) a while, then is refused with
    `busy` (503) and the node retries later;
  * a body must arrive at a minimal rate after a grace period and within a
    total time, or it is refused with `body_too_slow` (408): a connection
    dribbling one byte a second is dropped, not kept forever.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from starlette.requests import Request

from .errors import BodyTooLarge, BodyTooSlow, LengthRequired, ServerBusy


@dataclass(frozen=True)
class IntakePolicy:
    """How much unauthenticated body the server holds, and how long it waits for it."""

    # Bodies in flight, all connections together: 8 full 4 MiB frames, or ~500 of a node's 64 KiB chunks.
    budget_bytes: int = 32 * 1024 * 1024
    # How long a body waits for room in the budget before `busy`.
    wait_seconds: float = 20.0
    # A 2G link carries ~4 KB/s; a body slower than this after the grace period is refused.
    min_bytes_per_second: int = 256
    grace_seconds: float = 15.0
    # A whole body, however it trickles in (a node's normal chunk is 64 KiB: ~16 s on 2G).
    total_seconds: float = 180.0


class ByteBudget:
    """A first-come-first-served budget of bytes shared by the event loop's requests."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.in_use = 0
        self._waiters: collections.deque[tuple[int, asyncio.Future[None]]] = collections.deque()

    def _wake(self) -> None:
        while self._waiters:
            size, future = self._waiters[0]
            if future.done():  # gave up waiting
                self._waiters.popleft()
                continue
            if self.in_use + size > self.total:
                return  # the head waits for room; nobody overtakes it
            self._waiters.popleft()
            self.in_use += size
            future.set_result(None)

    @asynccontextmanager
    async def reserve(self, size: int, wait: float) -> AsyncIterator[None]:
        if not self._waiters and self.in_use + size <= self.total:
            self.in_use += size
        else:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append((size, future))
            try:
                await asyncio.wait_for(asyncio.shield(future), wait)
            except TimeoutError:
                if future.done():  # granted just as the wait ran out: keep it
                    pass
                else:
                    future.cancel()
                    self._wake()
                    raise ServerBusy("the server is busy receiving other requests; try again shortly") from None
        try:
            yield
        finally:
            self.in_use -= size
            self._wake()


class BodyIntake:
    def __init__(self, max_bytes: int, policy: IntakePolicy | None = None) -> None:
        self.max_bytes = max_bytes
        self.policy = policy or IntakePolicy()
        self.budget = ByteBudget(self.policy.budget_bytes)

    @staticmethod
    def declared_length(request: Request, max_bytes: int) -> int:
        declared = request.headers.get("content-length")
        if declared is None:
            raise LengthRequired("the request must declare its Content-Length")
        if not declared.isdigit() or len(declared) > 12:
            raise LengthRequired("the Content-Length header is not a number")
        size = int(declared)
        if size > max_bytes:
            raise BodyTooLarge(f"request body over {max_bytes} bytes")
        return size

    @asynccontextmanager
    async def admitted(self, request: Request) -> AsyncIterator[Callable[[], Awaitable[bytes]]]:
        """Room for this request's body, held until the request is answered (the body lives that long).

        Yields the function that reads the body."""
        size = self.declared_length(request, self.max_bytes)
        async with self.budget.reserve(size, self.policy.wait_seconds):
            yield lambda: self._read_within_time(request, size)

    async def _read_within_time(self, request: Request, size: int) -> bytes:
        p = self.policy
        loop = asyncio.get_running_loop()
        start = loop.time()
        chunks: list[bytes] = []
        received = 0

        def due() -> float:
            # The next byte is due when the average rate since the grace period would fall below the minimum.
            return min(start + p.grace_seconds + received / p.min_bytes_per_second, start + p.total_seconds)

        # One rescheduled timeout, not a task per chunk (wait_for's tasks kept chunks alive in cycles).
        try:
            async with asyncio.timeout(due()) as deadline:
                async for chunk in request.stream():
                    received += len(chunk)
                    if received > size:
                        raise BodyTooLarge("the request body is longer than its Content-Length")
                    chunks.append(chunk)
                    deadline.reschedule(due())
        except TimeoutError:
            raise BodyTooSlow(
                f"the request body arrived too slowly ({received} of {size} bytes in {loop.time() - start:.0f} s)"
            ) from None
        return b"".join(chunks)
