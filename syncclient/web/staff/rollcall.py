"""The roll call: one class and day, eight hour slots or the full day per pupil."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import FormData, QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain import absences
from domain.codes import parse_date
from domain.errors import InvalidInput, NotFound
from domain.gradesheet import row_indexes
from domain.rules import FULL_DAY, HOUR_SLOTS, mask_hours

from ..core import Web, get_page, post_page


def day_of(params: QueryParams | FormData, default_today: bool = True) -> dt.date:
    text = params.get("day") or (dt.date.today().isoformat() if default_today else "")
    return parse_date(str(text), field="day")


@get_page
def roll_call(web: Web, request: Request) -> Response:
    web.require_staff(request, "absences")
    cls = web.class_of(request.query_params.get("class"))
    day = day_of(request.query_params)
    ctx: dict[str, Any] = {"title_key": "absences.title", "classes": web.classes(), "cls": cls, "day": day.isoformat()}
    ctx.update({"slots": range(1, HOUR_SLOTS + 1), "rows": [], "recorded": {}, "checked": {}})
    if cls:
        rows = web.pupils_of_class(cls["code"])
        recorded = absences.day_of_class(web.db, web.store.term, cls["code"], day)
        ctx.update(rows=rows, recorded={p: set(mask_hours(m)) for p, m in recorded.items()})
    return web.render(request, "staff/absences.html", ctx)


@post_page
def roll_call_save(web: Web, request: Request, form: FormData) -> Response:
    user = web.require_staff(request, "absences")
    cls = web.class_of(form.get("class"))
    if cls is None:
        raise InvalidInput("choose a class", code="missing_choice")
    day = day_of(form, default_today=False)
    in_class = {p["code"] for p in web.pupils_of_class(cls["code"])}
    entries = []
    for i in row_indexes(form):
        pupil = str(form.get(f"p{i}", "")).strip().upper()
        if pupil not in in_class:
            raise NotFound(f"pupil {pupil} is not in class {cls['code']}", code="not_in_class")
        if form.get(f"f{i}"):
            mask = FULL_DAY
        else:
            slots = form.getlist(f"h{i}")
            if not slots:
                continue
            mask = absences.parse_hours(",".join(str(s) for s in slots))
        entries.append(absences.AbsenceEntry(pupil, day, mask, recorded_by=user.login))
    if entries:
        absences.record_absences(web.db, web.store.term, entries)
        web.local_write()
    web.flash(request, "flash.absences_saved", n=len(entries))
    return web.redirect(f"/staff/absences?{urlencode({'class': cls['code'], 'day': day.isoformat()})}")


routes = [
    Route("/staff/absences", roll_call, methods=["GET"]),
    Route("/staff/absences", roll_call_save, methods=["POST"]),
]
