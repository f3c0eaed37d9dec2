"""Marks (النقطة) and absence cells (التغيب) of a grade sheet."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from .grid import CellValue
from .labels import normalise_label

MAX_DECIMALS = 2
# Only this word means a justified absence; any other non-blank text in an
# absence cell (غير مبرر, غ, x...) is an unjustified absence, because a
# teacher who typed something there meant the pupil was missing.
JUSTIFIED = normalise_label("مبرر")


class BadMark(ValueError):
    pass


def parse_mark(value: CellValue, *, scale: int) -> Decimal | None:
    """A mark between 0 and ``scale`` with at most two decimals; None if blank.

    Accepts a decimal comma because French-locale Excel writes ``12,5``."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise BadMark(f"not a number: {value!r}")
    if isinstance(value, Decimal):
        mark = value
    elif isinstance(value, int | float):
        # repr gives the shortest decimal that round-trips, so 12.3 stays 12.3
        # instead of the binary float's 12.300000000000000710...
        mark = Decimal(repr(value))
    else:
        text = str(value).strip()
        if not text:
            return None
        try:
            mark = Decimal(text.replace(",", "."))
        except InvalidOperation as exc:
            raise BadMark(f"not a number: {text!r}") from exc
    if not mark.is_finite():
        raise BadMark(f"not a number: {value!r}")
    if not 0 <= mark <= scale:
        raise BadMark(f"mark {mark} out of range 0..{scale}")
    exponent = mark.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_DECIMALS:
        raise BadMark(f"mark {mark} has more than {MAX_DECIMALS} decimals")
    return mark


def parse_absence(value: CellValue) -> tuple[bool, bool]:
    """(absent, justified) from an absence cell."""
    text = normalise_label(value)
    if not text:
        return False, False
    return True, text == JUSTIFIED
