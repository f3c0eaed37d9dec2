"""Logging in and out, and choosing the language."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from domain.accounts import authenticate

from .core import Web, get_page, post_page
from .security import SessionUser
from .translations import LANGUAGES, translator


def _home(web: Web, request: Request) -> Response:
    user = web.user(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse("/parent" if user.is_parent else "/staff", status_code=303)


home = get_page(_home)


@get_page
def login_page(web: Web, request: Request) -> Response:
    if web.user(request) is not None:
        return _home(web, request)
    return web.render(request, "login.html", {"login": "", "title_key": "login.title"})


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@post_page
def login_submit(web: Web, request: Request, form: FormData) -> Response:
    t = translator(web.lang(request))
    login = str(form.get("login", "")).strip()[:120]
    password = str(form.get("password", ""))[:200]
    client = _client(request)
    if web.limiter.blocked(login, client):
        ctx = {"login": login, "title_key": "login.title", "error": t("login.blocked")}
        return web.render(request, "login.html", ctx, 429)
    account = authenticate(web.db, login, password) if login and password else None
    if account is None:
        web.limiter.failed(login, client)
        ctx = {"login": login, "title_key": "login.title", "error": t("login.failed")}
        return web.render(request, "login.html", ctx, 401)
    web.limiter.succeeded(login)
    lang = request.session.get("lang")
    request.session.clear()  # a fresh session id and CSRF token: no fixation
    if lang:
        request.session["lang"] = lang
    user = SessionUser(account["login"], account["role"], account["pupil"], account["display_name"])
    request.session["sid"] = web.sessions.create(user)
    return RedirectResponse("/parent" if user.is_parent else "/staff", status_code=303)


@post_page
def logout(web: Web, request: Request, form: FormData) -> Response:
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


routes = [
    Route("/", home),
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login_submit, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/lang/{lang}", switch_language),
]
