"""The sync page: what waits to be sent, when the last sync was, and a button to sync now."""

from __future__ import annotations

import logging

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core import Web, get_page, post_page
from ..status import format_timestamp

log = logging.getLogger(__name__)


@get_page
def sync_page(web: Web, request: Request) -> Response:
    web.require_staff(request, "sync")
    status = web.status()
    ctx = {"title_key": "sync.title", "status": status, "last": format_timestamp(status.get("last_sync"))}
    ctx["agent"] = web.agent is not None
    return web.render(request, "staff/sync.html", ctx)


@post_page
def sync_now(web: Web, request: Request, form: FormData) -> Response:
    web.require_staff(request, "sync_now")
    if web.agent is None:
        web.flash(request, "flash.no_agent", "warn")
    else:
        try:
            web.agent.request_sync()  # type: ignore[attr-defined]
        except Exception:
            log.exception("the sync agent refused a sync request")
            raise HTTPException(503) from None
        web.flash(request, "flash.sync_requested")
    return web.redirect("/staff/sync")


routes = [
    Route("/staff/sync", sync_page, methods=["GET"]),
    Route("/staff/sync", sync_now, methods=["POST"]),
]
