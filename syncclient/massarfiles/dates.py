"""Dates as Massar files carry them: Excel serial numbers, real date cells,
or text (dd/mm/yyyy, dd-mm-yyyy, yyyy-mm-dd)."""

from __future__ import annotations

import datetime as dt
import re

from .grid import CellValue

# Excel's 1900 system counts from 1899-12-30 because it keeps Lotus's
# phantom 1900-02-29; birth dates are far past that quirk.
_EPOCHS = {0: dt.date(1899, 12, 30), 1: dt.date(1904, 1, 1)}
_DMY = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
_YMD = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
# Years outside this window are typing errors, not pupils or school years.
MIN_YEAR = 1900
MAX_YEAR = 2100


class BadDate(ValueError):
    pass


def parse_date(value: CellValue, *, datemode: int = 0) -> dt.date | None:
    """Decode a cell into a date; None for an empty cell; BadDate otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise BadDate(f"not a date: {value!r}")
    if isinstance(value, dt.datetime):
        return _checked(value.date())
    if isinstance(value, dt.date):
        return _checked(value)
    if isinstance(value, int | float):
        if value < 1:
            raise BadDate(f"not a date serial number: {value!r}")
        try:
            day = _EPOCHS.get(datemode, _EPOCHS[0]) + dt.timedelta(days=int(value))
        except OverflowError as exc:
            raise BadDate(f"not a date serial number: {value!r}") from exc
        return _checked(day)
    text = str(value).strip()
    try:
        if m := _DMY.fullmatch(text):
            return _checked(dt.date(int(m[3]), int(m[2]), int(m[1])))
        if m := _YMD.fullmatch(text):
            return _checked(dt.date(int(m[1]), int(m[2]), int(m[3])))
    except ValueError as exc:
        raise BadDate(f"not a valid date: {text!r}") from exc
    raise BadDate(f"not a date (expected dd/mm/yyyy or yyyy-mm-dd): {text!r}")


def _checked(day: dt.date) -> dt.date:
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise BadDate(f"date out of range: {day.isoformat()}")
    return day


def excel_serial(day: dt.date) -> int:
    """The 1900-system serial number Excel stores for ``day``."""
    return (day - _EPOCHS[0]).days
