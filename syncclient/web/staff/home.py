"""The staff home page: sync state and the classes of the year."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core import Web, get_page


@get_page
def staff_home(web: Web, request: Request) -> Response:
    web.require_staff(request, "sync")
    return web.render(
        request, "staff/home.html", {"title_key": "staff.title", "status": web.status(), "classes": web.classes()}
    )


routes = [Route("/staff", staff_home)]
