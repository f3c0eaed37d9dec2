"""What every page handler needs: the node store, the current user, rendering, access rules."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from domain.errors import NotFound

from ..store import NodeStore
from .security import STAFF_ROLES, LoginLimiter, SessionRegistry, SessionUser, csrf_token, read_form
from .status import format_timestamp, node_status
from .translations import LANGUAGES, translator

log = logging.getLogger(__name__)
T = TypeVar("T")
HERE = Path(__file__).resolve().parent

# Which staff role may do what: the one place access is decided.
PERMISSIONS: dict[str, tuple[str, ...]] = {
    "grades": STAFF_ROLES,
    "absences": STAFF_ROLES,
    "justify": ("secretary", "director"),
    "incidents": STAFF_ROLES,
    "register": ("secretary", "director"),
    "logins": ("secretary", "director"),
    "sync": STAFF_ROLES,
    "sync_now": ("secretary", "director"),
}


class LoginRequired(Exception):
    """Raised by handlers when nobody is logged in: answered by a redirect to /login."""


def web_of(request: Request) -> Web:
    return request.app.state.web


def get_page(fn: Callable[[Web, Request], Response]) -> Callable[[Request], Awaitable[Response]]:
    """A GET handler written as plain code, run off the event loop (see `Web.run`)."""

    @functools.wraps(fn)
    async def endpoint(request: Request) -> Response:
        web = web_of(request)
        return await web.run(fn, web, request)

    return endpoint


def post_page(fn: Callable[[Web, Request, FormData], Response]) -> Callable[[Request], Awaitable[Response]]:
    """A POST handler: the body is read (bounded, CSRF-checked) on the loop, the work in a thread."""

    @functools.wraps(fn)
    async def endpoint(request: Request) -> Response:
        web = web_of(request)
        form = await web.form(request)
        request.state.form = form
        return await web.run(fn, web, request, form)

    return endpoint


class Web:
    def __init__(
        self,
        store: NodeStore,
        agent: object | None,
        sessions: SessionRegistry,
        limiter: LoginLimiter,
        max_body: int,
    ) -> None:
        self.store, self.agent, self.sessions, self.limiter, self.max_body = store, agent, sessions, limiter, max_body
        self.env = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(default=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._db_lock = threading.Lock()

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` in a worker thread, one at a time on the node's one connection.

        SQLite calls block: on the event loop, a scrypt check or a big sheet save
        would stall every other request. The lock keeps the handlers from
        interleaving inside a transaction on the shared connection.
        """

        def locked() -> T:
            with self._db_lock:
                return fn(*args)

        return await run_in_threadpool(locked)

    @property
    def db(self):
        return self.store.db

    # -- who is asking -------------------------------------------------------------------

    def user(self, request: Request) -> SessionUser | None:
        if "user" not in request.state._state:
            user, expired = self.sessions.touch(request.session.get("sid"))
            if expired:
                request.session.pop("sid", None)
                self.flash(request, "flash.expired", "warn")
            request.state.user = user
        return request.state.user

    def lang(self, request: Request) -> str:
        lang = request.session.get("lang")
        return lang if lang in LANGUAGES else "ar"

    def require_staff(self, request: Request, action: str) -> SessionUser:
        user = self.user(request)
        if user is None:
            raise LoginRequired()
        if not user.is_staff or user.role not in PERMISSIONS[action]:
            raise HTTPException(403)
        return user

    def require_parent(self, request: Request) -> SessionUser:
        user = self.user(request)
        if user is None:
            raise LoginRequired()
        if not user.is_parent or not user.pupil:
            raise HTTPException(403)
        return user

    async def form(self, request: Request):
        return await read_form(request, self.max_body)

    # -- pages ---------------------------------------------------------------------------

    def flash(self, request: Request, key: str, kind: str = "ok", **params: Any) -> None:
        request.session["flash"] = {"key": key, "kind": kind, "params": params}

    def render(self, request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200):
        lang = self.lang(request)
        t = translator(lang)
        user = self.user(request)
        flash = request.session.pop("flash", None)
        ctx: dict[str, Any] = {
            "request": request,
            "lang": lang,
            "dir": "rtl" if lang == "ar" else "ltr",
            "other": "fr" if lang == "ar" else "ar",
            "t": t,
            "user": user,
            "csrf": csrf_token(request),
            "path": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            "fresh": format_timestamp(self.store.setting("last_sync")),
            "flash": {"kind": flash["kind"], "text": t(flash["key"], **flash["params"])} if flash else None,
            "idle": int(self.sessions.parent_idle),
            "school_name": self.school_name(lang),
            "can": (lambda action: bool(user and user.is_staff and user.role in PERMISSIONS[action])),
            "unread": 0,
            "title_key": "app.name",
            "error": None,
            "pname": lambda p: pupil_name(p, lang),
            "sname": lambda s: s["name_ar"] if lang == "ar" else s["name_fr"],
            "num": lambda v: format_number(v, lang),
        }
        if user is not None and user.is_parent:
            from ..alerts import unread_count

            ctx["unread"] = unread_count(self.db, user.pupil)
        ctx.update(context or {})
        html = self.env.get_template(name).render(ctx)
        return HTMLResponse(html, status_code=status)

    def school_name(self, lang: str) -> str:
        row = self.db.execute("SELECT name, name_ar FROM schools WHERE code = ?", [self.store.school]).fetchone()
        if not row:
            return self.store.school
        return (row[1] or row[0]) if lang == "ar" else row[0]

    def redirect(self, url: str) -> RedirectResponse:
        return RedirectResponse(url, status_code=303)

    # -- sync ----------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        if self.agent is not None:
            try:
                return dict(self.agent.status())  # type: ignore[attr-defined]
            except Exception:  # the agent must never take the pages down
                log.exception("agent.status() failed; reading the database instead")
        return node_status(self.store)

    def local_write(self) -> None:
        if self.agent is not None:
            try:
                self.agent.notify_local_write()  # type: ignore[attr-defined]
            except Exception:
                log.exception("agent.notify_local_write() failed")

    # -- shared look-ups -----------------------------------------------------------------

    def classes(self, year: str | None = None) -> list[dict]:
        term = self.store.term
        rows = self.db.execute(
            "SELECT c.code, c.level, l.scale, l.cycle FROM classes c JOIN levels l ON l.code = c.level "
            "WHERE c.school = ? AND c.year = ? ORDER BY l.ord, c.code",
            [term.school, year or term.year],
        ).fetchall()
        return [{"code": r[0], "level": r[1], "scale": r[2], "cycle": r[3]} for r in rows]

    def class_of(self, code: str | None) -> dict | None:
        """The chosen class of this year, None when none was chosen; NotFound when unknown."""
        if not code:
            return None
        for c in self.classes():
            if c["code"] == code.strip().upper():
                return c
        raise NotFound(f"unknown class {code}", code="unknown_class")

    def pupils_of_class(self, class_code: str) -> list[dict]:
        term = self.store.term
        rows = self.db.execute(
            "SELECT p.code, p.last_name, p.first_name, p.last_name_ar, p.first_name_ar FROM enrolments e "
            "JOIN pupils p ON p.code = e.pupil WHERE e.school = ? AND e.year = ? AND e.class = ? "
            "ORDER BY p.last_name, p.first_name, p.code",
            [term.school, term.year, class_code],
        ).fetchall()
        return [
            {"code": r[0], "last_name": r[1], "first_name": r[2], "last_name_ar": r[3], "first_name_ar": r[4]}
            for r in rows
        ]


def pupil_name(p: dict, lang: str) -> str:
    if lang == "ar" and p.get("last_name_ar") and p.get("first_name_ar"):
        return f"{p['last_name_ar']} {p['first_name_ar']}"
    return f"{p['last_name']} {p['first_name']}"


def format_number(value: Any, lang: str) -> str:
    if value is None:
        return "–"
    text = f"{float(value):.2f}"
    return text.replace(".", ",") if lang == "fr" else text
