"""The roll call: one class and day, eight hour slots or the full day per pupil.

Saved ticks stay editable: a wrong tick is corrected (kept in the history, and
the parent's alert corrected or withdrawn by the node's triggers). A save
changes only the rows ticked differently from what the page showed.
"""

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
from domain.database import write_transaction
from domain.errors import InvalidInput, NotFound
from domain.gradesheet import row_indexes
from domain.rules import FULL_DAY, HOUR_SLOTS, mask_hours

from ...corrections import corrections_of_day, record_corrections
from ..core import Web, get_page, hours_text, post_page
from ..translations import translator


def day_of(params: QueryParams | FormData, default_today: bool = True) -> dt.date:
    text = params.get("day") or (dt.date.today().isoformat() if default_today else "")
    return parse_date(str(text), field="day")


def _page(
    web: Web,
    request: Request,
    cls: dict | None,
    day: dt.date,
    ticked: dict[str, int] | None = None,
    shown: dict[str, int] | None = None,
    problems: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    ctx: dict[str, Any] = {"title_key": "absences.title", "classes": web.classes(), "cls": cls, "day": day}
    ctx.update({"slots": range(1, HOUR_SLOTS + 1), "rows": [], "ticked": {}, "shown": {}, "history": []})
    ctx.update({"problems": problems or {}, "error": error})
    if cls:
        rows = web.pupils_of_class(cls["code"], on=day)  # a pupil who left before that day is not called
        recorded = absences.day_of_class(web.db, web.store.term, cls["code"], day)
        ticked = recorded if ticked is None else ticked
        names = {p["code"]: p for p in rows}
        history = corrections_of_day(web.db, day, list(names))
        for h in history:
            h["who"] = names[h["pupil"]]
        ctx.update(rows=rows, history=history, shown=recorded if shown is None else shown)
        ctx["ticked"] = {p: set(mask_hours(m)) for p, m in ticked.items()}
    return web.render(request, "staff/absences.html", ctx, status=status)


@get_page
def roll_call(web: Web, request: Request) -> Response:
    web.require_staff(request, "absences")
    cls = web.class_of(request.query_params.get("class"))
    return _page(web, request, cls, day_of(request.query_params))


def _rows(form: FormData, in_class: set[str], class_code: str) -> list[absences.RollCallRow]:
    rows = []
    for i in row_indexes(form):
        pupil = str(form.get(f"p{i}", "")).strip().upper()
        if pupil not in in_class:
            raise NotFound(f"pupil {pupil} is not in class {class_code}", code="not_in_class")
        if form.get(f"f{i}"):
            mask = FULL_DAY
        else:
            slots = form.getlist(f"h{i}")
            mask = absences.parse_hours(",".join(str(s) for s in slots)) if slots else 0
        shown_text = str(form.get(f"o{i}", ""))
        shown = int(shown_text) if shown_text.isdigit() and len(shown_text) <= 3 else None
        rows.append(absences.RollCallRow(pupil, mask, shown))
    return rows


@post_page
def roll_call_save(web: Web, request: Request, form: FormData) -> Response:
    user = web.require_staff(request, "absences")
    cls = web.class_of(form.get("class"))
    if cls is None:
        raise InvalidInput("choose a class", code="missing_choice")
    day = day_of(form, default_today=False)
    rows = _rows(form, {p["code"] for p in web.pupils_of_class(cls["code"], on=day)}, cls["code"])
    with write_transaction(web.db):
        saved = absences.save_roll_call(web.db, web.store.term, day, rows, by=user.login)
        record_corrections(web.db, day, saved.changes, user.login)
    if saved.conflicts:
        t = translator(web.lang(request))
        now = absences.day_of_class(web.db, web.store.term, cls["code"], day)
        shown = {r.pupil: now.get(r.pupil, 0) for r in rows}
        problems = {
            c.pupil: t("err.hours_conflict", theirs=hours_text(t, c.theirs), yours=hours_text(t, c.yours))
            for c in saved.conflicts
        }
        ticked = {r.pupil: r.hours for r in rows}
        for r in rows:  # rows this page did not change show the current state
            if r.pupil not in problems and r.shown is not None and r.hours == r.shown:
                ticked[r.pupil] = now.get(r.pupil, 0)
        message = t("err.rollcall_conflicts", n=len(problems))
        return _page(web, request, cls, day, ticked, shown, problems, message, 409)
    if saved.changes:
        web.local_write()
    web.flash(request, "flash.absences_saved", n=len(saved.changes))
    return web.redirect(f"/staff/absences?{urlencode({'class': cls['code'], 'day': day.isoformat()})}")


routes = [
    Route("/staff/absences", roll_call, methods=["GET"]),
    Route("/staff/absences", roll_call_save, methods=["POST"]),
]
