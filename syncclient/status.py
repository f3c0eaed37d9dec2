"""The node's sync status, as `massar node status` and the staff pages show it."""

from __future__ import annotations

import json
from typing import Any

from .outbox import pending_count
from .rejected import rejected_count
from .satellites import hosted
from .store import NodeStore


def node_status(store: NodeStore) -> dict[str, Any]:
    """Pending changes, last sync, last error (with its time) and conflicts, from the database.

    A counter that does not read as a number raises (ValueError) rather than
    showing 0: a wrong "no conflicts" is worse than an error page."""
    db = store.db
    local_conflicts = db.execute("SELECT COUNT(*) FROM _conflicts").fetchone()[0]
    return {
        "school": store.school,
        "device": store.device,
        "year": store.setting("year"),
        "server": store.setting("server"),
        "pending_changes": pending_count(db),
        "last_sync": store.setting("last_sync"),
        "last_error": store.setting("last_error"),
        "last_error_at": store.setting("last_error_at"),
        "conflicts": int(store.setting("server_conflicts", 0) or 0) + local_conflicts,
        "pull_cursor": int(store.setting("pull_cursor", 0) or 0),
        # changes the centre refused, waiting for the secretary (`massar node rejected`)
        "rejected": rejected_count(db),
        # Pulled rows this node could not store: listed until a corrected version arrives and applies.
        "set_aside": json.loads(store.setting("set_aside") or "[]"),
        # Satellite schools read here (read-only), each with what its data is as of.
        "satellites": [info._asdict() for info in hosted(db, store.school).values()],
    }
