"""Staff pages of the year's second half: class council, orientation, year-end; the SMS delivery reports."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from domain import council, orientation, year_end
from domain.database import write_transaction
from domain.errors import InvalidInput, NotFound
from domain.results import pupil_report

from ..notify import sender
from ..year import closed_years, open_next_year
from .core import Web, get_page, post_page

MAX_NOTE = council.MAX_NOTE


def _str(form: Any, name: str, limit: int = MAX_NOTE) -> str:
    value = form.get(name, "")
    value = value if isinstance(value, str) else ""
    if len(value) > limit:
        raise InvalidInput(f"{name} is too long", code="too_long")
    return value.strip()


def _posted_pupils(form: Any, allowed: set[str]) -> list[tuple[str, str]]:
    """(row index, pupil) of the rows posted; a pupil outside the class is refused (forms are never trusted)."""
    out = []
    for key in form:
        if key.startswith("p") and key[1:].isdigit():
            pupil = str(form.get(key, "")).strip().upper()
            if pupil not in allowed:
                raise NotFound(f"pupil {pupil} is not in this class", code="not_in_class")
            out.append((key[1:], pupil))
    return out


# -- class council ---------------------------------------------------------------------------


@get_page
def council_page(web: Web, request: Request) -> Response:
    web.require_staff(request, "council")
    cls = web.class_of(request.query_params.get("class"))
    rows = []
    if cls:
        for p in web.pupils_of_class(cls["code"]):
            report = pupil_report(web.db, web.store.term.year, p["code"], school=web.store.school, semesters=())
            rows.append({**p, "annual": report["annual_average"], "proposed": report["council"], "report": report})
            decided = council.decision_of(web.db, web.store.term.year, p["code"])
            rows[-1]["decided"] = decided
    ctx: dict[str, Any] = {"title_key": "council.title", "classes": web.classes(), "cls": cls, "rows": rows}
    ctx["decisions"] = council.DECISIONS
    return web.render(request, "staff/council.html", ctx)


@post_page
def council_save(web: Web, request: Request, form: FormData) -> Response:
    web.require_staff(request, "council")
    cls = web.class_of(_str(form, "class", 20) or None)
    if cls is None:
        raise InvalidInput("choose a class", code="missing_choice")
    posted = _posted_pupils(form, {p["code"] for p in web.pupils_of_class(cls["code"])})
    n = 0
    with write_transaction(web.db):  # all rows or none
        for i, pupil in posted:
            decision = _str(form, f"d{i}", 20)
            if not decision:
                continue
            council.decide(web.db, web.store.term, pupil, decision, _str(form, f"n{i}"), today=dt.date.today())
            n += 1
    web.local_write()
    web.flash(request, "flash.council_saved", n=n)
    return web.redirect(f"/staff/council?{urlencode({'class': cls['code']})}")


# -- orientation -----------------------------------------------------------------------------


@get_page
def orientation_page(web: Web, request: Request) -> Response:
    web.require_staff(request, "orientation")
    cls = web.class_of(request.query_params.get("class"))
    term = web.store.term
    rows, streams = [], []
    if cls:
        streams = orientation.streams_after(web.db, cls["level"])
        for p in web.pupils_of_class(cls["code"]):
            rows.append(
                {
                    **p,
                    "wishes": orientation.wishes_of(web.db, term.year, p["code"]),
                    "decision": orientation.orientation_of(web.db, term.year, p["code"]),
                }
            )
    ctx: dict[str, Any] = {"title_key": "orientation.title", "classes": web.classes(), "cls": cls, "rows": rows}
    ctx.update(streams=streams, counts=orientation.counts(web.db, term))
    return web.render(request, "staff/orientation.html", ctx)


@post_page
def orientation_save(web: Web, request: Request, form: FormData) -> Response:
    web.require_staff(request, "council")  # the council's decision: the director records it
    cls = web.class_of(_str(form, "class", 20) or None)
    if cls is None:
        raise InvalidInput("choose a class", code="missing_choice")
    posted = _posted_pupils(form, {p["code"] for p in web.pupils_of_class(cls["code"])})
    n = 0
    with write_transaction(web.db):
        for i, pupil in posted:
            stream = _str(form, f"s{i}", 20)
            if not stream:
                continue
            current = orientation.orientation_of(web.db, web.store.term.year, pupil)
            note = _str(form, f"n{i}") or None
            if current and current["decision"] == stream.upper() and current["note"] == note:
                continue  # unchanged: the appeal window keeps its date
            orientation.orient(web.db, web.store.term, pupil, stream, note, today=dt.date.today())
            n += 1
    web.local_write()
    web.flash(request, "flash.oriented", n=n)
    return web.redirect(f"/staff/orientation?{urlencode({'class': cls['code']})}")


# -- year end --------------------------------------------------------------------------------


@get_page
def year_page(web: Web, request: Request) -> Response:
    web.require_staff(request, "year")
    term = web.store.term
    cls = web.class_of(request.query_params.get("class"))
    ctx = {
        "title_key": "year.title",
        "classes": web.classes(),
        "cls": cls,
        "summary": year_end.summary(web.db, term),
        "rows": year_end.proposals(web.db, term, cls["code"] if cls else None),
        "closed": closed_years(web.store),
    }
    return web.render(request, "staff/year.html", ctx)


@post_page
def year_action(web: Web, request: Request, form: FormData) -> Response:
    web.require_staff(request, "year")
    action = _str(form, "action", 20)
    term = web.store.term
    back = "/staff/year"
    if action == "close":
        year_end.close_year(web.db, term)
        web.flash(request, "flash.year_closed")
    elif action == "confirm":
        choices: dict[str, str | None] = {}
        current = {p["pupil"] for p in year_end.proposals(web.db, term) if p["outcome"] != "leaver"}
        for i, pupil in _posted_pupils(form, current):
            choices[pupil] = _str(form, f"c{i}", 20) or None
        n = year_end.confirm(web.db, term, choices or None)  # no row posted: confirm every proposal
        web.flash(request, "flash.confirmed", n=n)
        if form.get("class"):
            back += "?" + urlencode({"class": str(form.get("class"))})
    elif action == "open":
        info = open_next_year(web.store, year_end.next_year_of(term.year))
        web.flash(request, "flash.year_opened", year=info["opened"])
    else:
        raise HTTPException(400)
    web.local_write()
    return web.redirect(back)


# -- SMS delivery reports (called by Kannel's smsbox, not by a person) -------------------------


@get_page
def sms_report(web: Web, request: Request) -> Response:
    q = request.query_params
    ident, token, status = q.get("id", ""), q.get("t", ""), q.get("s", "")
    if not (ident.isdigit() and status.isdigit() and len(token) <= 64):
        raise HTTPException(404)
    if not sender.record_report(web.store, int(ident), token, int(status)):
        raise HTTPException(404)
    return PlainTextResponse("ok")


routes = [
    Route("/staff/council", council_page, methods=["GET"]),
    Route("/staff/council", council_save, methods=["POST"]),
    Route("/staff/orientation", orientation_page, methods=["GET"]),
    Route("/staff/orientation", orientation_save, methods=["POST"]),
    Route("/staff/year", year_page, methods=["GET"]),
    Route("/staff/year", year_action, methods=["POST"]),
    Route("/sms/dlr", sms_report, methods=["GET"]),
]
