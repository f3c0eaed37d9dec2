"""uvicorn's h11 protocol with a deadline for each request's head.

uvicorn bounds the idle time between requests but not the time a request's
headers take to arrive: a connection sending its head a byte at a time stays
open for ever, and enough of them exhaust the server's sockets. This
subclass closes a connection whose request head is not complete within
`HEAD_SECONDS` of the connection opening or of the previous response (a 2G
link sends a 200-byte head in well under a second). Bodies have their own
rate bound (server/intake.py).

It relies on two attributes of uvicorn's H11Protocol (`cycle`, the current
request, and `loop`); tests/faults/test_flood.py fails if they change.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

HEAD_SECONDS = 20.0


class HeadDeadlineProtocol(H11Protocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None
        self._waiting_after: object = None  # the request before the head we wait for (None: the first)

    def _arm(self) -> None:
        self._disarm()
        self._waiting_after = self.cycle
        self._head_timer = self.loop.call_later(HEAD_SECONDS, self._head_too_slow)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self.cycle is self._waiting_after and not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def handle_events(self) -> None:
        super().handle_events()
        if self._head_timer is not None and self.cycle is not self._waiting_after:
            self._disarm()  # a new request's head arrived in full

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)
