"""Parent logins: which pupils have one, and the printed slip with a fresh password."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain import accounts, pupils
from domain.codes import check_pupil_code
from domain.errors import NotFound

from ...satellites import hosted, term_of_pupil
from ..core import Web, get_page, post_page
from ..translations import translator


@get_page
def logins_page(web: Web, request: Request) -> Response:
    web.require_staff(request, "logins")
    satellites = hosted(web.db, web.store.school)
    # A satellite's class (its parents read at this terminal, so their logins are issued here).
    chosen = str(request.query_params.get("satellite", "")).strip().upper()
    if chosen and chosen not in satellites:
        raise NotFound(f"unknown satellite school {chosen}", code="unknown_school")
    if chosen:
        wanted = str(request.query_params.get("class", "")).strip().upper()
        cls = next((c for c in web.classes(school=chosen) if c["code"] == wanted), None)
        if cls is None:
            raise NotFound(f"unknown class {wanted} of {chosen}", code="unknown_class")
    else:
        cls = web.class_of(request.query_params.get("class"))
    rows = web.pupils_of_class(cls["code"], school=chosen or None) if cls else []
    issued = accounts.parent_logins_issued(web.db, [p["code"] for p in rows])
    ctx = {"title_key": "logins.title", "classes": web.classes(), "cls": cls, "rows": rows, "issued": issued}
    ctx["satellites"] = [
        {"code": s.code, "name": s.name, "name_ar": s.name_ar, "classes": web.classes(school=s.code)}
        for s in satellites.values()
    ]
    ctx["satellite"] = satellites[chosen]._asdict() if chosen else None
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
