"""Logging in and out, and choosing the language."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from .core import Web, get_page, post_page, safe_path
from .security import SessionUser
from .translations import LANGUAGES


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


def _landing(request: Request, user: SessionUser) -> str:
    """Where a fresh login goes: back to the page that asked for it, when that page is the user's kind."""
    target = request.session.pop("next", None)
    home = "/parent" if user.is_parent else "/staff"
    if isinstance(target, str) and target.startswith(home) and safe_path(target):
        return target
    return home


@post_page
def login_submit(web: Web, request: Request, form: FormData) -> Response:
    typed = str(form.get("login", "")).strip()[:120]
    user, error = web.sign_in(request, typed, str(form.get("password", "")))
    if user is None:
        waiting = getattr(request.state, "retry_after", None)
        response = web.render(
            request, "login.html", {"login": typed, "title_key": "login.title", "error": error}, 429 if waiting else 401
        )
        if waiting:
            response.headers["retry-after"] = str(waiting)
        return response
    return RedirectResponse(_landing(request, user), status_code=303)


@post_page
def logout(web: Web, request: Request, form: FormData) -> Response:
    web.sessions.drop(request.session.get("sid"))
    idle = form.get("idle") == "1"
    lang = request.session.get("lang")
    request.session.clear()  # the next person at the terminal starts in Arabic, logged out...
    if idle and lang:
        # ...but a parent who walked away reads why in the language they chose; the next
        # person finds the language switch on the login page as always.
        request.session["lang"] = lang
    web.flash(request, "flash.idle_logout" if idle else "flash.logged_out")
    return RedirectResponse("/login", status_code=303)


async def switch_language(request: Request) -> Response:
    lang = request.path_params["lang"]
    if lang not in LANGUAGES:
        raise HTTPException(404)
    request.session["lang"] = lang
    target = request.query_params.get("next", "/")
    return RedirectResponse(target if safe_path(target) else "/", status_code=303)


@get_page
def ping(web: Web, request: Request) -> Response:
    """Someone is reading the page: the session's idle clock restarts (the page's script calls this)."""
    web.user(request)
    return Response(status_code=204)


routes = [
    Route("/ping", ping),
    Route("/", home),
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login_submit, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/lang/{lang}", switch_language),
]
