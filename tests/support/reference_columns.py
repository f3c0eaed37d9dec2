"""The INT column encoder as it was before it ran in C-level passes (per value, every bound
recomputed by each candidate form): kept to check that the fast encoder makes the same bytes."""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import cast

from protocol.columns import (
    DATA_DIVISORS,
    DELTA,
    FIXED,
    INT_MAX,
    INT_MIN,
    MAX_FIXED_WIDTH,
    RAW,
    Wire,
    _packed_size,
)
from protocol.errors import MessageError

_PACK_MIN = -(1 << 63)
_PACK_MAX = (1 << 64) - 1


def _present(values: Sequence[int | None]) -> list[int]:
    return [v for v in values if v is not None]


def _within(values: Sequence[int], lo: int, hi: int) -> bool:
    return not values or (min(values) >= lo and max(values) <= hi)


def _deltas(values: Sequence[int | None]) -> list[int | None] | None:
    out: list[int | None] = []
    prev = 0
    for v in values:
        if v is None:
            out.append(None)
        else:
            out.append(v - prev)
            prev = v
    return out if _within(_present(out), _PACK_MIN, _PACK_MAX) else None


def _fixed(values: Sequence[int | None]) -> list[Wire] | None:
    if len(values) < 8 or None in values:
        return None
    ints = cast("Sequence[int]", values)
    if min(ints) < 0:
        return None
    width = max(1, (max(ints).bit_length() + 7) // 8)
    if width > MAX_FIXED_WIDTH:
        return None
    return [FIXED, b"".join(v.to_bytes(width, "big") for v in ints)]


def _simple(values: Sequence[int | None]) -> tuple[int, Wire]:
    first = values[0]
    if values.count(first) == len(values):
        return 1, first
    candidates: list[list[Wire]] = [[RAW, list(values)]]
    deltas = _deltas(values)
    if deltas is not None:
        candidates.append([DELTA, deltas])
    fixed = _fixed(values)
    if fixed is not None:
        candidates.append(fixed)
    return min(((_packed_size(c), c) for c in candidates), key=operator.itemgetter(0))


def _split(values: Sequence[int | None], d: int) -> tuple[int, Wire]:
    quotients = [None if v is None else v // d for v in values]
    remainders = [0 if v is None else v % d for v in values]
    q_size, q_wire = _simple(quotients)
    r_size, r_wire = _simple(remainders)
    q_form = q_wire if type(q_wire) is list else [RAW, quotients]
    return q_size + r_size + 2, [*q_form, d, r_wire]


def _divisors(values: Sequence[int | None]) -> list[int]:
    present = _present(values)
    if len(present) < 8:
        return []
    g = math.gcd(*present)
    found = [g] if g > 1 else []
    for d in DATA_DIVISORS:
        if d != g and g % d != 0 and sum(1 for v in present if v % d == 0) >= 0.75 * len(present):
            found.append(d)
            break
    return found


def reference_encode_ints(values: Sequence[int | None], divisors: Sequence[int] | None = None) -> Wire:
    if not values:
        return None
    if not _within(_present(values), INT_MIN, INT_MAX):
        raise MessageError("INT value outside the signed 64-bit range")
    size, best = _simple(values)
    if type(best) is not list:
        return best
    for d in _divisors(values) if divisors is None else divisors:
        cand_size, cand = _split(values, d)
        if cand_size < size:
            size, best = cand_size, cand
    return best


__all__ = ["reference_encode_ints"]
