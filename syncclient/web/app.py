"""The school node's web app: staff entry pages and the parent terminal.

`create_app(folder)` serves the node in `folder` (its node.sqlite). One SQLite
connection is shared by the handlers; their database work runs in worker
threads, one at a time (`Web.run`), so the event loop never waits on SQLite.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Collection
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from protocol.errors import MassarError

from ..store import NodeStore
from . import login, parent, staff
from .core import HERE, LoginRequired, Web
from .security import SessionRegistry
from .throttle import LoginThrottle
from .translations import error_key, title_key

log = logging.getLogger(__name__)

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
    login_throttle: LoginThrottle | None = None,
    trusted_proxies: Collection[str] = (),
) -> Starlette:
    """The web app of the node in `folder`; parent sessions end after `idle_timeout` seconds idle.

    `trusted_proxies`: addresses of reverse proxies whose X-Forwarded-For is believed.
    """
    store = NodeStore.open(Path(folder))
    key = secret_key if secret_key is not None else node_secret(store)
    sessions = SessionRegistry(lambda: store.db, idle_timeout, staff_idle_timeout)
    throttle = login_throttle or LoginThrottle()
    web = Web(store, agent, sessions, throttle, max_body, frozenset(trusted_proxies))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            store.close()

    routes = [
        *login.routes,
        *staff.routes,
        *parent.routes,
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
            MassarError: massar_error,
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


async def massar_error(request: Request, exc: Exception) -> Response:
    """A project error as a page: its `status`, and the message its `code` names, in the user's language."""
    web = _web(request)
    error = exc if isinstance(exc, MassarError) else MassarError(str(exc))
    status = error.status
    if status >= 500:
        log.error("%s %s failed: %s %s", request.method, request.url.path, error.code, error, exc_info=error)
    message = web_translate(request, error_key(error.code, status))
    redo = getattr(request.state, "on_error", None)
    if redo is not None:  # re-show the form with what was typed
        return await web.run(redo, message, status)
    return await web.run(web.render, request, "error.html", {"title_key": title_key(status), "error": message}, status)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    web = _web(request)
    status = exc.status_code
    key = "err.csrf" if exc.detail == "csrf" else error_key("", status)
    context = {"title_key": title_key(status), "error": web_translate(request, key)}
    response = await web.run(web.render, request, "error.html", context, status)
    if status == 405 and exc.headers:
        response.headers.update(exc.headers)
    return response


async def login_required(request: Request, exc: Exception) -> Response:
    web = _web(request)
    if request.method == "POST":
        form = getattr(request.state, "form", None)
        if form is not None:  # a form of this browser (CSRF checked) whose session ended: ask, keep it
            return await web.run(web.relogin_page, request, form)
        return await http_error(request, HTTPException(403, "csrf"))
    request.session["next"] = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/login", status_code=303)


def web_translate(request: Request, key: str) -> str:
    from .translations import translator

    return translator(_web(request).lang(request))(key)
