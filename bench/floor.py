"""The floor: the same records packed as tightly as we can, offline, with no dictionary shared in advance.

Column by column: rows sorted by their natural key; each text column
dictionary-coded (distinct values once, then small indices); dates as day
numbers; each integer column either as is or delta-coded, minus its minimum,
divided by the gcd of its values (marks are multiples of 25 hundredths),
whichever compresses smaller; nulls as a separate position list. The whole is
msgpack, then the best of zstd level 22 (long window), xz -9e and bzip2 -9.

Two variants:
- `self_contained`: every value travels, including the pupils' Massar codes.
- `roster_known`: pupil codes become indices into the school's sorted roster, which
  both sides already hold after the roster sync (shared state, not a trained
  dictionary). Closer to what a protocol that knows the roster could reach.
No HTTP, no framing, no integrity check: a lower bound, not a protocol.
"""

from __future__ import annotations

import bz2
import datetime as dt
import lzma
import math
from collections.abc import Iterable, Sequence
from typing import Any

import msgpack
import zstandard

from protocol.tables import BY_NAME, ColumnType

_EPOCH = dt.date(1970, 1, 1)


def _zstd(data: bytes) -> bytes:
    params = zstandard.ZstdCompressionParameters.from_level(22, source_size=len(data), window_log=27)
    return zstandard.ZstdCompressor(compression_params=params).compress(data)


COMPRESSORS = {
    "zstd-22": _zstd,
    "xz-9e": lambda b: lzma.compress(b, preset=9 | lzma.PRESET_EXTREME),
    "bzip2-9": lambda b: bz2.compress(b, 9),
}


def _ints(values: Sequence[int]) -> list:
    """The smaller of raw and delta coding (after offset and gcd), judged by xz."""
    candidates = []
    for delta in (False, True):
        vals = list(values)
        if delta:
            vals = [vals[0]] + [b - a for a, b in zip(vals, vals[1:], strict=False)] if vals else []
        lo = min(vals) if vals else 0
        shifted = [v - lo for v in vals]
        g = 0
        for v in shifted:
            g = math.gcd(g, v)
        g = g or 1
        coded = [int(delta), lo, g, [v // g for v in shifted]]
        candidates.append((len(lzma.compress(msgpack.packb(coded), preset=6)), coded))
    return min(candidates, key=lambda c: c[0])[1]


def _column(values: Sequence[Any], kind: ColumnType) -> list:
    nulls = [i for i, v in enumerate(values) if v is None]
    present = [v for v in values if v is not None]
    if not present:
        return ["null", len(values)]
    if kind == ColumnType.STR:
        index: dict[str, int] = {}
        codes = [index.setdefault(v, len(index)) for v in present]
        if len(index) == 1:
            return ["const", nulls, present[0]]
        return ["dict", nulls, list(index), _ints(codes)]
    if kind == ColumnType.DATE:
        present = [(dt.date.fromisoformat(v) - _EPOCH).days for v in present]
    if len(set(present)) == 1:
        return ["const", nulls, present[0]]
    return ["int", nulls, _ints(present)]


def pack(rows_by_table: dict[str, Iterable[Sequence[Any]]], *, roster: Sequence[str] | None = None) -> bytes:
    """Columnar msgpack of full rows (in each table's column order), uncompressed."""
    pupil_index = {code: i for i, code in enumerate(sorted(roster))} if roster is not None else None
    out = []
    for table, rows in rows_by_table.items():
        spec = BY_NAME[table]
        ordered = sorted(rows, key=lambda r: tuple(str(r[i]) for i in spec.key_indexes))
        if not ordered:
            continue
        columns = []
        for i, col in enumerate(spec.columns):
            values = [r[i] for r in ordered]
            kind = col.type
            if pupil_index is not None and col.name == "pupil":
                values, kind = [pupil_index[v] for v in values], ColumnType.INT
            columns.append(_column(values, kind))
        out.append([spec.wire_id, len(ordered), columns])
    return msgpack.packb(out)


def floor(rows_by_table: dict[str, list[Sequence[Any]]], *, roster: Sequence[str]) -> dict[str, Any]:
    """Sizes of both variants under every compressor, and the best of each."""
    records = sum(len(r) for r in rows_by_table.values())
    result: dict[str, Any] = {"records": records}
    for name, kwargs in (("self_contained", {}), ("roster_known", {"roster": roster})):
        raw = pack(rows_by_table, **kwargs)
        sizes = {c: len(f(raw)) for c, f in COMPRESSORS.items()}
        best = min(sizes, key=sizes.get)
        result[name] = {
            "msgpack_bytes": len(raw),
            "compressed": sizes,
            "best": best,
            "bytes": sizes[best],
            "bytes_per_record": sizes[best] / records if records else 0.0,
        }
    return result
