"""How the web pages show the sync status's timestamps (the status itself: syncclient/status.py)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any


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
