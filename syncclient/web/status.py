"""The node's sync status as the web pages show it."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from ..store import NodeStore


def node_status(store: NodeStore) -> dict[str, Any]:
    """What the agent's status() reports, read from the database when no agent runs."""
    db = store.db
    pending = db.execute("SELECT COUNT(*) FROM _outbox").fetchone()[0]
    local_conflicts = db.execute("SELECT COUNT(*) FROM _conflicts").fetchone()[0]
    try:
        server_conflicts = int(store.setting("server_conflicts") or 0)
    except (TypeError, ValueError):
        server_conflicts = 0
    return {
        "school": store.school,
        "pending_changes": pending,
        "last_sync": store.setting("last_sync"),
        "last_error": store.setting("last_error"),
        "conflicts": local_conflicts + server_conflicts,
    }


def format_timestamp(value: Any) -> str | None:
    """A date or ISO timestamp the one way the pages write dates: `DD/MM/YYYY` (and `HH:MM`, local time)."""
    if not value:
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.strftime("%d/%m/%Y")
    text = str(value)
    if len(text) == 10:
        try:
            return dt.date.fromisoformat(text).strftime("%d/%m/%Y")
        except ValueError:
            return text
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text[:16]
    if moment.tzinfo is not None:
        moment = moment.astimezone()
    return moment.strftime("%d/%m/%Y %H:%M")


# The sync error text is for technicians (`massar node status`); the page says what it means.
_REFUSED = re.compile(r"refused the sync \((401|403)|revoked|not_configured|unknown school|bad_key", re.I)
_OFFLINE = re.compile(r"unreachable|connect|timed? ?out|timeout|network|resolve|name or service|errno|ssl|proxy", re.I)


def error_kind(text: str | None) -> str | None:
    """`offline`, `refused` or `failed` for the last sync error, None when the last sync worked."""
    if not text:
        return None
    if _REFUSED.search(text):
        return "refused"
    if _OFFLINE.search(text):
        return "offline"
    return "failed"
