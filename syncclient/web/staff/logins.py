"""Parent logins: which pupils have one, and the printed slip with a fresh password."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain import accounts, pupils
from domain.codes import check_pupil_code

from ...satellites import term_of_pupil
from ..core import Web, get_page, post_page
from ..translations import translator


@get_page
def logins_page(web: Web, request: Request) -> Response:
    web.require_staff(request, "logins")
    cls = web.class_of(request.query_params.get("class"))
    rows = web.pupils_of_class(cls["code"]) if cls else []
    issued = accounts.parent_logins_issued(web.db, [p["code"] for p in rows])
    ctx = {"title_key": "logins.title", "classes": web.classes(), "cls": cls, "rows": rows, "issued": issued}
    return web.render(request, "staff/logins.html", ctx)


MAX_SLIPS = 60  # slips kept in one session: a whole class printed in a row


@post_page
def logins_issue(web: Web, request: Request, form: FormData) -> Response:
    """Issue (or reset) the password, then show the slip by GET: a reload never issues another."""
    web.require_staff(request, "logins")
    pupil = check_pupil_code(str(form.get("pupil", "")))
    pupils.enrolment_of(web.db, term_of_pupil(web.db, web.store.term, pupil), pupil)  # this school's or a satellite's
    login, password = accounts.issue_parent_login(web.db, pupil)
    sid = request.session.get("sid")
    data = web.sessions.data(sid)
    slips = {k: v for k, v in data.get("slips", {}).items() if k != pupil}
    slips[pupil] = [login, password]
    data["slips"] = dict(list(slips.items())[-MAX_SLIPS:])
    web.sessions.set_data(sid, data)
    return web.redirect(f"/staff/logins/slip?{urlencode({'pupil': pupil})}")


@get_page
def slip_page(web: Web, request: Request) -> Response:
    """The slip of a password issued in this session (it lives only as long as the session)."""
    web.require_staff(request, "logins")
    pupil = str(request.query_params.get("pupil", "")).strip().upper()
    issued = web.sessions.data(request.session.get("sid")).get("slips", {}).get(pupil)
    if issued is None:
        web.flash(request, "flash.slip_gone", "warn")
        return web.redirect("/staff/logins")
    login, password = issued
    who = pupils.pupil_names(web.db, pupil)
    ctx = {"title_key": "slip.title", "login": login, "password": password, "who": who}
    ctx["ar"], ctx["fr"] = translator("ar"), translator("fr")
    return web.render(request, "staff/slip.html", ctx)


routes = [
    Route("/staff/logins", logins_page, methods=["GET"]),
    Route("/staff/logins", logins_issue, methods=["POST"]),
    Route("/staff/logins/slip", slip_page, methods=["GET"]),
]
