"""The school node's web app: staff entry pages and the parent terminal.

`create_app(folder)` serves the node in `folder` (its node.sqlite). One SQLite
connection is shared by the handlers, which are coroutines that never await
while a transaction is open: requests are served one at a time on the event
loop, so no two of them interleave inside the database.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.errors import Conflict, DomainError, InvalidInput, NotAllowed, NotFound

from ..store import NodeStore
from . import parent, parent_orientation, staff, year_pages
from .core import HERE, LoginRequired, Web
from .security import LoginLimiter, SessionRegistry, SessionUser
from .translations import LANGUAGES, error_key, title_key

SECRET_SETTING = "web_session_secret"
SECURITY_HEADERS = [
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
]


class SecurityHeaders:
    """No caching (a shared terminal's Back button must not show a child's page after logout)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                for key, value in SECURITY_HEADERS:
                    if key not in names and not (static and key == b"cache-control"):
                        headers.append((key, value))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def node_secret(store: NodeStore) -> bytes:
    """The session-signing secret, generated once and kept in the node's settings."""
    value = store.setting(SECRET_SETTING)
    if not value:
        value = secrets.token_hex(32)
        store.set_setting(SECRET_SETTING, value)
    return bytes.fromhex(value)


def create_app(
    folder: Path,
    *,
    agent: object | None = None,
    secret_key: bytes | None = None,
    idle_timeout: float = 120.0,
    staff_idle_timeout: float = 1800.0,
    max_body: int = 256 * 1024,
    login_limiter: LoginLimiter | None = None,
) -> Starlette:
    """The web app of the node in `folder`; parent sessions end after `idle_timeout` seconds idle."""
    store = NodeStore.open(Path(folder))
    key = secret_key if secret_key is not None else node_secret(store)
    web = Web(
        store, agent, SessionRegistry(idle_timeout, staff_idle_timeout), login_limiter or LoginLimiter(), max_body
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            store.close()

    routes = [
        Route("/", home),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login_submit, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/lang/{lang}", switch_language),
        *staff.routes,
        *parent.routes,
        *year_pages.routes,
        *parent_orientation.routes,
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders),
            # Phones on the school Wi-Fi: a 40-pupil grade sheet is ~30 KB of HTML, ~5 KB gzipped.
            Middleware(GZipMiddleware, minimum_size=800),
            Middleware(
                SessionMiddleware,
                secret_key=key.hex(),
                session_cookie="massar_session",
                max_age=None,  # a browser-session cookie; the server expires idle sessions
                same_site="strict",
                https_only=False,  # plain HTTP on the school LAN
            ),
        ],
        exception_handlers={
            DomainError: domain_error,
            HTTPException: http_error,
            LoginRequired: login_required,
        },
        lifespan=lifespan,
    )
    app.state.web = web
    app.state.store = store
    return app


def _web(request: Request) -> Web:
    return request.app.state.web


# -- error pages ----------------------------------------------------------------------------

DOMAIN_STATUS = ((NotFound, 404), (NotAllowed, 403), (Conflict, 409), (InvalidInput, 400))


async def domain_error(request: Request, exc: Exception) -> Response:
    web = _web(request)
    status = next((code for cls, code in DOMAIN_STATUS if isinstance(exc, cls)), 400)
    message = web_translate(request, error_key(getattr(exc, "code", ""), status))
    redo = getattr(request.state, "on_error", None)
    if redo is not None:  # re-show the form with what was typed
        return redo(message, status)
    return web.render(request, "error.html", {"title_key": title_key(status), "error": message}, status=status)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    web = _web(request)
    status = exc.status_code
    key = "err.csrf" if exc.detail == "csrf" else error_key("", status)
    response = web.render(
        request, "error.html", {"title_key": title_key(status), "error": web_translate(request, key)}, status=status
    )
    if status == 405 and exc.headers:
        response.headers.update(exc.headers)
    return response


async def login_required(request: Request, exc: Exception) -> Response:
    if request.method == "POST":  # nobody logged in may post anything but the login form: 403 like a bad token
        return await http_error(request, HTTPException(403, "csrf"))
    return RedirectResponse("/login", status_code=303)


def web_translate(request: Request, key: str) -> str:
    from .translations import translator

    return translator(_web(request).lang(request))(key)


# -- login, logout, language ---------------------------------------------------------------


async def home(request: Request) -> Response:
    user = _web(request).user(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse("/parent" if user.is_parent else "/staff", status_code=303)


async def login_page(request: Request) -> Response:
    web = _web(request)
    if web.user(request) is not None:
        return await home(request)
    return web.render(request, "login.html", {"login": "", "title_key": "login.title"})


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def login_submit(request: Request) -> Response:
    web = _web(request)
    form = await web.form(request)
    login = str(form.get("login", "")).strip()[:120]
    password = str(form.get("password", ""))[:200]
    client = _client(request)
    if web.limiter.blocked(login, client):
        return web.render(
            request,
            "login.html",
            {"login": login, "title_key": "login.title", "error": web_translate(request, "login.blocked")},
            429,
        )
    from domain.accounts import authenticate

    account = authenticate(web.db, login, password) if login and password else None
    if account is None:
        web.limiter.failed(login, client)
        return web.render(
            request,
            "login.html",
            {"login": login, "title_key": "login.title", "error": web_translate(request, "login.failed")},
            401,
        )
    web.limiter.succeeded(login)
    lang = request.session.get("lang")
    request.session.clear()  # a fresh session id and CSRF token: no fixation
    if lang:
        request.session["lang"] = lang
    user = SessionUser(account["login"], account["role"], account["pupil"], account["display_name"])
    request.session["sid"] = web.sessions.create(user)
    return RedirectResponse("/parent" if user.is_parent else "/staff", status_code=303)


async def logout(request: Request) -> Response:
    web = _web(request)
    form = await web.form(request)
    web.sessions.drop(request.session.get("sid"))
    request.session.clear()  # the next person at the terminal starts in Arabic, logged out
    web.flash(request, "flash.idle_logout" if form.get("idle") == "1" else "flash.logged_out")
    return RedirectResponse("/login", status_code=303)


async def switch_language(request: Request) -> Response:
    lang = request.path_params["lang"]
    if lang not in LANGUAGES:
        raise HTTPException(404)
    request.session["lang"] = lang
    target = request.query_params.get("next", "/")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = "/"
    return RedirectResponse(target, status_code=303)
