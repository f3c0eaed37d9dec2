"""Justifying absences: a class's open absences, a reason per pupil and day."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain import absences
from domain.codes import check_pupil_code, parse_date
from domain.errors import NotFound
from domain.rules import mask_hours

from ..core import Web, get_page, post_page
from .forms import text


@get_page
def justify_page(web: Web, request: Request) -> Response:
    web.require_staff(request, "justify")
    cls = web.class_of(request.query_params.get("class"))
    items = []
    if cls:
        names = {p["code"]: p for p in web.pupils_of_class(cls["code"])}
        for a in absences.absences_of_class(web.db, web.store.term, cls["code"]):
            items.append(
                {
                    "pupil": a["pupil"],
                    "day": a["day"],
                    "hours": mask_hours(a["mask"]),
                    "open": mask_hours(a["mask"] & ~a["justified"]),
                    "reason": a["reason"],
                    "who": names.get(a["pupil"], {"last_name": a["pupil"], "first_name": ""}),
                }
            )
    return web.render(
        request,
        "staff/justify.html",
        {"title_key": "justify.title", "classes": web.classes(), "cls": cls, "items": items},
    )


@post_page
def justify_save(web: Web, request: Request, form: FormData) -> Response:
    web.require_staff(request, "justify")
    cls = web.class_of(form.get("class"))
    pupil = check_pupil_code(str(form.get("pupil", "")))
    if cls is None or pupil not in {p["code"] for p in web.pupils_of_class(cls["code"])}:
        raise NotFound(f"pupil {pupil} is not in this class", code="not_in_class")
    day = parse_date(str(form.get("day", "")), field="day")
    absences.justify_absence(web.db, web.store.term, pupil, day, text(form, "reason"))
    web.local_write()
    web.flash(request, "flash.justified")
    return web.redirect(f"/staff/justify?{urlencode({'class': cls['code']})}")


routes = [
    Route("/staff/justify", justify_page, methods=["GET"]),
    Route("/staff/justify", justify_save, methods=["POST"]),
]
