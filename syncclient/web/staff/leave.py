"""Recording a pupil's departure (المغادرون): the same domain step as `massar node leave`.

The secretary picks the pupil, types the date he left and says how: a transfer to
another school (whose code is then required) or another departure. Nothing is
deleted: the enrolment and the history stay, ended by the departure, which reaches
the centre on the next sync.
"""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain import transfers
from domain.dates import parse_typed_date
from domain.errors import InvalidInput

from ..core import Web, get_page, post_page
from .forms import on_error, text

FIELDS = ("pupil", "left_on", "kind", "to_school")
KINDS = ("transfer", "left")


def _pupils(web: Web) -> list[dict]:
    term = web.store.term
    rows = web.db.execute(
        "SELECT p.code, p.last_name, p.first_name, p.last_name_ar, p.first_name_ar, e.class FROM enrolments e "
        "JOIN pupils p ON p.code = e.pupil WHERE e.school = ? AND e.year = ? ORDER BY e.class, p.last_name, p.code",
        [term.school, term.year],
    ).fetchall()
    keys = ("code", "last_name", "first_name", "last_name_ar", "first_name_ar", "class")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def _form(web: Web, request: Request, values: dict, error: str | None = None, status: int = 200) -> Response:
    term = web.store.term
    pupils = _pupils(web)
    ctx = {
        "title_key": "leave.title",
        "values": values,
        "error": error,
        "pupils": pupils,
        "names": {p["code"]: p for p in pupils},
        "departures": transfers.departures(web.db, term.school, term.year),
        "kinds": KINDS,
    }
    return web.render(request, "staff/leave.html", ctx, status=status)


@get_page
def leave_page(web: Web, request: Request) -> Response:
    web.require_staff(request, "register")
    return _form(web, request, {k: "" for k in FIELDS})


@post_page
def leave_save(web: Web, request: Request, form: FormData) -> Response:
    web.require_staff(request, "register")
    values = {k: text(form, k, 120) for k in FIELDS}
    on_error(request, lambda message, status: _form(web, request, values, message, status))
    if not values["pupil"]:
        raise InvalidInput("choose the pupil", code="missing_pupil")
    if values["kind"] not in KINDS:
        raise InvalidInput("choose how the pupil left", code="missing_kind")
    left_on = parse_typed_date(values["left_on"], field="date")
    destination = values["to_school"] or None
    if values["kind"] == "transfer" and destination is None:
        raise InvalidInput("a transfer needs the destination school's code", code="missing_destination")
    if values["kind"] == "left" and destination is not None:
        raise InvalidInput("a destination school means a transfer", code="destination_not_transfer")
    info = transfers.leave_pupil(web.db, web.store.term, values["pupil"], left_on.isoformat(), destination)
    web.local_write()
    web.flash(request, "flash.left", code=str(info["student"]))
    return web.redirect("/staff/leave")


routes = [
    Route("/staff/leave", leave_page, methods=["GET"]),
    Route("/staff/leave", leave_save, methods=["POST"]),
]
