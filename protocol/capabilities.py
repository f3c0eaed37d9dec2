"""Capabilities: named features each side announces in every request and response.

Unknown names are ignored, so a newer peer can announce more; a name in
REQUIRED missing from the common set refuses the exchange.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from .dictionary import DICTIONARIES
from .errors import CapabilityError

__all__ = [
    "COLUMNAR1",
    "HLC_CLAMP",
    "REQUIRED",
    "SUPPORTED",
    "TOMBSTONES",
    "ZSTD_DICT1",
    "best_dictionary",
    "dictionary_capability",
    "negotiate",
]

COLUMNAR1: Final = "columnar1"
"""Batches use the column encoding of protocol version 1."""
ZSTD_DICT1: Final = "zstd-dict1"
"""Holds zstd dictionary 1 and accepts frames compressed with it."""
HLC_CLAMP: Final = "hlc-clamp"
"""The server clamps far-future clocks; the node corrects its clock from responses."""
TOMBSTONES: Final = "tombstones"
"""Deletes travel as tombstones (changes with no row)."""

SUPPORTED: Final = frozenset({COLUMNAR1, ZSTD_DICT1, HLC_CLAMP, TOMBSTONES})
REQUIRED: Final = frozenset({COLUMNAR1, ZSTD_DICT1, TOMBSTONES})

MAX_CAPABILITIES: Final = 64
MAX_CAPABILITY_CHARS: Final = 32


def dictionary_capability(dict_id: int) -> str:
    return f"zstd-dict{dict_id}"


def negotiate(ours: Iterable[str], theirs: Iterable[str], required: frozenset[str] = REQUIRED) -> frozenset[str]:
    """The capabilities both sides have; CapabilityError if a required one is missing."""
    common = frozenset(ours) & frozenset(theirs)
    missing = required - common
    if missing:
        raise CapabilityError(f"missing required capabilities: {', '.join(sorted(missing))}")
    return common


def best_dictionary(common: Iterable[str]) -> int:
    """The highest dictionary id both sides hold, 0 (none) if there is none."""
    names = frozenset(common)
    held = [i for i in DICTIONARIES if dictionary_capability(i) in names]
    return max(held, default=0)
