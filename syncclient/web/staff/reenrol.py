"""Re-enrolment: placing a class's pupils in the classes of the next school year."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain import pupils, reenrolment
from domain.errors import InvalidInput
from domain.gradesheet import row_indexes

from ..core import Web, get_page, post_page
from .forms import on_error, text


def _form(
    web: Web, request: Request, cls: dict | None, values: dict, error: str | None = None, status: int = 200
) -> Response:
    term = web.store.term
    rows = web.pupils_of_class(cls["code"]) if cls else []
    following = reenrolment.next_year(term.year)
    if cls and not values:
        placed = reenrolment.placements(web.db, term)
        values = {f"n{i}": placed.get(p["code"], "") for i, p in enumerate(rows)}
    ctx = {"title_key": "reenrol.title", "classes": web.classes(), "cls": cls, "rows": rows, "next_year": following}
    ctx["next_classes"] = web.classes(following)
    ctx["levels"] = pupils.levels(web.db)
    ctx.update({"values": values, "error": error})
    return web.render(request, "staff/reenrol.html", ctx, status=status)


@get_page
def reenrol_page(web: Web, request: Request) -> Response:
    web.require_staff(request, "register")
    return _form(web, request, web.class_of(request.query_params.get("class")), {})


@post_page
def reenrol_save(web: Web, request: Request, form: FormData) -> Response:
    """Enrol pupils of a class of this year into classes of the next school year (all or nothing)."""
    web.require_staff(request, "register")
    cls = web.class_of(form.get("class"))
    if cls is None:
        raise InvalidInput("choose a class", code="missing_choice")
    values = {f"n{i}": text(form, f"n{i}", 20) for i in row_indexes(form, "n")}
    on_error(request, lambda message, status: _form(web, request, cls, values, message, status))
    choices = [(str(form.get(f"p{i}", "")), values.get(f"n{i}", "")) for i in row_indexes(form)]
    count = reenrolment.reenrol(web.db, web.store.term, choices, from_class=cls["code"])
    if count:
        web.local_write()
    web.flash(request, "flash.reenrolled", n=count, year=reenrolment.next_year(web.store.term.year))
    return web.redirect(f"/staff/reenrol?{urlencode({'class': cls['code']})}")


routes = [
    Route("/staff/reenrol", reenrol_page, methods=["GET"]),
    Route("/staff/reenrol", reenrol_save, methods=["POST"]),
]
