"""Capabilities: named features each side announces in every request and response.

On the wire a set of capabilities is one integer, bit ``BITS[name]`` set
for each name (the names would cost ~13 bytes in every message). Bits
this side does not know are ignored on decode: it lacks those features
anyway. A name in REQUIRED missing from the common set refuses the exchange.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from .dictionary import DICTIONARIES
from .errors import CapabilityError, MessageError

__all__ = [
    "BITS",
    "COLUMNAR1",
    "HLC_CLAMP",
    "REQUIRED",
    "SATELLITES",
    "SUPPORTED",
    "TOMBSTONES",
    "ZSTD_DICT1",
    "best_dictionary",
    "dictionary_capability",
    "from_mask",
    "negotiate",
    "to_mask",
]

COLUMNAR1: Final = "columnar1"
"""Batches use the column encoding of protocol version 1."""
ZSTD_DICT1: Final = "zstd-dict1"
"""Holds zstd dictionary 1 and accepts frames compressed with it."""
HLC_CLAMP: Final = "hlc-clamp"
"""The server clamps far-future clocks; the node corrects its clock from responses."""
TOMBSTONES: Final = "tombstones"
"""Deletes travel as tombstones (changes with no row)."""
SATELLITES: Final = "satellites"
"""Node: reads the satellite schools of a SyncResponse (field 10); server: sends them (SPEC 12.2)."""

# Released bit positions never change meaning; new capabilities take new bits.
BITS: Final[dict[str, int]] = {COLUMNAR1: 0, ZSTD_DICT1: 1, HLC_CLAMP: 2, TOMBSTONES: 3, SATELLITES: 4}
_NAMES: Final = {bit: name for name, bit in BITS.items()}
MAX_BITS: Final = 64

SUPPORTED: Final = frozenset({COLUMNAR1, ZSTD_DICT1, HLC_CLAMP, TOMBSTONES, SATELLITES})
REQUIRED: Final = frozenset({COLUMNAR1, ZSTD_DICT1, TOMBSTONES})


def to_mask(caps: Iterable[str]) -> int:
    """The wire integer of a set of capability names; MessageError for an unknown name."""
    mask = 0
    for name in caps:
        bit = BITS.get(name)
        if bit is None:
            raise MessageError(f"capability {name!r} has no bit assigned")
        mask |= 1 << bit
    return mask


def from_mask(mask: object) -> frozenset[str]:
    """The known capability names of a wire integer; unknown bits are dropped."""
    if type(mask) is not int or not 0 <= mask < 1 << MAX_BITS:
        raise MessageError(f"capabilities must be an unsigned 64-bit integer, got {mask!r}")
    return frozenset(name for bit, name in _NAMES.items() if mask >> bit & 1)


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
