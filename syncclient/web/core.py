"""What every page handler needs: the node store, the current user, rendering, access rules."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from domain.accounts import authenticate, is_parent_login, normal_login
from domain.errors import NotFound
from domain.rules import FULL_DAY, mask_hours

from ..status import node_status
from ..store import NodeStore
from .security import STAFF_ROLES, CsrfRefused, SessionRegistry, SessionUser, csrf_token, from_this_site, read_form
from .status import format_timestamp
from .throttle import LoginThrottle, Wait, client_address
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
    "close_semester": ("director",),
    "classes": ("secretary", "director"),
    "council": ("director",),
    "orientation": ("secretary", "director"),
    "year": ("director",),
}
# The fields of the password box shown when a session ended while a form was being typed.
RELOGIN_LOGIN, RELOGIN_PASSWORD = "relogin_login", "relogin_password"


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
        try:
            form = await web.form(request)
        except CsrfRefused as refused:
            # A form of one of our own pages whose token no longer matches (the browser lost its
            # cookie, or logged in again in another tab): keep what was typed, ask the password.
            if from_this_site(request):
                request.state.form = refused.form
                return await web.run(web.relogin_page, request, refused.form)
            raise
        request.state.form = form
        if RELOGIN_PASSWORD in form:  # the password asked for when the session had ended
            asked_again = await web.run(web.relogin, request, form)
            if asked_again is not None:
                return asked_again
            form = FormData([(k, v) for k, v in form.multi_items() if k not in (RELOGIN_LOGIN, RELOGIN_PASSWORD)])
            request.state.form = form
        return await web.run(fn, web, request, form)

    return endpoint


class Web:
    def __init__(
        self,
        store: NodeStore,
        agent: object | None,
        sessions: SessionRegistry,
        throttle: LoginThrottle,
        max_body: int,
        trusted_proxies: frozenset[str] = frozenset(),
    ) -> None:
        self.store, self.agent, self.sessions, self.throttle = store, agent, sessions, throttle
        self.max_body, self.trusted_proxies = max_body, trusted_proxies
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
    def db(self) -> sqlite_utils.Database:
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

    def parent_pupil(self, request: Request) -> str:
        """The logged-in parent's child: the only pupil the parent pages ever show."""
        return self.require_parent(request).pupil or ""

    async def form(self, request: Request) -> FormData:
        return await read_form(request, self.max_body)

    # -- signing in ----------------------------------------------------------------------

    def sign_in(self, request: Request, typed_login: str, password: str) -> tuple[SessionUser | None, str | None]:
        """Check the password (throttled) and open a fresh session: (user, None) or (None, message)."""
        t = translator(self.lang(request))
        login = normal_login(typed_login[:120])
        parent = is_parent_login(login)
        client = client_address(request, self.trusted_proxies)
        wait = self.throttle.wait(login, client, parent=parent)
        if wait is not None:
            request.state.retry_after = wait.seconds
            return None, wait_message(t, wait, login)
        account = authenticate(self.db, login, password[:200]) if login and password else None
        if account is None:
            self.throttle.failed(login, client, parent=parent)
            return None, t("login.failed")
        self.throttle.succeeded(login)
        keep: dict[str, Any] = {k: request.session[k] for k in ("lang", "next") if k in request.session}
        request.session.clear()  # a fresh session id and CSRF token: no fixation
        request.session.update(keep)
        user = SessionUser(account["login"], account["role"], account["pupil"], account["display_name"])
        request.session["sid"] = self.sessions.create(user)
        request.session["who"] = user.login
        request.state.user = user
        return user, None

    def relogin(self, request: Request, form: FormData) -> Response | None:
        """The password typed on the "session ended" page: None when signed in, else that page again."""
        user, error = self.sign_in(request, str(form.get(RELOGIN_LOGIN, "")), str(form.get(RELOGIN_PASSWORD, "")))
        if user is not None:
            return None
        status = 429 if getattr(request.state, "retry_after", None) else 401
        return self.relogin_page(request, form, error, status)

    def relogin_page(self, request: Request, form: FormData, error: str | None = None, status: int = 401) -> Response:
        """Asks for the password on the page that was being saved; every typed field rides along hidden."""
        kept = [(k, v) for k, v in form.multi_items() if isinstance(v, str) and k not in ("csrf", RELOGIN_PASSWORD)]
        ctx = {
            "title_key": "relogin.title",
            "holding_form": True,
            "action": request.url.path,
            "kept": [(k, v) for k, v in kept if k != RELOGIN_LOGIN],
            "login": form.get(RELOGIN_LOGIN) or request.session.get("who", ""),
            "error": error,
        }
        response = self.render(request, "relogin.html", ctx, status=status)
        if getattr(request.state, "retry_after", None):
            response.headers["retry-after"] = str(request.state.retry_after)
        return response

    # -- pages ---------------------------------------------------------------------------

    def flash(self, request: Request, key: str, kind: str = "ok", **params: Any) -> None:
        request.session["flash"] = {"key": key, "kind": kind, "params": params}

    def render(
        self, request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200
    ) -> HTMLResponse:
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
            "fresh": ltr(format_timestamp(self.store.setting("last_sync"))),
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
            "date": lambda v: ltr(format_timestamp(v) or "–"),
            "hours_text": lambda mask: hours_text(t, mask),
            "holding_form": False,  # a page carrying typed work: no link may leave it
        }
        if user is not None and user.is_parent:
            from ..alerts import unread_count

            ctx["unread"] = unread_count(self.db, user.pupil or "")
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

    def classes(self, year: str | None = None, *, school: str | None = None) -> list[dict]:
        """This school's classes (or, with `school`, a satellite's read here)."""
        term = self.store.term
        rows = self.db.execute(
            "SELECT c.code, c.level, l.scale, l.cycle FROM classes c JOIN levels l ON l.code = c.level "
            "WHERE c.school = ? AND c.year = ? ORDER BY l.ord, c.code",
            [school or term.school, year or term.year],
        ).fetchall()
        return [{"code": r[0], "level": r[1], "scale": r[2], "cycle": r[3]} for r in rows]

    def class_of(self, code: object) -> dict | None:
        """The chosen class of this year (a query or form value), None when none was chosen; NotFound when unknown."""
        if not code or not isinstance(code, str):
            return None
        for c in self.classes():
            if c["code"] == code.strip().upper():
                return c
        raise NotFound(f"unknown class {code}", code="unknown_class")

    def pupils_of_class(self, class_code: str, on: dt.date | None = None, *, school: str | None = None) -> list[dict]:
        """The class's pupils (of `school`, a satellite read here, or this school); `on` a day: without those
        whose enrolment had ended by then (a departure recorded before that day), for the day's work.
        Without it, everyone the class had this year."""
        term = self.store.term
        ended = (
            ""
            if on is None
            else (
                " AND NOT EXISTS (SELECT 1 FROM departures d WHERE d.school = e.school AND d.year = e.year "
                "AND d.pupil = e.pupil AND d.left_on < ?)"
            )
        )
        rows = self.db.execute(
            "SELECT p.code, p.last_name, p.first_name, p.last_name_ar, p.first_name_ar FROM enrolments e "
            f"JOIN pupils p ON p.code = e.pupil WHERE e.school = ? AND e.year = ? AND e.class = ?{ended} "
            "ORDER BY p.last_name, p.first_name, p.code",
            [school or term.school, term.year, class_code, *([] if on is None else [on.isoformat()])],
        ).fetchall()
        return [
            {"code": r[0], "last_name": r[1], "first_name": r[2], "last_name_ar": r[3], "first_name_ar": r[4]}
            for r in rows
        ]


def safe_path(target: str) -> bool:
    """A path on this site (no scheme, no other host), safe to redirect to."""
    return target.startswith("/") and not target.startswith("//") and "\\" not in target


def ltr(text: str | None) -> Markup | None:
    """Digits and Latin text kept in their order inside an Arabic sentence."""
    return None if text is None else Markup('<bdi dir="ltr">{}</bdi>').format(text)


def hours_text(t: Callable[..., str], mask: int) -> str:
    """An absence's hours as people say them: "the full day", or the slots."""
    if mask == FULL_DAY:
        return t("hours.full_day")
    if not mask:
        return t("hours.present")
    return t("hours.list", hours=", ".join(str(h) for h in mask_hours(mask)))


def wait_message(t: Callable[..., str], wait: Wait, login: str) -> str:
    """Who is slowed down and for how long, in the reader's language."""
    return t(f"login.wait.{wait.who}", login=login, n=wait.seconds)


def pupil_name(p: dict, lang: str) -> str:
    if lang == "ar" and p.get("last_name_ar") and p.get("first_name_ar"):
        return f"{p['last_name_ar']} {p['first_name_ar']}"
    return f"{p['last_name']} {p['first_name']}"


def format_cell(text: str, lang: str) -> str:
    """A stored score in a sheet cell, written as the bulletin writes it; anything typed stays as typed."""
    if CANONICAL_SCORE.match(text):
        return format_number(text, lang)
    return text


CANONICAL_SCORE = re.compile(r"^[0-9]{1,2}(\.[0-9]{1,2})?$")


def format_number(value: Any, lang: str) -> str:
    if value is None:
        return "–"
    text = f"{float(value):.2f}"
    return text.replace(".", ",") if lang == "fr" else text
