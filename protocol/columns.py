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
import threading
from collections import Counter
from collections.abc import Sequence
from itertools import accumulate, chain
from typing import Final, TypeAlias, cast

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
"""A msgpack-ready value: None, int, str, bytes, or lists of those."""

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
_INT_OR_NONE: Final = frozenset((int, _NONE))
_STR_OR_NONE: Final = frozenset((str, _NONE))
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
# Below this many bytes the packed size is the estimate; above it a fast
# zstd pass, which also credits repeats that the raw size cannot see.
_ZSTD_ESTIMATE_BYTES: Final = 64
# Divisors are counted over the distinct values when there is at most one per this many rows.
_DISTINCT_SHARE: Final = 4
_local = threading.local()


def _present(values: Sequence[int | None]) -> Sequence[int]:
    """The non-NULL values: the sequence itself when it holds no NULL."""
    if None in values:
        return [v for v in values if v is not None]
    return cast("Sequence[int]", values)


def _within(values: Sequence[int], lo: int, hi: int) -> bool:
    return not values or (min(values) >= lo and max(values) <= hi)


def _packed_size(obj: Wire) -> int:
    data: bytes = msgpack.packb(obj)
    if len(data) < _ZSTD_ESTIMATE_BYTES:
        return len(data)
    # Compression contexts are not thread-safe: one per thread.
    estimator: zstandard.ZstdCompressor | None = getattr(_local, "estimator", None)
    if estimator is None:
        estimator = _local.estimator = zstandard.ZstdCompressor(level=3, write_content_size=False)
    # The raw size breaks ties: zstd alone cannot see that a column
    # compresses worse once it sits among the others.
    return len(estimator.compress(data)) + len(data) // 8


# -- encoding ---------------------------------------------------------------


def _check_ints(values: Sequence[object]) -> Sequence[int | None]:
    if not set(map(type, values)) <= _INT_OR_NONE:
        bad = next(v for v in values if type(v) not in _INT_OR_NONE)
        raise MessageError(f"INT column holds {type(bad).__name__}: {bad!r}")
    return cast("Sequence[int | None]", values)


def _check_range(facts: _Facts) -> None:
    if facts.lo < INT_MIN or facts.hi > INT_MAX:
        raise MessageError("INT value outside the signed 64-bit range")


class _Facts:
    """What every candidate form needs to know of a column, found in one pass each."""

    __slots__ = ("has_null", "hi", "lo", "present")

    def __init__(self, values: Sequence[int | None]) -> None:
        self.has_null = None in values
        self.present = _present(values) if self.has_null else cast("Sequence[int]", values)
        self.lo = min(self.present) if self.present else 0
        self.hi = max(self.present) if self.present else 0


def _deltas(values: Sequence[int | None], facts: _Facts) -> list[int | None] | None:
    out: list[int | None]
    if facts.has_null:
        out = []
        prev = 0
        for v in values:
            if v is None:
                out.append(None)
            else:
                out.append(v - prev)
                prev = v
    else:
        out = list(map(operator.sub, cast("Sequence[int]", values), chain((0,), values)))
    # Every delta lies within lo - hi .. hi - lo (the first is a value): only a column spanning
    # more than 2^63 can leave msgpack's range, and only then are the deltas looked at.
    if facts.hi - facts.lo <= _PACK_MAX - INT_MAX:
        return out
    return out if _within(_present(out), _PACK_MIN, _PACK_MAX) else None


def _fixed(values: Sequence[int | None], facts: _Facts) -> list[Wire] | None:
    """Random-looking numbers as fixed-width big-endian bytes.

    zstd cannot shrink random digits; as bytes they at least lose the
    msgpack type byte, which zstd would otherwise store for each value.
    """
    if len(values) < _FIXED_MIN_ROWS or facts.has_null:
        return None
    ints = cast("Sequence[int]", values)
    if facts.lo < 0:
        return None
    width = max(1, (facts.hi.bit_length() + 7) // 8)
    if width > MAX_FIXED_WIDTH:
        return None
    code = _STRUCT_CODES.get(width)
    if code is not None:
        data = struct.pack(f">{len(ints)}{code}", *ints)
    else:
        # 3, 5, 6 or 7 bytes: packed as 8, then the last `width` bytes of each copied by strides.
        wide = struct.pack(f">{len(ints)}Q", *ints)
        out = bytearray(len(ints) * width)
        for i in range(width):
            out[i::width] = wide[8 - width + i :: 8]
        data = bytes(out)
    return [FIXED, data]


def _simple(values: Sequence[int | None], facts: _Facts | None = None) -> tuple[int, Wire]:
    """Cheapest of the constant, raw, delta and fixed forms, with its estimated size."""
    first = values[0]
    if values.count(first) == len(values):
        return 1, first
    facts = facts or _Facts(values)
    candidates: list[list[Wire]] = [[RAW, values if type(values) is list else list(values)]]
    deltas = _deltas(values, facts)
    if deltas is not None:
        candidates.append([DELTA, deltas])
    fixed = _fixed(values, facts)
    if fixed is not None:
        candidates.append(fixed)
    # min() keeps the first of equal sizes: the simplest form wins ties.
    return min(((_packed_size(c), c) for c in candidates), key=lambda sc: sc[0])


def _split(values: Sequence[int | None], d: int, facts: _Facts) -> tuple[int, Wire]:
    quotients: list[int | None]
    remainders: list[int]
    if facts.has_null:
        quotients = [None if v is None else v // d for v in values]
        remainders = [0 if v is None else v % d for v in values]
    else:
        ints = cast("Sequence[int]", values)
        quotients = [v // d for v in ints]
        remainders = [v % d for v in ints]
    q_facts = _Facts.__new__(_Facts)
    # Floor division keeps the order: the quotients' bounds are the bounds' quotients.
    q_facts.has_null, q_facts.lo, q_facts.hi = facts.has_null, facts.lo // d, facts.hi // d
    q_facts.present = cast("Sequence[int]", quotients) if not facts.has_null else ()
    q_size, q_wire = _simple(quotients, q_facts)
    r_size, r_wire = _simple(remainders)
    # A constant quotient still needs the array form to carry a divisor.
    q_form = q_wire if type(q_wire) is list else [RAW, quotients]
    return q_size + r_size + 2, [*q_form, d, r_wire]


def _divisors(facts: _Facts) -> list[int]:
    present = facts.present
    if len(present) < _FIXED_MIN_ROWS:
        return []
    g = math.gcd(*present)
    found = [g] if g > 1 else []
    need = _DIVISIBLE_SHARE * len(present)
    # A column of few distinct values (marks, flags) is counted once, its values then tried.
    counts = Counter(present) if len(set(present)) * _DISTINCT_SHARE <= len(present) else None
    for d in DATA_DIVISORS:
        if d == g or g % d == 0:
            continue
        if counts is not None:
            multiples = sum(n for v, n in counts.items() if v % d == 0)
        else:
            multiples = sum(1 for v in present if v % d == 0)
        if multiples >= need:
            found.append(d)
            break
    return found


def encode_ints(values: Sequence[object], divisors: Sequence[int] | None = None) -> Wire:
    """Encode an INT column; ``divisors`` None means try the data divisors."""
    ints = _check_ints(values)
    if not ints:
        return None
    facts = _Facts(ints)
    _check_range(facts)
    size, best = _simple(ints, facts)
    if type(best) is not list:
        return best
    for d in _divisors(facts) if divisors is None else divisors:
        cand_size, cand = _split(ints, d, facts)
        if cand_size < size:
            size, best = cand_size, cand
    return best


def encode_strs(values: Sequence[object], max_chars: int, split: bool = True) -> Wire:
    types = set(map(type, values))
    if not types <= _STR_OR_NONE:
        bad = next(v for v in values if type(v) not in _STR_OR_NONE)
        raise MessageError(f"STR column holds {type(bad).__name__}: {bad!r}")
    strs = cast("Sequence[str | None]", values)
    if not strs:
        return None
    first = strs[0]
    if strs.count(first) == len(strs):
        if first is not None and len(first) > max_chars:
            raise StringTooLong(f"string of {len(first)} chars > {max_chars}")
        return first
    index: dict[str, int] = {}
    for v in strs:
        if v is not None and v not in index:
            index[v] = len(index)
    strings = list(index)
    if strings and max(map(len, strings)) > max_chars:
        raise StringTooLong(f"string longer than {max_chars} chars")
    idx = [None if v is None else index[v] for v in strs]
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
    prefixes: list[str] = []
    digits: list[str] = []
    for s in strings:
        match = _CODE.fullmatch(s)
        if match is None:
            return None
        prefixes.append(match.group(1))
        digits.append(match.group(2))
    return [
        encode_strs(prefixes, max_chars, split=False),
        encode_ints(list(map(int, digits)), ()),
        encode_ints(list(map(len, digits)), ()),
    ]


def encode_dates(values: Sequence[object]) -> Wire:
    cache: dict[object, int | None] = {None: None}
    for v in set(values):
        if v not in cache:
            cache[v] = iso_to_day(v)
    return encode_ints([cache[v] for v in values])


def encode_column(kind: ColumnType, values: Sequence[object], limits: Limits) -> Wire:
    if kind is ColumnType.INT:
        return encode_ints(values)
    if kind is ColumnType.STR:
        return encode_strs(values, limits.max_string_chars)
    return encode_dates(values)


# -- decoding ---------------------------------------------------------------


def _const_int(obj: Wire) -> int | None:
    # Only the type here: decode_ints checks the range of the values, whatever their form.
    if obj is not None and type(obj) is not int:
        raise MessageError(f"bad constant INT column: {obj!r}")
    return obj


def _unpack_fixed(data: object, n: int) -> list[int]:
    # n = 0 leaves the width undefined: the form is refused rather than guessed (SPEC 4.4).
    if type(data) is not bytes or n == 0 or len(data) % n:
        raise MessageError("fixed-width INT column is not n >= 1 equal-width numbers")
    width = len(data) // n
    if not 1 <= width <= MAX_FIXED_WIDTH:
        raise MessageError(f"fixed-width INT column of width {width}")
    code = _STRUCT_CODES.get(width)
    if code is not None:
        return list(struct.unpack(f">{n}{code}", data))
    # 3, 5, 6 or 7 bytes: copied by strides into 8-byte numbers (zero-padded on the left).
    wide = bytearray(n * 8)
    for i in range(width):
        wide[8 - width + i :: 8] = data[i::width]
    return list(struct.unpack(f">{n}Q", wide))


def _running_sums(deltas: list[int | None], has_null: bool) -> list[int | None]:
    if not has_null:
        return list(accumulate(cast("list[int]", deltas)))
    out: list[int | None] = []
    acc = 0
    for d in deltas:
        if d is None:
            out.append(None)
        else:
            acc += d
            out.append(acc)
    return out


def _decode_simple(obj: Wire, n: int, divisor_ok: bool) -> list[int | None]:
    if type(obj) is not list:
        return [_const_int(obj)] * n
    items = cast("list[Wire]", obj)
    if len(items) not in ((2, 4) if divisor_ok else (2,)):
        raise MessageError(f"INT column array has {len(items)} items")
    mode, vals = items[0], items[1]
    if type(mode) is not int or mode not in (RAW, DELTA, FIXED):
        raise MessageError(f"unknown INT column mode: {mode!r}")
    if mode == FIXED:
        vals = _unpack_fixed(vals, n)
    if type(vals) is not list or len(vals) != n:
        raise MessageError(f"INT column does not hold {n} values")
    types = set(map(type, vals))
    if not types <= _INT_OR_NONE:
        raise MessageError("INT column holds a non-integer")
    has_null = _NONE in types
    out = cast("list[int | None]", vals)
    if mode == DELTA:
        out = _running_sums(out, has_null)
    if len(items) == 4:
        out = _apply_divisor(out, has_null, items[2], items[3], n)
    return out


def _apply_divisor(quotients: list[int | None], has_null: bool, d: Wire, rem_w: Wire, n: int) -> list[int | None]:
    if type(d) is not int or not 2 <= d <= _PACK_MAX:
        raise MessageError(f"bad INT column divisor: {d!r}")
    rem = _decode_simple(rem_w, n, False)
    if None in rem:
        raise MessageError("INT column remainders hold NULL")
    rems = cast("list[int]", rem)
    if not has_null:
        qs = cast("list[int]", quotients)
        if type(rem_w) is not list:
            r = rems[0] if n else 0
            return [q * d + r for q in qs]
        return [q * d + r for q, r in zip(qs, rems, strict=True)]
    return [None if q is None else q * d + r for q, r in zip(quotients, rems, strict=True)]


def decode_ints(
    obj: Wire,
    n: int,
    lo: int = INT_MIN,
    hi: int = INT_MAX,
    error: type[MessageError] = MessageError,
    name: str = "INT value",
) -> list[int | None]:
    """Decode an INT column of ``n`` values; ``error`` for a value outside ``lo..hi``."""
    out = _decode_simple(obj, n, True)
    present = _present(out) if type(obj) is list else ([obj] if obj is not None and n else [])
    if not _within(cast("Sequence[int]", present), lo, hi):
        raise error(f"{name} outside {lo}..{hi}")
    return out


def _non_null(values: list[int | None], what: str) -> list[int]:
    if None in values:
        raise MessageError(f"{what} holds NULL")
    return cast("list[int]", values)


def decode_strs(obj: Wire, n: int, max_chars: int) -> list[str | None]:
    if obj is None:
        return [None] * n
    if type(obj) is str:
        if len(obj) > max_chars:
            raise StringTooLong(f"string of {len(obj)} chars > {max_chars}")
        return [obj] * n
    if type(obj) is not list or len(obj) not in (2, 5):
        raise MessageError("bad STR column")
    items = cast("list[Wire]", obj)
    strings = _plain_table(items[0], n, max_chars) if len(items) == 2 else _joined_table(items, n, max_chars)
    idx = decode_ints(items[-1], n)
    has_null = None in idx
    if not _within(_present(idx), 0, len(strings) - 1):
        raise MessageError("STR column index out of range")
    if has_null:
        return [None if i is None else strings[i] for i in idx]
    return list(map(strings.__getitem__, cast("list[int]", idx)))


def _plain_table(obj: Wire, n: int, max_chars: int) -> list[str]:
    if type(obj) is not list:
        raise MessageError("STR column table must be a list")
    if len(obj) > n:
        raise MessageError("STR column has more strings than rows")
    if obj and not set(map(type, obj)) <= _STR_TYPES:
        raise MessageError("STR column table holds a non-string")
    strings = cast("list[str]", obj)
    if strings and max(map(len, strings)) > max_chars:
        raise StringTooLong(f"string longer than {max_chars} chars")
    return strings


def _joined_table(items: list[Wire], n: int, max_chars: int) -> list[str]:
    m, prefixes_w, numbers_w, widths_w, _ = items
    if type(m) is not int or not 0 <= m <= n:
        raise MessageError(f"bad split STR table size: {m!r}")
    if type(prefixes_w) is list and len(prefixes_w) != 2:
        raise MessageError("split STR table prefixes must not be split again")
    prefixes = decode_strs(prefixes_w, m, max_chars)
    if None in prefixes:
        raise MessageError("split STR table prefixes hold NULL")
    numbers = _non_null(decode_ints(numbers_w, m), "split STR table numbers")
    widths = _non_null(decode_ints(widths_w, m), "split STR table widths")
    if not _within(numbers, 0, INT_MAX) or not _within(widths, 1, _MAX_DIGITS):
        raise MessageError("split STR table number or width out of range")
    digits = list(map(str, numbers))
    if any(len(s) > w for s, w in zip(digits, widths, strict=True)):
        raise MessageError("split STR table number wider than its width")
    strings = [f"{p}{s.zfill(w)}" for p, s, w in zip(prefixes, digits, widths, strict=True)]
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
