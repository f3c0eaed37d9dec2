"""The node's sync status as the web pages show it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..outbox import pending_count
from ..store import NodeStore


def node_status(store: NodeStore) -> dict[str, Any]:
    """What the agent's status() reports, read from the database when no agent runs."""
    db = store.db
    pending = pending_count(db)
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
    """An ISO timestamp as `YYYY-MM-DD HH:MM` in the PC's local time (None when missing)."""
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)[:16]
    if moment.tzinfo is not None:
        moment = moment.astimezone()
    return moment.strftime("%Y-%m-%d %H:%M")
