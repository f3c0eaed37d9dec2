"""DATE columns: ISO ``YYYY-MM-DD`` text on both ends, day numbers on the wire."""

from __future__ import annotations

import re
from datetime import date
from typing import Final

from .errors import MessageError

__all__ = ["MAX_DAY", "MIN_DAY", "day_to_iso", "iso_to_day"]

_EPOCH: Final = date(1970, 1, 1).toordinal()
MIN_DAY: Final = date.min.toordinal() - _EPOCH
MAX_DAY: Final = date.max.toordinal() - _EPOCH
# fromisoformat alone also takes 'YYYYMMDD' and week dates; [0-9], not \d,
# because \d matches Arabic-Indic digits too.
_ISO: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def iso_to_day(text: object) -> int:
    """Days since 1970-01-01 of a strict ISO date; MessageError otherwise."""
    if type(text) is not str or _ISO.fullmatch(text) is None:
        raise MessageError(f"not an ISO date YYYY-MM-DD: {text!r}")
    try:
        return date.fromisoformat(text).toordinal() - _EPOCH
    except ValueError as exc:
        raise MessageError(f"impossible date: {text!r}") from exc


def day_to_iso(day: int) -> str:
    if not MIN_DAY <= day <= MAX_DAY:
        raise MessageError(f"day number out of range: {day}")
    return date.fromordinal(day + _EPOCH).isoformat()
