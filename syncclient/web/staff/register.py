"""Registering a new pupil into a class of this year."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain import pupils
from domain.codes import check_pupil_code
from domain.dates import parse_typed_date
from domain.errors import InvalidInput

from ..core import Web, get_page, post_page
from .forms import on_error, text

FIELDS = (
    "class",
    "last_name",
    "first_name",
    "last_name_ar",
    "first_name_ar",
    "gender",
    "birth_date",
    "birth_place",
    "code",
)


def _form(web: Web, request: Request, values: dict, error: str | None = None, status: int = 200) -> Response:
    ctx = {"title_key": "register.title", "classes": web.classes(), "values": values, "error": error}
    ctx["levels"] = pupils.levels(web.db)
    return web.render(request, "staff/register.html", ctx, status=status)


@get_page
def register_page(web: Web, request: Request) -> Response:
    web.require_staff(request, "register")
    return _form(web, request, {k: "" for k in FIELDS})


@post_page
def register_save(web: Web, request: Request, form: FormData) -> Response:
    web.require_staff(request, "register")
    values = {k: text(form, k, 120) for k in FIELDS}
    on_error(request, lambda message, status: _form(web, request, values, message, status))
    cls = web.class_of(values["class"])  # one of the year's classes: a typo never creates one
    if cls is None:
        raise InvalidInput("choose a class", code="missing_choice")
    code = check_pupil_code(values["code"]) if values["code"] else None
    birth = parse_typed_date(values["birth_date"], field="birth date").isoformat() if values["birth_date"] else None
    code = pupils.register_pupil(
        web.db,
        web.store.term,
        class_code=cls["code"],
        last_name=values["last_name"],
        first_name=values["first_name"],
        gender=values["gender"],
        birth_date=birth,
        birth_place=values["birth_place"] or None,
        code=code,
        last_name_ar=values["last_name_ar"] or None,
        first_name_ar=values["first_name_ar"] or None,
    )
    web.local_write()
    web.flash(request, "flash.registered", code=code, cls=cls["code"])
    return web.redirect("/staff/register")


routes = [
    Route("/staff/register", register_page, methods=["GET"]),
    Route("/staff/register", register_save, methods=["POST"]),
]
