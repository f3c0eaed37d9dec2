"""Closing a semester (the director): until then parents see provisional averages, no rank."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain.errors import InvalidInput

from ...semesters import close_semester, closures, reopen_semester
from ..core import Web, get_page, post_page


@get_page
def semesters_page(web: Web, request: Request) -> Response:
    web.require_staff(request, "close_semester")
    ctx = {"title_key": "semesters.title", "closures": closures(web.db, web.store.school, web.store.term.year)}
    return web.render(request, "staff/semesters.html", ctx)


@post_page
def semesters_save(web: Web, request: Request, form: FormData) -> Response:
    user = web.require_staff(request, "close_semester")
    year = web.store.term.year
    action, semester = str(form.get("action", "")), str(form.get("semester", ""))
    if action == "close":
        close_semester(web.db, web.store.school, year, semester, user.login)
        web.flash(request, "flash.semester_closed", n=semester)
    elif action == "reopen":
        reopen_semester(web.db, web.store.school, year, semester)
        web.flash(request, "flash.semester_reopened", n=semester)
    else:
        raise InvalidInput(f"unknown action {action!r}", code="invalid_input")
    return web.redirect("/staff/semesters")


routes = [
    Route("/staff/semesters", semesters_page, methods=["GET"]),
    Route("/staff/semesters", semesters_save, methods=["POST"]),
]
