"""Column-oriented packing of a list of changes (see SPEC.md, "Batches").

Wire form::

    batch = [blocks, order]
    block = [table_id, n, seq, hlc, base, sseq, tombstone, origin, columns]

One block per table, in the order tables first appear in the input; inside
a block changes keep their input order. ``order`` is nil when that already
is the input order, else an INT column giving each change's block index,
so decoding always returns the changes in exactly the encoded order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import chain, compress, repeat
from operator import itemgetter
from typing import Any, Final, cast

from .columns import (
    INT_MAX,
    Wire,
    decode_column,
    decode_ints,
    decode_strs,
    encode_column,
    encode_ints,
    encode_strs,
)
from .errors import ClockError, MessageError, TooManyRecords
from .hlc import COUNTER_BITS, MAX_HLC
from .limits import DEFAULT_LIMITS, Limits
from .records import Change, Value, change_from_fields, table_spec
from .tables import BY_ID, TABLES, TableSpec

__all__ = ["decode_batch", "encode_batch"]

_BLOCK_FIELDS: Final = 9
_HLC_DIVISORS: Final = (1 << COUNTER_BITS,)
# A Change's fields by position: itemgetter maps over a block in C.
_TABLE, _KEY, _ROW, _ORIGIN, _SEQ, _HLC, _BASE, _SSEQ = map(itemgetter, range(8))


def encode_batch(changes: Sequence[Change], *, with_origin: bool, limits: Limits = DEFAULT_LIMITS) -> list[Wire]:
    """Pack ``changes``; without origin they must all share one origin."""
    if len(changes) > limits.max_records:
        raise TooManyRecords(f"{len(changes)} changes > {limits.max_records}")
    tables = list(map(_TABLE, changes))
    # Blocks in the order their tables first appear.
    names = list(dict.fromkeys(tables))
    specs = [table_spec(name) for name in names]
    if not with_origin and len(set(map(_ORIGIN, changes))) > 1:
        raise MessageError("changes of several origins need with_origin=True")
    if len(names) <= 1:
        groups, order = [list(changes)], None
    else:
        index = dict(zip(names, range(len(names)), strict=True))
        block_of = list(map(index.__getitem__, tables))
        groups = [list(compress(changes, map(name.__eq__, tables))) for name in names]
        order = None if block_of == sorted(block_of) else encode_ints(block_of, ())
    blocks = [_encode_block(spec, group, with_origin, limits) for spec, group in zip(specs, groups, strict=False)]
    return [blocks, order]


def _meta(values: list[int], lo: int, hi: int, name: str) -> list[int]:
    if not set(map(type, values)) <= {int}:
        raise MessageError(f"{name} must be integers")
    if min(values) < lo or max(values) > hi:
        raise MessageError(f"{name} outside {lo}..{hi}")
    return values


def _upserts_checked(spec: TableSpec, group: list[Change]) -> list[tuple[object, ...]] | None:
    """The rows of a block of upserts only, checked with C-level passes; None when a row is a
    delete or anything is wrong (the change-by-change loop then finds it and says what)."""
    rows: list[Any] = list(map(_ROW, group))
    keys = list(map(_KEY, group))
    kidx = spec.key_indexes
    if set(map(type, rows)) != {tuple} or set(map(len, rows)) != {len(spec.columns)}:
        return None
    if set(map(type, keys)) != {tuple}:
        return None
    get_key = itemgetter(*kidx)
    found = list(map(get_key, rows)) if len(kidx) > 1 else [(k,) for k in map(get_key, rows)]
    # A NULL in a key column is looked for once the rows are columns.
    if found != keys:
        return None
    return cast("list[tuple[object, ...]]", rows)


def _encode_block(spec: TableSpec, group: list[Change], with_origin: bool, limits: Limits) -> list[Wire]:
    ncols = len(spec.columns)
    kidx = spec.key_indexes
    upserts = _upserts_checked(spec, group)
    rows: list[tuple[object, ...]] = [] if upserts is None else upserts
    tombs: list[int] = [] if upserts is None else [0] * len(group)
    for c in group if upserts is None else ():
        key = c.key
        if type(key) is not tuple or len(key) != len(kidx):
            raise MessageError(f"{spec.name}: key must be a {len(kidx)}-tuple")
        if c.row is None:
            row: list[object] = [None] * ncols
            for i, v in zip(kidx, key, strict=True):
                row[i] = v
            rows.append(tuple(row))
            tombs.append(1)
        else:
            if type(c.row) is not tuple or len(c.row) != ncols:
                raise MessageError(f"{spec.name}: row must be a {ncols}-tuple")
            if tuple(c.row[i] for i in kidx) != key:
                raise MessageError(f"{spec.name}: key {key!r} does not match row")
            rows.append(c.row)
            tombs.append(0)
        if None in key:
            raise MessageError(f"{spec.name}: NULL key column")
    columns = list(zip(*rows, strict=True))
    if upserts is not None and any(None in columns[i] for i in kidx):
        raise MessageError(f"{spec.name}: NULL key column")
    return [
        spec.wire_id,
        len(group),
        encode_ints(_meta(list(map(_SEQ, group)), 1, INT_MAX, "seq"), ()),
        encode_ints(_meta(list(map(_HLC, group)), 0, MAX_HLC, "hlc"), _HLC_DIVISORS),
        encode_ints(_meta(list(map(_BASE, group)), 0, INT_MAX, "base"), ()),
        encode_ints(_meta(list(map(_SSEQ, group)), 0, INT_MAX, "sseq"), ()),
        encode_ints(tombs, ()),
        _encode_origins(group, limits) if with_origin else None,
        [encode_column(k, col, limits) for k, col in zip(spec.types, columns, strict=True)],
    ]


def _encode_origins(group: list[Change], limits: Limits) -> Wire:
    origins = list(map(_ORIGIN, group))
    if not set(map(type, origins)) <= {str} or not all(origins):
        raise MessageError("origin must be a non-empty string")
    return encode_strs(origins, limits.max_string_chars)


def decode_batch(obj: object, limits: Limits, *, origin: str | None) -> list[Change]:
    """Unpack a batch; ``origin`` given means the batch was sent without one."""
    if type(obj) is not list or len(obj) != 2:
        raise MessageError("a batch is [blocks, order]")
    blocks, order = obj
    if type(blocks) is not list or len(blocks) > len(TABLES):
        raise MessageError("batch blocks must be a list, one per table")
    total = 0
    seen: set[int] = set()
    for block in blocks:
        if type(block) is not list or len(block) != _BLOCK_FIELDS:
            raise MessageError(f"a batch block has {_BLOCK_FIELDS} fields")
        tid, n = block[0], block[1]
        if type(tid) is not int or tid not in BY_ID:
            raise MessageError(f"unknown table id: {tid!r}")
        if tid in seen:
            raise MessageError(f"table id {tid} appears twice")
        seen.add(tid)
        if type(n) is not int or n < 1:
            raise MessageError(f"bad block size: {n!r}")
        total += n
        # Checked before any column is expanded: a constant column of a
        # huge ``n`` would otherwise allocate it.
        if total > limits.max_records:
            raise TooManyRecords(f"batch holds more than {limits.max_records} changes")
    decoded = [_decode_block(b, limits, origin) for b in blocks]
    if order is None:
        return list(chain.from_iterable(decoded))
    ids = decode_ints(order, total)
    for i, part in enumerate(decoded):
        if ids.count(i) != len(part):
            raise MessageError("batch order does not match the block sizes")
    # Every id is now a valid block index: the counts add up to ``total``.
    nexts = [iter(part).__next__ for part in decoded]
    return [nexts[i]() for i in cast("list[int]", ids)]


def _ints(obj: Wire, n: int, lo: int, hi: int, name: str, error: type[MessageError] = MessageError) -> list[int]:
    values = decode_ints(obj, n, lo, hi, error, name)
    if None in values:
        raise MessageError(f"{name} must not be NULL")
    return cast("list[int]", values)


def _decode_block(block: list[Wire], limits: Limits, origin: str | None) -> list[Change]:
    tid, n_w, seq_w, hlc_w, base_w, sseq_w, tomb_w, origin_w, cols_w = block
    # decode_batch has checked the id and the size.
    spec = BY_ID[cast(int, tid)]
    n = cast(int, n_w)
    if type(cols_w) is not list or len(cols_w) != len(spec.columns):
        raise MessageError(f"{spec.name}: expected {len(spec.columns)} columns")
    seqs = _ints(seq_w, n, 1, INT_MAX, "seq")
    hlcs = _ints(hlc_w, n, 0, MAX_HLC, "hlc", ClockError)
    bases = _ints(base_w, n, 0, INT_MAX, "base")
    sseqs = _ints(sseq_w, n, 0, INT_MAX, "sseq")
    tombs = _ints(tomb_w, n, 0, 1, "tombstone")
    origins: Iterable[str]
    if origin is None:
        decoded = decode_strs(origin_w, n, limits.max_string_chars)
        if None in decoded or "" in decoded:
            raise MessageError("origin must be a non-empty string")
        origins = cast("list[str]", decoded)
    elif origin_w is not None:
        raise MessageError("unexpected origin column")
    else:
        origins = repeat(origin, n)
    cols = [decode_column(kind, w, n, limits) for kind, w in zip(spec.types, cols_w, strict=True)]
    for i in spec.key_indexes:
        if None in cols[i]:
            raise MessageError(f"{spec.name}: NULL in key column {spec.columns[i].name}")
    keys: list[tuple[Value, ...]] = list(zip(*[cols[i] for i in spec.key_indexes], strict=True))
    rows: list[tuple[Value, ...] | None] = list(zip(*cols, strict=True))
    if 1 in tombs:
        rows = [None if t else r for r, t in zip(rows, tombs, strict=True)]
    # zip() and map() over the columns build the changes without a Python-level step per change.
    return list(map(change_from_fields, zip(repeat(spec.name), keys, rows, origins, seqs, hlcs, bases, sseqs)))
