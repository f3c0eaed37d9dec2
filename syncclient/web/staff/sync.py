"""The sync page: what waits to be sent, when the last sync was, and a button to sync now."""

from __future__ import annotations

import logging
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain.errors import InvalidInput

from ...daily_caps import daily_cap, kilobytes, parse_kilobytes, set_daily_cap, used_today
from ...errors import AgentUnavailable
from ...notify.outbox import outbox_counts
from ...rejected import discard, list_rejected, retry
from ..core import Web, get_page, ltr, post_page
from ..status import error_kind, format_timestamp
from ..translations import TEXTS
from .forms import on_error, text

log = logging.getLogger(__name__)


def _page(
    web: Web, request: Request, cap_typed: str | None = None, error: str | None = None, status: int = 200
) -> Response:
    """The page; after a refused cap, with what was typed and why."""
    sync_status = web.status()
    last = format_timestamp(sync_status.get("last_sync"))
    cap = daily_cap(web.store)
    ctx: dict[str, Any] = {
        "title_key": "sync.title",
        "status": sync_status,
        "last": ltr(last),
        "problem": error_kind(sync_status.get("last_error")),
        "cap": ltr(kilobytes(cap)) if cap else None,
        "cap_used": ltr(kilobytes(used_today(web.store)) or "0"),
        "cap_value": kilobytes(cap) if cap_typed is None else cap_typed,
        "error": error,
    }
    ctx["agent"] = web.agent is not None
    ctx["sms"], ctx["sms_gateway"] = outbox_counts(web.db), bool(web.store.setting("sms_gateway"))
    ctx["rejected"] = list_rejected(web.db)
    ctx["has_text"] = lambda key: key in TEXTS["fr"]
    return web.render(request, "staff/sync.html", ctx, status=status)


@get_page
def sync_page(web: Web, request: Request) -> Response:
    web.require_staff(request, "sync")
    return _page(web, request)


@post_page
def daily_cap_save(web: Web, request: Request, form: FormData) -> Response:
    """The daily byte cap of a prepaid link (the same setting as `massar node config --daily-bytes`)."""
    web.require_staff(request, "sync_now")
    typed = text(form, "daily_kb", 40)
    on_error(request, lambda message, status: _page(web, request, typed, message, status))
    set_daily_cap(web.store, parse_kilobytes(typed))
    web.flash(request, "flash.daily_cap_saved")
    return web.redirect("/staff/sync")


@post_page
def rejected_action(web: Web, request: Request, form: FormData) -> Response:
    """Retry a refused change after fixing its cause, or discard it (it stays on this PC only)."""
    web.require_staff(request, "sync_now")
    raw = str(form.get("id", ""))
    if not raw.isdigit():
        raise InvalidInput("which refused change?", code="bad_id")
    if form.get("action") == "discard":
        discard(web.db, int(raw))
        web.flash(request, "flash.rejected_discarded")
    else:
        retry(web.db, int(raw))
        web.local_write()
        web.flash(request, "flash.rejected_retried")
    return web.redirect("/staff/sync")


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
    Route("/staff/sync/rejected", rejected_action, methods=["POST"]),
    Route("/staff/sync/cap", daily_cap_save, methods=["POST"]),
]
