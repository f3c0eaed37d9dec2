"""Behaviour incidents: a pupil, a day, what happened and the measure taken."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain import incidents
from domain.codes import check_pupil_code, parse_date
from domain.errors import InvalidInput, NotFound

from ..core import Web, get_page, post_page
from .forms import on_error, text


def _form(
    web: Web, request: Request, cls: dict | None, values: dict, error: str | None = None, status: int = 200
) -> Response:
    rows = web.pupils_of_class(cls["code"]) if cls else []
    recent = incidents.recent_of_class(web.db, web.store.term, cls["code"]) if cls else []
    ctx = {"title_key": "incidents.title", "classes": web.classes(), "cls": cls, "rows": rows, "recent": recent}
    ctx["names"] = {p["code"]: p for p in rows}
    ctx.update({"values": {"day": dt.date.today().isoformat(), **values}, "error": error})
    return web.render(request, "staff/incidents.html", ctx, status=status)


@get_page
def incidents_page(web: Web, request: Request) -> Response:
    web.require_staff(request, "incidents")
    return _form(web, request, web.class_of(request.query_params.get("class")), {})


@post_page
def incidents_save(web: Web, request: Request, form: FormData) -> Response:
    web.require_staff(request, "incidents")
    cls = web.class_of(form.get("class"))
    if cls is None:
        raise InvalidInput("choose a class", code="missing_choice")
    values = {k: text(form, k) for k in ("pupil", "day", "description", "measure")}
    on_error(request, lambda message, status: _form(web, request, cls, values, message, status))
    pupil = check_pupil_code(values["pupil"])
    if pupil not in {p["code"] for p in web.pupils_of_class(cls["code"])}:
        raise NotFound(f"pupil {pupil} is not in class {cls['code']}", code="not_in_class")
    day = parse_date(values["day"], field="day")
    incidents.record_incident(web.db, web.store.term, pupil, day, values["description"], values["measure"])
    web.local_write()
    web.flash(request, "flash.incident_saved")
    return web.redirect(f"/staff/incidents?{urlencode({'class': cls['code']})}")


routes = [
    Route("/staff/incidents", incidents_page, methods=["GET"]),
    Route("/staff/incidents", incidents_save, methods=["POST"]),
]
