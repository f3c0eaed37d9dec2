"""Sessions, CSRF tokens and bounded form parsing.

The session cookie (Starlette's SessionMiddleware: signed with itsdangerous,
HttpOnly, SameSite=Strict) only carries a random session id, the CSRF token,
the language and a one-shot flash message. Who is logged in lives on the
server in `SessionRegistry` (the node's database), so logout and idle expiry
take effect at once even if someone kept a copy of the cookie, and a restart
of the node logs nobody out.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import sqlite_utils
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request

from domain.database import write_transaction

STAFF_ROLES = ("secretary", "teacher", "director")


@dataclass
class SessionUser:
    login: str
    role: str
    pupil: str | None
    name: str | None
    seen: float = 0.0

    @property
    def is_parent(self) -> bool:
        return self.role == "parent"

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES


def _hashed(sid: str) -> str:
    # The table holds only hashes: a copy of the database opens no session.
    return hashlib.sha256(sid.encode()).hexdigest()


class SessionRegistry:
    """Server-side sessions kept in the node's database (they survive a restart).

    id -> user, expired after the role's idle time without a request. `clock` is
    wall-clock seconds (a restart must not reset it); tests inject their own.
    Called with the web app's database lock held (see `Web.run`).
    """

    TOUCH_EVERY = 5.0  # seconds: a page with many requests writes the idle clock once

    def __init__(
        self,
        db: Callable[[], sqlite_utils.Database],
        parent_idle: float,
        staff_idle: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db, self.parent_idle, self.staff_idle, self.clock = db, parent_idle, staff_idle, clock

    def idle_limit(self, user: SessionUser) -> float:
        return self.parent_idle if user.is_parent else self.staff_idle

    def create(self, user: SessionUser) -> str:
        sid = secrets.token_urlsafe(24)
        user.seen = self.clock()
        db = self._db()
        with write_transaction(db):
            self._sweep(db)
            db.conn.execute(
                "INSERT INTO _web_sessions (id, login, role, pupil, name, seen) VALUES (?, ?, ?, ?, ?, ?)",
                [_hashed(sid), user.login, user.role, user.pupil, user.name, user.seen],
            )
        return sid

    def touch(self, sid: str | None) -> tuple[SessionUser | None, bool]:
        """The user of this session (refreshing its idle clock) and whether it just expired."""
        if not sid or not isinstance(sid, str):
            return None, False
        db = self._db()
        row = db.execute(
            "SELECT login, role, pupil, name, seen FROM _web_sessions WHERE id = ?", [_hashed(sid)]
        ).fetchone()
        if row is None:
            return None, False
        user = SessionUser(*row)
        now = self.clock()
        if now - user.seen > self.idle_limit(user):
            self.drop(sid)
            return None, True
        if now - user.seen >= self.TOUCH_EVERY or now < user.seen:
            with write_transaction(db):
                db.conn.execute("UPDATE _web_sessions SET seen = ? WHERE id = ?", [now, _hashed(sid)])
        user.seen = now
        return user, False

    def data(self, sid: str | None) -> dict[str, Any]:
        """What the session keeps on the server (the password slips issued in it)."""
        row = self._db().execute("SELECT data FROM _web_sessions WHERE id = ?", [_hashed(sid or "")]).fetchone()
        return json.loads(row[0]) if row else {}

    def set_data(self, sid: str | None, data: dict[str, Any]) -> None:
        db = self._db()
        with write_transaction(db):
            db.conn.execute("UPDATE _web_sessions SET data = ? WHERE id = ?", [json.dumps(data), _hashed(sid or "")])

    def drop(self, sid: str | None) -> None:
        db = self._db()
        with write_transaction(db):
            db.conn.execute("DELETE FROM _web_sessions WHERE id = ?", [_hashed(sid or "")])

    def _sweep(self, db: sqlite_utils.Database) -> None:
        now = self.clock()
        db.conn.execute(
            "DELETE FROM _web_sessions WHERE seen < ? - CASE role WHEN 'parent' THEN ? ELSE ? END",
            [now, self.parent_idle, self.staff_idle],
        )


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
