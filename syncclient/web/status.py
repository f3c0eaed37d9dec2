"""How the web pages show the sync status's timestamps (the status itself: syncclient/status.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any


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
