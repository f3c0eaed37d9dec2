"""Column codecs: one list of values in, one msgpack-ready object out.

Wire forms (``n`` rows, NULL is msgpack nil; SPEC.md section 4.4):

* INT   ``x``                       every row is ``x`` (an int or nil)
        ``[0, vals]``               raw values
        ``[1, vals]``               running sum of deltas (nil leaves the sum)
        ``[2, bin]``                n unsigned big-endian numbers of len(bin)/n bytes
        ``[mode, vals, d, rem]``    value = decoded([mode, vals]) * d + rem, where
                                    ``rem`` is an INT column of the forms above,
                                    without NULLs (ignored on NULL rows)
* STR   ``s``                       every row is ``s`` (a str or nil)
        ``[strings, idx]``          ``idx`` an INT column of indexes, nil = NULL
        ``[m, pre, num, wid, idx]`` a table of m codes: pre + num zero-padded to wid
* DATE  an INT column of day numbers since 1970-01-01.

msgpack stores -32..127 in one byte, so plain signed deltas already get
what zigzag coding buys in other formats, without its per-value cost.
"""

from __future__ import annotations

import math
import operator
import re
import struct
from collections.abc import Sequence
from itertools import accumulate, chain
from typing import Final, TypeAlias

import msgpack
import zstandard

from .dates import MAX_DAY, MIN_DAY, day_to_iso, iso_to_day
from .errors import MessageError, StringTooLong
from .limits import Limits
from .tables import ColumnType

__all__ = [
    "INT_MAX",
    "INT_MIN",
    "Wire",
    "decode_column",
    "decode_dates",
    "decode_ints",
    "decode_strs",
    "encode_column",
    "encode_dates",
    "encode_ints",
    "encode_strs",
]

Wire: TypeAlias = object
"""A msgpack-ready value: None, int, str, or lists of those."""

INT_MIN: Final = -(1 << 63)
INT_MAX: Final = (1 << 63) - 1
# msgpack's own integer range, which deltas and quotients must fit.
_PACK_MIN: Final = -(1 << 63)
_PACK_MAX: Final = (1 << 64) - 1

RAW: Final = 0
DELTA: Final = 1
FIXED: Final = 2
_STRUCT_CODES: Final = {1: "B", 2: "H", 4: "I", 8: "Q"}
MAX_FIXED_WIDTH: Final = 8
_FIXED_MIN_ROWS: Final = 8

_NONE: Final = type(None)
_INT_TYPES: Final = frozenset((int,))
_INT_OR_NONE: Final = frozenset((int, _NONE))
_STR_TYPES: Final = frozenset((str,))

# A split string table needs enough codes to pay for its extra columns.
_SPLIT_MIN_STRINGS: Final = 4
_MAX_DIGITS: Final = 18
# Non-greedy prefix: the number takes as many trailing ASCII digits as fit.
_CODE: Final = re.compile(rf"(.*?)([0-9]{{1,{_MAX_DIGITS}}})", re.DOTALL)

# Divisors tried on data columns: marks are hundredths, mostly in quarter,
# half or whole points; the gcd of the column is tried as well.
DATA_DIVISORS: Final = (100, 50, 25, 10, 5, 2)
_DIVISIBLE_SHARE: Final = 0.75
# Below this many rows the packed size is the estimate; above it a fast zstd
# pass, which also credits repeats that raw size cannot see.
_ZSTD_ESTIMATE_ROWS: Final = 32
_estimator = zstandard.ZstdCompressor(level=3, write_content_size=False)


def _packed_size(obj: Wire) -> int:
    data = msgpack.packb(obj)
    if len(data) < 2 * _ZSTD_ESTIMATE_ROWS:
        return len(data)
    # The raw size breaks ties: zstd alone cannot see that a column
    # compresses worse once it sits among the others.
    return len(_estimator.compress(data)) + len(data) // 8


# -- encoding ---------------------------------------------------------------


def _check_ints(values: Sequence[int | None]) -> None:
    types = set(map(type, values))
    if not types <= _INT_OR_NONE:
        bad = next(v for v in values if type(v) not in _INT_OR_NONE)
        raise MessageError(f"INT column holds {type(bad).__name__}: {bad!r}")
    present = [v for v in values if v is not None] if _NONE in types else values
    if present and (min(present) < INT_MIN or max(present) > INT_MAX):
        raise MessageError("INT value outside the signed 64-bit range")


def _deltas(values: Sequence[int | None]) -> list[int | None] | None:
    if None in values:
        out: list[int | None] = []
        prev = 0
        for v in values:
            if v is None:
                out.append(None)
            else:
                out.append(v - prev)
                prev = v
        deltas = [d for d in out if d is not None]
    else:
        out = list(map(operator.sub, values, chain((0,), values)))
        deltas = out  # type: ignore[assignment]
    if deltas and (min(deltas) < _PACK_MIN or max(deltas) > _PACK_MAX):  # type: ignore[type-var]
        return None
    return out


def _simple(values: Sequence[int | None]) -> tuple[int, Wire]:
    """Cheapest of constant, raw and delta forms, with its estimated size."""
    first = values[0]
    if values.count(first) == len(values):
        return 1, first
    raw: Wire = [RAW, list(values)]
    best = (_packed_size(raw), raw)
    deltas = _deltas(values)
    if deltas is not None:
        delta: Wire = [DELTA, deltas]
        size = _packed_size(delta)
        if size < best[0]:
            best = (size, delta)
    fixed = _fixed(values)
    if fixed is not None:
        size = _packed_size(fixed)
        if size < best[0]:
            best = (size, fixed)
    return best


def _fixed(values: Sequence[int | None]) -> Wire | None:
    """Random-looking numbers as fixed-width big-endian bytes.

    zstd cannot shrink random digits; as bytes they at least lose the
    msgpack type byte, which zstd would otherwise store for each value.
    """
    if len(values) < _FIXED_MIN_ROWS or None in values or min(values) < 0:  # type: ignore[operator]
        return None
    width = max(1, (max(values).bit_length() + 7) // 8)  # type: ignore[union-attr]
    if width > MAX_FIXED_WIDTH:
        return None
    code = _STRUCT_CODES.get(width)
    if code is not None:
        data = struct.pack(f">{len(values)}{code}", *values)
    else:
        data = b"".join(v.to_bytes(width, "big") for v in values)  # type: ignore[union-attr]
    return [FIXED, data]


def _split(values: Sequence[int | None], d: int) -> tuple[int, Wire]:
    quotients = [None if v is None else v // d for v in values]
    remainders = [0 if v is None else v % d for v in values]
    q_size, q_wire = _simple(quotients)
    r_size, r_wire = _simple(remainders)
    if type(q_wire) is not list:
        # A constant quotient still needs the array form to carry a divisor.
        q_wire = [RAW, quotients]
    return q_size + r_size + 2, [*q_wire, d, r_wire]  # type: ignore[misc]


def _divisors(values: Sequence[int | None]) -> list[int]:
    present = [v for v in values if v is not None]
    if len(present) < _ZSTD_ESTIMATE_ROWS:
        return []
    g = math.gcd(*present)
    found = [g] if g > 1 else []
    need = _DIVISIBLE_SHARE * len(present)
    for d in DATA_DIVISORS:
        if d != g and g % d != 0 and sum(1 for v in present if v % d == 0) >= need:
            found.append(d)
            break
    return found


def encode_ints(values: Sequence[int | None], divisors: Sequence[int] | None = None) -> Wire:
    """Encode an INT column; ``divisors`` None means try the data divisors."""
    _check_ints(values)
    if not values:
        return None
    size, best = _simple(values)
    if type(best) is not list:
        return best
    for d in _divisors(values) if divisors is None else divisors:
        cand = _split(values, d)
        if cand[0] < size:
            size, best = cand
    return best


def encode_strs(values: Sequence[str | None], max_chars: int, split: bool = True) -> Wire:
    types = set(map(type, values))
    if not types <= {str, _NONE}:
        bad = next(v for v in values if type(v) not in (str, _NONE))
        raise MessageError(f"STR column holds {type(bad).__name__}: {bad!r}")
    if not values:
        return None
    first = values[0]
    if values.count(first) == len(values):
        if first is not None and len(first) > max_chars:
            raise StringTooLong(f"string of {len(first)} chars > {max_chars}")
        return first
    index: dict[str, int] = {}
    for v in values:
        if v is not None and v not in index:
            index[v] = len(index)
    strings = list(index)
    if strings and max(map(len, strings)) > max_chars:
        raise StringTooLong(f"string longer than {max_chars} chars")
    get = index.__getitem__
    if _NONE in types:
        idx: list[int | None] = [None if v is None else get(v) for v in values]
    else:
        idx = list(map(get, values))  # type: ignore[arg-type]
    idx_wire = encode_ints(idx, ())
    parts = _split_table(strings, max_chars) if split else None
    if parts is not None and _packed_size(parts) < _packed_size(strings):
        return [len(strings), *parts, idx_wire]
    return [strings, idx_wire]


def _split_table(strings: list[str], max_chars: int) -> list[Wire] | None:
    """Codes such as 'R130245678' as prefix 'R' and number 130245678.

    Massar codes are mostly random digits: as binary integers they cost
    about 4 bytes instead of 9 characters that zstd can barely squeeze.
    """
    if len(strings) < _SPLIT_MIN_STRINGS:
        return None
    parts = [_CODE.fullmatch(s) for s in strings]
    if None in parts:
        return None
    prefixes = [m.group(1) for m in parts]  # type: ignore[union-attr]
    digits = [m.group(2) for m in parts]  # type: ignore[union-attr]
    return [
        encode_strs(prefixes, max_chars, split=False),
        encode_ints(list(map(int, digits)), ()),
        encode_ints(list(map(len, digits)), ()),
    ]


def encode_dates(values: Sequence[str | None]) -> Wire:
    cache: dict[object, int | None] = {None: None}
    for v in set(values):
        if v not in cache:
            cache[v] = iso_to_day(v)
    return encode_ints([cache[v] for v in values])


def encode_column(kind: ColumnType, values: Sequence[object], limits: Limits) -> Wire:
    if kind is ColumnType.INT:
        return encode_ints(values)  # type: ignore[arg-type]
    if kind is ColumnType.STR:
        return encode_strs(values, limits.max_string_chars)  # type: ignore[arg-type]
    return encode_dates(values)  # type: ignore[arg-type]


# -- decoding ---------------------------------------------------------------


def _const_int(obj: Wire) -> int | None:
    if obj is None:
        return None
    if type(obj) is not int or not INT_MIN <= obj <= INT_MAX:
        raise MessageError(f"bad constant INT column: {obj!r}")
    return obj


def _decode_simple(obj: Wire, n: int, divisor_ok: bool) -> list[int | None]:
    if type(obj) is not list:
        return [_const_int(obj)] * n
    if len(obj) not in ((2, 4) if divisor_ok else (2,)):
        raise MessageError(f"INT column array has {len(obj)} items")
    mode, vals = obj[0], obj[1]
    if mode == FIXED and type(mode) is int:
        vals = _unpack_fixed(vals, n)
    if type(vals) is not list or len(vals) != n:
        raise MessageError(f"INT column does not hold {n} values")
    types = set(map(type, vals))
    if not types <= _INT_OR_NONE:
        raise MessageError("INT column holds a non-integer")
    if mode in (RAW, FIXED) and type(mode) is int:
        out: list[int | None] = vals
    elif mode == DELTA and type(mode) is int:
        if _NONE in types:
            out = []
            acc = 0
            for v in vals:
                if v is None:
                    out.append(None)
                else:
                    acc += v
                    out.append(acc)
        else:
            out = list(accumulate(vals))
    else:
        raise MessageError(f"unknown INT column mode: {mode!r}")
    if len(obj) == 4:
        d = obj[2]
        if type(d) is not int or not 2 <= d <= _PACK_MAX:
            raise MessageError(f"bad INT column divisor: {d!r}")
        rem = _decode_simple(obj[3], n, False)
        if None in rem:
            raise MessageError("INT column remainders hold NULL")
        if type(obj[3]) is not list:
            r = rem[0] if n else 0
            out = [None if q is None else q * d + r for q in out] if _NONE in types else [q * d + r for q in out]  # type: ignore[operator]
        elif _NONE in types:
            out = [None if q is None else q * d + r for q, r in zip(out, rem, strict=True)]  # type: ignore[operator]
        else:
            out = [q * d + r for q, r in zip(out, rem, strict=True)]  # type: ignore[operator]
    return out


def _unpack_fixed(data: object, n: int) -> list[int]:
    if type(data) is not bytes or n == 0 or len(data) % n:
        raise MessageError("fixed-width INT column is not n equal-width numbers")
    width = len(data) // n
    if not 1 <= width <= MAX_FIXED_WIDTH:
        raise MessageError(f"fixed-width INT column of width {width}")
    code = _STRUCT_CODES.get(width)
    if code is not None:
        return list(struct.unpack(f">{n}{code}", data))
    return [int.from_bytes(data[i : i + width], "big") for i in range(0, len(data), width)]


def decode_ints(obj: Wire, n: int) -> list[int | None]:
    out = _decode_simple(obj, n, True)
    if type(obj) is list:
        present = [v for v in out if v is not None] if None in out else out
        if present and (min(present) < INT_MIN or max(present) > INT_MAX):  # type: ignore[type-var]
            raise MessageError("INT value outside the signed 64-bit range")
    return out


def _check_str(s: object, max_chars: int) -> None:
    if type(s) is not str:
        raise MessageError(f"STR column holds {type(s).__name__}")
    if len(s) > max_chars:  # type: ignore[arg-type]
        raise StringTooLong(f"string of {len(s)} chars > {max_chars}")  # type: ignore[arg-type]


def decode_strs(obj: Wire, n: int, max_chars: int) -> list[str | None]:
    if obj is None:
        return [None] * n
    if type(obj) is str:
        _check_str(obj, max_chars)
        return [obj] * n
    if type(obj) is not list or len(obj) not in (2, 5):
        raise MessageError("bad STR column")
    strings = _plain_table(obj[0], n, max_chars) if len(obj) == 2 else _joined_table(obj, n, max_chars)
    idx = decode_ints(obj[-1], n)
    has_null = None in idx
    present = [i for i in idx if i is not None] if has_null else idx
    if present and (min(present) < 0 or max(present) >= len(strings)):  # type: ignore[type-var,operator]
        raise MessageError("STR column index out of range")
    if has_null:
        return [None if i is None else strings[i] for i in idx]
    return list(map(strings.__getitem__, idx))  # type: ignore[arg-type]


def _plain_table(strings: object, n: int, max_chars: int) -> list[str]:
    if type(strings) is not list:
        raise MessageError("STR column table must be a list")
    if len(strings) > n:
        raise MessageError("STR column has more strings than rows")
    if strings:
        if not set(map(type, strings)) <= _STR_TYPES:
            raise MessageError("STR column table holds a non-string")
        if max(map(len, strings)) > max_chars:
            raise StringTooLong(f"string longer than {max_chars} chars")
    return strings


def _joined_table(obj: list[Wire], n: int, max_chars: int) -> list[str]:
    m, prefixes_w, numbers_w, widths_w, _ = obj
    if type(m) is not int or not 0 <= m <= n:
        raise MessageError(f"bad split STR table size: {m!r}")
    if type(prefixes_w) is list and len(prefixes_w) != 2:
        raise MessageError("split STR table prefixes must not be split again")
    prefixes = decode_strs(prefixes_w, m, max_chars)
    numbers = decode_ints(numbers_w, m)
    widths = decode_ints(widths_w, m)
    if m and (None in prefixes or None in numbers or None in widths):
        raise MessageError("split STR table holds NULL")
    if m and (min(numbers) < 0 or min(widths) < 1 or max(widths) > _MAX_DIGITS):  # type: ignore[type-var]
        raise MessageError("split STR table number or width out of range")
    digits = list(map(str, numbers))
    if any(len(d) > w for d, w in zip(digits, widths, strict=True)):  # type: ignore[operator]
        raise MessageError("split STR table number wider than its width")
    strings = [p + d.zfill(w) for p, d, w in zip(prefixes, digits, widths, strict=True)]  # type: ignore[operator,arg-type]
    if strings and max(map(len, strings)) > max_chars:
        raise StringTooLong(f"string longer than {max_chars} chars")
    return strings


def decode_dates(obj: Wire, n: int) -> list[str | None]:
    days = decode_ints(obj, n)
    cache: dict[int | None, str | None] = {None: None}
    for d in set(days):
        if d is not None:
            if not MIN_DAY <= d <= MAX_DAY:
                raise MessageError(f"day number out of range: {d}")
            cache[d] = day_to_iso(d)
    return list(map(cache.__getitem__, days))


def decode_column(kind: ColumnType, obj: Wire, n: int, limits: Limits) -> list[int | None] | list[str | None]:
    if kind is ColumnType.INT:
        return decode_ints(obj, n)
    if kind is ColumnType.STR:
        return decode_strs(obj, n, limits.max_string_chars)
    return decode_dates(obj, n)
