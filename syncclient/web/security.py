"""Sessions, CSRF tokens, login rate limits and bounded form parsing.

The session cookie (Starlette's SessionMiddleware: signed with itsdangerous,
HttpOnly, SameSite=Strict) only carries a random session id, the CSRF token,
the language and a one-shot flash message. Who is logged in lives on the
server in `SessionRegistry`, so logout and idle expiry take effect at once
even if someone kept a copy of the cookie.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request

STAFF_ROLES = ("secretary", "teacher", "director")


@dataclass
class SessionUser:
    login: str
    role: str
    pupil: str | None
    name: str | None
    seen: float = field(default_factory=time.monotonic)

    @property
    def is_parent(self) -> bool:
        return self.role == "parent"

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES


class SessionRegistry:
    """Server-side sessions: id -> user, expired after `idle` seconds without a request."""

    def __init__(self, parent_idle: float, staff_idle: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.parent_idle, self.staff_idle, self.clock = parent_idle, staff_idle, clock
        self._users: dict[str, SessionUser] = {}
        self._lock = threading.Lock()

    def idle_limit(self, user: SessionUser) -> float:
        return self.parent_idle if user.is_parent else self.staff_idle

    def create(self, user: SessionUser) -> str:
        sid = secrets.token_urlsafe(24)
        user.seen = self.clock()
        with self._lock:
            self._users[sid] = user
            self._sweep()
        return sid

    def touch(self, sid: str | None) -> tuple[SessionUser | None, bool]:
        """The user of this session (refreshing its idle clock) and whether it just expired."""
        if not sid:
            return None, False
        with self._lock:
            user = self._users.get(sid)
            if user is None:
                return None, False
            now = self.clock()
            if now - user.seen > self.idle_limit(user):
                del self._users[sid]
                return None, True
            user.seen = now
            return user, False

    def drop(self, sid: str | None) -> None:
        with self._lock:
            self._users.pop(sid or "", None)

    def _sweep(self) -> None:
        now = self.clock()
        for sid in [s for s, u in self._users.items() if now - u.seen > self.idle_limit(u)]:
            del self._users[sid]


class LoginLimiter:
    """Failed logins per account and per client address in a sliding window (memory only)."""

    def __init__(
        self,
        per_account: int = 5,
        per_client: int = 20,
        window: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_account, self.per_client, self.window, self.clock = per_account, per_client, window, clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str) -> deque[float]:
        q = self._failures.setdefault(key, deque())
        cutoff = self.clock() - self.window
        while q and q[0] < cutoff:
            q.popleft()
        return q

    def blocked(self, account: str, client: str) -> bool:
        with self._lock:
            return (
                len(self._recent("a:" + account.lower())) >= self.per_account
                or len(self._recent("c:" + client)) >= self.per_client
            )

    def failed(self, account: str, client: str) -> None:
        now = self.clock()
        with self._lock:
            for key in ("a:" + account.lower(), "c:" + client):
                self._recent(key).append(now)
            if len(self._failures) > 10_000:  # bounded memory under a flood of names
                for key in [k for k, q in self._failures.items() if not q]:
                    del self._failures[key]

    def succeeded(self, account: str) -> None:
        with self._lock:
            self._failures.pop("a:" + account.lower(), None)


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return token


async def read_form(request: Request, max_body: int, max_fields: int = 4000) -> FormData:
    """The urlencoded body, refused past `max_body` bytes (413), CSRF-checked (403)."""
    declared = request.headers.get("content-length")
    if declared and (not declared.isdigit() or int(declared) > max_body):
        raise HTTPException(413)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_body:
            raise HTTPException(413)
    try:
        pairs = parse_qsl(bytes(body).decode("utf-8"), keep_blank_values=True, max_num_fields=max_fields)
    except (UnicodeDecodeError, ValueError):
        raise HTTPException(400) from None
    form = FormData(pairs)
    expected = request.session.get("csrf")
    sent = form.get("csrf")
    if not expected or not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise HTTPException(403, "csrf")
    return form
