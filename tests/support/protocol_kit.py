"""Shared strategies and helpers of the protocol tests (imported by basename)."""

from __future__ import annotations

import importlib.util
import re
import sys
import zlib
from pathlib import Path
from types import ModuleType

from hypothesis import strategies as st

from protocol import hlc
from protocol.columns import INT_MAX, INT_MIN
from protocol.records import Change, Value
from protocol.tables import TABLES, ColumnType, TableSpec
from protocol.version import MAGIC, PROTOCOL_VERSION

ROOT = Path(__file__).resolve().parents[2]
SPEC = (ROOT / "protocol" / "SPEC.md").read_text(encoding="utf-8")


def spec_section(number: str) -> str:
    """The text of SPEC.md section ``number`` ("11", "10.2"), up to the next heading of its level or above."""
    level = "#" * (number.count(".") + 2)
    match = re.search(rf"^{level} {re.escape(number)}\.? .*?(?=^#{{2,{len(level)}}} |\Z)", SPEC, re.M | re.S)
    if match is None:
        raise LookupError(f"SPEC.md has no section {number}")
    return match.group(0)


ints = st.integers(INT_MIN, INT_MAX)
texts = st.text(max_size=24) | st.sampled_from(
    ["", "\x00", "a\x00b", "\u200f", "\u202eRTL\u202c", "محمد", "R130245678"]
)
iso_dates = st.dates().map(lambda d: d.isoformat())

VALUES = {ColumnType.INT: ints, ColumnType.STR: texts, ColumnType.DATE: iso_dates}


def value(kind: ColumnType, nullable: bool = True) -> st.SearchStrategy[Value]:
    base = VALUES[kind]
    return st.none() | base if nullable else base


@st.composite
def changes_of(draw: st.DrawFn, spec: TableSpec, origin: st.SearchStrategy[str] | None = None) -> Change:
    kidx = set(spec.key_indexes)
    row = tuple(draw(value(c.type, i not in kidx)) for i, c in enumerate(spec.columns))
    key = tuple(row[i] for i in spec.key_indexes)
    return Change(
        table=spec.name,
        key=key,
        row=None if draw(st.integers(0, 5)) == 0 else row,
        origin=draw(origin if origin is not None else st.sampled_from(["central", "04512K", "R\u200fX"])),
        seq=draw(st.integers(1, INT_MAX)),
        hlc=draw(st.integers(0, hlc.MAX_HLC)),
        base=draw(st.integers(0, INT_MAX)),
        sseq=draw(st.integers(0, INT_MAX)),
    )


def any_change(origin: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[Change]:
    return st.sampled_from(TABLES).flatmap(lambda spec: changes_of(spec, origin))


def raw_frame(body_zstd: bytes, declared: int, *, version: int = PROTOCOL_VERSION, dict_id: int = 0) -> bytes:
    """A frame around arbitrary zstd bytes, with a correct CRC."""
    length = bytearray()
    n = declared
    while True:
        byte, n = n & 0x7F, n >> 7
        length.append(byte | (0x80 if n else 0))
        if not n:
            break
    head = MAGIC + bytes((version, dict_id)) + bytes(length) + body_zstd
    return head + zlib.crc32(head).to_bytes(4, "big")


def load_training_tool() -> ModuleType:
    """tools/train_dictionary.py as a module: it holds the realistic data generator."""
    name = "massar_train_dictionary"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / "train_dictionary.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
