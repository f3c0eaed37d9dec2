"""Hybrid logical clock packed in one integer: ``(wall_ms << 16) | counter``.

Integers compare like the (wall, counter) pairs they pack, and ``hlc + 1``
carries a full counter into the next millisecond, so the clock needs no
other state than the last value issued.
"""

from __future__ import annotations

from typing import Final

from .errors import ClockError

__all__ = [
    "COUNTER_BITS",
    "MAX_HLC",
    "MAX_SKEW",
    "MAX_SKEW_MS",
    "check",
    "clamp",
    "corrected",
    "counter",
    "offset_ms",
    "pack",
    "receive",
    "skew_bound",
    "tick",
    "unpack",
    "wall_ms",
]

COUNTER_BITS: Final = 16
_COUNTER_MASK: Final = (1 << COUNTER_BITS) - 1
# Signed 64-bit so that SQLite stores it as INTEGER; good until year 6429.
MAX_HLC: Final = (1 << 63) - 1

MAX_SKEW_MS: Final = 5 * 60 * 1000
"""How far ahead of the server's clock an incoming change may be stamped."""
MAX_SKEW: Final = MAX_SKEW_MS << COUNTER_BITS


def check(hlc: int) -> int:
    """Return ``hlc`` if it is a valid clock value, else raise ClockError."""
    if type(hlc) is not int or not 0 <= hlc <= MAX_HLC:
        raise ClockError(f"hlc out of range: {hlc!r}")
    return hlc


def pack(wall_ms: int, counter: int) -> int:
    if not 0 <= counter <= _COUNTER_MASK:
        raise ClockError(f"hlc counter out of range: {counter}")
    if wall_ms < 0:
        raise ClockError(f"hlc wall time is negative: {wall_ms}")
    return check((wall_ms << COUNTER_BITS) | counter)


def unpack(hlc: int) -> tuple[int, int]:
    check(hlc)
    return hlc >> COUNTER_BITS, hlc & _COUNTER_MASK


def wall_ms(hlc: int) -> int:
    return hlc >> COUNTER_BITS


def counter(hlc: int) -> int:
    return hlc & _COUNTER_MASK


def tick(last: int, now_ms: int) -> int:
    """Clock value for a local event, after ``last`` and not before now."""
    return check(max(last + 1, pack(now_ms, 0)))


def receive(last: int, remote: int, now_ms: int) -> int:
    """Clock value after learning ``remote``: later than both and not before now."""
    check(remote)
    return check(max(last + 1, remote + 1, pack(now_ms, 0)))


def clamp(hlc: int, server_now_hlc: int) -> int:
    """Bound a peer's stamp to at most MAX_SKEW ahead of the server's clock.

    A node whose clock runs years ahead would otherwise win every
    last-writer-wins comparison until real time caught up with it.
    """
    return min(check(hlc), check(server_now_hlc) + MAX_SKEW)


def skew_bound(server_now_hlc: int) -> int:
    """The greatest stamp the server accepts as is (``clamp`` without the check, for hot loops)."""
    return server_now_hlc + MAX_SKEW


def corrected(local: int, server_hlc: int, clamp_hlc: int) -> int:
    """A node's clock after a sync answer: a clock beyond the server's clamp is pulled
    back to the server's time; otherwise it only moves forward to it."""
    return server_hlc if local > clamp_hlc else max(local, server_hlc)


def offset_ms(server_hlc: int, local_now_ms: int) -> int:
    """Milliseconds to add to the local wall clock to match the server's.

    A node adds this offset to ``now_ms`` before calling ``tick``; the
    round trip makes it at most one RTT off, well inside MAX_SKEW_MS.
    """
    return wall_ms(check(server_hlc)) - local_now_ms
