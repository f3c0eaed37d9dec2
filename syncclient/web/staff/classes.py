"""Creating a class: a deliberate action of its own, never the side effect of a typo elsewhere."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain import pupils, reenrolment
from domain.errors import InvalidInput

from ..core import Web, post_page, safe_path
from .forms import text


@post_page
def create_class(web: Web, request: Request, form: FormData) -> Response:
    web.require_staff(request, "classes")
    term = web.store.term
    target = reenrolment.next_term(term) if form.get("year") == "next" else term
    back = str(form.get("back", "/staff/register"))
    if not safe_path(back) or not back.startswith("/staff/"):
        back = "/staff/register"
    code, level = text(form, "code", 20), text(form, "level", 20)
    if not code or not level:
        raise InvalidInput("a class needs a code and a level", code="bad_class")
    created = pupils.create_class(web.db, target, code, level)
    web.local_write()
    web.flash(request, "flash.class_created", cls=created, year=target.year)
    return web.redirect(back)


routes = [Route("/staff/classes", create_class, methods=["POST"])]
