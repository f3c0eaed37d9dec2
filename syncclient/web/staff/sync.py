"""The sync page: what waits to be sent, when the last sync was, and a button to sync now."""

from __future__ import annotations

import logging

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...errors import AgentUnavailable
from ..core import Web, get_page, ltr, post_page
from ..status import error_kind, format_timestamp

log = logging.getLogger(__name__)


@get_page
def sync_page(web: Web, request: Request) -> Response:
    web.require_staff(request, "sync")
    status = web.status()
    last = format_timestamp(status.get("last_sync"))
    ctx = {
        "title_key": "sync.title",
        "status": status,
        "last": ltr(last),
        "problem": error_kind(status.get("last_error")),
    }
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
        except Exception as exc:  # whatever broke the agent, the page says so and the log keeps the cause
            log.exception("the sync agent refused a sync request")
            raise AgentUnavailable("the sync agent could not be woken") from exc
        web.flash(request, "flash.sync_requested")
    return web.redirect("/staff/sync")


routes = [
    Route("/staff/sync", sync_page, methods=["GET"]),
    Route("/staff/sync", sync_now, methods=["POST"]),
]
