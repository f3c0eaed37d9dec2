"""The parent terminal's orientation page: wishes while the round is open, the decision, the appeal."""

from __future__ import annotations

import datetime as dt

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain import orientation
from domain.errors import InvalidInput
from domain.pupils import enrolment_of
from domain.results import pupil_report

from .core import Web, get_page, post_page


def _context(web: Web, pupil: str, today: dt.date) -> dict:
    term = web.store.term
    level = enrolment_of(web.db, term, pupil).level
    open_round = orientation.open_round(web.db, term.year, today)
    dates = orientation.round_dates(web.db, term.year, open_round) if open_round else None
    return {
        "title_key": "nav.porientation",
        "report": pupil_report(web.db, term.year, pupil, school=web.store.school, semesters=()),
        "streams": orientation.streams_after(web.db, level),
        "wishes": orientation.wishes_of(web.db, term.year, pupil),
        "decision": orientation.orientation_of(web.db, term.year, pupil),
        "open_round": open_round,
        "closes_on": dates[1] if dates else None,
        "today": today.isoformat(),
        "slots": range(1, 4),
    }


@get_page
def orientation_page(web: Web, request: Request) -> Response:
    user = web.require_parent(request)
    return web.render(request, "parent/orientation.html", _context(web, str(user.pupil), dt.date.today()))


@post_page
def orientation_post(web: Web, request: Request, form: FormData) -> Response:
    user = web.require_parent(request)
    today = dt.date.today()

    def again(message: str, status: int) -> Response:
        return web.render(
            request, "parent/orientation.html", {**_context(web, str(user.pupil), today), "error": message}, status
        )

    request.state.on_error = again
    if form.get("action") == "appeal":
        note = str(form.get("note", ""))[:400]
        orientation.appeal(web.db, web.store.term, str(user.pupil), note, today=today)
        web.flash(request, "flash.appealed")
    else:
        round_ = orientation.open_round(web.db, web.store.term.year, today)
        if round_ is None:
            raise InvalidInput("no round is open", code="round_closed")
        choices = [str(form.get(f"c{n}", "")).strip().upper() for n in range(1, 4)]
        orientation.record_wishes(
            web.db, web.store.term, str(user.pupil), [c for c in choices if c], round_, by_family=True, today=today
        )
        web.flash(request, "flash.wishes_saved")
    web.local_write()
    return web.redirect("/parent/orientation")


routes = [
    Route("/parent/orientation", orientation_page, methods=["GET"]),
    Route("/parent/orientation", orientation_post, methods=["POST"]),
]
