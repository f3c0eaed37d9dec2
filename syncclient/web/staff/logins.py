"""Parent logins: which pupils have one, and the printed slip with a fresh password."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain import accounts, pupils
from domain.codes import check_pupil_code

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


@post_page
def logins_issue(web: Web, request: Request, form: FormData) -> Response:
    web.require_staff(request, "logins")
    pupil = check_pupil_code(str(form.get("pupil", "")))
    pupils.enrolment_of(web.db, web.store.term, pupil)  # this school's pupils only
    login, password = accounts.issue_parent_login(web.db, pupil)
    who = pupils.pupil_names(web.db, pupil)
    ctx = {"title_key": "slip.title", "login": login, "password": password, "who": who}
    ctx["ar"], ctx["fr"] = translator("ar"), translator("fr")
    return web.render(request, "staff/slip.html", ctx)


routes = [
    Route("/staff/logins", logins_page, methods=["GET"]),
    Route("/staff/logins", logins_issue, methods=["POST"]),
]
