"""Justifying absences: a class's absences (filtered by pupil, open ones first), a reason, the hours."""

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

SHOWN = 30  # cards on one page; the filter finds the others


@get_page
def justify_page(web: Web, request: Request) -> Response:
    web.require_staff(request, "justify")
    params = request.query_params
    cls = web.class_of(params.get("class"))
    chosen = str(params.get("pupil", "")).strip().upper()
    only_open = params.get("open") == "1" or params.get("f") != "1"  # open ones only, unless unticked
    items, pupils, more = [], [], 0
    if cls:
        pupils = web.pupils_of_class(cls["code"])
        names = {p["code"]: p for p in pupils}
        for a in absences.absences_of_class(web.db, web.store.term, cls["code"]):
            still_open = a["mask"] & ~a["justified"]
            if (chosen and a["pupil"] != chosen) or (only_open and not still_open):
                continue
            who = names.get(a["pupil"], {"last_name": a["pupil"], "first_name": ""})
            items.append({**a, "open": mask_hours(still_open), "who": who})
        more, items = max(0, len(items) - SHOWN), items[:SHOWN]
    ctx = {"title_key": "justify.title", "classes": web.classes(), "cls": cls, "items": items, "more": more}
    ctx.update({"pupils": pupils, "chosen": chosen, "only_open": only_open})
    return web.render(request, "staff/justify.html", ctx)


@post_page
def justify_save(web: Web, request: Request, form: FormData) -> Response:
    web.require_staff(request, "justify")
    cls = web.class_of(form.get("class"))
    pupil = check_pupil_code(str(form.get("pupil", "")))
    if cls is None or pupil not in {p["code"] for p in web.pupils_of_class(cls["code"])}:
        raise NotFound(f"pupil {pupil} is not in this class", code="not_in_class")
    day = parse_date(str(form.get("day", "")), field="day")
    slots = [str(h) for h in form.getlist("h")]
    hours = absences.parse_hours(",".join(slots)) if slots else None  # none ticked: every recorded hour
    absences.justify_absence(web.db, web.store.term, pupil, day, text(form, "reason"), hours)
    web.local_write()
    web.flash(request, "flash.justified")
    return web.redirect(f"/staff/justify?{urlencode({'class': cls['code']})}")


routes = [
    Route("/staff/justify", justify_page, methods=["GET"]),
    Route("/staff/justify", justify_save, methods=["POST"]),
]
