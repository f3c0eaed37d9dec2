"""Dates as people type them on a form: `DD/MM/YYYY` (how Moroccan documents write them) or ISO."""

from __future__ import annotations

import datetime as dt
import re

from .codes import parse_date
from .grades import ascii_number

_DMY = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*$")


def parse_typed_date(text: str, *, field: str = "date", allow_future: bool = False) -> dt.date:
    """`02/04/2013`, `2/4/2013` or `2013-04-02` (Arabic-Indic digits too); InvalidInput otherwise."""
    latin = ascii_number(text)
    m = _DMY.match(latin)
    if m:
        day, month, year = (int(g) for g in m.groups())
        latin = f"{year:04d}-{month:02d}-{day:02d}"
    return parse_date(latin, field=field, allow_future=allow_future)
